"""The programme's state and today's plan from its history (F1 + F2 + F3). Pure: no storage, no
clock; the day is always given.

    status = evaluate(history, day)            # ProgrammeStatus
    status.state                               # ready | emergency | urgent | review | hold
    status.today, status.next_session          # Plan: kind rest|walk|walk-run|run, intervals
    start_session(status.today, "walk-run")    # raises ProgrammeLocked, RunNotAllowed, ...

The history is replayed day by day from the programme's start: a session is classed the morning
after (or two days after, as ``unknown``, when no morning check-in came), the stage moves by the
rules of `gait.programme.walkrun`, the weekly morning trend and the six-week course are checked
every day, and the red-flag lock follows `gait.programme.redflags`. A recorded clinician review
lifts a hold or a review (and starts the trend and red counts afresh); a red-flag lock needs the
review and then a screen with every answer "no".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gait.programme import phrases, walkrun
from gait.programme.config import ProgrammeConfig, apply_clinician_profile, load_config
from gait.programme.errors import ConsecutiveDayRun, ProgrammeLocked, ProgrammeNotStarted, RunNotAllowed, ScreenDue
from gait.programme.pain import (
    MORNING,
    PROFILES,
    SCIATICA,
    CheckIn,
    Pain,
    SessionPain,
    Trend,
    baseline,
    classify,
    day_checkins,
    mornings_by_day,
    not_improved,
    pre_run_gate,
    stop_rule,
    two_week_trend_up,
    weekly_trend,
)
from gait.programme.redflags import EMERGENCY, URGENT, Clearance, Lock, Screen, fold_lock, red_flag_summary

READY, REVIEW, HOLD = "ready", "review", "hold"
STATES = (READY, EMERGENCY, URGENT, REVIEW, HOLD)
REST, WALK, WALK_RUN, RUN = "rest", "walk", "walk-run", "run"
KINDS = (REST, WALK, WALK_RUN, RUN)
SESSION_KINDS = (WALK, WALK_RUN, RUN)
RUN_KINDS = (WALK_RUN, RUN)


@dataclass(frozen=True)
class Start:
    """``gait programme start``: the profile, the stage (0 = entry walks), a clinician's limits."""

    day: dt.date
    profile: str
    stage: int = walkrun.ENTRY_STAGE
    limits: Mapping[str, Any] = field(default_factory=dict)
    seq: int = 0


@dataclass(frozen=True)
class SessionLog:
    day: dt.date
    stage: int
    kind: str  # walk | walk-run | run
    completed: bool = True
    running_min: float = 0.0
    seq: int = 0


@dataclass(frozen=True)
class OffRun:
    """Pain reported away from a run (after yoga, a foot check of the minimal-shoe planner). It feeds
    the traffic light as an off-run check-in: classed with the session rules (`offrun_zone`), a red
    counts toward the two-reds hold and restarts the stage's streak, without a stage change (no run
    caused it: a design choice). ``review`` asks for a clinician review (programme on hold) with
    ``source``'s message; ``new_numbness_or_weakness`` (in a leg) also asks for the screen again."""

    day: dt.date
    worst_nrs: int | None
    new_numbness_or_weakness: bool = False
    source: str = "yoga"  # yoga | minimal_shoes
    review: bool = False
    seq: int = 0


def offrun_zone(o: OffRun, config: ProgrammeConfig) -> str | None:
    """``red`` when the off-run value is above the stop threshold or a leg got numb or weak (the
    session rule for a value after a run); else None (no event for the traffic light)."""
    after = () if o.worst_nrs is None else (Pain(o.worst_nrs, o.worst_nrs),)
    zone = classify(SessionPain(after=after, new_numbness_or_weakness=o.new_numbness_or_weakness), "general", config)
    return zone if zone == walkrun.RED else None


@dataclass(frozen=True)
class History:
    starts: tuple[Start, ...] = ()
    checkins: tuple[CheckIn, ...] = ()
    screens: tuple[Screen, ...] = ()
    clearances: tuple[Clearance, ...] = ()
    sessions: tuple[SessionLog, ...] = ()
    offrun: tuple[OffRun, ...] = ()

    def until(self, day: dt.date) -> History:
        return History(*(tuple(x for x in getattr(self, f) if x.day <= day)
                         for f in ("starts", "checkins", "screens", "clearances", "sessions", "offrun")))


