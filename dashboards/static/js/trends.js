/* Trends across runs: weekly (or monthly) heel-strike share, bounce, cadence, contact time, pain. */
(function () {
  "use strict";
  const G = window.Gait, C = window.GaitCharts, el = G.el;
  G.nav("trends");
  const app = document.getElementById("app");

  function verdicts(points) {
    // first two periods against the last two (step-weighted): what changed, and in which direction
    // (never that a change "worked": the runner's own data shows an association, not a cause)
    const out = [];
    if (points.length < 2) return out;
    const k = Math.min(2, Math.floor(points.length / 2));
    const first = points.slice(0, k), last = points.slice(-k);
    const avg = (ps, key) => {
      let s = 0, w = 0;
      for (const p of ps) if (p[key] !== null && p[key] !== undefined) { s += p[key] * (p.steps || 1); w += p.steps || 1; }
      return w ? s / w : null;
    };
    const spec = [
      ["heel_strike_share", "Heel-strike share", (v) => G.pct(v), false, 0.03],
      ["vo_cm", "Bounce", (v) => G.fmt(v, 1) + " cm", false, 0.2],
      ["cadence_spm", "Cadence", (v) => G.fmt(v, 0) + " spm", true, 1.5],
      ["gct_ms", "Contact time", (v) => G.fmt(v, 0) + " ms", false, 5],
      ["pain_max", "Worst pain", (v) => G.fmt(v, 1) + "/10", false, 0.5],
    ];
    for (const [key, label, f, higherBetter, thr] of spec) {
      const a = avg(first, key), b = avg(last, key);
      if (a === null || b === null) continue;
      const d = b - a;
      let cls = "flat", arrow = "→", words = `steady at ${f(b)}`;
      if (Math.abs(d) >= thr) {
        const better = (d > 0) === higherBetter;
        cls = better ? "good" : "bad"; arrow = d > 0 ? "↑" : "↓";
        words = `${d > 0 ? "up" : "down"} from ${f(a)} to ${f(b)}${better ? " (the direction you aimed for)" : ""}`;
      }
      out.push(el("div", { class: "verdict", dataset: { key } }, [el("span", { class: `arrow ${cls}`, text: arrow }), el("span", {}, [el("strong", { text: label + " " }), words])]));
    }
    return out;
  }

  async function load(period, runner) {
    const q = new URLSearchParams({ period });
    if (runner) q.set("runner", runner);
    const d = await G.getJSON("/api/trends?" + q.toString());
    const pts = d.points;
    const x = pts.map((p) => Date.parse(p.period_start + "T00:00:00") / 1000);
    const periodSeg = el("div", { class: "seg" }, [["week", "Weekly"], ["month", "Monthly"]].map(([k, l]) => el("button", { type: "button", class: k === period ? "on" : "", text: l, onclick: () => load(k, runner) })));
    const who = el("select", { "aria-label": "runner" }, [el("option", { value: "", text: "All runners" }), ...d.runners.map((r) => el("option", { value: r, text: r }))]);
    who.value = runner || "";
    who.addEventListener("change", () => load(period, who.value));
    const head = el("div", { class: "page-head" }, [
      el("div", {}, [el("h1", { text: "Trends" }), el("div", { class: "muted", text: `${pts.length} ${period}s · ${pts.reduce((a, p) => a + p.runs, 0)} runs` })]),
      el("div", { class: "row" }, [who, periodSeg]),
    ]);
    if (!pts.length) { app.replaceChildren(head, el("div", { class: "card empty", text: "No runs yet." })); return; }
    const v = verdicts(pts);
    const grid = el("div", { class: "charts", id: "trend-charts" });
    app.replaceChildren(...[head,
      v.length ? el("section", { class: "card" }, [el("h2", { text: `What changed: the first ${period}s against the latest` }), el("div", { class: "verdicts", id: "verdicts" }, v)]) : null,
      el("section", { class: "section" }, [grid]),
      el("section", { class: "card section table-wrap" }, [table(pts, period)]),
    ].filter(Boolean));
    const charts = [
      ["Heel-strike share (%)", [{ label: "heel strike %", y: pts.map((p) => (p.heel_strike_share === null ? null : 100 * p.heel_strike_share)), color: G.COLORS.orange, nd: 0 }], null],
      ["Bounce: vertical oscillation (cm)", [{ label: "VO cm", y: pts.map((p) => p.vo_cm), color: "#0f172a", nd: 1, line: true }], "vo_cm"],
      ["Cadence (spm)", [{ label: "cadence", y: pts.map((p) => p.cadence_spm), color: "#0f172a", nd: 0, line: true }], "cadence_spm"],
      ["Pain (worst in the " + period + ", 0-10)", [{ label: "worst pain", y: pts.map((p) => p.pain_max), color: G.COLORS.red, nd: 0 }], null],
      ["Contact time (ms)", [{ label: "contact", y: pts.map((p) => p.gct_ms), color: "#0f172a", nd: 0, line: true }], "gct_ms"],
      ["Distance (km)", [{ label: "km", y: pts.map((p) => (p.distance_m === null ? null : p.distance_m / 1000)), color: "#0f766e", nd: 1 }], null],
    ];
    for (const [title, series, metric] of charts) {
      if (!series.some((s) => s.y.some((y) => y !== null))) continue;
      const box = el("div");
      grid.append(el("div", { class: "card chart" }, [el("h3", { text: title }), box]));
      if (series[0].line) {
        C.line(box, { x, xKind: "date", metric, height: 190, series: series.map((s) => ({ ...s, width: 2.5, points: 7, line: true, spanGaps: true })) });
      } else {
        C.bars(box, { x, series, height: 190, minMax: title.startsWith("Pain") ? 10 : 0 });
      }
    }
    document.body.dataset.ready = "1";
  }

  function table(pts, period) {
    const head = [period === "week" ? "Week of" : "Month", "Runs", "Distance", "Time", "Heel strike", "VO cm", "Cadence", "Contact ms", "VR %", "Worst pain", "Pain after"];
    return el("table", { id: "trends" }, [
      el("thead", {}, el("tr", {}, head.map((h) => el("th", { text: h })))),
      el("tbody", {}, pts.slice().reverse().map((p) => el("tr", {}, [
        el("td", { text: p.period_start }),
        el("td", { text: String(p.runs) }),
        el("td", { text: G.km(p.distance_m) }),
        el("td", { text: G.clock(p.duration_s) }),
        el("td", { text: G.pct(p.heel_strike_share) }),
        el("td", { class: `zcell z-${G.zone("vo_cm", p.vo_cm)}`, text: G.fmt(p.vo_cm, 1) }),
        el("td", { class: `zcell z-${G.zone("cadence_spm", p.cadence_spm)}`, text: G.fmt(p.cadence_spm, 0) }),
        el("td", { class: `zcell z-${G.zone("gct_ms", p.gct_ms)}`, text: G.fmt(p.gct_ms, 0) }),
        el("td", { class: `zcell z-${G.zone("vertical_ratio_pct", p.vertical_ratio_pct)}`, text: G.fmt(p.vertical_ratio_pct, 1) }),
        el("td", { text: p.pain_max === null ? "–" : p.pain_max + "/10" }),
        el("td", { text: p.pain_after_mean === null ? "–" : G.fmt(p.pain_after_mean, 1) }),
      ]))),
    ]);
  }

  load("week", "").catch((e) => app.replaceChildren(el("p", { class: "bad", text: String(e) })));
})();
