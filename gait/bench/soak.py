"""Soak benchmark: a long run through the one run path while things break (``gait bench-soak``).

    gait bench-soak [--hours 3] [--speed 100] [--drop-every-min 10] [--influx-kills 2] [--json]

An emulated Polar H10 (real GATT over an in-process Bumble radio, through bleak's API and the
BLE transport: what ``gait live --source emulated`` runs) streams the synthetic runner's chest
motion at 200 Hz for ``--hours`` of device time, ``--speed`` times faster than real time, into
`gait.engine` with the local store and InfluxDB (a VictoriaMetrics the bench starts on a free
127.0.0.1 port) as sinks, and the coach on. Meanwhile:

- the radio link drops every ``--drop-every-min`` minutes of device time (HCI 0x08, as a sensor
  out of range); the transport reconnects and the device streams on;
- VictoriaMetrics is SIGKILLed and restarted ``--influx-kills`` times, evenly spread (down for
  ``--down-s`` seconds each time); the InfluxDB sink's outbox holds the points meanwhile.

Printed: the run's figures, this process's memory over the run (RSS sampled every second; first
and last quarter medians, growth per device hour), and the checks: every step the engine
emitted is in the local store once, and once in the server (distinct step timestamps of the
run's series, after the sink has drained). It asserts nothing; the exit code is 1 when a check
fails, 2 when something it needs is missing (victoria-metrics, the emulation extra).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import logging
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from gait.bench.scale import LocalVictoriaMetrics, _rss_mb

DEFAULT_HOURS = 3.0
DEFAULT_SPEED = 100.0
DEFAULT_DROP_EVERY_MIN = 10.0
DEFAULT_KILLS = 2
DEFAULT_DOWN_S = 3.0


class _Memory:
    """RSS of this process once a second, on a thread of its own."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="soak-memory", daemon=True)

    def _run(self) -> None:
        t0 = time.monotonic()
        while not self._stop.wait(1.0):
            self.samples.append((time.monotonic() - t0, _rss_mb()))

    def __enter__(self) -> _Memory:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(5)


class _StepTimes:
    """The IC of every step on the run's clock (what the InfluxDB points are stamped with)."""

    name = "step times"

    def __init__(self) -> None:
        import array

        self.ic_s = array.array("d")

    def handle(self, event: Any) -> None:
        from gait.engine.events import Step

        if isinstance(event, Step):
            self.ic_s.append(event.step.ic_s)


