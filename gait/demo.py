"""``gait demo``: a real 25-minute outdoor run through the live pipeline, then a runner's summary.

The run is the adeptdata ``acc_running`` recording (GPL-3; one runner, about 3.35 km), fetched on
first use from its original place (``gait.public_data``, registry ``data/datasets.toml``): two ActiGraph GT9X accelerometers at 100 Hz, in g, no gyroscope —
``left_hip`` on the belt (used as the ``waist`` placement) and ``left_ankle`` clipped to the shoe
below the ankle (used as the ``foot`` placement, left side, accelerometer-only mode).

Both sensors are streamed side by side in 10-sample packets through `gait.pipeline.Pipeline`,
exactly as live data would be, as fast as the machine allows (``--speed max``) or paced at N
times real time (``--speed N``); a progress bar goes to stderr. Then it prints a per-minute
table, plain-words verdicts on foot strike and bounce, and writes a PNG (`gait.plot`).

The small CSV loader here (`load_adept_run`) is local on purpose: `gait.demo` and
`gait.validation` are independent layers in the import contract (pyproject.toml).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from firmware_interface.files.adept import read_adept
from firmware_interface.session import DeviceConfig
from gait.core.config import PipelineConfig
from gait.core.records import Gap, QualityEvent, SampleBlock, StepMetrics
from gait.engine.engine import RunEngine
from gait.engine.events import DeviceHealth, RunSummary
from gait.engine.setup import RunOptions
from gait.engine.sinks import Collector, Sink
from gait.public_data import attribution, dataset_dir
from gait.run_words import (
    MODE_FLAGS,
    bounce_verdict,
    cadence_line,
    coach_lines,
    format_table,
    is_clean,
    per_minute,
    short_strike_note,
    strike_counts,
    strike_verdict,
    usable,
)

ADEPT_DATASET = "adept-outdoor-run"
ADEPT_FILE = "acc_running.rda"
ADEPT_RATE_HZ = 100.0
ADEPT_RANGE_G = 8  # ActiGraph GT9X: +-8 g
HIP_DEVICE = "left_hip"
ANKLE_DEVICE = "left_ankle"

# ----------------------------------------------------------------------------------------------
# loading
# ----------------------------------------------------------------------------------------------
def adept_path() -> Path:
    """The published adept run (``acc_running.rda``), fetched and checked on first use."""
    return dataset_dir(ADEPT_DATASET) / ADEPT_FILE


def load_adept_run(path: str | Path | None = None, minutes: float | None = None) -> dict[str, SampleBlock]:
    """The adept outdoor run as ``{"left_hip": SampleBlock, "left_ankle": SampleBlock}`` (m/s^2,
    device axes, time from the first sample); ``minutes`` keeps only the first N minutes."""
    path = path or adept_path()
    streams = read_adept(path)
    if "left_hip" not in streams:
        raise ValueError(f"{path}: no left_hip samples")
    out: dict[str, SampleBlock] = {}
    for loc in ("left_hip", "left_ankle"):
        if loc not in streams:
            continue
        t, acc = streams[loc].time_s, streams[loc].acc_mps2
        if minutes is not None:
            m = t < t[0] + minutes * 60.0
            t, acc = t[m], acc[m]
        out[loc] = SampleBlock(time_s=t, acc_mps2=acc, index0=0)
    return out


# ----------------------------------------------------------------------------------------------
# streaming: the recording through the one engine, as openpod pods
# ----------------------------------------------------------------------------------------------
@dataclass
class StreamResult:
    name: str
    placement: str
    steps: list[StepMetrics] = field(default_factory=list)  # on the run's common clock
    gaps: list[Gap] = field(default_factory=list)
    notices: list[QualityEvent] = field(default_factory=list)
    error: str | None = None  # the pipeline stopped: what it said (the other sensor goes on)


class ProgressBar(Sink):
    """A plain-text progress bar on stderr: ``\\r[#####-----]  42%  10:30 / 25:00  812x real time``;
    as a sink, it moves with the run's device health (once a second of stream time)."""

    name = "progress"

    def __init__(self, total_s: float, stream=None, width: int = 30, every_s: float = 0.1):
        super().__init__()
        self.total_s = max(total_s, 1e-9)
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.every_s = every_s
        self.t0 = time.perf_counter()
        self._last = -1e9

    def handle(self, event: object) -> None:
        if isinstance(event, DeviceHealth) and not event.final:
            self.update(event.time_s)

    def close(self, summary: object = None) -> None:
        """End the bar (as a sink: the run's end; by hand: at ``summary`` seconds done)."""
        self.close_bar(float(summary) if isinstance(summary, int | float) else self.total_s)

    def update(self, done_s: float, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self._last < self.every_s:
            return
        self._last = now
        frac = min(1.0, max(0.0, done_s / self.total_s))
        fill = int(round(frac * self.width))
        wall = max(now - self.t0, 1e-9)
        speed = done_s / wall
        bar = "#" * fill + "-" * (self.width - fill)
        self.stream.write(
            f"\r[{bar}] {frac * 100:5.1f}%  {_mmss(done_s)} / {_mmss(self.total_s)}  {speed:7.0f}x real time"
        )
        self.stream.flush()

    def close_bar(self, done_s: float) -> None:
        self.update(done_s, force=True)
        self.stream.write("\n")
        self.stream.flush()


def _mmss(s: float) -> str:
    s = max(0.0, s)
    return f"{int(s // 60):d}:{int(s % 60):02d}"


def play_recording(
    sensors: dict[str, tuple[DeviceConfig, SampleBlock]],
    options: RunOptions,
    *,
    rate_hz: float = ADEPT_RATE_HZ,
    speed: float | None = None,
    acc_range_g: int = ADEPT_RANGE_G,
    sinks: Sequence[object] = (),
    bus: object = None,
    record: str | Path | None = None,
    notes: str = "",
    start_time: float | None = None,
    stop: threading.Event | None = None,
) -> RunEngine:
    """A recording (one block per device) through the one run path: played as openpod pods
    (`gait.engine.sources.pods_from_blocks`) at ``speed`` x real time (None: as fast as
    possible) into `gait.engine` with the sinks ``options`` ask for plus ``sinks``; ``record``:
    also write the packets to a capture file (`gait replay` of it gives the same run). Returns the
    finished engine (its ``summary``, and each device's pipeline error in ``devices``)."""
    import asyncio

    from firmware_interface.capture import CaptureWriter
    from gait.engine.driver import run_source
    from gait.engine.setup import load_run_config, open_engine
    from gait.engine.sources import pods_from_blocks

    cfg = load_run_config(options)
    devices = [d for d, _ in sensors.values()]
    source = pods_from_blocks(sensors, rate_hz=rate_hz, speed=speed, acc_range_g=acc_range_g)
    recorder = None
    if record is not None:
        Path(record).parent.mkdir(parents=True, exist_ok=True)
        meta = {"devices": [d.to_dict() for d in devices], "source": {"source": "recording", "notes": notes},
                "live": {"speed_mps": options.speed_mps}, "config": cfg.stored()}  # fmt: skip
        recorder = CaptureWriter(record, meta)
        if start_time is None:
            start_time = recorder.metadata.get("created_unix_s")
    engine = open_engine(
        options,
        devices=devices,
        source_kind="recording",
        notes=notes,
        start_time=start_time,
        recording=record,
        recorder=recorder,
        bus=bus,
        display=False,
        run_config=cfg,
        extra_sinks=sinks,
    )
    try:
        asyncio.get_running_loop()
        in_loop = True  # called from async code (a browser driver's loop): run in a thread of its own
    except RuntimeError:
        in_loop = False
    main = threading.current_thread() is threading.main_thread() and not in_loop

    def run() -> RunSummary:
        return asyncio.run(run_source(source, engine, handle_sigint=main, link_loss_timeout_s=None, stop_event=stop))

    if not in_loop:
        run()
        return engine
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        pool.submit(run).result()
    return engine


def stream_sensors(
    sensors: dict[str, tuple[DeviceConfig, SampleBlock]],
    *,
    speed: float | None = None,
    progress: ProgressBar | None = None,
    coach: str = "default",
    speed_mps: float | None = None,
) -> tuple[dict[str, StreamResult], RunSummary, Collector]:
    """Every sensor through the engine (nothing stored); the steps per sensor, the run's summary
    (the coach's alerts) and everything the run produced."""
    from gait.engine.setup import RunOptions

    collector = Collector()
    sinks: list[object] = [collector] + ([progress] if progress is not None else [])
    first = next(iter(sensors.values()))[0]
    options = RunOptions(store=False, coach=coach, cues="silent", placement=first.placement, speed_mps=speed_mps)
    engine = play_recording(sensors, options, speed=speed, sinks=sinks)
    results: dict[str, StreamResult] = {}
    for name, (device, _) in sensors.items():
        st = engine.devices.get(device.id)
        r = StreamResult(name, device.placement or "sacrum", error=st.error if st is not None else None)
        r.steps = sorted(collector.steps.get(device.id, []), key=lambda s: s.ic_s)
        r.gaps = collector.gaps.get(device.id, [])
        r.notices = collector.notices.get(device.id, [])
        results[name] = r
    return results, engine.summary, collector


# ----------------------------------------------------------------------------------------------
# the command
# ----------------------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="out", help="directory for the plot (default ./out/)")
    parser.add_argument(
        "--speed", default="max", help="'max' (as fast as possible, default) or N: replay at N x real time"
    )
    parser.add_argument("--minutes", type=float, default=None, help="use only the first N minutes of the run")
    parser.add_argument("--data", default=None, help="the adept run: acc_running.rda or a CSV export of it (default: fetched on first use)")


def _parse_speed(value: object) -> float | None:
    if value is None:
        return None
    text = str(value).strip().lower()
    if text in ("max", "", "0", "inf"):
        return None
    speed = float(text.rstrip("x"))
    if speed <= 0:
        raise ValueError(f"--speed must be 'max' or a positive number, got {value!r}")
    return speed


def adept_sensors(blocks: dict[str, SampleBlock]) -> dict[str, tuple[DeviceConfig, SampleBlock]]:
    """The adept run's sensors as devices: the hip as 'waist', the ankle as the left foot."""
    out = {"hip": (DeviceConfig(HIP_DEVICE, "openpod", "waist", None), blocks["left_hip"])}
    if "left_ankle" in blocks:
        out["ankle"] = (DeviceConfig(ANKLE_DEVICE, "openpod", "foot", "left"), blocks["left_ankle"])
    return out


def run_demo(
    out_dir: str | Path = "out",
    *,
    speed: str | float | None = "max",
    minutes: float | None = None,
    data: str | Path | None = None,
    say: Callable[[str], None] | None = None,
) -> int:
    """The analysis half of ``gait demo``: the run through the engine as fast as it goes (or at
    ``speed`` x real time), a per-minute table, verdicts, the coach's cues and a plot in
    ``out_dir``. Returns the exit code."""
    say = say or (lambda s: print(s, flush=True))
    out_dir = Path(out_dir or "out")
    try:
        speed = _parse_speed(speed)
    except ValueError as exc:
        print(f"gait demo: {exc}", file=sys.stderr)
        return 2
    data_path = Path(data) if data else adept_path()
    if not data_path.exists():
        print(f"gait demo: recording not found: {data_path}", file=sys.stderr)
        return 1
    if not data:
        for line in attribution([ADEPT_DATASET]):
            say(f"data: {line}")

    t_load = time.perf_counter()
    blocks = load_adept_run(data_path, minutes)
    hip = blocks["left_hip"]
    ankle = blocks.get("left_ankle")
    duration = float(hip.time_s[-1] - hip.time_s[0]) + 1.0 / ADEPT_RATE_HZ
    say(
        f"gait demo: outdoor run (adeptdata, GPL-3), {duration / 60:.1f} min at {ADEPT_RATE_HZ:.0f} Hz: "
        f"left_hip as 'waist'{', left_ankle as left foot (accelerometer only)' if ankle is not None else ''}; "
        f"loaded in {time.perf_counter() - t_load:.1f} s"
    )
    sensors = adept_sensors(blocks)
    bar = ProgressBar(duration)
    t_run = time.perf_counter()
    results, summary, _ = stream_sensors(sensors, speed=speed, progress=bar)
    wall = time.perf_counter() - t_run
    hip_r = results["hip"]
    ankle_r = results.get("ankle")
    say(
        f"streamed {summary.packets:,} packets through the live engine in {wall:.1f} s "
        f"({duration / max(wall, 1e-9):,.0f}x real time); steps: hip {len(hip_r.steps)}"
        + (f", ankle {len(ankle_r.steps)}" if ankle_r is not None else "")
    )
    if hip_r.error:
        say(f"hip pipeline failed: {hip_r.error}")
    ankle_ok = ankle_r is not None and not ankle_r.error and usable(ankle_r.steps, "cadence_spm") >= 20
    if ankle_r is not None and not ankle_ok:
        why = ankle_r.error or f"only {len(ankle_r.steps)} contacts with usable values"
        say(f"ankle (foot placement, accelerometer only): no usable results ({why}); the hip results stand alone.")

    foot_steps = ankle_r.steps if ankle_ok and ankle_r is not None else []
    show_strike = bool(strike_counts(foot_steps))
    rows = per_minute(hip_r.steps, foot_steps, t0=0.0, duration_s=duration)
    say("")
    say(format_table(rows, show_foot_cadence=bool(foot_steps), show_strike=show_strike))
    say("")
    clean = sum(1 for s in hip_r.steps if is_clean(s))
    if hip_r.steps:
        flags = Counter(q for s in hip_r.steps for q in s.quality if q not in MODE_FLAGS)
        flag_text = ", ".join(f"{k} {v}" for k, v in flags.most_common(4))
        mode = sorted({q for s in hip_r.steps for q in s.quality if q in MODE_FLAGS})
        say(
            f"'clean %' = hip steps with no quality flag: {clean}/{len(hip_r.steps)}"
            + (f" (flagged: {flag_text})" if flag_text else "")
            + (f"; every step is marked {', '.join(mode)} (no standing calibration: lean has no zero)" if mode else "")
        )
        typical = float(np.median([r["steps"] for r in rows])) if rows else 0.0
        stopped = [r["minute"] for r in rows if r["steps"] < 0.6 * typical]
        if stopped:
            say(
                f"minutes with few or no steps ({', '.join(map(str, stopped))}): the runner stopped or walked for a while."
            )
    say(cadence_line(hip_r.steps))
    verdict = strike_verdict(
        ankle_r,
        "waist",
        foot_has_gyro=False,
        foot_rate_hz=ADEPT_RATE_HZ,
        min_rate_hz=PipelineConfig().min_rate_hz_foot_strike,
    )
    say(verdict)
    say(bounce_verdict(hip_r.steps))
    for line in coach_lines(summary.alerts):
        say(line)

    from gait.plot import plot_run

    out_dir.mkdir(parents=True, exist_ok=True)
    png = out_dir / "demo-outdoor-run.png"
    plot_run(
        hip_r.steps,
        png,
        strike_steps=[s for s in foot_steps if is_clean(s)],
        title=f"Outdoor run, {duration / 60:.0f} min (waist accelerometer{', left ankle' if foot_steps else ''})",
        strike_note=None if show_strike else short_strike_note(ankle_r),
        t0_s=0.0,
    )
    say(f"plot: {png.resolve()}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gait demo", description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    return run_demo(args.out, speed=args.speed, minutes=args.minutes, data=args.data)


if __name__ == "__main__":
    sys.exit(main())
