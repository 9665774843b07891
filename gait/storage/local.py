"""The embedded local store: one SQLite database (WAL mode) in a data folder.

    store = Store()                       # default data folder (see `default_data_dir`)
    run_id = store.open_run(runner="ana", placement="sacrum", devices=["Polar H10"], config=cfg)
    with store.sink(run_id) as sink:      # the live path: non-blocking, flushes once a second
        sink.put(step)                    # StepMetrics, Alert, PainNote, Gap, QualityEvent,
                                          # SampleBlock (raw samples), SpeedSample
    store.list_runs()                     # summaries for the run list
    store.steps(run_id).cadence_spm       # numpy columns
    store.splits(run_id, by="km"); store.alerts(run_id); store.trends(period="week")

Crash safety. A run is 'open' while a writer holds its lock file (``locks/run-<uuid>.lock``,
an OS advisory lock that the kernel releases when the process dies, even on SIGKILL). Opening
the store recovers every open run whose lock is free: the writer is gone, so the run is marked
'interrupted' and its end time set from the last flush (``runs.last_write``). Every flush is one
transaction (WAL, ``synchronous=FULL`` for writers), so a crash loses at most the records put
since the last flush: at most one flush interval (1 s).

One `Store` object is one connection and belongs to the thread that made it (sqlite3's rule);
the sinks' writer thread (one per database file in a process, shared by all its runs) opens its
own. Readers (dashboards) never block the writer (WAL).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import logging
import os
import sqlite3
import sys
import time
import uuid as uuidlib
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gait.core.records import Alert, Gap, PainNote, QualityEvent, SampleBlock, StepMetrics
from gait.core.step_fields import CLASS, FIELD_BY_NAME, FLAGS, FLOAT, STEP_FIELDS, SUMMARY_FIELDS, TEXT, TIME, StepField
from gait.storage.schema import (
    QUALITY_BITS,
    RUN_CLOSED,
    RUN_INTERRUPTED,
    RUN_OPEN,
    RUN_STATUSES,
    ensure_step_columns,
    field_columns,
    mask_to_quality,
    migrate,
    quality_to_mask,
)

if TYPE_CHECKING:
    from gait.storage.sink import StoreSink

DB_NAME = "gait.sqlite"
DATA_DIR_ENV = "GAIT_DATA_DIR"
STRIKES = FIELD_BY_NAME["strike"].classes  # ("rearfoot", "midfoot", "forefoot")
MAX_STEP_DT_S = 2.0  # a longer interval between contacts is a pause: it adds no distance
RAW_CODEC = "zlib:t<f8,acc<f4x3,gyr<f4x3,flags|u1"


def default_data_dir() -> Path:
    """``$GAIT_DATA_DIR``, else the platform's user data folder + ``gait``.

    Linux/BSD: ``$XDG_DATA_HOME/gait`` or ``~/.local/share/gait``; macOS:
    ``~/Library/Application Support/gait``; Windows: ``%LOCALAPPDATA%\\gait``.
    """
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "gait"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "gait"
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "gait"


def software_version() -> str:
    try:
        from importlib.metadata import version

        return version("gait-form")
    except Exception:  # noqa: BLE001 - not installed as a distribution
        return "unknown"


# --- records that only the store knows --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SpeedSample:
    """A running speed reading (foot pod RSC, treadmill) on the stream time base."""

    time_s: float
    speed_mps: float
    source: str = ""


# --- run lock (liveness of the writer) --------------------------------------------------------


class _RunLock:
    """An exclusive advisory lock on a file, released by the OS when the process dies."""

    def __init__(self, path: Path):
        self.path = path
        self.fd: int | None = None

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if os.name == "nt":  # pragma: no cover - Windows
                import msvcrt

                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self.fd = fd
        return True

    def release(self, unlink: bool = True) -> None:
        if self.fd is None:
            return
        if unlink:
            with contextlib.suppress(OSError):
                self.path.unlink()
        with contextlib.suppress(OSError):
            os.close(self.fd)  # closing the descriptor drops the lock
        self.fd = None


# --- raw sample chunks ------------------------------------------------------------------------


def encode_samples(block: SampleBlock) -> tuple[bytes, bool, bool]:
    """Compact blob of a SampleBlock: times float64, acc/gyr float32, flags uint8, zlib."""
    parts = [np.ascontiguousarray(block.time_s, dtype="<f8").tobytes()]
    parts.append(np.ascontiguousarray(block.acc_mps2, dtype="<f4").tobytes())
    if block.gyr_dps is not None:
        parts.append(np.ascontiguousarray(block.gyr_dps, dtype="<f4").tobytes())
    if block.flags is not None:
        parts.append(np.ascontiguousarray(block.flags, dtype="u1").tobytes())
    return zlib.compress(b"".join(parts), 1), block.gyr_dps is not None, block.flags is not None


def decode_samples(data: bytes, n: int, index0: int, has_gyro: bool, has_flags: bool) -> SampleBlock:
    raw = zlib.decompress(data)
    pos = 0

    def take(dtype: str, count: int) -> np.ndarray:
        nonlocal pos
        size = np.dtype(dtype).itemsize * count
        arr = np.frombuffer(raw, dtype=dtype, count=count, offset=pos)
        pos += size
        return arr

    time_s = take("<f8", n).astype(np.float64)
    acc = take("<f4", 3 * n).astype(np.float64).reshape(n, 3)
    gyr = take("<f4", 3 * n).astype(np.float64).reshape(n, 3) if has_gyro else None
    flags = take("u1", n).copy() if has_flags else None
    return SampleBlock(time_s=time_s, acc_mps2=acc, gyr_dps=gyr, index0=index0, flags=flags)


# --- query results ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RunInfo:
    id: int
    uuid: str
    runner: str | None
    start_time: float  # unix seconds (UTC)
    end_time: float | None
    stream_t0_s: float
    devices: list[Any]
    placement: str | None
    side: str | None
    config_json: str | None
    software_version: str | None
    status: str
    notes: str
    last_write: float | None

    @property
    def start_datetime(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.start_time, tz=dt.UTC)

    def wall_time(self, time_s: float | np.ndarray) -> float | np.ndarray:
        """Unix time of a stream time."""
        return self.start_time + (np.asarray(time_s, dtype=np.float64) - self.stream_t0_s)

    def config(self) -> Any:
        """The PipelineConfig the run used, or None if none was stored."""
        if not self.config_json:
            return None
        from gait.core.config import PipelineConfig

        return PipelineConfig.from_dict(self.config_dict())

    def run_config(self) -> dict[str, Any]:
        """The whole configuration the run used: ``{"pipeline": {...}, "coach": {...} or None}``
        (runs stored before the coach settings were kept have ``"coach": None``)."""
        d = json.loads(self.config_json) if self.config_json else {}
        if "pipeline" in d and isinstance(d["pipeline"], dict):
            return d
        return {"pipeline": d, "coach": None}

    def config_dict(self) -> dict[str, Any]:
        """The pipeline configuration the run used, as a plain dict ({} if none was stored)."""
        return self.run_config()["pipeline"]


@dataclass(frozen=True)
class RunSummary:
    """One line of the run list. Medians over the run's steps (one attribute per summary field of
    the step field registry, `StepField.summary`); None where nothing was measured."""

    run_id: int
    uuid: str
    runner: str | None
    start_time: float
    end_time: float | None
    status: str
    placement: str | None
    side: str | None
    devices: list[Any]
    notes: str
    duration_s: float
    steps: int
    distance_m: float | None
    cadence_spm: float | None
    gct_ms: float | None
    vo_cm: float | None
    vertical_ratio_pct: float | None
    lean_deg: float | None
    strike_counts: dict[str, int]
    heel_strike_share: float | None  # rearfoot / steps with a known strike type
    cues: int  # alerts of kind 'cue' or 'stop'
    pain_before: int | None
    pain_during_max: int | None
    pain_after: int | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


# The steps table read as columns: the step fields' numbers, then the store's speed; the words; the mask.
_FLOAT_COLS = (*(f.name for f in STEP_FIELDS if f.kind in (TIME, FLOAT)), "speed_mps")
_TEXT_COLS = (*(f.name for f in STEP_FIELDS if f.kind in (TEXT, CLASS)), "device", "quality_other")
_STEP_SELECT = ("step_index", *_FLOAT_COLS, *_TEXT_COLS, "quality_mask")
# The columns one StepMetrics fills, in insert order (the store adds run_id, step_index and device).
_STEP_INSERT = tuple(c for f in STEP_FIELDS for c in field_columns(f))


class StepColumns:
    """A run's steps as columns, ordered by step index: one numpy array per column of `_STEP_SELECT`
    (``cols.vo_cm``, ``cols.step_index``, ...). Numbers are float64 with NaN for a missing value,
    words (``side``, ``strike``, ``device``, ``quality_other``) object arrays with None;
    ``speed_mps`` is the per-step speed as written (see `Store.step_speeds`) and ``quality_mask``
    the int64 bit mask of `schema.QUALITY_BITS`."""

    def __init__(self, **columns: np.ndarray):
        if set(columns) != set(_STEP_SELECT):
            raise TypeError(f"StepColumns needs the columns {_STEP_SELECT}, got {tuple(columns)}")
        self.__dict__.update(columns)

    def __getattr__(self, name: str) -> np.ndarray:  # the columns are instance attributes
        raise AttributeError(f"StepColumns has no column {name!r}")

    def __len__(self) -> int:
        return int(self.step_index.shape[0])

    def has_flag(self, flag: str) -> np.ndarray:
        """Boolean mask of the steps carrying a quality flag."""
        bit = QUALITY_BITS.get(flag)
        if bit is not None:
            return (self.quality_mask & bit) != 0
        return np.array([bool(o) and flag in o.split(",") for o in self.quality_other], dtype=bool)

    def quality(self, i: int) -> tuple[str, ...]:
        return mask_to_quality(int(self.quality_mask[i]), self.quality_other[i])

    def columns(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in _STEP_SELECT}

    def value(self, f: StepField, i: int) -> Any:
        """Step ``i``'s value of a step field, as `StepMetrics` holds it."""
        if f.kind == FLAGS:
            return self.quality(i)
        v = getattr(self, f.name)[i]
        if f.kind == TIME:
            return float(v)
        return _opt(v) if f.kind == FLOAT else v

    def to_records(self) -> list[StepMetrics]:
        return [StepMetrics(**{f.name: self.value(f, i) for f in STEP_FIELDS}) for i in range(len(self))]

    def select(self, mask: np.ndarray) -> StepColumns:
        return StepColumns(**{name: getattr(self, name)[mask] for name in _STEP_SELECT})


