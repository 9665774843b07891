"""openpod v1: encoder and decoder for data packets, control messages and capabilities.

The wire format is defined in ``SPEC.md`` next to this file; ``openpod.h`` is the C side of
the same format (firmware encodes with it, the host tests cross-check both directions).

Decoding is pure and strict: any byte string either decodes or raises a subclass of
`OpenpodError` (never another exception), and the checks run in the order SPEC.md fixes,
so the Python and C decoders report the same first error for the same bytes.
Conversion to SI happens here, once: `OpenpodPacket.acc_mps2` (specific force, gravity
included) and `OpenpodPacket.gyr_dps`, sample times from the device clock.
"""

from __future__ import annotations

import binascii
import struct
from dataclasses import dataclass

import numpy as np

from gait.core.config import GRAVITY_MPS2
from gait.core.errors import GaitError
from gait.core.records import Gap, SampleBlock, SampleFlag

# --------------------------------------------------------------------------- constants

SPEC_VERSION = (1, 0)  # (major, minor)
VERSION = 1  # the major version this decoder reads
MAGIC = 0xA0  # high nibble of byte 0; the low nibble is the major version
MAGIC_VERSION = MAGIC | VERSION  # 0xA1

SERVICE_UUID = "8a480001-c56d-4498-87d6-01fc5feacbe7"
DATA_UUID = "8a480002-c56d-4498-87d6-01fc5feacbe7"  # notify: data packets
CONTROL_UUID = "8a480003-c56d-4498-87d6-01fc5feacbe7"  # write with response + indicate: commands/responses
CAPABILITIES_UUID = "8a480004-c56d-4498-87d6-01fc5feacbe7"  # read: what the device can do

PACKET_IMU = 0x01

HEADER_SIZE = 18
CRC_SIZE = 2
OVERHEAD = HEADER_SIZE + CRC_SIZE  # 20 bytes around the samples
MIN_PACKET = 6  # byte 0, type, seq, CRC: the part every packet type shares
MAX_COUNT = 255
ATT_OVERHEAD = 3  # ATT notification opcode + handle

CH_ACC = 0x01
CH_GYR = 0x02
CH_ACC_GYR = CH_ACC | CH_GYR
CHANNEL_MASKS = (CH_ACC, CH_ACC_GYR)  # the valid channel masks of v1

FLAG_TIME_UNIX = 0x01  # timestamp is microseconds since 1970-01-01T00:00:00Z
FLAG_OVERRUN = 0x02  # the device lost samples right before this packet's first sample

RAW_FULL_SCALE = 32768  # physical = raw * range / 32768
RAW_MIN, RAW_MAX = -32768, 32767

RATE_CODES: dict[int, float] = {
    1: 50.0,
    2: 100.0,
    3: 200.0,
    4: 400.0,
    5: 800.0,
    6: 1600.0,
    7: 52.0,
    8: 104.0,
    9: 208.0,
    10: 416.0,
    11: 833.0,
    12: 1666.0,
    13: 500.0,
    14: 1000.0,
}
ACC_RANGE_CODES: dict[int, int] = {1: 2, 2: 4, 3: 8, 4: 16, 5: 32}  # +-g
GYR_RANGE_CODES: dict[int, int] = {1: 125, 2: 250, 3: 500, 4: 1000, 5: 2000, 6: 4000}  # +-deg/s

_BYTES_PER_SAMPLE = {CH_ACC: 6, CH_ACC_GYR: 12}
_INT16_LE = np.dtype("<i2")
# byte 0, type, seq, timestamp, rate / acc range / gyro range codes, channels, flags, count
_HEADER = struct.Struct("<BBHQBBBBBB")
assert _HEADER.size == HEADER_SIZE

_RATE_TO_CODE = {hz: code for code, hz in RATE_CODES.items()}
_ACC_TO_CODE = {g: code for code, g in ACC_RANGE_CODES.items()}
_GYR_TO_CODE = {dps: code for code, dps in GYR_RANGE_CODES.items()}

# control characteristic
OP_START = 0x01
OP_STOP = 0x02
OP_CONFIGURE = 0x03
OP_GET_CONFIG = 0x04
OP_SET_TIME = 0x05
OPCODES = (OP_START, OP_STOP, OP_CONFIGURE, OP_GET_CONFIG, OP_SET_TIME)
RESPONSE_BIT = 0x80
MAX_COMMAND = 20  # longest command a device must accept

STATUS_OK = 0x00
STATUS_UNKNOWN_OPCODE = 0x01
STATUS_INVALID_LENGTH = 0x02
STATUS_INVALID_PARAMETER = 0x03
STATUS_UNSUPPORTED_RATE = 0x04
STATUS_UNSUPPORTED_ACC_RANGE = 0x05
STATUS_UNSUPPORTED_GYR_RANGE = 0x06
STATUS_UNSUPPORTED_CHANNELS = 0x07
STATUS_INVALID_STATE = 0x08
STATUS_ALREADY_IN_STATE = 0x09
STATUS_MTU_TOO_SMALL = 0x0A
STATUS_SENSOR_FAILURE = 0x0B
STATUS_LOW_BATTERY = 0x0C
STATUS_NOT_SUPPORTED = 0x0D

