/* Community Mapper forms: after a refused submit, move the focus to the error summary so that
   screen readers announce it, and let its links focus the field they name (GOV.UK pattern).
*/
"use strict";

(function () {
  function focusSummary() {
    var summary = document.querySelector(".error-summary");
    if (!summary) return;
    summary.focus();
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a[href^='#']");
      if (!link) return;
      var target = document.getElementById(link.getAttribute("href").slice(1));
      if (!target) return;
      event.preventDefault();
      var input = target.matches("input, select, textarea") ? target : target.querySelector("input, select, textarea");
      (input || target).scrollIntoView({ block: "center" });
      (input || target).focus();
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", focusSummary);
  else focusSummary();
})();