def soak(
    hours: float = DEFAULT_HOURS,
    speed: float = DEFAULT_SPEED,
    drop_every_min: float = DEFAULT_DROP_EVERY_MIN,
    influx_kills: int = DEFAULT_KILLS,
    down_s: float = DEFAULT_DOWN_S,
    say: Any = None,
) -> dict[str, Any]:
    say = say or (lambda text: None)
    binary = shutil.which("victoria-metrics")
    if binary is None:
        raise RuntimeError("victoria-metrics is not installed (apt-get install -y victoria-metrics)")
    tmp = Path(tempfile.mkdtemp(prefix="gait-soak-"))
    try:
        server = LocalVictoriaMetrics(binary, tmp / "vm")
        try:
            return _soak(server, tmp, hours, speed, drop_every_min, influx_kills, down_s, say)
        finally:
            server.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _soak(server: LocalVictoriaMetrics, tmp: Path, hours: float, speed: float, drop_every_min: float,
          influx_kills: int, down_s: float, say: Any) -> dict[str, Any]:  # fmt: skip
    from firmware_interface.emulation import EmulatedDevice, EmulatedSource
    from gait.engine.driver import run_source
    from gait.engine.setup import RunOptions, load_run_config, open_engine
    from gait.engine.sinks import InfluxRunSink
    from gait.engine.sources import synthetic_motion
    from gait.storage import Store
    from gait.storage.influx import InfluxConfig, InfluxSink, RunTags

    wall_s = hours * 3600.0 / speed
    drop_wall_s = drop_every_min * 60.0 / speed
    kill_at = [wall_s * (k + 1) / (influx_kills + 1) for k in range(influx_kills)]
    options = RunOptions(data_dir=str(tmp / "store"), runner="soak", cues="silent", keys=False, status_every_s=None)
    cfg = load_run_config(options, environ={})
    influx_cfg = InfluxConfig.from_mapping({"url": server.url, "org": "soak", "token": "soak", "bucket": "gait"})
    device = EmulatedDevice("h10", "chest", motion=synthetic_motion("chest", 1, seconds=120.0))
    source = EmulatedSource([device], time_scale=speed, duration_s=wall_s)
    events: list[str] = []
    influx = InfluxSink(influx_cfg, outbox_path=tmp / "outbox.sqlite")
    stamps_sink = _StepTimes()

    async def main() -> Any:
        await source.prepare()
        engine = open_engine(options, devices=list(source.devices), source_kind=source.kind, display=False,
                             run_config=replace(cfg, influx=None))  # fmt: skip
        with Store(options.data_dir) as store:
            tags = RunTags.from_run_info(store.run(engine.summary.run_id))
        engine.add_sink(InfluxRunSink(influx, tags, engine.summary.run_id, own=False))
        engine.add_sink(stamps_sink)
        emulator = source.emulators[0]
        emulator.sent = collections.deque(maxlen=1024)  # it keeps every packet it built for the benches: bound it

        async def faults() -> None:
            t0 = time.monotonic()
            next_drop, kills = drop_wall_s, list(kill_at)
            while True:
                await asyncio.sleep(0.05)
                now = time.monotonic() - t0
                if now >= next_drop and now < wall_s - drop_wall_s / 2:  # none just before the end
                    next_drop += drop_wall_s
                    events.append(f"{now * speed / 60:6.1f} min: link dropped")
                    await emulator.drop_link(return_after_s=0.2)
                if kills and now >= kills[0]:
                    kills.pop(0)
                    events.append(f"{now * speed / 60:6.1f} min: victoria-metrics SIGKILLed, back in {down_s:g} s")
                    server.kill()
                    await asyncio.sleep(down_s)
                    await asyncio.to_thread(server.start)

        task = asyncio.create_task(faults())
        try:
            summary = await run_source(source, engine, handle_sigint=True, link_loss_timeout_s=None)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        return engine, summary

    logging.getLogger("bumble").setLevel(logging.ERROR)  # a dropped link's stale handles: expected here
    logging.getLogger("gait.storage.influx").setLevel(logging.ERROR)  # the kills: counted in the report
    say(f"soak: {hours:g} h of device time at {speed:g}x ({wall_s:.0f} s wall), a link drop every "
        f"{drop_every_min:g} min, victoria-metrics killed {influx_kills}x")  # fmt: skip
    t0 = time.perf_counter()
    with _Memory() as mem:
        engine, summary = asyncio.run(main())
    wall = time.perf_counter() - t0
    say("draining the InfluxDB outbox")
    drained = influx.flush(timeout=120.0)
    health = influx.health()
    influx.close(5.0)
    run_id = summary.run_id
    with Store(options.data_dir) as store:
        cols = store.steps(run_id)
        stored_ic = np.asarray(cols.columns()["ic_s"], dtype=np.float64)
        run_start = store.run(run_id).start_time
        reconnects = sum(1 for _, q in store.quality_events(run_id) if q.code == "device_connected")
        run_label = RunTags.from_run_info(store.run(run_id)).run
    for _ in range(3):  # the server indexes what it acknowledged within a second or two
        body = server.query("/api/v1/export", {"match[]": f'gait_step_quality{{run="{run_label}"}}'})
        stamps = [t for line in body.decode().splitlines() if line.strip() for t in json.loads(line)["timestamps"]]
        if len(set(stamps)) >= summary.steps:
            break
        time.sleep(2.0)
    # what the server can tell apart: the steps' point timestamps in whole ms (it keeps ms, and one
    # sample per series and ms). Faster than real time, the receive clock packs steps close together:
    # steps that share a millisecond are one point there, counted as such.
    expected = {int(run_start * 1000.0 + t * 1000.0) for t in stamps_sink.ic_s}
    got = set(stamps)
    in_server = np.array([e in got or (e + 1) in got or (e - 1) in got for e in sorted(expected)], dtype=bool)
    rss = np.asarray([m for _, m in mem.samples]) if mem.samples else np.zeros(1)
    q = max(1, len(rss) // 4)
    # the first quarter is warm-up (imports, caches, the outbox's and the store's page caches):
    # growth is judged from the second quarter to the last
    first, second, last = (float(np.median(rss[:q])), float(np.median(rss[q:2 * q] if len(rss) >= 2 * q else rss)),
                           float(np.median(rss[-q:])))  # fmt: skip
    device_h = hours
    return {
        "hours": hours,
        "speed": speed,
        "wall_s": wall,
        "packets": summary.packets,
        "steps_emitted": summary.steps,
        "steps_stored": int(len(stored_ic)),
        "steps_stored_unique": int(len(np.unique(stored_ic))),
        "server_samples": len(stamps),
        "steps_sharing_a_ms": int(summary.steps - len(expected)),
        "server_unique_steps": len(set(stamps)),
        "server_has_every_stored_step": bool(in_server.all()),
        "server_missing": int((~in_server).sum()),
        "outbox_drained": drained,
        "influx_health": health.line(),
        "link_drops": sum("link dropped" in e for e in events),
        "reconnects_stored": reconnects,
        "influx_kills": sum("SIGKILL" in e for e in events),
        "events": events,
        "reason": summary.reason,
        "rss_mb": {"first_quarter": first, "second_quarter": second, "last_quarter": last, "max": float(rss.max()),
                   "growth_mb_per_device_hour": (last - second) / (device_h * 0.5) if device_h else 0.0,
                   "curve": [round(float(m), 1) for m in rss[:: max(1, len(rss) // 20)]]},  # fmt: skip
        "health": summary.health,
    }


def checks(rep: dict[str, Any]) -> list[tuple[str, bool]]:
    return [
        ("every emitted step stored locally, once", rep["steps_stored"] == rep["steps_emitted"] == rep["steps_stored_unique"]),
        ("every stored step in the server, once", rep["server_has_every_stored_step"]
         and rep["server_unique_steps"] == rep["steps_stored"] - rep["steps_sharing_a_ms"]),  # fmt: skip
        ("memory flat (under 5 MB per device hour)", abs(rep["rss_mb"]["growth_mb_per_device_hour"]) < 5.0),
        ("the link came back after every drop", rep["reconnects_stored"] >= rep["link_drops"]),
    ]


def format_report(rep: dict[str, Any]) -> str:
    r = rep["rss_mb"]
    lines = [
        f"gait bench-soak: {rep['hours']:g} h of device time at {rep['speed']:g}x in {rep['wall_s']:.0f} s wall "
        f"({rep['reason']})",
        f"  packets {rep['packets']:,}; steps emitted {rep['steps_emitted']:,}, stored {rep['steps_stored']:,} "
        f"({rep['steps_stored_unique']:,} distinct), in the server {rep['server_unique_steps']:,} distinct "
        f"({rep['server_samples']:,} samples, {rep['server_missing']} missing; {rep['steps_sharing_a_ms']} steps share "
        f"a millisecond with another at {rep['speed']:g}x)",
        f"  faults: {rep['link_drops']} link drops ({rep['reconnects_stored']} reconnects stored), "
        f"{rep['influx_kills']} victoria-metrics kills; outbox drained: {'yes' if rep['outbox_drained'] else 'no'}",
        f"  memory (RSS): quarters 1, 2 and 4: {r['first_quarter']:.0f}, {r['second_quarter']:.0f}, "
        f"{r['last_quarter']:.0f} MB (max {r['max']:.0f} MB); growth after warm-up "
        f"{r['growth_mb_per_device_hour']:+.2f} MB per device hour",
        f"  RSS curve (MB, 20 samples over the run): {' '.join(f'{m:.0f}' for m in r['curve'])}",
        f"  InfluxDB: {rep['influx_health']}",
    ]
    for name, ok in checks(rep):
        lines.append(f"  [{'ok' if ok else 'FAIL'}] {name}")
    return "\n".join(lines)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--hours", type=float, default=DEFAULT_HOURS, help="device time to run (default 3)")
    p.add_argument("--speed", type=float, default=DEFAULT_SPEED, help="times faster than real time (default 100)")
    p.add_argument("--drop-every-min", type=float, default=DEFAULT_DROP_EVERY_MIN, dest="drop_every_min",
                   help="a link drop every N minutes of device time (default 10)")  # fmt: skip
    p.add_argument("--influx-kills", type=int, default=DEFAULT_KILLS, dest="influx_kills",
                   help="times victoria-metrics is SIGKILLed and restarted (default 2)")  # fmt: skip
    p.add_argument("--down-s", type=float, default=DEFAULT_DOWN_S, dest="down_s", help="seconds it stays down")
    p.add_argument("--json", action="store_true")


def run_soak(hours: float, speed: float, drop_every_min: float, influx_kills: int, down_s: float, as_json: bool) -> int:
    try:
        import bumble  # noqa: F401
    except ImportError:
        print("gait bench-soak: needs the emulation extra (bumble): pip install -e '.[emulation]'", file=sys.stderr)
        return 2
    try:
        rep = soak(hours, speed, drop_every_min, influx_kills, down_s,
                   say=lambda text: print(f"[bench-soak] {text}", file=sys.stderr, flush=True))  # fmt: skip
    except RuntimeError as exc:
        print(f"gait bench-soak: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(rep, indent=2, default=str) if as_json else format_report(rep))
    return 0 if all(ok for _, ok in checks(rep)) else 1
