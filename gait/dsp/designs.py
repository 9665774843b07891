"""The filter designs the stages make when they start: Butterworth second-order sections and the
state of a section chain in its steady state.

`scipy.signal` takes about 0.6 s to import, longer than the analysis of a 10-minute recording, and
a stage needs it only to design its filters. So a design is made with SciPy once per (type, order,
band, sample rate) and SciPy version, and kept in a small JSON file in the user cache folder
(``$GAIT_FILTER_CACHE`` names another file; ``off`` keeps nothing on disk). Later processes read
the sections back: floats are written in their shortest round-trip form, so they are the very
numbers SciPy gave. A file that cannot be read or written is no error: the design is made again.

`steady_state_zi` is what ``scipy.signal.sosfilt_zi`` returns, computed here with NumPy alone by the
same arithmetic in the same order (a 2 x 2 solve per section), so it needs no SciPy.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np

CACHE_ENV = "GAIT_FILTER_CACHE"
_FORMAT = 1
_memory: dict[str, np.ndarray] = {}


def butter_sos(order: int, cutoff_hz: float | tuple[float, float], fs: float, btype: str = "lowpass") -> np.ndarray:
    """``scipy.signal.butter(order, cutoff_hz, btype, fs=fs, output="sos")`` as a C-contiguous
    (sections, 6) array (a fresh copy); from the cache when it was designed before."""
    cut = tuple(float(c) for c in np.atleast_1d(cutoff_hz))
    key = f"butter/{btype}/{int(order)}/{','.join(repr(c) for c in cut)}/{float(fs)!r}"
    sos = _memory.get(key)
    if sos is None:
        path = cache_file()
        sos = _read(path).get(key) if path is not None else None
        if sos is None:
            from scipy.signal import butter

            sos = np.ascontiguousarray(butter(int(order), cut if len(cut) > 1 else cut[0], btype=btype, fs=float(fs),
                                              output="sos"), dtype=float)  # fmt: skip
            if path is not None:
                _write(path, key, sos)
        _memory[key] = sos
    return sos.copy()


def steady_state_zi(sos: np.ndarray) -> np.ndarray:
    """(sections, 2): the state of the section chain after a unit step forever
    (``scipy.signal.sosfilt_zi``, bit for bit): scale it by the first sample to start a filter
    without a start-up transient."""
    sos = np.asarray(sos, dtype=float)
    zi = np.empty((sos.shape[0], 2))
    scale = 1.0
    for k in range(sos.shape[0]):
        b, a = sos[k, :3], sos[k, 3:]
        bn, an = (b / a[0], a / a[0]) if a[0] != 1.0 else (b, a)
        # zi = A zi + B for the transposed direct form: (I - A) zi = B, A = companion(a)^T
        i_minus_a = np.array([[1.0 + an[1], -1.0], [an[2], 1.0]])
        zi[k] = scale * np.linalg.solve(i_minus_a, bn[1:] - an[1:] * bn[0])
        scale *= np.sum(b) / np.sum(a)  # the section's gain at 0 Hz
    return zi


# ------------------------------------------------------------------------------------------------
# the cache file


def cache_file() -> Path | None:
    """The cache of designs for the SciPy installed: ``$GAIT_FILTER_CACHE`` (``off``: none), else
    ``filters-<SciPy version>.json`` in the user cache folder of ``gait`` (as platformdirs, and so
    pooch for the data sets, define it)."""
    env = os.environ.get(CACHE_ENV)
    if env is not None:
        return None if env.strip().lower() in ("", "off", "0", "no") else Path(env)
    import platformdirs
    import scipy

    try:
        return platformdirs.user_cache_path("gait") / f"filters-{scipy.__version__}.json"
    except (RuntimeError, KeyError, OSError):  # no home folder to be found: nothing kept
        return None


def _read(path: Path) -> dict[str, np.ndarray]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(doc, dict) or doc.get("format") != _FORMAT or not isinstance(doc.get("designs"), dict):
        return {}
    out: dict[str, np.ndarray] = {}
    for key, rows in doc["designs"].items():
        try:
            sos = np.array(rows, dtype=float)
        except (TypeError, ValueError):
            continue
        if sos.ndim == 2 and sos.shape[0] >= 1 and sos.shape[1] == 6 and all(math.isfinite(v) for v in sos.ravel()):
            out[key] = np.ascontiguousarray(sos)
    return out


def _write(path: Path, key: str, sos: np.ndarray) -> None:
    """Add one design (read, add, write a temporary file, rename over: a reader never sees half a
    file; two processes adding at once may lose one design, made again when next needed)."""
    designs = {k: v.tolist() for k, v in _read(path).items()}
    designs[key] = sos.tolist()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"format": _FORMAT, "designs": designs}, f)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)  # type: ignore[possibly-undefined]
        except (OSError, NameError):
            pass
