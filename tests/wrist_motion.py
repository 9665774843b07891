"""A running arm, built forward from its joints: what a watch on the wrist would measure.

Written for the tests of the wrist placement and independent of the code under test: positions
and orientations come from a kinematic chain (trunk -> shoulder -> upper arm -> elbow ->
forearm), the accelerometer and gyroscope from their numerical derivatives, and the truth (step
times, the hand's side-to-side travel, the forearm's swing angle) from the same positions.

World frame: x the direction of travel, y to the runner's left, z up. One stride (two steps)
is one swing cycle of the arm; the left arm is furthest forward when the right foot lands.

- Trunk: vertical bounce at the step frequency, a side-to-side sway at the stride frequency, a
  yaw counter-rotation of the shoulders at the stride frequency, and at each foot contact an
  impact transient (a damped 15 Hz oscillation) upwards and backwards (braking).
- Arm: shoulder flexion ``swing_amp_deg`` either way of hanging straight; the elbow bent about
  90 deg (10 deg more at the front); crossing the body in two ways a runner does it: a swing
  plane turned inwards by ``plane_deg`` (a diagonal swing), and an internal rotation of the upper
  arm of ``inward_deg`` at the front of the swing (the forearm sweeps across the body).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

G = 9.80665


def _rz(a):
    c, s = np.cos(a), np.sin(a)
    z, o = np.zeros_like(a), np.ones_like(a)
    return np.stack([np.stack([c, -s, z], -1), np.stack([s, c, z], -1), np.stack([z, z, o], -1)], -2)


def _ry(a):
    c, s = np.cos(a), np.sin(a)
    z, o = np.zeros_like(a), np.ones_like(a)
    return np.stack([np.stack([c, z, s], -1), np.stack([z, o, z], -1), np.stack([-s, z, c], -1)], -2)


def _rx(a):
    c, s = np.cos(a), np.sin(a)
    z, o = np.zeros_like(a), np.ones_like(a)
    return np.stack([np.stack([o, z, z], -1), np.stack([z, c, -s], -1), np.stack([z, s, c], -1)], -2)


@dataclass(frozen=True)
class ArmRun:
    cadence_spm: float = 170.0
    seconds: float = 60.0
    fs: float = 100.0
    swing_amp_deg: float = 30.0  # shoulder flexion either way
    plane_deg: float = 0.0  # swing plane turned inwards (diagonal swing across the body)
    inward_deg: float = 0.0  # internal rotation of the upper arm at the front of the swing
    side: str = "left"
    vo_cm: float = 8.0
    sway_cm: float = 2.0
    shoulder_yaw_deg: float = 6.0
    impact_v_mps2: float = 12.0
    impact_ap_mps2: float = 6.0
    upper_arm_m: float = 0.30
    forearm_m: float = 0.27
    shoulder_half_width_m: float = 0.18
    mount_deg: tuple[float, float, float] = (20.0, -35.0, 70.0)  # the watch's axes on the forearm
    gyro_noise_dps: float = 0.5
    gyro_bias_dps: tuple[float, float, float] = (1.2, -0.8, 0.5)
    acc_noise_mps2: float = 0.05
    gyro: bool = True
    seed: int = 3
    t0_s: float = 0.37  # first right-foot contact

    @property
    def step_s(self) -> float:
        return 60.0 / self.cadence_spm

    @property
    def stride_s(self) -> float:
        return 2.0 * self.step_s

    # -- the chain --------------------------------------------------------------------------------
    def _angles(self, t):
        ph = 2.0 * np.pi * (t - self.t0_s) / self.stride_s  # 0 at a right contact: left arm forward
        flex = np.deg2rad(self.swing_amp_deg) * np.cos(ph)
        elbow = np.deg2rad(90.0 + 10.0 * np.cos(ph))
        inward = np.deg2rad(self.inward_deg) * 0.5 * (1.0 + np.cos(ph))  # 0 at the back, full at the front
        return ph, flex, elbow, inward

    def _mirror(self) -> float:
        return 1.0 if self.side == "left" else -1.0  # +y is lateral for the left arm

    def _trunk(self, t):
        """Shoulder-line position (without the steady forward travel) and its yaw."""
        ph = 2.0 * np.pi * (t - self.t0_s) / self.stride_s
        z = -0.5 * self.vo_cm / 100.0 * np.cos(2.0 * ph)
        y = 0.5 * self.sway_cm / 100.0 * np.sin(ph)
        yaw = np.deg2rad(self.shoulder_yaw_deg) * np.cos(ph) * self._mirror()
        return np.stack([np.zeros_like(t), y, z], -1), yaw

    def forearm_rotation(self, t):
        """World orientation of the forearm frame (x along the forearm, y as the elbow's axis)."""
        m = self._mirror()
        _, flex, elbow, inward = self._angles(t)
        _, yaw = self._trunk(t)
        plane = np.full_like(t, -m * np.deg2rad(self.plane_deg))
        r_arm = _rz(yaw) @ _rz(plane) @ _ry(-flex) @ _rz(-m * inward)
        return r_arm @ _ry(np.pi / 2.0 - elbow)

    def hand_position(self, t):
        m = self._mirror()
        _, flex, elbow, inward = self._angles(t)
        trunk, yaw = self._trunk(t)
        shoulder = trunk + np.einsum("nij,j->ni", _rz(yaw), np.array([0.0, m * self.shoulder_half_width_m, 0.0]))
        plane = np.full_like(t, -m * np.deg2rad(self.plane_deg))
        r_arm = _rz(yaw) @ _rz(plane) @ _ry(-flex) @ _rz(-m * inward)
        local = np.stack(
            [self.forearm_m * np.sin(elbow), np.zeros_like(t), -self.upper_arm_m - self.forearm_m * np.cos(elbow)], -1
        )
        return shoulder + np.einsum("nij,nj->ni", r_arm, local)

    def contacts_s(self) -> np.ndarray:
        """Every foot contact (both feet) in the recording."""
        k = np.arange(0, int(self.seconds / self.step_s) + 2)
        t = self.t0_s + k * self.step_s
        return t[t < self.seconds]

    def _impacts(self, t):
        """World acceleration of the contact transients (up and braking)."""
        out = np.zeros((t.shape[0], 3))
        for tc in self.contacts_s():
            u = t - tc
            on = (u >= 0.0) & (u < 0.12)
            wave = np.exp(-u[on] / 0.02) * np.sin(2.0 * np.pi * 15.0 * u[on])
            out[on, 2] += self.impact_v_mps2 * wave
            out[on, 0] -= self.impact_ap_mps2 * wave
        return out

    # -- the sensor --------------------------------------------------------------------------------
    def recording(self):
        """(time_s, acc_mps2, gyr_dps or None): the watch's samples, sensor frame."""
        n = int(round(self.seconds * self.fs))
        t = np.arange(n) / self.fs
        d = 1e-3
        hand_acc = (self.hand_position(t + d) - 2.0 * self.hand_position(t) + self.hand_position(t - d)) / d**2
        world = hand_acc + self._impacts(t) + np.array([0.0, 0.0, G])
        mount = (_rx(np.deg2rad(self.mount_deg[0])) @ _ry(np.deg2rad(self.mount_deg[1]))
                 @ _rz(np.deg2rad(self.mount_deg[2])))  # fmt: skip
        r_s = self.forearm_rotation(t) @ mount
        acc = np.einsum("nji,nj->ni", r_s, world)
        # body rate from the orientation: R^T dR/dt = [w]x (central difference)
        dt = 1e-4
        ra, rb = self.forearm_rotation(t - dt) @ mount, self.forearm_rotation(t + dt) @ mount
        rel = np.einsum("nji,njk->nik", ra, rb)  # R(t-dt)^T R(t+dt)
        skew = 0.5 * (rel - np.swapaxes(rel, 1, 2))
        ang = np.arcsin(np.clip(np.sqrt(skew[:, 2, 1] ** 2 + skew[:, 0, 2] ** 2 + skew[:, 1, 0] ** 2), 0.0, 1.0))
        axis = np.stack([skew[:, 2, 1], skew[:, 0, 2], skew[:, 1, 0]], -1)
        norm = np.linalg.norm(axis, axis=1, keepdims=True)
        w = axis / np.where(norm > 0, norm, 1.0) * ang[:, None] / (2.0 * dt)
        rng = np.random.default_rng(self.seed)
        acc = acc + self.acc_noise_mps2 * rng.standard_normal(acc.shape)
        gyr = np.rad2deg(w) + np.array(self.gyro_bias_dps) + self.gyro_noise_dps * rng.standard_normal(w.shape)
        return t, acc, (gyr if self.gyro else None)

    # -- truth ---------------------------------------------------------------------------------------
    def truth(self) -> dict:
        """Cadence, the hand's side-to-side travel (peak to peak of y over one stride, cm) and the
        forearm's swing (peak to peak of its angle in the sagittal plane over one stride, deg)."""
        t = self.t0_s + np.linspace(0.0, self.stride_s, 2001)
        hand = self.hand_position(t)
        fore = np.einsum("nij,j->ni", self.forearm_rotation(t), np.array([1.0, 0.0, 0.0]))
        pitch = np.rad2deg(np.arctan2(fore[:, 2], fore[:, 0]))
        return {
            "cadence_spm": self.cadence_spm,
            "arm_cross_cm": float(np.ptp(hand[:, 1]) * 100.0),
            "arm_swing_deg": float(np.ptp(pitch)),
        }

    def csv_text(self) -> str:
        t, acc, gyr = self.recording()
        cols = ["time_s", "acc_x_mps2", "acc_y_mps2", "acc_z_mps2"]
        data = [t[:, None], acc]
        if gyr is not None:
            cols += ["gyr_x_dps", "gyr_y_dps", "gyr_z_dps"]
            data.append(gyr)
        rows = np.hstack(data)
        lines = ["# placement: wrist", ",".join(cols)]
        lines += [",".join(f"{v:.6f}" for v in row) for row in rows]
        return "\n".join(lines) + "\n"
