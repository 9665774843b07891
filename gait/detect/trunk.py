"""Trunk step detection: BodyBlock -> StepMetrics, one per ground contact.

Physics: between contacts the trunk is in free fall, its vertical specific force
f_v = a_v + g is ~0; during a contact the leg pushes and f_v rises well above g (mean over
the stance = g * step time / contact time, 1.5-2.5 g). A contact is therefore an interval
where the (lightly smoothed) f_v stays above a threshold close to free fall:

1. smooth f_v with a symmetric Hann kernel (~40 ms wide, zero phase; look-ahead 20 ms);
2. contact intervals = runs where it exceeds ``CONTACT_THRESHOLD_G`` (0.4 g, a 'near actual
   contact' level rather than the 'effective contact' 1 g level), with dips shorter than
   ``MERGE_GAP_S`` bridged; IC / TO are the sub-sample (linearly interpolated) crossings,
   shifted by small constant offsets calibrated against force plates;
3. a contact is kept if it lasts ``MIN_CONTACT_S``..``MAX_CONTACT_S`` and its f_v peak reaches
   ``MIN_PEAK_G``: standing still and walking (f_v never near free fall) give no steps.

A step is contact k plus the flight after it: [IC_k, IC_k+1). It is emitted as soon as
IC_k+1 is confirmed (the next run has lasted ``MIN_CONTACT_S``), i.e. about one flight
plus 80 ms after toe-off, or, if no contact follows within ``MAX_STEP_S``, without the
next-IC metrics (flight, VO) after that timeout.

Per step: GCT = TO-IC; flight = IC_k+1 - TO_k; cadence = 60 / step time; VO by periodic
(Fourier) double integration of a_v over the step; lean = mean tilt; impact = peak |a| in the
first 60 ms; side from the sign of the mean ML acceleration over the stance (the trunk is
pushed towards the midline, away from the stance foot), only when enabled (`SIDE_FROM_ML`,
off: not reliable across runners, see there), else None.

Streaming: every decision is taken in data time and every metric uses only the samples of
its own step, so output does not depend on how the stream was cut (the stage processes all
complete frames of a block in one call). Memory: a ring buffer of the last few seconds.
"""

from __future__ import annotations

import numpy as np

from gait.core.config import GRAVITY_MPS2
from gait.core.records import BodyBlock, StepMetrics
from gait.dsp.orientation import BatchedFramedStage
from gait.metrics.lean import mean_lean_deg
from gait.metrics.quality import step_quality
from gait.metrics.temporal import cadence_spm, duty_factor, flight_ms, gct_ms, step_time_s
from gait.metrics.vertical import vertical_ratio_pct, vo_cm

G = GRAVITY_MPS2
CONTACT_THRESHOLD_G = 0.4
MIN_PEAK_G = 1.3
MERGE_GAP_S = 0.03
MIN_CONTACT_S = 0.07
MAX_CONTACT_S = 0.6
MAX_STEP_S = 0.75
SMOOTH_HALF_S = 0.02
IMPACT_WINDOW_S = 0.06
# IC / TO: crossings of these vertical specific-force levels next to the segmentation crossings
IC_LEVEL_G = 0.0
TO_LEVEL_G = 0.0
REFINE_WINDOW_S = 0.1
# constant timing corrections (s), added to the refined crossings
IC_OFFSET_S = 0.0
TO_OFFSET_S = 0.0
SIDE_MIN_ML_MPS2 = 0.3
# Side from the sign of the stance-mean ML acceleration. Off by default: on the virtual sacrum
# sensors of four runners the rule was right for 97 % of the steps of one runner, 70 % of
# another and < 45 % of the other two (the ML acceleration of the sacrum is dominated by
# pelvis roll, whose phase is individual). A wrong side is worse than none (it corrupts
# left/right balance), so side is None until a validated rule exists.
SIDE_FROM_ML = False
BUFFER_S = 3.0

