"""Setting a run up: typed options in, a `RunEngine` with its sinks out.

    options = RunOptions(data_dir="runs", coach="default", config="gait.toml")
    engine = open_engine(options, devices=source.devices, source_kind=source.kind, out=sys.stdout)
    summary = await run_source(source, engine)

One TOML file configures a run (``--config FILE``)::

    [pipeline]      # gait.core.config.PipelineConfig: placement, side, speed, every stage's parameters
    [coach]         # gait.coach.CoachConfig over the preset (--coach); --coach-config FILE over that
    [influxdb]      # gait.storage.influx.InfluxConfig (INFLUXDB_V2_* variables win)

The run stores the whole configuration it used (`RunConfig.stored`); ``gait export RUN --format
config`` writes it back as such a file, and ``gait analyze`` / ``gait replay`` with it reproduce
the run's steps. Command-line placement, side and speed win over the file.
"""

from __future__ import annotations

import contextlib
import logging
import time
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO

from gait.coach import Coach, CoachConfig, RunContext, load_config
from gait.core.config import PipelineConfig
from gait.core.errors import ConfigError, GaitError
from gait.cues import MODES as CUE_MODES
from gait.engine.engine import RunEngine
from gait.engine.terminal import DEFAULT_STATUS_EVERY_S

COACH_OFF = "off"


@dataclass(frozen=True)
class RunOptions:
    """What a person asked of a run (the command line builds it; library callers too)."""

    store: bool = True
    data_dir: str | None = None
    runner: str | None = None
    config: str | None = None  # the TOML file: [pipeline], [coach], [influxdb]
    coach: str | None = None  # a preset name, or "off" (None: the default preset, or as recorded)
    coach_config: str | None = None  # a coach TOML over the preset (and over [coach])
    cues: str = "auto"
    pain_before: int | None = None
    pain_after: int | None = None
    placement: str | None = None
    side: str | None = None
    speed_mps: float | None = None
    jsonl: bool = False
    status_every_s: float | None = DEFAULT_STATUS_EVERY_S
    keys: bool = True  # digit keys are pain check-ins (when stdin is a terminal)
    plan: Any = None  # today's walk and run intervals (gait.engine.intervals.IntervalPlan), or None
    day: Any = None  # the day the run belongs to (datetime.date; None: today): the programme's day
    footwear: str | None = None  # regular | minimal | barefoot (the programme records it with the run)


@dataclass(frozen=True)
class RunConfig:
    """The configuration of one run: pipeline, coach (None: off) and InfluxDB (None: not used)."""

    pipeline: PipelineConfig
    coach: CoachConfig | None = None
    coach_preset: str | None = None
    influx: Any = None  # gait.storage.influx.InfluxConfig

    def stored(self) -> dict[str, Any]:
        """What the local store keeps with the run (no InfluxDB settings: they hold a token)."""
        return {
            "pipeline": self.pipeline.to_dict(),
            "coach": None if self.coach is None else self.coach.to_dict(),
            "coach_preset": self.coach_preset,
        }

    @classmethod
    def from_stored(cls, d: Mapping[str, Any]) -> RunConfig:
        """The inverse of `stored` (also reads runs stored before coach settings were kept)."""
        if not isinstance(d.get("pipeline"), dict):
            d = {"pipeline": dict(d), "coach": None}
        coach = d.get("coach")
        return cls(
            PipelineConfig.from_dict(d["pipeline"]),
            None if coach is None else CoachConfig.from_dict(coach),
            d.get("coach_preset"),
        )

    def to_toml(self) -> str:
        """The configuration as the one TOML file (``[pipeline]``, and ``[coach]`` when on)."""
        text = self.pipeline.to_toml()
        if self.coach is not None:
            text += "\n" + self.coach.to_toml()
        else:
            text += "\n# the coach was off for this run (gait live --coach off)\n"
        return text


