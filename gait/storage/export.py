"""Export a stored run (CSV, Parquet, FIT) and import a watch's running dynamics from FIT.

    export_csv(store, run_id, folder)      -> {"steps": .csv, "alerts": .csv, "pain": .csv}
    export_parquet(store, run_id, folder)  -> {"steps": .parquet, "alerts": .parquet}   (pyarrow)
    export_fit(store, run_id, path)        -> a FIT activity file                        (garmin-fit-sdk)
    read_fit_dynamics(path)                -> WatchDynamics (a watch's per-record running dynamics)
    compare_run_with_fit(store, run_id, path) -> Comparison (mean differences ours - watch)

FIT goes through Garmin's official Python SDK (``garmin-fit-sdk``): it decodes, and since
21.200 it encodes as well, so one maintained library that tracks Garmin's profile does both
directions. The FIT activity has the standard running-dynamics ``record`` fields, one record per
second of the run (FIT timestamps are whole seconds; a second's steps are averaged, as watches
do; steps flagged implausible, warm-up or walking are left out of the records and averages): ``cadence`` (strides/min of one foot, i.e. steps/min / 2) + ``fractional_cadence``,
``vertical_oscillation`` (mm), ``stance_time`` (ms), ``stance_time_percent`` (% of the stride),
``stance_time_balance`` (% of contact time on the left, over the last 20 steps), ``step_length``
(mm, when speed is known), ``vertical_ratio`` (%), ``speed``/``distance`` when known. Metrics
FIT has no field for go into developer fields (FIT 2.0, self-described with units):
``foot_strike_angle`` (deg), ``foot_strike`` (0 rearfoot, 1 midfoot, 2 forefoot), ``trunk_lean``
(deg), ``impact`` (g). Lap, session and activity messages close the file, so it opens in
Garmin Connect, GoldenCheetah, Runalyze and the like.

Reading a watch's file checks its framing first (`check_fit_bytes`: headers, sizes, file CRCs; a
header CRC of 0x0000 is "not computed" and accepted) and raises `FitFileError` with one line
naming the file and what is wrong. Each record's cadence is read with its own session's sport:
running and walking cadence is doubled to steps/min, any other (cycling: crank rpm) is not a step
cadence and is never compared with ours. A comparison leaves out our steps that the FIT export
leaves out (`flagged_out`) and the watch's records with cadence 0 (standing still or paused), and
says how many of each.

pyarrow and garmin-fit-sdk are imported when used, so the store works without them.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gait.core.errors import GaitError
from gait.core.step_fields import CLASS, FIELD_BY_NAME, FLAGS, STEP_FIELDS, TEXT, TIME, StepField
from gait.storage.local import StepColumns, Store

FIT_APP_ID = uuid.uuid5(uuid.NAMESPACE_URL, "gait-form/running-dynamics").bytes
STRIKE_CODES = {name: i for i, name in enumerate(FIELD_BY_NAME["strike"].classes)}  # FIT: 0 rear, 1 mid, 2 fore
STRIKE_NAMES = {v: k for k, v in STRIKE_CODES.items()}
BALANCE_WINDOW_STEPS = 20

# The step fields a FIT record carries: native running-dynamics fields and developer fields.
_FIT_NATIVE = tuple(f for f in STEP_FIELDS if f.fit is not None and not f.fit.developer)
_FIT_DEVELOPER = tuple(f for f in STEP_FIELDS if f.fit is not None and f.fit.developer)


def _export_columns() -> tuple[str, ...]:
    """The steps' CSV and Parquet columns: the step's number, device and wall-clock time, then the
    step fields in registry order with the run's speed before the quality flags."""
    names = [f.name for f in STEP_FIELDS]
    at = next(i for i, f in enumerate(STEP_FIELDS) if f.kind == FLAGS)
    return ("step_index", "device", "wall_time", *names[:at], "speed_mps", *names[at:])


STEP_EXPORT_COLUMNS = _export_columns()


def _parquet_columns() -> tuple[str, ...]:
    """The CSV's columns, but ``side`` after ``fsa_deg`` where the Parquet table always had it
    (kept for readers by position)."""
    names = [c for c in STEP_EXPORT_COLUMNS if c != "side"]
    names.insert(names.index("fsa_deg") + 1, "side")
    return tuple(names)


_PARQUET_COLUMNS = _parquet_columns()
_TIME_COLS = {f.name for f in STEP_FIELDS if f.kind == TIME}


def _iso(unix_s: float) -> str:
    return dt.datetime.fromtimestamp(unix_s, tz=dt.UTC).isoformat(timespec="milliseconds")


def _csv_value(name: str, v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, (float, np.floating)):
        if not math.isfinite(v):
            return ""
        return f"{v:.4f}" if name in _TIME_COLS else repr(round(float(v), 4))
    return v


def _step_rows(store: Store, run_id: int) -> tuple[StepColumns, list[dict[str, Any]]]:
    info = store.run(run_id)
    cols = store.steps(run_id)
    speed = store.step_speeds(run_id, cols)
    wall = info.wall_time(cols.ic_s)
    rows = []
    for i in range(len(cols)):
        row: dict[str, Any] = {
            "step_index": int(cols.step_index[i]),
            "device": cols.device[i],
            "wall_time": _iso(float(wall[i])),
            "speed_mps": None if speed is None else speed[i],
        }
        for f in STEP_FIELDS:
            row[f.name] = ";".join(cols.quality(i)) if f.kind == FLAGS else getattr(cols, f.name)[i]
        rows.append(row)
    return cols, rows


