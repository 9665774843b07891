"""Wrist placement: steps from the arm swing, and the arm per stride.

Input: `SampleBlock` (sensor frame, any mounting, gravity included) from `SanitizeStage`: a watch,
an arm band at the wrist, or a phone held in the hand. Output: one `ContactEvent` per step (a step
*marker*, not a contact: a wrist feels no contact), emitted when the marker is found.
Parameters: `gait.core.params.WristDetectParams` (``config.params.wrist``).

Physics
-------
Each arm swings once forward and back per stride, in antiphase with its leg: one swing cycle
is two steps, so the step cadence is twice the arm-swing frequency. The swing turns twice per
cycle (at the front and at the back), so each turn of the swing is one step.

1. Swing signal. With a gyroscope: the angular rate, band-passed (``band_low_hz`` ..
   ``band_high_hz``, Butterworth, causal, state carried), projected on the swing axis, the
   principal axis of the band-passed rate over the last ``axis_window_s``, refreshed every
   ``axis_every_s`` at fixed sample indices and kept pointing the same way between refreshes. The
   rate is zero where the swing turns. Accelerometer only (a phone in the hand): the band-passed
   acceleration with its component along 'up' (a ``gravity_lp_hz`` low-pass of the acceleration)
   removed, projected on its own principal axis: along 'up' a hand shakes at the *step*
   frequency (the trunk's bounce and the landings; on the hand-held phone recordings of
   ../shared/data that is the strongest line of the spectrum), across it the swing at the stride
   frequency dominates; the upper corner (2 Hz) sits below the step frequency of running.
2. Markers: the zero crossings of the swing signal (interpolated between samples), with
   hysteresis: a crossing counts when the half swing before it reached ``hysteresis_fraction`` of
   the median of the recent half swings' peaks (and at least ``min_swing_dps`` /
   ``min_swing_mps2``), and not within ``min_step_s`` of the previous marker. The band-pass
   delays every marker by about the same time, so step times are not biased. After lost samples
   the filters restart from the first sample after the gap and no marker is taken for
   ``restart_s`` while they settle; the chain of steps starts again.
3. Cadence: each marker ends a stride, the three latest markers of an unbroken chain (half swings
   no longer than ``max_step_s``, no gap): ``stride_s`` = marker k - marker k-2 (one full cycle,
   insensitive to an offset of the swing signal, which would make the half swings alternate
   long and short); the assembler takes step time = stride / 2.
4. The arm per stride (with a gyroscope only; `gait.metrics.arm`): crossing and swing over the
   stride from marker k-2 to marker k. The direction of travel is the average over strides of
   the impact correlation (`gait.metrics.arm.impact_correlation`), kept in the sensor frame at
   the stride's first marker (the same swing phase every other marker, so one average per
   direction of the turn); the crossing is reported once ``forward_min_strides_count`` strides
   are in and the averaged correlation reaches ``forward_min_correlation``, else null. Both arm
   metrics carry the quality flag ``unvalidated``: no public running data here has arm markers.

Frame-size invariance: every decision is taken at a sample index fixed by the data (an axis
refresh, a zero crossing) from samples at or before it, filters run sample by sample with
carried state, and reductions are element-wise (no BLAS), so the records do not depend on how
the stream was cut.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from gait.core.config import GRAVITY_MPS2, PipelineConfig
from gait.core.events import ContactEvent
from gait.core.records import Q_IMPLAUSIBLE, Q_NO_GYRO, Q_UNVALIDATED, Q_WALKING, QUALITY_FLAGS, SampleBlock, SampleFlag
from gait.dsp.designs import butter_sos, steady_state_zi
from gait.dsp.history import History
from gait.dsp.iir import sosfilt_rows
from gait.dsp.rotation_chains import principal_axis
from gait.dsp.stage import FramedStage
from gait.metrics.arm import StrideFrame, arm_cross_cm, arm_swing_deg, impact_correlation


def _qual(flags: set[str]) -> tuple[str, ...]:
    return tuple(f for f in QUALITY_FLAGS if f in flags)


class WristStepStage(FramedStage):
    """SampleBlock (sensor frame) -> `ContactEvent` per step marker (parameters:
    ``config.params.wrist``)."""

    latency_ms = 250.0  # the band-pass delays the zero crossings by about a quarter of a swing
    max_frame_ms = 2000.0  # the history keeps one such frame more than the longest look-back

    def __init__(self, config: PipelineConfig, sampling_rate_hz: float):
        self.p = config.params.wrist
        super().__init__(config, sampling_rate_hz)

    def _reset_state(self) -> None:
        p, fs = self.p, self.fs
        nyq = 0.5 * fs
        self._sos = butter_sos(p.band_order, (p.band_low_hz, min(p.band_high_hz, 0.45 * nyq)), fs, btype="band")
        self._g_sos = butter_sos(2, min(p.gravity_lp_hz, 0.45 * nyq), fs)
        self._bp_zi: np.ndarray | None = None
        self._g_zi: np.ndarray | None = None
        self._gyro: bool | None = None
        self._win_n = max(8, int(round(p.axis_window_s * fs)))
        self._every_n = max(1, int(round(p.axis_every_s * fs)))
        self._min_step_n = p.min_step_s * fs
        self._max_step_s = p.max_step_s
        self._timeout_n = int(round(2.0 * p.max_step_s * fs))
        self._restart_n = int(round(p.restart_s * fs))
        self._gaps: list[int] = []  # absolute indices of samples after lost ones, not yet scanned
        self._quiet = (-1, -1)  # [start, stop): no swing signal while the filters settle after a gap
        # the longest look-back of any decision (axis window, a half swing's peak, a stride), one frame more
        longest = max(self._win_n, self._timeout_n, int(math.ceil(2.0 * p.max_step_s * fs)) + 2)
        self._keep_n = longest + int(round((self.max_frame_ms * 1e-3 + 1.0) * fs))
        # history (absolute index of row 0: self._base); the columns below are views of it
        self._hist: History | None = None
        self._base = 0
        self._t = np.zeros(0)
        self._acc = np.zeros((0, 3))
        self._gyr: np.ndarray | None = None
        self._flags = np.zeros(0, np.uint8)
        self._x = np.zeros((0, 3))  # the band-passed swing channels
        self._s = np.zeros(0)  # the swing signal (NaN before the first axis)
        self._axis: np.ndarray | None = None
        # markers
        self._half_sign = 0.0  # sign of the current half swing (0: not started)
        self._last_c: int | None = None  # absolute index of the last accepted crossing (or the start)
        self._peaks: deque[float] = deque(maxlen=p.peaks_count)
        self._chain: list[tuple[float, float, int, float]] = []  # (time, position, crossing index, sign)
        self._forward: dict[float, np.ndarray] = {}
        self._forward_n: dict[float, int] = {}

    # ------------------------------------------------------------------------------------------
    def _process_frame(self, frame: SampleBlock, final: bool) -> list:
        n = len(frame)
        if n == 0:
            return []
        if self._gyro is None:
            self._gyro = frame.gyr_dps is not None
            columns = [((), float), ((3,), float), ((), np.uint8), ((3,), float), ((), float)]
            self._hist = History(self._keep_n, columns + ([((3,), float)] if self._gyro else []))
        hist = self._hist
        assert hist is not None
        a0 = hist.end  # absolute index of the frame's first sample
        acc = np.asarray(frame.acc_mps2, dtype=float)
        gyr = None if frame.gyr_dps is None else np.asarray(frame.gyr_dps, dtype=float)
        if self._gyro and gyr is None:
            gyr = np.zeros_like(acc)  # a stream that loses its gyro: no swing for those samples
        flags = np.zeros(n, np.uint8) if frame.flags is None else np.asarray(frame.flags, np.uint8)
        x = self._restarting_channels(a0, acc, gyr, flags)
        s = np.full(n, np.nan)
        hist.append(frame.time_s, acc, flags, x, s, *((gyr,) if self._gyro else ()))
        self._base = hist.b0
        self._t, self._acc, self._flags, self._x, self._s = (hist.column(k) for k in range(5))
        if self._gyro:
            self._gyr = hist.column(5)
        return self._scan(a0, a0 + n)

    def _restarting_channels(self, a0: int, acc: np.ndarray, gyr: np.ndarray | None, flags: np.ndarray) -> np.ndarray:
        """The swing channels of a frame; after lost samples the filters restart from the first
        sample after the gap, and no marker is taken until they settled (``restart_s``)."""
        gaps = np.flatnonzero(flags & SampleFlag.AFTER_GAP)
        if gaps.size == 0:
            return self._swing_channels(acc, gyr)
        parts, start = [], 0
        for g in gaps.tolist():
            if g > start:
                parts.append(self._swing_channels(acc[start:g], None if gyr is None else gyr[start:g]))
            self._bp_zi = None  # restart at g
            self._gaps.append(a0 + g)
            start = g
        parts.append(self._swing_channels(acc[start:], None if gyr is None else gyr[start:]))
        return np.concatenate(parts)

    def _swing_channels(self, acc: np.ndarray, gyr: np.ndarray | None) -> np.ndarray:
        src = gyr if self._gyro else acc
        if self._bp_zi is None:  # started in the steady state of the first sample (no start-up transient)
            self._bp_zi = _steady_zi(self._sos, src[0])
            self._g_zi = _steady_zi(self._g_sos, acc[0])
        x = _filtered(self._sos, src, self._bp_zi)
        if self._gyro:
            return x
        g = _filtered(self._g_sos, acc, self._g_zi)
        norm = np.sqrt(g[:, 0] * g[:, 0] + g[:, 1] * g[:, 1] + g[:, 2] * g[:, 2])
        up = g / np.where(norm > 0, norm, 1.0)[:, None]
        along = x[:, 0] * up[:, 0] + x[:, 1] * up[:, 1] + x[:, 2] * up[:, 2]
        return x - along[:, None] * up

    def _pos(self, abs_i: int) -> int:
        return abs_i - self._base

    def _scan(self, a: int, b: int) -> list:
        """Swing signal and markers for the new samples [a, b) (absolute indices)."""
        out: list = []
        i = a
        while i < b:
            if self._gaps and self._gaps[0] == i:  # lost samples before i: the chain starts again
                self._gaps.pop(0)
                self._quiet = (i, i + self._restart_n)
                self._half_sign = 0.0
                self._chain = []
            # the next axis refresh at or after i: index r with (r + 1 - W) % E == 0, r + 1 >= W
            r = max(self._win_n - 1, i)
            r += (-(r + 1 - self._win_n)) % self._every_n
            stop = min(b, r + 1)
            if self._gaps and i < self._gaps[0] < stop:
                stop = self._gaps[0]
            if self._axis is not None:
                p0, p1 = self._pos(i), self._pos(stop)
                xs = self._x[p0:p1]
                self._s[p0:p1] = xs[:, 0] * self._axis[0] + xs[:, 1] * self._axis[1] + xs[:, 2] * self._axis[2]
                q0, q1 = max(i, self._quiet[0]), min(stop, self._quiet[1])
                if q1 > q0:  # settling after a gap: no swing signal
                    self._s[self._pos(q0) : self._pos(q1)] = np.nan
                    self._half_sign = 0.0
                out.extend(self._crossings(i, stop))
            if r < b and stop == r + 1:
                self._refresh_axis(r)
            i = stop
        return out

    def _refresh_axis(self, r: int) -> None:
        p1 = self._pos(r) + 1
        xs = np.array(self._x[p1 - self._win_n : p1])
        m = xs.sum(axis=0) / xs.shape[0]
        d = xs - m
        cov = np.empty((3, 3))
        for j in range(3):
            for k in range(j, 3):
                cov[j, k] = cov[k, j] = float((d[:, j] * d[:, k]).sum()) / xs.shape[0]
        if not np.isfinite(cov).all() or cov.trace() <= 0.0:
            return
        self._axis = principal_axis(cov, self._axis)

    def _crossings(self, a: int, b: int) -> list:
        """Accepted zero crossings among samples [a, b) (a crossing at c: between c - 1 and c)."""
        out: list = []
        s = self._s
        p0 = self._pos(a)
        lo = max(p0, 1)
        hi = self._pos(b)
        if hi <= lo:
            return out
        prev = s[lo - 1 : hi - 1]
        cur = s[lo:hi]
        with np.errstate(invalid="ignore"):
            cand = np.flatnonzero((prev * cur <= 0.0) & (prev != 0.0))
        if self._half_sign == 0.0:  # start: the signal's sign at the first valid sample
            valid = np.flatnonzero(np.isfinite(s[p0:hi]))
            if valid.size == 0:
                return out
            first = p0 + int(valid[0])
            self._half_sign = 1.0 if s[first] >= 0.0 else -1.0
            self._last_c = self._base + first
        for j in cand.tolist():
            c_pos = lo + j
            c = self._base + c_pos
            out.extend(self._candidate(c))
        return out

    def _candidate(self, c: int) -> list:
        s = self._s
        cp = self._pos(c)
        before, now = float(s[cp - 1]), float(s[cp])
        hs = self._half_sign
        if not (before * hs > 0.0 and now * hs <= 0.0):
            return []  # a wiggle back into the current half swing
        assert self._last_c is not None
        since = c - self._last_c
        if since < self._min_step_n:
            return []
        if since > self._timeout_n:
            self._peaks.clear()  # a pause: the amplitude of earlier swings no longer applies
        lp = self._pos(max(self._last_c, c - self._timeout_n))
        peak = float((s[lp:cp] * hs).max()) if cp > lp else 0.0
        p = self.p
        floor = p.min_swing_dps if self._gyro else p.min_swing_mps2
        thr = max(floor, p.hysteresis_fraction * float(np.median(self._peaks))) if self._peaks else floor
        if not peak >= thr:
            return []
        self._peaks.append(peak)
        frac = before / (before - now) if before != now else 0.0
        pos = (cp - 1) + frac
        t = float(self._t[cp - 1] + frac * (self._t[cp] - self._t[cp - 1]))
        gap = bool(np.bitwise_or.reduce(self._flags[lp + 1 : cp + 1]) & SampleFlag.AFTER_GAP) if cp > lp else False
        new_sign = -hs
        self._half_sign = new_sign
        self._last_c = c
        if self._chain and (gap or t - self._chain[-1][0] > self._max_step_s):
            self._chain = []
        self._chain.append((t, pos + self._base, c, new_sign))
        if len(self._chain) > 3:
            del self._chain[0]
        if len(self._chain) < 3:
            return []
        return [self._event()]

    def _event(self) -> ContactEvent:
        (ta, pa, _, sign_a), (tm, _, _, _), (tb, pb, cb, _) = self._chain
        i0 = int(round(pa)) - self._base
        n = int(round(pb - pa))
        i1 = min(i0 + n, self._t.shape[0])
        flag_bits = int(np.bitwise_or.reduce(self._flags[i0:i1])) if i1 > i0 else 0
        quality: set[str] = set()
        cross = swing = None
        if i1 > i0 and self._walking(self._acc[i0:i1]):
            quality.add(Q_WALKING)
        if not self._gyro:
            quality.add(Q_NO_GYRO)
        elif i1 - i0 >= 8 and self._axis is not None:
            seg_acc, seg_gyr = self._acc[i0:i1], self._gyr[i0:i1]  # type: ignore[index]
            swing = arm_swing_deg(seg_gyr, self._axis, self.fs)
            frame = StrideFrame(seg_acc, seg_gyr, self.fs)
            cross = self._arm_cross(frame, sign_a)
        for v, hi in ((cross, self.p.cross_max_cm), (swing, self.p.swing_max_deg)):
            if v is not None and not (0.0 <= v <= hi):
                quality.add(Q_IMPLAUSIBLE)
        if cross is not None or swing is not None:
            quality.add(Q_UNVALIDATED)
        return ContactEvent(
            ic_s=tb,
            to_s=tb,
            side=None,
            prev_ic_s=tm,
            stride_s=tb - ta,
            to_measured=False,
            arm_cross_cm=cross,
            arm_swing_deg=swing,
            flag_bits=flag_bits,
            quality=_qual(quality),
            emitted_s=float(self._t[self._pos(cb)]),
        )

    def _walking(self, acc: np.ndarray) -> bool:
        """The stride's |a| stays within the walking band (``walk_low_g`` .. ``walk_high_g``) all
        along: a walker's hand never leaves it, a runner's lands above it every stride and nearly
        floats in flight (hand-held phones, 2 s windows: walking 0.75-1.4 g, jogging 0.3-4 g with the
        98th percentile at 2.95 g or more; `gait.metrics.motion` draws the same line per recording)."""
        sq = acc[:, 0] * acc[:, 0] + acc[:, 1] * acc[:, 1] + acc[:, 2] * acc[:, 2]
        lo, hi = self.p.walk_low_g * GRAVITY_MPS2, self.p.walk_high_g * GRAVITY_MPS2
        return bool(float(sq.min()) > lo * lo and float(sq.max()) < hi * hi)

    def _arm_cross(self, frame: StrideFrame, turn: float) -> float | None:
        """The crossing of this stride, across the direction of travel averaged over the strides
        that start with the same turn of the swing (``turn``: the sign after the start marker)."""
        corr = impact_correlation(frame, self.p.forward_hp_hz)
        if corr is None:
            return None
        w = self.p.forward_ema_weight
        avg = self._forward.get(turn)
        avg = corr.copy() if avg is None else (1.0 - w) * avg + w * corr
        self._forward[turn] = avg
        self._forward_n[turn] = self._forward_n.get(turn, 0) + 1
        if self._forward_n[turn] < self.p.forward_min_strides_count:
            return None
        if math.sqrt(float(avg[0] * avg[0] + avg[1] * avg[1] + avg[2] * avg[2])) < self.p.forward_min_correlation:
            return None
        return arm_cross_cm(frame, avg)


def _steady_zi(sos: np.ndarray, x0: np.ndarray) -> np.ndarray:
    """State (channels, sections, 2) of a filter that has seen the constant ``x0`` forever."""
    return steady_state_zi(sos)[None, :, :] * np.asarray(x0, dtype=float)[:, None, None]


def _filtered(sos: np.ndarray, x: np.ndarray, zi: np.ndarray) -> np.ndarray:
    """The columns of ``x`` (n, channels) filtered, from and into the state ``zi`` (in place)."""
    rows = np.ascontiguousarray(x.T, dtype=float)
    sosfilt_rows(sos, rows, zi)
    return rows.T
