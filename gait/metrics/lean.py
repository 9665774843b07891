"""Trunk lean per step (pure)."""

from __future__ import annotations

import math

import numpy as np

from gait.dsp.reductions import pairwise_sum


def mean_lean_deg(tilt_deg: np.ndarray) -> float | None:
    """Mean sagittal trunk lean (deg, positive forward) over the samples of one step; NaN
    samples (lean unknown) are left out, None when none is known."""
    t = np.ascontiguousarray(tilt_deg, dtype=float)
    if t.size == 0:
        return None
    s = pairwise_sum(t, 0, t.shape[0])  # = t.sum(), without a NumPy call where compiled
    if math.isfinite(s):  # the common case: every sample known (one reduction, no copy)
        return s / t.size
    t = t[np.isfinite(t)]
    if t.size == 0:
        return None
    return float(t.mean())