# --- CSV --------------------------------------------------------------------------------------


def export_steps_csv(store: Store, run_id: int, path: str | Path) -> Path:
    """One row per step; quality flags joined with ';'; empty cells for missing values."""
    path = Path(path)
    _, rows = _step_rows(store, run_id)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(STEP_EXPORT_COLUMNS)
        for row in rows:
            w.writerow([_csv_value(k, row[k]) for k in STEP_EXPORT_COLUMNS])
    return path


ALERT_COLUMNS = ("wall_time", "time_s", "rule", "kind", "severity", "value", "target", "message")


def export_alerts_csv(store: Store, run_id: int, path: str | Path) -> Path:
    path = Path(path)
    info = store.run(run_id)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(ALERT_COLUMNS)
        for a in store.alerts(run_id):
            w.writerow(
                [
                    _iso(float(info.wall_time(a.time_s))),
                    f"{a.time_s:.4f}",
                    a.rule,
                    a.kind,
                    a.severity,
                    _csv_value("value", a.value),
                    a.target,
                    a.message,
                ]
            )
    return path


def export_pain_csv(store: Store, run_id: int, path: str | Path) -> Path:
    path = Path(path)
    info = store.run(run_id)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(("wall_time", "time_s", "phase", "score", "note"))
        for p in store.pain_notes(run_id):
            w.writerow([_iso(float(info.wall_time(p.time_s))), f"{p.time_s:.4f}", p.phase, p.score, p.note])
    return path


def export_csv(store: Store, run_id: int, folder: str | Path) -> dict[str, Path]:
    """``run-<id>-steps.csv``, ``run-<id>-alerts.csv`` and ``run-<id>-pain.csv`` in ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "steps": export_steps_csv(store, run_id, folder / f"run-{run_id}-steps.csv"),
        "alerts": export_alerts_csv(store, run_id, folder / f"run-{run_id}-alerts.csv"),
        "pain": export_pain_csv(store, run_id, folder / f"run-{run_id}-pain.csv"),
    }


# --- Parquet ----------------------------------------------------------------------------------


def _pyarrow() -> Any:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover - dependency missing
        raise ImportError("Parquet export needs pyarrow: pip install 'pyarrow>=14'") from exc
    return pa, pq


def _run_metadata(store: Store, run_id: int) -> dict[bytes, bytes]:
    info = store.run(run_id)
    meta = {k: v for k, v in info.__dict__.items()}
    return {b"gait.run": json.dumps(meta).encode("utf-8")}


def steps_table(store: Store, run_id: int) -> Any:
    """A pyarrow Table of the run's steps (nulls for missing values, quality as list<string>)."""
    pa, _ = _pyarrow()
    info = store.run(run_id)
    cols = store.steps(run_id)
    speed = store.step_speeds(run_id, cols)
    wall_ms = np.round(info.wall_time(cols.ic_s) * 1000.0).astype(np.int64)

    def f64(a: np.ndarray) -> Any:
        return pa.array(a, type=pa.float64(), mask=~np.isfinite(a))

    special = {
        "step_index": pa.array(cols.step_index, type=pa.int64()),
        "device": pa.array(list(cols.device), type=pa.string()),
        "wall_time": pa.array(wall_ms, type=pa.timestamp("ms", tz="UTC")),
        "speed_mps": f64(speed if speed is not None else np.full(len(cols), np.nan)),
    }

    def field_array(f: StepField) -> Any:
        if f.kind == FLAGS:
            return pa.array([list(cols.quality(i)) for i in range(len(cols))], type=pa.list_(pa.string()))
        if f.kind in (TEXT, CLASS):
            return pa.array(list(getattr(cols, f.name)), type=pa.string()).dictionary_encode()
        return f64(getattr(cols, f.name))

    arrays = {name: special[name] if name in special else field_array(FIELD_BY_NAME[name]) for name in _PARQUET_COLUMNS}
    table = pa.table(arrays)
    return table.replace_schema_metadata(_run_metadata(store, run_id))


def alerts_table(store: Store, run_id: int) -> Any:
    pa, _ = _pyarrow()
    alerts = store.alerts(run_id)
    return pa.table(
        {
            "time_s": pa.array([a.time_s for a in alerts], type=pa.float64()),
            "rule": pa.array([a.rule for a in alerts], type=pa.string()),
            "kind": pa.array([a.kind for a in alerts], type=pa.string()),
            "severity": pa.array([a.severity for a in alerts], type=pa.string()),
            "value": pa.array([a.value for a in alerts], type=pa.float64()),
            "target": pa.array([a.target for a in alerts], type=pa.string()),
            "message": pa.array([a.message for a in alerts], type=pa.string()),
        }
    ).replace_schema_metadata(_run_metadata(store, run_id))


def export_parquet(store: Store, run_id: int, folder: str | Path) -> dict[str, Path]:
    """``run-<id>-steps.parquet`` and ``run-<id>-alerts.parquet`` (zstd); run metadata in the schema."""
    _, pq = _pyarrow()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = {
        "steps": folder / f"run-{run_id}-steps.parquet",
        "alerts": folder / f"run-{run_id}-alerts.parquet",
    }
    pq.write_table(steps_table(store, run_id), out["steps"], compression="zstd")
    pq.write_table(alerts_table(store, run_id), out["alerts"], compression="zstd")
    return out


