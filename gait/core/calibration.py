"""Standing calibration: the 'up' direction of a still sensor, the zero of lean and foot angle."""

from __future__ import annotations

import numpy as np

from gait.core.config import GRAVITY_MPS2, Calibration
from gait.core.errors import GaitError

STILL_STD_MPS2 = 0.35  # a standing calibration must be this still (std of |acc|)
MIN_SAMPLES = 10


def calibration_from_samples(acc_mps2: np.ndarray, name: str = "calibration") -> Calibration:
    """Mean 'up' unit vector (sensor frame) of a recording of standing still.

    Raises `GaitError` when the samples are too few or not still (the runner moved)."""
    acc = np.asarray(acc_mps2, dtype=float)
    acc = acc[np.all(np.isfinite(acc), axis=1)]
    if acc.shape[0] < MIN_SAMPLES:
        raise GaitError(f"{name}: a standing calibration needs at least {MIN_SAMPLES} samples")
    norm = np.linalg.norm(acc, axis=1)
    if float(np.std(norm)) > STILL_STD_MPS2 or abs(float(np.median(norm)) - GRAVITY_MPS2) > 1.0:
        raise GaitError(
            f"{name}: not a standing calibration (|acc| = {np.median(norm):.2f} ± {np.std(norm):.2f} m/s²; "
            "stand still, upright, foot flat, for 3-5 s)"
        )
    up = acc.mean(axis=0)
    up = up / np.linalg.norm(up)
    return Calibration(gravity_sensor=(float(up[0]), float(up[1]), float(up[2])))
