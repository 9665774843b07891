"""gaitmap (a real run of the package, in its own venv) on the same foot recordings as ours."""

from __future__ import annotations

import pytest

from gait.validation.run import GAITMAP_HOWTO, TrialInfo, gaitmap_python, load_truth, run_gaitmap
from gait.validation.score import score_trial
from tests.conftest import IN_CI


def test_gaitmap_detects_contacts_on_a_virtual_foot_recording(validation_trials):
    python = gaitmap_python()
    if python is None or not python.exists():
        if IN_CI:
            pytest.fail(GAITMAP_HOWTO)
        pytest.skip(GAITMAP_HOWTO)
    trial = next(
        t for t in validation_trials if t.name.startswith("RBDS0041") and t.placement == "foot" and t.rate_hz == 200
    )
    info = TrialInfo(trial.name, trial.placement, trial.side, trial.csv, trial.truth, trial.rate_hz, trial.source)
    per_detector, diag = run_gaitmap(python, info)
    assert "error" not in diag, diag
    truth = load_truth(info)
    herzer = score_trial(per_detector["herzer"], truth.contacts, foot=True, foot_side=trial.side)
    assert herzer.recall_pct > 80.0
    assert abs(herzer.ic_bias_ms) < 40.0