# buffer columns
_T, _FV, _AP, _ML, _NORM, _TILT, _GYR, _SV = range(8)
_NCOL = 8


def _hann_kernel(fs: float) -> np.ndarray:
    h = max(1, int(round(SMOOTH_HALF_S * fs)))
    w = np.hanning(2 * h + 3)[1:-1]  # 2h+1 taps, all > 0
    return w / w.sum()


class _Contact:
    __slots__ = ("ic_t", "to_t", "ic_i", "to_i", "peak")

    def __init__(self, ic_t: float, to_t: float, ic_i: float, to_i: float, peak: float):
        self.ic_t = ic_t
        self.to_t = to_t
        self.ic_i = ic_i  # fractional absolute sample index
        self.to_i = to_i
        self.peak = peak


class TrunkStepStage(BatchedFramedStage):
    latency_ms = 1000.0 * (MAX_STEP_S + MIN_CONTACT_S + SMOOTH_HALF_S)

    def _reset_state(self) -> None:
        self._kernel = _hann_kernel(self.fs)
        self._h = (len(self._kernel) - 1) // 2
        self._buf = np.zeros((0, _NCOL))
        self._bflags = np.zeros(0, np.uint8)
        self._b0 = 0  # absolute index of buffer row 0
        self._n_in = 0  # absolute index one past the newest sample
        self._n_sv = 0  # absolute index one past the newest smoothed sample
        self._has_gyro = False
        # run state machine (in data time)
        self._in_run = False
        self._run_start_t = 0.0
        self._run_start_i = 0.0
        self._run_peak = -np.inf
        self._run_end_t: float | None = None  # pending end (dip not yet known to be final)
        self._run_end_i = 0.0
        self._run_confirmed = False  # the run has been above threshold MIN_CONTACT_S after its start
        self._wait: _Contact | None = None  # valid contact waiting for its successor
        self._ic_t = 0.0  # refined IC of the current run (set when it is confirmed)
        self._ic_i = 0.0
        self._last_end_i: float | None = None  # coarse end of the previous run
        self._prev_ic_t: float | None = None  # IC of the previous emitted contact
        self._prev_side: str | None = None
        self._last_t = float("nan")
        self._prev_above: bool | None = None
        self._out: list[StepMetrics] = []

    # ---------------------------------------------------------------- buffer
    def _append(self, b: BodyBlock) -> None:
        n = len(b)
        rows = np.empty((n, _NCOL))
        rows[:, _T] = b.time_s
        rows[:, _FV] = b.acc_v_mps2 + G
        rows[:, _AP] = b.acc_ap_mps2
        rows[:, _ML] = b.acc_ml_mps2
        rows[:, _NORM] = b.acc_norm_mps2
        rows[:, _TILT] = b.tilt_deg
        if b.gyr_ml_dps is not None:
            self._has_gyro = True
            rows[:, _GYR] = b.gyr_ml_dps
        else:
            rows[:, _GYR] = np.nan
        rows[:, _SV] = np.nan
        self._buf = np.concatenate([self._buf, rows])
        self._bflags = np.concatenate([self._bflags, b.flags.astype(np.uint8)])
        self._n_in += n

    def _trim(self) -> None:
        keep_from = self._n_in - int(BUFFER_S * self.fs)
        needed = [self._n_sv - self._h - 2]
        if self._wait is not None:
            needed.append(int(np.floor(self._wait.ic_i)) - 2)
        if self._in_run or self._run_end_t is not None:
            needed.append(int(np.floor(self._run_start_i)) - 2)
        keep_from = max(self._b0, min([keep_from, *needed]))
        # hard bound: never more than 2 * BUFFER_S (a run that never ends is not a contact)
        keep_from = max(keep_from, self._n_in - int(2 * BUFFER_S * self.fs))
        cut = keep_from - self._b0
        if cut > 0:
            self._buf = self._buf[cut:]
            self._bflags = self._bflags[cut:]
            self._b0 = keep_from

    def _smooth_new(self, final: bool) -> tuple[int, int]:
        """Smooth f_v where the whole kernel is available; returns the new absolute range."""
        h = self._h
        lo = self._n_sv
        hi = self._n_in if final else self._n_in - h
        if hi <= lo:
            return lo, lo
        fv = self._buf[:, _FV]
        # pad at the stream start / end by edge values
        a = lo - self._b0 - h
        b = hi - self._b0 + h
        pre = max(0, -a)
        post = max(0, b - fv.shape[0])
        seg = fv[max(a, 0) : min(b, fv.shape[0])]
        if pre or post:
            seg = np.concatenate([np.full(pre, seg[0]), seg, np.full(post, seg[-1])])
        m = hi - lo
        out = np.zeros(m)
        for j, w in enumerate(self._kernel):  # few taps; each output is the same float sum
            out += w * seg[j : j + m]
        self._buf[lo - self._b0 : hi - self._b0, _SV] = out
        self._n_sv = hi
        return lo, hi

    # ---------------------------------------------------------------- stage API
    def _process_frame(self, frame: BodyBlock, final: bool) -> list:
        if len(frame):
            self._append(frame)
            self._last_t = float(frame.time_s[-1])
        lo, hi = self._smooth_new(final)
        if hi > lo:
            self._scan(lo, hi)
        out, self._out = self._out, []
        self._trim()
        return out

    def _finish(self) -> list:
        # end of stream: smooth what the look-ahead held back, then a pending run end is
        # final and a pending contact has no successor
        lo, hi = self._smooth_new(True)
        if hi > lo:
            self._scan(lo, hi)
        if self._run_end_t is not None:
            self._finalize_run()
        elif self._in_run and self._run_confirmed:
            pass  # a contact cut by the end of the stream: no toe-off, not reported
        if self._wait is not None:
            self._emit(self._wait, None, None)
            self._wait = None
        out, self._out = self._out, []
        return out

    # ---------------------------------------------------------------- detection
    def _scan(self, lo: int, hi: int) -> None:
        thr = CONTACT_THRESHOLD_G * G
        r0 = lo - self._b0
        r1 = hi - self._b0
        sv = self._buf[:, _SV]
        t = self._buf[:, _T]
        above = sv[r0:r1] > thr
        prev = np.empty_like(above)
        prev[1:] = above[:-1]
        # at the stream start there is no previous sample: no crossing at the first sample
        prev[0] = above[0] if self._prev_above is None else self._prev_above
        self._prev_above = bool(above[-1])
        for c in np.nonzero(above != prev)[0]:
            j = r0 + int(c)  # buffer row of the first sample on the new side
            x0, x1 = sv[j - 1], sv[j]
            frac = (thr - x0) / (x1 - x0) if x1 != x0 else 0.0
            tc = float(t[j - 1] + frac * (t[j] - t[j - 1]))
            ic = self._b0 + j - 1 + frac
            self._advance(tc)
            if above[c]:
                self._on_up(tc, ic)
            else:
                self._on_down(tc, ic)
        self._advance(float(t[r1 - 1]))

    def _on_up(self, tc: float, ic: float) -> None:
        if self._run_end_t is not None and tc - self._run_end_t < MERGE_GAP_S:
            self._run_end_t = None  # a short dip inside a contact: bridge it
            self._in_run = True
            return
        if self._run_end_t is not None:
            self._finalize_run()
        self._in_run = True
        self._run_start_t = tc
        self._run_start_i = ic
        self._run_peak = -np.inf
        self._run_confirmed = False

    def _on_down(self, tc: float, ic: float) -> None:
        if not self._in_run:
            return  # stream started above the threshold: no IC known
        # peak up to here
        s = int(np.ceil(self._run_start_i)) - self._b0
        e = int(np.floor(ic)) - self._b0 + 1
        if e > s:
            self._run_peak = max(self._run_peak, float(np.max(self._buf[max(s, 0) : e, _SV])))
        if tc - self._run_start_t >= MIN_CONTACT_S:
            self._confirm_run()
        self._in_run = False
        self._run_end_t = tc
        self._run_end_i = ic

    def _advance(self, tnow: float) -> None:
        """Time-driven transitions up to data time ``tnow`` (no crossing in between)."""
        if self._in_run and not self._run_confirmed and tnow - self._run_start_t >= MIN_CONTACT_S:
            self._confirm_run()
        if self._run_end_t is not None and tnow - self._run_end_t >= MERGE_GAP_S:
            self._finalize_run()
        p = self._wait
        if p is not None and tnow - p.ic_t >= MAX_STEP_S:
            run_open = self._in_run or self._run_end_t is not None
            if not (run_open and self._run_start_t <= p.ic_t + MAX_STEP_S):
                self._emit(p, None, None)
                self._wait = None

    def _confirm_run(self) -> None:
        if self._run_confirmed:
            return
        self._run_confirmed = True
        self._ic_t, self._ic_i = self._refine_ic(self._run_start_t, self._run_start_i)
        p = self._wait
        if p is not None:
            if self._ic_t - p.ic_t <= MAX_STEP_S:
                self._emit(p, self._ic_t, self._run_start_i)
            else:
                self._emit(p, None, None)
            self._wait = None

    def _finalize_run(self) -> None:
        assert self._run_end_t is not None
        start_t, end_t = self._run_start_t, self._run_end_t
        dur = end_t - start_t
        ok = MIN_CONTACT_S <= dur <= MAX_CONTACT_S and self._run_peak >= MIN_PEAK_G * G
        self._run_end_t = None
        self._in_run = False
        if ok and self._run_confirmed:
            if self._wait is not None:  # cannot happen (confirmation emits it); be safe
                self._emit(self._wait, None, None)
            self._wait = _Contact(self._ic_t, end_t, self._ic_i, self._run_end_i, self._run_peak)
        self._last_end_i = self._run_end_i

    # ---------------------------------------------------------------- metrics
    def _interp(self, j: int, level: float) -> tuple[float, float]:
        """Crossing of ``level`` between buffer rows j-1 and j: (time, absolute fractional index)."""
        sv = self._buf[:, _SV]
        t = self._buf[:, _T]
        x0, x1 = sv[j - 1], sv[j]
        frac = (level - x0) / (x1 - x0) if x1 != x0 else 0.0
        frac = min(max(frac, 0.0), 1.0)
        return float(t[j - 1] + frac * (t[j] - t[j - 1])), self._b0 + j - 1 + frac

    def _nearest_crossing(self, lo: int, hi: int, level: float, rising: bool, near_i: float) -> tuple[float, float] | None:
        """The crossing of ``level`` (rising or falling) in buffer rows [lo, hi) closest to ``near_i``."""
        sv = self._buf[:, _SV]
        lo = max(lo, 1)
        hi = min(hi, self._n_sv - self._b0)
        if hi - lo < 1:
            return None
        above = sv[lo - 1 : hi] >= level
        if rising:
            js = np.nonzero(above[1:] & ~above[:-1])[0] + lo
        else:
            js = np.nonzero(~above[1:] & above[:-1])[0] + lo
        if js.size == 0:
            return None
        j = int(js[np.argmin(np.abs(js + self._b0 - near_i))])
        return self._interp(j, level)

    def _refine_ic(self, coarse_t: float, coarse_i: float) -> tuple[float, float]:
        """The rising crossing of IC_LEVEL_G next to the coarse (segmentation) crossing."""
        w = int(REFINE_WINDOW_S * self.fs)
        r = int(np.floor(coarse_i)) - self._b0 + 1
        lo = r - w
        if self._last_end_i is not None:
            lo = max(lo, int(np.floor(self._last_end_i)) - self._b0 + 2)
        found = self._nearest_crossing(lo, r + w, IC_LEVEL_G * G, True, coarse_i)
        if found is None:
            return coarse_t, coarse_i
        t, i = found
        return t + IC_OFFSET_S, i + IC_OFFSET_S * self.fs

    def _refine_to(self, c: _Contact, limit_i: float | None) -> tuple[float, float]:
        """The falling crossing of TO_LEVEL_G next to the coarse (segmentation) crossing."""
        w = int(REFINE_WINDOW_S * self.fs)
        r = int(np.floor(c.to_i)) - self._b0 + 1
        hi = r + w
        if limit_i is not None:
            hi = min(hi, int(np.floor(limit_i)) - self._b0)
        lo = max(r - w, int(np.ceil(c.ic_i)) - self._b0 + 1)
        found = self._nearest_crossing(lo, hi, TO_LEVEL_G * G, False, c.to_i)
        if found is None:
            return c.to_t, c.to_i
        t, i = found
        return t + TO_OFFSET_S, i + TO_OFFSET_S * self.fs

    def _emit(self, c: _Contact, next_ic: float | None, next_start_i: float | None) -> None:
        fs = self.fs
        next_start_i_refined = self._ic_i if next_ic is not None else None
        to_t, to_i = self._refine_to(c, next_start_i)
        if to_t <= c.ic_t:
            to_t, to_i = c.to_t, c.to_i
        c = _Contact(c.ic_t, to_t, c.ic_i, to_i, c.peak)
        g_ms = gct_ms(c.ic_t, c.to_t)
        step_s = step_time_s(c.ic_t, next_ic)
        if step_s is None and self._prev_ic_t is not None and c.ic_t - self._prev_ic_t <= MAX_STEP_S:
            cad_step = c.ic_t - self._prev_ic_t
        else:
            cad_step = step_s
        cad = cadence_spm(cad_step)
        fl = flight_ms(c.to_t, next_ic)
        vo = None
        if step_s is not None:
            i0 = int(round(c.ic_i - self._b0))
            n = int(round(step_s * fs))
            a = self._buf[max(i0, 0) : i0 + n, _FV] - G
            if i0 >= 0 and a.shape[0] == n:
                vo = vo_cm(a, n / fs)
        b0 = self._b0
        r_ic = int(np.ceil(c.ic_i)) - b0
        r_to = int(np.ceil(c.to_i)) - b0
        r_next = int(np.ceil(next_start_i_refined)) - b0 if next_start_i_refined is not None else r_to
        span = slice(max(r_ic, 0), max(r_next, r_ic, 0))
        stance = slice(max(r_ic, 0), max(r_to, r_ic, 0))
        impact = slice(max(r_ic, 0), max(r_ic + int(np.ceil(IMPACT_WINDOW_S * fs)), 0))
        lean = mean_lean_deg(self._buf[span, _TILT])
        impact_g = float(np.max(self._buf[impact, _NORM]) / G) if impact.stop > impact.start else None
        side = None
        ml = self._buf[stance, _ML]
        if SIDE_FROM_ML and ml.size:
            m = float(np.mean(ml))
            if abs(m) >= SIDE_MIN_ML_MPS2:
                side = "left" if m > 0 else "right"
        flags = self._bflags[span]
        quality = step_quality(flags, fs, gct_ms=g_ms, vo_cm=vo, cadence_spm=cad, flight_ms=fl)
        self._out.append(
            StepMetrics(
                ic_s=float(c.ic_t),
                to_s=float(c.to_t),
                side=side,
                gct_ms=float(g_ms),
                flight_ms=None if fl is None else float(fl),
                cadence_spm=None if cad is None else float(cad),
                vo_cm=vo,
                vertical_ratio_pct=vertical_ratio_pct(vo, self.config.speed_mps, step_s),
                fsa_deg=None,
                strike=None,
                lean_deg=lean,
                impact_g=impact_g,
                duty_factor=duty_factor(g_ms, cad_step),
                quality=quality,
                emitted_s=self._last_t,
            )
        )
        self._prev_ic_t = c.ic_t
        self._prev_side = side
