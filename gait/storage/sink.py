"""A non-blocking sink from the live path into the local store.

    sink = store.sink(run_id)          # starts the writer thread
    sink.put(step)                     # never blocks: a bounded queue, False if it was full
    sink.put(block, device="H10")      # raw samples; Gap / QualityEvent / Alert / PainNote / SpeedSample
    sink.close()                       # flushes, marks the run closed, releases its lock

A background thread wakes once per ``flush_interval_s`` (default 1 s; at once for a `flush`
or `close`), takes the records off a bounded queue and writes everything that arrived in ONE
transaction (WAL, fsync'd when the store
is durable). A crash therefore loses at most the records of the last interval. The thread has
its own SQLite connection; the pipeline thread only ever touches the queue.

If the queue is full (the disk stalled for a long time), `put` drops the record, counts it in
`stats.dropped` and returns False: the pipeline is never slowed by storage. A failed write
(disk full, database locked by someone else) is retried at the next interval with the same
records; while writes fail, at most ``max_pending`` records are held (raw sample blocks are
dropped first, then the oldest records), counted in `stats.lost`. A write that fails because of
one record itself (a value the database refuses) is not retried whole: the records are then
written one by one, and only the ones refused are left out (counted in `stats.rejected`, the
reason in `stats.last_error`), so one bad record never holds back the rest.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gait.core.records import SampleBlock
from gait.storage.local import Store
from gait.storage.schema import RUN_CLOSED

_STOP = object()


@dataclass
class SinkStats:
    put: int = 0  # records accepted by put()
    dropped: int = 0  # records refused by put() (queue full or sink closed/failed)
    written: int = 0  # records committed to the database
    lost: int = 0  # records discarded by the writer while writes kept failing
    rejected: int = 0  # records the database refused (bad values), left out; the others were written
    flushes: int = 0  # transactions committed
    errors: int = 0  # failed transactions (retried)
    last_error: str | None = None
    max_flush_ms: float = 0.0
    last_flush_s: float | None = None  # unix time of the last commit


class StoreSink:
    """Background writer of one run. See the module doc."""

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
        self._flush_events: list[threading.Event] = []
        self._wake = threading.Event()  # a flush or close asked for: the writer need not wait for its interval
        self._thread = threading.Thread(target=self._main, name=f"gait-store-sink-run{run_id}", daemon=True)
        self._thread.start()

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
            self._wake.set()
        return True

    def _burst(self) -> bool:
        """The queue is more than half full."""
        return self._q.qsize() > self._q.maxsize // 2

    def put_many(self, records: list[Any], device: str | None = None) -> int:
        return sum(self.put(r, device) for r in records)

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Ask for an immediate flush and wait for it (for shutdown and tests, not the live path)."""
        if not self._thread.is_alive():
            return False
        event = threading.Event()
        with self._flush_lock:
            self._flush_events.append(event)
        self._wake.set()
        return event.wait(timeout)

    def close(self, status: str | None = RUN_CLOSED, timeout: float | None = None) -> SinkStats:
        """Flush what is queued, mark the run ``status`` (None: leave it open) and stop."""
        if self._closed:
            return self.stats
        self._closed = True
        self._close_status = status
        while True:  # the stop marker must get in even if the queue is full
            self._wake.set()
            try:
                self._q.put(_STOP, timeout=0.1)
                break
            except queue.Full:
                if not self._thread.is_alive():
                    break
        self._wake.set()
        self._thread.join(self.close_timeout_s if timeout is None else timeout)
        if status is not None and self._owner is not None:
            lock = self._owner._locks.pop(self.run_id, None)
            if lock is not None:
                lock.release()
        return self.stats

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def __enter__(self) -> StoreSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writer thread -------------------------------------------------------------------------
    def _main(self) -> None:
        try:
            store = Store(self._data_dir, recover=False, durable=self._durable, busy_timeout_ms=self.busy_timeout_ms)
        except Exception as exc:  # noqa: BLE001 - report, and refuse further puts
            self.stats.last_error = f"{type(exc).__name__}: {exc}"
            self.stats.errors += 1
            self._failed = True
            return
        pending: list[tuple[Any, str | None]] = []
        next_flush = time.monotonic() + self.flush_interval_s
        stop = False
        try:
            while not stop:
                # asleep until the interval ends (one wake-up a second, however many records came:
                # many runs' writers in one process would otherwise take turns at every record)
                now = time.monotonic()
                if now < next_flush:
                    self._wake.wait(next_flush - now)
                self._wake.clear()
                with self._flush_lock:
                    waiters, self._flush_events = self._flush_events, []
                if time.monotonic() < next_flush and not waiters and not self._closed and not self._burst():
                    continue
                stop = self._drain(pending)
                self._write(store, pending)
                for w in waiters:
                    w.set()
                next_flush = time.monotonic() + self.flush_interval_s
            if self._close_status is not None:
                try:
                    store.close_run(self.run_id, status=self._close_status)
                except Exception as exc:  # noqa: BLE001
                    self.stats.errors += 1
                    self.stats.last_error = f"{type(exc).__name__}: {exc}"
        finally:
            with self._flush_lock:
                for w in self._flush_events:
                    w.set()
            store.close()

    def _drain(self, pending: list[tuple[Any, str | None]]) -> bool:
        """Move everything queued now into ``pending``; True if the stop marker was among it."""
        while True:
            try:
                item = self._q.get_nowait()
            except queue.Empty:
                return False
            if item is _STOP:
                return True
            pending.append(item)

    def _write(self, store: Store, pending: list[tuple[Any, str | None]]) -> None:
        t0 = time.perf_counter()
        try:
            store.write_items(self.run_id, pending, heartbeat=True)
        except _RECORD_ERRORS as exc:  # a record itself is refused: write the others, one by one
            self.stats.errors += 1
            self.stats.last_error = f"{type(exc).__name__}: {exc}"
            self._write_one_by_one(store, pending)
            return
        except Exception as exc:  # noqa: BLE001 - keep the records, retry at the next interval
            self.stats.errors += 1
            self.stats.last_error = f"{type(exc).__name__}: {exc}"
            self._trim(pending)
            return
        ms = (time.perf_counter() - t0) * 1000.0
        self.stats.written += len(pending)
        self.stats.flushes += 1
        self.stats.max_flush_ms = max(self.stats.max_flush_ms, ms)
        self.stats.last_flush_s = time.time()
        pending.clear()

    def _write_one_by_one(self, store: Store, pending: list[tuple[Any, str | None]]) -> None:
        kept: list[tuple[Any, str | None]] = []
        for i, item in enumerate(pending):
            try:
                store.write_items(self.run_id, [item], heartbeat=False)
            except _RECORD_ERRORS as exc:
                self.stats.rejected += 1
                self.stats.last_error = f"{type(item[0]).__name__} refused by the store: {type(exc).__name__}: {exc}"
            except Exception as exc:  # noqa: BLE001 - the store itself failed: retry the rest later
                self.stats.errors += 1
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                kept = pending[i:]
                break
            else:
                self.stats.written += 1
        pending[:] = kept
        self._trim(pending)

    def _trim(self, pending: list[tuple[Any, str | None]]) -> None:
        excess = len(pending) - self.max_pending
        if excess <= 0:
            return
        keep = [p for p in pending if not isinstance(p[0], SampleBlock)]
        self.stats.lost += len(pending) - len(keep)
        if len(keep) > self.max_pending:
            self.stats.lost += len(keep) - self.max_pending
            keep = keep[-self.max_pending :]
        pending[:] = keep


# failures caused by a record's own values (not by the disk or a lock): retrying cannot help
_RECORD_ERRORS = (sqlite3.IntegrityError, sqlite3.InterfaceError, ValueError, TypeError, OverflowError)
