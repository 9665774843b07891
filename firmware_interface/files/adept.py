"""Reader for the adeptdata ``acc_running`` export (``loc_id,date_time,x,y,z``; g; POSIX seconds).

ActiGraph GT9X Link accelerometers at 100 Hz, device axes. Returns one stream per ``loc_id``
in m/s^2 with ``time_s`` counted from the first sample of the file (rounded to 0.1 ms, the
export's resolution), sorted, duplicates dropped.
"""

from __future__ import annotations

import gzip
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
    loc_arr = np.array(locs)
    t_first = float(values[:, 0].min())
    out: dict[str, AdeptStream] = {}
    for loc_id in dict.fromkeys(locs):
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
