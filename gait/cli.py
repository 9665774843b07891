"""The `gait` command: the one place that wires sources, pipeline and outputs together.

Start-up is kept short: this module imports the rest of the project (and NumPy, SciPy, Arrow, ...)
inside the command that uses it, and `build_parser` builds only the arguments of the command being
run (the others are listed by name and help line), so `gait --help` loads no numerical library
and `gait analyze` only what the analysis uses. ``tests/test_startup.py`` holds it to that.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gait.core.errors import GaitError, RecordingFormatError

if TYPE_CHECKING:
    from firmware_interface.files.recording import Recording
    from gait.core.config import Calibration, PipelineConfig
    from gait.core.records import StepMetrics
    from gait.pipeline import AnalysisResult


def _err(msg: str) -> None:
    print(f"gait: error: {msg}", file=sys.stderr)


def calibration_from_recording(rec: Recording) -> Calibration:
    """A standing calibration from a CSV recording of standing still."""
    from gait.core.calibration import calibration_from_samples

    return calibration_from_samples(rec.acc_mps2, rec.path)


def run_analysis(path: str | Path, config: PipelineConfig) -> tuple[Recording, AnalysisResult]:
    from firmware_interface.files.recording import read_recording
    from gait.pipeline import analyze

    rec = read_recording(path)
    return rec, analyze(rec.block(), config, rec.sampling_rate_hz)


def _fmt(v: float | None, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def print_table(steps: Sequence[StepMetrics], rec: Recording | None, result: AnalysisResult, out=None,
                source: str = "") -> None:
    out = out if out is not None else sys.stdout
    header = f"{'#':>5} {'IC s':>9} {'side':>5} {'GCT ms':>7} {'flight':>7} {'cad spm':>7} {'VO cm':>6} {'VR %':>5} {'FSA°':>6} {'strike':>9} {'lean°':>6}  quality"
    arms = any(s.arm_swing_deg is not None or s.arm_cross_cm is not None for s in steps)  # a wrist sensor
    if arms:
        header = header.replace("  quality", f" {'arm cm':>6} {'swing°':>6}  quality")
    print(header, file=out)
    for i, s in enumerate(steps, 1):
        arm = f"{_fmt(s.arm_cross_cm, '6.1f'):>6} {_fmt(s.arm_swing_deg, '6.0f'):>6} " if arms else ""
        print(
            f"{i:>5} {s.ic_s:>9.3f} {(s.side or '-'):>5} {_fmt(s.gct_ms, '7.0f')} {_fmt(s.flight_ms, '7.0f')} "
            f"{_fmt(s.cadence_spm, '7.1f')} {_fmt(s.vo_cm, '6.1f')} {_fmt(s.vertical_ratio_pct, '5.1f')} "
            f"{_fmt(s.fsa_deg, '6.1f')} {(s.strike or '-'):>9} {_fmt(s.lean_deg, '6.1f')} {arm} {','.join(s.quality)}",
            file=out,
        )
    print(file=out)
    print(summary_text(steps, rec, result, source), file=out)


def _median(values: list[float | None]) -> float | None:
    import statistics

    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else None


def no_running_text(steps: Sequence[StepMetrics], rec: Recording | None = None) -> str | None:
    """One line when a recording holds no running: no contacts at all (with why, from the
    recording's samples: `gait.metrics.motion`), or every one implausible (walking or handling
    analysed as running gives one contact per stride at 305-390 spm)."""
    from gait.core.records import Q_IMPLAUSIBLE, Q_WALKING
    from gait.metrics.motion import motion_verdict

    if not steps:
        if rec is None:
            return "no running found: no foot contacts detected (walking, standing or handling?)"
        why = motion_verdict(rec.acc_mps2, rec.sampling_rate_hz).text
        return f"no running found: no foot contacts detected; {why}"
    if all(Q_WALKING in s.quality for s in steps):
        why = "" if rec is None else f"; {motion_verdict(rec.acc_mps2, rec.sampling_rate_hz).text}"
        return f"no running found: all {len(steps)} strides are flagged walking (|a| within the walking band){why}"
    if all(Q_IMPLAUSIBLE in s.quality for s in steps):
        return (
            f"no running found: all {len(steps)} contacts are flagged implausible "
            "(walking or handling, not running?); the figures are not a run's"
        )
    return None


def summary_text(steps: Sequence[StepMetrics], rec: Recording | None, result: AnalysisResult, source: str = "") -> str:
    """``rec``: the CSV recording analysed (None: a capture file, ``source``)."""
    lines = [
        f"Recording: {rec.path}  ({rec.duration_s:.1f} s at {rec.sampling_rate_hz:.0f} Hz, "
        f"{'acc+gyro' if rec.gyr_dps is not None else 'acc only'})" if rec is not None
        else f"Recording: {source}  (a capture file)",
        f"Contacts:  {len(steps)}",
    ]
    no_running = no_running_text(steps, rec)
    if no_running is not None:
        lines.append(f"No running:           {no_running}")
    rows = [
        ("Cadence", _median([s.cadence_spm for s in steps]), "spm", ".1f"),
        ("Contact time", _median([s.gct_ms for s in steps]), "ms", ".0f"),
        ("Flight time", _median([s.flight_ms for s in steps]), "ms", ".0f"),
        ("Vertical oscillation", _median([s.vo_cm for s in steps]), "cm", ".1f"),
        ("Vertical ratio", _median([s.vertical_ratio_pct for s in steps]), "%", ".1f"),
        ("Foot strike angle", _median([s.fsa_deg for s in steps]), "deg", ".1f"),
        ("Trunk lean", _median([s.lean_deg for s in steps]), "deg", ".1f"),
        ("Arm crossing", _median([s.arm_cross_cm for s in steps]), "cm", ".1f"),
        ("Arm swing", _median([s.arm_swing_deg for s in steps]), "deg", ".0f"),
    ]
    for label, value, unit, spec in rows:
        if value is not None:
            lines.append(f"{label + ':':<22}{format(value, spec)} {unit} (median)")
    strikes = Counter(s.strike for s in steps if s.strike)
    if strikes:
        total = sum(strikes.values())
        lines.append(
            "Foot strike:          "
            + ", ".join(f"{k} {100 * v / total:.0f} %" for k, v in strikes.most_common())
        )
    flagged = Counter(q for s in steps for q in s.quality)
    if flagged:
        lines.append("Quality flags:        " + ", ".join(f"{k} on {v}" for k, v in flagged.most_common()))
    if result.gaps:
        lost = sum(g.missing_samples for g in result.gaps)
        lines.append(f"Gaps:                 {len(result.gaps)} ({lost} samples lost)")
    for notice in result.notices:
        lines.append(f"Notice:               {notice.message}")
    for warning in rec.warnings if rec is not None else ():
        lines.append(f"Input:                {warning}")
    return "\n".join(lines)


def cmd_analyze(args: argparse.Namespace) -> int:
    from gait.batch.command import batch_analyze, is_many, options_from_args

    if args.out is not None or len(args.paths) > 1 or is_many(args.paths[0]):
        return batch_analyze(args)
    from gait.batch.analysis import AnalysisRequest, analyse_file

    path = args.paths[0]
    try:
        fa = analyse_file(AnalysisRequest(path, options_from_args(args)))
    except (GaitError, ValueError) as exc:
        _err(str(exc))
        return 2
    except OSError as exc:  # unreadable file (permissions, a device, ...)
        _err(f"{exc.filename or path}: {exc.strerror or exc}")
        return 2
    rec, result = fa.recording, fa.result
    for warning in fa.warnings:
        print(f"gait: warning: {warning}", file=sys.stderr)
    if args.jsonl:
        for notice in result.notices:
            print(f"gait: notice: {notice.message}", file=sys.stderr)
        no_running = no_running_text(result.steps, rec)
        if no_running is not None:
            print(f"gait: warning: {path}: {no_running}", file=sys.stderr)
        write = sys.stdout.write
        for record in fa.records():
            write(json.dumps(record) + "\n")
    else:
        print_table(result.steps, rec, result, source=path)
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from firmware_interface.files.recording import read_recording

    try:
        cal = calibration_from_recording(read_recording(args.path))
    except GaitError as exc:
        _err(str(exc))
        return 2
    print(json.dumps({"gravity_sensor": list(cal.gravity_sensor)}))
    return 0


def _add_analysis_args(p: argparse.ArgumentParser) -> None:
    if not _built(p):
        return
    from gait.core.config import PLACEMENTS, SIDES

    p.add_argument("--placement", choices=PLACEMENTS, default=None,
                   help="where the sensor is worn (default: the file's '# placement:'; a capture's devices)")  # fmt: skip
    p.add_argument("--side", choices=SIDES, default=None, help="foot sensor: which foot (wrist: which wrist)")
    p.add_argument("--speed-mps", type=float, default=None, dest="speed_mps", help="running speed (for vertical ratio)")
    p.add_argument("--calibration", default=None, help="CSV recording of 3-5 s standing still (zero of lean and foot angle)")
    p.add_argument("--acc-range-g", type=float, default=None, dest="acc_range_g", help="accelerometer full scale, if known")
    p.add_argument("--config", default=None, metavar="FILE",
                   help="TOML file whose [pipeline] table sets the pipeline and its parameters "
                        "(options given here win over it; other tables are ignored)")  # fmt: skip


class _Unbuilt:
    """The parser of a command that is not being run: every call is accepted and does nothing, so its
    arguments (some need the device kinds, the sources or a benchmark imported) are not built."""

    def __getattr__(self, name: str) -> Any:
        return self._ignore

    def _ignore(self, *args: Any, **kwargs: Any) -> _Unbuilt:
        return self


def _built(p: Any) -> bool:
    """False for the parser of a command that is not being run (see `build_parser`)."""
    return not isinstance(p, _Unbuilt)


class _Subcommands:
    """``add_subparsers()`` that lists every command (name and help line) but builds only the
    arguments of ``only`` (of every command: ``only`` None)."""

    def __init__(self, sub: Any, only: str | None):
        self._sub = sub
        self._only = only

    def add_parser(self, name: str, **kwargs: Any) -> Any:
        p = self._sub.add_parser(name, **kwargs)
        return p if self._only is None or name == self._only else _Unbuilt()


def _command_of(argv: Sequence[str]) -> str:
    """The command word of a command line (the first argument not an option; '' if none)."""
    return next((a for a in argv if not a.startswith("-")), "")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The `gait` command line. ``only``: build the arguments of this command alone (the command
    being run; the others keep their name and help line), importing only what it needs."""
    parser = argparse.ArgumentParser(prog="gait", description="Running-form analysis from a body-worn IMU.")
    sub = _Subcommands(parser.add_subparsers(dest="command", required=True), only)

    p = sub.add_parser("analyze", help="analyse a CSV recording (the analysis contract), or many (a batch)")
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="CSV recording (time_s, acc_[xyz]_mps2[, gyr_[xyz]_dps]) or capture file (.gcap); "
                        "many files, folders or quoted globs: a batch")  # fmt: skip
    _add_analysis_args(p)
    p.add_argument("--jsonl", action="store_true", help="one JSON object per contact on stdout, nothing else")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="batch: write a Parquet dataset of steps (a partition per recording) and summary.parquet "
                        "here; recordings done before with the same config are skipped")  # fmt: skip
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="batch: run on this dask.distributed scheduler (default: a local cluster)")  # fmt: skip
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="batch: local worker processes (default: one per core; 1: one after another here)")  # fmt: skip
    p.add_argument("--redo", action="store_true",
                   help="batch: analyse every recording again, even those done with the same config "
                        "and code (e.g. after upgrading NumPy or SciPy)")  # fmt: skip
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("calibrate", help="standing calibration from a CSV recording of standing still")
    p.add_argument("path")
    p.set_defaults(func=cmd_calibrate)

    p = sub.add_parser("decode", help="decode one packet given in hex (debugging a capture or a new device)")
    if _built(p):
        from firmware_interface.protocols.registry import protocols

        p.add_argument("protocol", help="one of: " + ", ".join(protocols()))
    p.add_argument("hex", nargs="+", help="the packet's bytes in hex (one or more pieces; spaces and colons allowed)")
    p.add_argument("--factor", type=float, default=None, help="Polar PMD measurement factor (from the settings)")
    p.set_defaults(func=cmd_decode)

    _add_optional_commands(sub)
    _add_programme_commands(sub)
    return parser


