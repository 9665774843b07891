"""FIT files from the field: real watch files (read from the shared real-formats folder, never copied
here), broken files, files that do not overlap the run, cycling and multisport files, and the
export's per-second records without flagged steps."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import garmin_fit_sdk as fit_sdk
import numpy as np
import pytest

from gait.cli import main
from gait.core.records import StepMetrics
from gait.storage import Store
from gait.storage import export as ex
from tests.conftest import SHARED_DATA

REAL = SHARED_DATA / "real-formats" / "fit"
needs_real = pytest.mark.skipif(
    not REAL.is_dir(), reason="the real FIT files (shared data folder real-formats/fit) are not on this machine"
)


def _real(name: str) -> Path:
    path = REAL / name
    if not path.is_file():
        pytest.skip(f"{name} is not in the shared real-formats/fit folder")
    return path


def _step(
    ic: float, i: int, *, cadence: float = 170.0, gct: float = 250.0, quality: tuple[str, ...] = ()
) -> StepMetrics:
    return StepMetrics(
        ic_s=ic,
        to_s=ic + gct / 1000.0,
        side="left" if i % 2 == 0 else "right",
        gct_ms=gct,
        flight_ms=100.0,
        cadence_spm=cadence,
        vo_cm=8.0,
        vertical_ratio_pct=7.0,
        fsa_deg=None,
        strike=None,
        lean_deg=None,
        impact_g=None,
        duty_factor=None,
        quality=quality,
    )


def _store_run(folder: Path, start: float, seconds: float) -> tuple[Store, int]:
    """A stored run of ``seconds`` seconds of steps at 170 spm starting at unix time ``start``."""
    store = Store(folder)
    run_id = store.open_run(runner="ana", placement="sacrum", start_time=start)
    n = int(seconds * 170 / 60)
    store.write(run_id, [_step(0.1 + i * 60 / 170, i) for i in range(n)])
    store.close_run(run_id)
    return store, run_id


# --- valid files whose header CRC is 0x0000 ---------------------------------------------------


@needs_real
def test_header_crc_zero_running_file_is_read():
    path = _real("2013-02-06-12-11-14.fit")
    assert path.read_bytes()[12:14] == b"\x00\x00"  # the header CRC is "not computed"
    assert ex.check_fit_bytes(path.read_bytes(), path.name) == 1
    watch = ex.read_fit_dynamics(path)
    assert len(watch) == 590 and watch.sport == "running" and watch.device == "garmin fr110"
    assert watch.time_s[0] == 1360152674.0 and watch.time_s[-1] == 1360155298.0  # 2013-02-06, 43:44 min
    assert np.nanmean(watch.speed_mps) == pytest.approx(1.993, abs=0.001)
    assert watch.non_foot_sports() == []


@needs_real
def test_header_crc_zero_cycling_file_is_read_and_its_cadence_is_not_steps():
    path = _real("2015-10-13-08-43-15.fit")
    assert path.read_bytes()[12:14] == b"\x00\x00"
    watch = ex.read_fit_dynamics(path)
    assert len(watch) == 221 and watch.sport == "cycling" and watch.device == "garmin edge200"
    assert np.nanmean(watch.speed_mps) == pytest.approx(7.360, abs=0.001)
    assert not np.isfinite(watch.cadence_spm).any()
    assert watch.non_foot_sports() == ["cycling"]


@needs_real
def test_running_and_walking_cadence_is_doubled():
    run = ex.read_fit_dynamics(_real("garmin-fenix-5-run.fit"))
    walk = ex.read_fit_dynamics(_real("garmin-fenix-5-walk.fit"))
    assert np.nanmean(run.cadence_spm) == pytest.approx(149.05, abs=0.01)
    np.testing.assert_allclose(walk.cadence_spm[:3], [107.0, 106.0, 112.0])
    assert np.nanmean(walk.cadence_spm) == pytest.approx(121.18, abs=0.01)


# --- broken files: one line naming the file and what is wrong ---------------------------------


@needs_real
@pytest.mark.parametrize(
    ("name", "what"),
    [
        ("activity-filecrc.fit", "the file CRC does not match its contents"),
        (
            "activity-unexpected-eof.fit",
            "truncated: the header announces 757 bytes of records, the file ends 3 bytes short",
        ),
        ("activity-settings-corruptheader.fit", "at byte 771 (a further chained FIT file): the file header is corrupt"),
    ],
)
def test_broken_real_files_are_a_typed_error(name, what, tmp_path, capsys):
    path = _real(name)
    with pytest.raises(ex.FitFileError) as info:
        ex.read_fit_dynamics(path)
    assert str(info.value).startswith(f"{path}: {what}")
    store, run_id = _store_run(tmp_path / "data", 1.7e9, 30)
    store.close()
    assert main(["compare-fit", str(run_id), str(path), "--data-dir", str(tmp_path / "data")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"gait: error: {path}: {what}") and "Traceback" not in err


def _valid_fit() -> bytes:
    enc = fit_sdk.Encoder()
    t0 = dt.datetime(2024, 5, 1, 7, 0, tzinfo=dt.UTC)
    enc.write_mesg({"mesg_num": fit_sdk.Profile["mesg_num"]["FILE_ID"], "type": "activity", "manufacturer": "development",
                    "product": 0, "time_created": t0})  # fmt: skip
    for i in range(20):
        enc.write_mesg({"mesg_num": fit_sdk.Profile["mesg_num"]["RECORD"], "timestamp": t0 + dt.timedelta(seconds=i),
                        "cadence": 85})  # fmt: skip
    return bytes(enc.close())


@pytest.mark.parametrize(
    ("content", "what"),
    [
        (b"", "the file is empty (0 bytes), not a FIT file"),
        (b"date,steps\n2024-05-01,9000\n", "not a FIT file (no FIT file header; 27 bytes)"),
        ("truncated", "truncated: the header announces"),
        ("bad-crc", "the file CRC does not match its contents"),
        ("bad-header-crc", "the file header's CRC does not match the header"),
    ],
)
def test_broken_files_made_here(content, what, tmp_path, capsys):
    good = _valid_fit()
    if content == "truncated":
        content = good[: len(good) - 40]
    elif content == "bad-crc":
        content = good[:-1] + bytes([good[-1] ^ 0xFF])
    elif content == "bad-header-crc":
        content = good[:12] + b"\x01\x00" + good[14:]
    path = tmp_path / "watch.fit"
    path.write_bytes(content)
    with pytest.raises(ex.FitFileError, match="^" + str(path).replace("\\", "\\\\")):
        ex.read_fit_dynamics(path)
    store, run_id = _store_run(tmp_path / "data", 1.7e9, 30)
    store.close()
    assert main(["compare-fit", str(run_id), str(path), "--data-dir", str(tmp_path / "data")]) == 2
    err = capsys.readouterr().err
    assert err == f"gait: error: {path}: {what}" + err[len(f"gait: error: {path}: {what}") :]
    assert err.count("\n") == 1 and "Traceback" not in err


def test_a_missing_file_is_one_line(tmp_path, capsys):
    store, run_id = _store_run(tmp_path / "data", 1.7e9, 30)
    store.close()
    missing = tmp_path / "nowhere.fit"
    assert main(["compare-fit", str(run_id), str(missing), "--data-dir", str(tmp_path / "data")]) == 2
    assert capsys.readouterr().err == f"gait: error: {missing}: no such file\n"


def test_a_valid_file_made_here_still_reads():
    watch = ex.read_fit_dynamics(_valid_fit())
    assert len(watch) == 20 and np.all(watch.cadence_spm == 170.0)


# --- a watch file that does not overlap the run -----------------------------------------------


@needs_real
def test_a_watch_file_of_another_time_says_so(tmp_path, capsys):
    path = _real("garmin-fenix-5-run.fit")
    start = dt.datetime(2026, 3, 14, 7, 30, tzinfo=dt.UTC).timestamp()
    store, run_id = _store_run(tmp_path / "data", start, 60)
    with store, pytest.raises(ex.FitCompareError, match="does not overlap run"):
        ex.compare_run_with_fit(store, run_id, path)
    assert main(["compare-fit", str(run_id), str(path), "--data-dir", str(tmp_path / "data")]) == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err == (
        f"gait: error: {path}: does not overlap run {run_id}: the watch recorded 2017-06-11 14:34:09-14:35:06 UTC, "
        "the run's steps are 2026-03-14 07:30:00-07:30:59 UTC; is it the same run? If the clocks differ, "
        "pass --offset-s\n"
    )


@needs_real
def test_the_same_run_still_compares(tmp_path, capsys):
    path = _real("garmin-fenix-5-run.fit")
    store, run_id = _store_run(tmp_path / "data", 1497191649.0, 60)
    store.close()
    assert main(["compare-fit", str(run_id), str(path), "--data-dir", str(tmp_path / "data")]) == 0
    lines = capsys.readouterr().out.splitlines()
    # the first three records (cadence 0: the watch standing still at the start) are not compared
    assert lines[0] == "watch: 3 of 21 records over the run have cadence 0 (standing still or paused) and are not compared"
    rows = {line.split()[0]: line.split() for line in lines[2:]}
    assert int(rows["cadence_spm"][1]) == 18 and float(rows["cadence_spm"][2]) == pytest.approx(170.0)
    assert float(rows["cadence_spm"][3]) == pytest.approx(149.05 * 21 / 18, abs=0.01)  # 173.89: zeros left out


@needs_real
def test_cadence_zero_records_of_a_long_run_are_counted_and_left_out(tmp_path):
    path = _real("activity-small-fenix2-run.fit")
    watch = ex.read_fit_dynamics(path)
    still = watch.cadence_spm == 0
    assert len(watch) == 2809 and int(still.sum()) == 14
    assert not np.isfinite(watch.gct_ms[still]).any()  # the watch has no dynamics there either
    start = float(watch.time_s[0])
    store, run_id = _store_run(tmp_path / "data", start, float(watch.time_s[-1] - start) + 1.0)
    with store:
        cmp = ex.compare_run_with_fit(store, run_id, path)
    assert cmp.still_records == 14 and cmp.pairs == 2809 - 14
    assert cmp.notes == [
        "watch: 14 of 2809 records over the run have cadence 0 (standing still or paused) and are not compared"
    ]
    moving = watch.cadence_spm[~still & np.isfinite(watch.cadence_spm)]
    assert cmp.metrics["cadence_spm"].n == moving.size
    assert cmp.metrics["cadence_spm"].mean_watch == pytest.approx(float(moving.mean()))
    assert cmp.metrics["cadence_spm"].mean_watch > float(np.nanmean(watch.cadence_spm))  # the zeros pulled it down


def _paused_fit(t0: dt.datetime, cadences: list[int]) -> bytes:
    M = fit_sdk.Profile["mesg_num"]
    enc = fit_sdk.Encoder()
    enc.write_mesg({"mesg_num": M["FILE_ID"], "type": "activity", "manufacturer": "development", "product": 0,
                    "time_created": t0})  # fmt: skip
    for i, c in enumerate(cadences):
        enc.write_mesg({"mesg_num": M["RECORD"], "timestamp": t0 + dt.timedelta(seconds=i), "cadence": c,
                        "stance_time": 250.0 if c else 0.0})  # fmt: skip
    return bytes(enc.close())


def test_a_paused_watch_is_not_compared(tmp_path, capsys):
    t0 = dt.datetime(2024, 5, 1, 7, 0, tzinfo=dt.UTC)
    path = tmp_path / "paused.fit"
    path.write_bytes(_paused_fit(t0, [85] * 20 + [0] * 10 + [85] * 20))  # 10 s paused in the middle
    store, run_id = _store_run(tmp_path / "data", t0.timestamp(), 50)
    store.close()
    assert main(["compare-fit", str(run_id), str(path), "--data-dir", str(tmp_path / "data")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "watch: 10 of 50 records over the run have cadence 0 (standing still or paused) and are not compared"
    rows = {line.split()[0]: line.split() for line in lines[2:]}
    assert int(rows["cadence_spm"][1]) == 40 and float(rows["cadence_spm"][3]) == pytest.approx(170.0)
    assert int(rows["gct_ms"][1]) == 40 and float(rows["gct_ms"][3]) == pytest.approx(250.0)  # the pause's 0 ms too


def test_a_watch_standing_still_all_along_is_one_line(tmp_path, capsys):
    t0 = dt.datetime(2024, 5, 1, 7, 0, tzinfo=dt.UTC)
    path = tmp_path / "still.fit"
    path.write_bytes(_paused_fit(t0, [0] * 30))
    store, run_id = _store_run(tmp_path / "data", t0.timestamp(), 30)
    store.close()
    assert main(["compare-fit", str(run_id), str(path), "--data-dir", str(tmp_path / "data")]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"gait: error: {path}: every record over run {run_id} (30) has cadence 0 (standing still or paused): "
        "nothing to compare\n"
    )


def test_our_flagged_steps_are_left_out_of_the_comparison_as_in_the_export(tmp_path, capsys):
    t0 = dt.datetime(2024, 5, 1, 7, 0, tzinfo=dt.UTC)
    path = tmp_path / "watch.fit"
    path.write_bytes(_paused_fit(t0, [85] * 40))  # 170 spm, 250 ms all along
    steps = [_step(0.1 + i * 60 / 170, i, quality=("warmup",), cadence=120.0, gct=400.0) for i in range(30)]
    steps += [_step(0.1 + i * 60 / 170, i) for i in range(30, 100)]
    steps[50] = _step(steps[50].ic_s, 50, quality=("implausible",), cadence=330.0, gct=90.0)
    with Store(tmp_path / "data") as store:
        run_id = store.open_run(runner="ana", placement="sacrum", start_time=t0.timestamp())
        store.write(run_id, steps)
        store.close_run(run_id)
        cmp = ex.compare_run_with_fit(store, run_id, path)
        exported = ex.flagged_out(store.steps(run_id))  # the export's own rule
    assert int(exported.sum()) == 31
    assert cmp.notes[0] == "ours: 31 of 100 steps flagged implausible, warmup or walking are left out (as in the FIT export)"
    assert cmp.metrics["cadence_spm"].mean_ours == pytest.approx(170.0)
    assert cmp.metrics["gct_ms"].mean_ours == pytest.approx(250.0)
    assert cmp.metrics["cadence_spm"].mean_diff == pytest.approx(0.0, abs=1e-9)
    assert main(["compare-fit", str(run_id), str(path), "--data-dir", str(tmp_path / "data")]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("ours: 31 of 100 steps flagged")


def test_a_run_with_only_flagged_steps_is_one_line(tmp_path, capsys):
    t0 = dt.datetime(2024, 5, 1, 7, 0, tzinfo=dt.UTC)
    path = tmp_path / "watch.fit"
    path.write_bytes(_paused_fit(t0, [85] * 20))
    with Store(tmp_path / "data") as store:
        run_id = store.open_run(runner="ana", placement="sacrum", start_time=t0.timestamp())
        store.write(run_id, [_step(0.1 + i * 0.35, i, quality=("warmup",)) for i in range(40)])
        store.close_run(run_id)
    assert main(["compare-fit", str(run_id), str(path), "--data-dir", str(tmp_path / "data")]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"gait: error: run {run_id} has no steps to compare with {path}: every step is flagged implausible, "
        "warmup or walking\n"
    )


# --- cycling and multisport files -------------------------------------------------------------


@needs_real
def test_a_cycling_file_is_named_and_its_cadence_not_compared(tmp_path, capsys):
    path = _real("garmin-edge-820-bike.fit")
    watch = ex.read_fit_dynamics(path)
    assert watch.sport == "cycling" and np.nanmean(watch.other_cadence_rpm) == pytest.approx(68.2)
    store, run_id = _store_run(tmp_path / "data", watch.time_s[0], 70)
    store.close()
    assert main(["compare-fit", str(run_id), str(path), "--data-dir", str(tmp_path / "data")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        "watch: the file is cycling: its cadence there is not a step cadence (cycling: crank rpm) "
        "and is not compared with ours"
    )
    assert not any(line.startswith("cadence_spm") for line in lines)


def _multisport_fit(first: str, second: str) -> tuple[bytes, float]:
    """Two sessions of 30 s each (``first`` then ``second``), every record with cadence 85; the
    session messages at the end, the first session's first (as devices write them)."""
    M = fit_sdk.Profile["mesg_num"]
    enc = fit_sdk.Encoder()
    t0 = dt.datetime(2024, 5, 1, 7, 0, tzinfo=dt.UTC)
    enc.write_mesg({"mesg_num": M["FILE_ID"], "type": "activity", "manufacturer": "development", "product": 0,
                    "time_created": t0})  # fmt: skip
    for i in range(60):
        enc.write_mesg({"mesg_num": M["RECORD"], "timestamp": t0 + dt.timedelta(seconds=i), "cadence": 85})
    for k, sport in enumerate((first, second)):
        enc.write_mesg({"mesg_num": M["SESSION"], "message_index": k, "timestamp": t0 + dt.timedelta(seconds=30 * k + 29),
                        "start_time": t0 + dt.timedelta(seconds=30 * k), "sport": sport,
                        "total_elapsed_time": 30.0, "total_timer_time": 30.0})  # fmt: skip
    return bytes(enc.close()), t0.timestamp()


