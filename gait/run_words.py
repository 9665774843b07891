"""A run's steps in a runner's words: per-minute table, foot-strike and bounce verdicts, cadence,
what the coach said. Pure presentation of step records (`gait.demo` prints them; so can anyone).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from gait.core.records import Q_LOW_RATE, Q_NO_GYRO, Q_UNCALIBRATED, StepMetrics

# Garmin Running Dynamics colour zones for vertical oscillation (cm), see reference algorithms §5.1.
VO_ZONES: tuple[tuple[str, float, float, str], ...] = (
    # name, low, high (exclusive), colour
    ("purple", -np.inf, 6.4, "#8e44ad"),
    ("blue", 6.4, 8.15, "#2e86de"),
    ("green", 8.15, 9.75, "#27ae60"),
    ("orange", 9.75, 11.5, "#e67e22"),
    ("red", 11.5, np.inf, "#c0392b"),
)
VO_ZONE_TEXT = {
    "purple": "below 6.4 cm",
    "blue": "6.4-8.1 cm",
    "green": "8.2-9.7 cm",
    "orange": "9.8-11.5 cm",
    "red": "above 11.5 cm",
}


def vo_zone(vo_cm: float) -> str:
    for name, lo, hi, _ in VO_ZONES:
        if lo <= vo_cm < hi:
            return name
    return "red"



# ----------------------------------------------------------------------------------------------
# summaries
# ----------------------------------------------------------------------------------------------
def _values(steps: Sequence[StepMetrics], name: str) -> np.ndarray:
    out = np.full(len(steps), np.nan)
    for i, s in enumerate(steps):
        v = getattr(s, name)
        if v is not None:
            out[i] = float(v)
    return out


def _nanmedian(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(np.median(x)) if x.size else float("nan")


STRIKES = ("rearfoot", "midfoot", "forefoot")
# Flags that describe the set-up of the whole run, not the step: they do not make a step unclean.
MODE_FLAGS = frozenset({Q_UNCALIBRATED, Q_NO_GYRO, Q_LOW_RATE})


def is_clean(step: StepMetrics) -> bool:
    """No quality flag other than the run-wide set-up ones (uncalibrated, no_gyro, low_sample_rate)."""
    return all(q in MODE_FLAGS for q in step.quality)


def strike_counts(steps: Sequence[StepMetrics]) -> Counter:
    return Counter(s.strike for s in steps if s.strike in STRIKES)


def usable(steps: Sequence[StepMetrics], metric: str) -> int:
    return int(np.isfinite(_values(steps, metric)).sum())


def per_minute(
    trunk_steps: Sequence[StepMetrics],
    foot_steps: Sequence[StepMetrics] = (),
    t0: float = 0.0,
    duration_s: float | None = None,
) -> list[dict]:
    """One row per minute of the run: steps, cadence, GCT, VO (trunk), foot strike shares and
    foot cadence (foot sensor), share of trunk steps without any quality flag."""
    all_t = [s.ic_s for s in trunk_steps] + [s.ic_s for s in foot_steps]
    if duration_s is not None:
        last_min = max(0, int(np.ceil(duration_s / 60.0 - 1e-6)) - 1)
    elif all_t:
        last_min = int((max(all_t) - t0) // 60)
    else:
        return []
    rows = []
    for m in range(last_min + 1):
        lo, hi = t0 + 60.0 * m, t0 + 60.0 * (m + 1)
        ts = [s for s in trunk_steps if lo <= s.ic_s < hi]
        fs = [s for s in foot_steps if lo <= s.ic_s < hi]
        counts = strike_counts(fs)
        n_strike = sum(counts.values())
        rows.append(
            {
                "minute": m + 1,
                "steps": len(ts),
                "cadence_spm": _nanmedian(_values(ts, "cadence_spm")),
                "gct_ms": _nanmedian(_values(ts, "gct_ms")),
                "vo_cm": _nanmedian(_values(ts, "vo_cm")),
                "foot_cadence_spm": _nanmedian(_values(fs, "cadence_spm")),
                "strike_share": {k: counts[k] / n_strike for k in STRIKES} if n_strike else None,
                "clean_share": (sum(1 for s in ts if is_clean(s)) / len(ts)) if ts else float("nan"),
            }
        )
    return rows


def format_table(rows: list[dict], show_foot_cadence: bool, show_strike: bool) -> str:
    header = ["min", "steps", "cadence spm", "GCT ms", "VO cm"]
    if show_foot_cadence:
        header.append("ankle spm")
    if show_strike:
        header.append("strike RF/MF/FF %")
    header.append("clean %")
    lines = []
    table = [header]
    for r in rows:
        line = [
            str(r["minute"]),
            str(r["steps"]),
            _f(r["cadence_spm"], ".0f"),
            _f(r["gct_ms"], ".0f"),
            _f(r["vo_cm"], ".1f"),
        ]
        if show_foot_cadence:
            line.append(_f(r["foot_cadence_spm"], ".0f"))
        if show_strike:
            sh = r["strike_share"]
            line.append("-" if sh is None else "/".join(f"{100 * sh[k]:.0f}" for k in STRIKES))
        line.append(_f(100 * r["clean_share"], ".0f"))
        table.append(line)
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for j, row in enumerate(table):
        lines.append("  ".join(c.rjust(w) for c, w in zip(row, widths)))
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _f(v: float | None, fmt: str) -> str:
    if v is None or not np.isfinite(v):
        return "-"
    return format(v, fmt)


def strike_verdict(
    foot: Any,
    trunk_placement: str = "waist",
    foot_has_gyro: bool = True,
    foot_rate_hz: float | None = None,
    min_rate_hz: float = 200.0,
) -> str:
    """Plain words on foot strike: from the foot sensor if it measured it, else why not."""
    trunk_words = f"not measurable from a {trunk_placement} accelerometer (it cannot tell how the foot lands)"
    if foot is None:
        return f"Foot strike: {trunk_words}, and this run has no foot sensor."
    counts = strike_counts(foot.steps)
    n = sum(counts.values())
    if n < 20:
        why = []
        if foot.error:
            why.append(f"the ankle pipeline failed ({foot.error})")
        elif usable(foot.steps, "cadence_spm") < 20:
            why.append("the ankle sensor gave no usable contacts")
        limits = []
        flags = Counter(q for s in foot.steps for q in s.quality)
        if not foot_has_gyro or flags.get(Q_NO_GYRO):
            limits.append("has no gyroscope")
        if (foot_rate_hz is not None and foot_rate_hz < min_rate_hz) or flags.get(Q_LOW_RATE):
            rate = f"{foot_rate_hz:.0f} Hz" if foot_rate_hz else "too low a rate"
            limits.append(f"samples at {rate} where the strike angle needs {min_rate_hz:.0f} Hz or more")
        if limits:
            why.append("the ankle sensor " + " and ".join(limits))
        reason = "; ".join(why) if why else "too few contacts with a strike angle"
        return (
            f"Foot strike: {trunk_words}, and not measurable from this ankle sensor either: {reason}. "
            "A shoe pod with a gyroscope at 200 Hz or more would tell heel, midfoot or forefoot landing."
        )
    share = {k: counts[k] / n for k in STRIKES}
    main = max(STRIKES, key=lambda k: share[k])
    plain = {
        "rearfoot": "you land heel first",
        "midfoot": "you land on the middle of the foot, heel and ball together",
        "forefoot": "you land on the ball of the foot, the heel touching down after",
    }
    detail = ", ".join(f"{100 * share[k]:.0f}% {k}" for k in STRIKES)
    advice = {
        "rearfoot": (
            "That is how most distance runners land and it is not a fault in itself; if you want "
            "a softer landing, a few more steps per minute usually brings the foot down closer under you."
        ),
        "midfoot": "A flat landing spreads the impact between heel and forefoot.",
        "forefoot": (
            "Landing on the forefoot loads the calves and Achilles more; build up to it gradually if it is new to you."
        ),
    }[main]
    return f"Foot strike (left ankle, {n} contacts): mostly {main}: {plain[main]} ({detail}). {advice}"


def short_strike_note(foot: Any) -> str:
    """Why there is no foot-strike chart, in a few words (for the plot)."""
    note = "A waist accelerometer cannot see how the foot lands."
    if foot is None:
        return note
    if foot.error or usable(foot.steps, "cadence_spm") < 20:
        return note + " The ankle sensor (accelerometer only, 100 Hz) gave no usable contacts."
    return note + " The ankle sensor has no gyroscope and samples at 100 Hz: too little for the strike angle."


def bounce_verdict(trunk_steps: Sequence[StepMetrics]) -> str:
    vo = _values(trunk_steps, "vo_cm")
    t = np.array([s.ic_s for s in trunk_steps]) if trunk_steps else np.zeros(0)
    ok = np.isfinite(vo)
    if ok.sum() < 20:
        return "Bounce (vertical oscillation): not enough usable steps to say."
    vo, t = vo[ok], t[ok]
    med = float(np.median(vo))
    zone = vo_zone(med)
    shares = Counter(vo_zone(v) for v in vo)
    words = {
        "purple": "very little bounce: you run low and flat, less than nearly all runners",
        "blue": "less bounce than most runners: an economical, fairly flat stride",
        "green": "about as much bounce as most runners",
        "orange": (
            "more bounce than most runners: part of each stride goes up instead of forward; "
            "slightly quicker, shorter steps usually bring it down"
        ),
        "red": (
            "a lot of bounce: much of each stride goes up instead of forward; try quicker, shorter "
            "steps and think of running 'under a low ceiling'"
        ),
    }[zone]
    text = (
        f"Bounce: your hips rose and fell {med:.1f} cm per step (median), the {zone} zone "
        f"({VO_ZONE_TEXT[zone]} on Garmin's scale): {words}. "
        f"{100 * shares[zone] / len(vo):.0f}% of steps were in that zone."
    )
    span = t[-1] - t[0]
    if span > 6 * 60:
        first = np.median(vo[t < t[0] + 5 * 60])
        last = np.median(vo[t > t[-1] - 5 * 60])
        d = last - first
        if abs(d) >= 0.4:
            text += f" It {'rose' if d > 0 else 'fell'} by {abs(d):.1f} cm from the first to the last five minutes" + (
                " - a common sign of tiring legs." if d > 0 else "."
            )
        else:
            text += " It stayed steady from start to finish."
    return text


def cadence_line(trunk_steps: Sequence[StepMetrics]) -> str:
    cad = _nanmedian(_values(trunk_steps, "cadence_spm"))
    gct = _nanmedian(_values(trunk_steps, "gct_ms"))
    parts = []
    if np.isfinite(cad):
        parts.append(f"cadence {cad:.0f} steps/min")
    if np.isfinite(gct):
        parts.append(f"ground contact {gct:.0f} ms")
    return ("Rhythm: " + ", ".join(parts) + " (medians).") if parts else ""


def coach_lines(alerts: Sequence, preset: str = "default") -> list[str]:
    """What the coach said during the run (the run's own coach, in the engine)."""
    from gait.core.records import ALERT_CLEAR, ALERT_CUE, ALERT_STOP

    if not alerts:
        return []
    spoken = [a for a in alerts if a.kind in (ALERT_CUE, ALERT_CLEAR, ALERT_STOP)]
    silent = len(alerts) - len(spoken)
    lines = [f"Coach (preset '{preset}'): {len(spoken)} spoken cues, {silent} alerts recorded silently (one focus at a time)."]
    for a in spoken:
        t = max(0.0, a.time_s)
        lines.append(f"  {int(t // 60):2d}:{int(t % 60):02d}  {a.rule:<13} {a.message}" + (f"  [{a.target}]" if a.target else ""))
    return lines

