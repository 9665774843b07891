"""Trunk step detection: BodyBlock -> StepMetrics, one per ground contact.

Physics: between contacts the trunk is in free fall, its vertical specific force
f_v = a_v + g is ~0; during a contact the leg pushes and f_v rises well above g (mean over
the stance = g * step time / contact time, 1.5-2.5 g). A contact is therefore an interval
where the (lightly smoothed) f_v stays above a threshold close to free fall:

1. smooth f_v with a symmetric Hann kernel (~40 ms wide, zero phase; look-ahead 20 ms);
2. segmentation: runs where it exceeds ``CONTACT_THRESHOLD_G`` (0.4 g), with dips shorter
   than ``MERGE_GAP_S`` bridged;
3. a run is a contact if it lasts ``MIN_CONTACT_S``..``MAX_CONTACT_S`` and its f_v peak reaches
   ``MIN_PEAK_G``: standing still and walking (f_v never near free fall) give no steps;
4. IC / TO = the sub-sample (interpolated) crossings, next to the segmentation crossings, of
   a level read from the data. In flight the trunk's f_v sits at a flat *flight level*, a little
   below free fall (pelvis rotation: RBDS -0.16 / -0.36 g), and leaves it the moment the foot
   loads (force truth: f_v at IC and TO = flight level + 0.1 g); the level is the flight level
   (exponential average over contacts of the median of f_v between two contacts) plus
   ``FLIGHT_MARGIN_G``, within ``MIN_LEVEL_G`` .. ``HIGH_LEVEL_G``. A flight that is not flat
   (median more than ``FLAT_FLIGHT_G`` above its minimum: a rotating or loosely worn sensor,
   e.g. a waist belt) is no reference: there the level blends to the free-fall level, 0 g.
   Some recordings never show free fall (heavily low-passed, or with negative values cut to
   0 like the Alcantara data): there a crossing near the flight level is meaningless, and the
   level is raised to ``HIGH_LEVEL_G`` (0.5 g). Which case applies is read from the flight
   floor (average f_v minimum in the ``FLOOR_WINDOW_S`` before each run): at or below
   ``FLOOR_FREE_FALL_G`` the flight-level rule, at or above ``FLOOR_NO_DIP_G`` the high level,
   linear in between.
5. Left/right alternation: a sensor off the body's midline (a belt on the side of the hip) sees
   the two feet's contacts differently: on the real outdoor waist recording every other
   contact came out 80 ms wider, starting 40 ms earlier and ending 40 ms later, so step times
   alternated 340 / 420 ms and contact times 250 / 330 ms, while the contact *centres* were
   regular (their step times alternate by < 1 %). The stage keeps, per foot (every other
   contact; the feet need not be known), exponential averages of the contact width and of the
   step time that starts with the contact, and removes the alternating part of the IC and TO
   times beyond a physiological asymmetry (``ALT_IC_FREE_S``, ``ALT_WIDTH_FREE_S``: the
   force-truth runners alternate by <= 4 % of a stride). The averages restart after a break.
   ``ALT_CORRECTION`` (default True) turns the correction off.

   LIMITATION: the correction cannot tell a sensor artefact from a real left/right asymmetry.
   Any alternating IC offset or contact-width difference beyond +-4 ms is removed, so with the
   correction on, trunk-derived left/right balance of contact time (and of step time) can
   never show a real asymmetry larger than about +-4 ms per contact (+-8 ms in contact time,
   +-16 ms in step time), however large the runner's real asymmetry is (e.g. after an injury).
   Use a foot pod (one per foot, or one foot against the stride time) to measure asymmetry;
   treat trunk-derived balance as "no information beyond a few ms". With the correction off,
   a midline sensor (sacrum) keeps real asymmetry, but a sensor off the midline (belt on the
   hip) shows its own, larger, artefact as asymmetry (on the real waist run: contact times
   250 / 330 ms alternating, see above).

A step is contact k plus the flight after it: [IC_k, IC_k+1). It is emitted as soon as
IC_k+1 is confirmed (the next run has lasted ``MIN_CONTACT_S``), i.e. about one flight
plus 80 ms after toe-off, or, if no contact follows within ``MAX_STEP_S``, without the
next-IC metrics (flight, VO) after that timeout.

Per step (IC, TO after step 5): GCT = TO-IC; flight = IC_k+1 - TO_k; cadence = 60 / step
time; VO by periodic (Fourier) double integration of a_v over the measured step; lean = mean tilt; impact = peak |a| in the
first 60 ms. Side: from the gyro's roll rate just after IC (`SIDE_FROM_GYRO`); None without a
gyro (the ML acceleration is no reliable witness: `SIDE_FROM_ML`).

Streaming, frame-size invariant: every decision is taken at a sample index fixed by the data
(a threshold crossing, a crossing plus a fixed number of samples) and reads only samples in
windows fixed by sample indices that end at or before that index. The stage reacts to a
decision when the frame that contains its index is processed, whatever the frame size, so the
records depend only on the samples. History: a buffer of ``KEEP_S`` behind the newest smoothed
sample (no decision reaches further back) plus one frame.
"""

