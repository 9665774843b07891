"""Running speed from a foot pod (RSC) for the vertical ratio of steps that have none.

A trunk sensor measures vertical oscillation but not speed; a foot pod streaming Running Speed
and Cadence does. When no speed was configured for the run, the newest pod speed (if it is
fresh) sets the vertical ratio of each trunk step: VO over step length (speed x step time).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from gait.core.records import StepMetrics
from gait.metrics.vertical import vertical_ratio_pct

FRESH_NS = 5_000_000_000  # a pod speed older than this (receive time) is not used


class PodSpeed:
    """The newest pod reading (anything with ``rx_time_ns`` and ``speed_mps``)."""

    def __init__(self, fresh_ns: int = FRESH_NS):
        self.fresh_ns = fresh_ns
        self._newest: Any = None

    def update(self, reading: Any) -> None:
        if reading.speed_mps is None:
            return
        if self._newest is None or reading.rx_time_ns > self._newest.rx_time_ns:
            self._newest = reading

    def speed_mps(self, now_ns: int) -> float | None:
        r = self._newest
        if r is None or r.speed_mps <= 0 or now_ns - r.rx_time_ns > self.fresh_ns:
            return None
        return float(r.speed_mps)

    def fill_vertical_ratio(self, step: StepMetrics, now_ns: int) -> StepMetrics:
        if step.vertical_ratio_pct is not None or step.vo_cm is None or not step.cadence_spm:
            return step
        speed = self.speed_mps(now_ns)
        if speed is None:
            return step
        return replace(step, vertical_ratio_pct=vertical_ratio_pct(step.vo_cm, speed, 60.0 / step.cadence_spm))
