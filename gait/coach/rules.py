"""Form rules: a windowed value per rule, judged against a band with hysteresis.

Each rule keeps the last ``window_steps`` usable values of its metric (a step is unusable when the
metric is missing or the step carries one of the rule's ``ignore_flags``) and reduces them to one
robust number: the median (cadence, contact time, bounce, vertical ratio, lean), the share of
rearfoot contacts (heel strike) or the left share of contact time (asymmetry, from the per-side
medians). `RuleTracker` turns that number into episodes: off target when it leaves the enter band,
*active* once it has stayed off for ``min_duration_s``, over when it is back inside the exit band.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from gait.core.config import ARM_PLACEMENTS, TRUNK_PLACEMENTS
from gait.core.records import Q_UNCALIBRATED, StepMetrics

from .baseline import Baseline, step_speed_mps
from .config import RuleConfig

STRIKES = ("rearfoot", "midfoot", "forefoot")
WINDOW_MAX_AGE_S = 45.0  # values older than this never count, whatever the window length


@dataclass(frozen=True)
class RuleSpec:
    """What a rule measures and what it says."""

    name: str
    label: str  # in words, for summaries and the 'good' cue
    metric: str  # StepMetrics attribute the rule reads
    unit: str
    decimals: int
    placements: tuple[str, ...]  # where the metric can be measured at all
    above_msg: str = ""
    below_msg: str = ""


SPECS: dict[str, RuleSpec] = {
    s.name: s
    for s in (
        RuleSpec("bounce", "bounce", "vo_cm", "cm", 1, TRUNK_PLACEMENTS, above_msg="Less bounce: run low and light"),
        RuleSpec(
            "vertical_ratio",
            "vertical ratio",
            "vertical_ratio_pct",
            "%",
            1,
            TRUNK_PLACEMENTS,
            above_msg="Less bounce: shorter, quicker steps",
        ),
        RuleSpec(
            "heel_strike",
            "foot strike",
            "strike",
            "% heel",
            0,
            ("foot",),
            above_msg="Land softer, with the foot under you",
        ),
        RuleSpec(
            "cadence",
            "cadence",
            "cadence_spm",
            "spm",
            0,
            TRUNK_PLACEMENTS + ("foot",),
            above_msg="Ease off the step rate a little",
            below_msg="Quicker, shorter steps",
        ),
        RuleSpec(
            "contact_time",
            "ground contact",
            "gct_ms",
            "ms",
            0,
            TRUNK_PLACEMENTS + ("foot",),
            above_msg="Quick, light feet: shorter contact",
        ),
        RuleSpec(
            "lean",
            "trunk lean",
            "lean_deg",
            "deg",
            1,
            TRUNK_PLACEMENTS,
            above_msg="Run tall: chest up, don't fold at the waist",
            below_msg="Lean slightly forward from the ankles",
        ),
        RuleSpec(
            "asymmetry",
            "left/right balance",
            "gct_ms",
            "% left",
            1,
            TRUNK_PLACEMENTS + ("foot",),
            above_msg="Even out your steps: longer contact on the left",
            below_msg="Even out your steps: longer contact on the right",
        ),
        RuleSpec(
            "arm_cross",
            "arm crossing",
            "arm_cross_cm",
            "cm",
            1,
            ARM_PLACEMENTS,
            above_msg="Relax your arms: swing them forward and back, not across",
        ),
    )
}
BASELINE_METRIC = {
    "bounce": "vo_cm",
    "vertical_ratio": "vertical_ratio_pct",
    "cadence": "cadence_spm",
    "contact_time": "gct_ms",
    "lean": "lean_deg",
    "arm_cross": "arm_cross_cm",
}


@dataclass(frozen=True)
class Reading:
    """A rule's windowed value at one step: ``value`` in the metric's unit, ``x`` in the unit of
    the rule's reference (the value, its difference from baseline, or its change in percent)."""

    value: float
    x: float
    ref: float | None  # the baseline value used (speed-matched for cadence), None for absolute


