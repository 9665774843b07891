"""`gait import rbds|alcantara` on the files the same authors publish beside the validation set
(issue 11): any subject and speed by file name, one file or a folder, markers without forces, the
Alcantara tables under other names and their raw one-subject recording.

The real files are read from the shared data folder next to the repository (``../shared/data``, or
``$GAIT_DATA_MIRROR``) and linked into temporary folders, never copied into the repository.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from firmware_interface.files.recording import read_recording
from gait.cli import main
from gait.core.config import PipelineConfig
from gait.pipeline import analyze
from gait.validation.dataset_files import DatasetFilesError, alcantara_files, rbds_runs
from tests.conftest import SHARED_DATA

SHARED = SHARED_DATA


def _real(rel: str) -> Path:
    path = SHARED / rel
    if not path.is_file():
        pytest.skip(f"{rel} not found in the shared data folder (../shared/data beside the repository, or $GAIT_DATA_MIRROR)")
    return path


def _folder(tmp_path: Path, name: str, *rels: str, as_names: dict[str, str] | None = None) -> Path:
    """A folder of links to real files (``as_names``: link name per file, to try other names)."""
    folder = tmp_path / name
    folder.mkdir()
    for rel in rels:
        src = _real(rel)
        (folder / (as_names or {}).get(rel, src.name)).symlink_to(src)
    return folder


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def _one_line_error(err: str) -> str:
    assert err.count("\n") == 1 and err.startswith("gait: error: ") and "Traceback" not in err
    return err.strip()


# --- RBDS: file names by pattern --------------------------------------------------------------


def test_rbds_names_by_pattern(tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    for name in ("RBDS001runT25markers.txt", "RBDS001runT25forces.txt", "RBDS001runT35markers.txt", "RBDS001static.txt",
                 "RBDS0041runT252.txt", "RBDS0041runT452.txt", "RBDS0041static.txt", "RBDS032runT35markers.txt",
                 "RBDS001processed.txt", "RBDSinfo_v2.txt", "RBDS001runT45forces.txt", "notes.txt"):  # fmt: skip
        (folder / name).write_text("")
    runs, notes = rbds_runs(folder)
    got = {(r.subject, r.trial, r.markers.name, r.forces.name if r.forces else None, r.speed_mps) for r in runs}
    assert got == {
        ("RBDS001", "T25", "RBDS001runT25markers.txt", "RBDS001runT25forces.txt", 2.5),
        ("RBDS001", "T35", "RBDS001runT35markers.txt", None, 3.5),
        ("RBDS0041", "T252", "RBDS0041runT252.txt", None, 2.5),
        ("RBDS0041", "T452", "RBDS0041runT452.txt", None, 4.5),
    }
    assert all(r.info is not None and r.info.name == "RBDSinfo_v2.txt" for r in runs)
    assert notes == [
        "RBDS001runT45forces.txt: no markers file (RBDS001runT45markers.txt or RBDS001runT45.txt) next to it: skipped",
        "RBDS032runT35markers.txt: no standing trial RBDS032static.txt next to it (it sets the sensor frames and the "
        "standing calibration): skipped",
    ]
    one, _ = rbds_runs(folder / "RBDS0041runT452.txt")  # one file: that run only
    assert [(r.subject, r.trial) for r in one] == [("RBDS0041", "T452")]


def test_rbds_one_subject_folder_with_forces(tmp_path, capsys):
    src = _folder(tmp_path, "sub41", "rbds/RBDS0041runT252.txt", "rbds/RBDS0041runT252forces.txt",
                  "rbds/RBDS0041static.txt")  # fmt: skip
    code, out, err = _run(capsys, "import", "rbds", str(src), str(tmp_path / "out"))
    assert code == 0 and "gait: note:" not in err and "6 recording(s) written" in err
    lines = out.splitlines()
    assert len(lines) == 6 and all("truth: " in ln for ln in lines)
    truth = (tmp_path / "out" / "mocap" / "RBDS0041_sacrum_200hz.truth.json").read_text()
    assert '"contacts_source": "force"' in truth
    import json

    doc = json.loads(truth)
    assert doc["summary"]["median_gct_ms"] == pytest.approx(297, abs=10)  # DATA.md: RBDS0041 contact 297 ms
    assert doc["speed_mps"] == 2.5


def test_rbds_one_file_given_imports_that_run(tmp_path, capsys):
    src = _folder(tmp_path, "sub41", "rbds/RBDS0041runT252.txt", "rbds/RBDS0041runT252forces.txt",
                  "rbds/RBDS0041static.txt")  # fmt: skip
    code, out, _ = _run(capsys, "import", "rbds", str(src / "RBDS0041runT252forces.txt"), str(tmp_path / "out"))
    assert code == 0 and len(out.splitlines()) == 6


def test_rbds_markers_without_forces_has_no_truth_and_says_so(tmp_path, capsys):
    src = _folder(tmp_path, "sub1", "rbds/RBDS001runT25markers.txt", "rbds/RBDS001static.txt")
    code, out, err = _run(capsys, "import", "rbds", str(src), str(tmp_path / "out"))
    assert code == 0
    notes = [ln for ln in err.splitlines() if ln.startswith("gait: note:")]
    assert notes == [
        "gait: note: RBDS001runT25markers.txt: no RBDS001runT25forces.txt next to it, so no contact truth: virtual IMU "
        "recordings written without a truth file"
    ]
    lines = out.splitlines()
    assert len(lines) == 6 and not any("truth:" in ln for ln in lines)
    folder = tmp_path / "out" / "mocap"
    assert not list(folder.glob("*.truth.json")) and len(list(folder.glob("*.static.csv"))) == 6
    rec = read_recording(folder / "RBDS001_sacrum_200hz.csv")
    assert rec.metadata["truth"] == "none (no force file: no contact truth)"
    # still a real run's virtual sensor: DATA.md has 78 steps in 30 s, 156.5 steps/min (from force)
    result = analyze(rec.block(), PipelineConfig(placement="sacrum"), rec.sampling_rate_hz)
    cad = np.median([s.cadence_spm for s in result.steps if s.cadence_spm])
    assert 74 <= len(result.steps) <= 80 and cad == pytest.approx(156.5, abs=3.0)


def test_rbds_only_processed_files_says_what_was_expected_and_found(tmp_path, capsys):
    src = _folder(tmp_path, "proc", "rbds/RBDS001processed.txt", "rbds/RBDS0041processed.txt")
    code, _, err = _run(capsys, "import", "rbds", str(src), str(tmp_path / "out"))
    assert code == 2
    assert _one_line_error(err) == (
        f"gait: error: {src}: no complete RBDS run: expected RBDS<NNN>run<T><speed>markers.txt (or "
        "RBDS<NNN>run<T><speed>.txt) with RBDS<NNN>static.txt, and RBDS<NNN>run<T><speed>forces.txt for contact "
        "truth; found RBDS001processed.txt, RBDS0041processed.txt"
    )


def test_rbds_run_without_its_static_trial_is_one_line(tmp_path, capsys):
    src = _folder(tmp_path, "nostatic", "rbds/RBDS001runT25markers.txt", "rbds/RBDS001runT25forces.txt")
    code, _, err = _run(capsys, "import", "rbds", str(src), str(tmp_path / "out"))
    assert code == 2
    line = _one_line_error(err)
    assert "found RBDS001runT25forces.txt, RBDS001runT25markers.txt" in line
    assert line.endswith("(RBDS001runT25markers.txt: no standing trial RBDS001static.txt next to it (it sets the "
                         "sensor frames and the standing calibration): skipped)")  # fmt: skip


@pytest.mark.parametrize(
    ("rel", "what"),
    [
        ("rbds/RBDS001static.txt", "a standing (static) trial, not a run"),
        ("rbds/RBDS001processed.txt", "gait-cycle-normalised averages, not a recording"),
    ],
)
def test_rbds_a_file_that_is_not_a_run_is_one_line(rel, what, tmp_path, capsys):
    src = _folder(tmp_path, "f", rel)
    path = src / Path(rel).name
    code, _, err = _run(capsys, "import", "rbds", str(path), str(tmp_path / "out"))
    assert code == 2 and _one_line_error(err).startswith(f"gait: error: {path}: {what}")


def test_rbds_whole_shared_folder_keeps_the_validation_names(tmp_path, capsys):
    _real("rbds/RBDS001runT25markers.txt")
    code, out, err = _run(capsys, "import", "rbds", str(SHARED / "rbds"), str(tmp_path / "out"))
    assert code == 0 and "gait: note:" not in err
    names = sorted(Path(ln.split()[0]).stem for ln in out.splitlines())
    assert len(names) == 12 and {n.split("_")[0] for n in names} == {"RBDS001", "RBDS0041"}


# --- Alcantara: the tables under any name, and the raw one-subject recording -------------------


def test_alcantara_raw_one_subject_recording(tmp_path, capsys):
    src = _folder(tmp_path, "one", "alcantara-sacral/Sample_test_data.csv")
    code, out, err = _run(capsys, "import", "alcantara", str(src), str(tmp_path / "out"))
    assert code == 0
    assert [ln for ln in err.splitlines() if ln.startswith("gait: note:")] == [
        "gait: note: Sample_test_data.csv: a raw recording without force or foot strike data: written without truth"
    ]
    csv = tmp_path / "out" / "alcantara" / "alcantara_sample_test_data_sacrum_512hz.csv"
    assert out.splitlines() == [f"{csv}  (sacrum, 512 Hz)"]
    rec = read_recording(csv)
    assert rec.sampling_rate_hz == pytest.approx(512.0, abs=0.1) and rec.duration_s == pytest.approx(5.78, abs=0.01)
    assert np.mean(rec.acc_mps2[:, 1]) == pytest.approx(9.11, abs=0.05)  # up = -Accel_LN_X, gravity included
    result = analyze(rec.block(), PipelineConfig(placement="sacrum"), rec.sampling_rate_hz)
    cad = np.median([s.cadence_spm for s in result.steps if s.cadence_spm])
    gct = np.median([s.gct_ms for s in result.steps if s.gct_ms])
    assert len(result.steps) == 12 and 150 <= cad <= 175 and 230 <= gct <= 320  # a run at about 3 m/s


def test_alcantara_tables_under_another_name(tmp_path, capsys):
    """The repository's earlier names (Accelerometer_one_sub.csv ...): same layout, other suffix."""
    rels = ("alcantara-sacral/Accelerometer_trials01-20.csv", "alcantara-sacral/GRF_trials01-20.csv",
            "alcantara-sacral/Sub_Info_trials01-20.csv")  # fmt: skip
    names = {r: Path(r).name.replace("trials01-20", "one_sub") for r in rels}
    src = _folder(tmp_path, "onesub", *rels, as_names=names)
    code, out, err = _run(capsys, "import", "alcantara", str(src), str(tmp_path / "out"))
    assert code == 0 and "gait: note:" not in err
    lines = out.splitlines()
    assert len(lines) == 20 and all("truth: " in ln for ln in lines)
    assert Path(lines[0].split()[0]).name == "alcantara_one_sub_trial01_sacrum_500hz.csv"
    rec = read_recording(tmp_path / "out" / "alcantara" / "alcantara_one_sub_trial01_sacrum_500hz.csv")
    assert rec.metadata["speed_mps"] == "2.5"


