"""Foot strike angle (FSA) and type from a shoe-mounted gyroscope.

FSA is the sagittal angle of the foot at initial contact relative to the foot-flat reference
(the standing calibration when there is one), positive = toes up = heel first. It is found by a
per-stride strap-down integration of the pitch rate (Falbriard et al. 2020, MSDI-style): the
integration starts from the foot-flat instant in mid-stance, whose pitch is known (from gravity
vs. the calibration 'up' vector, or 0 = foot flat when uncalibrated), and runs *backwards* to IC,
so the drift of one stride never reaches the next and the integration span is only the first
part of stance (about 50-150 ms).
"""

from __future__ import annotations

import numpy as np

from gait.core.config import StrikeThresholds

RFS = "rearfoot"
MFS = "midfoot"
FFS = "forefoot"


def classify_strike(fsa_deg: float | None, thresholds: StrikeThresholds) -> str | None:
    """Altman & Davis (2012) class from the foot strike angle."""
    if fsa_deg is None or not np.isfinite(fsa_deg):
        return None
    if fsa_deg > thresholds.rearfoot_above_deg:
        return RFS
    if fsa_deg < thresholds.forefoot_below_deg:
        return FFS
    return MFS


def angle_at(rate_dps: np.ndarray, fs: float, ref_pos: float, ref_angle_deg: float, pos: float) -> float:
    """Angle at fractional sample position ``pos`` of a rate trace, given the angle at ``ref_pos``.

    Trapezoidal integration of ``rate_dps`` (sampled at ``fs``) with linear interpolation of the
    cumulative integral at the two fractional positions.
    """
    n = rate_dps.shape[0]
    cum = np.empty(n)
    cum[0] = 0.0
    np.cumsum(0.5 * (rate_dps[1:] + rate_dps[:-1]) / fs, out=cum[1:])
    idx = np.arange(n, dtype=float)
    c_ref = float(np.interp(ref_pos, idx, cum))
    c_pos = float(np.interp(pos, idx, cum))
    return ref_angle_deg + (c_pos - c_ref)
