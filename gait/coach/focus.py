"""When the coach may speak, and about what: quiet start, feedback blocks, focus, faded feedback.

Motor-learning practice behind it: change one aspect of form at a time (the focus), give less
feedback as the runner improves (faded feedback, reduced relative frequency), and check that the
change holds without feedback (blocks without cues). Peers (peers.md) offer none of these.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .config import CoachConfig

QUIET = "quiet"
FEEDBACK = "feedback"
NO_FEEDBACK = "no_feedback"
# A focus on bounce covers vertical ratio and the other way round: one piece of advice.
RELATED = {"bounce": ("vertical_ratio",), "vertical_ratio": ("bounce",)}


@dataclass(frozen=True)
class Block:
    index: int
    kind: str  # QUIET / FEEDBACK / NO_FEEDBACK
    start_s: float  # run time (seconds since the first step)
    end_s: float  # math.inf for the last block


class Schedule:
    """Run time -> block. Block 0 is the quiet start (baseline minutes) when ``start_s`` > 0;
    then feedback blocks, alternating with no-feedback blocks when those are configured."""

    def __init__(self, config: CoachConfig):
        fb = config.feedback
        self.start_s = fb.start_s
        self.blocks = fb.blocks

    def block_at(self, run_s: float) -> Block:
        first = 1 if self.start_s > 0 else 0
        if run_s < self.start_s:
            return Block(0, QUIET, 0.0, self.start_s)
        if not self.blocks.enabled:
            return Block(first, FEEDBACK, self.start_s, math.inf)
        period = self.blocks.feedback_s + self.blocks.no_feedback_s
        k = int((run_s - self.start_s) // period)
        p0 = self.start_s + k * period
        if run_s - p0 < self.blocks.feedback_s:
            return Block(first + 2 * k, FEEDBACK, p0, p0 + self.blocks.feedback_s)
        return Block(first + 2 * k + 1, NO_FEEDBACK, p0 + self.blocks.feedback_s, p0 + period)


class Focus:
    """The rule(s) allowed to speak in the current feedback block."""

    def __init__(self, config: CoachConfig, available: tuple[str, ...]):
        self.config = config
        self.available = available  # enabled and measurable rules
        self.auto = config.focus.rules == ("auto",)
        self.current: str | None = None
        self._block: int | None = None
        self._n_feedback_blocks = 0
        self.history: list[tuple[float, str]] = []  # (run time, focus) as chosen

    def on_block(self, block: Block) -> None:
        if block.kind != FEEDBACK or block.index == self._block:
            return
        self._block = block.index
        n = self._n_feedback_blocks
        self._n_feedback_blocks += 1
        if self.config.focus.scope == "block" or n == 0:
            if self.auto:
                if self.config.focus.scope == "block":
                    self.current = None  # picked again from what is off target in this block
            else:
                rules = self.config.focus.rules
                self.current = rules[n % len(rules)] if self.config.focus.scope == "block" else rules[0]
                self.history.append((block.start_s, self.current))

    def pick(self, off_rules: list[str], run_s: float) -> None:
        """Auto focus: the highest-priority rule among those off target now (if none yet)."""
        if not self.auto or self.current is not None or not off_rules:
            return
        order = [r for r in self.config.focus.priority if r in self.available]
        order += [r for r in self.available if r not in order]
        for r in order:
            if r in off_rules:
                self.current = r
                self.history.append((run_s, r))
                return

    def covers(self, rule: str) -> bool:
        if self.current is None:
            return False
        return rule == self.current or rule in RELATED.get(self.current, ())


class Fade:
    """Faded feedback: the share of cue opportunities that are voiced (see `FadeConfig`)."""

    def __init__(self, config: CoachConfig):
        self.cfg = config.feedback.fade
        self.ratio = 1.0
        self._acc = 0.0
        self.started = False  # fading starts with the first voiced cue (nothing to fade before)
        self.history: list[tuple[float, float]] = []  # (run time, ratio) after each change

    def take(self) -> bool:
        """One cue opportunity: voice it? Deterministic (an error-diffusion accumulator)."""
        if not self.cfg.enabled:
            return True
        self._acc += self.ratio
        if self._acc >= 1.0 - 1e-9:
            self._acc -= 1.0
            self.started = True
            return True
        return False

    def interval_scale(self) -> float:
        return 1.0 / self.ratio if self.cfg.enabled else 1.0

    def _set(self, ratio: float, run_s: float) -> None:
        ratio = min(1.0, max(self.cfg.min_ratio, ratio))
        if ratio != self.ratio:
            self.ratio = ratio
            self.history.append((run_s, ratio))

    def corrected(self, cue_to_clear_s: float, run_s: float) -> None:
        if self.cfg.enabled and cue_to_clear_s <= self.cfg.correct_within_s:
            self._set(self.ratio * self.cfg.factor, run_s)

    def held(self, run_s: float) -> None:
        if self.cfg.enabled and self.started:
            self._set(self.ratio * self.cfg.factor, run_s)

    def uncorrected(self, run_s: float) -> None:
        if self.cfg.enabled:
            self._set(self.ratio / self.cfg.factor, run_s)
