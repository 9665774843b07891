"""MbientLab MetaWear (MetaMotion boards): accelerometer and gyroscope streaming, BMI160 and BMI270.

Packets on the command (write) and notify characteristics are ``[module][register][data...]``.
The IMU chip decides the registers: MetaMotion R, RL and C carry a Bosch BMI160, MetaMotion S
a BMI270. The board names its chip in its module info (``[module] 80`` read, answered
``[module] 80 [implementation] [revision] ...``): `detect_board` picks the chip from it and
refuses any other implementation with `UnsupportedFrame`.

What backs each part (tags as in README.md: [V] a vendor byte vector decodes or encodes to the
vendor's value in our tests; [D] stated by the vendor's source, no vector; [U] inferred):

- [V] module info of a MetaMotion R (``03 80 01 01``, ``13 80 00 01``) and a MetaMotion S
  (``03 80 04 00``, ``13 80 01 00``): the MetaWear C++ SDK's test/common.py and the Android
  SDK's MetaWearBoardInfo.java; the implementation codes in the SDK headers.
- [V] BMI160: accelerometer config for 25..1600 Hz and +-2, +-8, +-16 g, gyro config for
  every rate and range, enable/disable, subscribe/unsubscribe (single and packed), gyro
  start/stop, the four data vectors (C++ SDK test_accelerometer_bmi160.py,
  test_gyro_bmi160.py; Android SDK TestGyro160Config.java).
- [V] BMI270: accelerometer config (25..1600 Hz, +-8 and +-16 g), enable/disable,
  subscribe/unsubscribe ``03 04`` and packed ``03 05``, the single and packed data vectors
  (C++ SDK test_accelerometer_bmi270.py); gyro config for every rate and range, start/stop,
  enable/disable, subscribe/unsubscribe ``13 04`` and packed ``13 05``, the single and packed
  data vectors (Android SDK TestGyro270Config/Data/PackedData.java: the C++ SDK has no BMI270
  gyro test).
- [D] accelerometer start/stop ``03 01 01`` / ``03 01 00`` (both chips; the SDKs' source, no
  test vector); the +-2 / +-4 g range codes of the BMI270 and +-4 g of the BMI160; packed
  data on a BMI160 only from module revision 1 (the SDK's PACKED_ACC_REVISION /
  PACKED_ROT_REVISION).
- [U] streamed data carries NO device timestamp or sample counter (none found in either
  SDK): `MetaWearStream` times samples by counting them at the configured output data rate,
  so a lost packet cannot be seen in the bytes.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from .common import STANDARD_GRAVITY_MPS2, ImuSamples, as_bytes, need
from .errors import EncodeError, MalformedFrame, ProtocolError, TruncatedFrame, UnsupportedFrame

PROTOCOL = "metawear"

METAWEAR_SERVICE_UUID = "326a9000-85cb-9195-d9dd-464cfbbae75a"
METAWEAR_COMMAND_UUID = "326a9001-85cb-9195-d9dd-464cfbbae75a"
METAWEAR_NOTIFY_UUID = "326a9006-85cb-9195-d9dd-464cfbbae75a"

ACC_MODULE = 0x03
GYRO_MODULE = 0x13
READ_FLAG = 0x80  # register | 0x80 marks a read (and its response)
MODULE_INFO_REGISTER = 0x80  # register 0 read: "which implementation, which revision"


class Chip(StrEnum):
    """The IMU chip of a board: its registers, config bytes and scales."""

    BMI160 = "bmi160"  # MetaMotion R, RL, C
    BMI270 = "bmi270"  # MetaMotion S


# implementation byte of the module info -> name (the SDK headers: accelerometer.h, gyro_bosch.cpp)
ACC_IMPLEMENTATIONS = {0x00: "MMA8452Q", 0x01: "BMI160", 0x03: "BMA255", 0x04: "BMI270"}
GYRO_IMPLEMENTATIONS = {0x00: "BMI160", 0x01: "BMI270"}
_ACC_CHIP = {0x01: Chip.BMI160, 0x04: Chip.BMI270}
_GYRO_CHIP = {0x00: Chip.BMI160, 0x01: Chip.BMI270}
PACKED_REVISION_BMI160 = 1  # [D] a BMI160 module packs 3 samples per packet from this revision

# registers of both modules, both chips
REG_POWER = 0x01  # start / stop
REG_ENABLE = 0x02  # data interrupt enable
REG_CONFIG = 0x03
# kept for callers of the BMI160-only API
ACC_REG_POWER = GYRO_REG_POWER = REG_POWER
ACC_REG_ENABLE = GYRO_REG_ENABLE = REG_ENABLE
ACC_REG_CONFIG = GYRO_REG_CONFIG = REG_CONFIG


@dataclass(frozen=True, slots=True)
class DataRegisters:
    """Where one chip's data notifications arrive (single sample, and 3 samples packed)."""

    acc: int
    acc_packed: int
    gyro: int
    gyro_packed: int


