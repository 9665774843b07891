"""The retraining records in the local store (schema v4 tables ``programme_focus*``).

    add_focus(ps, FocusStart(day, "cadence", baseline=160.0, delta_pct=5.0, speed_mps=2.8))
    add_value(ps, FocusValue(day, "cadence", "probe", 166.4, label="7d"))
    starts, values = focus_records(ps)
    baseline_from_run(store, metric="cadence")      # the median of the latest stored run's running steps

Health data: it stays in the local SQLite file, as the rest of the programme's records.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from gait.programme.retrain import METRIC_STEP_FIELD, FocusStart, FocusValue
from gait.programme.store import ProgrammeStore
from gait.storage.local import Store

WARMUP_FLAG = "warmup"
RUNNING_MIN_SPM = 130.0  # design choice: a step counts as running with a flight phase, or (no flight
# time measured) at a cadence of 130 spm or more; warm-up and implausible steps are left out


def add_focus(ps: ProgrammeStore, f: FocusStart) -> int:
    with ps.store.transaction() as c:
        cur = c.execute("INSERT INTO programme_focus (day, metric, baseline, delta_pct, speed_mps, foot_sensor, "
                        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (f.day.isoformat(), f.metric, f.baseline, f.delta_pct, f.speed_mps, int(f.foot_sensor),
                         time.time()))
        return int(cur.lastrowid or 0)


def add_value(ps: ProgrammeStore, v: FocusValue) -> int:
    with ps.store.transaction() as c:
        cur = c.execute("INSERT INTO programme_focus_values (day, metric, kind, label, value, speed_mps, created_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (v.day.isoformat(), v.metric, v.kind, v.label, v.value, v.speed_mps, time.time()))
        return int(cur.lastrowid or 0)


def focus_records(ps: ProgrammeStore) -> tuple[tuple[FocusStart, ...], tuple[FocusValue, ...]]:
    """Focus starts and values in the order they were written (``seq`` one counter over both)."""
    conn = ps.store.conn
    rows: list[tuple[float, int, str, tuple]] = []
    for r in conn.execute("SELECT created_at, id, day, metric, baseline, delta_pct, speed_mps, foot_sensor "
                          "FROM programme_focus"):
        rows.append((r[0], r[1], "start", r[2:]))
    for r in conn.execute("SELECT created_at, id, day, metric, kind, label, value, speed_mps "
                          "FROM programme_focus_values"):
        rows.append((r[0], r[1], "value", r[2:]))
    rows.sort(key=lambda r: (r[0], r[2] == "value", r[1]))
    starts: list[FocusStart] = []
    values: list[FocusValue] = []
    for seq, (_, _, what, r) in enumerate(rows, start=1):
        day = dt.date.fromisoformat(r[0])
        if what == "start":
            starts.append(FocusStart(day, r[1], float(r[2]), float(r[3]), r[4], bool(r[5]), seq))
        else:
            values.append(FocusValue(day, r[1], r[2], float(r[4]), r[3], r[5], seq))
    return tuple(starts), tuple(values)


@dataclass(frozen=True)
class RunBaseline:
    run_id: int
    value: float
    speed_mps: float | None
    steps: int


def running_step(step: Any) -> bool:
    """One step (`StepMetrics`) is running by the same rule as `running_mask`: a flight phase (or,
    without one, at least `RUNNING_MIN_SPM`), a cadence, and no warm-up, implausible or walking flag."""
    if step.cadence_spm is None or WARMUP_FLAG in step.quality or "implausible" in step.quality or "walking" in step.quality:
        return False
    return step.flight_ms > 0 if step.flight_ms is not None else step.cadence_spm >= RUNNING_MIN_SPM


def running_mask(cols) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The running steps of a stored run (see `RUNNING_MIN_SPM`; `running_step` is the same rule
    for one step in a live run)."""
    cadence = cols.cadence_spm
    flight = cols.flight_ms
    has_flight = np.isfinite(flight)
    running = np.where(has_flight, flight > 0, cadence >= RUNNING_MIN_SPM)
    bad = cols.has_flag(WARMUP_FLAG) | cols.has_flag("implausible") | cols.has_flag("walking")
    return running & ~bad & np.isfinite(cadence)


def baseline_from_run(store: Store, metric: str, run_id: int | None = None) -> RunBaseline | None:
    """The focus metric's median over the running steps of a stored run (the latest by default),
    with the median speed where the run has one; None when no run or no value."""
    ids = [run_id] if run_id is not None else store.run_ids()
    if not ids:
        return None
    rid = ids[0]
    cols = store.steps(rid)
    if len(cols) == 0:
        return None
    mask = running_mask(cols)
    values = getattr(cols, METRIC_STEP_FIELD[metric])[mask]
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    speeds = cols.speed_mps[mask]
    speeds = speeds[np.isfinite(speeds)]
    speed = float(np.median(speeds)) if speeds.size else None
    value = float(np.median(values))
    return RunBaseline(rid, value, None if speed is None or not math.isfinite(speed) else speed, int(values.size))