from __future__ import annotations

import math

import numpy as np

from gait.core.config import GRAVITY_MPS2
from gait.core.records import BodyBlock, StepMetrics
from gait.dsp.stage import FramedStage
from gait.metrics.lean import mean_lean_deg
from gait.metrics.quality import BIT_AP_UNKNOWN as AP_UNKNOWN_BIT
from gait.metrics.quality import step_quality_bits
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
REFINE_WINDOW_S = 0.1
# IC / TO level (see the module docstring)
FREE_FALL_LEVEL_G = 0.0  # before any flight floor is known
HIGH_LEVEL_G = 0.5
MIN_LEVEL_G = -0.3
FLIGHT_MARGIN_G = 0.08
FLAT_FLIGHT_G = 0.15  # flight median - flight minimum below this: a flat flight
FLAT_BLEND_G = 0.1
FLOOR_FREE_FALL_G = -0.25
FLOOR_NO_DIP_G = 0.0
FLOOR_WINDOW_S = 0.25
FLOOR_EMA = 0.2  # weight of the newest contact in the flight-floor average
# Alternating timing bias (see the module docstring, "Left/right alternation"; it also caps the
# left/right asymmetry a trunk sensor can report). False: IC / TO as measured.
ALT_CORRECTION = True
ALT_EMA = 0.25  # weight of the newest contact in its foot's average
ALT_IC_FREE_S = 0.004  # alternating IC offset kept as it is (real asymmetry), s
ALT_WIDTH_FREE_S = 0.004  # alternating half-width difference kept as it is, s
# Side from the sign of the stance-mean ML acceleration. Off: on the virtual sacrum sensors
# of four runners the rule was right for 97 % of the steps of one runner, 70 % of another and
# < 45 % of the other two (the ML acceleration of the sacrum is dominated by pelvis roll, whose
# phase is individual). A wrong side is worse than none, so side is None.
SIDE_FROM_ML = False
SIDE_MIN_ML_MPS2 = 0.3
# Side from the gyro: the trunk's roll rate (about the forward axis) in the first
# ``SIDE_WINDOW_S`` after IC is positive on left contacts and negative on right ones (virtual
# sacrum sensors, RBDS and RIC, 4 runners: 97-100 % of the steps of every recording). Needs a
# known forward direction; below ``SIDE_MIN_ROLL_DPS`` no side.
SIDE_FROM_GYRO = True
SIDE_WINDOW_S = 0.1
SIDE_MIN_ROLL_DPS = 2.0
# no decision reads further back than this behind the newest smoothed sample
KEEP_S = MAX_STEP_S + MIN_CONTACT_S + REFINE_WINDOW_S + FLOOR_WINDOW_S + 0.2

# buffer columns
_T, _FV, _ML, _NORM, _TILT, _SV, _ROLL = range(7)
_NCOL = 7