STATUS_NAMES = {
    STATUS_OK: "OK",
    STATUS_UNKNOWN_OPCODE: "UNKNOWN_OPCODE",
    STATUS_INVALID_LENGTH: "INVALID_LENGTH",
    STATUS_INVALID_PARAMETER: "INVALID_PARAMETER",
    STATUS_UNSUPPORTED_RATE: "UNSUPPORTED_RATE",
    STATUS_UNSUPPORTED_ACC_RANGE: "UNSUPPORTED_ACC_RANGE",
    STATUS_UNSUPPORTED_GYR_RANGE: "UNSUPPORTED_GYR_RANGE",
    STATUS_UNSUPPORTED_CHANNELS: "UNSUPPORTED_CHANNELS",
    STATUS_INVALID_STATE: "INVALID_STATE",
    STATUS_ALREADY_IN_STATE: "ALREADY_IN_STATE",
    STATUS_MTU_TOO_SMALL: "MTU_TOO_SMALL",
    STATUS_SENSOR_FAILURE: "SENSOR_FAILURE",
    STATUS_LOW_BATTERY: "LOW_BATTERY",
    STATUS_NOT_SUPPORTED: "NOT_SUPPORTED",
}
_STATUS_ADVICE = {
    STATUS_UNKNOWN_OPCODE: "the pod's firmware does not know this command; update the firmware",
    STATUS_INVALID_LENGTH: "the command had the wrong length (a host bug)",
    STATUS_INVALID_PARAMETER: "a code in the command is not defined by openpod v1 (a host bug)",
    STATUS_UNSUPPORTED_RATE: "pick a rate from the pod's capabilities",
    STATUS_UNSUPPORTED_ACC_RANGE: "pick an accelerometer range from the pod's capabilities",
    STATUS_UNSUPPORTED_GYR_RANGE: "pick a gyro range from the pod's capabilities",
    STATUS_UNSUPPORTED_CHANNELS: "this pod has no gyroscope; stream the accelerometer only",
    STATUS_INVALID_STATE: "stop the stream before configuring it",
    STATUS_ALREADY_IN_STATE: "nothing to do",
    STATUS_MTU_TOO_SMALL: "one sample does not fit a notification; negotiate an ATT MTU of 247",
    STATUS_SENSOR_FAILURE: "the pod's IMU does not answer; power-cycle the pod",
    STATUS_LOW_BATTERY: "charge the pod",
    STATUS_NOT_SUPPORTED: "the pod does not implement this optional command",
}

# capabilities characteristic
CAPABILITIES_SIZE = 8
FEATURE_SET_TIME = 0x01
MOUNT_UNSPECIFIED = 0
MOUNT_LEFT_FOOT = 1
MOUNT_RIGHT_FOOT = 2
MOUNT_FOOT = 3
MOUNT_SACRUM = 4
MOUNT_CHEST = 5
MOUNT_OTHER = 6

# --------------------------------------------------------------------------- errors


class OpenpodError(GaitError):
    """Base of every error this codec raises. ``code`` is the C header's error number (0 = none)."""

    code = 0


class TruncatedPacket(OpenpodError):
    """Fewer bytes than the header says the packet has."""

    code = -1


class BadMagic(OpenpodError):
    """Byte 0 does not start with the openpod magic nibble: not an openpod packet."""

    code = -2


class UnsupportedVersion(OpenpodError):
    """A packet of a major version this decoder does not read (do not guess: update the host)."""

    code = -3

    def __init__(self, version: int):
        self.version = version
        super().__init__(
            f"openpod packet of major version {version}, this decoder reads version {VERSION}: "
            f"update gait, or flash pod firmware that speaks openpod v{VERSION}"
        )


class CrcMismatch(OpenpodError):
    """The CRC does not match: the bytes were corrupted on the way."""

    code = -4

    def __init__(self, computed: int, stored: int):
        self.computed = computed
        self.stored = stored
        super().__init__(
            f"openpod CRC mismatch (computed 0x{computed:04X}, packet says 0x{stored:04X}): "
            "the packet was corrupted in transit; drop it (the sequence tracker reports the gap)"
        )


class UnknownPacketType(OpenpodError):
    """An intact packet of a type this decoder does not know (a newer minor version): skip it."""

    code = -5

    def __init__(self, packet_type: int, seq: int):
        self.packet_type = packet_type
        self.seq = seq
        super().__init__(
            f"openpod packet type 0x{packet_type:02X} (seq {seq}) is unknown to this decoder; "
            "it is intact and can be skipped (call SequenceTracker.skip(seq))"
        )


class InvalidField(OpenpodError, ValueError):
    """A field holds a value v1 does not define (decoding: a sender bug; encoding: a bad argument)."""

    code = -6

    def __init__(self, name: str, value: object, allowed: str = ""):
        self.field = name
        self.value = value
        extra = f"; allowed: {allowed}" if allowed else ""
        super().__init__(f"openpod field {name}={value!r} is not valid{extra}")


