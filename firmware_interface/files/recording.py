"""The CSV recording format (the input of the analysis contract).

    # comment lines start with '#'; '# key: value' lines are metadata
    time_s,acc_x_mps2,acc_y_mps2,acc_z_mps2[,gyr_x_dps,gyr_y_dps,gyr_z_dps]

``time_s`` in seconds, strictly increasing (need not start at 0); accelerations are specific
force in the sensor frame with gravity included (a still sensor reads +9.81 on the axis
pointing up); angular rates in deg/s, right-handed. The sample rate is taken from ``time_s``.

Reading is strict about the format (a missing column or text in a number field is an error
naming the line) and lenient about the data: duplicate or decreasing times are dropped with
a warning naming the line, and NaN values are kept for the pipeline to flag.
"""

from __future__ import annotations

import gzip
import io
import math
import mmap
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gait.core.errors import RecordingFormatError
from gait.core.records import SampleBlock

TIME_COL = "time_s"
ACC_COLS = ("acc_x_mps2", "acc_y_mps2", "acc_z_mps2")
GYR_COLS = ("gyr_x_dps", "gyr_y_dps", "gyr_z_dps")


@dataclass
class Recording:
    time_s: np.ndarray
    acc_mps2: np.ndarray
    gyr_dps: np.ndarray | None
    metadata: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    path: str = ""

    def __len__(self) -> int:
        return int(self.time_s.shape[0])

    @property
    def sampling_rate_hz(self) -> float:
        return estimate_rate_hz(self.time_s)

    @property
    def duration_s(self) -> float:
        return float(self.time_s[-1] - self.time_s[0]) if len(self) > 1 else 0.0

    def block(self) -> SampleBlock:
        return SampleBlock(time_s=self.time_s, acc_mps2=self.acc_mps2, gyr_dps=self.gyr_dps, index0=0)

    def blocks(self, samples_per_block: int) -> list[SampleBlock]:
        whole = self.block()
        n = len(self)
        return [whole.slice(i, min(n, i + samples_per_block)) for i in range(0, n, samples_per_block)]


def estimate_rate_hz(time_s: np.ndarray) -> float:
    """1 / the median sample interval, to 9 significant digits: times written to the microsecond
    (or the nanosecond) cannot tell a rate better than that, and the rounding makes the rate of
    every recording of one device the same number, so a stage's filters are designed once
    (`gait.dsp.designs` keeps them) instead of once per file for rates apart by 1e-12 Hz."""
    if time_s.shape[0] < 2:
        raise ValueError("need at least two samples to tell the sample rate")
    dt = np.diff(time_s)
    dt = dt[dt > 0]
    if dt.size == 0:
        raise ValueError("time_s never increases")
    return float(f"{1.0 / float(np.median(dt)):.9g}")


def _read_bytes(path: Path) -> bytes:
    if path.suffix == ".gz":
        with gzip.open(path, "rb") as fh:
            return fh.read()
    return path.read_bytes()


def _parse_metadata(line: str, metadata: dict[str, str]) -> None:
    body = line.lstrip("#").strip()
    for sep in (":", "="):
        if sep in body:
            key, value = body.split(sep, 1)
            key = key.strip()
            if key and " " not in key:
                metadata[key] = value.strip()
            return


def read_recording(path: str | Path) -> Recording:
    """Read a CSV recording. Raises `RecordingFormatError` naming the line on a format error."""
    path = Path(path)
    name = str(path)
    mapped = path.suffix != ".gz"
    if mapped:
        rec = _read_mapped(path, name)
        if rec is not None:
            return rec
    try:
        data = _read_bytes(path)
    except FileNotFoundError:
        raise RecordingFormatError(name, None, "no such file") from None
    if data.isascii():  # ASCII is UTF-8: the bytes go to the parser as they are (decoding costs more than parsing)
        # (the compiled parser has had its try on the mapped file: not twice)
        return _parse(data, name, compiled=not mapped)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RecordingFormatError(name, None, f"not a text file ({exc.reason})") from None
    return parse_recording(text, name)


def _read_mapped(path: Path, name: str) -> Recording | None:
    """A recording read through a memory map by the compiled parser (no copy of the file in
    memory: an hour of 200 Hz data reads in half the time), or None when that does not apply (no
    compiled build, no such file, an empty or unusual file): the general reader then runs and
    says what is wrong, if anything. (A file cut shorter by another process while it is being
    read would stop this one, as with any memory map; recordings only ever grow.)"""
    from gait.core import csv_numbers

    if not csv_numbers.COMPILED:
        return None
    try:
        with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            head = mm[: _after_header(mm)]
            if not head.isascii():
                return None
            try:
                header, header_line, body_offset, metadata, has_gyro = _layout(head.decode("ascii"), name)
            except RecordingFormatError:
                return None
            fast = _compiled_columns(mm, body_offset, header, has_gyro)  # (a comment line: None)
    except (OSError, ValueError):
        return None
    if fast is None:
        return None
    return _finish(*fast, range(header_line, header_line + fast[0].shape[0]), metadata, name)


