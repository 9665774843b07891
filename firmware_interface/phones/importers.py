"""Phone app exports -> our CSV `Recording` (the input of ``gait analyze``).

``import_phone_export(path, out_csv)`` takes what the apps export, as a ``.zip`` or unzipped
into a directory (or one of its CSV files), tells the app from the CSV headers, converts to
our conventions with the same rules as the live paths, and resamples the sensors onto one
uniform clock with the same `StreamAligner`:

**phyphox** ("Export data" -> "CSV"): a zip with one CSV per export set (the built-in
experiments have one set, ``Raw Data.csv``) plus ``meta/device.csv`` and ``meta/time.csv``.
Headers are quoted labels with units, e.g. ``"Time (s)","Acceleration x (m/s^2)",...``,
``"Linear Acceleration x (m/s^2)"``, ``"Gyroscope x (rad/s)"`` [V: the experiment files in
phyphox-android/-ios]. Separator ``,``, tab or ``;``; decimal point or comma (the export menu
offers all of these) [V: phyphox-ios ``ExperimentExportSet.swift``]; an empty cell is ``""``.
Each ``Time`` column starts a group: the value columns after it belong to that time column.
Values and signs as in `phyphox` (acceleration with g is already specific force; linear +
gravity add up to it; gyroscope rad/s -> deg/s). The multi-sensor ("simple experiment") export
writes one file per sensor with bare labels, ``"Time (s)","X (m/s^2)",...`` or ``"X (rad/s)"``:
the unit tells acceleration from rotation, and whether the acceleration holds gravity is told
from the data (`_holds_gravity`), since neither label nor file name says it.

**Sensor Logger** (zip export): one CSV per sensor, ``Accelerometer.csv``,
``TotalAcceleration.csv`` (Android), ``Gravity.csv``, ``Gyroscope.csv``, each with the header
``time,seconds_elapsed,z,y,x`` (note the order; columns are read by name) and ``time`` in epoch
nanoseconds [D: awesome-sensor-logger README and UNITS.md], plus ``Metadata.csv`` with
``platform`` (iOS or Android) [D] and, in recent versions, ``standardisation`` [U: column name
not seen in a primary source]. Conventions as in `sensor_logger`: TotalAcceleration as it is;
else Accelerometer + Gravity, negated on iOS unless standardised. ``platform`` overrides
Metadata.csv (``gait import phone --platform``); with neither, Accelerometer + Gravity alone
raises `PhoneConventionError`. Without TotalAcceleration and Gravity,
``AccelerometerUncalibrated.csv`` (the raw signal, with gravity) is used: on iOS it is CoreMotion's
raw accelerometer in g, reading -1 g on the up axis (so x -9.80665); a file in m/s^2 (its mean
vector near 9.8) is taken as the Android convention.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from firmware_interface.files.recording import Recording, estimate_rate_hz, write_recording
from firmware_interface.phones import PhoneConventionError, StreamAligner, rad_to_deg
from gait.core.config import GRAVITY_MPS2
from gait.core.errors import RecordingFormatError

__all__ = ["import_phone_export", "read_phone_export", "read_phyphox_export", "read_sensor_logger_export"]

SENSOR_LOGGER_FILES = {
    "totalacceleration.csv": "total",
    "accelerometer.csv": "lin",
    "gravity.csv": "grav",
    "gyroscope.csv": "gyr",
    "accelerometeruncalibrated.csv": "uncal",
}


# --------------------------------------------------------------------------------------------
# Files in a zip, a directory, or one CSV
# --------------------------------------------------------------------------------------------


@dataclass
class _File:
    name: str  # path inside the export, '/'-separated
    text: str
    where: str  # for error messages

    @property
    def base(self) -> str:
        return PurePosixPath(self.name).name.lower()

    @property
    def in_meta(self) -> bool:
        return "meta" in [p.lower() for p in PurePosixPath(self.name).parts[:-1]]


def _decode(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RecordingFormatError(where, None, f"not a UTF-8 text file ({exc.reason})") from None


def _export_files(path: Path) -> list[_File]:
    if not path.exists():
        raise RecordingFormatError(str(path), None, "no such file or directory")
    files: list[_File] = []
    if path.is_dir():
        for p in sorted(path.rglob("*.csv")):
            rel = p.relative_to(path).as_posix()
            files.append(_File(rel, _decode(p.read_bytes(), str(p)), str(p)))
    elif zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as zf:
                for info in zf.infolist():
                    if info.is_dir() or not info.filename.lower().endswith(".csv"):
                        continue
                    if info.filename.startswith("__MACOSX/"):
                        continue
                    where = f"{path}!{info.filename}"
                    files.append(_File(info.filename, _decode(zf.read(info), where), where))
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError) as exc:
            raise RecordingFormatError(
                str(path), None, f"cannot read the zip ({exc}); export again or unzip it"
            ) from None
    elif path.suffix.lower() == ".csv":
        files.append(_File(path.name, _decode(path.read_bytes(), str(path)), str(path)))
    else:
        raise RecordingFormatError(str(path), None, "expected a phone export: a .zip, a directory or a .csv file")
    if not files:
        raise RecordingFormatError(str(path), None, "no CSV files in this export (an Excel export? export as CSV)")
    return files


def _header_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line
    return ""


def _app_of(files: list[_File]) -> str | None:
    for f in files:
        head = _header_line(f.text).lower()
        cells = [c.strip().strip('"') for c in re.split(r"[,;\t]", head)]
        if f.base in SENSOR_LOGGER_FILES or f.base == "metadata.csv" or ("seconds_elapsed" in cells):
            if cells and cells[0] in ("time", "version"):
                return "sensor_logger"
        if not f.in_meta and any(c.startswith("time (") for c in cells):
            return "phyphox"
    return None


# --------------------------------------------------------------------------------------------
# phyphox
# --------------------------------------------------------------------------------------------

_AXIS = re.compile(r"(?:^|[\s_])([xyz])(?:$|[\s_(])")


def _phyphox_kind(label: str) -> tuple[str, str | None, str] | None:
    """(stream kind, axis, unit) of a phyphox column label, or None if not ours."""
    low = label.lower().strip()
    unit_m = re.search(r"\(([^)]*)\)", low)
    unit = unit_m.group(1).strip() if unit_m else ""
    name = low[: unit_m.start()] if unit_m else low
    if name.strip().startswith("time"):
        return ("time", None, unit)
    if "absolute" in name or "abs" == name.strip():
        return None
    bare = name.strip() in ("x", "y", "z")
    if "gyro" in name or "angular" in name or (bare and unit.replace(" ", "") in ("rad/s", "deg/s", "°/s")):
        kind = "gyr"
    elif "linear" in name:
        kind = "lin"
    elif "gravity" in name:
        kind = "grav"
    elif "acceleration" in name or "accelerometer" in name:
        kind = "acc"
    elif bare and unit.replace("²", "^2").replace(" ", "") in ("m/s^2", "m/s2", "g"):
        kind = "acc?"  # a sensor's own file ("X (m/s^2)"): with or without gravity, told from the data
    else:
        return None
    axis = _AXIS.search(name)
    return (kind, axis.group(1) if axis else None, unit)


def _sniff_delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in (",", "\t", ";")}
    return max(counts, key=lambda d: counts[d])


def _to_float(cell: str, decimal_comma: bool) -> float:
    cell = cell.strip().strip('"')
    if cell == "":
        return float("nan")
    if decimal_comma:
        cell = cell.replace(",", ".")
    return float(cell)


def _phyphox_streams(f: _File, streams: dict[str, tuple[np.ndarray, np.ndarray]], warnings: list[str]) -> None:
    header = _header_line(f.text)
    delim = _sniff_delimiter(header)
    rows = list(csv.reader(io.StringIO(f.text), delimiter=delim))
    rows = [r for r in rows if any(c.strip() for c in r)]
    if len(rows) < 2:
        return
    labels = rows[0]
    decimal_comma = delim != "," and any("," in c for r in rows[1:3] for c in r)
    # groups: a time column and the value columns after it
    groups: list[dict] = []
    for ci, label in enumerate(labels):
        k = _phyphox_kind(label)
        if k is None:
            continue
        kind, axis, unit = k
        if kind == "time":
            if unit not in ("s", ""):
                raise RecordingFormatError(f.where, 1, f"time column in {unit!r}, expected seconds", column=label)
            groups.append({"t": ci, "cols": {}, "units": {}})
        elif groups and axis is not None:
            groups[-1]["cols"].setdefault(kind, {})[axis] = ci
            groups[-1]["units"][kind] = unit
    for g in groups:
        for kind, axes in g["cols"].items():
            if set(axes) != {"x", "y", "z"}:
                continue
            if kind in streams:
                warnings.append(f"{f.where}: a second {kind!r} stream was ignored")
                continue
            idx = [g["t"], axes["x"], axes["y"], axes["z"]]
            data = np.full((len(rows) - 1, 4), np.nan)
            for ri, r in enumerate(rows[1:]):
                for j, ci in enumerate(idx):
                    if ci < len(r):
                        try:
                            data[ri, j] = _to_float(r[ci], decimal_comma)
                        except ValueError:
                            raise RecordingFormatError(
                                f.where, ri + 2, f"not a number: {r[ci]!r}", column=labels[ci]
                            ) from None
            data = data[np.isfinite(data[:, 0])]
            v = data[:, 1:4]
            unit = g["units"][kind].replace("²", "^2").replace(" ", "")
            if kind == "gyr":
                if unit in ("rad/s", ""):
                    v = rad_to_deg(v)
                elif unit not in ("deg/s", "°/s"):
                    raise RecordingFormatError(f.where, 1, f"gyroscope unit {unit!r} unknown (rad/s expected)")
            elif unit in ("g",):
                v = v * GRAVITY_MPS2
            elif unit not in ("m/s^2", "m/s2", ""):
                raise RecordingFormatError(f.where, 1, f"acceleration unit {unit!r} unknown (m/s^2 expected)")
            streams[kind] = (data[:, 0], v)


def _phyphox_meta(files: list[_File]) -> dict[str, str]:
    meta: dict[str, str] = {}
    for f in files:
        if not (f.in_meta and f.base == "device.csv"):
            continue
        rows = list(csv.reader(io.StringIO(f.text), delimiter=_sniff_delimiter(_header_line(f.text))))
        for r in rows[1:]:
            if len(r) >= 2 and r[0].strip():
                key = re.sub(r"[^0-9a-zA-Z]+", "_", r[0].strip()).strip("_").lower()
                if key:
                    meta[f"phone_{key}"] = r[1].strip()
    return meta


def _gravity_figures(v: np.ndarray) -> tuple[float, float]:
    """(|mean vector|, median |a|) of an acceleration stream, in its own unit."""
    ok = np.all(np.isfinite(v), axis=1)
    if not ok.any():
        return float("nan"), float("nan")
    v = v[ok]
    return float(np.linalg.norm(v.mean(axis=0))), float(np.median(np.linalg.norm(v, axis=1)))


def _holds_gravity(v: np.ndarray, g: float = GRAVITY_MPS2) -> bool | None:
    """Whether an acceleration stream (in units of ``g``) holds gravity: True, False, or None (cannot tell).

    A file's name does not say it (course exports call linear acceleration ``Accelerometer.csv``
    too), so the data decide. With gravity, the mean vector is about g long (gravity averaged
    over the recording) and the median |a| is near g; without it, both are near 0 at rest. A run
    makes linear acceleration large (median |a| near g on a real run), but its mean stays
    small, so the mean vector decides and the median settles what lies between.
    """
    mean_len, med = _gravity_figures(v)
    if not np.isfinite(mean_len):
        return None
    if mean_len >= 0.5 * g:
        return True
    if mean_len < 0.25 * g:
        return False
    if abs(med - g) <= 0.2 * g:
        return True
    if med < 0.3 * g:
        return False
    return None


def read_phyphox_export(path: str | Path, *, rate_hz: float | None = None) -> Recording:
    """A phyphox CSV export (zip, directory or one CSV) -> `Recording`."""
    path = Path(path)
    files = _export_files(path)
    warnings: list[str] = []
    streams: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for f in files:
        if not f.in_meta:
            _phyphox_streams(f, streams, warnings)
    told = ""
    if "acc?" in streams:
        t, v = streams.pop("acc?")
        with_g = _holds_gravity(v)
        mean_g, med = _gravity_figures(v)
        told = f" (told from the data: |mean a| {mean_g:.2f}, median |a| {med:.2f} m/s^2)"
        if with_g is None:
            raise PhoneConventionError(
                f"{path}: cannot tell whether the acceleration holds gravity{told}",
                hint="export 'Acceleration with g' (phyphox) and import again",
            )
        streams.setdefault("acc" if with_g else "lin", (t, v))
    if "acc" in streams:
        acc_parts: tuple[str, ...] = ("acc",)
        acc_source = "accelerometer (with g)" + told
    elif "lin" in streams and "grav" in streams:
        acc_parts = ("lin", "grav")
        acc_source = "linear acceleration + gravity"
    else:
        found = sorted(streams) or "nothing"
        raise PhoneConventionError(
            f"{path}: no acceleration with gravity in this phyphox export (found: {found}){told}",
            hint="record with 'Acceleration with g' (or accelerometer + gyroscope); linear acceleration lacks gravity",
        )
    meta = {"source": "phyphox", "acc_source": acc_source, **_phyphox_meta(files)}
    return _aligned_recording(path, streams, acc_parts, rate_hz, meta, warnings)


# --------------------------------------------------------------------------------------------
# Sensor Logger
# --------------------------------------------------------------------------------------------


def _sensor_logger_csv(f: _File) -> tuple[np.ndarray, np.ndarray]:
    rows = list(csv.reader(io.StringIO(f.text)))
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise RecordingFormatError(f.where, None, "empty file")
    header = [c.strip().lower() for c in rows[0]]
    for col in ("time", "x", "y", "z"):
        if col not in header:
            raise RecordingFormatError(f.where, 1, f"missing column {col!r}; header has {rows[0]}", column=col)
    it, ix, iy, iz = (header.index(c) for c in ("time", "x", "y", "z"))
    t_ns: list[int] = []
    vals: list[tuple[float, float, float]] = []
    for li, r in enumerate(rows[1:], start=2):
        try:
            t_text = r[it].strip()
            t_ns.append(int(t_text) if t_text.lstrip("-").isdigit() else int(float(t_text)))
            vals.append(tuple(float(r[i]) if r[i].strip() else float("nan") for i in (ix, iy, iz)))  # type: ignore[arg-type]
        except (ValueError, IndexError):
            raise RecordingFormatError(f.where, li, f"bad row {r!r}") from None
    return np.asarray(t_ns, dtype=np.int64), np.asarray(vals, dtype=np.float64).reshape(-1, 3)


def _sensor_logger_metadata(files: list[_File]) -> dict[str, str]:
    for f in files:
        if f.base == "metadata.csv":
            rows = list(csv.DictReader(io.StringIO(f.text)))
            if rows:
                return {str(k).strip().lower(): str(v).strip() for k, v in rows[0].items() if k is not None and v}
    return {}


def read_sensor_logger_export(path: str | Path, *, platform: str = "auto", rate_hz: float | None = None) -> Recording:
    """A Sensor Logger export (zip, directory or one sensor CSV) -> `Recording`."""
    if platform not in ("auto", "android", "ios", "standardised"):
        raise ValueError(f"platform must be auto, android, ios or standardised, not {platform!r}")
    path = Path(path)
    files = _export_files(path)
    warnings: list[str] = []
    md = _sensor_logger_metadata(files)
    raw: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for f in files:
        kind = SENSOR_LOGGER_FILES.get(f.base)
        if kind is None or kind in raw:
            continue
        raw[kind] = _sensor_logger_csv(f)
    if platform == "auto":
        md_platform = md.get("platform", "").lower()
        standard = md.get("standardisation", md.get("standardization", "")).lower() in ("true", "1", "yes", "on")
        if standard:
            platform = "standardised"
        elif md_platform in ("ios", "android"):
            platform = md_platform
    sign = 1.0
    uncal_scale = 1.0
    if "total" in raw:
        acc_parts: tuple[str, ...] = ("total",)
        acc_source = "TotalAcceleration"
    elif "lin" in raw and "grav" in raw and platform != "auto":
        acc_parts = ("lin", "grav")
        sign = -1.0 if platform == "ios" else 1.0
        acc_source = "Accelerometer + Gravity" + (" (negated: iOS convention)" if sign < 0 else "")
    elif "uncal" in raw and _holds_gravity(raw["uncal"][1], 1.0) and _gravity_figures(raw["uncal"][1])[0] < 3.0:
        # iOS: CoreMotion's raw accelerometer in g, reading -1 g on the up axis
        acc_parts = ("uncal",)
        uncal_scale = -GRAVITY_MPS2
        acc_source = "AccelerometerUncalibrated (in g, CoreMotion convention: x -9.80665)"
    elif "uncal" in raw and _holds_gravity(raw["uncal"][1]):
        # m/s^2 with +g up (Android, or iOS with 'Standardise Units & Frames')
        acc_parts = ("uncal",)
        acc_source = "AccelerometerUncalibrated (m/s^2)"
    elif "lin" in raw and "grav" in raw:
        raise PhoneConventionError(
            f"{path}: Accelerometer + Gravity without TotalAcceleration and no platform in Metadata.csv; "
            "iOS and Android differ in sign",
            hint="pass --platform ios or --platform android ('standardised' if 'Standardise Units & Frames' "
            "was on); gravity reads + on the up axis on Android",
        )
    else:
        raise PhoneConventionError(
            f"{path}: no acceleration with gravity (found {sorted(raw) or 'nothing'})",
            hint="record TotalAcceleration (Android), Accelerometer and Gravity, or AccelerometerUncalibrated",
        )
    used = [k for k in (*acc_parts, "gyr") if k in raw]
    origin = min(int(raw[k][0].min()) for k in used if raw[k][0].size)
    streams: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for k in used:
        t_ns, v = raw[k]
        t = (t_ns - origin).astype(np.float64) * 1e-9
        if k == "gyr":
            v = rad_to_deg(v)
        elif k in ("lin", "grav"):
            v = sign * v
        elif k == "uncal":
            v = uncal_scale * v
        streams[k] = (t, v)
    meta = {
        "source": "sensor-logger",
        "platform": platform,
        "acc_source": acc_source,
        "time_origin_unix_ns": str(origin),
    }
    for key in ("device name", "recording time", "appversion", "version"):
        if md.get(key):
            meta[f"phone_{key.replace(' ', '_')}"] = md[key]
    return _aligned_recording(path, streams, acc_parts, rate_hz, meta, warnings)


# --------------------------------------------------------------------------------------------
# Shared
# --------------------------------------------------------------------------------------------


def _aligned_recording(
    path: Path,
    streams: dict[str, tuple[np.ndarray, np.ndarray]],
    acc_parts: tuple[str, ...],
    rate_hz: float | None,
    meta: dict[str, str],
    warnings: list[str],
) -> Recording:
    gyro = "gyr" if "gyr" in streams else None
    aligner = StreamAligner(acc_parts=acc_parts, gyro=gyro, rate_hz=rate_hz, missing_after_s=float("inf"))
    for name in (*acc_parts, *((gyro,) if gyro else ())):
        t, v = streams[name]
        if t.size < 2:
            raise RecordingFormatError(str(path), None, f"the {name!r} stream has fewer than two samples")
        aligner.push(name, t, v)
        try:
            meta[f"{name}_rate_hz"] = f"{estimate_rate_hz(np.sort(t)):.2f}"
        except ValueError:
            pass
    block = aligner.flush()
    if block is None or len(block) < 2:
        raise RecordingFormatError(str(path), None, "the sensors do not overlap in time: nothing to resample")
    meta["resampled_rate_hz"] = f"{aligner.rate_hz:g}"
    meta["conventions"] = "specific force m/s^2 (+g up), gyro deg/s, sensor frame"
    warnings = warnings + aligner.warnings
    return Recording(
        time_s=block.time_s,
        acc_mps2=block.acc_mps2,
        gyr_dps=block.gyr_dps,
        metadata=meta,
        warnings=warnings,
        path=str(path),
    )


def read_phone_export(path: str | Path, *, platform: str = "auto", rate_hz: float | None = None) -> Recording:
    """Tell the app from the files and read the export (see the module docstring)."""
    path = Path(path)
    app = _app_of(_export_files(path))
    if app == "phyphox":
        return read_phyphox_export(path, rate_hz=rate_hz)
    if app == "sensor_logger":
        return read_sensor_logger_export(path, platform=platform, rate_hz=rate_hz)
    raise RecordingFormatError(
        str(path), None, "neither a phyphox CSV export nor a Sensor Logger export (no recognised CSV header)"
    )


def import_phone_export(
    path_or_dir: str | Path,
    out_csv: str | Path | None = None,
    *,
    platform: str = "auto",
    rate_hz: float | None = None,
) -> Recording:
    """Convert a phyphox or Sensor Logger export to a CSV recording (``out_csv``, if given).

    Returns the `Recording` (its ``warnings`` say what was converted or dropped).
    """
    rec = read_phone_export(path_or_dir, platform=platform, rate_hz=rate_hz)
    if out_csv is not None:
        meta: dict[str, object] = {"imported_from": Path(path_or_dir).name, **rec.metadata}
        write_recording(out_csv, rec.time_s, rec.acc_mps2, rec.gyr_dps, metadata=meta)
    return rec
