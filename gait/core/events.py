"""What a detector hands on: one ground contact, measured, before any metric is derived.

Detectors (`gait.detect.trunk`, `gait.detect.foot`) emit a `ContactEvent` per contact; one
function, `gait.metrics.assemble.assemble_step`, turns it into the `StepMetrics` of the analysis
contract for every placement, so a key means the same on every sensor. A detector reports what
only it can measure from the samples it holds (the times, the side, the vertical oscillation over
the step, the foot strike angle, the lean, the impact, which samples were flagged); every
derived number (contact and flight time, cadence, duty factor, vertical ratio, strike type,
plausibility) is the assembler's.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ContactEvent:
    """One ground contact as detected, in the recording's time base.

    Timing: ``ic_s`` / ``to_s`` are initial contact and toe-off. The contacts around it are known
    by one of two witnesses, whichever the sensor sees:

    - ``next_ic_s`` / ``prev_ic_s``: the IC of the next / previous contact of *either* foot (a
      trunk sensor feels every contact); None when there was none within a step;
    - ``stride_s``: IC of this foot's previous contact to this IC (a foot sensor sees one foot).

    ``to_measured`` is False when toe-off is only an estimate too coarse for contact time (a foot
    sensor without gyroscope): then contact time, flight time and duty factor are not reported.

    Measurements the detector made on its samples (None: not measurable at this placement):
    ``vo_cm`` (vertical oscillation over IC to next IC), ``fsa_deg`` (foot strike angle, positive
    toes up), ``lean_deg`` (mean trunk lean over the step), ``impact_g`` (peak |acc| just after IC),
    ``arm_cross_cm`` / ``arm_swing_deg`` (a wrist sensor: the hand's side-to-side travel and its
    swing angle over the stride that ends at this step, `gait.metrics.arm`).

    A wrist sensor feels no contact: its event is a *step marker*, the instant the arm's swing turns
    (`gait.detect.wrist`), with ``to_s`` = ``ic_s`` and ``to_measured`` False, and its stride
    (``stride_s``) is one swing cycle of that arm, two steps.

    Quality: ``flag_bits`` is the OR of the per-sample flag bits (`SampleFlag`, plus the
    orientation stage's bits) of the samples the step's numbers were read from; ``quality`` holds
    the flags the detector decided itself (``warmup``, ``uncalibrated``, ``no_gyro``,
    ``unvalidated``).
    ``emitted_s`` is the stream time when the contact was decided (a latency witness, not data).
    """

    ic_s: float
    to_s: float
    side: str | None = None
    next_ic_s: float | None = None
    prev_ic_s: float | None = None
    stride_s: float | None = None
    to_measured: bool = True
    vo_cm: float | None = None
    fsa_deg: float | None = None
    lean_deg: float | None = None
    impact_g: float | None = None
    arm_cross_cm: float | None = None
    arm_swing_deg: float | None = None
    flag_bits: int = 0
    quality: tuple[str, ...] = ()  # in the order of `gait.core.records.QUALITY_FLAGS`
    emitted_s: float = field(default=float("nan"), compare=False)
