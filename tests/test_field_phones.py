"""Phone exports that other people made (issue 11), read from ../shared/data/real-formats/phones.

The files are not in the repository (several have no licence): these tests read them where the
shared folder exists and skip with the reason elsewhere. See its SOURCES.md for each file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from firmware_interface.files.recording import read_recording
from firmware_interface.phones import PhoneConventionError
from firmware_interface.phones.importers import _holds_gravity, import_phone_export, read_phone_export
from gait.cli import main
from gait.core.config import PipelineConfig
from gait.pipeline import analyze
from tests.conftest import SHARED_DATA

PHONES = SHARED_DATA / "real-formats" / "phones"

pytestmark = pytest.mark.skipif(
    not PHONES.is_dir(), reason="../shared/data/real-formats/phones not present (third-party files, not in the repo)"
)


def _src(rel: str) -> Path:
    p = PHONES / rel
    if not p.exists():
        pytest.skip(f"{rel} not in ../shared/data/real-formats/phones")
    return p


def _cadence(rec, placement: str = "waist") -> tuple[float, int]:
    result = analyze(rec.block(), PipelineConfig(placement=placement), rec.sampling_rate_hz)
    cads = [s.cadence_spm for s in result.steps if s.cadence_spm is not None]
    return (float(np.median(cads)) if cads else float("nan")), len(result.steps)


def _step_rate_spm(acc: np.ndarray, rate_hz: float, lo_spm: float = 60.0, hi_spm: float = 220.0) -> float:
    """The dominant step rate of |a| by autocorrelation (independent of the pipeline)."""
    mag = np.linalg.norm(acc, axis=1)
    mag = mag - mag.mean()
    ac = np.correlate(mag, mag, mode="full")[mag.size - 1 :]
    lags = np.arange(ac.size) / rate_hz
    ok = (lags >= 60.0 / hi_spm) & (lags <= 60.0 / lo_spm)
    return 60.0 / lags[ok][np.argmax(ac[ok])]


# -- phyphox multi-sensor export ---------------------------------------------------------------


def test_phyphox_one_file_per_sensor_with_gravity_imports(tmp_path):
    src = _src("phyphox/lucadomene_gait_lab04")
    rec = import_phone_export(src, tmp_path / "lab04.csv")
    assert "with g" in rec.metadata["acc_source"] and "told from the data" in rec.metadata["acc_source"]
    assert rec.gyr_dps is not None  # "X (rad/s)" is the gyroscope
    assert rec.sampling_rate_hz == pytest.approx(50, abs=1)
    assert rec.duration_s == pytest.approx(48, abs=1.5)
    # the specific force convention: |a| about g
    assert np.median(np.linalg.norm(rec.acc_mps2, axis=1)) == pytest.approx(9.8, abs=0.5)
    # gyroscope converted from rad/s: the file's first value 0.1428 rad/s is 8.18 deg/s
    assert np.abs(rec.gyr_dps).max() > 30.0
    # mixed daily activities at a gait lab: a step rate of walking, not noise
    assert 80.0 <= _step_rate_spm(rec.acc_mps2, rec.sampling_rate_hz) <= 140.0
    back = read_recording(tmp_path / "lab04.csv")
    assert len(back) == len(rec)


def test_gravity_is_told_from_the_data_not_the_name():
    rng = np.random.default_rng(1)
    still_with_g = np.tile([0.3, 9.7, 1.0], (500, 1)) + rng.normal(0, 0.3, (500, 3))
    assert _holds_gravity(still_with_g) is True
    linear_still = rng.normal(0, 0.3, (500, 3))
    assert _holds_gravity(linear_still) is False
    # linear acceleration of a run: large |a| (median near g) but a mean vector near 0
    t = np.arange(700) / 100.0
    run_linear = np.column_stack([12 * np.sin(2 * np.pi * 2.75 * t), 6 * np.cos(2 * np.pi * 2.75 * t), 2 * np.sin(t)])
    assert _holds_gravity(run_linear) is False
    assert _holds_gravity(run_linear + [0.0, 9.81, 0.0]) is True


def test_phyphox_linear_acceleration_only_is_one_clear_line(tmp_path, capsys):
    src = _src("phyphox/iandes0uza_walk")
    with pytest.raises(PhoneConventionError, match="no acceleration with gravity"):
        read_phone_export(src)
    assert main(["import", "phone", str(src), str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "iandes0uza_walk" in err[0] and "Acceleration with g" in err[0]


# -- Sensor Logger -----------------------------------------------------------------------------


def test_sensor_logger_without_metadata_needs_and_takes_the_platform(tmp_path, capsys):
    src = _src("sensorlogger/shuhratkulboboev_nometa")
    assert main(["import", "phone", str(src), str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--platform" in err[0] and "Traceback" not in err[0]
    assert main(["import", "phone", str(src), str(tmp_path), "--platform", "android"]) == 0
    rec = read_recording(tmp_path / "shuhratkulboboev_nometa.csv")
    # Android convention: gravity +9.77 on y stays +y (specific force, +g up)
    assert np.median(rec.acc_mps2[:, 1]) == pytest.approx(9.77, abs=0.3)
    assert rec.gyr_dps is not None


def test_platform_is_for_phone_imports_only(tmp_path, capsys):
    assert main(["import", "rbds", str(tmp_path), str(tmp_path), "--platform", "ios"]) == 2
    assert "--platform" in capsys.readouterr().err


def test_sensor_logger_run_without_gravity_uses_the_uncalibrated_accelerometer(tmp_path):
    src = _src("sensorlogger/lscblack_running2")
    rec = import_phone_export(src, tmp_path / "run.csv")
    assert rec.metadata["acc_source"].startswith("AccelerometerUncalibrated (in g")
    assert rec.metadata["platform"] == "ios"
    # in g -> m/s^2 and the CoreMotion sign turned: gravity averages to +g on the up axis
    mean = rec.acc_mps2.mean(axis=0)
    assert np.linalg.norm(mean) == pytest.approx(9.8, abs=1.5)
    cadence, n = _cadence(rec, "waist")
    assert n >= 10
    assert 160.0 <= cadence <= 170.0  # 163 spm counted from the raw file


def test_sensor_logger_exports_with_metadata_still_import(tmp_path):
    for rel, source in (
        ("sensorlogger/lynch_2022-09-16_11-15-46", "Accelerometer + Gravity (negated: iOS convention)"),
        ("sensorlogger/lynch_2022-09-09_13-14-55.zip", "Accelerometer + Gravity (negated: iOS convention)"),
        ("sensorlogger/igorfreire_bom", "TotalAcceleration"),
        ("sensorlogger/malimszen_2023-11-24_07-25-54.zip", "TotalAcceleration"),
    ):
        rec = import_phone_export(_src(rel), tmp_path / (Path(rel).stem + ".csv"))
        assert rec.metadata["acc_source"] == source
        assert np.median(np.linalg.norm(rec.acc_mps2, axis=1)) == pytest.approx(9.8, abs=2.0)


# -- walking analysed as running ---------------------------------------------------------------


@pytest.mark.parametrize(
    "rel,placement",
    [("phyphox/brantlii_walking_front_pocket", "waist"), ("phyphox/brantlii_walking_hand", "waist")],
)
def test_walking_says_no_running_found(tmp_path, capsys, rel, placement):
    src = _src(rel)
    out = tmp_path / "walk.csv"
    assert main(["import", "phone", str(src), str(out)]) == 0
    capsys.readouterr()
    assert main(["analyze", str(out), "--placement", placement]) == 0
    table = capsys.readouterr()
    lines = [ln for ln in table.out.splitlines() if "no running found" in ln]
    assert len(lines) == 1
    assert main(["analyze", str(out), "--placement", placement, "--jsonl"]) == 0
    jl = capsys.readouterr()
    warn = [ln for ln in jl.err.splitlines() if "no running found" in ln]
    assert len(warn) == 1 and warn[0].startswith("gait: warning:")
    # the analysis contract is unchanged: stdout holds only the JSON lines of the contacts
    assert all(ln.startswith("{") for ln in jl.out.splitlines())


def test_jogging_is_running(tmp_path, capsys):
    src = _src("phyphox/brantlii_jogging_hand_brant")
    out = tmp_path / "jog.csv"
    assert main(["import", "phone", str(src), str(out)]) == 0
    capsys.readouterr()
    assert main(["analyze", str(out), "--placement", "waist"]) == 0
    text = capsys.readouterr().out
    assert "no running found" not in text
    cadence, n = _cadence(read_recording(out), "waist")
    assert n > 100 and 140.0 <= cadence <= 180.0


# -- recordings without running: one line saying why ------------------------------------------


def _resampled(rec, rate_hz: float, path: Path) -> Path:
    """``rec`` resampled to ``rate_hz`` (polyphase, anti-aliased) as a CSV recording."""
    from fractions import Fraction

    from scipy.signal import resample_poly

    from firmware_interface.files.recording import write_recording

    ratio = Fraction(rate_hz / rec.sampling_rate_hz).limit_denominator(100)
    acc = resample_poly(rec.acc_mps2, ratio.numerator, ratio.denominator, axis=0)
    gyr = None if rec.gyr_dps is None else resample_poly(rec.gyr_dps, ratio.numerator, ratio.denominator, axis=0)
    t = rec.time_s[0] + np.arange(acc.shape[0]) / rate_hz
    return write_recording(path, t, acc, gyr, {"placement": "waist"})


def test_the_50hz_lab_walk_says_walking_on_import_and_analysis(tmp_path, capsys):
    src = _src("phyphox/lucadomene_gait_lab04")
    out = tmp_path / "lab04.csv"
    assert main(["import", "phone", str(src), str(out)]) == 0
    err = capsys.readouterr().err
    walking = (
        "walking, not running: steps at about 95/min with |a| within 0.7-1.4 g (a run lands above 2 g every step)"
    )
    assert err == f"gait: note: {out}: no running to analyse: {walking}\n"
    for placement in ("waist", "sacrum", "foot"):
        assert main(["analyze", str(out), "--placement", placement]) == 0
        lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("No running:")]
        assert lines == [f"No running:           no running found: no foot contacts detected; {walking}"]
    assert main(["analyze", str(out), "--placement", "waist", "--jsonl"]) == 0
    jl = capsys.readouterr()
    assert jl.out == "" and jl.err == f"gait: warning: {out}: no running found: no foot contacts detected; {walking}\n"


def test_50hz_is_not_why_the_lab_walk_has_no_contacts(tmp_path):
    """Running resampled from 100 Hz to the lab walk's 50 Hz keeps its contacts."""
    rec = import_phone_export(_src("phyphox/brantlii_jogging_hand_brant"), tmp_path / "jog.csv")
    at_50 = read_recording(_resampled(rec, 50.0, tmp_path / "jog50.csv"))
    assert at_50.sampling_rate_hz == pytest.approx(50.0, abs=0.5)
    cad_100, n_100 = _cadence(rec)
    cad_50, n_50 = _cadence(at_50)
    assert n_100 > 100 and abs(n_50 - n_100) <= 2 and cad_50 == pytest.approx(cad_100, abs=2.0)


