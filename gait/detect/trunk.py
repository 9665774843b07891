"""Trunk contact detection: BodyBlock -> `ContactEvent`, one per ground contact.

Parameters: `gait.core.params.TrunkDetectParams` (``config.params.trunk``); the names in
double backquotes below are its fields.

Physics: between contacts the trunk is in free fall, its vertical specific force
f_v = a_v + g is ~0; during a contact the leg pushes and f_v rises well above g (mean over
the stance = g * step time / contact time, 1.5-2.5 g). A contact is therefore an interval
where the (lightly smoothed) f_v stays above a threshold close to free fall:

1. smooth f_v with a symmetric Hann kernel (~40 ms wide, zero phase; look-ahead 20 ms);
2. segmentation: runs where it exceeds ``contact_threshold_g`` (0.4 g), with dips shorter
   than ``merge_gap_s`` bridged;
3. a run is a contact if it lasts ``min_contact_s``..``max_contact_s`` and its f_v peak reaches
   ``min_peak_g``: standing still and walking (f_v never near free fall) give no steps;
4. IC / TO = the sub-sample (interpolated) crossings, next to the segmentation crossings, of
   a level read from the data. In flight the trunk's f_v sits at a flat *flight level*, a little
   below free fall (pelvis rotation: RBDS -0.16 / -0.36 g), and leaves it the moment the foot
   loads (force truth: f_v at IC and TO = flight level + 0.1 g); the level is the flight level
   (exponential average over contacts of the median of f_v between two contacts) plus
   ``flight_margin_g``, within ``min_level_g`` .. ``high_level_g``. A flight that is not flat
   (median more than ``flat_flight_g`` above its minimum: a rotating or loosely worn sensor,
   e.g. a waist belt) is no reference: there the level blends to the free-fall level, 0 g.
   Some recordings never show free fall (heavily low-passed, or with negative values cut to
   0 like the Alcantara data): there a crossing near the flight level is meaningless, and the
   level is raised to ``high_level_g`` (0.5 g). Which case applies is read from the flight
   floor (average f_v minimum in the ``floor_window_s`` before each run): at or below
   ``floor_free_fall_g`` the flight-level rule, at or above ``floor_no_dip_g`` the high level,
   linear in between.
5. Left/right alternation: a sensor off the body's midline (a belt on the side of the hip) sees
   the two feet's contacts differently: on the real outdoor waist recording every other
   contact came out 80 ms wider, starting 40 ms earlier and ending 40 ms later, so step times
   alternated 340 / 420 ms and contact times 250 / 330 ms, while the contact *centres* were
   regular (their step times alternate by < 1 %). The stage keeps, per foot (every other
   contact; the feet need not be known), exponential averages of the contact width and of the
   step time that starts with the contact, and removes the alternating part of the IC and TO
   times beyond a physiological asymmetry (``alt_ic_free_s``, ``alt_width_free_s``: the
   force-truth runners alternate by <= 4 % of a stride). The averages restart after a break.
   ``alternation_correction`` (default true) switches the correction.

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
IC_k+1 is confirmed (the next run has lasted ``min_contact_s``), i.e. about one flight
plus 80 ms after toe-off, or, if no contact follows within ``max_step_s``, without the
next-IC metrics (flight, VO) after that timeout.

Per contact (IC, TO after step 5) the stage measures what needs its samples: VO from the chain of
the last ``vertical.window_steps_count`` (8) steps ending with this one (`gait.metrics.vertical.
vo_window_cm`: the vertical acceleration along each sample's own gyro-aided 'up', integrated twice,
the trunk at the same height at every contact of the same foot, a slow drift fitted; the first
steps of a chain: the last stride, or step, forced periodic; a waist belt: the mean over the
stride, since off the midline the pelvis' roll lifts the site in turn with the feet: about 4 cm
between the feet on the adept hip sensor); lean = mean tilt over
the step; impact = peak |a| in the first 60 ms; the side; the flag bits of the step's samples.
Contact time, flight, cadence and the rest are derived from the event by
`gait.metrics.assemble.assemble_step`, the same for every placement.

Side from the gyro (``side_from_gyro``), over the chain of steps (`gait.detect.side`): a step's
evidence is the trunk's mean roll rate (about the forward axis) in the first ``side_window_s``
after IC, positive on left contacts and negative on right ones; running alternates feet, so the
evidence of every step of an unbroken chain counts toward its sides, as half differences of
consecutive steps (a roll common to both feet cancels). A chain breaks after a gap, a step longer
than ``side_break_step_ratio`` x the typical one (a missed contact) or a stop; a new chain's steps
are held back (at most ``side_hold_s``) until its side is known (``side_min_steps_count`` steps with
evidence, ``side_min_agreement_fraction`` of it agreeing), then all get their side by alternation; a step
released without a known side carries ``side_uncertain``. Later steps of a known chain leave at
once. On the virtual sacrum sensors (RBDS, RIC; 2.5-3.35 m/s, 4 runners) every step gets the right
side, the first steps of each recording included (one step alone was right on 97-100 % of the
steps with 0-3 % without a side). Evidence needs a known forward direction (none while it is
unknown); None without a gyro.
Side from the sign of the stance-mean ML acceleration (``side_from_ml``) is off: on the virtual
sacrum sensors of four runners the rule was right for 97 % of the steps of one runner, 70 % of
another and < 45 % of the other two (the ML acceleration of the sacrum is dominated by pelvis
roll, whose phase is individual). A wrong side is worse than none.

Streaming, frame-size invariant: every decision is taken at a sample index fixed by the data
(a threshold crossing, a crossing plus a fixed number of samples) and reads only samples in
windows fixed by sample indices that end at or before that index. The stage reacts to a
decision when the frame that contains its index is processed, whatever the frame size, so the
records depend only on the samples. History: a buffer of `keep_s` behind the newest smoothed
sample (no decision reaches further back) plus one frame.
"""

