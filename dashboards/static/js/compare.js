/* Two runs side by side: medians with the change, metric traces overlaid, splits next to each other. */
(function () {
  "use strict";
  const G = window.Gait, C = window.GaitCharts, el = G.el;
  G.nav("compare");
  const app = document.getElementById("app");
  const COLORS = ["#2563eb", "#db2777"];
  const ROWS = [
    ["duration_s", "Duration", (v) => G.clock(v), null],
    ["distance_m", "Distance", (v) => G.km(v), null],
    ["steps", "Steps", (v) => (v === null ? "–" : v.toLocaleString()), null],
    ["cadence_spm", "Cadence (spm)", (v) => G.fmt(v, 0), true],
    ["gct_ms", "Contact time (ms)", (v) => G.fmt(v, 0), false],
    ["vo_cm", "Vertical oscillation (cm)", (v) => G.fmt(v, 1), false],
    ["vertical_ratio_pct", "Vertical ratio (%)", (v) => G.fmt(v, 1), false],
    ["lean_deg", "Lean (°)", (v) => G.fmt(v, 1), null],
    ["heel_strike_share", "Heel strike", (v) => G.pct(v), false],
    ["cues", "Coach cues", (v) => String(v), false],
    ["pain_during_max", "Worst pain during", (v) => (v === null || v === undefined ? "–" : v + "/10"), false],
  ];

  function picker(runs, value, onchange) {
    const s = el("select", { "aria-label": "run" }, runs.map((r) => el("option", { value: r.run_id, text: `${G.dateTime(r.start_time)} · ${G.clock(r.duration_s)}${r.runner ? " · " + r.runner : ""}` })));
    s.value = String(value);
    s.addEventListener("change", () => onchange(Number(s.value)));
    return s;
  }

  async function main() {
    const q = new URLSearchParams(location.search);
    const list = (await G.getJSON("/api/runs")).runs;
    if (list.length < 2) { app.replaceChildren(el("h1", { text: "Compare runs" }), el("div", { class: "card empty", text: "Two stored runs are needed to compare." })); return; }
    const a = Number(q.get("a")) || list[1].run_id, b = Number(q.get("b")) || list[0].run_id;
    const [A, B] = await Promise.all([G.getJSON(`/api/runs/${a}`), G.getJSON(`/api/runs/${b}`)]);
    const go = (na, nb) => { location.search = `?a=${na}&b=${nb}`; };
    const head = el("div", { class: "page-head" }, [el("div", {}, [el("h1", { text: "Compare runs" }), el("div", { class: "muted", text: "What changed between the two runs: medians of each run, and the difference B − A." })])]);
    const pickers = el("div", { class: "cmp-head" }, [
      el("div", { class: "card" }, [el("h3", {}, [el("span", { class: "swatch", dataset: { c: 0 } }), "Run A"]), picker(list, a, (v) => go(v, b))]),
      el("div", { class: "card" }, [el("h3", {}, [el("span", { class: "swatch", dataset: { c: 1 } }), "Run B"]), picker(list, b, (v) => go(a, v))]),
    ]);
    pickers.querySelectorAll(".swatch").forEach((sw) => { sw.style.background = COLORS[Number(sw.dataset.c)]; });
    const rows = ROWS.map(([k, label, f, higherBetter]) => {
      const va = A.summary[k], vb = B.summary[k];
      let delta = "", cls = "flat";
      if (va !== null && vb !== null && va !== undefined && vb !== undefined && typeof va === "number") {
        const dlt = vb - va;
        delta = k === "heel_strike_share" ? `${dlt > 0 ? "+" : ""}${(100 * dlt).toFixed(0)} pts` : k === "duration_s" ? (dlt >= 0 ? "+" : "−") + G.clock(Math.abs(dlt)) : k === "distance_m" ? `${dlt >= 0 ? "+" : ""}${(dlt / 1000).toFixed(2)} km` : `${dlt > 0 ? "+" : ""}${G.fmt(dlt, k === "cadence_spm" || k === "gct_ms" || k === "steps" || k === "cues" ? 0 : 1)}`;
        if (higherBetter !== null && Math.abs(dlt) > 1e-9) cls = (dlt > 0) === higherBetter ? "good" : "bad";
      }
      const zc = (v) => (G.ZONES[k] && G.ZONES[k].bands ? `zcell z-${G.zone(k, v)}` : "");
      return el("tr", { dataset: { key: k } }, [el("td", { text: label }), el("td", { class: zc(va), text: f(va) }), el("td", { class: zc(vb), text: f(vb) }), el("td", { class: cls, text: delta })]);
    });
    const table = el("table", { id: "compare" }, [el("thead", {}, el("tr", {}, ["", "A", "B", "B − A"].map((h) => el("th", { text: h })))), el("tbody", {}, rows)]);
    const chartBox = el("div", { class: "charts" });
    app.replaceChildren(head, pickers, el("section", { class: "card section table-wrap" }, [table]),
      el("section", { class: "card section" }, [el("h2", { text: "Through the run (smoothed, by time from the start)" }), chartBox]),
      el("div", { class: "two section" }, [
        el("section", { class: "card" }, [el("h2", { text: "Run A splits" }), window.GaitRun.splitsTable(A, A.splits.km.length ? "km" : "minute")]),
        el("section", { class: "card" }, [el("h2", { text: "Run B splits" }), window.GaitRun.splitsTable(B, B.splits.km.length ? "km" : "minute")]),
      ]));
    for (const m of ["cadence_spm", "gct_ms", "vo_cm", "vertical_ratio_pct", "lean_deg", "fsa_deg"]) {
      const ya = A.steps[m], yb = B.steps[m];
      const has = (y) => y && y.some((v) => v !== null);
      if (!has(ya) && !has(yb)) continue;
      // one x axis (seconds), both runs on it
      const xs = Array.from(new Set(A.steps.t.concat(B.steps.t))).sort((p, q2) => p - q2);
      const idx = new Map(xs.map((v, i) => [v, i]));
      const sa = new Array(xs.length).fill(null), sb = new Array(xs.length).fill(null);
      const wa = Math.max(31, Math.round(A.n_steps / 100)), wb = Math.max(31, Math.round(B.n_steps / 100));
      const ma = has(ya) ? G.smooth(ya, wa) : [], mb = has(yb) ? G.smooth(yb, wb) : [];
      A.steps.t.forEach((t, i) => { if (ma.length) sa[idx.get(t)] = ma[i]; });
      B.steps.t.forEach((t, i) => { if (mb.length) sb[idx.get(t)] = mb[i]; });
      const box = el("div");
      chartBox.append(el("div", { class: "card chart" }, [el("h3", { text: `${G.ZONES[m].label} (${G.ZONES[m].unit})` }), box]));
      const rr = G.robustRange([ma, mb], 0.3);
      C.line(box, { x: xs, xKind: "time", metric: m, height: 190, range: rr ? () => rr : null, series: [
        { label: "A", y: sa, color: COLORS[0], width: 2, spanGaps: true, nd: G.ZONES[m].nd },
        { label: "B", y: sb, color: COLORS[1], width: 2, spanGaps: true, nd: G.ZONES[m].nd },
      ] });
    }
    document.body.dataset.ready = "1";
  }
  main().catch((e) => app.replaceChildren(el("p", { class: "bad", text: String(e) })));
})();
