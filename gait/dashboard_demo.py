"""The full-system demo: a real recorded run -> the run engine (pipeline, coach) -> local store +
live bus, with the dashboards served while it plays (``make demo``).

    gait.dashboard_demo.run_full_demo(port=0)   # what ``gait demo`` calls (see dashboards.run_demo)
    replay_adept(store, bus, speed=10.0)        # the producer alone (tests: a real run on the bus)

The recording is ``data/adept-outdoor-run`` (adeptdata, GPL-3): the ``left_hip`` ActiGraph GT9X
at 100 Hz, as the ``waist`` placement, played as an openpod pod (`gait.demo.play_recording`)
through the very same engine as ``gait live`` and ``gait replay``, paced at ``speed`` x real
time. Its packets are written to a capture file in the store's folder and referenced by the
run, so ``gait replay`` of it gives the stored run again. The recording has no speed sensor:
the dataset's description gives about 3.35 km, which over the ~18 minutes spent running is
3.09 m/s, used as the run's constant speed (it gives vertical ratio and per-km splits). The pain
button on the live page reaches this run's coach through the bus.

This module sits in the top layer of the import contract (next to ``gait.demo``): it wires the
engine and the dashboards together; the dashboards never import it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gait.demo import ADEPT_RATE_HZ, adept_sensors, load_adept_run, play_recording
from gait.engine.events import DeviceHealth
from gait.engine.setup import RunOptions
from gait.engine.sinks import Sink

ADEPT_SPEED_MPS = 3.09  # ~3.35 km (dataset description) over ~1085 s of running steps
PROGRESS_EVERY_S = 120.0  # recording time between progress lines while replaying in real time
CAPTURE_DIR = "captures"


class ProgressLines(Sink):
    """A line every ``every_s`` of stream time: ``4.0 of 25.0 min replayed, 684 steps``."""

    name = "progress"

    def __init__(self, total_s: float, say: Callable[[str], None], every_s: float = PROGRESS_EVERY_S):
        super().__init__()
        self.total_s, self.say_line, self.every_s = total_s, say, every_s
        self.next_s = every_s
        self.steps = 0

    def handle(self, event: Any) -> None:
        if isinstance(event, DeviceHealth) and not event.final and event.time_s >= self.next_s:
            self.next_s += self.every_s
            steps = sum(d.steps for d in event.devices)
            self.say_line(f"  {event.time_s / 60:4.1f} of {self.total_s / 60:.1f} min replayed, {steps:,} steps")


def replay_adept(
    store: Any,
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
    record: str | Path | None = None,
) -> int:
    """Replay the adept run's hip sensor through the run engine into a new run of ``store``'s
    folder and onto ``bus`` (a `dashboards.bus.LiveBus`), coached with ``preset``. ``speed`` x
    real time (None: as fast as possible); ``start_s``/``minutes`` select a stretch; ``record``:
    the capture file to write (default: in the store's ``captures`` folder). Returns the run id."""
    blocks = load_adept_run(data_path, None if minutes is None else start_s / 60.0 + minutes)
    hip = blocks["left_hip"]
    if start_s:
        hip = hip.slice(int(round(start_s * ADEPT_RATE_HZ)), len(hip))
    sensors = {"hip": adept_sensors({"left_hip": hip})["hip"]}
    data_dir = Path(store.data_dir)
    if record is None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        record = data_dir / CAPTURE_DIR / f"adept-demo-{stamp}-{int(start_s)}s.gcap"
    options = RunOptions(data_dir=str(data_dir), runner=runner, coach=preset, cues="silent", speed_mps=ADEPT_SPEED_MPS,
                         keys=False)  # fmt: skip
    total_s = float(hip.time_s[-1] - hip.time_s[0])
    wall0 = time.perf_counter()
    progress = [ProgressLines(total_s, say)] if speed else []
    summary = play_recording(
        sensors,
        options,
        speed=speed,
        sinks=progress,
        bus=bus,
        record=record,
        notes="adeptdata outdoor run (GPL-3), replayed by gait demo",
        start_time=start_time,
        stop=stop,
    ).summary
    say(
        f"replayed {summary.packets:,} packets, {summary.steps:,} steps in {time.perf_counter() - wall0:.1f} s: "
        f"run {summary.run_id} ({summary.reason}); capture {record}"
    )
    assert summary.run_id is not None
    return summary.run_id


def run_full_demo(**options: Any) -> int:
    """``gait demo`` / ``make demo``: the dashboards live on 127.0.0.1 while the real run plays
    (``options``: those of `dashboards.run_demo.run_full_demo`)."""
    from dashboards.run_demo import run_full_demo as serve_demo

    return serve_demo(replay_adept, **options)
