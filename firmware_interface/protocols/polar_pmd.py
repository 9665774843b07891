"""Polar Measurement Data (PMD): control point, settings TLVs, ACC/GYRO data frames.

Pure decoders and encoders (bytes in, records out) plus `PmdStream`, the one stateful piece:
it keeps, per measurement, the factor and nominal sample rate from START and, per
(measurement, frame type), the previous frame timestamp that Polar's per-sample clock needs.

Facts (byte layouts, units, the delta algorithm, the timestamp rule) follow the Polar BLE SDK
(Android sources and unit tests, `online_measurement.pdf`); see README.md in this package for
which parts are verified against golden vectors and which are uncertain ([U]).

Units: ACC frames carry milli-g (mG), GYRO frames deg/s. `PmdStream` converts to SI once
(ACC -> m/s^2 with standard gravity; GYRO stays deg/s, the project's angular-rate unit).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

from .common import (
    STANDARD_GRAVITY_MPS2,
    ImuSamples,
    as_bytes,
    check_uint,
    f32le,
    need,
    signed_le,
    u16le,
    u32le,
    u64le,
)
from .errors import (
    ControlPointError,
    EncodeError,
    MalformedFrame,
    ProtocolError,
    TimestampError,
    TruncatedFrame,
    UnsupportedFrame,
)

PROTOCOL = "pmd"

PMD_SERVICE_UUID = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
PMD_CONTROL_POINT_UUID = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
PMD_DATA_UUID = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"

POLAR_EPOCH_UNIX_NS = 946_684_800_000_000_000  # 2000-01-01T00:00:00Z in Unix ns
H10_UNSET_CLOCK_NS = 599_616_000_000_000_000  # 2019-01-01: where an H10 clock restarts if never set [D]
MG_TO_MPS2 = STANDARD_GRAVITY_MPS2 / 1000.0

DATA_HEADER_BYTES = 10  # type, u64 timestamp, frame type
MAX_DELTA_WIDTH = 32  # our limit: no documented frame uses wider deltas (realVector1 has 28/32)
_INT64_MAX = (1 << 63) - 1


class MeasurementType(IntEnum):
    ECG = 0
    PPG = 1
    ACC = 2
    PPI = 3
    GYRO = 5
    MAG = 6
    SKIN_TEMP = 7
    SDK_MODE = 9
    LOCATION = 10
    PRESSURE = 11
    TEMPERATURE = 12
    OFFLINE_RECORDING = 13
    OFFLINE_HR = 14


class Opcode(IntEnum):
    GET_MEASUREMENT_SETTINGS = 1
    REQUEST_MEASUREMENT_START = 2
    STOP_MEASUREMENT = 3
    GET_SDK_MODE_MEASUREMENT_SETTINGS = 4
    GET_MEASUREMENT_STATUS = 5
    GET_SDK_MODE_STATUS = 6
    GET_OFFLINE_RECORDING_TRIGGER_STATUS = 7
    SET_OFFLINE_RECORDING_TRIGGER_MODE = 8
    SET_OFFLINE_RECORDING_TRIGGER_SETTINGS = 9


class SettingType(IntEnum):
    SAMPLE_RATE = 0
    RESOLUTION = 1
    RANGE = 2
    RANGE_MILLIUNIT = 3
    CHANNELS = 4
    FACTOR = 5
    SECURITY = 6


class PmdStatus(IntEnum):
    SUCCESS = 0
    INVALID_OP_CODE = 1
    INVALID_MEASUREMENT_TYPE = 2
    NOT_SUPPORTED = 3
    INVALID_LENGTH = 4
    INVALID_PARAMETER = 5
    ALREADY_IN_STATE = 6
    INVALID_RESOLUTION = 7
    INVALID_SAMPLE_RATE = 8
    INVALID_RANGE = 9
    INVALID_MTU = 10
    INVALID_NUMBER_OF_CHANNELS = 11
    INVALID_STATE = 12
    DEVICE_IN_CHARGER = 13
    DISK_FULL = 14


_STATUS_HINTS = {
    PmdStatus.ALREADY_IN_STATE: "the measurement is already running (or stopped); STOP it first",
    PmdStatus.INVALID_SAMPLE_RATE: "ask GET_MEASUREMENT_SETTINGS for the rates this device supports",
    PmdStatus.INVALID_RESOLUTION: "ask GET_MEASUREMENT_SETTINGS for the supported resolutions",
    PmdStatus.INVALID_RANGE: "ask GET_MEASUREMENT_SETTINGS for the supported ranges",
    PmdStatus.NOT_SUPPORTED: "this device does not offer the measurement (read the CP feature bits)",
    PmdStatus.DEVICE_IN_CHARGER: "take the sensor off the charger",
    PmdStatus.INVALID_MTU: "negotiate a larger ATT MTU before START",
}

CP_RESPONSE_CODE = 0xF0  # first byte of a control-point response
CP_FEATURES_CODE = 0x0F  # first byte of the control-point read (feature bits)
CP_MEASUREMENT_STOPPED = 0x01  # device-initiated: ONLINE_MEASUREMENT_STOPPED

# Feature read: byte 1 and byte 2 bit -> measurement type.
_FEATURE_BITS = (
    (1, 0, MeasurementType.ECG),
    (1, 1, MeasurementType.PPG),
    (1, 2, MeasurementType.ACC),
    (1, 3, MeasurementType.PPI),
    (1, 5, MeasurementType.GYRO),
    (1, 6, MeasurementType.MAG),
    (1, 7, MeasurementType.SKIN_TEMP),
    (2, 1, MeasurementType.SDK_MODE),
    (2, 2, MeasurementType.LOCATION),
    (2, 3, MeasurementType.PRESSURE),
    (2, 4, MeasurementType.TEMPERATURE),
    (2, 5, MeasurementType.OFFLINE_RECORDING),
    (2, 6, MeasurementType.OFFLINE_HR),
)

# Frame-type byte values (bit 7 = delta-compressed).
RAW_TYPE0, RAW_TYPE1, RAW_TYPE2 = 0x00, 0x01, 0x02
COMPRESSED_TYPE0, COMPRESSED_TYPE1 = 0x80, 0x81


def measurement_name(code: int) -> str:
    try:
        return MeasurementType(code).name
    except ValueError:
        return f"0x{code:02X}"


def _measurement(code: int) -> MeasurementType | int:
    try:
        return MeasurementType(code)
    except ValueError:
        return code


def _measurement_code(measurement: MeasurementType | int | str) -> int:
    if isinstance(measurement, str):
        try:
            return int(MeasurementType[measurement.upper()])
        except KeyError:
            raise EncodeError(f"unknown measurement type {measurement!r}", protocol=PROTOCOL) from None
    return check_uint(measurement, 7, "measurement type", PROTOCOL)


# ---------------------------------------------------------------------------------------------
# Settings TLVs
# ---------------------------------------------------------------------------------------------

_SETTING_SIZE = {
    SettingType.SAMPLE_RATE: 2,
    SettingType.RESOLUTION: 2,
    SettingType.RANGE: 2,
    SettingType.RANGE_MILLIUNIT: 4,
    SettingType.CHANNELS: 1,
    SettingType.FACTOR: 4,
    SettingType.SECURITY: 16,
}
_SETTING_FIELD = {
    SettingType.SAMPLE_RATE: "sample_rate_hz",
    SettingType.RESOLUTION: "resolution_bits",
    SettingType.RANGE: "range",
    SettingType.RANGE_MILLIUNIT: "range_milliunit",
    SettingType.CHANNELS: "channels",
    SettingType.FACTOR: "factor",
    SettingType.SECURITY: "security",
}


@dataclass(frozen=True, slots=True)
class PmdSettings:
    """Settings of one measurement: every value a device offers (GET) or a selection (START).

    ``range`` is in the measurement's unit (g for ACC, deg/s for GYRO); ``range_milliunit``
    is read as u32 LE ([U] signedness); ``factor`` only ever appears in responses.
    """

    sample_rate_hz: tuple[int, ...] = ()
    resolution_bits: tuple[int, ...] = ()
    range: tuple[int, ...] = ()
    range_milliunit: tuple[int, ...] = ()
    channels: tuple[int, ...] = ()
    factor: tuple[float, ...] = ()
    security: tuple[bytes, ...] = ()

    def get(self, setting: SettingType) -> tuple:
        return getattr(self, _SETTING_FIELD[SettingType(setting)])

    def present(self) -> tuple[SettingType, ...]:
        return tuple(s for s in SettingType if self.get(s))

    def __bool__(self) -> bool:
        return bool(self.present())

    def to_dict(self) -> dict:
        out: dict = {}
        for setting in self.present():
            values = self.get(setting)
            name = _SETTING_FIELD[setting]
            if setting is SettingType.SECURITY:
                out[name] = [v.hex() for v in values]
            elif setting is SettingType.FACTOR:
                out[name] = [v if math.isfinite(v) else None for v in values]
            else:
                out[name] = list(values)
        return out


def decode_settings(params: bytes) -> PmdSettings:
    """Parse a settings TLV list ``[type][count][value x count]...`` (little-endian).

    A block of at most one byte is no settings at all: the H10 START response ends in a lone
    reserved ``01``. Values of a repeated setting type are joined in order.
    """
    params = as_bytes(params, PROTOCOL)
    if len(params) <= 1:
        return PmdSettings()
    found: dict[SettingType, list] = {}
    off = 0
    n = len(params)
    while off < n:
        need(params, off + 2, PROTOCOL, "setting type and count")
        code, count = params[off], params[off + 1]
        off += 2
        try:
            setting = SettingType(code)
        except ValueError:
            raise UnsupportedFrame(
                code, what="setting type", hint="its value size is unknown, so the rest cannot be read"
            ) from None
        size = _SETTING_SIZE[setting]
        end = off + size * count
        need(params, end, PROTOCOL, f"{count} x {setting.name} value")
        values = found.setdefault(setting, [])
        for pos in range(off, end, size):
            if setting is SettingType.FACTOR:
                values.append(f32le(params, pos))
            elif setting is SettingType.SECURITY:
                values.append(params[pos : pos + size])
            elif size == 1:
                values.append(params[pos])
            elif size == 2:
                values.append(u16le(params, pos))
            else:
                values.append(u32le(params, pos))
        off = end
    return PmdSettings(**{_SETTING_FIELD[k]: tuple(v) for k, v in found.items()})


SettingValue = int | float | bytes
SettingsInput = Mapping[SettingType | int, SettingValue | Sequence[SettingValue]] | PmdSettings


def encode_settings(settings: SettingsInput, *, request: bool = True) -> bytes:
    """Encode settings as TLVs, in the mapping's order (a `PmdSettings` goes in type order).

    ``request=True`` (START): one value per setting and no FACTOR, as the device expects.
    ``request=False`` (a device's response, for emulators): lists of values and FACTOR allowed.
    """
    if isinstance(settings, PmdSettings):
        items: Iterable = ((s, settings.get(s)) for s in settings.present())
    elif isinstance(settings, Mapping):
        items = settings.items()
    else:
        raise EncodeError(
            f"settings must be a mapping or PmdSettings, got {type(settings).__name__}", protocol=PROTOCOL
        )
    out = bytearray()
    for key, value in items:
        try:
            setting = SettingType(key)
        except ValueError:
            raise EncodeError(f"unknown setting type {key!r}", protocol=PROTOCOL) from None
        values = list(value) if isinstance(value, list | tuple) else [value]
        if request and setting is SettingType.FACTOR:
            raise EncodeError("FACTOR is only sent by the device, never in a request", protocol=PROTOCOL)
        if request and len(values) != 1:
            raise EncodeError(f"a START request carries one {setting.name} value, got {len(values)}", protocol=PROTOCOL)
        if len(values) > 255:
            raise EncodeError(f"at most 255 {setting.name} values fit a TLV", protocol=PROTOCOL)
        out += bytes((setting, len(values)))
        size = _SETTING_SIZE[setting]
        for v in values:
            if setting is SettingType.FACTOR:
                if isinstance(v, bool) or not isinstance(v, int | float):
                    raise EncodeError(f"FACTOR must be a number, got {v!r}", protocol=PROTOCOL)
                out += np.float32(v).tobytes()
            elif setting is SettingType.SECURITY:
                if not isinstance(v, bytes | bytearray) or len(v) != size:
                    raise EncodeError("SECURITY must be 16 bytes", protocol=PROTOCOL)
                out += v
            else:
                out += check_uint(v, 8 * size, setting.name, PROTOCOL).to_bytes(size, "little")
    return bytes(out)


# ---------------------------------------------------------------------------------------------
# Control point
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PmdRequest:
    """A client -> device control-point write: ``[op][offline<<7 | type][params...]``."""

    op: Opcode
    measurement: MeasurementType | int
    offline: bool = False
    params: bytes = b""

    @property
    def settings(self) -> PmdSettings:
        """The START settings (raises the typed error if the TLVs are malformed)."""
        return decode_settings(self.params)


def encode_request(
    op: Opcode | int, measurement: MeasurementType | int | str, params: bytes = b"", *, offline: bool = False
) -> bytes:
    try:
        op = Opcode(op)
    except ValueError:
        raise EncodeError(f"unknown PMD opcode {op!r}", protocol=PROTOCOL) from None
    code = _measurement_code(measurement)
    return bytes((op, (int(bool(offline)) << 7) | code)) + bytes(params)


def encode_get_settings(measurement: MeasurementType | int | str, *, sdk_mode: bool = False) -> bytes:
    """GET_MEASUREMENT_SETTINGS (``01 tt``), or the SDK-mode "full" settings query (``04 tt``)."""
    op = Opcode.GET_SDK_MODE_MEASUREMENT_SETTINGS if sdk_mode else Opcode.GET_MEASUREMENT_SETTINGS
    return encode_request(op, measurement)


def encode_start(
    measurement: MeasurementType | int | str, settings: SettingsInput | None = None, *, offline: bool = False
) -> bytes:
    """REQUEST_MEASUREMENT_START: ``02 tt`` + settings TLVs (count 1 each, mapping order)."""
    params = encode_settings(settings, request=True) if settings else b""
    return encode_request(Opcode.REQUEST_MEASUREMENT_START, measurement, params, offline=offline)


def start_settings(
    *,
    sample_rate_hz: int | None = None,
    resolution_bits: int | None = None,
    range: int | None = None,  # the PMD setting is called RANGE
    channels: int | None = None,
) -> dict[SettingType, int]:
    """A START selection in type order (the order does not matter to the device)."""
    chosen = {
        SettingType.SAMPLE_RATE: sample_rate_hz,
        SettingType.RESOLUTION: resolution_bits,
        SettingType.RANGE: range,
        SettingType.CHANNELS: channels,
    }
    return {k: v for k, v in chosen.items() if v is not None}


def encode_stop(measurement: MeasurementType | int | str) -> bytes:
    """STOP_MEASUREMENT: ``03 tt``. Always send it on shutdown: an H10 streams until told to stop."""
    return encode_request(Opcode.STOP_MEASUREMENT, measurement)


def decode_request(data: bytes) -> PmdRequest:
    """Parse a control-point write (what a device, or an emulator of one, receives)."""
    data = as_bytes(data, PROTOCOL)
    need(data, 2, PROTOCOL, "control point request")
    try:
        op = Opcode(data[0])
    except ValueError:
        raise UnsupportedFrame(data[0], what="control point opcode") from None
    params = data[2:]
    if op is Opcode.REQUEST_MEASUREMENT_START:
        decode_settings(params)  # validate now: a malformed request is the request's error
    return PmdRequest(op=op, measurement=_measurement(data[1] & 0x7F), offline=bool(data[1] & 0x80), params=params)


@dataclass(frozen=True, slots=True)
class PmdControlPointResponse:
    """A control-point response ``F0 op type status [more params...]``.

    ``more`` and ``params`` exist only on success; trailing bytes after an error status are
    ignored (the SDK's own test has ``F0 01 06 07 00``).
    """

    op: int
    measurement: MeasurementType | int
    status: int
    more: bool = False
    params: bytes = b""
    offline: bool = False

    @property
    def ok(self) -> bool:
        return self.status == PmdStatus.SUCCESS

    @property
    def status_name(self) -> str:
        try:
            return PmdStatus(self.status).name
        except ValueError:
            return f"UNKNOWN_STATUS_{self.status}"

    @property
    def settings(self) -> PmdSettings:
        """The parameters as settings (GET answers, the START FACTOR); empty on error."""
        return decode_settings(self.params) if self.ok else PmdSettings()

    def raise_for_status(self, device: str | None = None) -> PmdControlPointResponse:
        if not self.ok:
            raise ControlPointError(
                op=self.op,
                measurement=int(self.measurement),
                status=self.status,
                status_name=self.status_name,
                device=device,
                hint=_STATUS_HINTS.get(self.status),  # type: ignore[call-overload]
            )
        return self


@dataclass(frozen=True, slots=True)
class PmdMeasurementStopped:
    """Device-initiated ``01 tt...``: the device stopped these measurements on its own."""

    measurements: tuple[MeasurementType | int, ...]


@dataclass(frozen=True, slots=True)
class PmdFeatures:
    """The control-point read ``0F b1 b2 ...``: which measurements the device offers."""

    measurements: frozenset[MeasurementType]

    def __contains__(self, item: object) -> bool:
        return item in self.measurements


def decode_features(data: bytes) -> PmdFeatures:
    data = as_bytes(data, PROTOCOL)
    need(data, 2, PROTOCOL, "feature read")
    if data[0] != CP_FEATURES_CODE:
        raise MalformedFrame(f"feature read starts with 0x{data[0]:02X}, expected 0x0F", protocol=PROTOCOL)
    found = frozenset(m for byte, bit, m in _FEATURE_BITS if byte < len(data) and data[byte] >> bit & 1)
    return PmdFeatures(found)


def decode_response(data: bytes) -> PmdControlPointResponse:
    """Parse a control-point response (``F0 ...``)."""
    data = as_bytes(data, PROTOCOL)
    need(data, 4, PROTOCOL, "control point response")
    if data[0] != CP_RESPONSE_CODE:
        raise MalformedFrame(f"control point response starts with 0x{data[0]:02X}, expected 0xF0", protocol=PROTOCOL)
    status = data[3]
    if status != PmdStatus.SUCCESS:
        return PmdControlPointResponse(
            op=data[1], measurement=_measurement(data[2] & 0x7F), status=status, offline=bool(data[2] & 0x80)
        )
    return PmdControlPointResponse(
        op=data[1],
        measurement=_measurement(data[2] & 0x7F),
        status=status,
        more=len(data) > 4 and data[4] != 0,
        params=data[5:],
        offline=bool(data[2] & 0x80),
    )


def decode_cp_message(data: bytes) -> PmdControlPointResponse | PmdMeasurementStopped | PmdFeatures:
    """Anything the control point sends: a response, a device-initiated stop, or the feature read."""
    data = as_bytes(data, PROTOCOL)
    need(data, 1, PROTOCOL, "control point message")
    first = data[0]
    if first == CP_RESPONSE_CODE:
        return decode_response(data)
    if first == CP_FEATURES_CODE:
        return decode_features(data)
    if first == CP_MEASUREMENT_STOPPED:
        return PmdMeasurementStopped(tuple(_measurement(b & 0x7F) for b in data[1:]))
    raise UnsupportedFrame(first, what="control point message")


def encode_response(
    op: Opcode | int,
    measurement: MeasurementType | int | str,
    status: PmdStatus | int = PmdStatus.SUCCESS,
    *,
    more: bool = False,
    params: bytes = b"",
) -> bytes:
    """A device's control-point response (for emulators and tests)."""
    head = bytes(
        (
            CP_RESPONSE_CODE,
            check_uint(op, 8, "opcode", PROTOCOL),
            _measurement_code(measurement),
            check_uint(status, 8, "status", PROTOCOL),
        )
    )
    if status != PmdStatus.SUCCESS:
        return head
    return head + bytes((int(bool(more)),)) + bytes(params)


def encode_features(measurements: Iterable[MeasurementType]) -> bytes:
    out = bytearray((CP_FEATURES_CODE, 0, 0))
    wanted = set(measurements)
    for byte, bit, m in _FEATURE_BITS:
        if m in wanted:
            out[byte] |= 1 << bit
    return bytes(out)


# ---------------------------------------------------------------------------------------------
# Data frames
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, slots=True)
class PmdDataFrame:
    """One notification of the PMD data characteristic, decoded but not yet scaled.

    ``timestamp_ns`` is the device time of the LAST sample, ns since 2000-01-01T00:00:00 (UTC
    only if the client set the clock). ``samples_raw`` is (n, 3): int64 counts for integer
    frames, float32 for the float frames (GYRO 0x81 and raw GYRO 0x01) - before any factor.
    """

    measurement: MeasurementType
    frame_type: int  # the full byte: bit 7 set = delta-compressed
    timestamp_ns: int
    samples_raw: np.ndarray

    @property
    def compressed(self) -> bool:
        return bool(self.frame_type & 0x80)

    @property
    def frame_type_number(self) -> int:
        return self.frame_type & 0x7F

    @property
    def n_samples(self) -> int:
        return int(self.samples_raw.shape[0])

    @property
    def unit(self) -> str:
        """Unit of `native_values` (after the factor): mG for ACC, deg/s for GYRO."""
        return "mG" if self.measurement is MeasurementType.ACC else "deg/s"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PmdDataFrame):
            return NotImplemented
        return (
            self.measurement == other.measurement
            and self.frame_type == other.frame_type
            and self.timestamp_ns == other.timestamp_ns
            and self.samples_raw.dtype == other.samples_raw.dtype
            and np.array_equal(self.samples_raw, other.samples_raw, equal_nan=True)
        )

    __hash__ = None  # type: ignore[assignment]


