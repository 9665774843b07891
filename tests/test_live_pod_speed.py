"""A foot pod's running speed (Bluetooth RSC) sets the vertical ratio of a trunk sensor's steps."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from firmware_interface.files.adept import read_adept
from firmware_interface.files.recording import write_recording
from tests.conftest import REPO, adept_run_path

pytest.importorskip("bumble")


def test_rsc_speed_feeds_vertical_ratio(tmp_path):
    hip = read_adept(adept_run_path())["left_hip"]
    m = (hip.time_s > 60) & (hip.time_s < 80)
    csv = tmp_path / "hip.csv"
    write_recording(csv, hip.time_s[m], hip.acc_mps2[m])
    cmd = [sys.executable, "-m", "gait.cli", "live", "--source", "emulated", "--csv", str(csv),
           "--device", "kind=h10,placement=waist", "--device", "kind=rsc", "--duration", "10",
           "--no-store", "--coach", "off", "--cues", "silent", "--jsonl", "--no-keys"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    steps = [json.loads(line) for line in lines if line.startswith("{")]
    speed = [float(part.split()[1]) for line in lines if "| rsc " in line for part in line.split("|") if "rsc" in part]
    assert steps and speed
    with_vr = [s for s in steps if s["vertical_ratio_pct"] is not None]
    assert len(with_vr) >= 0.8 * len([s for s in steps if s["vo_cm"] is not None]) > 10
    v = speed[-1]
    for s in with_vr:
        expected = s["vo_cm"] / (v * 60.0 / s["cadence_spm"] * 100.0) * 100.0
        assert s["vertical_ratio_pct"] == pytest.approx(expected, rel=0.02)
