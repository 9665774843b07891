"""First stage: checks the raw stream and marks what cannot be trusted.

- lost samples (a time step longer than 1.5 nominal periods) become `Gap` records, and the
  first sample after a gap carries `SampleFlag.AFTER_GAP`;
- non-finite values are replaced by the previous good value of that axis (`SampleFlag.NAN`);
- clipping: a sample at the sensor's full scale (``config.acc_range_g``) or, when the range is
  unknown, sitting flat (equal to the previous sample) at the largest magnitude seen so far above
  4 g (accelerometer) or 1000 deg/s (gyroscope) is marked `SampleFlag.CLIPPED`.
Thresholds: `gait.core.params.SanitizeParams` (``config.params.sanitize``).
Nothing is dropped: samples go on, flagged.
"""

from __future__ import annotations

import numpy as np

from gait.core.config import GRAVITY_MPS2, rate_below
from gait.core.records import Gap, QualityEvent, SampleBlock, SampleFlag
from gait.dsp import sample_checks
from gait.dsp.placement_check import PlacementCheck
from gait.dsp.stage import FramedStage


def _col_max(a: np.ndarray) -> np.ndarray:
    """Per-column maximum of an (n, axes) array; a long one a column at a time (NumPy reduces across
    the rows of a long C-ordered array about ten times slower)."""
    if a.shape[0] < 256:
        return a.max(axis=0)
    return np.array([a[:, c].max() for c in range(a.shape[1])])


def _any_row(b: np.ndarray) -> np.ndarray:
    """Rows of an (n, axes) boolean array with any axis true (``b.any(axis=1)``, faster)."""
    out = b[:, 0].copy()
    for c in range(1, b.shape[1]):
        out |= b[:, c]
    return out