def _hann_kernel(fs: float) -> np.ndarray:
    h = max(1, int(round(SMOOTH_HALF_S * fs)))
    w = np.hanning(2 * h + 3)[1:-1]  # 2h+1 taps, all > 0
    return w / w.sum()


def _shrink(x: float, free: float) -> float:
    """Soft threshold: the part of ``x`` beyond +/- ``free``."""
    return math.copysign(max(abs(x) - free, 0.0), x)


def level_from_floor_g(floor_g: float, flight_g: float | None = None) -> float:
    """IC/TO level (g) from the typical flight minimum (``floor_g``) and the typical flight level
    (``flight_g``, median of f_v over a flight; the floor when not given) of f_v.

    Free fall visible (floor <= ``FLOOR_FREE_FALL_G``): ``FLIGHT_MARGIN_G`` above the flight level
    (the trunk leaves its flight level the moment the foot loads), within ``MIN_LEVEL_G`` ..
    ``HIGH_LEVEL_G``. No dip (floor >= ``FLOOR_NO_DIP_G``, e.g. data clipped at 0):
    ``HIGH_LEVEL_G``. Linear in the floor in between."""
    flight = floor_g if flight_g is None else flight_g
    free = min(max(flight + FLIGHT_MARGIN_G, MIN_LEVEL_G), HIGH_LEVEL_G)
    # a flight that is not flat (sensor rotation, a loose mount): its level is no reference
    y = (flight - floor_g - FLAT_FLIGHT_G) / FLAT_BLEND_G
    y = min(max(y, 0.0), 1.0)
    free = free + y * (FREE_FALL_LEVEL_G - free)
    if floor_g <= FLOOR_FREE_FALL_G:
        return free
    if floor_g >= FLOOR_NO_DIP_G:
        return HIGH_LEVEL_G
    x = (floor_g - FLOOR_FREE_FALL_G) / (FLOOR_NO_DIP_G - FLOOR_FREE_FALL_G)
    return free + x * (HIGH_LEVEL_G - free)


class _Contact:
    __slots__ = ("ic_t", "ic_i", "start_i", "end_t", "end_i", "peak", "level")

    def __init__(self, ic_t, ic_i, start_i, end_t, end_i, peak, level):
        self.ic_t = ic_t  # refined IC (time, fractional absolute index)
        self.ic_i = ic_i
        self.start_i = start_i  # segmentation crossings
        self.end_t = end_t
        self.end_i = end_i
        self.peak = peak
        self.level = level  # IC / TO level (m/s^2)


