"""Foot placement: contacts and per-contact metrics from a shoe-mounted IMU.

Input: `SampleBlock` (sensor frame, unknown mounting, gravity included) from `SanitizeStage`.
Output: one `StepMetrics` per contact of *this* foot (``side = config.side``), emitted when the
next mid-swing of the same foot is confirmed (about 0.2-0.4 s after toe-off while running).

With a gyroscope (Falbriard et al. 2018, 2020)
----------------------------------------------
1. Pitch axis: principal axis of the angular rate, a running exponentially-forgotten estimate
   updated once per stride; its sign from the stride's pitch-angle asymmetry (see
   `gait.dsp.foot_orientation`: positive pitch rate = toes up).
2. Mid-swing: the large positive peak of the pitch rate (40 ms moving average), found causally: the
   highest sample since the refractory time after the previous mid-swing, confirmed once it
   has stood for ``confirm`` seconds above an adaptive threshold (0.45 x the median of recent
   mid-swing peaks, at least 100 deg/s).
3. Between two mid-swings of the same foot: foot flat = minimum of the (50 ms averaged)
   angular-rate norm. IC = minimum of the pitch rate before foot flat (parabolic sub-sample
   refinement); after a heel strike (slap rotation > 5-10 deg) IC moves to where the rate falls
   through 0.6 x that minimum. TO = first deep (>= 90 % of the deepest) pitch-rate minimum after
   foot flat, + 20 ms. Offsets from force-plate truth (RBDS, 2 runners, 2.5 m/s; not speed-tested).
4. FSA: strap-down integration of the pitch rate from the foot-flat instant (minimum angular-rate
   norm in stance; pitch there from gravity vs. the calibration 'up', or 0 uncalibrated) back
   to IC; class by `StrikeThresholds` (Altman & Davis).

Accelerometer only (degraded mode, every record carries ``no_gyro``)
--------------------------------------------------------------------
Mid-swing is the large centripetal hump of the low-passed acceleration norm (the foot swings
around the knee at up to twice the running speed: 5-15 g over 100-200 ms). IC is the first
sharp impact after it (largest jerk of the acceleration vector within the expected window),
TO is the end of the push-off (see `_cycle_acc`). No foot strike angle.

Cadence counts both feet (``120 / stride time``). Flight time for one foot assumes symmetric
steps: ``(stride - 2 * contact) / 2``, clamped at 0 (walking has double support, not flight).
"""

from __future__ import annotations

import numpy as np

from gait.core.config import GRAVITY_MPS2
from gait.core.records import (
    Q_CLIPPING,
    Q_GAP,
    Q_IMPLAUSIBLE,
    Q_LOW_RATE,
    Q_NAN,
    Q_NO_GYRO,
    Q_UNCALIBRATED,
    Q_WARMUP,
    QUALITY_FLAGS,
    SampleBlock,
    SampleFlag,
    StepMetrics,
)
from gait.dsp.foot_orientation import (
    AXIS_FORGET,
    parabolic_offset,
    pitch_from_gravity,
    principal_axis,
    sign_vote,
)
from gait.dsp.stage import FramedStage
from gait.metrics.foot_strike import angle_at, classify_strike

