"""Trunk lean per step (pure)."""

from __future__ import annotations

import numpy as np


def mean_lean_deg(tilt_deg: np.ndarray) -> float | None:
    """Mean sagittal trunk lean (deg, positive forward) over the samples of one step."""
    t = np.asarray(tilt_deg, dtype=float)
    t = t[np.isfinite(t)]
    if t.size == 0:
        return None
    return float(t.mean())