REGISTERS = {
    Chip.BMI160: DataRegisters(acc=0x04, acc_packed=0x1C, gyro=0x05, gyro_packed=0x07),
    Chip.BMI270: DataRegisters(acc=0x04, acc_packed=0x05, gyro=0x04, gyro_packed=0x05),
}
ACC_REG_DATA = REGISTERS[Chip.BMI160].acc
ACC_REG_PACKED = REGISTERS[Chip.BMI160].acc_packed
GYRO_REG_DATA = REGISTERS[Chip.BMI160].gyro
GYRO_REG_PACKED = REGISTERS[Chip.BMI160].gyro_packed

PACKED_SAMPLES = 3
SAMPLE_BYTES = 6  # int16 LE x, y, z

# counts per unit: the same for both chips (the SDKs' FSR_SCALE tables)
ACC_LSB_PER_G = {2: 16384.0, 4: 8192.0, 8: 4096.0, 16: 2048.0}
GYRO_LSB_PER_DPS = {125: 262.4, 250: 131.2, 500: 65.6, 1000: 32.8, 2000: 16.4}

# output data rate codes (the low nibble of the config byte): the same on both chips
ACC_ODR_CODE = {25: 6, 50: 7, 100: 8, 200: 9, 400: 10, 800: 11, 1600: 12}
GYRO_ODR_CODE = {**ACC_ODR_CODE, 3200: 13}
BMI160_ODR_CODE = ACC_ODR_CODE
ACC_RANGE_CODE = {
    Chip.BMI160: {2: 0x03, 4: 0x05, 8: 0x08, 16: 0x0C},
    Chip.BMI270: {2: 0x00, 4: 0x01, 8: 0x02, 16: 0x03},
}
BMI160_ACC_RANGE_CODE = ACC_RANGE_CODE[Chip.BMI160]
GYRO_RANGE_CODE = {2000: 0, 1000: 1, 500: 2, 250: 3, 125: 4}
BMI160_GYRO_RANGE_CODE = GYRO_RANGE_CODE
BANDWIDTH_NORMAL = 0x20  # bits 4..6 = 2 ("normal" filter), both chips, rates of 12.5 Hz and up
BMI270_ACC_FILTER_PERF = 0x80  # acc_conf bit 7: the SDK sets it for 12.5 Hz and up (0xA8 = 100 Hz)
BMI160_BANDWIDTH_NORMAL = BANDWIDTH_NORMAL


def as_chip(chip: Chip | str) -> Chip:
    """``"bmi270"`` -> `Chip.BMI270`; anything else is a `ProtocolError` naming the choices."""
    try:
        return Chip(str(chip).lower())
    except ValueError:
        raise ProtocolError(
            f"IMU chip {chip!r} is not one of {', '.join(c.value for c in Chip)}", protocol=PROTOCOL
        ) from None


def _cmd(*values: int) -> bytes:
    return bytes(values)


# ----------------------------------------------------------------------------------------------
# module info: which chip is fitted
# ----------------------------------------------------------------------------------------------
def module_info_request(module: int) -> bytes:
    """The read that asks a module for its info: ``03 80`` (accelerometer), ``13 80`` (gyro)."""
    if not 0 <= module <= 0xFF:
        raise EncodeError(f"module id {module} is not one byte", protocol=PROTOCOL)
    return _cmd(module, MODULE_INFO_REGISTER)


