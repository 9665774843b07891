"""The InfluxDB sink's outbox: points on disk until the server has acknowledged them.

    box = Outbox(path)                        # one SQLite file (WAL), created on first use
    box.add([(key, line), ...])               # one transaction; a known key is re-queued, not doubled
    batch = box.pending(5000)                 # oldest first: [(id, line), ...]
    box.mark_sent([id for id, _ in batch])    # after the server's 2xx
    box.requeue_since(t)                      # after an outage: send again what was acked since t
    box.prune(older_than)                     # forget acked points outside the re-send window

One row per point, keyed by the point's identity (measurement + tags + timestamp, see
`gait.storage.influx.point_key`). ``sent_at`` is NULL while the point waits and the unix time of
the server's acknowledgement afterwards. Because the key is unique, putting the same point twice
(a `gait sync` of a run that is already queued, a re-sent batch) keeps one row: the outbox never
doubles a point, and the server, which overwrites a point with the same identity, never sees a
second one.

Crash safety: every `add` and `mark_sent` is one transaction in WAL mode. With
``durable=False`` (the default: ``synchronous=NORMAL``) a process crash (SIGKILL included)
loses nothing committed; ``durable=True`` (``synchronous=FULL``) also survives a power cut. A
crash between the server's acknowledgement and `mark_sent` only means the batch is sent again,
which the server absorbs (same identity, same values).

Acknowledged points are kept for a while (``resend window``) rather than deleted at once: some
servers acknowledge before the data is on disk (VictoriaMetrics keeps the last seconds in memory
and loses them on a hard kill), so after an outage the sink re-sends the points acknowledged
just before it (`requeue_since`). The server's idempotence makes that safe.

One `Outbox` object is one SQLite connection and belongs to the thread that opened it.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

_DDL = (
    """CREATE TABLE IF NOT EXISTS points (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        key TEXT NOT NULL UNIQUE,
        line TEXT NOT NULL,
        added_at REAL NOT NULL,
        sent_at REAL
    )""",
    "CREATE INDEX IF NOT EXISTS points_unsent ON points(id) WHERE sent_at IS NULL",
    "CREATE INDEX IF NOT EXISTS points_sent ON points(sent_at) WHERE sent_at IS NOT NULL",
    """CREATE TABLE IF NOT EXISTS rejected (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL,
        line TEXT NOT NULL,
        rejected_at REAL NOT NULL,
        reason TEXT NOT NULL
    )""",
)

_CHUNK = 500  # ids per UPDATE/DELETE statement (below SQLite's variable limit)


class Outbox:
    """Append-only, crash-safe queue of line-protocol points (see the module doc)."""

    def __init__(self, path: str | Path, *, durable: bool = False, busy_timeout_ms: int = 5000):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(self.path, isolation_level=None, timeout=busy_timeout_ms / 1000.0)
        self.conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
        for statement in _DDL:
            self.conn.execute(statement)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writing -----------------------------------------------------------------------------
    def add(self, points: Iterable[tuple[str, str]], now: float | None = None) -> int:
        """Queue ``(key, line)`` pairs in one transaction; returns how many were given.

        A key already in the outbox gets the new line and waits again (``sent_at = NULL``), so
        a point is never held twice and a changed point (a re-analysed run) is sent again.
        """
        now = time.time() if now is None else now
        rows = [(key, line, now) for key, line in points]
        if not rows:
            return 0
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            self.conn.executemany(
                """INSERT INTO points (key, line, added_at) VALUES (?, ?, ?)
                   ON CONFLICT(key) DO UPDATE SET line = excluded.line, sent_at = NULL""",
                rows,
            )
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        return len(rows)

    def mark_sent(self, ids: Sequence[int], now: float | None = None) -> None:
        """Record the server's acknowledgement of these rows."""
        now = time.time() if now is None else now
        self._update_ids("UPDATE points SET sent_at = ? WHERE id IN ({})", ids, (now,))

    def reject(self, ids: Sequence[int], reason: str, now: float | None = None) -> None:
        """Move rows the server refused as malformed (HTTP 400) aside, so they stop blocking the queue."""
        now = time.time() if now is None else now
        ids = list(ids)
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            for k in range(0, len(ids), _CHUNK):
                part = ids[k : k + _CHUNK]
                marks = ",".join("?" * len(part))
                self.conn.execute(
                    f"INSERT INTO rejected (key, line, rejected_at, reason) "
                    f"SELECT key, line, ?, ? FROM points WHERE id IN ({marks})",
                    (now, reason, *part),
                )
                self.conn.execute(f"DELETE FROM points WHERE id IN ({marks})", part)
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    def requeue_since(self, since: float) -> int:
        """Mark points acknowledged at or after ``since`` (unix s) as waiting again; returns how many."""
        cur = self.conn.execute("UPDATE points SET sent_at = NULL WHERE sent_at IS NOT NULL AND sent_at >= ?", (since,))
        return cur.rowcount

    def prune(self, older_than: float) -> int:
        """Delete acknowledged points whose acknowledgement is older than ``older_than`` (unix s)."""
        cur = self.conn.execute("DELETE FROM points WHERE sent_at IS NOT NULL AND sent_at < ?", (older_than,))
        return cur.rowcount

    def _update_ids(self, sql: str, ids: Sequence[int], args: tuple) -> None:
        ids = list(ids)
        if not ids:
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            for k in range(0, len(ids), _CHUNK):
                part = ids[k : k + _CHUNK]
                self.conn.execute(sql.format(",".join("?" * len(part))), (*args, *part))
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    # --- reading -----------------------------------------------------------------------------
    def pending(self, limit: int) -> list[tuple[int, str]]:
        """The oldest ``limit`` waiting points as ``(id, line)``."""
        return self.conn.execute(
            "SELECT id, line FROM points WHERE sent_at IS NULL ORDER BY id LIMIT ?", (int(limit),)
        ).fetchall()

    def pending_count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM points WHERE sent_at IS NULL").fetchone()[0])

    def sent_count(self) -> int:
        """Acknowledged points still kept for the re-send window."""
        return int(self.conn.execute("SELECT count(*) FROM points WHERE sent_at IS NOT NULL").fetchone()[0])

    def rejected_count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM rejected").fetchone()[0])

    def rejected(self, limit: int = 100) -> list[tuple[str, str, str]]:
        """``(line, reason, key)`` of points the server refused, newest first (for diagnosis)."""
        return self.conn.execute(
            "SELECT line, reason, key FROM rejected ORDER BY id DESC LIMIT ?", (int(limit),)
        ).fetchall()
