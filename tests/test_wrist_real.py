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


def test_arm_swing_method_on_the_adept_hip_against_the_ankle():
    from tests.conftest import data_root

    data_root()  # skip (or fail in CI) when the public data cannot be had
    hc = wc.adept_hip_check()
    assert hc.compared > 1300
    assert hc.running_minutes >= 18
    assert hc.minute_mean_abs_diff_spm < 3.0
    assert hc.within_5_pct_pct > 85.0
