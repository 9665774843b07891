"""Records that flow between pipeline stages.

Everything here is a frozen dataclass. Bulk samples travel as numpy arrays inside
`SampleBlock` / `BodyBlock`; every other record describes one event or one step.
Units are in the names; frames are in the names (SENSOR: ``x/y/z``; BODY: ``v/ap/ml``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

import numpy as np

from gait.core import step_fields

# Quality flags carried by `StepMetrics.quality` (strings, stable: part of the analysis contract).
Q_GAP = "gap"  # the step spans lost samples
Q_CLIPPING = "clipping"  # a sensor axis sat at its full-scale limit inside the step
Q_IMPLAUSIBLE = "implausible"  # a value outside physiological bounds (value kept, flagged)
Q_LOW_RATE = "low_sample_rate"  # the sample rate is below what this metric needs
Q_NAN = "nan"  # non-finite samples were replaced inside the step
Q_NO_GYRO = "no_gyro"  # foot placement running on the accelerometer only (degraded mode)
Q_UNCALIBRATED = "uncalibrated"  # angle zero taken from a default, not a standing calibration
Q_WARMUP = "warmup"  # orientation / gravity estimate not yet settled
Q_UNVALIDATED = "unvalidated"  # a metric of the step has no truth to be checked against yet (the arm metrics)
Q_SIDE_UNCERTAIN = "side_uncertain"  # a trunk sensor's side is a guess (a chain of steps too short or contradicting)
Q_NEAR_BOUNDARY = "near_boundary"  # the foot strike angle lies within 2 deg of a class edge: its class is uncertain
Q_WALKING = "walking"  # a wrist stride of walking, not running (|a| within the walking band all stride long)
QUALITY_FLAGS = (
    Q_GAP, Q_CLIPPING, Q_IMPLAUSIBLE, Q_LOW_RATE, Q_NAN, Q_NO_GYRO, Q_UNCALIBRATED, Q_WARMUP, Q_UNVALIDATED,
    Q_SIDE_UNCERTAIN, Q_NEAR_BOUNDARY, Q_WALKING,
)


def _array_eq(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True))


@dataclass(frozen=True, eq=False, slots=True)
class SampleBlock:
    """Consecutive samples in the SENSOR frame, SI-ish units (m/s^2, deg/s).

    ``index0`` is the stream index of the first sample (0 for the first sample ever);
    ``flags`` is a per-sample bit mask (see `SampleFlag`).
    """

    time_s: np.ndarray  # (n,) float64, strictly increasing
    acc_mps2: np.ndarray  # (n, 3) float64, specific force, gravity included
    gyr_dps: np.ndarray | None = None  # (n, 3) float64 or None (accelerometer only)
    index0: int = 0
    flags: np.ndarray | None = None  # (n,) uint8 SampleFlag bits, None = all clean

    def __len__(self) -> int:
        return int(self.time_s.shape[0])

    @property
    def has_gyro(self) -> bool:
        return self.gyr_dps is not None

    def slice(self, start: int, stop: int) -> SampleBlock:
        return slice_block(self, start, stop)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SampleBlock):
            return NotImplemented
        return (
            self.index0 == other.index0
            and _array_eq(self.time_s, other.time_s)
            and _array_eq(self.acc_mps2, other.acc_mps2)
            and _array_eq(self.gyr_dps, other.gyr_dps)
            and _array_eq(self.flags, other.flags)
        )

    @staticmethod
    def concat(blocks: list[SampleBlock]) -> SampleBlock:
        if not blocks:
            raise ValueError("concat of no blocks")
        return concat_blocks(blocks)


class SampleFlag:
    """Bits of `SampleBlock.flags`."""

    NAN = 1  # a non-finite value was replaced (held from the previous sample)
    CLIPPED = 2  # an axis sat at its full-scale limit
    AFTER_GAP = 4  # first sample after lost samples


@dataclass(frozen=True, eq=False, slots=True)
class BodyBlock:
    """Samples rotated into the BODY frame by the orientation stage.

    ``acc_v_mps2`` is vertical acceleration with gravity removed (positive up);
    ``acc_ap_mps2`` anteroposterior (positive forward, where the sign is known) and
    ``acc_ml_mps2`` mediolateral. ``gyr_ml_dps`` is the angular rate about the
    mediolateral axis (the pitch rate of a foot; positive = toes up), None without gyro.
    ``tilt_deg`` is the sagittal tilt of the sensor's reference axis from vertical
    (trunk lean for trunk placements, foot pitch for the foot), NaN when unknown.
    """

    time_s: np.ndarray
    acc_v_mps2: np.ndarray
    acc_ap_mps2: np.ndarray
    acc_ml_mps2: np.ndarray
    acc_norm_mps2: np.ndarray  # |specific force| (gravity included), for impacts and clipping
    gyr_ml_dps: np.ndarray | None
    tilt_deg: np.ndarray
    index0: int
    flags: np.ndarray  # (n,) uint8 SampleFlag bits (plus OrientationFlag bits)
    gyr_v_dps: np.ndarray | None = None  # angular rate about 'up' (yaw; positive counter-clockwise seen from above)
    gyr_ap_dps: np.ndarray | None = None  # angular rate about the forward axis (roll), None without gyro
    # vertical acceleration along each sample's own 'up' (gyro-aided: the trunk's rotation within
    # the stride followed), None without gyro; acc_v_mps2 uses the low-passed 'up' of the stride
    acc_v_gyro_mps2: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.time_s.shape[0])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BodyBlock):
            return NotImplemented
        return self.index0 == other.index0 and all(
            _array_eq(getattr(self, f.name), getattr(other, f.name))
            for f in fields(self)
            if f.name != "index0"
        )


@dataclass(frozen=True, slots=True)
class Gap:
    """Samples that should have arrived but did not (lost packets, a stalled sensor)."""

    start_s: float  # time of the last sample before the gap
    end_s: float  # time of the first sample after the gap
    missing_samples: int


@dataclass(frozen=True, slots=True)
class StepMetrics:
    """Per-contact metrics. Each field is declared in `gait.core.step_fields.STEP_FIELDS` (unit,
    contract key, store column, InfluxDB and FIT field); the keys match the analysis contract.

    A metric the placement cannot measure is None. ``emitted_s`` is the stream time
    (time of the newest sample seen) when the record was produced: a latency witness,
    not part of the analysis contract.
    """

    ic_s: float
    to_s: float
    side: str | None
    gct_ms: float | None
    flight_ms: float | None
    cadence_spm: float | None
    vo_cm: float | None
    vertical_ratio_pct: float | None
    fsa_deg: float | None
    strike: str | None
    lean_deg: float | None
    impact_g: float | None
    duty_factor: float | None
    arm_cross_cm: float | None = None
    arm_swing_deg: float | None = None
    quality: tuple[str, ...] = ()
    emitted_s: float = field(default=float("nan"), compare=False)

    CONTRACT_KEYS = step_fields.CONTRACT_KEYS

    def to_contract(self) -> dict:
        """The analysis-contract JSON object (only the contract keys)."""
        return self._json(step_fields.CONTRACT_KEYS)

    def to_dict(self) -> dict:
        """Every field but the latency witness (contract keys, then the extras), JSON-ready."""
        return self._json(step_fields.DICT_KEYS)

    def _json(self, keys: tuple[str, ...]) -> dict:
        out: dict = {}
        for key in keys:
            value = getattr(self, key)
            f = step_fields.FIELD_BY_NAME[key]
            if f.kind == step_fields.FLAGS:
                value = list(value)
            elif isinstance(value, float):
                value = _round_json(value, f.decimals)
            out[key] = value
        return out


def _round_json(value: float | None, decimals: int) -> float | None:
    if value is None:
        return None
    if not np.isfinite(value):
        return None
    return round(float(value), decimals)


assert tuple(f.name for f in fields(StepMetrics)) == tuple(f.name for f in step_fields.STEP_FIELDS), (
    "gait.core.step_fields.STEP_FIELDS must list the fields of StepMetrics, in order"
)


@dataclass(frozen=True, slots=True)
class QualityEvent:
    """A stream-level notice (sample rate too low, clipping began, wrong placement suspected)."""

    time_s: float
    code: str
    message: str


# Alert kinds
ALERT_CUE = "cue"  # voiced and shown: the runner's current focus drifted off target
ALERT_SILENT = "silent"  # recorded only: a rule outside the current focus (one change at a time)
ALERT_CLEAR = "clear"  # back on target after a cue
ALERT_STOP = "stop"  # pain stop rule: overrides every other cue


@dataclass(frozen=True, slots=True)
class Alert:
    """A form alert raised by the coach. ``time_s`` is stream time (the recording's time base)."""

    time_s: float
    rule: str  # "bounce", "vertical_ratio", "heel_strike", "cadence", "contact_time", "lean", "asymmetry", "pain"
    kind: str  # ALERT_CUE / ALERT_SILENT / ALERT_CLEAR / ALERT_STOP
    message: str  # short text for the screen and for speech
    value: float | None = None  # the windowed value that triggered it, in the rule's unit
    target: str = ""  # the target band in words, e.g. "6.4-8.1 cm"
    severity: str = "info"  # "info" | "warn" | "stop"


@dataclass(frozen=True, slots=True)
class PainNote:
    """A pain check-in: 0 (none) to 10 (worst), before, during or after the run."""

    time_s: float
    score: int
    phase: str  # "before" | "during" | "after"
    note: str = ""


# --- block records (SampleBlock, BodyBlock): slicing and joining, field by field ---------------

Block = TypeVar("Block", SampleBlock, BodyBlock)


def block_len(block: Any) -> int:
    return int(block.time_s.shape[0])


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(block: Any) -> tuple[str, ...]:
    """The field names of a block record's type (``dataclasses.fields`` is slow for a per-frame call)."""
    kind = type(block)
    names = _FIELD_NAMES.get(kind)
    if names is None:
        names = _FIELD_NAMES[kind] = tuple(f.name for f in fields(kind))
    return names


def slice_block(block: Block, start: int, stop: int) -> Block:
    """Samples ``start:stop`` of any block record (arrays sliced on axis 0, ``index0`` shifted)."""
    kwargs: dict[str, Any] = {}
    for name in _field_names(block):
        value = getattr(block, name)
        if name == "index0":
            kwargs[name] = value + start
        elif isinstance(value, np.ndarray):
            kwargs[name] = value[start:stop]
        else:
            kwargs[name] = value
    return type(block)(**kwargs)


def concat_blocks(blocks: list[Block]) -> Block:
    """Join consecutive block records of one type into one."""
    if len(blocks) == 1:
        return blocks[0]
    first = blocks[0]
    kwargs: dict[str, Any] = {}
    for name in _field_names(first):
        values = [getattr(b, name) for b in blocks]
        if name == "index0":
            kwargs[name] = values[0]
        elif all(v is None for v in values):
            kwargs[name] = None
        elif any(v is None for v in values):
            if name == "flags":
                kwargs[name] = np.concatenate(
                    [v if v is not None else np.zeros(block_len(b), np.uint8) for v, b in zip(values, blocks)]
                )
            else:
                raise ValueError(f"cannot join blocks where only some have {name}")
        else:
            kwargs[name] = np.concatenate(values)
    return type(first)(**kwargs)
