"""The red-flag screen and the safety lock (spec F1). Pure: no storage, no clock.

The questions are asked explicitly (yes/no); the result says what to do, never what the runner
might have. Any emergency "yes" locks the programme (`EMERGENCY`); any urgent "yes" pauses it
(`URGENT`: walking only). A lock is lifted only by a recorded clinician review (a `Clearance`)
followed by a screen with every answer "no" — never by time passing. A "yes" after a clearance
locks again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from gait.programme import phrases
from gait.programme.errors import ProgrammeError

EMERGENCY = "emergency"
URGENT = "urgent"
LEVELS = (EMERGENCY, URGENT)
CLEAR = "clear"  # a screen without any "yes"


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    level: str  # "emergency" | "urgent"

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "text": self.text, "level": self.level}


QUESTIONS: tuple[Question, ...] = tuple(
    [Question(qid, text, EMERGENCY) for qid, text in phrases.EMERGENCY_QUESTIONS]
    + [Question(qid, text, URGENT) for qid, text in phrases.URGENT_QUESTIONS]
)
QUESTION_BY_ID = {q.id: q for q in QUESTIONS}
EMERGENCY_IDS = tuple(q.id for q in QUESTIONS if q.level == EMERGENCY)
URGENT_IDS = tuple(q.id for q in QUESTIONS if q.level == URGENT)


class UnknownQuestion(ProgrammeError):
    """An answer names a question id the screen does not have."""


def answers_from_yes(yes_ids: Iterable[str]) -> dict[str, bool]:
    """All questions answered: the given ids "yes", every other "no"."""
    yes = {i.strip() for i in yes_ids if i.strip()}
    unknown = sorted(yes - set(QUESTION_BY_ID))
    if unknown:
        raise UnknownQuestion(f"unknown question id(s): {', '.join(unknown)} (known: {', '.join(QUESTION_BY_ID)})")
    return {q.id: q.id in yes for q in QUESTIONS}


@dataclass(frozen=True)
class Screen:
    """One answered screen. ``seq`` orders events of the same day (the store's insertion order)."""

    day: dt.date
    answers: Mapping[str, bool]
    seq: int = 0

    @property
    def yes(self) -> tuple[str, ...]:
        return tuple(q.id for q in QUESTIONS if self.answers.get(q.id, False))

    @property
    def level(self) -> str:
        return screen_level(self.answers)


@dataclass(frozen=True)
class Clearance:
    """A recorded clinician review (date and free text)."""

    day: dt.date
    note: str
    seq: int = 0


def screen_level(answers: Mapping[str, bool]) -> str:
    """``emergency`` if any emergency answer is yes, else ``urgent`` if any urgent one is, else ``clear``."""
    unknown = sorted(set(answers) - set(QUESTION_BY_ID))
    if unknown:
        raise UnknownQuestion(f"unknown question id(s): {', '.join(unknown)}")
    if any(answers.get(i, False) for i in EMERGENCY_IDS):
        return EMERGENCY
    if any(answers.get(i, False) for i in URGENT_IDS):
        return URGENT
    return CLEAR


@dataclass(frozen=True)
class Lock:
    """The safety lock after a sequence of screens and clearances.

    ``level`` is None, ``urgent`` or ``emergency``; ``since`` the day the lock was (last) raised;
    ``cleared`` whether a clinician review has been recorded since then (a clean screen after it
    lifts the lock)."""

    level: str | None = None
    since: dt.date | None = None
    since_seq: int = 0
    cleared: bool = False


def fold_lock(events: Iterable[Screen | Clearance], lock: Lock = Lock()) -> Lock:
    """Apply screens and clearances, in (day, seq) order, to a lock."""
    for e in sorted(events, key=lambda e: (e.day, e.seq)):
        lock = step_lock(lock, e)
    return lock


def step_lock(lock: Lock, event: Screen | Clearance) -> Lock:
    if isinstance(event, Clearance):
        return Lock(lock.level, lock.since, lock.since_seq, cleared=lock.level is not None) if lock.level else lock
    level = event.level
    if level == CLEAR:
        if lock.level is not None and lock.cleared:
            return Lock()
        return lock  # a clean screen alone never lifts a lock
    if level == EMERGENCY or lock.level != EMERGENCY or lock.cleared:
        # an emergency "yes" always (re)locks; an urgent "yes" (re)raises an urgent lock, and after
        # a clearance replaces a cleared emergency lock by an urgent one that needs its own review
        return Lock(level, event.day, event.seq, cleared=False)
    return lock  # urgent "yes" while an emergency lock stands: still emergency


def red_flag_summary() -> str:
    """The red-flag summary: a title line, then one line per emergency sign."""
    return "\n".join([phrases.RED_FLAG_TITLE, *(f"- {line}" for line in phrases.RED_FLAG_LINES)])


def lock_message(level: str | None) -> str | None:
    return {EMERGENCY: phrases.EMERGENCY_MESSAGE, URGENT: phrases.URGENT_MESSAGE}.get(level or "")