def cmd_decode(args: argparse.Namespace) -> int:
    from firmware_interface.protocols.registry import decode_hex

    try:
        decoded = decode_hex(args.protocol, " ".join(args.hex), args.factor)
    except GaitError as exc:
        print(f"gait decode: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(decoded))
    return 0


def _add_optional_commands(sub) -> None:
    """Commands whose code lives in offline packages (validation, benchmark, demo)."""

    def cmd_validate(args: argparse.Namespace) -> int:
        from gait.validation.run import run_validation

        return run_validation(
            cache_dir=Path(args.cache), source_dir=args.data, include_gaitmap=not args.no_gaitmap, markdown=args.markdown,
            jobs=args.jobs, scheduler=args.scheduler,
        )

    p = sub.add_parser("validate", help="accuracy table on public running data (virtual IMUs from motion capture)")
    p.add_argument("--cache", default=".cache/validation", help="where the virtual IMU recordings are built")
    p.add_argument("--data", default=None,
                   help="folder with the raw data sets, laid out as data/datasets.toml's paths "
                        "(default: fetched on first use into the user cache)")  # fmt: skip
    p.add_argument("--no-gaitmap", action="store_true", help="skip the gaitmap side-by-side rows")
    p.add_argument("--markdown", default=None, help="also write the table as Markdown to this file")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="our pipeline on N local worker processes, as gait analyze's batch (default: one per core; "
                        "1: in this process)")  # fmt: skip
    p.add_argument("--scheduler", default=None, metavar="ADDRESS", help="run our pipeline on this dask scheduler")
    p.set_defaults(func=cmd_validate)

    def cmd_data(args: argparse.Namespace) -> int:
        from gait import public_data as pd

        sets = pd.registry()
        names = pd.select(sets, args.names)
        if args.action == "fetch":
            root = pd.fetch(names, sets=sets)
            print(f"{len(names)} data set(s) present and checked in {root}")
            return 0
        if args.action == "path":
            print(pd.fetch(names, sets=sets, log=None))
            return 0
        mirror, cache = pd.mirror_dir(), pd.cache_dir()
        print(f"cache: {cache}" + (f"; mirror (${pd.MIRROR_ENV}): {mirror}" if mirror else ""))
        for ds in (sets[n] for n in names):
            print(f"{ds.name}: {ds.title}; {len(ds.files)} files, {pd.cached_mb(ds, cache):.1f} MB cached")
            print(f"  {ds.attribution()}")
        return 0

    p = sub.add_parser("data", help="the public data sets (demo, validation): list, fetch into the cache, or path")
    p.add_argument("action", choices=("list", "fetch", "path"), nargs="?", default="list")
    p.add_argument("names", nargs="*", help="data set names (default: all in data/datasets.toml)")
    p.set_defaults(func=cmd_data)

    def cmd_bench(args: argparse.Namespace) -> int:
        from gait.bench.speed import run_bench

        return run_bench(args)

    p = sub.add_parser("bench", help="speed, memory and start-up; side by side with gaitmap and the batch (prints figures)")
    p.add_argument("--minutes", type=float, default=60.0, help="length of the offline recording")
    p.add_argument("--json", action="store_true")
    p.add_argument("--startup", action="store_true",
                   help="only the start-up times: gait --help and a one-file gait analyze in fresh interpreters")
    p.add_argument("--repeat", type=int, default=10, metavar="N", help="start-up: runs of each command (default 10)")
    p.add_argument("--compare", action="store_true",
                   help="only the side by side: gaitmap, and the batch against one process per file, on the same files")
    p.add_argument("--files", type=int, default=6, metavar="N", help="side by side: recordings (default 6)")
    p.add_argument("--file-minutes", type=float, default=10.0, dest="file_minutes", metavar="MIN",
                   help="side by side: minutes per recording (default 10)")
    p.set_defaults(func=cmd_bench)

    def cmd_demo(args: argparse.Namespace) -> int:
        from gait.demo import run_demo

        code = run_demo(args.out, minutes=args.minutes)
        if code != 0 or args.no_dashboard:
            return code
        from gait.dashboard_demo import run_full_demo

        print()
        return run_full_demo(host=args.host, port=args.port, token=args.token, data_dir=args.data_dir,
                             speed=args.speed, minutes=args.minutes, history=args.history, exit_after=args.exit)  # fmt: skip

    p = sub.add_parser(
        "demo",
        help="a real recorded run through the whole system: analysis, plot, coach, store and the live dashboard",
    )
    p.add_argument("--out", default="out", help="folder for the plot")
    p.add_argument("--no-dashboard", action="store_true", help="stop after the printed summary and the plot")
    p.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 = any free)")
    p.add_argument("--token", default=None, help="access token (required for a non-loopback --host)")
    p.add_argument("--data-dir", default=None, dest="data_dir",
                   help="store folder (default: a temporary folder, deleted after)")  # fmt: skip
    p.add_argument("--speed", default="10", help="replay pace: N x real time (default 10) or 'max'")
    p.add_argument("--minutes", type=float, default=None, help="replay only the first N minutes")
    p.add_argument("--history", action="store_true",
                   help="also store 8 weeks of synthetic example runs (to fill the trends page)")  # fmt: skip
    p.add_argument("--exit", action="store_true", help="stop serving when the replay ends (default: keep serving)")
    p.set_defaults(func=cmd_demo)

    def cmd_dashboard(args: argparse.Namespace) -> int:
        from dashboards.server import serve

        return int(serve(store=args.data_dir, host=args.host, port=args.port, token=args.token) or 0)

    p = sub.add_parser("dashboard", help="the dashboards: every stored run, and the live run when one is streaming")
    p.add_argument("--host", default="127.0.0.1", help="address to serve on (a token is required off loopback)")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--token", default=None, help="access token (required when --host is not a loopback address)")
    p.add_argument("--data-dir", default=None, help="local store folder (default: the user data folder)")
    p.set_defaults(func=cmd_dashboard)

    def cmd_bench_protocols(args: argparse.Namespace) -> int:
        from firmware_interface.protocols.bench import run_protocol_bench

        return run_protocol_bench(args)

    p = sub.add_parser("bench-protocols", help="decoder throughput and a long fuzz run (prints figures)")
    if _built(p):
        from firmware_interface.protocols import bench as protocol_bench

        protocol_bench.add_arguments(p)
    p.set_defaults(func=cmd_bench_protocols)

    _add_run_commands(sub)

    def cmd_runs(args: argparse.Namespace) -> int:
        import datetime

        from gait.storage import Store

        with Store(args.data_dir) as store:
            runs = store.list_runs(runner=args.runner, limit=args.limit)
        if not runs:
            print("no runs stored yet (gait live, gait replay and gait demo store them)")
            return 0
        print(f"{'run':>4}  {'start':<16}  {'status':<11} {'min':>5} {'steps':>6} {'cad':>5} {'GCT':>5} {'VO':>5} "
              f"{'heel%':>5} {'cues':>4}  placement")
        for r in runs:
            start = datetime.datetime.fromtimestamp(r.start_time).strftime("%Y-%m-%d %H:%M")
            heel = "-" if r.heel_strike_share is None else f"{100 * r.heel_strike_share:.0f}"
            print(f"{r.run_id:>4}  {start:<16}  {r.status:<11} {r.duration_s / 60:5.1f} {r.steps:>6} "
                  f"{_fmt(r.cadence_spm, '5.0f'):>5} {_fmt(r.gct_ms, '5.0f'):>5} {_fmt(r.vo_cm, '5.1f'):>5} "
                  f"{heel:>5} {r.cues:>4}  {r.placement or '-'}")
        return 0

    p = sub.add_parser("runs", help="list the runs in the local store")
    p.add_argument("--runner", default=None)
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--data-dir", default=None, help="local store folder (default: the user data folder)")
    p.set_defaults(func=cmd_runs)

    def cmd_export(args: argparse.Namespace) -> int:
        from gait.storage import Store
        from gait.storage import export as ex

        out = Path(args.out)
        with Store(args.data_dir) as store:
            try:
                store.run(args.run_id)
            except KeyError:
                _err(f"no run {args.run_id} in the store (see gait runs)")
                return 2
            if args.format == "config":
                from gait.engine.setup import RunConfig

                out.mkdir(parents=True, exist_ok=True)
                path = out / f"run-{args.run_id}.toml"
                cfg = RunConfig.from_stored(store.run(args.run_id).run_config())
                path.write_text(f"# the configuration run {args.run_id} used (gait export --format config)\n"
                                + cfg.to_toml(), encoding="utf-8")  # fmt: skip
                paths = [path]
            elif args.format == "csv":
                paths = list(ex.export_csv(store, args.run_id, out).values())
            elif args.format == "parquet":
                paths = list(ex.export_parquet(store, args.run_id, out).values())
            elif args.format == "fit":
                out.mkdir(parents=True, exist_ok=True)
                paths = [ex.export_fit(store, args.run_id, out / f"run-{args.run_id}.fit")]
            else:
                from dashboards.report import write_report

                out.mkdir(parents=True, exist_ok=True)
                paths = [write_report(store, args.run_id, out / f"run-{args.run_id}.html")]
        for path in paths:
            print(path)
        return 0

    p = sub.add_parser("export", help="export a stored run: CSV, Parquet, a FIT activity, a self-contained HTML report, or its configuration")
    p.add_argument("run_id", type=int)
    p.add_argument("--format", choices=("csv", "parquet", "fit", "html", "config"), default="csv",
                   help="config: the run's whole configuration as the TOML that --config reads ([pipeline], [coach])")  # fmt: skip
    p.add_argument("--out", default="out", help="output folder")
    p.add_argument("--data-dir", default=None, help="local store folder (default: the user data folder)")
    p.set_defaults(func=cmd_export)

    def cmd_compare_fit(args: argparse.Namespace) -> int:
        from gait.storage import Store
        from gait.storage.export import FitCompareError, FitFileError, compare_run_with_fit

        with Store(args.data_dir) as store:
            try:
                comparison = compare_run_with_fit(store, args.run_id, args.fit, offset_s=args.offset_s)
            except KeyError:
                _err(f"no run {args.run_id} in the store (see gait runs)")
                return 2
            except (FitFileError, FitCompareError) as exc:
                _err(str(exc))
                return 2
        print(comparison.table())
        return 0

    p = sub.add_parser("compare-fit", help="a watch's running dynamics (Garmin FIT) against ours on the same run")
    p.add_argument("run_id", type=int)
    p.add_argument("fit", help="the watch's FIT activity file")
    p.add_argument("--offset-s", type=float, default=0.0, help="watch clock minus ours, if they differ")
    p.add_argument("--data-dir", default=None, help="local store folder (default: the user data folder)")
    p.set_defaults(func=cmd_compare_fit)

    def cmd_sync(args: argparse.Namespace) -> int:
        from gait.storage import Store
        from gait.storage.influx import InfluxConfig, InfluxSink, sync_runs

        cfg = InfluxConfig.load(args.config)
        if cfg is None:
            _err("InfluxDB is not configured: set INFLUXDB_V2_URL, INFLUXDB_V2_ORG, INFLUXDB_V2_TOKEN and "
                 "INFLUXDB_V2_BUCKET, or an [influxdb] section in the TOML config")
            return 2
        with Store(args.data_dir) as store, InfluxSink(cfg) as sink:
            report = sync_runs(store, sink, [int(r) for r in args.run_ids] or None)
            print(report.line())
            if not report.flushed:
                health = sink.health()
                if health.last_error:
                    _err(health.last_error)
                return 1
        return 0

    p = sub.add_parser("sync", help="send earlier local runs to InfluxDB (idempotent)")
    p.add_argument("run_ids", nargs="*", help="run ids (default: every run)")
    p.add_argument("--config", default=None, help="TOML config with an [influxdb] section")
    p.add_argument("--data-dir", default=None, help="local store folder (default: the user data folder)")
    p.set_defaults(func=cmd_sync)

    def cmd_grafana_build(args: argparse.Namespace) -> int:
        from dashboards.grafana_build import write_dashboards  # without the SDK: main's one-line install hint

        for path, changed in write_dashboards(args.out):
            print(f"{path}: {'written' if changed else 'unchanged'}")
        return 0

    p = sub.add_parser("grafana", help="the Grafana dashboards (InfluxDB, VictoriaMetrics), built from code")
    grafana_sub = p.add_subparsers(dest="grafana_command", required=True)
    p = grafana_sub.add_parser("build", help="write the dashboards' JSON (dashboards/grafana/*.json)")
    p.add_argument("--out", default=None, metavar="DIR", help="output folder (default: dashboards/grafana)")
    p.set_defaults(func=cmd_grafana_build)

    def cmd_bench_scale(args: argparse.Namespace) -> int:
        from gait.bench.scale import run_scale_bench

        return run_scale_bench(args)

    p = sub.add_parser("bench-scale", help="many simulated runners through one process into the store and InfluxDB")
    if _built(p):
        from gait.bench.scale import add_arguments as add_scale_arguments

        add_scale_arguments(p)
    p.set_defaults(func=cmd_bench_scale)

    def cmd_bench_soak(args: argparse.Namespace) -> int:
        from gait.bench.soak import run_soak

        return run_soak(args.hours, args.speed, args.drop_every_min, args.influx_kills, args.down_s, args.json)

    p = sub.add_parser("bench-soak", help="hours of running through the engine with link drops and InfluxDB kills")
    if _built(p):
        from gait.bench.soak import add_arguments as add_soak_arguments

        add_soak_arguments(p)
    p.set_defaults(func=cmd_bench_soak)

    def cmd_bench_ble(args: argparse.Namespace) -> int:
        from gait.bench.ble_latency import run_ble_bench

        return run_ble_bench(args)

    p = sub.add_parser("bench-ble", help="end-to-end latency through an emulated BLE device (prints figures)")
    if _built(p):
        from gait.bench.ble_latency import add_ble_bench_args

        add_ble_bench_args(p)
    p.set_defaults(func=cmd_bench_ble)

    def cmd_import(args: argparse.Namespace) -> int:
        if args.kind == "phone":
            return _import_phone_export(args.source, args.out, args.platform)
        if args.platform != "auto":
            _err("--platform is for 'gait import phone' only")
            return 2
        from gait.validation.importers import run_import

        return run_import(args)

    p = sub.add_parser("import", help="convert a public data set's files or a phone app's export to CSV recordings")
    p.add_argument("kind", choices=("rbds", "ric", "alcantara", "adept", "phone"))
    p.add_argument("source", help="the data set's folder")
    p.add_argument("out", help="output folder for CSV recordings")
    p.add_argument("--platform", choices=("auto", "android", "ios", "standardised"), default="auto",
                   help="phone: the phone's platform when a Sensor Logger export has no Metadata.csv "
                        "(iOS and Android differ in sign; 'standardised' if 'Standardise Units & Frames' was on)")  # fmt: skip
    p.set_defaults(func=cmd_import)


