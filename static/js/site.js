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

  // Coming back to a page from the browser's cache (the Back button): let its forms be sent.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) {
      return;
    }
    document.querySelectorAll("form[data-once]").forEach(function (form) {
      delete form.dataset.sent;
      form.querySelectorAll("button[type=submit]").forEach(function (button) {
        button.removeAttribute("aria-disabled");
        button.classList.remove("busy");
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
      // Same clock as the clinic's (another zone name with the same offset): nothing to say.
      var now = new Date();
      var options = { hour: "2-digit", minute: "2-digit", hour12: false };
      var clinicClock = now.toLocaleTimeString("en-GB", Object.assign({ timeZone: hint.dataset.clinicZone }, options));
      var here = Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (here && clinicClock !== now.toLocaleTimeString("en-GB", options)) {
        hint.textContent = " Your device is set to a different time zone (" + here.replace(/_/g, " ") + ").";
      }
    } catch (err) {
      // No Intl support: the clinic's zone is already named in the text.
    }
  });

  // The day strip: show a day's times on the page instead of loading it again.
  document.querySelectorAll("[data-day-strip]").forEach(function (strip) {
    strip.addEventListener("click", function (event) {
      var tab = event.target.closest("a[data-day]");
      var panel = tab && document.querySelector('[data-day-panel="' + tab.dataset.day + '"]');
      if (!panel) {
        return;
      }
      event.preventDefault();
      document.querySelectorAll("[data-day-panel]").forEach(function (other) {
        other.hidden = other !== panel;
      });
      strip.querySelectorAll("a[data-day]").forEach(function (other) {
        if (other === tab) {
          other.setAttribute("aria-current", "date");
        } else {
          other.removeAttribute("aria-current");
        }
      });
      if (window.history && history.replaceState) {
        history.replaceState(null, "", tab.href);
      }
      var first = panel.querySelector("a.slot");
      if (first) {
        first.focus({ preventScroll: true });
      }
    });
  });

  // "Who is this visit for?": "Your name" is asked only when it is for someone else.
  document.querySelectorAll("[data-who]").forEach(function (group) {
    var shown = group.closest("form").querySelectorAll("[data-reveal]");
    function update() {
      var checked = group.querySelector("input:checked");
      shown.forEach(function (part) {
        part.hidden = !checked || checked.value !== part.dataset.reveal;
      });
    }
    group.addEventListener("change", update);
    update();
  });
})();