_FAST_WIDTHS = {8: np.dtype("<i1"), 16: np.dtype("<i2"), 32: np.dtype("<i4")}


def _unpack_signed(words: np.ndarray, payload: bytes, offset: int, width: int, count: int) -> np.ndarray:
    """``count`` two's-complement integers of ``width`` bits, packed LSB-first from byte
    ``offset``, as int64. ``words[i]`` is the little-endian u64 that starts at byte i."""
    fast = _FAST_WIDTHS.get(width)
    if fast is not None:
        return np.frombuffer(payload, fast, count, offset).astype(np.int64)
    bitpos = np.arange(offset * 8, offset * 8 + count * width, width, dtype=np.int64)
    vals = ((words[bitpos >> 3] >> (bitpos & 7).astype(np.uint64)) & np.uint64((1 << width) - 1)).astype(np.int64)
    vals -= (vals >> (width - 1)) << width  # sign-extend from `width` bits
    return vals


def decode_delta_payload(payload: bytes, channels: int = 3, resolution_bits: int = 16) -> np.ndarray:
    """Polar's delta ("compressed") encoding -> (n, channels) int64 cumulative values.

    ``[ref: channels x ceil(res/8) bytes, signed LE]`` then blocks of
    ``[width:u8][count:u8][count x channels deltas of width bits, LSB-first, interleaved]``.
    A truncated block is an error (as in the SDK); so is a width outside 1..32 (our limit).
    Values are not wrapped: for float bit patterns mask to 32 bits afterwards.
    Vectorised: each block's deltas are cut out of unaligned u64 words in one numpy step.
    """
    payload = as_bytes(payload, PROTOCOL)
    nbytes = (resolution_bits + 7) // 8
    ref_len = channels * nbytes
    need(payload, ref_len, PROTOCOL, "delta frame reference sample")
    ref = np.array([signed_le(payload, c * nbytes, nbytes) for c in range(channels)], dtype=np.int64)
    parts: list[np.ndarray] = []
    off = ref_len
    n = len(payload)
    words: np.ndarray | None = None
    while off < n:
        if off + 2 > n:
            raise TruncatedFrame(PROTOCOL, "delta block header (width, count)", off + 2, n)
        width, count = payload[off], payload[off + 1]
        off += 2
        if not 1 <= width <= MAX_DELTA_WIDTH:
            raise MalformedFrame(f"delta width {width} bits is outside 1..{MAX_DELTA_WIDTH}", protocol=PROTOCOL)
        block = (width * count * channels + 7) // 8
        if off + block > n:
            raise TruncatedFrame(PROTOCOL, f"delta block of {count} samples x {width} bits", off + block, n)
        if count:
            if words is None and width not in _FAST_WIDTHS:
                padded = payload + bytes(8)
                words = np.ndarray((n + 1,), dtype="<u8", buffer=padded, strides=(1,))
            deltas = _unpack_signed(words, payload, off, width, count * channels)  # type: ignore[arg-type]
            parts.append(deltas.reshape(count, channels))
        off += block
    if not parts:
        return ref.reshape(1, channels)
    deltas = np.concatenate(parts) if len(parts) > 1 else parts[0]
    out = np.empty((deltas.shape[0] + 1, channels), dtype=np.int64)
    out[0] = ref
    np.cumsum(deltas, axis=0, out=out[1:])
    out[1:] += ref
    return out