def _import_phone_export(source: str, out_arg: str, platform: str) -> int:
    """``gait import phone SRC OUT``: a phyphox or Sensor Logger export -> OUT/<name>.csv (or OUT.csv)."""
    from firmware_interface.phones.importers import import_phone_export

    out = Path(out_arg)
    try:
        if out.suffix.lower() != ".csv":
            out.mkdir(parents=True, exist_ok=True)
            out = out / (Path(source).stem + ".csv")
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
        rec = import_phone_export(source, out, platform=platform)
    except (GaitError, ValueError) as exc:
        _err(str(exc))
        return 2
    except OSError as exc:
        _err(f"{exc.filename or source}: {exc.strerror or exc}")
        return 2
    for warning in rec.warnings:
        print(f"gait: note: {warning}", file=sys.stderr)
    from gait.metrics.motion import UNCLEAR, motion_verdict

    verdict = motion_verdict(rec.acc_mps2, rec.sampling_rate_hz)
    if verdict.kind != UNCLEAR:  # said now rather than by an analysis that finds nothing
        print(f"gait: note: {out}: no running to analyse: {verdict.text}", file=sys.stderr)
    print(f"{out}  ({len(rec)} samples at {rec.sampling_rate_hz:.0f} Hz, "
          f"{'acc+gyro' if rec.gyr_dps is not None else 'acc only'}; {rec.metadata.get('acc_source', '')})")  # fmt: skip
    return 0


