"""Scale benchmark: many runners into the local store and InfluxDB, in one process or sharded.

``gait bench-scale [--runners 100] [--seconds 60] [--processes 1] [--frame-ms 100] [--json]`` (or
``python -m gait.bench.scale``) prints figures; it asserts nothing. Everything stays on this
machine (127.0.0.1).

1. **Live phase.** ``--runners`` simulated runners (200 Hz, accelerometer + gyroscope; sacrum and
   foot placements alternating), each an openpod pod through its own run engine (decode, session,
   `gait.pipeline.Pipeline` with ``--frame-ms`` frames), fed its 20-sample packets second by second
   of simulated running for ``--seconds``, as fast as the process can go. Every record goes to the
   local store (one `StoreSink` per run, all written by the store's one writer thread per process;
   ``--store-sync normal`` for SQLite's synchronous=NORMAL) and
   to one shared `InfluxSink` per process pointed at a VictoriaMetrics that the bench starts itself
   on a free loopback port (if ``victoria-metrics`` is installed; ``--url`` for another server,
   ``--no-server`` for a dead URL: the outbox then holds everything). The pods' packets are the
   devices' work, not the server's: ``--pods`` distinct simulated pods (`gait.synthetic.
   SyntheticRunner` + the openpod encoder) are generated before the live phase and replayed, each
   runner under its own device id; ``--pods 0`` makes every runner synthesise its own during it.
2. **Sharding.** ``--processes N`` splits the runners over N worker processes started together
   (one store folder, one server): each runs its share's live phase and drains; the figures are
   summed, and the slowest process sets the x real time.
3. **Drain.** How long until both sinks have everything (store committed, server acknowledged);
   the steps found in the store are counted against the steps the engines produced.
4. **Sink burst** (one process only). ``--burst`` step records put into the InfluxSink at once: the
   sink's ceiling in points/s (encode, outbox commit, HTTP, acknowledgement) and the server's CPU.

Reported: x real time, runners sustained in real time (runners x the slowest process's x real time
when the processes run side by side), CPU per component as cores needed to keep up in real time
(the engines on each process's main thread; the sinks' threads; the server process, from /proc),
memory, points/s, put() latency, and which component saturates first.
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

from firmware_interface.devices.base import RawPacket
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
def _pod_packets(index: int, placement: str, seconds: int) -> list[list[Any]]:
    """One simulated pod's packets, second by second of simulated running."""
    device = DeviceConfig(f"pod{index:04d}", "openpod", placement, None)
    synth = SyntheticRunner(placement, FS_HZ, seed=1000 + index, cadence_spm=165.0 + (index % 15))
    feed = _Ahead(PodStream(device, _seconds(synth), FS_HZ, gyro=True, latency_ms=0.0, jitter_ms=0.0).packets(0, 0.0))
    return [feed.until((sec + 1) * 1_000_000_000) for sec in range(seconds)]


class _Replay:
    """A pod's packets replayed under a runner's own device id."""

    def __init__(self, by_second: list[list[Any]], device: str):
        self.by_second = by_second
        self.device = device

    def until_second(self, sec: int) -> list[Any]:
        d = self.device
        return [RawPacket(p.rx_time_ns, d, p.channel, p.payload) for p in self.by_second[sec]]


class _Live:
    """Synthesises each second's packets as it goes (``--pods 0``)."""

    def __init__(self, feed: _Ahead):
        self.feed = feed

    def until_second(self, sec: int) -> list[Any]:
        return self.feed.until((sec + 1) * 1_000_000_000)


