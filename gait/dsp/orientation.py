"""Trunk orientation: SampleBlock (sensor frame, unknown mounting) -> BodyBlock (vertical / AP / ML).

Causal and frame-size invariant. Every quantity is a per-sample recursive filter with carried
state (``scipy.signal.lfilter`` with ``zi``), started from the first sample, or an element-wise
expression of the current sample, so a stream split anywhere (any frame size) gives
bit-identical output; offline analysis simply uses long frames.

Gravity ("up", sensor frame)
    4th-order Butterworth low-pass (0.5 Hz) of the specific-force vector. Over whole steps the
    mean specific force of a runner is gravity (the net vertical acceleration integrates to ~0);
    at >= 130 steps/min the filter attenuates the step frequency by > 300x and the stride
    frequency by > 25x, so the direction ripple is < 0.2 deg. Group delay ~0.9 s: this is the
    mean trunk orientation, which is what lean, VO and contact detection need.
    With a gyroscope the within-stride rotation can be added back (``GYRO_CORRECTION``, off by
    default: it did not help on the validation data) by a linear complementary filter: up(t) = LP[a](t) - HP[theta](t) x LP[a](t), where theta is the integrated angular
    rate (bias removed by a 0.05 Hz high-pass before integration) and HP = 1 - LP with the
    same low-pass. No accelerometer gating is needed: the accelerometer only enters through the
    0.5 Hz low-pass, where running accelerations average out.

Forward (AP) axis
    The horizontal specific force h = a - (a.up)up. At a trunk point the AP acceleration is
    coherent with the vertical one at the step frequency (braking while the vertical force
    rises, propulsion while it falls), while the ML acceleration alternates sign from one step
    to the next and averages out. So c = E[h * d(a_v)/dt] (first-order low-pass, tau 4 s) points
    along the AP axis, and *backwards*: braking (AP < 0) coincides with a rising vertical
    force. forward = -c projected on the horizontal plane. Its confidence is the correlation
    rho = |c| / sqrt(E|h|^2 E[d(a_v)/dt^2]); below 0.08 the AP axis is flagged unknown and a
    sensor axis is used instead.
    ML = forward x up (positive to the runner's right).

Trunk lean (``tilt_deg``)
    Sagittal angle of the trunk's long axis from 'up': atan2(r.forward, r.up), positive
    forward. r is ``config.calibration.gravity_sensor`` (standing calibration) or, without one,
    the sensor axis (with sign) most aligned with gravity at the end of the warm-up (NaN
    before); then every sample carries `OrientationFlag.UNCALIBRATED`.

Warm-up: the low-pass starts from the first sample, which is arbitrary mid-run; during
the first `WARMUP_S` seconds the estimate is blended with the expanding mean of all samples so
far (weight fading linearly from 1 to 0), which is right to within a fraction of a step after
a second of running.

Output: ``acc_v_mps2 = a.up - 9.80665`` (so a_v + g is the vertical specific force; -g in
flight), ``acc_ap_mps2``, ``acc_ml_mps2``, ``acc_norm_mps2 = |a|``, ``gyr_ml_dps = w.ml``,
``gyr_v_dps = w.up`` (yaw rate), ``gyr_ap_dps = w.forward`` (roll rate); gyro fields None without one.

Flag bits added to the sample flags (above the `SampleFlag` bits 1, 2, 4):
    OrientationFlag.WARMUP (8)         first `WARMUP_S` seconds: gravity estimate not settled
    OrientationFlag.UNCALIBRATED (16)  lean zero is a sensor axis, not a standing calibration
    OrientationFlag.AP_UNKNOWN (32)    forward direction not (yet) identifiable
"""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, lfilter, sosfilt_zi

from gait.core.config import GRAVITY_MPS2
from gait.core.records import BodyBlock, SampleBlock
from gait.dsp.stage import FramedStage


class OrientationFlag:
    """Bits the orientation stage adds to `BodyBlock.flags` (SampleFlag uses 1, 2, 4)."""

    WARMUP = 8
    UNCALIBRATED = 16
    AP_UNKNOWN = 32


GRAVITY_LP_HZ = 0.5
GRAVITY_LP_ORDER = 4
AP_TAU_S = 4.0
GYRO_BIAS_HP_HZ = 0.05
AP_MIN_CORRELATION = 0.08
WARMUP_S = 4.0
# Gyro complementary correction of the within-stride tilt. Off: on the virtual sacrum sensors
# (RBDS, RIC) it did not improve VO or contact timing over the 0.5 Hz accelerometer low-pass
# (VO MAE 0.91 vs 0.85 cm on RBDS, 0.93 vs 0.63 cm on RIC), so the accelerometer-only estimate
# is used with or without a gyro; the gyro feeds ``gyr_ml_dps`` only.
GYRO_CORRECTION = False


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a[:, 0] * b[:, 0] + a[:, 1] * b[:, 1] + a[:, 2] * b[:, 2]