# ----------------------------------------------------------------------------------------------
# live, record, replay, scan: arguments -> typed options -> gait.engine
# ----------------------------------------------------------------------------------------------
def pain_score(text: str) -> int:
    """argparse type: a whole number 0-10."""
    try:
        v = int(text)
    except ValueError:
        v = -1
    if not 0 <= v <= 10:
        raise argparse.ArgumentTypeError(f"a pain score is a whole number from 0 to 10, got {text!r}")
    return v


def _add_run_args(p: argparse.ArgumentParser) -> None:
    """What is analysed, how it is shown, where the run goes and the coach during it."""
    if not _built(p):
        return
    from gait.core.config import PLACEMENTS, SIDES
    from gait.cues import MODES
    from gait.engine.terminal import DEFAULT_STATUS_EVERY_S

    p.add_argument("--placement", choices=PLACEMENTS, default=None, help="where the sensor is worn (default sacrum)")
    p.add_argument("--side", choices=SIDES, default=None, help="foot sensor: which foot (wrist: which wrist)")
    p.add_argument("--speed-mps", type=float, default=None, dest="speed_mps", help="running speed (vertical ratio)")
    p.add_argument("--jsonl", action="store_true", help="one JSON object per step instead of a text line")
    p.add_argument("--status-every", type=float, default=DEFAULT_STATUS_EVERY_S, dest="status_every",
                   help="seconds between status lines (0: none)")  # fmt: skip
    g = p.add_argument_group("storage and coach")
    g.add_argument("--no-store", action="store_true", dest="no_store", help="do not store the run in the local store")
    g.add_argument("--data-dir", default=None, dest="data_dir",
                   help="local store folder (default: $GAIT_DATA_DIR or the user data folder)")  # fmt: skip
    g.add_argument("--runner", default=None, help="who is running (stored with the run)")
    g.add_argument("--config", default=None, metavar="FILE",
                   help="TOML config: [pipeline], [coach] and [influxdb] tables (gait export RUN --format config "
                        "writes a run's); INFLUXDB_V2_* variables also configure InfluxDB")  # fmt: skip
    g.add_argument("--coach", default=None, metavar="PRESET",
                   help="coach preset (default: default, or the one a replayed capture was recorded with; "
                        "see gait/coach_presets), or 'off'")  # fmt: skip
    g.add_argument("--coach-config", default=None, dest="coach_config", metavar="FILE",
                   help="your coach TOML over the preset")  # fmt: skip
    g.add_argument("--cues", choices=MODES, default="auto",
                   help="how alerts sound: speech (espeak-ng), termux (the phone's voice: termux-tts-speak), tone, bell, "
                        "silent; auto: the best available")  # fmt: skip
    g.add_argument("--pain-before", type=pain_score, default=None, dest="pain_before", metavar="N",
                   help="pain 0-10 before the run")  # fmt: skip
    g.add_argument("--pain-after", type=pain_score, default=None, dest="pain_after", metavar="N",
                   help="pain 0-10 after the run")  # fmt: skip
    g.add_argument("--date", default=None, type=_day, metavar="YYYY-MM-DD",
                   help="the day the run belongs to in the programme (default: today)")  # fmt: skip
    g.add_argument("--footwear", choices=("regular", "minimal", "barefoot"), default=None,
                   help="what the run is run in (the programme records it; minimal shoes and barefoot must fit the "
                        "transition's allowance)")  # fmt: skip
    g.add_argument("--intervals", default=None, metavar="WALK:RUN[xN],...",
                   help="today's walk-run session in seconds, e.g. 180:120x6 (stage 2): after a 10-minute brisk "
                        "walk, 'walk now' / 'run now' at each edge, form cues only while running, 5 minutes' walk "
                        "to finish")  # fmt: skip
    g.add_argument("--no-keys", action="store_true", dest="no_keys",
                   help="do not read pain scores (digit keys 0-9) from the terminal during the run")  # fmt: skip


