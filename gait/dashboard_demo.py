"""The full-system demo: a real recorded run -> pipeline -> coach -> local store + live bus, with
the dashboards served while it plays (``make demo``).

    gait.dashboard_demo.run_full_demo(args)     # what ``gait demo`` calls (see dashboards.run_demo)
    replay_adept(store, bus, speed=10.0)        # the producer alone (tests: a real run on the bus)

The recording is ``data/adept-outdoor-run`` (adeptdata, GPL-3): the ``left_hip`` ActiGraph GT9X
at 100 Hz, as the ``waist`` placement, streamed in 10-sample packets through the very same
`gait.pipeline.Pipeline` the live path uses, paced at ``speed`` x real time. Every step goes to
the store (through the non-blocking sink), to the live bus and to the coach; every alert the coach
raises goes to the store and the bus. The recording has no speed sensor: the dataset's
description gives about 3.35 km, which over the ~18 minutes spent running is 3.09 m/s, used as
the run's constant speed (it gives vertical ratio and per-km splits). The pain button on the live
page reaches this run's coach through the bus callback.

This module sits in the top layer of the import contract (next to ``gait.demo``): it wires the
pipeline, the coach, the store and the dashboards together; the dashboards never import it.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable
from typing import Any

from gait.coach import Coach, RunContext, load_preset
from gait.core.config import PipelineConfig
from gait.core.records import Alert, Gap, QualityEvent, StepMetrics
from gait.demo import ADEPT_PATH, ADEPT_RATE_HZ, PACKET_SAMPLES, load_adept_run
from gait.storage import Store

ADEPT_SPEED_MPS = 3.09  # ~3.35 km (dataset description) over ~1085 s of running steps
DEVICE = "left_hip"
DEVICE_KIND = "ActiGraph GT9X (replay)"


PROGRESS_EVERY_S = 120.0  # recording time between progress lines while replaying in real time


def replay_adept(
    store: Store,
    bus: Any,
    *,
    speed: float | None = 10.0,
    minutes: float | None = None,
    start_s: float = 0.0,
    preset: str = "default",
    say: Callable[[str], None] = print,
    stop: threading.Event | None = None,
    data_path: Any = None,
    runner: str = "adept outdoor run",
    start_time: float | None = None,
) -> int:
    """Replay the adept run through pipeline and coach into ``store`` (a new run) and ``bus``
    (a `dashboards.bus.LiveBus`, or anything with ``start_run``/``publish``/``end_run``).
    ``speed`` x real time (None: as fast as possible); ``start_s``/``minutes`` select a stretch.
    Returns the run id."""
    from gait.pipeline import Pipeline

    blocks = load_adept_run(data_path or ADEPT_PATH, None if minutes is None else start_s / 60.0 + minutes)
    hip = blocks["left_hip"]
    if start_s:
        i0 = int(round(start_s * ADEPT_RATE_HZ))
        hip = hip.slice(i0, len(hip))
    config = PipelineConfig(placement="waist", speed_mps=ADEPT_SPEED_MPS)
    pipe = Pipeline(config, ADEPT_RATE_HZ)
    coach = Coach(load_preset(preset), RunContext(placement="waist", speed_mps=ADEPT_SPEED_MPS, sampling_rate_hz=ADEPT_RATE_HZ))
    t_first = float(hip.time_s[0])
    run_id = store.open_run(
        runner=runner,
        placement="waist",
        devices=[{"id": DEVICE, "kind": DEVICE_KIND}],
        config=config,
        start_time=(start_time if start_time is not None else time.time()),
        stream_t0_s=t_first,
        notes="adeptdata outdoor run (GPL-3), replayed by gait.dashboard_demo",
    )
    sink = store.sink(run_id)
    lock = threading.Lock()
    newest = [t_first]

    def on_pain(score: int, phase: str, note: str) -> list[Any]:
        with lock:
            alerts = coach.pain(score, time_s=newest[0], phase=phase, note=note)
            return [coach.pain_notes[-1], *alerts]

    bus.start_run(
        run_id=run_id,
        info={"runner": runner, "placement": "waist", "devices": [DEVICE], "speed_mps": ADEPT_SPEED_MPS, "replay": speed},
        on_pain=on_pain,
    )
    packets = steps = 0
    last_health = 0.0
    total_s = float(hip.time_s[-1] - t_first)
    next_note_s = PROGRESS_EVERY_S
    wall0 = time.perf_counter()

    def handle(records: list) -> None:
        nonlocal steps
        for r in records:
            if isinstance(r, StepMetrics):
                steps += 1
                sink.put(r, device=DEVICE)
                bus.publish(r)
                with lock:
                    alerts: list[Alert] = coach.on_step(r)
                for a in alerts:
                    sink.put(a)
                    bus.publish(a)
            elif isinstance(r, Gap | QualityEvent):
                sink.put(r, device=DEVICE)

    def health() -> dict[str, Any]:
        return {
            "type": "health",
            "device": DEVICE,
            "kind": DEVICE_KIND,
            "received": packets,
            "dropped": 0,
            "malformed": 0,
            "gaps": 0,
            "missing_samples": 0,
            "battery_pct": None,
            "sample_rate_hz": ADEPT_RATE_HZ,
        }

    reason = "end of recording"
    try:
        for i in range(0, len(hip), PACKET_SAMPLES):
            if stop is not None and stop.is_set():
                reason = "stopped"
                break
            pk = hip.slice(i, min(len(hip), i + PACKET_SAMPLES))
            packets += 1
            newest[0] = float(pk.time_s[-1])
            handle(pipe.process(pk))
            done = newest[0] - t_first
            if speed:
                ahead = done / speed - (time.perf_counter() - wall0)
                if ahead > 0:
                    time.sleep(ahead)
            now = time.perf_counter()
            if now - last_health >= 1.0:
                last_health = now
                bus.publish(health())
            if speed and done >= next_note_s:
                say(f"  {done / 60:4.1f} of {total_s / 60:.1f} min replayed, {steps:,} steps")
                next_note_s += PROGRESS_EVERY_S
        handle(pipe.flush())
        bus.publish(health())
    finally:
        sink.close()
        bus.end_run(reason)
    say(f"replayed {packets:,} packets, {steps:,} steps in {time.perf_counter() - wall0:.1f} s: run {run_id} ({reason})")
    return run_id


def run_full_demo(args: argparse.Namespace) -> int:
    """``gait demo`` / ``make demo``: the dashboards live on 127.0.0.1 while the real run plays."""
    from dashboards.run_demo import run_full_demo as serve_demo

    return serve_demo(args, producer=replay_adept)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from dashboards.run_demo import add_arguments as add

    add(parser)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gait demo", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run_full_demo(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
