"""Bluetooth SIG Running Speed and Cadence service (0x1814): measurement 0x2A53, feature 0x2A54.

Byte layouts from the GATT Specification Supplement (``rsc_measurement`` / ``rsc_feature``).
RSC carries processed speed and cadence only: no raw IMU samples.

Cadence: the spec's unit is "1/min" but devices disagree on steps or strides (per-leg) per
minute, so the caller says which (``cadence_unit``); ``cadence_spm`` is always steps/min.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .common import as_bytes, check_uint, need, u16le, u32le
from .errors import EncodeError, MalformedFrame

PROTOCOL = "rsc"

RSC_SERVICE_UUID = "00001814-0000-1000-8000-00805f9b34fb"
RSC_MEASUREMENT_UUID = "00002a53-0000-1000-8000-00805f9b34fb"
RSC_FEATURE_UUID = "00002a54-0000-1000-8000-00805f9b34fb"
SC_CONTROL_POINT_UUID = "00002a55-0000-1000-8000-00805f9b34fb"  # [D] not implemented
SENSOR_LOCATION_UUID = "00002a5d-0000-1000-8000-00805f9b34fb"  # [D] not implemented

FLAG_STRIDE_LENGTH = 0x01
FLAG_TOTAL_DISTANCE = 0x02
FLAG_RUNNING = 0x04
FLAGS_RESERVED = 0xF8

FEATURE_STRIDE_LENGTH = 0x0001
FEATURE_TOTAL_DISTANCE = 0x0002
FEATURE_WALKING_RUNNING = 0x0004
FEATURE_CALIBRATION = 0x0008
FEATURE_MULTIPLE_LOCATIONS = 0x0010

CadenceUnit = Literal["steps", "strides"]
CADENCE_UNITS: tuple[str, ...] = ("steps", "strides")


@dataclass(frozen=True, slots=True)
class RscMeasurement:
    """One RSC measurement notification, in SI-ish units.

    ``cadence_raw`` is the byte as sent (1/min); ``cadence_spm`` is steps per minute after the
    configured unit. ``running`` is the walking(False)/running(True) status bit, meaningful only
    if the feature read says the sensor supports it. Absent optional fields are None.
    """

    speed_mps: float
    cadence_raw: int
    cadence_spm: float
    stride_length_m: float | None
    total_distance_m: float | None
    running: bool
    flags: int

    def to_dict(self) -> dict:
        return {
            "speed_mps": self.speed_mps,
            "cadence_raw": self.cadence_raw,
            "cadence_spm": self.cadence_spm,
            "stride_length_m": self.stride_length_m,
            "total_distance_m": self.total_distance_m,
            "running": self.running,
            "flags": self.flags,
        }


def _check_unit(cadence_unit: str) -> None:
    if cadence_unit not in CADENCE_UNITS:
        raise EncodeError(f"cadence_unit must be 'steps' or 'strides', not {cadence_unit!r}", protocol=PROTOCOL)


def decode_measurement(data: bytes, *, cadence_unit: CadenceUnit = "steps") -> RscMeasurement:
    """Decode 0x2A53. Truncation is an error; trailing bytes are tolerated only when reserved
    flag bits are set (a later spec version may append fields), otherwise they are an error."""
    _check_unit(cadence_unit)
    data = as_bytes(data, PROTOCOL)
    need(data, 4, PROTOCOL, "RSC measurement (flags, speed, cadence)")
    flags = data[0]
    end = 4 + (2 if flags & FLAG_STRIDE_LENGTH else 0) + (4 if flags & FLAG_TOTAL_DISTANCE else 0)
    need(data, end, PROTOCOL, f"RSC measurement with flags 0x{flags:02X}")
    if len(data) > end and not flags & FLAGS_RESERVED:
        raise MalformedFrame(f"RSC measurement: {len(data) - end} unexpected trailing bytes", protocol=PROTOCOL)
    off = 4
    stride = distance = None
    if flags & FLAG_STRIDE_LENGTH:
        stride = u16le(data, off) / 100.0
        off += 2
    if flags & FLAG_TOTAL_DISTANCE:
        distance = u32le(data, off) / 10.0
    cadence = data[3]
    return RscMeasurement(
        speed_mps=u16le(data, 1) / 256.0,
        cadence_raw=cadence,
        cadence_spm=float(cadence * 2 if cadence_unit == "strides" else cadence),
        stride_length_m=stride,
        total_distance_m=distance,
        running=bool(flags & FLAG_RUNNING),
        flags=flags,
    )


def encode_measurement(
    *,
    speed_mps: float,
    cadence_per_min: int,
    stride_length_m: float | None = None,
    total_distance_m: float | None = None,
    running: bool = False,
) -> bytes:
    """Encode 0x2A53 (for emulators and tests). Values are rounded to the field resolution."""
    for name, value in (
        ("speed_mps", speed_mps),
        ("stride_length_m", stride_length_m),
        ("total_distance_m", total_distance_m),
    ):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float) or not value == value):
            raise EncodeError(f"{name} must be a number, got {value!r}", protocol=PROTOCOL)
    flags = FLAG_RUNNING if running else 0
    out = bytearray()
    out += check_uint(round(speed_mps * 256), 16, "speed (1/256 m/s)", PROTOCOL).to_bytes(2, "little")
    out += bytes((check_uint(cadence_per_min, 8, "cadence (1/min)", PROTOCOL),))
    if stride_length_m is not None:
        flags |= FLAG_STRIDE_LENGTH
        out += check_uint(round(stride_length_m * 100), 16, "stride length (cm)", PROTOCOL).to_bytes(2, "little")
    if total_distance_m is not None:
        flags |= FLAG_TOTAL_DISTANCE
        out += check_uint(round(total_distance_m * 10), 32, "total distance (dm)", PROTOCOL).to_bytes(4, "little")
    return bytes((flags,)) + bytes(out)


@dataclass(frozen=True, slots=True)
class RscFeature:
    """0x2A54: which optional RSC fields and procedures the sensor supports."""

    raw: int

    @property
    def stride_length(self) -> bool:
        return bool(self.raw & FEATURE_STRIDE_LENGTH)

    @property
    def total_distance(self) -> bool:
        return bool(self.raw & FEATURE_TOTAL_DISTANCE)

    @property
    def walking_running_status(self) -> bool:
        return bool(self.raw & FEATURE_WALKING_RUNNING)

    @property
    def calibration(self) -> bool:
        return bool(self.raw & FEATURE_CALIBRATION)

    @property
    def multiple_locations(self) -> bool:
        return bool(self.raw & FEATURE_MULTIPLE_LOCATIONS)

    def to_dict(self) -> dict:
        return {
            "raw": self.raw,
            "stride_length": self.stride_length,
            "total_distance": self.total_distance,
            "walking_running_status": self.walking_running_status,
            "calibration": self.calibration,
            "multiple_locations": self.multiple_locations,
        }


def decode_feature(data: bytes) -> RscFeature:
    """Decode 0x2A54 (u16 LE bit field). Extra bytes are an error."""
    data = as_bytes(data, PROTOCOL)
    need(data, 2, PROTOCOL, "RSC feature")
    if len(data) > 2:
        raise MalformedFrame(f"RSC feature is 2 bytes, got {len(data)}", protocol=PROTOCOL)
    return RscFeature(u16le(data, 0))


def encode_feature(
    *,
    stride_length: bool = False,
    total_distance: bool = False,
    walking_running_status: bool = False,
    calibration: bool = False,
    multiple_locations: bool = False,
) -> bytes:
    raw = (
        (FEATURE_STRIDE_LENGTH if stride_length else 0)
        | (FEATURE_TOTAL_DISTANCE if total_distance else 0)
        | (FEATURE_WALKING_RUNNING if walking_running_status else 0)
        | (FEATURE_CALIBRATION if calibration else 0)
        | (FEATURE_MULTIPLE_LOCATIONS if multiple_locations else 0)
    )
    return raw.to_bytes(2, "little")
