/* Page behaviour without inline scripts (the Content-Security-Policy allows scripts from 'self'
 * only): elements opt in with data attributes.
 *   data-autosubmit  on a <select> or <input>: submit its form when the value changes
 *   data-print       on a button: print the page
 *   data-width-percent="42"  on a progress bar (or any box): its width, 0–100 %
 *     (setting element.style from a script is allowed; a style="" attribute is not)
 *   data-select-all="group"  on a checkbox: (un)checks every checkbox with data-select-group="group"
 *   data-select-count="group" data-count-template="已勾选 {n} 户"  shows how many of the group are checked
 *   data-submit-once  on a form: its buttons are disabled once it is submitted (no double POST)
 */
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target instanceof Element && target.hasAttribute("data-autosubmit") && target.form) {
      target.form.submit();
    }
  });
  function groupBoxes(group) {
    return Array.prototype.filter.call(
      document.querySelectorAll("input[type=checkbox][data-select-group]"),
      function (box) { return box.getAttribute("data-select-group") === group && !box.disabled; }
    );
  }
  function showSelected(group) {
    var boxes = groupBoxes(group);
    var checked = boxes.filter(function (box) { return box.checked; }).length;
    document.querySelectorAll("[data-select-count], [data-select-all]").forEach(function (element) {
      if (element.getAttribute("data-select-count") === group) {
        var template = element.getAttribute("data-count-template") || "{n}";
        element.textContent = template.replace("{n}", String(checked));
      } else if (element.getAttribute("data-select-all") === group) {
        element.checked = boxes.length > 0 && checked === boxes.length;
        element.indeterminate = checked > 0 && checked < boxes.length;
      }
    });
  }
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!(target instanceof HTMLInputElement)) {
      return;
    }
    var all = target.getAttribute("data-select-all");
    if (all) {
      groupBoxes(all).forEach(function (box) { box.checked = target.checked; });
      showSelected(all);
    } else if (target.hasAttribute("data-select-group")) {
      showSelected(target.getAttribute("data-select-group"));
    }
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-submit-once")) {
      return;
    }
    if (form.getAttribute("data-submitted")) {
      event.preventDefault();
      return;
    }
    form.setAttribute("data-submitted", "1");
    window.setTimeout(function () {
      form.querySelectorAll("button[type=submit]").forEach(function (button) { button.disabled = true; });
    }, 0);
  });
  window.addEventListener("pageshow", function () {
    // also after "back": the browser may have kept the ticks and the disabled buttons
    document.querySelectorAll("[data-select-all]").forEach(function (element) {
      showSelected(element.getAttribute("data-select-all"));
    });
    document.querySelectorAll("form[data-submitted]").forEach(function (form) {
      form.removeAttribute("data-submitted");
      form.querySelectorAll("button[type=submit]").forEach(function (button) { button.disabled = false; });
    });
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