def _read_toml(path: str | None) -> dict[str, Any]:
    if path is None:
        return {}
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"--config {path}: no such file")
    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not a text file: {exc}") from exc


def load_run_config(options: RunOptions, environ: Mapping[str, str] | None = None) -> RunConfig:
    """Read and check everything a run is configured with, before it starts; `ConfigError` says
    what to fix (a bad table, an unknown setting, a missing file, an unknown preset)."""
    doc = _read_toml(options.config)
    where = options.config or "the config"
    table = doc.get("pipeline", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [pipeline] must be a table")
    try:
        pipeline = PipelineConfig.from_dict(table)
    except ConfigError as exc:
        raise ConfigError(f"{where} [pipeline]: {exc}") from exc
    changes = {k: v for k, v in (("placement", options.placement), ("side", options.side),
                                 ("speed_mps", options.speed_mps)) if v is not None}  # fmt: skip
    if changes:
        pipeline = replace(pipeline, **changes)
    if options.cues not in CUE_MODES:
        raise ConfigError(f"--cues must be one of {', '.join(CUE_MODES)}, got {options.cues!r}")
    coach = None
    preset = options.coach or "default"
    if preset != COACH_OFF:
        over = doc.get("coach")
        if over is not None and not isinstance(over, dict):
            raise ConfigError(f"{where}: [coach] must be a table")
        coach = load_config(preset, over) if over else load_config(preset)
        if options.coach_config is not None:
            coach = load_config(preset, options.coach_config) if not over else _merge_file(coach, options.coach_config)
    elif options.coach_config is not None and not Path(options.coach_config).is_file():
        raise ConfigError(f"coach config file not found: {options.coach_config}")
    from gait.storage.influx import InfluxConfig

    influx = InfluxConfig.load(doc if options.config else None, environ)
    return RunConfig(pipeline, coach, None if coach is None else preset, influx)


def _merge_file(coach: CoachConfig, path: str) -> CoachConfig:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"coach config file not found: {p}")
    text = p.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from exc
    return coach.merged(data.get("coach", data))


