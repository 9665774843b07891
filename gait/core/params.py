"""Tuning parameters of the pipeline stages, as data.

Every tunable of a stage (a detector threshold, a filter corner, a quality bound, a correction
switch) is a field of one of the frozen dataclasses below, with its unit in its name and a
one-line description in its metadata (``doc``; ``min`` / ``max`` bound the sane range). They are
grouped in `PipelineParams`, which `gait.core.config.PipelineConfig` carries as ``params``, so the
configuration stored with a run reproduces it. The defaults are the values the accuracy table in
the README was measured with.

Stages read their parameters from the config they are given (``config.params.trunk`` ...), never
from module globals. Physical constants (gravity) and format facts (flag bits) are not here.

Unit suffixes: ``_s`` seconds, ``_ms`` milliseconds, ``_hz`` hertz, ``_g`` multiples of standard
gravity, ``_mps2`` m/s^2, ``_dps`` deg/s, ``_deg`` degrees, ``_m`` metres, ``_cm`` centimetres,
``_spm`` steps per minute; ``_fraction`` / ``_weight`` / ``_ratio`` are dimensionless, ``_count``
a number of items. Booleans switch a correction or a rule on.
"""

from __future__ import annotations

import math
import typing
from dataclasses import MISSING, Field, dataclass, field, fields, is_dataclass
from functools import cache
from types import UnionType
from typing import Any

from gait.core.errors import ConfigError


class UnknownSettingError(ConfigError):
    """A configuration names a setting that does not exist; ``key`` is its dotted path."""

    def __init__(self, key: str, known: list[str]):
        self.key = key
        self.known = known
        super().__init__(f"unknown setting {key!r} (known here: {', '.join(known)})")


def param(default: Any, doc: str, lo: float | None = None, hi: float | None = None) -> Any:
    """A parameter field: its default, a one-line description and its sane range (inclusive)."""
    return field(default=default, metadata={"doc": doc, "min": lo, "max": hi})


def doc_of(cls: type, name: str) -> str:
    """The one-line description of field ``name`` of a parameters class."""
    for f in fields(cls):
        if f.name == name:
            return str(f.metadata.get("doc", ""))
    raise KeyError(name)


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def convert_value(tp: Any, value: Any, where: str) -> Any:
    """``value`` as type ``tp`` (float, int, bool, str, a tuple, an optional, a dataclass built from
    a dict); a `ConfigError` naming ``where`` when it cannot be."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:
            return convert_value(options[0], value, where)
        raise ConfigError(f"{where}: unsupported type {tp}")  # pragma: no cover - not used
    if isinstance(tp, type) and is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if isinstance(value, dict):
            return from_dict(tp, value, where)
        raise ConfigError(f"{where} must be a table of settings, got {value!r}")
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, list | tuple) or len(value) != len(args):
            raise ConfigError(f"{where} must be a list of {len(args)} values, got {value!r}")
        return tuple(convert_value(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be a whole number, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where} must be a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise ConfigError(f"{where} must be finite, got {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string, got {value!r}")
        return value
    raise ConfigError(f"{where}: unsupported type {tp}")  # pragma: no cover - not used


def from_dict(cls: type, data: dict[str, Any], where: str = "") -> Any:
    """Build the dataclass ``cls`` from a plain dict (nested tables for nested dataclasses).

    Missing keys keep their defaults; an unknown key is a `ConfigError` naming it (with its path,
    e.g. ``params.trunk.min_contact_s``); so is a value of the wrong type or out of range."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where or cls.__name__} must be a table of settings, got {data!r}")
    names = {f.name for f in fields(cls) if f.init}
    prefix = f"{where}." if where else ""
    unknown = [k for k in data if k not in names]
    if unknown:
        raise UnknownSettingError(prefix + unknown[0], sorted(names))
    hints = _hints(cls)
    kwargs = {k: convert_value(hints[k], v, prefix + k) for k, v in data.items()}
    try:
        return cls(**kwargs)
    except UnknownSettingError:
        raise
    except ConfigError as exc:
        if not where:
            raise
        raise ConfigError(f"{where}: {exc}") from exc


def to_dict(obj: Any) -> dict[str, Any]:
    """Plain dict of a (nested) dataclass: tuples become lists, nested dataclasses dicts."""

    def plain(v: Any) -> Any:
        if is_dataclass(v) and not isinstance(v, type):
            return to_dict(v)
        if isinstance(v, tuple | list):
            return [plain(x) for x in v]
        return v

    return {f.name: plain(getattr(obj, f.name)) for f in fields(obj)}


