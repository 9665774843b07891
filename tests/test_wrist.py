"""The wrist placement (a watch, or a phone in the hand): cadence from the arm swing, and per
stride the hand's side-to-side travel (arm crossing) and the arm's swing angle.

The synthetic arm (`tests.wrist_motion`) is built forward from its joints, independently of the
detector: its truth is the hand's position and the forearm's angle, not anything the pipeline
computes.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from gait.core.config import PipelineConfig
from gait.core.records import Q_NO_GYRO, Q_UNVALIDATED, SampleBlock, StepMetrics
from gait.core.step_fields import CONTRACT_KEYS
from gait.detect.wrist import WristStepStage
from gait.pipeline import analyze
from tests.test_streaming_contract import _check_all_stages
from tests.wrist_motion import ArmRun

WRIST = PipelineConfig(placement="wrist")


def _analyze(run: ArmRun) -> list[StepMetrics]:
    t, acc, gyr = run.recording()
    return analyze(SampleBlock(t, acc, gyr), WRIST, run.fs).steps


def _median(steps, key: str) -> float:
    vals = [getattr(s, key) for s in steps if getattr(s, key) is not None]
    assert vals, key
    return float(np.median(vals))


@pytest.mark.parametrize("cadence_spm,fs", [(150.0, 100.0), (170.0, 100.0), (185.0, 200.0), (175.0, 50.0)])
def test_cadence_is_twice_the_arm_swing_frequency(cadence_spm, fs):
    run = ArmRun(cadence_spm=cadence_spm, fs=fs, seconds=40.0)
    steps = _analyze(run)
    # one marker per turn of the swing, i.e. per step, after the first 3 s (the swing axis)
    expected = (run.seconds - 3.0) * cadence_spm / 60.0
    assert expected - 6 <= len(steps) <= expected + 1
    cad = np.array([s.cadence_spm for s in steps])
    assert np.all(np.abs(cad - cadence_spm) < 1.0)  # every stride, not only the median
    times = np.array([s.ic_s for s in steps])
    assert np.allclose(np.diff(times), 60.0 / cadence_spm, atol=0.02)  # a marker per step, not per stride
    for s in steps:
        assert s.gct_ms is None and s.flight_ms is None and s.vo_cm is None and s.fsa_deg is None
        assert s.lean_deg is None and s.strike is None and s.side is None and s.to_s == s.ic_s


@pytest.mark.parametrize(
    "kw",
    [
        {},  # a straight swing: the travel is the trunk's sway and the shoulders' turn
        {"plane_deg": 20.0},  # a diagonal swing across the body
        {"inward_deg": 30.0},  # the forearm sweeping across at the front
        {"side": "right", "plane_deg": 20.0, "mount_deg": (-60.0, 10.0, 150.0)},
        {"cadence_spm": 160.0, "fs": 200.0, "swing_amp_deg": 20.0, "plane_deg": 10.0},
    ],
)
def test_arm_crossing_and_swing_against_the_model(kw):
    run = ArmRun(**kw)
    truth = run.truth()
    steps = _analyze(run)
    cross = _median(steps, "arm_cross_cm")
    swing = _median(steps, "arm_swing_deg")
    assert cross == pytest.approx(truth["arm_cross_cm"], abs=0.8), (cross, truth)
    assert swing == pytest.approx(truth["arm_swing_deg"], rel=0.06), (swing, truth)
    measured = [s for s in steps if s.arm_cross_cm is not None]
    assert len(measured) > 0.8 * len(steps)
    assert all(Q_UNVALIDATED in s.quality for s in measured)  # no arm truth in any public running data


def test_more_crossing_reads_higher():
    # without the trunk's sway and the shoulders' turn the travel is the crossing alone
    runs = [ArmRun(plane_deg=d, seconds=30.0, sway_cm=0.0, shoulder_yaw_deg=0.0) for d in (0.0, 10.0, 20.0, 30.0)]
    values = [_median(_analyze(r), "arm_cross_cm") for r in runs]
    assert values == sorted(values) and values[-1] - values[0] > 10.0
    for v, r in zip(values, runs):
        assert v == pytest.approx(r.truth()["arm_cross_cm"], abs=0.8)


def test_without_a_braking_jolt_the_direction_of_travel_is_unknown_and_the_crossing_null():
    steps = _analyze(ArmRun(impact_ap_mps2=0.0, seconds=30.0))
    assert len(steps) > 70
    assert all(s.arm_cross_cm is None for s in steps)
    assert _median(steps, "arm_swing_deg") > 60.0


def test_accelerometer_only_gives_cadence_and_no_arm_metrics():
    run = ArmRun(gyro=False, seconds=40.0)
    steps = _analyze(run)
    assert len(steps) > 90
    assert _median(steps, "cadence_spm") == pytest.approx(run.cadence_spm, abs=0.5)
    assert all(s.arm_cross_cm is None and s.arm_swing_deg is None for s in steps)
    assert all(Q_NO_GYRO in s.quality and Q_UNVALIDATED not in s.quality for s in steps)


def test_standing_still_gives_no_steps():
    rng = np.random.default_rng(0)
    t = np.arange(3000) / 100.0
    acc = np.tile([0.5, 9.7, 1.2], (t.size, 1)) + 0.03 * rng.standard_normal((t.size, 3))
    gyr = 0.4 * rng.standard_normal((t.size, 3))
    assert analyze(SampleBlock(t, acc, gyr), WRIST, 100.0).steps == []


def test_a_pause_breaks_the_chain_and_the_steps_resume():
    run = ArmRun(seconds=40.0)
    t, acc, gyr = run.recording()
    still = (t > 15.0) & (t < 22.0)
    acc[still] = acc[still].mean(axis=0)
    gyr[still] = 0.0
    steps = analyze(SampleBlock(t, acc, gyr), WRIST, run.fs).steps
    assert any(s.ic_s > 24.0 for s in steps) and any(s.ic_s < 15.0 for s in steps)
    assert not any(15.5 < s.ic_s < 22.0 for s in steps)
    # an arm stopped mid-swing distorts the stride on either side of the pause a little
    assert all(abs(s.cadence_spm - run.cadence_spm) < (1.0 if not 14.5 < s.ic_s < 24.0 else 3.0) for s in steps)


def test_lost_samples_break_the_chain():
    from gait.core.records import Q_GAP

    run = ArmRun(seconds=30.0)
    t, acc, gyr = run.recording()
    keep = (t < 12.0) | (t > 13.5)  # 1.5 s of packets lost
    steps = analyze(SampleBlock(t[keep], acc[keep], gyr[keep]), WRIST, run.fs).steps
    assert any(s.ic_s < 12.0 for s in steps) and any(s.ic_s > 13.5 for s in steps)
    # no stride spans the gap: the chain restarts after it, and every cadence is right
    assert not any(s.ic_s > 13.5 and s.ic_s - 120.0 / s.cadence_spm < 13.5 for s in steps)
    assert all(abs(s.cadence_spm - run.cadence_spm) < 1.0 for s in steps)
    assert not any(Q_GAP in s.quality for s in steps)
    short = (t < 20.0) & keep
    _check_all_stages(WRIST, SampleBlock(t[short], acc[short], gyr[short]))  # a gap mid-frame or between frames


def test_the_wrist_stage_is_chunk_invariant_with_gyro():
    run = ArmRun(seconds=20.0, fs=100.0, plane_deg=15.0)
    t, acc, gyr = run.recording()
    _check_all_stages(WRIST, SampleBlock(t, acc, gyr))


def test_the_wrist_stage_is_chunk_invariant_accelerometer_only(hip_block):
    _check_all_stages(WRIST, hip_block)


def test_stage_latency_is_declared():
    assert WristStepStage(WRIST, 100.0).latency_ms > 0


# -- the analysis contract on the command line ---------------------------------------------------------


def test_gait_analyze_wrist_jsonl(tmp_path, capsys):
    from gait.cli import main

    run = ArmRun(seconds=30.0, plane_deg=20.0)
    path = tmp_path / "watch.csv"
    path.write_text(run.csv_text())
    assert main(["analyze", str(path), "--placement", "wrist", "--jsonl"]) == 0
    out = capsys.readouterr().out.splitlines()
    records = [json.loads(line) for line in out]
    assert len(records) > 70
    for r in records:
        assert list(r) == list(CONTRACT_KEYS)
        for key in ("gct_ms", "flight_ms", "vo_cm", "vertical_ratio_pct", "fsa_deg", "strike", "lean_deg", "side"):
            assert r[key] is None, key
        assert r["cadence_spm"] == pytest.approx(170.0, abs=1.0)
    crossed = [r for r in records if r["arm_cross_cm"] is not None]
    assert len(crossed) > 60 and all("unvalidated" in r["quality"] for r in crossed)
    assert np.median([r["arm_cross_cm"] for r in crossed]) == pytest.approx(run.truth()["arm_cross_cm"], abs=0.8)
    assert np.median([r["arm_swing_deg"] for r in crossed]) == pytest.approx(run.truth()["arm_swing_deg"], rel=0.06)
    # the table says what a wrist measures
    assert main(["analyze", str(path), "--placement", "wrist"]) == 0
    text = capsys.readouterr().out
    assert "Arm crossing:" in text and "Arm swing:" in text and "unvalidated" in text


def test_other_placements_carry_null_arm_keys(hip_block):
    steps = analyze(hip_block, PipelineConfig(placement="waist"), 100.0).steps
    assert steps and all(s.to_contract()["arm_cross_cm"] is None and s.arm_swing_deg is None for s in steps)
