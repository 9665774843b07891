"""Emulated BLE sensors as Bumble GATT servers on an `EmulatedAir`.

Devices:

- `H10Emulator`: Polar H10 (PMD: control point with feature read, settings / start / stop
  answers byte-exact with the reference vectors G1/G5/G7, ACC at 25/50/100/200 Hz, ±2/4/8 g,
  raw frames 0x01 by default or delta-compressed 0x80/0x81 frames; Battery service).
- `VeritySenseEmulator`: Polar Verity Sense (PMD ACC + GYRO, 52 Hz, delta-compressed frames:
  0x81 without FACTOR by default as on current firmware, or 0x80 with FACTOR; SDK mode widens
  the rates to 26..416 Hz).
- `RscPodEmulator`: a Running Speed and Cadence foot pod (0x1814: measurement notifications,
  feature, sensor location); streams while notifications are enabled, 1 Hz by default.
- `OpenpodEmulator`: an openpod pod per ``openpod/SPEC.md`` (capabilities, START / STOP /
  CONFIGURE / GET_CONFIG / SET_TIME with the spec's validation order and status codes, IMU
  packets with seq + CRC, 100 ms flush rule, device-initiated stop ``82 00 0C``).
- `MetaWearEmulator`: an MbientLab MetaMotion R (BMI160) or MetaMotion S (BMI270, ``chip=
  "bmi270"``): module-info answers naming the chip, that chip's config / subscribe / enable /
  start commands, int16 acc and gyro packets (packed 3 samples or single); no timestamps.

Every device is driven by a `Motion` (device time in s -> specific force in m/s^2 and angular
rate in deg/s): `synthetic_running`, `motion_from_block` or `motion_from_csv` (the project's
CSV recording format). Device time runs ``time_scale`` times faster than the wall clock, so a
test can stream ten device-seconds in one second.

Fault injection (`Faults`), in stream time (device seconds since the first START):
``drop_link_at_s`` (HCI disconnection 0x08 "connection timeout" as a real out-of-range drop;
the device re-advertises ``return_after_s`` wall seconds later), ``stop_at_s`` (the device
stops streaming on its own, announced on the control point or silently), ``garbage_every`` /
``garbage_at_s`` (extra undecodable packets: truncated, unknown type, bad CRC),
``loss_every`` / ``loss_probability`` (packets the device built but the host never gets:
device counters and clocks advance, so the gap is visible in the data). The same faults can be
triggered directly: `drop_link()`, `stop_streaming()`, `send_garbage()`.

Each device logs what it sent (`sent`: `SentPacket` with the notify time, the payload and the
raw integer samples), so tests compare decoded data with the truth and measure latency.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
import random
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from bumble import gatt
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection, Device

from firmware_interface.devices.spec import BATTERY_LEVEL_UUID, BATTERY_SERVICE_UUID, HEART_RATE_SERVICE_UUID
from firmware_interface.openpod import codec as op
from firmware_interface.protocols import metawear as mw
from firmware_interface.protocols import polar_pmd as pmd
from firmware_interface.protocols import rsc
from firmware_interface.protocols.common import STANDARD_GRAVITY_MPS2
from gait.core.records import SampleBlock

from .backend import HCI_CONNECTION_TIMEOUT, EmulatedAir, current_air

logger = logging.getLogger(__name__)

MG_PER_MPS2 = 1000.0 / STANDARD_GRAVITY_MPS2
POLAR_MAX_FRAME = 232  # Polar sends a frame when an MTU-sized buffer (<= 232 bytes) fills
HR_MEASUREMENT_UUID = "00002a37-0000-1000-8000-00805f9b34fb"
SENSOR_LOCATION_TOP_OF_SHOE = 1

Motion = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray | None]]
"""Device time (s, shape (n,)) -> (acc_mps2 (n, 3), gyr_dps (n, 3) or None), SENSOR frame."""


# =============================================================================================
# Motion sources
# =============================================================================================


def synthetic_running(
    cadence_spm: float = 170.0, placement: str = "chest", *, gyro: bool = True, speed_mps: float = 3.3
) -> Motion:
    """A deterministic running-like signal: one impact and one bounce per step.

    Axes: z points up when the runner stands (+9.81 at rest), x forward. Trunk placements
    bounce about ±1 g with a sharp impact; the foot swings (large pitch rate, ±8 g impacts).
    """
    step_hz = cadence_spm / 60.0
    foot = placement == "foot"
    amp = 2.5 if foot else 1.0
    g = STANDARD_GRAVITY_MPS2

    def motion(t: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        t = np.asarray(t, dtype=np.float64)
        phase = (t * step_hz) % 1.0
        impact = np.exp(-(((phase - 0.05) / 0.03) ** 2)) * (6.0 if foot else 2.0)
        bounce = np.sin(2 * np.pi * phase) * amp
        acc = np.empty((t.shape[0], 3))
        acc[:, 0] = 0.4 * g * np.sin(2 * np.pi * (phase + 0.25)) * (1.0 if foot else 0.3)
        acc[:, 1] = 0.1 * g * np.sin(np.pi * phase)
        acc[:, 2] = g * (1.0 + 0.35 * bounce + impact)
        if not gyro:
            return acc, None
        gyr = np.empty_like(acc)
        gyr[:, 0] = 20.0 * np.sin(np.pi * phase)
        gyr[:, 1] = (600.0 if foot else 30.0) * np.sin(2 * np.pi * phase)
        gyr[:, 2] = 10.0 * np.cos(2 * np.pi * phase)
        return acc, gyr

    motion.cadence_spm = cadence_spm  # type: ignore[attr-defined]
    motion.speed_mps = speed_mps  # type: ignore[attr-defined]
    return motion


def motion_from_block(block: SampleBlock, *, loop: bool = True) -> Motion:
    """Replay a recording: linear interpolation at the device's sample times (looped)."""
    t_rec = np.asarray(block.time_s, dtype=np.float64) - float(block.time_s[0])
    span = float(t_rec[-1]) + (float(t_rec[-1] - t_rec[-2]) if len(t_rec) > 1 else 0.0)
    acc_rec = np.asarray(block.acc_mps2, dtype=np.float64)
    gyr_rec = None if block.gyr_dps is None else np.asarray(block.gyr_dps, dtype=np.float64)

    def interp(t: np.ndarray, values: np.ndarray) -> np.ndarray:
        return np.stack([np.interp(t, t_rec, values[:, i]) for i in range(3)], axis=1)

    def motion(t: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        t = np.asarray(t, dtype=np.float64)
        t = np.mod(t, span) if loop and span > 0 else np.clip(t, 0.0, t_rec[-1])
        return interp(t, acc_rec), None if gyr_rec is None else interp(t, gyr_rec)

    return motion


def motion_from_csv(path: str | Path, *, loop: bool = True) -> Motion:
    """Replay a CSV recording (``time_s, acc_*_mps2[, gyr_*_dps]``, firmware_interface.files.recording)."""
    from firmware_interface.files.recording import read_recording

    return motion_from_block(read_recording(path).block(), loop=loop)


# =============================================================================================
# Faults and the sent log
# =============================================================================================


@dataclass
class Faults:
    """What goes wrong, in stream time (device seconds since the first START)."""

    drop_link_at_s: float | None = None
    return_after_s: float = 0.3  # wall seconds until the device advertises again (None: never)
    stop_at_s: float | None = None
    announce_stop: bool = True  # tell the host on the control point (PMD 01 tt, openpod 82 00 0C)
    garbage_every: int = 0  # after every Nth data packet send one undecodable packet too
    garbage_at_s: tuple[float, ...] = ()
    loss_every: int = 0  # every Nth data packet is lost on the air
    loss_probability: float = 0.0
    seed: int = 0


@dataclass
class SentPacket:
    """One data packet the device built (``lost``: never reached the air; ``garbage``: on purpose)."""

    stream: str  # "acc", "gyro", "imu", "rsc", "garbage"
    index: int  # packet number in this stream since START
    notify_ns: int  # time.monotonic_ns() just before the notification went to the stack
    payload: bytes
    first_sample: int = 0  # sample index since START
    raw: np.ndarray | None = None  # (n, 3) integer samples as encoded (native units of the protocol)
    raw_gyro: np.ndarray | None = None
    time_ns: np.ndarray | None = None  # device time of each sample (protocol clock)
    lost: bool = False
    garbage: bool = False


def _uuid(value: str) -> UUID:
    return UUID(value)


def _adv(name: str, uuids16: Sequence[int] = (), uuids128: Sequence[str] = ()) -> bytes:
    fields: list[tuple[int, bytes]] = [(AdvertisingData.FLAGS, bytes([0x06]))]
    if uuids16:
        fields.append(
            (
                AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
                b"".join(struct.pack("<H", u) for u in uuids16),
            )
        )
    for u in uuids128:
        fields.append((AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS, UUID(u).to_bytes(force_128=True)))
    fields.append((AdvertisingData.COMPLETE_LOCAL_NAME, name.encode()))
    return bytes(AdvertisingData(fields))


# =============================================================================================
# Base peripheral
# =============================================================================================


class EmulatedPeripheral:
    """Common machinery: Bumble device, advertising, battery, clock, faults, sent log."""

    kind = "generic"  # the canonical kind it emulates (`firmware_interface.devices.registry`)
    default_name = "Emulated"
    scan_rssi = -58  # the signal strength it shows in `gait scan --emulated`
    streams_gyro = False  # it has a gyroscope stream (turned off when the motion has no gyro)

    def __init__(
        self,
        name: str | None = None,
        *,
        address: str | None = None,
        motion: Motion | None = None,
        faults: Faults | None = None,
        time_scale: float = 1.0,
        battery_pct: int = 87,
        rssi: int = -58,
        advertising_interval_ms: float = 10.0,
    ) -> None:
        self.name = name or self.default_name
        self.address = address
        self.motion = motion or synthetic_running()
        self.faults = faults or Faults()
        self.time_scale = float(time_scale)
        self.battery_pct = int(battery_pct)
        self.rssi = int(rssi)
        self.advertising_interval_ms = float(advertising_interval_ms)
        self.sent: list[SentPacket] = []
        self.events: list[tuple[float, str]] = []  # (stream time s, what happened)
        self.connections = 0
        self.drops_ns: list[int] = []  # time.monotonic_ns() of each link drop (packets in flight then may be lost)
        self.air: EmulatedAir | None = None
        self.device: Device | None = None
        self.connection: Connection | None = None
        self._boot_wall = 0.0
        self._run_origin_s: float | None = None  # device time of the first START
        self._tasks: set[asyncio.Task] = set()
        self._fault_task: asyncio.Task | None = None
        self._readvertise: asyncio.TimerHandle | None = None
        self._rng = random.Random(self.faults.seed)
        self._detached = False
        self._battery_char: gatt.Characteristic | None = None

    # -- what a source needs to know ---------------------------------------------------------
    @classmethod
    def unique_name(cls, index: int, side: str | None, used: set[str]) -> str:
        """An advertised name of this kind not in ``used`` (the ``index``-th device of a
        source): `default_name`, then its trailing hex number counted up."""
        head, _, tail = cls.default_name.rpartition(" ")
        for n in range(64):
            name = cls.default_name if n == 0 else f"{head} {int(tail, 16) + n:0{len(tail)}X}"
            if name not in used:
                return name
        raise ValueError("too many emulated devices of one kind")

    def wear(self, placement: str | None, side: str | None) -> None:
        """Where the device is worn (before `attach`): nothing to do unless the device says it."""

    def use_settings(self, settings: dict[str, Any]) -> None:
        """The ``--device`` keys that describe the device itself (before `attach`), e.g. a
        MetaWear's ``chip``: none by default."""

    # -- lifetime ----------------------------------------------------------------------------
    async def attach(self, air: EmulatedAir | None = None) -> EmulatedPeripheral:
        """Power on, publish the GATT database and start advertising on ``air``."""
        self.air = air or current_air()
        self.address = self.address or self.air.next_address()
        self.device = self.air.new_device(self.name, self.address)
        self.device.add_services(self._services() + [self._battery_service()])
        self.device.on(Device.EVENT_CONNECTION, self._on_connection)
        await self.device.power_on()
        self._boot_wall = asyncio.get_running_loop().time()
        self.air.peripherals.append(self)
        await self._advertise()
        return self

    async def detach(self) -> None:
        self._detached = True
        if self._readvertise is not None:
            self._readvertise.cancel()
        self._stop_all_streams()
        if self._fault_task is not None:
            self._fault_task.cancel()
        if self.device is not None:
            with contextlib.suppress(Exception):
                await self.device.stop_advertising()
            if self.connection is not None:
                with contextlib.suppress(Exception):
                    await self.connection.disconnect(0x13)
        if self.air is not None and self in self.air.peripherals:
            self.air.peripherals.remove(self)
            if self.device is not None:
                self.air.remove_device(self.device)

    async def _advertise(self) -> None:
        assert self.device is not None
        if self._detached or self.connection is not None:
            return
        await self.device.start_advertising(
            advertising_data=self._advertising_data(),
            advertising_interval_min=self.advertising_interval_ms,
            advertising_interval_max=self.advertising_interval_ms,
        )

    # -- overridables ------------------------------------------------------------------------
    def _services(self) -> list[gatt.Service]:
        return []

    def _advertising_data(self) -> bytes:
        return _adv(self.name)

    def _on_link_up(self) -> None:
        pass

    def _on_link_down(self) -> None:
        """The device side of a disconnection: every stream stops (all the real devices do)."""
        self._stop_all_streams()

    def _stop_all_streams(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        self._tasks.clear()

    async def _announce_stop(self) -> None:
        """Tell the host that the device stopped on its own (protocol-specific)."""

    # -- clock -------------------------------------------------------------------------------
    def device_time_s(self) -> float:
        """Seconds of device time since power-on."""
        return (asyncio.get_running_loop().time() - self._boot_wall) * self.time_scale

    def stream_time_s(self) -> float:
        return self.device_time_s() - (self._run_origin_s or 0.0)

    async def _sleep_until(self, device_s: float) -> None:
        delay = (device_s - self.device_time_s()) / self.time_scale
        if delay > 0:
            await asyncio.sleep(delay)

    def _log(self, what: str) -> None:
        self.events.append((round(self.stream_time_s(), 6), what))
        logger.debug("%s: %s", self.name, what)

    # -- battery -----------------------------------------------------------------------------
    def _battery_service(self) -> gatt.Service:
        self._battery_char = gatt.Characteristic(
            _uuid(BATTERY_LEVEL_UUID),
            gatt.Characteristic.Properties.READ | gatt.Characteristic.Properties.NOTIFY,
            gatt.Characteristic.READABLE,
            gatt.CharacteristicValue(read=lambda _c: bytes([max(0, min(100, self.battery_pct))])),
        )
        return gatt.Service(_uuid(BATTERY_SERVICE_UUID), [self._battery_char])

    async def set_battery(self, pct: int) -> None:
        self.battery_pct = int(pct)
        if self.device is not None and self.connection is not None and self._battery_char is not None:
            await self.device.notify_subscribers(self._battery_char, bytes([self.battery_pct]))

    # -- connection events -------------------------------------------------------------------
    def _on_connection(self, connection: Connection) -> None:
        self.connection = connection
        self.connections += 1
        connection.on(Connection.EVENT_DISCONNECTION, self._on_disconnection)
        self._log("connected")
        self._on_link_up()

    def _on_disconnection(self, reason: int) -> None:
        self.connection = None
        self._log(f"disconnected (0x{reason:02X})")
        self._on_link_down()
        if not self._detached and self.faults.return_after_s is not None:
            loop = asyncio.get_running_loop()
            self._readvertise = loop.call_later(
                max(0.0, self.faults.return_after_s), lambda: self._spawn(self._advertise(), stream=False)
            )

    def _spawn(self, coro: Any, *, stream: bool = True) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        if stream:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            _background.add(task)
            task.add_done_callback(_background.discard)
        return task

    @property
    def mtu(self) -> int:
        return self.connection.att_mtu if self.connection is not None else 23

    # -- faults ------------------------------------------------------------------------------
    def _mark_run_start(self) -> None:
        if self._run_origin_s is None:
            self._run_origin_s = self.device_time_s()
            self._fault_task = asyncio.get_running_loop().create_task(self._fault_schedule())

    async def _fault_schedule(self) -> None:
        f = self.faults
        plan: list[tuple[float, str]] = []
        if f.drop_link_at_s is not None:
            plan.append((f.drop_link_at_s, "drop"))
        if f.stop_at_s is not None:
            plan.append((f.stop_at_s, "stop"))
        for at, what in sorted(plan):
            await self._sleep_until((self._run_origin_s or 0.0) + at)
            if what == "drop":
                await self.drop_link()
            else:
                await self.stop_streaming(announce=f.announce_stop)

    async def drop_link(self, return_after_s: float | None = None) -> None:
        """The radio link breaks now (HCI reason 0x08, as when the sensor goes out of range)."""
        if return_after_s is not None:
            self.faults.return_after_s = return_after_s
        if self.connection is not None:
            self._log("fault: link dropped")
            self.drops_ns.append(time.monotonic_ns())
            with contextlib.suppress(Exception):
                await self.connection.disconnect(HCI_CONNECTION_TIMEOUT)

    async def stop_streaming(self, announce: bool = True) -> None:
        """The device stops its streams on its own (low battery, sensor failure, firmware)."""
        self._log("fault: streaming stopped by the device")
        self._stop_all_streams()
        if announce and self.connection is not None:
            await self._announce_stop()

    def _garbage_due(self, index: int, t0_s: float, t1_s: float) -> bool:
        f = self.faults
        if f.garbage_every and (index + 1) % f.garbage_every == 0:
            return True
        return any(t0_s <= at < t1_s for at in f.garbage_at_s)

    def _lost(self, index: int) -> bool:
        f = self.faults
        if f.loss_every and (index + 1) % f.loss_every == 0:
            return True
        return f.loss_probability > 0 and self._rng.random() < f.loss_probability

    async def send_garbage(self, characteristic: gatt.Characteristic, payload: bytes) -> None:
        await self._notify(characteristic, SentPacket("garbage", -1, 0, payload, garbage=True))

    async def _notify(self, characteristic: gatt.Characteristic, packet: SentPacket) -> None:
        self.sent.append(packet)
        if self.connection is None or self.device is None:
            packet.lost = True  # no link: the packet never reached the air
        if packet.lost:
            return
        packet.notify_ns = time.monotonic_ns()
        await self.device.notify_subscriber(self.connection, characteristic, packet.payload)

    # -- sample streaming engine -------------------------------------------------------------
    async def _stream_loop(
        self,
        name: str,
        rate_hz: float,
        samples_per_packet: Callable[[int], int],
        build: Callable[[int, np.ndarray, np.ndarray, np.ndarray | None], SentPacket],
        characteristic: gatt.Characteristic,
        garbage: Callable[[bytes], bytes],
    ) -> None:
        """Emit packets as their last sample is taken; ``build(k0, t_s, acc, gyr)`` encodes one."""
        # one sample grid per device (k / rate since power-on): streams of one IMU sample together
        k0 = math.ceil(self.device_time_s() * rate_hz)
        k = 0
        index = 0
        period = 1.0 / rate_hz
        while True:
            n = max(1, samples_per_packet(k))
            t_s = (k0 + k + np.arange(n)) / rate_hz
            await self._sleep_until(float(t_s[-1]))
            acc, gyr = self.motion(t_s)
            packet = build(k, t_s, acc, gyr)
            n = packet.raw.shape[0] if packet.raw is not None else n  # a builder may take fewer
            packet.index = index
            packet.first_sample = k
            packet.lost = self._lost(index)
            await self._notify(characteristic, packet)
            run_t0 = t_s[0] - (self._run_origin_s or 0.0)
            run_t1 = run_t0 + n * period
            if self._garbage_due(index, run_t0, run_t1):
                await self._notify(
                    characteristic, SentPacket("garbage", index, 0, garbage(packet.payload), garbage=True)
                )
            k += n
            index += 1


_background: set[asyncio.Task] = set()


# =============================================================================================
# Polar PMD devices
# =============================================================================================


@dataclass
class PmdMeasurementSpec:
    """What one PMD measurement of an emulated device offers and how it is framed."""

    rates_hz: tuple[int, ...]
    resolutions: tuple[int, ...] = (16,)
    ranges: tuple[int, ...] = ()
    channels: int | None = None  # announced in the settings answer when set (Verity does)
    frame_type: int = pmd.RAW_TYPE1
    factor: float | None = None  # sent in the START answer (compressed 0x80 frames)
    sdk_rates_hz: tuple[int, ...] = ()
    sdk_ranges: tuple[int, ...] = ()
    default_rate_hz: int | None = None
    default_range: int | None = None


@dataclass
class _PmdRun:
    rate_hz: int
    range: int
    factor: float


class PolarPmdEmulator(EmulatedPeripheral):
    """A Polar sensor with the PMD service (control point + data) and the Heart Rate service."""

    start_reserved = b""  # bytes appended to a successful START answer (H10: b"\x01")
    measurements: dict[int, PmdMeasurementSpec] = {}
    max_samples_per_frame: int | None = None

    def __init__(self, name: str | None = None, **kwargs: Any) -> None:
        self.frame_types: dict[int, int] = {}
        self.clock0_ns = pmd.H10_UNSET_CLOCK_NS + 3_600_000_000_000  # device clock at power-on
        self.sdk_mode = False
        self.running: dict[int, _PmdRun] = {}
        self.cp_log: list[tuple[bytes, bytes]] = []  # (request, response)
        self._pmd_tasks: dict[int, asyncio.Task] = {}
        super().__init__(name, **kwargs)
        self.measurements = {k: PmdMeasurementSpec(**vars(v)) for k, v in type(self).measurements.items()}

    # -- GATT --------------------------------------------------------------------------------
    def _services(self) -> list[gatt.Service]:
        props = gatt.Characteristic.Properties
        self.cp = gatt.Characteristic(
            _uuid(pmd.PMD_CONTROL_POINT_UUID),
            props.READ | props.WRITE | props.INDICATE,
            gatt.Characteristic.READABLE | gatt.Characteristic.WRITEABLE,
            gatt.CharacteristicValue(read=lambda _c: self.features(), write=self._on_cp_write),
        )
        self.data = gatt.Characteristic(_uuid(pmd.PMD_DATA_UUID), props.NOTIFY, gatt.Characteristic.READABLE, b"")
        hr = gatt.Characteristic(_uuid(HR_MEASUREMENT_UUID), props.NOTIFY, gatt.Characteristic.READABLE, b"")
        return [
            gatt.Service(_uuid(HEART_RATE_SERVICE_UUID), [hr]),
            gatt.Service(_uuid(pmd.PMD_SERVICE_UUID), [self.cp, self.data]),
        ]

    def _advertising_data(self) -> bytes:
        return _adv(self.name, uuids16=(0x180D,))

    def features(self) -> bytes:
        types = {pmd.MeasurementType(code) for code in self.measurements}
        return pmd.encode_features(types | self.extra_features())

    def extra_features(self) -> set[pmd.MeasurementType]:
        return set()

    # -- control point -----------------------------------------------------------------------
    def _on_cp_write(self, connection: Connection, value: bytes) -> None:
        # the ATT write response goes out first; the answer follows as an indication
        self._spawn(self._answer_cp(connection, bytes(value)), stream=False)

    async def _indicate_cp(self, connection: Connection, payload: bytes) -> None:
        if self.device is not None and self.connection is connection:
            with contextlib.suppress(Exception):
                await self.device.indicate_subscriber(connection, self.cp, payload)

    async def _answer_cp(self, connection: Connection, request: bytes) -> None:
        op_code = request[0] if request else 0
        mtype = request[1] & 0x7F if len(request) > 1 else 0
        try:
            req = pmd.decode_request(request)
        except pmd.UnsupportedFrame:
            answer = pmd.encode_response(op_code, mtype, pmd.PmdStatus.INVALID_OP_CODE)
        except pmd.ProtocolError:
            answer = pmd.encode_response(
                op_code, mtype, pmd.PmdStatus.INVALID_LENGTH if len(request) < 2 else pmd.PmdStatus.INVALID_PARAMETER
            )
        else:
            answer, start = self._answer(req)
            self.cp_log.append((request, answer))
            if start is not None:
                self.running[start[0]] = start[1]  # running as soon as it answered
            await self._indicate_cp(connection, answer)
            if start is not None:
                self._start_measurement(*start)
            return
        self.cp_log.append((request, answer))
        await self._indicate_cp(connection, answer)

    def _spec(self, code: int) -> PmdMeasurementSpec | None:
        return self.measurements.get(code)

    def _rates(self, spec: PmdMeasurementSpec) -> tuple[int, ...]:
        return spec.sdk_rates_hz if self.sdk_mode and spec.sdk_rates_hz else spec.rates_hz

    def _ranges(self, spec: PmdMeasurementSpec) -> tuple[int, ...]:
        return spec.sdk_ranges if self.sdk_mode and spec.sdk_ranges else spec.ranges

    def _answer(self, req: pmd.PmdRequest) -> tuple[bytes, tuple[int, _PmdRun] | None]:
        S = pmd.PmdStatus
        code = int(req.measurement)
        op_ = int(req.op)
        if code == pmd.MeasurementType.SDK_MODE and self.sdk_capable():
            if req.op is pmd.Opcode.REQUEST_MEASUREMENT_START:
                status = S.ALREADY_IN_STATE if self.sdk_mode else S.SUCCESS
                self.sdk_mode = True
                return pmd.encode_response(op_, code, status), None
            if req.op is pmd.Opcode.STOP_MEASUREMENT:
                status = S.SUCCESS if self.sdk_mode else S.ALREADY_IN_STATE
                self.sdk_mode = False
                return pmd.encode_response(op_, code, status), None
        spec = self._spec(code)
        if req.op in (pmd.Opcode.GET_MEASUREMENT_SETTINGS, pmd.Opcode.GET_SDK_MODE_MEASUREMENT_SETTINGS):
            if spec is None:
                return pmd.encode_response(op_, code, S.NOT_SUPPORTED), None
            sdk = req.op is pmd.Opcode.GET_SDK_MODE_MEASUREMENT_SETTINGS
            settings = pmd.PmdSettings(
                sample_rate_hz=spec.sdk_rates_hz if sdk and spec.sdk_rates_hz else self._rates(spec),
                resolution_bits=spec.resolutions,
                range=spec.sdk_ranges if sdk and spec.sdk_ranges else self._ranges(spec),
                channels=(spec.channels,) if spec.channels else (),
            )
            return pmd.encode_response(op_, code, params=pmd.encode_settings(settings, request=False)), None
        if req.op is pmd.Opcode.REQUEST_MEASUREMENT_START:
            if spec is None:
                return pmd.encode_response(op_, code, S.NOT_SUPPORTED), None
            if code in self.running:
                return pmd.encode_response(op_, code, S.ALREADY_IN_STATE), None
            settings = req.settings
            rate = (
                settings.sample_rate_hz[0]
                if settings.sample_rate_hz
                else (spec.default_rate_hz or self._rates(spec)[0])
            )
            if rate not in self._rates(spec):
                return pmd.encode_response(op_, code, S.INVALID_SAMPLE_RATE), None
            if settings.resolution_bits and settings.resolution_bits[0] not in spec.resolutions:
                return pmd.encode_response(op_, code, S.INVALID_RESOLUTION), None
            rng = settings.range[0] if settings.range else (spec.default_range or self._ranges(spec)[-1])
            if self._ranges(spec) and rng not in self._ranges(spec):
                return pmd.encode_response(op_, code, S.INVALID_RANGE), None
            if settings.channels and spec.channels and settings.channels[0] != spec.channels:
                return pmd.encode_response(op_, code, S.INVALID_NUMBER_OF_CHANNELS), None
            if self.mtu < 23 + 10:
                return pmd.encode_response(op_, code, S.INVALID_MTU), None
            params = self.start_reserved
            factor = 1.0
            if spec.factor is not None:
                factor = float(np.float32(spec.factor))
                params = pmd.encode_settings({pmd.SettingType.FACTOR: spec.factor}, request=False)
            return pmd.encode_response(op_, code, params=params), (code, _PmdRun(rate, rng, factor))
        if req.op is pmd.Opcode.STOP_MEASUREMENT:
            if spec is None:
                return pmd.encode_response(op_, code, S.NOT_SUPPORTED), None
            if code not in self.running:
                return pmd.encode_response(op_, code, S.ALREADY_IN_STATE), None
            self._stop_measurement(code)
            return pmd.encode_response(op_, code), None
        return pmd.encode_response(op_, code, S.NOT_SUPPORTED), None

    def sdk_capable(self) -> bool:
        return any(s.sdk_rates_hz for s in self.measurements.values())

    # -- streams -----------------------------------------------------------------------------
    def _start_measurement(self, code: int, run: _PmdRun) -> None:
        self._mark_run_start()
        self.running[code] = run
        spec = self.measurements[code]
        name = pmd.measurement_name(code).lower()
        self._log(f"START {name} {run.rate_hz} Hz")
        task = self._spawn(
            self._stream_loop(
                name,
                run.rate_hz,
                lambda _k, spec=spec: self._frame_capacity(spec),
                lambda k, t, acc, gyr, code=code, run=run, spec=spec: self._build_frame(code, run, spec, t, acc, gyr),
                self.data,
                self._garbage_frame,
            )
        )
        self._pmd_tasks[code] = task

        def done(_t: asyncio.Task, code: int = code) -> None:
            if self._pmd_tasks.get(code) is task:
                self.running.pop(code, None)
                self._pmd_tasks.pop(code, None)

        task.add_done_callback(done)

    def _stop_measurement(self, code: int) -> None:
        self.running.pop(code, None)
        task = self._pmd_tasks.pop(code, None)
        if task is not None:
            task.cancel()
        self._log(f"STOP {pmd.measurement_name(code).lower()}")

    def _on_link_down(self) -> None:
        super()._on_link_down()
        self.running.clear()

    async def _announce_stop(self) -> None:
        codes = sorted(self.running) or sorted(self.measurements)
        self.running.clear()
        if self.connection is not None:
            await self._indicate_cp(self.connection, bytes([pmd.CP_MEASUREMENT_STOPPED, *codes]))

    def _frame_capacity(self, spec: PmdMeasurementSpec) -> int:
        room = min(POLAR_MAX_FRAME, self.mtu - 3) - pmd.DATA_HEADER_BYTES
        if spec.frame_type & 0x80:
            n = max(2, room // 3)  # first guess for 8-bit deltas; the builder trims to fit
        else:
            n = max(1, room // (3 * {0: 1, 1: 2, 2: 3}.get(spec.frame_type, 2)))
        if self.max_samples_per_frame:
            n = min(n, self.max_samples_per_frame)
        return n

    def _quantize(self, code: int, run: _PmdRun, spec: PmdMeasurementSpec, values: np.ndarray) -> np.ndarray:
        if code == pmd.MeasurementType.ACC:
            mg = values * MG_PER_MPS2
            limit = run.range * 1000.0
            mg = np.clip(mg, -limit, limit)
            if spec.frame_type == pmd.COMPRESSED_TYPE0:
                raw = np.rint(mg / (run.factor * 1000.0))
            else:
                raw = np.rint(mg)
        else:  # GYRO: deg/s = raw x factor
            dps = np.clip(values, -run.range, run.range)
            raw = np.rint(dps / run.factor)
        lim = {pmd.RAW_TYPE0: 127, pmd.RAW_TYPE2: (1 << 23) - 1}.get(spec.frame_type, 32767)
        return np.clip(raw, -lim - 1, lim).astype(np.int64)

    def _build_frame(
        self,
        code: int,
        run: _PmdRun,
        spec: PmdMeasurementSpec,
        t_s: np.ndarray,
        acc: np.ndarray,
        gyr: np.ndarray | None,
    ) -> SentPacket:
        values = acc if code == pmd.MeasurementType.ACC else (gyr if gyr is not None else np.zeros_like(acc))
        raw = self._quantize(code, run, spec, values)
        time_ns = self.clock0_ns + np.rint(t_s * 1e9).astype(np.int64)
        if spec.frame_type & 0x80:
            cap = min(POLAR_MAX_FRAME, self.mtu - 3) - pmd.DATA_HEADER_BYTES
            n = raw.shape[0]
            payload = pmd.encode_delta_payload(raw[:n])
            while len(payload) > cap and n > 1:  # trim to what fits the MTU-sized buffer
                n = max(1, int(n * cap / len(payload)) if len(payload) > cap * 1.2 else n - 1)
                payload = pmd.encode_delta_payload(raw[:n])
            raw, time_ns = raw[:n], time_ns[:n]
            head = bytes((code,)) + int(time_ns[-1]).to_bytes(8, "little") + bytes((spec.frame_type,))
            frame = head + payload
        else:
            frame = pmd.encode_data_frame(code, spec.frame_type, int(time_ns[-1]), raw)
        stream = "acc" if code == pmd.MeasurementType.ACC else "gyro"
        return SentPacket(stream, 0, 0, frame, raw=raw, time_ns=time_ns)

    @staticmethod
    def _garbage_frame(good: bytes) -> bytes:
        # a frame header with an unknown frame type, then a truncated copy of the good frame
        return bytes((good[0],)) + good[1:9] + b"\x7e" + good[10:20]


class H10Emulator(PolarPmdEmulator):
    """Polar H10: ACC 25/50/100/200 Hz, ±2/4/8 g, 16 bit; raw int16 mG frames (0x01)."""

    kind = "h10"
    default_name = "Polar H10 0A1B2C3D"
    scan_rssi = -52  # a chest strap, close to the laptop
    start_reserved = b"\x01"  # the H10 START answer ends with a lone reserved 01 (G5)
    measurements = {
        int(pmd.MeasurementType.ACC): PmdMeasurementSpec(
            rates_hz=(25, 50, 100, 200),
            resolutions=(16,),
            ranges=(2, 4, 8),
            frame_type=pmd.RAW_TYPE1,
            default_rate_hz=200,
            default_range=8,
        ),
    }

    def __init__(self, name: str | None = None, *, acc_frame_type: int = pmd.RAW_TYPE1, **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        spec = self.measurements[pmd.MeasurementType.ACC]
        spec.frame_type = acc_frame_type
        if acc_frame_type == pmd.COMPRESSED_TYPE0:
            spec.factor = 0.000244

    def extra_features(self) -> set[pmd.MeasurementType]:
        return {pmd.MeasurementType.ECG}  # offered, not emulated: GET answers NOT_SUPPORTED


class VeritySenseEmulator(PolarPmdEmulator):
    """Polar Verity Sense: ACC and GYRO at 52 Hz (26..416 Hz in SDK mode), delta-compressed frames."""

    kind = "verity"
    default_name = "Polar Sense 5E6F7A8B"
    scan_rssi = -61
    streams_gyro = True
    measurements = {
        int(pmd.MeasurementType.ACC): PmdMeasurementSpec(
            rates_hz=(52,),
            resolutions=(16,),
            ranges=(8,),
            channels=3,
            frame_type=pmd.COMPRESSED_TYPE1,
            sdk_rates_hz=(26, 52, 104, 208, 416),
            sdk_ranges=(2, 4, 8, 16),
            default_rate_hz=52,
            default_range=8,
        ),
        int(pmd.MeasurementType.GYRO): PmdMeasurementSpec(
            rates_hz=(52,),
            resolutions=(16,),
            ranges=(2000,),
            channels=3,
            frame_type=pmd.COMPRESSED_TYPE0,
            factor=2000.0 / 32768.0,
            sdk_rates_hz=(26, 52, 104, 208, 416),
            sdk_ranges=(250, 500, 1000, 2000),
            default_rate_hz=52,
            default_range=2000,
        ),
    }

    def __init__(self, name: str | None = None, *, acc_with_factor: bool = False, **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        if acc_with_factor:  # older firmware / the PDF: 0x80 frames in G x factor
            spec = self.measurements[pmd.MeasurementType.ACC]
            spec.frame_type, spec.factor = pmd.COMPRESSED_TYPE0, 0.000244

    def extra_features(self) -> set[pmd.MeasurementType]:
        return {pmd.MeasurementType.PPG, pmd.MeasurementType.PPI, pmd.MeasurementType.MAG, pmd.MeasurementType.SDK_MODE}


# =============================================================================================
# RSC foot pod
# =============================================================================================


class RscPodEmulator(EmulatedPeripheral):
    """A Running Speed and Cadence foot pod: notifies 0x2A53 while the host listens."""

    kind = "rsc"
    default_name = "RunPod 4C5D"
    scan_rssi = -74  # on the far shoe

    def __init__(
        self,
        name: str | None = None,
        *,
        interval_s: float = 1.0,
        speed_mps: Callable[[float], float] | float = 3.3,
        cadence_spm: Callable[[float], float] | float = 170.0,
        cadence_unit: str = "steps",
        **kwargs: Any,
    ) -> None:
        super().__init__(name, **kwargs)
        self.interval_s = float(interval_s)
        self._speed = speed_mps if callable(speed_mps) else (lambda _t, v=float(speed_mps): v)
        self._cadence = cadence_spm if callable(cadence_spm) else (lambda _t, v=float(cadence_spm): v)
        self.cadence_unit = cadence_unit
        self.total_distance_m = 0.0

    def _services(self) -> list[gatt.Service]:
        props = gatt.Characteristic.Properties
        self.measurement = gatt.Characteristic(
            _uuid(rsc.RSC_MEASUREMENT_UUID), props.NOTIFY, gatt.Characteristic.READABLE, b""
        )
        self.measurement.on(gatt.Characteristic.EVENT_SUBSCRIPTION, self._on_subscription)
        feature = gatt.Characteristic(
            _uuid(rsc.RSC_FEATURE_UUID),
            props.READ,
            gatt.Characteristic.READABLE,
            rsc.encode_feature(stride_length=True, total_distance=True, walking_running_status=True),
        )
        location = gatt.Characteristic(
            _uuid(rsc.SENSOR_LOCATION_UUID),
            props.READ,
            gatt.Characteristic.READABLE,
            bytes([SENSOR_LOCATION_TOP_OF_SHOE]),
        )
        return [gatt.Service(_uuid(rsc.RSC_SERVICE_UUID), [self.measurement, feature, location])]

    def _advertising_data(self) -> bytes:
        return _adv(self.name, uuids16=(0x1814, 0x180F))

    def _on_subscription(self, _bearer: Any, notify: bool, _indicate: bool) -> None:
        if notify and not self._tasks:
            self._mark_run_start()
            self._spawn(self._rsc_loop())
        elif not notify:
            self._stop_all_streams()

    async def _rsc_loop(self) -> None:
        index = 0
        t_next = self.device_time_s() + self.interval_s
        while True:
            await self._sleep_until(t_next)
            t = self.stream_time_s()
            speed = float(self._speed(t))
            steps = float(self._cadence(t))
            cadence = round(steps / 2) if self.cadence_unit == "strides" else round(steps)
            stride = speed * 60.0 / max(1.0, steps) * 2.0  # stride = two steps
            self.total_distance_m += speed * self.interval_s
            payload = rsc.encode_measurement(
                speed_mps=speed,
                cadence_per_min=int(cadence),
                stride_length_m=stride,
                total_distance_m=self.total_distance_m,
                running=speed > 2.0,
            )
            packet = SentPacket("rsc", index, 0, payload, lost=self._lost(index))
            await self._notify(self.measurement, packet)
            t1 = t + self.interval_s
            if self._garbage_due(index, t, t1):
                await self._notify(self.measurement, SentPacket("garbage", index, 0, payload[:2], garbage=True))
            index += 1
            t_next += self.interval_s


# =============================================================================================
# openpod
# =============================================================================================


class OpenpodEmulator(EmulatedPeripheral):
    """An openpod v1 pod (SPEC.md): capabilities, control commands, IMU packets."""

    kind = "openpod"
    default_name = "openpod-7E21-L"
    scan_rssi = -67
    streams_gyro = True

    def __init__(
        self,
        name: str | None = None,
        *,
        capabilities: op.Capabilities | None = None,
        config: op.StreamConfig | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(name, **kwargs)
        self.capabilities = capabilities or op.Capabilities(
            rates_hz=(50.0, 100.0, 200.0, 400.0, 800.0, 1600.0),
            acc_ranges_g=(2, 4, 8, 16),
            gyr_ranges_dps=(125, 250, 500, 1000, 2000),
            set_time=True,
            mount=op.MOUNT_LEFT_FOOT
            if self.name.endswith("-L")
            else op.MOUNT_RIGHT_FOOT
            if self.name.endswith("-R")
            else op.MOUNT_FOOT,
        )
        default = op.StreamConfig(200.0, 16, 2000 if self.capabilities.has_gyro else None)
        self.config = config or default
        self.streaming = False
        self.seq = 0
        self.unix_offset_us: int | None = None  # set by SET_TIME
        self.last_response = b""

    @classmethod
    def unique_name(cls, index: int, side: str | None, used: set[str]) -> str:
        """``openpod-XXXX`` with ``-L`` / ``-R`` for a left / right foot (SPEC.md section 2)."""
        suffix = {"left": "-L", "right": "-R"}.get(side or "", "")
        for n in range(index, index + 64):
            name = f"openpod-{0x7E21 + n:04X}{suffix}"
            if name not in used:
                return name
        raise ValueError("too many emulated devices of one kind")

    def wear(self, placement: str | None, side: str | None) -> None:
        """The mount the pod reports in its capabilities (SPEC.md section 5)."""
        mount = {
            ("foot", "left"): op.MOUNT_LEFT_FOOT,
            ("foot", "right"): op.MOUNT_RIGHT_FOOT,
            ("foot", None): op.MOUNT_FOOT,
            ("sacrum", None): op.MOUNT_SACRUM,
            ("chest", None): op.MOUNT_CHEST,
        }.get((placement, side if placement == "foot" else None), op.MOUNT_OTHER if placement else None)
        if mount is not None:
            self.capabilities = dataclasses.replace(self.capabilities, mount=mount)

    def _services(self) -> list[gatt.Service]:
        props = gatt.Characteristic.Properties
        self.data = gatt.Characteristic(_uuid(op.DATA_UUID), props.NOTIFY, gatt.Characteristic.READABLE, b"")
        self.control = gatt.Characteristic(
            _uuid(op.CONTROL_UUID),
            props.WRITE | props.INDICATE | props.READ,
            gatt.Characteristic.READABLE | gatt.Characteristic.WRITEABLE,
            gatt.CharacteristicValue(read=lambda _c: self.last_response, write=self._on_control_write),
        )
        caps = gatt.Characteristic(
            _uuid(op.CAPABILITIES_UUID),
            props.READ,
            gatt.Characteristic.READABLE,
            gatt.CharacteristicValue(read=lambda _c: self.capabilities.encode()),
        )
        return [gatt.Service(_uuid(op.SERVICE_UUID), [self.data, self.control, caps])]

    def _advertising_data(self) -> bytes:
        return _adv(self.name, uuids128=(op.SERVICE_UUID,))

    def _on_control_write(self, connection: Connection, value: bytes) -> None:
        self._spawn(self._answer(connection, bytes(value)), stream=False)

    async def _indicate(self, connection: Connection | None, payload: bytes) -> None:
        self.last_response = payload
        if self.device is not None and connection is not None and self.connection is connection:
            with contextlib.suppress(Exception):
                await self.device.indicate_subscriber(connection, self.control, payload)

    async def _answer(self, connection: Connection, data: bytes) -> None:
        try:
            cmd = op.decode_command(data)
        except op.InvalidCommand as exc:
            await self._indicate(connection, op.encode_response(exc.opcode, exc.token, exc.status))
            return
        status = op.STATUS_OK
        payload = b""
        start = False
        if cmd.opcode == op.OP_CONFIGURE:
            assert cmd.config is not None
            status = self.capabilities.check(cmd.config)
            if status == op.STATUS_OK and self.streaming:
                status = op.STATUS_INVALID_STATE
            if status == op.STATUS_OK:
                self.config = cmd.config
        elif cmd.opcode == op.OP_GET_CONFIG:
            payload = op.encode_config_payload(self.config, self.streaming)
        elif cmd.opcode == op.OP_SET_TIME:
            if not self.capabilities.set_time:
                status = op.STATUS_NOT_SUPPORTED
            else:
                assert cmd.unix_time_us is not None
                self.unix_offset_us = cmd.unix_time_us - int(self.device_time_s() * 1e6)
        elif cmd.opcode == op.OP_START:
            gyro = self.config.gyr_range_dps is not None
            if self.streaming:
                status = op.STATUS_ALREADY_IN_STATE
            elif op.max_samples(self.mtu, gyro) < 1:
                status = op.STATUS_MTU_TOO_SMALL
            else:
                start = True
        elif cmd.opcode == op.OP_STOP:
            if not self.streaming:
                status = op.STATUS_ALREADY_IN_STATE
            else:
                self._stop_all_streams()
                self.streaming = False
                self._log("STOP")
        await self._indicate(connection, op.encode_response(cmd.opcode, cmd.token, status, payload))
        if start:
            self._start_stream()

    def _start_stream(self) -> None:
        self._mark_run_start()
        self.streaming = True
        self.seq = 0
        cfg = self.config
        self._log(f"START {cfg.rate_hz:g} Hz")
        gyro = cfg.gyr_range_dps is not None
        # full packet, or the oldest sample 100 ms old (SPEC.md 4.8)
        per_packet = max(1, min(op.max_samples(self.mtu, gyro), 1 + int(0.1 * cfg.rate_hz)))
        task = self._spawn(
            self._stream_loop(
                "imu", cfg.rate_hz, lambda _k: per_packet, self._build_packet, self.data, self._garbage_packet
            )
        )
        task.add_done_callback(lambda _t: setattr(self, "streaming", False))

    def _on_link_down(self) -> None:
        super()._on_link_down()
        self.streaming = False  # SPEC.md 2: the device MUST stop streaming when the connection drops

    async def _announce_stop(self) -> None:
        self.streaming = False
        await self._indicate(self.connection, op.encode_response(op.OP_STOP, 0, op.STATUS_LOW_BATTERY))

    def _build_packet(self, k: int, t_s: np.ndarray, acc: np.ndarray, gyr: np.ndarray | None) -> SentPacket:
        cfg = self.config
        acc_raw = op.acc_to_raw(acc, cfg.acc_range_g)
        gyr_raw = None
        if cfg.gyr_range_dps is not None:
            gyr_raw = op.gyr_to_raw(gyr if gyr is not None else np.zeros_like(acc), cfg.gyr_range_dps)
        t_us = int(round(t_s[0] * 1e6))
        flags = 0
        if self.unix_offset_us is not None:
            t_us += self.unix_offset_us
            flags |= op.FLAG_TIME_UNIX
        payload = op.encode_packet(
            seq=self.seq,
            timestamp_us=t_us,
            rate_hz=cfg.rate_hz,
            acc_range_g=cfg.acc_range_g,
            acc_raw=acc_raw,
            gyr_range_dps=cfg.gyr_range_dps,
            gyr_raw=gyr_raw,
            flags=flags,
        )
        self.seq = (self.seq + 1) & 0xFFFF  # a lost packet still used its sequence number
        time_ns = (t_us + np.rint(np.arange(len(t_s)) * 1e6 / cfg.rate_hz)).astype(np.int64) * 1000
        return SentPacket(
            "imu",
            0,
            0,
            payload,
            raw=acc_raw.astype(np.int64),
            raw_gyro=None if gyr_raw is None else gyr_raw.astype(np.int64),
            time_ns=time_ns,
        )

    @staticmethod
    def _garbage_packet(good: bytes) -> bytes:
        bad = bytearray(good)
        bad[-1] ^= 0xFF  # CRC mismatch
        return bytes(bad)


# =============================================================================================
# MbientLab MetaWear (MetaMotion R: BMI160; MetaMotion S: BMI270)
# =============================================================================================

# the module-info answers of the two boards, as in MbientLab's SDK tests (C++ SDK test/common.py)
METAMOTION_R_MODULE_INFO = {mw.ACC_MODULE: bytes.fromhex("03 80 01 01"), mw.GYRO_MODULE: bytes.fromhex("13 80 00 01")}
METAMOTION_S_MODULE_INFO = {mw.ACC_MODULE: bytes.fromhex("03 80 04 00"), mw.GYRO_MODULE: bytes.fromhex("13 80 01 00")}


@dataclass
class _MetaWearSensor:
    """One sensor (accelerometer or gyro) of an emulated board: what the host set."""

    config: mw.SensorConfig
    enabled: bool = False
    started: bool = False
    single: bool = False  # subscribed to the one-sample data register
    packed: bool = False  # subscribed to the packed (3 samples) register
    running: tuple[int, bool] | None = None  # (rate, packed) of the stream now running
    task: asyncio.Task | None = None


class MetaWearEmulator(EmulatedPeripheral):
    """An MbientLab MetaMotion board: a MetaMotion R (``chip="bmi160"``, the default) or a
    MetaMotion S (``chip="bmi270"``; ``--device kind=metawear,chip=bmi270``).

    It answers the module-info reads (``03 80``, ``13 80``) with its chip, takes that chip's
    config / subscribe / enable / start / stop commands and streams int16 data on the notify
    characteristic while a sensor is configured, enabled, subscribed and started: packed (3
    samples) when the host subscribed to the packed register, else one sample per packet.
    Commands for registers its chip does not have are ignored and listed in ``ignored`` (a
    host speaking BMI160 to a MetaMotion S gets no data). ``module_info`` replaces answers
    (module -> bytes), e.g. ``{0x03: bytes.fromhex("03 80 00 01")}`` for a MetaWear R's
    MMA8452Q. On a disconnection the board forgets its streams (the host sends them again)."""

    kind = "metawear"
    default_name = "MetaWear 3C1A"
    scan_rssi = -63
    streams_gyro = True

    def __init__(
        self,
        name: str | None = None,
        *,
        chip: str = "bmi160",
        module_info: dict[int, bytes] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(name, **kwargs)
        self.extra_module_info = dict(module_info or {})
        self.commands: list[bytes] = []  # every command written, in order
        self.ignored: list[bytes] = []  # the commands this board did not act on
        self.set_chip(chip)

    def set_chip(self, chip: str) -> None:
        """BMI160 (MetaMotion R) or BMI270 (MetaMotion S): module info, registers, defaults."""
        self.chip = mw.as_chip(chip)
        base = METAMOTION_S_MODULE_INFO if self.chip is mw.Chip.BMI270 else METAMOTION_R_MODULE_INFO
        self.module_info = {**base, **self.extra_module_info}
        self._reset_sensors()

    def use_settings(self, settings: dict[str, Any]) -> None:
        if settings.get("chip") is not None:
            self.set_chip(str(settings["chip"]))

    def _reset_sensors(self) -> None:
        # power-on defaults of the SDKs: acc 100 Hz (+-2 g BMI160, +-8 g BMI270), gyro 100 Hz 2000 dps
        acc_range = 8 if self.chip is mw.Chip.BMI270 else 2
        self.sensors = {
            "acc": _MetaWearSensor(mw.SensorConfig("acc", 100, acc_range)),
            "gyro": _MetaWearSensor(mw.SensorConfig("gyro", 100, 2000)),
        }

    @property
    def has_gyro(self) -> bool:
        return len(self.module_info.get(mw.GYRO_MODULE, b"")) > 2

    def _services(self) -> list[gatt.Service]:
        props = gatt.Characteristic.Properties
        self.notify_char = gatt.Characteristic(
            _uuid(mw.METAWEAR_NOTIFY_UUID), props.NOTIFY, gatt.Characteristic.READABLE, b""
        )
        self.command_char = gatt.Characteristic(
            _uuid(mw.METAWEAR_COMMAND_UUID),
            props.WRITE | props.WRITE_WITHOUT_RESPONSE,
            gatt.Characteristic.WRITEABLE,
            gatt.CharacteristicValue(write=self._on_command_write),
        )
        return [gatt.Service(_uuid(mw.METAWEAR_SERVICE_UUID), [self.command_char, self.notify_char])]

    def _advertising_data(self) -> bytes:
        return _adv(self.name, uuids128=(mw.METAWEAR_SERVICE_UUID,))

    def _on_link_down(self) -> None:
        super()._on_link_down()
        self._reset_sensors()

    def _stop_all_streams(self) -> None:
        super()._stop_all_streams()
        for sensor in getattr(self, "sensors", {}).values():
            sensor.task, sensor.running = None, None

    # -- commands ----------------------------------------------------------------------------
    def _on_command_write(self, _connection: Connection, value: bytes) -> None:
        data = bytes(value)
        self.commands.append(data)
        try:
            acted = self._command(data)
        except mw.ProtocolError as exc:
            acted = False
            self._log(f"bad command {data.hex(' ')}: {exc}")
        if not acted:
            self.ignored.append(data)

    def _command(self, data: bytes) -> bool:
        module, reg, params = mw.split_command(data)
        if reg == mw.MODULE_INFO_REGISTER and not params:
            answer = self.module_info.get(module, mw.encode_module_info(module, None))
            self._spawn(self._answer(answer), stream=False)
            return True
        if module not in (mw.ACC_MODULE, mw.GYRO_MODULE):
            return False
        kind = "acc" if module == mw.ACC_MODULE else "gyro"
        if kind == "gyro" and not self.has_gyro:
            return False
        sensor = self.sensors[kind]
        regs = mw.REGISTERS[self.chip]
        single_reg, packed_reg = (regs.acc, regs.acc_packed) if kind == "acc" else (regs.gyro, regs.gyro_packed)
        if reg == mw.REG_CONFIG:
            sensor.config = mw.decode_config(data, chip=self.chip)
        elif reg == mw.REG_ENABLE and params in (b"\x01\x00", b"\x00\x01"):
            sensor.enabled = params[0] == 1
        elif reg == mw.REG_POWER and len(params) == 1 and params[0] in (0, 1, 2):
            sensor.started = params[0] != 0  # 2: a BMI270 accelerometer below 12.5 Hz (SDK source)
        elif reg in (single_reg, packed_reg) and params in (b"\x00", b"\x01"):
            setattr(sensor, "packed" if reg == packed_reg else "single", params == b"\x01")
        else:
            return False
        self._update(kind)
        return True

    async def _answer(self, payload: bytes) -> None:
        if self.device is not None and self.connection is not None:
            with contextlib.suppress(Exception):
                await self.device.notify_subscriber(self.connection, self.notify_char, payload)

    # -- streams -----------------------------------------------------------------------------
    def _update(self, kind: str) -> None:
        """Start, restart or stop ``kind``'s stream to match what the host set."""
        sensor = self.sensors[kind]
        want = None
        if sensor.started and sensor.enabled and (sensor.single or sensor.packed):
            want = (sensor.config.odr_hz, sensor.packed)
        if want == sensor.running:
            return
        if sensor.task is not None:
            sensor.task.cancel()
            sensor.task = None
        sensor.running = want
        if want is None:
            self._log(f"{kind} stopped")
            return
        rate, packed = want
        self._mark_run_start()
        self._log(f"{kind} {rate} Hz{' packed' if packed else ''}")
        per_packet = mw.PACKED_SAMPLES if packed else 1
        sensor.task = self._spawn(
            self._stream_loop(
                kind,
                float(rate),
                lambda _k: per_packet,
                lambda k, t, a, g: self._build(kind, packed, a, g),
                self.notify_char,
                lambda good: good[:-1],  # truncated
            )
        )

    def _build(self, kind: str, packed: bool, acc: np.ndarray, gyr: np.ndarray | None) -> SentPacket:
        cfg = self.sensors[kind].config
        if kind == "acc":
            raw = acc / STANDARD_GRAVITY_MPS2 * mw.ACC_LSB_PER_G[cfg.full_scale]
        else:
            raw = (gyr if gyr is not None else np.zeros_like(acc)) * mw.GYRO_LSB_PER_DPS[cfg.full_scale]
        counts = np.clip(np.rint(raw), -32768, 32767).astype(np.int64)
        payload = mw.encode_notification(kind, counts, packed=packed, chip=self.chip)
        return SentPacket(kind, 0, 0, payload, raw=counts)


__all__ = [
    "EmulatedPeripheral",
    "Faults",
    "H10Emulator",
    "MetaWearEmulator",
    "Motion",
    "OpenpodEmulator",
    "PmdMeasurementSpec",
    "PolarPmdEmulator",
    "RscPodEmulator",
    "SentPacket",
    "VeritySenseEmulator",
    "motion_from_block",
    "motion_from_csv",
    "synthetic_running",
]