def _raw_samples(payload: bytes, sample_bytes: int, dtype: str | None) -> np.ndarray:
    size = 3 * sample_bytes
    if len(payload) < size:
        raise TruncatedFrame(PROTOCOL, "raw frame with no complete sample", size, len(payload))
    if len(payload) % size:
        raise TruncatedFrame(
            PROTOCOL, f"raw frame: last sample of {size} bytes", len(payload) + size - len(payload) % size, len(payload)
        )
    if dtype is not None:
        return np.frombuffer(payload, dtype).reshape(-1, 3).astype(np.int64)
    b = np.frombuffer(payload, np.uint8).reshape(-1, 3, 3).astype(np.int64)  # int24 LE
    v = b[..., 0] | (b[..., 1] << 8) | (b[..., 2] << 16)
    return v - ((v & 0x800000) << 1)


def _acc_raw0(p: bytes) -> np.ndarray:  # [D] no vector; [U] the PDF says G (not mG) on Verity Sense
    return _raw_samples(p, 1, "<i1")


def _acc_raw1(p: bytes) -> np.ndarray:
    return _raw_samples(p, 2, "<i2")


def _acc_raw2(p: bytes) -> np.ndarray:  # [D] no vector: int24 LE x,y,z
    return _raw_samples(p, 3, None)


