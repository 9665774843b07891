"""Scale benchmark: many runners through one process, into the local store and InfluxDB.

``gait bench-scale [--runners 100] [--seconds 60] [--json]`` (or ``python -m gait.bench.scale``)
prints figures; it asserts nothing. Everything stays on this machine (127.0.0.1).

1. **Live phase.** ``--runners`` synthetic runners (`gait.bench.speed.SyntheticRunner`, 200 Hz,
   accelerometer + gyroscope; sacrum and foot placements alternating), each with its own
   `gait.pipeline.Pipeline`, fed 10-sample packets (a BLE notification's worth), for ``--seconds``
   of simulated running, as fast as one Python thread can go. Every record goes to the local
   store (one `StoreSink` per run, if `gait.storage.local` is available) and to one shared
   `InfluxSink` (one writer thread, one outbox) pointed at a VictoriaMetrics that the bench starts
   itself on a free loopback port (if ``victoria-metrics`` is installed; ``--url`` for another
   server, ``--no-server`` for a dead URL: the outbox then holds everything).
2. **Drain.** How long until both sinks have everything (store committed, server acknowledged).
3. **Sink burst.** ``--burst`` step records put into the InfluxSink at once: the sink's ceiling
   in points/s (encode, outbox commit, HTTP, acknowledgement) and the server's CPU meanwhile.

Reported: x real time, CPU per component as cores needed to keep up in real time (pipeline on the
main thread; the sinks' threads; the server process, from /proc), memory (RSS of this process and
of the server), points/s, put() latency, and which component saturates first.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

from firmware_interface.session import DeviceConfig
from firmware_interface.sources import PodStream
from gait.bench.speed import _config
from gait.core.records import StepMetrics
from gait.engine.engine import RunEngine
from gait.engine.sinks import InfluxRunSink, Sink, StoreRunSink, stored_records
from gait.synthetic import SyntheticRunner

FS_HZ = 200.0
PACKET = 20  # samples per openpod packet at 200 Hz (0.1 s, as a pod sends them)
VM_ARGS = ("-dedup.minScrapeInterval=1ms", "-retentionPeriod=100y", "-loggerLevel=ERROR")
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


# ----------------------------------------------------------------------------------------------
# measuring
# ----------------------------------------------------------------------------------------------
def _seconds(synth: SyntheticRunner) -> Any:
    while True:
        yield synth.next_block(int(FS_HZ))


class _Ahead:
    """A packet iterator read up to a receive time (the first later packet is kept)."""

    def __init__(self, packets: Any):
        self.packets = packets
        self.next: Any = None

    def until(self, rx_ns: int) -> list[Any]:
        out = []
        if self.next is not None:
            if self.next.rx_time_ns >= rx_ns:
                return out
            out.append(self.next)
            self.next = None
        for p in self.packets:
            if p.rx_time_ns >= rx_ns:
                self.next = p
                break
            out.append(p)
        return out


class _TimedSinks(Sink):
    """The store and InfluxDB sinks of one run, timing each stored record's put."""

    def __init__(self, sinks: list[Any]):
        super().__init__()
        self.sinks = sinks
        self.put_ms: list[float] = []

    def handle(self, event: Any) -> None:
        timed = stored_records(event) is not None
        a = time.perf_counter() if timed else 0.0
        for s in self.sinks:
            s.handle(event)
        if timed:
            self.put_ms.append((time.perf_counter() - a) * 1000.0)

    def close(self, summary: Any) -> None:
        for s in self.sinks:
            s.close(summary)