@dataclass(frozen=True, slots=True)
class ModuleInfo:
    """A module-info response. ``present`` False (a bare ``[module] 80``): the board has no such
    module. ``implementation`` and ``revision`` are None then; ``extra`` is what follows them."""

    module: int
    present: bool
    implementation: int | None = None
    revision: int | None = None
    extra: bytes = b""

    @property
    def implementation_name(self) -> str | None:
        if self.implementation is None:
            return None
        table = ACC_IMPLEMENTATIONS if self.module == ACC_MODULE else GYRO_IMPLEMENTATIONS
        return table.get(self.implementation)


def is_module_info(data: bytes) -> bool:
    """Does ``data`` look like a module-info response (``[module] 80 ...``)? No checks beyond that."""
    return len(data) >= 2 and data[1] == MODULE_INFO_REGISTER


def decode_module_info(data: bytes) -> ModuleInfo:
    """``03 80 04 00`` -> ModuleInfo(module=3, present=True, implementation=4, revision=0)."""
    data = as_bytes(data, PROTOCOL)
    need(data, 2, PROTOCOL, "module and register")
    if data[1] != MODULE_INFO_REGISTER:
        raise UnsupportedFrame(data[1], protocol=PROTOCOL, what="register (a module-info response is [module] 80 ...)")
    if len(data) == 2:
        return ModuleInfo(data[0], present=False)
    need(data, 4, PROTOCOL, "module info (implementation and revision)")
    return ModuleInfo(data[0], True, data[2], data[3], bytes(data[4:]))


def encode_module_info(module: int, implementation: int | None, revision: int = 0, extra: bytes = b"") -> bytes:
    """A module-info response (for emulators); ``implementation`` None = the module is absent."""
    if implementation is None:
        return _cmd(module, MODULE_INFO_REGISTER)
    for name, v in (("module", module), ("implementation", implementation), ("revision", revision)):
        if not 0 <= v <= 0xFF:
            raise EncodeError(f"{name} {v} is not one byte", protocol=PROTOCOL)
    return _cmd(module, MODULE_INFO_REGISTER, implementation, revision) + bytes(extra)


_SUPPORTED = "only BMI160 (MetaMotion R, RL, C) and BMI270 (MetaMotion S) boards are supported"


def chip_of(info: ModuleInfo) -> Chip:
    """The chip a module-info response of the accelerometer or gyro module names."""
    if info.module not in (ACC_MODULE, GYRO_MODULE):
        raise UnsupportedFrame(info.module, protocol=PROTOCOL, what="module (expected 0x03 or 0x13)")
    what = "accelerometer" if info.module == ACC_MODULE else "gyro"
    if not info.present or info.implementation is None:
        raise UnsupportedFrame(info.module, protocol=PROTOCOL, what=f"board: no {what} module", hint=_SUPPORTED)
    table = _ACC_CHIP if info.module == ACC_MODULE else _GYRO_CHIP
    chip = table.get(info.implementation)
    if chip is None:
        name = info.implementation_name or "unknown"
        raise UnsupportedFrame(
            info.implementation, protocol=PROTOCOL, what=f"{what} implementation ({name})", hint=_SUPPORTED
        )
    return chip


@dataclass(frozen=True, slots=True)
class BoardInfo:
    """What a board's module info says about streaming: the chip, whether it has a gyro, and
    whether each sensor packs 3 samples per packet (a BMI270 always; a BMI160 from revision 1)."""

    chip: Chip
    acc_revision: int
    gyro: bool
    gyro_revision: int | None = None

    @property
    def packed_acc(self) -> bool:
        return self.chip is Chip.BMI270 or self.acc_revision >= PACKED_REVISION_BMI160

    @property
    def packed_gyro(self) -> bool:
        if not self.gyro:
            return False
        return self.chip is Chip.BMI270 or (self.gyro_revision or 0) >= PACKED_REVISION_BMI160


