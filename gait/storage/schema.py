"""The local store's SQLite schema: a numbered chain of migrations.

Every database, new or old, is brought to `SCHEMA_VERSION` by applying the migrations after
its recorded version, in order, each in the same transaction as the row that records it in
``schema_version``. A fresh database runs the whole chain (v1 DDL, then v1 -> v2, ...), so a
migrated database and a new one are the same by construction. A database written by a newer
program (a version above `SCHEMA_VERSION`) is refused, never touched.

Schema v5 (current)::

    schema_version(version PK, applied_at, description)
    runners(id PK, name UNIQUE, created_at, notes)
    runs(id PK, uuid UNIQUE, runner_id -> runners, start_time (unix s, UTC), end_time,
         stream_t0_s (stream time at start_time), devices (JSON list), placement, side,
         config_json (PipelineConfig.to_json), software_version,
         status ('open' | 'closed' | 'interrupted'), notes, last_write (unix s of the last flush),
         summary_json (cached RunSummary of a finished run))
    steps(run_id, step_index, PK(run_id, step_index), device, ic_s, to_s, side, gct_ms, flight_ms,
          cadence_spm, vo_cm, vertical_ratio_pct, fsa_deg, strike, lean_deg, impact_g, duty_factor,
          quality_mask (bits: QUALITY_BITS), quality_other (other flags, comma separated),
          emitted_s, speed_mps)                                              WITHOUT ROWID
    alerts(id PK, run_id, time_s, rule, kind, message, value, target, severity)
    pain_notes(id PK, run_id, time_s, score 0..10, phase, note)
    gaps(id PK, run_id, device, start_s, end_s, missing_samples)
    quality_events(id PK, run_id, device, time_s, code, message)
    speeds(run_id, device, time_s, speed_mps, source)         speed readings (foot pod, treadmill)
    raw_chunks(id PK, run_id, device, t0_s, t1_s, n, index0, codec, has_gyro, has_flags, data BLOB)
    raw_files(id PK, run_id, device, path, format, size_bytes, sha256, created_at)
    programme_starts(id PK, day, profile, stage, limits_json, created_at)   the programme (gait.programme)
    programme_checkins(id PK, day, moment, back_nrs, leg_nrs, leg_extent, new_numbness, new_weakness, created_at,
                       calf_nrs, achilles_nrs)                                  (v6: asked with a softer-landing focus)
    programme_screens(id PK, day, answers_json, created_at)                  red-flag answers {id: bool}
    programme_clearances(id PK, day, note, created_at)                       recorded clinician reviews
    programme_sessions(id PK, day, stage, kind, completed, running_min, zone, created_at)
    programme_focus(id PK, day, metric, baseline, delta_pct, speed_mps, foot_sensor, created_at)
                                                                             retraining focus starts
    programme_focus_values(id PK, day, metric, kind 'run'|'probe', label, value, speed_mps, created_at)
    programme_timers(id PK, day, kind 'heat'|'ice', planned_min, started_at (unix s), created_at)
    programme_yoga(id PK, day, minutes, setting 'class'|'home', pain_nrs, new_leg_symptoms, created_at)
    programme_shoe_starts(id PK, day, surface, soles_numb, foot_bone_injury_12m, created_at)
    programme_footwear(id PK, day, footwear 'regular'|'minimal'|'barefoot', activity 'walk'|'run'|'check',
                       minutes, foot_pain_nrs, bone_spot, created_at)        what each run was run in

``day`` columns are ISO dates (YYYY-MM-DD): the day a programme record acts on. The programme's
records are health data: they stay in this file (nothing of them is sent to InfluxDB).

The steps table holds one column per step field of `gait.core.step_fields.STEP_FIELDS` (a field
newer than the database is added when the store opens it: `ensure_step_columns`); the DDL below
is history and stays as it was written.

Times named ``*_s`` are stream times (the recording's time base, as in the records); wall
clock = runs.start_time + (time_s - runs.stream_t0_s). ``start_time``, ``end_time`` and
``last_write`` are unix seconds.

History:
    v1  first layout: quality flags as one text column, no raw sample chunks, no speeds,
        no cached summaries, no heartbeat.
    v2  quality flags as a bit mask (fast filters, compact numpy reads) plus a text column for
        flags this version does not know; steps.device and steps.speed_mps; runs.stream_t0_s,
        runs.last_write (heartbeat used by crash recovery), runs.summary_json; tables speeds and
        raw_chunks; indexes for the time-line queries.
    v3  the programme around the run: starts, pain check-ins, red-flag screens, clinician reviews,
        sessions (zone = the class last computed by the rules; the rules recompute it).
    v4  retraining one focus at a time: focus starts (metric, the runner's own baseline, the change
        asked for) and the focus metric's values (a session's mean, retention probes).
    v5  care around the run: heat and ice timers, the yoga log, the minimal-shoe transition's starts
        and the footwear of each day's walking or running (with foot pain and bone-spot checks).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass

from gait.core.errors import GaitError
from gait.core.step_fields import FLAGS, STEP_FIELDS, StepField

SCHEMA_VERSION = 6

RUN_OPEN = "open"
RUN_CLOSED = "closed"
RUN_INTERRUPTED = "interrupted"
RUN_STATUSES = (RUN_OPEN, RUN_CLOSED, RUN_INTERRUPTED)

# Stable bit assignment for StepMetrics.quality flags. Append only: a stored bit never changes
# meaning. Flags not listed here are kept verbatim in steps.quality_other.
QUALITY_BITS: dict[str, int] = {
    "gap": 1 << 0,
    "clipping": 1 << 1,
    "implausible": 1 << 2,
    "low_sample_rate": 1 << 3,
    "nan": 1 << 4,
    "no_gyro": 1 << 5,
    "uncalibrated": 1 << 6,
    "warmup": 1 << 7,
    "unvalidated": 1 << 8,
    "side_uncertain": 1 << 9,
    "near_boundary": 1 << 10,
    "walking": 1 << 11,
}


class SchemaError(GaitError):
    """The database cannot be used with this version of the program."""


def quality_to_mask(flags: tuple[str, ...] | list[str]) -> tuple[int, str | None]:
    """(bit mask of the known flags, comma-joined unknown flags or None)."""
    mask = 0
    other: list[str] = []
    for flag in flags:
        bit = QUALITY_BITS.get(flag)
        if bit is None:
            other.append(flag)
        else:
            mask |= bit
    return mask, (",".join(other) if other else None)


_BIT_ORDER = sorted(QUALITY_BITS.items(), key=lambda kv: kv[1])


def mask_to_quality(mask: int, other: str | None = None) -> tuple[str, ...]:
    """Inverse of `quality_to_mask` (known flags in bit order, then the others)."""
    flags = [name for name, bit in _BIT_ORDER if mask & bit]
    if other:
        flags.extend(f for f in other.split(",") if f)
    return tuple(flags)


# --- the steps table's columns, from the step field registry ------------------------------------

QUALITY_COLUMNS = ("quality_mask", "quality_other")  # a FLAGS field: known flags as bits, the others as text
STORE_STEP_COLUMNS = ("run_id", "step_index", "device", "speed_mps")  # the store's own, not step fields


def field_columns(f: StepField) -> tuple[str, ...]:
    """The steps-table columns that hold one step field."""
    return QUALITY_COLUMNS if f.kind == FLAGS else (f.name,)


STEP_FIELD_COLUMNS = tuple(c for f in STEP_FIELDS for c in field_columns(f))


def ensure_step_columns(conn: sqlite3.Connection) -> list[str]:
    """Add the columns of step fields newer than the database (NULL for the steps stored before);
    returns the columns added. Additive only, so a database stays readable by older versions.
    ``conn`` must be in autocommit mode, as for `migrate`."""
    def missing() -> list[StepField]:
        have = {row[1] for row in conn.execute("PRAGMA table_info(steps)")}
        return [f for f in STEP_FIELDS if f.kind != FLAGS and f.name not in have]

    if not missing():
        return []
    conn.execute("BEGIN IMMEDIATE")
    try:
        added = missing()  # another process may have added them meanwhile
        for f in added:
            sql_type = f.sql_type.replace(" NOT NULL", "")  # earlier rows have no value
            conn.execute(f"ALTER TABLE steps ADD COLUMN {f.name} {sql_type}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return [f.name for f in added]


# --- migrations ----------------------------------------------------------------------------

V1_DDL = """
CREATE TABLE schema_version (
    version INTEGER PRIMARY KEY,
    applied_at REAL NOT NULL,
    description TEXT NOT NULL DEFAULT ''
);
CREATE TABLE runners (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL,
    notes TEXT NOT NULL DEFAULT ''
);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    runner_id INTEGER REFERENCES runners(id),
    start_time REAL NOT NULL,
    end_time REAL,
    devices TEXT NOT NULL DEFAULT '[]',
    placement TEXT,
    side TEXT,
    config_json TEXT,
    software_version TEXT,
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed', 'interrupted')),
    notes TEXT NOT NULL DEFAULT ''
);
CREATE TABLE steps (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step_index INTEGER NOT NULL,
    ic_s REAL NOT NULL,
    to_s REAL NOT NULL,
    side TEXT,
    gct_ms REAL,
    flight_ms REAL,
    cadence_spm REAL,
    vo_cm REAL,
    vertical_ratio_pct REAL,
    fsa_deg REAL,
    strike TEXT,
    lean_deg REAL,
    impact_g REAL,
    duty_factor REAL,
    quality TEXT NOT NULL DEFAULT '',
    emitted_s REAL,
    PRIMARY KEY (run_id, step_index)
) WITHOUT ROWID;
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    time_s REAL NOT NULL,
    rule TEXT NOT NULL,
    kind TEXT NOT NULL,
    message TEXT NOT NULL,
    value REAL,
    target TEXT NOT NULL DEFAULT '',
    severity TEXT NOT NULL DEFAULT 'info'
);
CREATE TABLE pain_notes (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    time_s REAL NOT NULL,
    score INTEGER NOT NULL CHECK (score BETWEEN 0 AND 10),
    phase TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE TABLE gaps (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    device TEXT,
    start_s REAL NOT NULL,
    end_s REAL NOT NULL,
    missing_samples INTEGER NOT NULL
);
CREATE TABLE quality_events (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    device TEXT,
    time_s REAL NOT NULL,
    code TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE TABLE raw_files (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    device TEXT,
    path TEXT NOT NULL,
    format TEXT NOT NULL,
    size_bytes INTEGER,
    sha256 TEXT,
    created_at REAL NOT NULL
);
CREATE INDEX runs_start ON runs(start_time);
"""


def _v1(conn: sqlite3.Connection) -> None:
    for statement in _statements(V1_DDL):
        conn.execute(statement)


V2_STEPS_DDL = """
CREATE TABLE steps_v2 (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step_index INTEGER NOT NULL,
    device TEXT,
    ic_s REAL NOT NULL,
    to_s REAL NOT NULL,
    side TEXT,
    gct_ms REAL,
    flight_ms REAL,
    cadence_spm REAL,
    vo_cm REAL,
    vertical_ratio_pct REAL,
    fsa_deg REAL,
    strike TEXT,
    lean_deg REAL,
    impact_g REAL,
    duty_factor REAL,
    quality_mask INTEGER NOT NULL DEFAULT 0,
    quality_other TEXT,
    emitted_s REAL,
    speed_mps REAL,
    PRIMARY KEY (run_id, step_index)
) WITHOUT ROWID
"""

V2_DDL = """
ALTER TABLE runs ADD COLUMN stream_t0_s REAL NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN last_write REAL;
ALTER TABLE runs ADD COLUMN summary_json TEXT;
CREATE TABLE speeds (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    device TEXT,
    time_s REAL NOT NULL,
    speed_mps REAL NOT NULL,
    source TEXT NOT NULL DEFAULT ''
);
CREATE TABLE raw_chunks (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    device TEXT,
    t0_s REAL NOT NULL,
    t1_s REAL NOT NULL,
    n INTEGER NOT NULL,
    index0 INTEGER NOT NULL,
    codec TEXT NOT NULL,
    has_gyro INTEGER NOT NULL,
    has_flags INTEGER NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX runs_status ON runs(status);
CREATE INDEX alerts_run ON alerts(run_id, time_s);
CREATE INDEX pain_run ON pain_notes(run_id, time_s);
CREATE INDEX gaps_run ON gaps(run_id, start_s);
CREATE INDEX quality_events_run ON quality_events(run_id, time_s);
CREATE INDEX speeds_run ON speeds(run_id, time_s);
CREATE INDEX raw_chunks_run ON raw_chunks(run_id, device, t0_s);
CREATE INDEX raw_files_run ON raw_files(run_id)
"""

_V2_STEP_COLS = (
    "run_id, step_index, ic_s, to_s, side, gct_ms, flight_ms, cadence_spm, vo_cm, vertical_ratio_pct, "
    "fsa_deg, strike, lean_deg, impact_g, duty_factor, emitted_s"
)


def _v1_to_v2(conn: sqlite3.Connection) -> None:
    conn.execute(V2_STEPS_DDL)
    cur = conn.execute(f"SELECT {_V2_STEP_COLS}, quality FROM steps")
    insert = f"INSERT INTO steps_v2 ({_V2_STEP_COLS}, quality_mask, quality_other) VALUES ({', '.join('?' * 18)})"
    while True:
        rows = cur.fetchmany(10_000)
        if not rows:
            break
        out = []
        for row in rows:
            text = row[-1] or ""
            mask, other = quality_to_mask([f.strip() for f in text.split(",") if f.strip()])
            out.append((*row[:-1], mask, other))
        conn.executemany(insert, out)
    conn.execute("DROP TABLE steps")
    conn.execute("ALTER TABLE steps_v2 RENAME TO steps")
    for statement in _statements(V2_DDL):
        conn.execute(statement)


V3_DDL = """
CREATE TABLE programme_starts (
    id INTEGER PRIMARY KEY,
    day TEXT NOT NULL,
    profile TEXT NOT NULL CHECK (profile IN ('sciatica', 'general')),
    stage INTEGER NOT NULL CHECK (stage BETWEEN 0 AND 8),
    limits_json TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL
);
CREATE TABLE programme_checkins (
    id INTEGER PRIMARY KEY,
    day TEXT NOT NULL,
    moment TEXT NOT NULL CHECK (moment IN ('pre', 'during', 'after', 'morning')),
    back_nrs INTEGER NOT NULL CHECK (back_nrs BETWEEN 0 AND 10),
    leg_nrs INTEGER NOT NULL CHECK (leg_nrs BETWEEN 0 AND 10),
    leg_extent INTEGER CHECK (leg_extent BETWEEN 0 AND 4),
    new_numbness INTEGER NOT NULL DEFAULT 0,
    new_weakness INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL
);
CREATE TABLE programme_screens (
    id INTEGER PRIMARY KEY,
    day TEXT NOT NULL,
    answers_json TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE programme_clearances (
    id INTEGER PRIMARY KEY,
    day TEXT NOT NULL,
    note TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE programme_sessions (
    id INTEGER PRIMARY KEY,
    day TEXT NOT NULL,
    stage INTEGER NOT NULL CHECK (stage BETWEEN 0 AND 8),
    kind TEXT NOT NULL CHECK (kind IN ('walk', 'walk-run', 'run')),
    completed INTEGER NOT NULL DEFAULT 1,
    running_min REAL NOT NULL DEFAULT 0,
    zone TEXT CHECK (zone IN ('green', 'amber', 'red', 'unknown')),
    created_at REAL NOT NULL
);
CREATE INDEX programme_checkins_day ON programme_checkins(day);
CREATE INDEX programme_sessions_day ON programme_sessions(day)
"""


def _v2_to_v3(conn: sqlite3.Connection) -> None:
    for statement in _statements(V3_DDL):
        conn.execute(statement)


V4_DDL = """
CREATE TABLE programme_focus (
    id INTEGER PRIMARY KEY,
    day TEXT NOT NULL,
    metric TEXT NOT NULL CHECK (metric IN ('cadence', 'landing', 'lean')),
    baseline REAL NOT NULL,
    delta_pct REAL NOT NULL,
    speed_mps REAL,
    foot_sensor INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL
);
CREATE TABLE programme_focus_values (
    id INTEGER PRIMARY KEY,
    day TEXT NOT NULL,
    metric TEXT NOT NULL CHECK (metric IN ('cadence', 'landing', 'lean')),
    kind TEXT NOT NULL CHECK (kind IN ('run', 'probe')),
    label TEXT NOT NULL DEFAULT '',
    value REAL NOT NULL,
    speed_mps REAL,
    created_at REAL NOT NULL
);
CREATE INDEX programme_focus_values_day ON programme_focus_values(day)
"""


def _v3_to_v4(conn: sqlite3.Connection) -> None:
    for statement in _statements(V4_DDL):
        conn.execute(statement)


V5_DDL = """
CREATE TABLE programme_timers (
    id INTEGER PRIMARY KEY,
    day TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('heat', 'ice')),
    planned_min REAL NOT NULL CHECK (planned_min > 0 AND planned_min <= 20),
    started_at REAL NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE programme_yoga (
    id INTEGER PRIMARY KEY,
    day TEXT NOT NULL,
    minutes REAL NOT NULL CHECK (minutes > 0),
    setting TEXT NOT NULL CHECK (setting IN ('class', 'home')),
    pain_nrs INTEGER CHECK (pain_nrs BETWEEN 0 AND 10),
    new_leg_symptoms INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL
);
CREATE TABLE programme_shoe_starts (
    id INTEGER PRIMARY KEY,
    day TEXT NOT NULL,
    surface TEXT NOT NULL CHECK (surface IN ('soft', 'smooth-hard')),
    soles_numb INTEGER NOT NULL DEFAULT 0,
    foot_bone_injury_12m INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL
);
CREATE TABLE programme_footwear (
    id INTEGER PRIMARY KEY,
    day TEXT NOT NULL,
    footwear TEXT NOT NULL CHECK (footwear IN ('regular', 'minimal', 'barefoot')),
    activity TEXT NOT NULL CHECK (activity IN ('walk', 'run', 'check')),
    minutes REAL NOT NULL DEFAULT 0,
    foot_pain_nrs INTEGER CHECK (foot_pain_nrs BETWEEN 0 AND 10),
    bone_spot INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL
);
CREATE INDEX programme_footwear_day ON programme_footwear(day)
"""


def _v4_to_v5(conn: sqlite3.Connection) -> None:
    for statement in _statements(V5_DDL):
        conn.execute(statement)


def _v5_to_v6(conn: sqlite3.Connection) -> None:
    for column in ("calf_nrs", "achilles_nrs"):
        conn.execute(f"ALTER TABLE programme_checkins ADD COLUMN {column} INTEGER CHECK ({column} BETWEEN 0 AND 10)")


@dataclass(frozen=True)
class Migration:
    version: int  # the version the database has after this migration
    description: str
    apply: Callable[[sqlite3.Connection], None]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial layout", _v1),
    Migration(2, "quality bit mask, speeds, raw sample chunks, heartbeat, cached summaries", _v1_to_v2),
    Migration(3, "the programme around the run: starts, check-ins, screens, clinician reviews, sessions", _v2_to_v3),
    Migration(4, "retraining one focus at a time: focus starts, the focus metric's run and probe values", _v3_to_v4),
    Migration(5, "care around the run: heat and ice timers, the yoga log, the minimal-shoe transition and footwear",
              _v4_to_v5),
    Migration(6, "calf and Achilles pain in the check-ins (asked while a softer-landing focus is active)", _v5_to_v6),
)
assert MIGRATIONS[-1].version == SCHEMA_VERSION
assert [m.version for m in MIGRATIONS] == list(range(1, SCHEMA_VERSION + 1))


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def current_version(conn: sqlite3.Connection) -> int:
    """The schema version recorded in the database (0 for an empty database)."""
    has_table = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").fetchone()
    if not has_table:
        tables = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
        if tables:
            raise SchemaError("the database has tables but no schema_version table: not a gait store")
        return 0
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def migrate(conn: sqlite3.Connection, target: int = SCHEMA_VERSION) -> list[int]:
    """Bring the database to ``target``; returns the versions applied (empty if up to date).

    Each migration runs in its own IMMEDIATE transaction, so two processes opening an old
    database at once do not both migrate it, and a crash mid-migration leaves the previous
    version intact. ``conn`` must be in autocommit mode (``isolation_level=None``).
    """
    applied: list[int] = []
    version = current_version(conn)
    if version > SCHEMA_VERSION:
        raise SchemaError(
            f"the database has schema version {version}, newer than this program knows "
            f"({SCHEMA_VERSION}); upgrade gait to open it"
        )
    for migration in MIGRATIONS:
        if migration.version <= version or migration.version > target:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            if current_version(conn) >= migration.version:  # another process got there first
                conn.execute("COMMIT")
                continue
            migration.apply(conn)
            conn.execute(
                "INSERT INTO schema_version (version, applied_at, description) VALUES (?, ?, ?)",
                (migration.version, time.time(), migration.description),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        applied.append(migration.version)
    return applied