@dataclass(frozen=True)
class Plan:
    """One day's session. ``intervals`` are [walk_s, run_s] pairs, without the warm-up and cool-down
    walks (``warm_up_walk_s`` before, ``cool_down_walk_s`` after, both 0 for rest)."""

    day: dt.date
    kind: str
    stage: int
    intervals: tuple[tuple[int, int], ...] = ()
    warm_up_walk_s: int = 0
    cool_down_walk_s: int = 0
    allowed: tuple[str, ...] = ()  # the session kinds that may start this day
    reason: str = ""  # the phrase that says why the day is what it is
    limited_by: str = ""  # "", "emergency", "urgent", "review", "hold", "pre_run", "after_run", "done", "week"

    @property
    def running_min(self) -> float:
        return sum(r for _, r in self.intervals) / 60.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "date": self.day.isoformat(), "kind": self.kind, "stage": self.stage,
            "intervals": [list(p) for p in self.intervals], "warm_up_walk_s": self.warm_up_walk_s,
            "cool_down_walk_s": self.cool_down_walk_s, "running_min": round(self.running_min, 2),
            "allowed": list(self.allowed), "reason": self.reason, "limited_by": self.limited_by,
        }


@dataclass(frozen=True)
class SessionResult:
    day: dt.date
    stage: int
    kind: str
    completed: bool
    zone: str | None  # None while the next morning has not come
    stopped: bool
    running_min: float

    def to_dict(self) -> dict[str, Any]:
        return {"date": self.day.isoformat(), "stage": self.stage, "kind": self.kind, "completed": self.completed,
                "zone": self.zone, "stopped": self.stopped, "running_min": self.running_min}


@dataclass(frozen=True)
class StageChange:
    day: dt.date
    stage: int
    reason: str


@dataclass(frozen=True)
class ProgrammeStatus:
    day: dt.date
    profile: str
    state: str
    stage: int
    last_zone: str | None
    today: Plan
    next_session: Plan
    screen_due: bool
    pre: Pain | None  # today's pre-run values (for the in-run stop rule)
    lock: Lock
    progress: walkrun.Progress
    trend: Trend
    sessions: tuple[SessionResult, ...]
    stages: tuple[StageChange, ...]
    config: ProgrammeConfig
    messages: tuple[str, ...]

    @property
    def red_flag_summary(self) -> str:
        return red_flag_summary()

    def to_dict(self) -> dict[str, Any]:
        return {
            "date": self.day.isoformat(), "state": self.state, "profile": self.profile, "stage": self.stage,
            "stage_name": walkrun.stage_name(self.stage), "last_zone": self.last_zone,
            "next_session": self.next_session.to_dict(), "today": self.today.to_dict(),
            "screen_due": self.screen_due, "messages": list(self.messages),
            "trend": {"rise_nrs": self.trend.rise_nrs, "up": self.trend.up},
            "red_flag_summary": self.red_flag_summary, "disclaimer": phrases.DISCLAIMER,
            "limits": self.config.to_dict(),
        }


# --- the replay ----------------------------------------------------------------------------------


def _config(start: Start) -> ProgrammeConfig:
    return apply_clinician_profile(load_config(), start.limits) if start.limits else load_config()


def _stopped(sp: SessionPain, profile: str, config: ProgrammeConfig) -> bool:
    return any(stop_rule(p, sp.pre, profile, config).stop for p in sp.during)