def open_engine(
    options: RunOptions,
    *,
    devices: Sequence[Any] = (),
    source_kind: str | None = None,
    notes: str = "",
    start_time: float | None = None,
    raw_files: Sequence[str | Path] = (),
    recording: str | Path | None = None,
    recorder: Any = None,
    bus: Any = None,
    out: TextIO | None = None,
    display: bool = True,
    cue_player: Any = None,
    run_config: RunConfig | None = None,
    environ: Mapping[str, str] | None = None,
    extra_sinks: Sequence[Any] = (),
    stop_rule: Any = None,
    feedback_on: Any = None,
    focus: Any = None,
    briefing: str | None = None,
) -> RunEngine:
    """A run engine with its sinks: the terminal (unless ``display`` is False), the local store
    (a new run, unless ``options.store`` is False), InfluxDB (when configured), the cue player
    (when the coach is on), the live bus (when given). ``devices``: `DeviceConfig` objects;
    ``raw_files``: complete captures the run comes from (a replay), referenced now;
    ``recording``: the capture this run is writing, referenced when it closes. Raises
    `GaitError` (ConfigError) before anything is opened for a bad configuration, and when the
    local store cannot be opened; nothing is left open then."""
    from gait.engine.sinks import BusSink, CueSink, StoreRunSink
    from gait.engine.terminal import TerminalSink

    cfg = run_config or load_run_config(options, environ)
    first = devices[0] if devices else None
    placement = (getattr(first, "placement", None) if first else None) or options.placement or cfg.pipeline.placement
    side = (getattr(first, "side", None) if first else None) or options.side or cfg.pipeline.side
    pipeline = replace(cfg.pipeline, placement=placement or "sacrum", side=side)
    cfg = replace(cfg, pipeline=pipeline)
    coach = None
    if cfg.coach is not None:
        coach = Coach(cfg.coach, RunContext(placement=pipeline.placement, speed_mps=pipeline.speed_mps))
    start = time.time() if start_time is None else float(start_time)
    coach_text = "coach off" if coach is None else f"coach {cfg.coach_preset}" + (
        f" + {Path(options.coach_config).name}" if options.coach_config else ""
    )
    notes = "; ".join(x for x in (notes, coach_text) if x)
    device_dicts = [d.to_dict() if hasattr(d, "to_dict") else dict(d) for d in devices]
    sinks: list[Any] = []
    store = run_id = None
    if options.store:
        from gait.storage import Store

        try:
            store = Store(options.data_dir)
            run_id = store.open_run(
                runner=options.runner,
                placement=pipeline.placement,
                side=pipeline.side,
                devices=device_dicts,
                config=cfg.stored(),
                start_time=start,
                stream_t0_s=0.0,
                notes=notes,
            )
            for path in raw_files:
                store.add_raw_file(run_id, path, format="gait-capture", checksum=Path(path).is_file())
            sinks.append(StoreRunSink(store, run_id, recording=recording))
        except Exception as exc:  # noqa: BLE001 - one line, not a traceback; nothing half-open
            if store is not None:
                with contextlib.suppress(Exception):
                    store.close()
            where = options.data_dir or "the default data folder"
            raise GaitError(f"cannot open the local store in {where}: {exc}; give --data-dir DIR, or --no-store") from exc
    if cfg.influx is not None:
        sinks.append(_influx_sink(cfg.influx, options, store, run_id, pipeline, device_dicts, start))
    if coach is not None:
        from gait.cues import CuePlayer

        sinks.append(CueSink(cue_player if cue_player is not None else CuePlayer(options.cues, out=None)))
    if bus is not None:
        info = {
            "runner": options.runner,
            "placement": pipeline.placement,
            "side": pipeline.side,
            "speed_mps": pipeline.speed_mps,
            "devices": [d.get("id") for d in device_dicts],
            "source": source_kind,
            "coach": cfg.coach_preset,
        }
        sinks.append(BusSink(bus, info, run_id))
    sinks.extend(extra_sinks)
    if display:
        sinks.append(TerminalSink(out, jsonl=options.jsonl, status_every_s=options.status_every_s))
    return RunEngine(
        devices,
        pipeline=pipeline,
        coach=coach,
        coach_placement=pipeline.placement if coach is not None else None,
        sinks=sinks,
        recorder=recorder,
        pain_before=options.pain_before,
        pain_after=options.pain_after,
        run_id=run_id,
        plan=options.plan,
        stop_rule=stop_rule,
        feedback_on=feedback_on,
        focus=focus,
        briefing=briefing,
    )


def _influx_sink(influx_cfg: Any, options: RunOptions, store: Any, run_id: int | None, pipeline: PipelineConfig,
                 devices: list[dict[str, Any]], start: float) -> Any:  # fmt: skip
    from gait.engine.sinks import InfluxRunSink
    from gait.storage.influx import OUTBOX_NAME, InfluxSink, RunTags
    from gait.storage.influx import log as influx_log

    if not influx_log.handlers:  # the run shows InfluxDB problems itself, in one line
        influx_log.addHandler(logging.NullHandler())
    outbox = None
    base = store.data_dir if store is not None else (Path(options.data_dir) if options.data_dir else None)
    if base is not None and not (influx_cfg.outbox and Path(influx_cfg.outbox).expanduser().is_absolute()):
        outbox = base / (influx_cfg.outbox or OUTBOX_NAME)
    influx = InfluxSink(influx_cfg, outbox_path=outbox)
    if store is not None and run_id is not None:
        tags = RunTags.from_run_info(store.run(run_id))
    else:
        one = devices[0] if len(devices) == 1 else None
        device = None if one is None else str(one.get("id") or "") or None
        tags = RunTags.new(runner=options.runner, placement=pipeline.placement, device=device, start_time=start)
    return InfluxRunSink(influx, tags, run_id)