class LengthMismatch(OpenpodError):
    """An intact packet whose length disagrees with its own header (a sender bug)."""

    code = -7

    def __init__(self, expected: int, actual: int):
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"openpod packet is {actual} bytes but its header says {expected}: "
            "the firmware wrote a wrong sample count or sent trailing bytes"
        )


class InvalidCommand(OpenpodError):
    """A control command a device must reject; ``status`` is what it answers."""

    code = -11

    def __init__(self, opcode: int, token: int, status: int, detail: str):
        self.opcode = opcode
        self.token = token
        self.status = status
        super().__init__(f"openpod command 0x{opcode:02X} rejected with {STATUS_NAMES[status]}: {detail}")


class CommandFailed(OpenpodError):
    """The device answered a command with an error status."""

    code = -12

    def __init__(self, opcode: int, status: int):
        self.opcode = opcode
        self.status = status
        name = STATUS_NAMES.get(status, f"status 0x{status:02X}")
        advice = _STATUS_ADVICE.get(status, "unknown status: the pod speaks a newer openpod")
        super().__init__(f"openpod command 0x{opcode:02X} failed with {name}: {advice}")


# --------------------------------------------------------------------------- CRC


def crc16(data: bytes | bytearray | memoryview, crc: int = 0xFFFF) -> int:
    """CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, xorout 0 (check 0x29B1)."""
    return binascii.crc_hqx(data, crc)


# --------------------------------------------------------------------------- codes


def rate_code(rate_hz: float) -> int:
    code = _RATE_TO_CODE.get(float(rate_hz)) if _is_number(rate_hz) else None
    if code is None:
        raise InvalidField("rate_hz", rate_hz, ", ".join(f"{v:g}" for v in sorted(RATE_CODES.values())))
    return code


def acc_range_code(acc_range_g: int) -> int:
    code = _ACC_TO_CODE.get(acc_range_g) if _is_number(acc_range_g) else None
    if code is None:
        raise InvalidField("acc_range_g", acc_range_g, "2, 4, 8, 16, 32")
    return code


def gyr_range_code(gyr_range_dps: int | None) -> int:
    """0 for no gyroscope, else the code of the range."""
    if gyr_range_dps is None:
        return 0
    code = _GYR_TO_CODE.get(gyr_range_dps) if _is_number(gyr_range_dps) else None
    if code is None:
        raise InvalidField("gyr_range_dps", gyr_range_dps, "125, 250, 500, 1000, 2000, 4000 or None")
    return code


def _is_number(x: object) -> bool:
    return isinstance(x, int | float | np.integer | np.floating) and not isinstance(x, bool)


def bytes_per_sample(channels: int) -> int:
    if channels == CH_ACC:
        return 6
    if channels == CH_ACC_GYR:
        return 12
    raise InvalidField("channels", channels, "0x01 (acc) or 0x03 (acc+gyro)")


