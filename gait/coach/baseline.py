"""The runner's personal baseline: what their form looks like before any cue.

Learnt from the first minutes of running (`BaselineLearner`, median of the usable steps), or from
a separate calibration run (`baseline_from_steps`), or given in the configuration. Cadence is
matched to speed: runners quicken their steps as they speed up, so "+5 % cadence" means +5 % over
the baseline cadence *at the current speed* (Heiderscheit et al. 2011 manipulated step rate at a
fixed speed). Speed is the configured constant speed, else estimated per step from vertical
oscillation and vertical ratio (VR = VO / step length, step length = speed x 60 / cadence), else
assumed constant.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np

from gait.core.records import StepMetrics

from .config import BAD_FLAGS, CoachConfig

MIN_SPEED_SPREAD_MPS = 0.4  # fit the cadence-speed slope from the baseline only when it spans this much
SLOPE_LIMITS = (0.0, 20.0)  # spm per m/s: a fitted slope is clamped to this physiological range


def step_speed_mps(step: StepMetrics) -> float | None:
    """Running speed implied by VO, vertical ratio and cadence (None when any is missing)."""
    vo, vr, cad = step.vo_cm, step.vertical_ratio_pct, step.cadence_spm
    if vo is None or vr is None or cad is None or not (vr > 0 and cad > 0):
        return None
    speed = vo / vr * cad / 60.0  # step length (m) = VO (cm) / VR (%) ; x steps per second
    return speed if 0.5 <= speed <= 12.0 and math.isfinite(speed) else None


@dataclass(frozen=True)
class Baseline:
    """Baseline values (None = unknown). ``cadence_slope`` is spm per m/s."""

    cadence_spm: float | None = None
    speed_mps: float | None = None
    vo_cm: float | None = None
    vertical_ratio_pct: float | None = None
    gct_ms: float | None = None
    lean_deg: float | None = None
    cadence_slope: float = 8.0
    arm_cross_cm: float | None = None

    def cadence_at(self, speed_mps: float | None) -> float | None:
        """Baseline cadence matched to ``speed_mps`` (unchanged when either speed is unknown)."""
        if self.cadence_spm is None:
            return None
        if speed_mps is None or self.speed_mps is None:
            return self.cadence_spm
        return self.cadence_spm + self.cadence_slope * (speed_mps - self.speed_mps)

    def value(self, metric: str, speed_mps: float | None = None) -> float | None:
        if metric == "cadence_spm":
            return self.cadence_at(speed_mps)
        return getattr(self, metric)

    def to_overrides(self) -> dict:
        """As ``[baseline]`` settings for a `CoachConfig` (for a calibration run)."""
        out = {
            k: getattr(self, k)
            for k in ("cadence_spm", "speed_mps", "vo_cm", "vertical_ratio_pct", "gct_ms", "lean_deg", "arm_cross_cm")
            if getattr(self, k) is not None
        }
        out["cadence_slope_spm_per_mps"] = self.cadence_slope
        return {"baseline": out}


METRICS = ("cadence_spm", "vo_cm", "vertical_ratio_pct", "gct_ms", "lean_deg", "arm_cross_cm")


class BaselineLearner:
    """Collects usable running steps until ``duration_s`` of running and ``min_steps`` are in."""

    def __init__(self, config: CoachConfig):
        b = config.baseline
        self.config = config
        self.given = Baseline(
            cadence_spm=b.cadence_spm,
            speed_mps=b.speed_mps if b.speed_mps is not None else config.speed_mps,
            vo_cm=b.vo_cm,
            vertical_ratio_pct=b.vertical_ratio_pct,
            gct_ms=b.gct_ms,
            lean_deg=b.lean_deg,
            cadence_slope=b.cadence_slope_spm_per_mps,
            arm_cross_cm=b.arm_cross_cm,
        )
        self.values: dict[str, list[float]] = {m: [] for m in METRICS}
        self.speeds: list[tuple[float, float]] = []  # (speed, cadence) pairs
        self.running_s = 0.0
        self.n_steps = 0
        self.done = self._all_given()  # a complete calibration: nothing to learn
        self.done_at_s: float | None = None
        self.result = self.given  # what is known so far (given values only, until learnt)

    def _all_given(self) -> bool:
        # the arm crossing (a wrist sensor's opt-in rule) is needed only when that rule is on
        need = METRICS if self.config.rules.arm_cross.enabled else tuple(m for m in METRICS if m != "arm_cross_cm")
        return all(getattr(self.given, m) is not None for m in need)

    def add(self, step: StepMetrics, dt_running_s: float, now_s: float) -> Baseline | None:
        """Feed one running step (``dt_running_s``: running time since the previous one).
        Returns the baseline on the step that completes it, else None."""
        if self.done:
            return None
        self.running_s += dt_running_s
        if not any(q in BAD_FLAGS for q in step.quality):
            self.n_steps += 1
            for m in METRICS:
                v = getattr(step, m)
                if v is not None and math.isfinite(v):
                    self.values[m].append(float(v))
            sp = self.config.speed_mps if self.config.speed_mps is not None else step_speed_mps(step)
            if sp is not None and step.cadence_spm is not None:
                self.speeds.append((sp, float(step.cadence_spm)))
        if self.running_s >= self.config.baseline.duration_s and self.n_steps >= self.config.baseline.min_steps:
            self.done = True
            self.done_at_s = now_s
            self.result = self._finish()
            return self.result
        return None

    def _finish(self) -> Baseline:
        learnt = _from_values(self.values, self.speeds, self.given.cadence_slope, self.config.baseline.min_steps // 2)
        out = {}
        for m in ("cadence_spm", "speed_mps", "vo_cm", "vertical_ratio_pct", "gct_ms", "lean_deg", "arm_cross_cm"):
            given = getattr(self.given, m)
            out[m] = given if given is not None else getattr(learnt, m)
        if self.given.cadence_spm is not None:  # a given cadence keeps its own speed and slope
            out["speed_mps"] = self.given.speed_mps
            return replace(learnt, **out, cadence_slope=self.given.cadence_slope)
        return replace(learnt, **out)


def _from_values(
    values: dict[str, list[float]], speeds: list[tuple[float, float]], slope: float, min_n: int
) -> Baseline:
    med = {m: (float(np.median(v)) if len(v) >= max(1, min_n) else None) for m, v in values.items()}
    speed = None
    if len(speeds) >= max(1, min_n):
        sp = np.array([s for s, _ in speeds])
        cad = np.array([c for _, c in speeds])
        speed = float(np.median(sp))
        lo, hi = np.percentile(sp, [10, 90])
        if hi - lo >= MIN_SPEED_SPREAD_MPS:
            fitted = float(np.polyfit(sp, cad, 1)[0])
            slope = float(np.clip(fitted, *SLOPE_LIMITS))
            # the baseline cadence is the fitted cadence at the median speed
            med["cadence_spm"] = float(np.median(cad - slope * (sp - speed)))
    return Baseline(
        cadence_spm=med["cadence_spm"],
        speed_mps=speed,
        vo_cm=med["vo_cm"],
        vertical_ratio_pct=med["vertical_ratio_pct"],
        gct_ms=med["gct_ms"],
        lean_deg=med["lean_deg"],
        cadence_slope=slope,
        arm_cross_cm=med["arm_cross_cm"],
    )


def baseline_from_steps(steps: Iterable[StepMetrics], config: CoachConfig | None = None) -> Baseline:
    """The baseline of a whole calibration run (usable running steps only).

    Use it as ``config.merged(baseline_from_steps(cal_steps).to_overrides())``."""
    config = config or CoachConfig()
    values: dict[str, list[float]] = {m: [] for m in METRICS}
    speeds: list[tuple[float, float]] = []
    for s in steps:
        if any(q in BAD_FLAGS for q in s.quality):
            continue
        if s.cadence_spm is not None and s.cadence_spm < config.min_running_cadence_spm:
            continue
        for m in METRICS:
            v = getattr(s, m)
            if v is not None and math.isfinite(v):
                values[m].append(float(v))
        sp = config.speed_mps if config.speed_mps is not None else step_speed_mps(s)
        if sp is not None and s.cadence_spm is not None:
            speeds.append((sp, float(s.cadence_spm)))
    return _from_values(values, speeds, config.baseline.cadence_slope_spm_per_mps, 10)
