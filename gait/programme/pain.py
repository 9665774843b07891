"""Pain check-ins and the traffic light (spec F2). Pure: no storage, no clock.

A session is classed from its check-ins (first match wins):

- ``red``: a value during or after the run above the stop threshold (default 5); new numbness or
  weakness in a leg; a next-morning value above baseline + settle tolerance (default 1: "did not
  settle"); in the sciatica profile, in-run leg pain >= pre-run + the leg increment (default 2), or
  leg symptoms reaching further down during the run and still further the next morning.
- ``unknown``: no next-morning check-in (or nothing to compare it with). Not green, not red.
- ``amber``: a value during or after of 3 up to the threshold; a next-morning value above the
  baseline but within the tolerance; leg symptoms reached further during the run but were back the
  next morning.
- ``green`` otherwise (every value <= 2 and the next morning at or below the baseline).

Baseline = the median of the last three morning check-ins up to the session's day (the morning
check-in is taken before the session); without any, the pre-run values (a design choice: the
runner's own reference, never a population norm); without those, the class is ``unknown``.
A clinician's lower stop threshold also lowers the red edge (the amber band is 3 up to it).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from gait.programme import phrases
from gait.programme.config import DEFAULT_CONFIG, ProgrammeConfig
from gait.programme.errors import ProgrammeError

PRE, DURING, AFTER, MORNING = "pre", "during", "after", "morning"
MOMENTS = (PRE, DURING, AFTER, MORNING)
GREEN, AMBER, RED, UNKNOWN = "green", "amber", "red", "unknown"
ZONES = (GREEN, AMBER, RED, UNKNOWN)
SCIATICA, GENERAL = "sciatica", "general"
PROFILES = (SCIATICA, GENERAL)

AMBER_FROM_NRS = 3  # a value during or after of 3 or more is amber (P2 zones 0-2 / 3-5 / >5)
PRE_RUN_GATE_NRS = 6  # pre-run back or leg pain >= 6: no running today (walk or rest)
TREND_RISE_NRS = 1.0  # weekly mean of morning pain rising by this much = TREND_UP
NOT_IMPROVED_DAYS = 42  # six weeks of logged check-ins without improvement = REVIEW
GREEN_MAX_NRS = 2
MAX_NRS, MAX_EXTENT = 10, 4
EXTENT_WORDS = ("none", "buttock", "thigh", "below the knee", "foot")


class CheckInError(ProgrammeError):
    """A check-in value out of its range (NRS 0-10, leg extent 0-4) or an unknown moment."""


@dataclass(frozen=True)
class Pain:
    """Back and leg pain (NRS 0-10) and how far leg symptoms reach (0 none ... 4 foot, or None)."""

    back_nrs: int
    leg_nrs: int
    leg_extent: int | None = None
    other_nrs: int | None = None  # calf or Achilles pain (the worse), asked while a softer-landing focus is active

    def __post_init__(self) -> None:
        for name, value, top in (("back_nrs", self.back_nrs, MAX_NRS), ("leg_nrs", self.leg_nrs, MAX_NRS),
                                 ("leg_extent", self.leg_extent, MAX_EXTENT), ("other_nrs", self.other_nrs, MAX_NRS)):
            if value is None and name in ("leg_extent", "other_nrs"):
                continue
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
                raise CheckInError(f"{name} must be a whole number 0-{top}, got {value!r}")

    @property
    def worst_nrs(self) -> int:
        return max(self.back_nrs, self.leg_nrs, self.other_nrs or 0)


@dataclass(frozen=True)
class CheckIn:
    day: dt.date
    when: str  # pre | during | after | morning
    pain: Pain
    new_numbness: bool = False
    new_weakness: bool = False
    seq: int = 0
    calf_nrs: int | None = None  # asked while a softer-landing focus is active (its load moves to calf and Achilles)
    achilles_nrs: int | None = None

    def __post_init__(self) -> None:
        if self.when not in MOMENTS:
            raise CheckInError(f"when must be one of {', '.join(MOMENTS)}, got {self.when!r}")


@dataclass(frozen=True)
class SessionPain:
    """Everything the class of one session depends on."""

    pre: Pain | None = None
    during: tuple[Pain, ...] = ()
    after: tuple[Pain, ...] = ()
    morning: Pain | None = None  # the next morning
    baseline: Pain | None = None  # median of the last three mornings (see module doc)
    new_numbness_or_weakness: bool = False


def _extent_rose(sp: SessionPain) -> bool:
    if sp.pre is None or sp.pre.leg_extent is None:
        return False
    return any(p.leg_extent is not None and p.leg_extent > sp.pre.leg_extent for p in sp.during)


def classify(sp: SessionPain, profile: str, config: ProgrammeConfig = DEFAULT_CONFIG) -> str:
    """The session's zone: ``green``, ``amber``, ``red`` or ``unknown`` (see the module doc)."""
    if profile not in PROFILES:
        raise ProgrammeError(f"profile must be one of {', '.join(PROFILES)}, got {profile!r}")
    run_values = [v for p in (*sp.during, *sp.after) for v in (p.back_nrs, p.leg_nrs, p.other_nrs) if v is not None]
    threshold = config.stop_threshold_nrs
    if any(v > threshold for v in run_values) or sp.new_numbness_or_weakness:
        return RED
    sciatica = profile == SCIATICA
    if sciatica and sp.pre is not None and any(p.leg_nrs >= sp.pre.leg_nrs + config.leg_increment_nrs
                                               for p in sp.during):
        return RED
    extent_rose = _extent_rose(sp)
    if sciatica and extent_rose and sp.morning is not None and sp.pre is not None and sp.pre.leg_extent is not None:
        if sp.morning.leg_extent is not None and sp.morning.leg_extent > sp.pre.leg_extent:
            return RED
    reference = sp.baseline or sp.pre
    if sp.morning is not None and reference is not None:
        tol = config.settle_tolerance_nrs
        if sp.morning.back_nrs > reference.back_nrs + tol or sp.morning.leg_nrs > reference.leg_nrs + tol:
            return RED
        if sp.morning.other_nrs is not None and sp.morning.other_nrs > (reference.other_nrs or 0) + tol:
            return RED  # calf or Achilles pain that did not settle
    if sp.morning is None or reference is None:
        return UNKNOWN
    if sciatica and extent_rose and sp.morning.leg_extent is None:
        return UNKNOWN  # spread during the run, and no word on the next morning's extent
    if any(v >= AMBER_FROM_NRS for v in run_values) or extent_rose:
        return AMBER
    if sp.morning.back_nrs > reference.back_nrs or sp.morning.leg_nrs > reference.leg_nrs:
        return AMBER
    if sp.morning.other_nrs is not None and sp.morning.other_nrs > (reference.other_nrs or 0):
        return AMBER
    return GREEN


