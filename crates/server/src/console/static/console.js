// lanyard console: the one script, and only an enhancement. Every page
// works without it. It marks long work as under way, follows an import's
// progress, counts down the session's idle time where the
// page says it, warns a minute before the end with a button to stay
// signed in, and leaves the page for sign-in when the session has ended,
// so an unattended screen stops showing a record.
(function () {
  "use strict";
  // Long work (an upload to check, a print batch): say so while it runs,
  // and stop a second click from sending it twice.
  Array.prototype.forEach.call(document.querySelectorAll("form[data-busy]"), function (form) {
    form.addEventListener("submit", function () {
      var status = form.querySelector(".busy");
      var button = form.querySelector("button[type=submit]");
      if (status) { status.textContent = form.getAttribute("data-busy"); }
      if (button) { button.disabled = true; button.setAttribute("aria-busy", "true"); }
      form.setAttribute("aria-busy", "true");
    });
  });
  // An import under way: its counts, every second, until it ends.
  var job = document.getElementById("import-status");
  var url = job && job.getAttribute("data-status");
  if (url) {
    var timer = window.setInterval(function () {
      fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
        return r.ok ? r.json() : null;
      }).then(function (s) {
        if (!s) { return; }
        if (s.finished) { window.clearInterval(timer); window.location.reload(); return; }
        var bar = document.getElementById("import-progress");
        var count = document.getElementById("import-count");
        if (bar) { bar.value = s.done; bar.max = s.total; }
        if (count) { count.textContent = "Sealing and writing: " + s.done + " of " + s.total + " people so far."; }
      });
    }, 1000);
  }
  var body = document.body;
  var idle = parseInt(body.getAttribute("data-idle-s") || "0", 10);
  var shown = document.getElementById("session-left");
  if (!idle || !shown) { return; }
  var ends = Date.now() + idle * 1000;
  var warning = document.getElementById("session-warning");
  var stay = document.getElementById("session-stay");
  function minutes(ms) {
    var s = Math.max(0, Math.round(ms / 1000));
    return s >= 120 ? Math.ceil(s / 60) + " minutes" : s + " seconds";
  }
  function tick() {
    var left = ends - Date.now();
    if (left <= 0) { window.location.assign("/login?expired"); return; }
    shown.textContent = "Signs out in " + minutes(left) + " without use";
    if (warning) { warning.hidden = left > 60000; }
  }
  if (stay) {
    stay.addEventListener("click", function () {
      fetch("/v1/session", { credentials: "same-origin", cache: "no-store" }).then(function (r) {
        if (r.ok) { ends = Date.now() + idle * 1000; tick(); }
        else { window.location.assign("/login?expired"); }
      });
    });
  }
  tick();
  window.setInterval(tick, 1000);
})();
