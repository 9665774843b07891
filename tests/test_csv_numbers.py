"""The compiled fast path for a CSV recording's numbers (`gait.core.csv_numbers`): every value it
gives is the correctly rounded one (Python's ``float`` of the same text, bit for bit), it gives up
on anything else, and a recording reads the same through it as through Arrow's reader.
`parse_table` runs in any build (in pure Python too, slowly: small inputs here)."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_interface.files import recording
from firmware_interface.files.recording import parse_recording, read_recording, write_recording
from gait.core import csv_numbers
from gait.core.errors import RecordingFormatError


def _parse(text: str, ncols: int) -> np.ndarray | int:
    """Columns one after the other in one block (column j from j * cap on)."""
    data = text.encode("ascii")
    cap = text.count("\n") + 1
    out = np.full(ncols * cap, np.nan)
    offsets = np.arange(ncols, dtype=np.int64) * cap
    rows = csv_numbers.parse_table(data, 0, offsets, np.ones(ncols, np.int64), cap, out)
    return rows if rows < 0 else out.reshape(ncols, cap)[:, :rows]


def _bits(x: float) -> bytes:
    return np.float64(x).tobytes()


def test_every_number_is_the_correctly_rounded_one():
    rng = np.random.default_rng(7)
    values = np.concatenate([rng.normal(0, 30, 3000), rng.normal(0, 3000, 1000), rng.uniform(-1, 1, 1000) * 1e-4])
    forms = ["%.6f", "%.3f", "%.9f", "%.12g", "%.15g", "%.4e", "%.6E", "%d"]
    fields = [form % v for form in forms for v in values]
    fields += ["0", "-0", "+0.0", "-0.000000", ".5", "-.25", "5.", "+7", "1e5", "1E-5", "-2.5e+03", "0.000001",
               "1234567890123456", "9007199254740991", "1e22", "1e-22", "000000000000000001.5"]  # fmt: skip
    fields = fields[: len(fields) - len(fields) % 3]
    lines = [",".join(fields[i : i + 3]) for i in range(0, len(fields), 3)]
    got = _parse("\n".join(lines) + "\n", 3)
    assert not isinstance(got, int)
    for k, text in enumerate(fields):
        assert _bits(got[k % 3, k // 3]) == _bits(float(text)), text


@pytest.mark.parametrize(
    "text",
    [
        "1.0,2.0\n3.0,nan\n",  # not a decimal number
        "1.0,2.0\n3.0,\n",  # an empty field
        "1.0,2.0\n\n3.0,4.0\n",  # a blank line
        "1.0,2.0\n3.0\n",  # too few fields
        "1.0,2.0,5.0\n",  # too many
        "1.0, 2.0\n",  # a space
        "1.0,2.0x\n",
        "1.0,1e\n",
        "1.0,--1\n",
        "1.0,12345678901234567890\n",  # 20 digits
        "1.0,9007199254740993\n",  # beyond 2^53: not exact
        "1.0,1e23\n",  # beyond 10^22
        "1.0,1e-23\n",
        "1.0,2.0\r3.0,4.0\n",  # a lone carriage return
    ],
)
def test_anything_else_gives_up(text):
    assert _parse(text, 2) == -1


def test_line_ends_and_the_last_line():
    a = _parse("1.5,2\r\n-3,4.25\r\n", 2)
    b = _parse("1.5,2\n-3,4.25", 2)  # no newline after the last line
    assert a.tolist() == b.tolist() == [[1.5, -3.0], [2.0, 4.25]]


def test_skipped_columns_interleaved_rows_and_too_little_room():
    data = b"1,2,3\n4,5,6\n"
    ones = np.ones(3, np.int64)
    out = np.zeros(2)
    assert csv_numbers.parse_table(data, 0, np.array([-1, 0, -1], np.int64), ones, 2, out) == 2
    assert out.tolist() == [2.0, 5.0]
    rows = np.zeros(4)  # (n, 2) row by row: columns 0 and 2
    assert csv_numbers.parse_table(data, 0, np.array([0, -1, 1], np.int64), np.array([2, 1, 2], np.int64), 2, rows) == 2
    assert rows.tolist() == [1.0, 3.0, 4.0, 6.0]
    assert csv_numbers.parse_table(data, 0, np.array([-1, 0, -1], np.int64), ones, 1, np.zeros(1)) == -2
    with pytest.raises(ValueError):
        csv_numbers.parse_table(data, 0, np.array([-1, 2, -1], np.int64), ones, 2, out)


def _recording(tmp_path, rows: int = 2000):
    rng = np.random.default_rng(3)
    t = np.arange(rows) / 200.0
    acc = rng.normal(0, 9, (rows, 3))
    gyr = rng.normal(0, 200, (rows, 3))
    return write_recording(tmp_path / "r.csv", t, acc, gyr, {"source": "test"})


def test_a_recording_reads_the_same_by_either_reader(tmp_path, monkeypatch):
    path = _recording(tmp_path)
    monkeypatch.setattr(csv_numbers, "COMPILED", True)
    fast = read_recording(path)
    monkeypatch.setattr(csv_numbers, "COMPILED", False)
    arrow = read_recording(path)
    for a, b in ((fast.time_s, arrow.time_s), (fast.acc_mps2, arrow.acc_mps2), (fast.gyr_dps, arrow.gyr_dps)):
        assert a.shape == b.shape and a.tobytes() == b.tobytes()
    # shorter lines than the first one's half: room is made for every line
    text = "time_s,acc_x_mps2,acc_y_mps2,acc_z_mps2\n0.000000000000,9.81000000000,0.0000000000,0.00000000000\n"
    text += "".join(f"{i / 200},1,2,3\n" for i in range(1, 50))
    monkeypatch.setattr(csv_numbers, "COMPILED", True)
    rec = parse_recording(text.encode())
    assert len(rec) == 50 and rec.acc_mps2[-1].tolist() == [1.0, 2.0, 3.0]


def test_a_bad_line_is_still_named(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_numbers, "COMPILED", True)
    path = _recording(tmp_path, 50)
    lines = path.read_text().splitlines()
    lines[20] = lines[20].replace(",", ",x", 1)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(RecordingFormatError) as err:
        read_recording(path)
    assert "21" in str(err.value)


def test_the_compiled_reader_is_only_used_when_compiled(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(csv_numbers, "COMPILED", False)
    monkeypatch.setattr(csv_numbers, "parse_table", lambda *a: calls.append(a) or -1)
    parse_recording(b"time_s,acc_x_mps2,acc_y_mps2,acc_z_mps2\n0,1,2,3\n0.005,1,2,3\n")
    read_recording(_recording(tmp_path, 20))
    assert calls == []
    assert recording._compiled_columns(b"time_s,acc_x_mps2\n1,2\n", 18, ["time_s", "acc_x_mps2"], False) is None


def test_a_memory_mapped_read_falls_back_on_anything_unusual(tmp_path, monkeypatch):
    """Comment lines, an empty file, a missing file: the general reader decides (and names)."""
    monkeypatch.setattr(csv_numbers, "COMPILED", True)
    path = _recording(tmp_path, 30)
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:10] + ["# a note: 1"] + lines[10:]) + "\n")
    assert len(read_recording(path)) == 30
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(RecordingFormatError):
        read_recording(empty)
    with pytest.raises(RecordingFormatError, match="no such file"):
        read_recording(tmp_path / "missing.csv")


def test_a_plain_recording_is_read_through_a_memory_map(tmp_path, monkeypatch):
    path = _recording(tmp_path, 40)
    want = read_recording(path)
    monkeypatch.setattr(csv_numbers, "COMPILED", True)

    def no_copy(_path):
        raise AssertionError("the file was read into memory")

    monkeypatch.setattr(recording, "_read_bytes", no_copy)
    got = read_recording(path)
    assert got.acc_mps2.tobytes() == want.acc_mps2.tobytes() and got.gyr_dps.tobytes() == want.gyr_dps.tobytes()
    assert got.acc_mps2.flags.c_contiguous and got.gyr_dps.flags.c_contiguous and got.time_s.flags.c_contiguous


def test_a_file_the_fast_path_gives_up_on_is_parsed_by_it_once(tmp_path, monkeypatch):
    path = _recording(tmp_path, 30)
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:10] + ["# a note"] + lines[10:]) + "\n")
    monkeypatch.setattr(csv_numbers, "COMPILED", True)
    calls = []
    real = csv_numbers.parse_table
    monkeypatch.setattr(csv_numbers, "parse_table", lambda *a: calls.append(1) or real(*a))
    assert len(read_recording(path)) == 30
    assert len(calls) == 1
