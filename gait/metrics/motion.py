"""What a recording without running holds: one line saying why no running contacts can be expected.

Looked at when the pipeline found no running (and by the phone import, to say so at once). The
checks need no placement and no orientation, only the size of the acceleration |a|:

* the sample rate: below the pipeline's minimum (`QualityParams.min_rate_hz`, 50 Hz) contacts are not
  reliably detected and every metric is flagged. 50 Hz itself is enough: real runs resampled from
  100 Hz to 50 Hz (the adeptdata hip run, two phyphox jogging exports) keep their contacts (157 of
  157, 142 of 142, 128 of 129) and cadence;
* hardly any movement: |a| varies by less than ``STILL_STD_G``;
* gentle movement: |a| stays between ``WALK_LOW_G`` and ``WALK_HIGH_G`` (2nd and 98th percentiles).
  Running has a flight phase in every step, where a trunk sensor reads near 0 g (about 0.2-0.4 g at
  the 2nd percentile in the adeptdata hip run and the phone jogging exports), and landings above
  2.5 g (98th percentile); a foot sensor swings far above 2 g. Walking stays within about 0.7-1.4 g
  (the phyphox lab walk at 50 Hz: 0.73-1.40 g; walking with the phone in the hand: 0.77-1.37 g),
  and so does handling a phone;
* walking is gentle movement with a stride rhythm: the autocorrelation of |a| peaks at
  ``RHYTHM_MIN_R`` or more at a lag of 0.8-1.6 s (one stride; the lab walk: 0.46 at 1.26 s, 95
  steps/min; walking with the phone in the hand: 0.70 at 1.11 s), over at least ``RHYTHM_MIN_S``;
  20 s of handling a phone gives 0.00. A phone bouncing in a trouser pocket can reach 3 g while
  walking: then this check says nothing and the implausible contacts say it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gait.core.config import GRAVITY_MPS2, rate_below
from gait.core.params import QualityParams

STILL_STD_G = 0.05
WALK_LOW_G = 0.5
WALK_HIGH_G = 2.0
MIN_SECONDS = 2.0  # shorter recordings are not judged
RHYTHM_MIN_S = 8.0
RHYTHM_MIN_R = 0.35
STRIDE_S = (0.8, 1.6)  # walking strides (37-75 strides/min)

LOW_RATE, STILL, WALKING, GENTLE, UNCLEAR = "low_rate", "still", "walking", "gentle", "unclear"


@dataclass(frozen=True)
class MotionVerdict:
    kind: str  # LOW_RATE, STILL, WALKING or UNCLEAR
    text: str  # one line (no trailing full stop)


def motion_verdict(acc_mps2: np.ndarray, rate_hz: float, min_rate_hz: float | None = None) -> MotionVerdict:
    """Why running contacts are not to be expected in this recording (or `UNCLEAR`)."""
    need = QualityParams().min_rate_hz if min_rate_hz is None else float(min_rate_hz)
    if rate_below(rate_hz, need):
        return MotionVerdict(
            LOW_RATE,
            f"the sample rate ({rate_hz:.0f} Hz) is too low for contact detection: record at {need:.0f} Hz or more",
        )
    acc = np.asarray(acc_mps2, dtype=np.float64)
    mag = np.linalg.norm(acc, axis=1) / GRAVITY_MPS2 if acc.ndim == 2 and acc.shape[0] else np.empty(0)
    mag = mag[np.isfinite(mag)]
    if mag.size < MIN_SECONDS * rate_hz:
        return MotionVerdict(UNCLEAR, "too short to tell what it holds")
    std = float(mag.std())
    if std < STILL_STD_G:
        return MotionVerdict(
            STILL, f"the sensor hardly moves (|a| varies by {std:.2f} g): still, or gently handled, not running"
        )
    low, high = (float(v) for v in np.percentile(mag, [2.0, 98.0]))
    if low > WALK_LOW_G and high < WALK_HIGH_G:
        stride_s = _stride_s(mag, rate_hz)
        if stride_s is None:
            return MotionVerdict(
                GENTLE, f"gentle movement with no step rhythm (|a| within {low:.1f}-{high:.1f} g): handling, not running"
            )
        return MotionVerdict(
            WALKING,
            f"walking, not running: steps at about {120.0 / stride_s:.0f}/min with |a| within {low:.1f}-{high:.1f} g "
            f"(a run lands above {WALK_HIGH_G:g} g every step)",
        )
    return MotionVerdict(
        UNCLEAR,
        f"the signal moves (|a| {low:.1f}-{high:.1f} g) but holds no running rhythm: handling, another activity, "
        "or another --placement?",
    )


def _stride_s(mag: np.ndarray, rate_hz: float) -> float | None:
    """The stride period of a steady rhythm in |a| (s), or None when there is none."""
    if mag.size < RHYTHM_MIN_S * rate_hz:
        return None
    x = mag - mag.mean()
    n = x.size
    spec = np.fft.rfft(x, 2 * n)
    ac = np.fft.irfft(spec * np.conj(spec))[:n]
    ac = ac / ac[0] * n / (n - np.arange(n))  # unbiased: each lag's mean product over its own overlap
    lags = np.arange(n) / rate_hz
    ok = np.flatnonzero((lags >= STRIDE_S[0]) & (lags <= STRIDE_S[1]))
    if ok.size == 0:
        return None
    best = ok[np.argmax(ac[ok])]
    return float(lags[best]) if ac[best] >= RHYTHM_MIN_R else None