def _add_source_args(p: argparse.ArgumentParser) -> None:
    if not _built(p):
        return
    from firmware_interface.devices import registry
    from gait.engine.sources import SOURCE_KINDS

    kinds = "|".join(registry.kinds())
    p.add_argument("--source", choices=SOURCE_KINDS, default="ble",
                   help="where packets come from (default: BLE devices; emulated: emulated BLE sensors on an "
                        "in-process radio, through the real BLE transport, no hardware needed)")  # fmt: skip
    p.add_argument("--csv", default=None,
                   help="--source csv: the CSV recording to play as an openpod pod; --source emulated: the motion "
                        "the emulated devices stream (a device's own csv=PATH wins)")  # fmt: skip
    p.add_argument("--device", action="append", default=[], metavar="SPEC",
                   help="a device: id=ADDRESS,kind=KIND[,placement=..][,side=..][,sample_rate_hz=..] (repeatable; "
                        f"KIND: {kinds}); --source emulated: kind=KIND[,placement=..][,side=..][,csv=PATH]"
                        "[,id=NAME][,sample_rate_hz=..]")  # fmt: skip
    p.add_argument("--speed", default=None,
                   help="csv/simulator pacing: 'max' or a factor of real time (default 1); emulated: device time runs "
                        "this many times faster than real time")  # fmt: skip
    p.add_argument("--duration", type=float, default=None,
                   help="seconds to run (default: until Ctrl-C; simulator: 60 s of running)")  # fmt: skip
    p.add_argument("--port", type=int, default=5555, help="phone: UDP port for openpod packets")
    p.add_argument("--phyphox", default=None, metavar="URL",
                   help="phone: read the phyphox app's remote access at URL instead (on the phone itself, in Termux: "
                        "http://127.0.0.1:8080); waits for the app, starts its experiment")  # fmt: skip
    p.add_argument("--loss", type=float, default=0.0, help="csv/simulator/emulated: probability a packet is lost")
    p.add_argument("--duplicate", type=float, default=0.0, help="csv/simulator: probability a packet comes twice")
    p.add_argument("--garble", type=float, default=0.0,
                   help="csv/simulator: probability a packet is corrupted; emulated: an undecodable packet every 1/p "
                        "packets")  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="csv/simulator/emulated: random seed")


