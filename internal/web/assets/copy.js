// Copy buttons of the Client Center. A button with data-copy="ID" copies
// the value of the read-only input #ID and reports in #data-status. The
// button starts hidden, so without script the page still works: the value
// can be selected and copied by hand. Loaded as a file because the pages'
// Content-Security-Policy allows no inline script.
"use strict";
document.querySelectorAll("button[data-copy]").forEach(function (button) {
  var input = document.getElementById(button.dataset.copy);
  var status = document.getElementById(button.dataset.status);
  if (!input) {
    return;
  }
  function report(copied) {
    if (status) {
      status.textContent = copied ? "Copied to the clipboard." : "Press Ctrl+C (or \u2318C) to copy the selected secret.";
    }
  }
  button.hidden = false;
  input.addEventListener("focus", function () { input.select(); });
  button.addEventListener("click", function () {
    input.focus();
    input.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(
        function () { report(true); },
        function () { report(document.execCommand("copy")); });
    } else {
      report(document.execCommand("copy"));
    }
  });
});
