"""Bad input: a clear error naming the line, or a quality flag while the run goes on."""

from __future__ import annotations

import json

import numpy as np
import pytest

from firmware_interface.files.recording import read_recording, write_recording
from gait.cli import main
from gait.core.config import PipelineConfig
from gait.core.errors import RecordingFormatError
from gait.core.records import Gap
from gait.pipeline import analyze


@pytest.fixture()
def hip_csv(tmp_path, hip_block):
    path = tmp_path / "hip.csv"
    write_recording(path, hip_block.time_s, hip_block.acc_mps2, None, {"placement": "waist"})
    return path


def _lines(path):
    return path.read_text().splitlines()


def _write(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


def _run_jsonl(path, capsys, *extra):
    code = main(["analyze", str(path), "--placement", "waist", "--jsonl", *extra])
    captured = capsys.readouterr()
    records = [json.loads(line) for line in captured.out.splitlines()]
    return code, records, captured.err


def test_missing_column_names_the_header_line(tmp_path, hip_csv, capsys):
    lines = _lines(hip_csv)
    header_no = next(i for i, line in enumerate(lines) if line.startswith("time_s"))
    lines[header_no] = lines[header_no].replace("acc_z_mps2", "acc_q")
    bad = _write(tmp_path / "missing.csv", lines)
    code = main(["analyze", str(bad), "--placement", "waist", "--jsonl"])
    err = capsys.readouterr()
    assert code == 2
    assert err.out == ""
    assert f"missing.csv:{header_no + 1}" in err.err and "acc_z_mps2" in err.err


def test_text_in_a_number_field_names_line_and_column(tmp_path, hip_csv, capsys):
    lines = _lines(hip_csv)
    target = len(lines) - 100
    parts = lines[target].split(",")
    parts[2] = "abc"
    lines[target] = ",".join(parts)
    bad = _write(tmp_path / "text.csv", lines)
    with pytest.raises(RecordingFormatError) as info:
        read_recording(bad)
    assert info.value.line == target + 1 and info.value.column == "acc_y_mps2"
    code = main(["analyze", str(bad), "--placement", "waist"])
    assert code == 2
    assert f"text.csv:{target + 1}" in capsys.readouterr().err


def test_nan_is_flagged_and_the_run_goes_on(tmp_path, hip_csv, capsys):
    lines = _lines(hip_csv)
    first_data = next(i for i, line in enumerate(lines) if line.startswith("time_s")) + 1
    nan_rows = range(first_data + 1500, first_data + 1510)  # 15.0-15.1 s into the clip
    for i in nan_rows:
        parts = lines[i].split(",")
        parts[1] = "nan"
        lines[i] = ",".join(parts)
    path = _write(tmp_path / "nan.csv", lines)
    code, records, _ = _run_jsonl(path, capsys)
    clean_code, clean, _ = _run_jsonl(hip_csv, capsys)
    assert code == 0 and clean_code == 0
    assert len(records) >= len(clean) - 2
    t_nan = float(lines[first_data + 1500].split(",")[0])
    flagged = [r for r in records if "nan" in r["quality"]]
    assert flagged, "a step over NaN samples must carry the 'nan' flag"
    assert all(r["ic_s"] - 1.0 < t_nan < r["to_s"] + 1.0 for r in flagged)
    assert not any("nan" in r["quality"] for r in clean)


def test_duplicate_and_decreasing_times_are_dropped_with_a_warning(tmp_path, hip_csv, capsys):
    lines = _lines(hip_csv)
    first_data = next(i for i, line in enumerate(lines) if line.startswith("time_s")) + 1
    k = first_data + 700
    lines.insert(k + 1, lines[k])  # duplicate time
    lines.insert(k + 5, lines[k - 30])  # time going backwards
    path = _write(tmp_path / "dup.csv", lines)
    rec = read_recording(path)
    assert len(rec) == len(read_recording(hip_csv))
    assert np.all(np.diff(rec.time_s) > 0)
    assert rec.warnings and f":{k + 2}:" in rec.warnings[0]
    code, records, err = _run_jsonl(path, capsys)
    assert code == 0 and records
    assert "dropped" in err


def test_gap_is_a_record_and_steps_across_it_are_flagged(hip_block):
    keep = np.ones(len(hip_block), bool)
    keep[1200:1250] = False  # 0.5 s lost at 12 s
    t = hip_block.time_s[keep]
    block = type(hip_block)(time_s=t, acc_mps2=hip_block.acc_mps2[keep])
    result = analyze(block, PipelineConfig(placement="waist"), 100.0)
    assert len(result.gaps) == 1
    gap = result.gaps[0]
    assert isinstance(gap, Gap) and gap.missing_samples == 50
    assert len(result.steps) > 50
    spanning = [s for s in result.steps if "gap" in s.quality]
    assert spanning
    for s in result.steps:
        near = s.ic_s - 0.6 < gap.end_s and s.to_s + 0.6 > gap.start_s
        if "gap" in s.quality:
            assert near


def test_clipped_axis_is_flagged(hip_block):
    acc = hip_block.acc_mps2.copy()
    limit = 3.0 * 9.80665
    acc[:, 1] = np.clip(acc[:, 1], -limit, limit)
    block = type(hip_block)(time_s=hip_block.time_s, acc_mps2=acc)
    result = analyze(block, PipelineConfig(placement="waist", acc_range_g=3.0), 100.0)
    clipped_samples = int(np.sum(np.abs(hip_block.acc_mps2[:, 1]) >= 0.995 * limit))
    assert clipped_samples > 10
    assert any("clipping" in s.quality for s in result.steps)
    clean = analyze(hip_block, PipelineConfig(placement="waist", acc_range_g=16.0), 100.0)
    assert not any("clipping" in s.quality for s in clean.steps)


def test_wrong_placement_gives_a_notice(ankle_block, hip_block):
    foot_as_trunk = analyze(ankle_block, PipelineConfig(placement="waist"), 100.0)
    assert any(n.code == "placement_mismatch" for n in foot_as_trunk.notices)
    trunk_as_foot = analyze(hip_block, PipelineConfig(placement="foot", side="left"), 100.0)
    assert any(n.code == "placement_mismatch" for n in trunk_as_foot.notices)
    right = analyze(hip_block, PipelineConfig(placement="waist"), 100.0)
    assert not any(n.code == "placement_mismatch" for n in right.notices)


def test_low_sample_rate_flags_foot_strike(ankle_block):
    result = analyze(ankle_block, PipelineConfig(placement="foot", side="left"), 100.0)
    assert any(n.code == "low_sample_rate" for n in result.notices)


def test_empty_and_headerless_files(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("# nothing here\n")
    with pytest.raises(RecordingFormatError, match="no header"):
        read_recording(empty)
    only_header = tmp_path / "header.csv"
    only_header.write_text("time_s,acc_x_mps2,acc_y_mps2,acc_z_mps2\n")
    with pytest.raises(RecordingFormatError, match="no data"):
        read_recording(only_header)
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("time_s,acc_x_mps2,acc_y_mps2,acc_z_mps2\n0,1,2,3\n0.01,1,2\n")
    with pytest.raises(RecordingFormatError) as info:
        read_recording(ragged)
    assert info.value.line == 3
    with pytest.raises(RecordingFormatError, match="no such file"):
        read_recording(tmp_path / "absent.csv")


def test_partial_gyro_columns_is_an_error(tmp_path):
    p = tmp_path / "gyro.csv"
    p.write_text("time_s,acc_x_mps2,acc_y_mps2,acc_z_mps2,gyr_x_dps\n0,1,2,3,4\n0.01,1,2,3,4\n")
    with pytest.raises(RecordingFormatError, match="gyr_y_dps"):
        read_recording(p)


def test_unknown_placement_is_rejected_by_the_cli(hip_csv, capsys):
    with pytest.raises(SystemExit) as info:
        main(["analyze", str(hip_csv), "--placement", "knee"])
    assert info.value.code == 2
