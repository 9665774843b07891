"""Foot pipeline (FootStepStage) on synthetic foot kinematics with known events and angles.

The synthetic model: a sagittal foot pitch profile per stride (late-swing toes-up, IC at the
strike angle, a forefoot slap or heel drop to foot flat, quiet stance, push-off to toe-off,
deep toes-down early swing), positions of the foot in the sagittal plane (still in stance,
forward swing), rotated into the sensor frame by a random mounting rotation, gravity added,
MEMS-like noise. Pitch positive = toes up (rotation about the right-pointing axis).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.interpolate import PchipInterpolator
from scipy.spatial.transform import Rotation

from gait.core.config import GRAVITY_MPS2, Calibration, PipelineConfig
from gait.core.records import Q_IMPLAUSIBLE, Q_LOW_RATE, Q_NO_GYRO, Q_UNCALIBRATED, SampleBlock, StepMetrics
from gait.detect.foot import FootStepStage
from gait.metrics.foot_strike import classify_strike
from gait.pipeline import Pipeline, analyze


def synth_foot(
    fs: float = 200.0,
    n_strides: int = 30,
    stride_s: float = 0.72,
    gct_s: float = 0.25,
    fsa_deg: float = 20.0,
    seed: int = 0,
    still_s: float = 0.0,
):
    """Returns (SampleBlock, truth dict with ic_s, to_s, fsa_deg, up_sensor)."""
    rng = np.random.default_rng(seed)
    t0 = 0.5 + still_s
    rfs = fsa_deg > 5.0
    land = 0.05 if rfs else 0.04
    knots_t, knots_th = [], []
    ics, tos = [], []
    for k in range(-1, n_strides + 1):
        ic = t0 + k * stride_s
        prof = [
            (-0.08, fsa_deg + (4.0 if rfs else 3.0)),
            (0.0, fsa_deg),
            (land, 0.0),
            (0.5 * gct_s, 0.0),
            (gct_s - 0.02, -30.0),  # push-off: fastest toes-down rotation just before toe-off
            (gct_s, -38.0),
            (gct_s + 0.08, -55.0),
            (gct_s + 0.2, -45.0),
        ]
        for dt, th in prof:
            knots_t.append(ic + dt)
            knots_th.append(th)
        if k >= 0:
            ics.append(ic)
            tos.append(ic + gct_s)
    order = np.argsort(knots_t)
    pitch = PchipInterpolator(np.array(knots_t)[order], np.radians(np.array(knots_th)[order]))
    t_end = t0 + n_strides * stride_s + 0.3
    t = np.arange(0.0, t_end, 1.0 / fs)
    # every contact whose toe-off is inside the recording is a real contact
    keep = [i for i, to in enumerate(tos) if to + 0.03 < t_end]
    ics, tos = [ics[i] for i in keep], [tos[i] for i in keep]
    th = pitch(t)
    w = pitch.derivative()(t)
    # stand still before the first stride
    before = t < t0 - stride_s + 0.15
    th = np.where(before, 0.0, th)
    w = np.where(before, 0.0, w)
    # foot position (x forward, y up): still in stance, swings forward by two step lengths
    phase = (t - t0) % stride_s
    swing = (phase > gct_s) & ~before
    s = np.clip((phase - gct_s) / (stride_s - gct_s), 0.0, 1.0)
    t_sw = stride_s - gct_s
    step_m = 2.5 * stride_s  # the foot travels one stride length (about 2 x step) during swing
    acc_x = np.where(swing, 2 * np.pi * step_m / t_sw**2 * np.sin(2 * np.pi * s), 0.0)
    acc_y = np.where(swing, 0.06 * (2 * np.pi / t_sw) ** 2 * np.cos(2 * np.pi * s), 0.0)
    f_world = np.stack([acc_x, acc_y + GRAVITY_MPS2, np.zeros_like(t)], axis=1)
    # world (x fwd, y up, z right) from foot: rotation about z by pitch
    c, sn = np.cos(th), np.sin(th)
    f_foot = np.stack(
        [c * f_world[:, 0] + sn * f_world[:, 1], -sn * f_world[:, 0] + c * f_world[:, 1], f_world[:, 2]], 1
    )
    other = np.radians(40.0) * np.sin(2 * np.pi * t / stride_s + 1.0) * ~before  # roll and yaw
    w_foot = np.stack([other, 0.6 * other, w], axis=1)
    mount = Rotation.random(random_state=seed).as_matrix()  # foot_from_sensor
    acc = f_foot @ mount + rng.normal(0, 0.05, (t.size, 3))
    gyr = np.degrees(w_foot) @ mount + rng.normal(0, 0.3, (t.size, 3))
    # impacts at IC (real foot pods: 10-70 g spikes)
    for ic in ics:
        i = int(round(ic * fs))
        spike = rng.normal(0, 8 * GRAVITY_MPS2, 3)  # a ringing impact: no net change of velocity
        acc[i] += spike
        acc[i + 1] -= spike
    up_sensor = mount.T @ np.array([0.0, 1.0, 0.0])
    block = SampleBlock(time_s=t, acc_mps2=acc, gyr_dps=gyr)
    return block, {"ic_s": np.array(ics), "to_s": np.array(tos), "fsa_deg": fsa_deg, "up": up_sensor}


def _match(steps: list[StepMetrics], ics: np.ndarray, tol: float = 0.1):
    got = np.array([s.ic_s for s in steps])
    pairs = []
    for k, ic in enumerate(ics):
        if got.size == 0:
            break
        j = int(np.argmin(np.abs(got - ic)))
        if abs(got[j] - ic) < tol:
            pairs.append((k, j))
    return pairs


@pytest.mark.parametrize("fsa", [20.0, -8.0])
@pytest.mark.parametrize("fs", [50.0, 100.0, 200.0, 500.0, 1000.0])
def test_synthetic_events_and_strike(fsa: float, fs: float) -> None:
    block, truth = synth_foot(fs=fs, fsa_deg=fsa, seed=int(fs) + int(fsa))
    cfg = PipelineConfig(placement="foot", side="left", calibration=Calibration(tuple(truth["up"])))
    steps = analyze(block, cfg, fs).steps
    pairs = _match(steps, truth["ic_s"])
    assert len(pairs) == len(truth["ic_s"])  # including the first (start-up) and last (flush) contact
    assert len(steps) <= len(truth["ic_s"])
    gct_err = [steps[j].gct_ms - 1000 * (truth["to_s"][k] - truth["ic_s"][k]) for k, j in pairs]
    to_err = [1000 * (steps[j].to_s - truth["to_s"][k]) for k, j in pairs]
    assert np.median(np.abs(to_err)) < 15.0
    if fsa > 5.0:
        # (the PCHIP profile has zero rate at its knots, so a synthetic forefoot strike has its
        # rate minimum between knots, not at IC: IC timing is checked on the heel strike only)
        assert np.median(np.abs(gct_err)) < 20.0
    fsa_est = np.array([steps[j].fsa_deg for _, j in pairs])
    assert abs(np.median(fsa_est) - fsa) < 6.0
    classes = [steps[j].strike for _, j in pairs[2:]]
    expect = classify_strike(fsa, cfg.strike)
    assert np.mean([c == expect for c in classes]) >= 0.9
    for s in steps:
        if s.ic_s < 4.0:
            continue  # found while the axis was being learnt (replayed history): late by design
        assert s.side == "left"
        assert s.vo_cm is None and s.vertical_ratio_pct is None and s.lean_deg is None
        assert abs(s.cadence_spm - 120.0 / 0.72) < 3.0
        assert (Q_LOW_RATE in s.quality) == (fs < 200.0)
        assert Q_UNCALIBRATED not in s.quality
    # live (10-sample packets, 100 ms frames): the same records, each within about one step of
    # toe-off (offline frames are 2 s long, so emitted_s means nothing there)
    pipe = Pipeline(cfg, fs)
    live = []
    for i in range(0, len(block), 10):
        live += [r for r in pipe.process(block.slice(i, i + 10)) if isinstance(r, StepMetrics)]
    live += [r for r in pipe.flush() if isinstance(r, StepMetrics)]
    assert sorted(live, key=lambda s: s.ic_s) == steps
    for s in live[1:-1]:
        if s.ic_s > 4.0:  # (contacts before the axis is learnt come from the replayed history)
            assert s.emitted_s - s.to_s < 1.0


def test_uncalibrated_flag_and_mirror_mount() -> None:
    block, truth = synth_foot(fs=200.0, fsa_deg=20.0, seed=7)
    steps = analyze(block, PipelineConfig(placement="foot", side="right"), 200.0).steps
    assert len(steps) == len(truth["ic_s"])
    assert all(Q_UNCALIBRATED in s.quality for s in steps)
    assert np.median([s.fsa_deg for s in steps]) > 8.0


def test_accelerometer_only_mode() -> None:
    block, truth = synth_foot(fs=100.0, fsa_deg=15.0, seed=3)
    acc_only = SampleBlock(time_s=block.time_s, acc_mps2=block.acc_mps2)
    steps = analyze(acc_only, PipelineConfig(placement="foot", side="left"), 100.0).steps
    assert steps, "no contacts found without gyroscope"
    for s in steps:
        assert Q_NO_GYRO in s.quality
        assert s.fsa_deg is None and s.strike is None
    pairs = _match(steps, truth["ic_s"])
    assert len(pairs) >= 0.8 * len(truth["ic_s"])


def test_still_foot_gives_no_steps() -> None:
    fs = 200.0
    rng = np.random.default_rng(1)
    n = int(20 * fs)
    up = Rotation.random(random_state=2).as_matrix().T @ np.array([0.0, 1.0, 0.0])
    block = SampleBlock(
        time_s=np.arange(n) / fs,
        acc_mps2=up * GRAVITY_MPS2 + rng.normal(0, 0.05, (n, 3)),
        gyr_dps=rng.normal(0, 1.0, (n, 3)),
    )
    assert analyze(block, PipelineConfig(placement="foot", side="left"), fs).steps == []
    acc_only = SampleBlock(time_s=block.time_s, acc_mps2=block.acc_mps2)
    assert analyze(acc_only, PipelineConfig(placement="foot", side="left"), fs).steps == []


def test_standing_then_running() -> None:
    block, truth = synth_foot(fs=200.0, fsa_deg=-5.0, seed=11, still_s=5.0)
    steps = analyze(block, PipelineConfig(placement="foot", side="left"), 200.0).steps
    assert min(s.ic_s for s in steps) > 5.0
    assert len(_match(steps, truth["ic_s"])) == len(truth["ic_s"])


@pytest.mark.parametrize("sizes", [[1], [7], [13, 1, 50], [997]])
def test_chunk_invariance(sizes: list[int]) -> None:
    fs = 200.0
    block, _ = synth_foot(fs=fs, n_strides=12, fsa_deg=10.0, seed=5)
    cfg = PipelineConfig(placement="foot", side="left")
    whole = FootStepStage(cfg, fs)
    ref = whole.process(block) + whole.flush()
    stage = FootStepStage(cfg, fs)
    out: list = []
    i, k = 0, 0
    n = len(block)
    while i < n:
        m = sizes[k % len(sizes)]
        out += stage.process(block.slice(i, min(n, i + m)))
        i += m
        k += 1
    out += stage.flush()
    assert out == ref
    assert len(ref) >= 9


def test_implausible_flag_for_long_contacts() -> None:
    block, _ = synth_foot(fs=200.0, stride_s=1.3, gct_s=0.75, fsa_deg=15.0, seed=9)
    steps = analyze(block, PipelineConfig(placement="foot", side="left"), 200.0).steps
    assert steps
    assert sum(Q_IMPLAUSIBLE in s.quality for s in steps) >= 0.8 * len(steps)


def test_stride_tree_from_per_frame_rotations_is_bit_identical():
    """The per-sample rotations are computed once per frame (any batch) and read by every stride:
    rows must not depend on the batch, and the truncated tree must equal the full power-of-two
    tree node for node."""
    from gait.dsp.foot_orientation import step_rotations, stride_tree

    rng = np.random.default_rng(3)
    gyr = rng.normal(0.0, 300.0, (700, 3))
    acc = rng.normal(0.0, 20.0, (700, 3))
    whole = step_rotations(gyr, 200.0)
    pieces = np.empty_like(whole)
    a = 0
    for size in (1, 7, 20, 400, 5, 266):
        b = min(699, a + size)
        step_rotations(gyr[a : b + 1], 200.0, out=pieces[a:b])
        a = b
    assert np.array_equal(whole, pieces)
    for n in (1, 2, 3, 64, 65, 145, 500):
        levels = stride_tree(gyr[:n], acc[:n], 200.0)
        assert all(np.array_equal(x, y) for x, y in zip(levels, stride_tree(None, acc[:n], 200.0, whole[: n - 1])))
        size = 1 << (n - 1).bit_length() if n > 1 else 1
        m = np.zeros((size, 5, 5))
        m[:, range(5), range(5)] = 1.0
        m[: n - 1, :3, :3] = whole[: n - 1]
        m[:n, :3, 3] = acc[:n]
        m[:n, :3, 4] = acc[:n] * np.arange(n)[:, None]
        full = [m]
        while m.shape[0] > 1:
            m = np.matmul(m[0::2], m[1::2])
            full.append(m)
        assert len(full) == len(levels)
        assert all(np.array_equal(x[: y.shape[0]], y[: x.shape[0]]) for x, y in zip(full, levels))
