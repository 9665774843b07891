"""Today's one form focus inside a run: the retraining block's faded, bandwidth feedback.

    focus = FocusFeedback(feedback_plan, planned_running_s=plan.running_s)
    cue, say = focus.on_step(t_s, step, running=True, running_s=312.0)  # a form cue; a session word
    focus.session_value(); focus.probe_value(total_running_s)        # medians, after the run

The plan (`gait.programme.retrain.FeedbackPlan`) says which metric speaks, its band around the
runner's own baseline, the session's feedback share (5-minute windows of running time) and
whether today holds a 5-minute probe without feedback (at the start, or the last five running
minutes of session 8). Only running steps count (a flight phase, or 130 spm and more; no warm-up
or implausible flag), as the store's baseline does, so a probe computed here matches one
computed from the stored run.
"""

from __future__ import annotations

import statistics
from typing import Any

from gait.core.records import StepMetrics
from gait.programme import phrases
from gait.programme.retrain import BLOCK_SESSIONS, METRIC_STEP_FIELD
from gait.programme.retrain_store import running_step


class FocusFeedback:
    def __init__(self, plan: Any, planned_running_s: float | None = None):
        self.plan = plan
        self.field = METRIC_STEP_FIELD[plan.metric]
        self.cues = plan.cues()
        self.values: list[tuple[float, float]] = []  # (running seconds, value) of running steps
        # the block's last session ends with the end probe (due once the session is logged)
        self.probe = plan.probe or ("end" if plan.session == BLOCK_SESSIONS else None)
        self.probe_at = plan.probe_at if plan.probe else "end"
        end_probe = self.probe is not None and self.probe_at == "end" and planned_running_s
        self.end_probe_from_s = float(planned_running_s) - plan.probe_s if end_probe else None
        self.every_m = plan.maintenance_every_m  # outdoor maintenance: a form check every so many metres
        self.distance_m = 0.0
        self.next_check_m = self.every_m
        self._probe_said = False

    def feedback(self, running_s: float) -> bool:
        if self.end_probe_from_s is not None and running_s >= self.end_probe_from_s:
            return False  # the probe: the last running minutes without feedback
        return bool(self.plan.feedback_on(running_s))

    def on_step(
        self, t_s: float, step: StepMetrics, *, running: bool, running_s: float, speed_mps: float | None = None
    ) -> tuple[str | None, str | None]:
        """(a form cue, or None; a word about the session itself, or None: the probe starting, a
        maintenance form check). Form cues are gated by the feedback windows; the others are not."""
        value = getattr(step, self.field)
        if running and value is not None and running_step(step):
            self.values.append((running_s, float(value)))
        self.cues, text = self.cues.step(t_s, value, running=running, feedback=self.feedback(running_s))
        if running and not self._probe_said and self._in_probe(running_s):
            self._probe_said = True
            return text, phrases.PROBE_START  # the runner knows the cues are off on purpose
        if self.every_m and running and speed_mps and step.cadence_spm:
            self.distance_m += speed_mps * 60.0 / step.cadence_spm  # one step's length
            if self.distance_m >= self.next_check_m:
                self.next_check_m += self.every_m
                return text, phrases.FOCUS_CHECK_CUE.format(focus=phrases.FOCUS_NAMES[self.plan.metric])
        return text, None

    def _in_probe(self, running_s: float) -> bool:
        if self.probe is None:
            return False
        if self.probe_at == "start":
            return running_s < self.plan.probe_s
        return self.end_probe_from_s is not None and running_s >= self.end_probe_from_s

    def session_value(self) -> float | None:
        return statistics.median(v for _, v in self.values) if self.values else None

    def probe_value(self, total_running_s: float) -> float | None:
        """The probe's median: the first or the last ``probe_s`` seconds of running."""
        plan = self.plan
        if self.probe is None:
            return None
        if self.probe_at == "start":
            vals = [v for s, v in self.values if s < plan.probe_s]
        else:
            vals = [v for s, v in self.values if s >= total_running_s - plan.probe_s]
        return statistics.median(vals) if vals else None
