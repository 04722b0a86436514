/* The upload pages: fields that depend on the kind, the size limit before sending, the progress
   bar of a batch (polls its JSON, reloads the page when the work is done), one confirm click. */
(function () {
  "use strict";

  function uploadForm(form) {
    var kind = form.querySelector("#id_kind");
    var county = document.getElementById("county-field");
    var snapshot = document.getElementById("snapshot-field");
    var file = form.querySelector("input[type=file]");
    var tooLarge = document.getElementById("file-too-large");
    var maxBytes = parseInt(form.dataset.maxBytes, 10);

    function sync() {
      var option = kind.options[kind.selectedIndex];
      var needsCounty = option && option.dataset.needsCounty === "1";
      county.querySelector("label").textContent = needsCounty ? "旗县（必选）" : "旗县（可不选）";
      snapshot.classList.toggle("d-none", kind.value !== form.dataset.snapshotKind);
    }
    kind.addEventListener("change", sync);
    sync();
    form.addEventListener("submit", function (event) {
      var chosen = file.files && file.files[0];
      if (chosen && maxBytes && chosen.size > maxBytes) {
        tooLarge.classList.remove("d-none");
        event.preventDefault();
        return;
      }
      form.querySelector("button[type=submit]").disabled = true;
    });
  }

  function progress(box) {
    var bar = document.getElementById("progress-bar");
    var phase = document.getElementById("progress-phase");
    // Widths are set from script (the CSP allows no inline style attributes).
    function show(percent) {
      bar.classList.remove("w-100");
      bar.style.width = (percent === null ? 100 : percent) + "%";
      bar.textContent = percent === null ? "" : percent + "%";
    }
    show(bar.dataset.percent === "" ? null : parseInt(bar.dataset.percent, 10));
    function poll() {
      fetch(box.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok || response.headers.get("Content-Type").indexOf("json") < 0) {
            throw new Error("status " + response.status);
          }
          return response.json();
        })
        .then(function (state) {
          show(state.percent);
          phase.textContent = state.phase;
          if (state.busy) {
            window.setTimeout(poll, 1500);
          } else {
            window.location.reload();
          }
        })
        .catch(function () {
          window.setTimeout(function () { window.location.reload(); }, 5000);
        });
    }
    window.setTimeout(poll, 1000);
  }

  function confirmOnce(form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("button[type=submit]");
      window.setTimeout(function () { button.disabled = true; }, 0);
      button.textContent = "正在提交…";
    });
  }

  var upload = document.getElementById("upload-form");
  if (upload) { uploadForm(upload); }
  var box = document.getElementById("batch-progress");
  if (box) { progress(box); }
  var confirm = document.getElementById("confirm-form");
  if (confirm) { confirmOnce(confirm); }
})();
