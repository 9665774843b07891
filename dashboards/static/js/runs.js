/* The run list: every stored run, newest first; pick two to compare. */
(function () {
  "use strict";
  const G = window.Gait, el = G.el;
  G.nav("runs");
  const app = document.getElementById("app");

  function zcell(metric, v) {
    return el("td", { class: `zcell z-${G.zone(metric, v)}`, text: G.fmtMetric(metric, v) });
  }
  function painText(r) {
    const p = [r.pain_before, r.pain_during_max, r.pain_after].map((x) => (x === null || x === undefined ? "–" : x));
    return p.every((x) => x === "–") ? "–" : p.join(" / ");
  }

  async function main() {
    let data;
    try { data = await G.getJSON("/api/runs"); } catch (e) { app.replaceChildren(el("p", { class: "bad", text: String(e) })); return; }
    const runs = data.runs;
    const picked = new Set();
    const cmp = el("a", { class: "btn primary", href: "#", text: "Compare two runs", "aria-disabled": "true" });
    const total = runs.reduce((a, r) => ({ d: a.d + (r.distance_m || 0), t: a.t + (r.duration_s || 0), s: a.s + r.steps }), { d: 0, t: 0, s: 0 });
    const head = el("div", { class: "page-head" }, [
      el("div", {}, [el("h1", { text: "Your runs" }), el("div", { class: "muted", text: `${runs.length} runs · ${G.km(total.d)} · ${G.clock(total.t)} of running · ${total.s.toLocaleString()} steps` })]),
      el("div", { class: "row" }, [el("span", { class: "muted small", text: "Tick two runs, then" }), cmp]),
    ]);
    const live = data.live && data.live.active
      ? el("div", { class: "banner cue" }, [el("div", { class: "b-icon", text: "●" }), el("div", {}, [el("div", { class: "b-text", text: "A run is live now" }), el("a", { href: "/live", text: "Open the live page →" })])])
      : null;
    if (!runs.length) {
      app.replaceChildren(head, el("div", { class: "card empty", text: "No runs stored yet. Record one with gait live, or run make demo." }));
      return;
    }
    const rows = runs.map((r) => {
      const box = el("input", { type: "checkbox", class: "pick", "aria-label": "pick for comparison", dataset: { run: r.run_id } });
      box.addEventListener("change", () => {
        if (box.checked) picked.add(r.run_id); else picked.delete(r.run_id);
        const ids = Array.from(picked);
        if (ids.length === 2) { cmp.href = `/compare?a=${ids[0]}&b=${ids[1]}`; cmp.removeAttribute("aria-disabled"); }
        else { cmp.href = "#"; cmp.setAttribute("aria-disabled", "true"); }
      });
      return el("tr", { dataset: { run: r.run_id } }, [
        el("td", {}, [el("div", { class: "row" }, [box, el("div", {}, [el("a", { href: `/runs/${r.run_id}`, text: G.dateCompact(r.start_time) }),
          r.status !== "closed" ? el("span", { class: `badge ${r.status}`, text: r.status }) : null,
          el("span", { class: "sub", text: [r.runner, r.placement ? r.placement + " sensor" : null].filter(Boolean).join(" · ") })])])]),
        el("td", { text: G.clock(r.duration_s) }),
        el("td", { text: G.km(r.distance_m) }),
        el("td", { text: r.steps.toLocaleString() }),
        zcell("cadence_spm", r.cadence_spm),
        zcell("gct_ms", r.gct_ms),
        zcell("vo_cm", r.vo_cm),
        zcell("vertical_ratio_pct", r.vertical_ratio_pct),
        el("td", { text: G.pct(r.heel_strike_share) }),
        el("td", { text: String(r.cues) }),
        el("td", { text: painText(r) }),
      ]);
    });
    const table = el("table", { class: "runs-table", id: "runs" }, [
      el("thead", {}, el("tr", {}, ["Run", "Time", "Distance", "Steps", "Cadence", "Contact ms", "VO cm", "VR %", "Heel strike", "Cues", "Pain b/d/a"].map((h) => el("th", { text: h })))),
      el("tbody", {}, rows),
    ]);
    const legend = el("div", { class: "legend" }, ["purple", "blue", "green", "orange", "red"].map((z) => el("span", {}, [el("span", { class: `dot z-${z}` }), G.ZONE_WORDS[z]])));
    app.replaceChildren(...[head, live, el("div", { class: "card table-wrap" }, [table]), el("div", { class: "small muted section" }, [legend, el("div", { text: "Colours: Garmin Running Dynamics gauges (percentiles of runners). Medians over each run." })])].filter(Boolean));
  }
  main();
})();
