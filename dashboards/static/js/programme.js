/* gait dashboards: the programme pages (/programme, /checkin, /export).
 *
 * Presentation only: the state, the plan, the classes and every sentence come from the server
 * (the programme's own rules and words). The red-flag panel is part of the page's HTML (rendered
 * by the server), so it shows before and without this script, and nothing here hides it.
 */
(function () {
  "use strict";
  const G = window.Gait;
  const el = G.el;
  const page = document.body.dataset.page;
  const app = document.getElementById("app");
  G.nav(page);

  const ZONE = {
    green: { z: "green", mark: "G", word: "green" },
    amber: { z: "orange", mark: "A", word: "amber" },
    red: { z: "red", mark: "R", word: "red" },
    unknown: { z: "none", mark: "?", word: "unknown" },
    pending: { z: "pending", mark: "…", word: "waiting for the next morning" },
  };
  const PENDING_WORDS = "Waiting: the class comes with the next morning's check-in.";
  const WHEN_SHORT = { pre: "Before", during: "During", after: "After", morning: "Next morning" };
  const WHEN_DIARY = { pre: "Before", during: "During", after: "After", morning: "Morning" };
  const STATE_WORDS = { ready: "ready", hold: "on hold", review: "see your doctor or physiotherapist", urgent: "paused: walking only", emergency: "locked" };
  const DAY = 86400000;
  let updates = 0;

  // ---------------------------------------------------------------------------------------------
  // small helpers
  // ---------------------------------------------------------------------------------------------
  function mmss(s) { return G.clock(s); }
  function parseDay(iso) { const [y, m, d] = iso.split("-").map(Number); return new Date(Date.UTC(y, m - 1, d)); }
  function isoDay(d) { return d.toISOString().slice(0, 10); }
  function dayWords(iso) {
    return parseDay(iso).toLocaleDateString(undefined, { weekday: "short", day: "numeric", month: "short", timeZone: "UTC" });
  }
  function card(id, title, children, cls) {
    return el("section", { class: "card section " + (cls || ""), id }, [el("h2", { text: title }), ...[].concat(children)]);
  }
  async function post(url, body) {
    const r = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    let data = null;
    try { data = await r.json(); } catch (e) { data = { error: `${r.status}` }; }
    if (!r.ok) throw new Error(data && data.error ? data.error : `${url}: ${r.status}`);
    return data;
  }
  async function load() {
    const more = page === "programme";
    const [state, plan, history, focus, care] = await Promise.all([
      G.getJSON("/api/programme/state"), G.getJSON("/api/programme/plan"), G.getJSON("/api/programme/history"),
      more ? G.getJSON("/api/programme/focus") : null, more ? G.getJSON("/api/programme/care") : null,
    ]);
    return { state, plan, history, focus, care };
  }

  // ---------------------------------------------------------------------------------------------
  // the state banner (emergency, urgent, review, hold): never hidden while the state holds
  // ---------------------------------------------------------------------------------------------
  function renderBanner(state) {
    const b = document.getElementById("state-banner");
    const s = state.started ? state.state : state.lock.level;
    document.body.dataset.state = s || "none";
    b.classList.remove("emergency", "urgent", "review", "hold");
    const msgs = state.messages || [];
    if (!s || s === "ready" || !msgs.length) { b.classList.add("hidden"); return; }
    b.classList.remove("hidden");
    b.classList.add(s);
    b.dataset.state = s;
    const head = state.headline || msgs[0].split(".")[0];
    document.getElementById("state-headline").textContent = head;
    let rest = msgs[0];
    if (rest.startsWith(head)) { rest = rest.slice(head.length).replace(/^[:.\s]+/, ""); rest = rest.charAt(0).toUpperCase() + rest.slice(1); }
    document.getElementById("state-message").textContent = rest;
  }

  // ---------------------------------------------------------------------------------------------
  // today's plan
  // ---------------------------------------------------------------------------------------------
  function groups(intervals) {
    const out = [];
    for (const [w, r] of intervals) {
      const last = out[out.length - 1];
      if (last && last.w === w && last.r === r) last.n++;
      else out.push({ w, r, n: 1 });
    }
    return out;
  }
  function intervalWords(p) {
    if (p.kind === "rest") return [];
    const parts = [];
    if (p.warm_up_walk_s) parts.push(`${mmss(p.warm_up_walk_s)} brisk walk to warm up`);
    for (const g of groups(p.intervals)) {
      if (!g.r) parts.push(`brisk walk ${mmss(g.w)}`);
      else if (!g.w) parts.push(`run ${mmss(g.r)} continuous, easy`);
      else parts.push(`${g.n} × (walk ${mmss(g.w)} / run ${mmss(g.r)})`);
    }
    if (p.cool_down_walk_s) parts.push(`${mmss(p.cool_down_walk_s)} walk to finish`);
    return parts;
  }
  function planBar(p) {
    const blocks = [];
    if (p.warm_up_walk_s) blocks.push(["warm", p.warm_up_walk_s]);
    for (const [w, r] of p.intervals) { if (w) blocks.push(["walk", w]); if (r) blocks.push(["run", r]); }
    if (p.cool_down_walk_s) blocks.push(["warm", p.cool_down_walk_s]);
    const total = blocks.reduce((a, b) => a + b[1], 0);
    if (!total) return null;
    const bar = el("div", { class: "plan-bar", role: "img", "aria-label": "the session from start to end: walking and running blocks" },
      blocks.map(([k, s]) => el("div", { class: "pb-" + k, title: `${k === "run" ? "run" : "walk"} ${mmss(s)}`, dataset: { kind: k, s: String(s) } })));
    for (const [i, [, s]] of blocks.entries()) bar.children[i].style.flexGrow = String(s);
    return bar;
  }
  function planCard(data) {
    const { plan } = data;
    if (!plan.started) return card("today", "Today's plan", [el("p", { class: "muted", text: plan.not_started })]);
    const t = plan.today;
    const kids = [
      el("div", { class: "plan-kind", id: "plan-kind", dataset: { kind: t.kind }, text: t.kind_words }),
      el("div", { class: "muted", id: "plan-stage", text: `${t.stage_name} · ${dayWords(t.date)}` }),
    ];
    const words = intervalWords(t);
    if (words.length) kids.push(el("ol", { class: "plan-steps", id: "plan-steps" }, words.map((w) => el("li", { text: w }))));
    const bar = planBar(t);
    if (bar) kids.push(bar, el("div", { class: "legend small" }, [
      el("span", {}, [el("span", { class: "swatch pb-warm" }), "warm-up and cool-down walk"]),
      el("span", {}, [el("span", { class: "swatch pb-walk" }), "walk"]),
      el("span", {}, [el("span", { class: "swatch pb-run" }), "run (easy effort, flat ground)"]),
    ]));
    if (t.reason) kids.push(el("p", { class: "note", text: t.reason }));
    if (t.allowed.length) kids.push(el("p", { class: "small muted", text: "Allowed today: " + t.allowed.join(", ") + "." }));
    else kids.push(el("p", { class: "small", text: "Nothing may start today." }));
    const n = plan.next_session;
    if (t.kind === "rest" && n && n.date !== t.date && n.kind !== "rest") {
      kids.push(el("p", { id: "plan-next", text: `Next session: ${dayWords(n.date)}, ${n.kind_words} (${n.stage_name}).` }));
      const nw = intervalWords(n);
      if (nw.length) kids.push(el("ol", { class: "plan-steps small" }, nw.map((w) => el("li", { text: w }))));
    }
    return card("today", "Today's plan", kids);
  }

  // ---------------------------------------------------------------------------------------------
  // the pain traffic light over weeks: one cell per session, the class in a letter and in words
  // ---------------------------------------------------------------------------------------------
  function mondayOf(d) { const w = (d.getUTCDay() + 6) % 7; return new Date(d.getTime() - w * DAY); }
  function trafficCard(data, weeksShown) {
    const { history, state } = data;
    const today = parseDay(state.date);
    const sessions = history.sessions || [];
    const byDay = {};
    for (const s of sessions) (byDay[s.date] = byDay[s.date] || []).push(s);
    const first = sessions.length ? parseDay(sessions[0].date) : today;
    let start = mondayOf(first);
    const lastMonday = mondayOf(today);
    const minStart = new Date(lastMonday.getTime() - (weeksShown - 1) * 7 * DAY);
    if (start < minStart) start = minStart;
    const head = el("tr", {}, [el("th", { text: "Week of" }), ...["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].map((d) => el("th", { text: d }))]);
    const rows = [];
    for (let m = start; m <= lastMonday; m = new Date(m.getTime() + 7 * DAY)) {
      const cells = [el("th", { class: "l", scope: "row", text: dayWords(isoDay(m)).replace(/^\S+\s/, "") })];
      for (let i = 0; i < 7; i++) {
        const d = isoDay(new Date(m.getTime() + i * DAY));
        const ss = byDay[d];
        if (!ss) { cells.push(el("td", { class: d > state.date ? "tl tl-future" : "tl tl-empty", dataset: { date: d } })); continue; }
        const s = ss[ss.length - 1];
        const zone = s.zone || "pending";
        const info = ZONE[zone];
        const label = `${dayWords(d)}: ${s.kind} session, ${info.word}${s.stopped ? ", stopped" : ""}`;
        cells.push(el("td", { class: `tl z-${info.z}`, title: label, "aria-label": label, dataset: { date: d, zone } },
          [el("span", { class: "tl-mark", text: info.mark + (s.stopped ? "!" : "") })]));
      }
      rows.push(el("tr", {}, cells));
    }
    const table = el("table", { class: "tl-table", id: "traffic" }, [el("thead", {}, head), el("tbody", {}, rows)]);
    const words = state.zone_words || {};
    const legend = el("ul", { class: "tl-legend", id: "traffic-legend" }, [
      ...["green", "amber", "red", "unknown"].map((z) => el("li", {}, [
        el("span", { class: `tl-key z-${ZONE[z].z}`, text: ZONE[z].mark }), el("span", { text: words[z] || z })])),
      el("li", {}, [el("span", { class: "tl-key z-pending", text: ZONE.pending.mark }), el("span", { text: PENDING_WORDS })]),
      el("li", {}, [el("span", { class: "tl-key z-none", text: "!" }), el("span", { text: "after a letter: the session was stopped for pain (never counted toward the next stage)." })]),
    ]);
    const kids = [];
    if (state.started) {
      const lz = state.last_zone;
      kids.push(el("p", { id: "last-zone", dataset: { zone: lz || "none" } }, lz
        ? [el("span", { class: `chip z-${ZONE[lz].z}`, text: ZONE[lz].word }), " ", el("span", { text: words[lz] || "" })]
        : [el("span", { class: "muted", text: "No session has a class yet." })]));
      if (state.trend && state.trend.rise_nrs !== null && state.trend.rise_nrs !== undefined) {
        const r = state.trend.rise_nrs;
        kids.push(el("p", { class: "small muted", id: "trend", text: `Morning pain, last 7 days against the 7 before: ${r > 0 ? "+" : ""}${G.fmt(r, 1)} (0-10 scale)${state.trend.up ? ": rising." : "."}` }));
      }
    }
    kids.push(el("div", { class: "table-wrap" }, table), legend);
    return card("traffic-card", "Pain traffic light", kids);
  }

  function stagesCard(data) {
    const st = data.history.stages || [];
    if (!st.length) return card("stages", "Stage history", [el("p", { class: "empty", text: "No stage yet." })]);
    const rows = st.slice().reverse().map((c) => el("tr", { dataset: { stage: String(c.stage) } }, [
      el("td", { text: dayWords(c.date) }), el("td", { class: "l", text: c.stage_name }), el("td", { class: "l wrap", text: c.reason }),
    ]));
    return card("stages", "Stage history", el("div", { class: "table-wrap" }, el("table", {}, [
      el("thead", {}, el("tr", {}, [el("th", { text: "Date" }), el("th", { class: "l", text: "Stage" }), el("th", { class: "l", text: "Why" })])),
      el("tbody", {}, rows)])));
  }

  function recentCheckins(data, n) {
    const cs = (data.history.checkins || []).slice(-n).reverse();
    if (!cs.length) return el("p", { class: "empty", id: "checkins", text: "No check-in yet." });
    const ex = data.state.extent_words || [];
    return el("ul", { class: "list", id: "checkins" }, cs.map((c) => el("li", {}, [
      el("span", { class: "t", text: dayWords(c.date) }),
      el("span", { text: `${WHEN_DIARY[c.when] || c.when}: back ${c.back}, leg ${c.leg}` +
        (c.leg_extent === null || c.leg_extent === undefined ? "" : `, reaching ${ex[c.leg_extent] || c.leg_extent}`) +
        (c.new_numbness || c.new_weakness ? ", new numbness or weakness" : "") }),
    ])));
  }

  // ---------------------------------------------------------------------------------------------
  // the check-in form
  // ---------------------------------------------------------------------------------------------
  function choices(name, items, cls) {
    return el("div", { class: "choices " + (cls || "") }, items.map(([value, text, extra]) => {
      const id = `${name}-${value}`;
      return el("label", { class: "choice " + (extra || ""), for: id, dataset: { field: name, value: String(value) } }, [
        el("input", { type: "radio", name, id, value: String(value), class: "sr" }), el("span", { text })]);
    }));
  }
  function checkinForm(data, onSaved) {
    const moments = data.state.moments || [];
    const ex = data.state.extent_words || [];
    const nrs = Array.from({ length: 11 }, (_, i) => [i, String(i), "p" + i]);
    const status = el("div", { class: "small", id: "checkin-status", role: "status" });
    const form = el("form", { id: "checkin-form", class: "checkin", novalidate: true }, [
      el("fieldset", {}, [el("legend", { text: "When" }), choices("when", moments.map((m) => [m.id, WHEN_SHORT[m.id] || m.id]), "seg-choices")]),
      el("fieldset", {}, [el("legend", { text: "Back pain now (0 = none, 10 = worst imaginable)" }), choices("back", nrs, "nrs")]),
      el("fieldset", {}, [el("legend", { text: "Leg pain now (0 = none, 10 = worst imaginable)" }), choices("leg", nrs, "nrs")]),
      el("fieldset", {}, [el("legend", { text: "How far down the leg do symptoms reach? (optional)" }),
        choices("leg_extent", ex.map((w, i) => [i, `${i} ${w}`]), "extent")]),
      el("label", { class: "check" }, [el("input", { type: "checkbox", name: "new_numbness", id: "new_numbness" }), el("span", { text: "New numbness in a leg" })]),
      el("label", { class: "check" }, [el("input", { type: "checkbox", name: "new_weakness", id: "new_weakness" }), el("span", { text: "New weakness in a leg" })]),
      el("div", { class: "row section" }, [el("button", { type: "submit", class: "primary", id: "checkin-save", text: "Save check-in" }), status]),
    ]);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const f = new FormData(form);
      const when = f.get("when"), back = f.get("back"), leg = f.get("leg"), extent = f.get("leg_extent");
      if (!when || back === null || leg === null) { status.textContent = "Choose when, back pain and leg pain."; status.className = "small bad"; return; }
      const body = { when, back: Number(back), leg: Number(leg), leg_extent: extent === null ? null : Number(extent),
        new_numbness: f.get("new_numbness") !== null, new_weakness: f.get("new_weakness") !== null };
      status.textContent = "Saving…"; status.className = "small muted";
      try {
        await post("/api/programme/checkin", body);
        form.reset();
        await onSaved(`Check-in saved (${WHEN_SHORT[when] || when}: back ${body.back}, leg ${body.leg}).`);
      } catch (e) {
        status.textContent = "Not saved: " + e.message; status.className = "small bad";
      }
    });
    return form;
  }

  // ---------------------------------------------------------------------------------------------
  // the red-flag screen: explicit yes/no questions, emergency first
  // ---------------------------------------------------------------------------------------------
  function screenForm(data, onSaved) {
    const qs = data.state.questions || [];
    const status = el("div", { class: "small", id: "screen-status", role: "status" });
    const group = (level) => qs.filter((q) => q.level === level).map((q) => el("fieldset", { class: "q", dataset: { q: q.id, level } }, [
      el("legend", { text: q.text }),
      el("div", { class: "yn" }, ["yes", "no"].map((v) => el("label", { class: "choice", for: `q-${q.id}-${v}`, dataset: { q: q.id, answer: v } }, [
        el("input", { type: "radio", class: "sr", name: `q-${q.id}`, id: `q-${q.id}-${v}`, value: v }), el("span", { text: v === "yes" ? "Yes" : "No" })]))),
      el("p", { class: "q-yes small", text: level === "emergency"
        ? "If yes: seek emergency care now (emergency department, or call your emergency number)."
        : "If yes: see a doctor within 1-2 days, and walk only until then." }),
    ]));
    const form = el("form", { id: "screen-form", novalidate: true }, [
      el("p", { class: "muted small", text: "Answer each question yes or no. Each asks about something new or worse since your last review by a clinician. The answers tell you when to get care; they do not diagnose anything." }),
      el("h3", { text: "Emergency signs" }), ...group("emergency"),
      el("h3", { class: "section", text: "Signs to see a doctor about within 1-2 days" }), ...group("urgent"),
      el("div", { class: "row section" }, [el("button", { type: "submit", class: "primary", id: "screen-save", text: "Save answers" }), status]),
    ]);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const f = new FormData(form);
      const answers = {};
      for (const q of qs) { const v = f.get(`q-${q.id}`); if (v) answers[q.id] = v === "yes"; }
      const anyYes = Object.values(answers).some(Boolean);
      if (!anyYes && Object.keys(answers).length < qs.length) {
        status.textContent = "Please answer every question yes or no."; status.className = "small bad"; return;
      }
      status.textContent = "Saving…"; status.className = "small muted";
      try {
        const out = await post("/api/programme/screen", { answers });
        form.reset();
        const s = out.started ? out.state : out.lock.level;
        const serious = s === "emergency" || s === "urgent";
        await onSaved(serious ? (out.messages || [])[0] : "Answers saved. No warning signs reported.");
        if (serious) { // what to do, first: the banner at the top of the screen
          window.scrollTo(0, 0);
          const b = document.getElementById("state-banner");
          b.tabIndex = -1;
          b.focus({ preventScroll: true });
        }
      } catch (e) {
        status.textContent = "Not saved: " + e.message; status.className = "small bad";
      }
    });
    return form;
  }

  // ---------------------------------------------------------------------------------------------
  // part 2: today's focus, its probes, the form-pain association, the care around the run
  // ---------------------------------------------------------------------------------------------
  const SVGNS = "http://www.w3.org/2000/svg";
  const PHASE_WORDS = { block: "retraining block", probes: "block done: retention probes", maintenance: "maintenance (the 7-day probe held)", stalled: "maintenance (no new focus unlocks)" };
  const PROBE_WORDS = { end: "End of the block", "7d": "After 7 days", "28d": "After 28 days" };
  const RANK_ZONE = ["green", "amber", "red"];
  function svg(tag, attrs, children) {
    const e = document.createElementNS(SVGNS, tag);
    for (const k in attrs || {}) if (attrs[k] !== null && attrs[k] !== undefined) e.setAttribute(k, attrs[k]);
    for (const c of [].concat(children || [])) if (c) e.append(c);
    return e;
  }
  function svgText(x, y, text, attrs) { const t = svg("text", { x, y, ...(attrs || {}) }); t.textContent = text; return t; }
  function pct(x) { return `${Math.round(x * 100)} %`; }
  function signed(x, nd) { return `${x > 0 ? "+" : x < 0 ? "−" : "±"}${G.fmt(Math.abs(x), nd)}`; }
  function num(x) { return G.fmt(x, Math.abs(x) >= 100 ? 1 : 2).replace(/\.?0+$/, ""); }

  function focusCard(data) {
    const fd = data.focus;
    if (!fd || !fd.started) return card("focus", "Today's focus", [el("p", { class: "muted", text: (fd && fd.not_started) || "" })]);
    const f = fd.focus;
    if (!f) {
      return card("focus", "Today's focus", [
        el("p", { class: "empty", id: "focus-none", text: "No retraining focus. One change at a time: a block starts from a run without feedback (gait programme focus --start cadence)." }),
      ]);
    }
    const lowPct = (f.target_low / f.baseline - 1) * 100, highPct = (f.target_high / f.baseline - 1) * 100;
    const band = f.one_sided
      ? `at most ${signed(highPct, 1)} % against your baseline`
      : `${signed(lowPct, 1)} % to ${signed(highPct, 1)} % against your baseline`;
    const kids = [
      el("div", { class: "plan-kind focus-name", id: "focus-metric", dataset: { metric: f.metric }, text: f.name }),
      el("div", { class: "muted", id: "focus-phase", text: PHASE_WORDS[f.phase] || f.phase }),
      el("dl", { class: "facts", id: "focus-facts" }, [
        el("dt", { text: "Session" }), el("dd", { id: "focus-session", text: `${f.session} of 8` + (f.round > 1 ? " (sessions 5-8 again)" : "") }),
        el("dt", { text: "Feedback" }), el("dd", { id: "focus-feedback", text: f.phase === "block"
          ? `${pct(f.feedback_fraction)} of running time` + (f.feedback_fraction > 0 && f.feedback_fraction < 1 ? " (in 5-minute windows on and off)" : "")
          : "none (probes and maintenance run without feedback)" }),
        el("dt", { text: "Target" }), el("dd", { id: "focus-target", dataset: { low: String(f.target_low), high: String(f.target_high) },
          text: `${band}: ${num(f.target_low)}–${num(f.target_high)} ${f.unit} (your baseline ${num(f.baseline)} ${f.unit}, aim ${signed(f.delta_pct, 1)} %)` }),
      ]),
      el("p", { class: "small muted", text: "The target is always your own baseline plus a small change, never a number for everyone." }),
    ];
    if (f.note) kids.push(el("p", { class: "note", text: f.note }));
    if (f.message) kids.push(el("p", { class: "note", id: "focus-message", text: f.message }));
    for (const q of f.checkin_questions || []) kids.push(el("p", { class: "small", text: q }));
    // the probes: end of block, +7 d, +28 d
    const done = {};
    for (const p of f.probes || []) done[p.probe] = p;
    const rows = ["end", "7d", "28d"].map((k) => {
      const p = done[k];
      const due = (f.next_probes || {})[k];
      const result = p ? (p.passed ? "passed" : "not passed") : f.probe_due === k ? "due today" : due ? "planned" : "after the block";
      return el("tr", { dataset: { probe: k, result: p ? (p.passed ? "pass" : "fail") : "open" } }, [
        el("td", { class: "l", text: PROBE_WORDS[k] }),
        el("td", { text: p ? dayWords(p.date) : due ? dayWords(due) : "–" }),
        el("td", { text: p ? `${num(p.value)} ${f.unit}` : "–" }),
        el("td", { text: p ? `${Math.round(p.retained * 100)} % kept` : "–" }),
        el("td", { class: p ? (p.passed ? "good" : "bad") : "muted", text: result }),
      ]);
    });
    kids.push(el("h3", { class: "section", text: "Retention probes (5 minutes without feedback)" }),
      el("div", { class: "table-wrap" }, el("table", { id: "probes" }, [
        el("thead", {}, el("tr", {}, [el("th", { class: "l", text: "Probe" }), el("th", { text: "Date" }), el("th", { text: "Mean" }),
          el("th", { text: "Change kept" }), el("th", { text: "Result" })])),
        el("tbody", {}, rows)])),
      el("p", { class: "small muted", text: "Pass: at least 80 % of the intended change kept, and the session not red. A failed probe repeats sessions 5-8 once." }));
    if (f.next_focus) {
      kids.push(el("p", { class: "small", id: "focus-next", text: `Next on the ladder: ${(fd.ladder_words || {})[f.next_focus] || f.next_focus}` +
        (f.next_focus_may_start ? " (may start)." : ` (not yet: ${f.next_focus_refused}).`) }));
    }
    return card("focus", "Today's focus", kids);
  }

  // the association view: a timeline and a scatter in plain SVG (nothing fetched, no population bands)
  function timelineSvg(a, unit) {
    const pts = a.timeline.filter((p) => p.run_value !== null || p.probe_value !== null);
    const W = 640, H = 220, L = 48, R = 12, T = 14, B = 34;
    const days = pts.map((p) => parseDay(p.date).getTime());
    const changes = (a.focus_changes || []).map((c) => ({ ...c, t: parseDay(c.date).getTime() }));
    const t0 = Math.min(...days, ...changes.map((c) => c.t)), t1 = Math.max(...days, ...changes.map((c) => c.t));
    const vals = pts.flatMap((p) => [p.run_value, p.probe_value]).filter((v) => v !== null);
    let v0 = Math.min(...vals), v1 = Math.max(...vals);
    if (v1 - v0 < 1e-9) { v0 -= 1; v1 += 1; }
    const pad = (v1 - v0) * 0.1; v0 -= pad; v1 += pad;
    const x = (t) => L + ((t - t0) / Math.max(1, t1 - t0)) * (W - L - R);
    const y = (v) => T + (1 - (v - v0) / (v1 - v0)) * (H - T - B);
    const g = [svg("rect", { x: L, y: T, width: W - L - R, height: H - T - B, class: "ax-bg" })];
    for (const v of [v0 + pad, (v0 + v1) / 2, v1 - pad]) {
      g.push(svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "ax-grid" }), svgText(L - 4, y(v) + 4, num(v), { class: "ax-label", "text-anchor": "end" }));
    }
    for (const [i, c] of changes.entries()) {
      g.push(svg("line", { x1: x(c.t), x2: x(c.t), y1: T, y2: H - B, class: "focus-change" }),
        svgText(Math.min(x(c.t) + 3, W - R - 60), T + 12 + 12 * (i % 2), `focus: ${c.metric}`, { class: "ax-label change-label" }));
    }
    for (const [i, p] of pts.entries()) {
      const zone = p.zone || "pending";
      const info = ZONE[zone] || ZONE.unknown;
      const v = p.run_value !== null ? p.run_value : p.probe_value;
      const label = `${dayWords(p.date)}: ${num(v)} ${unit}, ${info.word}`;
      g.push(svg("circle", { cx: x(days[i]), cy: y(v), r: 7, class: `pt z-${info.z}`, "data-zone": zone }, [svg("title", {}, [document.createTextNode(label)])]),
        svgText(x(days[i]), y(v) + 3.5, info.mark, { class: "pt-mark", "text-anchor": "middle" }));
      if (p.probe_value !== null && p.run_value !== null) g.push(svg("rect", { x: x(days[i]) - 4, y: y(p.probe_value) - 4, width: 8, height: 8, class: "pt-probe" }));
    }
    g.push(svgText(L, H - 10, dayWords(new Date(t0).toISOString().slice(0, 10)), { class: "ax-label" }),
      svgText(W - R, H - 10, dayWords(new Date(t1).toISOString().slice(0, 10)), { class: "ax-label", "text-anchor": "end" }));
    return svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "assoc-svg", id: "assoc-timeline", role: "img",
      "aria-label": `the focus metric per session over time (${unit}), each point lettered with its pain class; vertical lines: focus changes` }, g);
  }
  function scatterSvg(a, unit) {
    const W = 640, H = 170, L = 64, R = 12, T = 12, B = 30;
    const vals = a.scatter.map((s) => s.value);
    let v0 = Math.min(...vals), v1 = Math.max(...vals);
    if (v1 - v0 < 1e-9) { v0 -= 1; v1 += 1; }
    const pad = (v1 - v0) * 0.08; v0 -= pad; v1 += pad;
    const x = (v) => L + ((v - v0) / (v1 - v0)) * (W - L - R);
    const y = (r) => T + (2 - r) / 2 * (H - T - B);
    const g = [svg("rect", { x: L, y: T - 8, width: W - L - R, height: H - T - B + 16, class: "ax-bg" })];
    for (const r of [0, 1, 2]) {
      g.push(svg("line", { x1: L, x2: W - R, y1: y(r), y2: y(r), class: "ax-grid" }), svgText(L - 6, y(r) + 4, RANK_ZONE[r], { class: "ax-label", "text-anchor": "end" }));
    }
    for (const s of a.scatter) {
      const info = ZONE[RANK_ZONE[s.pain_rank]];
      g.push(svg("circle", { cx: x(s.value), cy: y(s.pain_rank), r: 6, class: `pt z-${info.z}`, "data-rank": String(s.pain_rank) },
        [svg("title", {}, [document.createTextNode(`${num(s.value)} ${unit}, ${info.word}`)])]));
    }
    g.push(svgText(L, H - 8, `${num(v0 + pad)} ${unit}`, { class: "ax-label" }), svgText(W - R, H - 8, `${num(v1 - pad)} ${unit}`, { class: "ax-label", "text-anchor": "end" }));
    return svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "assoc-svg", id: "assoc-scatter", role: "img",
      "aria-label": `the focus metric (${unit}) against the session's pain class: green, amber, red` }, g);
  }
  function associationCard(data) {
    const fd = data.focus;
    const a = fd && fd.association;
    const caption = el("p", { class: "assoc-caption", id: "assoc-caption", text: (a && a.caption) || "An association in your own data, not proof of cause." });
    if (!a || !a.shown) {
      return card("association", "Form and pain over weeks", [
        el("p", { class: "empty", id: "assoc-empty", text: (a && a.message) || "Not enough data yet." }),
        el("p", { class: "small muted", text: `Sessions with a focus value so far: ${a ? a.n : 0}.` }), caption]);
    }
    const unit = fd.focus ? fd.focus.unit : "";
    const metric = fd.focus ? fd.focus.name : "the focus metric";
    return card("association", "Form and pain over weeks", [
      el("p", { class: "small", id: "assoc-stats", dataset: { n: String(a.n), rho: a.rho === null ? "" : String(a.rho) },
        text: `n = ${a.n} sessions over ${a.span_days} days · Spearman's ρ = ${a.rho === null ? "–" : G.fmt(a.rho, 2)} (${metric} against the pain class)` }),
      el("figure", { class: "assoc-fig" }, [timelineSvg(a, unit), el("figcaption", { class: "small muted", text: "Each session: the focus metric, lettered with its pain class (G green, A amber, R red, … waiting). Vertical lines: a focus started." })]),
      el("figure", { class: "assoc-fig" }, [scatterSvg(a, unit), el("figcaption", { class: "small muted", text: "The focus metric against the session's pain class." })]),
      caption,
    ], "assoc-shown");
  }

  // heat and ice: minutes and the numb-skin question first; a refusal is shown with its reason
  const timerTicks = [];
  function countdown(t, node) {
    const tick = () => {
      const left = Math.max(0, t.ends_at_s - Date.now() / 1000);
      node.textContent = left > 0 ? `${mmss(Math.round(left))} left` : "done";
      return left > 0;
    };
    if (tick()) timerTicks.push(tick);
  }
  setInterval(() => { for (let i = timerTicks.length - 1; i >= 0; i--) if (!timerTicks[i]()) timerTicks.splice(i, 1); }, 1000);
  function timerForm(kind, info, onSaved) {
    const title = kind === "heat" ? "Heat (before the run)" : "Ice or cold (after the run)";
    const status = el("div", { class: "small", id: `${kind}-status`, role: "status" });
    const kids = [
      el("h3", { text: title }),
      el("p", { class: "small evidence", id: `${kind}-evidence`, text: info.evidence }),
    ];
    if (info.reminder) kids.push(el("p", { class: "small", text: info.reminder }));
    kids.push(
      el("label", { class: "field", for: `${kind}-minutes` }, [el("span", { text: `Minutes (${num(info.low_min)}-${num(info.max_min)})` }),
        el("input", { type: "number", id: `${kind}-minutes`, name: "minutes", min: String(info.low_min), max: String(info.max_min), step: "1", value: String(info.default_min), inputmode: "numeric" })]),
      el("fieldset", { class: "q", dataset: { q: "skin_numb" } }, [
        el("legend", { text: info.numb_skin_question }),
        el("div", { class: "yn" }, ["yes", "no"].map((v) => el("label", { class: "choice", for: `${kind}-numb-${v}`, dataset: { answer: v } }, [
          el("input", { type: "radio", class: "sr", name: `${kind}-numb`, id: `${kind}-numb-${v}`, value: v }), el("span", { text: v === "yes" ? "Yes" : "No" })]))),
      ]),
      el("div", { class: "row" }, [el("button", { type: "submit", class: "primary", id: `${kind}-start`, text: `Start ${kind} timer` }), status]),
    );
    if (!info.available) {
      kids.push(el("p", { class: "bad small", text: info.refused_because === "emergency" ? "Off while the programme is locked." : "Off until a clinician has seen you about the warning sign you reported." }));
    }
    const form = el("form", { class: "timer-form", id: `${kind}-form`, novalidate: true, dataset: { kind } }, kids);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const f = new FormData(form);
      const numb = f.get(`${kind}-numb`);
      if (!numb) { status.textContent = "Answer the question about numb skin first."; status.className = "small bad"; return; }
      const raw = f.get("minutes");
      const body = { kind, minutes: raw === "" || raw === null ? null : Number(raw), skin_numb: numb === "yes" };
      status.textContent = "Starting…"; status.className = "small muted";
      try {
        const out = await post("/api/programme/timer", body);
        await onSaved(`${kind === "heat" ? "Heat" : "Ice"} timer started: ${num(out.timer.planned_min)} minutes.`);
      } catch (e) {
        status.textContent = "Not started: " + e.message; status.className = "small bad refusal";
        status.dataset.refused = "1";
      }
    });
    return form;
  }
  function timersCard(data) {
    const c = data.care;
    if (!c) return card("timers", "Warm-up, heat and ice", [el("p", { class: "muted", text: "" })]);
    const t = c.timers;
    const kids = [el("p", { id: "warm-up", text: c.warm_up.text }), el("p", { class: "small evidence", text: c.warm_up.evidence })];
    if (t.today.length) {
      kids.push(el("ul", { class: "list", id: "timers-today" }, t.today.map((x) => {
        const left = el("span", { class: "countdown" });
        countdown(x, left);
        return el("li", { dataset: { kind: x.kind } }, [el("span", { class: "t", text: x.kind === "heat" ? "Heat" : "Ice" }),
          el("span", { text: `${num(x.planned_min)} min · ` }), left]);
      })));
    }
    kids.push(el("div", { class: "timers" }, [timerForm("heat", t.heat, careSaved), timerForm("ice", t.ice, careSaved)]));
    kids.push(el("p", { class: "small muted", text: "Neither is a treatment for sciatica. Never on skin that is numb or less sensitive." }));
    return card("timers", "Warm-up, heat and ice", kids);
  }

  function yogaCard(data) {
    const y = data.care && data.care.yoga;
    if (!y) return card("yoga", "Yoga and mobility log", []);
    const status = el("div", { class: "small", id: "yoga-status", role: "status" });
    const w = y.this_week;
    const kids = [
      el("p", { class: "small", text: y.dose }),
      el("p", { id: "yoga-adherence", dataset: { met: w && w.dose_met ? "1" : "0" }, text: w
        ? `Week ${w.week} of ${y.dose_weeks}: ${w.adherence}${w.dose_met ? " (the studied dose)" : ""}. Weeks with the dose so far: ${y.weeks_dose_met} of ${Math.min(y.weeks.length, y.dose_weeks)}.`
        : "Nothing logged yet. Logging is optional." }),
    ];
    if (y.weeks.length) {
      kids.push(el("ol", { class: "yoga-weeks", id: "yoga-weeks", "aria-label": "weeks 1 to 12" }, Array.from({ length: y.dose_weeks }, (_, i) => {
        const wk = y.weeks[i];
        return el("li", { class: wk ? (wk.dose_met ? "met" : "part") : "future", title: wk ? `week ${wk.week}: ${wk.adherence}` : `week ${i + 1}`, text: String(i + 1) });
      })));
    }
    for (const m of y.messages || []) kids.push(el("p", { class: "note small", text: m }));
    const nrs = [["", "none"], ...Array.from({ length: 11 }, (_, i) => [String(i), String(i)])];
    const form = el("form", { id: "yoga-form", class: "inline-form", novalidate: true }, [
      el("label", { class: "field", for: "yoga-minutes" }, [el("span", { text: "Minutes" }), el("input", { type: "number", id: "yoga-minutes", name: "minutes", min: "1", max: "300", step: "1", inputmode: "numeric" })]),
      el("fieldset", {}, [el("legend", { text: "Where" }), choices("setting", [["class", "Class"], ["home", "Home"]], "seg-choices")]),
      el("label", { class: "field", for: "yoga-pain" }, [el("span", { text: "Pain it provoked (0-10)" }),
        el("select", { id: "yoga-pain", name: "pain" }, nrs.map(([v, t]) => el("option", { value: v, text: t })))]),
      el("label", { class: "check" }, [el("input", { type: "checkbox", name: "new_leg_symptoms", id: "yoga-leg" }), el("span", { text: "New numbness or weakness in a leg" })]),
      el("div", { class: "row" }, [el("button", { type: "submit", class: "primary", id: "yoga-save", text: "Log session" }), status]),
    ]);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const f = new FormData(form);
      const minutes = Number(f.get("minutes"));
      if (!minutes || !f.get("setting")) { status.textContent = "Give the minutes and where."; status.className = "small bad"; return; }
      const pain = f.get("pain");
      try {
        const out = await post("/api/programme/yoga", { minutes, setting: f.get("setting"), pain: pain === "" ? null : Number(pain), new_leg_symptoms: f.get("new_leg_symptoms") !== null });
        await careSaved(out.entry.red ? "Yoga logged. Pain above the stop threshold, or new leg signs: this counts as a red day." : "Yoga logged.");
      } catch (e) { status.textContent = "Not saved: " + e.message; status.className = "small bad"; }
    });
    kids.push(form, el("p", { class: "small evidence", text: y.evidence }));
    return card("yoga", "Yoga and mobility log", kids);
  }

  function shoesCard(data) {
    const s = data.care && data.care.shoes;
    if (!s) return card("shoes", "Minimal shoes", []);
    const status = el("div", { class: "small", id: "shoes-status", role: "status" });
    const send = async (body, okWords) => {
      try { await post("/api/programme/shoes", body); await careSaved(okWords); }
      catch (e) { status.textContent = "Not saved: " + e.message; status.className = "small bad"; }
    };
    const kids = [];
    const elig = s.eligibility || { eligible: false, words: [] };
    if (s.state === "not_started") {
      kids.push(el("p", { id: "shoes-eligibility", dataset: { eligible: elig.eligible ? "1" : "0" }, text: elig.eligible
        ? "Eligible: the transition may start (two weeks of walking in them first)."
        : "Not eligible yet:" }));
      if (!elig.eligible) kids.push(el("ul", { class: "small", id: "shoes-reasons" }, elig.words.map((w) => el("li", { text: w }))));
      if (elig.eligible) {
        const yn = (name, q) => el("fieldset", { class: "q", dataset: { q: name } }, [el("legend", { text: q }),
          el("div", { class: "yn" }, ["yes", "no"].map((v) => el("label", { class: "choice", for: `shoes-${name}-${v}`, dataset: { answer: v } }, [
            el("input", { type: "radio", class: "sr", name, id: `shoes-${name}-${v}`, value: v }), el("span", { text: v === "yes" ? "Yes" : "No" })])))]);
        const form = el("form", { id: "shoes-start", novalidate: true }, [
          el("fieldset", {}, [el("legend", { text: "Surface" }), choices("surface", [["soft", "Soft"], ["smooth-hard", "Smooth and hard"]], "seg-choices")]),
          yn("soles_numb", "Are the soles of your feet numb or less sensitive?"),
          yn("foot_bone_injury_12m", "A bone stress injury in a foot in the last 12 months?"),
          el("div", { class: "row" }, [el("button", { type: "submit", class: "primary", text: "Start the transition" })]),
        ]);
        form.addEventListener("submit", (ev) => {
          ev.preventDefault();
          const f = new FormData(form);
          if (!f.get("soles_numb") || !f.get("foot_bone_injury_12m")) { status.textContent = "Answer both questions."; status.className = "small bad"; return; }
          send({ action: "start", surface: f.get("surface") || "soft", soles_numb: f.get("soles_numb") === "yes", foot_bone_injury_12m: f.get("foot_bone_injury_12m") === "yes" }, "Minimal-shoe transition started.");
        });
        kids.push(form, el("p", { class: "small muted", text: s.surface_note }));
      }
    } else {
      kids.push(el("p", { id: "shoes-state", dataset: { state: s.state }, text: s.state === "running"
        ? `Week ${s.week}: this week's allowance ${num(s.allowance_min)} min of running in them, ${num(s.used_min)} used, ${num(s.remaining_min)} left.`
        : s.state === "walking" ? `Week ${s.week}: walking only in them, no running in them.`
        : s.state === "stopped" ? "Stopped." : `Week ${s.week}: paused.` }));
      for (const m of s.messages || []) kids.push(el("p", { class: "note small", text: m }));
      if (s.state === "running" || s.state === "walking") {
        const form = el("form", { id: "shoes-log", class: "inline-form", novalidate: true }, [
          el("fieldset", {}, [el("legend", { text: "Log" }), choices("activity", [["run", "Run"], ["walk", "Walk"], ["check", "Foot check only"]], "seg-choices")]),
          el("label", { class: "field", for: "shoes-minutes" }, [el("span", { text: "Minutes in minimal shoes" }), el("input", { type: "number", id: "shoes-minutes", name: "minutes", min: "1", max: "600", step: "1", inputmode: "numeric" })]),
          el("label", { class: "field", for: "shoes-pain" }, [el("span", { text: "Arch, top of foot or heel pain (0-10)" }),
            el("select", { id: "shoes-pain", name: "foot_pain" }, [["", "not asked"], ...Array.from({ length: 11 }, (_, i) => [String(i), String(i)])].map(([v, t]) => el("option", { value: v, text: t })))]),
          el("label", { class: "check" }, [el("input", { type: "checkbox", name: "bone_spot", id: "shoes-bone" }), el("span", { text: "Pain when pressing one spot of a bone" })]),
          el("div", { class: "row" }, [el("button", { type: "submit", class: "primary", text: "Save" })]),
        ]);
        form.addEventListener("submit", (ev) => {
          ev.preventDefault();
          const f = new FormData(form);
          const action = f.get("activity");
          if (!action) { status.textContent = "Choose run, walk or foot check."; status.className = "small bad"; return; }
          const fp = f.get("foot_pain");
          send({ action, minutes: action === "check" ? 0 : Number(f.get("minutes")), footwear: "minimal", foot_pain: fp === "" ? null : Number(fp), bone_spot: f.get("bone_spot") !== null }, "Saved.");
        });
        kids.push(form);
      }
    }
    kids.push(status, el("p", { class: "small evidence", text: s.evidence }));
    return card("shoes", "Minimal shoes", kids);
  }

  // ---------------------------------------------------------------------------------------------
  // the pages
  // ---------------------------------------------------------------------------------------------
  function headerBlock(data, title) {
    const s = data.state;
    const sub = s.started
      ? `${s.profile} profile · ${s.stage_name} · ${STATE_WORDS[s.state] || s.state} · ${dayWords(s.date)}`
      : (s.not_started || "");
    return el("div", { class: "page-head" }, [el("div", {}, [el("h1", { text: title }), el("div", { class: "muted", id: "programme-sub", text: sub })])]);
  }

  function renderProgramme(data, flash, careFlash) {
    const status = el("div", { class: "small good", id: "checkin-flash", role: "status", text: flash || "" });
    return [
      headerBlock(data, "Programme"),
      el("div", { class: "two" }, [planCard(data), trafficCard(data, 12)]),
      el("div", { class: "two" }, [focusCard(data), associationCard(data)]),
      el("div", { class: "small good", id: "care-flash", role: "status", text: careFlash || "" }),
      el("div", { class: "two" }, [timersCard(data), el("div", {}, [yogaCard(data), shoesCard(data)])]),
      el("div", { class: "two" }, [
        card("checkin-card", "Pain check-in", [status, checkinForm(data, reload)]),
        el("div", {}, [stagesCard(data), card("recent", "Recent check-ins", recentCheckins(data, 8))]),
      ]),
      el("p", { class: "small muted section", text: data.state.disclaimer }),
    ];
  }

  function renderCheckin(data, flash) {
    const status = el("div", { class: "small", id: "checkin-flash", role: "status", text: flash || "" });
    const screens = (data.history.screens || []).slice(-5).reverse();
    return [
      headerBlock(data, "Check-in"),
      status,
      el("div", { class: "two" }, [
        card("checkin-card", "Pain check-in", [checkinForm(data, reload), el("h3", { class: "section", text: "Recent" }), recentCheckins(data, 5)]),
        card("screen", "Safety questions", [screenForm(data, reload),
          el("h3", { class: "section", text: "Earlier answers" }),
          screens.length ? el("ul", { class: "list", id: "screens" }, screens.map((s) => el("li", {}, [
            el("span", { class: "t", text: dayWords(s.date) }),
            el("span", { text: s.level === "clear" ? "no warning signs" : `${s.level}: ${s.yes.join(", ")}` })])))
            : el("p", { class: "empty", text: "No answers yet." }),
          el("p", { class: "note section", text: "After a clinician has reviewed you, record it from the command line (gait programme clear --note \"what they said\"), then answer these questions again. Time passing never lifts a lock." }),
        ]),
      ]),
      el("p", { class: "small muted section", text: data.state.disclaimer }),
    ];
  }

  function renderExport(data) {
    const files = [
      ["programme.html", "Printable page", "opens with the red-flag summary, then the diary, classes, stages and flags"],
      ["diary.csv", "Pain diary (CSV)", "every check-in"],
      ["sessions.csv", "Sessions and classes (CSV)", "green, amber, red or unknown per session"],
      ["stages.csv", "Stage history (CSV)", ""],
      ["flags.csv", "Red-flag answers and clinician reviews (CSV)", ""],
      ["focus.csv", "Retraining focus (CSV)", "the focus, its session values and probes"],
      ["care.csv", "Care around the run (CSV)", "heat and ice timers, yoga, footwear"],
    ];
    const body = data.state.started
      ? el("ul", { class: "list", id: "exports" }, files.map(([f, t, d]) => el("li", {}, [
        el("a", { href: `/api/programme/export/${f}`, dataset: { file: f }, text: t }), d ? el("span", { class: "muted small", text: d }) : null])))
      : el("p", { class: "muted", text: data.state.not_started });
    return [
      headerBlock(data, "Programme export"),
      card("export-card", "Export for your clinician", [
        el("p", { class: "small muted", text: "Your pain diary is health data. It stays on this computer; nothing of it is sent anywhere unless you download it here or export it from the command line (gait programme export)." }),
        body]),
      el("p", { class: "small muted section", text: data.state.disclaimer }),
    ];
  }

  function careSaved(words) { return reload(null, words); }

  async function reload(flash, careFlash) {
    const data = await load();
    renderBanner(data.state);
    const render = page === "checkin" ? renderCheckin : page === "export" ? renderExport : renderProgramme;
    timerTicks.length = 0;
    app.replaceChildren(...render(data, flash, careFlash));
    updates += 1;
    document.body.dataset.updates = String(updates);
    document.body.dataset.ready = "1";
  }

  reload().catch((e) => {
    app.replaceChildren(el("p", { class: "bad", text: "Could not load the programme: " + e.message }));
    document.body.dataset.ready = "1";
  });
})();
