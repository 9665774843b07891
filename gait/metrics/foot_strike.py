"""Foot strike angle (FSA) and type from a shoe-mounted IMU.

FSA is the sagittal angle of the foot's long axis at initial contact relative to the foot-flat
reference (the standing calibration when there is one), positive = toes up = heel first.
`StrideAttitude` gives a drift-free attitude over each stride (foot flat to foot flat: the
stride's mean specific force is gravity, Falbriard et al. 2020's idea of correcting the
strap-down at two foot-flat instants, with gravity found from the whole stride instead of from a
still instant, which a running foot never has) and the stride's direction of travel (ZUPT).
`gait.detect.foot.FootStepStage._fsa` combines them. `strapdown_fsa` (1-D/3-D integration back
from foot flat) is the older estimator, kept for comparison.
"""

from __future__ import annotations

import math

import numpy as np

from gait.core.config import StrikeThresholds
from gait.dsp import rotation_chains as chains
from gait.dsp.foot_orientation import step_rotations, strapdown_attitudes, stride_tree, tree_prefix

RFS = "rearfoot"
MFS = "midfoot"
FFS = "forefoot"


def classify_strike(fsa_deg: float | None, thresholds: StrikeThresholds) -> str | None:
    """Altman & Davis (2012) class from the foot strike angle."""
    if fsa_deg is None or not math.isfinite(fsa_deg):
        return None
    if fsa_deg > thresholds.rearfoot_above_deg:
        return RFS
    if fsa_deg < thresholds.forefoot_below_deg:
        return FFS
    return MFS


def near_class_edge(fsa_deg: float | None, thresholds: StrikeThresholds) -> bool:
    """True when the angle lies within ``near_boundary_deg`` of a class edge (its class could be
    the neighbouring one within the angle's error): the step is flagged ``near_boundary``."""
    if fsa_deg is None or not math.isfinite(fsa_deg):
        return False
    margin = thresholds.near_boundary_deg
    return any(abs(fsa_deg - edge) <= margin for edge in (thresholds.rearfoot_above_deg, thresholds.forefoot_below_deg))


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


