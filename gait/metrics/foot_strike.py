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

import math

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


def strapdown_fsa(
    gyr_dps: np.ndarray,
    fs: float,
    ff_i: int,
    ic_pos: float,
    pitch_axis: np.ndarray,
    up_standing: np.ndarray | None,
    up_ff: np.ndarray | None = None,
) -> float:
    """Foot strike angle by a 3-D strap-down integration of the full angular rate from foot flat
    (sample ``ff_i``) back to IC (fractional sample ``ic_pos``), over one cycle's samples.

    The world 'up' is tracked in the sensor frame: at foot flat it is ``up_ff`` (gravity measured
    while the foot is still) or, failing that, ``up_standing`` (foot flat = as when standing);
    going back in time it turns with the sensor (``u(k) = exp(w_k dt) u(k+1)``, an exact rotation
    per sample with the trapezoidal rate). The foot's long axis is ``up_standing x pitch_axis``
    (forward, horizontal when standing); FSA = its elevation at IC, positive = toes up. Without
    any 'up' this falls back to the 1-D integral of the pitch rate from a flat foot flat.
    """
    e = np.asarray(pitch_axis, float)
    if up_standing is None:
        rate = gyr_dps @ e
        return angle_at(rate, fs, float(ff_i), 0.0, ic_pos)
    u0 = [float(v) for v in up_standing]
    ex, ey, ez = (float(v) for v in e)
    d0 = ex * u0[0] + ey * u0[1] + ez * u0[2]
    ex, ey, ez = ex - d0 * u0[0], ey - d0 * u0[1], ez - d0 * u0[2]
    ne = math.sqrt(ex * ex + ey * ey + ez * ez)
    ex, ey, ez = ex / ne, ey / ne, ez / ne
    # X = Y x Z: forward = up x right
    fwd = (u0[1] * ez - u0[2] * ey, u0[2] * ex - u0[0] * ez, u0[0] * ey - u0[1] * ex)
    ux, uy, uz = u0 if up_ff is None else (float(v) for v in up_ff)
    i_lo = int(math.ceil(ic_pos))
    frac = i_lo - ic_pos  # part of the step (i_lo - 1 -> i_lo) still to integrate
    k0 = max(0, i_lo - 1)
    w = (gyr_dps[k0 : ff_i + 1] * (math.pi / 180.0 / fs)).tolist()
    steps = [(k - k0, 1.0) for k in range(ff_i - 1, i_lo - 1, -1)]
    if frac > 1e-9 and i_lo - 1 >= 0:
        steps.append((i_lo - 1 - k0, frac))
    for k, part in steps:
        # rate over the step k -> k + 1 (trapezoid); a partial step ends at k + 1 - part
        (ax, ay, az), (bx, by, bz) = w[k], w[k + 1]
        if part >= 1.0:
            rx, ry, rz = 0.5 * (ax + bx), 0.5 * (ay + by), 0.5 * (az + bz)
        else:  # rate at the partial step's far end: b + (a - b) * part
            h = 0.5 * part
            rx = h * (2.0 * bx + (ax - bx) * part)
            ry = h * (2.0 * by + (ay - by) * part)
            rz = h * (2.0 * bz + (az - bz) * part)
        a = math.sqrt(rx * rx + ry * ry + rz * rz)
        if a < 1e-12:
            continue
        kx, ky, kz = rx / a, ry / a, rz / a
        c, s = math.cos(a), math.sin(a)
        dot = (kx * ux + ky * uy + kz * uz) * (1.0 - c)
        cx, cy, cz = ky * uz - kz * uy, kz * ux - kx * uz, kx * uy - ky * ux
        # Rodrigues: rotate u by +a about k (the sensor turned by +w: fixed vectors turn back)
        ux, uy, uz = ux * c + cx * s + kx * dot, uy * c + cy * s + ky * dot, uz * c + cz * s + kz * dot
    el = float(fwd[0] * ux + fwd[1] * uy + fwd[2] * uz)
    return float(np.degrees(np.arcsin(min(1.0, max(-1.0, el)))))
