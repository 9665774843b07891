"""Pipeline configuration: a frozen dataclass that round-trips through JSON and TOML."""

from __future__ import annotations

import json
import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from gait.core.errors import ConfigError

PLACEMENTS = ("sacrum", "waist", "chest", "foot")
TRUNK_PLACEMENTS = ("sacrum", "waist", "chest")
SIDES = ("left", "right")
GRAVITY_MPS2 = 9.80665
MAX_FRAME_MS = 2000.0  # stages size their history buffers for frames up to this long


RATE_TOLERANCE = 0.98  # a rate estimated from timestamps may read a little low (clock jitter)


def rate_below(sampling_rate_hz: float, needed_hz: float) -> bool:
    """True when a stream is really slower than ``needed_hz`` (200 Hz read as 199.99 is not)."""
    return sampling_rate_hz < RATE_TOLERANCE * needed_hz


@dataclass(frozen=True)
class StrikeThresholds:
    """Foot strike angle thresholds (deg, positive = toes up). Altman & Davis 2012 defaults:
    rearfoot above ``rearfoot_above_deg``, forefoot below ``forefoot_below_deg``, midfoot between."""

    rearfoot_above_deg: float = 8.0
    forefoot_below_deg: float = -1.6


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
    side: str | None = None  # for a foot sensor: which foot it is on
    speed_mps: float | None = None  # known running speed (treadmill, foot pod); enables vertical ratio
    strike: StrikeThresholds = field(default_factory=StrikeThresholds)
    calibration: Calibration | None = None
    frame_ms: float = 100.0  # live processing hop: results do not depend on it, latency and cost do
    acc_range_g: float | None = None  # full-scale range if known; otherwise clipping is detected from data
    min_rate_hz_foot_strike: float = 200.0

    def __post_init__(self) -> None:
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

    def with_(self, **changes: Any) -> PipelineConfig:
        return replace(self, **changes)

    # --- serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if d["calibration"] is not None:
            d["calibration"]["gravity_sensor"] = list(d["calibration"]["gravity_sensor"])
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PipelineConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ConfigError(f"unknown pipeline settings: {sorted(unknown)}")
        d = dict(d)
        if isinstance(d.get("strike"), dict):
            d["strike"] = StrikeThresholds(**d["strike"])
        cal = d.get("calibration")
        if isinstance(cal, dict):
            d["calibration"] = Calibration(gravity_sensor=tuple(float(v) for v in cal["gravity_sensor"]))
        try:
            return cls(**d)
        except TypeError as exc:
            raise ConfigError(str(exc)) from exc

    @classmethod
    def from_json(cls, text: str) -> PipelineConfig:
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_toml(cls, text: str) -> PipelineConfig:
        data = tomllib.loads(text)
        return cls.from_dict(data.get("pipeline", data))

    def to_toml(self) -> str:
        lines = ["[pipeline]"]
        d = self.to_dict()
        tables = {}
        for k, v in d.items():
            if isinstance(v, dict):
                tables[k] = v
            elif v is not None:
                lines.append(f"{k} = {json.dumps(v)}")
        for name, table in tables.items():
            lines.append(f"\n[pipeline.{name}]")
            for k, v in table.items():
                lines.append(f"{k} = {json.dumps(v)}")
        return "\n".join(lines) + "\n"
