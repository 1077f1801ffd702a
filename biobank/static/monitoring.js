/* Open alarms in the page header: ring when any is not acknowledged, and keep the count fresh.
   No libraries; the banner is rendered by the server, this only sounds and polls. */
(function () {
  "use strict";
  var POLL_MS = 30000;
  var audio = null;
  window.biobankAlarmSounds = window.biobankAlarmSounds || [];   // what was sounded (for tests and screen readers)

  function ring() {
    window.biobankAlarmSounds.push("alarm");
    var AC = window.AudioContext || window.webkitAudioContext;
    if (!AC) return;
    try {
      if (!audio) audio = new AC();
      if (audio.state === "suspended" && audio.resume) audio.resume().catch(function () {});
      [0, 0.35, 0.7].forEach(function (at) {
        var osc = audio.createOscillator(), gain = audio.createGain();
        osc.type = "sawtooth";
        osc.frequency.value = 880;
        gain.gain.value = 0.2;
        osc.connect(gain); gain.connect(audio.destination);
        osc.start(audio.currentTime + at);
        osc.stop(audio.currentTime + at + 0.22);
      });
    } catch (e) { /* no sound device: the banner still says it */ }
  }

  function update(banner, data) {
    var before = parseInt(banner.getAttribute("data-unacknowledged"), 10) || 0;
    banner.setAttribute("data-open", data.open);
    banner.setAttribute("data-unacknowledged", data.unacknowledged);
    banner.querySelector("[data-alarm-open]").textContent = data.open;
    banner.querySelector("[data-alarm-unacknowledged]").textContent = data.unacknowledged;
    if (data.open) { banner.hidden = false; banner.setAttribute("role", "alert"); } else { banner.hidden = true; }
    if (data.unacknowledged > before) ring();
  }

  function poll(banner) {
    if (!window.fetch) return;
    var url = banner.getAttribute("data-summary-url");
    window.setInterval(function () {
      fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) { if (data) update(banner, data); })
        .catch(function () {});
    }, POLL_MS);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var banner = document.querySelector("[data-alarm-banner]");
    if (!banner) return;
    if ((parseInt(banner.getAttribute("data-unacknowledged"), 10) || 0) > 0) ring();
    poll(banner);
  });
})();
