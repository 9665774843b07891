"""The local store: round trips, schema migrations, crash safety (SIGKILL), the non-blocking sink,
recovery, and the query API the dashboards use."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from gait.core.config import PipelineConfig
from gait.core.records import Alert, Gap, PainNote, QualityEvent, SampleBlock, StepMetrics
from gait.storage import (
    RUN_CLOSED,
    RUN_INTERRUPTED,
    RUN_OPEN,
    SCHEMA_VERSION,
    SchemaError,
    SpeedSample,
    Store,
    default_data_dir,
    migrate,
)
from gait.storage.local import bench_store
from gait.storage.schema import QUALITY_BITS, mask_to_quality, quality_to_mask

REPO = Path(__file__).resolve().parents[1]
STEP_S = 60.0 / 172.0


def make_steps(n: int, t0: float = 0.0, seed: int = 0, strikes: tuple[str, ...] = ("rearfoot", "midfoot")) -> list:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        ic = t0 + i * STEP_S
        out.append(
            StepMetrics(
                ic_s=ic,
                to_s=ic + 0.24,
                side="left" if i % 2 == 0 else "right",
                gct_ms=float(240 + rng.normal() * 5),
                flight_ms=110.0,
                cadence_spm=float(172 + rng.normal()),
                vo_cm=float(8 + rng.normal() * 0.3),
                vertical_ratio_pct=7.5,
                fsa_deg=10.0,
                strike=strikes[i % len(strikes)],
                lean_deg=5.0,
                impact_g=3.0,
                duty_factor=0.34,
                quality=("gap",) if i % 50 == 0 else (),
                emitted_s=ic + 0.3,
            )
        )
    return out


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "data")
    yield s
    s.close()


# --- basics -----------------------------------------------------------------------------------


def test_default_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("GAIT_DATA_DIR", str(tmp_path / "x"))
    assert default_data_dir() == tmp_path / "x"
    monkeypatch.delenv("GAIT_DATA_DIR")
    if sys.platform.startswith("linux"):
        monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
        assert default_data_dir() == tmp_path / "xdg" / "gait"
        monkeypatch.delenv("XDG_DATA_HOME")
        assert default_data_dir() == Path.home() / ".local" / "share" / "gait"


def test_new_store_is_wal_and_current(store):
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    versions = [r[0] for r in store.conn.execute("SELECT version FROM schema_version ORDER BY version")]
    assert versions == list(range(1, SCHEMA_VERSION + 1))
    assert store.integrity_check() == "ok"


def test_quality_mask_round_trip():
    flags = ("gap", "warmup", "brand_new_flag")
    mask, other = quality_to_mask(flags)
    assert mask == QUALITY_BITS["gap"] | QUALITY_BITS["warmup"] and other == "brand_new_flag"
    assert mask_to_quality(mask, other) == flags


def test_every_step_field_round_trips(store):
    steps = make_steps(30)
    steps.append(  # None everywhere it may be, NaN, an unknown quality flag
        StepMetrics(
            ic_s=99.0,
            to_s=99.2,
            side=None,
            gct_ms=None,
            flight_ms=float("nan"),
            cadence_spm=None,
            vo_cm=None,
            vertical_ratio_pct=None,
            fsa_deg=None,
            strike=None,
            lean_deg=None,
            impact_g=None,
            duty_factor=None,
            quality=("clipping", "nan", "future_flag"),
        )
    )
    cfg = PipelineConfig(placement="foot", side="left")
    run_id = store.open_run(runner="ana", config=cfg, devices=["pod L"])
    store.write(run_id, steps, device="pod L")
    store.close_run(run_id)
    back = store.steps(run_id).to_records()
    assert back[:30] == steps[:30]
    assert [b.emitted_s for b in back[:30]] == pytest.approx([s.emitted_s for s in steps[:30]])
    last = back[30]
    assert last.flight_ms is None and last.side is None and last.strike is None
    assert last.quality == ("clipping", "nan", "future_flag")
    assert np.isnan(last.emitted_s)
    info = store.run(run_id)
    assert info.config() == cfg and info.placement == "foot" and info.side == "left"
    assert info.runner == "ana" and info.devices == ["pod L"] and info.status == RUN_CLOSED
    cols = store.steps(run_id)
    assert cols.has_flag("gap").sum() == 1 and cols.has_flag("future_flag").sum() == 1
    assert set(cols.device) == {"pod L"}


def test_records_of_every_kind(store, tmp_path):
    run_id = store.open_run(runner="ana", placement="sacrum")
    rng = np.random.default_rng(3)
    blocks = [
        SampleBlock(
            time_s=np.arange(k * 10, k * 10 + 10) / 100.0,
            acc_mps2=rng.normal(size=(10, 3)),
            gyr_dps=rng.normal(size=(10, 3)),
            index0=k * 10,
        )
        for k in range(25)
    ]
    records = [
        Alert(12.0, "bounce", "cue", "Less bounce", 9.3, "6.4-8.1 cm", "warn"),
        Alert(30.0, "bounce", "clear", "Good", 7.9, "6.4-8.1 cm"),
        PainNote(-60.0, 2, "before", "left glute"),
        PainNote(20.0, 4, "during"),
        Gap(5.0, 5.2, 20),
        QualityEvent(1.0, "low_rate", "sample rate 50 Hz is low"),
        SpeedSample(0.0, 3.1, "rsc"),
        *blocks,
    ]
    assert store.write(run_id, records, device="H10") == 7 + 1  # blocks become one chunk
    assert [a.kind for a in store.alerts(run_id)] == ["cue", "clear"]
    assert store.alerts(run_id)[0] == records[0]
    assert store.pain_notes(run_id) == [records[2], records[3]]
    assert store.gaps(run_id) == [("H10", records[4])]
    assert store.quality_events(run_id) == [("H10", records[5])]
    t, v = store.speeds(run_id)
    assert t.tolist() == [0.0] and v.tolist() == [3.1]
    raw = store.raw_samples(run_id)
    whole = SampleBlock.concat(blocks)
    assert raw is not None and raw.index0 == 0 and len(raw) == 250
    np.testing.assert_array_equal(raw.time_s, whole.time_s)  # times are lossless
    np.testing.assert_allclose(raw.acc_mps2, whole.acc_mps2, rtol=1e-6, atol=1e-6)  # float32
    np.testing.assert_allclose(raw.gyr_dps, whole.gyr_dps, rtol=1e-6, atol=1e-6)
    part = store.raw_samples(run_id, "H10", start_s=1.0, end_s=1.5)  # whole chunks overlapping
    assert part is not None and part.time_s[0] <= 1.0 <= 1.5 <= part.time_s[-1]
    assert store.raw_samples(run_id, "H10", start_s=3.0) is None
    capture = store.data_dir / "captures" / "run.gaitcap"
    capture.parent.mkdir()
    capture.write_bytes(b"GAITCAP\x00...")
    outside = tmp_path / "elsewhere.gaitcap"
    outside.write_bytes(b"x")
    store.add_raw_file(run_id, capture, device="H10", checksum=True)
    store.add_raw_file(run_id, outside)
    refs = store.raw_files(run_id)
    assert refs[0].path == capture and refs[0].size_bytes == 11 and len(refs[0].sha256) == 64
    stored = store.conn.execute("SELECT path FROM raw_files ORDER BY id").fetchall()
    assert stored[0][0] == "captures/run.gaitcap"  # relative inside the data folder
    assert refs[1].path == outside.resolve()


# --- schema and migrations --------------------------------------------------------------------

V1_BY_HAND = """
CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at REAL NOT NULL, description TEXT NOT NULL DEFAULT '');
CREATE TABLE runners (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at REAL NOT NULL,
    notes TEXT NOT NULL DEFAULT '');
