"""``gait live``, ``gait record``, ``gait replay`` and ``gait scan``: the live path.

    source (BLE / emulated BLE / phone / CSV / simulator / capture) -> device sessions (decode,
    device clock, gaps, health) -> gait.pipeline.Pipeline (one per device) -> terminal

``--source emulated`` runs the BLE path without hardware: emulated sensors (Polar H10, Verity
Sense, openpod, RSC pod) stream a CSV recording's motion (``--csv``, or ``csv=`` per
``--device``) over an in-process Bumble radio through the real transport (bleak API,
`firmware_interface.ble.LinkGroup`), e.g.::

    gait live --source emulated --csv hip.csv --device kind=h10,placement=waist \
        --device kind=openpod,placement=foot,side=left,csv=ankle.csv --speed 1

``gait scan`` lists nearby supported devices (``--emulated``: the emulated ones). Without a
usable radio both say in one line what is missing (no D-Bus / BlueZ, no adapter) and exit 2.

One line per step as it is detected; a status line (``#``) with each device's health every
``--status-every`` seconds of receive time; events (gaps, reconnects, battery) as ``#`` lines.
``--record FILE`` writes every raw packet to a capture file (`firmware_interface.capture`)
before it is decoded; ``gait replay FILE`` feeds a capture through the very same `LiveEngine`,
so a replay prints what the live run printed, byte for byte.

Times on step lines are seconds on the common clock (the receive clock since the first packet,
each device clock mapped onto it by its `ClockModel`), so two devices line up; the metrics
themselves are computed on each device's own clock. ``+NNN ms`` is the step's latency: the
receive time of the packet that completed it minus the end of the contact (toe-off).

Every run is written as it goes (`gait.run_session.RunOutputs`): steps, alerts, pain notes, gaps
and quality events (on the common clock, the step lines' times) to a new run in the local store
(``--no-store`` to skip; ``--data-dir``), with the pipeline config, the device list and the
placement; a ``--record`` capture is referenced from the run; the run is closed 'closed' at the
end of the source, 'interrupted' on Ctrl-C, link loss or an error. The same records go to
InfluxDB when it is configured (INFLUXDB_V2_* variables, or ``--config gait.toml`` with an
``[influxdb]`` section): its health is in the status line, and a wrong URL or token is one
``#`` line while the run goes on locally. The coach (``--coach PRESET|off``,
``--coach-config FILE``) watches the steps; its alerts are ``#>>`` banners and sounds
(``--cues auto|speech|tone|bell|silent``). Pain: ``--pain-before N``, a digit key 0-9 during the
run (stdin a terminal, cbreak mode, restored after; ``--no-keys``), the dashboard's button
through the live bus, ``--pain-after N``; a pain stop overrides every other cue. A live bus
(``bus=``, `dashboards.bus.LiveBus`) gets the steps, alerts, pain notes and device health.

The CLI wires subcommands to `run_live`, `run_record`, `run_replay`, `run_scan` (each takes an
optional ``bus``); the ``add_*_args`` helpers declare the arguments they read.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

from firmware_interface.capture import CaptureError, CaptureWriter
from firmware_interface.session import (
    DeviceConfig,
    DeviceEvent,
    RawPacket,
    RscReading,
    SessionSet,
)
from firmware_interface.sources import (
    Impairment,
    PodStream,
    ReplaySource,
    Source,
    open_source,
    parse_speed,
)
from gait.core.config import PLACEMENTS, SIDES, PipelineConfig
from gait.core.errors import GaitError
from gait.core.records import Gap, QualityEvent, SampleBlock, StepMetrics
from gait.metrics.vertical import vertical_ratio_pct
from gait.pipeline import Pipeline
from gait.run_session import RUN_CLOSED, RUN_INTERRUPTED, OutputOptions, RunOutputs, pain_score

DEFAULT_STATUS_EVERY_S = 5.0
LINK_LOSS_TIMEOUT_S = 30.0  # every device disconnected this long (wall clock): stop
BUS_HEALTH_EVERY_S = 1.0  # device health to the live bus, seconds of receive time
POLL_EVERY_S = 0.5  # wall-clock seconds between looks at the sinks' health (one-line problems)
END_OF_SOURCE = "end of source"
# device events that say something about the data (stored as quality events, published to the bus)
LINK_EVENTS = ("connected", "disconnected", "stopped", "restart", "rate_changed", "unsupported")  # connected: again


def _fmt(value: float | None, spec: str, unit: str = "") -> str:
    return "-" if value is None else f"{format(value, spec)}{unit}"


# ----------------------------------------------------------------------------------------------
# the engine: packets in, lines out (the same for live and replay)
# ----------------------------------------------------------------------------------------------
RSC_FRESH_NS = 5_000_000_000  # a foot pod's speed older than this does not set vertical ratio


@dataclass
class DeviceState:
    config: PipelineConfig | None = None
    pipeline: Pipeline | None = None
    steps: int = 0
    pipeline_gaps: int = 0
    error: str | None = None
    last_rsc: RscReading | None = None


@dataclass
class RunSummary:
    reason: str = END_OF_SOURCE
    packets: int = 0
    steps: int = 0
    lines: int = 0
    health: dict[str, dict[str, Any]] = field(default_factory=dict)
    status: str | None = None  # the stored run's status: 'closed' or 'interrupted' (None: no outputs)
    run_id: int | None = None  # the run in the local store (None: not stored)
    alerts: int = 0  # alerts the coach raised (voiced, silent, clear, stop)
    coach: dict[str, Any] | None = None  # the coach's summary


class LiveEngine:
    """Packets in (`feed`), printed lines out. Deterministic: the same packets in the same
    order give the same lines (status lines are paced by receive time, not wall time).

    ``outputs`` (`gait.run_session.RunOutputs`): the run's coach, cues, local store, InfluxDB and
    live bus; the engine hands it every step, gap and quality event on the common clock, and
    closes it in `finish` ('closed' at the end of the source, 'interrupted' otherwise). ``bus``
    alone (a `dashboards.bus.LiveBus`): steps, health and events to the live page, nothing stored.
    """

    def __init__(
        self,
        devices: list[DeviceConfig] | tuple[DeviceConfig, ...] = (),
        *,
        out: TextIO | None = None,
        placement: str | None = None,
        side: str | None = None,
        speed_mps: float | None = None,
        status_every_s: float | None = DEFAULT_STATUS_EVERY_S,
        jsonl: bool = False,
        recorder: CaptureWriter | None = None,
        outputs: RunOutputs | None = None,
        bus: Any = None,
    ):
        self.sessions = SessionSet(devices, auto=True)
        self.out = out if out is not None else sys.stdout
        self.placement = placement
        self.side = side
        self.speed_mps = speed_mps
        self.status_every_s = status_every_s
        self.jsonl = jsonl
        self.recorder = recorder
        self.state: dict[str, DeviceState] = {}
        self.summary = RunSummary()
        self._last_status_ns: int | None = None
        self._rx_ns = 0
        self._finished = False
        self.disconnected: set[str] = set()
        self.outputs: RunOutputs | None = None
        self._last_bus_ns: int | None = None
        self._next_poll = 0.0
        if outputs is not None:
            self.use_outputs(outputs)
        if bus is not None:
            self.use_bus(bus)

    # --- outputs ------------------------------------------------------------------------------
    def use_outputs(self, outputs: RunOutputs) -> None:
        """Attach the run's outputs: they print on this display, on this engine's clock; the run
        starts (the bus hears of it, the check-in before the run is taken)."""
        self.outputs = outputs
        outputs.attach(write=self._line, clock=self.now_s, tty=_isatty(self.out))
        outputs.start()

    def use_bus(self, bus: Any) -> None:
        """Publish to a live bus (`dashboards.bus.LiveBus`): steps, alerts, pain, device health."""
        if self.outputs is None:
            self.use_outputs(RunOutputs(bus=bus))
        else:
            self.outputs.set_bus(bus)

    def now_s(self) -> float:
        """The stream time now: seconds on the common clock (receive time since the first packet)."""
        return self._rx_s(self._rx_ns)

    # --- input --------------------------------------------------------------------------------
    def feed(self, packet: RawPacket) -> None:
        if self.recorder is not None:
            self.recorder.write(packet)  # raw first: what cannot be decoded is still kept
        self.summary.packets += 1
        self._rx_ns = packet.rx_time_ns
        for device, record in self.sessions.feed(packet):
            self._handle(device, record)
        self._maybe_status(packet.rx_time_ns)
        if self.outputs is not None:
            self._outputs_tick(packet.rx_time_ns)

    def finish(self, reason: str = END_OF_SOURCE) -> RunSummary:
        """Flush sessions and pipelines, print the final status; close the capture."""
        if self._finished:
            return self.summary
        self._finished = True
        self.summary.reason = reason
        for device, record in self.sessions.flush():
            self._handle(device, record)
        for device, st in self.state.items():
            if st.pipeline is not None:
                self._pipeline_records(device, self._safe(device, st.pipeline.flush))
        self._line(f"# end ({reason}): {self.summary.packets} packets, {self.summary.steps} steps")
        self._status()
        health = self.sessions.health()
        self.summary.health = {d: h.to_dict() for d, h in health.items()}
        if self.recorder is not None:
            self.recorder.close(
                {"reason": reason, "packets": self.summary.packets, "health": self.summary.health},
                rx_time_ns=self._rx_ns,
            )
        if self.outputs is not None:
            self._close_outputs(reason)
        with contextlib.suppress(Exception):
            self.out.flush()
        return self.summary

    def _close_outputs(self, reason: str) -> None:
        outputs = self.outputs
        assert outputs is not None
        status = RUN_CLOSED if reason == END_OF_SOURCE else RUN_INTERRUPTED
        for health in self.sessions.health().values():
            outputs.publish(health)
        for text in outputs.poll():
            self._line(f"# {self.now_s():9.3f} {text}")
        try:
            self.summary.coach = outputs.close(status, reason)
        except Exception as exc:  # noqa: BLE001 - the run's display ends cleanly whatever a sink did
            self._line(f"# outputs: could not close the run: {type(exc).__name__}: {exc}")
        self.summary.status = status
        self.summary.run_id = outputs.run_id
        self.summary.alerts = len(outputs.alerts)
        line = outputs.summary_line()
        if line:
            self._line(f"# {line}")

    # --- records ------------------------------------------------------------------------------
    def _state(self, device: str) -> DeviceState:
        st = self.state.get(device)
        if st is None:
            st = self.state[device] = DeviceState()
        return st

    def _pipeline_for(self, device: str) -> Pipeline | None:
        st = self._state(device)
        if st.pipeline is not None or st.error is not None:
            return st.pipeline
        session = self.sessions.sessions[device]
        spec = self.sessions.specs.get(device)
        rate = session.sample_rate_hz
        try:
            if not rate:
                raise GaitError(f"{device}: sample rate unknown")
            placement = (spec.placement if spec else None) or self.placement or "sacrum"
            side = (spec.side if spec else None) or self.side
            acc_range = getattr(session, "acc_range_g", None)
            st.config = PipelineConfig(
                placement=placement,
                side=side,
                speed_mps=self.speed_mps,
                acc_range_g=float(acc_range) if acc_range else None,
            )
            st.pipeline = Pipeline(st.config, rate)
        except GaitError as exc:
            st.error = str(exc)
            self._line(f"# {device}: cannot analyse: {exc}")
            return None
        side_txt = f" {st.config.side}" if st.config.side else ""
        self._line(f"# {device}: {session.kind} {rate:g} Hz, {st.config.placement}{side_txt}")
        return st.pipeline

    def _safe(self, device: str, fn, *args) -> list:
        try:
            return fn(*args)
        except Exception as exc:  # noqa: BLE001 - one failing device must not stop the others
            st = self._state(device)
            st.error = f"{type(exc).__name__}: {exc}"
            st.pipeline = None
            self._line(f"# {device}: pipeline stopped: {st.error}")
            return []

    def _handle(self, device: str, record: object) -> None:
        if isinstance(record, SampleBlock):
            pipe = self._pipeline_for(device)
            if pipe is not None:
                self._pipeline_records(device, self._safe(device, pipe.process, record))
        elif isinstance(record, Gap):
            t = self.sessions.to_common(device, record.start_s)
            self._line(
                f"# {t:9.3f} {device}: gap, {record.missing_samples} samples missing "
                f"({(record.end_s - record.start_s) * 1e3:.0f} ms)"
            )
            if self.outputs is not None:
                t_end = self.sessions.to_common(device, record.end_s)
                self.outputs.on_records([Gap(t, t_end, record.missing_samples)], device)
        elif isinstance(record, DeviceEvent):
            self._event(device, record)
        elif isinstance(record, RscReading):
            self._state(device).last_rsc = record
            if self.outputs is not None:
                from gait.storage.local import SpeedSample

                sample = SpeedSample(self._rx_s(record.rx_time_ns), float(record.speed_mps), "rsc")
                self.outputs.on_records([sample], device)

    def _event(self, device: str, ev: DeviceEvent) -> None:
        reconnect = ev.kind == "connected" and device in self.disconnected
        if ev.kind == "connected":
            self.disconnected.discard(device)
        elif ev.kind == "disconnected":
            self.disconnected.add(device)
        elif ev.kind == "rate_changed":
            st = self._state(device)
            if st.pipeline is not None:
                self._pipeline_records(device, self._safe(device, st.pipeline.flush))
            st.pipeline = None
            st.error = None
        detail = f": {ev.detail}" if ev.detail else ""
        self._line(f"# {self._rx_s(ev.rx_time_ns):9.3f} {device}: {ev.kind}{detail}")
        if self.outputs is not None and ev.kind in LINK_EVENTS and (ev.kind != "connected" or reconnect):
            t = self._rx_s(ev.rx_time_ns)
            self.outputs.on_records([QualityEvent(t, f"device_{ev.kind}", ev.detail or ev.kind)], device)
            self.outputs.publish(
                {"type": "device", "device": device, "kind": ev.kind, "detail": ev.detail, "time_s": round(t, 3)}
            )

    def _pipeline_records(self, device: str, records: list) -> None:
        st = self._state(device)
        for r in records:
            if isinstance(r, StepMetrics):
                st.steps += 1
                self.summary.steps += 1
                self._step(device, r)
            elif isinstance(r, Gap):
                st.pipeline_gaps += 1  # the session reported it already, with its device-side cause
            elif isinstance(r, QualityEvent):
                self._line(f"# {device}: notice: {r.message}")
                if self.outputs is not None:
                    t = self.sessions.to_common(device, r.time_s)
                    self.outputs.on_records([QualityEvent(t, r.code, r.message)], device)

    def _pod_speed_mps(self) -> float | None:
        """The newest running speed from a foot pod (RSC), if it is recent."""
        best: RscReading | None = None
        for st in self.state.values():
            r = st.last_rsc
            if r is not None and r.speed_mps is not None and (best is None or r.rx_time_ns > best.rx_time_ns):
                best = r
        if best is None or best.speed_mps <= 0 or (self._rx_ns - best.rx_time_ns) > RSC_FRESH_NS:
            return None
        return float(best.speed_mps)

    def _with_pod_speed(self, s: StepMetrics) -> StepMetrics:
        """Vertical ratio from a foot pod's speed when no speed was configured (trunk steps)."""
        if s.vertical_ratio_pct is not None or s.vo_cm is None or not s.cadence_spm:
            return s
        speed = self._pod_speed_mps()
        if speed is None:
            return s
        return replace(s, vertical_ratio_pct=vertical_ratio_pct(s.vo_cm, speed, 60.0 / s.cadence_spm))

    def _step(self, device: str, s: StepMetrics) -> None:
        s = self._with_pod_speed(s)
        t_ic = self.sessions.to_common(device, s.ic_s)
        t_to = self.sessions.to_common(device, s.to_s)
        latency_ms = (self._rx_s(self._rx_ns) - t_to) * 1e3
        if self.jsonl:
            obj = {"device": device, "t_s": round(t_ic, 4), "latency_ms": round(latency_ms, 1), **s.to_dict()}
            self._line(json.dumps(obj))
        else:
            self._step_line(device, s, t_ic, latency_ms)
        if self.outputs is not None:
            # the run's record is on the common clock: the times printed, comparable across devices
            emitted = self.sessions.to_common(device, s.emitted_s) if math.isfinite(s.emitted_s) else self.now_s()
            common = replace(s, ic_s=t_ic, to_s=t_to, emitted_s=emitted)
            st = self._state(device)
            self.outputs.on_records([common], device, placement=st.config.placement if st.config else None)

    def _step_line(self, device: str, s: StepMetrics, t_ic: float, latency_ms: float) -> None:
        side = s.side or "-"
        q = f"  [{','.join(s.quality)}]" if s.quality else ""
        strike = f" {s.strike}" if s.strike else ""
        self._line(
            f"{t_ic:9.3f} {device} {side:<5} "
            f"cad {_fmt(s.cadence_spm, '.0f')}  gct {_fmt(s.gct_ms, '.0f', 'ms')}  "
            f"flight {_fmt(s.flight_ms, '.0f', 'ms')}  vo {_fmt(s.vo_cm, '.1f', 'cm')}  "
            f"vr {_fmt(s.vertical_ratio_pct, '.1f', '%')}  fsa {_fmt(s.fsa_deg, '.1f', 'deg')}{strike}  "
            f"lean {_fmt(s.lean_deg, '.1f', 'deg')}  +{latency_ms:.0f}ms{q}"
        )

    # --- output -------------------------------------------------------------------------------
    def _rx_s(self, rx_ns: int) -> float:
        origin = self.sessions.rx_origin_ns
        return 0.0 if origin is None else (rx_ns - origin) / 1e9

    def _maybe_status(self, rx_ns: int) -> None:
        if not self.status_every_s:
            return
        if self._last_status_ns is None:
            self._last_status_ns = rx_ns
            return
        if rx_ns - self._last_status_ns >= self.status_every_s * 1e9:
            self._last_status_ns = rx_ns
            self._status()

    def _status(self) -> None:
        t = self._rx_s(self._rx_ns)
        for device, health in self.sessions.health().items():
            st = self._state(device)
            extra = f" | steps {st.steps}"
            if st.last_rsc is not None:
                r = st.last_rsc
                extra += f" | rsc {r.speed_mps:.2f} m/s {r.cadence_spm:.0f} spm"
            if st.error:
                extra += f" | error: {st.error}"
            self._line(f"# {t:9.3f} status {health.summary()}{extra}")
        if self.sessions.unknown:
            self._line(f"# {t:9.3f} status {self.sessions.unknown} packets from undeclared devices ignored")
        if self.outputs is not None:
            line = self.outputs.health_line()
            if line:
                self._line(f"# {t:9.3f} status {line}")

    def _outputs_tick(self, rx_ns: int) -> None:
        """Device health to the bus (every second of receive time); the sinks' new problems as
        one line each (looked at twice a second of wall time)."""
        outputs = self.outputs
        assert outputs is not None
        if outputs.bus is not None and (
            self._last_bus_ns is None or rx_ns - self._last_bus_ns >= BUS_HEALTH_EVERY_S * 1e9
        ):
            self._last_bus_ns = rx_ns
            for health in self.sessions.health().values():
                outputs.publish(health)
        now = time.monotonic()
        if now >= self._next_poll:
            self._next_poll = now + POLL_EVERY_S
            for text in outputs.poll():
                self._line(f"# {self.now_s():9.3f} {text}")

    def _line(self, text: str) -> None:
        self.summary.lines += 1
        self.out.write(text + "\n")


