"""MbientLab MetaWear (MetaMotion boards): accelerometer and gyroscope streaming, BMI160.

Packets on the command (write) and notify characteristics are ``[module][register][data...]``.
Command bytes and data layouts are checked against the MetaWear C++ SDK's own unit tests
(test_accelerometer_bmi160.py, test_gyro_bmi160.py); items marked [U] are not.

Streamed data carries NO device timestamp or sample counter [U: none found]: `MetaWearStream`
times samples by counting them at the configured output data rate, so a lost packet cannot
be detected from the bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .common import STANDARD_GRAVITY_MPS2, ImuSamples, as_bytes, need
from .errors import EncodeError, MalformedFrame, ProtocolError, TruncatedFrame, UnsupportedFrame

PROTOCOL = "metawear"

METAWEAR_SERVICE_UUID = "326a9000-85cb-9195-d9dd-464cfbbae75a"
METAWEAR_COMMAND_UUID = "326a9001-85cb-9195-d9dd-464cfbbae75a"
METAWEAR_NOTIFY_UUID = "326a9006-85cb-9195-d9dd-464cfbbae75a"

ACC_MODULE = 0x03
GYRO_MODULE = 0x13  # BMI160 / BMI270 gyro
READ_FLAG = 0x80  # register | 0x80 marks a read response

ACC_REG_POWER = 0x01  # start / stop  ([U] for the accelerometer: by analogy with the gyro)
ACC_REG_ENABLE = 0x02
ACC_REG_CONFIG = 0x03
ACC_REG_DATA = 0x04
ACC_REG_PACKED = 0x1C
GYRO_REG_POWER = 0x01
GYRO_REG_ENABLE = 0x02
GYRO_REG_CONFIG = 0x03
GYRO_REG_DATA = 0x05
GYRO_REG_PACKED = 0x07

PACKED_SAMPLES = 3
SAMPLE_BYTES = 6  # int16 LE x, y, z

ACC_LSB_PER_G = {2: 16384.0, 4: 8192.0, 8: 4096.0, 16: 2048.0}
GYRO_LSB_PER_DPS = {125: 262.4, 250: 131.2, 500: 65.6, 1000: 32.8, 2000: 16.4}

# BMI160 register codes (from the chip's register map). Only 200 Hz, +-8 g and the gyro's
# "13 03 29 00" are checked against the SDK tests; the rest is [U].
BMI160_ODR_CODE = {25: 6, 50: 7, 100: 8, 200: 9, 400: 10, 800: 11, 1600: 12}
BMI160_ACC_RANGE_CODE = {2: 0x03, 4: 0x05, 8: 0x08, 16: 0x0C}
BMI160_GYRO_RANGE_CODE = {2000: 0, 1000: 1, 500: 2, 250: 3, 125: 4}
BMI160_BANDWIDTH_NORMAL = 0x20  # config byte bits 4..6 = 2 ("normal" filter), as in 0x29 = 200 Hz


def _cmd(*values: int) -> bytes:
    return bytes(values)


def acc_config(odr_hz: int, range_g: int) -> bytes:
    """Accelerometer config ``03 03 <bw|odr> <range>`` (BMI160); 200 Hz, +-8 g = ``03 03 29 08``."""
    if odr_hz not in BMI160_ODR_CODE or range_g not in BMI160_ACC_RANGE_CODE:
        raise EncodeError(
            f"BMI160 accelerometer supports {sorted(BMI160_ODR_CODE)} Hz and {sorted(BMI160_ACC_RANGE_CODE)} g",
            protocol=PROTOCOL,
        )
    return _cmd(
        ACC_MODULE, ACC_REG_CONFIG, BMI160_BANDWIDTH_NORMAL | BMI160_ODR_CODE[odr_hz], BMI160_ACC_RANGE_CODE[range_g]
    )


def gyro_config(odr_hz: int, range_dps: int) -> bytes:
    """Gyro config ``13 03 <bw|odr> <range>`` (BMI160); 200 Hz, 2000 dps = ``13 03 29 00``."""
    if odr_hz not in BMI160_ODR_CODE or range_dps not in BMI160_GYRO_RANGE_CODE:
        raise EncodeError(
            f"BMI160 gyro supports {sorted(BMI160_ODR_CODE)} Hz and {sorted(BMI160_GYRO_RANGE_CODE)} dps",
            protocol=PROTOCOL,
        )
    return _cmd(
        GYRO_MODULE,
        GYRO_REG_CONFIG,
        BMI160_BANDWIDTH_NORMAL | BMI160_ODR_CODE[odr_hz],
        BMI160_GYRO_RANGE_CODE[range_dps],
    )


ACC_ENABLE = _cmd(ACC_MODULE, ACC_REG_ENABLE, 0x01, 0x00)
ACC_DISABLE = _cmd(ACC_MODULE, ACC_REG_ENABLE, 0x00, 0x01)  # [U] mirror of enable
ACC_START = _cmd(ACC_MODULE, ACC_REG_POWER, 0x01)  # [U] by analogy with the gyro
ACC_STOP = _cmd(ACC_MODULE, ACC_REG_POWER, 0x00)  # [U]
GYRO_ENABLE = _cmd(GYRO_MODULE, GYRO_REG_ENABLE, 0x01, 0x00)
GYRO_DISABLE = _cmd(GYRO_MODULE, GYRO_REG_ENABLE, 0x00, 0x01)  # [U] mirror of enable
GYRO_START = _cmd(GYRO_MODULE, GYRO_REG_POWER, 0x01)
GYRO_STOP = _cmd(GYRO_MODULE, GYRO_REG_POWER, 0x00)


def subscribe(kind: str, *, packed: bool = False, enable: bool = True) -> bytes:
    """Subscribe (``03 04 01``, packed ``03 1C 01``; gyro ``13 05 01`` / ``13 07 01``).

    ``enable=False`` gives the unsubscribe command (``... 00``) [U].
    """
    module, reg = _data_register(kind, packed)
    return _cmd(module, reg, 0x01 if enable else 0x00)


def _data_register(kind: str, packed: bool) -> tuple[int, int]:
    if kind == "acc":
        return ACC_MODULE, ACC_REG_PACKED if packed else ACC_REG_DATA
    if kind == "gyro":
        return GYRO_MODULE, GYRO_REG_PACKED if packed else GYRO_REG_DATA
    raise EncodeError(f"kind must be 'acc' or 'gyro', not {kind!r}", protocol=PROTOCOL)


def start_streaming_commands(
    *,
    acc_odr_hz: int = 200,
    acc_range_g: int = 8,
    gyro_odr_hz: int | None = None,
    gyro_range_dps: int = 2000,
    packed: bool = True,
) -> list[bytes]:
    """The command sequence to stream the accelerometer (and the gyro if ``gyro_odr_hz``).

    Order as the SDK tests: configure, subscribe, enable, start. Check the fitted chip first
    (MetaMotion S has a BMI270, whose config bytes differ [U]).
    """
    cmds = [acc_config(acc_odr_hz, acc_range_g), subscribe("acc", packed=packed), ACC_ENABLE, ACC_START]
    if gyro_odr_hz is not None:
        cmds += [gyro_config(gyro_odr_hz, gyro_range_dps), subscribe("gyro", packed=packed), GYRO_ENABLE, GYRO_START]
    return cmds


def stop_streaming_commands(*, gyro: bool = False) -> list[bytes]:
    cmds = [ACC_STOP, ACC_DISABLE, subscribe("acc", packed=True, enable=False), subscribe("acc", enable=False)]
    if gyro:
        cmds += [GYRO_STOP, GYRO_DISABLE, subscribe("gyro", packed=True, enable=False), subscribe("gyro", enable=False)]
    return cmds


@dataclass(frozen=True, eq=False, slots=True)
class MetaWearData:
    """An accelerometer or gyro data notification: ``raw`` (n, 3) int64 counts (n = 1 or 3)."""

    kind: str  # "acc" | "gyro"
    packed: bool
    raw: np.ndarray

    def __len__(self) -> int:
        return int(self.raw.shape[0])

    def scaled(self, full_scale: float) -> np.ndarray:
        """Values in g (acc, ``full_scale`` = range in g) or deg/s (gyro, range in dps)."""
        table = ACC_LSB_PER_G if self.kind == "acc" else GYRO_LSB_PER_DPS
        lsb = table.get(full_scale)  # type: ignore[call-overload]
        if lsb is None:
            raise ProtocolError(f"{self.kind} range {full_scale} is not one of {sorted(table)}", protocol=PROTOCOL)
        return self.raw / lsb

    def si(self, full_scale: float) -> np.ndarray:
        """Acc in m/s^2 or gyro in deg/s."""
        values = self.scaled(full_scale)
        return values * STANDARD_GRAVITY_MPS2 if self.kind == "acc" else values


_DATA_LAYOUT = {
    (ACC_MODULE, ACC_REG_DATA): ("acc", False),
    (ACC_MODULE, ACC_REG_PACKED): ("acc", True),
    (GYRO_MODULE, GYRO_REG_DATA): ("gyro", False),
    (GYRO_MODULE, GYRO_REG_PACKED): ("gyro", True),
}


def decode_notification(data: bytes) -> MetaWearData:
    """Decode an acc/gyro data notification (``03 04``, ``03 1C``, ``13 05``, ``13 07``)."""
    data = as_bytes(data, PROTOCOL)
    need(data, 2, PROTOCOL, "module and register")
    layout = _DATA_LAYOUT.get((data[0], data[1]))
    if layout is None:
        raise UnsupportedFrame(
            (data[0] << 8) | data[1],
            protocol=PROTOCOL,
            what="module/register",
            hint="only accelerometer (0x03) and gyro (0x13) data are decoded",
        )
    kind, packed = layout
    length = 2 + SAMPLE_BYTES * (PACKED_SAMPLES if packed else 1)
    if len(data) < length:
        raise TruncatedFrame(PROTOCOL, f"{kind} {'packed ' if packed else ''}data", length, len(data))
    if len(data) > length:
        raise MalformedFrame(f"{kind} data: {len(data) - length} unexpected trailing bytes", protocol=PROTOCOL)
    raw = np.frombuffer(data, "<i2", offset=2).reshape(-1, 3).astype(np.int64)
    return MetaWearData(kind=kind, packed=packed, raw=raw)


def encode_notification(kind: str, raw: np.ndarray | Sequence, *, packed: bool = False) -> bytes:
    """Build a data notification (for emulators and tests)."""
    module, reg = _data_register(kind, packed)
    arr = np.asarray(raw, dtype=np.int64).reshape(-1, 3)
    if arr.shape[0] != (PACKED_SAMPLES if packed else 1):
        raise EncodeError(
            f"{'packed' if packed else 'single'} data holds {PACKED_SAMPLES if packed else 1} samples",
            protocol=PROTOCOL,
        )
    if arr.min() < -32768 or arr.max() > 32767:
        raise EncodeError("samples must fit int16", protocol=PROTOCOL)
    return bytes((module, reg)) + arr.astype("<i2").tobytes()


@dataclass
class MetaWearStream:
    """Times and scales acc/gyro notifications of one board by counting samples at the ODR.

    ``time_s`` of the k-th sample of a kind is ``k / odr``: relative, with no way to see
    lost packets (the packets carry no counter [U]). Check `ProtocolError` per packet.
    """

    acc_odr_hz: float = 200.0
    acc_range_g: int = 8
    gyro_odr_hz: float = 200.0
    gyro_range_dps: int = 2000
    _count: dict[str, int] = field(default_factory=lambda: {"acc": 0, "gyro": 0}, repr=False)

    def __post_init__(self) -> None:
        if self.acc_range_g not in ACC_LSB_PER_G:
            raise ProtocolError(f"acc range must be one of {sorted(ACC_LSB_PER_G)} g", protocol=PROTOCOL)
        if self.gyro_range_dps not in GYRO_LSB_PER_DPS:
            raise ProtocolError(f"gyro range must be one of {sorted(GYRO_LSB_PER_DPS)} dps", protocol=PROTOCOL)
        if not (self.acc_odr_hz > 0 and self.gyro_odr_hz > 0):
            raise ProtocolError("output data rates must be positive", protocol=PROTOCOL)

    def reset(self) -> None:
        self._count = {"acc": 0, "gyro": 0}

    def decode(self, data: bytes) -> ImuSamples:
        msg = decode_notification(data)  # raises before any state changes
        start = self._count[msg.kind]
        n = len(msg)
        rate = self.acc_odr_hz if msg.kind == "acc" else self.gyro_odr_hz
        time_s = (start + np.arange(n, dtype=np.float64)) / rate
        self._count[msg.kind] = start + n
        if msg.kind == "acc":
            return ImuSamples(time_s=time_s, acc_mps2=msg.si(self.acc_range_g), source="metawear-acc")
        return ImuSamples(time_s=time_s, gyr_dps=msg.si(self.gyro_range_dps), source="metawear-gyro")


def split_command(data: bytes) -> tuple[int, int, bytes]:
    """Split a command ``[module][register][data...]`` (what a device emulator receives)."""
    data = as_bytes(data, PROTOCOL)
    need(data, 2, PROTOCOL, "command module and register")
    return data[0], data[1], data[2:]
