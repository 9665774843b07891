"""Per-step quality flags (pure): from the per-sample flag bits inside a step and from the
plausibility of the step's values. Values are kept; flags say what not to trust."""

from __future__ import annotations

import numpy as np

from gait.core.config import rate_below
from gait.core.params import QualityParams
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

_DEFAULTS = QualityParams()  # the bounds when a caller gives none (stages pass their config's)


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
    fsa_deg: float | None = None,
    params: QualityParams | None = None,
) -> bool:
    """True when a value lies outside the plausibility bounds of ``params`` (None: not measured)."""
    p = params or _DEFAULTS

    def out(v: float | None, lo: float, hi: float) -> bool:
        return v is not None and not (lo <= v <= hi)

    return (
        out(gct_ms, p.gct_min_ms, p.gct_max_ms)
        or out(vo_cm, p.vo_min_cm, p.vo_max_cm)
        or out(cadence_spm, p.cadence_min_spm, p.cadence_max_spm)
        or (flight_ms is not None and flight_ms < p.flight_min_ms)
        or (fsa_deg is not None and abs(fsa_deg) > p.fsa_max_abs_deg)
    )


def step_quality(
    flags: np.ndarray,
    sampling_rate_hz: float,
    gct_ms: float | None = None,
    vo_cm: float | None = None,
    cadence_spm: float | None = None,
    flight_ms: float | None = None,
    params: QualityParams | None = None,
) -> tuple[str, ...]:
    """All quality flags of one step, in the stable order of `QUALITY_FLAGS`."""
    bits = int(np.bitwise_or.reduce(np.asarray(flags, dtype=np.uint8))) if len(flags) else 0
    return step_quality_bits(bits, sampling_rate_hz, gct_ms, vo_cm, cadence_spm, flight_ms, params=params)


def step_quality_bits(
    bits: int,
    sampling_rate_hz: float,
    gct_ms: float | None = None,
    vo_cm: float | None = None,
    cadence_spm: float | None = None,
    flight_ms: float | None = None,
    fsa_deg: float | None = None,
    params: QualityParams | None = None,
    extra: frozenset[str] | set[str] = frozenset(),
) -> tuple[str, ...]:
    """`step_quality` from the OR of the step's per-sample flag bits, already reduced to an int,
    plus the flags in ``extra`` (found by the detector)."""
    p = params or _DEFAULTS
    low_rate = rate_below(sampling_rate_hz, p.min_rate_hz)
    bad = implausible(gct_ms, vo_cm, cadence_spm, flight_ms, fsa_deg, p)
    if not bits and not extra and not low_rate and not bad:
        return ()
    q = bits_to_quality(bits)
    q.update(extra)
    if low_rate:
        q.add(Q_LOW_RATE)
    if bad:
        q.add(Q_IMPLAUSIBLE)
    return tuple(f for f in QUALITY_FLAGS if f in q)
