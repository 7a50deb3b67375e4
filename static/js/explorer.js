// The explorer's small behaviours (templates/explorer/explore.html), kept out of the template: the
// Content-Security-Policy allows no inline script. Everything here is optional: without JavaScript the table's
// links drill down and the forms still submit.
"use strict";

(() => {
  // A click on a bar follows the drill-down URL the figure carries per point ([url, label] as customdata,
  // built by finops/dashboards/charts.py `stacked_periods`). Only relative query strings are followed.
  function wire() {
    document.querySelectorAll(".drill-chart .plotly-figure").forEach((figure) => {
      if (figure.dataset.drillWired === "true" || typeof figure.on !== "function") return;
      figure.on("plotly_click", (event) => {
        const point = event && event.points && event.points[0];
        const url = point && Array.isArray(point.customdata) ? point.customdata[0] : "";
        if (typeof url === "string" && url.startsWith("?")) window.location.assign(url);
      });
      figure.classList.add("clickable");
      figure.dataset.drillWired = "true";
    });
  }

  // Editing a date means a custom range: the preset would otherwise win over it.
  document.addEventListener("change", (event) => {
    const input = event.target;
    if (!(input instanceof HTMLInputElement) || !input.matches("[data-custom-range]")) return;
    const preset = input.form && input.form.querySelector("select[name=preset]");
    if (preset) preset.value = "";
  });

  // charts.js draws the figures on DOMContentLoaded, before this listener (it loads first).
  document.addEventListener("DOMContentLoaded", wire);
  document.addEventListener("htmx:afterSettle", wire);
})();
