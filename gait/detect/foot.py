"""Foot placement: contacts and per-contact metrics from a shoe-mounted IMU.

Input: `SampleBlock` (sensor frame, unknown mounting, gravity included) from `SanitizeStage`.
Output: one `ContactEvent` per contact of *this* foot (``side = config.side``), emitted when the
next mid-swing of the same foot is confirmed (about 0.2-0.4 s after toe-off while running); its
metrics are derived by `gait.metrics.assemble.assemble_step`, as for every placement.
Parameters: `gait.core.params.FootDetectParams` (``config.params.foot``); the names in double
backquotes below are its fields.

Frame-size invariance
---------------------
Every decision is taken at a sample index fixed by the data and uses windows fixed by sample
indices only (see `gait.dsp.stage`): the pitch axis is learnt at stream index ``W - 1 + m * step``
from samples ``[d - W + 1, d]``; a mid-swing candidate ``c`` is decided when sample ``c + L``
exists; the accelerometer-only period estimate is refreshed at fixed indices; cycles are the
samples between two mid-swings. Frames only decide *when* we look, never *what* we see.

With a gyroscope (Falbriard et al. 2018, 2020)
----------------------------------------------
1. Pitch axis: principal axis of the angular rate over the start-up window, its sign from the
   stride's pitch-angle asymmetry (`gait.dsp.foot_orientation`: positive pitch rate = toes up).
   The detection signal keeps that axis; the per-cycle axis (for timing and the sign watch) is
   an exponentially-forgotten estimate updated once per stride.
2. Mid-swing: the large positive peak of the pitch rate (40 ms moving average). Sample ``c`` is a
   mid-swing when it is at or above the adaptive threshold (0.45 x median of recent mid-swing
   peaks, >= 100 deg/s), strictly above every sample since the search start (at most
   ``max_stride_s`` back) and not exceeded by the ``confirm_s`` samples after it.
3. Between two mid-swings of the same foot: foot flat = minimum of the (50 ms averaged)
   angular-rate norm. IC = minimum of the pitch rate before foot flat (parabolic sub-sample
   refinement); after a heel strike (slap rotation > 5-10 deg) IC moves to where the rate falls
   through 0.6 x that minimum. TO: the forefoot's lift (`pivot_speed`, `FootStepStage._pivot_lift`)
   plus the toes' roll. In push-off the foot turns about its forefoot, which holds the ground:
   the velocity from foot flat on (strap-down, the specific force rotated into the frame of foot
   flat, gravity removed along 'up' there: the standing calibration's, else the running estimate
   of step 4) and the angular rate give every point's velocity, and the point of the foot's
   sagittal plane that stays stillest over the heel rise (pitch rate below 0.3 x the push-off
   minimum) is the pivot: on the RBDS shoe sensors 9-10 cm ahead of and 5-6 cm below the instep
   (0.11-0.12 m away), the metatarsal heads, each contact's within a few mm. The lift is where its speed passes 0.3 m/s; the
   toes still hold the ground for a while, ``to_lift_delay_fraction`` (0.07) of the runner's own
   time from IC to the lift (taken within 0.15-0.30 s; the push-off shortens at speed). Fitted on
   force truth at 2.5 m/s (RBDS, 8 recordings: 0.069-0.073 keep every recording's contact time
   MAE within 4.4 ms). Why not the pitch rate alone: one runner's left foot turns its
   plantarflexion down and up again in push-off (two dips 60 ms apart, the foot twisting over its
   forefoot) and leaves the ground between them, 10 ms later after the first minimum than the
   other feet; a fixed or contact-scaled delay after that minimum leaves its toe-off 10 ms early
   (contact time MAE 11 ms); the lift finds it (median 10 ms after that minimum there, -2..+5 ms
   on the other feet). Without an 'up' (the first strides of an uncalibrated run), when the fitted pivot
   lies nearer than 3 cm or farther than 30 cm, or no lift is found within 0.1 s of the push-off
   minimum, TO falls back on that minimum: the push-off minimum of the pitch rate after foot flat
   (the first local minimum reaching 90 % of the first dip's deepest, the dip being the first
   stretch below 60 % of the cycle's deepest: early swing's later dip can be the deeper one at
   speed, see `push_off_minimum`) plus ``to_delay_fraction`` (0.082) of the time from IC to it.
   On the RBDS gait-cycle averages of the same two runners at 3.5 and 4.5 m/s that scaled delay
   follows the faster runner where a fixed one (the former 20 ms) would put toe-off +2 / +3.5 ms
   late; the averages hold angles and forces only, so the lift itself cannot be checked there.
   The lift's search ends 0.1 s after the push-off minimum, long before the next mid-swing that
   emits the contact: the latency is unchanged.
4. FSA (`FootStepStage._fsa`, `gait.metrics.foot_strike.StrideAttitude`): over the stride from
   the previous foot flat to this one the gyroscope gives the attitude at every sample (a
   vectorised strap-down), and the stride's mean specific force in one frame is gravity (the
   foot's velocity is the same at both foot flats): 'up' at IC, drift-free. The twice-integrated
   gravity-free acceleration (ZUPT at both ends) gives the direction of travel; its running mean
   in the sensor frame at foot flat, turned outwards by the toe-out prior, is the foot's forward
   axis. FSA = its elevation at IC, the axis made horizontal against the calibration's 'up', or
   without calibration against the running mean 'up' at the foot-flat instant. Class by
   `StrikeThresholds`.
5. Start and end of the stream: the contact before the first mid-swing is measured from the
   history once the second mid-swing is known (flagged ``warmup``); the contact after the last
   mid-swing is measured at flush when its toe-off is inside the recording.

Accelerometer only (degraded mode, every record carries ``no_gyro``)
--------------------------------------------------------------------
Mid-swing is the large hump of the low-passed acceleration norm (at an ankle or shoe: the
terminal-swing deceleration just before touch-down). The stride period from the autocorrelation
of that signal (refreshed every 0.5 s at fixed sample indices; an interior local maximum of the
autocorrelation, never the shortest lag searched) sets the refractory time, so a second hump
within a stride cannot double the cadence. (On the adept outdoor run the double contacts came
from walk-to-run transitions, where the autocorrelation still fell from lag 0 and its maximum sat
at the shortest lag, 0.48 s, halving the refractory time.) IC is the impact: the sharp rise of
|acc| that follows the hump's fall (see `_cycle_acc`); TO is the end of push-off, an estimate:
against force truth it is too coarse for contact time (MAE 130-190 ms on the virtual shoe
sensors of `gait validate`), so contact time, flight time and duty factor are null in this mode
and only the contact's times, cadence and impact are reported. No foot strike angle.

The event carries the stride (IC to this foot's previous IC): a foot sensor sees one foot, so
the assembler takes the step time as half the stride (symmetric steps) for cadence and flight.

IC / TO timing was fitted on force-plate truth (RBDS treadmill, one forefoot and one rearfoot
runner). The toe-out prior ``foot_progression_deg``: the foot's long axis points this far outwards
of the stride's direction of travel. Foot progression angles reported for running are mostly a
few degrees of toe-out, with individual means from slight toe-in to about 15-20 deg toe-out (a
person's own angle varies less, a few degrees); the value is a population prior (fitted on the
validation set's 7 virtual feet: 0.5-12.3 deg, mean 8.8), applied only when the side is known
(the sense of the turn is the side's); a per-runner angle would replace it.
"""

from __future__ import annotations

