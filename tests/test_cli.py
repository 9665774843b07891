"""The `gait` command as a user runs it: the analysis contract and the helper commands."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from firmware_interface.files.recording import read_recording, write_recording
from gait.cli import main
from gait.core.config import PipelineConfig
from gait.core.records import StepMetrics
from gait.pipeline import analyze
from tests.conftest import REPO, data_dir


def _trial(trials, placement, rate=200, name=None):
    for t in trials:
        if t.placement == placement and int(round(t.rate_hz)) == rate and (name is None or t.name.startswith(name)):
            return t
    pytest.skip(f"no {placement} trial")


def test_jsonl_is_the_analysis_contract(validation_trials):
    trial = _trial(validation_trials, "foot", name="RBDS0041")
    proc = subprocess.run(
        [sys.executable, "-m", "gait.cli", "analyze", str(trial.csv), "--placement", "foot", "--side", trial.side,
         "--jsonl"],
        capture_output=True, text=True, cwd=REPO, check=True,
    )
    lines = proc.stdout.splitlines()
    assert len(lines) > 30
    records = [json.loads(line) for line in lines]  # every stdout line is one JSON object
    for r in records:
        assert list(r) == list(StepMetrics.CONTRACT_KEYS)
        assert r["side"] == trial.side
        assert r["vo_cm"] is None and r["lean_deg"] is None and r["vertical_ratio_pct"] is None
        assert isinstance(r["quality"], list)
        assert r["ic_s"] < r["to_s"]
    # same numbers as the Python API
    rec = read_recording(trial.csv)
    api = analyze(rec.block(), PipelineConfig(placement="foot", side=trial.side), rec.sampling_rate_hz).steps
    assert records == [s.to_contract() for s in api]


def test_trunk_contract_with_speed(validation_trials, capsys):
    trial = _trial(validation_trials, "sacrum", name="RBDS001")
    assert main(["analyze", str(trial.csv), "--placement", "sacrum", "--speed-mps", "2.5", "--jsonl"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(records) > 60
    full = [r for r in records if r["vo_cm"] is not None and r["flight_ms"] is not None]
    assert len(full) > 0.9 * len(records)
    for r in full:
        assert r["fsa_deg"] is None and r["strike"] is None
        step_time = 60.0 / r["cadence_spm"]
        expected_vr = 100.0 * r["vo_cm"] / 100.0 / (2.5 * step_time)
        assert r["vertical_ratio_pct"] == pytest.approx(expected_vr, abs=0.02)
    # without speed: no vertical ratio
    assert main(["analyze", str(trial.csv), "--placement", "sacrum", "--jsonl"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert all(r["vertical_ratio_pct"] is None for r in records)


def test_time_base_is_the_recordings_own(tmp_path, hip_block, capsys):
    path = tmp_path / "shifted.csv"
    write_recording(path, hip_block.time_s + 1000.0, hip_block.acc_mps2)
    assert main(["analyze", str(path), "--placement", "waist", "--jsonl"]) == 0
    shifted = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    path0 = tmp_path / "zero.csv"
    write_recording(path0, hip_block.time_s - hip_block.time_s[0], hip_block.acc_mps2)
    assert main(["analyze", str(path0), "--placement", "waist", "--jsonl"]) == 0
    zero = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(shifted) == len(zero) > 50
    offset = 1000.0 + hip_block.time_s[0]
    assert all(abs(a["ic_s"] - (b["ic_s"] + offset)) < 2e-3 for a, b in zip(shifted, zero))
    assert all(a["ic_s"] >= 1000.0 for a in shifted)


def test_readable_table_and_summary(validation_trials, capsys):
    trial = _trial(validation_trials, "sacrum", name="RBDS001")
    assert main(["analyze", str(trial.csv), "--placement", "sacrum", "--speed-mps", "2.5"]) == 0
    out = capsys.readouterr().out
    assert "GCT ms" in out and "Cadence:" in out and "Vertical oscillation:" in out and "Vertical ratio:" in out


def test_calibrate_command(tmp_path, capsys):
    rng = np.random.default_rng(1)
    t = np.arange(0, 4, 0.01)
    up = np.array([0.3, 0.9, 0.2]) / np.linalg.norm([0.3, 0.9, 0.2])
    acc = up * 9.80665 + rng.normal(0, 0.02, (t.size, 3))
    still = tmp_path / "still.csv"
    write_recording(still, t, acc)
    assert main(["calibrate", str(still)]) == 0
    got = np.array(json.loads(capsys.readouterr().out)["gravity_sensor"])
    assert np.allclose(got, up, atol=0.01)
    moving = tmp_path / "moving.csv"
    write_recording(moving, t, acc + rng.normal(0, 3.0, acc.shape))
    assert main(["calibrate", str(moving)]) == 2
    assert "not a standing calibration" in capsys.readouterr().err


def test_import_command(tmp_path, capsys):
    assert main(["import", "alcantara", str(data_dir("alcantara-sacral")), str(tmp_path)]) == 0
    csvs = sorted(tmp_path.rglob("*trial*.csv"))
    assert len(csvs) == 20
    # the folder's raw one-subject recording (Sample_test_data.csv, 512 Hz, no truth) comes too
    assert [p.name for p in tmp_path.rglob("*.csv") if p not in csvs] == ["alcantara_sample_test_data_sacrum_512hz.csv"]
    rec = read_recording(csvs[0])
    assert rec.sampling_rate_hz == pytest.approx(500.0, rel=1e-3)
    assert (csvs[0].parent / (csvs[0].stem + ".truth.json")).exists()


def test_decode_command_prints_one_json_object(capsys):
    # a Polar H10 ACC frame (type 0x01, two samples), bytes from the published PMD documentation
    frame = "02 ea 54 a2 42 8b 45 52 08 01 45 ff e4 ff b5 03 45 ff e4 ff b8 03"
    assert main(["decode", "pmd", frame]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    obj = json.loads(out[0])
    assert obj["measurement"] == "acc" and obj["frame_type"] == 1
    assert obj["samples_raw"] == [[-187, -28, 949], [-187, -28, 952]]
    assert isinstance(obj["timestamp_ns"], int)
    assert main(["decode", "pmd", "02", "EA54A2428B455208", "01", "45 FF E4 FF B5 03"]) == 0
    assert json.loads(capsys.readouterr().out)["samples_raw"] == [[-187, -28, 949]]


def test_decode_command_malformed_packet(capsys):
    assert main(["decode", "pmd", "02 ea 54"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "truncated" in err[0]
    assert main(["decode", "pmd", "zz"]) == 1


def test_import_phone_export(tmp_path, capsys):
    src = REPO / "tests" / "fixtures" / "phones" / "sensor_logger_android"
    assert main(["import", "phone", str(src), str(tmp_path)]) == 0
    out = tmp_path / "sensor_logger_android.csv"
    rec = read_recording(out)
    assert rec.gyr_dps is not None and len(rec) > 50
    # specific force convention: a phone lying still reads about +9.81 on its up axis
    assert np.linalg.norm(rec.acc_mps2, axis=1).mean() == pytest.approx(9.81, abs=1.5)
    assert main(["import", "phone", str(tmp_path / "absent"), str(tmp_path)]) == 2


def test_runs_export_and_compare_fit_commands(tmp_path, hip_block, capsys):
    from gait.storage import Store

    steps = analyze(hip_block, PipelineConfig(placement="waist", speed_mps=3.0), 100.0).steps
    with Store(tmp_path / "store") as store:
        run_id = store.open_run(runner="test", placement="waist", config=PipelineConfig(placement="waist"))
        store.write(run_id, steps)
        store.close_run(run_id)
    d = str(tmp_path / "store")
    assert main(["runs", "--data-dir", d]) == 0
    listing = capsys.readouterr().out
    assert f"{len(steps):>6}" in listing and "closed" in listing
    out = tmp_path / "exports"
    for fmt, name in (("csv", "steps.csv"), ("parquet", "steps.parquet"), ("fit", ".fit"), ("html", ".html")):
        assert main(["export", str(run_id), "--format", fmt, "--out", str(out), "--data-dir", d]) == 0
        assert any(p.name.endswith(name) and p.stat().st_size > 500 for p in out.iterdir()), fmt
    capsys.readouterr()
    csv_rows = (out / f"run-{run_id}-steps.csv").read_text().splitlines()
    assert len(csv_rows) == len(steps) + 1
    # our own FIT export read back as a watch's: the same numbers
    assert main(["compare-fit", str(run_id), str(out / f"run-{run_id}.fit"), "--data-dir", d]) == 0
    table = capsys.readouterr().out
    cadence = next(line for line in table.splitlines() if line.startswith("cadence_spm")).split()
    assert abs(float(cadence[4])) < 0.5  # mean difference, spm
    assert main(["export", "999", "--data-dir", d]) == 2
