"""Speed, latency and memory benchmark: ``gait bench [--minutes N] [--placement ...] [--json]``.

It prints figures; it asserts nothing. What it measures, per placement (sacrum and foot):

* offline: `gait.pipeline.analyze` over a whole run as one block, on one core (seconds and
  x real time), and the CSV reader (`read_recording`) on the same run written to a temporary CSV
  file: file to records in one process, target <= 0.5 s for one hour (>= 7,200x);
* live: the same samples fed as 10-sample packets through `Pipeline.process`, each call timed
  with ``perf_counter_ns``: p50 / p99 / max per packet (target p99 < 1 ms);
* step latency: for every `StepMetrics` of the live run, ``emitted_s - to_s`` (stream time when
  the record came out minus toe-off): median and max;
* memory: peak RSS (``ru_maxrss``) of fresh subprocesses streaming a run of N/6 and of N minutes,
  with the input generated on the fly one minute at a time, so a flat figure means the pipeline
  keeps no per-run state that grows;
* start-up (`gait.bench.startup`) and, on the same files, this project beside gaitmap and the
  batch beside one process per file (`gait.bench.compare`). ``--startup`` and ``--compare`` print
  one of these parts alone.

The input is a **synthetic runner** (`SyntheticRunner`), not a tiled recording: no recording in
``data/`` has a gyroscope at 200 Hz next to the sacrum or on the foot, and tiling a short trial
repeats a few seconds thousands of times. The model is physical rather than a lookup:

* sacrum: spring-mass running. During contact the vertical ground reaction is a half-sine whose
  mean over the step equals body weight (so the centre of mass neither climbs nor sinks), in
  flight the body falls at -g; braking then propulsion along the direction of travel; a sway
  that alternates left / right per step; a small heel-strike transient; pelvic yaw, obliquity and
  tilt (gyroscope = their rates, accelerometer rotated with them); a fixed mounting rotation;
* foot: the shoe's pitch follows a heel-strike -> foot-flat -> heel-off -> toe-off -> swing
  profile (monotone spline through typical angles), the shoe is still during stance and moves one
  stride forward and about 12 cm up in swing (minimum-jerk), a damped 8 g impact at contact;
  accelerometer = specific force in the shoe frame, gyroscope = pitch rate (plus small off-axis);
* both: cadence wandering slowly (+/- 4 spm over 10 minutes) with 1.5 % step-to-step jitter,
  contact time jitter, white noise (0.08 m/s^2, 0.8 deg/s). Deterministic for a given seed.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from gait.core.compiled import summary as compiled_summary
from gait.core.config import GRAVITY_MPS2, PipelineConfig
from gait.core.records import SampleBlock, StepMetrics
from gait.synthetic import model_truth, synthetic_blocks, synthetic_recording

REPO_ROOT = Path(__file__).resolve().parents[2]
FS_HZ = 200.0
PACKET_SAMPLES = 10
CHUNK_S = 60.0
PLACEMENTS = ("sacrum", "foot")

TARGET_FILE_X = 7200.0  # one hour from the file to the records in under 0.5 s
TARGET_P99_MS = 1.0

G = GRAVITY_MPS2


# ----------------------------------------------------------------------------------------------
# statistics
# ----------------------------------------------------------------------------------------------
def percentiles(values: Sequence[float] | np.ndarray, qs: Sequence[float] = (50.0, 99.0)) -> dict[str, float]:
    """``{"p50": ..., "p99": ..., "max": ..., "n": ...}`` of ``values`` (linear interpolation between
    closest ranks, numpy's default). NaN-free input expected; empty input gives NaNs."""
    arr = np.asarray(values, dtype=np.float64).ravel()
    out: dict[str, float] = {}
    if arr.size == 0:
        for q in qs:
            out[_qname(q)] = float("nan")
        out["max"] = float("nan")
        out["n"] = 0
        return out
    for q, v in zip(qs, np.percentile(arr, list(qs))):
        out[_qname(q)] = float(v)
    out["max"] = float(arr.max())
    out["n"] = int(arr.size)
    return out


def _qname(q: float) -> str:
    return f"p{q:g}".replace(".", "_")


# ----------------------------------------------------------------------------------------------
# synthetic runner
# ----------------------------------------------------------------------------------------------
def _config(placement: str) -> PipelineConfig:
    if placement == "foot":
        return PipelineConfig(placement="foot", side="left")
    return PipelineConfig(placement=placement)


# ----------------------------------------------------------------------------------------------
# measurements
# ----------------------------------------------------------------------------------------------
def time_offline(block: SampleBlock, placement: str, fs: float = FS_HZ, repeat: int = 3) -> dict:
    """Time `analyze` on one block: the best of ``repeat`` runs (the machine may be shared)."""
    from gait.pipeline import analyze

    config = _config(placement)
    times = []
    for _ in range(max(1, repeat)):
        gc.collect()
        t0 = time.perf_counter()
        result = analyze(block, config, fs)
        times.append(time.perf_counter() - t0)
    seconds = min(times)
    duration = float(block.time_s[-1] - block.time_s[0]) + 1.0 / fs
    return {
        "seconds": seconds,
        "x_real_time": duration / seconds if seconds > 0 else float("inf"),
        "all_seconds": times,
        "steps": len(result.steps),
        "gaps": len(result.gaps),
        "duration_s": duration,
        **_step_summary(result.steps),
    }


def _step_summary(steps: list[StepMetrics]) -> dict:
    def med(name: str) -> float | None:
        vals = [getattr(s, name) for s in steps if getattr(s, name) is not None]
        vals = [v for v in vals if np.isfinite(v)]
        return float(np.median(vals)) if vals else None

    return {
        "cadence_spm": med("cadence_spm"),
        "gct_ms": med("gct_ms"),
        "vo_cm": med("vo_cm"),
        "fsa_deg": med("fsa_deg"),
    }


def time_csv(block: SampleBlock, repeat: int = 3) -> dict:
    """Write the block as a CSV recording, then read it back (the best of ``repeat`` reads)."""
    from firmware_interface.files.recording import read_recording, write_recording

    with tempfile.TemporaryDirectory(prefix="gait-bench-") as tmp:
        path = Path(tmp) / "bench.csv"
        t0 = time.perf_counter()
        write_recording(path, block.time_s, block.acc_mps2, block.gyr_dps, {"source": "gait bench synthetic runner"})
        write_s = time.perf_counter() - t0
        size = path.stat().st_size
        reads = []
        for _ in range(max(1, repeat)):
            gc.collect()
            t0 = time.perf_counter()
            rec = read_recording(path)
            reads.append(time.perf_counter() - t0)
        read_s = min(reads)
        n = len(rec)
    duration = float(block.time_s[-1] - block.time_s[0]) + 1.0 / FS_HZ
    return {
        "read_seconds": read_s,
        "read_x_real_time": duration / read_s,
        "write_seconds": write_s,
        "bytes": size,
        "rows": n,
        "duration_s": duration,
    }


def stream_run(placement: str, minutes: float, packet: int = PACKET_SAMPLES, fs: float = FS_HZ, seed: int = 1) -> dict:
    """Stream a synthetic run through `Pipeline.process` in packets; time each call.

    Meant to run in a fresh process (the RSS figures are those of the whole process)."""
    from gait.pipeline import Pipeline

    config = _config(placement)
    pipe = Pipeline(config, fs)
    gc.collect()
    rss_before = _maxrss_mb()
    per_packet_ns: list[np.ndarray] = []
    latencies_ms: list[float] = []
    steps = 0
    perf = time.perf_counter_ns
    t_total = 0
    for chunk in synthetic_blocks(placement, minutes, fs, seed=seed):
        n = len(chunk)
        times = np.empty((n + packet - 1) // packet, np.int64)
        packets = [chunk.slice(i, min(n, i + packet)) for i in range(0, n, packet)]
        for j, pk in enumerate(packets):
            t0 = perf()
            out = pipe.process(pk)
            times[j] = perf() - t0
            for r in out:
                if isinstance(r, StepMetrics):
                    steps += 1
                    latencies_ms.append((r.emitted_s - r.to_s) * 1e3)
        t_total += int(times.sum())
        per_packet_ns.append(times)
    for r in pipe.flush():
        if isinstance(r, StepMetrics):
            steps += 1  # flushed at end of stream: no live latency
    ns = np.concatenate(per_packet_ns) if per_packet_ns else np.zeros(0)
    stats = percentiles(ns / 1e6, (50, 99))
    lat = np.asarray([v for v in latencies_ms if np.isfinite(v)])
    return {
        "placement": placement,
        "minutes": minutes,
        "packets": int(ns.size),
        "packet_ms": stats,
        "busy_seconds": t_total / 1e9,
        "steps": steps,
        "step_latency_ms": {
            "median": float(np.median(lat)) if lat.size else float("nan"),
            "p99": float(np.percentile(lat, 99)) if lat.size else float("nan"),
            "max": float(lat.max()) if lat.size else float("nan"),
            "n": int(lat.size),
        },
        "rss_start_mb": rss_before,
        "rss_peak_mb": _maxrss_mb(),
        "ru_maxrss_mb": _ru_maxrss_mb(),
    }


def _maxrss_mb() -> float:
    """Peak resident memory of this process, MB.

    ``ru_maxrss`` is what the brief asks for, but on Linux a child inherits its parent's peak at
    fork/exec (the kernel folds the old address space's high-water mark into it), so a worker
    started by a parent that held an hour of samples would report the parent's peak. ``VmHWM`` in
    /proc/self/status is the high-water mark of this address space only (reset at exec); it is
    used when present, ``ru_maxrss`` otherwise. Workers are also started before the parent
    builds any large array (see `bench`)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024.0 if sys.platform != "darwin" else kb / 1024.0 / 1024.0


def _ru_maxrss_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024.0 if sys.platform != "darwin" else kb / 1024.0 / 1024.0


def stream_in_subprocess(placement: str, minutes: float, packet: int = PACKET_SAMPLES) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    code = "import sys; from gait.bench.speed import _worker; sys.exit(_worker(sys.argv[1:]))"
    cmd = [sys.executable, "-c", code, placement, str(minutes), str(packet)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(REPO_ROOT), check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark worker failed ({placement}, {minutes:g} min):\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _pin_one_core() -> str:
    """Pin this process to one CPU so 'one core' is literal (numpy's BLAS threads are not used by
    the pipeline's element-wise work, but be explicit). Returns a description."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[0]})
        return f"pinned to CPU {cpus[0]}"
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return "not pinned"


# ----------------------------------------------------------------------------------------------
# the command
# ----------------------------------------------------------------------------------------------
def bench(minutes: float = 60.0, placements: Sequence[str] = PLACEMENTS, progress=None) -> dict:
    def say(msg: str) -> None:
        if progress:
            progress(msg)

    report: dict = {
        "input": (
            f"synthetic runner (gait.synthetic.SyntheticRunner), {minutes:g} min at {FS_HZ:g} Hz, "
            "acc + gyro (6 channels)"
        ),
        "minutes": minutes,
        "fs_hz": FS_HZ,
        "cpu": _pin_one_core(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "compiled": compiled_summary(),
        "placements": {},
    }
    short = max(minutes / 6.0, 0.5)
    # Streaming workers first, while this process is still small (see `_maxrss_mb`).
    for placement in placements:
        entry = report["placements"].setdefault(placement, {})
        say(f"{placement}: live, {PACKET_SAMPLES}-sample packets, {minutes:g} min (fresh subprocess)")
        entry["live"] = stream_in_subprocess(placement, minutes)
        say(f"{placement}: live, {short:.3g} min (fresh subprocess, for memory)")
        entry["live_short"] = stream_in_subprocess(placement, short)
    for placement in placements:
        entry = report["placements"][placement]
        say(f"{placement}: synthesising {minutes:g} min")
        block = synthetic_recording(placement, minutes)
        say(f"{placement}: CSV: write_recording + read_recording")
        entry["csv"] = time_csv(block)
        say(f"{placement}: offline analyze")
        entry["offline"] = time_offline(block, placement)
        seconds = entry["csv"]["read_seconds"] + entry["offline"]["seconds"]
        entry["file_to_records"] = {"seconds": seconds, "x_real_time": entry["offline"]["duration_s"] / seconds}
        del block
        gc.collect()
    return report


def _fmt_x(x: float) -> str:
    return f"{x:,.0f}x"


def format_report(rep: dict) -> str:
    placements = list(rep["placements"])
    minutes = rep["minutes"]
    rows: list[tuple[str, ...]] = []

    def row(label: str, fn, target: str = "") -> None:
        cells = []
        for p in placements:
            try:
                cells.append(fn(rep["placements"][p]))
            except (KeyError, TypeError, ValueError):
                cells.append("-")
        rows.append((label, *cells, target))

    def mark(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    row(
        f"file to records, {minutes:g} min (read + analyze)",
        lambda e: f"{e['file_to_records']['seconds']:.2f} s  {_fmt_x(e['file_to_records']['x_real_time'])}",
        "<= 0.5 s per hour (>= 7,200x)",
    )
    row("  CSV read (best of 3)", lambda e: f"{e['csv']['read_seconds']:.2f} s  ({e['csv']['bytes'] / 1e6:.0f} MB)")
    row(
        "  offline analyze (best of 3)",
        lambda e: f"{e['offline']['seconds']:.2f} s  {_fmt_x(e['offline']['x_real_time'])}",
    )
    row("  steps / cadence", lambda e: f"{e['offline']['steps']} / {_num(e['offline']['cadence_spm'], '.0f')} spm")
    row(
        "  steps when streamed",
        lambda e: f"{e['live']['steps']}" + ("" if e["live"]["steps"] == e["offline"]["steps"] else " (differs!)"),
        "= offline (chunk-invariant)",
    )
    row(
        "  GCT / VO",
        lambda e: f"{_num(e['offline']['gct_ms'], '.0f')} ms / {_num(e['offline']['vo_cm'], '.1f')} cm",
    )
    truth = model_truth()
    row(
        "  (synthetic truth)",
        lambda e: (
            f"{truth['gct_ms']:.0f} ms / {truth['vo_cm']:.1f} cm"
            if "foot" not in e["live"]["placement"]
            else f"{truth['gct_ms']:.0f} ms"
        ),
        f"model: {truth['cadence_spm']:.0f} spm nominal, +/-4 drift",
    )
    row(
        f"live per {PACKET_SAMPLES}-sample packet p50",
        lambda e: f"{e['live']['packet_ms']['p50'] * 1e3:.0f} us",
    )
    row("  p99", lambda e: f"{e['live']['packet_ms']['p99'] * 1e3:.0f} us", "p99 < 1 ms")
    row("  max", lambda e: f"{e['live']['packet_ms']['max']:.2f} ms")
    row("  packets", lambda e: f"{e['live']['packets']:,}")
    row(
        "step latency (emitted - TO) med",
        lambda e: f"{e['live']['step_latency_ms']['median']:.0f} ms",
        "<= ~1 step (300-400 ms)",
    )
    row(
        "  p99 / max",
        lambda e: (
            f"{e['live']['step_latency_ms'].get('p99', float('nan')):.0f} / {e['live']['step_latency_ms']['max']:.0f} ms"
        ),
    )
    row(
        "peak RSS after imports + setup",
        lambda e: f"{e['live']['rss_start_mb']:.0f} MB",
    )
    row(
        f"peak RSS {e_short(rep):.3g} min / {minutes:g} min",
        lambda e: f"{e['live_short']['rss_peak_mb']:.0f} / {e['live']['rss_peak_mb']:.0f} MB",
        "flat in run length",
    )
    row(
        "  growth",
        lambda e: f"{e['live']['rss_peak_mb'] - e['live_short']['rss_peak_mb']:+.1f} MB",
    )
    header = ("", *placements, "target")
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header))]
    lines = [
        f"gait bench: {rep['input']}",
        f"one core ({rep['cpu']}), Python {rep['python']}, numpy {rep['numpy']}, {rep.get('compiled', '')}",
        "",
        "  ".join(str(h).ljust(w) for h, w in zip(header, widths)),
        "  ".join("-" * w for w in widths),
    ]
    for r in rows:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
    verdict = []
    for p in placements:
        e = rep["placements"][p]
        try:
            verdict.append(
                f"{p}: file to records {mark(e['file_to_records']['x_real_time'] >= TARGET_FILE_X)}, "
                f"live p99 {mark(e['live']['packet_ms']['p99'] < TARGET_P99_MS)}"
            )
        except (KeyError, TypeError):
            verdict.append(f"{p}: incomplete")
    lines.append("targets: " + "; ".join(verdict))
    return "\n".join(lines)


def e_short(rep: dict) -> float:
    for e in rep["placements"].values():
        return float(e["live_short"]["minutes"])
    return float("nan")


def _num(v: float | None, fmt: str) -> str:
    return "-" if v is None or not np.isfinite(v) else format(v, fmt)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--minutes", type=float, default=60.0, help="length of the long run (default 60)")
    parser.add_argument(
        "--placement",
        action="append",
        choices=("sacrum", "waist", "chest", "foot"),
        help="placement(s) to measure (repeatable; default sacrum and foot)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")


def run_bench(args: argparse.Namespace) -> int:
    """Entry point of ``gait bench``. ``args`` has ``minutes``, ``placement`` (list or None), ``json``,
    and optionally ``startup`` (only the start-up figures, `gait.bench.startup`), ``repeat``,
    ``compare`` (only the side by side, `gait.bench.compare`), ``files`` and ``file_minutes``."""
    minutes = float(getattr(args, "minutes", 60.0) or 60.0)
    placements = getattr(args, "placement", None) or list(PLACEMENTS)
    if isinstance(placements, str):
        placements = [placements]
    as_json = bool(getattr(args, "json", False))

    def progress(msg: str) -> None:
        print(f"[bench] {msg}", file=sys.stderr, flush=True)

    from gait.bench.compare import compare, format_compare
    from gait.bench.startup import format_startup, startup_figures

    only_startup = bool(getattr(args, "startup", False))
    only_compare = bool(getattr(args, "compare", False))
    t0 = time.perf_counter()
    rep: dict = {}
    if not (only_startup or only_compare):
        allowed = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
        rep = bench(minutes, placements, progress)  # pinned to one core
        if allowed is not None:  # the start-up and the side by side run as a user runs them
            os.sched_setaffinity(0, allowed)
    if not only_compare:
        rep["startup"] = startup_figures(max(1, int(getattr(args, "repeat", 10) or 10)), progress)
    if not only_startup:
        rep["compare"] = compare(int(getattr(args, "files", 6) or 6), float(getattr(args, "file_minutes", 10.0) or 10.0),
                                 progress=progress)  # fmt: skip
    rep["bench_seconds"] = time.perf_counter() - t0
    if as_json:
        print(json.dumps(rep, indent=2, default=_json_default))
        return 0
    parts = [] if (only_startup or only_compare) else [format_report(rep)]
    if "startup" in rep:
        parts.append(format_startup(rep["startup"]))
    if "compare" in rep:
        parts.append(format_compare(rep["compare"]))
    print("\n\n".join(parts))
    print(f"(benchmark took {rep['bench_seconds']:.0f} s)")
    return 0


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(type(o))


def _worker(argv: list[str]) -> int:
    placement, minutes, packet = argv[0], float(argv[1]), int(argv[2])
    _pin_one_core()
    out = stream_run(placement, minutes, packet)
    print(json.dumps(out, default=_json_default))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--worker":
        return _worker(argv[1:])
    parser = argparse.ArgumentParser(prog="gait bench", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run_bench(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