def _shard_live(
    indices: list[int],
    seconds: float,
    placements: tuple[str, ...],
    store_dir: Path | None,
    url: str,
    string_fields: bool,
    frame_ms: float,
    pods: int,
    durable: bool,
    tmp: Path,
    progress=None,
    ready=None,
) -> tuple[dict[str, Any], Any]:
    """The live phase and the drain for the runners ``indices`` (this process's share). Returns
    (figures, the process's InfluxSink, still open). ``ready()`` is called once everything is built,
    before the clock starts (the sharded bench waits there for every process)."""
    from gait.storage.influx import InfluxConfig, InfluxSink, RunTags

    say = progress or (lambda msg: None)
    n_sec = int(round(seconds))
    cfg = InfluxConfig.from_mapping({"url": url, "org": "bench", "token": "bench", "bucket": "gait",
                                     "string_fields": string_fields})  # fmt: skip
    sink = InfluxSink(cfg, outbox_path=tmp / f"outbox-{os.getpid()}.sqlite")
    store = None
    store_sinks: list[Any] = []
    if store_dir is not None:
        from gait.storage.local import Store

        store = Store(store_dir, durable=durable)
    templates: dict[int, list[list[Any]]] = {}
    if pods > 0:  # whole cycles of the placements, so a runner replays a pod of its own placement
        pods = max(len(placements), pods - pods % len(placements))
        say(f"generating {min(pods, len(indices))} pods' packets for {n_sec} s")
    engines, feeds, timers = [], [], []
    try:
        for i in indices:
            placement = placements[i % len(placements)]
            config = _config(placement).with_(frame_ms=frame_ms)
            device = DeviceConfig(f"sim{i:04d}", "openpod", placement, None)
            if pods > 0:
                k = i % pods
                if k not in templates:
                    templates[k] = _pod_packets(k, placements[k % len(placements)], n_sec)
                feeds.append(_Replay(templates[k], device.id))
            else:
                synth = SyntheticRunner(placement, FS_HZ, seed=1000 + i, cadence_spm=165.0 + (i % 15))
                stream = PodStream(device, _seconds(synth), FS_HZ, gyro=True, latency_ms=0.0, jitter_ms=0.0)
                feeds.append(_Live(_Ahead(stream.packets(0, 0.0))))
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
        from gait.pipeline import Pipeline

        for placement in set(placements):  # what a pipeline imports on first use, before the clock starts
            Pipeline(_config(placement).with_(frame_ms=frame_ms), FS_HZ)
        for e in engines:
            e.start()
        if ready is not None:
            ready()

        say(f"live: {len(indices)} runners x {n_sec} s at {FS_HZ:g} Hz, {frame_ms:g} ms frames, through the run engine")
        t_syn = t_pipe = 0.0
        backlog = []
        store_threads = list({id(s._thread): s._thread for s in store_sinks}.values())  # shared by the sinks
        sink_cpu0 = _threads_cpu_s([sink._thread])
        store_cpu0 = _threads_cpu_s(store_threads)
        cpu0 = time.process_time()
        main0 = time.thread_time()
        wall0 = time.perf_counter()
        perf = time.perf_counter
        for sec in range(n_sec):
            for i in range(len(engines)):
                t0 = perf()
                packets = feeds[i].until_second(sec)
                t1 = perf()
                t_syn += t1 - t0
                engine = engines[i]
                for packet in packets:
                    engine.feed(packet)
                t_pipe += perf() - t1
            backlog.append(sink.health().queued)
            if sec % 10 == 9:
                say(f"  {sec + 1} s simulated, {sum(e.summary.steps for e in engines)} steps, InfluxDB queue {backlog[-1]}")
        wall = perf() - wall0
        main_cpu = time.thread_time() - main0
        proc_cpu = time.process_time() - cpu0
        sink_cpu = _threads_cpu_s([sink._thread]) - sink_cpu0
        store_cpu = _threads_cpu_s(store_threads) - store_cpu0
        steps = sum(e.summary.steps for e in engines)
        put_ms = [ms for t in timers for ms in t.put_ms]
        t_put = sum(put_ms) / 1000.0
        t_pipe -= t_put
        rss_live = _rss_mb()

        # -- drain ----------------------------------------------------------------------------
        t0 = perf()
        influx_done = sink.flush(timeout=120.0) if not string_fields else None  # (a server of our own)
        t_influx_drain = perf() - t0
        t0 = perf()
        for s in store_sinks:
            s.flush(timeout=60.0)
        t_store_drain = perf() - t0
        sim = float(n_sec)
        live = {
            "runners": len(indices),
            "wall_s": wall,
            "x_real_time": sim / wall if wall > 0 else float("nan"),
            "steps": steps,
            "records": len(put_ms),
            "cpu_s": {  # CPU seconds over the live phase (the pipeline and pods figures are wall time of the main thread)
                "pods": t_syn, "pipeline": t_pipe, "sink_put_calls": t_put, "main_thread": main_cpu,
                "influx_sink_thread": sink_cpu, "store_sink_threads": store_cpu, "process": proc_cpu,
            },  # fmt: skip
            "put_ms": put_ms,
            "influx_queue_max": int(max(backlog) if backlog else 0),
            "influx_drain_s": t_influx_drain,
            "influx_all_acknowledged": influx_done,
            "influx_written": sink.health().written,
            "influx_health": sink.health().line(),
            "store_drain_s": t_store_drain,
            "store_sinks": len(store_sinks),
            "store_writer_threads": len(store_threads),
            "store_not_written": sum(s.stats.dropped + s.stats.lost + s.stats.rejected for s in store_sinks),
            "rss_mb": rss_live,
            "rss_peak_mb": _rss_mb(key="VmHWM"),
        }
        return live, sink
    finally:
        for s in store_sinks:
            with contextlib.suppress(Exception):
                s.close()
        if store is not None:
            with contextlib.suppress(Exception):
                store.close()


