"""Pipeline configuration: a frozen dataclass that round-trips through JSON and TOML."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from gait.core.errors import ConfigError
from gait.core.params import PipelineParams
from gait.core.params import from_dict as params_from_dict
from gait.core.params import to_dict as params_to_dict

PLACEMENTS = ("sacrum", "waist", "chest", "foot", "wrist")
TRUNK_PLACEMENTS = ("sacrum", "waist", "chest")
ARM_PLACEMENTS = ("wrist",)  # a watch, an arm band at the wrist, or a phone held in the hand
SIDES = ("left", "right")
GRAVITY_MPS2 = 9.80665
MAX_FRAME_MS = 30000.0  # the longest processing frame (offline analysis); see FramedStage.max_frame_ms


RATE_TOLERANCE = 0.98  # a rate estimated from timestamps may read a little low (clock jitter)


def rate_below(sampling_rate_hz: float, needed_hz: float) -> bool:
    """True when a stream is really slower than ``needed_hz`` (200 Hz read as 199.99 is not)."""
    return sampling_rate_hz < RATE_TOLERANCE * needed_hz


@dataclass(frozen=True)
class StrikeThresholds:
    """Foot strike angle thresholds (deg, positive = toes up). Altman & Davis 2012 defaults:
    rearfoot above ``rearfoot_above_deg``, forefoot below ``forefoot_below_deg``, midfoot between.
    An angle within ``near_boundary_deg`` of either edge keeps its class and is flagged
    ``near_boundary``: the class of such a step is a coin toss within the angle's error."""

    rearfoot_above_deg: float = 8.0
    forefoot_below_deg: float = -1.6
    near_boundary_deg: float = 2.0


@dataclass(frozen=True)
class Calibration:
    """Result of an optional standing calibration (sensor still, runner upright / foot flat).

    ``gravity_sensor`` is the unit vector of 'up' in the sensor frame while standing; it
    sets the zero of trunk lean and of foot angle.
    """

    gravity_sensor: tuple[float, float, float]


@dataclass(frozen=True)
class PipelineConfig:
    placement: str = "sacrum"
    side: str | None = None  # for a foot sensor: which foot it is on (a wrist sensor: which wrist)
    speed_mps: float | None = None  # known running speed (treadmill, foot pod); enables vertical ratio
    strike: StrikeThresholds = field(default_factory=StrikeThresholds)
    calibration: Calibration | None = None
    frame_ms: float = 100.0  # live processing hop: results do not depend on it, latency and cost do
    acc_range_g: float | None = None  # full-scale range if known; otherwise clipping is detected from data
    min_rate_hz_foot_strike: float = 200.0
    params: PipelineParams = field(default_factory=PipelineParams)  # every stage's tuning parameters

    def __post_init__(self) -> None:
        if not isinstance(self.params, PipelineParams):
            raise ConfigError(f"params must be a PipelineParams, got {type(self.params).__name__}")
        if self.placement not in PLACEMENTS:
            raise ConfigError(f"placement must be one of {PLACEMENTS}, got {self.placement!r}")
        if self.side is not None and self.side not in SIDES:
            raise ConfigError(f"side must be one of {SIDES} or None, got {self.side!r}")
        if self.speed_mps is not None and not (0.0 < self.speed_mps < 15.0):
            raise ConfigError(f"speed_mps must be between 0 and 15 m/s, got {self.speed_mps}")
        if not (10.0 <= self.frame_ms <= MAX_FRAME_MS):
            raise ConfigError(f"frame_ms must be between 10 and {MAX_FRAME_MS:.0f}, got {self.frame_ms}")

    @property
    def is_trunk(self) -> bool:
        return self.placement in TRUNK_PLACEMENTS

    @property
    def is_arm(self) -> bool:
        return self.placement in ARM_PLACEMENTS

    def with_(self, **changes: Any) -> PipelineConfig:
        return replace(self, **changes)

    # --- serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Every setting, nested parameters included, as plain values (tables for groups)."""
        return params_to_dict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PipelineConfig:
        """The inverse of `to_dict`; missing keys keep their defaults (a partial table overrides
        only what it names). An unknown key, a wrong type or a value out of range is a
        `ConfigError` naming the setting."""
        return params_from_dict(cls, d)

    @classmethod
    def from_json(cls, text: str) -> PipelineConfig:
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_toml(cls, text: str, source: str = "TOML") -> PipelineConfig:
        """The ``[pipeline]`` table of a TOML document (other tables, such as ``[coach]`` and
        ``[influxdb]``, belong to other readers); no such table: the defaults."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{source}: not valid TOML: {exc}") from exc
        table = data.get("pipeline", {})
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: 'pipeline' must be a table")
        try:
            return cls.from_dict(table)
        except ConfigError as exc:
            raise ConfigError(f"{source} [pipeline]: {exc}") from exc

    def to_toml(self) -> str:
        """A ``[pipeline]`` table (nested groups as sub-tables, each parameter with its
        description as a comment) that `from_toml` reads back to an equal config."""
        lines = ["[pipeline]"]
        _toml_table(lines, "pipeline", self, self.to_dict(), top=True)
        return "\n".join(lines) + "\n"


def _toml_table(lines: list[str], name: str, obj: Any, d: dict[str, Any], top: bool = False) -> None:
    if not top and any(not isinstance(v, dict) for v in d.values()):
        lines.append(f"\n[{name}]")
    docs = {f.name: f.metadata.get("doc") for f in fields(obj)}
    tables = {}
    for k, v in d.items():
        if isinstance(v, dict):
            tables[k] = v
        elif v is not None:
            doc = docs.get(k)
            lines.append(f"{k} = {json.dumps(v)}" + (f"  # {doc}" if doc else ""))
    for k, table in tables.items():
        _toml_table(lines, f"{name}.{k}", getattr(obj, k), table)


def load_pipeline_toml(path: str | Path) -> PipelineConfig:
    """The pipeline configuration in the ``[pipeline]`` table of a TOML file (the project's one
    TOML file also holds ``[coach]`` and ``[influxdb]``, read elsewhere). A partial table
    overrides the defaults; an unreadable file or a bad setting is a `ConfigError`."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = "no such file" if isinstance(exc, FileNotFoundError) else (
            "is a folder" if isinstance(exc, IsADirectoryError) else str(exc)
        )
        raise ConfigError(f"{path}: cannot read the config: {reason}") from exc
    return PipelineConfig.from_toml(text, source=str(path))
