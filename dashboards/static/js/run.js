/* One run: summary, every metric over time or distance, splits, foot strike, bounce against pace,
 * alerts on a timeline, pain notes, exports. Used by /runs/{id} and by the self-contained report. */
(function (global) {
  "use strict";
  const G = global.Gait, C = global.GaitCharts, el = G.el;
  // the charts: every step column the server sends (d.fields, review), these first, in this order
  const CHART_ORDER = ["cadence_spm", "gct_ms", "vo_cm", "vertical_ratio_pct", "lean_deg", "fsa_deg", "flight_ms", "impact_g"];
  function chartMetrics(d) {
    const rank = (k) => (CHART_ORDER.includes(k) ? CHART_ORDER.indexOf(k) : CHART_ORDER.length);
    return (d.fields || []).filter((f) => f.review).map((f) => f.key).sort((a, b) => rank(a) - rank(b));
  }
  const SPLIT_COLS = [
    ["cadence_spm", "Cadence"], ["gct_ms", "Contact ms"], ["vo_cm", "VO cm"], ["vertical_ratio_pct", "VR %"], ["lean_deg", "Lean °"],
  ];
  const STRIKE_NAMES = ["rearfoot", "midfoot", "forefoot"];

  function finite(a) { return a && a.some((v) => v !== null && isFinite(v)); }
  function section(title, body, extra) {
    return el("section", { class: "card section" }, [el("div", { class: "row" }, [el("h2", { text: title }), el("div", { class: "spacer" }), extra || null]), ...[].concat(body)]);
  }
  function seg(options, current, onpick) {
    const box = el("div", { class: "seg" });
    for (const [key, label] of options) {
      box.append(el("button", { type: "button", class: key === current ? "on" : "", dataset: { key }, text: label, onclick: () => {
        box.querySelectorAll("button").forEach((b) => b.classList.toggle("on", b.dataset.key === key));
        onpick(key);
      } }));
    }
    return box;
  }

  function summaryTiles(d) {
    const s = d.summary;
    const strikeKnown = STRIKE_NAMES.reduce((a, k) => a + (s.strike_counts[k] || 0), 0);
    const leanUnc = d.steps.quality_mask.length && (d.steps.quality_mask[0] & (d.quality_bits.uncalibrated || 0));
    const t = [
      G.tile("duration", null, { label: "Duration", text: G.clock(s.duration_s), unit: "", zone: "none" }),
      G.tile("distance", null, { label: "Distance", text: s.distance_m ? (s.distance_m / 1000).toFixed(2) : "–", unit: "km", zone: "none", note: s.distance_m ? G.pace(s.duration_s / (s.distance_m / 1000)) + " avg" : "no speed" }),
      G.tile("steps", null, { label: "Steps", text: s.steps.toLocaleString(), unit: "", zone: "none" }),
      G.tile("cadence_spm", s.cadence_spm),
      G.tile("gct_ms", s.gct_ms),
      G.tile("vo_cm", s.vo_cm, { label: "Bounce (VO)" }),
      G.tile("vertical_ratio_pct", s.vertical_ratio_pct, { label: "Vert. ratio", note: s.vertical_ratio_pct === null ? "needs speed" : "" }),
      G.tile("lean_deg", s.lean_deg, leanUnc ? { zone: "none", note: "uncalibrated" } : {}),
      G.tile("heel_strike_share", null, { label: "Heel strike", text: strikeKnown ? (100 * s.heel_strike_share).toFixed(0) : "–", unit: strikeKnown ? "%" : "", zone: "none", note: strikeKnown ? `${strikeKnown.toLocaleString()} landings` : "no foot sensor" }),
      ...armTiles(d),
      G.tile("cues", null, { label: "Coach cues", text: String(s.cues), unit: "", zone: "none" }),
      G.tile("pain", null, { label: "Pain b/d/a", text: [s.pain_before, s.pain_during_max, s.pain_after].map((x) => (x === null || x === undefined ? "–" : x)).join(" / "), unit: "", zone: s.pain_during_max >= 5 || s.pain_after >= 5 ? "red" : "none" }),
    ];
    return el("div", { class: "tiles", id: "summary" }, t);
  }

  // a wrist sensor: the arm per stride (medians of the steps sent; no zones: no population norm)
  function armTiles(d) {
    const st = d.steps;
    if (!finite(st.arm_cross_cm) && !finite(st.arm_swing_deg)) return [];
    const med = (k) => G.median((st[k] || []).filter((v) => v !== null && isFinite(v)));
    return [
      G.tile("arm_cross_cm", med("arm_cross_cm"), { zone: "none", note: "unvalidated" }),
      G.tile("arm_swing_deg", med("arm_swing_deg"), { zone: "none", note: "unvalidated" }),
    ];
  }

  function armSection(d) {
    const st = d.steps;
    if (!finite(st.arm_cross_cm) && !finite(st.arm_swing_deg)) return null;
    const n = st.arm_cross_cm ? st.arm_cross_cm.filter((v) => v !== null && isFinite(v)).length : 0;
    return section("Arms", [
      el("p", { id: "arms", text: "From the wrist sensor, per stride (one swing of the arm, two steps): arm crossing is how far the hand travels from side to side, " +
        "across the direction of travel (it includes the body's own sway); arm swing is the angle the wrist turns through, forward and back. " +
        "A rising crossing against your own earlier runs is what \"don't pump your arms across your body\" is about." }),
      el("p", { class: "note", text: `Unvalidated: no public running data has arm markers to check these against, so read them against your own baseline, not as absolute numbers (${n.toLocaleString()} strides measured).` }),
    ]);
  }

  function drift(d) {
    // fatigue drift: first vs last third of the steps (medians)
    const out = [];
    const n = d.n_steps;
    if (n < 300) return out;
    const a = Math.floor(n / 3), b = n - a;
    const spec = [["cadence_spm", 1, "Cadence", "spm", true], ["vo_cm", 0.3, "Bounce", "cm", false], ["gct_ms", 8, "Contact time", "ms", false], ["vertical_ratio_pct", 0.3, "Vertical ratio", "%", false]];
    for (const [m, thr, label, unit, higherBetter] of spec) {
      const y = d.steps[m];
      if (!finite(y)) continue;
      const m1 = G.median(y.slice(0, a)), m2 = G.median(y.slice(b));
      if (m1 === null || m2 === null) continue;
      const diff = m2 - m1;
      const nd = G.ZONES[m].nd;
      let cls = "flat", arrow = "→", words = `held steady at ${G.fmt(m2, nd)} ${unit}`;
      if (Math.abs(diff) >= thr) {
        const better = higherBetter ? diff > 0 : diff < 0;
        cls = better ? "good" : "bad";
        arrow = diff > 0 ? "↑" : "↓";
        words = `${diff > 0 ? "rose" : "fell"} from ${G.fmt(m1, nd)} to ${G.fmt(m2, nd)} ${unit}` + (better ? "" : " (a common sign of tiring)");
      }
      out.push(el("div", { class: "verdict" }, [el("span", { class: `arrow ${cls}`, text: arrow }), el("span", {}, [el("strong", { text: label + " " }), `${words}, first third to last third of the run.`])]));
    }
    return out;
  }

  function charts(d, box, xKind) {
    box.replaceChildren();
    const st = d.steps, n = d.n_steps;
    const x = xKind === "km" ? st.distance_m : st.t;
    const t0 = d.t0_s;
    const toX = (time_s) => {
      const t = time_s - t0;
      if (xKind !== "km") return t;
      // distance at that time: nearest step
      let lo = 0, hi = st.t.length - 1;
      while (lo < hi) { const mid = (lo + hi) >> 1; if (st.t[mid] < t) lo = mid + 1; else hi = mid; }
      return st.distance_m[lo];
    };
    const marks = d.alerts.filter((a) => a.kind === "cue" || a.kind === "stop").map((a) => ({ x: toX(a.time_s), color: G.COLORS[G.KIND_ZONE[a.kind]] }))
      .concat(d.pain.map((p) => ({ x: toX(p.time_s), color: "#b91c1c" })));
    const w = Math.max(9, Math.round(n / 250));
    // per metric, once per page (the x axis does not change them): median, y range, trend line
    const stats = d._stats || (d._stats = {});
    const todo = [];
    for (const m of chartMetrics(d)) {
      const y = st[m];
      if (!finite(y)) continue;
      let sm = stats[m];
      if (!sm) {
        const sorted = G.sortedFinite([y]);
        sm = stats[m] = { med: G.sortedMedian(sorted), rr: G.robustRange(null, undefined, sorted), trend: G.smooth(y, w) };
      }
      const z = G.ZONES[m];
      const holder = el("div");
      box.append(el("div", { class: "card chart", dataset: { metric: m } }, [el("h3", {}, [el("span", { text: `${z.label} (${z.unit})` }), el("span", { class: `zcell z-${G.zone(m, sm.med)}`, text: `median ${G.fmt(sm.med, z.nd)}` })]), holder]));
      todo.push([m, y, sm, z, holder]);
    }
    // every chart cell has the same width: one layout read for all of them (not one per chart)
    const width = todo.length ? Math.max(200, todo[0][4].clientWidth) : 200;
    for (const [m, y, sm, z, holder] of todo) {
      const raw = n < 6000 ? { label: "per step", y, color: "#9aa5b4", points: 2 } : { label: "per step", y, color: "#cbd2db", width: 1 };
      const rr = sm.rr;
      C.line(holder, { x, xKind, metric: m, height: 180, width, markers: marks, range: rr ? () => rr : null, series: [raw, { label: "trend", y: sm.trend, color: "#0f172a", width: 2, nd: z.nd }] });
    }
  }

  function timeline(d) {
    const dur = Math.max(1, d.summary.duration_s || (d.steps.t.length ? d.steps.t[d.steps.t.length - 1] : 1));
    const line = el("div", { class: "timeline", id: "timeline" });
    const at = (s) => Math.min(100, Math.max(0, (100 * (s - d.t0_s)) / dur));
    for (const a of d.alerts) {
      if (a.kind === "silent") continue;
      const mk = el("div", { class: `mk z-${G.KIND_ZONE[a.kind]}`, title: `${G.clock(a.time_s - d.t0_s)} ${a.message}` });
      mk.style.left = at(a.time_s) + "%";
      line.append(mk);
    }
    for (const p of d.pain) {
      const mk = el("div", { class: "mk pain z-red", title: `${G.clock(p.time_s - d.t0_s)} pain ${p.score}/10` });
      mk.style.left = at(p.time_s) + "%";
      line.append(mk);
    }
    for (let i = 0; i <= 4; i++) {
      const lab = el("div", { class: "axis", text: G.clock((dur * i) / 4) });
      lab.style.left = 25 * i + "%";
      line.append(lab);
    }
    const spoken = d.alerts.filter((a) => a.kind !== "silent");
    const silent = d.alerts.length - spoken.length;
    const list = el("ul", { class: "list", id: "alerts" }, spoken.length ? spoken.map((a) => el("li", {}, [
      el("span", { class: "t", text: G.clock(a.time_s - d.t0_s) }),
      el("span", { class: `chip z-${G.KIND_ZONE[a.kind]}`, text: a.kind }),
      el("strong", { text: a.message }),
      el("span", { class: "muted small", text: [a.rule.replace("_", " "), a.value !== null ? `value ${G.fmt(a.value, 1)}` : "", a.target ? `target ${a.target}` : ""].filter(Boolean).join(" · ") }),
    ])) : [el("li", { class: "empty", text: "The coach stayed quiet: no cue this run." })]);
    const legend = el("div", { class: "legend small" }, [["orange", "cue"], ["red", "stop / pain"], ["green", "back on target"]].map(([z, t]) => el("span", {}, [el("span", { class: `dot z-${z}` }), t])));
    return [line, el("div", { class: "section" }, [legend]), list, silent ? el("p", { class: "muted small", text: `${silent} more alerts were recorded silently (outside the current focus, or during the quiet start).` }) : null];
  }

  function splitsTable(d, by) {
    const rows = d.splits[by] || [];
    if (!rows.length) return el("div", { class: "empty", text: by === "km" ? "No distance for this run (no speed): see the per-minute splits." : "No splits." });
    const head = [by === "km" ? "Km" : "Minute", "Time", "Distance", "Pace", "Steps", ...SPLIT_COLS.map((c) => c[1]), "Heel strike", "Cues"];
    const body = rows.map((r) => el("tr", { dataset: { index: r.index } }, [
      el("td", { text: String(r.index + 1) }),
      el("td", { text: G.clock(r.duration_s) }),
      el("td", { text: r.distance_m === null ? "–" : (r.distance_m / 1000).toFixed(2) }),
      el("td", { text: G.pace(r.pace_s_per_km) }),
      el("td", { text: String(r.steps) }),
      ...SPLIT_COLS.map(([m]) => el("td", { class: `zcell z-${m === "lean_deg" ? "none" : G.zone(m, r[m])}`, dataset: { col: m }, text: G.fmtMetric(m, r[m]) })),
      el("td", { text: G.pct(r.heel_strike_share) }),
      el("td", { text: String(r.cues) }),
    ]));
    return el("div", { class: "table-wrap" }, el("table", { id: "splits", dataset: { by } }, [el("thead", {}, el("tr", {}, head.map((h) => el("th", { text: h })))), el("tbody", {}, body)]));
  }

  function strikeSection(d) {
    const c = d.summary.strike_counts || {};
    const total = STRIKE_NAMES.reduce((a, k) => a + (c[k] || 0), 0);
    if (!total) {
      const why = d.info.placement === "foot" ? "The foot sensor gave no strike angle (it needs a gyroscope at 200 Hz or more)." : `A ${d.info.placement || "trunk"} sensor cannot see how the foot lands: clip a pod to the shoe to measure it.`;
      return [el("div", { class: "note", text: why })];
    }
    const bar = el("div", { class: "stack", id: "strike-bar" });
    for (const k of STRIKE_NAMES) {
      const share = (c[k] || 0) / total;
      if (!share) continue;
      const part = el("div", { text: share > 0.08 ? `${G.STRIKE_WORDS[k]} ${(100 * share).toFixed(0)}%` : "" });
      part.style.width = 100 * share + "%";
      part.style.background = G.COLORS[G.STRIKE_ZONE[k]];
      bar.append(part);
    }
    const legend = el("div", { class: "legend" }, STRIKE_NAMES.map((k) => el("span", {}, [el("span", { class: `dot z-${G.STRIKE_ZONE[k]}` }), `${G.STRIKE_WORDS[k]}: ${(c[k] || 0).toLocaleString()} (${G.pct((c[k] || 0) / total)})`])));
    return [bar, legend];
  }

  function bouncePace(d) {
    const st = d.steps;
    if (!st.speed_mps) return [el("div", { class: "note", text: "No speed for this run: connect a foot pod (RSC) or give the speed, and bounce and vertical ratio show against pace here." })];
    const paceOf = (v) => (v && v > 0.5 ? Math.round(1000 / v) : null);
    const pace = st.speed_mps.map(paceOf);
    const speeds = new Set(st.speed_mps.filter((v) => v !== null).map((v) => v.toFixed(2)));
    const out = [];
    if (speeds.size <= 1) out.push(el("div", { class: "note", text: `The speed is one fixed value for this run (${[...speeds][0]} m/s), so every step sits at the same pace; a foot pod's speed spreads them out.` }));
    const wrap = el("div", { class: "two section" });
    for (const m of ["vo_cm", "vertical_ratio_pct"]) {
      if (!finite(st[m])) continue;
      const box = el("div");
      wrap.append(el("div", {}, [el("h3", { text: `${G.ZONES[m].label} (${G.ZONES[m].unit}) against pace (min:s per km)` }), box]));
      const mins = d.splits.minute.filter((r) => r.pace_s_per_km && r[m] !== null);
      requestAnimationFrame(() => C.scatter(box, {
        xKind: "pace", metric: m, height: 200,
        sets: [
          { label: "steps", x: pace, y: st[m], color: "#9aa5b4", size: 2 },
          { label: "minute medians", x: mins.map((r) => Math.round(r.pace_s_per_km)), y: mins.map((r) => r[m]), color: "#0f172a", size: 7 },
        ],
      }));
    }
    out.push(wrap);
    return out;
  }

  function painSection(d) {
    if (!d.pain.length) return [el("div", { class: "empty", text: "No pain check-in this run." })];
    return [el("ul", { class: "list", id: "pain" }, d.pain.map((p) => el("li", {}, [
      el("span", { class: "t", text: p.phase === "during" ? G.clock(p.time_s - d.t0_s) : p.phase }),
      el("span", { class: `chip z-${p.score >= 5 ? "red" : p.score >= 3 ? "orange" : "green"}`, text: `${p.score}/10` }),
      el("span", { text: p.note || "" }),
    ])))];
  }

  function quality(d) {
    const bits = d.quality_bits, qm = d.steps.quality_mask, counts = {};
    for (const [name, bit] of Object.entries(bits)) {
      let c = 0;
      for (let i = 0; i < qm.length; i++) if (qm[i] & bit) c++;
      if (c) counts[name] = c;
    }
    const parts = Object.entries(counts).map(([k, v]) => `${k.replace("_", " ")}: ${v.toLocaleString()} steps`);
    const gaps = d.gaps.reduce((a, g) => a + (g.missing || 0), 0);
    if (d.gaps.length) parts.push(`${d.gaps.length} gaps in the sensor data (${gaps.toLocaleString()} samples missing)`);
    return el("p", { class: "muted small", text: parts.length ? "Data quality: " + parts.join(" · ") + "." : "Data quality: no step flagged." });
  }

  function render(root, d, opts) {
    opts = opts || {};
    const s = d.summary;
    const title = el("div", {}, [
      el("h1", { text: `Run · ${G.dateTime(s.start_time)}` }),
      el("div", { class: "muted" }, [
        [s.runner, d.info.placement ? `${d.info.placement} sensor` : null, (d.info.devices || []).map((x) => (typeof x === "string" ? x : x.id || x.name || "")).filter(Boolean).join(", ")].filter(Boolean).join(" · "),
        " ", el("span", { class: `badge ${s.status}`, text: s.status }),
      ]),
    ]);
    const exports = opts.exports ? el("div", { class: "row no-print", id: "exports" }, [
      ["steps.csv", "CSV"], ["csv.zip", "CSV (all)"], ["fit", "FIT"], ["parquet.zip", "Parquet"], ["html", "Report"],
    ].map(([fmt, label]) => el("a", { class: "btn", href: `/api/runs/${d.run_id}/export/${fmt}`, download: "", dataset: { fmt }, text: "⤓ " + label }))) : null;
    const head = el("div", { class: "page-head" }, [title, exports]);

    const chartBox = el("div", { class: "charts", id: "charts" });
    const hasDist = !!d.steps.distance_m;
    const xSeg = hasDist ? seg([["time", "Time"], ["km", "Distance"]], "time", (k) => charts(d, chartBox, k)) : null;
    const splitBox = el("div");
    const splitSeg = seg([["km", "Per km"], ["minute", "Per minute"]], d.splits.km.length ? "km" : "minute", (k) => splitBox.replaceChildren(splitsTable(d, k)));
    splitBox.append(splitsTable(d, d.splits.km.length ? "km" : "minute"));
    const dr = drift(d);

    root.replaceChildren(...[
      head,
      summaryTiles(d),
      dr.length ? section("Through the run", el("div", { class: "verdicts" }, dr)) : null,
      section("Every metric", [chartBox, quality(d)], xSeg),
      armSection(d),
      section("Splits", splitBox, splitSeg),
      el("div", { class: "two" }, [section("Foot strike", strikeSection(d)), section("Pain notes", painSection(d))]),
      section("Bounce against pace", bouncePace(d)),
      section("Coach alerts", timeline(d)),
    ].filter(Boolean));
    charts(d, chartBox, "time");
  }

  global.GaitRun = { render, splitsTable, chartMetrics };
})(window);
