/* Reachly web UI: small progressive enhancements. Every form also works
 * without JavaScript; this file makes some of them quicker. No polling:
 * the only requests made here follow a click, a key press or a file choice. */
(function () {
  "use strict";

  var R = (window.Reachly = window.Reachly || {});

  function csrfToken(form) {
    var input = form && form.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) return input.value;
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }
  R.csrfToken = csrfToken;

  R.toast = function (message, kind) {
    var region = document.querySelector("[data-toasts]");
    if (!region) return;
    var el = document.createElement("div");
    el.className = "toast" + (kind ? " " + kind : "");
    el.textContent = message;
    region.appendChild(el);
    setTimeout(function () { el.remove(); }, kind === "error" ? 7000 : 3500);
  };

  R.setBusy = function (button, busy) {
    if (!button) return;
    if (busy) {
      button.dataset.busy = "true";
      button.disabled = true;
      button.setAttribute("aria-busy", "true");
      if (button.dataset.pending) button.setAttribute("aria-label", button.dataset.pending);
    } else {
      delete button.dataset.busy;
      button.disabled = false;
      button.removeAttribute("aria-busy");
      button.removeAttribute("aria-label");
    }
  };

  // ---- navigation drawer (small screens) ----
  function initMenu() {
    var toggle = document.querySelector("[data-menu-toggle]");
    var sidebar = document.getElementById("sidebar");
    if (!toggle || !sidebar) return;
    function set(open) {
      sidebar.dataset.open = open ? "true" : "false";
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      if (open) { var first = sidebar.querySelector("a"); if (first) first.focus(); }
    }
    toggle.addEventListener("click", function () { set(sidebar.dataset.open !== "true"); });
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && sidebar.dataset.open === "true") { set(false); toggle.focus(); }
    });
    document.addEventListener("click", function (e) {
      if (sidebar.dataset.open === "true" && !sidebar.contains(e.target) && !toggle.contains(e.target)) set(false);
    });
  }

  // ---- tenant switcher: switch on change ----
  function initAutosubmit() {
    document.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
      form.querySelectorAll("[data-noscript-only]").forEach(function (el) { el.hidden = true; });
      var select = form.querySelector("select");
      if (select) select.addEventListener("change", function () { form.submit(); });
    });
  }

  // ---- confirmations and forms posted with fetch ----
  function initForms() {
    document.addEventListener("submit", function (e) {
      var form = e.target;
      if (!(form instanceof HTMLFormElement)) return;
      if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) { e.preventDefault(); return; }
      if (!form.hasAttribute("data-async") || !window.fetch) return;
      e.preventDefault();
      var button = e.submitter || form.querySelector("button[type=submit]");
      R.setBusy(button, true);
      fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": csrfToken(form) }
      }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (!response.ok) {
            var message = (body && body.error && body.error.message) || "That did not work (HTTP " + response.status + ").";
            throw new Error(message);
          }
          // The new state arrives as an event on the WebSocket (live.js),
          // which also re-enables the button; this is only a fallback.
          setTimeout(function () { R.setBusy(button, false); }, 10000);
          form.dispatchEvent(new CustomEvent("reachly:done", { bubbles: true, detail: body }));
        });
      }).catch(function (error) {
        R.setBusy(button, false);
        R.toast(error.message, "error");
      });
    });
  }

  // ---- copy to clipboard ----
  function initCopy() {
    document.addEventListener("click", function (e) {
      var button = e.target.closest("[data-copy]");
      if (!button) return;
      var source = document.querySelector(button.dataset.copy);
      if (!source) return;
      var done = function () { R.toast("Copied to the clipboard."); };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(source.value).then(done, function () { source.select(); });
      } else {
        source.select();
        try { document.execCommand("copy"); done(); } catch (err) { /* selected: the user copies */ }
      }
    });
  }

  // ---- lead import: preview as soon as a file is chosen ----
  function initImport() {
    var form = document.querySelector("form[data-import-form]");
    if (!form || !window.fetch) return;
    var slot = form.querySelector("[data-import-preview]");
    var input = form.querySelector("input[type=file]");
    var previewButton = form.querySelector("[data-preview-button]");
    function preview() {
      if (!input.files.length) { slot.innerHTML = ""; return; }
      R.setBusy(previewButton, true);
      slot.setAttribute("aria-busy", "true");
      fetch(form.dataset.previewUrl, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(form), "X-Reachly-Fragment": "1" }
      }).then(function (response) { return response.text(); }).then(function (html) {
        slot.innerHTML = html;
      }).catch(function () {
        R.toast("The preview failed; you can still import the file.", "error");
      }).finally(function () {
        R.setBusy(previewButton, false);
        slot.removeAttribute("aria-busy");
      });
    }
    input.addEventListener("change", preview);
    if (previewButton) previewButton.addEventListener("click", function (e) { e.preventDefault(); preview(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    initMenu();
    initAutosubmit();
    initForms();
    initCopy();
    initImport();
  });
})();