def detect_board(acc: ModuleInfo | bytes, gyro: ModuleInfo | bytes | None = None) -> BoardInfo:
    """Pick the chip from the module-info responses of the accelerometer (and gyro).

    An accelerometer other than a BMI160 / BMI270 (or none) is `UnsupportedFrame`; a gyro that
    names another chip than the accelerometer is `MalformedFrame`; an absent gyro
    (``13 80``) gives an accelerometer-only board."""
    acc_info = acc if isinstance(acc, ModuleInfo) else decode_module_info(acc)
    if acc_info.module != ACC_MODULE:
        raise MalformedFrame(f"module 0x{acc_info.module:02X} info given as the accelerometer's", protocol=PROTOCOL)
    chip = chip_of(acc_info)
    assert acc_info.revision is not None
    if gyro is None:
        return BoardInfo(chip, acc_info.revision, gyro=False)
    gyro_info = gyro if isinstance(gyro, ModuleInfo) else decode_module_info(gyro)
    if gyro_info.module != GYRO_MODULE:
        raise MalformedFrame(f"module 0x{gyro_info.module:02X} info given as the gyro's", protocol=PROTOCOL)
    if not gyro_info.present:
        return BoardInfo(chip, acc_info.revision, gyro=False)
    gyro_chip = chip_of(gyro_info)
    if gyro_chip is not chip:
        raise MalformedFrame(
            f"the accelerometer reports a {chip.name} but the gyro a {gyro_chip.name}", protocol=PROTOCOL
        )
    return BoardInfo(chip, acc_info.revision, gyro=True, gyro_revision=gyro_info.revision)


# ----------------------------------------------------------------------------------------------
# commands
# ----------------------------------------------------------------------------------------------
def acc_config(odr_hz: int, range_g: int, *, chip: Chip | str = Chip.BMI160) -> bytes:
    """Accelerometer config ``03 03 <acc_conf> <acc_range>``.

    BMI160 200 Hz +-8 g = ``03 03 29 08``; BMI270 200 Hz +-8 g = ``03 03 A9 02`` (bit 7, the
    BMI270's filter_perf, set as the SDK does for 12.5 Hz and up)."""
    chip = as_chip(chip)
    ranges = ACC_RANGE_CODE[chip]
    if odr_hz not in ACC_ODR_CODE or range_g not in ranges:
        raise EncodeError(
            f"{chip.name} accelerometer supports {sorted(ACC_ODR_CODE)} Hz and {sorted(ranges)} g, "
            f"not {odr_hz!r} Hz, {range_g!r} g",
            protocol=PROTOCOL,
        )
    conf = BANDWIDTH_NORMAL | ACC_ODR_CODE[odr_hz]
    if chip is Chip.BMI270:
        conf |= BMI270_ACC_FILTER_PERF
    return _cmd(ACC_MODULE, REG_CONFIG, conf, ranges[range_g])


def gyro_config(odr_hz: int, range_dps: int, *, chip: Chip | str = Chip.BMI160) -> bytes:
    """Gyro config ``13 03 <bw|odr> <range>`` (the same bytes on both chips); 200 Hz, 2000 dps
    = ``13 03 29 00``."""
    chip = as_chip(chip)
    if odr_hz not in GYRO_ODR_CODE or range_dps not in GYRO_RANGE_CODE:
        raise EncodeError(
            f"{chip.name} gyro supports {sorted(GYRO_ODR_CODE)} Hz and {sorted(GYRO_RANGE_CODE)} dps, "
            f"not {odr_hz!r} Hz, {range_dps!r} dps",
            protocol=PROTOCOL,
        )
    return _cmd(GYRO_MODULE, REG_CONFIG, BANDWIDTH_NORMAL | GYRO_ODR_CODE[odr_hz], GYRO_RANGE_CODE[range_dps])


@dataclass(frozen=True, slots=True)
class SensorConfig:
    """A decoded config command: ``kind`` "acc" / "gyro", rate in Hz, range in g or deg/s."""

    kind: str
    odr_hz: int
    full_scale: int