def _proc_cpu_s(pid: int | str = "self", tid: int | None = None) -> float:
    """utime + stime of a process (or one of its threads) from /proc, seconds; NaN if unknown."""
    path = f"/proc/{pid}/task/{tid}/stat" if tid is not None else f"/proc/{pid}/stat"
    try:
        with open(path, encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICK
    except (OSError, IndexError, ValueError):
        return float("nan")


def _rss_mb(pid: int | str = "self", key: str = "VmRSS") -> float:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def _threads_cpu_s(threads: list[threading.Thread]) -> float:
    total = 0.0
    for th in threads:
        if th.native_id is not None:
            v = _proc_cpu_s(tid=th.native_id)
            if v == v:
                total += v
    return total


# ----------------------------------------------------------------------------------------------
# a VictoriaMetrics of our own
# ----------------------------------------------------------------------------------------------
class LocalVictoriaMetrics:
    """``victoria-metrics`` on a free 127.0.0.1 port with a temporary storage folder."""

    def __init__(self, binary: str, data_dir: Path):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.args = [binary, f"-storageDataPath={data_dir}", f"-httpListenAddr=127.0.0.1:{self.port}", *VM_ARGS]
        self.start()

    def start(self) -> None:
        """Start (or start again, on the same port and storage) and wait until it answers."""
        self.proc = subprocess.Popen(self.args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15.0
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"victoria-metrics exited at start (code {self.proc.returncode})")
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(self.url + "/health", timeout=1.0):
                    return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("victoria-metrics did not answer /health within 15 s")

    def kill(self) -> None:
        """SIGKILL: the server dies as in a crash or a power cut."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def query(self, path: str, params: dict[str, str]) -> bytes:
        url = f"{self.url}{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=30.0) as r:
            return r.read()

    def cpu_s(self) -> float:
        return _proc_cpu_s(self.proc.pid)

    def rss_mb(self) -> float:
        return _rss_mb(self.proc.pid)

    def rows_inserted(self) -> float:
        total = 0.0
        with contextlib.suppress(OSError, ValueError):
            with urllib.request.urlopen(self.url + "/metrics", timeout=5.0) as r:
                for line in r.read().decode().splitlines():
                    if line.startswith('vm_rows_inserted_total{type="influx"}'):
                        total += float(line.rsplit(" ", 1)[1])
        return total

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


# ----------------------------------------------------------------------------------------------
# the benchmark
# ----------------------------------------------------------------------------------------------
def scale_bench(
    runners: int = 100,
    seconds: float = 60.0,
    placements: tuple[str, ...] = ("sacrum", "foot"),
    use_store: bool = True,
    url: str | None = None,
    start_server: bool = True,
    burst: int = 100_000,
    progress=None,
) -> dict[str, Any]:
    from gait.storage.influx import InfluxConfig, InfluxSink, RunTags

    say = progress or (lambda msg: None)
    tmp = Path(tempfile.mkdtemp(prefix="gait-scale-"))
    rep: dict[str, Any] = {"runners": runners, "seconds": seconds, "fs_hz": FS_HZ, "packet": PACKET}
    server: LocalVictoriaMetrics | None = None
    store = None
    store_sinks: list[Any] = []
    try:
        # -- server ---------------------------------------------------------------------------
        if url is None and start_server:
            binary = shutil.which("victoria-metrics")
            if binary:
                server = LocalVictoriaMetrics(binary, tmp / "vm")
                url = server.url
                rep["server"] = f"victoria-metrics (started by the bench) at {url}"
            else:
                rep["server"] = "none (victoria-metrics not installed: apt-get install -y victoria-metrics)"
        elif url is not None:
            rep["server"] = f"given: {url}"
        else:
            rep["server"] = "none (--no-server)"
        if url is None:
            with socket.socket() as s:  # a loopback port nobody listens on: the outbox holds everything
                s.bind(("127.0.0.1", 0))
                url = f"http://127.0.0.1:{s.getsockname()[1]}"
        cfg = InfluxConfig.from_mapping({"url": url, "org": "bench", "token": "bench", "bucket": "gait",
                                         "string_fields": server is None})  # fmt: skip
        sink = InfluxSink(cfg, outbox_path=tmp / "outbox.sqlite")

        # -- runners --------------------------------------------------------------------------
        if use_store:
            try:
                from gait.storage.local import Store

                store = Store(tmp / "store")
            except ImportError:
                rep["store"] = "not available"
        engines, feeds, timers = [], [], []
        for i in range(runners):
            placement = placements[i % len(placements)]
            config = _config(placement)
            device = DeviceConfig(f"sim{i:04d}", "openpod", placement, None)
            synth = SyntheticRunner(placement, FS_HZ, seed=1000 + i, cadence_spm=165.0 + (i % 15))
            stream = PodStream(device, _seconds(synth), FS_HZ, gyro=True, latency_ms=0.0, jitter_ms=0.0)
            outs: list[Any] = []
            if store is not None:
                run_id = store.open_run(runner=f"runner{i:04d}", config=config, devices=[device.to_dict()])
                outs.append(StoreRunSink(store, run_id, own_store=False))
                store_sinks.append(outs[-1].sink)
                tags = RunTags.from_run_info(store.run(run_id))
            else:
                tags = RunTags.new(runner=f"runner{i:04d}", placement=placement, device=device.id)
            outs.append(InfluxRunSink(sink, tags, own=False))
            timers.append(_TimedSinks(outs))
            engines.append(RunEngine([device], pipeline=config, sinks=[timers[-1]]))
            feeds.append(_Ahead(stream.packets(0, 0.0)))
        rep["store"] = rep.get("store") or (f"{len(store_sinks)} StoreSinks (one per run)" if store else "off")

        # -- live phase: every runner's packets through its own run engine -------------------------
        say(f"live: {runners} runners x {seconds:g} s at {FS_HZ:g} Hz, through the run engine")
        n_sec = int(round(seconds))
        t_syn = t_pipe = 0.0
        steps = 0
        backlog = []
        store_threads = [s._thread for s in store_sinks]
        vm_cpu0 = server.cpu_s() if server else float("nan")
        sink_cpu0 = _threads_cpu_s([sink._thread])
        store_cpu0 = _threads_cpu_s(store_threads)
        cpu0 = time.process_time()
        main0 = time.thread_time()
        wall0 = time.perf_counter()
        perf = time.perf_counter
        for sec in range(n_sec):
            until_ns = (sec + 1) * 1_000_000_000
            for i in range(runners):
                t0 = perf()
                packets = feeds[i].until(until_ns)
                t1 = perf()
                t_syn += t1 - t0
                engine = engines[i]
                for packet in packets:
                    engine.feed(packet)
                t_pipe += perf() - t1
            backlog.append(sink.health().queued)
            if sec % 10 == 9:
                steps = sum(e.summary.steps for e in engines)
                say(f"  {sec + 1} s simulated, {steps} steps, InfluxDB queue {backlog[-1]}")
        steps = sum(e.summary.steps for e in engines)
        put_ms = [ms for t in timers for ms in t.put_ms]
        records = len(put_ms)
        t_put = sum(put_ms) / 1000.0
        t_pipe -= t_put
        wall = perf() - wall0
        main_cpu = time.thread_time() - main0
        proc_cpu = time.process_time() - cpu0
        sink_cpu = _threads_cpu_s([sink._thread]) - sink_cpu0
        store_cpu = _threads_cpu_s(store_threads) - store_cpu0
        vm_cpu = (server.cpu_s() - vm_cpu0) if server else float("nan")
        rss_live = _rss_mb()

        # -- drain ----------------------------------------------------------------------------
        t0 = perf()
        influx_done = sink.flush(timeout=60.0) if server else None
        t_influx_drain = perf() - t0
        t0 = perf()
        for s in store_sinks:
            s.flush(timeout=30.0)
        t_store_drain = perf() - t0
        h = sink.health()
        puts = np.asarray(put_ms) if put_ms else np.zeros(1)
        sim = float(n_sec)
        rep["live"] = {
            "wall_s": wall,
            "x_real_time": sim / wall if wall > 0 else float("nan"),
            "steps": steps,
            "records": records,
            "points_per_sim_s": records / sim,
            "points_per_wall_s": records / wall,
            "cores_for_real_time": {  # CPU seconds per simulated second, all runners together
                "synthetic_samples": t_syn / sim,  # the synthetic runner and the pod's openpod encoder
                "pipeline": t_pipe / sim,  # the run engine: decode, sessions, pipeline, events
                "sink_put_calls": t_put / sim,
                "main_thread_total": main_cpu / sim,
                "influx_sink_thread": sink_cpu / sim,
                "store_sink_threads": store_cpu / sim,
                "process_total": proc_cpu / sim,
                "victoria_metrics": vm_cpu / sim,
            },
            "put_ms": {
                "p50": float(np.percentile(puts, 50)),
                "p99": float(np.percentile(puts, 99)),
                "max": float(puts.max()),
                "n": len(put_ms),
            },  # fmt: skip
            "influx_queue_max": int(max(backlog) if backlog else 0),
            "influx_drain_s": t_influx_drain,
            "influx_all_acknowledged": influx_done,
            "store_drain_s": t_store_drain,
            "rss_mb": rss_live,
            "influx_health": h.line(),
        }

        # -- sink burst -----------------------------------------------------------------------
        if burst > 0:
            say(f"sink burst: {burst} step points at once")
            tags = RunTags.new(runner="burst", placement="sacrum", device="burst")
            rng = np.random.default_rng(7)
            vals = rng.uniform(100, 300, size=(burst, 4)).round(3)
            recs = [
                StepMetrics(ic_s=k * 0.35, to_s=k * 0.35 + 0.25, side="left" if k % 2 else "right",
                            gct_ms=vals[k, 0], flight_ms=vals[k, 1] / 3, cadence_spm=vals[k, 2] / 1.5,
                            vo_cm=vals[k, 3] / 30, vertical_ratio_pct=7.1, fsa_deg=None, strike=None,
                            lean_deg=8.0, impact_g=3.2, duty_factor=0.36)
                for k in range(burst)
            ]  # fmt: skip
            rows0 = server.rows_inserted() if server else float("nan")
            vm0 = server.cpu_s() if server else float("nan")
            th0 = _threads_cpu_s([sink._thread])
            written0 = sink.health().written
            t0 = perf()
            worst = 0.0
            for r in recs:
                a = perf()
                sink.put(r, tags)
                worst = max(worst, perf() - a)
            t_put_all = perf() - t0
            done = sink.flush(timeout=120.0) if server else False
            t_all = perf() - t0
            h = sink.health()
            sent = h.written - written0
            rep["burst"] = {
                "points": burst,
                "put_all_s": t_put_all,
                "put_max_ms": worst * 1000.0,
                "acknowledged": sent,
                "all_acknowledged": done,
                "seconds": t_all,
                "points_per_s": sent / t_all if t_all > 0 and sent else float("nan"),
                "samples_per_s": (server.rows_inserted() - rows0) / t_all if server else float("nan"),
                "sink_thread_cpu_s": _threads_cpu_s([sink._thread]) - th0,
                "server_cpu_s": (server.cpu_s() - vm0) if server else float("nan"),
            }
        rep["rss_peak_mb"] = _rss_mb(key="VmHWM")
        rep["server_rss_mb"] = server.rss_mb() if server else float("nan")
        sink.close(timeout=5.0)
    finally:
        for s in store_sinks:
            with contextlib.suppress(Exception):
                s.close()
        if store is not None:
            with contextlib.suppress(Exception):
                store.close()
        if server is not None:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    rep["verdict"] = verdict(rep)
    return rep


def verdict(rep: dict) -> str:
    """Which component runs out first as runners are added (one core each; the pipeline is one thread)."""
    live = rep.get("live") or {}
    cores = live.get("cores_for_real_time") or {}
    runners = rep["runners"]
    need = {
        "pipeline thread (pipelines + put calls)": cores.get("main_thread_total", float("nan")),
        "InfluxDB sink thread": cores.get("influx_sink_thread", float("nan")),
        "local store sink threads": cores.get("store_sink_threads", float("nan")),
        "victoria-metrics server": cores.get("victoria_metrics", float("nan")),
    }
    burst = rep.get("burst") or {}
    pps = live.get("points_per_sim_s", float("nan"))
    sink_ceiling = burst.get("points_per_s", float("nan"))
    lines = []
    for name, c in need.items():
        if c == c and c > 0:
            lines.append(
                (c, f"{name}: {c * 100:.1f} % of a core for {runners} runners -> ~{runners / c:,.0f} runners per core")
            )
    lines.sort(reverse=True)
    text = "; ".join(t for _, t in lines)
    if sink_ceiling == sink_ceiling and pps == pps and pps > 0:
        text += (f"; sink burst ceiling {sink_ceiling:,.0f} points/s vs {pps:,.0f} points/s generated "
                 f"(~{runners * sink_ceiling / pps:,.0f} runners)")  # fmt: skip
    first = lines[0][1].split(":", 1)[0] if lines else "?"
    return f"saturates first: {first}. Share of one core per component: {text}"


def _f(v: Any, fmt: str) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    try:
        return "-" if v != v else format(v, fmt)
    except (TypeError, ValueError):
        return str(v)


def format_report(rep: dict) -> str:
    live, burst = rep.get("live", {}), rep.get("burst", {})
    c = live.get("cores_for_real_time", {})
    p = live.get("put_ms", {})
    out = [
        f"gait bench-scale: {rep['runners']} runners x {rep['seconds']:g} s simulated, {rep['fs_hz']:g} Hz, "
        f"{rep['packet']}-sample packets, one process",
        f"server: {rep.get('server')}; local store: {rep.get('store')}",
        "",
        "live phase",
        f"  wall {_f(live.get('wall_s'), '.1f')} s = {_f(live.get('x_real_time'), '.1f')}x real time; "
        f"{live.get('steps')} steps, {live.get('records')} records -> "
        f"{_f(live.get('points_per_sim_s'), ',.0f')} points per simulated s ({_f(live.get('points_per_wall_s'), ',.0f')}/s wall)",
        "  cores needed for real time (CPU s per simulated s, all runners):",
        f"    synthetic samples {_f(c.get('synthetic_samples'), '.3f')}  pipeline {_f(c.get('pipeline'), '.3f')}  "
        f"put() calls {_f(c.get('sink_put_calls'), '.4f')}  main thread {_f(c.get('main_thread_total'), '.3f')}",
        f"    InfluxDB sink thread {_f(c.get('influx_sink_thread'), '.4f')}  store sink threads "
        f"{_f(c.get('store_sink_threads'), '.4f')}  whole process {_f(c.get('process_total'), '.3f')}  "
        f"victoria-metrics {_f(c.get('victoria_metrics'), '.4f')}",
        f"  put() (store + InfluxDB) ms: p50 {_f(p.get('p50'), '.4f')}  p99 {_f(p.get('p99'), '.4f')}  "
        f"max {_f(p.get('max'), '.2f')}  (n={p.get('n')})",
        f"  InfluxDB queue max {live.get('influx_queue_max')}; drain {_f(live.get('influx_drain_s'), '.2f')} s "
        f"(all acknowledged: {_f(live.get('influx_all_acknowledged'), '')}); store drain "
        f"{_f(live.get('store_drain_s'), '.2f')} s",
        f"  {live.get('influx_health')}",
        f"  memory: this process {_f(live.get('rss_mb'), '.0f')} MB after the live phase, peak "
        f"{_f(rep.get('rss_peak_mb'), '.0f')} MB; server {_f(rep.get('server_rss_mb'), '.0f')} MB",
    ]
    if burst:
        out += [
            "",
            f"sink burst ({burst['points']} step points put at once)",
            f"  put() all: {_f(burst.get('put_all_s'), '.2f')} s (max {_f(burst.get('put_max_ms'), '.2f')} ms); "
            f"acknowledged {burst.get('acknowledged')} in {_f(burst.get('seconds'), '.2f')} s = "
            f"{_f(burst.get('points_per_s'), ',.0f')} points/s ({_f(burst.get('samples_per_s'), ',.0f')} samples/s "
            f"at the server)",
            f"  CPU: sink thread {_f(burst.get('sink_thread_cpu_s'), '.2f')} s, server "
            f"{_f(burst.get('server_cpu_s'), '.2f')} s",
        ]
    out += ["", rep.get("verdict", "")]
    return "\n".join(out)


# ----------------------------------------------------------------------------------------------
# the command
# ----------------------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runners", type=int, default=100, help="simulated runners (default 100)")
    parser.add_argument("--seconds", type=float, default=60.0, help="simulated running per runner (default 60)")
    parser.add_argument("--placement", action="append", choices=("sacrum", "waist", "chest", "foot"),
                        help="placement(s), alternating over runners (default sacrum and foot)")  # fmt: skip
    parser.add_argument("--no-store", action="store_true", help="leave the local store out")
    parser.add_argument("--url", help="write to this InfluxDB/VictoriaMetrics instead of starting one")
    parser.add_argument("--no-server", action="store_true", help="no server at all (the outbox holds every point)")
    parser.add_argument("--burst", type=int, default=100_000, help="points in the sink burst (0: skip)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")


def run_scale_bench(args: argparse.Namespace) -> int:
    """Entry point of ``gait bench-scale``."""

    def progress(msg: str) -> None:
        print(f"[bench-scale] {msg}", file=sys.stderr, flush=True)

    placements = tuple(getattr(args, "placement", None) or ("sacrum", "foot"))
    t0 = time.perf_counter()
    rep = scale_bench(
        runners=int(getattr(args, "runners", 100) or 100),
        seconds=float(getattr(args, "seconds", 60.0) or 60.0),
        placements=placements,
        use_store=not getattr(args, "no_store", False),
        url=getattr(args, "url", None),
        start_server=not getattr(args, "no_server", False),
        burst=int(getattr(args, "burst", 100_000)),
        progress=progress,
    )
    rep["bench_seconds"] = time.perf_counter() - t0
    if getattr(args, "json", False):
        print(json.dumps(rep, indent=2, default=float))
    else:
        print(format_report(rep))
        print(f"(benchmark took {rep['bench_seconds']:.0f} s)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gait bench-scale", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run_scale_bench(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
