"""The one place where a detected contact becomes the per-step metrics of the analysis contract.

Every placement goes through `assemble_step`, so each key means the same on every sensor:

- ``gct_ms``: toe-off minus initial contact of the same contact;
- step time: IC to the next IC of either foot. A trunk sensor measures it; a foot sensor sees one
  foot only and takes half its stride (IC to the same foot's previous IC), i.e. symmetric steps;
- ``flight_ms``: toe-off to the next IC of either foot (= step time - contact time); negative when
  the next contact begins before this one ends (double support, walking), reported as it is;
- ``cadence_spm``: 60 / step time (both feet counted); when the next contact is unknown, from the
  previous one;
- ``duty_factor``: contact time / stride time (two steps);
- ``vertical_ratio_pct``: vertical oscillation / step length, step length = speed x step time;
- ``strike``: the class of ``fsa_deg`` by the configured thresholds, flagged ``near_boundary`` when
  the angle lies within ``near_boundary_deg`` (2 deg) of a class edge;
- ``arm_cross_cm``, ``arm_swing_deg``: as the detector measured them (a wrist sensor's stride,
  `gait.metrics.arm`); a wrist's event is a step marker whose ``stride_s`` is one swing cycle;
- ``quality``: the flags of the samples used and the detector's own, ``low_sample_rate`` (the
  stream, or foot strike below its rate), ``implausible`` (any value outside
  `gait.core.params.QualityParams`).
"""

from __future__ import annotations

from gait.core.config import PipelineConfig, rate_below
from gait.core.events import ContactEvent
from gait.core.records import Q_LOW_RATE, Q_NEAR_BOUNDARY, StepMetrics
from gait.metrics.foot_strike import classify_strike, near_class_edge
from gait.metrics.quality import step_quality_bits
from gait.metrics.temporal import cadence_spm, duty_factor, flight_ms, gct_ms, step_time_s
from gait.metrics.vertical import vertical_ratio_pct


def assemble_step(event: ContactEvent, config: PipelineConfig, sampling_rate_hz: float) -> StepMetrics:
    """`StepMetrics` of one detected contact (see the module docstring for each definition)."""
    ic = event.ic_s
    if event.next_ic_s is not None:
        step_s = step_time_s(ic, event.next_ic_s)
        next_ic = event.next_ic_s
    elif event.stride_s is not None:
        step_s = 0.5 * event.stride_s  # one foot seen: the other foot's contact half a stride on
        next_ic = ic + step_s
    else:
        step_s = next_ic = None
    cad_step = step_s
    if cad_step is None and event.prev_ic_s is not None:
        cad_step = ic - event.prev_ic_s
    cadence = cadence_spm(cad_step)
    if event.to_measured:
        g_ms: float | None = gct_ms(ic, event.to_s)
        fl = flight_ms(event.to_s, next_ic)
        duty = duty_factor(g_ms, cad_step)
    else:
        g_ms = fl = duty = None
    fsa = event.fsa_deg
    extra = set(event.quality)
    if fsa is not None and rate_below(sampling_rate_hz, config.min_rate_hz_foot_strike):
        extra.add(Q_LOW_RATE)
    if near_class_edge(fsa, config.strike):
        extra.add(Q_NEAR_BOUNDARY)
    quality = step_quality_bits(
        event.flag_bits,
        sampling_rate_hz,
        gct_ms=g_ms,
        vo_cm=event.vo_cm,
        cadence_spm=cadence,
        flight_ms=fl,
        fsa_deg=fsa,
        params=config.params.quality,
        extra=extra,
    )
    return StepMetrics(
        ic_s=float(ic),
        to_s=float(event.to_s),
        side=event.side,
        gct_ms=None if g_ms is None else float(g_ms),
        flight_ms=None if fl is None else float(fl),
        cadence_spm=None if cadence is None else float(cadence),
        vo_cm=event.vo_cm,
        vertical_ratio_pct=vertical_ratio_pct(event.vo_cm, config.speed_mps, step_s),
        fsa_deg=fsa,
        strike=classify_strike(fsa, config.strike),
        lean_deg=event.lean_deg,
        impact_g=event.impact_g,
        duty_factor=duty,
        arm_cross_cm=event.arm_cross_cm,
        arm_swing_deg=event.arm_swing_deg,
        quality=quality,
        emitted_s=event.emitted_s,
    )
