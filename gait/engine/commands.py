"""``gait live``, ``gait record`` and ``gait replay``: a source through the one engine.

    live(SourceOptions(kind="emulated"), RunOptions(store=False))          # exit code
    live(SourceOptions(kind="ble", devices=("kind=h10",)), RunOptions(), record="run.gcap")
    replay("run.gcap", RunOptions(data_dir="runs"), speed="max")

Every run is stored as it goes (unless ``RunOptions.store`` is False), coached, sent to InfluxDB
when it is configured, published on a live bus when one is given, and shown on the terminal. A
replay prints, stores and coaches what the live run did, byte for byte, because the engine is
deterministic and the capture holds every raw packet with its receive time.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO

from firmware_interface.capture import CaptureError, CaptureWriter
from firmware_interface.session import DeviceConfig
from firmware_interface.sources import ReplaySource, Source, parse_speed
from gait.core.errors import GaitError
from gait.engine.driver import run_source
from gait.engine.events import RUN_CLOSED, RunSummary
from gait.engine.setup import COACH_OFF, RunConfig, RunOptions, load_run_config, open_engine
from gait.engine.sources import SourceOptions, build_source, devices_for
from gait.engine.today import (
    check_footwear,
    interval_plan,
    log_footwear,
    log_today,
    record_focus,
    stop_rule,
    todays_focus,
    todays_session,
    weekly_briefing,
)

LOCKED_EXIT = 3  # the programme is locked (emergency): as `gait programme` says it

EMULATION_HINT = "install the emulation extra (bumble) for --source emulated"


def _err(msg: str) -> None:
    print(f"gait: error: {msg}", file=sys.stderr)


def _say_stored(options: RunOptions, summary: RunSummary) -> None:
    if summary.run_id is not None:
        where = options.data_dir or "the local store"
        print(f"gait: run {summary.run_id} stored in {where} ({summary.status})", file=sys.stderr)


def _programme(options: RunOptions) -> tuple[RunOptions, Any, tuple[Any, Any, str | None]]:
    """Today's session when the data folder holds a programme: its intervals and stop rule.
    Raises `ProgrammeLocked` / `RunNotAllowed` (from gait.programme) when no run may start."""
    today = todays_session(options.data_dir, options.day)
    if today is None:
        return options, None, (None, None, None)
    for text in today.messages:
        print(f"gait: programme: {text}", file=sys.stderr)
    if options.plan is not None:
        print("gait: programme: today's session sets the intervals (--intervals is not used)", file=sys.stderr)
    plan = interval_plan(today)
    check_footwear(options.data_dir, today, options.footwear, plan.running_s)
    focus = todays_focus(options.data_dir, today.day, plan) if today.kind in ("walk-run", "run") else None
    if focus is not None:
        fb = focus.plan
        print(f"gait: programme: today's focus: {fb.metric}, feedback {fb.feedback_fraction:.0%} of running time"
              + (f", a {fb.probe} probe" if fb.probe else ""), file=sys.stderr)  # fmt: skip
    return replace(options, plan=plan), today, (stop_rule(today), focus, weekly_briefing(options.data_dir, today.day))


def _refused(exc: Exception) -> int:
    """One line for an error before the run starts, and its exit code (3: the programme is locked)."""
    from gait.programme import ProgrammeLocked, RunNotAllowed
    from gait.programme.care import CareRefused

    if isinstance(exc, ProgrammeLocked):
        print(f"gait: programme locked: {exc}", file=sys.stderr)
        return LOCKED_EXIT
    if isinstance(exc, RunNotAllowed | CareRefused):
        print(f"gait: programme: {exc}", file=sys.stderr)
        return 2
    _err(str(exc))
    return 2


def _log(options: RunOptions, today: Any, engine: Any) -> None:
    if today is None:
        return
    summary = engine.summary
    try:
        completed = summary.status == RUN_CLOSED and engine.plan_finished()  # the whole session, not a part
        log = log_today(options.data_dir, today, completed=completed, stopped=engine.stopped,
                        running_s=engine.running_s())  # fmt: skip
    except GaitError as exc:
        print(f"gait: programme: session not logged: {exc}", file=sys.stderr)
        return
    try:
        log_footwear(options.data_dir, today.day, options.footwear, engine.running_s())
    except GaitError as exc:
        print(f"gait: programme: footwear not recorded: {exc}", file=sys.stderr)
    if engine.focus is not None:
        try:
            for line in record_focus(options.data_dir, today.day, engine.focus, engine.running_s()):
                print(f"gait: programme: {line}", file=sys.stderr)
        except GaitError as exc:
            print(f"gait: programme: focus values not recorded: {exc}", file=sys.stderr)
    done = "completed" if log.completed else "not completed"
    print(f"gait: programme: {today.day.isoformat()} {today.kind} session (stage {today.stage}) logged, {done}",
          file=sys.stderr)  # fmt: skip


def live(
    source_options: SourceOptions,
    options: RunOptions,
    *,
    record: str | None = None,
    out: TextIO | None = None,
    bus: Any = None,
) -> int:
    """``gait live`` (and ``gait record`` with ``record``): returns the exit code."""
    try:  # the programme, a bad config or source: before connecting; then the run
        options, today, (rule, focus, briefing) = _programme(options)
        cfg = load_run_config(options)
        source = build_source(source_options)
        engine = asyncio.run(_live(source, source_options, options, cfg, record, out, bus, rule, focus, briefing))
    except (GaitError, ValueError, OSError) as exc:
        return _refused(exc)
    except ImportError as exc:
        _err(f"{exc}; {EMULATION_HINT}")
        return 2
    summary = engine.summary
    _log(options, today, engine)
    if record:
        print(f"gait: wrote {record} ({summary.packets} packets)", file=sys.stderr)
    _say_stored(options, summary)
    return 0


async def _live(
    source: Source,
    source_options: SourceOptions,
    options: RunOptions,
    cfg: RunConfig,
    record: str | None,
    out: TextIO | None,
    bus: Any,
    rule: Any = None,
    focus: Any = None,
    briefing: str | None = None,
) -> Any:
    recorder = engine = None
    try:
        await source.prepare()  # BLE: find and connect first, so every device has its decoder
        devices = devices_for(source, source_options.devices)
        if record:
            metadata = {
                "devices": [d.to_dict() for d in devices],
                "source": source.metadata,
                "live": {"placement": options.placement, "side": options.side, "speed_mps": options.speed_mps},
                "config": cfg.stored(),
            }
            recorder = CaptureWriter(record, metadata)
        engine = open_engine(
            options,
            devices=devices,
            source_kind=source.kind,
            notes=f"gait live, {source.kind} source",
            start_time=recorder.metadata.get("created_unix_s") if recorder is not None else None,
            recording=record or None,
            recorder=recorder,
            bus=bus,
            out=out,
            run_config=cfg,
            stop_rule=rule,
            focus=focus,
            briefing=briefing,
        )
    except BaseException as exc:  # nothing streamed yet: disconnect (STOP) and close what is open
        if recorder is not None:
            with contextlib.suppress(Exception):
                recorder.close({"reason": f"error: {exc}", "packets": 0})
        with contextlib.suppress(Exception):
            await source.aclose()
        raise
    await run_source(source, engine, keys=options.keys)
    return engine


def replay_config(source: ReplaySource, options: RunOptions) -> tuple[RunConfig, list[DeviceConfig]]:
    """What a capture is replayed with: the configuration it was recorded with (when it holds one
    and ``options.config`` is None), ``options``' placement, side and speed over it, and its
    devices (each re-placed when ``options`` say so). Raises `GaitError` / ValueError."""
    meta = source.capture_metadata
    live_meta = meta.get("live", {}) if isinstance(meta.get("live"), dict) else {}
    stored = meta.get("config")
    cfg = load_run_config(options)
    if options.config is None and isinstance(stored, dict):  # as recorded, unless told otherwise
        recorded = RunConfig.from_stored(stored)
        changes = {k: v for k, v in (("placement", options.placement), ("side", options.side),
                                     ("speed_mps", options.speed_mps)) if v is not None}  # fmt: skip
        cfg = replace(cfg, pipeline=replace(recorded.pipeline, **changes))
        if options.coach is None and options.coach_config is None:
            cfg = replace(cfg, coach=recorded.coach, coach_preset=recorded.coach_preset)
    devices = list(source.devices)
    if options.placement or options.side:  # re-analyse as another placement / side: overrides the capture's
        devices = [DeviceConfig(d.id, d.kind, options.placement or d.placement, options.side or d.side, d.settings)
                   for d in devices]  # fmt: skip
    if options.speed_mps is None and live_meta.get("speed_mps") is not None and cfg.pipeline.speed_mps is None:
        cfg = replace(cfg, pipeline=replace(cfg.pipeline, speed_mps=float(live_meta["speed_mps"])))
    return cfg, devices


@dataclass
class OfflineReplay:
    """A capture replayed offline (`replay_offline`): the steps, gaps and notices per device
    (``collector``), each device's pipeline error, and how reading the capture ended."""

    collector: Any  # gait.engine.sinks.Collector
    errors: dict[str, str]  # device -> why its pipeline stopped (absent: analysed to the end)
    warnings: list[str]  # the capture stopped early or did not close (`capture_warnings`)


