"""Small helpers shared by the protocol modules: byte access with typed errors, hex input,
and `ImuSamples`, the SI record every IMU decoder converts to (SampleBlock-ready).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

import numpy as np

from gait.core.records import SampleBlock

from .errors import EncodeError, InvalidHex, MalformedFrame, ProtocolError, TruncatedFrame

STANDARD_GRAVITY_MPS2 = 9.80665  # m/s^2 per g (standard gravity; no vendor specifies another)

_U16 = struct.Struct("<H")
_I16 = struct.Struct("<h")
_U32 = struct.Struct("<I")
_F32 = struct.Struct("<f")
_U64 = struct.Struct("<Q")


def as_bytes(data: object, protocol: str) -> bytes:
    """``data`` as immutable bytes; anything that is not bytes-like is a `ProtocolError`."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, bytearray | memoryview):
        return bytes(data)
    raise ProtocolError(f"expected bytes, got {type(data).__name__}", protocol=protocol)


def need(data: bytes, end: int, protocol: str, what: str) -> None:
    """Raise `TruncatedFrame` unless ``data`` holds at least ``end`` bytes."""
    if len(data) < end:
        raise TruncatedFrame(protocol, what, end, len(data))


def u16le(data: bytes, offset: int) -> int:
    return _U16.unpack_from(data, offset)[0]


def i16le(data: bytes, offset: int) -> int:
    return _I16.unpack_from(data, offset)[0]


def u32le(data: bytes, offset: int) -> int:
    return _U32.unpack_from(data, offset)[0]


def f32le(data: bytes, offset: int) -> float:
    return _F32.unpack_from(data, offset)[0]


def u64le(data: bytes, offset: int) -> int:
    return _U64.unpack_from(data, offset)[0]


def signed_le(data: bytes, offset: int, size: int) -> int:
    return int.from_bytes(data[offset : offset + size], "little", signed=True)


def unsigned_le(data: bytes, offset: int, size: int) -> int:
    return int.from_bytes(data[offset : offset + size], "little", signed=False)


def check_uint(value: object, bits: int, what: str, protocol: str) -> int:
    """``value`` as an int that fits an unsigned field of ``bits`` bits, else `EncodeError`."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise EncodeError(f"{what} must be an integer, got {value!r}", protocol=protocol)
    value = int(value)
    if not 0 <= value < (1 << bits):
        raise EncodeError(f"{what} {value} does not fit an unsigned {bits}-bit field", protocol=protocol)
    return value


_HEX_SEPARATORS = re.compile(r"0x|0X|[\s:,\-_]")
_HEX_DIGITS = re.compile(r"[0-9a-fA-F]*")


def parse_hex(text: str, protocol: str | None = None) -> bytes:
    """Bytes from hex text: ``"F0 01 02"``, ``"f00102"``, ``"F0:01:02"``, ``"0xF0 0x01"``."""
    if not isinstance(text, str):
        raise InvalidHex(f"expected hex text, got {type(text).__name__}", protocol=protocol)
    compact = _HEX_SEPARATORS.sub("", text)
    if not _HEX_DIGITS.fullmatch(compact):
        bad = next(ch for ch in compact if ch not in "0123456789abcdefABCDEF")
        raise InvalidHex(f"not a hex digit: {bad!r}", protocol=protocol, hint="give bytes as hex, e.g. 'F0 01 02'")
    if len(compact) % 2:
        raise InvalidHex(
            f"odd number of hex digits ({len(compact)})", protocol=protocol, hint="every byte needs two digits"
        )
    return bytes.fromhex(compact)


def to_hex(data: bytes) -> str:
    """``b"\\xf0\\x01"`` -> ``"F0 01"`` (the notation of the protocol references)."""
    return data.hex(" ").upper()


def json_number(value: float | int) -> float | int | None:
    """A JSON-safe number: ints stay ints, non-finite floats become None."""
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        return int(value)
    value = float(value)
    return value if np.isfinite(value) else None


def json_rows(array: np.ndarray) -> list[list[float | int | None]]:
    """An (n, k) array as JSON-safe nested lists (ints stay ints, NaN/inf become None)."""
    if array.dtype.kind in "iu":
        return array.tolist()
    return [[json_number(v) for v in row] for row in array.tolist()]


@dataclass(frozen=True, eq=False, slots=True)
class ImuSamples:
    """SI samples decoded from one device stream: device-clock times, SENSOR frame.

    The decode boundary's output: ``acc_mps2`` (specific force, gravity included),
    ``gyr_dps`` and ``magn_ut`` are (n, 3) float64 or None when the stream does not carry
    them; ``time_s`` is (n,) float64 seconds of device time (origin stated by the producer).
    ``gap_before`` is True when samples were lost just before the first sample;
    ``missing_samples`` is the estimated number lost.
    """

    time_s: np.ndarray
    acc_mps2: np.ndarray | None = None
    gyr_dps: np.ndarray | None = None
    magn_ut: np.ndarray | None = None
    gap_before: bool = False
    missing_samples: int = 0
    source: str = ""

    def __len__(self) -> int:
        return int(self.time_s.shape[0])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ImuSamples):
            return NotImplemented

        def same(a: np.ndarray | None, b: np.ndarray | None) -> bool:
            if a is None or b is None:
                return a is b
            return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True))

        return (
            self.gap_before == other.gap_before
            and self.missing_samples == other.missing_samples
            and self.source == other.source
            and all(same(getattr(self, k), getattr(other, k)) for k in ("time_s", "acc_mps2", "gyr_dps", "magn_ut"))
        )

    def to_sample_block(self, index0: int = 0) -> SampleBlock:
        """The pipeline's input record. Needs accelerometer samples."""
        if self.acc_mps2 is None:
            raise ValueError(f"{self.source or 'these samples'} carry no accelerometer data; a SampleBlock needs it")
        return SampleBlock(time_s=self.time_s, acc_mps2=self.acc_mps2, gyr_dps=self.gyr_dps, index0=index0)

    @staticmethod
    def concat(parts: list[ImuSamples]) -> ImuSamples:
        """Join consecutive parts of one stream (the gap flag of the first part is kept)."""
        if not parts:
            raise ValueError("concat of no parts")

        def join(name: str) -> np.ndarray | None:
            arrays = [getattr(p, name) for p in parts]
            if any(a is None for a in arrays):
                if not all(a is None for a in arrays):
                    raise ValueError(f"cannot concat: {name} present in some parts only")
                return None
            return np.concatenate(arrays)

        return ImuSamples(
            time_s=np.concatenate([p.time_s for p in parts]),
            acc_mps2=join("acc_mps2"),
            gyr_dps=join("gyr_dps"),
            magn_ut=join("magn_ut"),
            gap_before=parts[0].gap_before,
            missing_samples=parts[0].missing_samples,
            source=parts[0].source,
        )


def expect_length(data: bytes, length: int, protocol: str, what: str) -> None:
    """``data`` must be exactly ``length`` bytes: shorter is truncated, longer is malformed."""
    if len(data) < length:
        raise TruncatedFrame(protocol, what, length, len(data))
    if len(data) > length:
        raise MalformedFrame(f"{what}: {len(data) - length} unexpected trailing bytes", protocol=protocol)