def run_options(args: argparse.Namespace) -> Any:
    from gait.engine.setup import RunOptions

    every = getattr(args, "status_every", None)
    return RunOptions(
        store=not args.no_store,
        data_dir=args.data_dir,
        runner=args.runner,
        config=args.config,
        coach=args.coach,
        coach_config=args.coach_config,
        cues=args.cues,
        pain_before=args.pain_before,
        pain_after=args.pain_after,
        placement=args.placement,
        side=args.side,
        speed_mps=args.speed_mps,
        jsonl=bool(args.jsonl),
        status_every_s=float(every) if every else None,
        keys=not args.no_keys,
        plan=_plan(args.intervals),
        day=args.date,
        footwear=args.footwear,
    )


def _plan(text: str | None) -> Any:
    """``--intervals 180:120x6,60:240``: (walk_s, run_s) pairs, each repeated N times."""
    if not text:
        return None
    from gait.engine.intervals import IntervalPlan

    pairs: list[tuple[float, float]] = []
    try:
        for part in text.split(","):
            pair, _, times = part.strip().partition("x")
            walk, _, run = pair.partition(":")
            pairs += [(float(walk), float(run))] * (int(times) if times else 1)
        return IntervalPlan.walk_run(pairs)
    except ValueError as exc:
        raise SystemExit(f"gait: error: --intervals {text!r}: give WALK:RUN[xN] in seconds, e.g. 180:120x6 ({exc})") from None


def source_options(args: argparse.Namespace) -> Any:
    from gait.engine.sources import SourceOptions

    return SourceOptions(
        kind=args.source,
        devices=tuple(args.device or ()),
        csv=args.csv,
        speed=args.speed,
        duration_s=args.duration,
        port=args.port,
        phyphox=args.phyphox,
        placement=args.placement,
        side=args.side,
        loss=args.loss,
        duplicate=args.duplicate,
        garble=args.garble,
        seed=args.seed,
    )


def cmd_live(args: argparse.Namespace, out: Any = None, bus: Any = None) -> int:
    """``gait live`` and ``gait record`` (``out``: where the lines go; ``bus``: a live bus)."""
    from gait.engine.commands import live

    return live(source_options(args), run_options(args), record=getattr(args, "record", None), out=out, bus=bus)


def cmd_replay(args: argparse.Namespace, out: Any = None, bus: Any = None) -> int:
    from gait.engine.commands import replay

    return replay(args.capture, run_options(args), speed=args.speed, out=out, bus=bus)


def cmd_scan(args: argparse.Namespace, out: Any = None) -> int:
    from gait.scan import scan

    return scan(args.timeout, emulated=args.emulated, show_all=args.all, as_json=args.json, out=out)


def parse(*argv: str) -> argparse.Namespace:
    """The command line ``gait ARGV...`` parsed (for scripts and tests)."""
    return build_parser(_command_of(argv)).parse_args(list(argv))


def _add_run_commands(sub: Any) -> None:
    p = sub.add_parser("live", help="stream a source through the pipeline; per-step metrics live until Ctrl-C")
    _add_source_args(p)
    p.add_argument("--record", default=None, metavar="FILE", help="also write a capture file")
    _add_run_args(p)
    p.set_defaults(func=cmd_live)

    p = sub.add_parser("record", help="like live, writing every raw packet to a capture file")
    p.add_argument("record", help="capture file to write (raw packets, see CAPTURE_FORMAT.md)")
    _add_source_args(p)
    _add_run_args(p)
    p.set_defaults(func=cmd_live)

    p = sub.add_parser("replay", help="run a capture file through the same decoders, pipeline and coach")
    p.add_argument("capture", help="capture file written by `gait record` / `gait live --record`")
    p.add_argument("--speed", default="max", help="'max' (default) or a factor of real time (1 = original timing)")
    _add_run_args(p)
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("scan", help="list nearby supported BLE sensors (--emulated: no radio needed)")
    p.add_argument("--timeout", type=float, default=None, help="seconds to listen (default 5; 1 with --emulated)")
    p.add_argument("--emulated", action="store_true",
                   help="no radio needed: scan emulated sensors advertising on an in-process Bumble radio, through "
                        "bleak's API")  # fmt: skip
    p.add_argument("--all", action="store_true", help="also list devices this program does not support")
    p.add_argument("--json", action="store_true", help="one JSON object per device")
    p.set_defaults(func=cmd_scan)


def _day(text: str) -> Any:
    import datetime

    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def _nrs(text: str) -> int:
    return _bounded_int(text, 0, 10)


def _extent(text: str) -> int:
    return _bounded_int(text, 0, 4)


def _bounded_int(text: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number {low}-{high}, got {text!r}") from None
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"expected a whole number {low}-{high}, got {value}")
    return value