def read_metadata(path: str | Path) -> dict[str, str]:
    """The ``# key: value`` metadata of a CSV recording, reading only the lines before its header."""
    path = Path(path)
    metadata: dict[str, str] = {}
    try:
        fh = gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else open(path, encoding="utf-8")
    except FileNotFoundError:
        raise RecordingFormatError(str(path), None, "no such file") from None
    try:
        with fh:
            for line in fh:
                stripped = line.strip()
                if stripped and not stripped.startswith("#"):
                    break
                if stripped:
                    _parse_metadata(stripped, metadata)
    except (UnicodeDecodeError, OSError, EOFError) as exc:
        raise RecordingFormatError(str(path), None, f"not a text file ({exc})") from None
    return metadata


def _header(text: str) -> tuple[list[str] | None, int, int, dict[str, str]]:
    """(header columns, 1-based header line, offset of the text after it, metadata of the
    comment lines before it), reading only as far as the header."""
    metadata: dict[str, str] = {}
    pos, line_no = 0, 0
    while pos < len(text):
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        line_no += 1
        stripped = text[pos:end].strip()
        pos = end + 1
        if not stripped:
            continue
        if stripped.startswith("#"):
            _parse_metadata(stripped, metadata)
            continue
        return [c.strip() for c in stripped.split(",")], line_no, pos, metadata
    return None, 0, pos, metadata


