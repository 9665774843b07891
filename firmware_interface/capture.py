"""Raw packet capture files (payload + receive time) for exact replay. See CAPTURE_FORMAT.md.

    header:  MAGIC (8) | major u16 | minor u16 | json_len u32 | json (UTF-8) | crc32 u32
    record:  body_len u32 | body | crc32 u32         (crc32 over body_len and body)
    body:    type u8 | ...
        0x01 STREAM  stream_id u16 | dev_len u8 | device | ch_len u8 | channel
        0x02 PACKET  stream_id u16 | rx_time_ns i64 | payload
        0x03 NOTE    rx_time_ns i64 | JSON object (UTF-8)
        0x04 END     rx_time_ns i64 | JSON object (UTF-8)

`CaptureWriter` appends one record per `write()` with a single ``os.write`` (the data is in
the kernel when it returns, so it survives the process being killed) and ``fsync``s at most
once per ``fsync_every_s`` (so a power cut loses at most about that much); `close()` writes
END and fsyncs. `read_capture` / `CaptureReader` read every intact record and stop cleanly at
a torn or corrupt one, reporting it (`CaptureReader.problem`).
"""

from __future__ import annotations

import json
import mmap
import os
import struct
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from firmware_interface.devices.base import RawPacket
from gait.core.errors import GaitError

MAGIC = b"GAITCAP\x00"
VERSION = (1, 0)
FORMAT_NAME = "gait-capture"

REC_STREAM = 0x01
REC_PACKET = 0x02
REC_NOTE = 0x03
REC_END = 0x04
RECORD_TYPES = (REC_STREAM, REC_PACKET, REC_NOTE, REC_END)

MAX_BODY = 1 << 20  # a record body longer than 1 MiB is corrupt (BLE payloads are < 512 bytes)
MAX_HEADER_JSON = 1 << 24
MAX_STREAMS = 0xFFFF

_HEAD = struct.Struct("<8sHHI")  # magic, major, minor, json_len
_U32 = struct.Struct("<I")
_PACKET = struct.Struct("<BHq")  # type, stream id, rx_time_ns
_STAMP = struct.Struct("<Bq")  # type, rx_time_ns


# Device kind names written by versions before one name per kind (the BLE catalogue's names and
# the generic PMD decoder), read as today's canonical names (`firmware_interface.devices.registry`).
# This is the only place that knows them: captures are the only thing that outlives a rename.
LEGACY_KIND_NAMES = {
    "polar_h10": "h10",
    "polar_verity_sense": "verity",
    "polar_oh1": "oh1",
    "pmd": "oh1",  # the generic PMD decoder, used only for the OH1
    "rsc_foot_pod": "rsc",
}


def canonical_kinds(metadata: dict[str, Any]) -> dict[str, Any]:
    """``metadata`` with every device ``kind`` (in ``devices`` and ``source.devices``) under
    its canonical name (`LEGACY_KIND_NAMES`); other values untouched."""

    def fix(devices: Any) -> Any:
        if not isinstance(devices, list):
            return devices
        return [
            {**d, "kind": LEGACY_KIND_NAMES.get(d["kind"], d["kind"])}
            if isinstance(d, dict) and isinstance(d.get("kind"), str)
            else d
            for d in devices
        ]

    out = dict(metadata)
    if "devices" in out:
        out["devices"] = fix(out["devices"])
    source = out.get("source")
    if isinstance(source, dict) and "devices" in source:
        out["source"] = {**source, "devices": fix(source["devices"])}
    return out


def _software_version() -> str:
    try:
        from importlib.metadata import version

        return version("gait-form")
    except Exception:  # noqa: BLE001 - not installed as a distribution: say so
        return "unknown"


class CaptureError(GaitError):
    """A capture file cannot be read at all (not a capture, unsupported version, bad header)."""


@dataclass(frozen=True, slots=True)
class Note:
    """A NOTE record: a JSON object stamped with a receive time (events, settings, marks)."""

    rx_time_ns: int
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CaptureProblem:
    """Why reading stopped before the end of the file: ``kind`` is ``torn`` (the last record is
    incomplete: the writer died mid-write) or ``corrupt`` (a bad record with data after it)."""

    kind: str
    offset: int  # byte offset of the bad record
    detail: str
    bytes_left: int  # bytes from ``offset`` to the end of the file, not read


# ----------------------------------------------------------------------------------------------
# writing
# ----------------------------------------------------------------------------------------------
def _record(body: bytes) -> bytes:
    head = _U32.pack(len(body))
    return head + body + _U32.pack(zlib.crc32(head + body) & 0xFFFFFFFF)


def _header(metadata: dict[str, Any]) -> bytes:
    text = json.dumps(metadata, sort_keys=True, separators=(",", ":")).encode("utf-8")
    head = _HEAD.pack(MAGIC, VERSION[0], VERSION[1], len(text)) + text
    return head + _U32.pack(zlib.crc32(head) & 0xFFFFFFFF)


def _text(value: str, what: str) -> bytes:
    raw = value.encode("utf-8")
    if len(raw) > 255:
        raise ValueError(f"{what} {value[:40]!r}... is longer than 255 bytes")
    return bytes((len(raw),)) + raw


