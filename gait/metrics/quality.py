"""Per-step quality flags (pure): from the per-sample flag bits inside a step and from the
plausibility of the step's values. Values are kept; flags say what not to trust."""

from __future__ import annotations

import numpy as np

from gait.core.config import rate_below
from gait.core.records import (
    Q_CLIPPING,
    Q_GAP,
    Q_IMPLAUSIBLE,
    Q_LOW_RATE,
    Q_NAN,
    Q_UNCALIBRATED,
    Q_WARMUP,
    QUALITY_FLAGS,
    SampleFlag,
)

# orientation-stage bits (see gait.dsp.orientation.OrientationFlag; duplicated here so that
# metrics stay pure and import only the core)
BIT_WARMUP = 8
BIT_UNCALIBRATED = 16
BIT_AP_UNKNOWN = 32

GCT_RANGE_MS = (80.0, 600.0)
VO_RANGE_CM = (1.0, 25.0)
CADENCE_RANGE_SPM = (100.0, 260.0)
FLIGHT_MIN_MS = -150.0
MIN_RATE_HZ = 50.0


def flags_to_quality(flags: np.ndarray) -> set[str]:
    """Quality flags from the OR of the per-sample flag bits of a step."""
    bits = int(np.bitwise_or.reduce(np.asarray(flags, dtype=np.uint8))) if len(flags) else 0
    return bits_to_quality(bits)


def bits_to_quality(bits: int) -> set[str]:
    """Quality flags from the OR of the per-sample flag bits (an int) of a step."""
    q: set[str] = set()
    if bits & SampleFlag.AFTER_GAP:
        q.add(Q_GAP)
    if bits & SampleFlag.CLIPPED:
        q.add(Q_CLIPPING)
    if bits & SampleFlag.NAN:
        q.add(Q_NAN)
    if bits & (BIT_WARMUP | BIT_AP_UNKNOWN):
        q.add(Q_WARMUP)
    if bits & BIT_UNCALIBRATED:
        q.add(Q_UNCALIBRATED)
    return q


def implausible(
    gct_ms: float | None = None,
    vo_cm: float | None = None,
    cadence_spm: float | None = None,
    flight_ms: float | None = None,
) -> bool:
    def out(v: float | None, lo: float, hi: float) -> bool:
        return v is not None and not (lo <= v <= hi)

    return (
        out(gct_ms, *GCT_RANGE_MS)
        or out(vo_cm, *VO_RANGE_CM)
        or out(cadence_spm, *CADENCE_RANGE_SPM)
        or (flight_ms is not None and flight_ms < FLIGHT_MIN_MS)
    )


def step_quality(
    flags: np.ndarray,
    sampling_rate_hz: float,
    gct_ms: float | None = None,
    vo_cm: float | None = None,
    cadence_spm: float | None = None,
    flight_ms: float | None = None,
) -> tuple[str, ...]:
    """All quality flags of one step, in the stable order of `QUALITY_FLAGS`."""
    bits = int(np.bitwise_or.reduce(np.asarray(flags, dtype=np.uint8))) if len(flags) else 0
    return step_quality_bits(bits, sampling_rate_hz, gct_ms, vo_cm, cadence_spm, flight_ms)


def step_quality_bits(
    bits: int,
    sampling_rate_hz: float,
    gct_ms: float | None = None,
    vo_cm: float | None = None,
    cadence_spm: float | None = None,
    flight_ms: float | None = None,
) -> tuple[str, ...]:
    """`step_quality` from the OR of the step's per-sample flag bits, already reduced to an int."""
    if not bits and not rate_below(sampling_rate_hz, MIN_RATE_HZ) and not implausible(gct_ms, vo_cm, cadence_spm, flight_ms):
        return ()
    q = bits_to_quality(bits)
    if rate_below(sampling_rate_hz, MIN_RATE_HZ):
        q.add(Q_LOW_RATE)
    if implausible(gct_ms, vo_cm, cadence_spm, flight_ms):
        q.add(Q_IMPLAUSIBLE)
    return tuple(f for f in QUALITY_FLAGS if f in q)