def decode_config(data: bytes, *, chip: Chip | str = Chip.BMI160) -> SensorConfig:
    """Read back a config command (``03 03 ..`` / ``13 03 ..``): what an emulator receives and
    what a session learns its scales from."""
    chip = as_chip(chip)
    data = as_bytes(data, PROTOCOL)
    need(data, 4, PROTOCOL, "config command")
    module, reg, conf, rng = data[0], data[1], data[2], data[3]
    if module not in (ACC_MODULE, GYRO_MODULE) or reg != REG_CONFIG:
        raise UnsupportedFrame((module << 8) | reg, protocol=PROTOCOL, what="config command (module/register)")
    if len(data) != 4:
        raise MalformedFrame(f"config command: {len(data) - 4} unexpected trailing bytes", protocol=PROTOCOL)
    kind = "acc" if module == ACC_MODULE else "gyro"
    rates = ACC_ODR_CODE if kind == "acc" else GYRO_ODR_CODE
    ranges = ACC_RANGE_CODE[chip] if kind == "acc" else GYRO_RANGE_CODE
    odr = next((hz for hz, code in rates.items() if code == conf & 0x0F), None)
    full_scale = next((fs for fs, code in ranges.items() if code == rng), None)
    if odr is None or full_scale is None:
        raise MalformedFrame(
            f"{chip.name} {kind} config {conf:02X} {rng:02X}: rate or range code not one this decoder knows",
            protocol=PROTOCOL,
        )
    return SensorConfig(kind, odr, full_scale)


ACC_ENABLE = _cmd(ACC_MODULE, REG_ENABLE, 0x01, 0x00)
ACC_DISABLE = _cmd(ACC_MODULE, REG_ENABLE, 0x00, 0x01)
ACC_START = _cmd(ACC_MODULE, REG_POWER, 0x01)  # [D] the SDKs' source, no test vector
ACC_STOP = _cmd(ACC_MODULE, REG_POWER, 0x00)  # [D]
GYRO_ENABLE = _cmd(GYRO_MODULE, REG_ENABLE, 0x01, 0x00)
GYRO_DISABLE = _cmd(GYRO_MODULE, REG_ENABLE, 0x00, 0x01)
GYRO_START = _cmd(GYRO_MODULE, REG_POWER, 0x01)
GYRO_STOP = _cmd(GYRO_MODULE, REG_POWER, 0x00)


def data_register(kind: str, *, packed: bool = False, chip: Chip | str = Chip.BMI160) -> tuple[int, int]:
    """(module, register) of a data notification of ``kind`` on ``chip``."""
    regs = REGISTERS[as_chip(chip)]
    if kind == "acc":
        return ACC_MODULE, regs.acc_packed if packed else regs.acc
    if kind == "gyro":
        return GYRO_MODULE, regs.gyro_packed if packed else regs.gyro
    raise EncodeError(f"kind must be 'acc' or 'gyro', not {kind!r}", protocol=PROTOCOL)


def subscribe(kind: str, *, packed: bool = False, enable: bool = True, chip: Chip | str = Chip.BMI160) -> bytes:
    """Subscribe to a data register: BMI160 ``03 04 01`` (packed ``03 1C 01``), gyro ``13 05 01``
    (``13 07 01``); BMI270 ``03 04 01`` (``03 05 01``), gyro ``13 04 01`` (``13 05 01``).
    ``enable=False`` gives the unsubscribe command (``... 00``)."""
    module, reg = data_register(kind, packed=packed, chip=chip)
    return _cmd(module, reg, 0x01 if enable else 0x00)


def start_streaming_commands(
    *,
    chip: Chip | str = Chip.BMI160,
    acc_odr_hz: int = 200,
    acc_range_g: int = 8,
    gyro_odr_hz: int | None = None,
    gyro_range_dps: int = 2000,
    packed: bool = True,
    packed_gyro: bool | None = None,
) -> list[bytes]:
    """The command sequence to stream the accelerometer (and the gyro if ``gyro_odr_hz``).

    Order as the SDKs: configure, subscribe, enable, start. ``packed``: 3 samples per packet
    (check `BoardInfo.packed_acc` first); ``packed_gyro`` None = as ``packed``."""
    chip = as_chip(chip)
    cmds = [
        acc_config(acc_odr_hz, acc_range_g, chip=chip),
        subscribe("acc", packed=packed, chip=chip),
        ACC_ENABLE,
        ACC_START,
    ]
    if gyro_odr_hz is not None:
        pg = packed if packed_gyro is None else packed_gyro
        cmds += [
            gyro_config(gyro_odr_hz, gyro_range_dps, chip=chip),
            subscribe("gyro", packed=pg, chip=chip),
            GYRO_ENABLE,
            GYRO_START,
        ]
    return cmds


