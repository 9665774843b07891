"""Foot-sensor orientation helpers: the pitch (mediolateral) axis of a shoe-mounted IMU with an
unknown mounting, the sign of that axis, and the foot pitch angle from gravity.

Sign convention used by the whole foot pipeline
-----------------------------------------------
The body frame of the foot is X forward, Y up, Z to the runner's right (right-handed). The
*pitch rate* is the angular rate about +Z (right): positive = toes-up rotation (X turns towards Y),
negative = toes-down rotation. The *pitch angle* is positive with the toes up (heel lower than
the toes). With this convention a running stride shows, per foot:

* late swing: the foot swings forward and turns toes-up; the large positive peak of the pitch
  rate is *mid-swing*;
* around initial contact (IC): a negative minimum (the forefoot slapping down after a rearfoot
  strike, or the last toes-down rotation before a forefoot strike);
* stance: a quiet period (foot flat);
* push-off: a large negative rotation that peaks around toe-off (TO); the foot then keeps turning
  toes-down in early swing (up to 60-90 deg below flat) before turning back toes-up.

Finding the axis: the principal axis of the angular rate (the sagittal rotation dominates a
running foot by a factor of 2-4 in amplitude). Its sign: the pitch angle within a stride,
measured from the quiet stance instant, goes much further toes-down (early swing, -40 to -90 deg)
than toes-up (late swing, +0 to +30 deg). A flipped axis shows the mirror image; the
asymmetry decides the sign.
"""

from __future__ import annotations

import numpy as np

# Exponential forgetting per stride for the angular-rate covariance (about 20 strides of memory).
AXIS_FORGET = 0.95


def principal_axis(cov: np.ndarray, previous: np.ndarray | None = None) -> np.ndarray:
    """Unit eigenvector of the largest eigenvalue of a 3x3 covariance; oriented to agree with
    ``previous`` (so the axis never flips by itself between updates)."""
    _, vecs = np.linalg.eigh(cov)
    e = vecs[:, -1].copy()
    if previous is not None:
        if float(e @ previous) < 0.0:
            e = -e
    elif e[np.argmax(np.abs(e))] < 0.0:
        e = -e  # deterministic orientation of the first estimate
    return e


def axis_sharpness(cov: np.ndarray) -> float:
    """Ratio of the largest to the second eigenvalue (how well defined the pitch axis is)."""
    w = np.linalg.eigvalsh(cov)
    return float(w[-1] / max(w[-2], 1e-12))


def sign_vote(rate_dps: np.ndarray, gyr_norm_dps: np.ndarray, fs: float) -> float:
    """Evidence for the sign of a projected rate over (at least) one stride.

    Integrates the rate from the quietest instant (minimum angular-rate norm: stance) and
    compares how far the angle goes each way. Returns a positive number when the rate has the
    toes-up-positive convention (a deep toes-down excursion), negative when it is mirrored,
    scaled so that +-1 is a clear stride; near 0 when undecided.
    """
    n = rate_dps.shape[0]
    if n < 4:
        return 0.0
    k = int(np.argmin(gyr_norm_dps))
    theta = np.cumsum(rate_dps) / fs
    theta = theta - theta[k]
    down = -float(theta.min())
    up = float(theta.max())
    total = down + up
    if total < 20.0:  # less than 20 deg of rotation: not a running/walking stride
        return 0.0
    return (down - up) / total


def pitch_from_gravity(acc: np.ndarray, up_cal: np.ndarray, ml_axis: np.ndarray) -> float:
    """Pitch angle (deg, toes up positive) of the foot when its specific force is ``acc`` (sensor
    frame, foot still) relative to the standing calibration whose 'up' is ``up_cal``, rotation
    measured about ``ml_axis`` (unit, pointing to the runner's right, sensor frame)."""
    a = acc - (acc @ ml_axis) * ml_axis
    u = up_cal - (up_cal @ ml_axis) * ml_axis
    s = float(ml_axis @ np.cross(a, u))
    c = float(a @ u)
    return float(np.degrees(np.arctan2(s, c)))


def parabolic_offset(y0: float, y1: float, y2: float) -> float:
    """Sub-sample offset (-0.5..0.5) of the extremum of a parabola through three equally spaced
    samples centred on the middle one."""
    den = y0 - 2.0 * y1 + y2
    if den == 0.0 or not np.isfinite(den):
        return 0.0
    off = 0.5 * (y0 - y2) / den
    return float(min(0.5, max(-0.5, off)))
