"""A one-page PNG of a run (matplotlib, Agg backend; no display needed).

Left, over the run (minutes), one dot per step and a rolling median: cadence, ground contact
time, vertical oscillation with the Garmin colour zones shaded. Right: a histogram of vertical
oscillation coloured by zone, and the foot-strike distribution (or why there is none).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.gridspec import GridSpec  # noqa: E402

from gait.core.records import StepMetrics  # noqa: E402

# Garmin Running Dynamics colour zones for vertical oscillation (cm).
VO_ZONES = (
    ("purple", 0.0, 6.4, "#8e44ad"),
    ("blue", 6.4, 8.15, "#2e86de"),
    ("green", 8.15, 9.75, "#27ae60"),
    ("orange", 9.75, 11.5, "#e67e22"),
    ("red", 11.5, 40.0, "#c0392b"),
)
STRIKE_COLOURS = {"rearfoot": "#5d6d7e", "midfoot": "#48c9b0", "forefoot": "#f5b041"}


def rolling_median(y: np.ndarray, window: int) -> np.ndarray:
    """Centred rolling median over ``window`` values, ignoring NaN (NaN where a window has none)."""
    y = np.asarray(y, dtype=np.float64)
    n = y.size
    if n == 0:
        return y.copy()
    window = max(1, min(int(window), n))
    half = window // 2
    padded = np.concatenate([np.full(half, np.nan), y, np.full(window - 1 - half, np.nan)])
    view = np.lib.stride_tricks.sliding_window_view(padded, window)
    out = np.full(n, np.nan)
    has = np.isfinite(view).any(axis=1)
    if has.any():
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out[has] = np.nanmedian(view[has], axis=1)
    return out


def _values(steps: Sequence[StepMetrics], name: str) -> np.ndarray:
    return np.array([np.nan if getattr(s, name) is None else float(getattr(s, name)) for s in steps], dtype=float)


def _robust_limits(y: np.ndarray, pad: float = 0.15) -> tuple[float, float] | None:
    y = y[np.isfinite(y)]
    if y.size < 2:
        return None
    lo, hi = np.percentile(y, [1, 99])
    span = max(hi - lo, 1e-6)
    return lo - pad * span, hi + pad * span


def stride_smooth(y: np.ndarray, window: int) -> np.ndarray:
    """Rolling median of stride means: consecutive steps are averaged in pairs first (left and
    right steps often differ systematically; a plain median would flip between the two)."""
    y = np.asarray(y, dtype=np.float64)
    pair = y.copy()
    if y.size > 1:
        both = np.isfinite(y[1:]) & np.isfinite(y[:-1])
        pair[1:] = np.where(both, (y[1:] + y[:-1]) / 2, y[1:])
    return rolling_median(pair, window)


def _breaks(t_min: np.ndarray, gap_min: float) -> np.ndarray:
    """Indices after which the time series has a pause longer than ``gap_min``."""
    return np.nonzero(np.diff(t_min) > gap_min)[0] if t_min.size > 1 else np.zeros(0, int)


def _with_breaks(t_min: np.ndarray, y: np.ndarray, breaks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if breaks.size == 0:
        return t_min, y
    return np.insert(t_min, breaks + 1, np.nan), np.insert(y, breaks + 1, np.nan)


def _series(ax, t_min, y, colour, label, unit, window, breaks):
    ok = np.isfinite(y)
    ax.scatter(t_min[ok], y[ok], s=4, color=colour, alpha=0.25, linewidths=0, label="each step", rasterized=True)
    # smooth each running segment on its own (no line across a stop)
    med = np.full_like(y, np.nan)
    edges = np.concatenate([[0], breaks + 1, [y.size]])
    for a, b in zip(edges[:-1], edges[1:]):
        med[a:b] = stride_smooth(y[a:b], window)
    tx, my = _with_breaks(t_min, med, breaks)
    ax.plot(tx, my, color=colour, lw=2.2, label=f"rolling median ({window} steps)")
    for i in breaks:
        ax.axvspan(t_min[i], t_min[i + 1], color="0.85", alpha=0.6, lw=0)
    lim = _robust_limits(y)
    if lim:
        ax.set_ylim(*lim)
    ax.set_ylabel(f"{label}\n({unit})")
    ax.grid(True, alpha=0.3)
    overall = np.nanmedian(y) if ok.any() else np.nan
    if np.isfinite(overall):
        ax.text(
            0.995,
            0.95,
            f"median {overall:.0f} {unit}" if unit != "cm" else f"median {overall:.1f} {unit}",
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize=9,
            bbox={"boxstyle": "round,pad=0.25", "fc": "white", "ec": "0.8", "alpha": 0.9},
        )


def plot_run(
    steps: Sequence[StepMetrics],
    path: str | Path,
    *,
    strike_steps: Sequence[StepMetrics] = (),
    title: str = "Run",
    strike_note: str | None = None,
    t0_s: float | None = None,
    window: int = 41,
    pause_s: float = 10.0,
) -> Path:
    """Write the run summary PNG to ``path`` and return it.

    ``steps``: the steps of the trunk (or only) sensor (cadence, GCT, VO); ``strike_steps``: steps
    carrying ``strike`` (a foot sensor), may be empty; ``strike_note``: text shown when there is
    no foot-strike distribution; ``t0_s``: time origin of the x axis (default: first step);
    ``window``: steps in the rolling median; pauses longer than ``pause_s`` are shaded grey and
    break the line.
    """
    path = Path(path)
    steps = sorted(steps, key=lambda s: s.ic_s)
    t = np.array([s.ic_s for s in steps], dtype=float)
    if t0_s is None:
        t0_s = float(t[0]) if t.size else 0.0
    t_min = (t - t0_s) / 60.0
    cad = _values(steps, "cadence_spm")
    gct = _values(steps, "gct_ms")
    vo = _values(steps, "vo_cm")
    breaks = _breaks(t_min, pause_s / 60.0)

    plt.rcParams.update({"font.size": 10, "axes.titlesize": 11, "axes.titleweight": "bold"})
    fig = plt.figure(figsize=(15, 9.5), dpi=110)
    gs = GridSpec(3, 3, figure=fig, width_ratios=[2.2, 2.2, 1.25], hspace=0.42, wspace=0.32)
    ax_cad = fig.add_subplot(gs[0, :2])
    ax_gct = fig.add_subplot(gs[1, :2], sharex=ax_cad)
    ax_vo = fig.add_subplot(gs[2, :2], sharex=ax_cad)
    ax_hist = fig.add_subplot(gs[0:2, 2])
    ax_strike = fig.add_subplot(gs[2, 2])

    _series(ax_cad, t_min, cad, "#1f4e79", "Cadence", "spm", window, breaks)
    ax_cad.set_title("Cadence: steps per minute")
    foot = sorted((s for s in strike_steps if s.cadence_spm is not None), key=lambda s: s.ic_s)
    if len(foot) >= 10:  # a foot sensor's cadence (from its stride time) as a cross-check
        ft = (np.array([s.ic_s for s in foot]) - t0_s) / 60.0
        fc = _values(foot, "cadence_spm")
        fb = _breaks(ft, pause_s / 60.0)
        fmed = np.full_like(fc, np.nan)
        edges = np.concatenate([[0], fb + 1, [fc.size]])
        for a, b in zip(edges[:-1], edges[1:]):
            fmed[a:b] = rolling_median(fc[a:b], window)
        tx, my = _with_breaks(ft, fmed, fb)
        ax_cad.plot(tx, my, color="#e67e22", lw=1.6, ls="--", label="foot sensor (from stride time)")
    ax_cad.legend(loc="lower left", fontsize=8, markerscale=3, framealpha=0.9, ncol=3)
    _series(ax_gct, t_min, gct, "#7d3c98", "Ground contact", "ms", window, breaks)
    ax_gct.set_title("Ground contact time: how long each foot stays on the ground")

    # VO with zone bands
    lim = _robust_limits(vo) or (4.0, 13.0)
    lo, hi = min(lim[0], 5.5), max(lim[1], 12.0)
    for name, zlo, zhi, colour in VO_ZONES:
        ax_vo.axhspan(max(zlo, lo), min(zhi, hi), color=colour, alpha=0.13, lw=0)
        mid = (max(zlo, lo) + min(zhi, hi)) / 2
        if max(zlo, lo) < min(zhi, hi):
            ax_vo.text(1.005, mid, name, transform=ax_vo.get_yaxis_transform(), va="center", fontsize=8, color=colour)
    _series(ax_vo, t_min, vo, "#222222", "Vertical oscillation", "cm", window, breaks)
    ax_vo.set_ylim(lo, hi)
    ax_vo.set_title("Vertical oscillation (bounce), Garmin colour zones")
    ax_vo.set_xlabel("time into the run (min)")
    if t_min.size:
        ax_cad.set_xlim(min(0.0, float(np.nanmin(t_min))), float(np.nanmax(t_min)) + 0.2)
    plt.setp(ax_cad.get_xticklabels(), visible=False)
    plt.setp(ax_gct.get_xticklabels(), visible=False)

    # VO histogram coloured by zone
    ok = vo[np.isfinite(vo)]
    ax_hist.set_title("Bounce per step: how often")
    if ok.size:
        edges = np.arange(np.floor(lo * 4) / 4, hi + 0.25, 0.25)
        counts, edges = np.histogram(np.clip(ok, edges[0], edges[-1] - 1e-9), bins=edges)
        centres = (edges[:-1] + edges[1:]) / 2
        colours = [next(c for _, zlo, zhi, c in VO_ZONES if zlo <= x < zhi) for x in centres]
        ax_hist.barh(centres, 100 * counts / ok.size, height=0.23, color=colours, alpha=0.85)
        ax_hist.set_ylim(lo, hi)
        ax_hist.set_xlabel("share of steps (%)")
        ax_hist.set_ylabel("vertical oscillation (cm)")
        shares = []
        for name, zlo, zhi, _colour in VO_ZONES:
            share = 100 * np.mean((ok >= zlo) & (ok < zhi))
            shares.append(f"{name:<6} {share:4.0f}%")
        ax_hist.text(
            0.97,
            0.97,
            "\n".join(shares),
            transform=ax_hist.transAxes,
            ha="right",
            va="top",
            family="monospace",
            fontsize=8.5,
            bbox={"boxstyle": "round,pad=0.4", "fc": "white", "ec": "0.8", "alpha": 0.95},
        )
        ax_hist.grid(True, axis="x", alpha=0.3)
    else:
        ax_hist.text(0.5, 0.5, "no vertical oscillation values", ha="center", va="center", transform=ax_hist.transAxes)
        ax_hist.set_axis_off()

    # foot strike
    kinds = ("rearfoot", "midfoot", "forefoot")
    strikes = [s.strike for s in strike_steps if s.strike in kinds]
    ax_strike.set_title("Foot strike")
    if strikes:
        shares = [100 * strikes.count(k) / len(strikes) for k in kinds]
        bars = ax_strike.bar(kinds, shares, color=[STRIKE_COLOURS[k] for k in kinds])
        for b, v in zip(bars, shares):
            ax_strike.text(b.get_x() + b.get_width() / 2, v + 1.5, f"{v:.0f}%", ha="center", fontsize=9)
        ax_strike.set_ylim(0, 110)
        ax_strike.set_ylabel(f"share of {len(strikes)} contacts (%)")
        ax_strike.grid(True, axis="y", alpha=0.3)
    else:
        ax_strike.set_axis_off()
        import textwrap

        note = strike_note or "not measured"
        ax_strike.text(
            0.5,
            0.5,
            "not measurable here\n\n" + textwrap.fill(note, 40),
            ha="center",
            va="center",
            fontsize=9,
            color="0.3",
            transform=ax_strike.transAxes,
            bbox={"boxstyle": "round,pad=0.6", "fc": "#f4f6f7", "ec": "0.85"},
        )

    n = len(steps)
    dur = (t[-1] - t[0]) / 60.0 if n > 1 else 0.0
    fig.suptitle(title, fontsize=14, fontweight="bold", x=0.06, ha="left", y=0.985)
    fig.text(
        0.06,
        0.94,
        f"{n:,} steps over {dur:.1f} min  -  one dot per step, line = rolling median of stride means"
        + (f", grey = pauses ({len(breaks)})" if len(breaks) else ""),
        fontsize=10,
        color="0.35",
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight", facecolor="white")
    plt.close(fig)
    return path