# --- FIT export -------------------------------------------------------------------------------


def _fit() -> Any:
    try:
        import garmin_fit_sdk as fit
    except ImportError as exc:  # pragma: no cover - dependency missing
        raise ImportError("FIT needs Garmin's SDK: pip install 'garmin-fit-sdk>=21.200'") from exc
    if not hasattr(fit, "Encoder"):  # pragma: no cover - too old
        raise ImportError("FIT export needs garmin-fit-sdk >= 21.200 (the first with an Encoder)")
    return fit


@dataclass
class SecondSeries:
    """Steps averaged per whole second of wall time (what one FIT record carries).

    ``fields``: per step field with a FIT field, its mean (a CLASS field: the code of the most
    frequent class, NaN when unknown), also readable as an attribute (``sec.vo_cm``)."""

    time_s: np.ndarray  # unix seconds (integers as float)
    steps: np.ndarray  # steps in the second
    fields: dict[str, np.ndarray]
    balance_left_pct: np.ndarray
    speed_mps: np.ndarray
    step_length_m: np.ndarray
    distance_m: np.ndarray

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            return self.__dict__["fields"][name]
        except KeyError:
            raise AttributeError(name) from None


def _bin_mean(key: np.ndarray, values: np.ndarray, nbins: int) -> np.ndarray:
    ok = np.isfinite(values)
    s = np.bincount(key[ok], weights=values[ok], minlength=nbins)
    n = np.bincount(key[ok], minlength=nbins)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, s / np.maximum(n, 1), np.nan)