def _step_row(rec: StepMetrics) -> list[Any]:
    """The values of `_STEP_INSERT` for one step."""
    row: list[Any] = []
    for f in STEP_FIELDS:
        v = getattr(rec, f.name)
        if f.kind == FLAGS:
            row.extend(quality_to_mask(v))
        elif f.kind in (TIME, FLOAT):
            row.append(_db(v))
        else:
            row.append(v)
    return row


def _medians(cols: StepColumns, mask: np.ndarray | None = None) -> dict[str, float | None]:
    """Medians of the summary fields (`StepField.summary`) over the steps (or the masked ones)."""
    out = {}
    for f in SUMMARY_FIELDS:
        values = getattr(cols, f.name)
        out[f.name] = _median(values if mask is None else values[mask])
    return out


_SUMMARY_KEYS = {f.name for f in dataclasses.fields(RunSummary)}


@dataclass(frozen=True)
class Split:
    """Per-km or per-minute aggregate of a run (medians of the summary fields; heel-strike share as a fraction)."""

    index: int
    start_s: float  # stream time of the first contact in the split
    end_s: float  # stream time of the last toe-off in the split
    duration_s: float
    distance_m: float | None
    pace_s_per_km: float | None
    steps: int
    cadence_spm: float | None
    gct_ms: float | None
    vo_cm: float | None
    vertical_ratio_pct: float | None
    lean_deg: float | None
    heel_strike_share: float | None
    cues: int


@dataclass(frozen=True)
class TrendPoint:
    """One period (week or month) across runs. The summary fields' values are step-weighted means of
    run medians."""

    period_start: dt.date
    runs: int
    steps: int
    duration_s: float
    distance_m: float | None
    heel_strike_share: float | None
    vo_cm: float | None
    cadence_spm: float | None
    gct_ms: float | None
    vertical_ratio_pct: float | None
    lean_deg: float | None
    pain_max: int | None  # worst pain score reported in the period (any phase)
    pain_after_mean: float | None


@dataclass(frozen=True)
class RawFileRef:
    id: int
    run_id: int
    device: str | None
    path: Path  # resolved (relative paths are inside the data folder)
    format: str
    size_bytes: int | None
    sha256: str | None


@dataclass
class _RunCache:
    next_step: int


# Wall clock of the last data of a run (steps' toe-off, raw samples), in an UPDATE of runs.
_DATA_END = """(runs.start_time - runs.stream_t0_s + (SELECT MAX(t) FROM (
        SELECT MAX(to_s) AS t FROM steps WHERE run_id = runs.id
        UNION ALL SELECT MAX(t1_s) FROM raw_chunks WHERE run_id = runs.id)))"""


