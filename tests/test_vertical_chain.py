"""Vertical oscillation per step from a chain of steps (`gait.metrics.vertical.vo_window_cm`).

The truth here is computed independently: a known height trajectory (per-foot bounce, a slow
drift) whose acceleration is its exact second derivative, and the motion-capture truth of the
validation set's virtual sacrum sensors.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from gait.core.config import PipelineConfig
from gait.metrics.vertical import vo_cm, vo_window_cm, vo_window_cm_many
from gait.pipeline import analyze

FS = 100.0


def _trajectory(n_steps: int = 14, step_s: float = 0.37):
    """The exact acceleration (m/s^2) of a known height trajectory, the IC positions and each step's own
    peak-to-trough (cm, from the trajectory itself).

    A bounce at the step frequency (5 cm amplitude), a component at the stride frequency (1 cm:
    the two feet bounce differently and touch down at different heights), a slow drift (the runner
    sinking and rising 1 cm over 12 s) and a constant offset in the acceleration (a gravity
    error). Contacts every ``step_s``."""
    t = np.arange(int(n_steps * step_s * FS) + 1) / FS
    w1 = 2.0 * np.pi / step_s
    w2 = 0.5 * w1
    w3 = 2.0 * np.pi / 12.0
    acc = -0.05 * w1**2 * np.sin(w1 * t + 2.4) - 0.01 * w2**2 * np.sin(w2 * t + 0.7) - 0.01 * w3**2 * np.sin(w3 * t) + 0.15
    ics = [i * step_s * FS for i in range(n_steps + 1)]
    truth = []
    fine = np.linspace(0.0, n_steps * step_s, 200001)
    zf = 0.05 * np.sin(w1 * fine + 2.4) + 0.01 * np.sin(w2 * fine + 0.7) + 0.01 * np.sin(w3 * fine)
    for i in range(n_steps):
        m = (fine >= i * step_s) & (fine <= (i + 1) * step_s)
        truth.append(100.0 * float(zf[m].max() - zf[m].min()))
    return acc, ics, truth


def test_each_foot_keeps_its_own_bounce_through_a_slow_drift():
    acc, ics, truth = _trajectory()
    got = []
    for last in range(8, len(ics)):  # chains of 8 steps, each ending with the step measured
        lo = int(math.floor(ics[last - 8]))
        hi = int(math.ceil(ics[last])) + 1
        got.append(vo_window_cm(acc[lo:hi], FS, [p - lo for p in ics[last - 8 : last + 1]]))
    want = truth[7:]
    d_want = np.mean(want[0::2]) - np.mean(want[1::2])
    assert abs(d_want) > 1.0  # the two feet's bounce differs (by construction)
    assert np.max(np.abs(np.array(got) - np.array(want))) < 0.1  # cm
    # forcing each step periodic cannot follow: its error is the size of the feet's difference
    per_step = [vo_cm(acc[int(ics[i]) : int(ics[i + 1])], (ics[i + 1] - ics[i]) / FS) for i in range(7, len(ics) - 1)]
    assert np.max(np.abs(np.array(per_step) - np.array(want))) > 0.5


def test_too_short_a_chain_gives_nothing():
    acc, ics, _ = _trajectory(n_steps=4)
    assert vo_window_cm(acc, FS, ics[:4]) is None  # 3 steps
    assert vo_window_cm(acc, FS, ics) is not None  # 4 steps


def _random_chains(rng, length: int, count: int) -> list[tuple[int, int, list[float]]]:
    """(start, samples, IC positions) of ``count`` chains of 4 to 8 steps of 30-42 samples,
    anywhere in a signal of ``length`` samples, some ending one sample after their last IC."""
    windows = []
    for _ in range(count):
        k = int(rng.integers(5, 10))
        step = float(rng.uniform(30.0, 42.0))
        ics = list(np.cumsum(np.r_[rng.uniform(0.0, 3.0), step + rng.normal(0.0, 1.5, k - 1)]))
        n = int(math.ceil(ics[-1])) + 1 - int(rng.integers(0, 2))
        windows.append((int(rng.integers(0, length - n)), n, ics))
    return windows


def test_many_chains_at_once_are_the_one_by_one_numbers_bit_for_bit():
    """`vo_window_cm_many` (a frame's chains together) returns exactly `vo_window_cm` of each chain:
    chains of 4 to 8 steps of different lengths from anywhere in a signal, too-short windows, a
    chain with a missing sample, a chain whose ICs coincide (singular fit), and ICs near the end."""
    rng = np.random.default_rng(7)
    acc, _, _ = _trajectory(n_steps=60)
    acc = acc + rng.normal(0.0, 0.3, acc.shape[0])
    acc[1500] = np.nan
    windows = _random_chains(rng, acc.shape[0], 300)
    windows.append((1480, 300, [float(i) for i in range(0, 300, 37)][:8]))  # the NaN inside
    windows.append((10, 6, [0.0, 1.0, 2.0, 3.0, 4.0]))  # too short a window
    windows.append((20, 100, [5.0, 5.0, 5.0, 5.0, 5.0]))  # one instant: no fit
    windows.append((40, 120, [0.0, 30.0, 60.0, 90.0]))  # 3 steps: nothing
    windows.append((50, 200, [1.5, 40.0, 80.2, 120.0, 160.1, 199.9]))  # the last IC at the window's end
    want = [vo_window_cm(acc[s : s + n], FS, ics) for s, n, ics in windows]
    got = vo_window_cm_many(acc, FS, windows)
    assert sum(v is not None for v in want) >= 295
    for w, g in zip(want, got):
        assert (w is None and g is None) or (w == g or (math.isnan(w) and math.isnan(g))), (w, g)


def test_virtual_sacrum_vo_per_step_against_the_markers(sacrum_trials):
    from firmware_interface.files.recording import read_recording

    errors = []
    for trial in sacrum_trials:
        doc = json.loads(Path(trial.truth).read_text(encoding="utf-8"))
        truth = [(s["ic_s"], s["vo_cm"], s["side"]) for s in doc["steps"] if s.get("vo_cm") and not s.get("excluded")]
        rec = read_recording(trial.csv)
        steps = analyze(rec.block(), PipelineConfig(placement="sacrum"), rec.sampling_rate_hz).steps
        by_side: dict[str, list[float]] = {"left": [], "right": []}
        true_side: dict[str, list[float]] = {"left": [], "right": []}
        for s in steps:
            if s.vo_cm is None:
                continue
            ic, vo, side = min(truth, key=lambda x: abs(x[0] - s.ic_s))
            if abs(ic - s.ic_s) > 0.1:
                continue
            errors.append(s.vo_cm - vo)
            by_side[side].append(s.vo_cm)
            true_side[side].append(vo)
        # the left/right difference of the marker bounce is kept (0.6 to 2.2 cm on these runners)
        d_true = np.mean(true_side["left"]) - np.mean(true_side["right"])
        d_got = np.mean(by_side["left"]) - np.mean(by_side["right"])
        assert abs(d_got - d_true) < 0.3, trial.name
    assert len(errors) > 500
    assert float(np.mean(np.abs(errors))) < 0.25


def test_a_waist_belt_reports_the_stride_mean(hip_block):
    steps = analyze(hip_block, PipelineConfig(placement="waist"), 100.0).steps
    vo = np.array([s.vo_cm for s in steps if s.vo_cm is not None])
    assert vo.size > 60
    alternating = vo[1:-1] - 0.5 * (vo[:-2] + vo[2:])
    assert float(np.median(np.abs(alternating))) < 1.0  # the site itself alternates by about 4 cm
    assert 6.0 < float(np.median(vo)) < 14.0


def test_the_chain_kernel_is_the_numpy_route_bit_for_bit():
    """`_vo_chain` (what a compiled build runs for `vo_window_cm`: the same operations in loops,
    NumPy's pairwise sum written out, `gait.dsp.reductions`) equals the NumPy route on chains of every length; where it
    cannot decide (a NaN sample, a singular fit) it says NaN and the NumPy route answers."""
    from gait.metrics.vertical import _vo_chain, _vo_window_numpy

    rng = np.random.default_rng(11)
    acc, _, _ = _trajectory(n_steps=60)
    acc = acc + rng.normal(0.0, 0.3, acc.shape[0])
    checked = 0
    for start, n, ics in _random_chains(rng, acc.shape[0], 120):
        a = np.ascontiguousarray(acc[start : start + n])
        want = _vo_window_numpy(a, FS, ics)
        got = _vo_chain(a, np.empty(n + 24), FS, [float(p) for p in ics])
        assert want is not None
        assert got == want, (got, want)
        checked += 1
    assert checked == 120
    bad = acc[:300].copy()
    bad[100] = np.nan
    assert math.isnan(_vo_chain(bad, np.empty(324), FS, [0.0, 37.0, 74.0, 111.0, 148.0]))
    assert math.isnan(_vo_chain(acc[:100].copy(), np.empty(124), FS, [5.0] * 5))  # singular
    assert _vo_window_numpy(acc[:100].copy(), FS, [5.0] * 5) is None
