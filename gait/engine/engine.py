"""The run engine: packets in, typed events out, the same for every run.

    source -> RunEngine.feed(packet) -> device sessions (decode, device clock, gaps, health)
           -> one Pipeline per device -> steps on the common clock -> coach -> events -> sinks

Deterministic: the same packets in the same order give the same events (health is paced by
receive time, not wall time), which is why a replay of a capture prints, stores and coaches
what the live run did. The engine never knows who reads its events: the local store, InfluxDB,
the live bus, the cue player and the terminal are `gait.engine.sinks.Sink` objects handed to it.
A sink that raises is reported and dropped; a device whose pipeline raises is stopped alone.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from firmware_interface.capture import CaptureWriter
from firmware_interface.session import DeviceConfig, DeviceEvent, RawPacket, RscReading, SessionSet
from gait.coach import Coach
from gait.core.config import PipelineConfig
from gait.core.errors import GaitError
from gait.core.records import (
    ALERT_CLEAR,
    ALERT_CUE,
    ALERT_SILENT,
    ALERT_STOP,
    Alert,
    Gap,
    PainNote,
    QualityEvent,
    SampleBlock,
    StepMetrics,
)
from gait.engine.events import (
    END_OF_SOURCE,
    RUN_CLOSED,
    RUN_INTERRUPTED,
    RUN_STARTED,
    AlertRaised,
    DeviceHealth,
    DeviceStatus,
    Event,
    GapFound,
    IntervalEdge,
    LinkChanged,
    Message,
    Notice,
    PainReported,
    RunState,
    RunSummary,
    SpeedRead,
    Step,
)
from gait.engine.intervals import PROMPT_TEXT, IntervalPlan, edge_text
from gait.engine.pod_speed import PodSpeed

HEALTH_EVERY_S = 1.0  # device health to the sinks, seconds of receive time
POLL_EVERY_S = 0.5  # wall-clock seconds between looks at the sinks' new problems
PAIN_FROM_THREAD_TIMEOUT_S = 5.0
PAIN_PHASES = ("before", "during", "after")
# device events that say something about the data (stored as quality events)
DATA_LINK_EVENTS = ("connected", "disconnected", "stopped", "restart", "rate_changed", "unsupported")


def _silenced(alerts: Sequence[Alert]) -> list[Alert]:
    """The alerts recorded silently: a cue or a clear is not spoken (stops and silent ones stay)."""
    return [replace(a, kind=ALERT_SILENT) if a.kind in (ALERT_CUE, ALERT_CLEAR) else a for a in alerts]


@dataclass
class _Device:
    config: PipelineConfig | None = None
    pipeline: Any = None
    steps: int = 0
    error: str | None = None
    last_rsc: RscReading | None = None


class RunEngine:
    """One run. ``devices``: the declared devices (others are added as they appear);
    ``pipeline``: the run's pipeline configuration, specialised per device (its placement and
    side from the device list, its accelerometer range from the device); ``coach``: watches the
    steps of ``coach_placement`` (None: every step); ``sinks``: who hears the events;
    ``recorder``: a capture writer that gets every raw packet before it is decoded; ``plan``:
    today's walk and run intervals (`gait.engine.intervals`): "run now" / "walk now" at each edge,
    form cues only while running, and after a stop no more run intervals. Priority of what is
    said: stop > interval > form cue. ``stop_rule``: the programme's in-run stop rule (back and
    leg pain, how far leg symptoms reach), which then judges every pain report instead of the
    coach's own. ``feedback_on``: the retraining block's faded feedback, a function of the
    seconds run so far (form cues outside its windows are recorded silently). ``focus``: the
    retraining block's one focus (`gait.engine.focus`), whose bandwidth cues are then the only
    form cues spoken; the coach's rules are recorded silently."""

    def __init__(
        self,
        devices: Sequence[DeviceConfig] = (),
        *,
        pipeline: PipelineConfig | None = None,
        coach: Coach | None = None,
        coach_placement: str | None = None,
        sinks: Iterable[Any] = (),
        recorder: CaptureWriter | None = None,
        pain_before: int | None = None,
        pain_after: int | None = None,
        health_every_s: float = HEALTH_EVERY_S,
        run_id: int | None = None,
        plan: IntervalPlan | None = None,
        stop_rule: Callable[[int, int, int | None], str | None] | None = None,
        feedback_on: Callable[[float], bool] | None = None,
        focus: Any = None,
        briefing: str | None = None,
    ):
        self.sessions = SessionSet(devices, auto=True)
        self.pipeline_config = pipeline or PipelineConfig(placement="sacrum")
        self.coach = coach
        self.coach_placement = coach_placement
        self.sinks: list[Any] = list(sinks)
        self.recorder = recorder
        self.pain_before = pain_before
        self.pain_after = pain_after
        self.health_every_s = health_every_s
        self.summary = RunSummary(run_id=run_id)
        self.devices: dict[str, _Device] = {}
        self.disconnected: set[str] = set()
        self.pod_speed = PodSpeed()
        self.plan = plan
        self.stopped = False  # a stop alert ended the running part (pain)
        self.stopped_s: float | None = None
        self.stop_rule = stop_rule  # the programme's in-run rule: (back, leg, extent) -> stop phrase or None
        self.briefing = briefing  # said first, before the session (the weekly red-flag reminder)
        self.focus = focus  # today's one focus (gait.engine.focus.FocusFeedback): it alone speaks about form
        if focus is not None and feedback_on is None:
            feedback_on = focus.feedback
        self.feedback_on = feedback_on  # faded feedback: running seconds -> may a form cue speak now?
        self._phase = -1  # index into plan.phases of the phase announced last
        self._prompts = list(plan.prompts_s) if plan is not None else []  # pain check-in prompts still due
        self._rx_ns = 0
        self._last_health_ns: int | None = None
        self._next_poll = 0.0
        self._started = False
        self._finished = False
        self._lock = threading.RLock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None

    # ------------------------------------------------------------------------------------------
    # lifecycle
    # ------------------------------------------------------------------------------------------
    def add_sink(self, sink: Any) -> None:
        with self._lock:
            self.sinks.append(sink)
            if self._started and hasattr(sink, "attach"):
                self._guard(sink, sink.attach, self)

    def start(self) -> None:
        """The run starts: the sinks hear of it, the check-in before the run is taken."""
        with self._lock:
            if self._started:
                return
            self._started = True
            for sink in list(self.sinks):
                if hasattr(sink, "attach"):
                    self._guard(sink, sink.attach, self)
            self._emit(RunState(RUN_STARTED, 0.0))
            if self.briefing:  # safety first: before the session's first call
                self._alerts([Alert(0.0, "interval", ALERT_CUE, self.briefing, target="safety")])
            if self.pain_before is not None:
                self.pain(self.pain_before, "before", time_s=0.0)
            self._advance_plan(0.0)

    def bind_loop(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """The event loop the run lives in: `pain_from_thread` from another thread runs there."""
        self._loop = loop
        self._loop_thread = threading.get_ident() if loop is not None else None

    def say(self, text: str, time_s: float | None = None) -> None:
        """A line for people (the terminal shows it; the store ignores it)."""
        with self._lock:
            self._emit(Message(text, time_s=time_s))

    def now_s(self) -> float:
        """The stream time now: seconds on the common clock (receive time since the first packet)."""
        return self._rx_s(self._rx_ns)

    @property
    def finished(self) -> bool:
        return self._finished

    # ------------------------------------------------------------------------------------------
    # input
    # ------------------------------------------------------------------------------------------
    def feed(self, packet: RawPacket) -> None:
        """One raw packet (kept by the recorder first: what cannot be decoded is still kept)."""
        with self._lock:
            if not self._started:
                self.start()
            if self.recorder is not None:
                self.recorder.write(packet)
            self.summary.packets += 1
            self._rx_ns = packet.rx_time_ns
            self._advance_plan(self.now_s())
            for device, record in self.sessions.feed(packet):
                self._handle(device, record)
            self._maybe_health(packet.rx_time_ns)
            now = time.monotonic()
            if now >= self._next_poll:
                self._next_poll = now + POLL_EVERY_S
                self._poll_sinks()

    def finish(self, reason: str = END_OF_SOURCE) -> RunSummary:
        """Flush sessions and pipelines, the check-in after the run, the final health, the capture
        closed, the run closed in every sink ('closed' at the end of the source, else 'interrupted')."""
        with self._lock:
            if self._finished:
                return self.summary
            if not self._started:
                self.start()
            self._finished = True
            self.summary.reason = reason
            for device, record in self.sessions.flush():
                self._handle(device, record)
            for device, st in self.devices.items():
                if st.pipeline is not None:
                    self._pipeline_records(device, self._safe(device, st.pipeline.flush))
            self._emit(Message(f"end ({reason}): {self.summary.packets} packets, {self.summary.steps} steps"))
            if self.pain_after is not None:
                self.pain(self.pain_after, "after")
            self._emit(self._health_event(final=True))
            self.summary.health = {d: h.to_dict() for d, h in self.sessions.health().items()}
            if self.recorder is not None:
                self.recorder.close(
                    {"reason": reason, "packets": self.summary.packets, "health": self.summary.health},
                    rx_time_ns=self._rx_ns,
                )
            self._poll_sinks()
            status = RUN_CLOSED if reason == END_OF_SOURCE else RUN_INTERRUPTED
            self.summary.status = status
            if self.coach is not None:
                self.summary.coach = self.coach.summary()
            self._emit(RunState(status, self.now_s(), reason))
            for sink in list(self.sinks):
                if hasattr(sink, "close"):
                    self._guard(sink, sink.close, self.summary)
            return self.summary

    # ------------------------------------------------------------------------------------------
    # pain
    # ------------------------------------------------------------------------------------------
    def pain(self, score: int, phase: str = "during", note: str = "", time_s: float | None = None) -> list[Any]:
        """A pain check-in (0-10) at ``time_s`` (default: now on the stream clock): the coach
        decides (a stop overrides every other cue); every sink hears the note and the alerts.
        Returns ``[PainNote, *alerts]``. ValueError for a bad score or phase."""
        if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 10:
            raise ValueError(f"pain score must be a whole number from 0 to 10, got {score!r}")
        if phase not in PAIN_PHASES:
            raise ValueError(f"pain phase must be before, during or after, got {phase!r}")
        if self.stop_rule is not None:  # one number: taken as both back and leg pain (the cautious reading)
            return self.checkin(score, score, None, phase=phase, note=note, time_s=time_s)
        with self._lock:
            t = float(self.now_s() if time_s is None else time_s)
            if self.coach is not None:
                alerts = self.coach.pain(score, time_s=t, phase=phase, note=note)
                pain_note = self.coach.pain_notes[-1]
            else:
                alerts, pain_note = [], PainNote(time_s=t, score=score, phase=phase, note=note)
            self.summary.pain_notes.append(pain_note)
            self._emit(PainReported(pain_note))
            self._alerts(alerts)
            return [pain_note, *alerts]

    def checkin(
        self,
        back_nrs: int,
        leg_nrs: int,
        leg_extent: int | None = None,
        *,
        phase: str = "during",
        note: str = "",
        time_s: float | None = None,
    ) -> list[Any]:
        """A pain check-in with back and leg pain (0-10) and how far leg symptoms reach (0-4),
        judged by the programme's stop rule (without one: the coach's rule on the worse of the two).
        A stop is said once ("stop running now and walk"); after it only walking and safety.
        Returns ``[PainNote, *alerts]``."""
        for name, v, top in (("back", back_nrs, 10), ("leg", leg_nrs, 10), ("leg extent", leg_extent, 4)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= top):
                raise ValueError(f"{name} must be a whole number from 0 to {top}, got {v!r}")
        if phase not in PAIN_PHASES:
            raise ValueError(f"pain phase must be before, during or after, got {phase!r}")
        if self.stop_rule is None:
            return self.pain(max(back_nrs, leg_nrs), phase, note, time_s)
        with self._lock:
            t = float(self.now_s() if time_s is None else time_s)
            words = f"back {back_nrs}, leg {leg_nrs}" + ("" if leg_extent is None else f", reaches {leg_extent}")
            pain_note = PainNote(t, max(back_nrs, leg_nrs), phase, "; ".join(x for x in (words, note) if x))
            self.summary.pain_notes.append(pain_note)
            self._emit(PainReported(pain_note))
            alerts: list[Alert] = []
            phrase = self.stop_rule(back_nrs, leg_nrs, leg_extent) if phase == "during" else None
            if phrase and not self.stopped:
                alerts = [Alert(t, "pain", ALERT_STOP, phrase, float(max(back_nrs, leg_nrs)), severity="stop")]
                self.stopped_s = t
            self._alerts(alerts)
            return [pain_note, *alerts]

    def plan_finished(self) -> bool:
        """Every walk and run interval of the plan has passed (no plan: True)."""
        if self.plan is None:
            return True
        ends = [p.end_s for p in self.plan.phases if p.kind in ("walk", "run")]
        return not ends or self.now_s() >= max(ends) - 1.0

    def running_s(self, at_s: float | None = None) -> float:
        """Seconds of running by ``at_s`` (default now): the plan's run intervals that have passed
        (until a stop); without a plan, the whole run."""
        end = self.now_s() if at_s is None else at_s
        end = end if self.stopped_s is None else min(end, self.stopped_s)
        if self.plan is None:  # no session plan: all of the run is running
            return end
        return sum(max(0.0, min(p.end_s, end) - p.start_s) for p in self.plan.phases if p.running)

    def pain_from_thread(self, score: int, phase: str = "during", note: str = "") -> list[Any]:
        """`pain` from another thread (the dashboard server's): run on the run's own event loop
        when it has one, so the coach is only ever touched by one thread at a time."""
        loop, thread = self._loop, self._loop_thread
        if loop is not None and thread != threading.get_ident() and loop.is_running() and not loop.is_closed():
            fut: concurrent.futures.Future[list[Any]] = concurrent.futures.Future()

            def run() -> None:
                try:
                    fut.set_result(self.pain(score, phase, note))
                except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                    fut.set_exception(exc)

            try:
                loop.call_soon_threadsafe(run)
                return fut.result(PAIN_FROM_THREAD_TIMEOUT_S)
            except (RuntimeError, concurrent.futures.TimeoutError):
                pass  # the loop is gone or stuck: take it here, under the lock
        return self.pain(score, phase, note)

    # ------------------------------------------------------------------------------------------
    # records from the sessions
    # ------------------------------------------------------------------------------------------
    def _device(self, device: str) -> _Device:
        st = self.devices.get(device)
        if st is None:
            st = self.devices[device] = _Device()
        return st

    def _pipeline_for(self, device: str) -> Any:
        from gait.pipeline import Pipeline

        st = self._device(device)
        if st.pipeline is not None or st.error is not None:
            return st.pipeline
        session = self.sessions.sessions[device]
        spec = self.sessions.specs.get(device)
        rate = session.sample_rate_hz
        base = self.pipeline_config
        try:
            if not rate:
                raise GaitError(f"{device}: sample rate unknown")
            acc_range = getattr(session, "acc_range_g", None)
            st.config = replace(
                base,
                placement=(spec.placement if spec else None) or base.placement or "sacrum",
                side=(spec.side if spec else None) or base.side,
                acc_range_g=float(acc_range) if acc_range else base.acc_range_g,
            )
            st.pipeline = Pipeline(st.config, rate)
        except (GaitError, ValueError) as exc:
            st.error = str(exc)
            self._emit(Message(f"{device}: cannot analyse: {exc}", device=device))
            return None
        side_txt = f" {st.config.side}" if st.config.side else ""
        self._emit(Message(f"{device}: {session.kind} {rate:g} Hz, {st.config.placement}{side_txt}", device=device))
        return st.pipeline

    def _safe(self, device: str, fn: Callable[..., list], *args: Any) -> list:
        try:
            return fn(*args)
        except Exception as exc:  # noqa: BLE001 - one failing device must not stop the others
            st = self._device(device)
            st.error = f"{type(exc).__name__}: {exc}"
            st.pipeline = None
            self._emit(Message(f"{device}: pipeline stopped: {st.error}", device=device))
            return []

    def _handle(self, device: str, record: object) -> None:
        if isinstance(record, SampleBlock):
            pipe = self._pipeline_for(device)
            if pipe is not None:
                self._pipeline_records(device, self._safe(device, pipe.process, record))
        elif isinstance(record, Gap):
            t = self.sessions.to_common(device, record.start_s)
            t_end = self.sessions.to_common(device, record.end_s)
            self._emit(GapFound(device, Gap(t, t_end, record.missing_samples)))
        elif isinstance(record, DeviceEvent):
            self._link(device, record)
        elif isinstance(record, RscReading):
            self._device(device).last_rsc = record
            self.pod_speed.update(record)
            if record.speed_mps is not None:
                cadence = None if record.cadence_spm is None else float(record.cadence_spm)
                self._emit(SpeedRead(device, self._rx_s(record.rx_time_ns), float(record.speed_mps), cadence))

    def _link(self, device: str, ev: DeviceEvent) -> None:
        reconnect = ev.kind == "connected" and device in self.disconnected
        if ev.kind == "connected":
            self.disconnected.discard(device)
        elif ev.kind == "disconnected":
            self.disconnected.add(device)
        elif ev.kind == "rate_changed":
            st = self._device(device)
            if st.pipeline is not None:
                self._pipeline_records(device, self._safe(device, st.pipeline.flush))
            st.pipeline = None
            st.error = None
        about_data = ev.kind in DATA_LINK_EVENTS and (ev.kind != "connected" or reconnect)
        self._emit(LinkChanged(device, self._rx_s(ev.rx_time_ns), ev.kind, ev.detail or "", reconnect, about_data))

    def _pipeline_records(self, device: str, records: list) -> None:
        st = self._device(device)
        for r in records:
            if isinstance(r, StepMetrics):
                st.steps += 1
                self.summary.steps += 1
                self._step(device, st, r)
            elif isinstance(r, QualityEvent):
                t = self.sessions.to_common(device, r.time_s)
                self._emit(Notice(device, QualityEvent(t, r.code, r.message)))
            # a pipeline Gap: the session reported it already, with its device-side cause

    def _step(self, device: str, st: _Device, s: StepMetrics) -> None:
        s = self.pod_speed.fill_vertical_ratio(s, self._rx_ns)
        t_ic = self.sessions.to_common(device, s.ic_s)
        t_to = self.sessions.to_common(device, s.to_s)
        now = self.now_s()
        emitted = self.sessions.to_common(device, s.emitted_s) if math.isfinite(s.emitted_s) else now
        common = replace(s, ic_s=t_ic, to_s=t_to, emitted_s=emitted)
        placement = st.config.placement if st.config is not None else None
        self._emit(Step(device, placement, common, s, (now - t_to) * 1e3))
        if self.coach_placement is None or placement is None or placement == self.coach_placement:
            alerts = self.coach.on_step(common) if self.coach is not None else []
            if self.focus is not None:  # one focus speaks: the block's; the coach's rules are recorded silently
                alerts = _silenced(alerts)
                alerts += self._focus_cue(common)
            self._alerts(self._form_cues_allowed(alerts))

    def _focus_cue(self, step: StepMetrics) -> list[Alert]:
        """The focus's form cue (gated by the feedback windows later) and, said at once, a word
        about the session (the probe starting, a maintenance form check)."""
        running = not self.stopped and (self.plan is None or self.plan.at(self.now_s()).running)
        speed = self.pipeline_config.speed_mps or self.pod_speed.speed_mps(self._rx_ns)
        cue, say = self.focus.on_step(step.ic_s, step, running=running, running_s=self.running_s(step.ic_s),
                                      speed_mps=speed)  # fmt: skip
        if say is not None:
            self._alerts([Alert(step.ic_s, "interval", ALERT_CUE, say, target="focus")])
        if cue is None:
            return []
        t = self.focus.plan.target
        band = f"{t.low:.3g} to {t.high:.3g} (baseline {t.baseline:.3g})"
        return [Alert(step.ic_s, self.focus.plan.metric, ALERT_CUE, cue, target=band)]

    def _form_cues_allowed(self, alerts: list[Alert]) -> list[Alert]:
        """With a plan, form cues speak only while running (and never after a stop): the others
        are recorded silently."""
        allowed = not self.stopped and (self.plan is None or self.plan.at(self.now_s()).running)
        if allowed and self.feedback_on is not None:
            allowed = bool(self.feedback_on(self.running_s()))
        if allowed:
            return alerts
        return _silenced(alerts)

    def _alerts(self, alerts: Sequence[Alert]) -> None:
        for a in alerts:
            if a.kind == ALERT_STOP:
                self.stopped = True
                if self.stopped_s is None:
                    self.stopped_s = a.time_s
            self.summary.alerts.append(a)
            self._emit(AlertRaised(a))

    def _advance_plan(self, now_s: float) -> None:
        """Announce every phase of the plan that has started by ``now_s`` (at its own start time)."""
        plan = self.plan
        if plan is None:
            return
        while self._phase + 1 < len(plan.phases) and plan.phases[self._phase + 1].start_s <= now_s:
            self._phase += 1
            p = plan.phases[self._phase]
            if self.stopped and p.kind in ("walk", "run"):
                continue  # after a stop: walking to the end, nothing more to announce but the end
            text = edge_text(p, self.stopped)
            if self._prompts and abs(self._prompts[0] - p.start_s) < 1e-9:  # one utterance, not two
                self._prompts.pop(0)
                text = f"{text} {PROMPT_TEXT}"
            self._emit(IntervalEdge(p.start_s, p.kind, p.index, p.count, p.end_s, text, self.stopped))
            self._alerts([Alert(p.start_s, "interval", ALERT_CUE, text, target=p.kind)])
        while self._prompts and self._prompts[0] <= now_s:
            t = self._prompts.pop(0)
            if not self.stopped:  # after a stop the session is walked to its end: nothing more is asked
                self._alerts([Alert(t, "interval", ALERT_CUE, PROMPT_TEXT, target="prompt")])

    # ------------------------------------------------------------------------------------------
    # health and events
    # ------------------------------------------------------------------------------------------
    def _rx_s(self, rx_ns: int) -> float:
        origin = self.sessions.rx_origin_ns
        return 0.0 if origin is None else (rx_ns - origin) / 1e9

    def _maybe_health(self, rx_ns: int) -> None:
        if self._last_health_ns is None:
            self._last_health_ns = rx_ns
            return
        if rx_ns - self._last_health_ns >= self.health_every_s * 1e9:
            self._last_health_ns = rx_ns
            self._emit(self._health_event())

    def _health_event(self, final: bool = False) -> DeviceHealth:
        statuses = []
        for device, health in self.sessions.health().items():
            st = self._device(device)
            r = st.last_rsc
            statuses.append(
                DeviceStatus(
                    device,
                    health,
                    st.steps,
                    None if r is None or r.speed_mps is None else float(r.speed_mps),
                    None if r is None or r.cadence_spm is None else float(r.cadence_spm),
                    st.error,
                )
            )
        lines = []
        for sink in self.sinks:
            line = self._guard(sink, sink.health_line) if hasattr(sink, "health_line") else None
            if line:
                lines.append(line)
        return DeviceHealth(self.now_s(), tuple(statuses), self.sessions.unknown, tuple(lines), final)

    def _poll_sinks(self) -> None:
        for sink in list(self.sinks):
            if hasattr(sink, "problems"):
                for text in self._guard(sink, sink.problems) or ():
                    self._emit(Message(text, time_s=self.now_s()))

    def _emit(self, event: Event) -> None:
        for sink in list(self.sinks):
            self._guard(sink, sink.handle, event)

    def _guard(self, sink: Any, fn: Callable[..., Any], *args: Any) -> Any:
        """Call a sink; one that raises is dropped and reported to the others (never the run)."""
        try:
            return fn(*args)
        except Exception as exc:  # noqa: BLE001 - a sink must never stop the run
            if sink in self.sinks:
                self.sinks.remove(sink)
                name = getattr(sink, "name", type(sink).__name__)
                self._emit(Message(f"{name}: {type(exc).__name__}: {exc}; no more events to it"))
            return None
