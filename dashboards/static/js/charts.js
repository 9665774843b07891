/* Chart helpers over uPlot (vendored, MIT): zone-banded lines, scatter, bars; all resize with
 * their container. */
(function (global) {
  "use strict";
  const G = global.Gait;

  function hexA(hex, a) {
    const n = parseInt(hex.slice(1), 16);
    return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${a})`;
  }

  // shaded zone bands behind the series (Garmin-style colour gauge on the y axis)
  function zoneBands(metric, alpha) {
    const z = G.ZONES[metric];
    return {
      hooks: {
        drawClear: [(u) => {
          if (!z || !z.bands) return;
          const ctx = u.ctx, { left, top, width, height } = u.bbox;
          const yMin = u.scales.y.min, yMax = u.scales.y.max;
          ctx.save();
          for (const [lo, hi, name] of z.bands) {
            const a = Math.max(lo, yMin), b = Math.min(hi, yMax);
            if (!(b > a)) continue;
            const y1 = u.valToPos(b, "y", true), y0 = u.valToPos(a, "y", true);
            ctx.fillStyle = hexA(G.COLORS[name], alpha || 0.09);
            ctx.fillRect(left, Math.max(top, y1), width, Math.min(top + height, y0) - Math.max(top, y1));
          }
          ctx.restore();
        }],
      },
    };
  }

  // vertical markers (alerts, pain notes) at x positions: [{x, color}]
  function markers(list) {
    return {
      hooks: {
        draw: [(u) => {
          if (!list || !list.length) return;
          const ctx = u.ctx, { top, height } = u.bbox;
          ctx.save();
          ctx.lineWidth = 2 * devicePixelRatio;
          for (const m of list) {
            if (m.x < u.scales.x.min || m.x > u.scales.x.max) continue;
            const x = Math.round(u.valToPos(m.x, "x", true));
            ctx.strokeStyle = hexA(m.color, 0.75);
            ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
            ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, top + height); ctx.stroke();
          }
          ctx.restore();
        }],
      },
    };
  }

  function autoResize(u, box, height) {
    const ro = new ResizeObserver(() => {
      const w = Math.max(200, box.clientWidth);
      if (Math.abs(w - u.width) > 2) u.setSize({ width: w, height });
    });
    ro.observe(box);
    return u;
  }

  function xAxis(kind) {
    const values = kind === "time" ? (u, ticks) => ticks.map((v) => G.clock(v))
      : kind === "km" ? (u, ticks) => ticks.map((v) => (v / 1000).toFixed(v % 1000 === 0 ? 0 : 1) + " km")
      : kind === "date" ? (u, ticks) => ticks.map((v) => G.dateShort(v))
      : kind === "pace" ? (u, ticks) => ticks.map((v) => G.clock(v))
      : undefined;
    const ax = { stroke: "#5f6b7a", grid: { stroke: "#eef1f5" }, ticks: { stroke: "#e2e6ec" }, font: "11px system-ui", values };
    if (kind === "time") ax.incrs = [15, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600];
    if (kind === "km") ax.incrs = [100, 200, 250, 500, 1000, 2000, 5000];
    return ax;
  }

  /* line chart. opts: {x: [...], series: [{label, y, color, width, dash, points}], metric, xKind,
     height, markers, yLabel, range: [lo, hi] } */
  function line(box, opts) {
    const height = opts.height || 190;
    const series = [{ label: opts.xLabel || (opts.xKind === "km" ? "distance" : opts.xKind === "date" ? "week" : opts.xKind === "pace" ? "pace" : "time"), value: (u, v) => (v === null ? "–" : opts.xKind === "time" ? G.clock(v) : opts.xKind === "km" ? G.km(v) : opts.xKind === "date" ? G.dateShort(v) : v)}];
    const data = [opts.x];
    for (const s of opts.series) {
      series.push({
        label: s.label, stroke: s.color, width: s.width || 1.5, dash: s.dash, spanGaps: !!s.spanGaps,
        points: s.points ? { show: true, size: s.points, stroke: s.color, fill: s.color, width: 0 } : { show: false },
        paths: s.points && !s.line ? () => null : undefined,
        value: (u, v) => (v === null || v === undefined ? "–" : G.fmt(v, s.nd === undefined ? 1 : s.nd)),
      });
      data.push(s.y);
    }
    const plugins = [];
    if (opts.metric) plugins.push(zoneBands(opts.metric));
    if (opts.markers) plugins.push(markers(opts.markers));
    const yAx = { stroke: "#5f6b7a", grid: { stroke: "#eef1f5" }, ticks: { stroke: "#e2e6ec" }, font: "11px system-ui", size: 46 };
    if (opts.yFmt) yAx.values = (u, t) => t.map(opts.yFmt);
    const u = new uPlot({
      width: opts.width || Math.max(200, box.clientWidth), height,
      legend: { show: opts.legend !== false, live: true },
      cursor: { drag: { x: true, y: false }, points: { size: 6 } },
      scales: { x: { time: false }, y: opts.range ? { range: typeof opts.range === "function" ? opts.range : () => opts.range } : { auto: true } },
      axes: [xAxis(opts.xKind), yAx],
      series, plugins,
    }, data, box);
    return autoResize(u, box, height);
  }

  // scatter: x and y unsorted; sorted here. opts.sets: [{label, x, y, color, size}]
  function scatter(box, opts) {
    const xs = new Set();
    for (const s of opts.sets) for (let i = 0; i < s.x.length; i++) if (s.x[i] !== null && s.y[i] !== null) xs.add(s.x[i]);
    const X = Array.from(xs).sort((a, b) => a - b);
    const index = new Map(X.map((v, i) => [v, i]));
    const series = opts.sets.map((s) => {
      const y = new Array(X.length).fill(null);
      for (let i = 0; i < s.x.length; i++) if (s.x[i] !== null && s.y[i] !== null) y[index.get(s.x[i])] = s.y[i];
      return { s, y };
    });
    return line(box, {
      x: X, xKind: opts.xKind, xLabel: opts.xLabel, metric: opts.metric, height: opts.height,
      series: series.map(({ s, y }) => ({ label: s.label, y, color: s.color, points: s.size || 3, nd: s.nd })),
    });
  }

  // bars over x (dates): opts.series: [{label, y, color}]
  function bars(box, opts) {
    const height = opts.height || 190;
    const n = opts.series.length;
    const series = [{ label: opts.xLabel || "week", value: (u, v) => (v === null || v === undefined ? "–" : G.dateShort(v)) }];
    const data = [opts.x];
    opts.series.forEach((s, i) => {
      series.push({
        label: s.label, fill: hexA(s.color, 0.85), stroke: s.color, width: 0,
        paths: s.line ? undefined : uPlot.paths.bars({ size: [0.6 / n, 48], align: 0 }),
        points: s.line ? { show: true, size: 7, fill: s.color } : { show: false }, ...(s.line ? { width: 2, fill: undefined } : {}),
        value: (u, v) => (v === null ? "–" : G.fmt(v, s.nd === undefined ? 1 : s.nd)),
      });
      data.push(s.y);
    });
    const u = new uPlot({
      width: Math.max(200, box.clientWidth), height,
      legend: { show: true, live: true },
      scales: { x: { time: false, range: (u, lo, hi) => [lo - 3.5 * 86400, hi + 3.5 * 86400] }, y: { range: (u, lo, hi) => [0, Math.max(hi * 1.1, opts.minMax || 0)] } },
      axes: [xAxis("date"), { stroke: "#5f6b7a", grid: { stroke: "#eef1f5" }, font: "11px system-ui", size: 46 }],
      series, plugins: opts.metric ? [zoneBands(opts.metric)] : [],
    }, data, box);
    return autoResize(u, box, height);
  }

  global.GaitCharts = { line, scatter, bars, zoneBands, markers, hexA };
})(window);
