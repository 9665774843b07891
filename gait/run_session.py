"""The outputs of one live run: coach, cues, local store, InfluxDB and the live bus, as one object.

    outputs = RunOutputs.open(OutputOptions.from_args(args), devices=[...], placement="waist", ...)
    engine = LiveEngine(devices, outputs=outputs)   # binds the display and the stream clock
    outputs.on_records([step], device="H10")        # steps, gaps, quality events (common clock)
    outputs.pain(7)                                  # a key, the dashboard: the coach decides
    outputs.health_line()                            # "InfluxDB connected: 812 written, 0 queued"
    outputs.close("closed")                          # pain after, flush, run closed, bus ended

Where records go (the one-way flow of DESIGN.md: step metrics -> coach -> sinks):

- every step, gap, quality event, alert and pain note to the local store through its
  non-blocking `gait.storage.sink.StoreSink` (one background writer, a flush a second), in a run
  opened with the pipeline config, the device list and the placement, and closed 'closed' at the
  end or 'interrupted' (Ctrl-C, link lost, an error);
- the same records to InfluxDB (`gait.storage.influx.InfluxSink.for_run`) when it is configured
  (INFLUXDB_V2_* variables or an ``[influxdb]`` section in ``--config``); its health is a status
  line, and a wrong URL or token is one line on the screen while the run goes on locally (the
  points wait in the outbox: ``gait sync`` sends them later);
- steps, alerts, pain notes, device health to the live bus when one is given (anything with
  ``start_run``/``publish``/``end_run``, e.g. `dashboards.bus.LiveBus`: duck typed, so this module
  never imports the dashboards);
- the steps of the coached placement to the coach (`gait.coach.Coach`), whose voiced alerts are
  shown as banners and sounded by `gait.cues.CuePlayer`; silent alerts are stored only.

Pain: `pain` (a digit key, a test) hands a check-in to the coach and stores, sends and publishes
the note and any alert; a stop overrides every other cue (the coach silences the others, the cue
player cuts the sound that is playing). `bus_pain` is the live bus's callback: it runs the
check-in on the live run's thread (marshalled through its event loop) and returns the records
for the dashboard server, which stores and publishes them itself (the bus contract).

Times are seconds on the run's common clock (the receive clock since the first packet): the
step lines' times. The store's run starts at that clock's zero (``stream_t0_s`` 0).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gait.coach import Coach, RunContext, load_config
from gait.core.config import PipelineConfig
from gait.core.errors import ConfigError, GaitError
from gait.core.records import ALERT_SILENT, ALERT_STOP, Alert, Gap, PainNote, QualityEvent, StepMetrics
from gait.cues import MODES as CUE_MODES
from gait.cues import CuePlayer

COACH_OFF = "off"
RUN_CLOSED = "closed"
RUN_INTERRUPTED = "interrupted"
BUS_PAIN_TIMEOUT_S = 5.0
INFLUX_CLOSE_TIMEOUT_S = 5.0


def pain_score(text: str) -> int:
    """argparse type: a whole number 0-10."""
    import argparse

    try:
        v = int(text)
    except ValueError:
        v = -1
    if not 0 <= v <= 10:
        raise argparse.ArgumentTypeError(f"a pain score is a whole number from 0 to 10, got {text!r}")
    return v


@dataclass(frozen=True)
class OutputOptions:
    """What the command line asked of a run's outputs (see `add_output_args` in gait.live)."""

    store: bool = True
    data_dir: str | None = None
    runner: str | None = None
    coach: str = "default"  # a preset name, or "off"
    coach_config: str | None = None  # the user's TOML over the preset
    cues: str = "auto"
    config: str | None = None  # TOML with an [influxdb] section
    pain_before: int | None = None
    pain_after: int | None = None

    def check(self, environ: Mapping[str, str] | None = None) -> None:
        """Load what can be wrong before a run starts (the coach preset and TOML, the InfluxDB
        config, the cue mode); raises `ConfigError` with what to fix."""
        if self.coach != COACH_OFF:
            load_config(self.coach, self.coach_config)
        elif self.coach_config is not None and not Path(self.coach_config).is_file():
            raise ConfigError(f"coach config file not found: {self.coach_config}")
        if self.cues not in CUE_MODES:
            raise ConfigError(f"--cues must be one of {', '.join(CUE_MODES)}, got {self.cues!r}")
        if self.config is not None and not Path(self.config).is_file():
            raise ConfigError(f"--config {self.config}: no such file")
        from gait.storage.influx import InfluxConfig

        InfluxConfig.load(self.config, environ)

    @classmethod
    def from_args(cls, args: Any) -> OutputOptions:
        def get(name: str, default: Any = None) -> Any:
            return getattr(args, name, default)

        return cls(
            store=not get("no_store", False),
            data_dir=get("data_dir"),
            runner=get("runner"),
            coach=get("coach") or "default",
            coach_config=get("coach_config"),
            cues=get("cues") or "auto",
            config=get("config"),
            pain_before=get("pain_before"),
            pain_after=get("pain_after"),
        )


