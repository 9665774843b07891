"""Reader for the adeptdata ``acc_running`` run: the published R data file or a CSV export of it.

``acc_running.rda`` (as published in ``martakarass/adeptdata``, read with ``rdata``) and CSV exports
(``loc_id,date_time,x,y,z``; g; POSIX seconds; ``.csv`` or ``.csv.gz``) give the same streams.
ActiGraph GT9X Link accelerometers at 100 Hz, device axes. Returns one stream per ``loc_id``
in m/s^2 with ``time_s`` counted from the first sample of the file (rounded to 0.1 ms, the
export's resolution), sorted, duplicates dropped.

Parsing the R file takes seconds: its columns are kept beside it in ``<file>.columns.npz``
(tagged with the file's SHA-256, rebuilt when the file changes; skipped where the folder is
read-only).
"""

from __future__ import annotations

import gzip
import hashlib
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gait.core.config import GRAVITY_MPS2
from gait.core.errors import RecordingFormatError

HEADER = ["loc_id", "date_time", "x", "y", "z"]


@dataclass(frozen=True)
class AdeptStream:
    loc_id: str
    time_s: np.ndarray
    acc_mps2: np.ndarray
    time_origin_unix_s: float


def read_adept(path: str | Path) -> dict[str, AdeptStream]:
    path = Path(path)
    if path.suffix.lower() == ".rda":
        locs_arr, values = _rda_columns(path)
        return _streams(locs_arr, values)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        header = [c.strip() for c in fh.readline().split(",")]
        if header != HEADER:
            raise RecordingFormatError(str(path), 1, f"expected columns {HEADER}, found {header}")
        locs: list[str] = []
        rest: list[str] = []
        for line in fh:
            if not line.strip():
                continue
            a, _, b = line.partition(",")
            locs.append(a)
            rest.append(b)
    try:
        values = np.loadtxt(rest, delimiter=",", ndmin=2)
    except ValueError as exc:
        raise RecordingFormatError(str(path), None, f"not a number in the data: {exc}") from None
    return _streams(np.array(locs), values)


def _streams(loc_arr: np.ndarray, values: np.ndarray) -> dict[str, AdeptStream]:
    """Rows ``(date_time, x, y, z)`` with their ``loc_id`` -> one stream per location."""
    t_first = float(values[:, 0].min())
    out: dict[str, AdeptStream] = {}
    for loc_id in dict.fromkeys(loc_arr.tolist()):
        rows = values[loc_arr == loc_id]
        rows = rows[np.argsort(rows[:, 0], kind="stable")]
        t = np.round(rows[:, 0] - t_first, 4)
        keep = np.concatenate([[True], np.diff(t) > 0])
        out[loc_id] = AdeptStream(
            loc_id=loc_id,
            time_s=np.ascontiguousarray(t[keep]),
            acc_mps2=np.ascontiguousarray(rows[keep, 1:4] * GRAVITY_MPS2),
            time_origin_unix_s=t_first,
        )
    return out


def _rda_columns(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``loc_id`` strings and ``(date_time, x, y, z)`` rows of the R data file (cached beside it)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RecordingFormatError(str(path), None, f"cannot read: {exc.strerror or exc}") from None
    digest = hashlib.sha256(raw).hexdigest()
    side = path.with_name(path.name + ".columns.npz")
    try:
        with np.load(side, allow_pickle=False) as z:
            if str(z["sha256"]) == digest:
                return z["loc_id"], z["values"]
    except (OSError, KeyError, ValueError):
        pass
    locs, values = _parse_rda(path)
    try:
        with open(side, "wb") as fh:
            np.savez(fh, sha256=np.array(digest), loc_id=locs, values=values)
    except OSError:
        pass  # a read-only folder: parse again next time
    return locs, values


def _parse_rda(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        import rdata
    except ImportError:
        raise RecordingFormatError(str(path), None, "reading R data files needs rdata: pip install rdata") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = rdata.parser.parse_file(path)
        frame = parsed.object.value[0]
        names = _column_names(frame)
        cols = dict(zip(names, frame.value, strict=True))
        locs = np.array([c.value.decode("utf-8") for c in cols["loc_id"].value])
        values = np.column_stack([np.asarray(cols[k].value, dtype=float) for k in HEADER[1:]])
    except (KeyError, IndexError, AttributeError, TypeError, ValueError) as exc:
        raise RecordingFormatError(str(path), None, f"not the adeptdata acc_running data frame ({exc})") from None
    except Exception as exc:  # rdata's own parse errors have no common base class
        raise RecordingFormatError(str(path), None, f"not a readable R data file ({exc})") from None
    return locs, values


def _column_names(frame) -> list[str]:
    """The data frame's ``names`` attribute (walk the attribute pair list)."""
    node = frame.attributes
    while node is not None and getattr(node, "value", None):
        head = node.value[0]
        if getattr(head.info.type, "name", "") == "STR":
            names = [c.value.decode("utf-8") for c in head.value]
            if set(HEADER) <= set(names):
                return names
        node = node.value[1] if len(node.value) > 1 else None
    raise KeyError("names")
