"""The walk-run return (spec F3). Pure: no storage, no clock.

Stage 0 is the entry (two days of 30 minutes' brisk walking, green: all values <= 2 and settled
the next morning); stages 1-7 are the walk-run table below, each preceded by 10 minutes' brisk
walking and followed by 5 minutes' walking; stage 8 stands for "past stage 7", where weekly
running time rises by at most the configured weekly increase (default 10 %) and never by more
than 30 % over any 14 days (fixed).

Progression, session by session (`advance`): two consecutive completed sessions at the stage with
no red, no unknown, at most one amber and no TREND_UP -> next stage; two ambers in a row or any
unknown (or a session stopped for pain) -> the stage is repeated; a red -> one stage back; two
reds within 14 days -> hold (and a review prompt), lifted only by a recorded clinician review.
Never two run days in a row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace

from gait.programme.config import CAP_14_DAY_PCT, DEFAULT_CONFIG, ProgrammeConfig
from gait.programme.errors import ConsecutiveDayRun, ProgrammeError, ProgressionCapExceeded

GREEN, AMBER, RED, UNKNOWN = "green", "amber", "red", "unknown"

WARM_UP_WALK_S = 600  # 10 min brisk walking before every session (R1: 10-15 min)
COOL_DOWN_WALK_S = 300  # 5 min walking after
ENTRY_WALK_S = 1800  # entry: 30 min brisk walking (R1-R4)
ENTRY_STAGE = 0
FIRST_STAGE, LAST_STAGE = 1, 7
BEYOND_STAGE = 8  # past stage 7: weekly running time progression
RED_HOLD_WINDOW_DAYS = 14  # two reds with both days inside one 14-day window -> hold
RUNS_PER_WEEK_BEYOND = 3  # past stage 7: three run days a week (design choice; never two in a row)
STAGE_7_WEEKLY_RUN_MIN = RUNS_PER_WEEK_BEYOND * 30.0  # the weekly running time the first week past 7 builds on


@dataclass(frozen=True)
class Stage:
    number: int
    repeats: int
    walk_s: int
    run_s: int

    @property
    def intervals(self) -> tuple[tuple[int, int], ...]:
        """[walk_s, run_s] pairs, warm-up and cool-down walks not included."""
        return ((self.walk_s, self.run_s),) * self.repeats

    @property
    def running_min(self) -> float:
        return self.repeats * self.run_s / 60.0

    @property
    def total_min(self) -> float:
        return (WARM_UP_WALK_S + self.repeats * (self.walk_s + self.run_s) + COOL_DOWN_WALK_S) / 60.0


STAGES: dict[int, Stage] = {
    1: Stage(1, 6, 240, 60),  # 6 x (walk 4:00 / run 1:00): 6 min running
    2: Stage(2, 6, 180, 120),  # 12 min
    3: Stage(3, 6, 120, 180),  # 18 min
    4: Stage(4, 6, 60, 240),  # 24 min
    5: Stage(5, 3, 60, 540),  # 27 min
    6: Stage(6, 2, 60, 840),  # 28 min
    7: Stage(7, 1, 0, 1800),  # 30 min continuous
}


def stage_name(stage: int) -> str:
    if stage == ENTRY_STAGE:
        return "entry walks"
    if stage == BEYOND_STAGE:
        return "past stage 7"
    return f"stage {stage}"


# --- progression ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """Where the runner is: ``stage`` (0-8), the zones of the sessions counted at this stage
    (``streak``), the days of the reds since the last clinician review, and ``hold``."""

    stage: int = FIRST_STAGE
    streak: tuple[str, ...] = ()
    reds: tuple[dt.date, ...] = ()
    hold: bool = False
    hold_since: dt.date | None = None

    def __post_init__(self) -> None:
        if not ENTRY_STAGE <= self.stage <= BEYOND_STAGE:
            raise ProgrammeError(f"stage must be {ENTRY_STAGE}-{BEYOND_STAGE}, got {self.stage}")


def advance(p: Progress, zone: str, day: dt.date, *, trend_up: bool = False, stopped: bool = False) -> Progress:
    """The progress after one completed session of the stage, classed ``zone``.

    ``stopped``: the running was stopped for pain (never counts toward progression);
    ``trend_up``: the weekly morning trend is up on the day the class is known (no step up)."""
    if zone not in (GREEN, AMBER, RED, UNKNOWN):
        raise ProgrammeError(f"unknown zone {zone!r}")
    if zone == RED:
        reds = (*p.reds, day)
        hold = p.hold or any(0 <= (day - d).days < RED_HOLD_WINDOW_DAYS for d in p.reds)
        stage = p.stage if p.stage <= FIRST_STAGE else p.stage - 1
        return Progress(stage, (), reds, hold, p.hold_since if p.hold else (day if hold else None))
    if zone == UNKNOWN or stopped:
        return replace(p, streak=())  # repeat the stage
    if p.stage == ENTRY_STAGE:
        streak = (*p.streak, zone) if zone == GREEN else ()
        if len(streak) >= 2 and not trend_up and not p.hold:
            return replace(p, stage=FIRST_STAGE, streak=())
        return replace(p, streak=streak)
    if zone == AMBER and p.streak and p.streak[-1] == AMBER:
        return replace(p, streak=())  # two ambers in a row: repeat the stage
    streak = (*p.streak, zone)
    last_two = streak[-2:]
    if (len(last_two) == 2 and last_two.count(AMBER) <= 1 and not trend_up and not p.hold
            and p.stage < BEYOND_STAGE):
        return replace(p, stage=p.stage + 1, streak=())
    return replace(p, streak=streak)


def clear_hold(p: Progress) -> Progress:
    """A recorded clinician review: the hold is lifted and reds before it no longer count."""
    return replace(p, reds=(), hold=False, hold_since=None)


def check_not_consecutive(run_days: Sequence[dt.date], day: dt.date) -> None:
    """Raise `ConsecutiveDayRun` if a run session on ``day`` would follow (or precede) one on the
    day next to it."""
    for d in run_days:
        if abs((day - d).days) == 1:
            raise ConsecutiveDayRun(
                f"a run session on {day.isoformat()} would be the day after or before the one on "
                f"{d.isoformat()}: never two run days in a row"
            )


# --- past stage 7: weekly running time --------------------------------------------------------------


def _padded(history_min: Sequence[float], n: int = 3) -> list[float]:
    """Weekly running minutes, padded at the front with the first week to ``n`` weeks (the weeks
    before the record are taken as steady at its first week: the spec's examples read so)."""
    weeks = [float(w) for w in history_min]
    if not weeks:
        raise ProgrammeError("the weekly running-time check needs at least one past week")
    if any(w < 0 for w in weeks):
        raise ProgrammeError("weekly running minutes cannot be negative")
    return [weeks[0]] * max(0, n - len(weeks)) + weeks


_EPS = 1e-9


def max_weekly_running_min(history_min: Sequence[float], config: ProgrammeConfig = DEFAULT_CONFIG) -> float:
    """The largest running time for the coming week: at most ``weekly_increase_pct`` over last
    week, and (this week + last week) at most 1.30 x (the two weeks before)."""
    w = _padded(history_min)
    weekly = w[-1] * (1.0 + config.weekly_increase_pct / 100.0)
    cap = (1.0 + CAP_14_DAY_PCT / 100.0) * (w[-2] + w[-3]) - w[-1]
    return max(0.0, min(weekly, cap))


def check_weekly_running(history_min: Sequence[float], proposed_min: float,
                         config: ProgrammeConfig = DEFAULT_CONFIG) -> None:
    """Raise `ProgressionCapExceeded` (naming the limit) if ``proposed_min`` of running in the coming
    week is above the weekly increase or the fixed 14-day cap."""
    w = _padded(history_min)
    weekly = w[-1] * (1.0 + config.weekly_increase_pct / 100.0)
    if proposed_min > weekly * (1 + _EPS) + _EPS:
        raise ProgressionCapExceeded(
            "weekly_increase_pct",
            f"{proposed_min:g} min is more than {config.weekly_increase_pct:g} % over last week's {w[-1]:g} min",
        )
    before = w[-2] + w[-3]
    if proposed_min + w[-1] > (1.0 + CAP_14_DAY_PCT / 100.0) * before * (1 + _EPS) + _EPS:
        ratio = (proposed_min + w[-1]) / before if before else float("inf")
        raise ProgressionCapExceeded(
            "cap_14_day_pct",
            f"{proposed_min:g} + {w[-1]:g} min over 14 days is {ratio:.3f} x the 14 days before "
            f"({before:g} min): more than the fixed {CAP_14_DAY_PCT:g} % cap",
        )