CREATE TABLE runs (id INTEGER PRIMARY KEY, uuid TEXT NOT NULL UNIQUE, runner_id INTEGER REFERENCES runners(id),
    start_time REAL NOT NULL, end_time REAL, devices TEXT NOT NULL DEFAULT '[]', placement TEXT, side TEXT,
    config_json TEXT, software_version TEXT,
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed', 'interrupted')),
    notes TEXT NOT NULL DEFAULT '');
CREATE TABLE steps (run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, step_index INTEGER NOT NULL,
    ic_s REAL NOT NULL, to_s REAL NOT NULL, side TEXT, gct_ms REAL, flight_ms REAL, cadence_spm REAL, vo_cm REAL,
    vertical_ratio_pct REAL, fsa_deg REAL, strike TEXT, lean_deg REAL, impact_g REAL, duty_factor REAL,
    quality TEXT NOT NULL DEFAULT '', emitted_s REAL, PRIMARY KEY (run_id, step_index)) WITHOUT ROWID;
CREATE TABLE alerts (id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    time_s REAL NOT NULL, rule TEXT NOT NULL, kind TEXT NOT NULL, message TEXT NOT NULL, value REAL,
    target TEXT NOT NULL DEFAULT '', severity TEXT NOT NULL DEFAULT 'info');
