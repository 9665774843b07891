"""A wrist run after the pipeline: the local store, the exports (CSV, Parquet, FIT), InfluxDB
points, and the coach's opt-in arm rule (relative to the runner's own baseline)."""

from __future__ import annotations

import csv
import datetime as dt
import math
from dataclasses import replace

import numpy as np
import pytest

from gait.coach import config as cc
from gait.coach.engine import coach_run
from gait.core.config import PipelineConfig
from gait.core.errors import ConfigError
from gait.core.records import Q_UNVALIDATED, SampleBlock
from gait.pipeline import analyze
from gait.storage import Store, influx
from gait.storage import export as ex
from gait.storage.schema import QUALITY_BITS
from tests.wrist_motion import ArmRun

START = dt.datetime(2026, 4, 2, 7, 0, 0, tzinfo=dt.UTC).timestamp()
WRIST = PipelineConfig(placement="wrist", side="left")


@pytest.fixture(scope="module")
def wrist_steps():
    run = ArmRun(seconds=90.0, plane_deg=15.0)
    t, acc, gyr = run.recording()
    steps = analyze(SampleBlock(t, acc, gyr), WRIST, run.fs).steps
    assert len(steps) > 200
    return steps


@pytest.fixture
def stored(tmp_path, wrist_steps):
    store = Store(tmp_path / "data")
    run_id = store.open_run(runner="ana", config=WRIST, start_time=START, devices=["watch"])
    store.write(run_id, wrist_steps, device="watch")
    store.close_run(run_id)
    yield store, run_id
    store.close()


def test_store_round_trip(stored, wrist_steps):
    store, run_id = stored
    assert store.run(run_id).placement == "wrist"
    back = store.steps(run_id).to_records()
    assert back == wrist_steps  # every field, the arm metrics and the unvalidated flag included
    assert any(Q_UNVALIDATED in s.quality for s in back)
    row = store.conn.execute("SELECT quality_mask, arm_cross_cm, arm_swing_deg FROM steps WHERE run_id = ? "
                             "AND arm_cross_cm IS NOT NULL LIMIT 1", (run_id,)).fetchone()  # fmt: skip
    assert row[0] & QUALITY_BITS["unvalidated"] and row[1] > 0 and row[2] > 0


def test_csv_and_parquet_carry_the_arm_columns(stored, wrist_steps, tmp_path):
    import pyarrow.parquet as pq

    store, run_id = stored
    path = ex.export_csv(store, run_id, tmp_path / "csv")["steps"]
    with path.open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(wrist_steps)
    got = [float(r["arm_cross_cm"]) for r in rows if r["arm_cross_cm"]]
    want = [s.arm_cross_cm for s in wrist_steps if s.arm_cross_cm is not None]
    assert got == pytest.approx(want, abs=1e-3)
    assert all(r["gct_ms"] == "" and r["vo_cm"] == "" for r in rows)  # not measured at the wrist
    table = pq.read_table(ex.export_parquet(store, run_id, tmp_path / "pq")["steps"])
    swing = [v for v in table.column("arm_swing_deg").to_pylist() if v is not None]
    assert swing == pytest.approx([s.arm_swing_deg for s in wrist_steps if s.arm_swing_deg is not None])


def test_fit_activity_has_cadence_and_the_arm_developer_fields(stored, wrist_steps):
    store, run_id = stored
    watch = ex.read_fit_dynamics(ex.fit_activity_bytes(store, run_id))
    assert watch.sport == "running" and len(watch) > 60
    assert np.nanmean(watch.cadence_spm) == pytest.approx(170.0, abs=0.5)
    assert set(watch.developer) == {"arm_cross", "arm_swing"}
    cross = np.median([s.arm_cross_cm for s in wrist_steps if s.arm_cross_cm is not None])
    assert np.nanmedian(watch.developer["arm_cross"]) == pytest.approx(cross, abs=0.3)
    assert np.all(np.isnan(watch.gct_ms)) and np.all(np.isnan(watch.vo_cm))


def test_influx_point_carries_the_arm_fields(wrist_steps):
    run = influx.RunTags.new(runner="ana", placement="wrist", start_time=START, uuid="cd" * 16)
    step = next(s for s in wrist_steps if s.arm_cross_cm is not None)
    _, line = influx.record_point(step, run)
    assert "placement=wrist" in line.split(" ")[0]
    fields = dict(kv.split("=") for kv in line.split(" ")[1].split(","))
    assert float(fields["arm_cross_cm"]) == pytest.approx(step.arm_cross_cm)
    assert float(fields["arm_swing_deg"]) == pytest.approx(step.arm_swing_deg)
    assert "gct_ms" not in fields and fields["quality"] == f"{QUALITY_BITS['unvalidated']}i"


# -- the coach -----------------------------------------------------------------------------------------