def _sos_lfilter(sos: np.ndarray, x: np.ndarray, zi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``scipy.signal.sosfilt(sos, x, axis=0, zi=zi)`` as one ``lfilter`` call per section
    (same direct-form II transposed arithmetic, a fraction of the per-call overhead)."""
    zo = np.empty_like(zi)
    for k in range(sos.shape[0]):
        x, zo[k] = lfilter(sos[k, :3], sos[k, 3:], x, axis=0, zi=zi[k])
    return x, zo


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.empty_like(a)
    out[:, 0] = a[:, 1] * b[:, 2] - a[:, 2] * b[:, 1]
    out[:, 1] = a[:, 2] * b[:, 0] - a[:, 0] * b[:, 2]
    out[:, 2] = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
    return out


def _normalize(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = np.sqrt(_dot(a, a))
    safe = np.where(n > 0, n, 1.0)
    return a / safe[:, None], n


class TrunkOrientationStage(FramedStage):
    latency_ms = 0.0

    def _reset_state(self) -> None:
        fs = self.fs
        nyq = 0.5 * fs
        self._sos = butter(GRAVITY_LP_ORDER, min(GRAVITY_LP_HZ, 0.45 * nyq), fs=fs, output="sos")
        self._sos_zi0 = sosfilt_zi(self._sos)  # (sections, 2)
        self._g_zi: np.ndarray | None = None
        self._th_zi: np.ndarray | None = None  # low-pass state of the integrated gyro angle
        self._bias_zi: np.ndarray | None = None  # low-pass state of the gyro rate (bias)
        self._theta = np.zeros((1, 3))  # integrator state: integrated (bias-free) angle, rad
        self._int_b = np.array([1.0])
        self._int_a = np.array([1.0, -1.0])
        alpha = 1.0 - np.exp(-1.0 / (fs * AP_TAU_S))
        self._ap_b = np.array([alpha])
        self._ap_a = np.array([1.0, -(1.0 - alpha)])
        self._ap_zi = np.zeros((1, 5))
        beta = 1.0 - np.exp(-2.0 * np.pi * GYRO_BIAS_HP_HZ / fs)
        self._bias_b = np.array([beta])
        self._bias_a = np.array([1.0, -(1.0 - beta)])
        self._prev_av: float | None = None
        self._n_seen = 0
        self._warmup_n = int(round(WARMUP_S * fs))
        self._ref_n = self._warmup_n  # sample at which the uncalibrated lean reference is taken
        self._ref_from = 0
        self._sum_zi = np.zeros((1, 3))
        cal = self.config.calibration
        if cal is not None:
            r = np.asarray(cal.gravity_sensor, dtype=float)
            self._ref = r / np.linalg.norm(r)
        else:
            self._ref = None

    # ------------------------------------------------------------------------------------------
    def _process_frame(self, frame: SampleBlock, final: bool) -> list:
        n = len(frame)
        if n == 0:
            return []
        acc = frame.acc_mps2
        if self._g_zi is None:
            x0 = acc[0]  # the first sample (not a frame mean: frame-size invariant)
            self._g_zi = self._sos_zi0[:, :, None] * x0[None, None, :]
        glp, self._g_zi = _sos_lfilter(self._sos, acc, self._g_zi)
        idx = self._n_seen + np.arange(n)
        if self._n_seen < self._warmup_n:
            # warm-up: the low-pass starts from an arbitrary (running) sample; blend in the
            # expanding mean of everything seen so far, fading it out over the warm-up
            csum, self._sum_zi = lfilter(self._int_b, self._int_a, acc, axis=0, zi=self._sum_zi)
            mean = csum / (idx + 1.0)[:, None]
            w = np.clip(1.0 - idx / self._warmup_n, 0.0, 1.0)[:, None]
            glp = w * mean + (1.0 - w) * glp
        up, _ = _normalize(glp)
        if self._ref is None and idx[-1] >= self._ref_n:
            # no standing calibration: the trunk axis is the sensor axis most aligned with
            # gravity once the estimate has settled
            k = min(n - 1, self._ref_n - self._n_seen) if self._ref_n >= self._n_seen else 0
            u = up[k]
            j = int(np.argmax(np.abs(u)))
            ref = np.zeros(3)
            ref[j] = 1.0 if u[j] >= 0 else -1.0
            self._ref = ref
            self._ref_from = self._n_seen + k

        gyr = frame.gyr_dps
        if gyr is not None and GYRO_CORRECTION:
            up = self._gyro_correction(glp, up, gyr)

        fvert = _dot(acc, up)
        acc_v = fvert - GRAVITY_MPS2
        horiz = acc - fvert[:, None] * up
        prev = acc_v[0] if self._prev_av is None else self._prev_av
        dav = np.empty(n)
        dav[0] = acc_v[0] - prev
        dav[1:] = acc_v[1:] - acc_v[:-1]
        dav *= self.fs
        self._prev_av = float(acc_v[-1])
        x = np.empty((n, 5))
        x[:, :3] = horiz * dav[:, None]
        x[:, 3] = _dot(horiz, horiz)
        x[:, 4] = dav * dav
        y, self._ap_zi = lfilter(self._ap_b, self._ap_a, x, axis=0, zi=self._ap_zi)
        c = y[:, :3]
        c = c - _dot(c, up)[:, None] * up
        fwd, cn = _normalize(-c)
        power = np.sqrt(np.maximum(y[:, 3] * y[:, 4], 0.0))
        rho = np.where(power > 0, cn / np.where(power > 0, power, 1.0), 0.0)
        ap_unknown = rho < AP_MIN_CORRELATION
        if ap_unknown.any():
            # fall back to the sensor axis least aligned with gravity, projected on the horizontal
            k = np.argmin(np.abs(up), axis=1)
            e = np.zeros((n, 3))
            e[np.arange(n), k] = 1.0
            e = e - _dot(e, up)[:, None] * up
            e, _ = _normalize(e)
            fwd = np.where(ap_unknown[:, None], e, fwd)
        ml = _cross(fwd, up)

        ref = self._ref if self._ref is not None else np.full(3, np.nan)
        tilt = np.degrees(
            np.arctan2(
                fwd[:, 0] * ref[0] + fwd[:, 1] * ref[1] + fwd[:, 2] * ref[2],
                up[:, 0] * ref[0] + up[:, 1] * ref[1] + up[:, 2] * ref[2],
            )
        )

        if self.config.calibration is None:
            tilt[idx < self._ref_from] = np.nan
        flags = np.zeros(n, np.uint8) if frame.flags is None else frame.flags.astype(np.uint8, copy=True)
        flags[idx < self._warmup_n] |= OrientationFlag.WARMUP
        if self.config.calibration is None:
            flags |= OrientationFlag.UNCALIBRATED
        flags[ap_unknown] |= OrientationFlag.AP_UNKNOWN
        self._n_seen += n

        body = BodyBlock(
            time_s=frame.time_s,
            acc_v_mps2=acc_v,
            acc_ap_mps2=_dot(acc, fwd),
            acc_ml_mps2=_dot(acc, ml),
            acc_norm_mps2=np.sqrt(_dot(acc, acc)),
            gyr_ml_dps=None if gyr is None else _dot(gyr, ml),
            tilt_deg=tilt,
            index0=frame.index0,
            flags=flags,
            gyr_v_dps=None if gyr is None else _dot(gyr, up),
            gyr_ap_dps=None if gyr is None else _dot(gyr, fwd),
        )
        return [body]

    def _gyro_correction(self, glp: np.ndarray, up_lp: np.ndarray, gyr: np.ndarray) -> np.ndarray:
        """Linear complementary filter: add the gyro-integrated within-stride rotation
        (high-passed with the gravity low-pass' complement) to the low-passed gravity."""
        w = np.radians(gyr)
        if self._bias_zi is None:
            self._bias_zi = w[0][None, :].copy()
        bias, self._bias_zi = lfilter(self._bias_b, self._bias_a, w, axis=0, zi=self._bias_zi)
        wc = (w - bias) / self.fs
        # sequential integration (lfilter, not cumsum: bit-identical however the stream is split)
        theta, self._theta = lfilter(self._int_b, self._int_a, wc, axis=0, zi=self._theta)
        if self._th_zi is None:
            self._th_zi = self._sos_zi0[:, :, None] * theta[0][None, None, :]
        th_lp, self._th_zi = _sos_lfilter(self._sos, theta, self._th_zi)
        dth = theta - th_lp
        # the sensor rotated by dth (relative to its mean attitude): a fixed vector g seen in the
        # sensor frame rotates by -dth: g' = g - dth x g
        up = up_lp - _cross(dth, up_lp)
        up, _ = _normalize(up)
        return up
