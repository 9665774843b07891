"""The programme's one config: every threshold, its default and its hard bounds (spec F9).

    cfg = load_config({"stop_threshold_nrs": 4})          # any value inside its bounds
    cfg = apply_clinician_profile(cfg, {"leg_increment_nrs": 1})   # may only tighten

A value outside its bounds, of the wrong type or under an unknown name raises `ConfigOutOfBounds`
naming the setting. A clinician profile may tighten a limit (for every setting here a lower value
is the more cautious one) and never loosen it; the 14-day cap is fixed. No setting turns a rule
off.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gait.programme.errors import ConfigOutOfBounds

CONFIG_VERSION = 1
CAP_14_DAY_PCT = 30.0  # running minutes in any 14 days <= 1.30 x the 14 days before (R6); not configurable


@dataclass(frozen=True)
class Bound:
    name: str
    default: float
    low: float
    high: float
    unit: str
    meaning: str
    integer: bool = False


BOUNDS: tuple[Bound, ...] = (
    Bound("stop_threshold_nrs", 5, 3, 5, "NRS 0-10", "in-run stop (and red) when a value is above this", True),
    Bound("leg_increment_nrs", 2, 1, 2, "NRS points", "sciatica profile: stop (and red) when in-run leg pain "
          "rises this much over the pre-run value", True),
    Bound("settle_tolerance_nrs", 1, 0, 1, "NRS points", "next morning above baseline + this = did not settle "
          "(red); up to it = amber", True),
    Bound("weekly_increase_pct", 10, 5, 20, "%", "after stage 7: weekly running time may rise by at most this"),
    Bound("cadence_change_cap_pct", 10, 3, 10, "%", "largest cadence change over the runner's own baseline"),
    Bound("heat_ice_max_min", 20, 1, 20, "min", "longest heat or ice timer"),
    Bound("minimal_shoe_weekly_increase_pct", 10, 1, 10, "%", "minimal-footwear time may rise by at most this "
          "per week"),
)
BOUND_BY_NAME = {b.name: b for b in BOUNDS}
FADED_SCHEDULE_DEFAULT_PCT = (75.0, 50.0, 25.0, 0.0)  # feedback share in retraining sessions 5-8


@dataclass(frozen=True)
class ProgrammeConfig:
    stop_threshold_nrs: int = 5
    leg_increment_nrs: int = 2
    settle_tolerance_nrs: int = 1
    weekly_increase_pct: float = 10.0
    cadence_change_cap_pct: float = 10.0
    heat_ice_max_min: float = 20.0
    minimal_shoe_weekly_increase_pct: float = 10.0
    faded_schedule_pct: tuple[float, ...] = FADED_SCHEDULE_DEFAULT_PCT
    version: int = CONFIG_VERSION

    @property
    def cap_14_day_pct(self) -> float:
        return CAP_14_DAY_PCT

    def __post_init__(self) -> None:
        for b in BOUNDS:
            _check_bound(b, getattr(self, b.name))
        _check_schedule(self.faded_schedule_pct)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["faded_schedule_pct"] = list(self.faded_schedule_pct)
        d["cap_14_day_pct"] = CAP_14_DAY_PCT
        return d


def _check_bound(b: Bound, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigOutOfBounds(b.name, f"expected a number ({b.unit}), got {value!r}")
    if not math.isfinite(value):
        raise ConfigOutOfBounds(b.name, f"expected a finite number, got {value!r}")
    if b.integer and value != int(value):
        raise ConfigOutOfBounds(b.name, f"expected a whole number ({b.unit}), got {value!r}")
    if not b.low <= value <= b.high:
        raise ConfigOutOfBounds(b.name, f"{value:g} is outside its bounds {b.low:g}-{b.high:g} {b.unit} ({b.meaning})")


def _check_schedule(schedule: Any) -> None:
    name = "faded_schedule_pct"
    try:
        values = [float(v) for v in schedule]
    except (TypeError, ValueError):
        raise ConfigOutOfBounds(name, f"expected a list of percentages, got {schedule!r}") from None
    if not values or any(not 0.0 <= v <= 100.0 for v in values):
        raise ConfigOutOfBounds(name, "each value must be 0-100 %")
    if any(b > a for a, b in zip(values, values[1:], strict=False)) or values[-1] != 0.0:
        raise ConfigOutOfBounds(name, "must fall monotonically and end at 0 %")


def _values(mapping: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        if key in ("version",):
            if value != CONFIG_VERSION:
                raise ConfigOutOfBounds(key, f"this program reads config version {CONFIG_VERSION}, got {value!r}")
            continue
        if key == "cap_14_day_pct":
            if value != CAP_14_DAY_PCT:
                raise ConfigOutOfBounds(key, f"the 14-day cap is fixed at {CAP_14_DAY_PCT:g} %")
            continue
        if key == "faded_schedule_pct":
            _check_schedule(value)
            out[key] = tuple(float(v) for v in value)
            continue
        b = BOUND_BY_NAME.get(key)
        if b is None:
            raise ConfigOutOfBounds(key, "unknown setting (known: " + ", ".join(
                [x.name for x in BOUNDS] + ["faded_schedule_pct", "cap_14_day_pct"]) + ")")
        _check_bound(b, value)
        out[key] = int(value) if b.integer else float(value)
    return out


def load_config(mapping: Mapping[str, Any] | None = None) -> ProgrammeConfig:
    """The config from a mapping of settings (missing ones keep their defaults)."""
    return ProgrammeConfig(**_values(mapping or {}))


def apply_clinician_profile(base: ProgrammeConfig, mapping: Mapping[str, Any]) -> ProgrammeConfig:
    """``base`` tightened by a clinician profile. A value above the base's (looser) is refused."""
    values = _values(mapping)
    for key, value in values.items():
        current = getattr(base, key)
        if key == "faded_schedule_pct":
            continue  # any valid fading schedule (monotone, ending at 0) is allowed
        if value > current:
            raise ConfigOutOfBounds(key, f"a clinician profile may tighten this limit, not loosen it "
                                         f"({value:g} is looser than {current:g})")
    return dataclasses.replace(base, **values)


DEFAULT_CONFIG = ProgrammeConfig()
