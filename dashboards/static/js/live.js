/* The live page: Server-Sent Events from /api/live/stream -> tiles, traces, cue banner, voice. */
(function () {
  "use strict";
  const G = window.Gait, C = window.GaitCharts, el = G.el;
  const WINDOW_S = 300; // traces: the last five minutes
  const TILE_METRICS = ["cadence_spm", "gct_ms", "vo_cm", "vertical_ratio_pct", "strike", "lean_deg"];
  const TRACE_METRICS = ["cadence_spm", "gct_ms", "vo_cm", "vertical_ratio_pct"];
  const st = { t0: null, last: {}, lastStepWall: null, active: false, steps: 0, runId: null, cue: null, clearTimer: null, health: {}, dropped: 0, interval: null, streamS: null };
  const trace = {}; // metric -> {t: [], y: []}
  const charts = {};
  G.nav("live");

  // --- tiles -------------------------------------------------------------------------------------
  const tiles = document.getElementById("tiles");
  for (const m of TILE_METRICS) {
    const t = m === "strike" ? G.tile("fsa_deg", null, { label: "Foot strike", text: "–", unit: "" }) : G.tile(m, null);
    t.id = "tile-" + m;
    t.querySelector(".foot").replaceChildren(el("span", { class: "muted", text: "waiting" }));
    tiles.append(t);
  }
  function setTile(m, text, unit, zone, chip, note) {
    const t = document.getElementById("tile-" + m);
    t.className = `tile z-${zone}`;
    t.querySelector(".num").textContent = text;
    t.querySelector(".unit").textContent = unit;
    const foot = t.querySelector(".foot");
    foot.replaceChildren(...[zone !== "none" || chip ? el("span", { class: `chip z-${zone}`, text: chip || G.ZONE_WORDS[zone] }) : null,
      note ? el("span", { text: note }) : null].filter(Boolean));
  }
  // the median of the last 10 s of steps (the per-step number jumps; this one does not)
  function recent(m, s) {
    const tr = trace[m];
    if (!tr || tr.t.length < 5) return "";
    const tNow = s.ic_s - st.t0, vals = [];
    for (let i = tr.t.length - 1; i >= 0 && tr.t[i] >= tNow - 10; i--) vals.push(tr.y[i]);
    const med = G.median(vals);
    return med === null ? "" : `10 s: ${G.fmtMetric(m, med)}`;
  }
  function updateTiles(s) {
    for (const m of ["cadence_spm", "gct_ms", "vo_cm", "vertical_ratio_pct"]) {
      const v = s[m];
      if (v === null || v === undefined) continue;
      const z = G.zone(m, v);
      setTile(m, G.fmtMetric(m, v), G.ZONES[m].unit, z, null, recent(m, s));
      st.last[m] = v;
    }
    if (s.strike) {
      const z = G.STRIKE_ZONE[s.strike] || "none";
      const note = s.fsa_deg !== null && s.fsa_deg !== undefined ? `angle ${G.fmt(s.fsa_deg, 1)}°` : "";
      setTile("strike", G.STRIKE_WORDS[s.strike] || s.strike, "", z, s.strike, note);
      st.last.strike = s.strike;
    }
    if (s.arm_cross_cm !== null && s.arm_cross_cm !== undefined) { // a wrist sensor: a tile of its own, made when first needed
      if (!document.getElementById("tile-arm_cross_cm")) {
        const t = G.tile("arm_cross_cm", null);
        t.id = "tile-arm_cross_cm";
        tiles.append(t);
      }
      const swing = s.arm_swing_deg !== null && s.arm_swing_deg !== undefined ? `swing ${G.fmt(s.arm_swing_deg, 0)}°` : "";
      setTile("arm_cross_cm", G.fmtMetric("arm_cross_cm", s.arm_cross_cm), "cm", "none", "unvalidated", swing);
    }
    if (s.lean_deg !== null && s.lean_deg !== undefined) {
      const unc = (s.quality || []).includes("uncalibrated");
      const z = unc ? "none" : G.zone("lean_deg", s.lean_deg);
      setTile("lean_deg", G.fmt(s.lean_deg, 1), "°", z, unc ? "uncalibrated" : null, unc ? "no standing calibration" : "forward +");
    }
  }

  // --- traces ------------------------------------------------------------------------------------
  const traces = document.getElementById("traces");
  for (const m of TRACE_METRICS) {
    trace[m] = { t: [], y: [] };
    const box = el("div");
    traces.append(el("div", { class: "card trace" }, [el("h3", { text: `${G.ZONES[m].label} (${G.ZONES[m].unit}) · last 5 min` }), box]));
    charts[m] = { box, u: null };
  }
  function pushTrace(s) {
    const t = s.ic_s - st.t0;
    for (const m of TRACE_METRICS) {
      const v = s[m];
      if (v === null || v === undefined) continue;
      const tr = trace[m];
      tr.t.push(t); tr.y.push(v);
      let cut = 0;
      while (cut < tr.t.length && tr.t[cut] < t - WINDOW_S) cut++;
      if (cut) { tr.t.splice(0, cut); tr.y.splice(0, cut); }
    }
  }
  let drawPending = false;
  function drawTraces() {
    if (drawPending) return;
    drawPending = true;
    requestAnimationFrame(() => {
      drawPending = false;
      for (const m of TRACE_METRICS) {
        const tr = trace[m], ch = charts[m];
        if (!tr.t.length) continue;
        const sm = G.smooth(tr.y, 9);
        if (!ch.u) {
          ch.u = C.line(ch.box, {
            x: tr.t.slice(), xKind: "time", metric: m, height: 150, legend: false,
            series: [{ label: "step", y: tr.y.slice(), color: "#94a3b8", points: 2.5 }, { label: "trend", y: sm, color: "#0f172a", width: 2 }],
          });
        } else {
          ch.u.setData([tr.t.slice(), tr.y.slice(), sm]);
        }
      }
    });
  }

  // --- banner and voice --------------------------------------------------------------------------
  const banner = document.getElementById("banner");
  const speak = document.getElementById("speak");
  speak.checked = localStorage.getItem("gait.speak") === "1";
  speak.addEventListener("change", () => {
    localStorage.setItem("gait.speak", speak.checked ? "1" : "0");
    if (speak.checked) say("Voice cues on");
  });
  function say(text) {
    if (!speak.checked || !("speechSynthesis" in window)) return;
    try {
      window.speechSynthesis.cancel();
      const u = new SpeechSynthesisUtterance(text);
      u.rate = 1.05;
      window.speechSynthesis.speak(u);
    } catch (e) { /* no voice on this device */ }
  }
  function setBanner(kind, icon, text, sub) {
    banner.className = "banner " + kind;
    document.getElementById("banner-icon").textContent = icon;
    document.getElementById("banner-text").textContent = text;
    document.getElementById("banner-sub").textContent = sub || "";
  }
  function alertSub(a) {
    const parts = [a.rule.replace("_", " ")];
    if (a.value !== null && a.value !== undefined) parts.push(`now ${G.fmt(a.value, 1)}`);
    if (a.target) parts.push(`target ${a.target}`);
    return parts.join(" · ");
  }
  function showCue(a, spoken) {
    clearTimeout(st.clearTimer);
    if (a.kind === "stop") {
      st.cue = a;
      setBanner("stop", "✋", a.message, alertSub(a));
    } else if (a.kind === "cue") {
      if (st.cue && st.cue.kind === "stop") return;
      st.cue = a;
      setBanner("cue", "➜", a.message, alertSub(a));
    } else if (a.kind === "clear") {
      if (st.cue && st.cue.kind === "stop") return;
      st.cue = null;
      setBanner("", "✓", a.message || "Good: back on target", alertSub(a));
      st.clearTimer = setTimeout(idleBanner, 8000);
    } else return;
    if (spoken) say(a.message);
  }
  function idleBanner() {
    if (st.cue) return;
    if (st.active) setBanner("", "✓", "On target", "The coach stays quiet while your form is where you want it.");
    else if (st.steps) setBanner("idle", "■", "Run ended", "Open it under Runs to review every step.");
    else setBanner("idle", "◌", "Waiting for the first steps…", "Start a run: gait dashboard, or make demo.");
  }

  // --- connection and health ---------------------------------------------------------------------
  const conn = document.getElementById("conn"), connText = document.getElementById("conn-text");
  function setConn(cls, text) { conn.className = "status-pill " + cls; connText.textContent = text; }
  function renderHealth() {
    const body = document.querySelector("#health tbody");
    const devs = Object.values(st.health);
    if (!devs.length) return;
    body.replaceChildren(...devs.map((h) => {
      const lost = (h.dropped || 0);
      const bat = h.battery_pct === null || h.battery_pct === undefined ? "–" : h.battery_pct + "%";
      const batZ = h.battery_pct === null || h.battery_pct === undefined ? "" : h.battery_pct < 15 ? "z-red zcell" : h.battery_pct < 30 ? "z-orange zcell" : "";
      return el("tr", { dataset: { device: h.device } }, [
        el("td", { class: "l" }, [el("span", { class: `dot ${lost + (h.malformed || 0) ? "z-orange" : "z-green"}` }), h.device, h.kind ? el("span", { class: "sub", text: h.kind }) : null]),
        el("td", { text: (h.received || 0).toLocaleString() }),
        el("td", { class: lost ? "z-orange zcell" : "", text: lost.toLocaleString() }),
        el("td", { class: h.malformed ? "z-orange zcell" : "", text: (h.malformed || 0).toLocaleString() }),
        el("td", { title: h.missing_samples ? `${h.missing_samples} samples missing` : "", text: String(h.gaps || 0) }),
        el("td", { class: batZ, text: bat }),
      ]);
    }));
  }
  function healthFoot() {
    const parts = [];
    if (st.lastStepWall) parts.push(`last step ${Math.round((Date.now() - st.lastStepWall) / 100) / 10} s ago`);
    parts.push(`${st.steps.toLocaleString()} steps`);
    if (st.dropped) parts.push(`${st.dropped} updates skipped (slow connection)`);
    document.getElementById("health-foot").textContent = parts.join(" · ");
  }
  setInterval(() => {
    healthFoot();
    if (st.t0 !== null && st.active && st.lastStepWall && Date.now() - st.lastStepWall > 5000) setConn("warn", "no steps for " + Math.round((Date.now() - st.lastStepWall) / 1000) + " s");
  }, 1000);

  // --- today's session: the interval and its countdown ---------------------------------------------
  const PHASE_WORDS = { warmup: "Warm-up walk", walk: "WALK", run: "RUN", cooldown: "Cool-down walk", done: "Session done" };
  function streamNow() {
    if (st.streamS === null) return null;
    const since = st.lastStepWall && st.active ? (Date.now() - st.lastStepWall) / 1000 : 0;
    return st.streamS + Math.min(since, 10);
  }
  function renderInterval() {
    const box = document.getElementById("interval"), iv = st.interval;
    if (!iv) { box.hidden = true; return; }
    box.hidden = false;
    box.className = "interval " + iv.phase;
    document.getElementById("interval-phase").textContent = PHASE_WORDS[iv.phase] || iv.phase;
    document.getElementById("interval-count").textContent = iv.count ? `${iv.index} of ${iv.count}` : "";
    const now = streamNow();
    const left = iv.end_s === null || now === null ? null : Math.max(0, iv.end_s - Math.max(now, iv.start_s));
    document.getElementById("interval-left").textContent = left === null ? "" : G.clock(left) + " left";
    box.dataset.phase = iv.phase;
  }
  setInterval(renderInterval, 1000);

  // --- events ------------------------------------------------------------------------------------
  function onStep(s, live) {
    if (st.t0 === null) st.t0 = s.ic_s;
    const t = s.emitted_s !== null && s.emitted_s !== undefined ? s.emitted_s : s.to_s;
    if (t !== null && t !== undefined) st.streamS = st.streamS === null ? t : Math.max(st.streamS, t);
    st.steps++;
    pushTrace(s);
    updateTiles(s);
    document.getElementById("clock").textContent = G.clock(s.ic_s - st.t0);
    if (live) {
      st.lastStepWall = Date.now();
      if (st.active) setConn("ok", "live");
    }
    document.body.dataset.lastIc = s.ic_s;
  }
  function onState(d) {
    st.active = !!d.active;
    st.runId = d.run_id;
    st.health = d.health || {};
    if (d.t0_s !== null && d.t0_s !== undefined) st.t0 = d.t0_s;
    renderHealth();
    const placement = (d.info || {}).placement;
    if (placement && placement !== "foot" && !st.last.strike) {
      const t = document.getElementById("tile-strike");
      t.querySelector(".foot").replaceChildren(el("span", { class: "muted", text: `needs a foot pod (this sensor: ${placement})` }));
    }
    setConn(d.active ? "ok" : "warn", d.active ? "live" : d.ended_reason ? "run ended" : "no run yet");
    if (d.cue) showCue(d.cue, false); else idleBanner();
    if (d.stream_s !== null && d.stream_s !== undefined) st.streamS = d.stream_s;
    st.interval = d.interval || null;
    renderInterval();
  }
  function connect() {
    const es = new EventSource("/api/live/stream");
    let backlog = true;
    es.addEventListener("state", (e) => { onState(JSON.parse(e.data)); backlog = true; });
    es.addEventListener("synced", () => { backlog = false; drawTraces(); });
    es.addEventListener("step", (e) => { onStep(JSON.parse(e.data), !backlog); drawTraces(); });
    es.addEventListener("alert", (e) => {
      const a = JSON.parse(e.data);
      document.body.dataset.lastAlert = a.kind;
      showCue(a, !backlog);
    });
    es.addEventListener("pain", (e) => {
      const p = JSON.parse(e.data);
      document.getElementById("pain-status").replaceChildren(el("span", { text: `Pain ${p.score}/10 saved at ${G.clock(p.time_s - (st.t0 || p.time_s))} of the run.` }));
    });
    es.addEventListener("health", (e) => { const h = JSON.parse(e.data); st.health[h.device || "device"] = h; renderHealth(); });
    es.addEventListener("run", (e) => {
      const r = JSON.parse(e.data);
      if (r.active && r.run_id !== st.runId && st.runId !== null) { location.reload(); return; }
      st.active = !!r.active; st.runId = r.run_id;
      setConn(r.active ? "ok" : "warn", r.active ? "live" : "run ended");
      idleBanner();
    });
    es.addEventListener("dropped", (e) => { st.dropped = JSON.parse(e.data).total; });
    es.addEventListener("interval", (e) => { st.interval = JSON.parse(e.data); renderInterval(); });
    es.onopen = () => { if (!st.active) setConn("warn", "connected · no run"); };
    es.onerror = () => { setConn("bad", "reconnecting…"); };
  }

  // --- pain --------------------------------------------------------------------------------------
  const grid = document.getElementById("pain-grid");
  for (let i = 0; i <= 10; i++) {
    grid.append(el("button", { class: "p" + i, type: "button", dataset: { score: i }, text: String(i), onclick: () => sendPain(i) }));
  }
  async function sendPain(score) {
    const status = document.getElementById("pain-status");
    grid.querySelectorAll("button").forEach((b) => b.classList.toggle("sel", Number(b.dataset.score) === score));
    try {
      const r = await fetch("/api/live/pain", { method: "POST", credentials: "same-origin", headers: { "content-type": "application/json" }, body: JSON.stringify({ score }) });
      const d = await r.json();
      if (!r.ok) { status.replaceChildren(el("span", { class: "bad", text: d.error || "not sent" })); return; }
      const stop = d.records.find((x) => x.type === "alert" && x.kind === "stop");
      status.replaceChildren(el("span", { text: `Pain ${score}/10 sent to the coach and saved.` }), stop ? el("strong", { class: "bad", text: " " + stop.message }) : null);
    } catch (e) {
      status.replaceChildren(el("span", { class: "bad", text: "Could not reach the server." }));
    }
  }

  connect();
})();