def evaluate(history: History, day: dt.date) -> ProgrammeStatus:
    """The programme on ``day`` from everything recorded up to that day."""
    h = history.until(day)
    starts = sorted(h.starts, key=lambda s: (s.day, s.seq))
    if not starts:
        raise ProgrammeNotStarted("no programme started yet: gait programme start --profile {sciatica,general}")
    start = starts[-1]
    if start.profile not in PROFILES:
        raise ProgrammeNotStarted(f"unknown profile {start.profile!r}")
    config = _config(start)
    profile = start.profile
    mornings = mornings_by_day(h.checkins)
    lock = fold_lock([*h.screens, *h.clearances])

    sessions = sorted((s for s in h.sessions if (s.day, s.seq) > (start.day, start.seq)), key=lambda s: (s.day, s.seq))
    clearances = sorted(h.clearances, key=lambda c: (c.day, c.seq))
    progress = walkrun.Progress(stage=start.stage)
    stages = [StageChange(start.day, start.stage, "start")]
    # the last clinician review: trend, course and reds are counted from it
    since: dt.date | None = max((c.day for c in clearances if c.day < start.day), default=None)
    review_reason: str | None = None
    results: dict[int, SessionResult] = {}
    pending = list(sessions)

    def session_pain(s: SessionLog) -> SessionPain:
        d = day_checkins(h.checkins, s.day)
        nxt = s.day + dt.timedelta(days=1)
        morning_flags = any(c.new_numbness or c.new_weakness for c in h.checkins if c.day == nxt and c.when == MORNING)
        return SessionPain(d.pre, d.during, d.after, mornings.get(nxt), baseline(mornings, s.day),
                           d.numbness_or_weakness or morning_flags)

    d = start.day
    while d <= day:
        for c in clearances:
            if c.day == d:
                progress = walkrun.clear_hold(progress)
                review_reason, since = None, d
        for s in list(pending):
            known = (s.day + dt.timedelta(days=1) == d and (s.day + dt.timedelta(days=1)) in mornings) or \
                    (s.day + dt.timedelta(days=2) == d)
            if not known:
                continue
            pending.remove(s)
            sp = session_pain(s)
            zone = classify(sp, profile, config)
            stopped = _stopped(sp, profile, config)
            results[id(s)] = SessionResult(s.day, s.stage, s.kind, s.completed, zone, stopped, s.running_min)
            counts = s.completed and (s.kind in RUN_KINDS or (s.kind == WALK and progress.stage == walkrun.ENTRY_STAGE))
            if counts and s.stage == progress.stage:
                before = progress
                progress = walkrun.advance(progress, zone, s.day, trend_up=weekly_trend(mornings, d, since).up,
                                           stopped=stopped)
                if progress.stage != before.stage:
                    stages.append(StageChange(d, progress.stage, f"{zone} session on {s.day.isoformat()}"))
            elif zone == walkrun.RED and s.completed:
                # a red on a walk-only day counts toward the hold, without a stage change
                held = walkrun.advance(progress, zone, s.day)
                progress = walkrun.Progress(progress.stage, (), held.reds, held.hold, held.hold_since)
        for o in h.offrun:
            if o.day != d or (o.day, o.seq) <= (start.day, start.seq):
                continue
            if offrun_zone(o, config) == walkrun.RED:  # like a red on a walk-only day
                held = walkrun.advance(progress, walkrun.RED, o.day)
                progress = walkrun.Progress(progress.stage, (), held.reds, held.hold, held.hold_since)
            if o.review and review_reason is None:
                review_reason = phrases.OFFRUN_REVIEW_MESSAGES.get(o.source, phrases.REVIEW_MESSAGE)
        if review_reason is None:
            if two_week_trend_up(mornings, d, since):
                review_reason = phrases.REVIEW_MESSAGE
            elif not_improved(mornings, d, since):
                review_reason = phrases.NOT_IMPROVED_MESSAGE
        d += dt.timedelta(days=1)

    all_results = [results.get(id(s)) or SessionResult(s.day, s.stage, s.kind, s.completed, None,
                                                       _stopped(session_pain(s), profile, config), s.running_min)
                   for s in sessions]
    finalised = [r for r in all_results if r.zone is not None and r.completed]
    last_zone = finalised[-1].zone if finalised else None

    if lock.level is not None:
        state = lock.level
    elif review_reason is not None:
        state = REVIEW
    elif progress.hold:
        state = HOLD
    else:
        state = READY

    today_checkins = day_checkins(h.checkins, day)
    last_screen = max(((s.day, s.seq) for s in h.screens), default=None)
    flags_after_screen = any((c.new_numbness or c.new_weakness) and (last_screen is None or (c.day, c.seq) > last_screen)
                             for c in h.checkins) or \
        any(o.new_numbness_or_weakness and (last_screen is None or (o.day, o.seq) > last_screen) for o in h.offrun)
    screen_due = (last_screen is None or flags_after_screen
                  or (profile == SCIATICA and last_screen[0] != day))

    ctx = _PlanContext(state, progress, sessions, config, start, mornings)
    today = _plan_for(ctx, day, today_checkins.pre)
    next_session = today
    if today.kind == REST and state != EMERGENCY:
        for k in range(1, 8):
            cand = _plan_for(ctx, day + dt.timedelta(days=k), None)
            if cand.kind != REST:
                next_session = cand
                break

    messages = []
    if state == EMERGENCY:
        messages.append(phrases.EMERGENCY_MESSAGE)
    elif state == URGENT:
        messages.append(phrases.URGENT_MESSAGE)
    elif state == REVIEW:
        messages.append(review_reason or phrases.REVIEW_MESSAGE)
    elif state == HOLD:
        messages.append(phrases.HOLD_MESSAGE)
    if flags_after_screen:
        messages.append(phrases.NUMBNESS_MESSAGE)
    elif screen_due and today.kind in RUN_KINDS:
        messages.append(phrases.SCREEN_DUE_MESSAGE)
    if today.reason and today.reason not in messages:
        messages.append(today.reason)
    if last_zone:
        messages.append(phrases.ZONE_MESSAGES[last_zone])

    return ProgrammeStatus(
        day=day, profile=profile, state=state, stage=progress.stage, last_zone=last_zone, today=today,
        next_session=next_session, screen_due=screen_due, pre=today_checkins.pre, lock=lock, progress=progress,
        trend=weekly_trend(mornings, day, since), sessions=tuple(all_results), stages=tuple(stages), config=config,
        messages=tuple(messages),
    )