def _delta16(p: bytes) -> np.ndarray:
    return decode_delta_payload(p, 3, 16)


def _gyro_float_delta(p: bytes) -> np.ndarray:
    bits = decode_delta_payload(p, 3, 32) & 0xFFFFFFFF  # deltas act on the IEEE-754 bit patterns
    return bits.astype(np.uint32).view(np.float32)


def _gyro_raw0(p: bytes) -> np.ndarray:  # [U] PDF table 11 only: int16 x,y,z
    return _raw_samples(p, 2, "<i2")


def _gyro_raw1(p: bytes) -> np.ndarray:  # [U] PDF table 12 only: float32 x,y,z
    size = 12
    if len(p) < size or len(p) % size:
        raise TruncatedFrame(
            PROTOCOL, "raw float frame: whole samples of 12 bytes", max(size, len(p) + size - len(p) % size), len(p)
        )
    return np.frombuffer(p, "<f4").reshape(-1, 3).astype(np.float32)


# Dispatch on (measurement, frame-type byte). [U] OH1 / Polar 360 frame types are undocumented;
# whichever of these they send decodes.
_FRAME_DECODERS = {
    (MeasurementType.ACC, RAW_TYPE0): _acc_raw0,
    (MeasurementType.ACC, RAW_TYPE1): _acc_raw1,
    (MeasurementType.ACC, RAW_TYPE2): _acc_raw2,
    (MeasurementType.ACC, COMPRESSED_TYPE0): _delta16,
    (MeasurementType.ACC, COMPRESSED_TYPE1): _delta16,
    (MeasurementType.GYRO, RAW_TYPE0): _gyro_raw0,
    (MeasurementType.GYRO, RAW_TYPE1): _gyro_raw1,
    (MeasurementType.GYRO, COMPRESSED_TYPE0): _delta16,
    (MeasurementType.GYRO, COMPRESSED_TYPE1): _gyro_float_delta,
}
SUPPORTED_FRAMES = tuple(sorted((int(m), t) for m, t in _FRAME_DECODERS))


