"""What a live run (or any caller that starts or logs a session) asks the programme.

    plan = gate(data_dir_or_store, day)                 # today's plan; ProgrammeLocked in emergency
    plan = gate(data_dir_or_store, day, kind="walk-run")  # also refuses a kind the day does not allow
    plan.kind, plan.intervals                           # rest|walk|walk-run|run, ((walk_s, run_s), ...)
    plan.stop(Pain(back_nrs=2, leg_nrs=5, leg_extent=2))  # the in-run stop rule with today's pre-run values
    log_session(data_dir_or_store, day)                 # today's planned session done
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gait.programme import phrases
from gait.programme.config import ProgrammeConfig
from gait.programme.errors import ProgrammeLocked, RunNotAllowed
from gait.programme.pain import Pain, StopDecision, stop_rule
from gait.programme.plan import (
    EMERGENCY,
    RUN_KINDS,
    Plan,
    ProgrammeStatus,
    SessionLog,
    evaluate,
    require_screen,
    start_session,
)
from gait.programme.redflags import red_flag_summary
from gait.programme.store import ProgrammeStore
from gait.storage.local import Store

StoreOrDir = Store | ProgrammeStore | str | Path | None


@dataclass(frozen=True)
class TodaysPlan:
    """Today's session as a live run needs it.

    ``kind``: rest | walk | walk-run | run; ``intervals``: [walk_s, run_s] pairs after
    ``warm_up_walk_s`` of brisk walking and before ``cool_down_walk_s`` of walking; ``allowed``:
    the kinds that may start today; ``pre``: today's pre-run check-in (the stop rule's reference);
    ``messages``: what to tell the runner first (safety first)."""

    day: dt.date
    state: str
    profile: str
    stage: int
    kind: str
    intervals: tuple[tuple[int, int], ...]
    warm_up_walk_s: int
    cool_down_walk_s: int
    allowed: tuple[str, ...]
    screen_due: bool
    pre: Pain | None
    config: ProgrammeConfig
    messages: tuple[str, ...]

    @property
    def red_flag_summary(self) -> str:
        return red_flag_summary()

    @property
    def form_cues_allowed(self) -> bool:
        """Form cues only in a session with running (and only while running, and never after a stop)."""
        return self.kind in RUN_KINDS

    def stop(self, report: Pain) -> StopDecision:
        """The in-run stop rule for a report during today's session."""
        return stop_rule(report, self.pre, self.profile, self.config)

    def to_dict(self) -> dict[str, Any]:
        return {"date": self.day.isoformat(), "state": self.state, "profile": self.profile, "stage": self.stage,
                "kind": self.kind, "intervals": [list(p) for p in self.intervals],
                "warm_up_walk_s": self.warm_up_walk_s, "cool_down_walk_s": self.cool_down_walk_s,
                "allowed": list(self.allowed), "screen_due": self.screen_due, "messages": list(self.messages),
                "red_flag_summary": self.red_flag_summary}


class _Opened:
    def __init__(self, where: StoreOrDir):
        if isinstance(where, ProgrammeStore):
            self.ps, self.owned = where, False
        elif isinstance(where, Store):
            self.ps, self.owned = ProgrammeStore(where), False
        else:
            self.ps, self.owned = ProgrammeStore.open(where), True

    def __enter__(self) -> ProgrammeStore:
        return self.ps

    def __exit__(self, *exc: object) -> None:
        if self.owned:
            self.ps.close()


def status(where: StoreOrDir, day: dt.date) -> ProgrammeStatus:
    with _Opened(where) as ps:
        return evaluate(ps.history(), day)


def _todays(st: ProgrammeStatus, plan: Plan) -> TodaysPlan:
    return TodaysPlan(st.day, st.state, st.profile, plan.stage, plan.kind, plan.intervals, plan.warm_up_walk_s,
                      plan.cool_down_walk_s, plan.allowed, st.screen_due, st.pre, st.config, st.messages)


def gate(where: StoreOrDir, day: dt.date, kind: str | None = None, *, screen_required: bool = True) -> TodaysPlan:
    """Today's session, asked before a live run starts.

    Raises `ProgrammeLocked` in the emergency state (nothing starts, no cue is spoken). With ``kind``
    (walk, walk-run or run) it also raises `RunNotAllowed` when the day does not allow it (urgent,
    review or hold: walking only; a pre-run score of 6 or more; a rest day after a run day:
    `ConsecutiveDayRun`), and `ScreenDue` when the red-flag questions must be answered first
    (``screen_required``). Without ``kind`` it returns the plan as it is (a rest day included)."""
    st = status(where, day)
    if st.state == EMERGENCY:
        raise ProgrammeLocked(phrases.EMERGENCY_MESSAGE)
    plan = st.today
    if kind is not None:
        plan = start_session(plan, kind)
        if screen_required:
            require_screen(st, plan.kind)
    return _todays(st, plan)


def log_session(where: StoreOrDir, day: dt.date, kind: str | None = None, completed: bool = True,
                running_min: float | None = None) -> SessionLog:
    """Record ``day``'s session (the planned one, or ``kind``) as done. Refused in the emergency
    state, for a second session on a day, and for a run the day after a run."""
    with _Opened(where) as ps:
        st = evaluate(ps.history(), day)
        if st.state == EMERGENCY:
            raise ProgrammeLocked(phrases.EMERGENCY_MESSAGE)
        if st.today.limited_by == "done":
            raise RunNotAllowed(f"{day.isoformat()}: a session is already recorded for this day (one a day at most)")
        plan = start_session(st.today, kind)
        minutes = plan.running_min if running_min is None else float(running_min)
        log = SessionLog(day, st.stage, plan.kind, completed, minutes)
        ps.add_session(log)
        ps.save_zones(evaluate(ps.history(), day).sessions)
        return log
