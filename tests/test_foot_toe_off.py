"""Toe-off of a shoe sensor at speed: the push-off minimum of the pitch rate, not early swing's dip.

Truth independent of the pipeline: the RBDS gait-cycle averages (`RBDS001processed.txt`,
`RBDS0041processed.txt`: the same two runners as the force-plate trials, at 2.5, 3.5 and 4.5 m/s,
101 points per cycle from initial contact) give the foot's sagittal angle (hip - knee + ankle
flexion, so the pelvis' small tilt is left out) and the vertical ground reaction force, which ends
at toe-off.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.interpolate import CubicSpline

from gait.core.config import PipelineConfig
from gait.detect.foot import push_off_minimum
from tests.conftest import data_dir

THRESHOLD_N_PER_KG = 0.7  # about 50 N for these runners (62 and 78 kg)


def _curves():
    pd = pytest.importorskip("pandas")
    out = []
    for subject in ("RBDS001", "RBDS0041"):
        path = data_dir("rbds") / f"{subject}processed.txt"
        if not path.is_file():
            pytest.skip(f"{path.name} not fetched")
        d = pd.read_csv(path, sep="\t")
        for side in "RL":
            for speed in ("25", "35", "45"):
                pitch = d[f"{side}hipAngZ{speed}"].to_numpy() - d[f"{side}kneeAngZ{speed}"].to_numpy()
                pitch = pitch + d[f"{side}ankleAngZ{speed}"].to_numpy()
                x = np.linspace(0.0, 100.0, 2001)
                rate = CubicSpline(np.arange(101.0), pitch)(x, 1)  # deg per % of the cycle
                grf = d[f"{side}grfY{speed}"].to_numpy()[:70]
                k = next(i for i in range(15, 69) if grf[i] >= THRESHOLD_N_PER_KG > grf[i + 1])
                to_pct = k + (grf[k] - THRESHOLD_N_PER_KG) / (grf[k] - grf[k + 1])
                out.append((f"{subject} {side} {speed[0]}.{speed[1]} m/s", x, rate, to_pct))
    return out


def _chosen_pct(x, rate, deep, dip):
    ff = int(np.argmin(np.where((x > 5) & (x < 25), np.abs(rate), np.inf)))  # foot flat: stillest
    end = int(np.searchsorted(x, 70.0))  # before the late swing rises
    j, _ = push_off_minimum(rate[ff:end], deep, dip)
    return float(x[ff + j])


def test_the_push_off_minimum_is_found_at_every_speed():
    p = PipelineConfig().params.foot
    for name, x, rate, to_pct in _curves():
        chosen = _chosen_pct(x, rate, p.to_deep_fraction, p.to_dip_fraction)
        assert to_pct - 8.0 < chosen < to_pct + 3.0, f"{name}: minimum at {chosen:.1f} %, toe-off {to_pct:.1f} %"


def test_taking_the_deepest_dip_would_take_early_swing():
    # the former rule: 0.9 of the whole cycle's deepest (no dip: the dip is the whole cycle)
    late = [name for name, x, rate, to_pct in _curves() if _chosen_pct(x, rate, 0.9, 0.0) > to_pct + 3.0]
    assert "RBDS001 L 4.5 m/s" in late  # early swing's dip 1.27 times the push-off's


def test_toe_off_on_the_force_plate_trials(validation_trials):
    """RBDS virtual shoe sensors against the treadmill's force (2.5 m/s): toe-off within +-3 ms
    on average, the push-off delay being a fraction of the runner's own IC-to-push-off time."""
    import json
    from pathlib import Path

    from firmware_interface.files.recording import read_recording
    from gait.pipeline import analyze

    errors = []
    for t in validation_trials:
        if t.placement != "foot" or not t.name.startswith("RBDS") or not t.truth:
            continue
        doc = json.loads(Path(t.truth).read_text(encoding="utf-8"))
        truth = [(c["ic_s"], c["to_s"]) for c in doc["contacts"] if c["side"] == t.side and not c.get("excluded")]
        rec = read_recording(t.csv)
        for s in analyze(rec.block(), PipelineConfig(placement="foot", side=t.side), rec.sampling_rate_hz).steps:
            ic, to = min(truth, key=lambda c: abs(c[0] - s.ic_s))
            if abs(ic - s.ic_s) < 0.1:
                errors.append(1000.0 * (s.to_s - to))
    assert len(errors) > 250
    assert abs(float(np.mean(errors))) <= 3.0
    assert float(np.mean(np.abs(errors))) < 6.0