def cmd_programme(args: argparse.Namespace) -> int:
    """``gait programme ...``: the red-flag screen, pain check-ins and the walk-run return."""
    from gait.programme import commands as pc
    from gait.programme.errors import ProgrammeError, ProgrammeLocked

    out = sys.stdout
    try:
        if args.action == "start":
            return pc.start(args.data_dir, args.date, args.profile, args.stage, args.limits, out)
        if args.action == "screen":
            if args.questions:
                return pc.questions(args.json, out)
            if args.yes is None:
                _err("programme screen: give --questions to list them, or --yes ID,ID ('' = all no) to answer")
                return 2
            return pc.screen(args.data_dir, args.date, args.yes.split(","), out)
        if args.action == "checkin":
            return pc.checkin(args.data_dir, args.date, args.when, args.back, args.leg, args.leg_extent,
                              args.new_numbness, args.new_weakness, out, args.calf, args.achilles)
        if args.action == "session":
            if not args.completed:
                _err("programme session: give --completed to record today's planned session as done")
                return 2
            return pc.session(args.data_dir, args.date, args.kind, out)
        if args.action == "clear":
            return pc.clear(args.data_dir, args.date, args.note, out)
        if args.action == "status":
            return pc.status(args.data_dir, args.date, args.json, out)
        if args.action in ("heat", "ice", "yoga", "shoes"):
            return _programme_care(args, out)
        if args.action in ("focus", "probe", "review"):
            from gait.programme import retrain_commands as rc

            if args.action == "focus":
                baseline = args.baseline_spm if args.baseline_spm is not None else args.baseline
                if args.baseline_spm is not None and args.start not in (None, "cadence"):
                    _err("programme focus: --baseline-spm is for the cadence focus; use --baseline")
                    return 2
                return rc.focus(args.data_dir, args.date, args.start, baseline, args.delta_pct, args.foot_sensor,
                                args.run_value, args.json, out)
            if args.action == "probe":
                return rc.probe(args.data_dir, args.date, args.value, args.json, out)
            return rc.review_cmd(args.data_dir, args.date, args.json, out)
        return pc.export(args.data_dir, args.date, args.out, out)
    except ProgrammeLocked as exc:
        _err(str(exc))
        return 3
    except (ProgrammeError, GaitError, OSError, ValueError) as exc:
        _err(f"programme {args.action}: {exc}")
        return 2


def _yes_no(text: str) -> bool:
    if text.lower() not in ("yes", "no"):
        raise argparse.ArgumentTypeError(f"expected yes or no, got {text!r}")
    return text.lower() == "yes"


def _care_minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected minutes, got {text!r}") from None
    if not 0 < value <= 600:
        raise argparse.ArgumentTypeError(f"expected minutes above 0, got {text!r}")
    return value


def _programme_care(args: argparse.Namespace, out: Any) -> int:
    """``gait programme heat|ice|yoga|shoes``; a refusal prints its reason and exits 2 (3 when locked)."""
    from gait.programme import care_commands as cc

    if args.action in ("heat", "ice"):
        return cc.timer(args.data_dir, args.date, args.action, args.minutes, args.skin_numb, args.json, out)
    if args.action == "yoga":
        return cc.yoga(args.data_dir, args.date, args.minutes, args.in_class, args.pain, args.new_leg_symptoms,
                       args.json, out)
    action = ("start" if args.start else "run" if args.run is not None else "walk" if args.walk is not None
              else "check" if args.check else "show")
    minutes = args.run if args.run is not None else args.walk if args.walk is not None else 0.0
    return cc.shoes(args.data_dir, args.date, action, minutes=minutes, footwear=args.footwear, surface=args.surface,
                    soles_numb=args.soles_numb, foot_bone_injury_12m=args.foot_bone_injury, foot_pain_nrs=args.foot_pain,
                    bone_spot=args.bone_spot, as_json=args.json, out=out)


def _add_programme_care_commands(acts: Any, common: Any) -> None:
    for kind, default, extra in (("heat", 15, "before the run, 10-20 minutes"),
                                 ("ice", 10, "after the run, at most 20 minutes, a cloth between pack and skin")):
        p = acts.add_parser(kind, help=f"start a {kind} timer ({extra}); refused on numb skin and while a red flag "
                                       "is open")  # fmt: skip
        p.add_argument("--minutes", type=_care_minutes, default=None, metavar="N", help=f"default {default}")
        p.add_argument("--skin-numb", type=_yes_no, required=True, dest="skin_numb", metavar="yes|no",
                       help="is the skin where you will put it numb or less sensitive?")
        p.add_argument("--json", action="store_true", help="the timer as JSON")
        common(p)
    p = acts.add_parser("yoga", help="log a yoga or mobility session (the studied dose: 1 class a week plus home "
                                     "practice, 12 weeks)")  # fmt: skip
    p.add_argument("--minutes", type=_care_minutes, required=True, metavar="N")
    p.add_argument("--class", action="store_true", dest="in_class", help="a class (default: practice at home)")
    p.add_argument("--pain", type=_nrs, default=None, metavar="N", help="pain the session provoked, 0-10")
    p.add_argument("--new-leg-symptoms", action="store_true", dest="new_leg_symptoms",
                   help="new numbness or weakness in a leg")
    p.add_argument("--json", action="store_true", help="the entry and the weekly adherence as JSON")
    common(p)
    p = acts.add_parser("shoes", help="the minimal-shoe / barefoot transition: start it, log minimal-shoe minutes, "
                                      "show the week's allowance")  # fmt: skip
    g = p.add_mutually_exclusive_group()
    g.add_argument("--start", action="store_true", help="start the transition (refused, with the reason, when not "
                                                        "eligible)")  # fmt: skip
    g.add_argument("--run", type=_care_minutes, default=None, metavar="MIN", help="minutes run in minimal shoes today")
    g.add_argument("--walk", type=_care_minutes, default=None, metavar="MIN", help="minutes walked in minimal shoes")
    g.add_argument("--check", action="store_true", help="a foot check only (with --foot-pain and --bone-spot)")
    p.add_argument("--footwear", choices=("minimal", "barefoot"), default="minimal")
    p.add_argument("--surface", choices=("soft", "smooth-hard"), default="soft")
    p.add_argument("--soles-numb", type=_yes_no, default=False, dest="soles_numb", metavar="yes|no")
    p.add_argument("--foot-bone-injury", type=_yes_no, default=False, dest="foot_bone_injury", metavar="yes|no",
                   help="a bone stress injury in the foot in the last 12 months")
    p.add_argument("--foot-pain", type=_nrs, default=None, dest="foot_pain", metavar="N",
                   help="arch, top of foot or heel pain, 0-10")
    p.add_argument("--bone-spot", type=_yes_no, default=False, dest="bone_spot", metavar="yes|no",
                   help="pain on pressing a single spot of bone")
    p.add_argument("--json", action="store_true", help="the plan as JSON")
    common(p)