CREATE TABLE pain_notes (id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    time_s REAL NOT NULL, score INTEGER NOT NULL CHECK (score BETWEEN 0 AND 10), phase TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '');
CREATE TABLE gaps (id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    device TEXT, start_s REAL NOT NULL, end_s REAL NOT NULL, missing_samples INTEGER NOT NULL);
CREATE TABLE quality_events (id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    device TEXT, time_s REAL NOT NULL, code TEXT NOT NULL, message TEXT NOT NULL);
CREATE TABLE raw_files (id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    device TEXT, path TEXT NOT NULL, format TEXT NOT NULL, size_bytes INTEGER, sha256 TEXT, created_at REAL NOT NULL);
CREATE INDEX runs_start ON runs(start_time);
INSERT INTO schema_version VALUES (1, 1700000000.0, 'initial layout');
INSERT INTO runners VALUES (1, 'ana', 1700000000.0, '');
INSERT INTO runs VALUES (1, 'aaaa', 1, 1700000000.0, 1700000600.0, '["H10"]', 'sacrum', NULL,
    '{"placement": "sacrum"}', '0.0.9', 'closed', 'old run');
INSERT INTO steps VALUES (1, 0, 1.0, 1.25, 'left', 250.0, 100.0, 170.0, 8.5, NULL, NULL, NULL, 4.0, 2.5, 0.35,
    '', 1.3);
INSERT INTO steps VALUES (1, 1, 1.35, 1.6, 'right', 248.0, 101.0, 171.0, 8.4, NULL, NULL, NULL, 4.1, 2.6, 0.35,
    'gap,warmup,legacy_flag', 1.7);
