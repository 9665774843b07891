"""A non-blocking sink from the live path into the local store.

    sink = store.sink(run_id)          # joins (or starts) the store's writer thread
    sink.put(step)                     # never blocks: a bounded queue, False if it was full
    sink.put(block, device="H10")      # raw samples; Gap / QualityEvent / Alert / PainNote / SpeedSample
    sink.close()                       # flushes, marks the run closed, releases its lock

Every sink has its own bounded queue; the writing is done by ONE background thread per database
file in a process, shared by all the runs open on it (a process simulating or serving hundreds
of runners would otherwise have hundreds of writer threads, each taking its turn at the
interpreter lock and committing its own transaction every second). The thread starts with the
first sink of a store and stops when its last sink closes (a later sink starts it again). It
wakes once per ``flush_interval_s`` (default 1 s; the shortest of its sinks'; at once for a
`flush`, a `close` or a queue more than half full), takes the records off every sink's queue and
writes everything that arrived, for all runs, in ONE transaction (WAL, fsync'd when a sink's
store is durable). A crash therefore loses at most the records of the last interval. The thread
has its own SQLite connection; the pipeline threads only ever touch their queues.

If a queue is full (the disk stalled for a long time), `put` drops the record, counts it in
`stats.dropped` and returns False: the pipeline is never slowed by storage. A failed write
(disk full, database locked by someone else) is retried at the next interval with the same
records; while writes fail, each sink holds at most ``max_pending`` records (raw sample blocks
are dropped first, then the oldest records), counted in `stats.lost`. A `flush` says whether its
records were written (False while the database refuses them), and a `close` while writes fail
retries them every ``RETRY_S`` until its timeout; only what is still unwritten then is given up,
counted in `stats.lost` and named in `stats.last_error`. A write that fails
because of one record itself (a value the database refuses) costs that run alone: the
transaction is made again with each run in a savepoint of its own (`Store.write_runs`), the
other runs' records are written, and that run's are not retried whole but written one by one,
only the ones refused left out (counted in `stats.rejected`, the reason in `stats.last_error`),
so one bad record never holds back the rest, nor the other runs. Closing one run writes its last
records, marks it and leaves the others' sinks as they were. The statistics are per sink
(`flushes`: the transactions that carried this run's records).
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gait.core.records import SampleBlock
from gait.storage.local import DB_NAME, RECORD_ERRORS, Store
from gait.storage.schema import RUN_CLOSED

WRITER_THREAD_NAME = "gait-store-writer"  # the shared writer thread of one database file

_STOP = object()
RETRY_S = 0.25  # after a failed write, a flush or a close asks again this much later (not at once)
_RECORD_ERRORS = RECORD_ERRORS  # failures caused by a record's own values: retrying cannot help

_writers: dict[Path, _Writer] = {}  # database file -> its running writer
_writers_lock = threading.Lock()  # guards _writers and every writer's list of sinks


class _FlushWait:
    """One `StoreSink.flush` waiting: set when the records put before it were written (``ok``) or
    a write of them failed (``ok`` False)."""

    __slots__ = ("event", "ok")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.ok = False


@dataclass
class SinkStats:
    put: int = 0  # records accepted by put()
    dropped: int = 0  # records refused by put() (queue full or sink closed/failed)
    written: int = 0  # records committed to the database
    lost: int = 0  # records discarded by the writer while writes kept failing
    rejected: int = 0  # records the database refused (bad values), left out; the others were written
    flushes: int = 0  # transactions committed (with this run's records)
    errors: int = 0  # failed transactions (retried)
    last_error: str | None = None
    max_flush_ms: float = 0.0
    last_flush_s: float | None = None  # unix time of the last commit


class StoreSink:
    """The writing of one run, through its store's shared writer thread. See the module doc."""

    def __init__(
        self,
        store: Store | str | Path,
        run_id: int,
        *,
        flush_interval_s: float = 1.0,
        max_queue: int = 100_000,
        max_pending: int = 500_000,
        close_timeout_s: float = 30.0,
        busy_timeout_ms: int = 5000,
    ):
        if isinstance(store, Store):
            self._owner: Store | None = store
            self._data_dir = store.data_dir
            self._durable = store.durable
        else:
            self._owner = None
            self._data_dir = Path(store)
            self._durable = True
        self.run_id = run_id
        self.flush_interval_s = float(flush_interval_s)
        self.max_pending = int(max_pending)
        self.close_timeout_s = close_timeout_s
        self.busy_timeout_ms = busy_timeout_ms
        self.stats = SinkStats()
        self._q: queue.Queue[Any] = queue.Queue(maxsize=max_queue)
        self._closed = False
        self._failed = False
        self._close_status: str | None = RUN_CLOSED
        self._flush_lock = threading.Lock()
        self._flush_events: list[_FlushWait] = []
        self._done = threading.Event()  # the writer is finished with this sink (closed, or it failed)
        # the writer thread's own state of this sink
        self._pending: list[tuple[Any, str | None]] = []
        self._stopping = False  # the stop marker was taken off the queue
        self._fresh = True  # not written yet: the writer reads the run's last step index again
        self._retry_at = 0.0  # monotonic time before which a failed write is not asked for again
        self._close_by: float | None = None  # monotonic time after which unwritten records are given up
        self._unwritten = 0  # records given up at the close
        self._next_flush = time.monotonic() + self.flush_interval_s
        self._writer = _Writer.attach(self)

    # --- producer side (the pipeline thread) ---------------------------------------------------
    def put(self, record: Any, device: str | None = None) -> bool:
        """Queue a record for the next flush. Never blocks; False if it was dropped."""
        if self._closed or self._failed:
            self.stats.dropped += 1
            return False
        try:
            self._q.put_nowait((record, device))
        except queue.Full:
            self.stats.dropped += 1
            return False
        self.stats.put += 1
        if self._burst():  # write before the interval ends
            self._writer.wake.set()
        return True

    def _burst(self) -> bool:
        """The queue is more than half full."""
        return self._q.qsize() > self._q.maxsize // 2

    def put_many(self, records: list[Any], device: str | None = None) -> int:
        return sum(self.put(r, device) for r in records)

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Ask for an immediate flush and wait for it (for shutdown and tests, not the live path):
        True when everything put before it is in the database (or refused by it, `stats.rejected`),
        False when the write failed (e.g. the database is locked: it is retried) or timed out."""
        wait = _FlushWait()
        with self._flush_lock:
            if self._done.is_set() or not self._writer.thread.is_alive():
                return False
            self._flush_events.append(wait)
        self._writer.wake.set()
        return wait.event.wait(timeout) and wait.ok

    def close(self, status: str | None = RUN_CLOSED, timeout: float | None = None) -> SinkStats:
        """Flush what is queued, mark the run ``status`` (None: leave it open) and stop. The
        store's other sinks go on. While the database refuses writes (locked) they are retried
        until ``timeout`` (default ``close_timeout_s``); what is still unwritten then is counted in
        `stats.lost`."""
        if self._closed:
            return self.stats
        wait_s = self.close_timeout_s if timeout is None else timeout
        self._close_status = status
        self._close_by = time.monotonic() + (wait_s if wait_s is not None else float("inf"))
        self._closed = True
        while True:  # the stop marker must get in even if the queue is full
            self._writer.wake.set()
            try:
                self._q.put(_STOP, timeout=0.1)
                break
            except queue.Full:
                if self._done.is_set():
                    break
        self._writer.wake.set()
        # the writer gives up at the deadline, after at most one more attempt (a retry, a busy wait)
        self._done.wait(None if wait_s is None else wait_s + RETRY_S + self.busy_timeout_ms / 1000.0)
        if status is not None and self._owner is not None:
            lock = self._owner._locks.pop(self.run_id, None)
            if lock is not None:
                lock.release()
        return self.stats

    @property
    def alive(self) -> bool:
        return not self._done.is_set() and self._writer.thread.is_alive()

    @property
    def _thread(self) -> threading.Thread:
        """The writer thread this sink's records go through (shared with the store's other sinks)."""
        return self._writer.thread

    def __enter__(self) -> StoreSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writer side (called in the writer thread only) ----------------------------------------
    def _wants_write(self, now: float) -> bool:
        """A write asked for before the interval ends: a flush, a close or a queue half full (not
        before ``RETRY_S`` after a failed write)."""
        return (bool(self._flush_events) or self._closed or self._burst()) and now >= self._retry_at

    def _wake_at(self, now: float) -> float:
        """When the writer is next due for this sink."""
        if bool(self._flush_events) or self._closed or self._burst():
            return max(now, min(self._retry_at, self._next_flush))
        return self._next_flush

    def _drain(self) -> None:
        """Move everything queued now into ``_pending`` (and note the stop marker)."""
        while True:
            try:
                item = self._q.get_nowait()
            except queue.Empty:
                return
            if item is _STOP:
                self._stopping = True
                return
            self._pending.append(item)

    def _written(self, ms: float, wall: float) -> None:
        self.stats.written += len(self._pending)
        self.stats.flushes += 1
        self.stats.max_flush_ms = max(self.stats.max_flush_ms, ms)
        self.stats.last_flush_s = wall
        self._pending.clear()

    def _error(self, exc: BaseException) -> None:
        self.stats.errors += 1
        self.stats.last_error = f"{type(exc).__name__}: {exc}"
        self._retry_at = time.monotonic() + RETRY_S

    def _give_up(self) -> None:
        """Closing, and the close's time ran out with records still unwritten: they are lost."""
        self._unwritten = len(self._pending)
        self.stats.lost += self._unwritten
        self._pending.clear()

    def _write_one_by_one(self, store: Store) -> None:
        pending = self._pending
        kept: list[tuple[Any, str | None]] = []
        for i, item in enumerate(pending):
            try:
                store.write_items(self.run_id, [item], heartbeat=False)
            except _RECORD_ERRORS as exc:
                self.stats.rejected += 1
                self.stats.last_error = f"{type(item[0]).__name__} refused by the store: {type(exc).__name__}: {exc}"
            except Exception as exc:  # noqa: BLE001 - the store itself failed: retry the rest later
                self._error(exc)
                kept = pending[i:]
                break
            else:
                self.stats.written += 1
        pending[:] = kept
        self._trim()

    def _trim(self) -> None:
        pending = self._pending
        excess = len(pending) - self.max_pending
        if excess <= 0:
            return
        keep = [p for p in pending if not isinstance(p[0], SampleBlock)]
        self.stats.lost += len(pending) - len(keep)
        if len(keep) > self.max_pending:
            self.stats.lost += len(keep) - self.max_pending
            keep = keep[-self.max_pending :]
        pending[:] = keep

    def _finish(self, failed: str | None = None) -> None:
        """The writer is done with this sink: wake whoever waits for it."""
        if failed is not None:
            self._failed = True
            self.stats.errors += 1
            self.stats.last_error = failed
        with self._flush_lock:
            self._done.set()
            waiters, self._flush_events = self._flush_events, []
        for w in waiters:
            w.ok = failed is None and not self._pending
            w.event.set()


