"""Benchmarks: `gait bench` (speed, per-packet latency, step latency, memory).

Not imported by the live path; `gait.cli` wires `run_bench`. Names are loaded lazily so that
``python -m gait.bench.speed`` runs the module once.
"""

from __future__ import annotations

__all__ = ["SyntheticRunner", "percentiles", "run_bench", "synthetic_blocks"]


def __getattr__(name: str):
    if name in __all__:
        from gait.bench import speed

        return getattr(speed, name)
    raise AttributeError(f"module 'gait.bench' has no attribute {name!r}")