def decode_data_frame(data: bytes, *, device: str | None = None) -> PmdDataFrame:
    """Decode one PMD data notification (ACC or GYRO, every frame type listed in README.md).

    Raises `TruncatedFrame`, `MalformedFrame` or `UnsupportedFrame` (with ``device`` in the
    message, e.g. ``UnsupportedFrame(type=0x83, device="H10")``) - never anything else.
    """
    data = as_bytes(data, PROTOCOL)
    need(data, DATA_HEADER_BYTES, PROTOCOL, "data frame header")
    code = data[0] & 0x3F  # the SDK masks the top bits ([U] their meaning is undocumented)
    frame_type = data[9]
    decoder = _FRAME_DECODERS.get((code, frame_type))  # type: ignore[call-overload]
    if decoder is None:
        if code not in (MeasurementType.ACC, MeasurementType.GYRO):
            raise UnsupportedFrame(
                code, what="measurement type", device=device, hint="only ACC (2) and GYRO (5) frames are decoded"
            )
        raise UnsupportedFrame(frame_type, device=device, measurement=measurement_name(code))
    samples = decoder(data[DATA_HEADER_BYTES:])
    return PmdDataFrame(
        measurement=MeasurementType(code), frame_type=frame_type, timestamp_ns=u64le(data, 1), samples_raw=samples
    )