class _Writer:
    """The one writer thread of a database file: every interval, the records of all its sinks in
    one transaction."""

    def __init__(self, key: Path, data_dir: Path):
        self.key = key
        self.data_dir = data_dir
        self.sinks: list[StoreSink] = []  # under _writers_lock
        self.wake = threading.Event()
        self.thread = threading.Thread(target=self._main, name=WRITER_THREAD_NAME, daemon=True)
        self._durable: bool | None = None  # the connection's settings now
        self._busy_ms: int | None = None

    @classmethod
    def attach(cls, sink: StoreSink) -> _Writer:
        """The running writer of the sink's database file, started if there is none; the sink joins it."""
        key = (sink._data_dir / DB_NAME).resolve()
        with _writers_lock:
            writer = _writers.get(key)
            if writer is None or not writer.thread.is_alive():  # (not alive: inherited through a fork)
                writer = _writers[key] = cls(key, sink._data_dir)
                writer.sinks.append(sink)
                writer.thread.start()
            else:
                writer.sinks.append(sink)
                writer.wake.set()  # its interval may be shorter
        return writer

    def _detach(self, sinks: list[StoreSink]) -> None:
        with _writers_lock:
            for s in sinks:
                self.sinks.remove(s)

    def _main(self) -> None:
        with _writers_lock:
            first = self.sinks[0]
        try:
            store = Store(self.data_dir, recover=False, durable=first._durable, busy_timeout_ms=first.busy_timeout_ms)
        except Exception as exc:  # noqa: BLE001 - report, and refuse further puts
            self._stop(f"{type(exc).__name__}: {exc}")
            return
        self._durable, self._busy_ms = first._durable, first.busy_timeout_ms
        try:
            self._loop(store)
        except BaseException as exc:  # pragma: no cover - a bug: the sinks must not wait forever
            self._stop(f"store writer failed: {type(exc).__name__}: {exc}")
            raise
        finally:
            self._stop(None)
            store.close()

    def _stop(self, failed: str | None) -> None:
        """Leave the registry (a new sink starts a new writer); finish the sinks still here."""
        with _writers_lock:
            if _writers.get(self.key) is self:
                del _writers[self.key]
            orphans, self.sinks = self.sinks, []
        for s in orphans:
            s._finish(failed or "store writer stopped")

    def _loop(self, store: Store) -> None:
        while True:
            with _writers_lock:
                sinks = list(self.sinks)
                if not sinks:  # the last one closed: stop (under the lock, so no sink joins a stopped writer)
                    if _writers.get(self.key) is self:
                        del _writers[self.key]
                    return
            now = time.monotonic()
            if not any(s._wants_write(now) or s._next_flush <= now for s in sinks):
                self.wake.wait(max(0.0, min(s._wake_at(now) for s in sinks) - now))
                self.wake.clear()
                continue
            self._round(store, sinks, now)

    def _round(self, store: Store, sinks: list[StoreSink], now: float) -> None:
        # every sink with records goes in, and every one whose interval (nearly) ended, for its
        # heartbeat: the runs fall into step and share one transaction per interval
        batch = [
            s
            for s in sinks
            if s._wants_write(now)
            or (s._pending and now >= s._retry_at)
            or not s._q.empty()
            or s._next_flush <= now + 0.5 * s.flush_interval_s
        ]
        waiters: list[tuple[StoreSink, _FlushWait]] = []
        for s in batch:
            if s._fresh:  # the run may have been written through another connection since the writer last saw it
                store._runs.pop(s.run_id, None)
                s._fresh = False
            with s._flush_lock:  # before draining: a flush covers what was put before it
                waiters += [(s, w) for w in s._flush_events]
                s._flush_events = []
            s._drain()
        self._write(store, batch)
        for s, w in waiters:
            w.ok = not s._pending  # written (or refused by the database, counted): nothing waits for a retry
            w.event.set()
        next_flush = time.monotonic()
        for s in batch:
            s._next_flush = next_flush + s.flush_interval_s
        # a closing sink whose last write failed stays for another try until its close time runs out
        for s in batch:
            if s._stopping and s._pending and s._close_by is not None and next_flush >= s._close_by:
                s._give_up()
        stopped = [s for s in batch if s._stopping and not s._pending]
        for s in stopped:
            if s._close_status is not None:
                self._configure(store, [s])
                try:
                    store.close_run(s.run_id, status=s._close_status)
                except Exception as exc:  # noqa: BLE001
                    s._error(exc)
            if s._unwritten:
                s.stats.last_error = f"{s._unwritten} records not written when the run closed: {s.stats.last_error}"
        if stopped:
            self._detach(stopped)
            for s in stopped:
                store._runs.pop(s.run_id, None)  # (the writer may outlive many runs)
                s._finish()

    def _configure(self, store: Store, sinks: list[StoreSink]) -> None:
        """fsync if any of the sinks' stores is durable; wait for a lock as long as the most patient."""
        durable = any(s._durable for s in sinks)
        busy_ms = max(int(s.busy_timeout_ms) for s in sinks)
        if durable != self._durable:
            store.conn.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
            self._durable = durable
        if busy_ms != self._busy_ms:
            store.conn.execute(f"PRAGMA busy_timeout = {busy_ms}")
            self._busy_ms = busy_ms

    def _write(self, store: Store, batch: list[StoreSink]) -> None:
        self._configure(store, batch)
        t0 = time.perf_counter()
        try:
            results = store.write_runs([(s.run_id, s._pending) for s in batch], heartbeat=True)
        except Exception as exc:  # noqa: BLE001 - keep the records, retry at the next interval
            for s in batch:
                s._error(exc)
                s._trim()
            return
        ms = (time.perf_counter() - t0) * 1000.0
        wall = time.time()
        for s, res in zip(batch, results, strict=True):
            if not isinstance(res, Exception):
                s._written(ms, wall)
                continue
            s._error(res)
            if isinstance(res, _RECORD_ERRORS):  # a record itself is refused: write the others, one by one
                self._configure(store, [s])
                s._write_one_by_one(store)
            else:  # keep the records, retry at the next interval
                s._trim()