class RuleWindow:
    """The last usable values of one rule."""

    def __init__(self, name: str, cfg: RuleConfig, speed_mps: float | None):
        self.spec = SPECS[name]
        self.cfg = cfg
        self.speed_mps = speed_mps
        self.ignore = set(cfg.ignore_flags)
        if name == "lean" and cfg.reference == "absolute":
            self.ignore.add(Q_UNCALIBRATED)  # an absolute lean needs a standing calibration (a zero)
        self.buf: deque[tuple[float, object, float | None]] = deque(maxlen=cfg.window_steps)
        self.seen = 0  # usable values ever pushed (measurability witness)

    def reset(self) -> None:
        self.buf.clear()

    def push(self, step: StepMetrics) -> bool:
        """Add the step's value if usable; True when it was."""
        if any(q in self.ignore for q in step.quality):
            return False
        name = self.spec.name
        if name == "heel_strike":
            if step.strike not in STRIKES:
                return False
            v: object = 1.0 if step.strike == "rearfoot" else 0.0
        elif name == "asymmetry":
            if step.side not in ("left", "right") or step.gct_ms is None or not math.isfinite(step.gct_ms):
                return False
            v = (step.side, float(step.gct_ms))
        else:
            raw = getattr(step, self.spec.metric)
            if raw is None or not math.isfinite(raw):
                return False
            v = float(raw)
        speed = None
        if name == "cadence":
            speed = self.speed_mps if self.speed_mps is not None else step_speed_mps(step)
        self.buf.append((step.ic_s, v, speed))
        self.seen += 1
        return True

    def _fresh(self, now_s: float) -> list[tuple[float, object, float | None]]:
        return [e for e in self.buf if now_s - e[0] <= WINDOW_MAX_AGE_S]

    def reading(self, now_s: float, baseline: Baseline) -> Reading | None:
        entries = self._fresh(now_s)
        cfg = self.cfg
        if len(entries) < cfg.min_steps:
            return None
        name = self.spec.name
        if name == "heel_strike":
            value = 100.0 * float(np.mean([v for _, v, _ in entries]))
        elif name == "asymmetry":
            left = [g for _, (s, g), _ in entries if s == "left"]  # type: ignore[misc]
            right = [g for _, (s, g), _ in entries if s == "right"]  # type: ignore[misc]
            half = max(1, cfg.min_steps // 2)
            if len(left) < half or len(right) < half:
                return None
            lm, rm = float(np.median(left)), float(np.median(right))
            value = 100.0 * lm / (lm + rm)
        else:
            value = float(np.median([v for _, v, _ in entries]))
        if cfg.reference == "absolute":
            return Reading(value, value, None)
        speed = None
        if name == "cadence":
            sp = [s for _, _, s in entries if s is not None]
            speed = float(np.median(sp)) if sp else None
        ref = baseline.value(BASELINE_METRIC[name], speed)
        if ref is None:
            return None
        if cfg.reference == "baseline":
            return Reading(value, value - ref, ref)
        return Reading(value, 100.0 * (value / ref - 1.0), ref)

    # --- words ---------------------------------------------------------------------------------
    def to_value(self, x: float, ref: float | None) -> float:
        """A threshold in the reference unit, back in the metric's unit."""
        if self.cfg.reference == "absolute" or ref is None:
            return x
        if self.cfg.reference == "baseline":
            return ref + x
        return ref * (1.0 + x / 100.0)

    def target_text(self, ref: float | None) -> str:
        """The on-target band (the exit band), in the metric's unit, e.g. '<= 9.3 cm'."""
        cfg, spec = self.cfg, self.spec
        d = spec.decimals
        lo = None if math.isinf(cfg.below_exit) else self.to_value(cfg.below_exit, ref)
        hi = None if math.isinf(cfg.above_exit) else self.to_value(cfg.above_exit, ref)
        if lo is not None and hi is not None:
            text = f"{lo:.{d}f} to {hi:.{d}f} {spec.unit}"
        elif hi is not None:
            text = f"<= {hi:.{d}f} {spec.unit}"
        elif lo is not None:
            text = f">= {lo:.{d}f} {spec.unit}"
        else:
            text = "any"
        if ref is not None and cfg.reference != "absolute":
            text += f" (baseline {ref:.{d}f} {spec.unit})"
        return text


@dataclass
class Episode:
    """One stretch off target."""

    side: str  # "above" | "below"
    start_s: float
    active: bool = False  # off for min_duration_s: alerts may be raised
    active_s: float | None = None
    alerted: bool = False  # some alert (cue or silent) recorded
    voiced: bool = False  # at least one cue voiced
    first_cue_s: float | None = None
    last_cue_s: float | None = None
    next_due_s: float | None = None  # next cue opportunity while active
    uncorrected_noted: bool = False  # fade: the cue went uncorrected for correct_within_s
    values: list[float] = field(default_factory=list)


class RuleTracker:
    """Hysteresis and minimum duration on a rule's readings."""

    def __init__(self, cfg: RuleConfig):
        self.cfg = cfg
        self.episode: Episode | None = None
        self.last: Reading | None = None

    def reset(self) -> Episode | None:
        """Forget the current episode (a pause); returns it, unfinished."""
        ep, self.episode, self.last = self.episode, None, None
        return ep

    def off_band(self, x: float) -> str | None:
        if x > self.cfg.above:
            return "above"
        if x < self.cfg.below:
            return "below"
        return None

    def in_exit_band(self, x: float) -> bool:
        return self.cfg.below_exit <= x <= self.cfg.above_exit

    def update(self, now_s: float, reading: Reading | None) -> tuple[str | None, Episode | None]:
        """Returns (event, episode): event is "off" (just left the band), "active" (just passed
        the minimum duration), "clear" (back inside the exit band) or None."""
        self.last = reading
        if reading is None:
            return None, self.episode
        x = reading.x
        ep = self.episode
        if ep is None:
            side = self.off_band(x)
            if side is None:
                return None, None
            self.episode = Episode(side=side, start_s=now_s, values=[reading.value])
            if self.cfg.min_duration_s <= 0:
                return self._activate(now_s)
            return "off", self.episode
        if self.in_exit_band(x):
            self.episode = None
            return "clear", ep
        side = self.off_band(x)
        if side is not None and side != ep.side:  # crossed to the other side of the band
            self.episode = Episode(side=side, start_s=now_s, values=[reading.value])
            return "off", self.episode
        ep.values.append(reading.value)
        if not ep.active and now_s - ep.start_s >= self.cfg.min_duration_s:
            return self._activate(now_s)
        return None, ep

    def _activate(self, now_s: float) -> tuple[str, Episode]:
        ep = self.episode
        assert ep is not None
        ep.active = True
        ep.active_s = now_s
        ep.next_due_s = now_s
        return "active", ep

    def on_target(self) -> bool | None:
        """Is the latest reading inside the enter band? None when there is no reading."""
        if self.last is None:
            return None
        return self.off_band(self.last.x) is None


def measurable(name: str, placement: str | None) -> bool:
    return placement is None or placement in SPECS[name].placements
