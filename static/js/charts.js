// Draws the Plotly figures that finops/dashboards/charts.py `figure_div` puts in a page: an empty div whose
// data-figure attribute holds the figure's JSON. No inline script, so the Content-Security-Policy needs no
// exception (and htmx, configured in base.html to drop <script> elements from swapped content, keeps the data).
"use strict";

(() => {
  function draw() {
    document.querySelectorAll(".plotly-figure[data-figure]").forEach((target) => {
      if (target.dataset.drawn === "true") return;
      const figure = JSON.parse(target.dataset.figure);
      target.replaceChildren();
      Plotly.newPlot(target, figure.data, figure.layout, figure.config);
      target.dataset.drawn = "true";
    });
  }

  document.addEventListener("DOMContentLoaded", draw);
  // Content htmx swaps out: free the figure, whose window resize handler would otherwise outlive it.
  document.addEventListener("htmx:beforeCleanupElement", (event) => {
    const target = event.target;
    if (target instanceof Element && target.matches(".plotly-figure[data-drawn]")) Plotly.purge(target);
  });
  // Content swapped in by htmx (the overview's date filter).
  document.addEventListener("htmx:afterSettle", draw);
  // Back/forward: htmx (with no history cache, see base.html) fetches the page again and swaps it in.
  document.addEventListener("htmx:historyRestore", draw);
})();