def test_alcantara_accelerometer_table_alone(tmp_path, capsys):
    src = _folder(tmp_path, "acc", "alcantara-sacral/Accelerometer_trials01-20.csv")
    code, out, err = _run(capsys, "import", "alcantara", str(src), str(tmp_path / "out"))
    assert code == 0
    assert [ln for ln in err.splitlines() if ln.startswith("gait: note:")] == [
        "gait: note: Accelerometer_trials01-20.csv: no GRF_trials01-20.csv next to it: recordings written without "
        "contact truth",
        "gait: note: Accelerometer_trials01-20.csv: no Sub_Info_trials01-20.csv next to it: no speed, slope or mass "
        "with the recordings",
    ]
    assert len(out.splitlines()) == 20 and not list((tmp_path / "out" / "alcantara").glob("*.truth.json"))


def test_alcantara_nothing_usable_says_what_was_expected_and_found(tmp_path, capsys):
    src = _folder(tmp_path, "wrong", "alcantara-sacral/GRF_trials01-20.csv", "rbds/RBDS001static.txt")
    code, _, err = _run(capsys, "import", "alcantara", str(src), str(tmp_path / "out"))
    assert code == 2
    assert _one_line_error(err) == (
        f"gait: error: {src}: no Alcantara recordings: expected Accelerometer*.csv (with GRF*.csv for contact truth "
        "and Sub_Info*.csv for speed and slope) or a raw recording with columns Accel_LN_X,Accel_LN_Y,Accel_LN_Z and "
        "a time in ms (like Sample_test_data.csv); found GRF_trials01-20.csv, RBDS001static.txt "
        "(GRF_trials01-20.csv: no Accelerometer_trials01-20.csv next to it (the signals): skipped)"
    )


def test_alcantara_whole_shared_folder(tmp_path):
    _real("alcantara-sacral/Accelerometer_trials01-20.csv")
    tables, raw, notes = alcantara_files(SHARED / "alcantara-sacral")
    assert [t.tag for t in tables] == [""] and [p.name for p in raw] == ["Sample_test_data.csv"] and notes == []
    with pytest.raises(DatasetFilesError, match="not one of the Alcantara files"):
        alcantara_files(_real("rbds/RBDS001static.txt"))


def test_a_broken_table_is_one_line_naming_the_file(tmp_path, capsys):
    src = tmp_path / "broken"
    src.mkdir()
    (src / "Sample_test_data.csv").write_text("Accel_LN_X,Accel_LN_Y,Accel_LN_Z,System_Timestamp_Plot_Zeroed\n1,2,x,3\n")
    code, _, err = _run(capsys, "import", "alcantara", str(src), str(tmp_path / "out"))
    assert code == 2 and _one_line_error(err).startswith(
        f"gait: error: {src / 'Sample_test_data.csv'}: not a comma-separated table of numbers"
    )