from __future__ import annotations

import math

import numpy as np

from gait.core.config import GRAVITY_MPS2, PipelineConfig
from gait.core.events import ContactEvent
from gait.core.params import TrunkDetectParams
from gait.core.records import Q_SIDE_UNCERTAIN, BodyBlock, SampleFlag
from gait.detect.side import SideChain, SideState, side_at
from gait.dsp.history import History
from gait.dsp.reductions import pairwise_sum, row_max
from gait.dsp.stage import FramedStage
from gait.metrics.lean import mean_lean_deg
from gait.metrics.quality import BIT_AP_UNKNOWN as AP_UNKNOWN_BIT
from gait.metrics.vertical import vertical_displacement_m, vo_cm, vo_window_cm_many

G = GRAVITY_MPS2
_COMPILED = not __file__.endswith(".py")  # a compiled build (trunk.pxd) reads its buffer typed
_KEEP_MARGIN_S = 0.2  # history kept beyond the longest look-back of any decision


def keep_s(p: TrunkDetectParams) -> float:
    """No decision reads further back than this behind the newest smoothed sample."""
    return p.max_step_s + p.min_contact_s + p.refine_window_s + p.floor_window_s + _KEEP_MARGIN_S


# buffer columns
_T, _FV, _ML, _NORM, _TILT, _SV, _ROLL = range(7)
_NCOL = 7


def _hann_kernel(fs: float, half_s: float) -> np.ndarray:
    h = max(1, int(round(half_s * fs)))
    w = np.hanning(2 * h + 3)[1:-1]  # 2h+1 taps, all > 0
    return w / w.sum()


def _shrink(x: float, free: float) -> float:
    """Soft threshold: the part of ``x`` beyond +/- ``free``."""
    return math.copysign(max(abs(x) - free, 0.0), x)


def _ema(old: float | None, new: float | None, weight: float) -> float | None:
    if old is None:
        return new
    if new is None:
        return old
    return old + weight * (new - old)


