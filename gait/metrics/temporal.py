"""Temporal step metrics (pure functions, times in seconds in, milliseconds / steps per minute out).

Cadence counts both feet: one step is initial contact (IC) to the next IC of either foot.
"""

from __future__ import annotations


def gct_ms(ic_s: float, to_s: float) -> float:
    """Ground contact time: IC to toe-off of the same contact."""
    return (to_s - ic_s) * 1000.0


def flight_ms(to_s: float, next_ic_s: float | None) -> float | None:
    """Flight time: toe-off to the next (other foot's) IC. Negative values mean no flight
    (double support, e.g. walking) and are returned as they are."""
    if next_ic_s is None:
        return None
    return (next_ic_s - to_s) * 1000.0


def step_time_s(ic_s: float, other_ic_s: float | None) -> float | None:
    if other_ic_s is None:
        return None
    dt = abs(other_ic_s - ic_s)
    return dt if dt > 0 else None


def cadence_spm(step_s: float | None) -> float | None:
    """Steps per minute (both feet counted) from one step time."""
    if step_s is None or step_s <= 0:
        return None
    return 60.0 / step_s


def duty_factor(gct_ms_value: float | None, step_s: float | None) -> float | None:
    """Fraction of a stride (two steps) that one foot is on the ground: GCT / (2 * step time)."""
    if gct_ms_value is None or step_s is None or step_s <= 0:
        return None
    return gct_ms_value / 1000.0 / (2.0 * step_s)