import math

import numpy as np

from gait.core.config import GRAVITY_MPS2, PipelineConfig
from gait.core.events import ContactEvent
from gait.core.records import (
    Q_NO_GYRO,
    Q_UNCALIBRATED,
    Q_WARMUP,
    QUALITY_FLAGS,
    SampleBlock,
    SampleFlag,
)
from gait.detect import foot_events
from gait.dsp import reductions
from gait.dsp import rotation_chains as chains
from gait.dsp.foot_orientation import (
    parabolic_offset,
    prefix_products,
    sign_vote,
    step_rotations,
)
from gait.dsp.reductions import gram3, max_norm3, or_bits
from gait.dsp.stage import FramedStage
from gait.metrics.foot_strike import (
    StrideAttitude,
    angle_at,
    elevation_deg,
    floats3,
    horizontal,
    up_back,
)

# ufunc reductions called directly in the per-cycle code: the same reductions as np.max / np.min
# / ndarray.mean, without their Python wrappers (a few microseconds per cycle each)
_MAX = np.maximum.reduce
_MIN = np.minimum.reduce
_SUM = np.add.reduce
_EDGE_CODES = {None: foot_events.INSIDE, "first": foot_events.FIRST, "last": foot_events.LAST}

_AFTER_GAP = int(SampleFlag.AFTER_GAP)
_CLIPPED = int(SampleFlag.CLIPPED)
_NAN = int(SampleFlag.NAN)


_QUALITY_ORDER: dict[frozenset[str], tuple[str, ...]] = {}


def _qual(flags: set[str]) -> tuple[str, ...]:
    """The flags in `QUALITY_FLAGS` order (a few combinations recur: each is sorted once)."""
    key = frozenset(flags)
    out = _QUALITY_ORDER.get(key)
    if out is None:
        out = _QUALITY_ORDER[key] = tuple(f for f in QUALITY_FLAGS if f in key)
    return out


def _median(values: list[float]) -> float:
    p = sorted(values)
    m = len(p) // 2
    return p[m] if len(p) % 2 else 0.5 * (p[m - 1] + p[m])


def _norm3(x: np.ndarray) -> np.ndarray:
    """Row norms of an (n, 3) array, element-wise (bit-identical whatever the slicing)."""
    return np.sqrt(x[:, 0] * x[:, 0] + x[:, 1] * x[:, 1] + x[:, 2] * x[:, 2])


def _unit(v: np.ndarray) -> np.ndarray:
    return v / float(np.linalg.norm(v))


def _unit3(x: float, y: float, z: float) -> tuple[float, float, float]:
    n = math.sqrt(x * x + y * y + z * z)
    return x / n, y / n, z / n


def _blend_unit(old, new, gain: float) -> tuple[float, float, float]:
    """``unit(old (1 - gain) + gain new)`` for 3-vectors, in plain floats (once per stride)."""
    a, b = floats3(old), floats3(new)
    k = 1.0 - gain
    return _unit3(a[0] * k + gain * b[0], a[1] * k + gain * b[1], a[2] * k + gain * b[2])


def _dot3(x: np.ndarray, v: np.ndarray) -> np.ndarray:
    return x[:, 0] * v[0] + x[:, 1] * v[1] + x[:, 2] * v[2]



def push_off_minimum(rate_dps: np.ndarray, deep_fraction: float, dip_fraction: float) -> tuple[int, bool]:
    """The push-off minimum of the pitch rate from foot flat on, and whether the rate rises after it
    (False: the samples end still falling; the index is then the last one).

    The push-off dip is the first stretch where the rate stays below ``dip_fraction`` of its
    deepest value; its minimum is the first local minimum there that reaches ``deep_fraction`` of
    the dip's own deepest value (a shoulder on the way down is not the minimum).

    Early swing dips again after toe-off (the knee flexes and the foot keeps turning toes-down),
    and that dip can be the deeper one: on the RBDS gait-cycle averages (two runners, both feet,
    2.5 / 3.5 / 4.5 m/s) it is for one runner's left foot 0.71, 1.05 and 1.27 times the push-off
    dip, deepening with speed, and 1.16 times for the other runner's right foot at 2.5 m/s. A choice
    near the deepest value of the whole cycle (the former rule) takes the swing dip there (toe-off
    about 100 ms late); the first dip finds all 12 push-off dips (the rate recovers to at most 0.51
    of the deepest between the two)."""
    tmin = float(_MIN(rate_dps))
    below = rate_dps <= dip_fraction * tmin
    a = int(below.argmax())
    after = ~below[a:]
    b = a + int(after.argmax()) if bool(after.any()) else rate_dps.shape[0]
    dmin = float(_MIN(rate_dps[a:b]))
    j = a + int((rate_dps[a:b] <= deep_fraction * dmin).argmax())
    up = rate_dps[j + 1 :] >= rate_dps[j:-1]
    r0 = int(up.argmax()) if up.shape[0] else 0
    has_rise = bool(up.shape[0]) and bool(up[r0])
    return (j + r0 if has_rise else rate_dps.shape[0] - 1), has_rise


def pivot_speed(
    acc_mps2: np.ndarray, gyr_dps: np.ndarray, rot: np.ndarray, fs: float, up: np.ndarray, fwd: np.ndarray, fit: slice
) -> tuple[np.ndarray, float, float] | None:
    """Speed (m/s) of the point the foot pivots about in push-off, from foot flat (row 0) on, and
    that point's place from the sensor (forward, up; m): None when the fit is degenerate.

    Velocity from foot flat on: the specific force turned into the frame of row 0 by the exact
    per-sample rotations ``rot`` (row t: sample t to t + 1), gravity (``up`` in that frame)
    removed, integrated from zero (the foot is still at foot flat; on a treadmill it moves with
    the belt, also an inertial frame). A point of the foot at ``r`` from the sensor moves at
    ``v + w x r``; the pivot is the point of the foot's sagittal plane through the sensor
    (``r = x fwd + z up``) that is stillest, in least squares, over the rows ``fit`` (heel rise:
    the forefoot holds the ground). Rows: ``rot`` holds one fewer than the samples.

    Compiled, the same in one loop over the rows (`gait.dsp.rotation_chains.pivot_chain`)."""
    m = acc_mps2.shape[0]
    if chains.COMPILED:
        speed = np.empty(m)
        res = chains.pivot_chain(acc_mps2, gyr_dps, rot, fs, GRAVITY_MPS2, floats3(up), floats3(fwd), fit.start, fit.stop,
                                 np.empty((m, 9)), np.empty((m, 9)), speed)  # fmt: skip
        return None if res is None else (speed, res[0], res[1])
    up = np.asarray(up, dtype=float)
    c = np.empty((m, 3, 3))  # c[t] = rot[0] ... rot[t-1]: sample t in the frame of row 0
    c[0] = np.eye(3)
    c[1:] = rot[: m - 1]
    prefix_products(c)
    # per row, as columns: the specific force, w x fwd and w x up (the velocity of a point one
    # metre forward / up of the sensor, relative to it); w x r = [r]x^T w, so rows w @ [r]x
    (fx, fy, fz), (ux, uy, uz) = floats3(fwd), floats3(up)
    k = np.array([[0.0, -fz, fy, 0.0, -uz, uy], [fz, 0.0, -fx, uz, 0.0, -ux], [-fy, fx, 0.0, -uy, ux, 0.0]])
    cols = np.empty((m, 3, 3))
    cols[:, :, 0] = acc_mps2
    cols[:, :, 1:] = (gyr_dps @ (k * (math.pi / 180.0))).reshape(m, 2, 3).transpose(0, 2, 1)
    rows0 = np.matmul(c, cols)  # ... in the frame of row 0
    f0 = rows0[:, :, 0] - GRAVITY_MPS2 * up
    bf, bu = rows0[:, :, 1], rows0[:, :, 2]
    v = np.zeros((m, 3))
    np.cumsum(0.5 * (f0[1:] + f0[:-1]) / fs, axis=0, out=v[1:])
    f, u, vv = bf[fit].ravel(), bu[fit].ravel(), v[fit].ravel()
    a11, a12, a22 = float(np.dot(f, f)), float(np.dot(f, u)), float(np.dot(u, u))
    det = a11 * a22 - a12 * a12
    if not det > 1e-12 * max(a11 * a22, 1e-300):
        return None
    b1, b2 = -float(np.dot(f, vv)), -float(np.dot(u, vv))
    x = (a22 * b1 - a12 * b2) / det
    z = (a11 * b2 - a12 * b1) / det
    return _norm3(v + x * bf + z * bu), x, z


