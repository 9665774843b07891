"""Readers for the public motion-capture data used for validation.

* RBDS (Fukuchi et al. 2017): tab-separated marker files (``Time`` + ``<name>X/Y/Z`` in mm,
  150 Hz) and treadmill force files (sample number, ``Fx Fy Fz`` N, ``COPx COPy COPz`` mm,
  ``Ty`` N·mm, 300 Hz).
* RIC (Running Injury Clinic, Calgary): C3D files (4-marker clusters, 200 Hz, mm), read with the
  pure-python ``c3d`` package, and the ``*_r.mat`` processing output (``events``).

Every reader returns positions in **metres** in the file's own lab frame (both sources have Y
vertical, up). `standardize_lab_frame` then rotates a trial about the vertical axis into the
frame used by the rest of the validation tooling:

    X = anteroposterior, positive in the direction the runner faces
    Y = vertical, up
    Z = mediolateral, positive to the runner's right  (right-handed: Z = X x Y)

The facing direction is found from the data, not assumed: during ground contact a foot on a
treadmill travels backwards with the belt, so the mean horizontal velocity of the lowest foot
points backwards.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

__all__ = [
    "MarkerData",
    "ForceData",
    "read_rbds_markers",
    "read_rbds_forces",
    "read_c3d_markers",
    "read_ric_events",
    "read_rbds_info",
    "standardize_lab_frame",
    "facing_direction",
]


@dataclass
class MarkerData:
    """Marker trajectories of one trial.

    ``positions`` maps a marker name to an ``(n, 3)`` array in metres (NaN where the marker
    was not seen). ``time_s`` is the trial's own time base (need not start at 0).
    ``frame`` says which lab frame the coordinates are in ("file" until standardised,
    then "X_fwd_Y_up_Z_right"); ``rotation`` is the 3x3 matrix applied to the file
    coordinates (identity for "file").
    """

    time_s: np.ndarray
    rate_hz: float
    positions: dict[str, np.ndarray]
    source: str = ""
    frame: str = "file"
    rotation: np.ndarray = field(default_factory=lambda: np.eye(3))

    @property
    def names(self) -> list[str]:
        return list(self.positions)

    def __len__(self) -> int:
        return int(self.time_s.shape[0])

    def get(self, name: str) -> np.ndarray:
        try:
            return self.positions[name]
        except KeyError:
            raise KeyError(f"marker {name!r} not in {self.source or 'trial'}; have {self.names}") from None

    def mean_of(self, names: list[str] | tuple[str, ...]) -> np.ndarray:
        return np.mean([self.get(n) for n in names], axis=0)

    def rotated(self, rot: np.ndarray, frame: str) -> MarkerData:
        rot = np.asarray(rot, float)
        return replace(
            self,
            positions={k: v @ rot.T for k, v in self.positions.items()},
            frame=frame,
            rotation=rot @ self.rotation,
        )


@dataclass
class ForceData:
    """Treadmill force: ``force_n`` (n, 3) Fx Fy Fz, ``cop_m`` (n, 3), ``free_torque_nm`` (n,)."""

    time_s: np.ndarray
    rate_hz: float
    force_n: np.ndarray
    cop_m: np.ndarray
    free_torque_nm: np.ndarray
    source: str = ""
    rotation: np.ndarray = field(default_factory=lambda: np.eye(3))

    def rotated(self, rot: np.ndarray) -> ForceData:
        rot = np.asarray(rot, float)
        return replace(self, force_n=self.force_n @ rot.T, cop_m=self.cop_m @ rot.T, rotation=rot @ self.rotation)


def _read_table(path: Path, delimiter: str) -> tuple[list[str], np.ndarray]:
    text = Path(path).read_text(encoding="utf-8")
    first, _, body = text.partition("\n")
    header = first.rstrip("\r").split(delimiter)
    # empty fields (RBDS0041 leaves unseen markers empty) -> nan, then the fast C parser
    d = delimiter
    body = "\n".join(ln.rstrip("\r") for ln in body.splitlines() if ln.strip())
    for _ in range(2):  # two passes cover runs of empty fields
        body = body.replace(d + d, d + "nan" + d)
    body = re.sub(rf"^{re.escape(d)}", "nan" + d, body, flags=re.M)
    body = re.sub(rf"{re.escape(d)}$", d + "nan", body, flags=re.M)
    data = np.loadtxt(body.splitlines(), delimiter=delimiter, dtype=float, ndmin=2)
    if data.shape[1] != len(header):
        raise ValueError(f"{path}: {data.shape[1]} columns, header has {len(header)}")
    return [h.strip() for h in header], data


def _rate_from_time(time: np.ndarray) -> float:
    """Sample rate from a time column that may be rounded (RBDS rounds to 1 ms)."""
    if time.size < 2:
        raise ValueError("need at least two samples to know the rate")
    span = time[-1] - time[0]
    rate = (time.size - 1) / span
    # the files' rates are whole numbers of Hz; rounding of the time column only blurs it
    return float(round(rate))


def read_rbds_markers(path: str | Path) -> MarkerData:
    """Read an RBDS marker text file (``RBDS001runT25markers.txt``, ``RBDS0041static.txt``...).

    Columns ``Time`` then ``<marker>X``, ``<marker>Y``, ``<marker>Z`` in mm. The ``Time``
    column is rounded to 1 ms, so the time base is rebuilt as ``t0 + i / rate``.
    Zeros in all three coordinates (a common "missing" code) become NaN.
    """
    path = Path(path)
    header, data = _read_table(path, "\t")
    if header[0] != "Time":
        raise ValueError(f"{path}: first column should be 'Time', got {header[0]!r}")
    time = data[:, 0]
    rate = _rate_from_time(time)
    time = time[0] + np.arange(time.size) / rate
    positions: dict[str, np.ndarray] = {}
    for j in range(1, len(header), 3):
        names = header[j : j + 3]
        if len(names) != 3 or not (names[0].endswith("X") and names[1].endswith("Y") and names[2].endswith("Z")):
            raise ValueError(f"{path}: unexpected marker columns {names}")
        xyz = data[:, j : j + 3] / 1000.0
        missing = np.all(xyz == 0.0, axis=1)
        xyz[missing] = np.nan
        positions[names[0][:-1]] = xyz
    return MarkerData(time_s=time, rate_hz=rate, positions=positions, source=path.name)


def read_rbds_forces(path: str | Path, rate_hz: float = 300.0) -> ForceData:
    """Read an RBDS treadmill force file. The first column is the 1-based sample number;
    sample k is at time (k - 1) / rate_hz, sharing the markers' time zero."""
    path = Path(path)
    header, data = _read_table(path, "\t")
    expected = ["Time", "Fx", "Fy", "Fz", "COPx", "COPy", "COPz", "Ty"]
    if header[: len(expected)] != expected:
        raise ValueError(f"{path}: expected columns {expected}, got {header}")
    time = (data[:, 0] - 1.0) / rate_hz
    return ForceData(
        time_s=time,
        rate_hz=rate_hz,
        force_n=data[:, 1:4].copy(),
        cop_m=data[:, 4:7] / 1000.0,
        free_torque_nm=data[:, 7] / 1000.0,
        source=path.name,
    )


