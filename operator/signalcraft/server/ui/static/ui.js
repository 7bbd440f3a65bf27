// Progressive enhancement only: every flow works without this file. Loaded from our own origin (CSP: script-src 'self').
(function () {
  "use strict";

  function shellQuote(text) {
    return "'" + text.replace(/'/g, "'\\''") + "'";
  }

  function curlFor(button) {
    var source = document.getElementById(button.getAttribute("data-curl-source"));
    return "curl -X POST " + shellQuote(button.getAttribute("data-curl-url")) + " \\\n" +
      "  -H 'Content-Type: application/json' \\\n  --data-binary " + shellQuote(source ? source.value : "");
  }

  function copyText(button) {
    var target = document.getElementById(button.getAttribute("data-copy-target"));
    if (!target) { return; }
    var text = target.getAttribute("data-value") || target.value || target.textContent;
    if (button.hasAttribute("data-curl-url")) {
      text = curlFor(button);
      target.textContent = text;
      target.setAttribute("data-value", text);
    }
    var status = document.getElementById(button.getAttribute("data-copy-status"));
    navigator.clipboard.writeText(text).then(function () {
      if (status) { status.textContent = "Copied"; }
    }, function () {
      if (status) { status.textContent = "Copy failed: select the text and copy it"; }
    });
  }

  function toggleReveal(button) {
    var target = document.getElementById(button.getAttribute("data-reveal-target"));
    if (!target) { return; }
    var shown = button.getAttribute("data-shown") === "true";
    target.textContent = shown ? target.getAttribute("data-masked") : target.getAttribute("data-value");
    button.setAttribute("data-shown", shown ? "false" : "true");
    button.textContent = shown ? "Reveal" : "Hide";
    button.setAttribute("aria-label", button.textContent + " " + button.getAttribute("data-label"));
  }

  function enhance(root) {
    root.querySelectorAll("[data-copy-target]").forEach(function (button) { button.hidden = false; });
    root.querySelectorAll("[data-reveal-target]").forEach(function (button) { button.hidden = false; });
    root.querySelectorAll("[data-nojs]").forEach(function (element) { element.hidden = true; });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (!button) { return; }
    if (button.hasAttribute("data-copy-target")) { event.preventDefault(); copyText(button); }
    if (button.hasAttribute("data-reveal-target")) { event.preventDefault(); toggleReveal(button); }
  });
  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.addEventListener("htmx:afterSwap", function (event) { enhance(event.target); });
}());
