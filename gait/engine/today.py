"""A run inside the programme: before it starts, today's session decides whether it may start
at all and what it is; during it, the programme's stop rule judges pain reports; after it, the
session is logged.

    today = todays_session(data_dir, day)     # None: no programme in this data folder
    plan = interval_plan(today)               # the walk and run intervals the engine announces
    rule = stop_rule(today)                   # (back, leg, extent) -> the stop phrase or None
    log_today(data_dir, today, summary, engine)

Safety first: in the emergency state nothing starts (`ProgrammeLocked`); in the urgent, review
and hold states, after a pre-run score of 6 or more, or the day after a run, running does not
start (`RunNotAllowed`; a walking session may). A programme found in the data folder always
applies: no option turns it off (a developer replaying old captures uses another ``--data-dir``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gait.engine.intervals import IntervalPlan

REST = "rest"


def _has_store(data_dir: str | Path | None) -> bool:
    from gait.storage.local import DB_NAME, default_data_dir

    folder = Path(data_dir).expanduser() if data_dir else default_data_dir()
    return (folder / DB_NAME).is_file()


def todays_session(data_dir: str | Path | None, day: dt.date | None = None) -> Any:
    """Today's session (`gait.programme.TodaysPlan`), or None when the data folder holds no
    programme. Raises `ProgrammeLocked` (emergency) or `RunNotAllowed` (and its kinds: a rest
    day after a run, a screen due) when no session may start today."""
    if not _has_store(data_dir):
        return None
    from gait.programme import ProgrammeNotStarted, RunNotAllowed, gate

    day = day or dt.date.today()
    try:
        today = gate(data_dir, day)
    except ProgrammeNotStarted:
        return None
    if today.kind == REST:
        reason = today.messages[0] if today.messages else "today is a rest day in your programme"
        raise RunNotAllowed(reason)
    return gate(data_dir, day, kind=today.kind)


def interval_plan(today: Any) -> IntervalPlan:
    """The session's phases: the warm-up walk, the walk and run intervals, the cool-down walk."""
    intervals = [(float(w), float(r)) for w, r in today.intervals]
    return IntervalPlan.walk_run(intervals, warmup_s=float(today.warm_up_walk_s), cooldown_s=float(today.cool_down_walk_s))


def stop_rule(today: Any) -> Callable[[int, int, int | None], str | None]:
    """The programme's in-run stop rule as the engine asks it: the stop phrase, or None."""
    from gait.programme import Pain

    def rule(back_nrs: int, leg_nrs: int, leg_extent: int | None) -> str | None:
        return today.stop(Pain(back_nrs, leg_nrs, leg_extent)).phrase

    return rule


def weekly_briefing(data_dir: str | Path | None, day: dt.date) -> str | None:
    """The red-flag summary as it is spoken before the first session of each calendar week (None:
    already said this week)."""
    from gait.programme import phrases
    from gait.programme.store import ProgrammeStore

    with ProgrammeStore.open(data_dir) as ps:
        sessions = ps.history().sessions
    week = day.isocalendar()[:2]
    if any(s.day.isocalendar()[:2] == week and s.day < day for s in sessions):
        return None
    return " ".join([phrases.WEEKLY_BRIEFING_INTRO, phrases.RED_FLAG_TITLE, *(f"{x}." for x in phrases.RED_FLAG_LINES)])


def todays_focus(data_dir: str | Path | None, day: dt.date, plan: IntervalPlan | None) -> Any:
    """Today's one form focus (`gait.engine.focus.FocusFeedback`), or None when none speaks."""
    from gait.engine.focus import FocusFeedback
    from gait.programme.retrain_access import todays_feedback

    fb = todays_feedback(data_dir, day)
    if fb is None:
        return None
    return FocusFeedback(fb, planned_running_s=plan.running_s if plan is not None else None)


def record_focus(data_dir: str | Path | None, day: dt.date, focus: Any, running_s: float) -> list[str]:
    """After the run: the session's median of the focus metric (for the form-pain review) and
    today's probe when one is due. Returns what was recorded, in words."""
    from gait.programme.retrain_access import record_probe, record_run_value

    said = []
    value = focus.session_value()
    if value is not None and focus.plan.session is not None:
        record_run_value(data_dir, day, value)
        said.append(f"{focus.plan.metric} {value:.4g} recorded for session {focus.plan.session}")
    probe = focus.probe_value(running_s)
    if probe is not None:
        state = record_probe(data_dir, day, probe)
        said.append(f"{focus.probe} probe: {focus.plan.metric} {probe:.4g}" + (
            f" ({state.phase})" if getattr(state, "phase", None) else ""))
    return said


def check_footwear(data_dir: str | Path | None, today: Any, footwear: str | None, planned_running_s: float) -> None:
    """Before a run in minimal shoes or barefoot: it must fit the transition (started, past its
    walking weeks, not the day after another such run, within the week's allowance for the
    planned running time). Raises `gait.programme.care.CareRefused` with the reason."""
    if footwear in (None, "regular"):
        return
    from gait.programme import care
    from gait.programme.plan import evaluate
    from gait.programme.store import ProgrammeStore

    with ProgrammeStore.open(data_dir) as ps:
        hist = ps.history()
        records = ps.care()
        plan = care.shoe_plan(records.shoe_starts, records.footwear, evaluate(hist, today.day), hist, today.day)
        care.check_minimal_run(plan, records.footwear, today.day, planned_running_s / 60.0)


def log_footwear(data_dir: str | Path | None, day: dt.date, footwear: str | None, running_s: float) -> None:
    """Every run in the programme records what it was run in (regular shoes unless told)."""
    from gait.programme import care
    from gait.programme.store import ProgrammeStore

    with ProgrammeStore.open(data_dir) as ps:
        ps.add_footwear(care.FootwearLog(day, footwear or "regular", "run", round(running_s / 60.0, 2)))


def log_today(data_dir: str | Path | None, today: Any, *, completed: bool, stopped: bool, running_s: float) -> Any:
    """Record today's session: completed only when the source ended and no stop cut it short
    (a session stopped for pain never counts toward progression)."""
    from gait.programme import log_session

    return log_session(data_dir, today.day, kind=today.kind, completed=completed and not stopped,
                       running_min=running_s / 60.0)  # fmt: skip