def _influx_text(error: str) -> str:
    return error if "InfluxDB" in error else f"InfluxDB: {error}"


class RunOutputs:
    """The outputs of one run. Build it with `open` (from options) or directly (tests, embedding):
    every part is optional. Not blocking: sinks queue, the cue player starts a sound and returns.

    ``write`` prints one line on the run's display (the live engine binds its own); ``clock``
    gives the current stream time (the engine's common clock); ``coach_placement``: only steps
    of devices worn there reach the coach (one coach per run; None: every step).
    """

    def __init__(
        self,
        *,
        coach: Coach | None = None,
        cues: CuePlayer | None = None,
        store: Any = None,
        run_id: int | None = None,
        store_sink: Any = None,
        influx: Any = None,
        influx_run: Any = None,
        bus: Any = None,
        bus_info: Mapping[str, Any] | None = None,
        coach_placement: str | None = None,
        pain_before: int | None = None,
        pain_after: int | None = None,
        write: Callable[[str], None] | None = None,
        clock: Callable[[], float] | None = None,
        notice: Callable[[str], None] | None = None,
        recording: str | Path | None = None,
    ):
        self.coach = coach
        self.cues = cues
        self.store = store
        self.run_id = run_id
        self.store_sink = store_sink
        self.influx = influx
        self.influx_run = influx_run
        self.bus = bus
        self.bus_info = dict(bus_info or {})
        self.coach_placement = coach_placement
        self.pain_before = pain_before
        self.pain_after = pain_after
        self.recording = recording
        self.write = write or (lambda text: (sys.stdout.write(text + "\n"), sys.stdout.flush()))
        self.clock = clock or (lambda: 0.0)
        self.notice = notice or (lambda text: print(f"gait: {text}", file=sys.stderr))
        self.alerts: list[Alert] = []  # every alert of the run, in order
        self.pain_notes: list[PainNote] = []
        self.steps = 0
        self.status: str | None = None  # set by close
        self.tty = False  # decorate banners (set by the engine when its output is a terminal)
        self._lock = threading.RLock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._started = False
        self._closed = False
        self._influx_error: str | None = None
        self._store_error: str | None = None

    # ------------------------------------------------------------------------------------------
    # building from options
    # ------------------------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        options: OutputOptions,
        *,
        devices: Sequence[Mapping[str, Any]] = (),
        placement: str | None = None,
        side: str | None = None,
        speed_mps: float | None = None,
        start_time: float | None = None,
        raw_files: Sequence[str | Path] = (),
        recording: str | Path | None = None,
        notes: str = "",
        source: str | None = None,
        bus: Any = None,
        environ: Mapping[str, str] | None = None,
        write: Callable[[str], None] | None = None,
        notice: Callable[[str], None] | None = None,
    ) -> RunOutputs:
        """Open the run's outputs: the coach (``options.coach``, unless 'off'), the cue player, a
        new run in the local store (unless ``options.store`` is False), the InfluxDB sink when it is
        configured. ``raw_files``: complete captures the run comes from (a replay), referenced now;
        ``recording``: the capture this run is writing (``--record``), referenced when the run
        closes (its final size and checksum). Raises `GaitError` (ConfigError) for a bad coach or
        InfluxDB config and when the local store cannot be opened; nothing is left open then."""
        options.check(environ)
        placement = placement or "sacrum"
        coach = None
        preset = options.coach or "default"
        if preset != COACH_OFF:
            cfg = load_config(preset, options.coach_config)
            coach = Coach(cfg, RunContext(placement=placement, speed_mps=speed_mps))
        from gait.storage.influx import InfluxConfig

        influx_cfg = InfluxConfig.load(options.config, environ)
        cues = CuePlayer(options.cues, out=None) if coach is not None else None
        pipeline_cfg = PipelineConfig(placement=placement, side=side, speed_mps=speed_mps)
        start = time.time() if start_time is None else float(start_time)
        coach_text = (
            "coach off"
            if coach is None
            else f"coach {preset}" + (f" + {Path(options.coach_config).name}" if options.coach_config else "")
        )
        notes = "; ".join(x for x in (notes, coach_text) if x)
        store = run_id = sink = None
        if options.store:
            from gait.storage import Store

            try:
                store = Store(options.data_dir)
                run_id = store.open_run(
                    runner=options.runner,
                    placement=placement,
                    side=side,
                    devices=list(devices),
                    config=pipeline_cfg,
                    start_time=start,
                    stream_t0_s=0.0,
                    notes=notes,
                )
                for path in raw_files:
                    store.add_raw_file(run_id, path, format="gait-capture", checksum=Path(path).is_file())
                sink = store.sink(run_id)
            except Exception as exc:  # noqa: BLE001 - one line, not a traceback; nothing half-open
                if store is not None:
                    with contextlib.suppress(Exception):
                        store.close()
                where = options.data_dir or "the default data folder"
                raise GaitError(
                    f"cannot open the local store in {where}: {exc}; give --data-dir DIR, or --no-store"
                ) from exc
        influx = influx_run = None
        if influx_cfg is not None:
            from gait.storage.influx import OUTBOX_NAME, InfluxSink, RunTags
            from gait.storage.influx import log as influx_log

            if not influx_log.handlers:  # the run shows InfluxDB problems itself, in one line
                influx_log.addHandler(logging.NullHandler())

            outbox = None
            base = store.data_dir if store is not None else (Path(options.data_dir) if options.data_dir else None)
            if base is not None and not (influx_cfg.outbox and Path(influx_cfg.outbox).expanduser().is_absolute()):
                outbox = base / (influx_cfg.outbox or OUTBOX_NAME)
            influx = InfluxSink(influx_cfg, outbox_path=outbox)
            if store is not None:
                influx_run = influx.for_run(store.run(run_id))
            else:
                first = devices[0] if len(devices) == 1 else None
                device = None if first is None else str(first.get("id") or "") or None
                influx_run = influx.for_run(
                    RunTags.new(runner=options.runner, placement=placement, device=device, start_time=start)
                )
        info = {
            "runner": options.runner,
            "placement": placement,
            "side": side,
            "speed_mps": speed_mps,
            "devices": [d.get("id") for d in devices],
            "source": source,
            "coach": None if coach is None else preset,
        }
        return cls(
            coach=coach,
            cues=cues,
            store=store,
            run_id=run_id,
            store_sink=sink,
            influx=influx,
            influx_run=influx_run,
            bus=bus,
            bus_info=info,
            coach_placement=placement if coach is not None else None,
            pain_before=options.pain_before,
            pain_after=options.pain_after,
            write=write,
            notice=notice,
            recording=recording,
        )

    # ------------------------------------------------------------------------------------------
    # lifecycle
    # ------------------------------------------------------------------------------------------
    def attach(
        self,
        *,
        write: Callable[[str], None] | None = None,
        clock: Callable[[], float] | None = None,
        tty: bool | None = None,
    ) -> None:
        """Bind the display and the stream clock (the live engine does this)."""
        if write is not None:
            self.write = write
        if clock is not None:
            self.clock = clock
        if tty is not None:
            self.tty = tty

    def bind_loop(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """The event loop the run lives in: `bus_pain` from another thread is run there."""
        self._loop = loop
        self._loop_thread = threading.get_ident() if loop is not None else None

    def start(self) -> None:
        """Start the run: the bus hears of it, and the check-in before the run is taken."""
        with self._lock:
            if self._started:
                return
            self._started = True
            self._start_bus()
            if self.pain_before is not None:
                self.pain(self.pain_before, "before", time_s=0.0)

    def set_bus(self, bus: Any) -> None:
        """Attach a live bus (before or after `start`)."""
        with self._lock:
            if bus is None or bus is self.bus:
                return
            self.bus = bus
            if self._started:
                self._start_bus()

    def _start_bus(self) -> None:
        if self.bus is None:
            return
        try:
            self.bus.start_run(run_id=self.run_id, info=dict(self.bus_info), on_pain=self.bus_pain)
        except Exception as exc:  # noqa: BLE001 - the dashboard must never stop the run
            self.notice(f"live bus: {type(exc).__name__}: {exc}")
        for note in self.pain_notes:
            self._publish(note)

    def close(self, status: str = RUN_CLOSED, reason: str = "") -> dict[str, Any] | None:
        """End the run: the check-in after it, the sinks flushed and closed (the store's run marked
        ``status``), the bus told. Returns the coach's summary (None without a coach)."""
        with self._lock:
            if self._closed:
                return self.coach.summary() if self.coach is not None else None
            if self.pain_after is not None:
                self.pain(self.pain_after, "after")
            self._closed = True
            self.status = status
            summary = self.coach.summary() if self.coach is not None else None
            if self.bus is not None:
                with contextlib.suppress(Exception):
                    self.bus.end_run(reason or status)
            if self.cues is not None:
                with contextlib.suppress(Exception):
                    self.cues.close()
            if self.store_sink is not None:
                stats = self.store_sink.close(status)
                if stats.dropped or stats.lost or (stats.errors and stats.last_error):
                    self.notice(
                        f"local store: {stats.dropped + stats.lost} records not stored"
                        + (f" ({stats.last_error})" if stats.last_error else "")
                    )
            if self.store is not None:
                if self.recording is not None and self.run_id is not None:
                    try:
                        self.store.add_raw_file(self.run_id, self.recording, format="gait-capture", checksum=True)
                    except Exception as exc:  # noqa: BLE001
                        self.notice(f"local store: could not reference {self.recording}: {exc}")
                with contextlib.suppress(Exception):
                    self.store.close()
            if self.influx is not None:
                health = self.influx.close(INFLUX_CLOSE_TIMEOUT_S)
                if health.queued and health.last_error:
                    self._say_once_influx(health.last_error)
            return summary

    @property
    def closed(self) -> bool:
        return self._closed

    # ------------------------------------------------------------------------------------------
    # records
    # ------------------------------------------------------------------------------------------
    def on_records(
        self, records: Sequence[Any], device: str | None = None, placement: str | None = None
    ) -> list[Alert]:
        """Records of one device on the common clock (StepMetrics, Gap, QualityEvent, SpeedSample,
        or an Alert / PainNote made elsewhere) to the sinks; steps of the coached placement to
        the coach. Returns the alerts the coach raised (already stored, shown and sounded)."""
        raised: list[Alert] = []
        with self._lock:
            for r in records:
                self._sink(r, device)
                if isinstance(r, StepMetrics):
                    self.steps += 1
                    self._publish(r)
                    if self.coach is not None and (
                        self.coach_placement is None or placement is None or placement == self.coach_placement
                    ):
                        alerts = self.coach.on_step(r)
                        self._alerts(alerts)
                        raised.extend(alerts)
                elif isinstance(r, Alert):
                    self._alerts([r])
                    raised.append(r)
                elif isinstance(r, PainNote):
                    self.pain_notes.append(r)
                    self._publish(r)
        return raised

    def pain(self, score: int, phase: str = "during", note: str = "", time_s: float | None = None) -> list[Any]:
        """A pain check-in (0-10; before, during or after the run) at ``time_s`` (default: now on
        the stream clock). Stored, sent and published with any alert the coach raises (a stop
        overrides every other cue). Returns ``[PainNote, *alerts]``. ValueError for a bad score."""
        with self._lock:
            records = self._checkin(score, phase, note, time_s)
            for r in records:
                self._sink(r, None)
                self._publish(r)
            return records

    def bus_pain(self, score: int, phase: str = "during", note: str = "") -> list[Any]:
        """The live bus's pain callback (`dashboards.bus.LiveBus.start_run`): the check-in goes to the
        coach on the run's own thread; the alerts are shown and sounded and sent to InfluxDB; the
        records are returned for the server to store and publish (it does both itself)."""
        loop, thread = self._loop, self._loop_thread
        if loop is not None and thread != threading.get_ident() and loop.is_running() and not loop.is_closed():
            fut: concurrent.futures.Future[list[Any]] = concurrent.futures.Future()

            def run() -> None:
                try:
                    fut.set_result(self._bus_checkin(score, phase, note))
                except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                    fut.set_exception(exc)

            try:
                loop.call_soon_threadsafe(run)
                return fut.result(BUS_PAIN_TIMEOUT_S)
            except (RuntimeError, concurrent.futures.TimeoutError):
                pass  # the loop is gone or stuck: take it here, under the lock
        return self._bus_checkin(score, phase, note)

    def _bus_checkin(self, score: int, phase: str, note: str) -> list[Any]:
        with self._lock:
            records = self._checkin(score, phase, note, None)
            if self.influx_run is not None:
                for r in records:
                    self.influx_run.put(r)
            return records

    def _checkin(self, score: int, phase: str, note: str, time_s: float | None) -> list[Any]:
        if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 10:
            raise ValueError(f"pain score must be a whole number from 0 to 10, got {score!r}")
        t = float(self.clock() if time_s is None else time_s)
        if self.coach is not None:
            alerts = self.coach.pain(score, time_s=t, phase=phase, note=note)
            pain_note = self.coach.pain_notes[-1]
        else:
            if phase not in ("before", "during", "after"):
                raise ValueError(f"pain phase must be before, during or after, got {phase!r}")
            alerts, pain_note = [], PainNote(time_s=t, score=score, phase=phase, note=note)
        self.pain_notes.append(pain_note)
        self.write(f"# {t:9.3f} pain {score}/10 ({phase})")
        self._show(alerts)
        return [pain_note, *alerts]

    def _alerts(self, alerts: Sequence[Alert]) -> None:
        for a in alerts:
            self._sink(a, None)
            self._publish(a)
        self._show(alerts)

    def _show(self, alerts: Sequence[Alert]) -> None:
        for a in alerts:
            self.alerts.append(a)
            if self.cues is None:
                continue
            try:
                played = self.cues.play(a)
            except Exception as exc:  # noqa: BLE001 - a sound problem must not stop the run
                self.notice(f"cue: {type(exc).__name__}: {exc}")
                continue
            if played.text is not None and a.kind != ALERT_SILENT:
                self.write(self._banner(played.text, a.kind == ALERT_STOP))

    def _banner(self, text: str, stop: bool) -> str:
        line = f"#>> {text}"
        if self.tty:
            return f"\x1b[{'1;41' if stop else '7'}m{line}\x1b[0m"
        return line

    def _sink(self, record: Any, device: str | None) -> None:
        if self.store_sink is not None:
            self.store_sink.put(record, device)
        if self.influx_run is not None and isinstance(record, StepMetrics | Alert | PainNote | Gap | QualityEvent):
            self.influx_run.put(record, device)

    def _publish(self, record: Any) -> None:
        if self.bus is None:
            return
        try:
            self.bus.publish(record)
        except Exception as exc:  # noqa: BLE001 - the dashboard must never stop the run
            self.notice(f"live bus: {type(exc).__name__}: {exc}")
            self.bus = None

    def publish(self, record: Any) -> None:
        """Publish something else to the bus (a device's health, a run event dict)."""
        with self._lock:
            self._publish(record)

    # ------------------------------------------------------------------------------------------
    # health
    # ------------------------------------------------------------------------------------------
    def health_line(self) -> str | None:
        """One line for the status display: InfluxDB's health when it is configured, the local
        store's only when records were lost; None when there is nothing to say."""
        parts = []
        if self.store_sink is not None:
            st = self.store_sink.stats
            if st.dropped or st.lost or st.errors:
                txt = f"store: {st.dropped + st.lost} records not stored"
                if st.errors and st.last_error:
                    txt += f", write errors ({st.last_error})"
                parts.append(txt)
        if self.influx is not None:
            parts.append(self.influx.health().line().split(" | ")[0])  # the error itself: once, by `poll`
        return " | ".join(parts) if parts else None

    def poll(self) -> list[str]:
        """New one-line problems since the last call (an InfluxDB error, a store error), each once."""
        out = []
        if self.influx is not None:
            h = self.influx.health()
            if h.connected is False and h.last_error and h.last_error != self._influx_error:
                self._influx_error = h.last_error
                out.append(f"{_influx_text(h.last_error)} (the run goes on and is stored locally)")
        if self.store_sink is not None:
            err = self.store_sink.stats.last_error
            if err and err != self._store_error:
                self._store_error = err
                out.append(f"local store: {err}")
        return out

    def _say_once_influx(self, error: str) -> None:
        if error == self._influx_error:
            return
        self._influx_error = error
        later = f"; `gait sync {self.run_id}` sends it later" if self.run_id is not None else ""
        self.write(f"# {_influx_text(error)} (the run is stored locally{later})")

    def summary_line(self) -> str | None:
        """The coach's one-line account of the run (None when it said nothing aloud and heard no pain)."""
        if self.coach is None or not (any(a.kind != ALERT_SILENT for a in self.alerts) or self.pain_notes):
            return None
        kinds: dict[str, int] = {}
        for a in self.alerts:
            kinds[a.kind] = kinds.get(a.kind, 0) + 1
        words = {"cue": "cues", "clear": "clears", "stop": "stops"}
        said = ", ".join(f"{n} {k if n == 1 else words.get(k, k)}" for k, n in sorted(kinds.items())) or "no alerts"
        pain = {p: [n.score for n in self.pain_notes if n.phase == p] for p in ("before", "during", "after")}
        pain_txt = "; ".join(f"pain {p} {','.join(map(str, v))}" for p, v in pain.items() if v)
        return f"coach {self.coach.config.name}: {said}" + (f"; {pain_txt}" if pain_txt else "")
