"""One recording analysed: the function `gait analyze` runs on one file, and every batch worker too.

    fa = analyse_file(AnalysisRequest("run.csv", AnalysisOptions(placement="sacrum")))
    fa.result.steps, fa.records(), fa.config_hash

A CSV recording goes through `gait.pipeline.analyze` (the streaming pipeline over one block); a
capture file (``.gcap``) through the decoders and the engine of `gait replay`
(`gait.engine.commands.replay_offline`), nothing stored or coached. The placement of a CSV comes
from the options (``--placement``) or the file's ``# placement:`` line; a capture's from its
devices (``--placement`` re-places them).

`config_hash` names what the figures depend on: the effective pipeline configuration (every
parameter, placement and side, calibration, speed), the capture's devices, the package version
and a digest of the analysis code's source (`analysis_code_digest`: a change to a detector
between versions is a new hash too). A batch skips a recording already analysed with the same
hash and the same file content.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from firmware_interface.files.recording import Recording, read_metadata, read_recording
from gait.core.calibration import calibration_from_samples
from gait.core.config import PLACEMENTS, SIDES, Calibration, PipelineConfig, load_pipeline_toml
from gait.core.errors import ConfigError, GaitError
from gait.core.records import SampleBlock, StepMetrics

CSV = "csv"
CAPTURE = "capture"
CAPTURE_SUFFIX = ".gcap"
RECORDING_SUFFIXES = (".csv", ".csv.gz", CAPTURE_SUFFIX)


@dataclass(frozen=True)
class AnalysisOptions:
    """What the command line asks of every file (None: the file's own, else the default)."""

    placement: str | None = None
    side: str | None = None
    speed_mps: float | None = None
    calibration: str | None = None  # a CSV recording of standing still (the zero of lean and foot angle)
    acc_range_g: float | None = None
    config: str | None = None  # a TOML file whose [pipeline] table sets the pipeline
    acc_only: bool = False  # as if the sensor had no gyroscope (CSV only; the validation's degraded mode)


@dataclass(frozen=True)
class AnalysisRequest:
    path: str
    options: AnalysisOptions = field(default_factory=AnalysisOptions)


@dataclass
class FileAnalysis:
    """One file analysed: its steps (time order) with each step's placement and device (None: a
    CSV recording), what to warn about, and the configuration it ran with."""

    path: str
    kind: str
    result: Any  # gait.pipeline.AnalysisResult
    placements: list[str]
    devices: list[str | None]
    config_hash: str
    recording: Recording | None = None  # a CSV recording as read
    configs: list[PipelineConfig] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def steps(self) -> list[StepMetrics]:
        return self.result.steps

    def records(self) -> list[dict]:
        """The analysis-contract records (`gait analyze --jsonl`), in order."""
        return [s.to_contract() for s in self.result.steps]


def is_capture(path: str | Path) -> bool:
    """A capture file: by its suffix, else (neither ``.gcap`` nor a CSV's) by its first bytes."""
    p = Path(path)
    name = p.name.lower()
    if name.endswith(CAPTURE_SUFFIX):
        return True
    if name.endswith(RECORDING_SUFFIXES):
        return False
    from firmware_interface.capture import MAGIC

    try:
        with open(p, "rb") as fh:
            return fh.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


# ------------------------------------------------------------------------------ the config hash
@functools.cache
def analysis_version() -> str:
    """The version of the analysis code: the package's (`gait.storage.local.software_version`)."""
    from gait.storage.local import software_version

    return software_version()


# the source the records of a recording depend on: readers, decoders, sessions, the pipeline's
# stages, the metrics, the capture replay (package directories and single modules, relative to
# the folder that holds ``gait`` and ``firmware_interface``)
ANALYSIS_SOURCES = (
    "gait/core", "gait/dsp", "gait/detect", "gait/metrics", "gait/pipeline.py", "gait/batch/analysis.py",
    "gait/engine", "firmware_interface",
)  # fmt: skip


@functools.cache
def analysis_code_digest() -> str:
    """SHA-256 (16 hex digits) of the analysis code's Python source (`ANALYSIS_SOURCES`), file
    names and contents in sorted order: it changes with any edit that can change a record."""
    root = Path(__file__).resolve().parents[2]
    h = hashlib.sha256()
    for entry in ANALYSIS_SOURCES:
        path = root / entry
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for f in files:
            h.update(f.relative_to(root).as_posix().encode() + b"\0")
            h.update(f.read_bytes())
            h.update(b"\0")
    return h.hexdigest()[:16]


def config_hash(doc: dict[str, Any]) -> str:
    """A stable hash of an analysis configuration ``doc``, `analysis_version` and
    `analysis_code_digest`."""
    text = json.dumps({"config": doc, "version": analysis_version(), "code": analysis_code_digest()},
                      sort_keys=True, default=str)  # fmt: skip
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def file_digest(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ------------------------------------------------------------------------------ CSV recordings
@functools.lru_cache(maxsize=8)
def _calibration(path: str) -> Calibration:
    return calibration_from_samples(read_recording(path).acc_mps2, path)


def csv_config(options: AnalysisOptions, metadata: dict[str, str]) -> PipelineConfig:
    """The pipeline config of a CSV recording: ``options.config``'s [pipeline] table (else the
    defaults) with every option given winning over it; the placement from the options or the
    file's ``# placement:``; a foot's side falls back to the file's ``# side:``."""
    base = load_pipeline_toml(options.config) if options.config else PipelineConfig()
    calibration = _calibration(options.calibration) if options.calibration else base.calibration
    placement = options.placement
    if placement is None:
        placement = metadata.get("placement")
        if placement is None:
            raise ConfigError("no placement: give --placement, or a '# placement: ...' line in the file")
        if placement not in PLACEMENTS:
            raise ConfigError(f"the file's placement {placement!r} is not one of {', '.join(PLACEMENTS)}")
    side = options.side if options.side is not None else base.side
    if side is None and placement == "foot":
        meta_side = metadata.get("side")
        side = meta_side if meta_side in SIDES else None
    return base.with_(
        placement=placement,
        side=side,
        speed_mps=options.speed_mps if options.speed_mps is not None else base.speed_mps,
        calibration=calibration,
        acc_range_g=options.acc_range_g if options.acc_range_g is not None else base.acc_range_g,
    )


def _csv_hash(config: PipelineConfig, options: AnalysisOptions) -> str:
    return config_hash({"kind": CSV, "pipeline": config.to_dict(), "acc_only": options.acc_only})


def _analyse_csv(request: AnalysisRequest) -> FileAnalysis:
    from gait.pipeline import analyze

    options = request.options
    rec = read_recording(request.path)
    config = csv_config(options, rec.metadata)
    block = rec.block()
    if options.acc_only:
        block = SampleBlock(time_s=block.time_s, acc_mps2=block.acc_mps2)
    result = analyze(block, config, rec.sampling_rate_hz)
    warnings = list(rec.warnings)
    meta_placement = rec.metadata.get("placement")
    if options.placement is not None and meta_placement in PLACEMENTS and meta_placement != options.placement:
        warnings.append(f"the recording says placement {meta_placement!r}, analysing as {options.placement!r}")
    n = len(result.steps)
    return FileAnalysis(request.path, CSV, result, [config.placement] * n, [None] * n, _csv_hash(config, options),
                        recording=rec, configs=[config], warnings=warnings)  # fmt: skip


# ------------------------------------------------------------------------------ capture files
def _capture_setup(request: AnalysisRequest) -> tuple[Any, Any, list[Any], str]:
    """A capture's replay source, run config and devices (as `gait replay` reads them, with the
    options over them) and its config hash."""
    from firmware_interface.sources import ReplaySource
    from gait.engine.commands import replay_config
    from gait.engine.setup import COACH_OFF, RunOptions

    options = request.options
    if options.acc_only:
        raise ConfigError("acc_only is for CSV recordings")
    source = ReplaySource(request.path, speed=None)
    run_options = RunOptions(store=False, coach=COACH_OFF, config=options.config, placement=options.placement,
                             side=options.side, speed_mps=options.speed_mps)  # fmt: skip
    cfg, devices = replay_config(source, run_options)
    changes: dict[str, Any] = {}
    if options.calibration:
        changes["calibration"] = _calibration(options.calibration)
    if options.acc_range_g is not None:
        changes["acc_range_g"] = options.acc_range_g
    if changes:
        cfg = replace(cfg, pipeline=replace(cfg.pipeline, **changes))
    digest = config_hash(
        {"kind": CAPTURE, "pipeline": cfg.pipeline.to_dict(), "devices": [d.to_dict() for d in devices]}
    )
    return source, cfg, devices, digest


def _analyse_capture(request: AnalysisRequest) -> FileAnalysis:
    from gait.engine.commands import replay_offline
    from gait.pipeline import AnalysisResult

    source, cfg, devices, digest = _capture_setup(request)
    replayed = replay_offline(source, cfg, devices)
    if replayed.errors:
        raise GaitError("; ".join(f"{d}: {why}" for d, why in replayed.errors.items()))
    got = replayed.collector
    tagged = sorted(
        ((s, got.placements.get(d) or cfg.pipeline.placement, d) for d in got.steps for s in got.steps[d]),
        key=lambda t: t[0].ic_s,
    )
    result = AnalysisResult(
        steps=[t[0] for t in tagged],
        gaps=sorted((g for gs in got.gaps.values() for g in gs), key=lambda g: g.start_s),
        notices=sorted((n for ns in got.notices.values() for n in ns), key=lambda n: n.time_s),
    )
    return FileAnalysis(request.path, CAPTURE, result, [t[1] for t in tagged], [t[2] for t in tagged], digest,
                        configs=[cfg.pipeline], warnings=list(replayed.warnings))  # fmt: skip


# ------------------------------------------------------------------------------ the one entry
def analyse_file(request: AnalysisRequest) -> FileAnalysis:
    """One file analysed (a CSV recording or a capture); raises `GaitError` (a format or config
    error naming the file), ValueError or OSError."""
    t0 = time.perf_counter()
    fa = _analyse_capture(request) if is_capture(request.path) else _analyse_csv(request)
    fa.seconds = time.perf_counter() - t0
    return fa


def planned_hash(request: AnalysisRequest) -> str:
    """The config hash `analyse_file` will give ``request``, from the file's header only."""
    if is_capture(request.path):
        return _capture_setup(request)[3]
    return _csv_hash(csv_config(request.options, read_metadata(request.path)), request.options)