def read_c3d_markers(path: str | Path) -> MarkerData:
    """Read the 3-D points of a C3D file (RIC trials) with the pure-python ``c3d`` package.

    Points with a negative residual (not seen) become NaN. Units are converted to metres
    from ``POINT:UNITS`` (the RIC files leave it blank; their values are mm, which is assumed
    when the parameter is missing or empty).
    """
    try:
        import c3d  # pure python, on PyPI: the validation extra
    except ImportError:
        raise ImportError(
            f"{Path(path).name}: reading C3D motion capture needs the c3d package: pip install 'gait-form[validation]' "
            "(or pip install c3d)"
        ) from None

    path = Path(path)
    with open(path, "rb") as fh, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "No analog data found in file."
        reader = c3d.Reader(fh)
        labels = [lab.strip() for lab in reader.point_labels]
        rate = float(reader.point_rate)
        first = int(reader.first_frame)
        units = ""
        param = reader.get("POINT:UNITS")
        if param is not None:
            try:
                units = param.string_value.strip().lower()
            except Exception:  # pragma: no cover - odd parameter types
                units = ""
        frames = [points for _, points, _ in reader.read_frames()]
    pts = np.asarray(frames, dtype=float)  # (n, n_points, 5): x y z residual cameras
    scale = {"m": 1.0, "cm": 0.01, "mm": 0.001, "": 0.001}.get(units, 0.001)
    xyz = pts[:, :, :3] * scale
    xyz[pts[:, :, 3] < 0] = np.nan
    time = (first - 1 + np.arange(pts.shape[0])) / rate
    positions = {lab: xyz[:, i, :].copy() for i, lab in enumerate(labels)}
    return MarkerData(time_s=time, rate_hz=rate, positions=positions, source=path.name)