def per_second(
    wall_s: np.ndarray, cols: StepColumns, speed: np.ndarray | None, distance: np.ndarray | None
) -> SecondSeries:
    """Average steps into whole wall-clock seconds (seconds without a step are left out)."""
    order = np.argsort(wall_s, kind="stable")
    wall_s = wall_s[order]
    cols = cols.select(order)
    sec = np.floor(wall_s).astype(np.int64)
    uniq, key = np.unique(sec, return_inverse=True)
    nb = uniq.size

    def mean(a: np.ndarray) -> np.ndarray:
        return _bin_mean(key, np.asarray(a, dtype=np.float64), nb)

    # stance time balance: left share of contact time over the trailing BALANCE_WINDOW_STEPS steps
    gct = np.nan_to_num(cols.gct_ms, nan=0.0)
    left = (cols.side == "left") & np.isfinite(cols.gct_ms)
    right = (cols.side == "right") & np.isfinite(cols.gct_ms)

    def trailing(a: np.ndarray) -> np.ndarray:
        c = np.concatenate([[0.0], np.cumsum(a)])
        idx = np.arange(1, a.size + 1)
        return c[idx] - c[np.maximum(idx - BALANCE_WINDOW_STEPS, 0)]

    lsum, rsum = trailing(gct * left), trailing(gct * right)
    ln, rn = trailing(left.astype(float)), trailing(right.astype(float))
    with np.errstate(invalid="ignore", divide="ignore"):
        lmean, rmean = lsum / ln, rsum / rn
        bal = np.where((ln > 0) & (rn > 0), 100.0 * lmean / (lmean + rmean), np.nan)
    last_in_bin = np.full(nb, -1, dtype=np.int64)
    last_in_bin[key] = np.arange(key.size)  # later indexes overwrite: the last step of each second
    balance = bal[last_in_bin]

    def majority(f: StepField) -> np.ndarray:
        codes = np.array([f.code(v) if v is not None else -1 for v in getattr(cols, f.name)], dtype=np.int64)
        out = np.full(nb, np.nan)
        known = codes >= 0
        if known.any():
            counts = np.zeros((nb, len(f.classes)))
            np.add.at(counts, (key[known], codes[known]), 1.0)
            has = counts.sum(axis=1) > 0
            out[has] = np.argmax(counts[has], axis=1)
        return out

    per_field = {
        f.name: majority(f) if f.kind == CLASS else mean(getattr(cols, f.name))
        for f in STEP_FIELDS
        if f.fit is not None
    }
    cad = per_field["cadence_spm"]
    spd = mean(speed) if speed is not None else np.full(nb, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        step_len = np.where((cad > 0) & np.isfinite(spd), spd * 60.0 / cad, np.nan)
    if distance is not None:
        dist = distance[order]
        dmax = np.full(nb, np.nan)
        dmax[key[::-1]] = dist[::-1]  # the first step of each second
        dist_rec = np.fmax.accumulate(np.nan_to_num(dmax, nan=0.0))
    else:
        dist_rec = np.full(nb, np.nan)
    return SecondSeries(
        time_s=uniq.astype(np.float64),
        steps=np.bincount(key, minlength=nb),
        fields=per_field,
        balance_left_pct=balance,
        speed_mps=spd,
        step_length_m=step_len,
        distance_m=dist_rec,
    )


EXPORT_LEFT_OUT = ("implausible", "warmup", "walking")  # quality flags of steps a FIT activity leaves out
LEFT_OUT_TEXT = ", ".join(EXPORT_LEFT_OUT[:-1]) + " or " + EXPORT_LEFT_OUT[-1]  # for messages


def flagged_out(cols: StepColumns) -> np.ndarray:
    """Steps left out of the exported per-second records and averages (flagged implausible, warm-up or walking)."""
    out = np.zeros(len(cols), dtype=bool)
    for flag in EXPORT_LEFT_OUT:
        out |= cols.has_flag(flag)
    return out


def _v(x: float, scale: float = 1.0, lo: float = 0.0, hi: float = math.inf) -> float | None:
    """A finite value in range (after scaling) or None (the field is left out)."""
    if x is None or not math.isfinite(x):
        return None
    y = float(x) * scale
    return y if lo <= y <= hi else None


def _cadence_fields(spm: float) -> dict[str, Any]:
    if not math.isfinite(spm) or spm <= 0:
        return {}
    ticks = round(spm / 2.0 * 128.0)  # strides/min in 1/128 steps (fractional_cadence's scale)
    whole = min(ticks // 128, 254)
    return {"cadence": whole, "fractional_cadence": (ticks - whole * 128) / 128.0 if whole < 254 else 0.0}


def _fit_native(f: StepField, value: float) -> dict[str, Any]:
    """The FIT record fields of one native running-dynamics step field (left out when unknown)."""
    assert f.fit is not None
    if f.fit.name == "cadence":
        return _cadence_fields(value)
    return {f.fit.name: _v(value, f.fit.scale, 0, f.fit.max_value)}


def _fit_datetime(unix_s: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(unix_s), tz=dt.UTC)


def fit_activity_bytes(store: Store, run_id: int, *, developer_fields: bool = True) -> bytes:
    """Encode a stored run as a FIT activity (see the module doc for the fields)."""
    fit = _fit()
    M = fit.Profile["mesg_num"]
    info = store.run(run_id)
    cols = store.steps(run_id)
    if len(cols) == 0:
        raise ValueError(f"run {run_id} has no steps to export")
    speed = store.step_speeds(run_id, cols)
    distance = store.distances(run_id, cols)
    wall = np.asarray(info.wall_time(cols.ic_s), dtype=np.float64)
    # the figures other tools show leave out steps flagged implausible, warm-up or walking
    keep = ~flagged_out(cols)
    if not keep.any():
        raise ValueError(f"run {run_id} has no steps to export: every step is flagged {LEFT_OUT_TEXT}")
    all_cols = cols
    cols = cols.select(np.nonzero(keep)[0])
    speed = speed[keep] if speed is not None else None
    distance = distance[keep] if distance is not None else None
    sec = per_second(wall[keep], cols, speed, distance)

    enc = fit.Encoder()
    start = _fit_datetime(min(info.start_time, float(sec.time_s[0])))
    end_unix = float(sec.time_s[-1]) + 1.0
    end = _fit_datetime(end_unix)
    enc.write_mesg(
        {
            "mesg_num": M["FILE_ID"],
            "type": "activity",
            "manufacturer": "development",
            "product": 0,
            "serial_number": run_id,
            "time_created": start,
        }
    )
    enc.write_mesg(
        {
            "mesg_num": M["DEVICE_INFO"],
            "timestamp": start,
            "device_index": "creator",
            "manufacturer": "development",
            "product": 0,
            "product_name": "gait",
            "software_version": None,
        }
    )
    dev_fields: list[StepField] = []
    if developer_fields:
        dev_id = {
            "mesg_num": M["DEVELOPER_DATA_ID"],
            "developer_data_index": 0,
            "application_id": list(FIT_APP_ID),
            "application_version": 1,
        }
        enc.write_mesg(dev_id)
        for num, f in enumerate(_FIT_DEVELOPER):
            assert f.fit is not None
            if not np.isfinite(sec.fields[f.name]).any():
                continue
            desc = {
                "mesg_num": M["FIELD_DESCRIPTION"],
                "developer_data_index": 0,
                "field_definition_number": num,
                "fit_base_type_id": f.fit.base_type,
                "field_name": f.fit.name,
                "units": f.fit.units,
                "native_mesg_num": M["RECORD"],
            }
            enc.write_mesg(desc)
            enc.add_developer_field(f.fit.name, dev_id, desc)
            dev_fields.append(f)
    enc.write_mesg({"mesg_num": M["EVENT"], "timestamp": start, "event": "timer", "event_type": "start"})

    for i in range(sec.time_s.size):
        rec: dict[str, Any] = {"mesg_num": M["RECORD"], "timestamp": _fit_datetime(sec.time_s[i])}
        for f in _FIT_NATIVE:
            rec.update(_fit_native(f, float(sec.fields[f.name][i])))
        rec["stance_time_balance"] = _v(sec.balance_left_pct[i], 1.0, 0, 100)
        rec["step_length"] = _v(sec.step_length_m[i], 1000.0, 0, 6553)
        rec["enhanced_speed"] = _v(sec.speed_mps[i], 1.0, 0, 4_000_000)
        rec["distance"] = _v(sec.distance_m[i], 1.0, 0, 4.2e7)
        rec["activity_type"] = "running"
        dev = {}
        for f in dev_fields:
            assert f.fit is not None
            val = sec.fields[f.name][i]
            if np.isfinite(val):
                dev[f.fit.name] = int(val) if f.kind == CLASS else float(val)
        if dev:
            rec["developer_fields"] = dev
        enc.write_mesg(rec)

    enc.write_mesg({"mesg_num": M["EVENT"], "timestamp": end, "event": "timer", "event_type": "stop_all"})
    elapsed = end_unix - start.timestamp()
    timer = float(sec.time_s.size)  # seconds with steps: time spent running
    totals = _totals(sec, cols, elapsed, timer)
    totals["total_cycles"] = len(all_cols) // 2  # strides: every step counts, flagged or not
    lap = {
        "mesg_num": M["LAP"],
        "message_index": 0,
        "timestamp": end,
        "start_time": start,
        "event": "lap",
        "event_type": "stop",
        "lap_trigger": "session_end",
        "sport": "running",
        **totals,
    }
    enc.write_mesg(lap)
    session = {
        "mesg_num": M["SESSION"],
        "message_index": 0,
        "timestamp": end,
        "start_time": start,
        "event": "session",
        "event_type": "stop",
        "trigger": "activity_end",
        "sport": "running",
        "sub_sport": "generic",
        "first_lap_index": 0,
        "num_laps": 1,
        **totals,
    }
    enc.write_mesg(session)
    local_offset = dt.datetime.fromtimestamp(end_unix).astimezone().utcoffset() or dt.timedelta(0)
    enc.write_mesg(
        {
            "mesg_num": M["ACTIVITY"],
            "timestamp": end,
            "total_timer_time": timer,
            "num_sessions": 1,
            "type": "manual",
            "event": "activity",
            "event_type": "stop",
            "local_timestamp": int(end.timestamp() + local_offset.total_seconds()) - 631065600,
        }
    )
    return bytes(enc.close())


def _totals(sec: SecondSeries, cols: StepColumns, elapsed: float, timer: float) -> dict[str, Any]:
    def med(a: np.ndarray) -> float:
        a = a[np.isfinite(a)]
        return float(np.mean(a)) if a.size else math.nan

    out: dict[str, Any] = {"total_elapsed_time": elapsed, "total_timer_time": timer}
    for f in _FIT_NATIVE:
        out.update({f"avg_{k}": v for k, v in _fit_native(f, med(getattr(cols, f.name))).items()})
    out["total_cycles"] = len(cols) // 2  # strides (total_strides is its running subfield)
    out["avg_stance_time_balance"] = _v(med(sec.balance_left_pct), 1.0, 0, 100)
    out["avg_step_length"] = _v(med(sec.step_length_m), 1000.0, 0, 6553)
    dist = sec.distance_m[np.isfinite(sec.distance_m)]
    if dist.size:
        out["total_distance"] = float(dist.max())
        out["enhanced_avg_speed"] = float(dist.max()) / timer if timer > 0 else None
    return {k: v for k, v in out.items() if v is not None}


def export_fit(store: Store, run_id: int, path: str | Path, *, developer_fields: bool = True) -> Path:
    path = Path(path)
    path.write_bytes(fit_activity_bytes(store, run_id, developer_fields=developer_fields))
    return path


# --- FIT import (a watch's running dynamics) --------------------------------------------------


@dataclass
class WatchDynamics:
    """Running dynamics of a FIT activity, per record, in this project's units."""

    time_s: np.ndarray  # unix seconds
    cadence_spm: np.ndarray  # steps/min (FIT cadence is strides/min: doubled for running)
    gct_ms: np.ndarray  # stance_time
    vo_cm: np.ndarray  # vertical_oscillation (mm) / 10
    vertical_ratio_pct: np.ndarray
    stance_time_balance_pct: np.ndarray  # % of contact time on the left
    stance_time_pct: np.ndarray
    step_length_m: np.ndarray
    speed_mps: np.ndarray
    developer: dict[str, np.ndarray] = field(default_factory=dict)  # developer fields by name
    session: dict[str, Any] = field(default_factory=dict)  # the session message (decoded)
    device: str = ""
    sport: str | None = None  # the first session's
    record_sport: np.ndarray | None = None  # per record: the sport of the record's own session
    other_cadence_rpm: np.ndarray | None = None  # cadence of records in other sports (cycling: crank rpm)
    sessions: int = 0

    def non_foot_sports(self) -> list[str]:
        """The sports of the records other than running or walking (e.g. ``["cycling"]``)."""
        if self.record_sport is None:
            return [] if self.sport in FOOT_SPORTS else [str(self.sport)]
        return sorted({str(s) for s in self.record_sport if s not in FOOT_SPORTS})

    def __len__(self) -> int:
        return int(self.time_s.shape[0])


class FitFileError(GaitError, ValueError):
    """A FIT file that cannot be read: empty, not FIT, truncated or corrupt (one line, naming the file)."""

    def __init__(self, name: str, message: str):
        self.name = name
        super().__init__(f"{name}: {message}")


class FitCompareError(GaitError, ValueError):
    """A watch's FIT file that cannot be compared with a run (e.g. it does not overlap it)."""


# Sports whose FIT ``cadence`` counts strides per minute (doubled to steps); any other sport's
# cadence is something else (cycling: crank revolutions per minute) and is not a step cadence.
FOOT_SPORTS = frozenset({None, "running", "walking", "hiking", "generic", "training"})


def _fit_crc(data: bytes | bytearray) -> int:
    """The FIT CRC-16 of ``data`` (the protocol's nibble-table form)."""
    table = (0x0000, 0xCC01, 0xD801, 0x1400, 0xF001, 0x3C00, 0x2800, 0xE401,
             0xA001, 0x6C00, 0x7800, 0xB401, 0x5000, 0x9C01, 0x8801, 0x4400)  # fmt: skip
    crc = 0
    for byte in data:
        tmp = table[crc & 0xF]
        crc = ((crc >> 4) & 0x0FFF) ^ tmp ^ table[byte & 0xF]
        tmp = table[crc & 0xF]
        crc = ((crc >> 4) & 0x0FFF) ^ tmp ^ table[(byte >> 4) & 0xF]
    return crc


def check_fit_bytes(data: bytes | bytearray, name: str = "FIT data") -> int:
    """Check the framing of a FIT file (one or several chained FIT files): each header, its data size
    and its file CRC. A 14-byte header's CRC of 0x0000 means "not computed" (the FIT protocol allows
    it) and is accepted. Returns the number of chained files; raises `FitFileError`."""
    size = len(data)
    if size == 0:
        raise FitFileError(name, "the file is empty (0 bytes), not a FIT file")
    pos, count = 0, 0
    while pos < size:
        where = "" if pos == 0 else f"at byte {pos} (a further chained FIT file): "
        head = bytes(data[pos : pos + 14])
        if len(head) < 12 or head[0] not in (12, 14) or head[8:12] != b".FIT":
            if pos == 0:
                raise FitFileError(name, f"not a FIT file (no FIT file header; {size} bytes)")
            raise FitFileError(name, f"{where}the file header is corrupt (not a FIT header)")
        hsize = head[0]
        data_size = int.from_bytes(head[4:8], "little")
        end = pos + hsize + data_size + 2
        if end > size:
            raise FitFileError(
                name, f"{where}truncated: the header announces {data_size} bytes of records, the file ends "
                f"{end - size} bytes short (an interrupted copy or download?)"
            )  # fmt: skip
        if hsize == 14:
            header_crc = int.from_bytes(head[12:14], "little")
            if header_crc != 0 and header_crc != _fit_crc(head[:12]):
                raise FitFileError(name, f"{where}the file header's CRC does not match the header (corrupt)")
        stored = int.from_bytes(data[end - 2 : end], "little")
        if stored != _fit_crc(data[pos : end - 2]):
            raise FitFileError(name, f"{where}the file CRC does not match its contents (corrupt or altered)")
        pos, count = end, count + 1
    return count


def _fit_source(source: str | Path | bytes | bytearray) -> tuple[bytearray, str]:
    if isinstance(source, (bytes, bytearray)):
        return bytearray(source), "FIT data"
    path = Path(source)
    try:
        return bytearray(path.read_bytes()), str(source)
    except FileNotFoundError:
        raise FitFileError(str(source), "no such file") from None
    except IsADirectoryError:
        raise FitFileError(str(source), "is a folder, not a FIT file") from None
    except OSError as exc:
        raise FitFileError(str(source), f"cannot be read ({exc.strerror or exc})") from None


def decode_fit(source: str | Path | bytes) -> dict[str, list[dict[str, Any]]]:
    """Decode a FIT file with the official SDK; raises `FitFileError` (a ValueError) if it is not a
    valid FIT file."""
    fit = _fit()
    data, name = _fit_source(source)
    check_fit_bytes(data, name)
    try:
        messages, errors = fit.Decoder(fit.Stream.from_byte_array(data)).read()
    except Exception as exc:  # the SDK reports most problems in ``errors``; anything else is the file's
        raise FitFileError(name, f"cannot be decoded ({exc})") from None
    if errors:
        raise FitFileError(name, f"cannot be decoded ({'; '.join(str(e) for e in errors)})")
    return messages


def _record_sports(t: np.ndarray, sessions: list[dict[str, Any]]) -> np.ndarray:
    """Each record's sport: that of the last session starting at or before it (the first session's
    for records before every session)."""
    out = np.full(t.size, None, dtype=object)
    spans = sorted(
        ((s["start_time"].timestamp(), s.get("sport")) for s in sessions if s.get("start_time") is not None),
        key=lambda x: x[0],
    )
    if not spans:
        out[:] = sessions[0].get("sport") if sessions else None
        return out
    starts = np.array([a for a, _ in spans])
    idx = np.clip(np.searchsorted(starts, t, side="right") - 1, 0, len(spans) - 1)
    for i, k in enumerate(idx):
        out[i] = spans[k][1]
    return out


def read_fit_dynamics(source: str | Path | bytes) -> WatchDynamics:
    """Running dynamics from a FIT activity (records' cadence, vertical_oscillation, stance_time,
    stance_time_balance, vertical_ratio, step_length, speed; developer fields by name).

    Each record's cadence is read with its own session's sport: doubled (strides to steps) for
    running and walking; for any other sport (e.g. cycling: crank rpm) it is not a step cadence,
    ``cadence_spm`` is NaN there and the raw value is in ``other_cadence_rpm``."""
    msgs = decode_fit(source)
    records = [r for r in msgs.get("record_mesgs", []) if r.get("timestamp") is not None]
    sessions = msgs.get("session_mesgs", [])
    session = sessions[0] if sessions else {}
    sport = session.get("sport")
    file_id = (msgs.get("file_id_mesgs") or [{}])[0]
    device = f"{file_id.get('manufacturer', '')} {file_id.get('garmin_product', file_id.get('product', ''))}".strip()

    def col(name: str, scale: float = 1.0) -> np.ndarray:
        return np.array([r.get(name, np.nan) for r in records], dtype=np.float64) * scale

    t = np.array([r["timestamp"].timestamp() for r in records], dtype=np.float64)
    rec_sport = _record_sports(t, sessions)
    per_foot = np.array([s in FOOT_SPORTS for s in rec_sport], dtype=bool)
    raw = col("cadence") + np.nan_to_num(col("fractional_cadence"), nan=0.0)
    cad = np.where(per_foot, raw * 2.0, np.nan)
    other = np.where(per_foot, np.nan, raw)
    speed = col("enhanced_speed")
    speed = np.where(np.isfinite(speed), speed, col("speed"))
    names = {d["key"]: d["field_name"] for d in msgs.get("field_description_mesgs", []) if "key" in d}
    developer: dict[str, np.ndarray] = {}
    for key, name in names.items():
        vals = [r.get("developer_fields", {}).get(key, np.nan) for r in records]
        developer[str(name)] = np.array(vals, dtype=np.float64)
    return WatchDynamics(
        time_s=t,
        cadence_spm=cad,
        gct_ms=col("stance_time"),
        vo_cm=col("vertical_oscillation", 0.1),
        vertical_ratio_pct=col("vertical_ratio"),
        stance_time_balance_pct=col("stance_time_balance"),
        stance_time_pct=col("stance_time_percent"),
        step_length_m=col("step_length", 0.001),
        speed_mps=speed,
        developer=developer,
        session=session,
        device=device,
        sport=sport,
        record_sport=rec_sport,
        other_cadence_rpm=other,
        sessions=len(sessions),
    )


@dataclass(frozen=True)
class MetricDiff:
    metric: str
    n: int  # paired records
    mean_ours: float | None
    mean_watch: float | None
    mean_diff: float | None  # ours - watch
    mean_abs_diff: float | None
    sd_diff: float | None


@dataclass
class Comparison:
    offset_s: float  # added to the watch's times before pairing
    window_s: float
    pairs: int  # watch records with at least one of our steps in their window
    metrics: dict[str, MetricDiff]
    notes: list[str] = field(default_factory=list)  # one line each, printed above the table
    still_records: int = 0  # watch records over the run with cadence 0 (standing still, paused): not compared

    def table(self) -> str:
        w = max([len("metric"), *(len(m.metric) for m in self.metrics.values())])
        lines = [*self.notes, f"{'metric':<{w}} {'n':>6} {'ours':>9} {'watch':>9} {'diff':>8} {'|diff|':>8} {'sd':>8}"]

        def f(v: float | None) -> str:
            return f"{v:9.2f}" if v is not None else f"{'-':>9}"

        for m in self.metrics.values():
            lines.append(
                f"{m.metric:<{w}} {m.n:>6} {f(m.mean_ours)} {f(m.mean_watch)} {f(m.mean_diff)[1:]} "
                f"{f(m.mean_abs_diff)[1:]} {f(m.sd_diff)[1:]}"
            )
        return "\n".join(lines)


COMPARED = ("cadence_spm", "gct_ms", "vo_cm", "vertical_ratio_pct", "step_length_m", "stance_time_balance_pct")


def compare_dynamics(
    ours_wall_s: np.ndarray,
    ours: dict[str, np.ndarray],
    watch: WatchDynamics,
    *,
    offset_s: float = 0.0,
    window_s: float = 1.0,
    side: np.ndarray | None = None,
) -> Comparison:
    """Pair each watch record (time t + offset_s) with the mean of our steps whose contact falls in
    [t + offset_s, t + offset_s + window_s) and report mean differences (ours - watch) per metric.

    ``ours`` maps metric names of `COMPARED` to per-step arrays; ``side`` (per-step "left"/"right")
    enables the stance time balance comparison (left share of contact time in the window).
    """
    order = np.argsort(ours_wall_s, kind="stable")
    t_ours = np.asarray(ours_wall_s, dtype=np.float64)[order]
    starts = watch.time_s + offset_s
    lo = np.searchsorted(t_ours, starts, side="left")
    hi = np.searchsorted(t_ours, starts + window_s, side="left")
    has = hi > lo
    ours_sorted = {k: np.asarray(v, dtype=np.float64)[order] for k, v in ours.items()}
    if side is not None and "gct_ms" in ours_sorted:
        s = np.asarray(side, dtype=object)[order]
        g = ours_sorted["gct_ms"]
        lg = np.where((s == "left") & np.isfinite(g), g, np.nan)
        rg = np.where((s == "right") & np.isfinite(g), g, np.nan)
    # a record with cadence 0 is the watch standing still or paused: not a running record
    still = watch.cadence_spm == 0
    still_overlapping = int((has & still).sum())
    has = has & ~still
    metrics: dict[str, MetricDiff] = {}
    notes: list[str] = []
    if still_overlapping:
        notes.append(
            f"watch: {still_overlapping} of {still_overlapping + int(has.sum())} records over the run have cadence 0 "
            "(standing still or paused) and are not compared"
        )
    other = watch.non_foot_sports()
    if other:
        what = " and ".join(other)
        whole = watch.record_sport is None or not any(s in FOOT_SPORTS for s in watch.record_sport)
        part = "the file is" if whole else "part of the file is"
        notes.append(
            f"watch: {part} {what}: its cadence there is not a step cadence (cycling: crank rpm) "
            "and is not compared with ours"
        )
    for name in COMPARED:
        w = getattr(watch, name)
        if name == "cadence_spm" and other and not np.isfinite(w).any():
            continue  # no step cadence in the file at all (said in the note)
        if name == "stance_time_balance_pct":
            if side is None or "gct_ms" not in ours_sorted:
                continue
            mine = np.full(starts.size, np.nan)
            for i in np.nonzero(has)[0]:
                left, right = lg[lo[i] : hi[i]], rg[lo[i] : hi[i]]
                if np.isfinite(left).any() and np.isfinite(right).any():
                    lm, rm = np.nanmean(left), np.nanmean(right)
                    mine[i] = 100.0 * lm / (lm + rm)
        else:
            if name not in ours_sorted:
                continue
            v = ours_sorted[name]
            ok = np.isfinite(v)
            c = np.concatenate([[0.0], np.cumsum(np.where(ok, v, 0.0))])
            n = np.concatenate([[0], np.cumsum(ok)])
            cnt = n[hi] - n[lo]
            with np.errstate(invalid="ignore", divide="ignore"):
                mine = np.where(cnt > 0, (c[hi] - c[lo]) / np.maximum(cnt, 1), np.nan)
        pair = np.isfinite(mine) & np.isfinite(w) & ~still
        d = mine[pair] - w[pair]
        k = int(pair.sum())
        metrics[name] = MetricDiff(
            metric=name,
            n=k,
            mean_ours=float(mine[pair].mean()) if k else None,
            mean_watch=float(w[pair].mean()) if k else None,
            mean_diff=float(d.mean()) if k else None,
            mean_abs_diff=float(np.abs(d).mean()) if k else None,
            sd_diff=float(d.std(ddof=1)) if k > 1 else None,
        )
    return Comparison(
        offset_s=offset_s,
        window_s=window_s,
        pairs=int(has.sum()),
        metrics=metrics,
        notes=notes,
        still_records=still_overlapping,
    )


def compare_run_with_fit(
    store: Store, run_id: int, fit: str | Path | bytes | WatchDynamics, *, offset_s: float = 0.0, window_s: float = 1.0
) -> Comparison:
    """Compare a stored run with a watch's FIT file of the same run (aligned by wall-clock time).

    Our steps that the FIT export leaves out (`flagged_out`: implausible or warm-up) are left out
    here too, and so are the watch's records with cadence 0 (standing still or paused); the
    comparison's notes say how many."""
    watch = fit if isinstance(fit, WatchDynamics) else read_fit_dynamics(fit)
    info = store.run(run_id)
    all_cols = store.steps(run_id)
    name = "the watch file" if isinstance(fit, (WatchDynamics, bytes, bytearray)) else str(fit)
    if len(watch) == 0:
        raise FitCompareError(f"{name}: has no records with a time, nothing to compare with run {run_id}")
    if len(all_cols) == 0:
        raise FitCompareError(f"run {run_id} has no steps to compare with {name}")
    left_out = flagged_out(all_cols)
    if left_out.all():
        raise FitCompareError(
            f"run {run_id} has no steps to compare with {name}: every step is flagged {LEFT_OUT_TEXT}"
        )
    cols = all_cols.select(np.nonzero(~left_out)[0])
    speed = store.step_speeds(run_id, all_cols)
    speed = speed[~left_out] if speed is not None else None
    ours = {name: getattr(cols, name) for name in COMPARED if name in FIELD_BY_NAME}
    if speed is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            ours["step_length_m"] = np.where(cols.cadence_spm > 0, speed * 60.0 / cols.cadence_spm, np.nan)
    wall = np.asarray(info.wall_time(cols.ic_s), dtype=np.float64)
    cmp = compare_dynamics(wall, ours, watch, offset_s=offset_s, window_s=window_s, side=cols.side)
    if left_out.any():
        cmp.notes.insert(
            0,
            f"ours: {int(left_out.sum())} of {len(all_cols)} steps flagged {LEFT_OUT_TEXT} are left out "
            "(as in the FIT export)",
        )
    if cmp.pairs == 0 and cmp.still_records:
        raise FitCompareError(
            f"{name}: every record over run {run_id} ({cmp.still_records}) has cadence 0 (standing still or "
            "paused): nothing to compare"
        )
    if cmp.pairs == 0:

        def span(a: float, b: float) -> str:
            fa, fb = dt.datetime.fromtimestamp(a, tz=dt.UTC), dt.datetime.fromtimestamp(b, tz=dt.UTC)
            return (
                f"{fa:%Y-%m-%d %H:%M:%S}-{fb:%H:%M:%S} UTC"
                if fa.date() == fb.date()
                else f"{fa:%Y-%m-%d %H:%M} - {fb:%Y-%m-%d %H:%M} UTC"
            )

        shift = f" (shifted by --offset-s {offset_s:g})" if offset_s else ""
        raise FitCompareError(
            f"{name}: does not overlap run {run_id}: the watch recorded {span(watch.time_s.min() + offset_s, watch.time_s.max() + offset_s)}"
            f"{shift}, the run's steps are {span(float(np.nanmin(wall)), float(np.nanmax(wall)))}; "
            "is it the same run? If the clocks differ, pass --offset-s"
        )
    return cmp
