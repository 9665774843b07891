"""What may be said during a session (principle 1 and invariant 2). Pure: a tiny state machine the
live run feeds with its events; it returns the phrases to say, in priority order.

    guard = InRunGuard.for_session(kind="walk-run", pre=Pain(2, 2, 1), profile="sciatica")
    guard, said = guard.step(RUN_EDGE)            # -> (RUN_NOW,)
    guard, said = guard.step(FormCue("Shorter steps"))   # said while running only
    guard, said = guard.step(Pain(2, 5, 2))       # a report: the stop rule -> (STOP_PHRASE,)

After a stop, only walk and safety phrases: no "run now", no form cue, for the rest of the session.
Form cues only while running, never while walking.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from gait.programme import phrases
from gait.programme.config import DEFAULT_CONFIG, ProgrammeConfig
from gait.programme.pain import Pain, stop_rule

RUN_EDGE = "run_edge"  # an interval edge: running starts
WALK_EDGE = "walk_edge"  # an interval edge: walking starts
SESSION_END = "session_end"


@dataclass(frozen=True)
class FormCue:
    text: str


@dataclass(frozen=True)
class InRunGuard:
    profile: str
    pre: Pain | None = None
    config: ProgrammeConfig = DEFAULT_CONFIG
    running: bool = False
    stopped: bool = False
    ended: bool = False
    allow_running: bool = True

    @classmethod
    def for_session(cls, kind: str, pre: Pain | None, profile: str,
                    config: ProgrammeConfig = DEFAULT_CONFIG) -> InRunGuard:
        return cls(profile, pre, config, allow_running=kind in ("walk-run", "run"))

    def step(self, event: str | FormCue | Pain) -> tuple[InRunGuard, tuple[str, ...]]:
        if self.ended:
            return self, ()
        if isinstance(event, Pain):
            decision = stop_rule(event, self.pre, self.profile, self.config)
            if decision.stop and not self.stopped:
                return replace(self, running=False, stopped=True), (phrases.STOP_PHRASE,)
            return self, ()
        if isinstance(event, FormCue):
            ok = self.running and not self.stopped and self.allow_running
            return self, ((event.text,) if ok else ())
        if event == RUN_EDGE:
            if self.stopped or not self.allow_running:
                return self, ()
            return replace(self, running=True), (phrases.RUN_NOW,)
        if event == WALK_EDGE:
            was_running = self.running
            return replace(self, running=False), ((phrases.WALK_NOW,) if was_running and not self.stopped else ())
        if event == SESSION_END:
            return replace(self, running=False, ended=True), ()
        raise ValueError(f"unknown in-run event {event!r}")