_INSERT_STEPS = f"INSERT INTO steps (run_id, step_index, device, {', '.join(_STEP_INSERT)})"  # + VALUES


def _opt(v: float) -> float | None:
    return None if v is None or not np.isfinite(v) else float(v)


def _db(v: float | None) -> float | None:
    """A float for a REAL column: None/NaN/inf -> NULL."""
    if v is None:
        return None
    v = float(v)
    return v if np.isfinite(v) else None


def _median(a: np.ndarray) -> float | None:
    a = a[np.isfinite(a)]
    return float(np.median(a)) if a.size else None


def _strike_counts(strike: np.ndarray) -> dict[str, int]:
    return {name: int(np.count_nonzero(strike == name)) for name in STRIKES}


def _heel_share(counts: dict[str, int]) -> float | None:
    known = sum(counts.values())
    return counts["rearfoot"] / known if known else None


# --- derived data ----------------------------------------------------------------------------
# Rebuildable products of a finished run (the review page's payload, ...), kept so that opening a
# finished run is one blob read. Not part of the versioned schema: a cache table any version may
# create, drop or ignore. A row is valid only while its ``stamp`` (a digest of the run's row:
# every write moves ``last_write``, notes, status and end time are in it; the uuid guards reused
# ids) and its ``version`` (chosen by the producer: format + software version) still match.
_DERIVED_DDL = """CREATE TABLE IF NOT EXISTS derived_cache (
    run_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    stamp TEXT NOT NULL,
    created_at REAL NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (run_id, name)
)"""
_STAMP_COLS = (
    "uuid, runner_id, start_time, end_time, stream_t0_s, devices, placement, side, config_json, "
    "software_version, status, notes, last_write"
)


# --- writing: records to rows, rows to tables -------------------------------------------------

# failures caused by a record's own values (not by the disk or a lock): retrying cannot help
RECORD_ERRORS = (sqlite3.IntegrityError, sqlite3.InterfaceError, ValueError, TypeError, OverflowError)


@dataclass
class _Rows:
    """One run's records as table rows, ready to insert (see `_prepare_rows`)."""

    run_id: int
    next_step: int  # the step index after the last step of these rows
    steps: list[tuple[Any, ...]]
    alerts: list[tuple[Any, ...]]
    pains: list[tuple[Any, ...]]
    gaps: list[tuple[Any, ...]]
    events: list[tuple[Any, ...]]
    speeds: list[tuple[Any, ...]]
    chunks: list[tuple[Any, ...]]

    @property
    def n(self) -> int:
        return sum(map(len, (self.steps, self.alerts, self.pains, self.gaps, self.events, self.speeds, self.chunks)))


def _prepare_rows(run_id: int, items: list[tuple[Any, str | None]], first_step: int) -> _Rows:
    """The rows of (record, device) pairs; steps numbered from ``first_step`` in the order given,
    SampleBlocks of one device joined into one compact chunk. Records of other kinds are ignored."""
    steps, alerts, pains, gaps, events, speeds = [], [], [], [], [], []
    raw: dict[str | None, list[SampleBlock]] = {}
    idx = first_step
    for rec, device in items:
        if isinstance(rec, StepMetrics):
            steps.append((run_id, idx, device, *_step_row(rec)))
            idx += 1
        elif isinstance(rec, Alert):
            alerts.append(
                (run_id, rec.time_s, rec.rule, rec.kind, rec.message, _db(rec.value), rec.target, rec.severity)
            )
        elif isinstance(rec, PainNote):
            pains.append((run_id, rec.time_s, int(rec.score), rec.phase, rec.note))
        elif isinstance(rec, Gap):
            gaps.append((run_id, device, rec.start_s, rec.end_s, int(rec.missing_samples)))
        elif isinstance(rec, QualityEvent):
            events.append((run_id, device, rec.time_s, rec.code, rec.message))
        elif isinstance(rec, SpeedSample):
            speeds.append((run_id, device, rec.time_s, rec.speed_mps, rec.source))
        elif isinstance(rec, SampleBlock):
            if len(rec):
                raw.setdefault(device, []).append(rec)
    chunks = []
    for device, blocks in raw.items():
        groups = [[blocks[0]]]
        for b in blocks[1:]:  # one chunk per run of blocks with the same channels
            last = groups[-1][-1]
            if (b.gyr_dps is None) == (last.gyr_dps is None):
                groups[-1].append(b)
            else:
                groups.append([b])
        for group in groups:
            block = SampleBlock.concat(group) if len(group) > 1 else group[0]
            data, has_gyro, has_flags = encode_samples(block)
            chunks.append(
                (
                    run_id,
                    device,
                    float(block.time_s[0]),
                    float(block.time_s[-1]),
                    len(block),
                    block.index0,
                    RAW_CODEC,
                    int(has_gyro),
                    int(has_flags),
                    data,
                )
            )
    return _Rows(run_id, idx, steps, alerts, pains, gaps, events, speeds, chunks)


_MAX_VARIABLES = 999  # bound parameters in one statement (SQLite's smallest limit)


