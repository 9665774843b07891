"""The arm over one stride, from a wrist sensor with a gyroscope (pure functions).

A stride of the arm is one swing cycle (forward and back: two steps). Over it:

1. Orientation (gyro + accelerometer): the strap-down attitude from the gyroscope carries every
   sample into the sensor frame at the stride's first sample (`strapdown_attitudes`; over 0.6-0.9 s
   a gyro bias of 1 deg/s turns it by < 1 deg). The hand's velocity is the same at both ends of a
   steady stride, so the mean specific force over the stride, in that frame, is gravity: 'up',
   drift-free, whatever the watch's mounting and however far the hand rotates within the stride.
   The gravity-free acceleration is the specific force minus that mean.
2. Direction of travel (`impact_correlation`): a wrist swings forward and back, but not
   necessarily along the direction of travel: a hand that crosses the body swings in a plane
   turned inwards. The trunk's jolt at each foot contact reaches the wrist: above
   ``forward_hp_hz`` (8 Hz, above the swing's own harmonics that matter) its vertical and
   horizontal parts are correlated along the braking direction, i.e. along the direction of
   travel. The correlation vector (horizontal acceleration x vertical acceleration, summed over
   the stride, normalised) is averaged over strides by the detector; its length is the
   confidence. ASSUMPTION, not validated on real wrists: that the jolt's horizontal part at the
   wrist points along the travel (true in the tests' arm model; a real arm may bend it towards
   the swing).
3. Arm crossing (`arm_cross_cm`): the gravity-free acceleration across the direction of travel
   (horizontal, perpendicular to it), integrated twice over the stride as one period of a periodic
   signal (`gait.metrics.vertical.vertical_displacement_m`: velocity and position forced periodic,
   i.e. drift removed), peak to peak: how far the hand travels from side to side per stride. It
   includes the trunk's own side-to-side sway (1-3 cm in running). It is a travel, not a position:
   a wrist sensor cannot know where the body's midline is, so whether the hand passes it depends
   on where the hand starts (shoulder width, carriage), which the sensor does not see.
4. Arm swing (`arm_swing_deg`): the angle the wrist turns through about the swing axis (the
   principal axis of the angular rate), peak to peak over the stride, the mean rate removed (the
   angle is periodic; that also removes the gyro's bias).
"""

from __future__ import annotations

import math

import numpy as np

from gait.core.params import VerticalParams
from gait.dsp.foot_orientation import rotate, strapdown_attitudes
from gait.metrics.vertical import vertical_displacement_m

_LATERAL = VerticalParams(max_harmonic_hz=10.0)  # the hand's sideways travel: no content above 10 Hz matters


def _unit(v: np.ndarray) -> np.ndarray | None:
    n = math.sqrt(float(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]))
    return v / n if n > 0 and math.isfinite(n) else None


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.array([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]])


def _dot_rows(x: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rows of ``x`` (n, 3) dotted with ``v`` (3,), element-wise (no BLAS: deterministic)."""
    return x[:, 0] * v[0] + x[:, 1] * v[1] + x[:, 2] * v[2]


class StrideFrame:
    """One stride in the sensor frame at its first sample: ``up`` (unit), the gravity-free
    acceleration ``acc_mps2`` (n, 3) and the stride's length ``period_s``."""

    def __init__(self, acc_mps2: np.ndarray, gyr_dps: np.ndarray, fs: float):
        acc = np.ascontiguousarray(acc_mps2, dtype=float)
        c = strapdown_attitudes(np.ascontiguousarray(gyr_dps, dtype=float), fs)
        f0 = rotate(c, acc)
        mean = f0.sum(axis=0) / f0.shape[0]
        self.up = _unit(mean)
        self.acc_mps2 = f0 - mean
        self.period_s = f0.shape[0] / fs
        self.fs = fs


def _highpass_periodic(x: np.ndarray, fs: float, corner_hz: float) -> np.ndarray:
    """``x`` (n, k) with every harmonic of the stride below ``corner_hz`` removed (periodic)."""
    n = x.shape[0]
    spec = np.fft.rfft(x, axis=0)
    freq = np.arange(spec.shape[0]) * fs / n
    spec[freq < corner_hz] = 0.0
    return np.fft.irfft(spec, n=n, axis=0)


def impact_correlation(frame: StrideFrame, corner_hz: float) -> np.ndarray | None:
    """The horizontal direction along which the stride's high-frequency (impact) acceleration
    moves with its vertical one, as a vector in the stride's frame: sum(h v) / sqrt(sum|h|^2
    sum v^2) (its length, 0-1, is the correlation; its sign is the sign of the coupling)."""
    if frame.up is None:
        return None
    hp = _highpass_periodic(frame.acc_mps2, frame.fs, corner_hz)
    v = _dot_rows(hp, frame.up)
    h = hp - v[:, None] * frame.up[None, :]
    num = (h * v[:, None]).sum(axis=0)
    den = math.sqrt(float((h * h).sum()) * float((v * v).sum()))
    if not den > 0:
        return None
    return num / den


def arm_cross_cm(frame: StrideFrame, forward: np.ndarray) -> float | None:
    """Peak-to-peak side-to-side travel of the hand over the stride (cm), across ``forward`` (a
    direction in the stride's frame; made horizontal here)."""
    if frame.up is None:
        return None
    lateral = _unit(_cross(frame.up, forward))
    if lateral is None:
        return None
    a = _dot_rows(frame.acc_mps2, lateral)
    y = vertical_displacement_m(a, frame.period_s, _LATERAL)
    if y.size == 0:
        return None
    return float((y.max() - y.min()) * 100.0)


def arm_swing_deg(gyr_dps: np.ndarray, axis: np.ndarray, fs: float) -> float | None:
    """Peak-to-peak angle (deg) the sensor turns through about ``axis`` (sensor frame) over the
    stride, the mean rate removed."""
    if gyr_dps.shape[0] < 3:
        return None
    w = _dot_rows(np.asarray(gyr_dps, dtype=float), axis)
    w = w - w.sum() / w.shape[0]
    ang = np.cumsum(w) / fs
    return float(ang.max() - ang.min())
