/* Page behaviour without inline scripts (the Content-Security-Policy allows scripts from 'self'
 * only): elements opt in with data attributes.
 *   data-autosubmit  on a <select> or <input>: submit its form when the value changes
 *   data-print       on a button: print the page
 *   data-width-percent="42"  on a progress bar (or any box): its width, 0–100 %
 *     (setting element.style from a script is allowed; a style="" attribute is not)
 */
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target instanceof Element && target.hasAttribute("data-autosubmit") && target.form) {
      target.form.submit();
    }
  });
  function applyWidths(root) {
    root.querySelectorAll("[data-width-percent]").forEach(function (element) {
      var value = parseFloat(element.getAttribute("data-width-percent"));
      if (!isNaN(value)) {
        element.style.width = Math.max(0, Math.min(100, value)) + "%";
      }
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { applyWidths(document); });
  } else {
    applyWidths(document);
  }
  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target.closest("[data-print]") : null;
    if (target) {
      event.preventDefault();
      window.print();
    }
  });
})();