@dataclass(frozen=True)
class _PlanContext:
    state: str
    progress: walkrun.Progress
    sessions: list[SessionLog]
    config: ProgrammeConfig
    start: Start
    mornings: dict[dt.date, Pain]


def _walk(day: dt.date, stage: int, allowed: tuple[str, ...], reason: str, limited_by: str = "") -> Plan:
    return Plan(day, WALK, stage, ((walkrun.ENTRY_WALK_S, 0),), 0, 0, allowed, reason, limited_by)


def _rest(day: dt.date, stage: int, allowed: tuple[str, ...], reason: str, limited_by: str) -> Plan:
    return Plan(day, REST, stage, (), 0, 0, allowed, reason, limited_by)


def _week_past_7(ctx: _PlanContext, day: dt.date) -> tuple[int, dt.date, list[float]]:
    """(index of ``day``'s programme week past stage 7, its first day, weekly running minutes of
    the weeks before it, led by the stage-7 week)."""
    done = [s for s in ctx.sessions if s.completed and s.stage == walkrun.BEYOND_STAGE and s.kind in RUN_KINDS]
    first = min((s.day for s in done), default=day)
    k = max(0, (day - first).days // 7)
    weeks = [walkrun.STAGE_7_WEEKLY_RUN_MIN] + [
        sum(s.running_min for s in done if (s.day - first).days // 7 == i) for i in range(k)]
    return k, first + dt.timedelta(days=7 * k), weeks


def weekly_target_min(ctx: _PlanContext, day: dt.date) -> float:
    _, _, weeks = _week_past_7(ctx, day)
    progressing = bool(ctx.progress.streak) or len(weeks) == 1
    target = walkrun.max_weekly_running_min(weeks, ctx.config) if progressing else weeks[-1]
    return float(int(target * 10) / 10)  # tenths of a minute, rounded down


def _plan_for(ctx: _PlanContext, day: dt.date, pre: Pain | None) -> Plan:
    stage = ctx.progress.stage
    if ctx.state == EMERGENCY:
        return _rest(day, stage, (), phrases.EMERGENCY_MESSAGE, EMERGENCY)
    if any(s.day == day for s in ctx.sessions):  # one session a day, finished or not, whatever the state
        return _rest(day, stage, (WALK,), phrases.SESSION_DONE, "done")
    if ctx.state in (URGENT, REVIEW, HOLD):
        return _walk(day, stage, (WALK,), "", ctx.state)
    if pre_run_gate(pre):
        return _walk(day, stage, (WALK,), phrases.PRE_RUN_GATE_MESSAGE, "pre_run")
    if stage == walkrun.ENTRY_STAGE:
        return _walk(day, stage, (WALK,), "")
    # a day with running, even a session cut short, is a run day: never two in a row
    run_days = [s.day for s in ctx.sessions if s.kind in RUN_KINDS and (s.completed or s.running_min > 0)]
    if any(abs((day - d).days) == 1 for d in run_days):
        return _rest(day, stage, (WALK,), phrases.REST_DAY_MESSAGE, "after_run")
    if stage <= walkrun.LAST_STAGE:
        st = walkrun.STAGES[stage]
        kind = RUN if stage == walkrun.LAST_STAGE else WALK_RUN
        return Plan(day, kind, stage, st.intervals, walkrun.WARM_UP_WALK_S, walkrun.COOL_DOWN_WALK_S,
                    (WALK, kind), "")
    k, week_start, _ = _week_past_7(ctx, day)
    in_week = [s for s in ctx.sessions if s.completed and s.stage == walkrun.BEYOND_STAGE and s.kind in RUN_KINDS
               and week_start <= s.day < week_start + dt.timedelta(days=7)]
    if len(in_week) >= walkrun.RUNS_PER_WEEK_BEYOND:
        return _rest(day, stage, (WALK,), phrases.REST_DAY_MESSAGE, "week")
    session_s = int(weekly_target_min(ctx, day) * 60 / walkrun.RUNS_PER_WEEK_BEYOND)
    cap_min = sliding_cap_min(ctx.sessions, day)
    if cap_min is not None and cap_min * 60 < session_s:  # the fixed 14-day cap, on every window
        session_s = int(cap_min * 60)
        if session_s < 60:
            return _rest(day, stage, (WALK,), phrases.REST_DAY_MESSAGE, "week")
    return Plan(day, RUN, stage, ((0, session_s),), walkrun.WARM_UP_WALK_S, walkrun.COOL_DOWN_WALK_S, (WALK, RUN), "")


def sliding_cap_min(sessions: Sequence[SessionLog], day: dt.date) -> float | None:
    """The most running (minutes) a session on ``day`` may hold so that no 14-day window containing
    it holds more than 1.30 x the 14 days before that window (the fixed cap, on every window, not
    only on whole programme weeks: later sessions check the windows that contain them). Windows
    whose 14 days before start before the first run past stage 7 are left to the weekly rules
    (which count the stage-7 weeks). None: no such window yet."""
    runs: dict[dt.date, float] = {}
    for s in sessions:
        if s.kind in RUN_KINDS and s.running_min > 0:
            runs[s.day] = runs.get(s.day, 0.0) + float(s.running_min)
    beyond = [s.day for s in sessions if s.stage == walkrun.BEYOND_STAGE and s.kind in RUN_KINDS]
    if not runs or not beyond:
        return None
    first = min(beyond)  # the cap is on running past stage 7: the climb through the stages is not
    best: float | None = None
    ratio = 1.0 + walkrun.CAP_14_DAY_PCT / 100.0
    for k in range(14):
        end = day + dt.timedelta(days=k)
        if end - dt.timedelta(days=27) < first:
            continue
        cur = sum(m for d, m in runs.items() if end - dt.timedelta(days=13) <= d <= end)
        prev = sum(m for d, m in runs.items() if end - dt.timedelta(days=27) <= d <= end - dt.timedelta(days=14))
        allow = ratio * prev - cur
        best = allow if best is None else min(best, allow)
    return None if best is None else max(0.0, best)


def start_session(plan: Plan, kind: str | None = None) -> Plan:
    """Refuse a session the day's plan does not allow; returns the plan of the session to run.

    ``ProgrammeLocked`` in the emergency state (nothing starts); ``ConsecutiveDayRun`` for a run the
    day after a run; ``RunNotAllowed`` for running in the urgent, review or hold states, after a
    pre-run score of 6 or more, on a rest day, or for a kind the day does not offer."""
    if plan.limited_by == EMERGENCY:
        raise ProgrammeLocked(phrases.EMERGENCY_MESSAGE)
    kind = kind or plan.kind
    if kind not in SESSION_KINDS:
        raise RunNotAllowed(f"nothing to start: today is a {plan.kind} day")
    if plan.limited_by == EMERGENCY:
        raise ProgrammeLocked(phrases.EMERGENCY_MESSAGE)
    if kind not in plan.allowed:
        if plan.limited_by == "after_run" and kind in RUN_KINDS:
            raise ConsecutiveDayRun(f"{plan.day.isoformat()}: {phrases.REST_DAY_MESSAGE}")
        raise RunNotAllowed(f"{plan.day.isoformat()}: a {kind} session is not in today's plan "
                            f"({plan.kind}{': ' + plan.reason if plan.reason else ''})")
    if kind == WALK and plan.kind != WALK:
        return _walk(plan.day, plan.stage, plan.allowed, plan.reason)
    return plan


def require_screen(status: ProgrammeStatus, kind: str) -> None:
    """Raise `ScreenDue` when the red-flag questions have to be answered before this session."""
    if status.screen_due and kind in RUN_KINDS:
        raise ScreenDue(phrases.SCREEN_DUE_MESSAGE)
