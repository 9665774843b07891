"""The InfluxDB sink: schema, outbox, configuration, errors, and a real server (VictoriaMetrics).

Server tests start Debian's ``victoria-metrics`` on 127.0.0.1 (tests/vm_server.py); without it
they skip outside CI (install: ``apt-get install -y victoria-metrics``) and fail under CI=true.
"""

from __future__ import annotations

import math
import shutil
import threading
import time

import numpy as np
import pytest

from gait.core.records import Alert, Gap, PainNote, QualityEvent, StepMetrics
from gait.storage.influx import (
    STEP_FIELDS,
    STRIKE_CODES,
    InfluxConfig,
    InfluxSink,
    RunTags,
    quality_mask,
    record_point,
    run_label,
    sync_runs,
)
from gait.storage.outbox import Outbox

pytest_plugins = ["tests.vm_server"]  # fixtures vm_server, vm_factory (move to tests/conftest.py if preferred)

START_S = 1_790_000_000.0  # 2026-09-21 14:13:20 UTC, a whole second (timestamps land on whole ms)
STRIKES = ("rearfoot", "midfoot", "forefoot", None)

# put() must never wait for the network: a blocking call would take the client's timeout
# (2 s in these tests) on every write. The bound on the slowest put only has to tell those apart,
# with room for a scheduler stall on a loaded 2-core machine; the 99th percentile must stay tiny.
NEVER_BLOCKS_MS = 1500.0
TYPICAL_PUT_MS = 5.0


