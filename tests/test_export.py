"""Export of a stored run (CSV, Parquet, FIT) and import of a watch's running dynamics from FIT."""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import json
import math
from pathlib import Path

import garmin_fit_sdk as fit_sdk
import numpy as np
import pytest

from gait.core.config import PipelineConfig
from gait.core.records import Alert, PainNote, StepMetrics
from gait.storage import Store
from gait.storage import export as ex

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "fit"
START = dt.datetime(2026, 3, 14, 7, 30, 0, tzinfo=dt.UTC)
STEP_S = 60.0 / 172.0


def _load_make_fixtures():
    spec = importlib.util.spec_from_file_location("fit_make_fixtures", FIXTURES / "make_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _steps(n: int) -> list[StepMetrics]:
    out = []
    for i in range(n):
        ic = 0.05 + i * STEP_S
        left = i % 2 == 0
        out.append(
            StepMetrics(
                ic_s=ic,
                to_s=ic + 0.245,
                side="left" if left else "right",
                gct_ms=(244.0 if left else 252.0) + 3.0 * math.sin(i / 7.0),
                flight_ms=104.0,
                cadence_spm=172.0 + 2.0 * math.sin(i / 30.0),
                vo_cm=8.2 + 0.4 * math.sin(i / 11.0),
                vertical_ratio_pct=7.3 + 0.3 * math.sin(i / 13.0),
                fsa_deg=9.0 + 4.0 * math.sin(i / 5.0),
                strike="rearfoot" if i % 4 else "midfoot",
                lean_deg=6.0,
                impact_g=3.2,
                duty_factor=0.355,
                arm_cross_cm=8.5 + 0.5 * math.sin(i / 9.0),
                arm_swing_deg=78.0,
                quality=("warmup",) if i < 3 else (),
                emitted_s=ic + 0.3,
            )
        )
    return out


@pytest.fixture
def run(tmp_path: Path):
    store = Store(tmp_path / "data")
    cfg = PipelineConfig(placement="foot", side="left", speed_mps=3.3)
    run_id = store.open_run(runner="ana", config=cfg, start_time=START.timestamp(), devices=["pod"])
    store.write(run_id, _steps(700), device="pod")  # about 4 minutes
    store.write(
        run_id,
        [
            Alert(40.0, "bounce", "cue", "Less bounce, run low", 9.1, "6.4-8.1 cm", "warn"),
            Alert(70.0, "bounce", "clear", "Good", 7.8, "6.4-8.1 cm"),
            PainNote(-30.0, 1, "before", "stiff, left"),
            PainNote(260.0, 2, "after"),
        ],
    )
    store.close_run(run_id)
    yield store, run_id
    store.close()


# --- CSV and Parquet --------------------------------------------------------------------------


def test_csv_export(run, tmp_path):
    store, run_id = run
    files = ex.export_csv(store, run_id, tmp_path / "out")
    with open(files["steps"], newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 700 and tuple(rows[0]) == ex.STEP_EXPORT_COLUMNS
    assert rows[0]["quality"] == "warmup" and rows[5]["quality"] == ""
    assert rows[0]["side"] == "left" and rows[0]["strike"] == "midfoot"
    assert float(rows[1]["gct_ms"]) == pytest.approx(252.0 + 3 * math.sin(1 / 7), abs=1e-4)
    assert float(rows[0]["speed_mps"]) == 3.3
    assert rows[0]["wall_time"].startswith("2026-03-14T07:30:00.050")
    with open(files["alerts"], newline="") as fh:
        alerts = list(csv.DictReader(fh))
    assert [a["kind"] for a in alerts] == ["cue", "clear"] and alerts[0]["target"] == "6.4-8.1 cm"
    with open(files["pain"], newline="") as fh:
        pain = list(csv.DictReader(fh))
    assert [p["score"] for p in pain] == ["1", "2"] and pain[0]["note"] == "stiff, left"


def test_parquet_export_round_trip(run, tmp_path):
    import pyarrow.parquet as pq

    store, run_id = run
    files = ex.export_parquet(store, run_id, tmp_path / "pq")
    table = pq.read_table(files["steps"])
    assert table.num_rows == 700
    cols = store.steps(run_id)
    np.testing.assert_array_equal(table.column("gct_ms").to_numpy(), cols.gct_ms)
    np.testing.assert_array_equal(table.column("ic_s").to_numpy(), cols.ic_s)
    assert table.column("strike").to_pylist()[:2] == ["midfoot", "rearfoot"]
    assert table.column("quality").to_pylist()[0] == ["warmup"]
    meta = json.loads(table.schema.metadata[b"gait.run"])
    assert meta["runner"] == "ana" and json.loads(meta["config_json"])["placement"] == "foot"
    alerts = pq.read_table(files["alerts"])
    assert alerts.column("rule").to_pylist() == ["bounce", "bounce"]


# --- FIT export -------------------------------------------------------------------------------


def _decode(data: bytes) -> dict:
    dec = fit_sdk.Decoder(fit_sdk.Stream.from_byte_array(bytearray(data)))
    assert dec.is_fit() and dec.check_integrity()
    messages, errors = fit_sdk.Decoder(fit_sdk.Stream.from_byte_array(bytearray(data))).read()
    assert errors == []
    return messages


def test_fit_export_decodes_with_the_official_sdk(run, tmp_path):
    store, run_id = run
    path = ex.export_fit(store, run_id, tmp_path / "run.fit")
    msgs = _decode(path.read_bytes())
    assert msgs["file_id_mesgs"][0]["type"] == "activity"
    for kind in ("event_mesgs", "lap_mesgs", "session_mesgs", "activity_mesgs", "record_mesgs"):
        assert msgs.get(kind), kind
    session = msgs["session_mesgs"][0]
    assert session["sport"] == "running" and session["num_laps"] == 1
    assert session["start_time"] == START

    # the records carry the per-second means of our steps, at the FIT field resolution
    # (steps flagged implausible or warm-up left out: here the first three, all in the first second)
    info, all_cols = store.run(run_id), store.steps(run_id)
    keep = ~ex.flagged_out(all_cols)
    assert keep.sum() == 697
    cols = all_cols.select(np.nonzero(keep)[0])
    sec = ex.per_second(
        np.asarray(info.wall_time(all_cols.ic_s))[keep],
        cols,
        store.step_speeds(run_id, all_cols)[keep],
        store.distances(run_id, all_cols)[keep],
    )
    recs = msgs["record_mesgs"]
    assert recs[0]["timestamp"] == START + dt.timedelta(seconds=1)  # the first second held only warm-up steps
    assert len(recs) == sec.time_s.size
    numeric = [k for k, v in recs[10].items() if isinstance(v, (int, float))]
    got = {k: np.array([r.get(k, np.nan) for r in recs], dtype=float) for k in numeric}
    np.testing.assert_array_equal([r["timestamp"].timestamp() for r in recs], sec.time_s)
    np.testing.assert_allclose(got["cadence"] + got["fractional_cadence"], sec.cadence_spm / 2, atol=1 / 256 + 1e-9)
    np.testing.assert_allclose(got["vertical_oscillation"], sec.vo_cm * 10, atol=0.05 + 1e-9)
    np.testing.assert_allclose(got["stance_time"], sec.gct_ms, atol=0.05 + 1e-9)
    np.testing.assert_allclose(got["stance_time_percent"], sec.duty_factor * 100, atol=0.005 + 1e-9)
    np.testing.assert_allclose(got["vertical_ratio"], sec.vertical_ratio_pct, atol=0.005 + 1e-9)
    np.testing.assert_allclose(got["step_length"], sec.step_length_m * 1000, atol=0.05 + 1e-9)
    np.testing.assert_allclose(got["enhanced_speed"], 3.3, atol=0.0005)
    bal = got["stance_time_balance"]
    assert np.isfinite(bal[1:]).all()
    left_share = 100 * 244.0 / (244.0 + 252.0)
    assert np.nanmean(bal) == pytest.approx(left_share, abs=0.3)  # left contacts are shorter
    assert got["distance"][-1] == pytest.approx(store.summary(run_id).distance_m, abs=3.5)
    assert session["avg_vertical_oscillation"] == pytest.approx(np.nanmean(cols.vo_cm) * 10, abs=0.05)
    assert session["avg_stance_time"] == pytest.approx(np.nanmean(cols.gct_ms), abs=0.05)
    assert session["avg_cadence"] + session["avg_fractional_cadence"] == pytest.approx(172 / 2, abs=0.1)
    assert session["total_strides"] == 350

    # metrics FIT has no native field for: developer fields with names and units
    desc = {d["field_name"]: d for d in msgs["field_description_mesgs"]}
    assert set(desc) == {"foot_strike_angle", "foot_strike", "trunk_lean", "impact", "arm_cross", "arm_swing"}
    assert desc["arm_cross"]["units"] == "cm" and desc["arm_swing"]["units"] == "deg"
    assert desc["foot_strike_angle"]["units"] == "deg"
    key = desc["foot_strike"]["key"]
    strikes = [r["developer_fields"][key] for r in recs]
    assert set(strikes) <= {0, 1} and strikes.count(0) > strikes.count(1)  # mostly rearfoot


def test_fit_round_trip_through_the_importer(run):
    store, run_id = run
    watch = ex.read_fit_dynamics(ex.fit_activity_bytes(store, run_id))
    assert watch.sport == "running" and len(watch) > 200
    assert np.nanmean(watch.cadence_spm) == pytest.approx(172, abs=0.3)  # strides/min doubled
    assert np.nanmean(watch.gct_ms) == pytest.approx(248, abs=0.5)
    assert set(watch.developer) == {"foot_strike_angle", "foot_strike", "trunk_lean", "impact", "arm_cross", "arm_swing"}
    assert np.nanmean(watch.developer["trunk_lean"]) == pytest.approx(6.0)
    cmp = ex.compare_run_with_fit(store, run_id, watch)
    assert cmp.pairs == len(watch)
    for name, tol in (("cadence_spm", 0.01), ("gct_ms", 0.05), ("vo_cm", 0.005), ("vertical_ratio_pct", 0.005),
                      ("step_length_m", 0.0005)):  # fmt: skip
        m = cmp.metrics[name]
        assert m.n == len(watch) and abs(m.mean_diff) <= tol, m
    table = cmp.table().splitlines()
    assert any(line.startswith("vo_cm ") for line in table)
    # the columns line up, whatever the metric's name length (stance_time_balance_pct is the longest)
    rows = [line for line in table if line.split()[0] in {"metric", *cmp.metrics}]
    assert len(rows) == 1 + len(cmp.metrics)
    n_end = {line.index(line.split()[1]) + len(line.split()[1]) for line in rows}
    assert "stance_time_balance_pct" in cmp.metrics and len(n_end) == 1, table


# --- import from a watch's FIT file -----------------------------------------------------------


def test_garmin_style_fixture_decodes_with_the_official_sdk():
    data = (FIXTURES / "garmin_style_run.fit").read_bytes()
    msgs = _decode(data)
    file_id = msgs["file_id_mesgs"][0]
    assert file_id["manufacturer"] == "garmin" and file_id["garmin_product"] == "fr965"
    assert {d.get("garmin_product") for d in msgs["device_info_mesgs"]} == {"fr965", "hrm_pro"}
    rec = msgs["record_mesgs"][0]
    for name in ("cadence", "fractional_cadence", "vertical_oscillation", "stance_time", "stance_time_percent",
                 "stance_time_balance", "vertical_ratio", "step_length", "heart_rate", "enhanced_speed"):  # fmt: skip
        assert name in rec, name
    assert msgs["session_mesgs"][0]["avg_step_length"] > 1000


def test_garmin_style_fixture_is_reproducible():
    make = _load_make_fixtures()
    assert make.build_garmin_style() == (FIXTURES / "garmin_style_run.fit").read_bytes()


def test_read_fit_dynamics_units():
    make = _load_make_fixtures()
    expected = make.expected_records()
    watch = ex.read_fit_dynamics(FIXTURES / "garmin_style_run.fit")
    assert watch.device == "garmin fr965" and len(watch) == len(expected)
    np.testing.assert_array_equal(watch.time_s, [e["time_s"] for e in expected])
    np.testing.assert_allclose(watch.cadence_spm, [e["spm"] for e in expected], atol=1 / 64)
    np.testing.assert_allclose(watch.vo_cm, [e["vertical_oscillation"] / 10 for e in expected], atol=1e-9)
    np.testing.assert_allclose(watch.gct_ms, [e["stance_time"] for e in expected], atol=1e-9)
    np.testing.assert_allclose(watch.step_length_m, [e["step_length"] / 1000 for e in expected], atol=1e-9)
    np.testing.assert_allclose(watch.vertical_ratio_pct, [e["vertical_ratio"] for e in expected], atol=1e-9)
    np.testing.assert_allclose(watch.stance_time_balance_pct, [e["stance_time_balance"] for e in expected])
    np.testing.assert_allclose(watch.stance_time_pct, [e["stance_time_percent"] for e in expected])
    np.testing.assert_allclose(watch.speed_mps, [e["speed"] for e in expected], atol=1e-9)


@pytest.mark.parametrize("clock_offset_s", [0.0, 7.0])
def test_compare_our_run_with_the_watch(tmp_path, clock_offset_s):
    """Our steps on the same run: VO reads 1.2 cm higher than the watch, GCT 10 ms shorter; our clock
    runs ``clock_offset_s`` ahead of the watch's (compensated with offset_s)."""
    make = _load_make_fixtures()
    expected = make.expected_records()
    steps = []
    for e in expected:  # three steps in each watch second, at the watch's values
        for k in range(3):
            ic = e["time_s"] - START.timestamp() + clock_offset_s + 0.1 + k * 0.3
            side = "left" if (len(steps) % 2 == 0) else "right"
            steps.append(
                StepMetrics(
                    ic_s=ic,
                    to_s=ic + 0.24,
                    side=side,
                    gct_ms=e["stance_time"] - 10.0,
                    flight_ms=None,
                    cadence_spm=e["spm"],
                    vo_cm=e["vertical_oscillation"] / 10 + 1.2,
                    vertical_ratio_pct=e["vertical_ratio"],
                    fsa_deg=None,
                    strike=None,
                    lean_deg=None,
                    impact_g=None,
                    duty_factor=None,
                )  # fmt: skip
            )
    with Store(tmp_path) as store:
        run_id = store.open_run(runner="ana", placement="sacrum", start_time=START.timestamp())
        store.write(run_id, steps)
        store.close_run(run_id)
        cmp = ex.compare_run_with_fit(store, run_id, FIXTURES / "garmin_style_run.fit", offset_s=clock_offset_s)
    assert cmp.pairs == len(expected)
    assert cmp.metrics["vo_cm"].mean_diff == pytest.approx(1.2, abs=1e-6)
    assert cmp.metrics["gct_ms"].mean_diff == pytest.approx(-10.0, abs=1e-6)
    assert cmp.metrics["cadence_spm"].mean_diff == pytest.approx(0.0, abs=0.02)
    assert cmp.metrics["vertical_ratio_pct"].mean_abs_diff == pytest.approx(0.0, abs=1e-9)
    assert "step_length_m" not in cmp.metrics  # our run had no speed
    assert cmp.metrics["stance_time_balance_pct"].n > 0


def test_decode_rejects_garbage(tmp_path):
    with pytest.raises(ValueError, match="not a FIT file"):
        ex.read_fit_dynamics(b"hello, this is not a FIT file at all")
    data = bytearray((FIXTURES / "garmin_style_run.fit").read_bytes())
    with pytest.raises(ex.FitFileError, match="truncated"):
        ex.read_fit_dynamics(bytes(data[: len(data) // 2]))