def encode_data_frame(
    measurement: MeasurementType | int, frame_type: int, timestamp_ns: int, samples: np.ndarray | Sequence
) -> bytes:
    """Encode a RAW data frame (ACC types 0/1/2, GYRO raw 0/1): for emulators and tests.

    Compressed frames are built with `encode_delta_payload`.
    """
    measurement = MeasurementType(measurement)
    check_uint(timestamp_ns, 64, "timestamp_ns", PROTOCOL)
    arr = np.asarray(samples)
    if arr.ndim != 2 or arr.shape[1] != 3 or arr.shape[0] == 0:
        raise EncodeError("samples must be a non-empty (n, 3) array", protocol=PROTOCOL)
    head = bytes((measurement,)) + int(timestamp_ns).to_bytes(8, "little") + bytes((frame_type,))
    if measurement is MeasurementType.GYRO and frame_type == RAW_TYPE1:
        return head + arr.astype("<f4").tobytes()
    sizes = {RAW_TYPE0: 1, RAW_TYPE1: 2, RAW_TYPE2: 3} if measurement is MeasurementType.ACC else {RAW_TYPE0: 2}
    if frame_type not in sizes:
        raise EncodeError(f"encode_data_frame builds raw frames only, not 0x{frame_type:02X}", protocol=PROTOCOL)
    size = sizes[frame_type]
    ints = arr.astype(np.int64)
    lim = 1 << (8 * size - 1)
    if ints.min() < -lim or ints.max() >= lim:
        raise EncodeError(f"sample values do not fit {8 * size}-bit signed", protocol=PROTOCOL)
    return head + b"".join(int(v).to_bytes(size, "little", signed=True) for v in ints.ravel())