def _add_programme_commands(sub: Any) -> None:
    import datetime

    prog = sub.add_parser("programme", help="the programme around the run: red-flag screen, pain check-ins, walk-run "
                                            "return (not medical advice)")  # fmt: skip
    acts = prog.add_subparsers(dest="action", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--data-dir", default=None, help="local store folder (default: the user data folder)")
        p.add_argument("--date", type=_day, default=datetime.date.today(), metavar="YYYY-MM-DD",
                       help="the day this acts on (default: today)")
        p.set_defaults(func=cmd_programme)

    p = acts.add_parser("start", help="start (or restart) the programme; the safety state carries over")
    p.add_argument("--profile", choices=("sciatica", "general"), required=True)
    p.add_argument("--stage", type=lambda t: _bounded_int(t, 0, 8), default=None,
                   help="stage to start at (a clinician may set it): 0 entry walks (default), 1-7 walk-run, 8 past 7")
    p.add_argument("--limits", default=None, metavar="FILE",
                   help="a clinician's TOML file ([programme] table) that tightens the limits")
    common(p)
    p = acts.add_parser("screen", help="the red-flag questions: list them, or answer them")
    p.add_argument("--questions", action="store_true", help="list the questions (id, level, text)")
    p.add_argument("--json", action="store_true", help="with --questions: a JSON list of {id, text, level}")
    p.add_argument("--yes", default=None, metavar="ID,ID", help="the ids answered yes (all others no; '' = all no)")
    common(p)
    p = acts.add_parser("checkin", help="a pain check-in: before, during or after a session, or the next morning")
    p.add_argument("--when", choices=("pre", "during", "after", "morning"), required=True)
    p.add_argument("--back", type=_nrs, required=True, metavar="N", help="back pain 0-10")
    p.add_argument("--leg", type=_nrs, required=True, metavar="N", help="leg pain 0-10")
    p.add_argument("--leg-extent", type=_extent, default=None, dest="leg_extent", metavar="N",
                   help="how far leg symptoms reach: 0 none, 1 buttock, 2 thigh, 3 below the knee, 4 foot")
    p.add_argument("--calf", type=_nrs, default=None, metavar="N",
                   help="calf pain 0-10 (asked while a softer-landing focus is active)")  # fmt: skip
    p.add_argument("--achilles", type=_nrs, default=None, metavar="N",
                   help="Achilles (back of the heel) pain 0-10 (asked while a softer-landing focus is active)")  # fmt: skip
    p.add_argument("--new-numbness", action="store_true", dest="new_numbness", help="new numbness in a leg")
    p.add_argument("--new-weakness", action="store_true", dest="new_weakness", help="new weakness in a leg")
    common(p)
    p = acts.add_parser("session", help="record the day's planned session as done")
    p.add_argument("--completed", action="store_true", required=True)
    p.add_argument("--kind", choices=("walk", "walk-run", "run"), default=None,
                   help="what was done, if not the planned kind (walking is always allowed unless locked)")
    common(p)
    p = acts.add_parser("clear", help="record a clinician review (then answer the screen again)")
    p.add_argument("--note", required=True, help="who reviewed and what they said")
    common(p)
    p = acts.add_parser("status", help="state, stage, last class and the next session")
    p.add_argument("--json", action="store_true", help="one JSON object")
    common(p)
    p = acts.add_parser("focus", help="retraining one focus at a time: show it, or start one (cadence, landing, lean)")
    p.add_argument("--start", choices=("cadence", "landing", "lean"), default=None, metavar="METRIC",
                   help="start a block on this focus (cadence, landing, lean)")
    p.add_argument("--baseline-spm", type=float, default=None, dest="baseline_spm", metavar="N",
                   help="cadence baseline in steps/min (default: the latest stored run's running steps)")
    p.add_argument("--baseline", type=float, default=None, metavar="X",
                   help="baseline of the focus metric in its unit (landing: g, lean: deg)")
    p.add_argument("--delta-pct", type=float, default=None, dest="delta_pct", metavar="PCT",
                   help="the change over the baseline (cadence: +5 first, at most the cap of +10)")
    p.add_argument("--foot-sensor", action="store_true", dest="foot_sensor",
                   help="a foot or shank sensor is worn (needed for a softer landing)")
    p.add_argument("--run-value", type=float, default=None, dest="run_value", metavar="X",
                   help="record today's session mean of the focus metric")
    p.add_argument("--json", action="store_true", help="one JSON object")
    common(p)
    p = acts.add_parser("probe", help="record today's retention probe (5 minutes without feedback)")
    p.add_argument("--value", type=float, default=None, metavar="X",
                   help="the probe's mean of the focus metric (default: the latest stored run's running steps)")
    p.add_argument("--json", action="store_true", help="one JSON object")
    common(p)
    p = acts.add_parser("review", help="the focus metric against each session's pain class (an association)")
    p.add_argument("--json", action="store_true", help="one JSON object")
    common(p)
    p = acts.add_parser("export", help="the diary, classes, stages and flags as CSV, and a printable page")
    p.add_argument("--out", required=True, metavar="DIR")
    common(p)
    _add_programme_care_commands(acts, common)


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_command_of(argv))
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (RecordingFormatError, GaitError) as exc:  # a typed error says what is wrong: one line, not a traceback
        _err(str(exc))
        return 2
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130
    except ModuleNotFoundError as exc:  # an installed subset (e.g. pip install --no-deps on a phone)
        package = _MISSING_PACKAGES.get((exc.name or "").split(".")[0])
        if package is None:
            raise
        _err(f"this command needs the Python package {package}, which is not installed: pip install '{package}'")
        return 2


# import name -> what to install, for the packages some commands need and a small install may lack
_MISSING_PACKAGES = {
    "starlette": "starlette", "uvicorn": "uvicorn", "pyarrow": "pyarrow", "matplotlib": "matplotlib",
    "influxdb_client": "influxdb-client", "garmin_fit_sdk": "garmin-fit-sdk", "bleak": "bleak",
    "bleak_retry_connector": "bleak-retry-connector", "bumble": "bumble", "c3d": "c3d", "rdata": "rdata",
    "pooch": "pooch", "dask": "dask[distributed]", "distributed": "dask[distributed]",
    "grafana_foundation_sdk": "grafana-foundation-sdk", "playwright": "playwright",
}  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