class TrunkStepStage(FramedStage):
    latency_ms = 1000.0 * (MAX_STEP_S + MIN_CONTACT_S + SMOOTH_HALF_S)

    def _reset_state(self) -> None:
        fs = self.fs
        self._kernel = _hann_kernel(fs)
        self._h = (len(self._kernel) - 1) // 2
        self._keep = int(math.ceil(KEEP_S * fs)) + 2 * self._h + 4
        self._cap = self._keep + self.frame_len + 2 * self._h + 16
        self._buf = np.zeros((_NCOL, self._cap))  # one contiguous row per column
        self._bflags = np.zeros(self._cap, np.uint8)
        self._len = 0  # valid rows
        self._b0 = 0  # absolute index of buffer row 0
        self._n_in = 0  # absolute index one past the newest sample
        self._n_sv = 0  # absolute index one past the newest smoothed sample
        self._minc = MIN_CONTACT_S * fs  # durations in samples
        self._merge = MERGE_GAP_S * fs
        self._maxc = MAX_CONTACT_S * fs
        self._maxstep = MAX_STEP_S * fs
        self._w = int(REFINE_WINDOW_S * fs)
        self._fw = int(FLOOR_WINDOW_S * fs)
        self._imp_n = int(math.ceil(IMPACT_WINDOW_S * fs))
        self._side_n = int(round(SIDE_WINDOW_S * fs))
        # run state machine (fractional absolute indices of threshold crossings)
        self._prev_above: bool | None = None
        self._in_run = False
        self._run_start_i = 0.0
        self._run_end_i: float | None = None  # pending end (dip not yet known to be final)
        self._run_end_t = 0.0
        self._run_confirmed = False
        self._run_ic: tuple[float, float] | None = None  # refined IC of the current run
        self._run_level = 0.0
        self._last_end_i: float | None = None  # end crossing of the previous run
        self._wait: _Contact | None = None  # valid contact waiting for its successor
        self._floor: float | None = None  # flight floor average (m/s^2)
        self._flight: float | None = None  # flight level (median) average (m/s^2)
        self._prev_ic_t: float | None = None  # reported IC of the previous step
        self._prev_raw_ic: float | None = None  # measured IC (s) of the previous contact
        # per-foot averages, (previous contact's foot, the other foot): width and step time (s)
        self._alt: tuple | None = None
        self._last_t = float("nan")
        self._out: list[StepMetrics] = []

    # ---------------------------------------------------------------- buffer
    def _append(self, b: BodyBlock) -> None:
        n = len(b)
        if self._len + n > self._cap:
            self._compact(n)
        r = slice(self._len, self._len + n)
        buf = self._buf
        buf[_T, r] = b.time_s
        np.add(b.acc_v_mps2, G, out=buf[_FV, r])
        buf[_ML, r] = b.acc_ml_mps2
        buf[_NORM, r] = b.acc_norm_mps2
        buf[_TILT, r] = b.tilt_deg
        buf[_ROLL, r] = np.nan if b.gyr_ap_dps is None else b.gyr_ap_dps
        self._bflags[r] = b.flags
        self._len += n
        self._n_in += n

    def _compact(self, n: int) -> None:
        keep_from = max(self._b0, self._n_sv - self._h - self._keep)
        cut = keep_from - self._b0
        need = self._len - cut + n
        if need > self._cap:  # a frame longer than planned (flush of a long tail)
            self._cap = need + self._keep
            buf = np.zeros((_NCOL, self._cap))
            fl = np.zeros(self._cap, np.uint8)
            buf[:, : self._len - cut] = self._buf[:, cut : self._len]
            fl[: self._len - cut] = self._bflags[cut : self._len]
            self._buf, self._bflags = buf, fl
        elif cut > 0:
            self._buf[:, : self._len - cut] = self._buf[:, cut : self._len]
            self._bflags[: self._len - cut] = self._bflags[cut : self._len]
        self._len -= cut
        self._b0 = keep_from

    def _smooth_new(self, final: bool) -> tuple[int, int]:
        """Smooth f_v where the whole kernel is available; returns the new absolute range."""
        h = self._h
        lo = self._n_sv
        hi = self._n_in if final else self._n_in - h
        if hi <= lo:
            return lo, lo
        fv = self._buf[_FV, : self._len]
        a = lo - self._b0 - h
        b = hi - self._b0 + h
        pre = max(0, h - lo)  # before the first sample of the stream
        post = max(0, b - self._len)
        seg = fv[max(a, 0) : min(b, self._len)]
        if pre or post:  # stream start / end: edge values
            seg = np.concatenate([np.full(pre, seg[0]), seg, np.full(post, seg[-1])])
        m = hi - lo
        out = np.zeros(m)
        for j, w in enumerate(self._kernel):  # each output is the same float sum however framed
            out += w * seg[j : j + m]
        self._buf[_SV, lo - self._b0 : hi - self._b0] = out
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
        return out

    def _finish(self) -> list:
        lo, hi = self._smooth_new(True)
        if hi > lo:
            self._scan(lo, hi)
        if self._run_end_i is not None:
            self._finalize_run()
        if self._wait is not None:
            self._emit(self._wait, None, self._n_sv - 1)
            self._wait = None
        out, self._out = self._out, []
        return out

    # ---------------------------------------------------------------- detection
    def _scan(self, lo: int, hi: int) -> None:
        thr = CONTACT_THRESHOLD_G * G
        r0 = lo - self._b0
        r1 = hi - self._b0
        sv = self._buf[_SV]
        above = sv[r0:r1] > thr
        prev = np.empty_like(above)
        prev[1:] = above[:-1]
        prev[0] = above[0] if self._prev_above is None else self._prev_above
        self._prev_above = bool(above[-1])
        for c in np.nonzero(above != prev)[0].tolist():
            j = r0 + c  # buffer row of the first sample on the new side
            x0 = float(sv[j - 1])
            x1 = float(sv[j])
            frac = (thr - x0) / (x1 - x0) if x1 != x0 else 0.0
            ci = self._b0 + j - 1 + frac
            self._advance(ci)
            if x1 > thr:
                self._on_up(ci)
            else:
                self._on_down(ci)
        self._advance(float(hi - 1))

    def _time_at(self, i: float) -> float:
        """Time at a fractional absolute index (interpolated between samples)."""
        r = i - self._b0
        j = min(max(int(math.floor(r)), 0), self._len - 2)
        f = r - j
        t = self._buf[_T]
        return float(t[j] + f * (t[j + 1] - t[j]))

    def _on_up(self, ci: float) -> None:
        if self._run_end_i is not None and ci - self._run_end_i < self._merge:
            self._run_end_i = None  # a short dip inside a contact: bridge it
            self._in_run = True
            return
        if self._run_end_i is not None:
            self._finalize_run()
        self._in_run = True
        self._run_start_i = ci
        self._run_confirmed = False
        self._run_ic = None

    def _on_down(self, ci: float) -> None:
        if not self._in_run:
            return  # stream started above the threshold: no IC known
        self._in_run = False
        self._run_end_i = ci
        self._run_end_t = self._time_at(ci)

    def _advance(self, k: float) -> None:
        """Transitions triggered at data-fixed indices up to index ``k`` (no crossing in between)."""
        if (self._in_run or self._run_end_i is not None) and not self._run_confirmed:
            trig = self._run_start_i + self._minc
            end = self._run_end_i if self._run_end_i is not None else math.inf
            if end >= trig and k >= trig:
                self._confirm_run(trig)
        if self._run_end_i is not None and k >= self._run_end_i + self._merge:
            self._finalize_run()
        p = self._wait
        if p is not None and k >= p.ic_i + self._maxstep:
            run_open = self._in_run or self._run_end_i is not None
            if not (run_open and self._run_start_i <= p.ic_i + self._maxstep):
                self._emit(p, None, p.ic_i + self._maxstep)
                self._wait = None

    def _confirm_run(self, trig: float) -> None:
        """The current run has lasted MIN_CONTACT_S: decided at index ``trig``."""
        self._run_confirmed = True
        s = self._run_start_i
        # flight floor: minimum of the smoothed f_v in the window before the run
        r = int(math.floor(s)) - self._b0
        lo = r - self._fw
        if self._last_end_i is not None:
            lo = max(lo, int(math.ceil(self._last_end_i)) - self._b0)
        lo = max(lo, 0)
        if r > lo:
            seg = sorted(self._buf[_SV, lo : r + 1].tolist())  # a few dozen values: cheap
            fl = seg[0]
            md = seg[len(seg) // 2]
            if self._floor is None or self._flight is None:
                self._floor, self._flight = fl, md
            else:
                self._floor = (1 - FLOOR_EMA) * self._floor + FLOOR_EMA * fl
                self._flight = (1 - FLOOR_EMA) * self._flight + FLOOR_EMA * md
        if self._floor is not None and self._flight is not None:
            level_g = level_from_floor_g(self._floor / G, self._flight / G)
        else:
            level_g = FREE_FALL_LEVEL_G
        self._run_level = level_g * G
        # IC: the rising crossing of the level next to the segmentation crossing, looking back
        lo_ic = r - self._w
        if self._last_end_i is not None:
            lo_ic = max(lo_ic, int(math.floor(self._last_end_i)) - self._b0 + 2)
        found = self._crossing(s, self._run_level, True, lo_ic, int(math.floor(trig)) - self._b0 + 1)
        self._run_ic = found if found is not None else (self._time_at(s), s)
        p = self._wait
        if p is not None:
            ic_t, ic_i = self._run_ic
            if ic_i - p.ic_i <= self._maxstep:
                self._emit(p, (ic_t, ic_i), trig)
            else:
                self._emit(p, None, trig)
            self._wait = None

    def _finalize_run(self) -> None:
        assert self._run_end_i is not None
        dur = self._run_end_i - self._run_start_i
        if self._minc <= dur <= self._maxc and self._run_confirmed and self._run_ic is not None:
            # the run's peak: the rows above the threshold lie between its two crossings
            r0 = max(int(math.floor(self._run_start_i)) + 1 - self._b0, 0)
            r1 = int(math.floor(self._run_end_i)) + 1 - self._b0
            peak = float(self._buf[_SV, r0:r1].max()) if r1 > r0 else -math.inf
            if peak >= MIN_PEAK_G * G:
                ic_t, ic_i = self._run_ic
                self._wait = _Contact(
                    ic_t, ic_i, self._run_start_i, self._run_end_t, self._run_end_i, peak, self._run_level
                )
        self._last_end_i = self._run_end_i
        self._run_end_i = None
        self._in_run = False

    # ---------------------------------------------------------------- metrics
    def _crossing(self, start_i: float, level: float, rising: bool, lo: int, hi: int):
        """The crossing of ``level`` (rising or falling) contiguous with the segmentation crossing
        at ``start_i``: walk from the first sample after it towards where the level is, within
        buffer rows [lo, hi). (time, absolute fractional index), or None."""
        lo = max(lo, 1)
        hi = min(hi, self._n_sv - self._b0)
        j = int(math.floor(start_i)) - self._b0 + 1
        if not (lo <= j < hi):
            return None
        sv = self._buf[_SV, lo - 1 : hi].tolist()  # python floats: cheap element access
        k = j - lo + 1  # position of row j in sv
        if (sv[k] >= level) == rising:  # already past the level: walk back
            while k - 1 >= 1 and (sv[k - 1] >= level) == rising:
                k -= 1
            if (sv[k - 1] >= level) == rising:
                return None
        else:  # not yet at the level: walk on
            n = len(sv)
            while k < n and (sv[k] >= level) != rising:
                k += 1
            if k >= n:
                return None
        j = k + lo - 1
        x0, x1 = sv[k - 1], sv[k]
        frac = (level - x0) / (x1 - x0) if x1 != x0 else 0.0
        frac = min(max(frac, 0.0), 1.0)
        t = self._buf[_T]
        return float(t[j - 1] + frac * (t[j] - t[j - 1])), self._b0 + j - 1 + frac

    def _alternation(self, ic_s: float, to_s: float, next_ic_s: float | None) -> tuple[float, float, float]:
        """IC and TO with their alternating (period: two steps) bias removed beyond a physiological
        asymmetry; returns (ic, to, shift of the next contact's IC)."""
        if not ALT_CORRECTION:
            return ic_s, to_s, 0.0
        width = to_s - ic_s
        step = None if next_ic_s is None else next_ic_s - ic_s
        cont = self._prev_raw_ic is not None and ic_s - self._prev_raw_ic <= MAX_STEP_S
        self._prev_raw_ic = ic_s
        st = self._alt if cont else None

        def ema(old: float | None, new: float | None) -> float | None:
            if old is None:
                return new
            if new is None:
                return old
            return old + ALT_EMA * (new - old)

        if st is None:
            self._alt = (width, None, step, None)
            return ic_s, to_s, 0.0
        w_this, w_other = ema(st[1], width), st[0]
        s_this, s_other = ema(st[3], step), st[2]
        self._alt = (w_this, w_other, s_this, s_other)
        a = 0.0  # this contact's IC offset from the stride-regular time
        if s_this is not None and s_other is not None:
            a = _shrink(-(s_this - s_other) / 4.0, ALT_IC_FREE_S)
        ba = 0.0  # this contact's half-width excess (TO offset minus IC offset)
        if w_this is not None and w_other is not None:
            ba = _shrink((w_this - w_other) / 2.0, ALT_WIDTH_FREE_S)
        return ic_s - a, to_s - (a + ba), a

    def _emit(self, c: _Contact, nxt: tuple[float, float] | None, trig: float) -> None:
        """Metrics of contact ``c``, decided at index ``trig``: reads rows <= trig only."""
        fs = self.fs
        b0 = self._b0
        lim = int(math.floor(trig)) - b0 + 1
        # TO: the falling crossing of the contact's level next to the segmentation crossing
        r = int(math.floor(c.end_i)) - b0 + 1
        hi = min(r + self._w, lim)
        if nxt is not None:
            hi = min(hi, int(math.floor(nxt[1])) - b0)
        lo = max(r - self._w, int(math.ceil(c.ic_i)) - b0 + 1)
        found = self._crossing(c.end_i, c.level, False, lo, hi)
        to_t, to_i = found if found is not None else (c.end_t, c.end_i)
        if to_t <= c.ic_t:
            to_t, to_i = c.end_t, c.end_i
        ic_out, to_out, alt_ic = self._alternation(c.ic_t, to_t, nxt[0] if nxt is not None else None)
        # the next contact belongs to the other foot: its IC moves the other way
        next_ic = nxt[0] + alt_ic if nxt is not None else None
        g_ms = gct_ms(ic_out, to_out)
        step_s = step_time_s(ic_out, next_ic)
        if step_s is None and self._prev_ic_t is not None and ic_out - self._prev_ic_t <= MAX_STEP_S:
            cad_step = ic_out - self._prev_ic_t
        else:
            cad_step = step_s
        cad = cadence_spm(cad_step)
        fl = flight_ms(to_out, next_ic)
        buf = self._buf
        vo = None
        raw_step_s = step_time_s(c.ic_t, nxt[0] if nxt is not None else None)
        if raw_step_s is not None:  # VO: one measured period, IC to next IC
            i0 = int(round(c.ic_i)) - b0
            n = int(round(raw_step_s * fs))
            if i0 >= 0 and i0 + n <= self._len:
                vo = vo_cm(buf[_FV, i0 : i0 + n], n / fs)  # the mean (gravity) is ignored
        r_ic = max(int(math.ceil(c.ic_i)) - b0, 0)
        r_next = max(int(math.ceil(nxt[1])) - b0, r_ic) if nxt is not None else max(int(math.ceil(to_i)) - b0, r_ic)
        span_end = min(r_next, lim)
        lean = mean_lean_deg(buf[_TILT, r_ic:span_end])
        imp_end = min(r_ic + self._imp_n, lim)
        impact_g = float(buf[_NORM, r_ic:imp_end].max()) / G if imp_end > r_ic else None
        flags = self._bflags
        side = None
        if SIDE_FROM_GYRO:
            sw_end = min(r_ic + self._side_n, lim)
            if sw_end > r_ic and not (int(np.bitwise_or.reduce(flags[r_ic:sw_end])) & AP_UNKNOWN_BIT):
                m = float(buf[_ROLL, r_ic:sw_end].sum())  # NaN without a gyro
                if math.isfinite(m):
                    m /= sw_end - r_ic
                    if abs(m) >= SIDE_MIN_ROLL_DPS:
                        side = "left" if m > 0 else "right"
        if SIDE_FROM_ML:
            r_to = max(int(math.ceil(to_i)) - b0, r_ic)
            ml = buf[_ML, r_ic:r_to]
            if ml.size and abs(float(ml.mean())) >= SIDE_MIN_ML_MPS2:
                side = "left" if float(ml.mean()) > 0 else "right"
        bits = int(np.bitwise_or.reduce(flags[r_ic:span_end])) if span_end > r_ic else 0
        quality = step_quality_bits(bits, fs, gct_ms=g_ms, vo_cm=vo, cadence_spm=cad, flight_ms=fl)
        self._out.append(
            StepMetrics(
                ic_s=float(ic_out),
                to_s=float(to_out),
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
        self._prev_ic_t = ic_out
