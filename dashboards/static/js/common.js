/* gait dashboards: zones, formatting and small DOM helpers shared by every page and the report.
 *
 * Zones: Garmin Running Dynamics colour gauges (reference algorithms.md §5.1; percentiles of
 * Garmin's users: purple > 95th, blue 70-95th, green 30-69th, orange 5-29th, red < 5th).
 * Lean and foot strike have no Garmin gauge: lean uses a provisional band around the self-selected
 * lean of Teng & Powers 2014 (7.3 ± 3.6°), foot strike colours the landing type (§5.3: heel
 * striking is not a fault in itself; orange marks it because it is what the coach can work on).
 */
(function (global) {
  "use strict";
  const COLORS = { purple: "#8e44ad", blue: "#2e86de", green: "#27ae60", orange: "#e67e22", red: "#c0392b", none: "#8a94a3" };
  // bands: [low, high, zone] (low inclusive, high exclusive); order from low to high values
  const BANDS = {
    cadence_spm: [[-Infinity, 153, "red"], [153, 164, "orange"], [164, 174, "green"], [174, 184, "blue"], [184, Infinity, "purple"]],
    gct_ms: [[-Infinity, 218, "purple"], [218, 249, "blue"], [249, 278, "green"], [278, 309, "orange"], [309, Infinity, "red"]],
    vo_cm: [[-Infinity, 6.4, "purple"], [6.4, 8.15, "blue"], [8.15, 9.75, "green"], [9.75, 11.5, "orange"], [11.5, Infinity, "red"]],
    vertical_ratio_pct: [[-Infinity, 6.1, "purple"], [6.1, 7.45, "blue"], [7.45, 8.65, "green"], [8.65, 10.1, "orange"], [10.1, Infinity, "red"]],
    lean_deg: [[-Infinity, 0, "red"], [0, 3, "orange"], [3, 11, "green"], [11, 14, "orange"], [14, Infinity, "red"]],
    fsa_deg: [[-Infinity, -1.6, "blue"], [-1.6, 8, "green"], [8, Infinity, "orange"]],
  };
  // label, unit and decimals of every step field come from the server's step field registry
  // (window.GaitFields, /static/js/fields.js); the run-level values are named here
  const ZONES = { heel_strike_share: { label: "Heel strike", unit: "%", nd: 0, bands: null } };
  for (const f of global.GaitFields || []) ZONES[f.key] = { label: f.label, unit: f.unit, nd: f.nd, bands: BANDS[f.key] || null };
  const ZONE_WORDS = { purple: "excellent", blue: "good", green: "average", orange: "fair", red: "poor" };
  const STRIKES = ["rearfoot", "midfoot", "forefoot"];
  const STRIKE_ZONE = { rearfoot: "orange", midfoot: "green", forefoot: "blue" };
  const STRIKE_WORDS = { rearfoot: "Heel", midfoot: "Midfoot", forefoot: "Forefoot" };
  const KIND_ZONE = { cue: "orange", stop: "red", clear: "green", silent: "none" };

  function zone(metric, v) {
    const z = ZONES[metric];
    if (!z || !z.bands || v === null || v === undefined || !isFinite(v)) return "none";
    for (const [lo, hi, name] of z.bands) if (v >= lo && v < hi) return name;
    return "none";
  }
  function fmt(v, nd) {
    if (v === null || v === undefined || !isFinite(v)) return "–";
    return Number(v).toFixed(nd === undefined ? 1 : nd);
  }
  function fmtMetric(metric, v) { return fmt(v, (ZONES[metric] || {}).nd); }
  function clock(s) {
    if (s === null || s === undefined || !isFinite(s)) return "–";
    s = Math.max(0, Math.round(s));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    const mm = String(m).padStart(h ? 2 : 1, "0"), ss = String(sec).padStart(2, "0");
    return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
  }
  function pace(sPerKm) {
    if (!sPerKm || !isFinite(sPerKm)) return "–";
    return clock(sPerKm) + " /km";
  }
  function km(m) { return m === null || m === undefined || !isFinite(m) ? "–" : (m / 1000).toFixed(2) + " km"; }
  function pct(x, nd) { return x === null || x === undefined || !isFinite(x) ? "–" : (100 * x).toFixed(nd === undefined ? 0 : nd) + "%"; }
  function dateTime(unix) {
    if (!unix) return "–";
    const d = new Date(unix * 1000);
    return d.toLocaleDateString(undefined, { weekday: "short", year: "numeric", month: "short", day: "numeric" }) +
      " " + d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  }
  function dateCompact(unix) {
    if (!unix) return "–";
    const d = new Date(unix * 1000);
    return d.toLocaleDateString(undefined, { weekday: "short", day: "numeric", month: "short", year: "numeric" }) + ", " +
      d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  }
  function dateShort(unix) {
    const d = new Date(unix * 1000);
    return d.toLocaleDateString(undefined, { month: "short", day: "numeric" });
  }
  // el("div", {class: "x", text: "..."}, [children])
  function el(tag, attrs, children) {
    const e = document.createElement(tag);
    if (attrs) for (const k in attrs) {
      const v = attrs[k];
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") e.textContent = v;
      else if (k === "class") e.className = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else if (k === "dataset") Object.assign(e.dataset, v);
      else e.setAttribute(k, v === true ? "" : v);
    }
    if (children) for (const c of [].concat(children)) if (c !== null && c !== undefined) e.append(c);
    return e;
  }
  function tile(metric, value, opts) {
    opts = opts || {};
    const z = ZONES[metric] || { label: metric, unit: "" };
    const zn = opts.zone || zone(metric, value);
    const v = el("span", { class: "num", text: opts.text !== undefined ? opts.text : fmtMetric(metric, value) });
    const t = el("div", { class: `tile z-${zn}`, dataset: { metric } }, [
      el("div", { class: "label", text: opts.label || z.label }),
      el("div", { class: "value" }, [v, el("span", { class: "unit", text: opts.unit !== undefined ? opts.unit : z.unit })]),
      el("div", { class: "foot" }, [zn !== "none" ? el("span", { class: `chip z-${zn}`, text: opts.chip || ZONE_WORDS[zn] || zn }) : null,
        opts.note ? el("span", { text: opts.note }) : null]),
    ]);
    return t;
  }
  async function getJSON(url) {
    const r = await fetch(url, { credentials: "same-origin" }); // no extra headers: a preload of the same URL is reused
    if (!r.ok) throw new Error(`${url}: ${r.status}`);
    return r.json();
  }
  function nav(active) {
    document.querySelectorAll(".topbar nav a").forEach((a) => a.classList.toggle("active", a.dataset.nav === active));
  }
  // running mean over `w` points, ignoring nulls (for readable lines over noisy per-step values)
  function smooth(y, w) {
    const n = y.length, out = new Array(n), half = Math.floor(w / 2);
    let s = 0, c = 0;
    for (let i = 0; i < n + half; i++) {
      if (i < n) { const v = y[i]; if (v !== null && isFinite(v)) { s += v; c++; } }
      const o = i - w; // the value leaving the window of the last w points (none once the input ends)
      if (i < n && o >= 0) { const v = y[o]; if (v !== null && isFinite(v)) { s -= v; c--; } }
      const j = i - half;
      if (j >= 0 && j < n) out[j] = y[j] === null ? null : (c ? s / c : null);
    }
    return out;
  }
  // the finite values of one or more columns, sorted (typed array: a numeric sort, no comparator)
  function sortedFinite(ys) {
    let n = 0;
    for (const y of ys) if (y) n += y.length;
    const v = new Float64Array(n);
    let k = 0;
    for (const y of ys) if (y) for (let i = 0; i < y.length; i++) { const x = y[i]; if (x !== null && isFinite(x)) v[k++] = x; }
    return v.subarray(0, k).sort();
  }
  function sortedMedian(v) {
    if (!v.length) return null;
    const m = v.length >> 1;
    return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
  }
  // a y range that ignores the wildest 1 % at each end (a few implausible steps must not flatten the chart)
  function robustRange(ys, pad, sorted) {
    const v = sorted || sortedFinite(ys);
    if (!v.length) return null;
    const lo = v[Math.floor(0.01 * (v.length - 1))], hi = v[Math.ceil(0.99 * (v.length - 1))];
    const span = Math.max(hi - lo, Math.abs(hi) * 0.05, 1e-6);
    return [lo - (pad || 0.15) * span, hi + (pad || 0.15) * span];
  }
  function median(a) { return sortedMedian(sortedFinite([a])); }
  global.Gait = { COLORS, ZONES, ZONE_WORDS, STRIKES, STRIKE_ZONE, STRIKE_WORDS, KIND_ZONE, zone, fmt, fmtMetric, clock, pace, km, pct, dateTime, dateCompact, dateShort, el, tile, getJSON, nav, smooth, median, robustRange, sortedFinite, sortedMedian };
})(window);