def stop_streaming_commands(*, chip: Chip | str = Chip.BMI160, gyro: bool = False) -> list[bytes]:
    """Stop, disable and unsubscribe (packed and single) each sensor."""
    chip = as_chip(chip)
    cmds = [
        ACC_STOP,
        ACC_DISABLE,
        subscribe("acc", packed=True, enable=False, chip=chip),
        subscribe("acc", enable=False, chip=chip),
    ]
    if gyro:
        cmds += [
            GYRO_STOP,
            GYRO_DISABLE,
            subscribe("gyro", packed=True, enable=False, chip=chip),
            subscribe("gyro", enable=False, chip=chip),
        ]
    return cmds


# ----------------------------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------------------------
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


def _layout(chip: Chip) -> dict[tuple[int, int], tuple[str, bool]]:
    regs = REGISTERS[chip]
    return {
        (ACC_MODULE, regs.acc): ("acc", False),
        (ACC_MODULE, regs.acc_packed): ("acc", True),
        (GYRO_MODULE, regs.gyro): ("gyro", False),
        (GYRO_MODULE, regs.gyro_packed): ("gyro", True),
    }


_DATA_LAYOUT = {chip: _layout(chip) for chip in Chip}


def decode_notification(data: bytes, *, chip: Chip | str = Chip.BMI160) -> MetaWearData:
    """Decode an acc/gyro data notification of ``chip``: BMI160 ``03 04``, ``03 1C``,
    ``13 05``, ``13 07``; BMI270 ``03 04``, ``03 05``, ``13 04``, ``13 05``."""
    chip = as_chip(chip)
    data = as_bytes(data, PROTOCOL)
    need(data, 2, PROTOCOL, "module and register")
    layout = _DATA_LAYOUT[chip].get((data[0], data[1]))
    if layout is None:
        raise UnsupportedFrame(
            (data[0] << 8) | data[1],
            protocol=PROTOCOL,
            what=f"{chip.name} module/register",
            hint="only accelerometer (0x03) and gyro (0x13) data are decoded"
            + ("; a module-info response is not data" if is_module_info(data) else ""),
        )
    kind, packed = layout
    length = 2 + SAMPLE_BYTES * (PACKED_SAMPLES if packed else 1)
    if len(data) < length:
        raise TruncatedFrame(PROTOCOL, f"{chip.name} {kind} {'packed ' if packed else ''}data", length, len(data))
    if len(data) > length:
        raise MalformedFrame(
            f"{chip.name} {kind} data: {len(data) - length} unexpected trailing bytes", protocol=PROTOCOL
        )
    raw = np.frombuffer(data, "<i2", offset=2).reshape(-1, 3).astype(np.int64)
    return MetaWearData(kind=kind, packed=packed, raw=raw)


def encode_notification(
    kind: str, raw: np.ndarray | Sequence, *, packed: bool = False, chip: Chip | str = Chip.BMI160
) -> bytes:
    """Build a data notification (for emulators and tests)."""
    module, reg = data_register(kind, packed=packed, chip=chip)
    arr = np.asarray(raw, dtype=np.int64).reshape(-1, 3)
    if arr.shape[0] != (PACKED_SAMPLES if packed else 1):
        raise EncodeError(
            f"{'packed' if packed else 'single'} data holds {PACKED_SAMPLES if packed else 1} samples",
            protocol=PROTOCOL,
        )
    if arr.min() < -32768 or arr.max() > 32767:
        raise EncodeError("samples must fit int16", protocol=PROTOCOL)
    return bytes((module, reg)) + arr.astype("<i2").tobytes()


@functools.lru_cache(maxsize=8)
def _counts(n: int) -> np.ndarray:
    """``arange(n)`` as float64, cached per packet size (read-only: never change it in place)."""
    counts = np.arange(n, dtype=np.float64)
    counts.setflags(write=False)
    return counts