INSERT INTO alerts VALUES (1, 1, 1.5, 'bounce', 'cue', 'Less bounce', 9.5, '6.4-8.1 cm', 'warn');
INSERT INTO pain_notes VALUES (1, 1, 700.0, 3, 'after', '');
"""


def _table_columns(conn: sqlite3.Connection) -> dict[str, list[tuple]]:
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    return {t: [tuple(c[1:]) for c in conn.execute(f"PRAGMA table_info({t})")] for t in tables}


def test_migrate_hand_made_v1_database(tmp_path):
    folder = tmp_path / "old"
    folder.mkdir()
    conn = sqlite3.connect(folder / "gait.sqlite")
    conn.executescript(V1_BY_HAND)
    conn.commit()
    conn.close()

    with Store(folder) as s:
        assert s.migrations_applied == list(range(2, SCHEMA_VERSION + 1))
        assert s.integrity_check() == "ok"
        info = s.run(1)
        assert info.status == RUN_CLOSED and info.notes == "old run" and info.stream_t0_s == 0.0
        assert info.devices == ["H10"] and info.software_version == "0.0.9"
        steps = s.steps(1).to_records()
        assert [st.quality for st in steps] == [(), ("gap", "warmup", "legacy_flag")]
        assert steps[1].gct_ms == 248.0 and steps[0].side == "left" and steps[1].impact_g == 2.6
        assert s.alerts(1)[0].message == "Less bounce"
        assert s.pain_notes(1)[0].score == 3
        summary = s.list_runs()[0]
        assert summary.steps == 2 and summary.pain_after == 3 and summary.cues == 1
        # the new tables work on the migrated database
        s.write(1, [SpeedSample(1.0, 3.0)])
        new_run = s.open_run(runner="ana")
        s.write(new_run, make_steps(3))
        s.close_run(new_run)
        migrated = _table_columns(s.conn)
    with Store(tmp_path / "fresh") as fresh:
        assert _table_columns(fresh.conn) == migrated  # a migrated database equals a new one
    with Store(folder) as again:
        assert again.migrations_applied == []


def test_a_v3_programme_store_gains_the_focus_tables(tmp_path):
    """Each migration applies in order on an existing database: a v3 store with programme rows."""
    conn = sqlite3.connect(tmp_path / "gait.sqlite", isolation_level=None)
    assert migrate(conn, target=3) == [1, 2, 3]
    conn.execute("INSERT INTO programme_starts (day, profile, stage, created_at) VALUES ('2025-05-05', 'general', 2, 0)")
    conn.close()
    with Store(tmp_path) as s:
        assert s.migrations_applied == list(range(4, SCHEMA_VERSION + 1))
        assert s.conn.execute("SELECT profile FROM programme_starts").fetchone() == ("general",)
        tables = {r[0] for r in s.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"programme_focus", "programme_focus_values"} <= tables


def test_newer_schema_is_refused(tmp_path):
    with Store(tmp_path) as s:
        s.conn.execute("INSERT INTO schema_version VALUES (?, 0, 'from the future')", (SCHEMA_VERSION + 1,))
    with pytest.raises(SchemaError, match="newer"):
        Store(tmp_path)


def test_not_a_gait_database(tmp_path):
    conn = sqlite3.connect(tmp_path / "gait.sqlite")
    conn.execute("CREATE TABLE something (x)")
    conn.commit()
    conn.close()
    with pytest.raises(SchemaError):
        Store(tmp_path)


# --- crash safety -----------------------------------------------------------------------------

WRITER = r"""
import os, sys, time
import numpy as np
from gait.core.records import Alert, SampleBlock, StepMetrics
from gait.storage import Store

data_dir, side_channel, rate_hz = sys.argv[1], sys.argv[2], float(sys.argv[3])
store = Store(data_dir)
run_id = store.open_run(runner="crash", placement="sacrum", devices=["sim"])
sink = store.sink(run_id)
fd = os.open(side_channel, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
os.write(fd, f"run {run_id}\n".encode())
t_start = time.monotonic()
i = 0
while True:
    ic = i / rate_hz
    step = StepMetrics(ic_s=ic, to_s=ic + 0.05, side="left" if i % 2 else "right", gct_ms=240.0 + i % 7,
                       flight_ms=100.0, cadence_spm=172.0, vo_cm=8.0 + (i % 5) / 10, vertical_ratio_pct=None,
                       fsa_deg=None, strike=None, lean_deg=5.0, impact_g=None, duty_factor=0.35, emitted_s=ic)
    block = SampleBlock(time_s=ic + np.arange(10) / 100.0, acc_mps2=np.full((10, 3), float(i)), index0=10 * i)
    assert sink.put(block, device="sim")
    if i % 20 == 0:
        assert sink.put(Alert(ic, "bounce", "silent", "bounce high", 9.0))
    assert sink.put(step)
    os.write(fd, f"{i} {time.time():.6f}\n".encode())  # the side channel: what was put, and when
    i += 1
    time.sleep(max(0.0, t_start + i / rate_hz - time.monotonic()))
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_sigkill_mid_run_loses_at_most_the_last_second(tmp_path):
    data_dir, side = tmp_path / "data", tmp_path / "side.txt"
    rate_hz = 10.0  # steps/s: faster than a runner (about 3/s), to measure the loss finely
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(data_dir), str(side), str(rate_hz)],
        env=env,
        cwd=REPO,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30.0
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"writer died: {proc.stderr.read().decode()}")
            if side.exists() and side.read_text().count("\n") >= 36:  # about 3.5 s of running
                break
            time.sleep(0.05)
        else:
            pytest.fail("writer produced too little")
        time.sleep(0.37)  # somewhere between two flushes
        kill_wall = time.time()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL

    lines = side.read_text().splitlines()
    run_id = int(lines[0].split()[1])
    put = [(int(a), float(b)) for a, b in (ln.split() for ln in lines[1:] if len(ln.split()) == 2)]

    with Store(data_dir) as s:  # (a) opens cleanly
        assert s.integrity_check() == "ok"
        assert s.recovered == [run_id]  # (c) marked interrupted on reopen
        info = s.run(run_id)
        assert info.status == RUN_INTERRUPTED and info.end_time is not None
        cols = s.steps(run_id)
        n = len(cols)
        assert n > 0
        np.testing.assert_array_equal(cols.step_index, np.arange(n))  # a committed prefix, no holes
        np.testing.assert_allclose(cols.ic_s, np.arange(n) / rate_hz)
        np.testing.assert_allclose(cols.gct_ms, 240.0 + np.arange(n) % 7)
        # (b) at most the last second lost: every step put more than ~1 s before the kill is stored
        lost = [t for i, t in put if i >= n]
        lost_window = kill_wall - min(lost) if lost else 0.0
        print(f"\nput {len(put)} steps, stored {n}, lost {len(lost)} (the last {lost_window:.2f} s before SIGKILL)")
        assert lost_window <= 1.0 + 0.35, f"lost {len(lost)} steps covering {lost_window:.2f} s"
        assert n <= len(put) + 1
        raw = s.raw_samples(run_id, "sim")
        assert raw is not None and len(raw) >= 10 * n - 10
        assert s.summary(run_id).status == RUN_INTERRUPTED
        assert s.alerts(run_id)  # the alerts of the committed seconds
    with Store(data_dir) as s:
        assert s.recovered == []  # recovery happens once