def _more_crossing(steps, after_s: float, factor: float):
    """The run's steps repeated for 10 minutes, the crossing scaled by ``factor`` after ``after_s``."""
    out, t0 = [], 0.0
    period = steps[-1].ic_s - steps[0].ic_s + 60.0 / 170.0
    while t0 < 600.0:
        for s in steps:
            t = s.ic_s + t0
            cross = s.arm_cross_cm
            if cross is not None and t > after_s:
                cross *= factor
            out.append(replace(s, ic_s=t, to_s=t, arm_cross_cm=cross, emitted_s=t + 0.1))
        t0 += period
    return out


def test_arm_rule_is_off_in_every_preset():
    for name in cc.list_presets():
        assert cc.load_preset(name).rules.arm_cross.enabled is False, name
    assert "arm_cross" not in cc.CoachConfig().rules.enabled()


def test_arm_rule_cues_when_crossing_grows_over_the_runners_own_baseline(wrist_steps):
    steps = _more_crossing(wrist_steps, after_s=300.0, factor=1.5)
    on = cc.load_config("default", {"rules": {"arm_cross": {"enabled": True}}, "focus": {"rules": ["arm_cross"]}})
    alerts, summary = coach_run(steps, on, WRIST)
    cues = [a for a in alerts if a.rule == "arm_cross" and a.kind == "cue"]
    assert cues and cues[0].time_s > 300.0
    assert cues[0].message == "Relax your arms: swing them forward and back, not across"
    base = np.median([s.arm_cross_cm for s in wrist_steps if s.arm_cross_cm is not None])
    assert "baseline" in cues[0].target and f"{base:.1f}" in cues[0].target  # the band is the runner's own
    # without the opt-in nothing is said about the arms, and a steady crossing raises nothing
    off, _ = coach_run(steps, cc.load_config("default"), WRIST)
    assert not [a for a in off if a.rule == "arm_cross"]
    steady, _ = coach_run(_more_crossing(wrist_steps, 300.0, 1.0), on, WRIST)
    assert not [a for a in steady if a.rule == "arm_cross"]


def test_arm_rule_takes_no_population_number():
    with pytest.raises(ConfigError, match="arm_cross.reference"):
        cc.load_config("default", {"rules": {"arm_cross": {"enabled": True, "reference": "absolute", "above": 10.0,
                                                           "above_exit": 8.0}}})  # fmt: skip


def test_arm_rule_is_not_measurable_on_the_trunk(hip_block):
    steps = analyze(hip_block, PipelineConfig(placement="waist"), 100.0).steps
    on = cc.load_config("default", {"rules": {"arm_cross": {"enabled": True}}})
    _, summary = coach_run(steps, on, PipelineConfig(placement="waist"))
    assert "arm_cross" in summary["unmeasurable"]
    assert all(s.arm_cross_cm is None for s in steps) and not math.isnan(steps[0].cadence_spm)


# -- live: the CSV source and the emulated radio, into the store -------------------------------------------


def _gait(*args: str):
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    return subprocess.run([sys.executable, "-m", "gait.cli", *args], capture_output=True, text=True, cwd=str(repo),
                          timeout=300)  # fmt: skip


@pytest.mark.parametrize("source", ["csv", "emulated"])
def test_gait_live_wrist_end_to_end_into_the_store(source, tmp_path):
    run = ArmRun(seconds=30.0, plane_deg=15.0)
    rec = tmp_path / "watch.csv"
    rec.write_text(run.csv_text())
    data = tmp_path / "data"
    if source == "csv":
        args = ["--source", "csv", "--csv", str(rec), "--placement", "wrist", "--speed", "max"]
    else:  # an openpod pod on the wrist, over the in-process radio, 10x real time
        args = ["--source", "emulated", "--csv", str(rec), "--device", "kind=openpod,placement=wrist", "--speed", "10",
                "--duration", "2.5"]  # fmt: skip
    res = _gait("live", *args, "--cues", "silent", "--data-dir", str(data))
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    lines = [ln for ln in res.stdout.splitlines() if " cad " in ln and not ln.startswith("#")]
    assert len(lines) > 20
    assert all("gct -" in ln and "vo -" in ln for ln in lines)
    assert sum(" arm " in ln and "unvalidated" in ln for ln in lines) > 10
    with Store(data) as store:
        (run_id,) = store.run_ids()
        assert store.run(run_id).placement == "wrist"
        steps = store.steps(run_id).to_records()
    assert len(steps) > 20
    assert np.median([s.cadence_spm for s in steps]) == pytest.approx(170.0, abs=1.0)
    cross = [s.arm_cross_cm for s in steps if s.arm_cross_cm is not None]
    assert len(cross) > 10 and np.median(cross) == pytest.approx(run.truth()["arm_cross_cm"], abs=1.0)