OFFLINE_OPTIONS = RunOptions(store=False, coach=COACH_OFF, cues="silent", keys=False)


def replay_offline(source: ReplaySource, cfg: RunConfig, devices: list[DeviceConfig]) -> OfflineReplay:
    """A capture (``source`` at speed None, ``cfg`` and ``devices`` from `replay_config`) through
    the same decoders and engine as `gait replay`, as fast as possible, with nothing stored,
    coached, sent or shown: what `gait analyze` reads from a capture."""
    from gait.engine.sinks import Collector

    cfg = replace(cfg, coach=None, coach_preset=None, influx=None)
    collector = Collector()
    engine = open_engine(OFFLINE_OPTIONS, devices=devices, source_kind="replay", run_config=cfg, display=False,
                         extra_sinks=[collector])  # fmt: skip
    asyncio.run(run_source(source, engine, handle_sigint=False, link_loss_timeout_s=None))
    errors = {d: st.error for d, st in engine.devices.items() if st.error}
    return OfflineReplay(collector, errors, capture_warnings(source))


def capture_warnings(source: ReplaySource) -> list[str]:
    """What a replayed capture's reading said: where it stopped early, or that it did not close."""
    problem = source.reader.problem
    name = source.path.name
    if problem is not None:
        return [f"{name}: stopped at byte {problem.offset}: {problem.kind} record ({problem.detail}); "
                f"{problem.bytes_left} bytes not read"]  # fmt: skip
    if not source.reader.ended:
        return [f"{name}: no END record (the recording did not close)"]
    return []