def test_recovery_leaves_a_live_run_alone(tmp_path):
    writer = Store(tmp_path)
    run_id = writer.open_run(runner="ana")
    writer.write(run_id, make_steps(5))
    with Store(tmp_path) as reader:  # a dashboard opening the store mid-run
        assert reader.recovered == []
        assert reader.run(run_id).status == RUN_OPEN
        assert len(reader.steps(run_id)) == 5
    writer._locks[run_id].release()  # the writer vanishes without closing (as on a crash)
    with Store(tmp_path) as reader:
        assert reader.recovered == [run_id]
        info = reader.run(run_id)
        assert info.status == RUN_INTERRUPTED
        assert info.end_time == pytest.approx(info.start_time + 4 * STEP_S + 0.24)  # from the data
    writer.close()


# --- the sink ---------------------------------------------------------------------------------


def test_sink_flushes_once_per_interval_and_closes_the_run(store):
    run_id = store.open_run(runner="ana")
    sink = store.sink(run_id, flush_interval_s=0.2)
    for s in make_steps(10):
        assert sink.put(s)
    time.sleep(0.5)
    with Store(store.data_dir, recover=False) as reader:
        assert len(reader.steps(run_id)) == 10  # visible to another reader before close
    for s in make_steps(10, t0=10 * STEP_S):
        sink.put(s)
    stats = sink.close()
    assert stats.put == 20 and stats.written == 20 and stats.dropped == 0 and stats.errors == 0
    assert store.run(run_id).status == RUN_CLOSED
    assert store.steps(run_id).step_index.tolist() == list(range(20))
    assert not sink.put(make_steps(1)[0])  # closed: refused, counted
    assert sink.stats.dropped == 1
    assert run_id not in store._locks