def read_ric_events(path: str | Path) -> np.ndarray:
    """The ``events`` array (frame indices, 1-based as MATLAB writes them) of a RIC ``*_r.mat``."""
    from scipy.io import loadmat

    mat = loadmat(str(path), squeeze_me=True, struct_as_record=False)
    root = mat["r_angles"] if "r_angles" in mat else mat
    events = getattr(root, "events", None)
    if events is None:
        raise KeyError(f"{path}: no 'events'")
    return np.asarray(events, dtype=int)


def read_rbds_info(path: str | Path) -> list[dict[str, str]]:
    """Rows of ``RBDSinfo_v2.txt`` as dicts keyed by the header. Rows that are shorter than the
    header (subjects 31, 33-39) get only the keys they have; parse by header, never by position."""
    path = Path(path)
    rows: list[dict[str, str]] = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        header = fh.readline().rstrip("\r\n").split("\t")
        for line in fh:
            cells = line.rstrip("\r\n").split("\t")
            if not any(c.strip() for c in cells):
                continue
            rows.append({h.strip(): c.strip() for h, c in zip(header, cells)})
    return rows


def _lowest_foot_velocity(markers: MarkerData, foot_names: list[str]) -> np.ndarray:
    """Horizontal (X, Z) velocity of the lowest foot marker at each frame when it is near the
    ground (within 3 cm of its lowest height). Returns (k, 2) samples."""
    rate = markers.rate_hz
    samples = []
    for name in foot_names:
        p = markers.get(name)
        if np.all(np.isnan(p[:, 1])):
            continue
        y = p[:, 1]
        floor = np.nanpercentile(y, 2)
        vel = np.gradient(p, 1.0 / rate, axis=0)
        near = (y < floor + 0.03) & np.all(np.isfinite(vel), axis=1)
        samples.append(vel[near][:, [0, 2]])
    if not samples:
        raise ValueError("no foot marker to infer the running direction from")
    return np.concatenate(samples)


def facing_direction(markers: MarkerData, foot_names: list[str]) -> np.ndarray:
    """Unit horizontal vector (in file X/Z) of the direction the runner faces.

    On a treadmill a foot in contact moves backwards with the belt, so the direction is minus
    the median horizontal velocity of feet near the ground. Returned as a 3-vector (x, 0, z).
    """
    v = _lowest_foot_velocity(markers, foot_names)
    med = np.median(v, axis=0)
    n = np.hypot(*med)
    if n < 0.3:  # belt speed is >= 2.5 m/s in every trial here; well below that is suspicious
        raise ValueError(f"feet near the ground move only {n:.2f} m/s: not a treadmill running trial?")
    fwd = -med / n
    return np.array([fwd[0], 0.0, fwd[1]])


def standardize_lab_frame(
    markers: MarkerData, foot_names: list[str], snap_to_axis: bool = True
) -> tuple[MarkerData, np.ndarray]:
    """Rotate a trial about the vertical so that X is forward (the runner's facing direction),
    Y up and Z to the right. Returns the rotated markers and the 3x3 rotation (new = R @ file).

    With ``snap_to_axis`` the facing direction is snapped to the nearest lab axis (the belt runs
    along a lab axis); the unsnapped direction must be within 20 degrees of it.
    """
    fwd = facing_direction(markers, foot_names)
    if snap_to_axis:
        axes = [np.array(a, float) for a in ((1, 0, 0), (-1, 0, 0), (0, 0, 1), (0, 0, -1))]
        best = max(axes, key=lambda a: float(a @ fwd))
        angle = np.degrees(np.arccos(np.clip(best @ fwd, -1, 1)))
        if angle > 20.0:
            raise ValueError(f"running direction is {angle:.0f} deg off every lab axis")
        fwd = best
    up = np.array([0.0, 1.0, 0.0])
    right = np.cross(fwd, up)
    rot = np.vstack([fwd, up, right])  # rows: new axes in file coordinates
    return markers.rotated(rot, "X_fwd_Y_up_Z_right"), rot