def _fill_nonfinite(x: np.ndarray, last: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Forward-fill non-finite entries per column, seeded by ``last``. Returns (filled, bad_rows, new_last)."""
    bad = ~np.isfinite(x)
    if not bad.any():  # the usual case
        return x, np.zeros(x.shape[0], dtype=bool), x[-1].copy()
    bad_rows = _any_row(bad)
    x = x.copy()
    n = x.shape[0]
    for c in range(x.shape[1]):
        col_bad = bad[:, c]
        if not col_bad.any():
            continue
        idx = np.where(~col_bad, np.arange(n), -1)
        np.maximum.accumulate(idx, out=idx)
        col = x[:, c]
        seed = last[c] if np.isfinite(last[c]) else 0.0
        filled = np.where(idx >= 0, col[np.clip(idx, 0, None)], seed)
        x[:, c] = filled
    return x, bad_rows, x[-1].copy()


def _flat_at_extreme(x: np.ndarray, prev: np.ndarray, max_abs: np.ndarray, floor: float) -> tuple[np.ndarray, np.ndarray]:
    """Rows where some axis sits flat at the largest magnitude seen (clipping without a known range)."""
    a = np.abs(x)
    frame_max = _col_max(a)
    new_max = np.maximum(max_abs, frame_max)
    none = np.zeros(x.shape[0], dtype=bool)
    if not (frame_max >= floor).any():  # nothing near full scale: nothing can be clipped
        return none, new_max
    flat = np.empty(x.shape, dtype=bool)
    np.equal(x[:1], prev[None, :], out=flat[:1])
    np.equal(x[1:], x[:-1], out=flat[1:])
    flat &= a >= floor
    if not flat.any():  # nothing flat up there (the usual case): no running maximum needed
        return none, new_max
    run_max = np.maximum(np.maximum.accumulate(a, axis=0), max_abs[None, :])
    flat &= a >= run_max * 0.999
    return _any_row(flat), new_max


_NO_ROWS = np.zeros((0, 3))  # (no gyroscope)


class SanitizeStage(FramedStage):
    latency_ms = 0.0

    def _reset_state(self) -> None:
        self._last_t: float | None = None
        self._last_acc = np.full(3, np.nan)
        self._last_gyr = np.full(3, np.nan)
        # the previous sample of each sensor and the largest magnitudes seen, in one block (the
        # state of `gait.dsp.sample_checks.check_frame`; both routes write it in place)
        self._state = np.concatenate([np.full(6, np.nan), np.zeros(6)])
        self._prev_acc, self._prev_gyr = self._state[0:3], self._state[3:6]
        self._max_acc, self._max_gyr = self._state[6:9], self._state[9:12]
        self._gap_rows = np.empty(0, np.intp)
        self._announced = False
        self._period = 1.0 / self.fs
        p = self.config.params
        self._p = p.sanitize
        self._min_rate_hz = p.quality.min_rate_hz
        self._clip_acc_min_mps2 = p.sanitize.clip_acc_min_g * GRAVITY_MPS2
        rng = self.config.acc_range_g  # clipping at the sensor's range when it is known, else 0
        self._acc_limit = 0.0 if rng is None else p.sanitize.clip_range_fraction * rng * GRAVITY_MPS2
        self._placement = PlacementCheck(self.config.placement, self.fs, p.placement_check)

    def _process_frame(self, frame: SampleBlock, final: bool) -> list:
        out: list = []
        if not self._announced:
            self._announced = True
            out.extend(self._rate_notices(float(frame.time_s[0]) if len(frame) else 0.0))
        n = len(frame)
        flags = np.zeros(n, np.uint8) if frame.flags is None else frame.flags.copy()
        t = frame.time_s
        if sample_checks.COMPILED and n and frame.acc_mps2.dtype == np.float64 and t.dtype == np.float64:
            gyr = frame.gyr_dps
            if gyr is None or gyr.dtype == np.float64:
                done = self._checked(frame, flags, out)
                if done:
                    return out
        # gaps
        prev_t = np.empty(n)
        prev_t[0] = self._last_t if self._last_t is not None else t[0] - self._period
        prev_t[1:] = t[:-1]
        dt = t - prev_t
        gap_idx = np.nonzero(dt > self._p.gap_period_ratio * self._period)[0]
        out.extend(self._gap(t, int(k)) for k in gap_idx)
        flags[gap_idx] |= SampleFlag.AFTER_GAP
        self._last_t = float(t[-1])
        # non-finite values
        acc, bad, self._last_acc = _fill_nonfinite(frame.acc_mps2, self._last_acc)
        flags[bad] |= SampleFlag.NAN
        gyr = frame.gyr_dps
        if gyr is not None:
            gyr, bad_g, self._last_gyr = _fill_nonfinite(gyr, self._last_gyr)
            flags[bad_g] |= SampleFlag.NAN
        # clipping
        if self._acc_limit > 0.0:
            flags[_any_row(np.abs(acc) >= self._acc_limit)] |= SampleFlag.CLIPPED
        else:
            clipped, self._max_acc[:] = _flat_at_extreme(acc, self._prev_acc, self._max_acc, self._clip_acc_min_mps2)
            flags[clipped] |= SampleFlag.CLIPPED
        if gyr is not None:
            clipped_g, self._max_gyr[:] = _flat_at_extreme(gyr, self._prev_gyr, self._max_gyr, self._p.clip_gyr_min_dps)
            flags[clipped_g] |= SampleFlag.CLIPPED
            self._prev_gyr[:] = gyr[-1]
        self._prev_acc[:] = acc[-1]
        self._emit(frame, t, acc, gyr, flags, out)
        return out

    def _emit(self, frame: SampleBlock, t: np.ndarray, acc: np.ndarray, gyr, flags: np.ndarray, out: list) -> None:
        notice = self._placement.update(frame.index0, t, acc, gyr)
        if notice is not None:
            out.append(notice)
        out.insert(0, SampleBlock(time_s=t, acc_mps2=acc, gyr_dps=gyr, index0=frame.index0, flags=flags))

    def _gap(self, t: np.ndarray, k: int) -> Gap:
        """The gap before sample ``k`` of the frame (read before ``_last_t`` moves on)."""
        prev = t[k - 1] if k > 0 else self._last_t if self._last_t is not None else t[0] - self._period
        dt = t[k] - prev
        return Gap(start_s=float(prev), end_s=float(t[k]), missing_samples=max(1, int(round(dt / self._period)) - 1))

    def _checked(self, frame: SampleBlock, flags: np.ndarray, out: list) -> bool:
        """The frame through `gait.dsp.sample_checks` (the same decisions in one loop); False when
        it has a non-finite value (the NumPy route then fills it)."""
        n = len(frame)
        t, acc, gyr = frame.time_s, frame.acc_mps2, frame.gyr_dps
        if self._gap_rows.shape[0] < n:
            self._gap_rows = np.empty(max(n, 2 * self._gap_rows.shape[0]), np.intp)
        prev_t = self._last_t if self._last_t is not None else float(t[0]) - self._period
        k = sample_checks.check_frame(
            t, acc, gyr if gyr is not None else _NO_ROWS, prev_t, self._p.gap_period_ratio * self._period, self._acc_limit,
            self._clip_acc_min_mps2, self._p.clip_gyr_min_dps, self._state, flags, self._gap_rows,
            SampleFlag.AFTER_GAP, SampleFlag.CLIPPED,
        )  # fmt: skip
        if k < 0:
            return False
        out.extend(self._gap(t, int(j)) for j in self._gap_rows[:k])
        self._last_t = float(t[-1])
        self._last_acc = acc[-1].copy()
        if gyr is not None:
            self._last_gyr = gyr[-1].copy()
        self._emit(frame, t, acc, gyr, flags, out)
        return True

    def _rate_notices(self, t0_s: float) -> list[QualityEvent]:
        """Notices about the stream's rate, timed at its first sample."""
        notices = []
        if self.config.placement == "foot" and rate_below(self.fs, self.config.min_rate_hz_foot_strike):
            notices.append(
                QualityEvent(
                    time_s=t0_s,
                    code="low_sample_rate",
                    message=(
                        f"{self.fs:.0f} Hz is below the {self.config.min_rate_hz_foot_strike:.0f} Hz "
                        "that foot strike angle and type need; those metrics are flagged"
                    ),
                )
            )
        if rate_below(self.fs, self._min_rate_hz):
            notices.append(
                QualityEvent(
                    time_s=t0_s,
                    code="low_sample_rate",
                    message=f"{self.fs:.0f} Hz is below {self._min_rate_hz:.0f} Hz; every metric is flagged",
                )
            )
        return notices
