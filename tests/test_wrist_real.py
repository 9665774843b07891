"""The wrist placement on real recordings, as far as they allow (`gait.validation.wrist_check`).

No public running data has arm markers, and no wrist or hand-held recording here has a trunk or
foot sensor recorded with it. So: (1) phones held in the hand while jogging, other people's
exports in the shared data folder (not in the repository; skipped when absent), arm-swing
cadence against the same phone's step impacts, a consistency check of two methods on one signal;
(2) the arm-swing method on the adept run's hip sensor against its ankle sensor, a check of the
method's physics on an independent sensor, not a wrist validation.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gait.core.records import Q_NO_GYRO
from gait.validation import wrist_check as wc


def _phones() -> Path:
    mirror = os.environ.get("GAIT_DATA_MIRROR")
    base = Path(mirror) if mirror else Path(__file__).resolve().parents[1].parent / "shared" / "data"
    return base / "real-formats" / "phones" / "phyphox"


PHONES = _phones()


def _folder(name: str) -> Path:
    path = PHONES / name
    if not path.is_dir():
        pytest.skip(f"{name}: the shared phone recordings (real-formats/phones/phyphox) are not on this machine")
    return path


@pytest.mark.parametrize("name", wc.HAND_JOGGING)
def test_phone_in_the_hand_arm_swing_cadence_agrees_with_its_own_step_impacts(name):
    r = wc.phone_check(_folder(name))
    assert r["steps"] > 100  # about 150 steps a minute, less the start and the swing's first strides
    assert len(r["windows"]) == 5
    assert r["mean_abs_diff_spm"] < 1.5 and r["max_abs_diff_spm"] < 2.5, r
    assert abs(r["wrist_spm"] - r["impacts_spm"]) < 2.0
    assert 140.0 < r["wrist_spm"] < 170.0


def test_phone_in_the_hand_has_no_gyroscope_so_no_arm_metrics():
    from firmware_interface.phones.importers import read_phone_export
    from gait.core.config import PipelineConfig
    from gait.pipeline import analyze

    rec = read_phone_export(_folder(wc.HAND_JOGGING[0]))
    assert rec.gyr_dps is None
    steps = analyze(rec.block(), PipelineConfig(placement="wrist"), rec.sampling_rate_hz).steps
    assert steps and all(s.arm_cross_cm is None and s.arm_swing_deg is None for s in steps)
    assert all(Q_NO_GYRO in s.quality for s in steps)


def test_walking_with_the_phone_in_the_hand_reads_as_walking():
    r = wc.phone_check(_folder(wc.HAND_WALKING[0]))
    assert 95.0 < r["wrist_spm"] < 125.0 < wc.RUNNING_SPM  # below the coach's running line
    assert abs(r["wrist_spm"] - r["impacts_spm"]) < 3.0


def _wrist_steps(name: str):
    from firmware_interface.phones.importers import read_phone_export
    from gait.core.config import PipelineConfig
    from gait.pipeline import analyze

    rec = read_phone_export(_folder(name))
    return rec, analyze(rec.block(), PipelineConfig(placement="wrist"), rec.sampling_rate_hz).steps


@pytest.mark.parametrize("name", wc.HAND_WALKING + wc.HAND_JOGGING)
def test_wrist_strides_of_walking_are_flagged_walking_and_running_ones_are_not(name):
    """|a| of each stride, computed here from the samples: a walker's hand stays within 0.5-2 g,
    a runner's leaves that band every stride."""
    import numpy as np

    from gait.core.config import GRAVITY_MPS2
    from gait.core.records import Q_WALKING

    rec, steps = _wrist_steps(name)
    assert len(steps) > 50
    g = np.linalg.norm(rec.acc_mps2, axis=1) / GRAVITY_MPS2
    t = rec.time_s
    for s in steps:
        seg = g[(t >= s.ic_s - 120.0 / s.cadence_spm) & (t <= s.ic_s)]  # the stride before the marker
        inside = seg.size > 0 and seg.min() > 0.5 and seg.max() < 2.0
        if name in wc.HAND_WALKING:
            assert inside, (s.ic_s, seg.min(), seg.max())
        else:
            assert not inside, (s.ic_s, seg.min(), seg.max())
    walking = [Q_WALKING in s.quality for s in steps]
    if name in wc.HAND_WALKING:
        assert all(walking)
    else:
        assert not any(walking)


def test_gait_analyze_says_a_wrist_recording_of_walking_holds_no_running(tmp_path):
    import subprocess
    import sys

    folder = _folder(wc.HAND_WALKING[0])
    out = tmp_path / "csv"
    run = [sys.executable, "-m", "gait.cli"]
    res = subprocess.run([*run, "import", "phone", str(folder), str(out)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    csv = next(out.glob("*.csv"))
    res = subprocess.run([*run, "analyze", str(csv), "--placement", "wrist"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "no running found: all " in res.stdout and "strides are flagged walking" in res.stdout
    assert "walking, not running: steps at about" in res.stdout


def test_arm_swing_method_on_the_adept_hip_against_the_ankle():
    from tests.conftest import data_root

    data_root()  # skip (or fail in CI) when the public data cannot be had
    hc = wc.adept_hip_check()
    assert hc.compared > 1300
    assert hc.running_minutes >= 18
    assert hc.minute_mean_abs_diff_spm < 3.0
    assert hc.within_5_pct_pct > 85.0