BUFFER_S = 6.0  # history kept (covers two slow walking strides plus margins)
MAX_STRIDE_S = 2.5  # two mid-swings further apart than this are not one stride
MIN_STRIDE_S = 0.3
BOOT_WINDOW_S = 3.0  # window used to find the pitch axis and its sign at start-up
BOOT_EVERY_S = 0.5
MIN_PEAK_DPS = 100.0  # a mid-swing peak is at least this fast (slow walking ~250 deg/s)
MIN_BOOT_RMS_DPS = 60.0  # angular-rate RMS needed to try to find the axis
PEAK_FRACTION = 0.45
CONFIRM_S = 0.1
WARMUP_STRIDES = 2
GCT_RANGE_MS = (80.0, 600.0)
FSA_MAX_DEG = 40.0
IMPACT_WINDOW_S = 0.05
FLIP_VOTE = -0.25  # forget-weighted sign evidence below this: the axis sign is re-found
# IC / TO timing (from force-plate truth: RBDS treadmill, one forefoot and one rearfoot runner)
IC_SLAP_FRACTION = 0.6  # a heel strike touches down when the rate reaches 0.6 x the slap minimum
SLAP_DEG = (5.0, 10.0)  # slap rotation (deg) over which the IC moves from the minimum to that point
TO_DELAY_S = 0.020  # toe-off follows the push-off pitch-rate minimum by about 20 ms
TO_DEEP_FRACTION = 0.9  # the push-off minimum is the first one reaching 90 % of the deepest
STILL_TOL = 0.03  # |specific force| within 3 % of g: the foot is still, gravity gives its pitch
GYRO_BOX_S = 0.04  # moving average of the pitch rate for mid-swing detection
ACC_BOX_S = 0.12  # moving average of the capped acceleration norm (swing hump)
# accelerometer-only mode
ACC_CAP_G = 16.0  # impacts are capped before the low-pass so that the swing hump dominates
MIN_HUMP_G = 2.5  # mid-swing hump of the low-passed norm, at least this (g)
ACC_TO_MIN_S = 0.1  # toe-off is searched from 100 ms after IC
ACC_TO_FRACTION = 0.2


def _qual(flags: set[str]) -> tuple[str, ...]:
    return tuple(f for f in QUALITY_FLAGS if f in flags)


class _Ring:
    """Fixed-capacity history of raw samples plus the detection signal, flat memory.

    Samples are addressed by their absolute stream position (``abs`` = number of samples before
    them); at least ``cap`` most recent samples are always available.
    """

    def __init__(self, cap: int, gyro: bool):
        self.cap = cap
        size = 2 * cap
        self.t = np.zeros(size)
        self.acc = np.zeros((size, 3))
        self.gyr = np.zeros((size, 3)) if gyro else None
        self.flags = np.zeros(size, np.uint8)
        self.sig = np.zeros(size)
        self.raw = np.zeros(size)
        self.base = 0  # absolute position of buffer row 0
        self.end = 0  # rows used

    @property
    def abs_end(self) -> int:
        return self.base + self.end

    @property
    def abs_start(self) -> int:
        return self.base + max(0, self.end - self.cap) if self.end > self.cap else self.base

    def append(self, t, acc, gyr, flags) -> int:
        n = t.shape[0]
        size = self.t.shape[0]
        if self.end + n > size:
            keep = min(self.cap, self.end)
            src = slice(self.end - keep, self.end)
            self.t[:keep] = self.t[src]
            self.acc[:keep] = self.acc[src]
            if self.gyr is not None:
                self.gyr[:keep] = self.gyr[src]
            self.flags[:keep] = self.flags[src]
            self.sig[:keep] = self.sig[src]
            self.raw[:keep] = self.raw[src]
            self.base += self.end - keep
            self.end = keep
        a, b = self.end, self.end + n
        self.t[a:b] = t
        self.acc[a:b] = acc
        if self.gyr is not None:
            self.gyr[a:b] = gyr
        self.flags[a:b] = 0 if flags is None else flags
        self.end = b
        return a

    def pos(self, abs_i: int) -> int:
        return abs_i - self.base

    def time_at(self, pos: float) -> float:
        i = int(np.floor(pos))
        i = min(max(i, 0), self.end - 1)
        frac = pos - i
        if frac <= 0.0 or i + 1 >= self.end:
            return float(self.t[i])
        return float(self.t[i] + frac * (self.t[i + 1] - self.t[i]))


