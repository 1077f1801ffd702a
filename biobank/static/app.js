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

  /* A text in the reader's language, from the JSON block base.html renders (core/js_strings.py),
     else the English given here; %(name)s placeholders are filled from `values`. */
  var strings = null;
  function t(key, english, values) {
    if (strings === null) {
      var block = document.getElementById("i18n-strings");
      try { strings = (block && JSON.parse(block.textContent)) || {}; } catch (e) { strings = {}; }
    }
    var text = typeof strings[key] === "string" && strings[key] ? strings[key] : english;
    return text.replace(/%\((\w+)\)s/g, function (whole, name) {
      return Object.prototype.hasOwnProperty.call(values || {}, name) ? String(values[name]) : whole;
    });
  }

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
  /* Scans that arrive while the answer to the previous one is on its way wait their turn;
     what was typed of the next one meanwhile is carried over, never overwritten by a queued scan. */
  var scanQueue = [], scanBusy = false, carried = "";
  var shown = window.location.pathname + window.location.search;  // the address of what the page shows

  /* A queued scan goes into the field that now takes it, as if typed there and ended with Enter. */
  function nextQueued() {
    var target = focusTarget();
    if (!scanQueue.length || !target) return;
    target.value = scanQueue.shift();
    var enter = new KeyboardEvent("keydown", {key: "Enter", bubbles: true, cancelable: true});
    if (target.dispatchEvent(enter) && target.form) {
      if (target.form.requestSubmit) target.form.requestSubmit(); else target.form.submit();
    }
  }

  function bindScanForm(area) {
    var form = area.querySelector("[data-scan-form]");
    if (!form || !window.fetch) return;
    form.addEventListener("submit", function (event) {
      var input = form.querySelector("[data-scan-input]");
      if (scanBusy) {
        event.preventDefault();
        var whole = (carried + input.value).trim();
        carried = "";
        input.value = "";
        if (whole) scanQueue.push(whole);
        return;
      }
      var suggestion = area.querySelector("[data-suggestion]");
      if (!input.value.trim() && suggestion) input.value = suggestion.getAttribute("data-suggestion");
      if (!input.value.trim()) { event.preventDefault(); input.focus(); return; }
      ctx();  // a key press or tap allows sound from here on
      event.preventDefault();
      var url = form.action + "?" + new URLSearchParams(new FormData(form)).toString();
      input.value = "";  // what is typed while the answer comes belongs to the next scan
      scanBusy = true;
      fetch(url, {headers: {"X-Scan-Fragment": "1"}, credentials: "same-origin"})
        .then(function (response) {
          var type = response.headers.get("Content-Type") || "";
          if (type.indexOf("text/html") === -1) { window.location.assign(response.url); return null; }
          if (response.redirected && response.url.indexOf("/scan") === -1) {
            scanBusy = false;  // the scan opened another page (a box map, an action's form): shown in place
            return response.text().then(function (html) { showPage(parse(html), response.url, url); });
          }
          return response.text().then(function (html) {
            var typed = carried + input.value;
            carried = "";
            if (!showScanArea(parse(html), url)) { window.location.assign(url); return; }
            var target = focusTarget();
            scanBusy = false;
            if (!target) return;
            target.focus();
            if (!scanQueue.length) { target.value = typed; return; }
            carried = typed;
            nextQueued();
            if (scanBusy) return;
            // The queued scan went out with the page's own form, or was refused on the spot:
            // what was typed after it stays in the field that now takes the next scan.
            target = focusTarget();
            if (target && carried) target.value = carried;
            carried = "";
          });
        })
        .catch(function () { scanBusy = false; input.value = new URL(url).searchParams.get("code") || ""; form.submit(); });
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

  /* Focus a field with its text selected, so that the next scan replaces it; unless someone has
     begun typing there since the page came: this script runs after the page is shown, and a scan
     that arrived in between must not be selected and overwritten by its own next characters. */
  function focusReplacing(el) {
    var typed = el.value !== el.defaultValue;
    el.focus();
    if (!typed && el.select && el.type !== "radio") el.select();
  }

  /* After a refused form, focus is where the problem is (its text selected, so the next scan
     replaces it), not in the first field of the form. */
  function focusFirstProblem() {
    var bad = document.querySelector("form [aria-invalid=true]");
    if (!bad) return false;
    focusReplacing(bad);
    return true;
  }

  /* Forms marked data-steps are filled by scanner and keyboard: Enter in a filled field moves
     to the next field still to fill (required, or marked data-step), and sends the form only
     when nothing required is missing. A radio group with data-key letters is answered by the
     letter. A field with data-must-match refuses any other scan on the spot, with the error
     sound, and stays empty for the right one. */
  function bindSteps(root) {
    root.querySelectorAll("form[data-steps]").forEach(function (form) {
      var first = form.querySelector("[autofocus]");
      if (first && !document.querySelector("form [aria-invalid=true]")) {
        focusReplacing(first);  // a typed value replaces the suggested one
      }
      function controls() {
        return Array.prototype.filter.call(
          form.querySelectorAll("input:not([type=hidden]):not([type=submit]), select, textarea"),
          function (el) { return !el.disabled && el.offsetParent !== null; });
      }
      function empty(el) {
        if (el.type === "radio") return !form.querySelector("input[type=radio][name='" + el.name + "']:checked");
        if (el.type === "checkbox") return false;
        return !el.value.trim();
      }
      function wanted(el) { return el.required || el.hasAttribute("data-step"); }
      function sameGroup(a, b) { return a && b && a.type === "radio" && b.type === "radio" && a.name === b.name; }
      function nextToFill(from) {
        var list = controls(), start = list.indexOf(from), i, el;
        for (i = start + 1; i < list.length; i++) {
          el = list[i];
          if (!sameGroup(el, from) && wanted(el) && empty(el)) return el;
        }
        return missing(from);
      }
      function missing(from) {
        var list = controls(), i;
        for (i = 0; i < list.length; i++) if (list[i] !== from && !sameGroup(list[i], from) && list[i].required && empty(list[i])) return list[i];
        return null;
      }
      function send() { if (form.requestSubmit) form.requestSubmit(); else form.submit(); }
      function moveTo(el) { el.focus(); if (el.select && el.type !== "radio") el.select(); }
      function wrongScan(el, expected) {
        var scanned = el.value.trim(), answer = el.parentNode.querySelector("[data-scan-answer]");
        if (!answer) {
          answer = document.createElement("p");
          answer.className = "field-error";
          answer.setAttribute("role", "alert");
          answer.setAttribute("data-scan-answer", "");
          el.parentNode.appendChild(answer);
        }
        answer.textContent = "⚠ " + t("wrong_scan", "You scanned %(scanned)s: that is not %(expected)s. " +
          "Nothing was done; scan %(expected)s again to confirm.", {scanned: scanned, expected: expected});
        el.setAttribute("aria-invalid", "true");
        el.value = "";
        el.focus();
        beep("error");
      }
      form.addEventListener("keydown", function (event) {
        var el = event.target, key = (event.key || "").toLowerCase();
        if (el.type === "radio") {
          var choice = key === "enter" ? el :
            form.querySelector("input[type=radio][name='" + el.name + "'][data-key='" + key + "']");
          if (!choice) return;
          event.preventDefault();
          choice.checked = true;
          var after = nextToFill(choice);
          if (after) moveTo(after); else send();
          return;
        }
        if (key !== "enter" || el.tagName !== "INPUT" || el.type === "checkbox") return;
        var expected = el.getAttribute("data-must-match");
        if (expected !== null && el.value.trim() && el.value.trim() !== expected) {
          event.preventDefault();
          wrongScan(el, expected);
          return;
        }
        if (empty(el) && el.required) { event.preventDefault(); return; }
        var target = empty(el) ? missing(el) : nextToFill(el);
        event.preventDefault();
        if (target) moveTo(target); else send();
      });
    });
  }

  /* Print buttons (the inline handler attribute is refused by the Content-Security-Policy). */
  function bindPrint(root) {
    root.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
  }

  /* Confirmations asked for by a form (discard): the browser's own dialog is a second safety net. */
  function bindConfirm(root) {
    root.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
      });
    });
  }

  function parse(html) { return new DOMParser().parseFromString(html, "text/html"); }

  /* The scan page's answer (its scan area alone) in place of the scan area, at its address. */
  function showScanArea(doc, address) {
    var fresh = doc.querySelector("[data-scan-area]"), area = document.querySelector("[data-scan-area]");
    if (!fresh || !area) return false;
    fresh = document.adoptNode(fresh);
    area.replaceWith(fresh);
    document.querySelectorAll("main > .flash").forEach(function (f) { f.remove(); });
    if (address) history.replaceState(null, "", address);
    shown = window.location.pathname + window.location.search;
    bindScanForm(fresh);
    bindThawQuestion(fresh);
    bindInPlace(fresh);
    signal(fresh);
    return true;
  }

  /* The page a form or a scan led to, shown in place of this one's main part: the same header,
     styles and scripts, so there is nothing to load again but the answer itself. */
  function showPage(doc, address, fallback) {
    var fresh = doc.querySelector("main"), current = document.querySelector("main");
    if (!fresh || !current) { window.location.assign(address || fallback); return; }
    fresh = document.adoptNode(fresh);
    current.replaceWith(fresh);
    document.title = doc.title;
    if (address && address !== window.location.href) history.pushState(null, "", address);
    shown = window.location.pathname + window.location.search;
    // The header stays: the navigation marks the page now shown, as the server marks it.
    document.querySelectorAll(".mainnav a").forEach(function (link) {
      if (link.pathname === window.location.pathname) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    });
    bindPage(fresh);
    // A page shown in place gets no autofocus from the browser: focus what the page asks for.
    var active = document.activeElement, asked = fresh.querySelector("[autofocus]");
    if (asked && (!active || !fresh.contains(active))) asked.focus();
    refocus();
  }

  /* Forms marked data-in-place (the steps of an action started on the scan page) are sent with
     one fetch and answered in place: the server sends the page that comes next (X-In-Place), or
     its scan area alone when this page has one (X-Scan-Fragment), with its address in X-Page-Url.
     A second Enter while the answer is on its way sends nothing: what was typed after the sent
     value is a scan for the page that answers. */
  function bindInPlace(root) {
    root.querySelectorAll("form[data-in-place]").forEach(function (form) {
      var busy = false, sent = null;
      function typedSince() {
        var field = sent && sent.field;
        if (!field || field.value.indexOf(sent.value) !== 0) return "";
        var more = field.value.slice(sent.value.length);
        field.value = sent.value;
        return more;
      }
      form.addEventListener("submit", function (event) {
        if (event.defaultPrevented || !window.fetch) return;
        event.preventDefault();
        if (busy) {
          var next = typedSince().trim();
          if (next) scanQueue.push(next);
          return;
        }
        var field = document.activeElement && document.activeElement.form === form ? document.activeElement : null;
        busy = true;
        sent = field ? {field: field, value: field.value} : null;
        ctx();
        var headers = {"X-In-Place": "1"};
        if (form.closest("[data-scan-area]")) headers["X-Scan-Fragment"] = "1";
        fetch(form.action, {method: "POST", body: new FormData(form), headers: headers, credentials: "same-origin"})
          .then(function (response) {
            return answered(response).catch(function () {
              // The step reached the server; only its answer could not be shown here: load the page
              // it leads to. It is never sent a second time.
              window.location.assign(response.headers.get("X-Page-Url") || response.url);
            });
          }, function () {
            // No answer at all (the network, the server): the page as it is now, to try again from.
            window.location.reload();
          });
      });

      /* The answer shown: the next page's main part, or the scan area alone. */
      function answered(response) {
        var type = response.headers.get("Content-Type") || "";
        if (type.indexOf("text/html") === -1) {  // not a page (the server too busy to answer one)
          window.location.assign(response.ok ? response.url : window.location.href);
          return Promise.resolve();
        }
        return response.text().then(function (html) {
          var doc = parse(html), address = response.headers.get("X-Page-Url");
          var typed = typedSince();
          if (doc.querySelector("main") || !showScanArea(doc, address)) {
            showPage(doc, address || response.url, form.action);
          }
          var target = focusTarget() || document.activeElement;
          if (target && target.tagName === "INPUT" && document.querySelector("main").contains(target)) {
            target.focus();
            if (typed && !scanQueue.length) target.value = typed;
          }
          if (scanQueue.length) nextQueued();
        });
      }
    });
  }

  /* Everything a part of a page needs once it is shown: on load, and after an answer in place. */
  function bindPage(root) {
    signal(root);
    focusFirstProblem();
    bindSteps(root);
    bindPrint(root);
    bindConfirm(root);
    bindInPlace(root);
    var area = root.querySelector("[data-scan-area]");
    if (area) bindScanForm(area);
    bindThawQuestion(root);
  }

  document.addEventListener("DOMContentLoaded", function () {
    bindPage(document);
    refocus();
    // Back and Forward over pages shown in place load the page of that address again.
    window.addEventListener("popstate", function () {
      if (window.location.pathname + window.location.search !== shown) window.location.reload();
    });
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
  });
})();
