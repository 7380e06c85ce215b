/* Community Mapper uploads: a form with data-progress is sent in the background so that the
   page can show progress: the share of the file sent, then the time the server has been
   checking or importing the rows. The answer then replaces the page, as a normal submit would.
   Without JavaScript the form is submitted as usual. */
"use strict";

(function () {
  function start(form) {
    var box = form.querySelector(".progress");
    if (!box || !window.FormData) return;
    var bar = box.querySelector("progress");
    var status = box.querySelector(".progress-status");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector("button[type=submit]");
      var request = new XMLHttpRequest();
      var started = Date.now(), timer = null;
      box.hidden = false;
      button.disabled = true;
      status.textContent = form.getAttribute("data-progress") + "…";

      function working() {
        bar.removeAttribute("value");  // indeterminate: the server is working
        timer = setInterval(function () {
          var seconds = Math.round((Date.now() - started) / 1000);
          status.textContent = "Checking every row against the map… " + seconds + " s";
        }, 1000);
      }

      request.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) return;
        bar.value = Math.round((100 * e.loaded) / e.total);
        status.textContent = form.getAttribute("data-progress") + ": " + bar.value + "%";
      });
      request.upload.addEventListener("load", working);
      request.addEventListener("load", function () {
        clearInterval(timer);
        var url = request.responseURL;
        document.open();
        document.write(request.responseText);
        document.close();
        if (request.status < 400 && url) window.history.replaceState(null, "", url);
      });
      request.addEventListener("error", function () {
        clearInterval(timer);
        button.disabled = false;
        box.hidden = true;
        form.submit();
      });
      request.open("POST", form.action || window.location.href);
      request.send(new FormData(form));
    });
  }

  document.querySelectorAll("form[data-progress]").forEach(start);
})();