# ----------------------------------------------------------------------------------------------
# running a source
# ----------------------------------------------------------------------------------------------
async def run_source(
    source: Source,
    engine: LiveEngine,
    *,
    handle_sigint: bool = True,
    link_loss_timeout_s: float | None = LINK_LOSS_TIMEOUT_S,
    bus: Any = None,
    keys: bool = False,
) -> RunSummary:
    """Feed ``source`` into ``engine`` until the source ends, Ctrl-C (SIGINT), or every
    device has been disconnected for ``link_loss_timeout_s`` (wall clock). Always finishes
    the engine (flush, final status, capture closed, the run's outputs closed).

    ``bus``: a live bus (`dashboards.bus.LiveBus`) to publish steps, alerts, pain and health to
    (also given to the engine, or through its outputs). ``keys``: when stdin is a terminal, a digit
    key 0-9 is a pain score for the coach (the terminal is in cbreak mode for the run, and
    restored after it)."""
    loop = asyncio.get_running_loop()
    if bus is not None:
        engine.use_bus(bus)
    if engine.outputs is not None:
        engine.outputs.bind_loop(loop)
    stop = asyncio.Event()
    reason = END_OF_SOURCE
    installed = False
    if handle_sigint:
        try:
            loop.add_signal_handler(signal.SIGINT, stop.set)
            installed = True
        except (NotImplementedError, RuntimeError, ValueError):
            installed = False
    pain_keys = PainKeys(loop, engine) if keys and engine.outputs is not None else None

    async def consume() -> None:
        async for packet in source:
            engine.feed(packet)
            if stop.is_set():
                break

    async def watchdog() -> str:
        lost_since: float | None = None
        while True:
            if stop.is_set():
                return "interrupted"
            if link_loss_timeout_s is not None and engine.sessions.sessions:
                if engine.disconnected and engine.disconnected >= set(engine.sessions.sessions):
                    lost_since = lost_since or time.monotonic()
                    if time.monotonic() - lost_since >= link_loss_timeout_s:
                        return "link lost"
                else:
                    lost_since = None
            await asyncio.sleep(0.1)

    task = asyncio.create_task(consume())
    guard = asyncio.create_task(watchdog())
    try:
        if pain_keys is not None:
            pain_keys.start()
        done, _ = await asyncio.wait({task, guard}, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            try:
                task.result()  # re-raise a source error
            except Exception as exc:
                reason = f"error: {type(exc).__name__}: {exc}"
                raise
            if stop.is_set():
                reason = "interrupted"
        else:
            reason = guard.result()
            source.stop()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    except asyncio.CancelledError:
        reason = "interrupted"
    finally:
        if pain_keys is not None:
            pain_keys.stop()
        guard.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await guard
        if installed:
            loop.remove_signal_handler(signal.SIGINT)
        with contextlib.suppress(Exception):
            await source.aclose()
        summary = engine.finish(reason)
    return summary


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


class PainKeys:
    """Digit keys 0-9 on the terminal are pain scores (0 none ... 9; the coach stops the run at
    its ``pain.stop_at``). Only when stdin is a terminal: it is put in cbreak mode (keys arrive
    one by one, without Enter and without echo; Ctrl-C still works) and read without blocking
    through the event loop (`add_reader`); `stop` restores the terminal as it was."""

    def __init__(self, loop: asyncio.AbstractEventLoop, engine: LiveEngine, stream: Any = None):
        self.loop = loop
        self.engine = engine
        self.stream = stream if stream is not None else sys.stdin
        self.fd: int | None = None
        self._saved: Any = None
        self.scores: list[int] = []

    def start(self) -> bool:
        """Start listening; False when stdin is not a terminal (nothing changed then)."""
        try:
            fd = self.stream.fileno()
        except (AttributeError, ValueError, OSError):
            return False
        if not os.isatty(fd):
            return False
        try:
            background = os.tcgetpgrp(fd) != os.getpgrp()
        except OSError:  # not our controlling terminal: no job control applies to it
            background = False
        if background:
            return False  # a background job: changing the terminal would stop the process (SIGTTOU)
        try:
            import termios
            import tty

            self._saved = termios.tcgetattr(fd)
            tty.setcbreak(fd)
            self.loop.add_reader(fd, self._on_input)
        except Exception:  # noqa: BLE001 - no terminal control (a background job, no termios): no keys
            self._restore(fd)
            return False
        self.fd = fd
        self.engine._line("# pain: press a digit 0-9 at any time during the run to report pain (0 = none)")
        return True

    def _on_input(self) -> None:
        fd = self.fd
        if fd is None:
            return
        try:
            data = os.read(fd, 64)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # end of input: stop listening
            self.stop()
            return
        outputs = self.engine.outputs
        for ch in data.decode("ascii", "ignore"):
            if ch.isdigit() and outputs is not None:
                self.scores.append(int(ch))
                outputs.pain(int(ch), "during")

    def stop(self) -> None:
        fd, self.fd = self.fd, None
        if fd is None:
            return
        with contextlib.suppress(Exception):
            self.loop.remove_reader(fd)
        self._restore(fd)

    def _restore(self, fd: int) -> None:
        if self._saved is None:
            return
        import termios

        with contextlib.suppress(Exception):
            termios.tcsetattr(fd, termios.TCSADRAIN, self._saved)
        self._saved = None


# ----------------------------------------------------------------------------------------------
# CLI glue
# ----------------------------------------------------------------------------------------------
def _add_common_display_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--placement", choices=PLACEMENTS, default=None, help="where the sensor is worn (default sacrum)")
    p.add_argument("--side", choices=SIDES, default=None, help="foot sensor: which foot")
    p.add_argument("--speed-mps", type=float, default=None, dest="speed_mps", help="running speed (vertical ratio)")
    p.add_argument("--jsonl", action="store_true", help="one JSON object per step instead of a text line")
    p.add_argument(
        "--status-every",
        type=float,
        default=DEFAULT_STATUS_EVERY_S,
        dest="status_every",
        help="seconds between status lines (0: none)",
    )
    _add_output_args(p)


def _add_output_args(p: argparse.ArgumentParser) -> None:
    """Where the run goes (store, InfluxDB) and the coach during it (gait.run_session)."""
    from gait.cues import MODES

    g = p.add_argument_group("storage and coach")
    g.add_argument("--no-store", action="store_true", dest="no_store", help="do not store the run in the local store")
    g.add_argument(
        "--data-dir",
        default=None,
        dest="data_dir",
        help="local store folder (default: $GAIT_DATA_DIR or the user data folder)",
    )
    g.add_argument("--runner", default=None, help="who is running (stored with the run)")
    g.add_argument(
        "--config",
        default=None,
        metavar="FILE",
        help="TOML config with an [influxdb] section (INFLUXDB_V2_* variables also configure InfluxDB)",
    )
    g.add_argument(
        "--coach",
        default="default",
        metavar="PRESET",
        help="coach preset (default: default; see gait/coach_presets), or 'off'",
    )
    g.add_argument(
        "--coach-config", default=None, dest="coach_config", metavar="FILE", help="your coach TOML over the preset"
    )
    g.add_argument(
        "--cues",
        choices=MODES,
        default="auto",
        help="how alerts sound: speech (espeak-ng), tone, bell, silent; auto: the best available",
    )
    g.add_argument(
        "--pain-before", type=pain_score, default=None, dest="pain_before", metavar="N", help="pain 0-10 before the run"
    )
    g.add_argument(
        "--pain-after", type=pain_score, default=None, dest="pain_after", metavar="N", help="pain 0-10 after the run"
    )
    g.add_argument(
        "--no-keys",
        action="store_true",
        dest="no_keys",
        help="do not read pain scores (digit keys 0-9) from the terminal during the run",
    )


def add_live_args(p: argparse.ArgumentParser, *, record_positional: bool = False) -> None:
    """Arguments of ``gait live`` (and ``gait record``, with ``record_positional``)."""
    if record_positional:
        p.add_argument("record", help="capture file to write (raw packets, see CAPTURE_FORMAT.md)")
    p.add_argument(
        "--source",
        choices=("ble", "csv", "simulator", "phone", "emulated"),
        default="ble",
        help="where packets come from (default: BLE devices; emulated: emulated BLE sensors on an "
        "in-process radio, through the real BLE transport, no hardware needed)",
    )
    p.add_argument(
        "--csv",
        default=None,
        help="--source csv: the CSV recording to play as an openpod pod; --source emulated: the motion "
        "the emulated devices stream (a device's own csv=PATH wins)",
    )
    p.add_argument(
        "--device",
        action="append",
        default=[],
        metavar="SPEC",
        help="a device: id=ADDRESS,kind=h10|verity|openpod|rsc|metawear|movesense[,placement=..][,side=..]"
        "[,sample_rate_hz=..] (repeatable); --source emulated: kind=h10|verity|openpod|rsc[,placement=..]"
        "[,side=..][,csv=PATH][,id=NAME][,sample_rate_hz=..]",
    )
    p.add_argument(
        "--speed",
        default=None,
        help="csv/simulator pacing: 'max' or a factor of real time (default 1); emulated: device time runs "
        "this many times faster than real time",
    )
    p.add_argument(
        "--duration",
        type=float,
        default=None,
        help="seconds to run (default: until Ctrl-C; simulator: 60 s of running)",
    )
    p.add_argument("--port", type=int, default=5555, help="phone: UDP port for openpod packets")
    p.add_argument("--loss", type=float, default=0.0, help="csv/simulator/emulated: probability a packet is lost")
    p.add_argument("--duplicate", type=float, default=0.0, help="csv/simulator: probability a packet comes twice")
    p.add_argument(
        "--garble",
        type=float,
        default=0.0,
        help="csv/simulator: probability a packet is corrupted; emulated: an undecodable packet every 1/p packets",
    )
    p.add_argument("--seed", type=int, default=0, help="csv/simulator/emulated: random seed")
    if not record_positional:
        p.add_argument("--record", default=None, metavar="FILE", help="also write a capture file")
    _add_common_display_args(p)


def add_record_args(p: argparse.ArgumentParser) -> None:
    add_live_args(p, record_positional=True)


def add_replay_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("capture", help="capture file written by `gait record` / `gait live --record`")
    p.add_argument("--speed", default="max", help="'max' (default) or a factor of real time (1 = original timing)")
    _add_common_display_args(p)


def _arg(args: argparse.Namespace, name: str, default: Any = None) -> Any:
    return getattr(args, name, default)


def _impairment(args: argparse.Namespace) -> Impairment:
    return Impairment(
        loss=_arg(args, "loss", 0.0) or 0.0,
        duplicate=_arg(args, "duplicate", 0.0) or 0.0,
        garble=_arg(args, "garble", 0.0) or 0.0,
        seed=_arg(args, "seed", 0) or 0,
    )


def _simulated_blocks(placement: str, rate: float, seconds: float, seed: int) -> Iterator[SampleBlock]:
    from gait.synthetic import SyntheticRunner

    runner = SyntheticRunner(placement, rate, seed)
    total = int(round(seconds * rate))
    per = max(1, int(round(rate)))
    done = 0
    while done < total:
        n = min(per, total - done)
        yield runner.next_block(n)
        done += n


def build_source(args: argparse.Namespace) -> Source:
    """The source ``gait live`` / ``gait record`` asked for."""
    kind = _arg(args, "source", "ble")
    speed_text = _arg(args, "speed")
    speed = 1.0 if speed_text is None else parse_speed(speed_text)
    if kind == "emulated":
        return _emulated_source(args, speed)
    specs = [DeviceConfig.parse(s) for s in _arg(args, "device", []) or []]
    if kind == "csv":
        path = _arg(args, "csv")
        if not path:
            raise GaitError("--source csv needs --csv PATH")
        dev = specs[0].id if specs else "csv-pod"
        return open_source(
            "csv",
            path=path,
            device=dev,
            placement=_arg(args, "placement"),
            side=_arg(args, "side"),
            speed=speed,
            impairment=_impairment(args),
        )
    if kind == "simulator":
        if not specs:
            specs = [DeviceConfig("sim-pod", "openpod", _arg(args, "placement") or "sacrum", _arg(args, "side"))]
        streams = []
        for i, spec in enumerate(specs):
            placement = spec.placement or _arg(args, "placement") or "sacrum"
            rate = float(spec.settings.get("sample_rate_hz", 200.0 if placement == "foot" else 100.0))
            imp = _impairment(args)
            imp.seed += i
            streams.append(
                PodStream(
                    DeviceConfig(spec.id, "openpod", placement, spec.side or _arg(args, "side")),
                    _simulated_blocks(placement, rate, float(_arg(args, "duration") or 60.0), 1 + i),
                    rate,
                    gyro=placement == "foot",
                    clock_offset_s=float(spec.settings.get("clock_offset_s", 100.0 * i)),
                    clock_drift_ppm=float(spec.settings.get("clock_drift_ppm", 30.0 * i)),
                    impairment=imp,
                    battery_pct=int(spec.settings.get("battery_pct", 90)),
                )
            )
        return open_source("simulator", streams=streams, speed=speed)
    if kind == "phone":
        dev = specs[0].id if specs else None
        return open_source(
            "phone",
            port=_arg(args, "port", 5555),
            device=dev,
            placement=_arg(args, "placement"),
            side=_arg(args, "side"),
        )
    if kind == "ble":
        # --device id=ADDRESS_OR_NAME,kind=auto|h10|...
        return open_source("ble", devices=specs, duration_s=_arg(args, "duration"))
    raise GaitError(f"unknown source {kind!r}")


def _emulated_source(args: argparse.Namespace, speed: float | None) -> Source:
    """``--source emulated``: emulated BLE sensors streaming ``--csv`` (or each device's
    ``csv=``) through the real BLE transport on an in-process radio."""
    from firmware_interface.sources import EmulatedDevice

    if speed is None:
        raise GaitError("--source emulated streams in real time or N times faster: give --speed N, not 'max'")
    texts = list(_arg(args, "device", []) or [])
    csv = _arg(args, "csv")
    if csv and not Path(csv).is_file():
        raise GaitError(f"{csv}: no such file")
    if not texts:
        texts = ["kind=h10"]
    devices = []
    for i, text in enumerate(texts):
        dev = EmulatedDevice.parse(text, csv=csv)
        dev.placement = dev.placement or _arg(args, "placement")
        dev.side = dev.side or _arg(args, "side")
        if dev.csv is None and dev.kind != "rsc":  # no recording: the synthetic runner (looped)
            dev.motion = _synthetic_motion(dev.placement or ("chest" if dev.kind == "h10" else "sacrum"), 1 + i)
        devices.append(dev)
    faults = None
    loss, garble = float(_arg(args, "loss", 0.0) or 0.0), float(_arg(args, "garble", 0.0) or 0.0)
    if loss or garble:
        from firmware_interface.emulation import Faults

        faults = Faults(
            loss_probability=loss,
            garbage_every=max(1, round(1.0 / garble)) if garble > 0 else 0,
            seed=int(_arg(args, "seed", 0) or 0),
        )
    return open_source("emulated", devices=devices, time_scale=speed, duration_s=_arg(args, "duration"), faults=faults)


def _synthetic_motion(placement: str, seed: int, seconds: float = 60.0, rate: float = 200.0) -> Any:
    """A minute of the synthetic runner (`gait.bench.speed.SyntheticRunner`) as an emulator
    motion (looped)."""
    import numpy as np

    from firmware_interface.emulation import motion_from_block

    blocks = list(_simulated_blocks(placement, rate, seconds, seed))
    block = SampleBlock(
        time_s=np.concatenate([b.time_s for b in blocks]),
        acc_mps2=np.concatenate([b.acc_mps2 for b in blocks]),
        gyr_dps=np.concatenate([b.gyr_dps for b in blocks]),
        index0=0,
    )
    return motion_from_block(block)


def _devices_for(source: Source, args: argparse.Namespace) -> list[DeviceConfig]:
    """The source's devices, with ``--device`` specs taking precedence (same id). The
    simulator's specs carry simulation settings (clock offset...) it has consumed already;
    BLE and emulated sources found their devices (by address or name) and merged the specs."""
    if source.kind in ("simulator", "ble", "emulated"):
        return list(source.devices)
    given = {s.id: s for s in (DeviceConfig.parse(t) for t in _arg(args, "device", []) or [])}
    out = []
    for d in source.devices:
        out.append(given.pop(d.id, d))
    out.extend(given.values())
    return out


def _err(msg: str) -> None:
    print(f"gait: error: {msg}", file=sys.stderr)


def run_live(args: argparse.Namespace, out: TextIO | None = None, bus: Any = None) -> int:
    """``gait live``: a source through the sessions and pipeline, per-step lines in the terminal;
    the run stored as it goes, coached, and published to ``bus`` (a live bus) when given."""
    try:
        OutputOptions.from_args(args).check()  # a bad coach or InfluxDB config: before connecting
        source = build_source(args)
    except (GaitError, ValueError, OSError) as exc:
        _err(str(exc))
        return 2
    except ImportError as exc:  # --source emulated without the emulation extra (bumble)
        _err(f"{exc}; install the emulation extra (bumble) for --source emulated")
        return 2
    try:
        summary = asyncio.run(_live(source, args, out, bus))
    except (GaitError, OSError, ValueError) as exc:
        _err(str(exc))
        return 2
    except ImportError as exc:
        _err(f"{exc}; install the emulation extra (bumble) for --source emulated")
        return 2
    if _arg(args, "record"):
        print(f"gait: wrote {_arg(args, 'record')} ({summary.packets} packets)", file=sys.stderr)
    _say_stored(args, summary)
    return 0


def _say_stored(args: argparse.Namespace, summary: RunSummary) -> None:
    if summary.run_id is not None:
        where = _arg(args, "data_dir") or "the local store"
        print(f"gait: run {summary.run_id} stored in {where} ({summary.status})", file=sys.stderr)


def _primary(devices: list[DeviceConfig], placement: str | None, side: str | None) -> tuple[str, str | None]:
    """The run's placement and side: the first device's, else the command line's (as the engine)."""
    first = devices[0] if devices else None
    return (first.placement if first else None) or placement or "sacrum", (first.side if first else None) or side


def _open_outputs(
    args: argparse.Namespace,
    devices: list[DeviceConfig],
    *,
    placement: str | None,
    side: str | None,
    speed_mps: float | None,
    start_time: float | None,
    raw_files: tuple[str, ...] | list[str] = (),
    recording: str | None = None,
    notes: str,
    source: str,
    bus: Any,
) -> RunOutputs:
    run_placement, run_side = _primary(devices, placement, side)
    return RunOutputs.open(
        OutputOptions.from_args(args),
        devices=[d.to_dict() for d in devices],
        placement=run_placement,
        side=run_side,
        speed_mps=speed_mps,
        start_time=start_time,
        raw_files=raw_files,
        recording=recording,
        notes=notes,
        source=source,
        bus=bus,
    )


async def _live(source: Source, args: argparse.Namespace, out: TextIO | None, bus: Any = None) -> RunSummary:
    recorder = None
    outputs = None
    try:
        await source.prepare()  # BLE: find and connect first, so every device has its decoder
        devices = _devices_for(source, args)
        record_path = _arg(args, "record")
        if record_path:
            metadata = {
                "devices": [d.to_dict() for d in devices],
                "source": source.metadata,
                "live": {
                    "placement": _arg(args, "placement"),
                    "side": _arg(args, "side"),
                    "speed_mps": _arg(args, "speed_mps"),
                },
            }
            recorder = CaptureWriter(record_path, metadata)
        outputs = _open_outputs(
            args,
            devices,
            placement=_arg(args, "placement"),
            side=_arg(args, "side"),
            speed_mps=_arg(args, "speed_mps"),
            start_time=recorder.metadata.get("created_unix_s") if recorder is not None else None,
            recording=record_path or None,
            notes=f"gait live, {source.kind} source",
            source=source.kind,
            bus=bus,
        )
        engine = LiveEngine(
            devices,
            out=out,
            placement=_arg(args, "placement"),
            side=_arg(args, "side"),
            speed_mps=_arg(args, "speed_mps"),
            status_every_s=_arg(args, "status_every", DEFAULT_STATUS_EVERY_S),
            jsonl=bool(_arg(args, "jsonl", False)),
            recorder=recorder,
            outputs=outputs,
        )
    except BaseException as exc:  # nothing streamed yet: disconnect (STOP) and close what is open
        if recorder is not None:
            with contextlib.suppress(Exception):
                recorder.close({"reason": f"error: {exc}", "packets": 0})
        if outputs is not None:
            with contextlib.suppress(Exception):
                outputs.close(RUN_INTERRUPTED, f"error: {exc}")
        with contextlib.suppress(Exception):
            await source.aclose()
        raise
    return await run_source(source, engine, keys=not _arg(args, "no_keys", False))


def run_record(args: argparse.Namespace, out: TextIO | None = None, bus: Any = None) -> int:
    """``gait record FILE``: ``gait live`` that writes a capture file (the display stays on)."""
    return run_live(args, out=out, bus=bus)


def run_replay(args: argparse.Namespace, out: TextIO | None = None, bus: Any = None) -> int:
    """``gait replay FILE``: a capture through the same sessions, pipeline and display; stored as
    a new run (starting at the capture's wall-clock start, the capture referenced) and coached."""
    try:
        OutputOptions.from_args(args).check()
        source = ReplaySource(args.capture, speed=parse_speed(_arg(args, "speed", "max")))
    except (CaptureError, GaitError, OSError, ValueError) as exc:
        _err(str(exc))
        return 2
    meta = source.capture_metadata
    live = meta.get("live", {}) if isinstance(meta.get("live"), dict) else {}
    devices = source.devices
    placement = _arg(args, "placement")
    side = _arg(args, "side")
    if placement or side:  # re-analyse as another placement / side: overrides the capture's
        devices = [
            DeviceConfig(d.id, d.kind, placement or d.placement, side or d.side, d.settings) for d in source.devices
        ]
    speed_mps = _arg(args, "speed_mps") if _arg(args, "speed_mps") is not None else live.get("speed_mps")
    created = meta.get("created_unix_s")
    try:
        outputs = _open_outputs(
            args,
            list(devices),
            placement=placement or live.get("placement"),
            side=side or live.get("side"),
            speed_mps=speed_mps,
            start_time=float(created) if isinstance(created, int | float) else None,
            raw_files=[args.capture],
            notes=f"gait replay of {Path(args.capture).name}",
            source="replay",
            bus=bus,
        )
    except (GaitError, OSError, ValueError) as exc:
        _err(str(exc))
        return 2
    engine = LiveEngine(
        devices,
        out=out,
        placement=placement or live.get("placement"),
        side=side or live.get("side"),
        speed_mps=speed_mps,
        status_every_s=_arg(args, "status_every", DEFAULT_STATUS_EVERY_S),
        jsonl=bool(_arg(args, "jsonl", False)),
        outputs=outputs,
    )
    summary = asyncio.run(run_source(source, engine, keys=not _arg(args, "no_keys", False)))
    _say_stored(args, summary)
    problem = source.reader.problem
    if problem is not None:
        print(
            f"gait: warning: {Path(args.capture).name}: stopped at byte {problem.offset}: {problem.kind} record "
            f"({problem.detail}); {problem.bytes_left} bytes not read",
            file=sys.stderr,
        )
    elif not source.reader.ended:
        print(f"gait: warning: {Path(args.capture).name}: no END record (the recording did not close)", file=sys.stderr)
    return 0


# ----------------------------------------------------------------------------------------------
# gait scan
# ----------------------------------------------------------------------------------------------
CAPABILITY_WORDS = {
    "acc": "acc",
    "gyro": "gyro",
    "mag": "mag",
    "ecg": "ECG",
    "heart_rate": "heart rate",
    "speed_cadence": "speed+cadence",
    "battery": "battery",
}
CAPABILITY_ORDER = ("acc", "gyro", "mag", "speed_cadence", "heart_rate", "ecg", "battery")


def add_scan_args(p: argparse.ArgumentParser) -> None:
    """Arguments of ``gait scan``."""
    p.add_argument("--timeout", type=float, default=None, help="seconds to listen (default 5; 1 with --emulated)")
    p.add_argument(
        "--emulated",
        action="store_true",
        help="no radio needed: scan emulated sensors (Polar H10, Verity Sense, RSC pod, openpod) advertising on "
        "an in-process Bumble radio, through bleak's API",
    )
    p.add_argument("--all", action="store_true", help="also list devices this program does not support")
    p.add_argument("--json", action="store_true", help="one JSON object per device")


def _measures(found: Any) -> str:
    caps = {str(c) for c in found.capabilities}
    words = [CAPABILITY_WORDS.get(c, c) for c in CAPABILITY_ORDER if c in caps]
    return ", ".join(words) if words else "-"


def _wear(found: Any) -> str:
    spec = found.spec
    if spec is None:
        return "-"
    places = list(spec.placements)
    if found.side and "foot" in places:  # an openpod that says which foot it is for
        places = [f"foot ({found.side})"] + [p for p in places if p != "foot"]
    return ", ".join(places)


def format_scan(devices: list[Any], *, emulated: bool = False) -> list[str]:
    """The table `gait scan` prints (one line per device, strongest signal first)."""
    rows = [
        (
            d.name or "?",
            d.address,
            str(d.kind) if d.kind is not None else "unsupported",
            _measures(d),
            _wear(d),
            "-" if d.rssi is None else f"{d.rssi}",
        )
        for d in devices
    ]
    head = ("NAME", "ADDRESS", "KIND", "MEASURES", "WEAR ON", "RSSI")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    out = [line(head)] + [line(r) for r in rows]
    where = " (emulated, on an in-process radio: no Bluetooth hardware used)" if emulated else ""
    supported = sum(1 for d in devices if d.kind is not None)
    out.append(f"# {supported} supported device{'s' if supported != 1 else ''} found{where}")
    return out


def _scan_json(d: Any) -> dict[str, Any]:
    return {
        "name": d.name,
        "address": d.address,
        "kind": None if d.kind is None else str(d.kind),
        "measures": sorted(str(c) for c in d.capabilities),
        "placements": list(d.spec.placements) if d.spec is not None else [],
        "side": d.side,
        "rssi": d.rssi,
    }


async def _scan(timeout: float, *, emulated: bool, supported_only: bool) -> list[Any]:
    from firmware_interface import ble

    if not emulated:
        return await ble.scan(timeout, supported_only=supported_only)
    from firmware_interface.emulation import (
        BumbleScanner,
        EmulatedAir,
        H10Emulator,
        OpenpodEmulator,
        RscPodEmulator,
        VeritySenseEmulator,
    )

    async with EmulatedAir() as air:
        rssi = (-52, -61, -67, -74)  # a chest strap close to the laptop, a pod on the far shoe...
        for cls, level in zip((H10Emulator, VeritySenseEmulator, OpenpodEmulator, RscPodEmulator), rssi, strict=True):
            await cls(rssi=level).attach(air)
        return await ble.scan(timeout, backend=BumbleScanner, supported_only=supported_only)


def run_scan(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """``gait scan``: nearby supported devices (name, address, kind, what each can measure, where
    to wear it, RSSI) from `firmware_interface.ble.scan`. ``--emulated``: the emulated sensors on
    an in-process radio instead of the platform's Bluetooth. Without a usable radio: one line
    saying what is missing, exit 2."""
    from firmware_interface.sources import explain_radio_error

    out = out if out is not None else sys.stdout
    emulated = bool(_arg(args, "emulated", False))
    timeout = _arg(args, "timeout")
    timeout = float(timeout) if timeout is not None else (1.0 if emulated else 5.0)
    if not (timeout > 0):
        _err("--timeout must be positive")
        return 2
    try:
        devices = asyncio.run(_scan(timeout, emulated=emulated, supported_only=not _arg(args, "all", False)))
    except ImportError as exc:
        _err(f"{exc}; install the emulation extra (bumble) for --emulated" if emulated else str(exc))
        return 2
    except Exception as exc:  # noqa: BLE001 - a radio problem is one line, not a traceback
        why = explain_radio_error(exc, hint="gait scan --emulated")
        _err(why or f"scan failed: {type(exc).__name__}: {exc}")
        return 2
    if _arg(args, "json", False):
        for d in devices:
            out.write(json.dumps(_scan_json(d)) + "\n")
    else:
        for text in format_scan(devices, emulated=emulated):
            out.write(text + "\n")
    return 0
