"""Trunk lean per step (pure)."""

from __future__ import annotations

import math

import numpy as np


def mean_lean_deg(tilt_deg: np.ndarray) -> float | None:
    """Mean sagittal trunk lean (deg, positive forward) over the samples of one step; NaN
    samples (lean unknown) are left out, None when none is known."""
    t = np.asarray(tilt_deg, dtype=float)
    if t.size == 0:
        return None
    s = float(t.sum())
    if math.isfinite(s):  # the common case: every sample known (one reduction, no copy)
        return s / t.size
    t = t[np.isfinite(t)]
    if t.size == 0:
        return None
    return float(t.mean())