def level_from_floor_g(floor_g: float, flight_g: float | None, p: TrunkDetectParams) -> float:
    """IC/TO level (g) from the typical flight minimum (``floor_g``) and the typical flight level
    (``flight_g``, median of f_v over a flight; the floor when not given) of f_v.

    Free fall visible (floor <= ``floor_free_fall_g``): ``flight_margin_g`` above the flight level
    (the trunk leaves its flight level the moment the foot loads), within ``min_level_g`` ..
    ``high_level_g``. No dip (floor >= ``floor_no_dip_g``, e.g. data clipped at 0):
    ``high_level_g``. Linear in the floor in between."""
    flight = floor_g if flight_g is None else flight_g
    free = min(max(flight + p.flight_margin_g, p.min_level_g), p.high_level_g)
    # a flight that is not flat (sensor rotation, a loose mount): its level is no reference
    y = (flight - floor_g - p.flat_flight_g) / p.flat_blend_g
    y = min(max(y, 0.0), 1.0)
    free = free + y * (p.free_fall_level_g - free)
    if floor_g <= p.floor_free_fall_g:
        return free
    if floor_g >= p.floor_no_dip_g:
        return p.high_level_g
    x = (floor_g - p.floor_free_fall_g) / (p.floor_no_dip_g - p.floor_free_fall_g)
    return free + x * (p.high_level_g - free)


def _own(event: ContactEvent, **changes) -> ContactEvent:
    """``event`` with ``changes``, set in place: only for an event the stage made and has not handed
    on yet (no one else holds it), where `dataclasses.replace` would build a copy per step."""
    for name, value in changes.items():
        object.__setattr__(event, name, value)
    return event


class _Job:
    """A step's chain VO, computed with the frame's other chains when the frame ends
    (`gait.metrics.vertical.vo_window_cm_many`): index into the frame's list of chains."""

    __slots__ = ("index",)

    def __init__(self, index: int):
        self.index = index


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
    """BodyBlock -> `ContactEvent` per contact (parameters: ``config.params.trunk``)."""

    def __init__(self, config: PipelineConfig, sampling_rate_hz: float):
        p = config.params.trunk
        self._p = p
        self._vertical = config.params.vertical
        self.latency_ms = 1000.0 * (p.max_step_s + p.min_contact_s + p.smooth_half_s)
        super().__init__(config, sampling_rate_hz)

    def _reset_state(self) -> None:
        self._steps = _TrunkSteps(self._p, self._vertical, self.fs, self.frame_len, self.config.placement == "waist")

    def _process_frame(self, frame: BodyBlock, final: bool) -> list:
        return self._steps.process_frame(frame, final)

    def _finish(self) -> list:
        return self._steps.finish()