# --- the in-run stop rule and the pre-run gate ---------------------------------------------------


@dataclass(frozen=True)
class StopDecision:
    stop: bool
    reasons: tuple[str, ...] = ()  # "above_threshold", "leg_rise", "spread"
    phrase: str | None = None


def stop_rule(report: Pain, pre: Pain | None, profile: str, config: ProgrammeConfig = DEFAULT_CONFIG) -> StopDecision:
    """Should the running stop, given an in-run report and the pre-run values?

    Stop if back or leg pain is above the stop threshold, or (sciatica profile) leg pain is at least
    the leg increment above the pre-run value, or leg symptoms reach further down than before the
    run. Without pre-run values only the threshold applies. After a stop the session is walk-only:
    the caller says ``phrase`` once and then only walk and safety phrases."""
    reasons = []
    if report.worst_nrs > config.stop_threshold_nrs:
        reasons.append("above_threshold")
    if profile == SCIATICA and pre is not None:
        if report.leg_nrs >= pre.leg_nrs + config.leg_increment_nrs:
            reasons.append("leg_rise")
        if report.leg_extent is not None and pre.leg_extent is not None and report.leg_extent > pre.leg_extent:
            reasons.append("spread")
    stop = bool(reasons)
    return StopDecision(stop, tuple(reasons), phrases.STOP_PHRASE if stop else None)


def pre_run_gate(pre: Pain | None) -> bool:
    """True when the pre-run score (back or leg) is 6 or more: today becomes walk or rest."""
    return pre is not None and pre.worst_nrs >= PRE_RUN_GATE_NRS


# --- mornings: baseline and weekly trend -------------------------------------------------------


def mornings_by_day(checkins: Iterable[CheckIn]) -> dict[dt.date, Pain]:
    """The morning check-in of each day (the last one entered that day)."""
    out: dict[dt.date, Pain] = {}
    for c in sorted(checkins, key=lambda c: (c.day, c.seq)):
        if c.when == MORNING:
            out[c.day] = c.pain
    return out