def _summarise(shards: list[dict[str, Any]], seconds: float, server_cpu_s: float) -> dict[str, Any]:
    """The shards' figures together: sums, the slowest process's wall time, CPU per simulated second."""
    sim = float(int(round(seconds)))
    wall = max(s["wall_s"] for s in shards)
    cpu = {k: sum(s["cpu_s"][k] for s in shards) for k in shards[0]["cpu_s"]}
    puts = np.asarray([ms for s in shards for ms in s["put_ms"]] or [0.0])
    records = sum(s["records"] for s in shards)
    slowest = min(s["x_real_time"] for s in shards)
    runners = sum(s["runners"] for s in shards)
    return {
        "processes": len(shards),
        "wall_s": wall,
        "x_real_time": slowest,
        "runners_sustained": runners * slowest,  # linear in runners while the processes keep their cores
        "steps": sum(s["steps"] for s in shards),
        "records": records,
        "points_per_sim_s": records / sim,
        "points_per_wall_s": records / wall if wall > 0 else float("nan"),
        "cores_for_real_time": {  # CPU seconds per simulated second, all runners
            "synthetic_samples": cpu["pods"] / sim,  # ``--pods 0`` only: the runners' own samples and encoding
            "pipeline": cpu["pipeline"] / sim,  # the run engines: decode, sessions, pipelines, events
            "sink_put_calls": cpu["sink_put_calls"] / sim,
            "main_thread_total": cpu["main_thread"] / sim,
            "influx_sink_thread": cpu["influx_sink_thread"] / sim,
            "store_sink_threads": cpu["store_sink_threads"] / sim,
            "process_total": cpu["process"] / sim,
            "victoria_metrics": server_cpu_s / sim,
        },
        "put_ms": {"p50": float(np.percentile(puts, 50)), "p99": float(np.percentile(puts, 99)),
                   "max": float(puts.max()), "n": int(records)},  # fmt: skip
        "influx_queue_max": max(s["influx_queue_max"] for s in shards),
        "influx_drain_s": max(s["influx_drain_s"] for s in shards),
        "influx_all_acknowledged": (None if any(s["influx_all_acknowledged"] is None for s in shards)
                                    else all(s["influx_all_acknowledged"] for s in shards)),  # fmt: skip
        "store_drain_s": max(s["store_drain_s"] for s in shards),
        "store_not_written": sum(s["store_not_written"] for s in shards),
        "rss_mb": sum(s["rss_mb"] for s in shards),
        "rss_peak_mb": max(s["rss_peak_mb"] for s in shards),
        "influx_health": "; ".join(sorted({s["influx_health"] for s in shards})),
        "per_process": [{"runners": s["runners"], "wall_s": s["wall_s"], "x_real_time": s["x_real_time"],
                         "rss_peak_mb": s["rss_peak_mb"]} for s in shards],  # fmt: skip
    }


