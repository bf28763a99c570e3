// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // A form sent once stays sent: a second tap while the first is on its way does nothing.
  document.querySelectorAll("form[data-once]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.sent) {
        event.preventDefault();
        return;
      }
      form.dataset.sent = "1";
      form.querySelectorAll("button[type=submit]").forEach(function (button) {
        button.setAttribute("aria-disabled", "true");
        button.classList.add("busy");
      });
    });
  });

  // Move focus to what needs attention (an error summary, a "that time was taken" notice).
  var focus = document.querySelector("[data-focus]");
  if (focus) {
    focus.focus();
  }

  // Say so when the visitor's device is in another zone than the clinic's times.
  document.querySelectorAll("[data-zone-hint]").forEach(function (hint) {
    try {
      var here = Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (here && here !== hint.dataset.clinicZone) {
        hint.textContent = " Your device is set to a different time zone (" + here.replace(/_/g, " ") + ").";
      }
    } catch (err) {
      // No Intl support: the clinic's zone is already named in the text.
    }
  });
})();