def test_sink_never_blocks_while_the_disk_is_stuck(store):
    """Another connection holds the write lock for 0.8 s: the writer thread waits inside SQLite,
    put() stays instant and drops once the queue is full; all it accepted is written afterwards."""
    run_id = store.open_run(runner="ana")
    sink = store.sink(run_id, flush_interval_s=0.1, max_queue=200, busy_timeout_ms=5000)
    blocker = sqlite3.connect(store.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    worst = 0.0
    t_end = time.monotonic() + 0.8
    steps = iter(make_steps(5000))
    while time.monotonic() < t_end:
        s = next(steps)
        t0 = time.perf_counter()
        sink.put(s)
        worst = max(worst, time.perf_counter() - t0)
        time.sleep(0.001)
    blocker.execute("ROLLBACK")  # the disk comes back
    blocker.close()
    stats = sink.close()
    assert worst < 0.05, f"put() took {worst * 1000:.1f} ms"
    assert stats.dropped > 0, stats
    assert stats.written == stats.put and stats.lost == 0
    assert len(store.steps(run_id)) == stats.put
    assert store.run(run_id).status == RUN_CLOSED


def test_sink_bounds_its_memory_while_writes_keep_failing(store):
    run_id = store.open_run(runner="ana")
    sink = store.sink(run_id, flush_interval_s=0.05, max_pending=100, busy_timeout_ms=20)
    blocker = sqlite3.connect(store.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        for s in make_steps(500):
            assert sink.put(s)
        deadline = time.monotonic() + 5
        while sink.stats.lost < 400 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert sink.stats.errors >= 1 and "locked" in (sink.stats.last_error or "")
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    stats = sink.close()
    assert stats.lost == 400 and stats.written == 100
    assert store.steps(run_id).ic_s[0] == pytest.approx(400 * STEP_S)  # the newest were kept


def _sink_and_lock(store: Store):
    """A run's sink that gives up waiting for a lock after 20 ms, and another connection holding
    the database's write lock (``ROLLBACK`` and ``close`` it to free the database)."""
    run_id = store.open_run(runner="ana")
    sink = store.sink(run_id, flush_interval_s=5.0, busy_timeout_ms=20)
    blocker = sqlite3.connect(store.path, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")
    return run_id, sink, blocker


def test_flush_says_false_while_the_database_is_locked_and_true_once_written(store):
    run_id, sink, blocker = _sink_and_lock(store)
    try:
        assert sink.put_many(make_steps(50)) == 50
        assert sink.flush(5.0) is False  # tried, refused: the records wait for a retry
        assert sink.stats.errors >= 1 and sink.stats.written == 0
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert sink.flush(5.0) is True
    with Store(store.data_dir, recover=False) as reader:
        assert len(reader.steps(run_id)) == 50
    assert sink.close().lost == 0


def test_closing_while_the_database_is_locked_retries_until_it_is_free(store):
    run_id, sink, blocker = _sink_and_lock(store)
    sink.put_many(make_steps(80))
    release = threading.Timer(0.8, lambda: (blocker.execute("ROLLBACK"), blocker.close()))
    release.start()
    t0 = time.monotonic()
    stats = sink.close(timeout=10.0)  # the lock goes away after 0.8 s: nothing is lost
    release.join()
    assert 0.7 < time.monotonic() - t0 < 5.0
    assert stats.errors >= 1 and stats.lost == 0 and stats.written == 80
    with Store(store.data_dir, recover=False) as reader:
        assert len(reader.steps(run_id)) == 80
        assert reader.run(run_id).status == RUN_CLOSED


def test_closing_gives_up_at_its_timeout_and_counts_what_was_not_written(store):
    run_id, sink, blocker = _sink_and_lock(store)
    try:
        sink.put_many(make_steps(30))
        stats = sink.close(timeout=0.6)
        assert stats.lost == 30 and stats.written == 0, stats
        assert "30 records not written when the run closed" in (stats.last_error or "")
        assert not sink.alive
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    with Store(store.data_dir, recover=False) as reader:
        assert len(reader.steps(run_id)) == 0


def test_sink_put_from_another_thread_and_flush(store):
    run_id = store.open_run()
    sink = store.sink(run_id, flush_interval_s=5.0)
    t = threading.Thread(target=lambda: [sink.put(s) for s in make_steps(100)])
    t.start()
    t.join()
    assert sink.flush(5.0)
    with Store(store.data_dir, recover=False) as reader:
        assert len(reader.steps(run_id)) == 100
    sink.close(status=None)  # leave the run open
    assert store.run(run_id).status == RUN_OPEN
    store.close_run(run_id)


# --- query API --------------------------------------------------------------------------------


def _add_run(
    store: Store,
    start: dt.datetime,
    n: int,
    strikes: tuple[str, ...],
    pain_after: int | None = None,
    speed: float | None = 3.0,
    vo_shift: float = 0.0,
) -> int:
    cfg = PipelineConfig(placement="foot", side="left", speed_mps=speed)
    run_id = store.open_run(runner="ana", config=cfg, start_time=start.timestamp(), devices=["pod"])
    steps = [replace(s, vo_cm=s.vo_cm + vo_shift) for s in make_steps(n, strikes=strikes)]
    store.write(run_id, steps)
    records = [Alert(30.0, "bounce", "cue", "Less bounce", 9.0), Alert(200.0, "cadence", "silent", "cadence", 160.0)]
    if pain_after is not None:
        records += [
            PainNote(-30.0, 1, "before"),
            PainNote(100.0, pain_after + 1, "during"),
            PainNote(n * STEP_S + 60, pain_after, "after"),
        ]
    store.write(run_id, records)
    store.close_run(run_id)
    return run_id


def test_list_runs_and_summaries(store):
    monday = dt.datetime(2026, 3, 2, 8, 0)
    a = _add_run(store, monday, 600, ("rearfoot",), pain_after=2)
    b = _add_run(store, monday + dt.timedelta(days=2), 900, ("rearfoot", "midfoot"), pain_after=None, speed=None)
    runs = store.list_runs()
    assert [r.run_id for r in runs] == [b, a]  # newest first
    ra = runs[1]
    assert ra.steps == 600 and ra.cues == 1 and ra.runner == "ana" and ra.placement == "foot"
    assert ra.heel_strike_share == 1.0 and ra.strike_counts["rearfoot"] == 600
    assert ra.pain_before == 1 and ra.pain_during_max == 3 and ra.pain_after == 2
    assert ra.cadence_spm == pytest.approx(172, abs=0.3) and ra.gct_ms == pytest.approx(240, abs=1)
    assert ra.vo_cm == pytest.approx(8.0, abs=0.1)
    assert ra.duration_s == pytest.approx(599 * STEP_S + 0.24)
    assert ra.distance_m == pytest.approx(3.0 * 599 * STEP_S, rel=1e-6)
    assert runs[0].distance_m is None and runs[0].heel_strike_share == pytest.approx(0.5)
    assert store.list_runs(limit=1)[0].run_id == b
    cached = store.conn.execute("SELECT summary_json FROM runs WHERE id = ?", (a,)).fetchone()[0]
    assert json.loads(cached)["steps"] == 600
    store.set_notes(a, "felt good")
    assert store.summary(a).notes == "felt good"


def test_steps_as_columns_are_fast(store):
    run_id = _add_run(store, dt.datetime(2026, 3, 2, 8, 0), 20_000, ("rearfoot", "forefoot"))
    store.steps(run_id)  # warm the page cache
    t0 = time.perf_counter()
    cols = store.steps(run_id)
    elapsed = time.perf_counter() - t0
    assert len(cols) == 20_000 and cols.cadence_spm.dtype == np.float64
    assert elapsed < 1.0  # generous: typically ~0.1 s; the figure is printed by bench_store()


def test_splits_per_km_and_per_minute(store):
    run_id = _add_run(store, dt.datetime(2026, 3, 2, 8, 0), 1500, ("rearfoot", "midfoot"))
    km = store.splits(run_id, by="km")
    total = 3.0 * 1499 * STEP_S  # ~1568 m
    assert len(km) == 2
    assert km[0].distance_m == pytest.approx(1000.0, abs=3.1) and sum(k.distance_m for k in km) == pytest.approx(
        total, rel=1e-6
    )
    assert km[0].pace_s_per_km == pytest.approx(1000 / 3.0, rel=0.01)
    assert km[0].cues == 1 and km[0].heel_strike_share == pytest.approx(0.5, abs=0.01)
    minutes = store.splits(run_id, by="minute")
    assert len(minutes) == int(np.ceil(1499 * STEP_S / 60))
    assert sum(m.steps for m in minutes) == 1500
    assert minutes[0].steps == pytest.approx(172, abs=1)
    assert minutes[0].cadence_spm == pytest.approx(172, abs=0.5)
    # speed from readings (a foot pod) instead of the configured constant
    run2 = store.open_run(runner="ana")
    store.write(run2, make_steps(400))
    store.write(run2, [SpeedSample(0.0, 2.0), SpeedSample(400 * STEP_S, 4.0)])
    store.close_run(run2)
    assert store.summary(run2).distance_m == pytest.approx(3.0 * 399 * STEP_S, rel=0.01)
    assert store.splits(run2 + 1000, by="km") == []
    with pytest.raises(ValueError):
        store.splits(run_id, by="mile")


def test_trends_weekly(store):
    w1 = dt.datetime(2026, 3, 2, 8, 0)  # a Monday
    _add_run(store, w1, 400, ("rearfoot",), pain_after=3)
    _add_run(store, w1 + dt.timedelta(days=3), 400, ("rearfoot", "midfoot"), pain_after=1)
    _add_run(store, w1 + dt.timedelta(days=8), 400, ("midfoot",), pain_after=0, vo_shift=-1.0)
    trend = store.trends(period="week")
    assert [t.period_start for t in trend] == [dt.date(2026, 3, 2), dt.date(2026, 3, 9)]
    assert trend[0].runs == 2 and trend[0].steps == 800
    assert trend[0].heel_strike_share == pytest.approx(0.75)
    assert trend[1].heel_strike_share == 0.0
    assert trend[0].pain_max == 4 and trend[0].pain_after_mean == 2.0
    assert trend[1].vo_cm == pytest.approx(trend[0].vo_cm - 1.0, abs=0.1)
    assert trend[0].cadence_spm == pytest.approx(172, abs=0.5)
    assert len(store.trends(period="month")) == 1


def test_delete_run(store):
    run_id = _add_run(store, dt.datetime(2026, 3, 2, 8, 0), 10, ("rearfoot",), pain_after=1)
    store.delete_run(run_id)
    assert store.run_ids() == []
    assert store.conn.execute("SELECT count(*) FROM steps").fetchone()[0] == 0


def test_bench_store_prints_speed_figures(capsys):
    figures = bench_store(20_000)
    out = capsys.readouterr().out
    assert "20000 steps written" in out and set(figures) >= {"write_s", "read_s"}
    print(out)  # shown with pytest -s: write / read figures on this machine


def test_one_record_the_database_refuses_does_not_hold_back_the_others(tmp_path):
    # a NOT NULL column given NaN (SQLite stores NaN as NULL): that record alone is left out

    with Store(tmp_path / "data") as store:
        run_id = store.open_run(runner="r", placement="foot")
        sink = store.sink(run_id, flush_interval_s=0.05)
        steps = make_steps(20)
        sink.put(QualityEvent(float("nan"), "low_sample_rate", "refused"), device="pod")
        for s in steps:
            sink.put(s, device="pod")
        sink.put(QualityEvent(2.0, "low_sample_rate", "kept"), device="pod")
        sink.close()
        assert sink.stats.rejected == 1 and "refused by the store" in (sink.stats.last_error or "")
        assert len(store.steps(run_id)) == 20
        assert [e.message for _, e in store.quality_events(run_id)] == ["kept"]


def test_a_real_run_with_an_accelerometer_only_foot_sensor_is_stored_whole(tmp_path):
    # the adept ankle (100 Hz, foot, no gyro) announces its low rate at its first sample: the
    # notice has a time, and every step of both sensors reaches the store
    from gait.demo import adept_sensors, load_adept_run, play_recording
    from gait.engine.setup import RunOptions
    from tests.conftest import adept_run_path

    blocks = load_adept_run(adept_run_path(), minutes=2.0)
    options = RunOptions(data_dir=str(tmp_path / "data"), runner="adept", cues="silent", keys=False)
    engine = play_recording(adept_sensors(blocks), options)
    run_id = engine.summary.run_id
    with Store(tmp_path / "data") as store:
        stored = store.steps(run_id)
        events = store.quality_events(run_id)
    assert len(stored) == engine.summary.steps > 400
    rate = [e for d, e in events if e.code == "low_sample_rate"]
    assert rate and all(np.isfinite(e.time_s) for e in rate)