class FootStepStage(FramedStage):
    """SampleBlock (sensor frame) -> StepMetrics per contact of this foot."""

    latency_ms = 500.0  # the contact is reported once the next mid-swing is confirmed

    def _reset_state(self) -> None:
        fs = self.fs
        self._gyro: bool | None = None  # decided by the first frame
        self._ring: _Ring | None = None
        self._cap = int(np.ceil(BUFFER_S * fs)) + 2 * self.frame_len
        self._box = 1
        self._box_kernel = np.ones(1)
        # axis
        self._axis: np.ndarray | None = None  # unit, sensor frame, sign resolved (points right)
        self._cov = np.zeros((3, 3))
        self._vote = 0.0
        self._last_boot_abs = -(10**12)
        # detection
        self._scan_pos = 0
        self._search_from = 0
        self._cand_idx = -1
        self._cand_val = -np.inf
        self._peaks: list[float] = []  # recent mid-swing peak values
        self._strides: list[float] = []  # recent stride durations (s)
        self._prev_ms: int | None = None  # absolute index of the previous mid-swing
        self._prev_ic_s: float | None = None
        self._last_ms_abs = -(10**12)
        self._n_strides = 0
        self._newest_s = float("nan")
        self._confirm = max(1, int(round(CONFIRM_S * fs)))
        self._min_gap0 = int(round(MIN_STRIDE_S * fs))
        self._max_stride = int(round(MAX_STRIDE_S * fs))
        self._smooth_w = 2 * int(fs * 0.004) + 1
        self._ff_w = max(1, int(round(0.05 * fs)))
        self._cal_up: np.ndarray | None = None
        self._up_est: np.ndarray | None = None
        self._acf_stride: float | None = None
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
            self._ring = _Ring(self._cap, self._gyro)
            self._box = max(1, int(round((GYRO_BOX_S if self._gyro else ACC_BOX_S) * self.fs)))
            self._box_kernel = np.full(self._box, 1.0 / self._box)
        ring = self._ring
        gyr = frame.gyr_dps if self._gyro else None
        if self._gyro and gyr is None:
            gyr = np.zeros((n, 3))  # gyroscope vanished mid-stream: treated as still
        self._newest_s = float(frame.time_s[-1])
        a = ring.append(frame.time_s, frame.acc_mps2, gyr, frame.flags)
        if frame.flags is not None and np.any(frame.flags & SampleFlag.AFTER_GAP):
            self._gap_check(frame, a)
        out: list = []
        if self._gyro:
            if self._axis is None:
                if ring.abs_end - self._last_boot_abs >= int(BOOT_EVERY_S * self.fs):
                    self._last_boot_abs = ring.abs_end
                    out.extend(self._bootstrap())
            else:
                self._filter_into(a, ring.end)
            if self._axis is not None:
                out.extend(self._scan())
        else:
            self._filter_into(a, ring.end)
            if ring.abs_end - self._last_boot_abs >= int(BOOT_EVERY_S * self.fs):
                self._last_boot_abs = ring.abs_end
                self._update_period()
            out.extend(self._scan())
        return out

    def _gap_check(self, frame: SampleBlock, a: int) -> None:
        """A long gap breaks the stride chain (no cycle is measured across it)."""
        ring = self._ring
        assert ring is not None
        idx = np.nonzero(frame.flags & SampleFlag.AFTER_GAP)[0]
        for k in idx:
            p = a + int(k)
            if p > 0 and ring.t[p] - ring.t[p - 1] > 0.5:
                self._prev_ms = None
                self._prev_ic_s = None

    def _detection_input(self, p0: int, p1: int) -> np.ndarray:
        ring = self._ring
        assert ring is not None
        if self._gyro:
            assert ring.gyr is not None and self._axis is not None
            return ring.gyr[p0:p1] @ self._axis
        norm = np.sqrt(np.einsum("ij,ij->i", ring.acc[p0:p1], ring.acc[p0:p1])) / GRAVITY_MPS2
        return np.minimum(norm, ACC_CAP_G)

    def _filter_into(self, p0: int, p1: int) -> None:
        """Detection signal = moving average (boxcar) of the detection input over the last
        ``self._box`` samples, from the raw input kept in the ring (cheap and chunk-invariant)."""
        ring = self._ring
        assert ring is not None
        ring.raw[p0:p1] = self._detection_input(p0, p1)
        k = self._box
        q0 = p0 - (k - 1)
        if q0 >= 0:
            x = ring.raw[q0:p1]
        else:  # start of the stream: hold the first value
            first = ring.raw[0] if ring.base == 0 else ring.raw[p0]
            x = np.concatenate([np.full(-q0, first), ring.raw[0:p1]])
        ring.sig[p0:p1] = np.convolve(x, self._box_kernel, mode="valid")

    # ------------------------------------------------------------------ axis start-up
    def _bootstrap(self) -> list:
        ring = self._ring
        assert ring is not None and ring.gyr is not None
        w = int(BOOT_WINDOW_S * self.fs)
        p1 = ring.end
        p0 = max(ring.pos(ring.abs_start), p1 - w)
        if p1 - p0 < w:
            return []
        g = ring.gyr[p0:p1]
        cov = g.T @ g / (p1 - p0)
        if np.trace(cov) < MIN_BOOT_RMS_DPS**2:
            return []
        e = principal_axis(cov)
        rate = g @ e
        rate = rate - rate.mean()
        gn = np.sqrt(np.einsum("ij,ij->i", g, g))
        k = max(3, int(round(0.05 * self.fs)))
        gn = np.convolve(gn, np.ones(k) / k, mode="same")
        vote = sign_vote(rate, gn, self.fs)
        if abs(vote) < 0.15:
            return []
        e = e if vote > 0 else -e
        self._axis = e
        self._cov = cov
        self._vote = 0.5
        # run the detection filter over the whole history, then scan it for mid-swings
        q0 = ring.pos(ring.abs_start)
        self._filter_into(q0, p1)
        self._scan_pos = ring.abs_start
        self._search_from = ring.abs_start
        self._cand_idx, self._cand_val = -1, -np.inf
        self._peaks = [float(np.max(ring.sig[p0:p1]))]
        self._prev_ms = None
        self._prev_ic_s = None
        self._n_strides = 0
        self._last_ms_abs = ring.abs_start
        # replay the history through the causal detector, frame by frame
        out: list = []
        for end in range(ring.abs_start + self.frame_len, ring.abs_end, self.frame_len):
            out.extend(self._scan(end))
        return out

    # ------------------------------------------------------------------ mid-swing detection
    def _threshold(self) -> float:
        floor = MIN_PEAK_DPS if self._gyro else MIN_HUMP_G
        if not self._peaks:
            return floor
        p = sorted(self._peaks)
        m = len(p) // 2
        med = p[m] if len(p) % 2 else 0.5 * (p[m - 1] + p[m])
        return max(floor, PEAK_FRACTION * med)

    def _update_period(self) -> None:
        """Accelerometer only: stride period from the autocorrelation of the low-passed norm over
        the last 4 s (lags 0.5-1.6 s), so that a second hump within a stride cannot halve it."""
        ring = self._ring
        assert ring is not None
        step = max(1, int(self.fs / 25.0))
        w = int(4.0 * self.fs)
        if ring.end < w:
            return
        x = ring.sig[ring.end - w : ring.end : step]
        x = x - x.mean()
        if float(x @ x) <= 1e-9:
            return
        fs_d = self.fs / step
        lo, hi = int(0.5 * fs_d), min(int(1.6 * fs_d), x.shape[0] - 2)
        if hi <= lo + 2:
            return
        ac = np.array([float(x[:-k] @ x[k:]) for k in range(lo, hi + 1)])
        k = int(np.argmax(ac))
        if ac[k] > 0.3 * float(x @ x) * (x.shape[0] - lo - k) / x.shape[0]:
            self._acf_stride = (lo + k) / fs_d
        else:
            self._acf_stride = None

    def _min_gap(self) -> int:
        if not self._gyro and self._acf_stride is not None:
            return max(self._min_gap0, int(0.65 * self._acf_stride * self.fs))
        if len(self._strides) >= 2:
            p = sorted(self._strides)
            return max(self._min_gap0, int(0.6 * p[len(p) // 2] * self.fs))
        return self._min_gap0

    def _scan(self, end: int | None = None) -> list:
        ring = self._ring
        assert ring is not None
        out: list = []
        end = ring.abs_end if end is None else end
        # forget the peak history after a long pause (a walk after a run has smaller peaks)
        if end - self._last_ms_abs > 3 * self.fs and len(self._peaks) > 1:
            self._peaks = self._peaks[-1:]
            self._peaks = [min(self._peaks[0], 2 * (MIN_PEAK_DPS if self._gyro else MIN_HUMP_G))]
            self._strides = []
        while True:
            start = max(self._scan_pos, self._search_from, ring.abs_start)
            if start < end:
                seg = ring.sig[ring.pos(start) : ring.pos(end)]
                j = int(np.argmax(seg))
                if seg[j] > self._cand_val:
                    self._cand_idx, self._cand_val = start + j, float(seg[j])
                self._scan_pos = end
            if self._cand_idx >= 0 and end - 1 - self._cand_idx >= self._confirm:
                if self._cand_val >= self._threshold():
                    ms = self._cand_idx
                    out.extend(self._on_midswing(ms))
                    self._search_from = ms + self._min_gap()
                    self._scan_pos = self._search_from
                    self._cand_idx, self._cand_val = -1, -np.inf
                    continue
                # below threshold: let it age out so that a later, larger peak can win
                if end - 1 - self._cand_idx > self._max_stride:
                    self._cand_idx, self._cand_val = -1, -np.inf
                    self._scan_pos = max(self._search_from, end - self._confirm)
            break
        return out

    def _on_midswing(self, ms: int) -> list:
        ring = self._ring
        assert ring is not None
        out: list = []
        self._peaks.append(float(ring.sig[ring.pos(ms)]))
        if len(self._peaks) > 7:
            self._peaks.pop(0)
        self._last_ms_abs = ms
        prev = self._prev_ms
        self._prev_ms = ms
        if prev is None or ms - prev > self._max_stride or prev < ring.abs_start:
            self._prev_ic_s = None
            return out
        p0, p1 = ring.pos(prev), ring.pos(ms)
        stride_ms_s = ring.time_at(p1) - ring.time_at(p0)
        self._strides.append(stride_ms_s)
        if len(self._strides) > 7:
            self._strides.pop(0)
        rec = self._cycle_gyro(p0, p1) if self._gyro else self._cycle_acc(p0, p1)
        if rec is not None:
            out.append(rec)
        return out

    # ------------------------------------------------------------------ per-cycle metrics
    def _finish_record(
        self, p0: int, p1: int, ic_pos: float, to_pos: float, fsa: float | None, quality: set[str]
    ) -> StepMetrics | None:
        ring = self._ring
        assert ring is not None
        ic_s = ring.time_at(ic_pos)
        to_s = ring.time_at(to_pos)
        gct_ms = (to_s - ic_s) * 1000.0
        if gct_ms <= 0:
            self._prev_ic_s = None
            return None
        stride_s = None
        if self._prev_ic_s is not None:
            d = ic_s - self._prev_ic_s
            if MIN_STRIDE_S <= d <= MAX_STRIDE_S:
                stride_s = d
        if stride_s is None:
            stride_s = ring.time_at(p1) - ring.time_at(p0)
        self._prev_ic_s = ic_s
        flight_ms = max(0.0, (stride_s * 1000.0 - 2.0 * gct_ms) / 2.0)
        cadence = 120.0 / stride_s
        duty = gct_ms / (stride_s * 1000.0)
        # impact
        i0 = int(np.floor(ic_pos))
        i1 = min(ring.end, int(np.ceil(ic_pos + IMPACT_WINDOW_S * self.fs)) + 1)
        acc = ring.acc[i0:i1]
        impact_g = float(np.sqrt(np.max(np.einsum("ij,ij->i", acc, acc)))) / GRAVITY_MPS2
        # flags from the samples
        fl = ring.flags[p0 : p1 + 1]
        if np.any(fl & SampleFlag.AFTER_GAP):
            quality.add(Q_GAP)
        s0 = max(p0, int(ic_pos) - 2)
        s1 = min(p1 + 1, int(to_pos) + 3)
        fl2 = np.bitwise_or.reduce(ring.flags[s0:s1]) if s1 > s0 else 0
        if fl2 & SampleFlag.CLIPPED:
            quality.add(Q_CLIPPING)
        if fl2 & SampleFlag.NAN:
            quality.add(Q_NAN)
        if not (GCT_RANGE_MS[0] <= gct_ms <= GCT_RANGE_MS[1]):
            quality.add(Q_IMPLAUSIBLE)
        strike = None
        if fsa is not None:
            if abs(fsa) > FSA_MAX_DEG:
                quality.add(Q_IMPLAUSIBLE)
            if self.fs < self.config.min_rate_hz_foot_strike:
                quality.add(Q_LOW_RATE)
            strike = classify_strike(fsa, self.config.strike)
        if self._n_strides < WARMUP_STRIDES:
            quality.add(Q_WARMUP)
        self._n_strides += 1
        return StepMetrics(
            ic_s=ic_s,
            to_s=to_s,
            side=self.config.side,
            gct_ms=gct_ms,
            flight_ms=flight_ms,
            cadence_spm=cadence,
            vo_cm=None,
            vertical_ratio_pct=None,
            fsa_deg=fsa,
            strike=strike,
            lean_deg=None,
            impact_g=impact_g,
            duty_factor=duty,
            quality=_qual(quality),
            emitted_s=self._newest_s,
        )

    def _cycle_gyro(self, p0: int, p1: int) -> StepMetrics | None:
        ring = self._ring
        assert ring is not None and ring.gyr is not None and self._axis is not None
        g = ring.gyr[p0 : p1 + 1]
        n = g.shape[0]
        if n < 8:
            return None
        # running axis update and sign evidence
        cov = g.T @ g / n
        self._cov = AXIS_FORGET * self._cov + (1.0 - AXIS_FORGET) * cov
        self._axis = principal_axis(self._cov, self._axis)
        e = self._pitch_axis()
        rate = g @ e
        if self._smooth_w > 1:
            k = self._smooth_w
            rate = np.convolve(rate, np.ones(k) / k, mode="same")
        gn = np.sqrt(np.einsum("ij,ij->i", g, g))
        gn = np.convolve(gn, np.ones(self._ff_w) / self._ff_w, mode="same")
        vote = sign_vote(rate - rate.mean(), gn, self.fs)
        self._vote = 0.8 * self._vote + 0.2 * vote
        if self._vote < FLIP_VOTE:
            self._axis = None  # sign lost (re-mounted sensor?): find it again
            self._prev_ms = None
            self._prev_ic_s = None
            return None
        # foot flat: the quietest instant of the cycle (stance)
        ff_i = int(np.argmin(gn))
        if ff_i < 3 or ff_i > n - 4:
            return None
        # IC: minimum of the pitch rate between mid-swing and foot flat ...
        ic_i = int(np.argmin(rate[:ff_i]))
        ic_pos = ic_i + (parabolic_offset(*rate[ic_i - 1 : ic_i + 2]) if 0 < ic_i < n - 1 else 0.0)
        # ... moved earlier after a heel strike: the heel touches down when the forefoot starts to
        # slap, about when the rate has fallen to IC_SLAP_FRACTION of its minimum (see module doc)
        nonneg = np.nonzero(rate[: ic_i + 1] >= 0.0)[0]
        zc = int(nonneg[-1]) if nonneg.shape[0] else 0  # last toes-up sample before the minimum
        slap_deg = -float(np.sum(rate[zc + 1 : ic_i + 1])) / self.fs
        w = min(1.0, max(0.0, (slap_deg - SLAP_DEG[0]) / (SLAP_DEG[1] - SLAP_DEG[0])))
        if w > 0.0 and ic_i - zc >= 1:
            level = IC_SLAP_FRACTION * rate[ic_i]
            seg = rate[zc : ic_i + 1]
            above = np.nonzero(seg >= level)[0]
            if above.shape[0]:
                k = min(int(above[-1]), seg.shape[0] - 2)  # last sample still above the level
                den = seg[k + 1] - seg[k]
                cross = zc + k + ((level - seg[k]) / den if den != 0.0 else 0.0)
                ic_pos = (1.0 - w) * ic_pos + w * cross
        # TO: minimum of the pitch rate between foot flat and the next mid-swing, plus the delay
        # between peak push-off rotation and the toe leaving the ground
        tail = rate[ff_i:]
        if float(tail.min()) >= 0.0:
            return None
        deep = np.nonzero(tail <= TO_DEEP_FRACTION * float(tail.min()))[0]
        j = int(deep[0])  # first deep push-off minimum (early swing can dip again later)
        rising = np.nonzero(np.diff(tail[j:]) >= 0.0)[0]
        j += int(rising[0]) if rising.shape[0] else tail.shape[0] - 1 - j
        to_i = ff_i + j
        to_pos = to_i + (parabolic_offset(*rate[to_i - 1 : to_i + 2]) if 0 < to_i < n - 1 else 0.0)
        to_pos += TO_DELAY_S * self.fs
        if to_pos - ic_pos < 3:
            return None
        quality: set[str] = set()
        theta_ff = 0.0
        if self._cal_up is not None:
            quiet = np.abs(np.arange(n) - ff_i) <= int(0.03 * self.fs)
            quiet &= gn <= 2.0 * gn[ff_i]
            acc_ff = ring.acc[p0 : p1 + 1][quiet].mean(axis=0)
            # only a still foot measures gravity alone (|f| = g); otherwise assume it is flat
            if abs(float(np.linalg.norm(acc_ff)) / GRAVITY_MPS2 - 1.0) < STILL_TOL:
                theta_ff = pitch_from_gravity(acc_ff, self._cal_up, e)
        else:
            quality.add(Q_UNCALIBRATED)
            a_ff = ring.acc[p0 + ff_i]
            na = float(np.linalg.norm(a_ff))
            if abs(na / GRAVITY_MPS2 - 1.0) < 0.1:
                u = a_ff / na
                self._up_est = u if self._up_est is None else self._up_est * 0.9 + 0.1 * u
                self._up_est = self._up_est / np.linalg.norm(self._up_est)
        fsa = angle_at(rate, self.fs, float(ff_i), theta_ff, ic_pos)
        return self._finish_record(p0, p1, p0 + ic_pos, p0 + to_pos, fsa, quality)

    def _pitch_axis(self) -> np.ndarray:
        """The principal axis made horizontal: a foot pitches about an axis perpendicular to
        'up' at foot flat (the calibration's, else the running stance estimate)."""
        assert self._axis is not None
        up = self._cal_up if self._cal_up is not None else self._up_est
        e = self._axis
        if up is None:
            return e
        h = e - float(e @ up) * up
        nh = float(np.linalg.norm(h))
        return h / nh if nh > 0.5 else e

    def _cycle_acc(self, p0: int, p1: int) -> StepMetrics | None:
        """Accelerometer only. IC: the sharpest change of the acceleration vector (impact /
        landing deceleration) in the first half of the mid-swing-to-mid-swing cycle. TO: the
        low-passed norm leaves its stance level on the way to the next swing hump (it crosses
        the stance level + ACC_TO_FRACTION of the hump height)."""
        ring = self._ring
        assert ring is not None
        acc = ring.acc[p0 : p1 + 1]
        n = acc.shape[0]
        if n < 8:
            return None
        d = np.diff(acc, axis=0)
        jerk = np.sqrt(np.einsum("ij,ij->i", d, d))
        half = n // 2
        ic_i = int(np.argmax(jerk[:half])) + 1  # first sample after the jump
        sig = ring.sig[p0 : p1 + 1]
        lo = ic_i + max(1, int(ACC_TO_MIN_S * self.fs))
        if lo >= n - 2:
            return None
        base = float(np.min(sig[lo:]))
        level = base + ACC_TO_FRACTION * (float(sig[-1]) - base)
        kmin = lo + int(np.argmin(sig[lo:]))
        above = np.nonzero(sig[kmin:] >= level)[0]
        if above.shape[0] == 0:
            return None
        k = kmin + int(above[0])
        den = sig[k] - sig[k - 1]
        to_pos = (k - 1) + ((level - sig[k - 1]) / den if den != 0.0 else 0.0)
        quality = {Q_NO_GYRO}
        return self._finish_record(p0, p1, float(p0 + ic_i), float(p0 + to_pos), None, quality)