def replay(capture: str, options: RunOptions, *, speed: str = "max", out: TextIO | None = None, bus: Any = None) -> int:
    """``gait replay CAPTURE``: the capture through the same engine; stored as a new run
    (starting at the capture's wall-clock start, the capture referenced) and coached. Without
    ``--config``, the configuration the capture was recorded with (when it holds one)."""
    try:
        options, today, (rule, focus, briefing) = _programme(options)
        source = ReplaySource(capture, speed=parse_speed(speed))
    except (CaptureError, GaitError, OSError, ValueError) as exc:
        return _refused(exc)
    meta = source.capture_metadata
    try:
        cfg, devices = replay_config(source, options)
    except (GaitError, ValueError) as exc:
        _err(str(exc))
        return 2
    created = meta.get("created_unix_s")
    try:
        engine = open_engine(
            options,
            devices=devices,
            source_kind="replay",
            notes=f"gait replay of {Path(capture).name}",
            start_time=float(created) if isinstance(created, int | float) else None,
            raw_files=[capture],
            bus=bus,
            out=out,
            run_config=cfg,
            stop_rule=rule,
            focus=focus,
            briefing=briefing,
        )
    except (GaitError, OSError, ValueError) as exc:
        _err(str(exc))
        return 2
    summary = asyncio.run(run_source(source, engine, keys=options.keys))
    _say_stored(options, summary)
    _log(options, today, engine)
    for warning in capture_warnings(source):
        print(f"gait: warning: {warning}", file=sys.stderr)
    return 0