class _Ring:
    """History of raw samples plus the detection signal, addressed by absolute stream index.

    After every append the newest ``cap`` samples are held. With a gyroscope, row ``p`` of ``rot``
    is the exact rotation from sample ``p`` to ``p + 1`` (`step_rotations`), valid for every
    row but the newest: computed once per sample (per frame, vectorised; bit-identical whatever
    the batch), then read by every stride's attitude tree.
    """

    def __init__(self, cap: int, gyro: bool, fs: float = 1.0, gap_s: float = 0.5):
        self.cap = cap
        self.gap_s = gap_s
        size = 2 * cap
        self.t = np.zeros(size)
        self.acc = np.zeros((size, 3))
        self.gyr = np.zeros((size, 3)) if gyro else None
        self.rot = np.zeros((size, 3, 3)) if gyro else None
        self.fs = fs
        self.flags = np.zeros(size, np.uint8)
        self.sig = np.zeros(size)
        self.raw = np.zeros(size)
        self.base = 0  # absolute index of row 0
        self.end = 0  # rows used
        # absolute indices i of the samples more than ``gap_s`` after sample i - 1 (time gaps), kept
        # while they can matter (they are rare: one list entry per lost stretch of data)
        self.gaps: list[int] = []

    @property
    def abs_end(self) -> int:
        return self.base + self.end

    def append(self, t, acc, gyr, flags) -> int:
        n = t.shape[0]
        size = self.t.shape[0]
        if self.end + n > size:
            keep = min(self.cap, self.end)
            src = slice(self.end - keep, self.end)
            for arr in (self.t, self.acc, self.gyr, self.rot, self.flags, self.sig, self.raw):
                if arr is not None:
                    arr[:keep] = arr[src]
            self.base += self.end - keep
            self.end = keep
        a, b = self.end, self.end + n
        # (the differences as np.diff computes them, without its wrapper: once per frame)
        if a > 0 or self.base > 0:
            dt = np.empty(n)
            dt[0] = t[0] - self.t[a - 1]
            np.subtract(t[1:], t[:-1], out=dt[1:])
            jumps = np.flatnonzero(dt > self.gap_s)
        else:
            jumps = np.flatnonzero(np.subtract(t[1:], t[:-1]) > self.gap_s) + 1
        if jumps.shape[0]:
            self.gaps.extend((jumps + (self.base + a)).tolist())
        if self.gaps and self.gaps[0] < self.base:
            self.gaps = [g for g in self.gaps if g >= self.base]
        self.t[a:b] = t
        self.acc[a:b] = acc
        if self.gyr is not None:
            self.gyr[a:b] = gyr
            r0 = max(a - 1, 0)
            if b - r0 >= 2:
                step_rotations(self.gyr[r0:b], self.fs, out=self.rot[r0 : b - 1])
        self.flags[a:b] = 0 if flags is None else flags
        self.end = b
        return a

    def pos(self, abs_i: int) -> int:
        p = abs_i - self.base
        if p < 0:
            raise IndexError("sample no longer held")  # never happens: history_s covers every window
        return p

    def time_at(self, pos: float) -> float:
        i = math.floor(pos)
        i = min(max(i, 0), self.end - 1)
        frac = pos - i
        if frac <= 0.0 or i + 1 >= self.end:
            return float(self.t[i])
        return float(self.t[i] + frac * (self.t[i + 1] - self.t[i]))