def baseline(mornings: dict[dt.date, Pain], day: dt.date, n: int = 3) -> Pain | None:
    """Median (per measure) of the last ``n`` morning check-ins on or before ``day``."""
    days = sorted(d for d in mornings if d <= day)[-n:]
    if not days:
        return None
    vals = [mornings[d] for d in days]
    extents = [p.leg_extent for p in vals if p.leg_extent is not None]
    return Pain(
        int(round(statistics.median(p.back_nrs for p in vals))),
        int(round(statistics.median(p.leg_nrs for p in vals))),
        int(round(statistics.median(extents))) if extents else None,
    )


@dataclass(frozen=True)
class Trend:
    day: dt.date
    last_back: float | None = None
    last_leg: float | None = None
    prev_back: float | None = None
    prev_leg: float | None = None
    rise_nrs: float | None = None  # the larger rise of the two measures
    up: bool = False  # TREND_UP


def _window(mornings: dict[dt.date, Pain], first: dt.date, last: dt.date) -> list[Pain]:
    return [p for d, p in mornings.items() if first <= d <= last]


def weekly_trend(mornings: dict[dt.date, Pain], day: dt.date, since: dt.date | None = None) -> Trend:
    """Mean of the morning check-ins of the 7 days ending ``day`` minus that of the 7 days before
    (per measure; the larger rise counts). ``up`` (TREND_UP) when it rose by 1.0 or more. Only
    mornings on or after ``since`` count (a clinician review starts the count afresh)."""
    if since is not None:
        mornings = {d: p for d, p in mornings.items() if d >= since}
    last = _window(mornings, day - dt.timedelta(days=6), day)
    prev = _window(mornings, day - dt.timedelta(days=13), day - dt.timedelta(days=7))
    if not last or not prev:
        return Trend(day)
    lb, ll = statistics.fmean(p.back_nrs for p in last), statistics.fmean(p.leg_nrs for p in last)
    pb, pl = statistics.fmean(p.back_nrs for p in prev), statistics.fmean(p.leg_nrs for p in prev)
    rise = max(lb - pb, ll - pl)
    return Trend(day, lb, ll, pb, pl, rise, rise >= TREND_RISE_NRS - 1e-9)


def two_week_trend_up(mornings: dict[dt.date, Pain], day: dt.date, since: dt.date | None = None) -> bool:
    """TREND_UP this week and the week before: REVIEW and hold."""
    return weekly_trend(mornings, day, since).up and weekly_trend(mornings, day - dt.timedelta(days=7), since).up


def not_improved(mornings: dict[dt.date, Pain], day: dt.date, since: dt.date | None = None) -> bool:
    """Six weeks (42 days) after the first morning check-in (since ``since``), the last week's mean is
    not below the first week's, for back or leg, and above the green band (a design choice: a runner
    without pain is not sent to review)."""
    days = sorted(d for d in mornings if d <= day and (since is None or d >= since))
    if not days or (day - days[0]).days < NOT_IMPROVED_DAYS:
        return False
    first = _window({d: mornings[d] for d in days}, days[0], days[0] + dt.timedelta(days=6))
    last = _window({d: mornings[d] for d in days}, day - dt.timedelta(days=6), day)
    if not last:
        return False
    for measure in ("back_nrs", "leg_nrs"):
        f = statistics.fmean(getattr(p, measure) for p in first)
        m = statistics.fmean(getattr(p, measure) for p in last)
        if m >= f and m > GREEN_MAX_NRS:
            return True
    return False


@dataclass(frozen=True)
class DayCheckIns:
    """The check-ins of one day, grouped (for the session on that day)."""

    pre: Pain | None = None
    during: tuple[Pain, ...] = field(default_factory=tuple)
    after: tuple[Pain, ...] = field(default_factory=tuple)
    numbness_or_weakness: bool = False


def day_checkins(checkins: Sequence[CheckIn], day: dt.date) -> DayCheckIns:
    today = sorted((c for c in checkins if c.day == day), key=lambda c: c.seq)
    pre = [c.pain for c in today if c.when == PRE]
    return DayCheckIns(
        pre=pre[-1] if pre else None,
        during=tuple(c.pain for c in today if c.when == DURING),
        after=tuple(c.pain for c in today if c.when == AFTER),
        numbness_or_weakness=any(c.new_numbness or c.new_weakness for c in today if c.when != MORNING),
    )
