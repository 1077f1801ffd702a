/* Biobank UI: keep the scan box focused, answer scans in place, beep. No libraries. */
(function () {
  "use strict";
  var audio = null;
  window.biobankBeeps = [];  // what was signalled, for people using assistive tools and for tests

  function ctx() {
    var AC = window.AudioContext || window.webkitAudioContext;
    if (!AC) return null;
    if (!audio) { try { audio = new AC(); } catch (e) { return null; } }
    if (audio.state === "suspended" && audio.resume) audio.resume();
    return audio;
  }

  /* A short high tone for success; two low, harsh tones for an error. */
  function beep(kind) {
    window.biobankBeeps.push(kind);
    var ac = ctx();
    if (!ac) return;
    var tones = kind === "error" ? [[220, 0, 0.18], [180, 0.24, 0.3]] : [[1320, 0, 0.08]];
    tones.forEach(function (t) {
      var osc = ac.createOscillator(), gain = ac.createGain();
      osc.type = kind === "error" ? "square" : "sine";
      osc.frequency.value = t[0];
      gain.gain.value = kind === "error" ? 0.25 : 0.15;
      osc.connect(gain); gain.connect(ac.destination);
      osc.start(ac.currentTime + t[1]);
      osc.stop(ac.currentTime + t[1] + t[2]);
    });
  }
  window.biobankBeep = beep;

  function signal(root) {
    var el = root.querySelector("[data-beep]");
    if (el) beep(el.getAttribute("data-beep"));
  }

  function focusTarget() {
    return document.querySelector("[data-keep-focus]");
  }

  function refocus() {
    var target = focusTarget();
    if (!target) return;
    var active = document.activeElement;
    // Leave focus alone while someone uses another control on purpose.
    if (active && active !== document.body && active !== target &&
        /^(INPUT|SELECT|TEXTAREA|BUTTON|A|SUMMARY)$/.test(active.tagName)) return;
    target.focus();
  }

  /* The scan form answers in place (one fetch), so the scan box never loses focus. */
  function bindScanForm(area) {
    var form = area.querySelector("[data-scan-form]");
    if (!form || !window.fetch) return;
    form.addEventListener("submit", function (event) {
      var input = form.querySelector("[data-scan-input]");
      if (!input.value.trim()) { event.preventDefault(); input.focus(); return; }
      ctx();  // a key press or tap allows sound from here on
      event.preventDefault();
      var url = form.action + "?" + new URLSearchParams(new FormData(form)).toString();
      fetch(url, {headers: {"X-Scan-Fragment": "1"}, credentials: "same-origin"})
        .then(function (response) {
          var type = response.headers.get("Content-Type") || "";
          if (response.redirected && response.url.indexOf("/scan") === -1 || type.indexOf("text/html") === -1) {
            window.location.assign(response.url);
            return null;
          }
          return response.text().then(function (html) {
            var holder = document.createElement("div");
            holder.innerHTML = html;
            var fresh = holder.querySelector("[data-scan-area]");
            if (!fresh) { window.location.assign(url); return; }
            area.replaceWith(fresh);
            document.querySelectorAll("main > .flash").forEach(function (f) { f.remove(); });
            history.replaceState(null, "", url);
            bindScanForm(fresh);
            bindThawQuestion(fresh);
            signal(fresh);
            var target = focusTarget();
            if (target) { target.value = ""; target.focus(); }
          });
        })
        .catch(function () { form.submit(); });
    });
  }

  /* Returning a tube asks whether it thawed. Enter after the position moves to the
     question, where N (stayed frozen) or Y (thawed) answers and sends the form; the
     letters never reach the position box, which takes row letters itself. */
  function bindThawQuestion(root) {
    root.querySelectorAll("[data-thaw-question]").forEach(function (question) {
      var form = question.closest("form");
      var position = form.querySelector("[name=position]");
      position.addEventListener("keydown", function (event) {
        if (event.key !== "Enter" || !position.value.trim() || form.querySelector("[name=thawed]:checked")) return;
        event.preventDefault();
        question.querySelector("input[value=no]").focus();
      });
      question.addEventListener("keydown", function (event) {
        var key = (event.key || "").toLowerCase();
        if (key !== "y" && key !== "n") return;
        event.preventDefault();
        question.querySelector(key === "y" ? "input[value=yes]" : "input[value=no]").checked = true;
        if (form.requestSubmit) form.requestSubmit(); else form.submit();
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    signal(document);
    var area = document.querySelector("[data-scan-area]");
    if (area) bindScanForm(area);
    bindThawQuestion(document);
    refocus();
    document.addEventListener("focusout", function () { setTimeout(refocus, 0); });
    document.addEventListener("click", function (event) {
      if (!event.target.closest("a, button, input, select, textarea, label, summary, [tabindex]")) refocus();
    });
    document.addEventListener("keydown", function (event) {
      ctx();
      if (event.key === "Escape") {
        var cancel = document.querySelector("[data-cancel]");
        if (cancel) window.location.assign(cancel.href);
      }
    });
    /* Confirmations asked for by a form (discard): the browser's own dialog is a second safety net. */
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
      });
    });
  });
})();
