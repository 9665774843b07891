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
    const [state, plan, history] = await Promise.all([
      G.getJSON("/api/programme/state"), G.getJSON("/api/programme/plan"), G.getJSON("/api/programme/history"),
    ]);
    return { state, plan, history };
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
  // the pages
  // ---------------------------------------------------------------------------------------------
  function headerBlock(data, title) {
    const s = data.state;
    const sub = s.started
      ? `${s.profile} profile · ${s.stage_name} · ${STATE_WORDS[s.state] || s.state} · ${dayWords(s.date)}`
      : (s.not_started || "");
    return el("div", { class: "page-head" }, [el("div", {}, [el("h1", { text: title }), el("div", { class: "muted", id: "programme-sub", text: sub })])]);
  }

  function renderProgramme(data, flash) {
    const status = el("div", { class: "small good", id: "checkin-flash", role: "status", text: flash || "" });
    return [
      headerBlock(data, "Programme"),
      el("div", { class: "two" }, [planCard(data), trafficCard(data, 12)]),
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

  async function reload(flash) {
    const data = await load();
    renderBanner(data.state);
    const render = page === "checkin" ? renderCheckin : page === "export" ? renderExport : renderProgramme;
    app.replaceChildren(...render(data, flash));
    updates += 1;
    document.body.dataset.updates = String(updates);
    document.body.dataset.ready = "1";
  }

  reload().catch((e) => {
    app.replaceChildren(el("p", { class: "bad", text: "Could not load the programme: " + e.message }));
    document.body.dataset.ready = "1";
  });
})();