class FootStepStage(FramedStage):
    """SampleBlock (sensor frame) -> `ContactEvent` per contact of this foot (parameters:
    ``config.params.foot``)."""

    latency_ms = 500.0  # the contact is reported once the next mid-swing is confirmed
    max_frame_ms = 2000.0  # the history holds one such frame more than history_s

    def __init__(self, config: PipelineConfig, sampling_rate_hz: float):
        self._p = config.params.foot
        super().__init__(config, sampling_rate_hz)

    def _reset_state(self) -> None:
        fs = self.fs
        self._gyro: bool | None = None  # decided by the first frame
        self._ring: _Ring | None = None
        self._cap = int(np.ceil(self._p.history_s * fs)) + int(np.ceil(self.max_frame_ms * 1e-3 * fs)) + 4
        self._box = 1
        self._box_kernel = np.ones(1)
        # axis
        self._axis: np.ndarray | None = None  # tracked pitch axis (unit, sensor frame, points right)
        self._det_axis: np.ndarray | None = None  # axis of the detection signal (fixed per boot)
        self._cov = np.zeros((3, 3))
        self._vote = 0.0
        self._boot_w = int(round(self._p.boot_window_s * fs))
        self._boot_step = max(1, int(round(self._p.boot_every_s * fs)))
        self._next_boot = self._boot_w - 1  # stream index of the next start-up attempt
        self._boot_floor = 0  # replays never reach before this index (after a sign loss)
        self._first_chain = True
        # detection
        self._sig_from = 0  # first index with a detection signal
        self._sig_to = 0  # detection signal computed up to here (exclusive)
        self._search_from = 0
        self._scan_c = 0  # next candidate index to examine
        self._peaks: list[float] = []
        self._strides: list[float] = []
        self._prev_ms: int | None = None
        self._chain_lo: int | None = None  # first index of the history before a chain's first mid-swing
        self._prev_ic_s: float | None = None
        self._last_ms_abs = 0
        self._n_strides = 0
        self._newest_s = float("nan")
        self._confirm = max(1, int(round(self._p.confirm_s * fs)))
        self._min_gap0 = int(round(self._p.min_stride_s * fs))
        self._max_stride = int(round(self._p.max_stride_s * fs))
        self._pause = int(round(self._p.pause_s * fs))
        self._smooth_w = 2 * int(fs * self._p.rate_smooth_half_s) + 1
        self._smooth_kernel = np.full(self._smooth_w, 1.0 / self._smooth_w)
        self._ff_w = max(1, int(round(self._p.foot_flat_window_s * fs)))
        self._ff_kernel = np.full(self._ff_w, 1.0 / self._ff_w)
        # toe-out prior as a rotation about 'up' (cos, sin), by side
        side = self.config.side
        a = math.radians(self._p.foot_progression_deg if side == "left" else -self._p.foot_progression_deg)
        self._toe_out = (math.cos(a), math.sin(a)) if side is not None else None
        self._cal_up: np.ndarray | None = None
        self._fsa_sums, self._fsa_summary, self._fsa_up, self._fsa_out = (
            np.empty((3, 5)), np.empty(14), np.empty(3), np.empty(7)
        )  # (scratch of foot_events.stride_fsa)
        # (floats: read once a stride, by plain arithmetic)
        self._up_est: tuple[float, float, float] | None = None  # 'up' at foot flat (running mean over strides)
        self._fwd_est: tuple[float, float, float] | None = None  # the foot's forward axis (running mean)
        self._prev_ff_abs: int | None = None  # foot flat of the previous contact of this chain
        # accelerometer-only period
        self._acf_stride: float | None = None
        self._acf_w = int(round(self._p.acf_window_s * fs))
        self._next_upd = self._acf_w - 1
        self._acc_ready = False
        if self.config.calibration is not None:
            up = np.asarray(self.config.calibration.gravity_sensor, float)
            self._cal_up = up / np.linalg.norm(up)

    # ------------------------------------------------------------------ frame handling
    def _process_frame(self, frame: SampleBlock, final: bool) -> list:
        n = len(frame)
        if n == 0:
            return []
        if self._ring is None:
            self._gyro = frame.gyr_dps is not None
            self._ring = _Ring(self._cap, self._gyro, self.fs, self._p.gap_s)
            self._box = max(1, int(round((self._p.gyro_box_s if self._gyro else self._p.acc_box_s) * self.fs)))
            self._box_kernel = np.full(self._box, 1.0 / self._box)
        ring = self._ring
        gyr = frame.gyr_dps if self._gyro else None
        if self._gyro and gyr is None:
            gyr = np.zeros((n, 3))  # gyroscope vanished mid-stream: treated as still
        self._newest_s = float(frame.time_s[-1])
        ring.append(frame.time_s, frame.acc_mps2, gyr, frame.flags)
        return self._advance()

    def _finish(self) -> list:
        """End of stream: confirm a mid-swing whose confirmation window runs past the end, then
        measure the contact after the last mid-swing if it is complete."""
        if self._ring is None or (self._gyro and self._axis is None):
            return []
        ring = self._ring
        out: list = []
        end = ring.abs_end
        self._extend_signal(end)
        while True:
            c = self._find_midswing(end, at_end=True)
            if c is None:
                break
            out.extend(self._on_midswing(c))
            if self._gyro and self._axis is None:
                return out
        if self._prev_ms is not None and self._gyro:
            p0 = ring.pos(self._prev_ms)
            rec = self._cycle_gyro(p0, ring.end - 1, edge="last")
            if rec is not None:
                out.append(rec)
        return out

    # ------------------------------------------------------------------ the decision loop
    def _advance(self) -> list:
        ring = self._ring
        assert ring is not None
        end = ring.abs_end
        out: list = []
        while True:
            if self._gyro and self._axis is None:
                while self._axis is None and self._next_boot < end:
                    d = self._next_boot
                    self._next_boot += self._boot_step
                    self._try_boot(d)
                if self._axis is None:
                    return out
            self._extend_signal(end)
            if not self._gyro and not self._acc_ready:
                # accelerometer only: no mid-swing before the stride period is known, then the
                # history of the period window is scanned
                while not self._acc_ready and self._next_upd < end:
                    d = self._next_upd
                    self._next_upd += self._boot_step
                    self._update_period(d)
                    if self._acf_stride is not None:
                        self._acc_ready = True
                        start = d + 1 - self._acf_w
                        self._search_from = self._scan_c = self._last_ms_abs = start
                if not self._acc_ready:
                    return out
            limit = end if self._gyro else min(end, self._next_upd)
            c = self._find_midswing(limit)
            if c is not None:
                out.extend(self._on_midswing(c))
                continue
            if not self._gyro and self._next_upd < end:
                self._update_period(self._next_upd)
                self._next_upd += self._boot_step
                continue
            return out

    def _extend_signal(self, end: int) -> None:
        """Detection signal = moving average of the detection input over ``self._box`` samples
        (held first value at the signal start), computed for every new sample."""
        ring = self._ring
        assert ring is not None
        if self._sig_to >= end:
            return
        a = max(self._sig_to, self._sig_from)
        p0, p1 = ring.pos(a), ring.pos(end)
        ring.raw[p0:p1] = self._detection_input(p0, p1)
        k = self._box
        q0 = ring.pos(max(self._sig_from, a - (k - 1)))
        x = ring.raw[q0:p1]
        missing = (k - 1) - (p0 - q0)
        if missing > 0:
            x = np.concatenate([np.full(missing, ring.raw[ring.pos(self._sig_from)]), x])
        ring.sig[p0:p1] = np.convolve(x, self._box_kernel, mode="valid")
        self._sig_to = end

    def _detection_input(self, p0: int, p1: int) -> np.ndarray:
        ring = self._ring
        assert ring is not None
        if self._gyro:
            assert ring.gyr is not None and self._det_axis is not None
            return _dot3(ring.gyr[p0:p1], self._det_axis)
        return np.minimum(_norm3(ring.acc[p0:p1]) / GRAVITY_MPS2, self._p.acc_cap_g)

    # ------------------------------------------------------------------ axis start-up
    def _try_boot(self, d: int) -> None:
        """Find the pitch axis from samples ``[d - W + 1, d]``; on success scan the history."""
        ring = self._ring
        assert ring is not None and ring.gyr is not None
        a = d - self._boot_w + 1
        if a < self._boot_floor:
            return
        p0, p1 = ring.pos(a), ring.pos(d) + 1
        g = ring.gyr[p0:p1]
        cov = gram3(g) / (p1 - p0)
        if np.trace(cov) < self._p.min_boot_rms_dps**2:
            return
        e = chains.principal_axis(cov)
        rate = _dot3(g, e)
        rate = rate - rate.mean()
        gn = _norm3(g)
        k = max(3, int(round(self._p.foot_flat_window_s * self.fs)))
        gn = np.convolve(gn, np.ones(k) / k, mode="same")
        vote = sign_vote(rate, gn, self.fs)
        if abs(vote) < self._p.boot_min_vote:
            return
        e = e if vote > 0 else -e
        self._axis = e
        self._det_axis = e
        self._cov = cov
        self._vote = 0.5
        start = max(self._boot_floor, d + 1 - int(round(self._p.replay_s * self.fs)))
        self._sig_from = start
        self._sig_to = start
        self._extend_signal(d + 1)
        self._search_from = start
        self._scan_c = start
        self._peaks = [float(np.max(ring.sig[ring.pos(max(start, a)) : p1]))]
        self._strides = []
        self._prev_ms = None
        self._chain_lo = start if self._first_chain else None
        self._first_chain = False
        self._prev_ic_s = None
        self._prev_ff_abs = None
        self._last_ms_abs = start

    def _lose_axis(self, d: int) -> None:
        """The axis sign was lost at decision index ``d`` (re-mounted sensor?): find it again."""
        self._axis = None
        self._det_axis = None
        self._prev_ms = None
        self._prev_ic_s = None
        self._prev_ff_abs = None
        self._boot_floor = d + 1
        self._next_boot = d + self._boot_w

    # ------------------------------------------------------------------ mid-swing detection
    def _threshold(self, c: int) -> float:
        floor = self._p.min_peak_dps if self._gyro else self._p.min_hump_g
        if c - self._last_ms_abs > self._pause:
            return floor  # after a long pause (a walk after a run has smaller peaks)
        if not self._peaks:
            return floor
        return max(floor, self._p.peak_fraction * _median(self._peaks))

    def _min_gap(self) -> int:
        if not self._gyro and self._acf_stride is not None:
            return max(self._min_gap0, int(self._p.refractory_acf_fraction * self._acf_stride * self.fs))
        if len(self._strides) >= 2:
            return max(self._min_gap0, int(self._p.refractory_stride_fraction * _median(self._strides) * self.fs))
        return self._min_gap0

    def _find_midswing(self, limit: int, at_end: bool = False) -> int | None:
        """First mid-swing ``c >= scan`` whose decision index ``c + L`` is below ``limit`` (or, at
        the end of the stream, whose peak is followed by at least two lower samples)."""
        ring = self._ring
        assert ring is not None
        L = self._confirm
        c_hi = limit - 1 - L if not at_end else limit - 3  # last candidate decidable now
        c_lo = max(self._scan_c, self._search_from, self._sig_from + 1)
        if c_hi < c_lo:
            return None
        sig = ring.sig
        q0 = ring.pos(c_lo)
        q1 = ring.pos(c_hi) + 1
        if foot_events.COMPILED:  # the same scan in one loop, stopping at the first mid-swing
            floor = self._p.min_peak_dps if self._gyro else self._p.min_hump_g
            pause_at = self._last_ms_abs + self._pause  # (_threshold: beyond it, the floor)
            p = foot_events.find_midswing(
                sig, q0, q1, floor, self._threshold(pause_at), self._threshold(pause_at + 1), pause_at - ring.base,
                max(self._search_from - ring.base, 0), self._max_stride, L, ring.end,
            )  # fmt: skip
            if p >= 0:
                return c_lo + (p - q0)
            self._scan_c = c_hi + 1
            return None
        s = sig[q0:q1]
        prev = sig[q0 - 1 : q1 - 1]
        nxt = sig[q0 + 1 : q1 + 1]
        floor = self._p.min_peak_dps if self._gyro else self._p.min_hump_g
        cand = np.nonzero((s > prev) & (s >= nxt) & (s >= floor))[0]
        end_pos = ring.end
        for j in cand:
            c = c_lo + int(j)
            p = q0 + int(j)
            v = float(sig[p])
            if v < self._threshold(c):
                continue
            b0 = ring.pos(max(self._search_from, c - self._max_stride))
            if p > b0 and float(_MAX(sig[b0:p])) >= v:
                continue
            f1 = min(p + L + 1, end_pos)
            if f1 > p + 1 and float(_MAX(sig[p + 1 : f1])) > v:
                continue
            return c
        self._scan_c = c_hi + 1
        return None

    def _update_period(self, d: int) -> None:
        """Accelerometer only: stride period from the autocorrelation of the low-passed norm over
        samples ``[d - acf_window_s + 1, d]`` (lags ``acf_min_lag_s`` .. ``acf_max_lag_s``), so
        that a second hump within a stride cannot halve it."""
        ring = self._ring
        assert ring is not None
        step = max(1, int(self.fs / 25.0))
        a = d - self._acf_w + 1
        if a < self._sig_from:
            return
        x = ring.sig[ring.pos(a) : ring.pos(d) + 1 : step]
        x = x - x.mean()
        energy = float(x @ x)
        if energy <= 1e-9:
            self._acf_stride = None
            return
        fs_d = self.fs / step
        lo, hi = int(self._p.acf_min_lag_s * fs_d), min(int(self._p.acf_max_lag_s * fs_d), x.shape[0] - 2)
        if hi <= lo + 2:
            return
        m = x.shape[0]
        full = np.correlate(x, x, mode="full")  # lag k at index m - 1 + k
        lags = np.arange(lo, hi + 1)
        ac = full[m - 1 + lo : m + hi] / (m - lags) * (m / energy)
        # the period is an interior local maximum of the autocorrelation: a maximum at the
        # shortest lag (the correlation still falling from lag 0, as while standing or at the
        # start of a run) is no period, and taking it would halve the stride (double contacts)
        peak = np.zeros(ac.shape[0], bool)
        peak[1:-1] = (ac[1:-1] >= ac[:-2]) & (ac[1:-1] >= ac[2:])
        if not peak.any():
            self._acf_stride = None
            return
        k = int(np.argmax(np.where(peak, ac, -np.inf)))
        if ac[k] <= self._p.acf_min_correlation:
            self._acf_stride = None
            return
        # multiples of the stride correlate as well: take the first local maximum close to the best
        best = k
        for kk in range(1, k):
            if ac[kk] >= ac[kk - 1] and ac[kk] >= ac[kk + 1] and ac[kk] > self._p.acf_near_best_fraction * ac[k]:
                best = kk
                break
        self._acf_stride = (lo + best) / fs_d

    def _on_midswing(self, c: int) -> list:
        ring = self._ring
        assert ring is not None
        out: list = []
        v = float(ring.sig[ring.pos(c)])
        if c - self._last_ms_abs > self._pause:
            self._peaks = []
            self._strides = []
        self._peaks.append(v)
        if len(self._peaks) > self._p.history_strides_count:
            self._peaks.pop(0)
        self._last_ms_abs = c
        prev = self._prev_ms
        self._prev_ms = c
        self._search_from = c + self._min_gap()
        self._scan_c = self._search_from
        if prev is None or c - prev > self._max_stride or self._gap_between(prev, c):
            self._prev_ic_s = None
            self._prev_ff_abs = None
            if prev is not None:
                self._chain_lo = None
            return out
        p0, p1 = ring.pos(prev), ring.pos(c)
        stride_s = ring.time_at(p1) - ring.time_at(p0)
        self._strides.append(stride_s)
        if len(self._strides) > self._p.history_strides_count:
            self._strides.pop(0)
        if self._chain_lo is not None:  # the contact before the first mid-swing (stream start)
            lo = max(self._chain_lo, prev - int(round(self._p.first_cycle_stride_ratio * stride_s * self.fs)))
            self._chain_lo = None
            if prev - lo > 8:
                first = self._cycle_gyro(ring.pos(lo), p0, edge="first", stride_s=stride_s) if self._gyro else None
                if first is not None:
                    out.append(first)
        rec = self._cycle_gyro(p0, p1) if self._gyro else self._cycle_acc(p0, p1)
        if rec is not None:
            out.append(rec)
        if self._gyro and self._axis is None:
            self._lose_axis(c + self._confirm)
        return out

    def _gap_between(self, a: int, b: int) -> bool:
        ring = self._ring
        assert ring is not None
        return any(a < g <= b for g in ring.gaps)

    # ------------------------------------------------------------------ per-cycle events
    def _finish_record(
        self,
        p0: int,
        p1: int,
        ic_pos: float,
        to_pos: float,
        fsa: float | None,
        quality: set[str],
        stride_s: float | None = None,
        edge: str | None = None,
    ) -> ContactEvent | None:
        ring = self._ring
        assert ring is not None
        ic_s = ring.time_at(ic_pos)
        to_s = ring.time_at(to_pos)
        if to_s <= ic_s:
            if edge is None:
                self._prev_ic_s = None
            return None
        if edge == "first":
            assert stride_s is not None
            quality.add(Q_WARMUP)
        else:
            st = None
            if self._prev_ic_s is not None:
                d = ic_s - self._prev_ic_s
                if self._p.min_stride_s <= d <= self._p.max_stride_s:
                    st = d
            if st is None:
                st = ring.time_at(p1) - ring.time_at(p0) if edge is None else float(np.median(self._strides or [1.0]))
            stride_s = st
            self._prev_ic_s = ic_s
        # impact
        i0 = math.floor(ic_pos)
        i1 = min(ring.end, math.ceil(ic_pos + self._p.impact_window_s * self.fs) + 1)
        impact_g = max_norm3(ring.acc[i0:i1]) / GRAVITY_MPS2
        # flags of the samples: a gap anywhere in the cycle, clipping or NaN around the contact
        bits = or_bits(ring.flags, p0, p1 + 1) & _AFTER_GAP
        s0 = max(p0, int(ic_pos) - 2)
        s1 = min(p1 + 1, int(to_pos) + 3)
        if s1 > s0:
            bits |= or_bits(ring.flags, s0, s1) & (_CLIPPED | _NAN)
        if edge is None:
            if self._n_strides < self._p.warmup_strides_count:
                quality.add(Q_WARMUP)
            self._n_strides += 1
        # Without a gyroscope toe-off is an estimate that does not hold up against force truth
        # (contact time MAE 130-190 ms on the virtual shoe sensors): contact time, flight and duty
        # factor are not reported; the contact's times and the cadence are.
        return ContactEvent(
            ic_s=ic_s,
            to_s=to_s,
            side=self.config.side,
            stride_s=stride_s,
            to_measured=Q_NO_GYRO not in quality,
            fsa_deg=fsa,
            impact_g=impact_g,
            flag_bits=bits,
            quality=_qual(quality),
            emitted_s=self._newest_s,
        )

    def _cycle_gyro(
        self, p0: int, p1: int, edge: str | None = None, stride_s: float | None = None
    ) -> ContactEvent | None:
        """One contact from the samples ``p0..p1`` (ring rows): mid-swing to mid-swing, or at the
        stream edges ('first': history start to the first mid-swing, 'last': the last mid-swing
        to the end of the stream)."""
        ring = self._ring
        assert ring is not None and ring.gyr is not None and self._axis is not None
        g = ring.gyr[p0 : p1 + 1]
        n = g.shape[0]
        if n < 8:
            return None
        if edge is None:
            # running axis update and sign evidence
            cov = gram3(g) / n
            self._cov = self._p.axis_forget_weight * self._cov + (1.0 - self._p.axis_forget_weight) * cov
            self._axis = chains.principal_axis(self._cov, self._axis)
        e = self._pitch_axis()
        if reductions.COMPILED:  # (the same numbers in one pass)
            rate, gn = np.empty(n), np.empty(n)
            ex, ey, ez = e.tolist()
            reductions.dot_norm_loop(g, ex, ey, ez, rate, gn)
        else:
            rate, gn = _dot3(g, e), _norm3(g)
        if self._smooth_w > 1:
            rate = np.convolve(rate, self._smooth_kernel, mode="same")
        gn = np.convolve(gn, self._ff_kernel, mode="same")
        if edge is None:
            if foot_events.COMPILED:
                vote = foot_events.sign_vote_loop(rate, gn, self.fs)
            else:
                vote = sign_vote(rate - float(_SUM(rate)) / n, gn, self.fs)  # (= rate.mean(), bit for bit)
            w_vote = self._p.vote_ema_weight
            self._vote = (1.0 - w_vote) * self._vote + w_vote * vote
            if self._vote < self._p.flip_vote:
                self._axis = None  # sign lost: the caller re-finds it
                return None
        found = self._cycle_events(p0, rate, gn, edge)
        if found is None:
            return None
        ff_i, ic_pos, to_i, to_pos = found
        # the delay scales with the runner's own contact: a fraction of IC -> push-off minimum
        p = self._p
        scale = min(max(to_pos - ic_pos, p.to_scale_min_s * self.fs), p.to_scale_max_s * self.fs)
        to_pos += p.to_delay_s * self.fs + p.to_delay_fraction * scale
        lift = self._pivot_lift(p0, ff_i, to_i, rate, e)
        if lift is not None:
            # the forefoot leaves the ground: toe-off follows by the toes' roll, a fraction of the
            # runner's own IC-to-lift time
            scale = min(max(lift - ic_pos, p.to_scale_min_s * self.fs), p.to_scale_max_s * self.fs)
            to_pos = lift + p.to_lift_delay_fraction * scale
        if to_pos - ic_pos < 3:
            return None
        quality: set[str] = set()
        if self._cal_up is None:
            quality.add(Q_UNCALIBRATED)
        fsa = self._fsa(p0, ff_i, ic_pos, e, edge)
        return self._finish_record(p0, p1, p0 + ic_pos, p0 + to_pos, fsa, quality, stride_s, edge)

    def _cycle_events(
        self, p0: int, rate: np.ndarray, gn: np.ndarray, edge: str | None
    ) -> tuple[int, float, int, float] | None:
        """Foot flat (row), IC (fractional row), the push-off minimum (row) and its position, from
        the cycle's smoothed pitch rate and rate norm; None when the cycle has no contact to report.
        Compiled, one loop (`gait.detect.foot_events`, the same numbers); else NumPy."""
        n = rate.shape[0]
        thr = self._threshold(p0 + self._ring.base) if edge == "first" else 0.0
        if foot_events.COMPILED:
            out = np.empty(4)
            status = foot_events.cycle_events(
                rate, gn, np.empty(n), _EDGE_CODES[edge], self._ff_w // 2 + 1, self._p.edge_swing_fraction * thr,
                self.fs, self._p.slap_min_deg, self._p.slap_max_deg, self._p.ic_slap_fraction,
                self._p.to_deep_fraction, self._p.to_dip_fraction, out,
            )  # fmt: skip
            if status == foot_events.OK:
                ff_i, ic_pos, to_i, to_pos = out.tolist()
                return int(ff_i), ic_pos, int(to_i), to_pos
            if status == foot_events.NO_CONTACT:
                return None
        return self._cycle_events_numpy(rate, gn, edge, thr)

    def _cycle_events_numpy(
        self, rate: np.ndarray, gn: np.ndarray, edge: str | None, thr: float
    ) -> tuple[int, float, int, float] | None:
        n = rate.shape[0]
        # foot flat: the quietest instant of the cycle (stance)
        h = self._ff_w // 2 + 1
        lo_ff = h if edge == "first" else 3
        hi_ff = n - h if edge == "last" else n - 3
        if hi_ff <= lo_ff:
            return None
        # ... between the most toes-up instant (late swing, before IC) and the most toes-down one
        # after it (early swing, after push-off): the turn-around of early swing can be quieter
        # than stance at speed (about 100 deg/s), but its pitch is 40-90 deg below the stance's
        theta = np.cumsum(rate)
        k_hi = lo_ff + int(theta[lo_ff:hi_ff].argmax())
        k_lo = k_hi + int(theta[k_hi:hi_ff].argmin())
        if k_lo - k_hi >= 4:
            # stance: above the middle of that pitch range (the turn-around lies at its bottom)
            mid = 0.5 * (theta[k_hi] + theta[k_lo])
            above = np.nonzero(theta[k_hi:k_lo] >= mid)[0]
            lo_ff, hi_ff = k_hi, k_hi + int(above[-1]) + 1
        ff_i = lo_ff + int(gn[lo_ff:hi_ff].argmin())
        if ff_i < 3 or ff_i > n - 4:
            return None
        # IC: minimum of the pitch rate between mid-swing and foot flat ...
        ic_i = int(rate[:ff_i].argmin())
        if edge == "first":
            # a real contact inside the history: its minimum is interior and the late swing
            # (toes-up rotation) before it was recorded
            if ic_i < 2 or float(_MAX(rate[:ic_i])) < self._p.edge_swing_fraction * thr or rate[ic_i] >= 0.0:
                return None
        ic_pos = ic_i + (parabolic_offset(*rate[ic_i - 1 : ic_i + 2].tolist()) if 0 < ic_i < n - 1 else 0.0)
        # ... moved earlier after a heel strike: the heel touches down when the forefoot starts to
        # slap, about when the rate has fallen to ``ic_slap_fraction`` of its minimum (see module doc)
        nonneg = rate[ic_i::-1] >= 0.0
        back = int(nonneg.argmax())
        zc = ic_i - back if nonneg[back] else 0  # last toes-up sample before the minimum
        slap_deg = -float(_SUM(rate[zc + 1 : ic_i + 1])) / self.fs
        w = min(1.0, max(0.0, (slap_deg - self._p.slap_min_deg) / (self._p.slap_max_deg - self._p.slap_min_deg)))
        if w > 0.0 and ic_i - zc >= 1:
            rmin = float(rate[ic_i])
            level = self._p.ic_slap_fraction * rmin
            seg = rate[zc : ic_i + 1]
            above = seg[::-1] >= level
            kb = int(above.argmax())
            if above[kb]:
                # last sample still above the level
                k = min(seg.shape[0] - 1 - kb, seg.shape[0] - 2)
                sk, sk1 = seg[k : k + 2].tolist()
                den = sk1 - sk
                cross = zc + k + ((level - sk) / den if den != 0.0 else 0.0)
                ic_pos = (1.0 - w) * ic_pos + w * cross
        # TO: minimum of the pitch rate between foot flat and the next mid-swing, plus the delay
        # between peak push-off rotation and the toe leaving the ground
        tail = rate[ff_i:]
        tmin = float(_MIN(tail))
        if tmin >= 0.0:
            return None
        j, has_rise = push_off_minimum(tail, self._p.to_deep_fraction, self._p.to_dip_fraction)
        if edge == "last":
            if not has_rise:
                return None  # the recording ends during push-off: no toe-off to measure
            # the push-off must have been seen: the rate comes back up after its minimum
            if float(tail[-1]) > 0.5 * tmin and j >= tail.shape[0] - 2:
                return None
        to_i = ff_i + j
        to_pos = to_i + (parabolic_offset(*rate[to_i - 1 : to_i + 2].tolist()) if 0 < to_i < n - 1 else 0.0)
        return ff_i, ic_pos, to_i, to_pos

    def _pivot_lift(self, p0: int, ff_i: int, to_i: int, rate: np.ndarray, e: np.ndarray) -> float | None:
        """Where (cycle row, fractional) the point the foot pivots about in push-off starts to
        move: its speed (`pivot_speed`) passes ``to_pivot_lift_mps``. The pivot is fitted over the
        heel rise (pitch rate below ``to_pivot_fit_fraction`` of the push-off minimum at row
        ``to_i``, up to it); None without a known 'up', when the fit puts the pivot implausibly
        near or far, or when the speed does not pass the level within ``to_pivot_after_s`` after
        that minimum (toe-off then follows the minimum, see `_cycle_gyro`)."""
        ring = self._ring
        assert ring is not None and ring.gyr is not None and ring.rot is not None
        up = self._cal_up if self._cal_up is not None else self._up_est
        if up is None:
            return None
        p = self._p
        end = min(rate.shape[0] - 1, to_i + int(p.to_pivot_after_s * self.fs))
        # heel rise: from where the rate first falls below the level, to the minimum
        k0 = int((rate[ff_i : to_i + 1] <= p.to_pivot_fit_fraction * float(rate[to_i])).argmax())
        if to_i - ff_i - k0 < 2 or end - ff_i < 4:
            return None
        (ux, uy, uz), (ex, ey, ez) = floats3(up), floats3(e)
        fwd = _unit3(uy * ez - uz * ey, uz * ex - ux * ez, ux * ey - uy * ex)  # up x right
        q0, q1 = p0 + ff_i, p0 + end
        res = pivot_speed(ring.acc[q0 : q1 + 1], ring.gyr[q0 : q1 + 1], ring.rot[q0:q1], self.fs, up, fwd,
                          slice(k0, to_i - ff_i + 1))  # fmt: skip
        if res is None:
            return None
        speed, x, z = res
        if not p.to_pivot_min_m <= math.hypot(x, z) <= p.to_pivot_max_m:
            return None
        above = speed[k0:] >= p.to_pivot_lift_mps
        k = k0 + int(above.argmax())
        if not above.any() or k == k0:
            return None
        s0, s1 = float(speed[k - 1]), float(speed[k])
        lift = ff_i + (k - 1) + (p.to_pivot_lift_mps - s0) / (s1 - s0)
        # the forefoot lifts about when the rotation peaks (-9..+16 ms after it on the RBDS shoe
        # sensors): a lift far before it is the integration's drift, not the forefoot
        return lift if lift >= to_i - p.to_pivot_after_s * self.fs else None

    def _fsa(self, p0: int, ff_i: int, ic_pos: float, e: np.ndarray, edge: str | None) -> float | None:
        """Foot strike angle of the contact whose foot flat is ring row ``p0 + ff_i`` and whose IC
        is at row ``p0 + ic_pos`` (see `gait.metrics.foot_strike.StrideAttitude`).

        Over the stride from the previous contact's foot flat to this one, 'up' is known at every
        sample (drift-free: the stride's mean specific force is gravity), and the stride's
        displacement gives the direction of travel: its running mean, in the sensor frame at foot
        flat, is the foot's forward axis. FSA = elevation of that axis at IC, made horizontal
        against the reference 'up' (the standing calibration's, else the running mean 'up' at foot
        flat). Without a previous foot flat (first contact of a chain) 'up' at IC is integrated
        back from foot flat, assumed to be at the reference attitude.
        """
        ring = self._ring
        assert ring is not None and ring.gyr is not None
        ff_abs = ring.base + p0 + ff_i
        att = None
        blended = False
        q0 = 0
        if edge is None:
            prev = self._prev_ff_abs
            self._prev_ff_abs = ff_abs
            if prev is not None and self._min_gap0 <= ff_abs - prev <= self._max_stride:
                q0 = ring.pos(prev)
                q1 = p0 + ff_i
                assert ring.rot is not None
                if foot_events.COMPILED:  # the common case in one call (the same numbers)
                    status, fsa = self._stride_fsa(q0, q1, p0 + ic_pos - q0)
                    if status == foot_events.FSA_OK:
                        return fsa
                    if status == foot_events.FORWARD_VERTICAL:  # (the estimates are updated)
                        att = StrideAttitude(None, ring.acc[q0 : q1 + 1], self.fs, GRAVITY_MPS2, rot=ring.rot[q0:q1])
                        blended = True
                else:
                    att = StrideAttitude(None, ring.acc[q0 : q1 + 1], self.fs, GRAVITY_MPS2, rot=ring.rot[q0:q1])
                    if abs(att.gravity_ratio - 1.0) > self._p.stride_g_tol_fraction or att.travel0 is None or att.stride_m < self._p.min_stride_m:
                        att = None
        if att is not None and not blended:
            u = floats3(att.up1)
            self._up_est = u if self._up_est is None else _blend_unit(self._up_est, u, self._p.est_gain_weight)
            fw = _blend_unit(att.travel0, att.travel1, 0.5)
            self._fwd_est = fw if self._fwd_est is None else _blend_unit(self._fwd_est, fw, self._p.est_gain_weight)
        ref = self._cal_up if self._cal_up is not None else self._up_est
        if ref is None:
            # no stride measured yet: gravity at foot flat if the foot is about still there,
            # else the pitch rate integrated back from a flat foot flat
            a_ff = ring.acc[p0 + ff_i]
            na = float(np.linalg.norm(a_ff))
            if abs(na / GRAVITY_MPS2 - 1.0) >= 0.1:
                rate = _dot3(ring.gyr[p0 : p0 + ff_i + 1], e)
                return angle_at(rate, self.fs, float(ff_i), 0.0, ic_pos)
            ref = a_ff / na
        fwd_h = horizontal(self._fwd_est, ref) if self._fwd_est is not None else None
        if fwd_h is not None and self._toe_out is not None:
            # the foot points outwards of its direction of travel (toe-out): turn about 'up'
            # (fwd cos a + (up x fwd) sin a; only with a known side: the turn's sense is the side's)
            ca, sa = self._toe_out
            (ux, uy, uz), (fx, fy, fz) = floats3(ref), fwd_h
            fwd_h = (
                fx * ca + (uy * fz - uz * fy) * sa,
                fy * ca + (uz * fx - ux * fz) * sa,
                fz * ca + (ux * fy - uy * fx) * sa,
            )
        if fwd_h is None:
            fwd_h = _unit(np.cross(ref, e))  # forward = up x right
        if att is not None:
            up_ic = att.up_at(p0 + ic_pos - q0)
        else:
            g = ring.gyr[p0 : p0 + ff_i + 1]
            up_ic = up_back(g, self.fs, ff_i, ic_pos, ref)
        return elevation_deg(fwd_h, up_ic)

    def _stride_fsa(self, q0: int, q1: int, ic_pos: float) -> tuple[int, float | None]:
        """`_fsa` over the stride from ring row ``q0`` to ``q1`` (foot flat to foot flat) through
        `gait.detect.foot_events.stride_fsa`: its status and the angle (`FSA_OK`, the estimates
        updated), else None (`REJECTED`: nothing changed; `FORWARD_VERTICAL`: the estimates
        updated, `_fsa` goes on from there)."""
        ring = self._ring
        up, fwd, cal, toe = self._up_est, self._fwd_est, self._cal_up, self._toe_out
        u0, u1, u2 = up if up is not None else (0.0, 0.0, 0.0)
        f0, f1, f2 = fwd if fwd is not None else (0.0, 0.0, 0.0)
        c0, c1, c2 = cal.tolist() if cal is not None else (0.0, 0.0, 0.0)
        ca, sa = toe if toe is not None else (1.0, 0.0)
        out = self._fsa_out
        status = foot_events.stride_fsa(
            ring.acc[q0 : q1 + 1], ring.rot[q0:q1], self.fs, GRAVITY_MPS2, self._p.stride_g_tol_fraction,
            self._p.min_stride_m, self._p.est_gain_weight, up is not None, u0, u1, u2, fwd is not None, f0, f1, f2,
            cal is not None, c0, c1, c2, toe is not None, ca, sa, ic_pos, np.empty((q1 - q0 + 1, 9)),
            self._fsa_sums, self._fsa_summary, self._fsa_up, out,
        )  # fmt: skip
        if status == foot_events.REJECTED:
            return status, None
        values = out.tolist()
        self._up_est = (values[0], values[1], values[2])
        self._fwd_est = (values[3], values[4], values[5])
        return status, (values[6] if status == foot_events.FSA_OK else None)

    def _pitch_axis(self) -> np.ndarray:
        """The principal axis made horizontal: a foot pitches about an axis perpendicular to
        'up' at foot flat (the calibration's, else the running stance estimate)."""
        assert self._axis is not None
        up = self._cal_up if self._cal_up is not None else self._up_est
        e = self._axis
        if up is None:
            return e
        (ex, ey, ez), (ux, uy, uz) = floats3(e), floats3(up)
        d = ex * ux + ey * uy + ez * uz
        hx, hy, hz = ex - d * ux, ey - d * uy, ez - d * uz
        nh = math.sqrt(hx * hx + hy * hy + hz * hz)
        return np.array([hx / nh, hy / nh, hz / nh]) if nh > 0.5 else e

    def _cycle_acc(self, p0: int, p1: int) -> ContactEvent | None:
        """Accelerometer only. IC: the impact. The sharpest change of the acceleration vector in
        the first half of the mid-swing-to-mid-swing cycle marks the end of the terminal-swing
        hump (the shank's deceleration before touch-down, the largest and smoothest feature of
        an ankle's |acc|); the impact is the sharp *rise* of |acc| that follows the hump's fall:
        IC = the middle of the steepest rise of |acc| over ``ACC_RISE_S``, searched from the
        hump's top (at most ``ACC_HUMP_BACK_S`` before the jerk peak) to ``ACC_RISE_AFTER_S``
        after the jerk peak. TO: the low-passed norm leaves its stance level on the way to the
        next swing hump (it crosses the stance level + ``acc_to_fraction`` of the hump height)."""
        ring = self._ring
        assert ring is not None
        acc = ring.acc[p0 : p1 + 1]
        n = acc.shape[0]
        if n < 8:
            return None
        d = np.diff(acc, axis=0)
        jerk = _norm3(d)
        half = n // 2
        ic_j = int(np.argmax(jerk[:half])) + 1  # first sample after the jump
        fs = self.fs
        span = max(1, int(round(self._p.acc_rise_s * fs)))
        # (the hump's top can precede the cycle start, the peak of the smoothed norm: the window
        # reaches back into the history, rows before p0)
        a0 = max(-p0, ic_j - int(round(self._p.acc_hump_back_s * fs)))
        a1 = min(n, ic_j + int(round(self._p.acc_rise_after_s * fs)) + 1)
        norm = _norm3(ring.acc[p0 + a0 : p0 + a1])
        pk = int(np.argmax(norm[: ic_j - a0 + 1]))  # top of the terminal-swing hump
        rise = norm[pk + span :] - norm[pk : norm.shape[0] - span]
        if rise.shape[0] and float(rise.max()) > 0.0:
            k = int(np.argmax(rise))
            ic_pos = a0 + pk + k + 0.5 * span
        else:
            ic_pos = float(ic_j)
        ic_i = max(0, int(ic_pos))
        sig = ring.sig[p0 : p1 + 1]
        lo = ic_i + max(1, int(self._p.acc_to_min_s * self.fs))
        if lo >= n - 2:
            return None
        base = float(np.min(sig[lo:]))
        level = base + self._p.acc_to_fraction * (float(sig[-1]) - base)
        kmin = lo + int(np.argmin(sig[lo:]))
        above = np.nonzero(sig[kmin:] >= level)[0]
        if above.shape[0] == 0:
            return None
        k = kmin + int(above[0])
        den = sig[k] - sig[k - 1]
        to_pos = (k - 1) + ((level - sig[k - 1]) / den if den != 0.0 else 0.0)
        quality = {Q_NO_GYRO}
        return self._finish_record(p0, p1, float(p0 + ic_pos), float(p0 + to_pos), None, quality)
