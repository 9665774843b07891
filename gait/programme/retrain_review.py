"""Form and pain over weeks (spec F5): the focus metric against each session's pain class. Pure.

    view = association(points, changes)     # Association: shown, n, rho, caption, timeline, scatter

The view appears only with at least 6 sessions spanning at least 21 days (the days between the
first and the last session; design choice); fewer: "not enough data yet". It shows n and
Spearman's rho between the focus metric and the pain class (green 0, amber 1, red 2; sessions not
yet classed or unknown are left out of rho), marks each focus change, and always carries the
caption "an association in your own data, not proof of cause". It never turns the association
into advice.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from scipy.stats import spearmanr

from gait.programme import phrases
from gait.programme.pain import AMBER, GREEN, RED

MIN_SESSIONS = 6
MIN_SPAN_DAYS = 21
ZONE_RANK = {GREEN: 0, AMBER: 1, RED: 2}


@dataclass(frozen=True)
class SessionPoint:
    """One session: the focus metric's run mean and probe value (either may be missing), the
    running minutes and the class."""

    day: dt.date
    metric: str
    run_value: float | None
    probe_value: float | None
    running_min: float
    zone: str | None

    @property
    def value(self) -> float | None:
        return self.run_value if self.run_value is not None else self.probe_value

    def to_dict(self) -> dict[str, Any]:
        return {"date": self.day.isoformat(), "metric": self.metric, "run_value": self.run_value,
                "probe_value": self.probe_value, "running_min": self.running_min, "zone": self.zone}


@dataclass(frozen=True)
class FocusChange:
    day: dt.date
    metric: str


@dataclass(frozen=True)
class Association:
    shown: bool
    n: int
    rho: float | None
    span_days: int
    caption: str
    message: str
    timeline: tuple[SessionPoint, ...]
    scatter: tuple[tuple[float, int], ...]  # (metric value, pain rank)
    changes: tuple[FocusChange, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"shown": self.shown, "n": self.n, "rho": self.rho, "span_days": self.span_days,
                "caption": self.caption, "message": self.message,
                "timeline": [p.to_dict() for p in self.timeline],
                "scatter": [{"value": v, "pain_rank": r} for v, r in self.scatter],
                "focus_changes": [{"date": c.day.isoformat(), "metric": c.metric} for c in self.changes],
                "pain_ranks": dict(ZONE_RANK)}


def association(points: Sequence[SessionPoint], changes: Sequence[FocusChange] = ()) -> Association:
    pts = tuple(sorted((p for p in points if p.value is not None), key=lambda p: p.day))
    span = (pts[-1].day - pts[0].day).days if pts else 0
    shown = len(pts) >= MIN_SESSIONS and span >= MIN_SPAN_DAYS
    if not shown:
        return Association(False, len(pts), None, span, phrases.ASSOCIATION_CAPTION, phrases.ASSOCIATION_NOT_ENOUGH,
                           (), (), tuple(changes))
    scatter = tuple((float(p.value), ZONE_RANK[p.zone]) for p in pts if p.zone in ZONE_RANK and p.value is not None)
    rho: float | None = None
    if len(scatter) >= 3:
        r = spearmanr([v for v, _ in scatter], [z for _, z in scatter]).statistic
        rho = None if r is None or not math.isfinite(float(r)) else round(float(r), 3)
    return Association(True, len(pts), rho, span, phrases.ASSOCIATION_CAPTION, "", pts, scatter, tuple(changes))