def _insert(c: sqlite3.Connection, head: str, rows: list[tuple[Any, ...]]) -> None:
    """``head VALUES (...), (...), ...``: many rows in few statements. Each statement is one step
    of SQLite, for which sqlite3 lets the interpreter lock go and must take it back: with busy
    pipeline threads in the process, row by row (``executemany``) would wait for it at every row."""
    width = len(rows[0])
    per = max(1, _MAX_VARIABLES // width)
    one = f"({', '.join('?' * width)})"
    for k in range(0, len(rows), per):
        chunk = rows[k : k + per]
        c.execute(f"{head} VALUES {', '.join([one] * len(chunk))}", [v for row in chunk for v in row])


def _insert_rows(c: sqlite3.Connection, batches: list[_Rows]) -> None:
    """Insert the rows of one or more runs, a few statements per table, and mark the runs written
    now (inside the caller's transaction)."""

    def rows(name: str) -> list[tuple[Any, ...]]:
        return [row for b in batches for row in getattr(b, name)]

    if steps := rows("steps"):
        _insert(c, _INSERT_STEPS, steps)
    if alerts := rows("alerts"):
        _insert(c, "INSERT INTO alerts (run_id, time_s, rule, kind, message, value, target, severity)", alerts)
    if pains := rows("pains"):
        _insert(c, "INSERT INTO pain_notes (run_id, time_s, score, phase, note)", pains)
    if gaps := rows("gaps"):
        _insert(c, "INSERT INTO gaps (run_id, device, start_s, end_s, missing_samples)", gaps)
    if events := rows("events"):
        _insert(c, "INSERT INTO quality_events (run_id, device, time_s, code, message)", events)
    if speeds := rows("speeds"):
        _insert(c, "INSERT INTO speeds (run_id, device, time_s, speed_mps, source)", speeds)
    if chunks := rows("chunks"):
        _insert(
            c, "INSERT INTO raw_chunks (run_id, device, t0_s, t1_s, n, index0, codec, has_gyro, has_flags, data)", chunks
        )
    now = time.time()
    run_ids = list(dict.fromkeys(b.run_id for b in batches))
    for k in range(0, len(run_ids), _MAX_VARIABLES - 1):
        ids = run_ids[k : k + _MAX_VARIABLES - 1]
        marks = ", ".join("?" * len(ids))
        c.execute(f"UPDATE runs SET last_write = ?, summary_json = NULL WHERE id IN ({marks})", [now, *ids])
        c.execute(f"DELETE FROM derived_cache WHERE run_id IN ({marks})", ids)


_close_hooks: list[Callable[[Store, int], None]] = []
_log = logging.getLogger(__name__)


def add_close_hook(fn: Callable[[Store, int], None]) -> None:
    """Call ``fn(store, run_id)`` after every `Store.close_run` (in the closing thread, with that
    store), e.g. to build a finished run's derived data once. Errors are logged, never raised."""
    if fn not in _close_hooks:
        _close_hooks.append(fn)


def remove_close_hook(fn: Callable[[Store, int], None]) -> None:
    with contextlib.suppress(ValueError):
        _close_hooks.remove(fn)


# --- the store --------------------------------------------------------------------------------


class Store:
    """The local store. ``Store(folder)`` opens (creating and migrating) ``folder/gait.sqlite``.

    ``recover`` (default True) marks open runs whose writer has died as 'interrupted'.
    ``durable`` selects ``synchronous=FULL`` (survives power loss up to the last commit) over
    NORMAL (survives a process crash; faster on slow SD cards).
    """

    def __init__(
        self,
        data_dir: str | Path | None = None,
        *,
        recover: bool = True,
        durable: bool = True,
        busy_timeout_ms: int = 5000,
    ):
        self.data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.data_dir / DB_NAME
        self.durable = durable
        self.conn = sqlite3.connect(self.path, isolation_level=None, timeout=busy_timeout_ms / 1000.0)
        self.conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        mode = self.conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":  # pragma: no cover - e.g. a file system without shared memory
            raise sqlite3.OperationalError(f"could not switch {self.path} to WAL mode (got {mode})")
        self.conn.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
        self.conn.execute("PRAGMA foreign_keys = ON")
        self.migrations_applied = migrate(self.conn)
        self.columns_added = ensure_step_columns(self.conn)
        has_cache = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'derived_cache'"
        if not self.conn.execute(has_cache).fetchone():
            self.conn.execute(_DERIVED_DDL)
        self._locks: dict[int, _RunLock] = {}
        self._runs: dict[int, _RunCache] = {}
        self.recovered: list[int] = self.recover() if recover else []

    # --- lifecycle ----------------------------------------------------------------------------
    def close(self) -> None:
        """Close the connection. Runs this object opened and did not close lose their lock and
        will be recovered as 'interrupted' by the next open: close sinks and runs first."""
        for lock in self._locks.values():
            lock.release()
        self._locks.clear()
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
            self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:  # (SQLite may have rolled back already, e.g. on a full disk)
                self.conn.execute("ROLLBACK")
            raise

    def _lock_path(self, run_uuid: str) -> Path:
        return self.data_dir / "locks" / f"run-{run_uuid}.lock"

    def integrity_check(self) -> str:
        return str(self.conn.execute("PRAGMA integrity_check").fetchone()[0])

    def recover(self) -> list[int]:
        """Mark open runs whose writer is gone (its lock is free) as 'interrupted'."""
        recovered = []
        rows = self.conn.execute("SELECT id, uuid FROM runs WHERE status = ?", (RUN_OPEN,)).fetchall()
        for run_id, run_uuid in rows:
            if run_id in self._locks:
                continue
            lock = _RunLock(self._lock_path(run_uuid))
            if not lock.acquire():
                continue  # a live writer holds it
            try:
                with self.transaction() as c:
                    c.execute(
                        f"""UPDATE runs SET status = ?, end_time = COALESCE(end_time, {_DATA_END}, last_write, start_time)
                           WHERE id = ? AND status = ?""",
                        (RUN_INTERRUPTED, run_id, RUN_OPEN),
                    )
                recovered.append(run_id)
            finally:
                lock.release()
        return recovered

    # --- runners and runs ---------------------------------------------------------------------
    def runner_id(self, name: str, create: bool = True) -> int | None:
        row = self.conn.execute("SELECT id FROM runners WHERE name = ?", (name,)).fetchone()
        if row:
            return int(row[0])
        if not create:
            return None
        with self.transaction() as c:
            c.execute("INSERT OR IGNORE INTO runners (name, created_at) VALUES (?, ?)", (name, time.time()))
        return self.runner_id(name, create=False)

    def runners(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT name FROM runners ORDER BY name")]

    def open_run(
        self,
        *,
        runner: str | None = None,
        placement: str | None = None,
        side: str | None = None,
        devices: Iterable[Any] = (),
        config: Any = None,
        start_time: float | None = None,
        stream_t0_s: float = 0.0,
        notes: str = "",
        software: str | None = None,
    ) -> int:
        """Create a run (status 'open') and hold its lock until `close_run`.

        ``config`` is a PipelineConfig (stored through ``to_json``), a dict or a JSON string;
        ``placement``/``side`` default to the config's. ``start_time`` (unix s) is the wall clock
        of stream time ``stream_t0_s``.
        """
        cfg_json: str | None
        if config is None:
            cfg_json = None
        elif isinstance(config, str):
            cfg_json = config
        elif isinstance(config, dict):
            cfg_json = json.dumps(config, sort_keys=True)
        else:
            cfg_json = config.to_json()
        if cfg_json is not None:
            cfg = json.loads(cfg_json)
            cfg = cfg["pipeline"] if isinstance(cfg.get("pipeline"), dict) else cfg
            placement = placement or cfg.get("placement")
            side = side or cfg.get("side")
        run_uuid = uuidlib.uuid4().hex
        lock = _RunLock(self._lock_path(run_uuid))
        if not lock.acquire():  # pragma: no cover - a fresh uuid is never locked
            raise RuntimeError("could not lock a new run")
        runner_id = self.runner_id(runner) if runner else None
        try:
            with self.transaction() as c:
                cur = c.execute(
                    """INSERT INTO runs (uuid, runner_id, start_time, stream_t0_s, devices, placement, side,
                                         config_json, software_version, status, notes, last_write)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                    (
                        run_uuid,
                        runner_id,
                        time.time() if start_time is None else float(start_time),
                        float(stream_t0_s),
                        json.dumps(list(devices)),
                        placement,
                        side,
                        cfg_json,
                        software or software_version(),
                        RUN_OPEN,
                        notes,
                        None,
                    ),
                )
                run_id = int(cur.lastrowid)
        except BaseException:
            lock.release()
            raise
        self._locks[run_id] = lock
        return run_id

    def close_run(self, run_id: int, status: str = RUN_CLOSED, end_time: float | None = None) -> RunSummary:
        """Mark a run finished, cache its summary, release its lock; returns the summary."""
        if status not in RUN_STATUSES or status == RUN_OPEN:
            raise ValueError(f"status must be 'closed' or 'interrupted', got {status!r}")
        with self.transaction() as c:
            c.execute(
                f"UPDATE runs SET status = ?, end_time = COALESCE(?, end_time, {_DATA_END}, ?) WHERE id = ?",
                (status, end_time, time.time(), run_id),
            )
        lock = self._locks.pop(run_id, None)
        if lock is not None:
            lock.release()
        summary = self.summary(run_id)
        for hook in list(_close_hooks):
            try:
                hook(self, run_id)
            except Exception:  # noqa: BLE001 - derived data is optional: never fail a close for it
                _log.warning("close hook %r failed for run %s", hook, run_id, exc_info=True)
        return summary

    def set_notes(self, run_id: int, notes: str) -> None:
        with self.transaction() as c:
            c.execute("UPDATE runs SET notes = ?, summary_json = NULL WHERE id = ?", (notes, run_id))
            c.execute("DELETE FROM derived_cache WHERE run_id = ?", (run_id,))

    def delete_run(self, run_id: int) -> None:
        with self.transaction() as c:
            for table in (
                "steps",
                "alerts",
                "pain_notes",
                "gaps",
                "quality_events",
                "speeds",
                "raw_chunks",
                "raw_files",
                "derived_cache",
            ):
                c.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))
            c.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        self._runs.pop(run_id, None)

    def run(self, run_id: int) -> RunInfo:
        row = self.conn.execute(
            """SELECT runs.id, uuid, runners.name, start_time, end_time, stream_t0_s, devices, placement, side,
                      config_json, software_version, status, runs.notes, last_write
               FROM runs LEFT JOIN runners ON runners.id = runs.runner_id WHERE runs.id = ?""",
            (run_id,),
        ).fetchone()
        if row is None:
            raise KeyError(f"no run {run_id} in {self.path}")
        return RunInfo(
            id=row[0],
            uuid=row[1],
            runner=row[2],
            start_time=row[3],
            end_time=row[4],
            stream_t0_s=row[5],
            devices=json.loads(row[6]),
            placement=row[7],
            side=row[8],
            config_json=row[9],
            software_version=row[10],
            status=row[11],
            notes=row[12],
            last_write=row[13],
        )

    def run_ids(self, runner: str | None = None, status: str | None = None) -> list[int]:
        sql = "SELECT runs.id FROM runs LEFT JOIN runners ON runners.id = runs.runner_id WHERE 1"
        args: list[Any] = []
        if runner is not None:
            sql += " AND runners.name = ?"
            args.append(runner)
        if status is not None:
            sql += " AND status = ?"
            args.append(status)
        return [r[0] for r in self.conn.execute(sql + " ORDER BY start_time DESC, runs.id DESC", args)]

    # --- writing ------------------------------------------------------------------------------
    def sink(self, run_id: int, **kwargs: Any) -> StoreSink:
        """A non-blocking sink writing to this run from the background writer thread that all sinks
        of this database file in the process share (see `StoreSink`)."""
        from gait.storage.sink import StoreSink

        return StoreSink(self, run_id, **kwargs)

    def write(self, run_id: int, records: Iterable[Any], device: str | None = None) -> int:
        """Write records of any supported kind in one transaction; returns how many were stored."""
        return self.write_items(run_id, [(r, device) for r in records])

    def write_items(self, run_id: int, items: list[tuple[Any, str | None]], heartbeat: bool = True) -> int:
        """Write (record, device) pairs in ONE transaction (the sink's flush).

        Steps get consecutive step indexes in the order given. SampleBlocks of one device are
        stored as one compact chunk per call. Records of other kinds are ignored (not counted).
        """
        cache = self._run_cache(run_id)
        rows = _prepare_rows(run_id, items, cache.next_step)
        if rows.n == 0 and not heartbeat:
            return 0
        with self.transaction() as c:
            _insert_rows(c, [rows])
        cache.next_step = rows.next_step
        return rows.n

    def write_runs(
        self, batches: list[tuple[int, list[tuple[Any, str | None]]]], heartbeat: bool = True
    ) -> list[int | Exception]:
        """Write the (record, device) pairs of several runs in ONE transaction (the shared writer's
        flush): ``batches`` is a list of (run_id, items), each written like `write_items`, all of
        them with one statement per table. A batch that fails (records the database refuses, values
        that cannot be converted; see `RECORD_ERRORS`) is left out whole and its exception returned
        in its place, and the others are written (the transaction is then made again with each
        batch in a savepoint of its own). Returns, per batch, the records written or that
        exception. A failure of the database itself (locked, disk full, I/O) rolls everything back
        and is raised."""
        results: list[int | Exception] = [0] * len(batches)
        prepared: list[tuple[int, _Rows]] = []
        next_step: dict[int, int] = {}
        self._load_run_caches(run_id for run_id, _ in batches)
        for i, (run_id, items) in enumerate(batches):
            start = next_step.get(run_id)
            if start is None:
                start = self._run_cache(run_id).next_step
            try:
                rows = _prepare_rows(run_id, items, start)
            except Exception as exc:  # noqa: BLE001 - this batch's records: the others go on
                results[i] = exc
                continue
            next_step[run_id] = rows.next_step
            if rows.n or heartbeat:
                prepared.append((i, rows))
        if not prepared:
            return results
        try:  # all runs' rows together: one statement per table
            with self.transaction() as c:
                _insert_rows(c, [rows for _, rows in prepared])
        except sqlite3.OperationalError:  # the database itself (locked, full, I/O): every batch waits
            raise
        except Exception:  # noqa: BLE001 - a batch is refused: again, each batch in a savepoint of its own
            self._write_apart(prepared, results)
        else:
            for i, rows in prepared:
                results[i] = rows.n
        written: dict[int, int] = {}
        for i, rows in prepared:
            if not isinstance(results[i], Exception):
                written[rows.run_id] = max(written.get(rows.run_id, 0), rows.next_step)
        for run_id, nxt in written.items():
            cache = self._run_cache(run_id)
            cache.next_step = max(cache.next_step, nxt)
        return results

    def _write_apart(self, prepared: list[tuple[int, _Rows]], results: list[int | Exception]) -> None:
        """`write_runs`' transaction with each batch in a savepoint: a batch that fails is left out
        (its exception in ``results``), the others are written."""
        with self.transaction() as c:
            for i, rows in prepared:
                c.execute("SAVEPOINT run_batch")
                try:
                    _insert_rows(c, [rows])
                except Exception as exc:  # noqa: BLE001 - this batch only, while the transaction lives
                    if not c.in_transaction:  # SQLite gave the whole transaction up: nothing is written
                        raise
                    c.execute("ROLLBACK TO run_batch")
                    c.execute("RELEASE run_batch")
                    results[i] = exc
                    continue
                c.execute("RELEASE run_batch")
                results[i] = rows.n

    def _run_cache(self, run_id: int) -> _RunCache:
        cache = self._runs.get(run_id)
        if cache is None:
            row = self.conn.execute("SELECT MAX(step_index) FROM steps WHERE run_id = ?", (run_id,)).fetchone()
            cache = _RunCache(next_step=0 if row[0] is None else int(row[0]) + 1)
            self._runs[run_id] = cache
        return cache

    def _load_run_caches(self, run_ids: Iterable[int]) -> None:
        """`_run_cache` of many runs at once (one query per 999 runs, not one per run)."""
        missing = [r for r in dict.fromkeys(run_ids) if r not in self._runs]
        for k in range(0, len(missing), _MAX_VARIABLES):
            ids = missing[k : k + _MAX_VARIABLES]
            found = dict(
                self.conn.execute(
                    f"SELECT run_id, MAX(step_index) FROM steps WHERE run_id IN ({', '.join('?' * len(ids))})"
                    " GROUP BY run_id",
                    ids,
                ).fetchall()
            )
            for r in ids:
                last = found.get(r)
                self._runs[r] = _RunCache(next_step=0 if last is None else int(last) + 1)

    def add_raw_file(
        self,
        run_id: int,
        path: str | Path,
        *,
        format: str = "gait-capture",
        device: str | None = None,
        checksum: bool = False,
    ) -> int:
        """Reference a raw capture file. A path inside the data folder is stored relative to it."""
        p = Path(path)
        size = p.stat().st_size if p.exists() else None
        digest = None
        if checksum and p.exists():
            h = hashlib.sha256()
            with open(p, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
            digest = h.hexdigest()
        try:
            stored = p.resolve().relative_to(self.data_dir.resolve()).as_posix()
        except ValueError:
            stored = str(p.resolve())
        with self.transaction() as c:
            cur = c.execute(
                """INSERT INTO raw_files (run_id, device, path, format, size_bytes, sha256, created_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?)""",
                (run_id, device, stored, format, size, digest, time.time()),
            )
        return int(cur.lastrowid)

    # --- derived data (see _DERIVED_DDL) -------------------------------------------------------
    def run_stamp(self, run_id: int) -> str | None:
        """A digest of the run's row: changes with every write to the run (None: no such run)."""
        row = self.conn.execute(f"SELECT {_STAMP_COLS} FROM runs WHERE id = ?", (run_id,)).fetchone()
        return None if row is None else hashlib.sha1(repr(row).encode()).hexdigest()

    def derived(self, run_id: int, name: str, version: str) -> bytes | None:
        """The stored derived data ``name`` of a run, if still valid for ``version``; else None."""
        row = self.conn.execute(
            "SELECT version, stamp, data FROM derived_cache WHERE run_id = ? AND name = ?", (run_id, name)
        ).fetchone()
        if row is None or row[0] != version or row[1] != self.run_stamp(run_id):
            return None
        return bytes(row[2])

    def put_derived(self, run_id: int, name: str, version: str, data: bytes, stamp: str | None = None) -> bool:
        """Keep derived data of a finished run (open runs still change: not kept; returns False).
        ``stamp``: `run_stamp` taken before computing ``data`` (a write meanwhile then voids it)."""
        row = self.conn.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None or row[0] == RUN_OPEN:
            return False
        stamp = stamp if stamp is not None else self.run_stamp(run_id)
        if stamp is None:
            return False
        with self.transaction() as c:
            c.execute(
                "INSERT OR REPLACE INTO derived_cache (run_id, name, version, stamp, created_at, data)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, name, version, stamp, time.time(), sqlite3.Binary(data)),
            )
        return True

    # --- reading ------------------------------------------------------------------------------
    def steps(self, run_id: int) -> StepColumns:
        """Every step of a run as numpy columns (fast: one query, column-wise conversion)."""
        rows = self.conn.execute(
            f"SELECT {', '.join(_STEP_SELECT)} FROM steps WHERE run_id = ? ORDER BY step_index", (run_id,)
        ).fetchall()
        cols: list[Any] = list(zip(*rows)) if rows else [() for _ in _STEP_SELECT]
        out: dict[str, np.ndarray] = {"step_index": np.array(cols[0], dtype=np.int64)}
        for k, name in enumerate(_FLOAT_COLS, start=1):
            out[name] = np.array(cols[k], dtype=np.float64)  # None -> NaN
        base = 1 + len(_FLOAT_COLS)
        for k, name in enumerate(_TEXT_COLS, start=base):
            arr = np.empty(len(rows), dtype=object)
            arr[:] = cols[k]
            out[name] = arr
        out["quality_mask"] = np.array(cols[-1], dtype=np.int64)
        return StepColumns(**out)

    def alerts(self, run_id: int) -> list[Alert]:
        rows = self.conn.execute(
            """SELECT time_s, rule, kind, message, value, target, severity FROM alerts
               WHERE run_id = ? ORDER BY time_s, id""",
            (run_id,),
        )
        return [Alert(*r) for r in rows]

    def pain_notes(self, run_id: int) -> list[PainNote]:
        rows = self.conn.execute(
            "SELECT time_s, score, phase, note FROM pain_notes WHERE run_id = ? ORDER BY time_s, id", (run_id,)
        )
        return [PainNote(*r) for r in rows]

    def gaps(self, run_id: int) -> list[tuple[str | None, Gap]]:
        rows = self.conn.execute(
            "SELECT device, start_s, end_s, missing_samples FROM gaps WHERE run_id = ? ORDER BY start_s, id",
            (run_id,),
        )
        return [(r[0], Gap(r[1], r[2], r[3])) for r in rows]

    def quality_events(self, run_id: int) -> list[tuple[str | None, QualityEvent]]:
        rows = self.conn.execute(
            "SELECT device, time_s, code, message FROM quality_events WHERE run_id = ? ORDER BY time_s, id",
            (run_id,),
        )
        return [(r[0], QualityEvent(r[1], r[2], r[3])) for r in rows]

    def speeds(self, run_id: int) -> tuple[np.ndarray, np.ndarray]:
        rows = self.conn.execute(
            "SELECT time_s, speed_mps FROM speeds WHERE run_id = ? ORDER BY time_s", (run_id,)
        ).fetchall()
        if not rows:
            return np.empty(0), np.empty(0)
        arr = np.array(rows, dtype=np.float64)
        return arr[:, 0], arr[:, 1]

    def raw_devices(self, run_id: int) -> list[str | None]:
        return [r[0] for r in self.conn.execute("SELECT DISTINCT device FROM raw_chunks WHERE run_id = ?", (run_id,))]

    def raw_samples(
        self, run_id: int, device: str | None = None, start_s: float | None = None, end_s: float | None = None
    ) -> SampleBlock | None:
        """The stored raw samples of one device (chunks overlapping [start_s, end_s]), or None."""
        devices = self.raw_devices(run_id)
        if device is None and len(devices) > 1:
            raise ValueError(f"run {run_id} has raw samples from several devices {devices}: name one")
        if device is None and devices:
            device = devices[0]
        sql = "SELECT n, index0, has_gyro, has_flags, data, codec FROM raw_chunks WHERE run_id = ? AND device IS ?"
        args: list[Any] = [run_id, device]
        if start_s is not None:
            sql += " AND t1_s >= ?"
            args.append(start_s)
        if end_s is not None:
            sql += " AND t0_s <= ?"
            args.append(end_s)
        blocks = []
        for n, index0, has_gyro, has_flags, data, codec in self.conn.execute(sql + " ORDER BY t0_s, id", args):
            if codec != RAW_CODEC:
                raise ValueError(f"unknown raw chunk codec {codec!r}")
            blocks.append(decode_samples(data, n, index0, bool(has_gyro), bool(has_flags)))
        if not blocks:
            return None
        if len({b.gyr_dps is None for b in blocks}) > 1:
            blocks = [b for b in blocks if b.gyr_dps is not None]
        return SampleBlock.concat(blocks)

    def raw_files(self, run_id: int) -> list[RawFileRef]:
        rows = self.conn.execute(
            "SELECT id, run_id, device, path, format, size_bytes, sha256 FROM raw_files WHERE run_id = ? ORDER BY id",
            (run_id,),
        )
        out = []
        for r in rows:
            p = Path(r[3])
            out.append(RawFileRef(r[0], r[1], r[2], p if p.is_absolute() else self.data_dir / p, r[4], r[5], r[6]))
        return out

    def step_speeds(self, run_id: int, cols: StepColumns | None = None) -> np.ndarray | None:
        """Running speed at each step: the step's own, else the speed readings interpolated at the
        contact, else the configured constant speed; None when the run has no speed at all."""
        cols = self.steps(run_id) if cols is None else cols
        speed = cols.speed_mps.copy()
        t, v = self.speeds(run_id)
        missing = ~np.isfinite(speed)
        if missing.any() and t.size:
            speed[missing] = np.interp(cols.ic_s[missing], t, v)
            missing = ~np.isfinite(speed)
        if missing.any():
            cfg_speed = self.run(run_id).config_dict().get("speed_mps")
            if cfg_speed:
                speed[missing] = float(cfg_speed)
        return speed if np.isfinite(speed).any() else None

    def distances(self, run_id: int, cols: StepColumns | None = None) -> np.ndarray | None:
        """Cumulative distance (m) at each step's contact, from speed; None without speed."""
        cols = self.steps(run_id) if cols is None else cols
        speed = self.step_speeds(run_id, cols)
        if speed is None or len(cols) == 0:
            return None
        order = np.argsort(cols.ic_s, kind="stable")
        t = cols.ic_s[order]
        v = np.nan_to_num(speed[order], nan=0.0)
        dt_s = np.diff(t)
        seg = np.where(dt_s <= MAX_STEP_DT_S, dt_s, 0.0) * 0.5 * (v[1:] + v[:-1])
        dist_sorted = np.concatenate([[0.0], np.cumsum(seg)])
        out = np.empty_like(dist_sorted)
        out[order] = dist_sorted
        return out

    def summary(self, run_id: int, use_cache: bool = True) -> RunSummary:
        info = self.run(run_id)
        if use_cache and info.status != RUN_OPEN:
            row = self.conn.execute("SELECT summary_json FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row and row[0]:
                cached = json.loads(row[0])
                if set(cached) == _SUMMARY_KEYS:  # else written before a summary field was added
                    return RunSummary(**cached)
        s = self._compute_summary(info)
        if info.status != RUN_OPEN:
            with self.transaction() as c:
                c.execute("UPDATE runs SET summary_json = ? WHERE id = ?", (json.dumps(s.to_dict()), run_id))
        return s

    def _compute_summary(self, info: RunInfo) -> RunSummary:
        cols = self.steps(info.id)
        counts = _strike_counts(cols.strike)
        pains = self.pain_notes(info.id)
        cues = self.conn.execute(
            "SELECT count(*) FROM alerts WHERE run_id = ? AND kind IN ('cue', 'stop')", (info.id,)
        ).fetchone()[0]
        if info.end_time is not None:
            duration = info.end_time - info.start_time
        elif len(cols):
            duration = float(np.nanmax(cols.to_s) - info.stream_t0_s)
        else:
            duration = 0.0
        dist = self.distances(info.id, cols)

        def pain(phase: str, how: Any) -> int | None:
            scores = [p.score for p in pains if p.phase == phase]
            return int(how(scores)) if scores else None

        return RunSummary(
            run_id=info.id,
            uuid=info.uuid,
            runner=info.runner,
            start_time=info.start_time,
            end_time=info.end_time,
            status=info.status,
            placement=info.placement,
            side=info.side,
            devices=info.devices,
            notes=info.notes,
            duration_s=float(duration),
            steps=len(cols),
            distance_m=None if dist is None else float(dist.max()),
            **_medians(cols),
            strike_counts=counts,
            heel_strike_share=_heel_share(counts),
            cues=int(cues),
            pain_before=pain("before", lambda s: s[-1]),
            pain_during_max=pain("during", max),
            pain_after=pain("after", lambda s: s[-1]),
        )

    def list_runs(
        self, runner: str | None = None, status: str | None = None, limit: int | None = None
    ) -> list[RunSummary]:
        """Run summaries, newest first. Finished runs' summaries are cached in the database."""
        ids = self.run_ids(runner=runner, status=status)
        if limit is not None:
            ids = ids[:limit]
        return [self.summary(i) for i in ids]

    def splits(self, run_id: int, by: str = "km", size: float = 1.0) -> list[Split]:
        """Per-``size`` km (distance from speed; empty without speed) or per-``size`` minute splits."""
        cols = self.steps(run_id)
        if len(cols) == 0:
            return []
        dist = self.distances(run_id, cols)
        if by == "km":
            if dist is None:
                return []
            key = np.floor(dist / (1000.0 * size)).astype(np.int64)
        elif by in ("minute", "min"):
            key = np.floor((cols.ic_s - np.nanmin(cols.ic_s)) / (60.0 * size)).astype(np.int64)
        else:
            raise ValueError(f"by must be 'km' or 'minute', got {by!r}")
        alert_rows = self.conn.execute(
            "SELECT time_s FROM alerts WHERE run_id = ? AND kind IN ('cue', 'stop')", (run_id,)
        ).fetchall()
        alert_t = np.array([r[0] for r in alert_rows], dtype=np.float64)
        out = []
        for k in np.unique(key):
            m = key == k
            start, end = float(np.nanmin(cols.ic_s[m])), float(np.nanmax(cols.to_s[m]))
            d = None
            if dist is not None:
                nxt = dist[key > k]
                d_end = float(nxt.min()) if nxt.size else float(dist[m].max())
                d = d_end - float(dist[m].min())
            duration = end - start
            counts = _strike_counts(cols.strike[m])
            out.append(
                Split(
                    index=int(k),
                    start_s=start,
                    end_s=end,
                    duration_s=duration,
                    distance_m=d,
                    pace_s_per_km=(duration / (d / 1000.0)) if d else None,
                    steps=int(m.sum()),
                    **_medians(cols, m),
                    heel_strike_share=_heel_share(counts),
                    cues=int(np.count_nonzero((alert_t >= start) & (alert_t <= end))),
                )
            )
        return out

    def trends(self, runner: str | None = None, period: str = "week", tz: dt.tzinfo | None = None) -> list[TrendPoint]:
        """Per-week (ISO, Monday) or per-month values across runs, oldest first (local time by default)."""
        if period not in ("week", "month"):
            raise ValueError(f"period must be 'week' or 'month', got {period!r}")
        groups: dict[dt.date, list[RunSummary]] = {}
        for s in self.list_runs(runner=runner):
            day = dt.datetime.fromtimestamp(s.start_time, tz=tz).date()
            start = day - dt.timedelta(days=day.weekday()) if period == "week" else day.replace(day=1)
            groups.setdefault(start, []).append(s)
        out = []
        for start in sorted(groups):
            runs = groups[start]

            def weighted(name: str, runs: list[RunSummary] = runs) -> float | None:
                pairs = [(getattr(r, name), r.steps) for r in runs if getattr(r, name) is not None and r.steps]
                total = sum(w for _, w in pairs)
                return sum(v * w for v, w in pairs) / total if total else None

            counts = {k: sum(r.strike_counts.get(k, 0) for r in runs) for k in STRIKES}
            pain_all = [p for r in runs for p in (r.pain_before, r.pain_during_max, r.pain_after) if p is not None]
            after = [r.pain_after for r in runs if r.pain_after is not None]
            dists = [r.distance_m for r in runs if r.distance_m is not None]
            out.append(
                TrendPoint(
                    period_start=start,
                    runs=len(runs),
                    steps=sum(r.steps for r in runs),
                    duration_s=sum(r.duration_s for r in runs),
                    distance_m=sum(dists) if dists else None,
                    heel_strike_share=_heel_share(counts),
                    **{f.name: weighted(f.name) for f in SUMMARY_FIELDS},
                    pain_max=max(pain_all) if pain_all else None,
                    pain_after_mean=sum(after) / len(after) if after else None,
                )
            )
        return out


# --- speed figures ----------------------------------------------------------------------------


def bench_store(n_steps: int = 20_000, data_dir: str | Path | None = None, out: Any = None) -> dict[str, float]:
    """Write ``n_steps`` steps (one transaction), read them back as columns and as the run list;
    print and return the timings in seconds. Uses a temporary folder unless ``data_dir`` is given."""
    import tempfile

    rng = np.random.default_rng(1)
    strikes = np.array(STRIKES, dtype=object)[rng.integers(0, 3, n_steps)]
    step_s = 60.0 / 172.0
    steps = [
        StepMetrics(
            ic_s=i * step_s,
            to_s=i * step_s + 0.24,
            side="left" if i % 2 else "right",
            gct_ms=240.0 + rng.normal() * 8,
            flight_ms=110.0,
            cadence_spm=172.0 + rng.normal(),
            vo_cm=8.0 + rng.normal() * 0.4,
            vertical_ratio_pct=7.4,
            fsa_deg=6.0,
            strike=str(strikes[i]),
            lean_deg=6.0,
            impact_g=3.0,
            duty_factor=0.35,
            quality=("gap",) if i % 500 == 0 else (),
            emitted_s=i * step_s + 0.3,
        )
        for i in range(n_steps)
    ]
    with contextlib.ExitStack() as stack:
        folder = data_dir or stack.enter_context(tempfile.TemporaryDirectory())
        store = stack.enter_context(Store(folder))
        run_id = store.open_run(runner="bench", placement="foot", config={"speed_mps": 3.2})
        t0 = time.perf_counter()
        store.write(run_id, steps)
        t_write = time.perf_counter() - t0
        store.close_run(run_id)
        t0 = time.perf_counter()
        cols = store.steps(run_id)
        t_read = time.perf_counter() - t0
        t0 = time.perf_counter()
        store.splits(run_id, by="km")
        t_splits = time.perf_counter() - t0
        t0 = time.perf_counter()
        store.list_runs()
        t_list = time.perf_counter() - t0
        assert len(cols) == n_steps
    figures = {"write_s": t_write, "read_s": t_read, "splits_s": t_splits, "list_runs_cached_s": t_list}
    print(
        f"store: {n_steps} steps written in {t_write * 1000:.0f} ms ({n_steps / t_write:,.0f} steps/s), "
        f"read as columns in {t_read * 1000:.0f} ms, per-km splits in {t_splits * 1000:.0f} ms, "
        f"run list (cached summary) in {t_list * 1000:.1f} ms",
        file=out,
    )
    return figures
