"""A synthetic runner: trunk, foot or wrist IMU samples of steady running with known truth.

Used by the speed benchmark (a long recording with known cadence, contact time and bounce) and
by the live command's simulator source. A simple physical model, not a recording: see
`SyntheticRunner` for what it models.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import PchipInterpolator

from gait.core.config import GRAVITY_MPS2
from gait.core.records import SampleBlock

FS_HZ = 200.0
CHUNK_S = 60.0
G = GRAVITY_MPS2


def _rot_x(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    z, o = np.zeros_like(a), np.ones_like(a)
    return np.stack([np.stack([o, z, z], -1), np.stack([z, c, -s], -1), np.stack([z, s, c], -1)], -2)


def _rot_y(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    z, o = np.zeros_like(a), np.ones_like(a)
    return np.stack([np.stack([c, z, s], -1), np.stack([z, o, z], -1), np.stack([-s, z, c], -1)], -2)


def _rot_z(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    z, o = np.zeros_like(a), np.ones_like(a)
    return np.stack([np.stack([c, -s, z], -1), np.stack([s, c, z], -1), np.stack([z, z, o], -1)], -2)


def _minjerk(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Minimum-jerk 0 -> 1 profile on v in [0, 1]: (position, d2/dv2)."""
    v = np.clip(v, 0.0, 1.0)
    return 10 * v**3 - 15 * v**4 + 6 * v**5, 60 * v - 180 * v**2 + 120 * v**3


# Foot pitch over one stride (toes up positive), stance = first FOOT_STANCE_NOM of the phase.
FOOT_STANCE_NOM = 0.36
_FOOT_KNOTS = np.array(
    [
        (0.00, 14.0),  # initial contact, heel first
        (0.05, 0.0),  # foot flat
        (0.20, 0.0),
        (0.28, -12.0),  # heel off
        (0.36, -55.0),  # toe-off: fastest toes-down rotation just before
        (0.42, -68.0),  # most plantar flexed, early swing
        (0.55, -45.0),
        (0.68, 0.0),  # mid-swing: fastest toes-up rotation
        (0.85, 22.0),  # toes up before landing
        (0.93, 20.0),
        (1.00, 14.0),
    ]
)


def _periodic_pchip(knots: np.ndarray) -> PchipInterpolator:
    u, y = knots[:, 0], knots[:, 1]
    uu = np.concatenate([u[:-1] - 1.0, u, u[1:] + 1.0])
    yy = np.concatenate([y[:-1], y, y[1:]])
    return PchipInterpolator(uu, yy)


_FOOT_PITCH = _periodic_pchip(_FOOT_KNOTS)
_FOOT_PITCH_D = _FOOT_PITCH.derivative()


@dataclass
class _Steps:
    ic_s: np.ndarray
    period_s: np.ndarray
    contact_s: np.ndarray