class StrideAttitude:
    """Drift-free foot attitude over one stride, foot flat to foot flat (samples ``0..n-1``).

    The gyroscope gives the attitude ``C_t`` at every sample relative to the first foot flat
    (exact per-sample rotations, as `gait.dsp.foot_orientation.strapdown_attitudes`). Between two
    foot-flat instants the foot's velocity is the same (zero over ground, the belt's on a
    treadmill), so the mean of the specific force rotated into that one frame is gravity alone:
    ``mean_t C_t f_t = g * up_0``. That fixes the world 'up' in the sensor frame at every sample
    of the stride with no foot-flat assumption and no threshold (an error of 0.1 m/s in the
    stride's velocity change tilts it by about 0.8 deg). Integrating the gravity-free
    acceleration twice (velocity zero at both ends: ZUPT, with a linear drift correction) gives
    the stride's displacement; its horizontal direction is the direction of travel, which,
    expressed in the sensor frame at foot flat, estimates the foot's forward axis (up to the
    toe-out angle: see `gait.detect.foot`).

    Only sums over the stride are needed, not the attitude at every sample: with ``x_t = C_t f_t``,
    ``S0 = sum_t x_t`` and ``S1 = sum_t t x_t`` (one product tree, `stride_tree`), the trapezoidal
    integral is ``I = (S0 - (x_0 + x_{n-1}) / 2) / fs`` (mean specific force ``I / T``) and the
    ZUPT displacement ``d = (sum_k cum_k - I n / 2) / fs`` with
    ``sum_k cum_k = ((2n - 1) S0 - 2 S1 - n x_0) / (2 fs)`` (``cum`` the running trapezoidal
    integral; the same numbers as integrating sample by sample, up to rounding).

    ``rot``: the per-sample rotations of the stride (`gait.dsp.foot_orientation.step_rotations`
    of ``gyr_dps``, rows ``0..n-2``) when the caller already holds them; ``gyr_dps`` is then unused.
    """

    def __init__(
        self, gyr_dps: np.ndarray | None, acc_mps2: np.ndarray, fs: float, gravity: float, rot: np.ndarray | None = None
    ):
        n = acc_mps2.shape[0]
        self.n = n
        if rot is None:
            rot = step_rotations(gyr_dps, fs) if n > 1 else np.zeros((0, 3, 3))
        self._rot = rot
        if chains.COMPILED:  # the same sums, one sample after the other (see gait.dsp.rotation_chains)
            self._levels = None
            self._att = np.empty((n, 9))
            chains.attitudes(rot, n, self._att)
            sums = np.empty((3, 5))
            chains.chain_sums(self._att, acc_mps2, sums)
        else:
            self._levels = levels = stride_tree(None, acc_mps2, fs, rot)
            sums = levels[-1][0][:3]
        out = np.empty(14)
        moved = chains.stride_summary(sums, acc_mps2, fs, gravity, out)
        self.gravity_ratio = float(out[0])  # 1 for a steady stride
        self.stride_m = float(out[1])
        self.up0 = out[2:5]
        self.up1 = out[5:8]  # 'up' and the travel direction in the frame of the last sample
        self.travel0 = out[8:11] if moved else None
        self.travel1 = out[11:14] if moved else None

    def up_at(self, pos: float) -> np.ndarray:
        """World 'up' in the sensor frame at fractional sample ``pos`` (0..n-1)."""
        i = min(max(int(math.floor(pos)), 0), self.n - 2)
        fr = min(max(pos - i, 0.0), 1.0)
        if self._levels is None:
            out = np.empty(3)
            ux, uy, uz = self.up0.tolist()
            chains.chain_up(self._att, self._rot, i, ux, uy, uz, fr, out)
            return out
        ci = tree_prefix(self._levels, i)
        a = ci.T @ self.up0  # up in the frame of sample i
        b = self._rot[i].T @ a  # ... and of sample i + 1
        x = (1.0 - fr) * a + fr * b
        return x / math.sqrt(float(x @ x))


def floats3(v) -> tuple[float, float, float]:
    """A 3-vector (array or sequence) as three Python floats."""
    x, y, z = v.tolist() if isinstance(v, np.ndarray) else v
    return x, y, z


def elevation_deg(axis, up) -> float:
    """Elevation (deg) of a sensor-frame axis above the horizontal plane whose normal is ``up``
    (3-arrays or 3-tuples of floats)."""
    (ax, ay, az), (ux, uy, uz) = floats3(axis), floats3(up)
    return math.degrees(math.asin(min(1.0, max(-1.0, ax * ux + ay * uy + az * uz))))


def horizontal(axis, up) -> tuple[float, float, float] | None:
    """``axis`` made horizontal (unit; 3-arrays or 3-tuples in, a tuple out), or None when it is
    within about 17 deg of vertical."""
    (ax, ay, az), (ux, uy, uz) = floats3(axis), floats3(up)
    d = ax * ux + ay * uy + az * uz
    hx, hy, hz = ax - d * ux, ay - d * uy, az - d * uz
    n = math.sqrt(hx * hx + hy * hy + hz * hz)
    return (hx / n, hy / n, hz / n) if n > 0.3 else None


def up_back(gyr_dps: np.ndarray, fs: float, ff_i: int, ic_pos: float, up_ff: np.ndarray) -> np.ndarray:
    """World 'up' in the sensor frame at fractional sample ``ic_pos``, given it at sample ``ff_i``
    (later), by a strap-down integration of ``gyr_dps`` (rows ``0..ff_i`` at least)."""
    i0 = min(max(int(np.floor(ic_pos)), 0), ff_i - 1)
    c = strapdown_attitudes(gyr_dps[i0 : ff_i + 1], fs)  # frame t -> frame i0
    up0 = c[-1] @ up_ff  # 'up' in the frame of sample i0
    fr = min(max(ic_pos - i0, 0.0), 1.0)
    x = (1.0 - fr) * up0 + fr * (c[1].T @ up0)
    return x / np.linalg.norm(x)