class _TrunkSteps:
    """The detector's state and per-step logic, apart from the stage's framing (`FramedStage`),
    so that a compiled build can hold it in a C struct (``trunk.pxd``)."""

    def __init__(self, p: TrunkDetectParams, vertical, fs: float, frame_len: int, stride_mean: bool):
        self._p = p
        self._vertical = vertical
        self.fs = fs
        self.frame_len = frame_len
        self._kernel = _hann_kernel(fs, p.smooth_half_s)
        self._h = (len(self._kernel) - 1) // 2
        self._keep = int(math.ceil(keep_s(p) * fs)) + 2 * self._h + 4
        self._cap = self._keep + self.frame_len + 2 * self._h + 16
        self._buf = np.zeros((_NCOL, self._cap))  # one contiguous row per column
        self._bv = self._buf  # (a typed view of it in a compiled build)
        # VO: vertical specific force (gyro-aided where there is a gyroscope) over a chain of steps
        vp = self._vertical
        self._vo_hist = History(int(math.ceil((vp.window_steps_count + 1) * p.max_step_s * fs)) + 8, [((), float)])
        self._vo_ics: list[float] = []  # raw IC indices (absolute, fractional) of the chain's steps
        self._vo_prev: float | _Job | None = None  # the site VO of the chain's previous step
        self._vo_jobs: list[tuple[int, int, list[float]]] = []  # this frame's chains (see `_resolve_vo`)
        self._vo_todo: list[tuple] = []  # (event, its pending VO: a `_Job` or (site, previous site))
        # a waist belt may sit off the body's midline, where the pelvis' roll lifts and drops the
        # site in turn with the feet: its VO is the mean over the stride (the two steps ending here)
        self._vo_stride_mean = stride_mean
        self._bflags = np.zeros(self._cap, np.uint8)
        self._uniform: int | None = None  # the bits every buffered sample carries (-1: mixed; None: not looked)
        self._len = 0  # valid rows
        self._b0 = 0  # absolute index of buffer row 0
        self._n_in = 0  # absolute index one past the newest sample
        self._n_sv = 0  # absolute index one past the newest smoothed sample
        self._minc = p.min_contact_s * fs  # durations in samples
        self._merge = p.merge_gap_s * fs
        self._maxc = p.max_contact_s * fs
        self._maxstep = p.max_step_s * fs
        self._w = int(p.refine_window_s * fs)
        self._fw = int(p.floor_window_s * fs)
        self._imp_n = int(math.ceil(p.impact_window_s * fs))
        self._side_n = int(round(p.side_window_s * fs))
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
        self._out: list[ContactEvent] = []
        # side: the chain of alternating steps (`gait.detect.side`) and the steps held back at its start
        self._chain = SideChain(p.side_memory_weight, p.side_min_steps_count, p.side_min_agreement_fraction,
                                p.side_min_roll_dps)
        self._chain_known = False  # the chain's side has been known (no more holding in this chain)
        self._held: list[tuple[ContactEvent, int, float]] = []  # (event, chain position, release index)
        self._hold_n = p.side_hold_s * fs
        self._side_prev_ic: float | None = None
        self._side_prev_gap = False
        self._side_step_s: float | None = None  # typical step time of the chain (average)

    # ---------------------------------------------------------------- buffer
    def _append(self, b: BodyBlock) -> None:
        n = len(b)
        if self._len + n > self._cap:
            self._compact(n)
        r = slice(self._len, self._len + n)
        buf = self._buf
        buf[_T, r] = b.time_s
        np.add(b.acc_v_mps2, G, out=buf[_FV, r])
        self._vo_hist.append(b.acc_v_mps2 if b.acc_v_gyro_mps2 is None else b.acc_v_gyro_mps2)
        buf[_ML, r] = b.acc_ml_mps2
        buf[_NORM, r] = b.acc_norm_mps2
        buf[_TILT, r] = b.tilt_deg
        buf[_ROLL, r] = np.nan if b.gyr_ap_dps is None else b.gyr_ap_dps
        self._bflags[r] = b.flags
        self._uniform = None
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
            self._bv = buf
        elif cut > 0:
            self._buf[:, : self._len - cut] = self._buf[:, cut : self._len]
            self._bflags[: self._len - cut] = self._bflags[cut : self._len]
        self._len -= cut
        self._b0 = keep_from
        self._uniform = None

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
    def process_frame(self, frame: BodyBlock, final: bool) -> list:
        if len(frame):
            self._append(frame)
            self._last_t = float(frame.time_s[-1])
        lo, hi = self._smooth_new(final)
        if hi > lo:
            self._scan(lo, hi)
        self._resolve_vo()
        out, self._out = self._out, []
        return out

    def finish(self) -> list:
        lo, hi = self._smooth_new(True)
        if hi > lo:
            self._scan(lo, hi)
        if self._run_end_i is not None:
            self._finalize_run()
        if self._wait is not None:
            self._emit(self._wait, None, self._n_sv - 1)
            self._wait = None
        self._release_held(math.inf)
        self._resolve_vo()
        out, self._out = self._out, []
        return out

    # ---------------------------------------------------------------- detection
    def _scan(self, lo: int, hi: int) -> None:
        thr = self._p.contact_threshold_g * G
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
        if self._held and self._held[0][2] <= k:
            self._release_held(k)

    def _confirm_run(self, trig: float) -> None:
        """The current run has lasted ``min_contact_s``: decided at index ``trig``."""
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
                w = self._p.floor_ema_weight
                self._floor = (1 - w) * self._floor + w * fl
                self._flight = (1 - w) * self._flight + w * md
        if self._floor is not None and self._flight is not None:
            level_g = level_from_floor_g(self._floor / G, self._flight / G, self._p)
        else:
            level_g = self._p.free_fall_level_g
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
            peak = row_max(self._bv, _SV, r0, r1) if r1 > r0 else -math.inf
            if peak >= self._p.min_peak_g * G:
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
        # the value at buffer row r is sv[r - off]: compiled, the typed buffer row; else Python floats
        # (cheap element access)
        if _COMPILED:
            sv = self._bv[_SV]
            off = 0
        else:
            sv = self._buf[_SV, lo - 1 : hi].tolist()
            off = lo - 1
        r = j
        if (sv[r - off] >= level) == rising:  # already past the level: walk back
            while r - 1 >= lo and (sv[r - 1 - off] >= level) == rising:
                r -= 1
            if (sv[r - 1 - off] >= level) == rising:
                return None
        else:  # not yet at the level: walk on
            while r < hi and (sv[r - off] >= level) != rising:
                r += 1
            if r >= hi:
                return None
        x0, x1 = sv[r - 1 - off], sv[r - off]
        frac = (level - x0) / (x1 - x0) if x1 != x0 else 0.0
        frac = min(max(frac, 0.0), 1.0)
        t = self._bv[_T]
        return float(t[r - 1] + frac * (t[r] - t[r - 1])), self._b0 + r - 1 + frac

    def _alternation(self, ic_s: float, to_s: float, next_ic_s: float | None) -> tuple[float, float, float]:
        """IC and TO with their alternating (period: two steps) bias removed beyond a physiological
        asymmetry; returns (ic, to, shift of the next contact's IC)."""
        p = self._p
        if not p.alternation_correction:
            return ic_s, to_s, 0.0
        width = to_s - ic_s
        step = None if next_ic_s is None else next_ic_s - ic_s
        cont = self._prev_raw_ic is not None and ic_s - self._prev_raw_ic <= p.max_step_s
        self._prev_raw_ic = ic_s
        st = self._alt if cont else None

        if st is None:
            self._alt = (width, None, step, None)
            return ic_s, to_s, 0.0
        w_this, w_other = _ema(st[1], width, p.alt_ema_weight), st[0]
        s_this, s_other = _ema(st[3], step, p.alt_ema_weight), st[2]
        self._alt = (w_this, w_other, s_this, s_other)
        a = 0.0  # this contact's IC offset from the stride-regular time
        if s_this is not None and s_other is not None:
            a = _shrink(-(s_this - s_other) / 4.0, p.alt_ic_free_s)
        ba = 0.0  # this contact's half-width excess (TO offset minus IC offset)
        if w_this is not None and w_other is not None:
            ba = _shrink((w_this - w_other) / 2.0, p.alt_width_free_s)
        return ic_s - a, to_s - (a + ba), a

    def _emit(self, c: _Contact, nxt: tuple[float, float] | None, trig: float) -> None:
        """The contact ``c`` as a `ContactEvent`, decided at index ``trig``: reads rows <= trig only."""
        p = self._p
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
        prev_ic = None
        if next_ic is None and self._prev_ic_t is not None and ic_out - self._prev_ic_t <= p.max_step_s:
            prev_ic = self._prev_ic_t
        buf = self._buf
        vo = self._vo(c, nxt, self._or_flags(max(int(math.ceil(c.ic_i)) - b0, 0), lim))
        if self._vo_stride_mean:
            site, prev = vo, self._vo_prev
            self._vo_prev = site
            if site is not None and prev is not None and len(self._vo_ics) >= 3:
                vo = (site, prev)  # the mean over the stride
        pending = vo if isinstance(vo, (_Job, tuple)) else None
        r_ic = max(int(math.ceil(c.ic_i)) - b0, 0)
        r_next = max(int(math.ceil(nxt[1])) - b0, r_ic) if nxt is not None else max(int(math.ceil(to_i)) - b0, r_ic)
        span_end = min(r_next, lim)
        lean = mean_lean_deg(buf[_TILT, r_ic:span_end])
        imp_end = min(r_ic + self._imp_n, lim)
        impact_g = row_max(self._bv, _NORM, r_ic, imp_end) / G if imp_end > r_ic else None
        bits = self._or_flags(r_ic, span_end)
        event = ContactEvent(
            ic_s=float(ic_out),
            to_s=float(to_out),
            side=None,
            next_ic_s=None if next_ic is None else float(next_ic),
            prev_ic_s=prev_ic,
            vo_cm=None if pending is not None else vo,
            lean_deg=lean,
            impact_g=impact_g,
            flag_bits=bits,
            emitted_s=self._last_t,
        )
        if pending is not None:
            self._vo_todo.append((event, pending))  # completed in place when the frame ends
        self._prev_ic_t = ic_out
        if self._held and self._held[0][2] < trig:
            self._release_held(trig, strict=True)  # their time ran out before this step was decided
        gyro = math.isfinite(self._bv[_ROLL, r_ic])  # NaN: no gyroscope
        if p.side_from_gyro and gyro:
            self._side_step(event, self._roll_evidence(r_ic, lim), ic_out, bits, trig, r_ic)
        else:
            self._out.append(event)
        if p.side_from_ml:
            r_to = max(int(math.ceil(to_i)) - b0, r_ic)
            ml = buf[_ML, r_ic:r_to]
            if ml.size and abs(float(ml.mean())) >= p.side_min_ml_mps2 and self._out and self._out[-1] is event:
                _own(event, side="left" if float(ml.mean()) > 0 else "right")

    def _or_flags(self, r0: int, r1: int) -> int:
        """OR of the flag bits of buffer rows [r0, r1): when every sample in the buffer carries the
        same bits (the usual case: none, or all 'uncalibrated'), those, without reading the rows."""
        if r1 <= r0:
            return 0
        if self._uniform is None:
            fl = self._bflags[: self._len]
            self._uniform = -1 if not fl.size or (fl != fl[0]).any() else int(fl[0])
        return self._uniform if self._uniform >= 0 else int(np.bitwise_or.reduce(self._bflags[r0:r1]))

    # ---------------------------------------------------------------- vertical oscillation
    def _vo(self, c: _Contact, nxt: tuple[float, float] | None, bits: int) -> float | _Job | None:
        """VO of the step from contact ``c`` to the next contact (`gait.metrics.vertical`): from the
        chain of the last ``window_steps_count`` steps (heights equal at each foot's contacts) once
        it holds ``min_window_steps_count`` steps, before that from the last stride or step forced
        periodic. The chain restarts after a step without a next contact or with a gap."""
        vp = self._vertical
        if nxt is None:
            self._vo_ics = []
            return None
        ics = self._vo_ics
        if not ics or ics[-1] != c.ic_i or bits & SampleFlag.AFTER_GAP:
            ics = [c.ic_i]
        ics.append(nxt[1])
        self._vo_ics = ics = ics[-(vp.window_steps_count + 1) :]
        lo = int(math.floor(ics[0]))
        hi = int(math.ceil(ics[-1])) + 1
        x = self._vo_hist.get(0, lo, hi)
        while x is None and len(ics) > 2:  # (not held: a shorter chain)
            ics = self._vo_ics = ics[1:]
            lo = int(math.floor(ics[0]))
            x = self._vo_hist.get(0, lo, hi)
        if x is None:
            return None
        steps = len(ics) - 1
        if steps >= vp.min_window_steps_count:  # computed with the frame's other chains
            self._vo_jobs.append((lo - self._vo_hist.b0, x.shape[0], [i - lo for i in ics]))
            return _Job(len(self._vo_jobs) - 1)
        # too short a chain: the last stride (or step) forced periodic
        i0 = int(round(ics[-3] if steps >= 2 else ics[-2])) - lo
        i1 = int(round(ics[-1])) - lo
        if i1 - i0 < 4 or i1 > x.shape[0]:
            return None
        if steps < 2:
            return vo_cm(x[i0:i1], (i1 - i0) / self.fs, vp)  # the mean (gravity) is ignored
        z = vertical_displacement_m(x[i0:i1], (i1 - i0) / self.fs, vp)
        k = (int(round(ics[-2])) - lo - i0) * vp.oversample_count
        seg = z[k:]
        return float((seg.max() - seg.min()) * 100.0) if seg.size else None

    def _resolve_vo(self) -> None:
        """The VO of this frame's events, their chains computed together (the same numbers as one
        by one, `vo_window_cm_many`), written into the events before they leave the stage (they are
        still the stage's own: `_own`)."""
        if not self._vo_todo:
            return
        vals = vo_window_cm_many(self._vo_hist.column(0), self.fs, self._vo_jobs)

        def value(v):
            return vals[v.index] if isinstance(v, _Job) else v

        for event, todo in self._vo_todo:
            if isinstance(todo, tuple):
                site, prev = value(todo[0]), value(todo[1])
                vo = None if site is None else (site if prev is None else 0.5 * (site + prev))
            else:
                vo = value(todo)
            _own(event, vo_cm=vo)
        self._vo_prev = value(self._vo_prev)
        self._vo_jobs = []
        self._vo_todo = []

    # ---------------------------------------------------------------- side
    def _roll_evidence(self, r_ic: int, lim: int) -> float | None:
        """Mean roll rate (deg/s, left positive) over ``side_window_s`` after IC; None when the
        forward axis is not known there (the roll axis would be a guess)."""
        sw_end = min(r_ic + self._side_n, lim)
        if sw_end <= r_ic or self._or_flags(r_ic, sw_end) & AP_UNKNOWN_BIT:
            return None
        m = pairwise_sum(self._bv[_ROLL], r_ic, sw_end - r_ic) / (sw_end - r_ic)
        return m if math.isfinite(m) else None

    def _side_step(self, event: ContactEvent, x: float | None, ic_s: float, bits: int, trig: float, r_ic: int) -> None:
        """The step's side from its chain (`gait.detect.side`): emitted now when the chain's side is
        known (or was known earlier in the chain), else held back (at most ``side_hold_s``) until it
        is; a step released without a known side carries ``side_uncertain``."""
        p = self._p
        step_s = None if self._side_prev_ic is None else ic_s - self._side_prev_ic
        gap_here = bool(int(self._bflags[r_ic]) & SampleFlag.AFTER_GAP)
        continues = (
            step_s is not None
            and step_s <= p.max_step_s
            and not self._side_prev_gap
            and not gap_here
            and (self._side_step_s is None or step_s <= p.side_break_step_ratio * self._side_step_s)
        )
        if not continues:
            self._release_held(math.inf)  # the held steps' chain has ended: their best guess
            self._chain_known = False
            self._side_step_s = None
        elif step_s is not None:
            w = p.alt_ema_weight
            self._side_step_s = step_s if self._side_step_s is None else self._side_step_s + w * (step_s - self._side_step_s)
        self._side_prev_ic = ic_s
        self._side_prev_gap = bool(bits & SampleFlag.AFTER_GAP)
        state = self._chain.add(x, continues)
        if state.known:
            self._chain_known = True
            self._release_with(state, len(self._held))
            self._out.append(_own(event, side=state.side))
        elif self._chain_known or self._hold_n <= 0:
            self._out.append(self._sided(event, state, state.position, False))
        else:
            self._held.append((event, state.position, trig + self._hold_n))

    def _sided(self, event: ContactEvent, state: SideState, position: int, known: bool) -> ContactEvent:
        side = side_at(state, position)
        quality = () if known else (Q_SIDE_UNCERTAIN,)
        return _own(event, side=side, quality=quality, emitted_s=self._last_t)

    def _release_with(self, state: SideState, n: int) -> None:
        """Release the ``n`` oldest held steps with the sides ``state`` gives them by alternation."""
        for event, pos, _ in self._held[:n]:
            self._out.append(self._sided(event, state, pos, state.known))
        del self._held[:n]

    def _release_held(self, k: float, strict: bool = False) -> None:
        """Release the held steps whose time ran out at index ``k`` (before it: ``strict``; all:
        ``k`` = inf) with the chain's best guess so far."""
        n = 0
        while n < len(self._held) and (self._held[n][2] < k or (not strict and self._held[n][2] <= k)):
            n += 1
        if n:
            self._release_with(self._chain.state(), n)