def max_samples(att_mtu: int = 247, gyro: bool = True) -> int:
    """Samples that fit one notification at this ATT MTU (0: not even one fits)."""
    room = att_mtu - ATT_OVERHEAD - OVERHEAD
    return max(0, min(MAX_COUNT, room // (12 if gyro else 6)))


# --------------------------------------------------------------------------- data packets


def _at_limit(raw: np.ndarray) -> np.ndarray:
    """Elementwise: the count is an int16 limit (-32768 or 32767)."""
    if raw.dtype == np.int16:
        # as uint16 the limits are 0x7FFF and 0x8000, the only two patterns that stay below 2
        # once 0x7FFF is subtracted (mod 2**16): one comparison instead of two and an "or"
        return raw.view(np.uint16) - np.uint16(RAW_MAX) < 2
    return (raw == RAW_MIN) | (raw == RAW_MAX)


def _reaches_limit(*raws: np.ndarray) -> bool:
    """``_at_limit(raw).any()`` for any of ``raws``, without numpy's fixed cost per call, which
    dominates on a packet's few samples: a search of the little-endian bytes for FF 7F (32767)
    and 00 80 (-32768) starting at a sample boundary (an even offset)."""
    if any(raw.dtype != _INT16_LE for raw in raws):
        return any(bool(_at_limit(raw).any()) for raw in raws)
    body = b"".join(raw.tobytes() for raw in raws)
    for limit in (b"\xff\x7f", b"\x00\x80"):
        i = body.find(limit)
        while i >= 0:
            if i % 2 == 0:
                return True
            i = body.find(limit, i + 1)
    return False


@dataclass(frozen=True, eq=False, slots=True)
class OpenpodPacket:
    """One decoded IMU data packet: raw counts plus everything needed to make them SI."""

    version: int
    seq: int  # uint16, wraps
    timestamp_us: int  # device time of the first sample
    rate_hz: float  # nominal output data rate
    acc_range_g: int  # +- full scale
    gyr_range_dps: int | None  # +- full scale, None without gyroscope
    acc_raw: np.ndarray  # (n, 3) int16, sensor frame
    gyr_raw: np.ndarray | None = None  # (n, 3) int16 or None
    flags: int = 0  # FLAG_* bits (unknown bits kept)

    def __len__(self) -> int:
        return int(self.acc_raw.shape[0])

    @property
    def n_samples(self) -> int:
        return len(self)

    @property
    def has_gyro(self) -> bool:
        return self.gyr_raw is not None

    @property
    def time_is_unix(self) -> bool:
        return bool(self.flags & FLAG_TIME_UNIX)

    @property
    def overrun(self) -> bool:
        return bool(self.flags & FLAG_OVERRUN)

    @property
    def period_us(self) -> float:
        return 1e6 / self.rate_hz

    @property
    def acc_mps2(self) -> np.ndarray:
        """(n, 3) float64 specific force in m/s^2, gravity included (a still pod reads +9.81 up)."""
        acc = self.acc_raw.astype(np.float64)
        acc *= self.acc_range_g * GRAVITY_MPS2 / RAW_FULL_SCALE
        return acc

    @property
    def gyr_dps(self) -> np.ndarray | None:
        """(n, 3) float64 angular rate in deg/s (right-handed), None without gyroscope."""
        if self.gyr_raw is None or self.gyr_range_dps is None:
            return None
        gyr = self.gyr_raw.astype(np.float64)
        gyr *= self.gyr_range_dps / RAW_FULL_SCALE
        return gyr

    @property
    def time_s(self) -> np.ndarray:
        """(n,) float64 device time of each sample: timestamp + index / rate."""
        return self.timestamp_us * 1e-6 + np.arange(len(self), dtype=np.float64) / self.rate_hz

    @property
    def clipped(self) -> np.ndarray:
        """(n,) bool: some axis sits at the int16 limit (the sensor saturated)."""
        hit = _at_limit(self.acc_raw)
        if self.gyr_raw is not None:
            hit |= _at_limit(self.gyr_raw)
        return hit.any(axis=1)

    @property
    def saturated(self) -> bool:
        """``clipped.any()``, cheaper (no per-sample answer): most packets have no clipped sample."""
        if self.gyr_raw is None:
            return _reaches_limit(self.acc_raw)
        return _reaches_limit(self.acc_raw, self.gyr_raw)

    def to_sample_block(self, index0: int = 0, after_gap: bool = False) -> SampleBlock:
        """The pipeline's input record; saturated samples carry `SampleFlag.CLIPPED`."""
        flags = np.where(self.clipped, SampleFlag.CLIPPED, 0).astype(np.uint8)
        if after_gap or self.overrun:
            flags[0] |= SampleFlag.AFTER_GAP
        return SampleBlock(
            time_s=self.time_s,
            acc_mps2=self.acc_mps2,
            gyr_dps=self.gyr_dps,
            index0=index0,
            flags=flags if flags.any() else None,
        )

    def encode(self) -> bytes:
        return encode_packet(
            seq=self.seq,
            timestamp_us=self.timestamp_us,
            rate_hz=self.rate_hz,
            acc_range_g=self.acc_range_g,
            acc_raw=self.acc_raw,
            gyr_range_dps=self.gyr_range_dps,
            gyr_raw=self.gyr_raw,
            flags=self.flags,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OpenpodPacket):
            return NotImplemented
        same_gyr = (self.gyr_raw is None and other.gyr_raw is None) or (
            self.gyr_raw is not None and other.gyr_raw is not None and np.array_equal(self.gyr_raw, other.gyr_raw)
        )
        return (
            (self.version, self.seq, self.timestamp_us, self.rate_hz, self.acc_range_g, self.gyr_range_dps, self.flags)
            == (
                other.version,
                other.seq,
                other.timestamp_us,
                other.rate_hz,
                other.acc_range_g,
                other.gyr_range_dps,
                other.flags,
            )
            and np.array_equal(self.acc_raw, other.acc_raw)
            and same_gyr
        )

    __hash__ = None  # type: ignore[assignment]


def _int16_rows(name: str, values: object) -> np.ndarray:
    try:
        a = np.asarray(values)
    except Exception as exc:  # any conversion failure is a bad argument
        raise InvalidField(name, type(values).__name__, "an (n, 3) array of int16 counts") from exc
    if a.ndim != 2 or a.shape[1] != 3:
        raise InvalidField(f"{name}.shape", a.shape, "(n, 3)")
    if a.size and a.dtype.kind not in "iu":
        if a.dtype.kind != "f" or not np.all(np.isfinite(a)) or not np.all(a == np.round(a)):
            raise InvalidField(f"{name}.dtype", str(a.dtype), "integer counts (use acc_to_raw / gyr_to_raw)")
    if a.size and (a.min() < RAW_MIN or a.max() > RAW_MAX):
        raise InvalidField(name, f"[{a.min()}, {a.max()}]", "int16 counts in [-32768, 32767]")
    return a.astype("<i2")


def encode_packet(
    *,
    seq: int,
    timestamp_us: int,
    rate_hz: float,
    acc_range_g: int,
    acc_raw: object,
    gyr_range_dps: int | None = None,
    gyr_raw: object = None,
    flags: int = 0,
) -> bytes:
    """One IMU data packet (SPEC.md section 4). Bad arguments raise `InvalidField`."""
    if not isinstance(seq, int | np.integer) or not 0 <= seq <= 0xFFFF:
        raise InvalidField("seq", seq, "0..65535")
    if not isinstance(timestamp_us, int | np.integer) or not 0 <= timestamp_us < 2**64:
        raise InvalidField("timestamp_us", timestamp_us, "0..2**64-1")
    if not isinstance(flags, int | np.integer) or not 0 <= flags <= 0xFF:
        raise InvalidField("flags", flags, "0..255")
    rc = rate_code(rate_hz)
    ac = acc_range_code(acc_range_g)
    acc = _int16_rows("acc_raw", acc_raw)
    if (gyr_raw is None) != (gyr_range_dps is None):
        raise InvalidField("gyr_range_dps", gyr_range_dps, "given together with gyr_raw, or both None")
    gc = gyr_range_code(gyr_range_dps)
    n = acc.shape[0]
    if not 1 <= n <= MAX_COUNT:
        raise InvalidField("n_samples", n, f"1..{MAX_COUNT}")
    if gyr_raw is None:
        channels = CH_ACC
        body = acc
    else:
        gyr = _int16_rows("gyr_raw", gyr_raw)
        if gyr.shape != acc.shape:
            raise InvalidField("gyr_raw.shape", gyr.shape, f"the shape of acc_raw {acc.shape}")
        channels = CH_ACC_GYR
        body = np.hstack([acc, gyr])
    head = _HEADER.pack(MAGIC_VERSION, PACKET_IMU, int(seq), int(timestamp_us), rc, ac, gc, channels, int(flags), n)
    packet = head + np.ascontiguousarray(body, dtype="<i2").tobytes()
    return packet + struct.pack("<H", crc16(packet))


def acc_to_raw(acc_mps2: object, acc_range_g: int) -> np.ndarray:
    """Quantize specific force (m/s^2) to int16 counts at this range (saturating, like a sensor)."""
    acc_range_code(acc_range_g)
    return _quantize("acc_mps2", acc_mps2, RAW_FULL_SCALE / (acc_range_g * GRAVITY_MPS2))


def gyr_to_raw(gyr_dps: object, gyr_range_dps: int) -> np.ndarray:
    """Quantize angular rate (deg/s) to int16 counts at this range (saturating)."""
    gyr_range_code(gyr_range_dps)
    return _quantize("gyr_dps", gyr_dps, RAW_FULL_SCALE / gyr_range_dps)


def _quantize(name: str, values: object, scale: float) -> np.ndarray:
    a = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise InvalidField(name, "non-finite values", "finite numbers (openpod has no NaN)")
    return np.clip(np.rint(a * scale), RAW_MIN, RAW_MAX).astype(np.int16)


def _as_bytes(data: object) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, bytearray | memoryview):
        return bytes(data)
    raise TypeError(f"openpod decoders take bytes, not {type(data).__name__}")


def _common_prefix(data: bytes) -> None:
    if len(data) == 0:
        raise TruncatedPacket("empty openpod packet")
    if data[0] & 0xF0 != MAGIC:
        raise BadMagic(f"byte 0 is 0x{data[0]:02X}, an openpod packet starts with 0xA_: not openpod data")
    if data[0] & 0x0F != VERSION:
        raise UnsupportedVersion(data[0] & 0x0F)


def decode_packet(data: bytes | bytearray | memoryview) -> OpenpodPacket:
    """Decode one data packet (one notification). Raises only `OpenpodError` subclasses on bad bytes.

    ``acc_raw`` and ``gyr_raw`` are read-only views of the packet's bytes (no copy)."""
    data = _as_bytes(data)
    _common_prefix(data)
    n_bytes = len(data)
    if n_bytes < MIN_PACKET:
        raise TruncatedPacket(f"openpod packet of {n_bytes} bytes, every packet has at least {MIN_PACKET}")
    ptype = data[1]
    stored = data[-2] | data[-1] << 8
    if ptype != PACKET_IMU:
        computed = crc16(data[:-2])
        if computed != stored:
            raise CrcMismatch(computed, stored)
        raise UnknownPacketType(ptype, data[2] | data[3] << 8)
    if n_bytes < OVERHEAD:
        raise TruncatedPacket(f"openpod IMU packet of {n_bytes} bytes, shorter than its {OVERHEAD}-byte frame")
    _, _, seq, timestamp_us, rc, ac, gc, channels, flags, count = _HEADER.unpack_from(data)
    bps = _BYTES_PER_SAMPLE.get(channels, 0)
    expected = OVERHEAD + count * bps
    computed = crc16(data[:-2])
    if computed != stored:
        if bps and count and n_bytes < expected:
            raise TruncatedPacket(f"openpod IMU packet of {n_bytes} bytes, its header says {expected}")
        raise CrcMismatch(computed, stored)
    # intact from here on: any remaining error is a bug of the sender
    if not bps:
        raise InvalidField("channels", channels, "0x01 (acc) or 0x03 (acc+gyro)")
    if count == 0:
        raise InvalidField("count", 0, f"1..{MAX_COUNT}")
    if n_bytes != expected:
        raise LengthMismatch(expected, n_bytes)
    if rc not in RATE_CODES:
        raise InvalidField("rate_code", rc, "1..14 (SPEC.md table 4.2)")
    if ac not in ACC_RANGE_CODES:
        raise InvalidField("acc_range_code", ac, "1..5")
    gyro = bps == 12
    if gyro:
        if gc not in GYR_RANGE_CODES:
            raise InvalidField("gyr_range_code", gc, "1..6")
    elif gc != 0:
        raise InvalidField("gyr_range_code", gc, "0 when the gyro channel is off")
    # bytes are immutable, so these views are read-only
    samples = np.frombuffer(data, dtype="<i2", count=count * bps // 2, offset=HEADER_SIZE).reshape(count, bps // 2)
    return OpenpodPacket(
        VERSION,
        seq,
        timestamp_us,
        RATE_CODES[rc],
        ACC_RANGE_CODES[ac],
        GYR_RANGE_CODES[gc] if gyro else None,
        samples[:, :3],
        samples[:, 3:] if gyro else None,
        flags,
    )


# --------------------------------------------------------------------------- sequence tracking


@dataclass(frozen=True, slots=True)
class SequenceReport:
    """What arrived before this packet that should have, and where it goes in the stream.

    ``index0`` counts the samples delivered before this packet (lost ones not counted), as
    `SampleBlock.index0` does. ``gap`` is set when samples are missing. ``restarted``: the
    stream restarted (clock or sequence went backwards, or the rate changed): reset the
    pipeline. ``duplicate``: drop the packet.
    """

    seq: int
    lost_packets: int
    missing_samples: int
    index0: int
    duplicate: bool = False
    restarted: bool = False
    gap: Gap | None = None


class SequenceTracker:
    """Lost-packet and missing-sample accounting for one stream (SPEC.md section 4.5).

    Lost packets come from the sequence number (uint16, wraps); missing samples come from
    the device timestamps (the next packet should start ``count / rate`` after the last),
    which also catches samples the device dropped itself (``FLAG_OVERRUN``).
    Call `reset()` after every START command.
    """

    GAP_FACTOR = 1.5  # an unannounced timestamp jump counts as a gap above 1.5 periods

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._seq: int | None = None
        self._end_us = 0.0  # expected timestamp of the next packet's first sample
        self._last_t_us = 0.0  # timestamp of the last sample received
        self._rate_hz = 0.0
        self._index = 0
        self.lost_packets = 0  # totals since reset
        self.missing_samples = 0
        self.packets = 0

    def skip(self, seq: int) -> int:
        """Account for an intact packet that carries no samples (an unknown type). Returns packets lost."""
        if self._seq is None:
            return 0
        d = (seq - self._seq) & 0xFFFF
        if d == 0 or d >= 0x8000:
            return 0
        self._seq = seq
        self.lost_packets += d - 1
        return d - 1

    def update(self, packet: OpenpodPacket) -> SequenceReport:
        period_us = 1e6 / packet.rate_hz
        t0 = float(packet.timestamp_us)
        if self._seq is None:
            return self._accept(packet, SequenceReport(packet.seq, 0, 0, self._index))
        d = (packet.seq - self._seq) & 0xFFFF
        if d == 0:
            return SequenceReport(packet.seq, 0, 0, self._index, duplicate=True)
        if d >= 0x8000 or packet.rate_hz != self._rate_hz or t0 < self._last_t_us:
            return self._accept(packet, SequenceReport(packet.seq, 0, 0, self._index, restarted=True))
        lost = d - 1
        jump = (t0 - self._end_us) / period_us
        missing = 0
        if lost or packet.overrun or jump >= self.GAP_FACTOR:
            missing = max(0, int(round(jump)))
        gap = None
        if missing:
            gap = Gap(start_s=self._last_t_us * 1e-6, end_s=t0 * 1e-6, missing_samples=missing)
        self.lost_packets += lost
        self.missing_samples += missing
        return self._accept(packet, SequenceReport(packet.seq, lost, missing, self._index, gap=gap))

    def _accept(self, packet: OpenpodPacket, report: SequenceReport) -> SequenceReport:
        n = len(packet)
        period_us = 1e6 / packet.rate_hz
        self._seq = packet.seq
        self._rate_hz = packet.rate_hz
        self._end_us = packet.timestamp_us + n * period_us
        self._last_t_us = packet.timestamp_us + (n - 1) * period_us
        self._index += n
        self.packets += 1
        return report


# --------------------------------------------------------------------------- control


@dataclass(frozen=True, slots=True)
class StreamConfig:
    """What CONFIGURE sets and GET_CONFIG reports. ``gyr_range_dps=None``: accelerometer only."""

    rate_hz: float = 200.0
    acc_range_g: int = 16
    gyr_range_dps: int | None = 2000

    def to_bytes(self) -> bytes:
        gc = gyr_range_code(self.gyr_range_dps)
        channels = CH_ACC if self.gyr_range_dps is None else CH_ACC_GYR
        return bytes([rate_code(self.rate_hz), acc_range_code(self.acc_range_g), gc, channels])

    @classmethod
    def from_bytes(cls, b: bytes) -> StreamConfig:
        """Raises `InvalidField` (the device answers INVALID_PARAMETER / UNSUPPORTED_CHANNELS)."""
        rc, ac, gc, ch = b[0], b[1], b[2], b[3]
        if rc not in RATE_CODES:
            raise InvalidField("rate_code", rc)
        if ac not in ACC_RANGE_CODES:
            raise InvalidField("acc_range_code", ac)
        if ch not in CHANNEL_MASKS:
            raise InvalidField("channels", ch)
        if ch & CH_GYR:
            if gc not in GYR_RANGE_CODES:
                raise InvalidField("gyr_range_code", gc)
        elif gc != 0:
            raise InvalidField("gyr_range_code", gc)
        return cls(RATE_CODES[rc], ACC_RANGE_CODES[ac], GYR_RANGE_CODES[gc] if ch & CH_GYR else None)


@dataclass(frozen=True, slots=True)
class ControlCommand:
    opcode: int
    token: int
    config: StreamConfig | None = None  # CONFIGURE
    unix_time_us: int | None = None  # SET_TIME


def encode_command(opcode: int, token: int, params: bytes = b"") -> bytes:
    """A raw command; ``token`` (1..255) is echoed in the response. Prefer the helpers below."""
    if not 1 <= token <= 0xFF:
        raise InvalidField("token", token, "1..255 (0 marks device-initiated messages)")
    if not 0 <= opcode <= 0x7F:
        raise InvalidField("opcode", opcode, "0..127")
    return bytes([opcode, token]) + bytes(params)


def encode_start(token: int) -> bytes:
    return encode_command(OP_START, token)


def encode_stop(token: int) -> bytes:
    return encode_command(OP_STOP, token)


def encode_configure(token: int, config: StreamConfig) -> bytes:
    return encode_command(OP_CONFIGURE, token, config.to_bytes())


def encode_get_config(token: int) -> bytes:
    return encode_command(OP_GET_CONFIG, token)


def encode_set_time(token: int, unix_time_us: int) -> bytes:
    if not 0 <= unix_time_us < 2**64:
        raise InvalidField("unix_time_us", unix_time_us, "0..2**64-1")
    return encode_command(OP_SET_TIME, token, struct.pack("<Q", unix_time_us))


_PARAM_LEN = {OP_START: 0, OP_STOP: 0, OP_CONFIGURE: 4, OP_GET_CONFIG: 0, OP_SET_TIME: 8}


def decode_command(data: bytes | bytearray | memoryview) -> ControlCommand:
    """Device side (simulators, phone apps acting as a pod). Rejections raise `InvalidCommand`
    whose ``status`` is the answer the device must send (SPEC.md section 6.3)."""
    data = _as_bytes(data)
    if len(data) < 2:
        op = data[0] if data else 0
        raise InvalidCommand(op, 0, STATUS_INVALID_LENGTH, "a command is at least opcode + token")
    op, token, params = data[0], data[1], data[2:]
    if op not in _PARAM_LEN:
        raise InvalidCommand(op, token, STATUS_UNKNOWN_OPCODE, f"opcode 0x{op:02X} is not defined")
    if len(params) != _PARAM_LEN[op]:
        raise InvalidCommand(op, token, STATUS_INVALID_LENGTH, f"{len(params)} parameter bytes, not {_PARAM_LEN[op]}")
    if op == OP_CONFIGURE:
        try:
            config = StreamConfig.from_bytes(params)
        except InvalidField as exc:
            status = STATUS_UNSUPPORTED_CHANNELS if exc.field == "channels" else STATUS_INVALID_PARAMETER
            raise InvalidCommand(op, token, status, str(exc)) from None
        return ControlCommand(op, token, config=config)
    if op == OP_SET_TIME:
        return ControlCommand(op, token, unix_time_us=struct.unpack("<Q", params)[0])
    return ControlCommand(op, token)


@dataclass(frozen=True, slots=True)
class ControlResponse:
    """An indication on the control characteristic: the answer to a command, or (token 0) a
    device-initiated message (a STOP response with token 0 = the device stopped the stream)."""

    opcode: int
    token: int
    status: int
    payload: bytes = b""

    @property
    def ok(self) -> bool:
        return self.status in (STATUS_OK, STATUS_ALREADY_IN_STATE)

    @property
    def unsolicited(self) -> bool:
        return self.token == 0

    def raise_for_status(self) -> ControlResponse:
        if not self.ok:
            raise CommandFailed(self.opcode, self.status)
        return self

    @property
    def config(self) -> StreamConfig | None:
        """GET_CONFIG answer: the stream configuration (``streaming`` tells if it runs)."""
        if self.opcode != OP_GET_CONFIG or self.status != STATUS_OK:
            return None
        return StreamConfig.from_bytes(self.payload[:4])

    @property
    def streaming(self) -> bool | None:
        if self.opcode != OP_GET_CONFIG or self.status != STATUS_OK:
            return None
        return bool(self.payload[4] & 0x01)

    def encode(self) -> bytes:
        return encode_response(self.opcode, self.token, self.status, self.payload)


def encode_response(opcode: int, token: int, status: int, payload: bytes = b"") -> bytes:
    for name, v in (("opcode", opcode), ("token", token), ("status", status)):
        if not 0 <= v <= 0xFF:
            raise InvalidField(name, v, "0..255")
    return bytes([(opcode & 0x7F) | RESPONSE_BIT, token, status]) + bytes(payload)


def encode_config_payload(config: StreamConfig, streaming: bool) -> bytes:
    return config.to_bytes() + bytes([1 if streaming else 0])


def decode_response(data: bytes | bytearray | memoryview) -> ControlResponse:
    """Host side. Raises only `OpenpodError` subclasses on bad bytes."""
    data = _as_bytes(data)
    if len(data) < 3:
        raise TruncatedPacket(f"openpod response of {len(data)} bytes, at least 3 expected")
    if not data[0] & RESPONSE_BIT:
        raise InvalidField("response opcode", data[0], "bit 7 set")
    op, token, status, payload = data[0] & 0x7F, data[1], data[2], data[3:]
    if op == OP_GET_CONFIG and status == STATUS_OK:
        if len(payload) < 5:
            raise TruncatedPacket(f"GET_CONFIG response payload of {len(payload)} bytes, 5 expected")
        StreamConfig.from_bytes(payload[:4])  # validate now, so .config never raises later
    return ControlResponse(op, token, status, payload)


# --------------------------------------------------------------------------- capabilities


@dataclass(frozen=True, slots=True)
class Capabilities:
    """The read-only capabilities characteristic (SPEC.md section 7)."""

    rates_hz: tuple[float, ...]
    acc_ranges_g: tuple[int, ...]
    gyr_ranges_dps: tuple[int, ...] = ()  # empty: no gyroscope
    set_time: bool = False
    mount: int = MOUNT_UNSPECIFIED
    version: int = VERSION
    minor: int = 0

    @property
    def has_gyro(self) -> bool:
        return bool(self.gyr_ranges_dps)

    def check(self, config: StreamConfig) -> int:
        """The status a device answers to CONFIGURE with this (well-formed) config."""
        if config.rate_hz not in self.rates_hz:
            return STATUS_UNSUPPORTED_RATE
        if config.acc_range_g not in self.acc_ranges_g:
            return STATUS_UNSUPPORTED_ACC_RANGE
        if config.gyr_range_dps is not None:
            if not self.has_gyro:
                return STATUS_UNSUPPORTED_CHANNELS
            if config.gyr_range_dps not in self.gyr_ranges_dps:
                return STATUS_UNSUPPORTED_GYR_RANGE
        return STATUS_OK

    def encode(self) -> bytes:
        rmask = sum(1 << rate_code(r) for r in set(self.rates_hz))
        amask = sum(1 << acc_range_code(g) for g in set(self.acc_ranges_g))
        gmask = sum(1 << gyr_range_code(d) for d in set(self.gyr_ranges_dps))
        if not 0 <= self.mount <= 0xFF or not 0 <= self.minor <= 0xFF:
            raise InvalidField("mount/minor", (self.mount, self.minor), "0..255")
        features = FEATURE_SET_TIME if self.set_time else 0
        return struct.pack("<BBHBBBB", MAGIC | self.version, self.minor, rmask, amask, gmask, features, self.mount)


def decode_capabilities(data: bytes | bytearray | memoryview) -> Capabilities:
    """Raises only `OpenpodError` subclasses; unknown trailing bytes and mask bits are ignored."""
    data = _as_bytes(data)
    _common_prefix(data)
    if len(data) < CAPABILITIES_SIZE:
        raise TruncatedPacket(f"openpod capabilities of {len(data)} bytes, {CAPABILITIES_SIZE} expected")
    _, minor, rmask, amask, gmask, features, mount = struct.unpack_from("<BBHBBBB", data)
    return Capabilities(
        rates_hz=tuple(hz for code, hz in sorted(RATE_CODES.items(), key=lambda kv: kv[1]) if rmask >> code & 1),
        acc_ranges_g=tuple(g for code, g in ACC_RANGE_CODES.items() if amask >> code & 1),
        gyr_ranges_dps=tuple(d for code, d in GYR_RANGE_CODES.items() if gmask >> code & 1),
        set_time=bool(features & FEATURE_SET_TIME),
        mount=mount,
        minor=minor,
    )
