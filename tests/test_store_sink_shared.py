"""Many runs' StoreSinks on one store in one process: one shared writer thread, one transaction per
interval, every record written exactly once, runs closed alone, one run's refused record costing
that record alone."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from gait.core.records import Alert, QualityEvent, StepMetrics
from gait.storage import RUN_CLOSED, RUN_OPEN, Store
from gait.storage.sink import WRITER_THREAD_NAME

STEP_S = 60.0 / 172.0


def step(i: int) -> StepMetrics:
    ic = i * STEP_S
    return StepMetrics(
        ic_s=ic, to_s=ic + 0.24, side="left" if i % 2 else "right", gct_ms=240.0 + i % 7, flight_ms=110.0,
        cadence_spm=172.0, vo_cm=8.0, vertical_ratio_pct=7.5, fsa_deg=None, strike=None, lean_deg=5.0,
        impact_g=None, duty_factor=0.35, emitted_s=ic,
    )  # fmt: skip


def store_threads() -> list[threading.Thread]:
    """Every thread a store sink runs on (the shared writer, or writers of any other name)."""
    return [t for t in threading.enumerate() if t.name.startswith("gait-store")]


def rows(db: Path, table: str) -> dict[int, list[float]]:
    """run id -> the time column of its rows, read with a connection of our own."""
    col = {"steps": "ic_s", "alerts": "time_s", "quality_events": "time_s"}[table]
    conn = sqlite3.connect(db)
    try:
        out: dict[int, list[float]] = {}
        for run_id, t in conn.execute(f"SELECT run_id, {col} FROM {table} ORDER BY run_id, {col}"):
            out.setdefault(run_id, []).append(t)
        return out
    finally:
        conn.close()


def wait_for(cond, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.01)
    return cond()


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "data") as s:
        yield s


def test_many_sinks_share_one_writer_thread_and_write_every_record_exactly_once(store):
    n_runs, n_steps = 40, 150
    run_ids = [store.open_run(runner=f"r{k}") for k in range(n_runs)]
    sinks = [store.sink(r, flush_interval_s=0.05) for r in run_ids]
    assert [t.name for t in store_threads()] == [WRITER_THREAD_NAME]
    assert len({id(s._thread) for s in sinks}) == 1

    def produce(k: int) -> None:  # each run from a thread of its own, closed at its own time
        sink = sinks[k]
        for i in range(n_steps + 5 * k):
            assert sink.put(step(i), device="pod")
            if i % 25 == 0:
                assert sink.put(Alert(i * STEP_S, "bounce", "silent", f"run {k}", 9.0))
            if i % 40 == 0:
                time.sleep(0.01)
        sink.close()

    threads = [threading.Thread(target=produce, args=(k,)) for k in range(n_runs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(store_threads()) <= 1  # never more than the one while they ran
    steps, alerts = rows(store.path, "steps"), rows(store.path, "alerts")
    for k, (run_id, sink) in enumerate(zip(run_ids, sinks, strict=True)):
        n = n_steps + 5 * k
        assert steps[run_id] == pytest.approx([i * STEP_S for i in range(n)])  # each once, in order
        assert alerts[run_id] == pytest.approx([i * STEP_S for i in range(0, n, 25)])
        st = sink.stats
        assert st.put == st.written == n + len(range(0, n, 25)), st
        assert st.dropped == st.lost == st.rejected == st.errors == 0
        assert store.run(run_id).status == RUN_CLOSED
        assert run_id not in store._locks
        assert not sink.alive
    # fewer transactions than runs x intervals: the runs shared them
    assert max(s.stats.flushes for s in sinks) < 100


def test_one_writer_per_database_file_stopped_with_its_last_sink_and_started_again(store, tmp_path):
    a = [store.sink(store.open_run(), flush_interval_s=0.05) for _ in range(10)]
    with Store(tmp_path / "other") as other:
        b = other.sink(other.open_run(), flush_interval_s=0.05)
        assert sorted(t.name for t in store_threads()) == [WRITER_THREAD_NAME] * 2  # one per database file
        assert b._thread is not a[0]._thread
        b.close()
    writer = a[0]._thread
    assert wait_for(lambda: len(store_threads()) == 1)
    for s in a[:-1]:
        s.close()
    assert writer.is_alive() and a[-1].alive  # one sink still open: the writer goes on
    assert a[-1].put(step(0)) and a[-1].flush(5.0)
    a[-1].close()
    writer.join(5.0)
    assert not writer.is_alive() and store_threads() == []  # the last one closed: no thread left
    # a new sink later starts a new writer, which writes
    run_id = store.open_run()
    with store.sink(run_id, flush_interval_s=0.05) as again:
        assert [t.name for t in store_threads()] == [WRITER_THREAD_NAME]
        assert again._thread is not writer
        assert again.put(step(0)) and again.flush(5.0)
        assert len(rows(store.path, "steps")[run_id]) == 1
    assert again.stats.written == 1 and store.run(run_id).status == RUN_CLOSED


def test_closing_one_sink_leaves_the_others_writing(store):
    ids = [store.open_run(runner=name) for name in ("a", "b", "c")]
    a, b, c = (store.sink(r, flush_interval_s=0.05) for r in ids)
    for i in range(20):
        for s in (a, b, c):
            assert s.put(step(i))
    stats = a.close()
    assert stats.written == 20 and store.run(ids[0]).status == RUN_CLOSED and not a.alive
    assert b.alive and c.alive
    assert store.run(ids[1]).status == RUN_OPEN and store.run(ids[2]).status == RUN_OPEN
    for i in range(20, 50):  # the others go on, written at their interval without a flush
        assert b.put(step(i)) and c.put(step(i))
    assert not a.put(step(99)) and a.stats.dropped == 1
    assert wait_for(lambda: b.stats.written == 50 and c.stats.written == 50, 5.0)
    steps = rows(store.path, "steps")
    assert [len(steps[r]) for r in ids] == [20, 50, 50]
    b.close(status=None)  # leave b open: c still goes on
    assert store.run(ids[1]).status == RUN_OPEN and c.alive
    assert c.put(step(50)) and c.flush(5.0)
    c.close()
    assert [len(rows(store.path, "steps")[r]) for r in ids] == [20, 50, 51]
    assert store.run(ids[2]).status == RUN_CLOSED
    store.close_run(ids[1])


def test_a_refused_record_in_one_run_loses_no_other_runs_records(store):
    # a NOT NULL column given NaN is refused: the three runs' records are in one transaction (the
    # flush of one sink writes what the others have queued too), and only that record is left out
    ids = [store.open_run(runner=name) for name in ("bad", "good1", "good2")]
    bad, good1, good2 = (store.sink(r, flush_interval_s=30.0) for r in ids)
    for i in range(30):
        for s in (bad, good1, good2):
            s.put(step(i), device="pod")
        if i == 10:
            bad.put(QualityEvent(float("nan"), "low_sample_rate", "refused"), device="pod")
            good1.put(QualityEvent(3.0, "low_sample_rate", "kept 1"), device="pod")
    good2.put(QualityEvent(4.0, "low_sample_rate", "kept 2"), device="pod")
    assert bad.flush(10.0)
    assert bad.stats.rejected == 1 and "refused by the store" in (bad.stats.last_error or "")
    assert bad.stats.written == 30
    for s in (good1, good2):
        assert s.stats.written == 31 and s.stats.errors == 0 and s.stats.rejected == 0, s.stats
    steps = rows(store.path, "steps")
    assert [len(steps[r]) for r in ids] == [30, 30, 30]
    events = rows(store.path, "quality_events")
    assert ids[0] not in events and events[ids[1]] == [3.0] and events[ids[2]] == [4.0]
    # the runs go on writing together afterwards
    for s in (bad, good1, good2):
        assert s.put(step(30))
    for s in (bad, good1, good2):
        s.close()
    assert [len(rows(store.path, "steps")[r]) for r in ids] == [31, 31, 31]
    assert [store.run(r).status for r in ids] == [RUN_CLOSED] * 3
    assert store.steps(ids[0]).step_index.tolist() == list(range(31))