def _fast_table(text: str | bytes, start: int, header: list[str], wanted: list[str]) -> list[np.ndarray] | None:
    """The data lines (``text`` from ``start``) parsed by Arrow's CSV reader, or None when they have
    comment or blank lines or anything the reader refuses: the exact line-by-line parser then runs
    and names the offending line."""
    if text.find("#" if isinstance(text, str) else b"#", start) >= 0:  # comment lines: line numbers shift
        return None
    try:
        import pyarrow as pa
        from pyarrow import csv as pacsv
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        return None
    data = text[start:].encode("utf-8") if isinstance(text, str) else memoryview(text)[start:]
    try:
        table = pacsv.read_csv(
            pa.py_buffer(data),
            read_options=pacsv.ReadOptions(column_names=header, use_threads=True, block_size=1 << 21),
            parse_options=pacsv.ParseOptions(delimiter=","),
            convert_options=pacsv.ConvertOptions(
                include_columns=wanted, column_types={c: pa.float64() for c in wanted}, strings_can_be_null=False
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError):
        return None
    newline = "\n" if isinstance(text, str) else b"\n"
    lines = text.count(newline, start) + (0 if text.endswith(newline) else 1)
    if table.num_rows == 0 or table.num_rows != lines:  # blank lines (skipped by Arrow): line numbers shift
        return None
    return [_float_column(table.column(c)) for c in wanted]


def _compiled_columns(data, start: int, header: list[str], has_gyro: bool) -> tuple | None:
    """The data lines in one compiled pass (`gait.core.csv_numbers`) when the build has it and
    every field is a plain decimal number: (time_s, acc (n, 3), gyr (n, 3) or None), each
    contiguous as the recording holds them; else None (Arrow's reader then runs). ``data``:
    ASCII bytes, or a memory map of them."""
    from gait.core import csv_numbers

    if not csv_numbers.COMPILED:
        return None
    wanted = [TIME_COL, *ACC_COLS, *(GYR_COLS if has_gyro else ())]
    # room for lines down to half the first one's length (counting them would take another pass)
    first = data.find(b"\n", start) + 1 - start
    cap = (len(data) - start) // max(1, first // 2) + 2
    rows = -2
    for _ in range(2):
        # one block: time_s, then acc and gyr row by row (their (n, 3) layouts)
        offsets = np.full(len(header), -1, np.int64)
        strides = np.ones(len(header), np.int64)
        for j, col in enumerate(header):
            if col in wanted:
                k = wanted.index(col)
                offsets[j], strides[j] = (0, 1) if k == 0 else (cap * (1 + 3 * ((k - 1) // 3)) + (k - 1) % 3, 3)
        out = np.empty(cap * (1 + 3 * ((len(wanted) - 1) // 3)))
        rows = csv_numbers.parse_table(data, start, offsets, strides, cap, out)
        if rows != -2:
            break
        # shorter lines than that: room for every line
        cap = int(np.count_nonzero(np.frombuffer(data, np.uint8)[start:] == 10)) + 1
    if rows <= 0:
        return None
    acc = out[cap : cap + 3 * rows].reshape(rows, 3)
    gyr = out[4 * cap : 4 * cap + 3 * rows].reshape(rows, 3) if has_gyro else None
    return out[:rows], acc, gyr


def _float_column(column) -> np.ndarray:
    """A float64 Arrow column as one NumPy array, empty fields NaN (read from the Arrow buffers:
    ``ChunkedArray.to_numpy`` would import pandas, which takes longer than reading the file)."""
    parts = []
    for chunk in column.chunks:
        if chunk.null_count:
            import pyarrow.compute as pc

            chunk = pc.fill_null(chunk, float("nan"))
        parts.append(np.frombuffer(chunk.buffers()[1], dtype=np.float64, count=len(chunk), offset=chunk.offset * 8))
    return np.concatenate(parts) if len(parts) != 1 else parts[0]


def _after_header(data: bytes) -> int:
    """Offset just after the header line of an ASCII recording (the first line neither blank nor a comment)."""
    pos = 0
    while pos < len(data):
        end = data.find(b"\n", pos)
        end = len(data) if end < 0 else end
        stripped = data[pos:end].strip()
        if stripped and not stripped.startswith(b"#"):
            return end + 1
        pos = end + 1
    return len(data)


def _layout(head: str, name: str) -> tuple[list[str], int, int, dict[str, str], bool]:
    """The header (columns, its 1-based line, the offset after it), the metadata before it and
    whether there is a gyroscope, from the text up to the header; a wrong header raises."""
    header, header_line, body_offset, metadata = _header(head)
    if header is None:
        raise RecordingFormatError(name, None, "no header line (expected 'time_s,acc_x_mps2,...')")
    for col in (TIME_COL, *ACC_COLS):
        if col not in header:
            raise RecordingFormatError(
                name, header_line, f"missing column {col!r}; header has {header}", column=col
            )
    dupes = {c for c in header if header.count(c) > 1}
    if dupes:
        raise RecordingFormatError(name, header_line, f"duplicate column(s) {sorted(dupes)}")
    gyro_present = [c in header for c in GYR_COLS]
    if any(gyro_present) and not all(gyro_present):
        missing = [c for c, p in zip(GYR_COLS, gyro_present) if not p]
        raise RecordingFormatError(
            name, header_line, f"gyroscope columns must come as a set of three; missing {missing}", column=missing[0]
        )
    return header, header_line, body_offset, metadata, all(gyro_present)


def parse_recording(text: str | bytes, name: str = "<recording>") -> Recording:
    """``text``: the recording's text, or its bytes if they are all ASCII."""
    return _parse(text, name, compiled=True)


def _parse(text: str | bytes, name: str, compiled: bool) -> Recording:
    """`parse_recording`; ``compiled``: try the compiled parser first (on bytes)."""
    head = text if isinstance(text, str) else text[: _after_header(text)].decode("ascii")
    header, header_line, body_offset, metadata, has_gyro = _layout(head, name)
    if compiled and isinstance(text, bytes):
        fast = _compiled_columns(text, body_offset, header, has_gyro)  # (a comment line: None)
        if fast is not None:
            return _finish(*fast, range(header_line, header_line + fast[0].shape[0]), metadata, name)
    wanted = [TIME_COL, *ACC_COLS, *(GYR_COLS if has_gyro else ())]
    usecols = [header.index(c) for c in wanted]
    ncols = len(header)
    data_start = header_line  # 0-based index of the first line after the header

    cols = _fast_table(text, body_offset, header, wanted)
    if cols is not None:
        # line numbers are only needed for messages: data lines follow the header one per line
        n = cols[0].shape[0]
        return _finish(
            np.ascontiguousarray(cols[0]),
            np.column_stack(cols[1:4]),
            np.column_stack(cols[4:7]) if has_gyro else None,
            range(header_line, header_line + n),
            metadata,
            name,
        )
    if not isinstance(text, str):
        text = text.decode("ascii")
    lines = text.splitlines()

    # Data lines, keeping their 1-based line numbers for error messages.
    body_idx = [
        j for j in range(data_start, len(lines)) if lines[j].strip() and not lines[j].lstrip().startswith("#")
    ]
    for j in range(data_start, len(lines)):
        s = lines[j].strip()
        if s.startswith("#"):
            _parse_metadata(s, metadata)
    if not body_idx:
        raise RecordingFormatError(name, header_line, "no data lines after the header")
    body = "\n".join(lines[j] for j in body_idx)
    try:
        arr = np.loadtxt(io.StringIO(body), delimiter=",", usecols=usecols, dtype=np.float64, ndmin=2)
        if arr.shape[0] != len(body_idx):
            raise ValueError("row count mismatch")
    except ValueError:
        _locate_bad_line(lines, body_idx, header, ncols, usecols, name)
        raise  # pragma: no cover - _locate_bad_line always raises
    # Column-count check (loadtxt with usecols tolerates extra fields).
    counts = np.fromiter((lines[j].count(",") for j in body_idx), dtype=np.int64, count=len(body_idx))
    bad = np.nonzero(counts != ncols - 1)[0]
    if bad.size:
        j = body_idx[int(bad[0])]
        raise RecordingFormatError(
            name, j + 1, f"expected {ncols} fields as in the header, found {lines[j].count(',') + 1}"
        )

    return _finish(
        np.ascontiguousarray(arr[:, 0]),
        np.ascontiguousarray(arr[:, 1:4]),
        np.ascontiguousarray(arr[:, 4:7]) if has_gyro else None,
        body_idx,
        metadata,
        name,
    )


def _finish(
    time_s: np.ndarray, acc: np.ndarray, gyr: np.ndarray | None, body_idx, metadata: dict[str, str], name: str
) -> Recording:
    """Checks on the parsed columns (times finite and increasing) and the `Recording`.
    ``body_idx[k]`` is the 0-based line index of data row k."""
    if not np.all(np.isfinite(time_s)):
        k = int(np.nonzero(~np.isfinite(time_s))[0][0])
        raise RecordingFormatError(name, body_idx[k] + 1, "time_s is not a finite number", column=TIME_COL)
    warnings: list[str] = []
    keep = _strictly_increasing_mask(time_s)
    if not keep.all():
        dropped = np.nonzero(~keep)[0]
        first = body_idx[int(dropped[0])] + 1
        warnings.append(
            f"{name}:{first}: {dropped.size} sample(s) with a time not after the previous one "
            f"(duplicate or decreasing time_s) were dropped; first at line {first}"
        )
        time_s, acc = time_s[keep], acc[keep]
        gyr = gyr[keep] if gyr is not None else None
    if time_s.shape[0] < 2:
        raise RecordingFormatError(name, None, "fewer than two usable samples")
    return Recording(time_s=time_s, acc_mps2=acc, gyr_dps=gyr, metadata=metadata, warnings=warnings, path=name)


def _strictly_increasing_mask(t: np.ndarray) -> np.ndarray:
    """Keep a sample only if its time is after every kept sample before it."""
    running_max = np.maximum.accumulate(t)
    keep = np.ones(t.shape[0], dtype=bool)
    keep[1:] = t[1:] > running_max[:-1]
    return keep


def _locate_bad_line(
    lines: list[str], body_idx: list[int], header: list[str], ncols: int, usecols: list[int], name: str
) -> None:
    for j in body_idx:
        parts = lines[j].split(",")
        if len(parts) != ncols:
            raise RecordingFormatError(name, j + 1, f"expected {ncols} fields as in the header, found {len(parts)}")
        for c in usecols:
            field_text = parts[c].strip()
            try:
                float(field_text)
            except ValueError:
                raise RecordingFormatError(
                    name, j + 1, f"not a number: {field_text!r}", column=header[c]
                ) from None
    raise RecordingFormatError(name, None, "could not parse the data lines")


def _fmt(v: float) -> str:
    if math.isnan(v):
        return "nan"
    return repr(round(float(v), 6))


def write_recording(
    path: str | Path,
    time_s: np.ndarray,
    acc_mps2: np.ndarray,
    gyr_dps: np.ndarray | None = None,
    metadata: dict[str, object] | None = None,
) -> Path:
    """Write a recording in the CSV recording format (metadata as '# key: value' lines)."""
    path = Path(path)
    cols = [TIME_COL, *ACC_COLS] + (list(GYR_COLS) if gyr_dps is not None else [])
    data = [time_s[:, None], acc_mps2] + ([gyr_dps] if gyr_dps is not None else [])
    table = np.hstack(data)
    buf = io.StringIO()
    for key, value in (metadata or {}).items():
        buf.write(f"# {key}: {value}\n")
    buf.write(",".join(cols) + "\n")
    np.savetxt(buf, table, delimiter=",", fmt="%.6f")
    text = buf.getvalue()
    if path.suffix == ".gz":
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            fh.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path