def make_steps(n: int, seed: int = 0, t0: float = 1.0) -> list[StepMetrics]:
    """Deterministic steps 0.352 s apart, values with 3 decimals (as the analysis contract)."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        ic = round(t0 + 0.352 * k, 3)

        def r(lo: float, hi: float) -> float:
            return round(float(rng.uniform(lo, hi)), 3)

        out.append(
            StepMetrics(
                ic_s=ic,
                to_s=round(ic + 0.25, 3),
                side="left" if k % 2 == 0 else "right",
                gct_ms=r(200, 300),
                flight_ms=r(60, 120),
                cadence_spm=r(160, 185),
                vo_cm=r(5, 11),
                vertical_ratio_pct=r(5, 10),
                fsa_deg=r(-10, 25) if k % 3 else None,
                strike=STRIKES[k % 4],
                lean_deg=r(2, 12) if k % 5 else float("nan"),
                impact_g=r(2, 8),
                duty_factor=r(0.3, 0.45),
                quality=(("warmup",) if k < 3 else ()) + (("gap",) if k % 50 == 7 else ()),
            )
        )
    return out


def run_tags(run: str = "r1", runner: str = "ana") -> RunTags:
    return RunTags.new(runner=runner, placement="sacrum", device="H10", start_time=START_S, uuid=run * 8)


def expected_samples(steps: list[StepMetrics], run: RunTags) -> dict[tuple, dict[int, float]]:
    """What VictoriaMetrics should hold: ``{(metric, side): {timestamp_ms: value}}``."""
    out: dict[tuple, dict[int, float]] = {}
    for s in steps:
        ms = run.timestamp_ns(s.ic_s) // 1_000_000
        values = {f: getattr(s, f) for f in STEP_FIELDS}
        values["quality"] = quality_mask(s.quality)
        if s.strike is not None:
            values["strike"] = STRIKE_CODES[s.strike]
        for name, v in values.items():
            if v is None or (isinstance(v, float) and not math.isfinite(v)):
                continue
            out.setdefault((f"gait_step_{name}", s.side), {})[ms] = float(v)
    return out


def assert_stored_exactly(vm, steps: list[StepMetrics], run: RunTags) -> int:
    """Every expected sample stored once with its value and tags; nothing else. Returns the count."""
    want = expected_samples(steps, run)
    n_want = sum(len(v) for v in want.values())
    got = vm.wait_samples(n_want, match=f'{{__name__=~"gait_step_.+",run="{run.run}"}}')
    seen: dict[tuple, dict[int, float]] = {}
    for key, samples in got.items():
        name, labels = key[0], dict(key[1:])
        assert labels == {
            "runner": run.runner,
            "run": run.run,
            "placement": run.placement,
            "device": run.device,
            "side": labels["side"],
        }
        timestamps = [t for t, _ in samples]
        assert len(timestamps) == len(set(timestamps)), f"{name}: a sample stored twice"
        seen[(name, labels["side"])] = dict(samples)
    assert set(seen) == set(want)
    for key, series in want.items():
        assert set(seen[key]) == set(series), f"{key}: missing or extra timestamps"
        for ms, value in series.items():
            assert seen[key][ms] == pytest.approx(value, rel=1e-12, abs=1e-12), (key, ms)
    return n_want


def fast_config(url: str, **kw) -> InfluxConfig:
    base = dict(
        url=url,
        org="club",
        token="t0ken",
        bucket="gait",
        string_fields=False,
        flush_interval_ms=50,
        retry_min_ms=50,
        max_backoff_ms=300,
        timeout=2000,
        health_data=True,  # these tests check every kind of point, pain notes included
    )
    base.update(kw)
    return InfluxConfig.from_mapping(base)


def test_pain_notes_stay_local_unless_health_data_is_turned_on(tmp_path):
    run = run_tags()
    off = InfluxSink(InfluxConfig.from_mapping({"url": "http://127.0.0.1:9"}), outbox_path=tmp_path / "a.sqlite",
                     start=False)  # fmt: skip
    assert off.config.health_data is False
    assert off.put(PainNote(time_s=1.0, score=4, phase="during"), run) is False  # not even queued
    assert off.put(make_steps(1)[0], run) is True
    on = InfluxSink(fast_config("http://127.0.0.1:9"), outbox_path=tmp_path / "b.sqlite", start=False)
    assert on.put(PainNote(time_s=1.0, score=4, phase="during"), run) is True


# ----------------------------------------------------------------------------------------------
# schema
# ----------------------------------------------------------------------------------------------
def test_step_point_line_protocol():
    run = run_tags()
    step = StepMetrics(
        ic_s=12.5,
        to_s=12.75,
        side="left",
        gct_ms=251.25,
        flight_ms=None,
        cadence_spm=172.0,
        vo_cm=7.5,
        vertical_ratio_pct=6.125,
        fsa_deg=np.float64(-4.5),
        strike="forefoot",
        lean_deg=float("nan"),
        impact_g=None,
        duty_factor=0.375,
        quality=("warmup", "gap", "brand_new_flag"),
    )
    key, line = record_point(step, run, string_fields=True)
    assert run.run == "20260921T141320Z-r1r1r1r1"
    ts = 1_790_000_000_000_000_000 + 12_500_000_000  # run start + ic_s (stream_t0_s = 0), in ns
    series = "gait_step,device=H10,placement=sacrum,run=20260921T141320Z-r1r1r1r1,runner=ana,side=left"
    assert key == f"{series} {ts}"
    assert line == (
        f"{series} gct_ms=251.25,cadence_spm=172.0,vo_cm=7.5,vertical_ratio_pct=6.125,fsa_deg=-4.5,"
        f"duty_factor=0.375,strike=3i,quality={1 | 128 | (1 << 15)}i {ts}"
    )


def test_alert_pain_health_points_survive_without_strings():
    run = RunTags.new(runner="Ana B, Jr=1", placement="foot", start_time=START_S, uuid="ab" * 16, stream_t0_s=2.0)
    alert = Alert(time_s=3.0, rule="bounce", kind="cue", message='say "softer"\nnow', value=9.5, target="6-8 cm")
    key, line = record_point(alert, run, device="pod 1", string_fields=True)
    assert line.startswith(r"gait_alert,device=pod\ 1,kind=cue,placement=foot,")
    assert r"runner=Ana\ B\,\ Jr\=1" in line
    assert 'message="say \\"softer\\" now"' in line and 'target="6-8 cm"' in line
    assert line.endswith(f" {1_790_000_001_000_000_000}")  # start + (3.0 - 2.0) s
    _, bare = record_point(alert, run, string_fields=False)
    assert "message" not in bare and "rule_code=1i,kind_code=1i,severity_code=1i,value=9.5" in bare
    _, pain = record_point(PainNote(time_s=2.0, score=3, phase="during", note="knee"), run, string_fields=False)
    assert "gait_pain," in pain and ",phase=during," in pain and "score=3i,phase_code=2i " in pain
    _, gap = record_point(Gap(start_s=4.0, end_s=4.25, missing_samples=50), run)
    assert ",event=gap," in gap and "code=1i,missing_samples=50i,gap_ms=250.0 " in gap
    _, qe = record_point(QualityEvent(time_s=5.0, code="low_sample_rate", message="50 Hz"), run, string_fields=False)
    assert ",event=low_sample_rate," in qe and " code=2i " in qe
    assert record_point(object(), run) is None


def test_run_label_and_timestamps_are_deterministic():
    assert run_label(START_S, "0123456789abcdef" * 2) == "20260921T141320Z-01234567"
    a = RunTags.new(start_time=START_S + 0.123456789, uuid="x" * 32, stream_t0_s=10.0)
    b = RunTags.new(start_time=START_S + 0.123456789, uuid="x" * 32, stream_t0_s=10.0)
    assert a == b
    assert a.timestamp_ns(10.0) == a.start_ns
    assert a.timestamp_ns(10.352) - a.start_ns == 352_000_000


# ----------------------------------------------------------------------------------------------
# outbox
# ----------------------------------------------------------------------------------------------
def test_outbox_keeps_points_across_reopen_and_never_doubles(tmp_path):
    path = tmp_path / "outbox.sqlite"
    box = Outbox(path)
    box.add([(f"k{i}", f"m v={i} {i}") for i in range(10)], now=100.0)
    box.add([("k3", "m v=33 3"), ("k10", "m v=10 10")], now=100.0)  # one known key, one new
    assert box.pending_count() == 11
    batch = box.pending(4)
    box.mark_sent([i for i, _ in batch], now=200.0)
    box.close()  # like a crash: nothing else is kept in memory

    box = Outbox(path)
    assert box.pending_count() == 7 and box.sent_count() == 4
    assert [line for _, line in box.pending(100)][0] == "m v=4 4"
    lines = dict(box.conn.execute("SELECT key, line FROM points").fetchall())
    assert lines["k3"] == "m v=33 3"
    assert box.requeue_since(150.0) == 4 and box.pending_count() == 11
    box.mark_sent([i for i, _ in box.pending(100)], now=300.0)
    assert box.prune(250.0) == 0 and box.prune(301.0) == 11
    box.add([("bad", "not a point")])
    box.reject([box.pending(1)[0][0]], "400: unable to parse")
    assert box.pending_count() == 0 and box.rejected_count() == 1
    box.close()


# ----------------------------------------------------------------------------------------------
# configuration
# ----------------------------------------------------------------------------------------------
def test_config_from_env_toml_and_parity_with_influxdb_client(tmp_path, monkeypatch):
    from influxdb_client import InfluxDBClient

    env = {
        "INFLUXDB_V2_URL": "http://127.0.0.1:8086",
        "INFLUXDB_V2_ORG": "club",
        "INFLUXDB_V2_TOKEN": "s3cret",
        "INFLUXDB_V2_TIMEOUT": "3000",
        "INFLUXDB_V2_BUCKET": "runs",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    cfg = InfluxConfig.load(None)
    assert (cfg.url, cfg.org, cfg.token, cfg.bucket, cfg.timeout_ms) == (
        "http://127.0.0.1:8086",
        "club",
        "s3cret",
        "runs",
        3000,
    )
    ours, theirs = cfg.client(), InfluxDBClient.from_env_properties()
    try:
        for attr in ("url", "token", "org", "auth_header_value"):
            assert getattr(ours, attr) == getattr(theirs, attr), attr
        for attr in ("timeout", "verify_ssl", "auth_basic", "enable_gzip"):
            assert getattr(ours.conf, attr) == getattr(theirs.conf, attr), attr
    finally:
        ours.close()
        theirs.close()
    assert cfg.where("token") == "INFLUXDB_V2_TOKEN"

    toml = tmp_path / "gait.toml"
    toml.write_text(
        '[influxdb]\nurl = "http://127.0.0.1:8428"\nbucket = "b"\nstring_fields = false\nflush_interval_ms = 200\n'
    )
    monkeypatch.delenv("INFLUXDB_V2_URL")
    monkeypatch.delenv("INFLUXDB_V2_BUCKET")
    cfg = InfluxConfig.load(toml)
    assert cfg.url == "http://127.0.0.1:8428" and cfg.bucket == "b" and cfg.token == "s3cret"  # token from env
    assert cfg.string_fields is False and cfg.flush_interval_ms == 200
    assert cfg.where("url") == f"url in [influxdb] of {toml}"
    monkeypatch.delenv("INFLUXDB_V2_TOKEN")
    assert InfluxConfig.load(tmp_path / "missing.toml", environ={}) is None
    with pytest.raises(Exception, match="unknown InfluxDB setting"):
        InfluxConfig.load({"influxdb": {"url": "http://x", "buckt": "typo"}}, environ={})


# ----------------------------------------------------------------------------------------------
# no server: wrong URL, non-blocking put
# ----------------------------------------------------------------------------------------------
def test_dead_server_clear_message_outbox_keeps_points_put_never_blocks(tmp_path):
    from tests.vm_server import free_port

    port = free_port()  # nothing listens there
    sink = InfluxSink(fast_config(f"http://127.0.0.1:{port}"), outbox_path=tmp_path / "ob.sqlite")
    run = run_tags()
    steps = make_steps(20_000)
    lat = np.empty(len(steps))
    for k, step in enumerate(steps):
        t = time.perf_counter_ns()
        assert sink.put(step, run)
        lat[k] = (time.perf_counter_ns() - t) / 1e6
        if k % 2000 == 0:
            time.sleep(0.06)  # let the writer thread try (and fail) while we put
    assert sink.flush(timeout=3.0) is False
    h = sink.health()
    print(
        f"\n[bench] put() with a dead server: p50 {np.percentile(lat, 50) * 1000:.1f} us, "
        f"p99 {np.percentile(lat, 99) * 1000:.1f} us, max {lat.max():.2f} ms over {len(lat)} puts\n[health] {h.line()}"
    )
    assert lat.max() < NEVER_BLOCKS_MS and np.percentile(lat, 99) < TYPICAL_PUT_MS
    assert h.connected is False and h.queued == len(steps) and h.written == 0
    assert "not reachable" in h.last_error and "INFLUXDB_V2_URL" in h.last_error and "\n" not in h.last_error
    t = time.perf_counter()
    h = sink.close(timeout=2.0)
    assert time.perf_counter() - t < 3.0
    with Outbox(tmp_path / "ob.sqlite") as box:
        assert box.pending_count() == len(steps)


def test_malformed_url_is_a_message_not_a_crash(tmp_path):
    sink = InfluxSink(fast_config("localhost:8086"), outbox_path=tmp_path / "ob.sqlite")
    assert sink.put(make_steps(1)[0], run_tags())
    assert sink.flush(timeout=1.0) is False
    h = sink.close()
    assert "not an http(s) URL" in h.last_error and h.queued == 1


def test_sync_of_stored_run_sends_the_same_points_as_live(tmp_path):
    local = pytest.importorskip("gait.storage.local")
    store = local.Store(tmp_path / "data")
    run_id = store.open_run(runner="ana", placement="sacrum", devices=["H10"], start_time=START_S + 0.25)
    steps = make_steps(40)
    extra = [
        Alert(time_s=5.0, rule="bounce", kind="cue", message="softer", value=9.1, target="6-8 cm", severity="warn"),
        PainNote(time_s=0.0, score=2, phase="before"),
        Gap(start_s=7.0, end_s=7.1, missing_samples=20),
        QualityEvent(time_s=8.0, code="low_sample_rate", message="50 Hz"),
    ]
    store.write(run_id, steps + extra)
    store.close_run(run_id)

    bodies: list[str] = []
    cfg = fast_config("http://127.0.0.1:1", string_fields=True)
    live = InfluxSink(cfg, outbox_path=tmp_path / "live.sqlite", writer=bodies.append)
    handle = live.for_run(store.run(run_id))
    for r in steps + extra:
        assert handle.put(r)
    assert live.flush(5.0)
    live.close()
    live_lines = sorted(line for b in bodies for line in b.split("\n"))

    bodies.clear()
    synced = InfluxSink(cfg, outbox_path=tmp_path / "sync.sqlite", writer=bodies.append)
    report = sync_runs(store, synced, flush_timeout_s=5.0)
    synced.close()
    assert report.runs == 1 and report.points == len(steps) + len(extra) and report.flushed
    assert sorted(line for b in bodies for line in b.split("\n")) == live_lines
    store.close()


# ----------------------------------------------------------------------------------------------
# against VictoriaMetrics
# ----------------------------------------------------------------------------------------------
def test_points_round_trip_with_values_and_tags(vm_server, tmp_path):
    sink = InfluxSink(fast_config(vm_server.url), outbox_path=tmp_path / "ob.sqlite")
    run = run_tags()
    steps = make_steps(600)
    others = [
        Alert(time_s=30.0, rule="bounce", kind="cue", message="softer", value=9.1, severity="warn"),
        Alert(time_s=30.0, rule="cadence", kind="silent", message="quicker", value=158.0),
        PainNote(time_s=0.0, score=2, phase="before"),
        Gap(start_s=40.0, end_s=40.5, missing_samples=100),
    ]
    assert sink.put_many(steps + others, run) == len(steps) + len(others)
    assert sink.flush(timeout=10.0)
    h = sink.close()
    assert h.connected and h.queued == 0 and h.written == len(steps) + len(others)
    n = assert_stored_exactly(vm_server, steps, run)
    alerts = vm_server.samples(f'{{__name__=~"gait_alert_.+",run="{run.run}"}}')
    assert sorted((k[0], dict(k[1:])["rule"], v[0][1]) for k, v in alerts.items() if k[0] == "gait_alert_value") == [
        ("gait_alert_value", "bounce", 9.1),
        ("gait_alert_value", "cadence", 158.0),
    ]
    assert vm_server.samples('{__name__="gait_pain_score"}')
    assert list(vm_server.samples('{__name__="gait_health_missing_samples"}').values())[0][0][1] == 100.0

    # sending the same run again (gait sync) stores nothing twice
    again = InfluxSink(fast_config(vm_server.url), outbox_path=tmp_path / "ob2.sqlite")
    report = sync_runs(None, again, runs=[(run, steps)], flush_timeout_s=10.0)
    again.close()
    assert report.flushed and report.points == len(steps)
    assert assert_stored_exactly(vm_server, steps, run) == n
    print(f"\n[vm] {n} step samples read back once each after a re-send")


def test_server_killed_mid_run_loses_and_doubles_nothing(vm_server, tmp_path):
    sink = InfluxSink(fast_config(vm_server.url), outbox_path=tmp_path / "ob.sqlite")
    run = run_tags("k")
    steps = make_steps(3000)
    max_put_ms = [0.0]
    done = threading.Event()

    def runner() -> None:  # a live run: 1000 steps/s for 3 s
        t0 = time.monotonic()
        for k, step in enumerate(steps):
            t = time.perf_counter()
            sink.put(step, run)
            max_put_ms[0] = max(max_put_ms[0], (time.perf_counter() - t) * 1000)
            delay = t0 + (k + 1) / 1000.0 - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        done.set()

    th = threading.Thread(target=runner)
    th.start()
    time.sleep(1.0)
    vm_server.kill()  # SIGKILL: VictoriaMetrics loses what it acknowledged in the last seconds
    time.sleep(0.4)
    down = sink.health()
    vm_server.start()  # same storage folder, same port
    th.join()
    assert sink.flush(timeout=20.0), sink.health().line()
    h = sink.close()
    print(f"\n[vm kill] {h.line()}; re-sent after the outage: {h.resent}; max put {max_put_ms[0]:.2f} ms")
    assert down.connected is False and "not reachable" in (down.last_error or "")
    assert h.resent > 0  # the points acknowledged just before the kill went out again
    assert max_put_ms[0] < NEVER_BLOCKS_MS
    assert_stored_exactly(vm_server, steps, run)


def test_wrong_token_clear_message_run_goes_on_locally_then_catches_up(vm_factory, tmp_path):
    vm = vm_factory(basic_auth=("gait", "s3cret"))
    outbox = tmp_path / "ob.sqlite"
    run = run_tags("t")
    steps = make_steps(500)
    local_store = None
    try:
        from gait.storage.local import Store

        local_store = Store(tmp_path / "data")
        run_id = local_store.open_run(runner="ana", placement="sacrum", start_time=START_S)
        local = local_store.sink(run_id)
    except ImportError:  # the local store is not there: the sink alone
        local = None

    sink = InfluxSink(fast_config(vm.url, token="wrong"), outbox_path=outbox)
    worst = 0.0
    for step in steps:
        t = time.perf_counter()
        sink.put(step, run)
        if local is not None:
            local.put(step)
        worst = max(worst, (time.perf_counter() - t) * 1000)
    assert sink.flush(timeout=5.0) is False
    h = sink.close()
    print(f"\n[wrong token] {h.line()}")
    assert worst < NEVER_BLOCKS_MS
    assert h.connected is False and h.queued == len(steps) and h.written == 0
    assert "refused the token (401" in h.last_error and "INFLUXDB_V2_TOKEN" in h.last_error
    if local is not None:
        local.close()
        assert len(local_store.steps(run_id)) == len(steps)
        local_store.close()

    # the right credentials (basic auth behind a proxy, as influxdb-client's auth_basic): the outbox catches up
    fixed = fast_config(vm.url, token="gait:s3cret", auth_basic=True)
    sink = InfluxSink(fixed, outbox_path=outbox)
    assert sink.flush(timeout=10.0)
    assert sink.close().written == len(steps)
    assert_stored_exactly(vm, steps, run)


def test_scale_bench_smoke(capsys):
    """The scale benchmark runs end to end (tiny: 4 runners, 3 s) and reports what it measures."""
    from gait.bench.scale import format_report, scale_bench

    rep = scale_bench(runners=4, seconds=3.0, burst=500, start_server=shutil.which("victoria-metrics") is not None)
    text = format_report(rep)
    assert rep["live"]["records"] > 0 and "saturates first" in rep["verdict"]
    if "started by the bench" in rep["server"]:
        assert rep["live"]["influx_all_acknowledged"] and rep["burst"]["acknowledged"] == 500
    print("\n" + text)


def test_a_point_the_server_rejects_is_set_aside_and_the_rest_goes_through(tmp_path):
    from influxdb_client.rest import ApiException

    received: list[str] = []

    def writer(body: str) -> None:
        if "runner=BAD" in body:
            raise ApiException(status=400, reason="unable to parse")
        received.extend(body.split("\n"))

    sink = InfluxSink(fast_config("http://127.0.0.1:1"), outbox_path=tmp_path / "ob.sqlite", writer=writer)
    good, bad = run_tags(), RunTags.new(runner="BAD", start_time=START_S, uuid="b" * 32)
    steps = make_steps(101)
    for k, step in enumerate(steps):
        sink.put(step, bad if k == 50 else good)
    assert sink.flush(5.0)
    h = sink.close()
    assert h.written == 100 and h.rejected == 1 and h.queued == 0 and len(set(received)) == 100
    assert "rejected points (400" in h.last_error
    with Outbox(tmp_path / "ob.sqlite") as box:
        assert box.rejected_count() == 1 and "runner=BAD" in box.rejected()[0][0]


def test_flux_dashboards_use_only_schema_names():
    """The Flux dashboards are valid JSON and name only measurements and fields of the schema."""
    import json
    import re

    from tests.conftest import REPO

    fields = set(STEP_FIELDS) | {"strike", "quality", "rule_code", "kind_code", "severity_code", "value", "score"}
    fields |= {"phase_code", "code", "missing_samples", "gap_ms", "message", "target", "note"}
    for path in sorted((REPO / "dashboards" / "grafana").glob("*flux.json")):
        board = json.loads(path.read_text())
        queries = [t["query"] for p in board["panels"] for t in p["targets"]]
        queries += [a["target"]["query"] for a in board["annotations"]["list"] if "target" in a]
        assert queries, path
        for q in queries:
            assert 'from(bucket: "${bucket}")' in q and "v.timeRangeStart" in q, (path.name, q)
            for m in re.findall(r'_measurement == "(\w+)"', q):
                assert m in ("gait_step", "gait_alert", "gait_pain", "gait_health"), (path.name, m)
            for f in re.findall(r'_field == "(\w+)"', q):
                assert f in fields, (path.name, f)
            for f in re.findall(r"set: \[([^\]]*)\]", q):
                assert {x.strip().strip('"') for x in f.split(",")} <= fields, (path.name, f)