class CaptureWriter:
    """Append-only, crash-safe capture writer.

    ``metadata`` (JSON-able) goes into the header, completed with ``format``, ``version``,
    ``created_unix_s``, ``software`` and ``rx_clock``. Each `write` is one ``os.write`` of one
    whole record. ``fsync_every_s``: fsync at most this often (0 = after every record, None =
    only on close). ``append=True`` continues an existing capture: its torn tail (if any) is cut
    off and its streams are reused; the metadata of the existing header stays.
    """

    def __init__(
        self,
        path: str | Path,
        metadata: dict[str, Any] | None = None,
        *,
        fsync_every_s: float | None = 1.0,
        append: bool = False,
    ):
        self.path = Path(path)
        self.fsync_every_s = fsync_every_s
        self._streams: dict[tuple[str, str], int] = {}
        self._last_fsync = time.monotonic()
        self.packets = 0
        self.bytes_written = 0
        self._closed = False
        if append and self.path.exists() and self.path.stat().st_size > 0:
            reader = CaptureReader(self.path)
            for _ in reader.records():
                pass
            self.metadata = reader.metadata
            self._streams = {v: k for k, v in reader.streams.items()}
            good_end = reader.good_end
            self._fd = os.open(self.path, os.O_WRONLY)
            os.ftruncate(self._fd, good_end)
            os.close(self._fd)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
            if reader.ended:  # a closed capture continued: note it (END records may repeat)
                self.note({"event": "appended"}, reader.last_rx_ns or 0)
        else:
            meta = dict(metadata or {})
            meta.setdefault("format", FORMAT_NAME)
            meta.setdefault("version", list(VERSION))
            meta.setdefault("created_unix_s", round(time.time(), 3))
            meta.setdefault("software", {"name": "gait-form", "version": _software_version()})
            meta.setdefault("rx_clock", "host monotonic clock, ns (time.monotonic_ns); arbitrary origin")
            self.metadata = meta
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)
            self._write_bytes(_header(meta))
            os.fsync(self._fd)

    # the one place bytes go out (tests override it to tear a record on purpose)
    def _write_bytes(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]
        self.bytes_written += len(data)

    def _stream_id(self, device: str, channel: str) -> int:
        key = (device, channel)
        sid = self._streams.get(key)
        if sid is None:
            sid = len(self._streams)
            if sid >= MAX_STREAMS:
                raise ValueError("too many (device, channel) streams in one capture")
            body = bytes((REC_STREAM,)) + struct.pack("<H", sid) + _text(device, "device") + _text(channel, "channel")
            self._write_bytes(_record(body))
            self._streams[key] = sid
        return sid

    def write(self, packet: RawPacket) -> None:
        """Append one packet (defining its stream first if new)."""
        if self._closed:
            raise ValueError("capture writer is closed")
        sid = self._stream_id(packet.device, packet.channel)
        body = _PACKET.pack(REC_PACKET, sid, int(packet.rx_time_ns)) + bytes(packet.payload)
        if len(body) > MAX_BODY:
            raise ValueError(f"payload of {len(packet.payload)} bytes is too long for a capture record")
        self._write_bytes(_record(body))
        self.packets += 1
        self._maybe_fsync()

    def note(self, data: dict[str, Any], rx_time_ns: int) -> None:
        """Append a NOTE (a JSON object: an event, changed settings, a user mark)."""
        body = _STAMP.pack(REC_NOTE, int(rx_time_ns)) + json.dumps(data, sort_keys=True).encode("utf-8")
        self._write_bytes(_record(body))
        self._maybe_fsync()

    def _maybe_fsync(self) -> None:
        if self.fsync_every_s is None:
            return
        now = time.monotonic()
        if now - self._last_fsync >= self.fsync_every_s:
            os.fsync(self._fd)
            self._last_fsync = now

    def close(self, summary: dict[str, Any] | None = None, rx_time_ns: int | None = None) -> None:
        """Write END (with an optional JSON summary), fsync and close. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            stamp = rx_time_ns if rx_time_ns is not None else time.monotonic_ns()
            body = _STAMP.pack(REC_END, int(stamp)) + json.dumps(summary or {}, sort_keys=True).encode("utf-8")
            self._write_bytes(_record(body))
            os.fsync(self._fd)
        finally:
            os.close(self._fd)

    def __enter__(self) -> CaptureWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ----------------------------------------------------------------------------------------------
# reading
# ----------------------------------------------------------------------------------------------
@dataclass
class CaptureReader:
    """Reads a capture file. Iterate `packets()` (or `records()` for notes too); afterwards
    ``problem`` says whether and why reading stopped early, ``ended`` whether the file was
    closed properly (END record), ``good_end`` the byte offset after the last intact record."""

    path: str | Path
    metadata: dict[str, Any] = field(default_factory=dict, init=False)
    version: tuple[int, int] = field(default=(0, 0), init=False)
    streams: dict[int, tuple[str, str]] = field(default_factory=dict, init=False)
    problem: CaptureProblem | None = field(default=None, init=False)
    ended: bool = field(default=False, init=False)
    end_summary: dict[str, Any] | None = field(default=None, init=False)
    good_end: int = field(default=0, init=False)
    packets_read: int = field(default=0, init=False)
    last_rx_ns: int | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        with open(self.path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            # mapped, not read: a long capture is not copied into memory
            self._data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        self._parse_header()

    def _parse_header(self) -> None:
        data = self._data
        name = str(self.path)
        if len(data) < _HEAD.size:
            if MAGIC.startswith(data[:8]) or data[:8].startswith(MAGIC[: len(data)]):
                raise CaptureError(f"{name}: capture header is incomplete ({len(data)} bytes): the writer died at once")
            raise CaptureError(f"{name}: not a gait capture file (too short)")
        magic, major, minor, json_len = _HEAD.unpack_from(data)
        if magic != MAGIC:
            raise CaptureError(f"{name}: not a gait capture file (magic {magic!r})")
        if major != VERSION[0]:
            raise CaptureError(
                f"{name}: capture format version {major}.{minor}; this program reads {VERSION[0]}.x: update gait"
            )
        if json_len > MAX_HEADER_JSON:
            raise CaptureError(f"{name}: capture header claims {json_len} bytes of metadata: corrupt")
        end = _HEAD.size + json_len
        if len(data) < end + 4:
            raise CaptureError(f"{name}: capture header is incomplete: the writer died before it was written")
        (crc,) = _U32.unpack_from(data, end)
        if crc != zlib.crc32(data[:end]) & 0xFFFFFFFF:
            raise CaptureError(f"{name}: capture header CRC mismatch: corrupt")
        try:
            metadata = json.loads(data[_HEAD.size : end].decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CaptureError(f"{name}: capture metadata is not JSON: {exc}") from None
        self.metadata = canonical_kinds(metadata) if isinstance(metadata, dict) else metadata
        self.version = (major, minor)
        self._start = end + 4
        self.good_end = self._start

    def _stop(self, kind: str, offset: int, detail: str) -> None:
        self.problem = CaptureProblem(kind, offset, detail, len(self._data) - offset)

    def records(self) -> Iterator[RawPacket | Note]:
        """Every packet and note in file order; stops at the first bad record (see ``problem``)."""
        data = self._data
        size = len(data)
        off = self._start
        self.problem = None
        while off < size:
            if size - off < 4:
                self._stop("torn", off, f"{size - off} bytes left, a record starts with a 4-byte length")
                return
            (length,) = _U32.unpack_from(data, off)
            if length == 0 or length > MAX_BODY:
                self._stop("corrupt", off, f"record length {length} is not valid")
                return
            end = off + 4 + length + 4
            if end > size:
                self._stop("torn", off, f"record of {length} bytes cut off at the end of the file")
                return
            (crc,) = _U32.unpack_from(data, off + 4 + length)
            if crc != zlib.crc32(data[off : off + 4 + length]) & 0xFFFFFFFF:
                kind = "torn" if end == size else "corrupt"
                self._stop(kind, off, "record CRC mismatch")
                return
            body = data[off + 4 : off + 4 + length]
            try:
                item = self._body(body)
            except (ValueError, struct.error, UnicodeDecodeError) as exc:
                self._stop("corrupt", off, f"bad record: {exc}")
                return
            off = end
            self.good_end = off
            if item is not None:
                yield item

    def _body(self, body: bytes) -> RawPacket | Note | None:
        rtype = body[0]
        if rtype == REC_PACKET:
            _, sid, rx = _PACKET.unpack_from(body)
            stream = self.streams.get(sid)
            if stream is None:
                raise ValueError(f"packet of undefined stream {sid}")
            self.packets_read += 1
            self.last_rx_ns = rx
            return RawPacket(rx, stream[0], stream[1], bytes(body[_PACKET.size :]))
        if rtype == REC_STREAM:
            (sid,) = struct.unpack_from("<H", body, 1)
            dlen = body[3]
            device = body[4 : 4 + dlen].decode("utf-8")
            clen = body[4 + dlen]
            channel = body[5 + dlen : 5 + dlen + clen].decode("utf-8")
            if len(body) != 5 + dlen + clen:
                raise ValueError("STREAM record length mismatch")
            self.streams[sid] = (device, channel)
            return None
        if rtype in (REC_NOTE, REC_END):
            _, rx = _STAMP.unpack_from(body)
            obj = json.loads(body[_STAMP.size :].decode("utf-8")) if len(body) > _STAMP.size else {}
            if rtype == REC_END:
                self.ended = True
                self.end_summary = obj
                return None
            return Note(rx, obj)
        # unknown record types of a newer minor version: intact (CRC checked), skip them
        return None

    def packets(self) -> Iterator[RawPacket]:
        for item in self.records():
            if isinstance(item, RawPacket):
                yield item


def read_capture(path: str | Path) -> tuple[dict[str, Any], list[RawPacket], CaptureReader]:
    """Everything intact in a capture: (metadata, packets, reader with ``problem`` / ``ended``)."""
    reader = CaptureReader(path)
    packets = list(reader.packets())
    return reader.metadata, packets, reader
