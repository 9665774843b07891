"""End-to-end latency through the BLE path: ``gait bench-ble`` (prints figures, asserts nothing).

An emulated Polar H10 (`firmware_interface.emulation.H10Emulator`) streams ACC at 200 Hz, in
real time (``time_scale=1``), the motion of a real recording: by default the adeptdata outdoor
run's hip accelerometer (adeptdata ``acc_running``, a waist clip: a sacrum-like trunk signal),
100 Hz resampled to 200 Hz, from minute one on. It goes the way real hardware goes:

    emulated H10 notify -> ATT over Bumble's in-process radio -> bleak API (BumbleClient backend)
    -> ble.DeviceLink sync callback -> RawPacket in the LinkGroup queue -> gait.engine.RunEngine:
    session decode -> Pipeline -> StepMetrics -> the step line (formatted, written to a null sink)

(`firmware_interface.sources.EmulatedSource` + `gait.engine.driver.run_source`: what ``gait live
--source emulated`` runs). One clock (``time.monotonic_ns``) for device and host, both in this
process, so the figures are:

* ``notify -> queue``: `SentPacket.notify_ns` (just before the device hands the notification to
  its stack) to `RawPacket.rx_time_ns` (the sync callback), per data packet;
* ``queue wait``: from the callback to the consumer taking the packet;
* ``decode + pipeline``: `RunEngine.feed` of one data packet (session decode, pipeline,
  formatting of any step line);
* ``notify -> StepMetrics``: for each step, from the notify of the packet that completed it to
  the record leaving the pipeline: the host's share of the step latency;
* ``toe-off -> last sample``: the algorithmic share, in device time (``emitted_s - to_s``): the
  look-ahead the stages need (`Pipeline.latency_ms`, printed with the table) plus the wait for
  the packet that holds the samples (an H10 fills an MTU-sized frame, ~37 samples = 185 ms at
  200 Hz, before it sends; the look-ahead overlaps it); the device notifies right after that
  last sample, so ``toe-off -> StepMetrics out`` is the sum of the two rows above it.

What is not here: the radio (connection interval, retransmissions: 7.5-50 ms on real links),
and a second process. The emulated device and the host share one event loop, so the figures
include the device's own work; they are an upper bound of the host stack's share.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gait.core.records import SampleBlock, StepMetrics

DEFAULT_SECONDS = 45.0
DEFAULT_RATE_HZ = 200
DEFAULT_START_S = 60.0  # the adept runner is running by then


# ----------------------------------------------------------------------------------------------
# the motion
# ----------------------------------------------------------------------------------------------
def resample(block: SampleBlock, rate_hz: float) -> SampleBlock:
    """Linear interpolation of ``block`` onto a ``rate_hz`` grid from its first sample."""
    t = np.asarray(block.time_s, dtype=np.float64)
    grid = t[0] + np.arange(int(np.floor((t[-1] - t[0]) * rate_hz)) + 1) / rate_hz
    acc = np.column_stack([np.interp(grid, t, block.acc_mps2[:, c]) for c in range(3)])
    gyr = None
    if block.gyr_dps is not None:
        gyr = np.column_stack([np.interp(grid, t, block.gyr_dps[:, c]) for c in range(3)])
    return SampleBlock(time_s=grid - grid[0], acc_mps2=acc, gyr_dps=gyr, index0=0)


def load_motion(
    csv: str | Path | None, seconds: float, start_s: float, rate_hz: float, placement: str | None
) -> tuple[SampleBlock, str, str]:
    """(samples at ``rate_hz``, placement, description): ``csv`` (a CSV recording) or the adept
    hip run; ``seconds`` plus a margin from ``start_s`` on (the emulator loops past the end)."""
    margin = 10.0
    if csv is None:
        from gait.demo import load_adept_run

        hip = load_adept_run()["left_hip"]
        t, acc = hip.time_s, hip.acc_mps2
        what = f"adept outdoor run, left hip (waist clip), 100 Hz -> {rate_hz:g} Hz, from {start_s:g} s"
        placement = placement or "waist"
    else:
        from firmware_interface.files.recording import read_recording

        rec = read_recording(csv)
        t, acc = rec.time_s, rec.acc_mps2
        what = f"{Path(csv).name}, {rec.sampling_rate_hz:.0f} Hz -> {rate_hz:g} Hz, from {start_s:g} s"
        placement = placement or rec.metadata.get("placement") or "sacrum"
    keep = (t >= t[0] + start_s) & (t < t[0] + start_s + seconds + margin)
    if keep.sum() < 2:
        raise ValueError(f"nothing to stream: the recording is shorter than {start_s:g} s")
    block = SampleBlock(time_s=t[keep], acc_mps2=acc[keep], gyr_dps=None, index0=0)
    return resample(block, rate_hz), str(placement), what


# ----------------------------------------------------------------------------------------------
# the measurement
# ----------------------------------------------------------------------------------------------
PacketKey = bytes  # a data packet's payload (a PMD frame carries its device timestamp: unique)


@dataclass
class Timings:
    packets: list[tuple[PacketKey, int, int, int]] = field(default_factory=list)  # key, rx, start, end
    steps: list[tuple[PacketKey, int, StepMetrics]] = field(default_factory=list)  # key, out time, step


def _timed_engine(devices: list, data_channel: str) -> Any:
    from gait.engine.engine import RunEngine
    from gait.engine.events import Step
    from gait.engine.sinks import Sink
    from gait.engine.terminal import TerminalSink

    timings = Timings()
    current: list[bytes | None] = [None]

    class StepTimes(Sink):
        """Notes when each step leaves the engine, and the data packet that completed it."""

        def handle(self, event: Any) -> None:
            if isinstance(event, Step) and current[0] is not None:
                timings.steps.append((current[0], time.monotonic_ns(), event.device_step))

    class TimedEngine(RunEngine):
        """`RunEngine` that notes when each data packet went in."""

        timings = Timings()

        def feed(self, packet: Any) -> None:
            data = packet.channel == data_channel
            current[0] = packet.payload if data else None
            t0 = time.monotonic_ns()
            try:
                super().feed(packet)
            finally:
                current[0] = None  # steps flushed at the end (finish) belong to no packet
            if data:
                timings.packets.append((packet.payload, packet.rx_time_ns, t0, time.monotonic_ns()))

    engine = TimedEngine(devices, sinks=[StepTimes(), TerminalSink(io.StringIO(), status_every_s=None)])
    engine.timings = timings
    return engine


async def _measure(
    block: SampleBlock, placement: str, seconds: float, rate_hz: int, samples_per_frame: int | None
) -> tuple[Any, Any, Any]:
    from firmware_interface.emulation import motion_from_block
    from firmware_interface.protocols.polar_pmd import PMD_DATA_UUID
    from firmware_interface.sources import EmulatedDevice, EmulatedSource
    from gait.engine.driver import run_source

    device = EmulatedDevice(
        "h10",
        placement,
        motion=motion_from_block(block),
        settings={"sample_rate_hz": rate_hz},
        samples_per_frame=samples_per_frame,
    )
    source = EmulatedSource([device], time_scale=1.0, duration_s=seconds)
    await source.prepare()
    engine = _timed_engine(list(source.devices), PMD_DATA_UUID)
    summary = await run_source(source, engine, handle_sigint=True)
    return source, engine, summary


def _stats(values_ms: list[float] | np.ndarray) -> dict[str, float]:
    v = np.asarray(values_ms, dtype=np.float64)
    v = v[np.isfinite(v)]
    if not v.size:
        return {"n": 0, "p50_ms": float("nan"), "p99_ms": float("nan"), "max_ms": float("nan")}
    return {
        "n": int(v.size),
        "p50_ms": float(np.percentile(v, 50)),
        "p99_ms": float(np.percentile(v, 99)),
        "max_ms": float(v.max()),
    }


def measure(
    seconds: float = DEFAULT_SECONDS,
    *,
    csv: str | Path | None = None,
    start_s: float = DEFAULT_START_S,
    rate_hz: int = DEFAULT_RATE_HZ,
    placement: str | None = None,
    samples_per_frame: int | None = None,
) -> dict[str, Any]:
    """Run the emulated H10 for ``seconds`` (real time) and return the figures (see module doc)."""
    block, placement, what = load_motion(csv, seconds, start_s, rate_hz, placement)
    source, engine, summary = asyncio.run(_measure(block, placement, seconds, rate_hz, samples_per_frame))
    emulator = source.emulators[0]
    notify = {s.payload: s.notify_ns for s in emulator.sent if s.stream == "acc" and s.notify_ns}
    per_frame = [len(s.raw) for s in emulator.sent if s.stream == "acc" and s.raw is not None]
    t = engine.timings
    to_queue, waits, work = [], [], []
    for key, rx, start, end in t.packets:
        if key in notify:
            to_queue.append((rx - notify[key]) / 1e6)
        waits.append((start - rx) / 1e6)
        work.append((end - start) / 1e6)
    end_to_end, algorithmic, total = [], [], []
    for key, out, step in t.steps:
        algo = (step.emitted_s - step.to_s) * 1e3
        algorithmic.append(algo)
        if key in notify:
            end_to_end.append((out - notify[key]) / 1e6)
            total.append(algo + end_to_end[-1])
    health = next(iter(summary.health.values()), {})
    pipes = [st.pipeline for st in engine.devices.values() if st.pipeline is not None]
    declared = float(pipes[0].latency_ms) if pipes else None
    return {
        "device": f"emulated {emulator.name} (Polar H10), ACC {rate_hz} Hz raw frames",
        "samples_per_frame": int(np.median(per_frame)) if per_frame else None,
        "motion": what,
        "placement": placement,
        "seconds": seconds,
        "time_scale": 1.0,
        "packets": len(t.packets),
        "steps": summary.steps,
        "malformed": health.get("malformed"),
        "gaps": health.get("gaps"),
        "pipeline_declared_latency_ms": declared,
        "notify_to_queue": _stats(to_queue),
        "queue_wait": _stats(waits),
        "decode_pipeline_per_packet": _stats(work),
        "notify_to_step": _stats(end_to_end),
        "toe_off_to_step_device": _stats(algorithmic),
        "toe_off_to_step_total": _stats(total),
    }


# ----------------------------------------------------------------------------------------------
# report and CLI
# ----------------------------------------------------------------------------------------------
ROWS = (
    ("notify_to_queue", "notify -> RawPacket in queue", "per data packet"),
    ("queue_wait", "queue wait (callback -> consumer)", "per data packet"),
    ("decode_pipeline_per_packet", "decode + pipeline (+ step line)", "per data packet"),
    ("notify_to_step", "notify -> StepMetrics out", "per step: the packet that completed it"),
    ("toe_off_to_step_device", "toe-off -> last sample of that packet", "per step: look-ahead + frame fill"),
    ("toe_off_to_step_total", "toe-off -> StepMetrics out", "per step: the two above together"),
)


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v:.0f} ms"


def format_report(rep: dict[str, Any]) -> str:
    lines = [
        f"gait bench-ble: {rep['device']}, ~{rep['samples_per_frame']} samples per frame, real time "
        f"for {rep['seconds']:g} s",
        f"  motion: {rep['motion']} (placement {rep['placement']})",
        "  path: Bumble in-process radio -> bleak API (BumbleClient) -> ble.DeviceLink callback -> queue ->",
        "        RunEngine: session decode -> Pipeline -> StepMetrics (one process, one clock)",
        f"  {rep['packets']} data packets, {rep['steps']} steps, malformed {rep['malformed']}, gaps {rep['gaps']}; "
        f"pipeline look-ahead bound (declared): {_ms(rep['pipeline_declared_latency_ms'])}",
        "",
        f"  {'stage':<38} {'n':>5} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9}  what",
    ]
    for key, label, note in ROWS:
        s = rep[key]
        lines.append(f"  {label:<38} {s['n']:>5} {s['p50_ms']:>9.3f} {s['p99_ms']:>9.3f} {s['max_ms']:>9.3f}  {note}")
    return "\n".join(lines)


def add_ble_bench_args(p: argparse.ArgumentParser) -> None:
    """Arguments of ``gait bench-ble``."""
    p.add_argument("--seconds", type=float, default=DEFAULT_SECONDS, help="seconds of running, real time (default 45)")
    p.add_argument(
        "--csv", default=None, help="a CSV recording to stream instead of the adept hip run (fetched on first use)"
    )
    p.add_argument(
        "--start-s", type=float, default=DEFAULT_START_S, dest="start_s", help="where in the recording to start"
    )
    p.add_argument("--rate", type=int, default=DEFAULT_RATE_HZ, choices=(25, 50, 100, 200), help="H10 ACC rate (Hz)")
    p.add_argument("--placement", default=None, help="pipeline placement (default: the recording's; adept hip: waist)")
    p.add_argument(
        "--samples-per-frame",
        type=int,
        default=None,
        dest="samples_per_frame",
        help="cap the H10's samples per frame (default: as many as an MTU-sized frame holds)",
    )
    p.add_argument("--json", action="store_true", help="the figures as one JSON object")


def run_ble_bench(args: argparse.Namespace) -> int:
    """``gait bench-ble``: run the measurement and print the table (or JSON)."""
    try:
        rep = measure(
            float(args.seconds),
            csv=getattr(args, "csv", None),
            start_s=float(getattr(args, "start_s", DEFAULT_START_S)),
            rate_hz=int(getattr(args, "rate", DEFAULT_RATE_HZ)),
            placement=getattr(args, "placement", None),
            samples_per_frame=getattr(args, "samples_per_frame", None),
        )
    except ImportError as exc:
        print(f"gait: error: {exc}; install the emulation extra (bumble)", file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        print(f"gait: error: {exc}", file=sys.stderr)
        return 2
    if getattr(args, "json", False):
        print(json.dumps(rep))
    else:
        print(format_report(rep))
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="gait bench-ble", description=__doc__.splitlines()[0])
    add_ble_bench_args(p)
    return run_ble_bench(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
