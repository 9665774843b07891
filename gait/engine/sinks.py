"""Where a run's events go. Every sink has the same small protocol:

    handle(event)         one event of the run (`gait.engine.events`), in order; never blocks
    attach(engine)        optional: the run starts (the sink may keep the engine to `say` lines)
    close(summary)        optional: the run has ended (flush, mark the run closed)
    health_line() -> str  optional: one line for the status display (None: nothing to say)
    problems() -> [str]   optional: new one-line problems since the last call, each once

Sinks here: the local store (`StoreRunSink`), InfluxDB (`InfluxRunSink`), the live bus
(`BusSink`), the cue player (`CueSink`) and an in-memory collector (`Collector`); the terminal
renderer is `gait.engine.terminal.TerminalSink`. None of them knows where the packets came from.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gait.core.records import ALERT_SILENT, Gap, QualityEvent, StepMetrics
from gait.engine.events import (
    RUN_STARTED,
    AlertRaised,
    DeviceHealth,
    GapFound,
    IntervalEdge,
    LinkChanged,
    Notice,
    PainReported,
    RunState,
    RunSummary,
    SpeedRead,
    Step,
)

INFLUX_CLOSE_TIMEOUT_S = 5.0


class Sink:
    """A sink that does nothing: subclass and override what you need."""

    name = "sink"

    def __init__(self) -> None:
        self.engine: Any = None

    def attach(self, engine: Any) -> None:
        self.engine = engine

    def handle(self, event: Any) -> None:  # pragma: no cover - overridden
        pass

    def close(self, summary: RunSummary) -> None:
        pass

    def say(self, text: str) -> None:
        """A line for people, through the engine (the terminal shows it)."""
        if self.engine is not None:
            self.engine.say(text)


def stored_records(event: Any) -> tuple[Any, str | None] | None:
    """The record an event stores (and its device), or None: the one mapping the local store
    and InfluxDB share."""
    if isinstance(event, Step):
        return event.step, event.device
    if isinstance(event, AlertRaised):
        return event.alert, None
    if isinstance(event, PainReported):
        return event.note, None
    if isinstance(event, GapFound):
        return event.gap, event.device
    if isinstance(event, Notice):
        return event.event, event.device
    if isinstance(event, LinkChanged) and event.about_data:
        return QualityEvent(event.time_s, f"device_{event.kind}", event.detail or event.kind), event.device
    return None


class StoreRunSink(Sink):
    """The run in the local store (`gait.storage.Store`), written through its non-blocking
    `StoreSink` (by the store's one background writer thread, shared with the other runs).
    ``recording``: a capture this run is writing, referenced (size and checksum) when the run closes."""

    name = "local store"

    def __init__(self, store: Any, run_id: int, *, recording: str | Path | None = None, own_store: bool = True):
        super().__init__()
        self.store = store
        self.run_id = run_id
        self.recording = recording
        self.own_store = own_store
        self.sink = store.sink(run_id)
        self._said: str | None = None

    def handle(self, event: Any) -> None:
        rec = stored_records(event)
        if rec is not None:
            self.sink.put(rec[0], rec[1])
        elif isinstance(event, SpeedRead):
            from gait.storage.local import SpeedSample

            self.sink.put(SpeedSample(event.time_s, event.speed_mps, event.source), event.device)

    def close(self, summary: RunSummary) -> None:
        stats = self.sink.close(summary.status)
        if stats.dropped or stats.lost or (stats.errors and stats.last_error):
            self.say(
                f"local store: {stats.dropped + stats.lost} records not stored"
                + (f" ({stats.last_error})" if stats.last_error else "")
            )
        if self.recording is not None:
            try:
                self.store.add_raw_file(self.run_id, self.recording, format="gait-capture", checksum=True)
            except Exception as exc:  # noqa: BLE001 - the run is stored; only the reference is missing
                self.say(f"local store: could not reference {self.recording}: {exc}")
        if self.own_store:
            with contextlib.suppress(Exception):
                self.store.close()

    def health_line(self) -> str | None:
        st = self.sink.stats
        if not (st.dropped or st.lost or st.errors or st.rejected):
            return None
        txt = f"store: {st.dropped + st.lost + st.rejected} records not stored"
        if st.errors and st.last_error:
            txt += f", write errors ({st.last_error})"
        return txt

    def problems(self) -> list[str]:
        err = self.sink.stats.last_error
        if err and err != self._said:
            self._said = err
            return [f"local store: {err}"]
        return []


def _influx_text(error: str) -> str:
    return error if "InfluxDB" in error else f"InfluxDB: {error}"


class InfluxRunSink(Sink):
    """The run's points to InfluxDB (`gait.storage.influx.InfluxSink`, non-blocking, with an
    on-disk outbox): steps, alerts, pain notes, gaps and quality events. A wrong URL or token
    is one line while the run goes on locally (`gait sync` sends the points later)."""

    name = "InfluxDB"

    def __init__(self, influx: Any, run_tags: Any, run_id: int | None = None, *, own: bool = True):
        super().__init__()
        self.own = own  # close the InfluxSink with the run (False: it is shared by many runs)
        self.influx = influx
        self.run = influx.for_run(run_tags)
        self.run_id = run_id
        self._said: str | None = None

    def handle(self, event: Any) -> None:
        rec = stored_records(event)
        if rec is not None:
            self.run.put(rec[0], rec[1])

    def health_line(self) -> str | None:
        return self.influx.health().line().split(" | ")[0]  # the error itself: once, by `problems`

    def problems(self) -> list[str]:
        h = self.influx.health()
        if h.connected is False and h.last_error and h.last_error != self._said:
            self._said = h.last_error
            return [f"{_influx_text(h.last_error)} (the run goes on and is stored locally)"]
        return []

    def close(self, summary: RunSummary) -> None:
        if not self.own:
            return
        health = self.influx.close(INFLUX_CLOSE_TIMEOUT_S)
        if health.queued and health.last_error and health.last_error != self._said:
            self._said = health.last_error
            later = f"; `gait sync {self.run_id}` sends it later" if self.run_id is not None else ""
            self.say(f"{_influx_text(health.last_error)} (the run is stored locally{later})")


class BusSink(Sink):
    """The live bus of the dashboards (anything with ``start_run``/``publish``/``end_run``, e.g.
    `dashboards.bus.LiveBus`: duck typed, so the engine never imports the dashboards). The bus's
    pain button reaches the engine's coach (`RunEngine.pain_from_thread`), and the engine's
    sinks store and publish what it produces."""

    name = "live bus"

    def __init__(self, bus: Any, info: Mapping[str, Any] | None = None, run_id: int | None = None):
        super().__init__()
        self.bus = bus
        self.info = dict(info or {})
        self.run_id = run_id

    def handle(self, event: Any) -> None:
        bus = self.bus
        if isinstance(event, Step):
            bus.publish(event.step)
        elif isinstance(event, AlertRaised):
            bus.publish(event.alert)
        elif isinstance(event, PainReported):
            bus.publish(event.note)
        elif isinstance(event, DeviceHealth):
            for status in event.devices:
                bus.publish(status.health)
        elif isinstance(event, IntervalEdge):
            bus.publish({"type": "interval", "phase": event.phase, "index": event.index, "count": event.count,
                         "start_s": round(event.time_s, 3), "end_s": None if event.end_s == float("inf")
                         else round(event.end_s, 3), "text": event.text})  # fmt: skip
        elif isinstance(event, LinkChanged) and event.about_data:
            bus.publish(
                {"type": "device", "device": event.device, "kind": event.kind, "detail": event.detail,
                 "time_s": round(event.time_s, 3)}
            )  # fmt: skip
        elif isinstance(event, RunState):
            if event.state == RUN_STARTED:
                on_pain = self.engine.pain_from_thread if self.engine is not None else None
                bus.start_run(run_id=self.run_id, info=dict(self.info), on_pain=on_pain)
            else:
                bus.end_run(event.reason or event.state)


class CueSink(Sink):
    """Alerts as sound (`gait.cues.CuePlayer`: speech, tone, bell or silent). A sound problem
    is one line; the run goes on."""

    name = "cues"

    def __init__(self, player: Any):
        super().__init__()
        self.player = player

    def handle(self, event: Any) -> None:
        if isinstance(event, AlertRaised) and event.alert.kind != ALERT_SILENT:
            try:
                self.player.play(event.alert)
            except Exception as exc:  # noqa: BLE001 - a sound problem must not stop the run
                self.say(f"cue: {type(exc).__name__}: {exc}")

    def close(self, summary: RunSummary) -> None:
        with contextlib.suppress(Exception):
            self.player.close()


class Collector(Sink):
    """Keeps what a run produced in memory, per device (demos, benchmarks, tests)."""

    name = "collector"

    def __init__(self) -> None:
        super().__init__()
        self.steps: dict[str, list[StepMetrics]] = {}
        self.device_steps: dict[str, list[StepMetrics]] = {}
        self.placements: dict[str, str | None] = {}
        self.alerts: list[Any] = []
        self.pain: list[Any] = []
        self.gaps: dict[str, list[Gap]] = {}
        self.notices: dict[str, list[QualityEvent]] = {}
        self.summary: RunSummary | None = None

    def handle(self, event: Any) -> None:
        if isinstance(event, Step):
            self.steps.setdefault(event.device, []).append(event.step)
            self.device_steps.setdefault(event.device, []).append(event.device_step)
            self.placements[event.device] = event.placement
        elif isinstance(event, AlertRaised):
            self.alerts.append(event.alert)
        elif isinstance(event, PainReported):
            self.pain.append(event.note)
        elif isinstance(event, GapFound):
            self.gaps.setdefault(event.device, []).append(event.gap)
        elif isinstance(event, Notice):
            self.notices.setdefault(event.device, []).append(event.event)

    def close(self, summary: RunSummary) -> None:
        self.summary = summary
