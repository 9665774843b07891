"""Left or right for a trunk sensor: the whole sequence of steps, not each step alone.

Running alternates feet, so within an unbroken chain of steps the sides are known up to one
choice (which foot the chain started with), and every step's evidence counts toward that choice.
A step's evidence ``x`` is the mean roll rate of the trunk just after its initial contact (left
positive, `gait.detect.trunk`); it is the sum of an alternating part (the pelvis drops towards
the swing side after each contact) and a part common to both feet (pitch leaking into roll when
the forward axis is a little off, the runner's own asymmetry), which on the virtual sacrum
sensors was up to 0.35 of the alternating one. The tracker therefore uses the half difference of
consecutive steps, (x_k - x_k-1) / 2, whose common part cancels, and only the raw value for the
first step of a chain.

State: ``score`` = evidence that the newest step is a left one, each older step's evidence
entering with the sign its parity gives it (steps alternate) and a weight that fades by
``memory`` per step (so a chain whose parity was broken by an undetected extra contact recovers
in a few steps); ``weight`` = the same sum of absolute evidence. ``agreement`` = |score| / weight
is 1 when all the chain's evidence points the same way. A chain's side is *known* once at least
``min_steps`` of its steps carried evidence, ``agreement`` >= ``min_agreement`` and |score| >=
``min_score``. A chain breaks (and starts again knowing nothing) after a gap in the data, a step
longer than the chain allows (a missed contact flips the parity), or a stop.

Pure bookkeeping, no samples: the trunk stage decides what a step's evidence is and when a chain
breaks, and holds a new chain's first steps back until their side is known (`TrunkStepStage`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SideState:
    """The tracker's view after a step: the side of the newest step of the chain (None: no evidence
    yet), how much of the chain's evidence agrees with it, and whether that makes it known."""

    side: str | None
    agreement: float
    known: bool
    position: int  # the newest step's position in its chain (0 = the chain's first step)


def other(side: str | None) -> str | None:
    return {"left": "right", "right": "left"}.get(side) if side else None


def side_at(state: SideState, position: int) -> str | None:
    """The side of the step at ``position`` of the same chain, by alternation from the newest."""
    if state.side is None:
        return None
    return state.side if (state.position - position) % 2 == 0 else other(state.side)


class SideChain:
    """Accumulates the side evidence of a chain of alternating steps (see the module docstring)."""

    def __init__(self, memory: float, min_steps: int, min_agreement: float, min_score: float):
        self.memory = memory
        self.min_steps = min_steps
        self.min_agreement = min_agreement
        self.min_score = min_score
        self.reset()

    def reset(self) -> None:
        self.score = 0.0
        self.weight = 0.0
        self.n_evidence = 0
        self.position = -1
        self._prev_x: float | None = None

    def add(self, x: float | None, continues: bool) -> SideState:
        """The next step: its evidence ``x`` (None: none measurable), ``continues`` False when it
        does not follow the previous step of the chain (a new chain starts with it)."""
        if not continues:
            self.reset()
        self.position += 1
        self.score = -self.memory * self.score  # the previous step's foot is the other one
        self.weight = self.memory * self.weight
        if x is not None and math.isfinite(x):
            e = x if self._prev_x is None else 0.5 * (x - self._prev_x)
            self.score += e
            self.weight += abs(e)
            self.n_evidence += 1
            self._prev_x = x
        else:
            self._prev_x = None  # no difference across a step without evidence
        return self.state()

    def state(self) -> SideState:
        if self.position < 0 or self.score == 0.0:
            return SideState(None, 0.0, False, max(self.position, 0))
        agreement = abs(self.score) / self.weight if self.weight > 0.0 else 0.0
        known = (
            self.n_evidence >= self.min_steps
            and agreement >= self.min_agreement
            and abs(self.score) >= self.min_score
        )
        return SideState("left" if self.score > 0.0 else "right", agreement, known, self.position)
