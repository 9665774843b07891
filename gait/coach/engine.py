"""The streaming coach: StepMetrics in, Alerts out.

    coach = Coach(load_preset("cadence-builder"), RunContext(placement="waist"))
    for step in steps:                      # as the pipeline produces them
        for alert in coach.on_step(step):   # ALERT_CUE / ALERT_SILENT / ALERT_CLEAR / ALERT_STOP
            ...
    coach.pain(6, time_s=812.0)             # a key or a button during the run
    coach.summary()                         # per rule: share on target, cues, time to correction

Per step and per rule: the step's value enters the rule's window (unless flagged), the window's
robust value is compared with the band (hysteresis), an episode off target becomes *active* after
the rule's minimum duration, and an active episode is a cue opportunity now and every
``repeat_s`` after. Whether an opportunity is voiced (ALERT_CUE) or only recorded (ALERT_SILENT)
is decided here, in this order: a pain stop silences everything; the quiet start (baseline
minutes) and no-feedback blocks are silent; only the focus rule speaks; faded feedback skips a
share of opportunities; and two voiced cues are at least ``cooldown_s`` apart. Back on target
gives one ALERT_CLEAR ('good') after a cue, then silence.

Time: rules run on the steps' initial-contact times (``ic_s``); an alert carries the time the
coach could raise it (the step's ``emitted_s`` when the pipeline stamped it, else its ``to_s``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from gait.core.config import PipelineConfig
from gait.core.records import (
    ALERT_CLEAR,
    ALERT_CUE,
    ALERT_SILENT,
    ALERT_STOP,
    Alert,
    PainNote,
    StepMetrics,
)

from .baseline import Baseline, BaselineLearner
from .config import RULES, CoachConfig
from .focus import FEEDBACK, Block, Fade, Focus, Schedule
from .rules import SPECS, Episode, Reading, RuleTracker, RuleWindow, measurable

PAIN_PHASES = ("before", "during", "after")


@dataclass(frozen=True)
class RunContext:
    """What the coach knows about the recording: where the sensor sits (which rules can be
    measured at all), a known running speed, the sample rate (informative)."""

    placement: str | None = None
    speed_mps: float | None = None
    sampling_rate_hz: float | None = None

    @classmethod
    def from_pipeline(cls, config: PipelineConfig, sampling_rate_hz: float | None = None) -> RunContext:
        return cls(placement=config.placement, speed_mps=config.speed_mps, sampling_rate_hz=sampling_rate_hz)


@dataclass
class _RuleStats:
    evaluated: int = 0
    on_target: int = 0
    episodes: int = 0
    cues: int = 0
    silent: int = 0
    clears: int = 0
    corrections: int = 0  # cued episodes that came back on target
    self_corrections: int = 0  # episodes back on target without any cue
    interrupted: int = 0  # episodes ended by a stop / walk, not by a correction
    time_to_correction_s: list[float] = field(default_factory=list)
    first_alert_s: float | None = None


@dataclass
class _BlockStats:
    block: Block
    focus: str | None = None
    evaluated: Counter = field(default_factory=Counter)
    on_target: Counter = field(default_factory=Counter)
    cues: Counter = field(default_factory=Counter)
    silent: Counter = field(default_factory=Counter)
    steps: int = 0


class Coach:
    """Form rules -> alerts, one focus at a time. See the module docstring."""

    def __init__(self, config: CoachConfig | None = None, context: RunContext | PipelineConfig | None = None):
        if isinstance(context, PipelineConfig):
            context = RunContext.from_pipeline(context)
        self.context = context or RunContext()
        config = config or CoachConfig()
        if config.speed_mps is None and self.context.speed_mps is not None:
            config = config.with_(speed_mps=self.context.speed_mps)
        self.config = config
        self.rules = tuple(r for r in config.rules.enabled() if measurable(r, self.context.placement))
        self.unmeasurable = tuple(r for r in config.rules.enabled() if r not in self.rules)
        prio = {r: i for i, r in enumerate(config.focus.priority)}
        self.rules = tuple(sorted(self.rules, key=lambda r: prio.get(r, len(prio))))
        self.windows = {r: RuleWindow(r, config.rules.get(r), config.speed_mps) for r in self.rules}
        self.trackers = {r: RuleTracker(config.rules.get(r)) for r in self.rules}
        self.stats = {r: _RuleStats() for r in self.rules}
        self.baseline = BaselineLearner(config)
        self.schedule = Schedule(config)
        self.focus = Focus(config, self.rules)
        self.fade = Fade(config)
        self.alerts: list[Alert] = []
        self.pain_notes: list[PainNote] = []
        self.t0: float | None = None
        self.last_s: float | None = None
        self._last_running_s: float | None = None
        self._last_cue_s = -math.inf
        self._stopped_s: float | None = None
        self._last_stop_s = -math.inf
        self._hold_since: float | None = None
        self._block: _BlockStats | None = None
        self.blocks: list[dict] = []
        self.n_steps = 0
        self.n_walking = 0
        self.pauses = 0

    # --- the stream -------------------------------------------------------------------------------
    def on_step(self, step: StepMetrics) -> list[Alert]:
        """Feed one step (in order of ``ic_s``); returns the alerts it raised."""
        now = float(step.ic_s)
        at = float(step.emitted_s) if math.isfinite(step.emitted_s) else float(step.to_s)
        out: list[Alert] = []
        self.n_steps += 1
        if self.t0 is None:
            self.t0 = now
        self.last_s = now
        run_s = now - self.t0
        if step.cadence_spm is not None and step.cadence_spm < self.config.min_running_cadence_spm:
            self.n_walking += 1  # walking: the gap it leaves is a pause for the running rules
            return out
        dt = 0.0
        if self._last_running_s is not None:
            gap = now - self._last_running_s
            if gap > self.config.pause_s:
                self._pause()
            else:
                dt = max(0.0, gap)
        self._last_running_s = now

        if self._stopped_s is not None and self.config.pain.repeat_stop_s > 0:
            if now - self._last_stop_s >= self.config.pain.repeat_stop_s:
                self._last_stop_s = now
                out.append(
                    self._emit(
                        at,
                        "pain",
                        ALERT_STOP,
                        "Stop and walk: pain",
                        severity="stop",
                        target="walk, no running through pain",
                    )
                )

        self.baseline.add(step, dt, now)
        base = self.baseline.result
        block = self.schedule.block_at(run_s)
        if self._block is None or self._block.block.index != block.index:
            self._close_block()
            self.focus.on_block(block)
            self._block = _BlockStats(block)
        self._block.steps += 1

        events: dict[str, tuple[str | None, Episode | None]] = {}
        for r in self.rules:
            self.windows[r].push(step)
            reading = self.windows[r].reading(now, base)
            ev, ep = self.trackers[r].update(now, reading)
            events[r] = (ev, ep)
            if reading is not None:
                ok = self.trackers[r].off_band(reading.x) is None
                self.stats[r].evaluated += 1
                self.stats[r].on_target += ok
                self._block.evaluated[r] += 1
                self._block.on_target[r] += ok
            if ev == "off":
                self.stats[r].episodes += 1

        if block.kind == FEEDBACK and self._stopped_s is None and self.baseline.done:
            # auto focus waits for the baseline, so rules judged against it can compete
            off = [r for r in self.rules if self.trackers[r].episode is not None]
            self.focus.pick(off, run_s)
        if self._block.focus is None and block.kind == FEEDBACK:
            self._block.focus = self.focus.current

        for r in self.rules:
            ev, ep = events[r]
            gate = self._gate(r, block)
            if ev == "clear" and ep is not None:
                out.extend(self._clear(r, ep, now, at, run_s, gate))
            elif ep is not None and ep.active:
                out.extend(self._active(r, ep, now, at, run_s, gate))
        self._track_hold(now, run_s)
        return out

    def _gate(self, rule: str, block: Block) -> bool:
        """May this rule speak now?"""
        return self._stopped_s is None and block.kind == FEEDBACK and self.focus.covers(rule)

    def _active(self, r: str, ep: Episode, now: float, at: float, run_s: float, gate: bool) -> list[Alert]:
        spec = SPECS[r]
        cfg = self.config.rules.get(r)
        reading = self.trackers[r].last
        advice = spec.above_msg if ep.side == "above" else spec.below_msg
        out: list[Alert] = []
        if gate:
            if ep.next_due_s is not None and now >= ep.next_due_s:
                if now - self._last_cue_s < self.config.feedback.cooldown_s:
                    return out  # another cue a moment ago: try again on a later step
                if self.fade.take():
                    out.append(self._rule_alert(at, r, ALERT_CUE, advice, reading))
                    ep.voiced = True
                    ep.first_cue_s = now if ep.first_cue_s is None else ep.first_cue_s
                    ep.last_cue_s = now
                    self._last_cue_s = now
                else:
                    out.append(self._rule_alert(at, r, ALERT_SILENT, f"{advice} (faded feedback: not voiced)", reading))
                ep.alerted = True
                ep.next_due_s = now + cfg.repeat_s * self.fade.interval_scale()
            if (
                ep.voiced
                and not ep.uncorrected_noted
                and ep.first_cue_s is not None
                and now - ep.first_cue_s >= self.config.feedback.fade.correct_within_s
            ):
                ep.uncorrected_noted = True
                self.fade.uncorrected(run_s)
        elif not ep.alerted:
            out.append(self._rule_alert(at, r, ALERT_SILENT, f"{spec.label} off target: {advice}", reading))
            ep.alerted = True
        return out

    def _clear(self, r: str, ep: Episode, now: float, at: float, run_s: float, gate: bool) -> list[Alert]:
        st = self.stats[r]
        st.clears += 1
        if not ep.active:
            return []  # a short excursion, below the minimum duration: nothing was said
        if ep.voiced and ep.first_cue_s is not None:
            ttc = now - ep.first_cue_s
            st.corrections += 1
            st.time_to_correction_s.append(ttc)
            self.fade.corrected(ttc, run_s)
        else:
            st.self_corrections += 1
        if not ep.alerted:
            return []
        reading = self.trackers[r].last
        label = SPECS[r].label
        if gate and ep.voiced and self.config.feedback.clear_cue:
            return [self._rule_alert(at, r, ALERT_CLEAR, f"Good: {label} on target", reading)]
        return [self._rule_alert(at, r, ALERT_SILENT, f"{label} on target again", reading)]

    def _track_hold(self, now: float, run_s: float) -> None:
        f = self.focus.current
        if f is None or f not in self.trackers:
            self._hold_since = None
            return
        tr = self.trackers[f]
        if tr.episode is not None or tr.last is None:
            self._hold_since = None
            return
        if self._hold_since is None:
            self._hold_since = now
        elif now - self._hold_since >= self.config.feedback.fade.hold_s:
            self.fade.held(run_s)
            self._hold_since = now

    def _pause(self) -> None:
        """The runner stopped or walked: windows and episodes start again, nothing is said."""
        self.pauses += 1
        self._hold_since = None
        for r in self.rules:
            self.windows[r].reset()
            ep = self.trackers[r].reset()
            if ep is not None and ep.active:
                self.stats[r].interrupted += 1

    # --- alerts -----------------------------------------------------------------------------------
    def _rule_alert(self, at: float, r: str, kind: str, message: str, reading: Reading | None) -> Alert:
        w = self.windows[r]
        value = None if reading is None else round(reading.value, 3)
        target = w.target_text(None if reading is None else reading.ref)
        severity = "warn" if kind == ALERT_CUE else "info"
        return self._emit(at, r, kind, message, value=value, target=target, severity=severity)

    def _emit(
        self,
        at: float,
        rule: str,
        kind: str,
        message: str,
        value: float | None = None,
        target: str = "",
        severity: str = "info",
    ) -> Alert:
        alert = Alert(time_s=at, rule=rule, kind=kind, message=message, value=value, target=target, severity=severity)
        self.alerts.append(alert)
        if rule in self.stats:
            st = self.stats[rule]
            if kind == ALERT_CUE:
                st.cues += 1
            elif kind == ALERT_SILENT:
                st.silent += 1
            if st.first_alert_s is None and kind in (ALERT_CUE, ALERT_SILENT):
                st.first_alert_s = at
            if self._block is not None:
                if kind == ALERT_CUE:
                    self._block.cues[rule] += 1
                elif kind == ALERT_SILENT:
                    self._block.silent[rule] += 1
        return alert

    # --- pain -------------------------------------------------------------------------------------
    def pain(self, score: int, time_s: float, phase: str = "during", note: str = "") -> list[Alert]:
        """A pain check-in, 0 (none) to 10 (worst). During the run, a score >= ``pain.stop_at`` or a
        rise of ``pain.rise`` over the pre-run score raises ALERT_STOP and silences every other cue
        for the rest of the run; a pre-run score >= ``stop_at`` raises it before the start."""
        if isinstance(score, bool) or not isinstance(score, int | float) or score != int(score) or not 0 <= score <= 10:
            raise ValueError(f"pain score must be a whole number from 0 to 10, got {score!r}")
        if phase not in PAIN_PHASES:
            raise ValueError(f"pain phase must be one of {PAIN_PHASES}, got {phase!r}")
        score = int(score)
        self.pain_notes.append(PainNote(time_s=float(time_s), score=score, phase=phase, note=note))
        cfg = self.config.pain
        if phase == "after" or self._stopped_s is not None:
            return []
        before = [n.score for n in self.pain_notes if n.phase == "before"]
        reason = None
        if score >= cfg.stop_at:
            reason = f"pain {score}/10"
        elif phase == "during" and before and score - before[0] >= cfg.rise:
            reason = f"pain up from {before[0]} to {score}"
        if reason is None:
            return []
        self._stopped_s = float(time_s)
        self._last_stop_s = float(time_s) if self.last_s is None else max(float(time_s), self.last_s)
        msg = ("Stop and walk: " + reason) if phase == "during" else f"Pain {score}/10 before the run: walk today"
        return [
            self._emit(
                float(time_s),
                "pain",
                ALERT_STOP,
                msg,
                value=float(score),
                severity="stop",
                target=f"below {cfg.stop_at}/10 and no rise of {cfg.rise}",
            )
        ]

    @property
    def stopped(self) -> bool:
        return self._stopped_s is not None

    # --- results ----------------------------------------------------------------------------------
    def _close_block(self) -> None:
        b = self._block
        if b is None:
            return
        end = b.block.end_s if math.isfinite(b.block.end_s) else (self.last_s or 0.0) - (self.t0 or 0.0)
        rules = {}
        for r in self.rules:
            n = b.evaluated[r]
            rules[r] = {
                "evaluated_steps": n,
                "on_target_share": round(b.on_target[r] / n, 3) if n else None,
                "cues": b.cues[r],
                "silent": b.silent[r],
            }
        self.blocks.append(
            {
                "index": b.block.index,
                "kind": b.block.kind,
                "start_run_s": round(b.block.start_s, 1),
                "end_run_s": round(end, 1),
                "steps": b.steps,
                "focus": b.focus,
                "rules": rules,
            }
        )

    def _blocks_so_far(self) -> list[dict]:
        saved, n = self._block, len(self.blocks)
        self._close_block()
        out = list(self.blocks)
        del self.blocks[n:]
        self._block = saved
        # does a change hold without feedback? compare each no-feedback block with the one before
        for i, b in enumerate(out):
            if b["kind"] == "no_feedback" and i > 0 and out[i - 1]["kind"] == FEEDBACK:
                f = out[i - 1]["focus"]
                if f is not None and f in b["rules"]:
                    before = out[i - 1]["rules"][f]["on_target_share"]
                    now = b["rules"][f]["on_target_share"]
                    b = dict(b, focus=f, held=None if before is None or now is None else bool(now >= before - 0.1))
                    out[i] = b
        return out

    def summary(self) -> dict:
        """Per rule: share of steps on target, cues given, time to correction; plus baseline,
        focus, blocks, faded feedback and pain."""
        base: Baseline = self.baseline.result
        rules: dict[str, dict] = {}
        for r in RULES:
            cfg = self.config.rules.get(r)
            if r not in self.rules:
                rules[r] = {
                    "enabled": cfg.enabled,
                    "measurable": r not in self.unmeasurable if cfg.enabled else None,
                    "evaluated_steps": 0,
                }
                continue
            st = self.stats[r]
            ttc = st.time_to_correction_s
            last = self.trackers[r].last
            rules[r] = {
                "enabled": True,
                "measurable": self.windows[r].seen > 0,
                "evaluated_steps": st.evaluated,
                "on_target_share": round(st.on_target / st.evaluated, 3) if st.evaluated else None,
                "episodes": st.episodes,
                "cues": st.cues,
                "silent": st.silent,
                "corrections": st.corrections,
                "self_corrections": st.self_corrections,
                "interrupted": st.interrupted,
                "time_to_correction_s": [round(t, 1) for t in ttc],
                "median_time_to_correction_s": round(float(np.median(ttc)), 1) if ttc else None,
                "first_alert_s": st.first_alert_s,
                "target": self.windows[r].target_text(None if last is None else last.ref),
            }
        counts = Counter(a.kind for a in self.alerts)
        before = [n.score for n in self.pain_notes if n.phase == "before"]
        during = [n.score for n in self.pain_notes if n.phase == "during"]
        after = [n.score for n in self.pain_notes if n.phase == "after"]
        return {
            "preset": self.config.name,
            "placement": self.context.placement,
            "steps": self.n_steps,
            "walking_steps": self.n_walking,
            "pauses": self.pauses,
            "duration_s": None if self.t0 is None or self.last_s is None else round(self.last_s - self.t0, 1),
            "baseline": {k: (round(v, 2) if isinstance(v, float) else v) for k, v in vars_of(base).items()},
            "baseline_learnt_at_run_s": (
                None
                if self.baseline.done_at_s is None or self.t0 is None
                else round(self.baseline.done_at_s - self.t0, 1)
            ),
            "focus": [{"run_s": round(t, 1), "rule": r} for t, r in self.focus.history],
            "unmeasurable": list(self.unmeasurable),
            "rules": rules,
            "blocks": self._blocks_so_far(),
            "fade": {
                "enabled": self.config.feedback.fade.enabled,
                "ratio": self.fade.ratio,
                "changes": [(round(t, 1), r) for t, r in self.fade.history],
            },
            "alerts": {k: counts.get(k, 0) for k in (ALERT_CUE, ALERT_SILENT, ALERT_CLEAR, ALERT_STOP)},
            "pain": {
                "before": before[0] if before else None,
                "during": during,
                "max_during": max(during) if during else None,
                "after": after[-1] if after else None,
                "change_after": (after[-1] - before[0]) if before and after else None,
                "stopped_at_s": self._stopped_s,
            },
        }


def vars_of(b: Baseline) -> dict:
    return {
        k: getattr(b, k)
        for k in ("cadence_spm", "speed_mps", "vo_cm", "vertical_ratio_pct", "gct_ms", "lean_deg", "cadence_slope",
                  "arm_cross_cm")
    }


def coach_run(
    steps: Iterable[StepMetrics],
    config: CoachConfig | str | None = None,
    context: RunContext | PipelineConfig | None = None,
    pain: Sequence[tuple[float, int, str]] = (),
) -> tuple[list[Alert], dict]:
    """Coach a whole recorded run: ``(alerts, summary)``. ``config`` may be a preset name;
    ``pain`` is a list of ``(time_s, score, phase)`` check-ins, replayed at their times."""
    if isinstance(config, str):
        from .config import load_preset

        config = load_preset(config)
    coach = Coach(config, context)
    alerts: list[Alert] = []
    checkins = sorted(pain, key=lambda p: (PAIN_PHASES.index(p[2]) if p[2] != "during" else 1, p[0]))
    pending = [p for p in checkins if p[2] == "during"]
    for t, score, phase in checkins:
        if phase == "before":
            alerts.extend(coach.pain(score, t, phase))
    for step in sorted(steps, key=lambda s: s.ic_s):
        while pending and pending[0][0] <= step.ic_s:
            t, score, phase = pending.pop(0)
            alerts.extend(coach.pain(score, t, phase))
        alerts.extend(coach.on_step(step))
    for t, score, phase in pending:
        alerts.extend(coach.pain(score, t, phase))
    for t, score, phase in checkins:
        if phase == "after":
            alerts.extend(coach.pain(score, t, phase))
    return alerts, coach.summary()
