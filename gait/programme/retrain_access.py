"""Retraining on a data folder or an open store: what a live run asks before it starts, and what the
command line records.

    plan = todays_feedback(data_dir_or_store, day)     # FeedbackPlan | None
    start_focus(where, day, "cadence", baseline=None)  # baseline from the latest stored run
    record_probe(where, day, value)                    # the probe due today (ProbeNotDue otherwise)
    record_run_value(where, day, value)                # a session's mean of the focus metric
    focus_summary(where, day)                          # the status's ``focus`` (None without one)
    review(where, day)                                 # F5: Association
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from gait.programme import phrases
from gait.programme.access import StoreOrDir, _Opened
from gait.programme.care import PAUSED as SHOES_PAUSED
from gait.programme.care import RUNNING as SHOES_RUNNING
from gait.programme.care import WALKING as SHOES_WALKING
from gait.programme.care import shoe_plan
from gait.programme.errors import ProgrammeLocked
from gait.programme.plan import EMERGENCY, READY, RUN_KINDS, ProgrammeStatus, evaluate
from gait.programme.retrain import (
    BLOCK,
    CADENCE,
    LANDING,
    LEAN,
    MAINTENANCE,
    PROBE_DAYS,
    STALLED,
    FeedbackPlan,
    FocusRefused,
    FocusStart,
    FocusState,
    FocusValue,
    ProbeNotDue,
    checkin_questions,
    counted_sessions,
    default_delta_pct,
    feedback_plan,
    focus_target,
    fold_focus,
    may_start,
    next_on_ladder,
    red_within,
    speed_matched,
)
from gait.programme.retrain_review import Association, FocusChange, SessionPoint, association
from gait.programme.retrain_store import add_focus, add_value, baseline_from_run, focus_records
from gait.programme.store import ProgrammeStore


@dataclass(frozen=True)
class Focuses:
    status: ProgrammeStatus
    starts: tuple[FocusStart, ...]
    values: tuple[FocusValue, ...]
    states: tuple[FocusState, ...]  # one per start, oldest first; the last is the current focus

    @property
    def current(self) -> FocusState | None:
        return self.states[-1] if self.states else None

    @property
    def passed(self) -> tuple[str, ...]:
        return tuple(s.metric for s in self.states if s.passed_7d)

    @property
    def foot_sensor(self) -> bool:
        return any(s.foot_sensor for s in self.starts)


def _focuses(ps: ProgrammeStore, day: dt.date) -> Focuses:
    st = evaluate(ps.history(), day)
    starts, values = focus_records(ps)
    starts = tuple(s for s in starts if s.day <= day)
    values = tuple(v for v in values if v.day <= day)
    states = tuple(fold_focus(s, values, st.sessions, day, st.config) for s in starts)
    return Focuses(st, starts, values, states)


def _runs_in_week_3(state: FocusState, fs: Focuses, day: dt.date) -> int:
    if state.block_end is None:
        return 0
    first = state.block_end + dt.timedelta(days=15)
    return sum(1 for s in counted_sessions(fs.status.sessions, state.block_end) if first <= s.day < day)


def todays_feedback(where: StoreOrDir, day: dt.date) -> FeedbackPlan | None:
    """Today's form feedback for a live run, asked before it starts; None when no focus speaks
    today (no focus; not a day with running; any state but ready; a stalled focus; maintenance
    past its third week). One focus at a time: the current one."""
    with _Opened(where) as ps:
        fs = _focuses(ps, day)
    cur = fs.current
    if cur is None or fs.status.state != READY or fs.status.today.kind not in RUN_KINDS:
        return None
    return feedback_plan(cur, day, _runs_in_week_3(cur, fs, day), fs.status.config)


def start_focus(where: StoreOrDir, day: dt.date, metric: str, baseline: float | None = None,
                delta_pct: float | None = None, *, foot_sensor: bool = False,
                speed_mps: float | None = None) -> FocusState:
    """Start a retraining block on ``metric``. The baseline is the runner's own: the median of the
    latest stored run's running steps (a no-feedback run), unless given (a clinician or a script).
    Refused (`FocusRefused`) while another focus has not passed its 7-day probe, within 14 days of
    a red session, while morning pain rises week to week; `ProgrammeLocked` in the emergency state."""
    with _Opened(where) as ps:
        fs = _focuses(ps, day)
        if fs.status.state == EMERGENCY:
            raise ProgrammeLocked(phrases.EMERGENCY_MESSAGE)
        if fs.status.state != READY:
            raise FocusRefused(f"the programme is in the {fs.status.state} state: no new focus now")
        may_start(metric, fs.current, fs.passed, fs.status.sessions, day, trend_up=fs.status.trend.up,
                  foot_sensor=foot_sensor or fs.foot_sensor)
        care_records = ps.care()  # never a new focus together with a minimal-shoe transition under way
        shoes = shoe_plan(care_records.shoe_starts, care_records.footwear, fs.status, ps.history(), day)
        if shoes.state in (SHOES_WALKING, SHOES_RUNNING, SHOES_PAUSED):
            raise FocusRefused("a minimal-shoe transition is under way: one change at a time, no new focus "
                               "until it is done or stopped")
        if baseline is None:
            found = baseline_from_run(ps.store, metric)
            if found is None:
                raise FocusRefused(f"no stored run with {metric} values: record a run without feedback first, "
                                   "or give the baseline")
            baseline, speed_mps = found.value, found.speed_mps if speed_mps is None else speed_mps
        step = sum(1 for s in fs.states if s.metric == metric)
        delta = default_delta_pct(metric, step, fs.status.config) if delta_pct is None else delta_pct
        focus_target(metric, baseline, delta, fs.status.config)  # the cap, before anything is stored
        add_focus(ps, FocusStart(day, metric, float(baseline), float(delta), speed_mps, foot_sensor))
        fs = _focuses(ps, day)
    assert fs.current is not None
    return fs.current


def record_probe(where: StoreOrDir, day: dt.date, value: float | None = None,
                 speed_mps: float | None = None) -> FocusState:
    """Record the probe due today (the value, or the latest stored run's median)."""
    with _Opened(where) as ps:
        fs = _focuses(ps, day)
        cur = fs.current
        if cur is None:
            raise ProbeNotDue("no focus started")
        if cur.probe_due is None:
            raise ProbeNotDue(f"no probe of {cur.metric} is due on {day.isoformat()}")
        if value is None:
            found = baseline_from_run(ps.store, cur.metric)
            if found is None:
                raise ProbeNotDue(f"no stored run with {cur.metric} values: give --value")
            value, speed_mps = found.value, found.speed_mps
        if not speed_matched(cur.start.speed_mps, speed_mps):
            raise ProbeNotDue(f"the probe's speed {speed_mps:.2f} m/s is not within 0.3 m/s of the baseline's "
                              f"{cur.start.speed_mps:.2f} m/s: run at your baseline speed")
        add_value(ps, FocusValue(day, cur.metric, "probe", float(value), cur.probe_due, speed_mps))
        fs = _focuses(ps, day)
    assert fs.current is not None
    return fs.current


def record_run_value(where: StoreOrDir, day: dt.date, value: float, speed_mps: float | None = None) -> None:
    """Record a session's mean of the current focus metric (for the form-pain review)."""
    with _Opened(where) as ps:
        fs = _focuses(ps, day)
        if fs.current is None:
            raise FocusRefused("no focus started")
        add_value(ps, FocusValue(day, fs.current.metric, "run", float(value), "", speed_mps))


def _may_start_next(fs: Focuses, day: dt.date) -> tuple[str | None, str]:
    nxt = next_on_ladder(fs.passed, fs.foot_sensor)
    if nxt is None:
        return None, "every focus on the ladder has passed"
    try:
        if fs.status.state != READY:
            raise FocusRefused(f"the programme is in the {fs.status.state} state")
        may_start(nxt, fs.current, fs.passed, fs.status.sessions, day, trend_up=fs.status.trend.up,
                  foot_sensor=nxt != LANDING or fs.foot_sensor)
    except FocusRefused as exc:
        return nxt, str(exc)
    return nxt, ""


def _summary(fs: Focuses, day: dt.date) -> dict[str, Any] | None:
    cur = fs.current
    if cur is None:
        return None
    nxt, why_not = _may_start_next(fs, day)
    notes = {CADENCE: phrases.FOCUS_BOUNCE_NOTE, LANDING: phrases.FOCUS_LANDING_WARNING,
             LEAN: phrases.FOCUS_LEAN_NOTE}[cur.metric]
    message = {STALLED: phrases.FOCUS_STALLED, MAINTENANCE: phrases.FOCUS_PASSED}.get(cur.phase, "")
    if cur.phase == BLOCK and cur.round == 2:
        message = phrases.FOCUS_REPEAT
    return {
        "metric": cur.metric, "name": phrases.FOCUS_NAMES[cur.metric], "started": cur.start.day.isoformat(),
        "phase": cur.phase, "round": cur.round, "session": cur.session, "sessions_done": cur.done,
        "feedback_fraction": cur.fraction(fs.status.config), **cur.target.to_dict(),
        "baseline_speed_mps": cur.start.speed_mps, "block_end": cur.block_end.isoformat() if cur.block_end else None,
        "probe_due": cur.probe_due, "probes": [p.to_dict() for p in cur.probes],
        "next_probes": {k: (cur.block_end + dt.timedelta(days=d)).isoformat() for k, d in PROBE_DAYS.items()}
        if cur.block_end else {},
        "passed_7d": cur.passed_7d, "passed": list(fs.passed), "next_focus": nxt,
        "next_focus_may_start": nxt is not None and not why_not, "next_focus_refused": why_not,
        "last_red": (r.isoformat() if (r := red_within(fs.status.sessions, day)) else None),
        "checkin_questions": list(checkin_questions(cur)), "note": notes, "message": message,
    }


def focus_summary(where: StoreOrDir, day: dt.date) -> dict[str, Any] | None:
    """The current focus on ``day`` as the status shows it (None without a focus)."""
    with _Opened(where) as ps:
        return _summary(_focuses(ps, day), day)


def review(where: StoreOrDir, day: dt.date) -> Association:
    """F5: each session with running since the first focus started, its focus metric (run mean,
    probe) and its class; the view with n and Spearman's rho once there are enough sessions."""
    with _Opened(where) as ps:
        fs = _focuses(ps, day)
    if not fs.starts:
        return association(())
    points = []
    for s in fs.status.sessions:
        if s.kind not in RUN_KINDS or not s.completed:
            continue
        active = [f for f in fs.starts if f.day <= s.day]
        if not active:
            continue
        metric = active[-1].metric
        runs = [v.value for v in fs.values if v.day == s.day and v.metric == metric and v.kind == "run"]
        probes = [v.value for v in fs.values if v.day == s.day and v.metric == metric and v.kind == "probe"]
        points.append(SessionPoint(s.day, metric, sum(runs) / len(runs) if runs else None,
                                   probes[-1] if probes else None, s.running_min, s.zone))
    return association(points, [FocusChange(f.day, f.metric) for f in fs.starts])