class SyntheticRunner:
    """An endless synthetic run, read sample block by sample block (see the module docstring).

    ``next_block(n)`` returns the next ``n`` samples as a `SampleBlock` (sensor frame, gravity
    included, gyroscope in deg/s). Memory does not grow with the length of the run.
    """

    def __init__(self, placement: str = "sacrum", fs: float = FS_HZ, seed: int = 1, cadence_spm: float = 170.0):
        if placement not in ("sacrum", "waist", "chest", "foot", "wrist"):
            raise ValueError(f"unknown placement {placement!r}")
        self.placement = placement
        self.fs = float(fs)
        self.cadence_spm = cadence_spm
        self._rng_steps = np.random.default_rng(seed)
        self._rng_noise = np.random.default_rng(seed + 1000)
        self._index = 0
        # step list (for the foot: strides of the instrumented foot)
        self._ic: list[float] = [0.3]
        self._period: list[float] = []
        self._contact: list[float] = []
        self._count0 = 0  # number of steps dropped from the front (for continuous phase)
        self._append_step()
        # fixed mounting: the sensor sits tilted and turned on the body / shoe
        if placement == "foot":
            self._mount = _rot_z(np.array(np.deg2rad(8.0))) @ _rot_x(np.array(np.deg2rad(-6.0)))
        elif placement == "wrist":  # a watch on the left wrist, face out, turned on the forearm
            self._mount = _rot_x(np.array(np.deg2rad(70.0))) @ _rot_z(np.array(np.deg2rad(15.0)))
        else:
            # sensor x up, y to the runner's left, z backwards (a clip on the back of the waistband), tilted 10 deg
            perm = np.array([[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])  # columns: sensor axes in body
            self._mount = perm @ _rot_y(np.array(np.deg2rad(10.0)))

    # -- step sequence ---------------------------------------------------------------------------
    def _append_step(self) -> None:
        rng = self._rng_steps
        t = self._ic[-1]
        cad = self.cadence_spm + 4.0 * np.sin(2 * np.pi * t / 600.0)
        period = 60.0 / cad * (1.0 + 0.015 * rng.standard_normal())
        gct = 0.250 * (1.0 + 0.03 * rng.standard_normal()) * (170.0 / cad)
        if self.placement == "foot":  # a stride of one foot is two steps
            period += 60.0 / cad * (1.0 + 0.015 * rng.standard_normal())
        self._period.append(float(period))
        self._contact.append(float(gct))
        self._ic.append(float(t + period))

    def _steps_until(self, t_end: float) -> None:
        while self._ic[-1] <= t_end + 1.0:
            self._append_step()

    def _trim(self, t_start: float) -> None:
        k = 0
        while k + 1 < len(self._period) and self._ic[k + 1] < t_start - 1.0:
            k += 1
        if k:
            del self._ic[:k], self._period[:k], self._contact[:k]
            self._count0 += k

    # -- samples ---------------------------------------------------------------------------------
    def next_block(self, n: int) -> SampleBlock:
        idx = np.arange(self._index, self._index + n)
        t = idx / self.fs
        self._steps_until(float(t[-1]))
        ic = np.asarray(self._ic[:-1])
        k = np.searchsorted(ic, t, side="right") - 1
        k = np.clip(k, 0, None)
        steps = _Steps(ic[k], np.asarray(self._period)[k], np.asarray(self._contact)[k])
        u = t - steps.ic_s  # time since this step's initial contact
        before = t < ic[0]
        if self.placement == "foot":
            acc, gyr = self._foot(t, u, steps, before)
        elif self.placement == "wrist":
            acc, gyr = self._wrist(t, u, steps, k + self._count0, before)
        else:
            acc, gyr = self._trunk(t, u, steps, k + self._count0, before)
        acc = acc + 0.08 * self._rng_noise.standard_normal(acc.shape)
        gyr = gyr + 0.8 * self._rng_noise.standard_normal(gyr.shape)
        block = SampleBlock(time_s=t, acc_mps2=acc, gyr_dps=gyr, index0=self._index)
        self._index += n
        self._trim(float(t[-1]))
        return block

    def _trunk(self, t, u, st: _Steps, step_no, before):
        T, Tc = st.period_s, st.contact_s
        in_c = (u < Tc) & ~before
        fmax = np.pi * G * T / (2.0 * Tc)  # mean vertical force over the step = body weight
        a_v = np.where(in_c, fmax * np.sin(np.pi * np.clip(u / Tc, 0, 1)), 0.0) - G
        a_v = np.where(before, 0.0, a_v)
        imp = np.where(in_c & (u < 0.08), 0.6 * G * np.exp(-u / 0.012) * np.sin(2 * np.pi * 22.0 * u), 0.0)
        a_v = a_v + imp
        a_ap = np.where(in_c, -0.45 * G * np.sin(2 * np.pi * np.clip(u / Tc, 0, 1)), 0.0)
        side = np.where(step_no % 2 == 0, 1.0, -1.0)
        a_ml = np.where(before, 0.0, side * 0.15 * G * np.sin(np.pi * np.clip(u / T, 0, 1)))
        # pelvis angles from the continuous step phase
        phi = step_no + np.clip(u / T, 0, 1)
        dphi = 1.0 / T
        yaw = np.deg2rad(6.0) * np.sin(np.pi * phi)
        roll = np.deg2rad(4.0) * np.cos(np.pi * phi)
        pitch = np.deg2rad(8.0) + np.deg2rad(2.0) * np.sin(2 * np.pi * phi)  # forward lean + wobble
        w_yaw = np.deg2rad(6.0) * np.pi * np.cos(np.pi * phi) * dphi
        w_roll = -np.deg2rad(4.0) * np.pi * np.sin(np.pi * phi) * dphi
        w_pitch = np.deg2rad(2.0) * 2 * np.pi * np.cos(2 * np.pi * phi) * dphi
        # world: x forward, y left, z up. Body = Rz(yaw) Ry(pitch) Rx(roll) applied to the upright body.
        R = _rot_z(yaw) @ _rot_y(pitch) @ _rot_x(roll)
        f_w = np.stack([a_ap, a_ml, a_v + G], -1)
        f_b = np.einsum("nji,nj->ni", R, f_w)  # R^T f
        w_b = np.rad2deg(np.stack([w_roll, w_pitch, w_yaw], -1))
        acc = f_b @ self._mount  # body -> sensor: M^T v, as row vectors v @ M
        gyr = w_b @ self._mount
        return acc, gyr

    def _wrist(self, t, u, st: _Steps, step_no, before):
        """The left hand: the trunk's accelerations (shoulders moving with the body, no turn) plus an
        arm swinging 30 deg either way of hanging straight, once per stride, elbow bent 90 deg,
        in a plane turned 10 deg inwards (a hand that crosses the body a little)."""
        T, Tc = st.period_s, st.contact_s
        in_c = (u < Tc) & ~before
        fmax = np.pi * G * T / (2.0 * Tc)
        a_v = np.where(in_c, fmax * np.sin(np.pi * np.clip(u / Tc, 0, 1)), 0.0) - G
        a_v = np.where(before, 0.0, a_v)
        jolt = np.where(in_c & (u < 0.1), np.exp(-u / 0.02) * np.sin(2 * np.pi * 15.0 * u), 0.0)
        a_v = a_v + 0.8 * G * jolt
        a_ap = np.where(in_c, -0.3 * G * np.sin(2 * np.pi * np.clip(u / Tc, 0, 1)), 0.0) - 0.4 * G * jolt
        side = np.where(step_no % 2 == 0, 1.0, -1.0)
        a_ml = np.where(before, 0.0, side * 0.1 * G * np.sin(np.pi * np.clip(u / T, 0, 1)))
        # the arm: angle th = A cos(pi phi) about the axis k (the ML axis turned by the swing plane)
        phi = step_no + np.clip(u / T, 0, 1)
        dphi = np.where(before, 0.0, 1.0 / T)
        amp = np.deg2rad(30.0)
        th = amp * np.cos(np.pi * phi)
        th_d = -amp * np.pi * np.sin(np.pi * phi) * dphi
        th_dd = -amp * np.pi**2 * np.cos(np.pi * phi) * dphi**2
        plane = _rot_z(np.array(np.deg2rad(-10.0)))  # world: x forward, y left, z up; inwards = to the right
        k = plane @ np.array([0.0, -1.0, 0.0])  # rotation axis: positive th swings the hand forward
        rot = plane @ _rot_y(-th) @ plane.T  # about k by th
        r_local = plane @ np.array([0.27, 0.0, -0.30])  # elbow at 90 deg: forearm forward, upper arm down
        p = np.einsum("nij,j->ni", rot, r_local)
        kxp = np.cross(k, p)
        p_dd = th_dd[:, None] * kxp + (th_d**2)[:, None] * np.cross(k, kxp)
        f_w = np.stack([a_ap, a_ml, a_v + G], -1) + p_dd
        r_s = rot @ plane  # sensor orientation before mounting (forearm frame)
        f_b = np.einsum("nji,nj->ni", r_s, f_w)
        w_b = np.rad2deg(np.einsum("nji,nj->ni", r_s, th_d[:, None] * k[None, :]))
        return f_b @ self._mount, w_b @ self._mount

    def _foot(self, t, u, st: _Steps, before):
        T, Tc = st.period_s, st.contact_s
        Tsw = T - Tc
        stance = u < Tc
        # map real time to the template phase (stance and swing scaled separately)
        ph = np.where(stance, FOOT_STANCE_NOM * u / Tc, FOOT_STANCE_NOM + (1 - FOOT_STANCE_NOM) * (u - Tc) / Tsw)
        dph = np.where(stance, FOOT_STANCE_NOM / Tc, (1 - FOOT_STANCE_NOM) / Tsw)
        ph = np.where(before, 0.2, ph)  # standing before the first contact: foot flat
        dph = np.where(before, 0.0, dph)
        theta = np.deg2rad(_FOOT_PITCH(ph))
        theta_dot = np.deg2rad(_FOOT_PITCH_D(ph)) * dph
        # translation: still in stance, one stride forward (3 m/s) and up 12 cm in swing
        v = np.where(stance | before, 0.0, (u - Tc) / Tsw)
        _, xdd = _minjerk(v)
        stride_m = 3.0 * T
        a_x = np.where(stance | before, 0.0, stride_m * xdd / Tsw**2)
        h = 0.12
        a_z = np.where(stance | before, 0.0, h * 2 * np.pi**2 * np.cos(2 * np.pi * v) / Tsw**2)
        imp_on = (u < 0.06) & ~before
        imp = np.where(imp_on, 8.0 * G * np.exp(-u / 0.008) * np.sin(2 * np.pi * 45.0 * u + 0.3), 0.0)
        fx, fz = a_x + 0.3 * imp, a_z + G + imp
        c, s = np.cos(theta), np.sin(theta)
        # shoe frame: x toward the toes, y to the left, z up out of the laces
        f_s = np.stack([fx * c + fz * s, 0.05 * G * np.sin(2 * np.pi * u / T), -fx * s + fz * c], -1)
        w_s = np.stack(
            [15.0 * np.sin(2 * np.pi * u / T), -np.rad2deg(theta_dot), 25.0 * np.sin(2 * np.pi * u / T + 1.0)],
            -1,
        )
        w_s = np.where(before[:, None], 0.0, w_s)
        return f_s @ self._mount, w_s @ self._mount


def model_truth(cadence_spm: float = 170.0, gct_ms: float = 250.0) -> dict:
    """The synthetic runner's nominal values: cadence, contact time and the vertical oscillation
    of its centre of mass (the sacrum model's vertical acceleration integrated twice over one
    step, impact transient left out)."""
    period = 60.0 / cadence_spm
    tc = gct_ms * 1e-3
    n = 20000
    u = np.arange(n) * period / n
    a = np.where(u < tc, np.pi * G * period / (2 * tc) * np.sin(np.pi * u / tc), 0.0) - G
    v = np.cumsum(a) * period / n
    v -= v.mean()
    x = np.cumsum(v) * period / n
    return {"cadence_spm": cadence_spm, "gct_ms": gct_ms, "vo_cm": float(x.max() - x.min()) * 100.0}


def synthetic_blocks(
    placement: str, minutes: float, fs: float = FS_HZ, chunk_s: float = CHUNK_S, seed: int = 1
) -> Iterator[SampleBlock]:
    """The synthetic run of ``minutes`` length, one chunk (``chunk_s``) at a time."""
    runner = SyntheticRunner(placement, fs, seed)
    total = int(round(minutes * 60.0 * fs))
    per = max(1, int(round(chunk_s * fs)))
    done = 0
    while done < total:
        n = min(per, total - done)
        yield runner.next_block(n)
        done += n


def synthetic_recording(placement: str, minutes: float, fs: float = FS_HZ, seed: int = 1) -> SampleBlock:
    return SampleBlock.concat(list(synthetic_blocks(placement, minutes, fs, seed=seed)))