def _stored_steps(store_dir: Path) -> int | None:
    """Steps in the store, over every run (the drain's check that everything arrived)."""
    try:
        from gait.storage.local import Store
    except ImportError:  # pragma: no cover - a small install
        return None
    with Store(store_dir, recover=False) as store:
        return int(sum(r.steps for r in store.list_runs(limit=1_000_000)))


def _shard_worker() -> int:
    """A worker process of the sharded bench: spec (JSON) on stdin, 'ready' on stdout once built,
    waits for 'go' on stdin, then its figures as one JSON line."""
    spec = json.loads(sys.stdin.readline())

    def ready() -> None:
        print("ready", flush=True)
        if sys.stdin.readline().strip() != "go":
            raise SystemExit(1)

    def progress(msg: str) -> None:
        if spec["index"] == 0:
            print(f"[bench-scale] process 1/{spec['processes']}: {msg}", file=sys.stderr, flush=True)

    live, sink = _shard_live(
        spec["indices"], spec["seconds"], tuple(spec["placements"]),
        Path(spec["store_dir"]) if spec["store_dir"] else None, spec["url"], spec["string_fields"],
        spec["frame_ms"], spec["pods"], spec["durable"], Path(spec["tmp"]), progress, ready,
    )  # fmt: skip
    sink.close(timeout=5.0)
    print(json.dumps(live, default=float), flush=True)
    return 0


