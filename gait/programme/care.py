"""Care around the run: warm-up, heat and ice (F6), the yoga log (F7) and the minimal-shoe /
barefoot planner (F8). Pure: no storage, no clock (the day and the start time are given).

    timer = start_timer(HEAT, day, started_at_s, minutes=15, skin_numb=False, state=status.state)
    weeks = yoga_weeks(entries, day)                       # adherence against the studied dose
    reasons = shoe_refusals(status, history, day, focus_active=False)   # () = may start
    plan = shoe_plan(start, logs, status, history, day)    # week, phase, allowance, state
    check_minimal_run(plan, logs, day, minutes)            # raises CareRefused(reason)

Evidence (spec 1.3-1.5): the warm-up walk is clinical practice (R1); heat has moderate evidence of a
small, short-term effect in acute/subacute back pain (H1); cold has insufficient evidence and
chronic cooling may blunt strength gains (H1, H3); yoga helps chronic non-specific low back pain
about as much as other exercise, not studied in radiating leg pain (Y1-Y4); the minimal-shoe
schedule is a manufacturer's (B3), and a gradual transition still showed bone-marrow oedema in
10 of 19 runners (B1): weak. Every refusal carries a named reason (`CareRefused.reason`).

Design choices (no source gives a value): heat and ice are also refused in the urgent state (a
red flag is open); a heat timer below 10 minutes is refused (the advice's range is 10-20); the
transition needs stage 7 reached at least 14 days before, with every session since green or
amber; a week without minimal-shoe running restarts at the week-3 level (10 % of the week's
running) rather than building on nothing; foot pain above 2 on a minimal-shoe day sets the plan
back one week without waiting for the next morning; the weekly running a share is taken of is
the running logged in the 7 days before the planner's week; the caps of weeks 5-12 (+10 % a week,
at most half of the running) stay in force after week 12.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gait.programme import phrases, walkrun
from gait.programme.config import DEFAULT_CONFIG, ProgrammeConfig
from gait.programme.errors import ProgrammeError, ProgrammeLocked
from gait.programme.pain import MAX_NRS, mornings_by_day, weekly_trend
from gait.programme.plan import READY, RUN_KINDS, History, OffRun, ProgrammeStatus, offrun_zone
from gait.programme.redflags import EMERGENCY, URGENT

WARM_UP_WALK_MIN = walkrun.WARM_UP_WALK_S / 60.0


class CareRefused(ProgrammeError):
    """A heat or ice timer, a yoga entry, or a minimal-shoe step refused; ``reason`` names why
    (skin_numb, urgent, too_long, too_short, before_stage_7, consecutive_days, ...)."""

    def __init__(self, reason: str, message: str):
        self.reason = reason
        super().__init__(f"{message} (reason: {reason})")


def _check_day(day: Any) -> None:
    if not isinstance(day, dt.date):
        raise ProgrammeError(f"expected a date, got {day!r}")


# --- F6: warm-up, heat and ice -------------------------------------------------------------------

HEAT, ICE = "heat", "ice"
TIMER_KINDS = (HEAT, ICE)
HEAT_DEFAULT_MIN = 15.0
HEAT_LOW_MIN = 10.0  # common advice: 10-20 min
ICE_DEFAULT_MIN = 10.0
ICE_LOW_MIN = 1.0


def warm_up() -> dict[str, Any]:
    """The warm-up every session with running starts with (always on; the plan's warm_up_walk_s)."""
    return {"walk_min": WARM_UP_WALK_MIN, "text": phrases.WARM_UP_WALK, "evidence": phrases.WARM_UP_EVIDENCE,
            "evidence_strength": "weak"}


def timer_bounds_min(kind: str, config: ProgrammeConfig = DEFAULT_CONFIG) -> tuple[float, float, float]:
    """(lowest, default, highest) minutes of a heat or ice timer; the highest is the config's
    ``heat_ice_max_min`` (at most 20, a clinician may lower it)."""
    high = float(config.heat_ice_max_min)
    if kind == HEAT:
        low = min(HEAT_LOW_MIN, high)
        return low, min(HEAT_DEFAULT_MIN, high), high
    if kind == ICE:
        return min(ICE_LOW_MIN, high), min(ICE_DEFAULT_MIN, high), high
    raise ProgrammeError(f"timer kind must be one of {', '.join(TIMER_KINDS)}, got {kind!r}")


@dataclass(frozen=True)
class Timer:
    """A heat or ice timer: started at ``started_at_s`` (unix s), ends by itself at ``ends_at_s``."""

    day: dt.date
    kind: str
    planned_min: float
    started_at_s: float
    seq: int = 0

    @property
    def ends_at_s(self) -> float:
        return self.started_at_s + self.planned_min * 60.0

    def remaining_min(self, now_s: float) -> float:
        return max(0.0, (self.ends_at_s - now_s) / 60.0)

    @property
    def evidence(self) -> str:
        return evidence(self.kind)

    def to_dict(self, now_s: float | None = None) -> dict[str, Any]:
        d: dict[str, Any] = {"date": self.day.isoformat(), "kind": self.kind, "planned_min": self.planned_min,
                             "started_at_s": self.started_at_s, "ends_at_s": self.ends_at_s,
                             "evidence": self.evidence}
        if self.kind == ICE:
            d["reminder"] = phrases.ICE_CLOTH
        if now_s is not None:
            d["remaining_min"] = round(self.remaining_min(now_s), 2)
            d["running"] = self.remaining_min(now_s) > 0
        return d


def evidence(kind: str) -> str:
    """The one-sentence evidence note shown with a heat or ice timer."""
    return {HEAT: phrases.HEAT_EVIDENCE, ICE: phrases.ICE_EVIDENCE}[kind]


def start_timer(kind: str, day: dt.date, started_at_s: float, *, skin_numb: bool, state: str,
                minutes: float | None = None, config: ProgrammeConfig = DEFAULT_CONFIG) -> Timer:
    """A heat or ice timer, or a refusal: `ProgrammeLocked` in the emergency state, `CareRefused`
    with reason ``urgent`` (a red flag open), ``skin_numb`` (the skin there is numb or less
    sensitive: asked before every timer), ``too_long`` (above the maximum, 20 min at most) or
    ``too_short``. ``minutes`` None = the default (heat 15, ice 10)."""
    low, default, high = timer_bounds_min(kind, config)
    _check_day(day)
    if state == EMERGENCY:
        raise ProgrammeLocked(phrases.TIMER_LOCKED)
    if state == URGENT:
        raise CareRefused("urgent", phrases.TIMER_URGENT)
    if not isinstance(skin_numb, bool):
        raise ProgrammeError("answer whether the skin there is numb or less sensitive (yes or no)")
    if skin_numb:
        raise CareRefused("skin_numb", phrases.NUMB_SKIN_REFUSAL)
    value = default if minutes is None else float(minutes)
    if not value == value:  # NaN
        raise CareRefused("too_short", phrases.TIMER_TOO_SHORT.format(kind=kind.capitalize(), low=low, minutes=0.0))
    if value > high:
        raise CareRefused("too_long", phrases.TIMER_TOO_LONG.format(high=high, kind=kind, minutes=value))
    if value < low:
        raise CareRefused("too_short", phrases.TIMER_TOO_SHORT.format(kind=kind.capitalize(), low=low, minutes=value))
    return Timer(day, kind, value, float(started_at_s))


# --- F7: yoga / mobility log ----------------------------------------------------------------------

CLASS, HOME = "class", "home"
YOGA_SETTINGS = (CLASS, HOME)
YOGA_DOSE_WEEKS = 12  # Y1-Y3: 12 weekly classes plus home practice
YOGA_CLASSES_PER_WEEK = 1  # Y3: once a week was enough
YOGA_MAX_MIN = 300.0


@dataclass(frozen=True)
class YogaEntry:
    """One yoga or mobility session: minutes, a class or at home, any pain it provoked (0-10, or
    None when not given) and new numbness or weakness in a leg."""

    day: dt.date
    minutes: float
    setting: str = HOME
    pain_nrs: int | None = None
    new_leg_symptoms: bool = False
    seq: int = 0

    def __post_init__(self) -> None:
        _check_day(self.day)
        if self.setting not in YOGA_SETTINGS:
            raise ProgrammeError(f"setting must be one of {', '.join(YOGA_SETTINGS)}, got {self.setting!r}")
        if isinstance(self.minutes, bool) or not isinstance(self.minutes, int | float) \
                or not 0 < self.minutes <= YOGA_MAX_MIN:
            raise ProgrammeError(f"yoga minutes must be above 0 and at most {YOGA_MAX_MIN:g}, got {self.minutes!r}")
        if self.pain_nrs is not None and (isinstance(self.pain_nrs, bool) or not isinstance(self.pain_nrs, int)
                                          or not 0 <= self.pain_nrs <= MAX_NRS):
            raise ProgrammeError(f"pain must be a whole number 0-{MAX_NRS}, got {self.pain_nrs!r}")

    def offrun(self) -> OffRun | None:
        """The off-run check-in this entry gives the traffic light (None without pain or leg signs)."""
        if self.pain_nrs is None and not self.new_leg_symptoms:
            return None
        return OffRun(self.day, self.pain_nrs, self.new_leg_symptoms, "yoga", False, self.seq)


def yoga_is_red(entry: YogaEntry, config: ProgrammeConfig = DEFAULT_CONFIG) -> bool:
    o = entry.offrun()
    return o is not None and offrun_zone(o, config) == walkrun.RED


def adherence_words(classes: int, home_days: int) -> str:
    """"1 class + 2 home" (home = days of home practice)."""
    return f"{classes} class{'es' if classes != 1 else ''} + {home_days} home"


@dataclass(frozen=True)
class YogaWeek:
    week: int  # 1 = the week of the first entry
    first_day: dt.date
    classes: int
    class_min: float
    home_days: int  # days with home practice (not counting class days)
    home_min: float

    @property
    def dose_met(self) -> bool:
        """The studied dose: at least one class plus home practice on another day."""
        return self.classes >= YOGA_CLASSES_PER_WEEK and self.home_days >= 1

    @property
    def words(self) -> str:
        return adherence_words(self.classes, self.home_days)

    def to_dict(self) -> dict[str, Any]:
        return {"week": self.week, "first_day": self.first_day.isoformat(), "classes": self.classes,
                "class_min": self.class_min, "home_days": self.home_days, "home_min": self.home_min,
                "dose_met": self.dose_met, "adherence": self.words}


def yoga_weeks(entries: Sequence[YogaEntry], day: dt.date) -> list[YogaWeek]:
    """Weekly adherence from the first entry's day (week 1) to ``day``'s week."""
    upto = [e for e in entries if e.day <= day]
    if not upto:
        return []
    first = min(e.day for e in upto)
    n = (day - first).days // 7 + 1
    out = []
    for k in range(n):
        lo = first + dt.timedelta(days=7 * k)
        week = [e for e in upto if lo <= e.day < lo + dt.timedelta(days=7)]
        class_days = {e.day for e in week if e.setting == CLASS}
        home_days = {e.day for e in week if e.setting == HOME} - class_days
        out.append(YogaWeek(k + 1, lo, sum(1 for e in week if e.setting == CLASS),
                            sum(e.minutes for e in week if e.setting == CLASS), len(home_days),
                            sum(e.minutes for e in week if e.setting == HOME)))
    return out


def yoga_reminder(entries: Sequence[YogaEntry], day: dt.date) -> str | None:
    """A gentle note, at most once a week: only for a runner who opted in (logged before), with
    nothing logged in the last 7 days, on the weekday of the first entry. Never otherwise."""
    upto = [e for e in entries if e.day <= day]
    if not upto:
        return None
    first = min(e.day for e in upto)
    if (day - first).days % 7 != 0 or any(day - dt.timedelta(days=7) < e.day for e in upto):
        return None
    return phrases.YOGA_REMINDER


def yoga_status(entries: Sequence[YogaEntry], day: dt.date, config: ProgrammeConfig = DEFAULT_CONFIG) -> dict[str, Any]:
    weeks = yoga_weeks(entries, day)
    current = weeks[-1] if weeks else None
    messages = []
    if current is not None and current.week > YOGA_DOSE_WEEKS:
        messages.append(phrases.YOGA_DOSE_DONE)
    reminder = yoga_reminder(entries, day)
    if reminder:
        messages.append(reminder)
    reds = [e.day.isoformat() for e in entries if e.day <= day and yoga_is_red(e, config)]
    return {
        "dose": phrases.YOGA_DOSE, "dose_weeks": YOGA_DOSE_WEEKS, "evidence": phrases.YOGA_EVIDENCE,
        "evidence_strength": "moderate", "week": current.week if current else None,
        "this_week": current.to_dict() if current else None, "weeks": [w.to_dict() for w in weeks],
        "weeks_dose_met": sum(1 for w in weeks[:YOGA_DOSE_WEEKS] if w.dose_met), "red_days": reds,
        "messages": messages,
    }


# --- F8: minimal shoes and barefoot -----------------------------------------------------------------

REGULAR, MINIMAL, BAREFOOT = "regular", "minimal", "barefoot"
FOOTWEAR = (REGULAR, MINIMAL, BAREFOOT)
WALK, RUN, CHECK = "walk", "run", "check"
FOOT_ACTIVITIES = (WALK, RUN, CHECK)
SOFT, SMOOTH_HARD = "soft", "smooth-hard"
SURFACES = (SOFT, SMOOTH_HARD)
WALK_ONLY_WEEKS = 2  # weeks 1-2: walking only in them (B3; common advice: walk first)
ENTRY_WEEKS = (3, 4)  # weeks 3-4: at most ENTRY_SHARE_PCT of the week's running
ENTRY_SHARE_PCT = 10.0  # the bottom of B3's 10-20 %
MAX_SHARE_PCT = 50.0  # design choice, below B2's 60 % average end point
DOSE_WEEKS = 12
QUIET_DAYS = 14
FOOT_PAIN_SETBACK_NRS = 2  # foot pain above this on a minimal-shoe day: back one week
NOT_STARTED, WALKING, RUNNING, STOPPED, PAUSED = "not_started", "walking", "running", "stopped", "paused"


@dataclass(frozen=True)
class ShoeStart:
    """``gait programme shoes --start``: the surface the runner picked and the precaution answers."""

    day: dt.date
    surface: str = SOFT
    soles_numb: bool = False
    foot_bone_injury_12m: bool = False
    seq: int = 0


@dataclass(frozen=True)
class FootwearLog:
    """What was worn on a day: ``minutes`` of walking or running in ``footwear``, or a foot check
    (``check``, 0 minutes). ``foot_pain_nrs``: arch, top of foot or heel, 0-10; ``bone_spot``: pain
    on pressing a single spot of bone."""

    day: dt.date
    footwear: str
    activity: str
    minutes: float = 0.0
    foot_pain_nrs: int | None = None
    bone_spot: bool = False
    seq: int = 0

    def __post_init__(self) -> None:
        _check_day(self.day)
        if self.footwear not in FOOTWEAR:
            raise ProgrammeError(f"footwear must be one of {', '.join(FOOTWEAR)}, got {self.footwear!r}")
        if self.activity not in FOOT_ACTIVITIES:
            raise ProgrammeError(f"activity must be one of {', '.join(FOOT_ACTIVITIES)}, got {self.activity!r}")
        if isinstance(self.minutes, bool) or not isinstance(self.minutes, int | float) or not 0 <= self.minutes <= 600:
            raise ProgrammeError(f"minutes must be 0-600, got {self.minutes!r}")
        if self.foot_pain_nrs is not None and (isinstance(self.foot_pain_nrs, bool)
                                               or not isinstance(self.foot_pain_nrs, int)
                                               or not 0 <= self.foot_pain_nrs <= MAX_NRS):
            raise ProgrammeError(f"foot pain must be a whole number 0-{MAX_NRS}, got {self.foot_pain_nrs!r}")

    @property
    def minimal(self) -> bool:
        return self.footwear in (MINIMAL, BAREFOOT)

    def offrun(self) -> OffRun | None:
        """Pain on pressing a bone asks for a clinician review (the programme holds)."""
        if not self.bone_spot:
            return None
        return OffRun(self.day, None, False, "minimal_shoes", True, self.seq)


def minimal_allowance_min(week: int, weekly_running_min: float, prev_week_minimal_min: float,
                          config: ProgrammeConfig = DEFAULT_CONFIG) -> float:
    """Most running in minimal shoes in week ``week`` of the transition (1-based): 0 in weeks 1-2;
    10 % of the week's running in weeks 3-4; then the previous week's minimal running + at most
    ``minimal_shoe_weekly_increase_pct`` (10 %), or the week-3 level after a week without; never
    above half of the week's running."""
    if week <= WALK_ONLY_WEEKS or weekly_running_min <= 0:
        return 0.0
    cap = MAX_SHARE_PCT / 100.0 * weekly_running_min
    entry = ENTRY_SHARE_PCT / 100.0 * weekly_running_min
    if week in ENTRY_WEEKS or prev_week_minimal_min <= 0:
        return _down(min(entry, cap))
    grown = prev_week_minimal_min * (1.0 + config.minimal_shoe_weekly_increase_pct / 100.0)
    return _down(min(grown, cap))


def _down(minutes: float) -> float:
    """Thousandths of a minute, rounded down (an allowance never rounds up past its cap)."""
    return math.floor(minutes * 1000.0 + 1e-9) / 1000.0


def check_minimal_amount(allowance_min: float, used_min: float, minutes: float) -> None:
    """Refuse ``minutes`` more of minimal-shoe running when the week's total would pass the allowance."""
    if used_min + minutes > allowance_min + 1e-9:
        raise CareRefused("over_allowance", f"{phrases.SHOES_REFUSALS['over_allowance']} "
                                            f"({used_min + minutes:g} min asked in total, at most {allowance_min:g})")


def _red_or_unknown_days(status: ProgrammeStatus, history: History, lo: dt.date, hi: dt.date) -> tuple[bool, bool]:
    red = any(r.zone == walkrun.RED and lo <= r.day <= hi for r in status.sessions)
    red = red or any(lo <= o.day <= hi and offrun_zone(o, status.config) == walkrun.RED for o in history.offrun)
    unknown = any(r.zone == walkrun.UNKNOWN and lo <= r.day <= hi for r in status.sessions)
    return red, unknown


def _trend_up_in(history: History, lo: dt.date, hi: dt.date) -> bool:
    mornings = mornings_by_day(history.checkins)
    d = lo
    while d <= hi:
        if weekly_trend(mornings, d).up:
            return True
        d += dt.timedelta(days=1)
    return False


def pause_reasons(status: ProgrammeStatus, history: History, day: dt.date, *, focus_active: bool) -> tuple[str, ...]:
    """Why the transition may not start or go on today (F8 "never"): a red flag open, a hold or
    review, a red in the last 14 days, the morning trend rising, a new retraining focus."""
    reasons: list[str] = []
    if status.state in (EMERGENCY, URGENT):
        reasons.append("red_flag")
    elif status.state != READY:
        reasons.append("hold")
    red, _ = _red_or_unknown_days(status, history, day - dt.timedelta(days=QUIET_DAYS - 1), day)
    if red:
        reasons.append("red_in_14_days")
    if status.trend.up:
        reasons.append("trend_up")
    if focus_active:
        reasons.append("retraining_focus")
    return tuple(reasons)


def stage_7_since(status: ProgrammeStatus) -> dt.date | None:
    """The day the runner last reached stage 7 (or beyond), None when below it now."""
    if status.stage < walkrun.LAST_STAGE:
        return None
    since = None
    for change in status.stages:
        if change.stage >= walkrun.LAST_STAGE:
            since = since or change.day
        else:
            since = None
    return since


def shoe_refusals(status: ProgrammeStatus, history: History, day: dt.date, *, focus_active: bool,
                  soles_numb: bool = False, foot_bone_injury_12m: bool = False) -> tuple[str, ...]:
    """Every reason the transition may not start on ``day`` (empty: eligible). Eligible only at
    stage 7 or beyond, reached at least 14 days before, with every session of the last 14 days green
    or amber and no rising trend on any of those days, no pause reason, no numb soles and no bone
    stress injury in the foot in the last 12 months."""
    reasons = list(pause_reasons(status, history, day, focus_active=focus_active))
    since = stage_7_since(status)
    lo = day - dt.timedelta(days=QUIET_DAYS - 1)
    if since is None:
        reasons.append("before_stage_7")
    elif since > day - dt.timedelta(days=QUIET_DAYS):
        reasons.append("not_14_quiet_days")
    _, unknown = _red_or_unknown_days(status, history, lo, day)
    if unknown:
        reasons.append("unknown_in_14_days")
    if "trend_up" not in reasons and _trend_up_in(history, lo, day):
        reasons.append("trend_up")
    if soles_numb:
        reasons.append("soles_numb")
    if foot_bone_injury_12m:
        reasons.append("foot_bone_injury")
    return tuple(reasons)


def refusal_message(reasons: Sequence[str]) -> str:
    return " ".join(phrases.SHOES_REFUSALS[r] for r in reasons)


def start_transition(status: ProgrammeStatus, history: History, day: dt.date, *, focus_active: bool,
                     surface: str = SOFT, soles_numb: bool = False, foot_bone_injury_12m: bool = False,
                     current: ShoePlan | None = None) -> ShoeStart:
    """The transition's start record, or `CareRefused` with the first reason (all in the message)."""
    if surface not in SURFACES:
        raise ProgrammeError(f"surface must be one of {', '.join(SURFACES)}, got {surface!r}")
    if current is not None and current.state in (WALKING, RUNNING, PAUSED):
        raise CareRefused("already_started", phrases.SHOES_REFUSALS["already_started"])
    reasons = shoe_refusals(status, history, day, focus_active=focus_active, soles_numb=soles_numb,
                            foot_bone_injury_12m=foot_bone_injury_12m)
    if reasons:
        raise CareRefused(reasons[0], refusal_message(reasons))
    return ShoeStart(day, surface, soles_numb, foot_bone_injury_12m)


@dataclass(frozen=True)
class ShoeWeek:
    week: int
    first_day: dt.date
    weekly_running_min: float  # running logged in the 7 days before this week
    allowance_min: float
    minimal_run_min: float
    minimal_walk_min: float
    setback: bool  # foot pain above 2 in the week before: back one week

    @property
    def phase(self) -> str:
        return WALK if self.week <= WALK_ONLY_WEEKS or (self.setback and self.allowance_min == 0) else RUN

    def to_dict(self) -> dict[str, Any]:
        return {"week": self.week, "first_day": self.first_day.isoformat(), "phase": self.phase,
                "weekly_running_min": round(self.weekly_running_min, 2), "allowance_min": self.allowance_min,
                "minimal_run_min": self.minimal_run_min, "minimal_walk_min": self.minimal_walk_min,
                "setback": self.setback}


@dataclass(frozen=True)
class ShoePlan:
    day: dt.date
    state: str  # not_started | walking | running | paused | stopped
    start: ShoeStart | None = None
    weeks: tuple[ShoeWeek, ...] = ()
    reasons: tuple[str, ...] = ()  # why paused (or stopped)
    messages: tuple[str, ...] = ()

    @property
    def week(self) -> ShoeWeek | None:
        return self.weeks[-1] if self.weeks else None

    @property
    def remaining_min(self) -> float:
        w = self.week
        if w is None or self.state != RUNNING:
            return 0.0
        return round(max(0.0, w.allowance_min - w.minimal_run_min), 3)

    def to_dict(self) -> dict[str, Any]:
        w = self.week
        return {
            "state": self.state, "date": self.day.isoformat(),
            "started": self.start.day.isoformat() if self.start else None,
            "surface": self.start.surface if self.start else None,
            "week": w.week if w else None, "phase": w.phase if w else None,
            "allowance_min": w.allowance_min if w else 0.0, "used_min": w.minimal_run_min if w else 0.0,
            "remaining_min": self.remaining_min, "reasons": list(self.reasons), "messages": list(self.messages),
            "weeks": [x.to_dict() for x in self.weeks], "evidence": phrases.SHOES_EVIDENCE,
            "evidence_strength": "weak", "surface_note": phrases.SHOES_SURFACE_NOTE,
        }


def weekly_running_before(status: ProgrammeStatus, first_day: dt.date) -> float:
    """Running minutes of the completed run sessions in the 7 days before ``first_day``."""
    lo = first_day - dt.timedelta(days=7)
    return sum(r.running_min for r in status.sessions
               if r.completed and r.kind in RUN_KINDS and lo <= r.day < first_day)


def shoe_plan(starts: Sequence[ShoeStart], logs: Sequence[FootwearLog], status: ProgrammeStatus, history: History,
              day: dt.date, *, focus_active: bool = False) -> ShoePlan:
    """The transition on ``day``: its week, phase and this week's allowance (minutes of running in
    minimal shoes), from the last start and the footwear logs since. A bone-spot report after the
    start stops it (a new start, after a clinician review, begins again at week 1)."""
    start = max((s for s in starts if s.day <= day), key=lambda s: (s.day, s.seq), default=None)
    if start is None:
        return ShoePlan(day, NOT_STARTED, messages=(phrases.SHOES_EVIDENCE,))
    mine = sorted((g for g in logs if (g.day, g.seq) >= (start.day, start.seq) and g.day <= day),
                  key=lambda g: (g.day, g.seq))
    if any(g.bone_spot for g in mine):
        return ShoePlan(day, STOPPED, start, reasons=("stopped",), messages=(phrases.BONE_SPOT_MESSAGE,))
    n = (day - start.day).days // 7 + 1
    weeks: list[ShoeWeek] = []
    allowances: list[float] = []
    config = status.config
    for k in range(1, n + 1):
        lo = start.day + dt.timedelta(days=7 * (k - 1))
        hi = lo + dt.timedelta(days=7)
        in_week = [g for g in mine if lo <= g.day < hi and g.minimal]
        run_min = sum(g.minutes for g in in_week if g.activity == RUN)
        walk_min = sum(g.minutes for g in in_week if g.activity == WALK)
        weekly = weekly_running_before(status, lo)
        prev = weeks[-1].minimal_run_min if weeks else 0.0
        before_lo = lo - dt.timedelta(days=7)
        setback = any(before_lo <= g.day < lo and g.foot_pain_nrs is not None
                      and g.foot_pain_nrs > FOOT_PAIN_SETBACK_NRS for g in mine)
        if setback:
            allowance = allowances[-2] if len(allowances) >= 2 else 0.0
            allowance = min(allowance, MAX_SHARE_PCT / 100.0 * weekly)
        else:
            allowance = minimal_allowance_min(k, weekly, prev, config)
        allowances.append(allowance)
        weeks.append(ShoeWeek(k, lo, weekly, allowance, run_min, walk_min, setback))
    w = weeks[-1]
    messages: list[str] = []
    reasons = pause_reasons(status, history, day, focus_active=focus_active)
    if w.setback:
        messages.append(phrases.SHOES_SETBACK)
    if reasons:
        state = PAUSED
        messages.append(refusal_message(reasons))
    elif w.phase == WALK:
        state = WALKING
        messages.append(phrases.SHOES_WALK_WEEK.format(week=w.week))
    else:
        state = RUNNING
        messages.append(phrases.SHOES_RUN_WEEK.format(week=w.week, allowance=w.allowance_min, used=w.minimal_run_min))
    return ShoePlan(day, state, start, tuple(weeks), reasons, tuple(messages))


def check_minimal_run(plan: ShoePlan, logs: Sequence[FootwearLog], day: dt.date, minutes: float) -> None:
    """Refuse a minimal-shoe (or barefoot) run of ``minutes`` on ``day``: not started, stopped,
    paused (with the pause's reason), in the walking weeks, on the day after or before another
    minimal-shoe run day, or above the week's allowance."""
    if plan.state == NOT_STARTED:
        raise CareRefused("not_started", phrases.SHOES_REFUSALS["not_started"])
    if plan.state == STOPPED:
        raise CareRefused("stopped", phrases.BONE_SPOT_MESSAGE)
    if plan.state == PAUSED:
        raise CareRefused(plan.reasons[0], refusal_message(plan.reasons))
    if plan.state == WALKING:
        raise CareRefused("walking_weeks", phrases.SHOES_REFUSALS["walking_weeks"])
    run_days = {g.day for g in logs if g.minimal and g.activity == RUN and g.minutes > 0}
    if any(abs((day - d).days) == 1 for d in run_days):
        raise CareRefused("consecutive_days", phrases.SHOES_REFUSALS["consecutive_days"])
    w = plan.week
    assert w is not None
    check_minimal_amount(w.allowance_min, w.minimal_run_min, minutes)


def care_status(*, day: dt.date, status: ProgrammeStatus | None, history: History, timers: Sequence[Timer],
                yoga: Sequence[YogaEntry], shoe_starts: Sequence[ShoeStart], footwear: Sequence[FootwearLog],
                now_s: float | None = None, focus_active: bool = False) -> dict[str, Any]:
    """What the Programme page shows of F6-F8, under the keys ``warm_up``, ``timers`` (today's
    timers, with ``remaining_min`` when ``now_s`` is given, and whether they may start),
    ``yoga`` and ``shoes``."""
    config = status.config if status is not None else DEFAULT_CONFIG
    state = status.state if status is not None else READY
    timer_info = {}
    for kind in TIMER_KINDS:
        low, default, high = timer_bounds_min(kind, config)
        blocked = "emergency" if state == EMERGENCY else "urgent" if state == URGENT else None
        timer_info[kind] = {"low_min": low, "default_min": default, "max_min": high, "evidence": evidence(kind),
                            "evidence_strength": "moderate" if kind == HEAT else "weak",
                            "available": blocked is None, "refused_because": blocked,
                            "numb_skin_question": "Is the skin where you will put it numb or less sensitive?"}
    timer_info[ICE]["reminder"] = phrases.ICE_CLOTH
    today = [t.to_dict(now_s) for t in sorted(timers, key=lambda t: (t.day, t.seq)) if t.day == day]
    shoes = (shoe_plan(shoe_starts, footwear, status, history, day, focus_active=focus_active).to_dict()
             if status is not None else ShoePlan(day, NOT_STARTED).to_dict())
    shoes["footwear_by_day"] = {g.day.isoformat(): g.footwear for g in sorted(footwear, key=lambda g: (g.day, g.seq))
                                if g.day <= day and g.activity == RUN}
    return {"warm_up": warm_up(), "timers": {"today": today, **timer_info},
            "yoga": yoga_status(yoga, day, config), "shoes": shoes}