def _check_field(cls: type, f: Field, value: Any) -> Any:
    where = f"{cls.__name__}.{f.name}"
    value = convert_value(_hints(cls)[f.name], value, where)
    lo, hi = f.metadata.get("min"), f.metadata.get("max")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise ConfigError(f"{where} = {value} is out of range [{lo}, {hi}] ({f.metadata.get('doc', '')})")
    return value


@dataclass(frozen=True)
class Params:
    """Base of the parameter groups: checks type and range of every field when built."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            checked = _check_field(type(self), f, value)
            if checked is not value:
                object.__setattr__(self, f.name, checked)


# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlacementCheckParams(Params):
    """Is the sensor where the user says it is (`gait.dsp.placement_check`)."""

    window_s: float = param(1.0, "statistics are kept per window of this length", 0.1, 10.0)
    moving_windows_count: int = param(20, "moving windows needed before the verdict", 1, 10000)
    moving_range_g: float = param(1.0, "a window is moving when max - min of |acc| exceeds this", 0.0, 16.0)
    trunk_max_acc_g: float = param(6.0, "typical |acc| peak above this (no gyro): not a trunk sensor", 1.0, 64.0)
    foot_min_acc_g: float = param(5.0, "typical |acc| peak below this (no gyro): not a foot sensor", 1.0, 64.0)
    trunk_max_gyr_dps: float = param(350.0, "typical angular-rate peak above this: not a trunk sensor", 10.0, 5000.0)
    foot_min_gyr_dps: float = param(300.0, "typical angular-rate peak below this: not a foot sensor", 10.0, 5000.0)


@dataclass(frozen=True)
class SanitizeParams(Params):
    """The first stage: gaps, non-finite values, clipping (`gait.dsp.sanitize`)."""

    gap_period_ratio: float = param(1.5, "a time step longer than this many nominal periods is a gap", 1.01, 1000.0)
    clip_acc_min_g: float = param(4.0, "unknown range: flat acc samples at the largest magnitude above this are clipped", 0.5, 64.0)
    clip_gyr_min_dps: float = param(1000.0, "unknown range: flat gyro samples at the largest magnitude above this are clipped", 10.0, 10000.0)
    clip_range_fraction: float = param(0.995, "known range: |acc| at this fraction of full scale is clipped", 0.5, 1.0)


@dataclass(frozen=True)
class OrientationParams(Params):
    """Trunk orientation: gravity, forward axis, lean (`gait.dsp.orientation`)."""

    gravity_lp_hz: float = param(0.5, "corner of the low-pass that estimates gravity (up)", 0.01, 5.0)
    gravity_lp_order: int = param(4, "order of that Butterworth low-pass", 1, 8)
    ap_tau_s: float = param(4.0, "time constant of the forward-axis correlation average", 0.1, 60.0)
    gyro_bias_hp_hz: float = param(0.05, "gyro bias removal: corner of the leaky integrator of the angle", 0.001, 1.0)
    ap_min_correlation: float = param(0.08, "below this AP / vertical correlation the forward axis is unknown", 0.0, 1.0)
    warmup_s: float = param(4.0, "the gravity estimate is blended with the running mean and flagged warmup this long", 0.0, 60.0)
    gyro_correction: bool = param(True, "with a gyro, lean from gravity low-passed in the mean-attitude frame")
    min_tilt_s: float = param(1.0, "a calibrated lean is unknown (NaN) before this much data", 0.0, 60.0)


@dataclass(frozen=True)
class TrunkDetectParams(Params):
    """Trunk contact detection (`gait.detect.trunk`; the module docstring explains each rule)."""

    contact_threshold_g: float = param(0.4, "segmentation: smoothed vertical specific force above this is a contact", -1.0, 3.0)
    min_peak_g: float = param(1.3, "a contact's vertical specific force peaks at least this high", 0.0, 10.0)
    merge_gap_s: float = param(0.03, "dips below the threshold shorter than this are bridged", 0.0, 0.5)
    min_contact_s: float = param(0.07, "shortest contact", 0.005, 1.0)
    max_contact_s: float = param(0.6, "longest contact", 0.05, 3.0)
    max_step_s: float = param(0.75, "longest step (IC to next IC) still one step", 0.1, 5.0)
    smooth_half_s: float = param(0.02, "half width of the Hann kernel smoothing the vertical force", 0.001, 0.5)
    impact_window_s: float = param(0.06, "impact = peak |acc| in this window after IC", 0.001, 0.5)
    refine_window_s: float = param(0.1, "IC / TO crossings are searched this far from the segmentation crossings", 0.005, 1.0)
    free_fall_level_g: float = param(0.0, "IC / TO level before any flight floor is known, and for uneven flights", -1.0, 2.0)
    high_level_g: float = param(0.5, "IC / TO level when the recording never shows free fall", -1.0, 2.0)
    min_level_g: float = param(-0.3, "lowest IC / TO level", -1.5, 2.0)
    flight_margin_g: float = param(0.08, "IC / TO level above the flight level", -1.0, 1.0)
    flat_flight_g: float = param(0.15, "flight median - flight minimum below this: a flat flight", 0.0, 2.0)
    flat_blend_g: float = param(0.1, "width of the blend from a flat flight's level to the free-fall level", 0.001, 2.0)
    floor_free_fall_g: float = param(-0.25, "flight floor at or below this: free fall is visible", -2.0, 2.0)
    floor_no_dip_g: float = param(0.0, "flight floor at or above this: no dip, the high level", -2.0, 2.0)
    floor_window_s: float = param(0.25, "the flight floor is read in this window before each contact", 0.01, 2.0)
    floor_ema_weight: float = param(0.2, "weight of the newest contact in the flight-floor average", 0.0, 1.0)
    alternation_correction: bool = param(True, "remove the alternating left/right IC / TO bias of an off-midline sensor")
    alt_ema_weight: float = param(0.25, "weight of the newest contact in its foot's width / step average", 0.0, 1.0)
    alt_ic_free_s: float = param(0.004, "alternating IC offset kept as it is (real asymmetry)", 0.0, 0.2)
    alt_width_free_s: float = param(0.004, "alternating half-width difference kept as it is", 0.0, 0.2)
    side_from_ml: bool = param(False, "side from the sign of the stance-mean ML acceleration (unreliable: off)")
    side_min_ml_mps2: float = param(0.3, "that rule needs at least this stance-mean ML acceleration", 0.0, 20.0)
    side_from_gyro: bool = param(True, "side from the roll rate just after IC (left positive), over the chain of steps")
    side_window_s: float = param(0.1, "the roll rate is averaged over this window after IC", 0.005, 0.5)
    side_min_roll_dps: float = param(2.0, "a chain's side needs at least this much agreeing roll evidence", 0.0, 500.0)
    side_memory_weight: float = param(0.9, "per step, the share kept of the chain's earlier side evidence", 0.0, 1.0)
    side_min_steps_count: int = param(3, "steps with roll evidence before a chain's side is known", 1, 100)
    side_min_agreement_fraction: float = param(0.75, "share of the chain's side evidence that must agree for a known side", 0.5, 1.0)
    side_hold_s: float = param(2.0, "a new chain's steps wait at most this long for a known side", 0.0, 10.0)
    side_break_step_ratio: float = param(1.6, "a step longer than this x the typical step breaks the alternation", 1.1, 5.0)


@dataclass(frozen=True)
class FootDetectParams(Params):
    """Foot contact detection and strike angle (`gait.detect.foot`; see its module docstring)."""

    gap_s: float = param(0.5, "two samples further apart than this are a gap in the data", 0.01, 10.0)
    history_s: float = param(6.0, "history any decision may look back on (beyond the current frame)", 3.0, 60.0)
    max_stride_s: float = param(2.5, "two mid-swings further apart than this are not one stride", 0.5, 10.0)
    min_stride_s: float = param(0.3, "shortest stride", 0.05, 2.0)
    boot_window_s: float = param(3.0, "window used to find the pitch axis and its sign at start-up", 0.5, 10.0)
    boot_every_s: float = param(0.5, "start-up (and accelerometer period) attempts this often", 0.01, 5.0)
    replay_s: float = param(3.5, "history scanned for mid-swings once the axis is known", 0.0, 5.0)
    pause_s: float = param(3.0, "no mid-swing for this long: the peak history is forgotten", 0.5, 60.0)
    min_peak_dps: float = param(100.0, "a mid-swing pitch-rate peak is at least this fast", 1.0, 3000.0)
    min_boot_rms_dps: float = param(60.0, "angular-rate RMS needed to try to find the axis", 0.0, 3000.0)
    peak_fraction: float = param(0.45, "mid-swing threshold: this fraction of the median of recent peaks", 0.0, 1.0)
    confirm_s: float = param(0.1, "a mid-swing is not exceeded for this long after it", 0.005, 1.0)
    warmup_strides_count: int = param(2, "the first strides of a chain are flagged warmup", 0, 100)
    impact_window_s: float = param(0.05, "impact = peak |acc| in this window after IC", 0.001, 0.5)
    flip_vote: float = param(-0.25, "forget-weighted sign evidence below this: the axis sign is re-found", -1.0, 0.0)
    axis_forget_weight: float = param(0.95, "per-stride forgetting of the angular-rate covariance (pitch axis)", 0.0, 1.0)
    ic_slap_fraction: float = param(0.6, "a heel strike touches down when the rate reaches this x the slap minimum", 0.0, 1.0)
    slap_min_deg: float = param(5.0, "slap rotation from which the IC starts moving to that point", 0.0, 90.0)
    slap_max_deg: float = param(10.0, "slap rotation from which the IC is at that point", 0.001, 90.0)
    to_delay_s: float = param(0.0, "without a forefoot lift: toe-off follows the push-off pitch-rate minimum by this (plus the fraction below)", -0.2, 0.2)
    to_delay_fraction: float = param(0.082, "toe-off follows that minimum by this fraction of the time from IC to it", 0.0, 0.5)
    to_scale_min_s: float = param(0.15, "that time is taken as at least this (a running contact's range)", 0.0, 2.0)
    to_scale_max_s: float = param(0.30, "... and at most this (walking's push-off keeps the running delay)", 0.0, 2.0)
    to_deep_fraction: float = param(0.9, "the push-off minimum is the first reaching this fraction of its dip's deepest", 0.0, 1.0)
    to_dip_fraction: float = param(0.6, "the push-off dip: the first stretch below this fraction of the cycle's deepest", 0.0, 1.0)
    to_pivot_fit_fraction: float = param(0.3, "the push-off pivot is fitted where the pitch rate is below this x the push-off minimum", 0.0, 1.0)
    to_pivot_lift_mps: float = param(0.3, "the pivot (the forefoot) lifts when its speed passes this", 0.0, 5.0)
    to_pivot_after_s: float = param(0.1, "... searched up to this after the push-off minimum (and not more before it)", 0.0, 0.5)
    to_pivot_min_m: float = param(0.03, "a pivot fitted nearer the sensor than this is not the forefoot", 0.0, 1.0)
    to_pivot_max_m: float = param(0.3, "... nor one farther than this", 0.0, 2.0)
    to_lift_delay_fraction: float = param(0.07, "toe-off follows the lift by this fraction of the time from IC to it", 0.0, 0.5)
    stride_g_tol_fraction: float = param(0.05, "a stride's mean specific force must be g within this fraction", 0.0, 1.0)
    min_stride_m: float = param(0.3, "a stride shorter than this gives no direction of travel", 0.0, 10.0)
    foot_progression_deg: float = param(9.0, "toe-out prior: the foot points this far outwards of its travel", -45.0, 45.0)
    est_gain_weight: float = param(0.2, "weight of the newest stride in the running 'up' and forward estimates", 0.0, 1.0)
    gyro_box_s: float = param(0.04, "moving average of the pitch rate for mid-swing detection", 0.001, 0.5)
    acc_box_s: float = param(0.12, "moving average of the capped |acc| (accelerometer-only swing hump)", 0.001, 1.0)
    edge_swing_fraction: float = param(0.3, "the partial first cycle must show late swing above this x threshold", 0.0, 1.0)
    acc_cap_g: float = param(16.0, "accelerometer only: impacts capped at this before the low-pass", 1.0, 64.0)
    min_hump_g: float = param(2.5, "accelerometer only: mid-swing hump of the low-passed |acc|, at least this", 0.0, 64.0)
    acc_to_min_s: float = param(0.1, "accelerometer only: toe-off is searched from this long after IC", 0.0, 1.0)
    acc_to_fraction: float = param(0.2, "accelerometer only: toe-off where |acc| rises this fraction of the hump", 0.0, 1.0)
    acf_window_s: float = param(4.0, "accelerometer only: window of the stride-period autocorrelation", 1.7, 20.0)
    acf_min_lag_s: float = param(0.5, "accelerometer only: shortest stride period searched", 0.1, 5.0)
    acf_max_lag_s: float = param(1.6, "accelerometer only: longest stride period searched", 0.2, 10.0)
    acf_min_correlation: float = param(0.3, "accelerometer only: an autocorrelation peak at most this is no period", 0.0, 1.0)
    acf_near_best_fraction: float = param(0.85, "accelerometer only: the first peak above this x the best is the period", 0.0, 1.0)
    refractory_acf_fraction: float = param(0.65, "accelerometer only: no mid-swing within this x the period after one", 0.0, 1.0)
    refractory_stride_fraction: float = param(0.6, "no mid-swing within this x the median stride after one", 0.0, 1.0)
    history_strides_count: int = param(7, "recent mid-swing peaks and strides kept for their medians", 1, 100)
    rate_smooth_half_s: float = param(0.004, "half width of the moving average of the pitch rate for IC / TO", 0.0, 0.05)
    foot_flat_window_s: float = param(0.05, "moving average of the angular-rate norm that finds foot flat", 0.001, 0.5)
    boot_min_vote: float = param(0.15, "start-up: sign evidence needed to accept the pitch axis", 0.0, 1.0)
    vote_ema_weight: float = param(0.2, "weight of the newest stride in the axis-sign evidence", 0.0, 1.0)
    first_cycle_stride_ratio: float = param(1.2, "the contact before the first mid-swing is searched this many strides back", 0.5, 3.0)
    acc_rise_s: float = param(0.02, "accelerometer only: IC = middle of the steepest |acc| rise over this", 0.001, 0.5)
    acc_hump_back_s: float = param(0.15, "accelerometer only: the hump's top is searched this far before the jerk peak", 0.0, 1.0)
    acc_rise_after_s: float = param(0.08, "accelerometer only: the rise is searched this far after the jerk peak", 0.0, 1.0)


@dataclass(frozen=True)
class WristDetectParams(Params):
    """A wrist sensor: steps from the arm swing, arm crossing and swing per stride
    (`gait.detect.wrist`, `gait.metrics.arm`; see their module docstrings)."""

    band_low_hz: float = param(0.4, "arm-swing band-pass: lower corner", 0.05, 5.0)
    band_high_hz: float = param(2.0, "arm-swing band-pass: upper corner (below the step frequency of running)", 0.5, 10.0)
    band_order: int = param(2, "order of that Butterworth band-pass", 1, 6)
    gravity_lp_hz: float = param(0.3, "accelerometer only: corner of the low-pass that finds 'up'", 0.01, 5.0)
    axis_window_s: float = param(3.0, "the swing axis is the principal axis of the band-passed signal over this window", 1.0, 30.0)
    axis_every_s: float = param(0.5, "the swing axis is refreshed this often", 0.05, 10.0)
    hysteresis_fraction: float = param(0.3, "a half swing counts once it reached this fraction of the recent swings", 0.0, 1.0)
    min_swing_dps: float = param(20.0, "with a gyroscope: a half swing peaks at least this fast", 0.0, 1000.0)
    min_swing_mps2: float = param(0.5, "accelerometer only: a half swing peaks at least this strongly", 0.0, 100.0)
    walk_low_g: float = param(0.5, "a stride is walking when |a| never falls below this (g) ...", 0.0, 5.0)
    walk_high_g: float = param(2.0, "... and never rises above this (g): flagged 'walking' (running lands harder)", 0.0, 10.0)
    peaks_count: int = param(6, "recent half-swing peaks kept for their median", 1, 100)
    min_step_s: float = param(0.2, "a half swing shorter than this is not a step (ignored)", 0.05, 2.0)
    max_step_s: float = param(0.75, "a half swing longer than this breaks the chain of steps", 0.1, 5.0)
    restart_s: float = param(2.0, "after lost samples the band-pass restarts: no step marker for this long", 0.0, 30.0)
    forward_hp_hz: float = param(8.0, "direction of travel: the impact band above this corner", 1.0, 100.0)
    forward_ema_weight: float = param(0.2, "weight of the newest stride in the direction-of-travel average", 0.0, 1.0)
    forward_min_strides_count: int = param(4, "strides averaged before the arm crossing is reported", 1, 100)
    forward_min_correlation: float = param(0.25, "below this impact correlation the direction of travel is unknown", 0.0, 1.0)
    cross_max_cm: float = param(60.0, "an arm crossing above this is implausible", 1.0, 500.0)
    swing_max_deg: float = param(200.0, "an arm swing above this is implausible", 1.0, 720.0)


@dataclass(frozen=True)
class QualityParams(Params):
    """Plausibility bounds and rate needs behind the per-step quality flags (`gait.metrics.quality`)."""

    gct_min_ms: float = param(80.0, "contact time below this is implausible", 0.0, 2000.0)
    gct_max_ms: float = param(600.0, "contact time above this is implausible", 0.0, 5000.0)
    vo_min_cm: float = param(1.0, "vertical oscillation below this is implausible", 0.0, 100.0)
    vo_max_cm: float = param(25.0, "vertical oscillation above this is implausible", 0.0, 200.0)
    cadence_min_spm: float = param(100.0, "cadence below this is implausible", 0.0, 500.0)
    cadence_max_spm: float = param(260.0, "cadence above this is implausible", 0.0, 1000.0)
    flight_min_ms: float = param(-150.0, "flight time below this (a long double support) is implausible", -2000.0, 0.0)
    fsa_max_abs_deg: float = param(40.0, "foot strike angle beyond +- this is implausible", 0.0, 90.0)
    min_rate_hz: float = param(50.0, "below this sample rate every metric is flagged low_sample_rate", 1.0, 5000.0)


@dataclass(frozen=True)
class VerticalParams(Params):
    """Vertical oscillation by periodic double integration (`gait.metrics.vertical`)."""

    max_harmonic_hz: float = param(25.0, "harmonics of the step above this are dropped", 1.0, 500.0)
    oversample_count: int = param(4, "the trajectory is evaluated on a grid this many times finer", 1, 64)
    window_steps_count: int = param(8, "a step's VO is read from the chain of this many steps ending with it", 4, 64)
    min_window_steps_count: int = param(4, "shorter chains: the last stride (or step) forced periodic", 4, 64)


@dataclass(frozen=True)
class PipelineParams(Params):
    """Every stage's parameters, one group per stage family."""

    sanitize: SanitizeParams = field(default_factory=SanitizeParams)
    placement_check: PlacementCheckParams = field(default_factory=PlacementCheckParams)
    orientation: OrientationParams = field(default_factory=OrientationParams)
    trunk: TrunkDetectParams = field(default_factory=TrunkDetectParams)
    foot: FootDetectParams = field(default_factory=FootDetectParams)
    wrist: WristDetectParams = field(default_factory=WristDetectParams)
    quality: QualityParams = field(default_factory=QualityParams)
    vertical: VerticalParams = field(default_factory=VerticalParams)

    def __post_init__(self) -> None:
        super().__post_init__()
        t, q, ft = self.trunk, self.quality, self.foot
        for lo, hi, what in (
            (t.min_contact_s, t.max_contact_s, "trunk.min_contact_s <= trunk.max_contact_s"),
            (t.floor_free_fall_g, t.floor_no_dip_g, "trunk.floor_free_fall_g < trunk.floor_no_dip_g"),
            (ft.min_stride_s, ft.max_stride_s, "foot.min_stride_s <= foot.max_stride_s"),
            (ft.slap_min_deg, ft.slap_max_deg, "foot.slap_min_deg < foot.slap_max_deg"),
            (self.wrist.min_step_s, self.wrist.max_step_s, "wrist.min_step_s < wrist.max_step_s"),
            (self.wrist.band_low_hz, self.wrist.band_high_hz, "wrist.band_low_hz < wrist.band_high_hz"),
            (self.wrist.walk_low_g, self.wrist.walk_high_g, "wrist.walk_low_g < wrist.walk_high_g"),
            (q.gct_min_ms, q.gct_max_ms, "quality.gct_min_ms <= quality.gct_max_ms"),
            (q.vo_min_cm, q.vo_max_cm, "quality.vo_min_cm <= quality.vo_max_cm"),
            (q.cadence_min_spm, q.cadence_max_spm, "quality.cadence_min_spm <= quality.cadence_max_spm"),
        ):
            strict = "<" in what and "<=" not in what
            if lo > hi or (strict and lo == hi):
                raise ConfigError(f"{what} is required (got {lo} and {hi})")
        if ft.acf_min_lag_s >= ft.acf_max_lag_s or ft.acf_max_lag_s >= ft.acf_window_s:
            raise ConfigError("foot.acf_min_lag_s < foot.acf_max_lag_s < foot.acf_window_s is required")
        needed_s = max(ft.boot_window_s, ft.replay_s, ft.acf_window_s, 2.0 * ft.max_stride_s)
        if ft.history_s < needed_s:
            raise ConfigError(f"foot.history_s must cover the longest window ({needed_s} s), got {ft.history_s}")


def default_of(f: Field) -> Any:
    """The default value of a dataclass field."""
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:
        return f.default_factory()
    raise KeyError(f.name)  # pragma: no cover - every parameter has a default