def _run_shards(processes: int, runners: int, spec: dict[str, Any], say) -> list[dict[str, Any]]:
    """Start ``processes`` workers with their share of the runners, start their clocks together,
    collect their figures."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    code = "import sys\nfrom gait.bench.scale import _shard_worker\nsys.exit(_shard_worker())"
    procs = []
    try:
        for k in range(processes):  # whole cycles of the placements to each process in turn: the same mix everywhere
            indices = [i for i in range(runners) if (i // len(spec["placements"])) % processes == k]
            p = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 text=True, env=env, cwd=root)  # fmt: skip
            p.stdin.write(json.dumps({**spec, "indices": indices, "index": k, "processes": processes}) + "\n")
            p.stdin.flush()
            procs.append(p)
        say(f"{processes} processes building {runners} runners' engines and runs")
        for p in procs:
            if p.stdout.readline().strip() != "ready":
                raise RuntimeError(f"a bench worker failed while setting up (exit {p.wait()})")
        for p in procs:  # every process's clock starts now
            p.stdin.write("go\n")
            p.stdin.flush()
        shards = []
        for p in procs:
            line = p.stdout.readline()
            if p.wait() != 0 or not line.strip():
                raise RuntimeError(f"a bench worker failed (exit {p.returncode})")
            shards.append(json.loads(line))
        return shards
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(5)


def scale_bench(
    runners: int = 100,
    seconds: float = 60.0,
    placements: tuple[str, ...] = ("sacrum", "foot"),
    use_store: bool = True,
    url: str | None = None,
    start_server: bool = True,
    burst: int = 100_000,
    progress=None,
    processes: int = 1,
    frame_ms: float = 100.0,
    pods: int = 16,
    durable: bool = True,
) -> dict[str, Any]:
    from gait.storage.influx import RunTags

    say = progress or (lambda msg: None)
    processes = max(1, min(int(processes), runners))
    tmp = Path(tempfile.mkdtemp(prefix="gait-scale-"))
    rep: dict[str, Any] = {"runners": runners, "seconds": seconds, "fs_hz": FS_HZ, "packet": PACKET,
                           "processes": processes, "frame_ms": frame_ms, "pods": pods, "cores": os.cpu_count() or 1,
                           "store_sync": "full" if durable else "normal"}  # fmt: skip
    server: LocalVictoriaMetrics | None = None
    sink = None
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
        store_dir = None
        if use_store:
            try:
                import gait.storage.local  # noqa: F401

                store_dir = tmp / "store"
            except ImportError:
                rep["store"] = "not available"
        vm_cpu0 = server.cpu_s() if server else float("nan")
        spec = {"seconds": seconds, "placements": list(placements), "store_dir": str(store_dir) if store_dir else None,
                "url": url, "string_fields": server is None, "frame_ms": frame_ms, "pods": pods, "durable": durable,
                "tmp": str(tmp)}  # fmt: skip
        if processes == 1:
            live, sink = _shard_live(list(range(runners)), seconds, placements, store_dir, url, server is None,
                                     frame_ms, pods, durable, tmp, say)  # fmt: skip
            shards = [live]
        else:
            shards = _run_shards(processes, runners, spec, say)
        vm_cpu = (server.cpu_s() - vm_cpu0) if server else float("nan")
        rep["live"] = _summarise(shards, seconds, vm_cpu)
        rep["store"] = rep.get("store") or (f"{sum(s['store_sinks'] for s in shards)} StoreSinks (one per run) "
                                            f"through {sum(s.get('store_writer_threads', 0) for s in shards)} "
                                            f"writer thread(s) (one per process), "
                                            f"synchronous={rep['store_sync'].upper()}" if store_dir else "off")  # fmt: skip
        if store_dir is not None:
            rep["live"]["store_steps"] = _stored_steps(store_dir)

        # -- sink burst (one process: the InfluxSink of the live phase) ----------------------------
        if burst > 0 and sink is not None:
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
            perf = time.perf_counter
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
        rep["rss_peak_mb"] = rep["live"]["rss_peak_mb"]
        rep["server_rss_mb"] = server.rss_mb() if server else float("nan")
    finally:
        if sink is not None:
            with contextlib.suppress(Exception):
                sink.close(timeout=5.0)
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
    engines = "pipeline threads" if rep.get("processes", 1) > 1 else "pipeline thread"
    writers = "local store writer threads" if rep.get("processes", 1) > 1 else "local store writer thread"
    need = {
        f"{engines} (pipelines + put calls)": cores.get("main_thread_total", float("nan")),
        "InfluxDB sink thread": cores.get("influx_sink_thread", float("nan")),
        writers: cores.get("store_sink_threads", float("nan")),
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
    total = cores.get("process_total", float("nan")) + (cores.get("victoria_metrics", 0.0) if cores.get("victoria_metrics") == cores.get("victoria_metrics") else 0.0)
    whole = ""
    if total == total and total > 0:
        n = rep.get("cores") or os.cpu_count() or 1
        whole = (f" All of it together (engines, sinks, server): {total:.2f} cores for {runners} runners -> "
                 f"~{runners * n / total:,.0f} runners on {n} cores.")  # fmt: skip
    return f"saturates first: {first}. Share of one core per component: {text}.{whole}"


def _load() -> float | None:
    try:
        return os.getloadavg()[0]
    except OSError:  # pragma: no cover - not available
        return None


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
    procs = rep.get("processes", 1)
    pods = rep.get("pods", 0)
    load = _load()
    out = [
        f"gait bench-scale: {rep['runners']} runners x {rep['seconds']:g} s simulated, {rep['fs_hz']:g} Hz, "
        f"{rep['packet']}-sample packets, {rep.get('frame_ms', 100.0):g} ms frames, "
        f"{'one process' if procs == 1 else f'{procs} processes'} on {rep.get('cores', '?')} cores"
        + (f" (load average {load:.1f} at the end)" if load is not None else ""),
        f"server: {rep.get('server')}; local store: {rep.get('store')}",
        f"pods: {f'{pods} simulated pods generated before the live phase, replayed under each runner' + chr(39) + 's id' if pods else 'each runner synthesises its own samples during the live phase'}",
        "",
        "live phase" + ("" if procs == 1 else f" (the {procs} processes side by side; the slowest sets the pace)"),
        f"  wall {_f(live.get('wall_s'), '.1f')} s = {_f(live.get('x_real_time'), '.2f')}x real time; "
        f"{live.get('steps')} steps, {live.get('records')} records -> "
        f"{_f(live.get('points_per_sim_s'), ',.0f')} points per simulated s ({_f(live.get('points_per_wall_s'), ',.0f')}/s wall)",
        f"  runners sustained in real time: {_f(live.get('runners_sustained'), ',.0f')} "
        f"({rep['runners']} runners x {_f(live.get('x_real_time'), '.2f')})",
        "  cores needed for real time (CPU s per simulated s, all runners):",
        f"    synthetic samples {_f(c.get('synthetic_samples'), '.3f')}  pipeline {_f(c.get('pipeline'), '.3f')}  "
        f"put() calls {_f(c.get('sink_put_calls'), '.4f')}  main thread {_f(c.get('main_thread_total'), '.3f')}",
        f"    InfluxDB sink thread {_f(c.get('influx_sink_thread'), '.4f')}  store writer thread{'s' if procs > 1 else ''} "
        f"{_f(c.get('store_sink_threads'), '.4f')}  whole process {_f(c.get('process_total'), '.3f')}  "
        f"victoria-metrics {_f(c.get('victoria_metrics'), '.4f')}",
        f"  put() (store + InfluxDB) ms: p50 {_f(p.get('p50'), '.4f')}  p99 {_f(p.get('p99'), '.4f')}  "
        f"max {_f(p.get('max'), '.2f')}  (n={p.get('n')})",
        f"  InfluxDB queue max {live.get('influx_queue_max')}; drain {_f(live.get('influx_drain_s'), '.2f')} s "
        f"(all acknowledged: {_f(live.get('influx_all_acknowledged'), '')}); store drain "
        f"{_f(live.get('store_drain_s'), '.2f')} s; steps in the store {live.get('store_steps', '-')} of "
        f"{live.get('steps')} ({live.get('store_not_written', 0)} records not written)",
        f"  {live.get('influx_health')}",
        f"  memory: {'this process' if procs == 1 else 'the processes together'} {_f(live.get('rss_mb'), '.0f')} MB after the live phase, peak "
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
    parser.add_argument("--burst", type=int, default=100_000, help="points in the sink burst (0: skip; one process only)")
    parser.add_argument("--processes", type=int, default=1, metavar="N",
                        help="shard the runners over N worker processes run side by side (one store, one server)")
    parser.add_argument("--frame-ms", type=float, default=100.0, dest="frame_ms", metavar="MS",
                        help="the pipelines' processing frame (default 100, the live default; longer frames cost "
                             "less per runner and add their length to each step's latency; results do not change)")
    parser.add_argument("--pods", type=int, default=16, metavar="K",
                        help="distinct simulated pods generated before the live phase and replayed under each "
                             "runner's id (default 16; 0: every runner synthesises its own samples during it)")
    parser.add_argument("--store-sync", choices=("full", "normal"), default="full", dest="store_sync",
                        help="the store's SQLite synchronous mode: full (default: each flush survives a power cut) "
                             "or normal (survives a process crash)")
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
        processes=int(getattr(args, "processes", 1) or 1),
        frame_ms=float(getattr(args, "frame_ms", 100.0) or 100.0),
        pods=int(getattr(args, "pods", 16)),
        durable=getattr(args, "store_sync", "full") == "full",
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