@dataclass
class MetaWearStream:
    """Times and scales acc/gyro notifications of one board by counting samples at the ODR.

    ``time_s`` of the k-th sample of a kind is ``k / odr``: relative, with no way to see
    lost packets (the packets carry no counter [U]). ``chip`` picks the data registers; a
    module-info response (`on_module_info`) or a config command the host wrote
    (`on_command`) updates the chip or the rates and ranges, each only after the whole packet
    decoded. Check `ProtocolError` per packet.
    """

    acc_odr_hz: float = 200.0
    acc_range_g: int = 8
    gyro_odr_hz: float = 200.0
    gyro_range_dps: int = 2000
    chip: Chip | str = Chip.BMI160
    _count: dict[str, int] = field(default_factory=lambda: {"acc": 0, "gyro": 0}, repr=False)
    _base_s: dict[str, float] = field(default_factory=lambda: {"acc": 0.0, "gyro": 0.0}, repr=False)

    def __post_init__(self) -> None:
        self.chip = as_chip(self.chip)
        if self.acc_range_g not in ACC_LSB_PER_G:
            raise ProtocolError(f"acc range must be one of {sorted(ACC_LSB_PER_G)} g", protocol=PROTOCOL)
        if self.gyro_range_dps not in GYRO_LSB_PER_DPS:
            raise ProtocolError(f"gyro range must be one of {sorted(GYRO_LSB_PER_DPS)} dps", protocol=PROTOCOL)
        if not (self.acc_odr_hz > 0 and self.gyro_odr_hz > 0):
            raise ProtocolError("output data rates must be positive", protocol=PROTOCOL)

    def reset(self) -> None:
        self._count = {"acc": 0, "gyro": 0}
        self._base_s = {"acc": 0.0, "gyro": 0.0}

    def on_module_info(self, data: bytes) -> ModuleInfo:
        """A module-info response of the accelerometer (sets the chip) or gyro (must agree
        with it; an absent gyro is accepted). Other modules are returned untouched."""
        info = decode_module_info(data)
        if info.module == ACC_MODULE:
            self.chip = chip_of(info)
        elif info.module == GYRO_MODULE and info.present:
            gyro_chip = chip_of(info)
            if gyro_chip is not self.chip:
                raise MalformedFrame(
                    f"the gyro reports a {gyro_chip.name}, the accelerometer a {Chip(self.chip).name}",
                    protocol=PROTOCOL,
                )
        return info

    def on_command(self, data: bytes) -> SensorConfig | None:
        """A command the host wrote: a config command sets that sensor's rate and range (the
        scale of what follows); other commands are ignored (None)."""
        data = as_bytes(data, PROTOCOL)
        if len(data) < 2 or data[0] not in (ACC_MODULE, GYRO_MODULE) or data[1] != REG_CONFIG:
            return None
        cfg = decode_config(data, chip=self.chip)
        # samples counted so far keep their times: the new rate counts on from there
        old_rate = self.acc_odr_hz if cfg.kind == "acc" else self.gyro_odr_hz
        self._base_s[cfg.kind] += self._count[cfg.kind] / old_rate
        self._count[cfg.kind] = 0
        if cfg.kind == "acc":
            self.acc_odr_hz, self.acc_range_g = float(cfg.odr_hz), cfg.full_scale
        else:
            self.gyro_odr_hz, self.gyro_range_dps = float(cfg.odr_hz), cfg.full_scale
        return cfg

    def decode(self, data: bytes) -> ImuSamples:
        msg = decode_notification(data, chip=self.chip)  # raises before any state changes
        start = self._count[msg.kind]
        n = len(msg)
        rate = self.acc_odr_hz if msg.kind == "acc" else self.gyro_odr_hz
        time_s = self._base_s[msg.kind] + (start + _counts(n)) / rate
        self._count[msg.kind] = start + n
        if msg.kind == "acc":
            return ImuSamples(time_s=time_s, acc_mps2=msg.si(self.acc_range_g), source="metawear-acc")
        return ImuSamples(time_s=time_s, gyr_dps=msg.si(self.gyro_range_dps), source="metawear-gyro")


def split_command(data: bytes) -> tuple[int, int, bytes]:
    """Split a command ``[module][register][data...]`` (what a device emulator receives)."""
    data = as_bytes(data, PROTOCOL)
    need(data, 2, PROTOCOL, "command module and register")
    return data[0], data[1], data[2:]
