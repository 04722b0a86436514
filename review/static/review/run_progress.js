// Progress of the reconciliation runs on the county summary: polls the JSON endpoint of each
// queued/running run and reloads the page once a run has finished or failed. The page itself is
// rendered with the state at load time, so a reload (or no JavaScript) loses nothing. The bar is
// an SVG whose fill width is an attribute (0–100 on its viewBox): no inline styles, so the page
// works under the site's Content-Security-Policy ('self' only).
(function () {
  "use strict";
  var INTERVAL_MS = 3000;

  function update(box, data) {
    var status = box.querySelector(".run-status");
    var step = box.querySelector(".run-step");
    var bar = box.querySelector(".run-progress-bar");
    var fill = box.querySelector(".run-progress-fill");
    var text = box.querySelector(".run-progress-text");
    var progress = Math.max(0, Math.min(100, Number(data.progress) || 0));
    if (status) { status.textContent = data.status_label; }
    if (step) { step.textContent = data.step || ""; }
    if (fill) { fill.setAttribute("width", String(progress)); }
    if (bar) { bar.setAttribute("aria-valuenow", String(progress)); }
    if (text) { text.textContent = progress + "%"; }
  }

  function poll(box) {
    var url = box.getAttribute("data-progress-url");
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (data) {
        update(box, data);
        if (data.is_active) {
          window.setTimeout(function () { poll(box); }, INTERVAL_MS);
        } else {
          window.location.reload();
        }
      })
      .catch(function () {
        window.setTimeout(function () { poll(box); }, INTERVAL_MS * 3);
      });
  }

  document.querySelectorAll(".run-progress[data-progress-url]").forEach(function (box) {
    window.setTimeout(function () { poll(box); }, INTERVAL_MS);
  });
})();