@pytest.mark.parametrize(("first", "second"), [("cycling", "running"), ("running", "cycling")])
def test_multisport_each_record_uses_its_own_sessions_sport(first, second, tmp_path, capsys):
    data, t0 = _multisport_fit(first, second)
    watch = ex.read_fit_dynamics(data)
    assert watch.sessions == 2 and watch.sport == first
    assert list(watch.record_sport[:30]) == [first] * 30 and list(watch.record_sport[30:]) == [second] * 30
    run_part = slice(0, 30) if first == "running" else slice(30, 60)
    bike_part = slice(30, 60) if first == "running" else slice(0, 30)
    assert np.all(watch.cadence_spm[run_part] == 170.0) and np.all(np.isnan(watch.cadence_spm[bike_part]))
    assert np.all(watch.other_cadence_rpm[bike_part] == 85.0) and np.all(np.isnan(watch.other_cadence_rpm[run_part]))
    path = tmp_path / "multisport.fit"
    path.write_bytes(data)
    store, run_id = _store_run(tmp_path / "data", t0, 60)
    store.close()
    assert main(["compare-fit", str(run_id), str(path), "--data-dir", str(tmp_path / "data")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("watch: part of the file is cycling")
    cad = next(line.split() for line in lines if line.startswith("cadence_spm"))
    assert int(cad[1]) == 30 and float(cad[3]) == pytest.approx(170.0)  # only the running session's records


# --- export: flagged steps are left out of the per-second records ------------------------------


def test_export_records_leave_out_implausible_and_warmup_steps(tmp_path):
    start = dt.datetime(2026, 3, 14, 7, 30, tzinfo=dt.UTC).timestamp()
    steps = [
        _step(0.05, 0, cadence=60.0, gct=900.0, quality=("implausible",)),
        _step(0.40, 1, cadence=120.0, gct=500.0, quality=("warmup",)),
        _step(0.75, 2, cadence=172.0, gct=244.0),
    ]
    steps += [_step(1.0 + k * 60 / 172, 3 + k, cadence=172.0, gct=244.0) for k in range(40)]
    steps += [_step(1.0 + 40 * 60 / 172 + 0.01, 43, cadence=90.0, gct=700.0, quality=("implausible", "warmup"))]
    with Store(tmp_path / "data") as store:
        run_id = store.open_run(runner="ana", placement="sacrum", start_time=start)
        store.write(run_id, steps)
        store.close_run(run_id)
        data = ex.fit_activity_bytes(store, run_id, developer_fields=False)
    messages, errors = fit_sdk.Decoder(fit_sdk.Stream.from_byte_array(bytearray(data))).read()
    assert errors == []
    recs = messages["record_mesgs"]
    first = recs[0]
    assert first["timestamp"].timestamp() == start
    assert first["cadence"] + first["fractional_cadence"] == pytest.approx(86.0)  # 172 spm, not the flagged mix
    assert first["stance_time"] == pytest.approx(244.0)
    assert all(r["stance_time"] == pytest.approx(244.0) for r in recs)
    session = messages["session_mesgs"][0]
    assert session["avg_stance_time"] == pytest.approx(244.0)
    assert session["total_strides"] == len(steps) // 2


def test_export_of_a_run_with_only_flagged_steps_says_so(tmp_path):
    with Store(tmp_path / "data") as store:
        run_id = store.open_run(runner="ana", placement="sacrum", start_time=1.7e9)
        store.write(run_id, [_step(0.1 + i * 0.35, i, quality=("warmup",)) for i in range(10)])
        store.close_run(run_id)
        with pytest.raises(ValueError, match="every step is flagged implausible, warmup or walking"):
            ex.fit_activity_bytes(store, run_id)
