"""A session's walk and run intervals on the run's clock: the engine says "run now" / "walk now"
at each edge, counts the intervals, and lets form cues speak only while running.

    plan = IntervalPlan.walk_run([(180, 120)] * 6)   # stage 2: 6 x (walk 3:00 / run 2:00)
    plan.phases   # warm-up walk 10:00, walk 3:00, run 2:00, ..., cool-down walk 5:00

Times are seconds from the start of the run (the engine's common clock). A continuous run is
one run interval between the warm-up and the cool-down.
"""

from __future__ import annotations

from dataclasses import dataclass

WARMUP_S = 600.0  # brisk walking before every session
COOLDOWN_S = 300.0  # walking after it
PROMPT_EVERY_S = 600.0  # continuous running: a pain check-in prompt every 10 minutes
PROMPT_TEXT = "Pain check: how is it now, 0 to 10?"
WALK, RUN, WARMUP, COOLDOWN, DONE = "walk", "run", "warmup", "cooldown", "done"


@dataclass(frozen=True)
class Phase:
    kind: str  # WARMUP, WALK, RUN, COOLDOWN or DONE
    start_s: float
    end_s: float  # inf for DONE
    index: int = 0  # the walk/run pair this phase belongs to, from 1 (0: warm-up, cool-down, done)
    count: int = 0  # how many pairs the session has

    @property
    def running(self) -> bool:
        return self.kind == RUN


@dataclass(frozen=True)
class IntervalPlan:
    phases: tuple[Phase, ...]

    @classmethod
    def walk_run(
        cls, intervals: list[tuple[float, float]] | tuple[tuple[float, float], ...], *,
        warmup_s: float = WARMUP_S, cooldown_s: float = COOLDOWN_S,
    ) -> IntervalPlan:  # fmt: skip
        """``intervals``: (walk_s, run_s) pairs in order (walk 0: a continuous run)."""
        out: list[Phase] = []
        t = 0.0
        if warmup_s > 0:
            out.append(Phase(WARMUP, 0.0, warmup_s))
            t = warmup_s
        n = len(intervals)
        for i, (walk_s, run_s) in enumerate(intervals, 1):
            if walk_s < 0 or run_s < 0:
                raise ValueError(f"interval {i}: walk and run seconds must not be negative")
            if walk_s > 0:
                out.append(Phase(WALK, t, t + walk_s, i, n))
                t += walk_s
            if run_s > 0:
                out.append(Phase(RUN, t, t + run_s, i, n))
                t += run_s
        if cooldown_s > 0:
            out.append(Phase(COOLDOWN, t, t + cooldown_s))
            t += cooldown_s
        out.append(Phase(DONE, t, float("inf")))
        return cls(tuple(out))

    @property
    def prompts_s(self) -> tuple[float, ...]:
        """When the runner is asked for a pain check-in: at the start of every walk interval that
        follows a run interval, and every 10 minutes into a long run interval."""
        out = []
        ran = False
        for p in self.phases:
            if p.kind == WALK and ran:
                out.append(p.start_s)
            if p.kind == RUN:
                ran = True
                t = p.start_s + PROMPT_EVERY_S
                while t < p.end_s - 1.0:
                    out.append(t)
                    t += PROMPT_EVERY_S
        return tuple(sorted(out))

    def at(self, time_s: float) -> Phase:
        for p in self.phases:
            if p.start_s <= time_s < p.end_s:
                return p
        return self.phases[0] if time_s < self.phases[0].start_s else self.phases[-1]

    @property
    def running_s(self) -> float:
        return sum(p.end_s - p.start_s for p in self.phases if p.kind == RUN)


def edge_text(phase: Phase, stopped: bool = False) -> str:
    """What is said at the start of a phase (plain instructions, no encouragement)."""
    if phase.kind == WARMUP:
        return f"Walk briskly for {round((phase.end_s - phase.start_s) / 60):d} minutes to warm up."
    if phase.kind == RUN and not stopped:
        return f"Run now. {phase.index} of {phase.count}."
    if phase.kind in (WALK, RUN):  # after a stop every run interval is walked
        return f"Walk now. {phase.index} of {phase.count}."
    if phase.kind == COOLDOWN:
        return "Walk now, easy, to finish."
    return "Session done."