def encode_delta_payload(
    samples: np.ndarray | Sequence, *, resolution_bits: int = 16, block_size: int = 255, float_bits: bool = False
) -> bytes:
    """Delta-encode (n, 3) samples the way Polar does (for emulators, tests and the bench).

    Each block uses the smallest width that holds its deltas. ``float_bits=True`` takes float32
    samples and delta-encodes their IEEE-754 bit patterns (GYRO 0x81).
    """
    arr = np.asarray(samples)
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise EncodeError("samples must be a non-empty (n, channels) array", protocol=PROTOCOL)
    if float_bits:
        ints = arr.astype("<f4").view("<i4").astype(np.int64)
        resolution_bits = 32
    else:
        ints = arr.astype(np.int64)
    if not 1 <= block_size <= 255:
        raise EncodeError("block_size must be 1..255", protocol=PROTOCOL)
    nbytes = (resolution_bits + 7) // 8
    out = bytearray(b"".join(int(v).to_bytes(nbytes, "little", signed=True) for v in ints[0]))
    deltas = np.diff(ints, axis=0)
    if float_bits:  # wrap to 32-bit differences, as the decoder masks the sums to 32 bits
        deltas = (deltas + (1 << 31)) % (1 << 32) - (1 << 31)
    for start in range(0, deltas.shape[0], block_size):
        block = deltas[start : start + block_size]
        peak = int(max(block.max(), -block.min() - 1, 0))
        width = max(1, peak.bit_length() + 1)
        if width > MAX_DELTA_WIDTH:
            raise EncodeError(f"a delta needs {width} bits (max {MAX_DELTA_WIDTH})", protocol=PROTOCOL)
        acc = 0
        pos = 0
        for d in block.ravel():
            acc |= (int(d) & ((1 << width) - 1)) << pos
            pos += width
        out += bytes((width, block.shape[0])) + acc.to_bytes((pos + 7) // 8, "little")
    return bytes(out)


def native_values(frame: PmdDataFrame, factor: float = 1.0) -> np.ndarray:
    """Samples in the frame's unit (`PmdDataFrame.unit`: mG or deg/s), float64, factor applied.

    The SDK's rules: ACC raw frames are mG and ignore the factor; ACC 0x80 is ``raw x factor``
    in g (x1000 -> mG); ACC 0x81 and all GYRO frames are ``raw x factor`` (a factor of 1.0
    when the START response carried none). The SDK truncates ACC to whole mG; we do not.
    """
    with np.errstate(invalid="ignore", over="ignore"):  # float frames may hold NaN/inf patterns
        raw = frame.samples_raw.astype(np.float64)
        if frame.measurement is MeasurementType.ACC:
            if not frame.compressed:
                return raw
            if frame.frame_type == COMPRESSED_TYPE0:
                return raw * (float(factor) * 1000.0)
        return raw * float(factor)


def si_values(frame: PmdDataFrame, factor: float = 1.0) -> np.ndarray:
    """Samples in SI units: ACC in m/s^2 (standard gravity), GYRO in deg/s. (n, 3) float64."""
    values = native_values(frame, factor)
    if frame.measurement is MeasurementType.ACC:
        with np.errstate(invalid="ignore", over="ignore"):
            values *= MG_TO_MPS2
    return values


# ---------------------------------------------------------------------------------------------
# Per-sample clock
# ---------------------------------------------------------------------------------------------


def _round_offsets(base: int, x: np.ndarray) -> np.ndarray:
    """``round_half_even(base + x) - base`` for an exact integer base and float offsets, int64.

    ``np.rint`` rounds ties to even on ``x``; when ``base`` is odd a tie must go to the other
    neighbour so that ``base + result`` is even (as rounding the absolute time would).
    """
    r = np.rint(x)
    if base & 1:
        tie = np.abs(x - r) == 0.5
        if tie.any():
            r = np.where(tie, 2.0 * x - r, r)
    return r.astype(np.int64)


class BeforeEpoch(TimestampError):
    """A frame whose first sample would fall before the device's epoch (2000-01-01): its timestamp
    is too small for its number of samples (a corrupted frame, or a clock that was not set)."""


def sample_times_ns(
    timestamp_ns: int, n: int, *, previous_ns: int | None = None, sample_rate_hz: float | None = None
) -> np.ndarray:
    """Device time of each of the ``n`` samples of a frame, (n,) int64 ns (Polar's rule).

    The frame timestamp is that of the LAST sample. With the previous frame's timestamp (same
    measurement and frame type) known and older: ``d = (ts - prev)/n``, ``t_i = prev + d(i+1)``;
    otherwise ``d = 1e9/fs`` and ``t_i = ts - d(n-1-i)``. Times are rounded half-to-even (as
    the SDK's ``kotlin.math.round``) and the last sample is exactly ``ts``.
    """
    if n <= 0:
        raise TimestampError("a frame with no samples has no sample times", protocol=PROTOCOL)
    if not 0 <= timestamp_ns <= _INT64_MAX:
        raise TimestampError(f"timestamp {timestamp_ns} ns is beyond int64 (year 2292)", protocol=PROTOCOL)
    idx = np.arange(n - 1, dtype=np.float64)
    if previous_ns is not None and previous_ns < timestamp_ns:
        delta = (timestamp_ns - previous_ns) / n
        x = delta * (idx + 1.0)
        base = previous_ns
    elif sample_rate_hz is not None and math.isfinite(sample_rate_hz) and sample_rate_hz > 0:
        delta = 1e9 / sample_rate_hz
        x = delta * idx - delta * (n - 1)
        base = timestamp_ns
    else:
        why = (
            "no sample rate known"
            if previous_ns is None
            else "the timestamp does not advance and no sample rate is known"
        )
        raise TimestampError(
            f"cannot time the samples of this frame: {why}",
            protocol=PROTOCOL,
            hint="configure the measurement's sample rate (from the START request)",
        )
    if n > 1 and base + float(x[0]) < 0:
        raise BeforeEpoch(
            f"the frame's first sample would fall {-(base + float(x[0])) / 1e9:.6f} s before the device's epoch "
            "(2000-01-01): the timestamp is too small for this many samples",
            protocol=PROTOCOL,
            hint="a corrupted frame, or a device clock that was not set",
        )
    offsets = _round_offsets(base, x)
    times = np.empty(n, dtype=np.int64)
    times[:-1] = offsets + np.int64(base)
    times[-1] = timestamp_ns
    return times


@dataclass(frozen=True, eq=False, slots=True)
class PmdSamples:
    """A decoded, timed and SI-converted PMD frame (the output of `PmdStream.decode`).

    ``time_ns`` (n,) int64 is device time since 2000-01-01; ``values`` (n, 3) float64 is
    m/s^2 for ACC and deg/s for GYRO. ``gap_before`` / ``missing_samples``: frames were lost
    before this one; ``clock_jump``: the device clock went backwards or stalled (the samples
    were then timed from the nominal rate).
    """

    frame: PmdDataFrame
    time_ns: np.ndarray
    values: np.ndarray
    gap_before: bool = False
    missing_samples: int = 0
    clock_jump: bool = False

    @property
    def measurement(self) -> MeasurementType:
        return self.frame.measurement

    def __len__(self) -> int:
        return int(self.time_ns.shape[0])

    def time_s(self, time_origin_ns: int = 0) -> np.ndarray:
        return (self.time_ns - np.int64(time_origin_ns)).astype(np.float64) / 1e9

    def to_imu(self, time_origin_ns: int = 0) -> ImuSamples:
        return to_imu_samples([self], time_origin_ns=time_origin_ns)


def to_imu_samples(parts: Sequence[PmdSamples], *, time_origin_ns: int = 0) -> ImuSamples:
    """Join timed frames of ONE measurement into SampleBlock-ready SI arrays.

    ``time_s`` is seconds since ``time_origin_ns`` (device time, ns since 2000-01-01; pass the
    first frame's timestamp to keep sub-microsecond precision in float64).
    """
    if not parts:
        raise ValueError("no frames")
    kinds = {p.measurement for p in parts}
    if len(kinds) != 1:
        raise ValueError(f"frames of several measurements ({sorted(k.name for k in kinds)}); join each separately")
    kind = kinds.pop()
    time_s = np.concatenate([p.time_s(time_origin_ns) for p in parts])
    values = np.concatenate([p.values for p in parts])
    return ImuSamples(
        time_s=time_s,
        acc_mps2=values if kind is MeasurementType.ACC else None,
        gyr_dps=values if kind is MeasurementType.GYRO else None,
        gap_before=parts[0].gap_before,
        missing_samples=parts[0].missing_samples,
        source=f"polar-pmd-{kind.name.lower()}",
    )


@dataclass
class _MeasurementConfig:
    sample_rate_hz: float | None = None
    factor: float = 1.0


@dataclass
class PmdStream:
    """Stateful decoder of one device's PMD data characteristic (one per connection).

    Holds, per measurement, the nominal sample rate and factor (from START), and per
    (measurement, frame type) the previous frame timestamp. A frame that fails to decode
    changes nothing. When both the previous timestamp and the nominal rate are known, a frame
    whose implied sample interval is off by more than ``gap_ratio`` (lost frames, a clock
    jump) is timed from the nominal rate instead and flagged.
    """

    device: str | None = None
    gap_ratio: float = 1.5
    _config: dict[int, _MeasurementConfig] = field(default_factory=dict, repr=False)
    _previous: dict[tuple[int, int], int] = field(default_factory=dict, repr=False)

    def configure(
        self, measurement: MeasurementType | int, *, sample_rate_hz: float | None = None, factor: float | None = None
    ) -> None:
        """Set what START selected (rate) and answered (factor); forgets previous timestamps."""
        code = int(MeasurementType(measurement))
        cfg = self._config.setdefault(code, _MeasurementConfig())
        if sample_rate_hz is not None:
            if not (math.isfinite(sample_rate_hz) and sample_rate_hz > 0):
                raise ProtocolError(f"sample rate {sample_rate_hz!r} Hz is not positive", protocol=PROTOCOL)
            cfg.sample_rate_hz = float(sample_rate_hz)
        if factor is not None:
            if not (math.isfinite(factor) and factor > 0):
                raise MalformedFrame(f"FACTOR {factor!r} is not a positive finite number", protocol=PROTOCOL)
            cfg.factor = float(factor)
        self._forget(code)

    def on_start(self, request: bytes, response: bytes) -> PmdControlPointResponse:
        """Configure from a START request and its response (raises `ControlPointError` on failure)."""
        req = decode_request(request)
        if req.op is not Opcode.REQUEST_MEASUREMENT_START:
            raise MalformedFrame(f"not a START request (op {int(req.op)})", protocol=PROTOCOL)
        resp = decode_response(response).raise_for_status(self.device)
        rates = req.settings.sample_rate_hz
        factors = resp.settings.factor
        code = int(req.measurement)
        if code not in (MeasurementType.ACC, MeasurementType.GYRO):
            return resp
        self._config[code] = _MeasurementConfig()  # a new START: factor back to 1.0 unless given
        self.configure(code, sample_rate_hz=rates[0] if rates else None, factor=factors[0] if factors else None)
        return resp

    def reset(self) -> None:
        """Forget all previous timestamps (reconnect); keeps rates and factors."""
        self._previous.clear()

    def _forget(self, code: int) -> None:
        for key in [k for k in self._previous if k[0] == code]:
            del self._previous[key]

    def factor(self, measurement: MeasurementType | int) -> float:
        cfg = self._config.get(int(measurement))
        return cfg.factor if cfg else 1.0

    def decode(self, data: bytes) -> PmdSamples:
        frame = decode_data_frame(data, device=self.device)
        code = int(frame.measurement)
        cfg = self._config.get(code) or _MeasurementConfig()
        key = (code, frame.frame_type)
        prev = self._previous.get(key)
        ts = frame.timestamp_ns
        n = frame.n_samples
        rate = cfg.sample_rate_hz
        gap = jump = False
        missing = 0
        use_prev = prev
        if prev is not None and rate is not None:
            nominal = 1e9 / rate
            if ts <= prev:
                jump, use_prev = True, None
            else:
                interval = (ts - prev) / n
                if interval > nominal * self.gap_ratio:
                    gap, use_prev = True, None
                    missing = max(0, round((ts - prev) / nominal) - n)
                elif interval < nominal / self.gap_ratio:
                    jump, use_prev = True, None
        try:
            times = sample_times_ns(ts, n, previous_ns=use_prev, sample_rate_hz=rate)
        except BeforeEpoch:
            raise  # a frame that cannot be right: it leaves no trace
        except TimestampError:
            if 0 <= ts <= _INT64_MAX:
                self._previous[key] = ts  # a good frame we could not time: the next one can be
            raise
        values = si_values(frame, cfg.factor)
        self._previous[key] = ts
        return PmdSamples(frame, times, values, gap_before=gap, missing_samples=missing, clock_jump=jump)


def frames_to_imu(
    frames: Sequence[bytes], *, sample_rate_hz: float, factor: float = 1.0, time_origin_ns: int | None = None
) -> ImuSamples:
    """Offline helper: decode frames of one measurement in order and join them as SI samples.

    ``time_origin_ns`` defaults to the first frame's timestamp (so time_s starts near 0).
    """
    if not frames:
        raise ValueError("no frames")
    stream = PmdStream()
    out: list[PmdSamples] = []
    for data in frames:
        frame_kind = decode_data_frame(data).measurement
        if not out:
            stream.configure(frame_kind, sample_rate_hz=sample_rate_hz, factor=factor)
        out.append(stream.decode(data))
    origin = out[0].frame.timestamp_ns if time_origin_ns is None else time_origin_ns
    return to_imu_samples(out, time_origin_ns=origin)
