// Small behaviours of the pages, kept out of the templates: the Content-Security-Policy allows no inline script.
"use strict";

// "Copy" buttons (templates/connections/_copy.html): copy the text of the element named by data-copy.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const text = document.getElementById(button.dataset.copy).textContent;
  navigator.clipboard.writeText(text).then(() => {
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = "Copy"; }, 1500);
  });
});