def test_below_50hz_the_rate_is_said_to_be_too_low(tmp_path, capsys):
    rec = import_phone_export(_src("phyphox/lucadomene_gait_lab04"), tmp_path / "lab04.csv")
    path = _resampled(rec, 25.0, tmp_path / "lab04_25hz.csv")
    assert main(["analyze", str(path), "--placement", "waist"]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("No running:")]
    assert lines == [
        "No running:           no running found: no foot contacts detected; the sample rate (25 Hz) is too low for "
        "contact detection: record at 50 Hz or more"
    ]


@pytest.mark.parametrize(
    ("rel", "says"),
    [
        ("sensorlogger/lynch_2022-09-16_11-15-46", "gentle movement with no step rhythm (|a| within 0.6-1.9 g): "
                                                   "handling, not running"),  # fmt: skip
        ("sensorlogger/malimszen_2023-11-24_07-25-54.zip", "the sensor hardly moves (|a| varies by 0.02 g): still, or "
                                                           "gently handled, not running"),  # fmt: skip
        ("phyphox/brantlii_jogging_hand_brant", None),
        ("sensorlogger/lscblack_running2", None),
    ],
)
def test_import_says_when_an_export_holds_no_running(rel, says, tmp_path, capsys):
    out = tmp_path / "rec.csv"
    assert main(["import", "phone", str(_src(rel)), str(out)]) == 0
    notes = [ln for ln in capsys.readouterr().err.splitlines() if "no running to analyse" in ln]
    assert notes == ([f"gait: note: {out}: no running to analyse: {says}"] if says else [])
