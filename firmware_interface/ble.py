"""bleak transport: scan, connect (bleak-retry-connector), negotiate, subscribe, reconnect.

- `scan(timeout, backend=None)` -> `FoundDevice` list (kind, capabilities, placement hint,
  RSSI) classified with `firmware_interface.devices.registry`.
- `DeviceLink`: one device. Connects with ``establish_connection(BleakClient, ...)``,
  negotiates the stream (PMD: notifications on control point AND data before START, settings
  read, START at the requested rate/range, control-point errors raised as
  `protocols.ControlPointError`; openpod: capabilities, CONFIGURE, SET_TIME, START, errors as
  `openpod.CommandFailed`; RSC: feature read, notifications), and receives every notification
  in a SYNC callback that does nothing but ``put_nowait(RawPacket(...))`` into a bounded
  asyncio queue (drop-oldest, counted). After an unsolicited disconnect it reconnects and
  re-issues start_notify and the device-level START, so the run continues. On exit (also on
  Ctrl-C / task cancellation) it sends STOP, unsubscribes and disconnects.
- `LinkGroup`: several links (a foot pod and a chest strap) sharing one queue and one receive
  clock (``time.monotonic_ns``), started and stopped together.

Everything the host sees or writes goes into the queue as a `session.RawPacket` (channels as
documented in `session`): data notifications, control-point answers, the commands written,
battery readings and ``link`` connected/disconnected events, so a capture replays exactly and
the `session` decoders see the START settings they need. Decoding happens downstream
(`DeviceLink.feed` / `LinkGroup.feed` run the `session` decoders and keep the malformed count).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError
from bleak_retry_connector import establish_connection

from firmware_interface.devices import registry
from firmware_interface.devices.base import (
    LINK_CHANNEL,
    LINK_CONNECTED,
    LINK_DISCONNECTED,
    RawPacket,
    write_channel,
)
from firmware_interface.devices.spec import (
    BATTERY_LEVEL_UUID,
    Capability,
    DeviceSpec,
    Protocol,
    side_from_name,
)
from firmware_interface.openpod import codec as openpod
from firmware_interface.protocols import metawear, rsc
from firmware_interface.protocols import polar_pmd as pmd
from gait.core.errors import GaitError

logger = logging.getLogger(__name__)

Clock = Callable[[], int]
DEFAULT_QUEUE_SIZE = 4096


# =============================================================================================
# Errors
# =============================================================================================


class LinkError(GaitError):
    """The transport could not do what was asked (not a protocol answer: those are typed by
    their protocol, `ControlPointError` / `CommandFailed`)."""


class DeviceNotSupported(LinkError):
    """The device is not in the registry, or lacks the stream that was asked for."""


class ControlTimeout(LinkError):
    """The device did not answer a control command in time."""


class ConnectFailed(LinkError):
    """No connection after the retries (out of range, switched off, already connected elsewhere)."""


# =============================================================================================
# Scanning
# =============================================================================================


@dataclass(frozen=True)
class FoundDevice:
    """One advertising device, classified with the registry (``kind``: its canonical name)."""

    name: str | None
    address: str
    kind: str | None
    capabilities: frozenset[Capability]
    placement: str | None  # the usual placement of this kind (a hint: the runner decides)
    rssi: int | None
    side: str | None = None
    service_uuids: tuple[str, ...] = ()
    ble_device: BLEDevice | None = field(default=None, compare=False, repr=False)

    @property
    def spec(self) -> DeviceSpec | None:
        return registry.get(self.kind) if self.kind is not None else None

    @property
    def supported(self) -> bool:
        return self.kind is not None


def found_device(device: BLEDevice, name: str | None, service_uuids: Iterable[str], rssi: int | None) -> FoundDevice:
    uuids = tuple(u.lower() for u in service_uuids)
    name = name or device.name
    spec = registry.classify(name, uuids)
    return FoundDevice(
        name=name,
        address=device.address,
        kind=spec.kind if spec else None,
        capabilities=spec.capabilities if spec else frozenset(),
        placement=spec.placement if spec else None,
        rssi=rssi,
        side=side_from_name(name),
        service_uuids=uuids,
        ble_device=device,
    )


async def scan(
    timeout: float = 5.0,
    backend: type | None = None,
    *,
    supported_only: bool = True,
    service_uuids: list[str] | None = None,
) -> list[FoundDevice]:
    """Scan for ``timeout`` seconds; supported devices (strongest signal first).

    ``backend``: a bleak scanner backend class (None = the platform's; tests pass
    `emulation.BumbleScanner`).
    """
    found = await BleakScanner.discover(timeout=timeout, return_adv=True, service_uuids=service_uuids, backend=backend)
    out = [found_device(dev, adv.local_name, adv.service_uuids, adv.rssi) for dev, adv in found.values()]
    if supported_only:
        out = [d for d in out if d.supported]
    return sorted(out, key=lambda d: -(d.rssi if d.rssi is not None else -999))


async def find(address_or_name: str, timeout: float = 10.0, backend: type | None = None) -> FoundDevice | None:
    """The first advertising device whose address or name equals ``address_or_name``."""
    key = address_or_name.lower()
    hit: list[FoundDevice] = []

    def match(dev: BLEDevice, adv: Any) -> bool:
        ok = dev.address.lower() == key or (adv.local_name or dev.name or "").lower() == key
        if ok:
            hit.append(found_device(dev, adv.local_name, adv.service_uuids, adv.rssi))
        return ok

    await BleakScanner.find_device_by_filter(match, timeout=timeout, backend=backend)
    return hit[0] if hit else None


# =============================================================================================
# Settings and health
# =============================================================================================


@dataclass(frozen=True)
class StreamSettings:
    """What to stream. None = the spec default of the device kind (`DefaultSettings`).

    ``gyro``: None = the device default (on when the kind has a gyro default rate).
    ``sdk_mode``: Polar Verity Sense SDK mode (rates 26..416 Hz).
    ``set_time``: openpod SET_TIME with the host's Unix time (packets then carry TIME_UNIX).
    """

    acc_rate_hz: int | None = None
    acc_range_g: int | None = None
    gyro: bool | None = None
    gyr_rate_hz: int | None = None
    gyr_range_dps: int | None = None
    resolution_bits: int | None = None
    sdk_mode: bool = False
    set_time: bool = True


@dataclass
class LinkHealth:
    """Transport counters of one link (the decoders keep their own, see `session.Health`).

    ``received`` data notifications; ``control`` control-point / other messages;
    ``dropped`` packets thrown away because the queue was full (the oldest goes);
    ``malformed`` packets a decoder rejected (counted by `feed`); ``late`` packets that
    waited in the queue longer than ``late_after_ms`` before a consumer took them;
    ``reconnects`` successful reconnections; ``outages`` (lost, restored) receive-clock ns;
    ``ended`` why the link finished (None while running).
    """

    received: int = 0
    control: int = 0
    dropped: int = 0
    malformed: int = 0
    late: int = 0
    reconnects: int = 0
    disconnects: int = 0
    battery_pct: int | None = None
    outages: list[tuple[int, int | None]] = field(default_factory=list)
    device_stopped: bool = False
    ended: str | None = None
    last_rx_ns: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# =============================================================================================
# Protocol drivers (the device-level part of a connection)
# =============================================================================================
# One driver per wire protocol, not per kind: a kind's spec (`firmware_interface.devices`)
# names its protocol and holds what the driver needs of the kind (default rates and ranges).


class _Driver:
    protocol: Protocol
    control_uuid: str | None = None
    data_uuids: tuple[str, ...] = ()

    def __init__(self, link: DeviceLink) -> None:
        self.link = link

    async def prepare(self, client: BleakClient) -> None:
        """Reads and checks before streaming (every connection)."""

    async def start(self, client: BleakClient) -> None:
        raise NotImplementedError

    async def stop(self, client: BleakClient) -> None:
        raise NotImplementedError

    def on_control(self, payload: bytes) -> None:
        """A control-point message (sync: resolve the pending request or note an event)."""


class _PmdDriver(_Driver):
    protocol = Protocol.PMD
    control_uuid = pmd.PMD_CONTROL_POINT_UUID
    data_uuids = (pmd.PMD_DATA_UUID,)

    def __init__(self, link: DeviceLink) -> None:
        super().__init__(link)
        self.features: pmd.PmdFeatures | None = None
        self.available: dict[int, pmd.PmdSettings] = {}
        self.started: list[int] = []
        self.plan: list[tuple[int, dict[pmd.SettingType, int]]] = []

    def _plan(self) -> list[tuple[int, dict[pmd.SettingType, int]]]:
        s, d = self.link.settings, self.link.spec.defaults
        acc = pmd.start_settings(
            sample_rate_hz=s.acc_rate_hz or d.acc_rate_hz,
            resolution_bits=s.resolution_bits or d.resolution_bits,
            range=s.acc_range_g or d.acc_range_g,
        )
        plan = [(int(pmd.MeasurementType.ACC), acc)]
        gyro = s.gyro if s.gyro is not None else d.gyr_rate_hz is not None
        if gyro:
            plan.append(
                (
                    int(pmd.MeasurementType.GYRO),
                    pmd.start_settings(
                        sample_rate_hz=s.gyr_rate_hz or d.gyr_rate_hz or s.acc_rate_hz or d.acc_rate_hz,
                        resolution_bits=s.resolution_bits or d.resolution_bits,
                        range=s.gyr_range_dps or d.gyr_range_dps,
                    ),
                )
            )
        return plan

    async def prepare(self, client: BleakClient) -> None:
        raw = bytes(await client.read_gatt_char(pmd.PMD_CONTROL_POINT_UUID))
        self.link._put_control(pmd.PMD_CONTROL_POINT_UUID, raw)
        self.features = pmd.decode_features(raw)
        self.plan = self._plan()
        for code, _ in self.plan:
            if pmd.MeasurementType(code) not in self.features:
                raise DeviceNotSupported(
                    f"{self.link.name}: the device offers {sorted(m.name for m in self.features.measurements)}, "
                    f"not {pmd.measurement_name(code)}"
                )

    async def _request(self, client: BleakClient, payload: bytes) -> pmd.PmdControlPointResponse:
        op_, code = payload[0], payload[1] & 0x7F

        def match(msg: Any) -> bool:
            return isinstance(msg, pmd.PmdControlPointResponse) and msg.op == op_ and int(msg.measurement) == code

        return await self.link._request(client, pmd.PMD_CONTROL_POINT_UUID, payload, match)

    async def start(self, client: BleakClient) -> None:
        # notifications on BOTH the control point and data BEFORE START (the reference, 1.5/6)
        await self.link._subscribe(client, pmd.PMD_CONTROL_POINT_UUID, control=True)
        await self.link._subscribe(client, pmd.PMD_DATA_UUID)
        if self.link.settings.sdk_mode:
            resp = await self._request(client, pmd.encode_start(pmd.MeasurementType.SDK_MODE))
            if resp.status not in (pmd.PmdStatus.SUCCESS, pmd.PmdStatus.ALREADY_IN_STATE):
                resp.raise_for_status(self.link.name)
        self.started = []
        for code, chosen in self.plan:
            resp = await self._request(client, pmd.encode_get_settings(code))
            resp.raise_for_status(self.link.name)
            self.available[code] = resp.settings
            resp = await self._request(client, pmd.encode_start(code, chosen))
            if resp.status == pmd.PmdStatus.ALREADY_IN_STATE:  # left running by an earlier host: restart it
                await self._request(client, pmd.encode_stop(code))
                resp = await self._request(client, pmd.encode_start(code, chosen))
            resp.raise_for_status(self.link.name)
            self.started.append(code)

    async def stop(self, client: BleakClient) -> None:
        # an H10 streams (and drains its battery) until told to stop
        for code in reversed(self.started):
            with contextlib.suppress(Exception):
                await self._request(client, pmd.encode_stop(code))
        self.started = []
        await self.link._unsubscribe_all(client)

    def on_control(self, payload: bytes) -> None:
        try:
            msg = pmd.decode_cp_message(payload)
        except pmd.ProtocolError as exc:
            self.link.health.malformed += 1
            logger.warning("%s: bad control-point message %s: %s", self.link.name, payload.hex(" "), exc)
            return
        if isinstance(msg, pmd.PmdMeasurementStopped):
            names = ", ".join(pmd.measurement_name(int(m)) for m in msg.measurements)
            self.link._device_stopped(f"device stopped {names}")
            return
        self.link._resolve(msg)


class _OpenpodDriver(_Driver):
    protocol = Protocol.OPENPOD
    control_uuid = openpod.CONTROL_UUID
    data_uuids = (openpod.DATA_UUID,)

    def __init__(self, link: DeviceLink) -> None:
        super().__init__(link)
        self.capabilities: openpod.Capabilities | None = None
        self.config: openpod.StreamConfig | None = None
        self._tokens = itertools.cycle(range(1, 256))

    async def prepare(self, client: BleakClient) -> None:
        raw = bytes(await client.read_gatt_char(openpod.CAPABILITIES_UUID))
        self.link._put_control(openpod.CAPABILITIES_UUID, raw)
        caps = openpod.decode_capabilities(raw)  # UnsupportedVersion for a newer major version
        self.capabilities = caps
        s, d = self.link.settings, self.link.spec.defaults
        gyro = (s.gyro if s.gyro is not None else True) and caps.has_gyro
        self.config = openpod.StreamConfig(
            rate_hz=float(s.acc_rate_hz or d.acc_rate_hz or 200),
            acc_range_g=int(s.acc_range_g or d.acc_range_g or 16),
            gyr_range_dps=int(s.gyr_range_dps or d.gyr_range_dps or 2000) if gyro else None,
        )
        mount = {
            openpod.MOUNT_LEFT_FOOT: ("foot", "left"),
            openpod.MOUNT_RIGHT_FOOT: ("foot", "right"),
            openpod.MOUNT_FOOT: ("foot", None),
            openpod.MOUNT_SACRUM: ("sacrum", None),
            openpod.MOUNT_CHEST: ("chest", None),
        }.get(caps.mount)
        if mount is not None:
            self.link.placement, side = mount
            self.link.side = side or self.link.side

    async def _command(self, client: BleakClient, make: Callable[[int], bytes]) -> openpod.ControlResponse:
        token = next(self._tokens)
        payload = make(token)

        def match(msg: Any) -> bool:
            return isinstance(msg, openpod.ControlResponse) and msg.token == token

        resp = await self.link._request(client, openpod.CONTROL_UUID, payload, match)
        return resp.raise_for_status()  # CommandFailed (ALREADY_IN_STATE counts as success)

    async def start(self, client: BleakClient) -> None:
        assert self.config is not None and self.capabilities is not None
        await self.link._subscribe(client, openpod.CONTROL_UUID, control=True)
        await self.link._subscribe(client, openpod.DATA_UUID)
        cfg = self.config
        await self._command(client, lambda t: openpod.encode_configure(t, cfg))
        if self.link.settings.set_time and self.capabilities.set_time:
            await self._command(client, lambda t: openpod.encode_set_time(t, time.time_ns() // 1000))
        await self._command(client, openpod.encode_start)

    async def stop(self, client: BleakClient) -> None:
        with contextlib.suppress(Exception):
            await self._command(client, openpod.encode_stop)
        await self.link._unsubscribe_all(client)

    def on_control(self, payload: bytes) -> None:
        try:
            msg = openpod.decode_response(payload)
        except openpod.OpenpodError as exc:
            self.link.health.malformed += 1
            logger.warning("%s: bad control message %s: %s", self.link.name, payload.hex(" "), exc)
            return
        if msg.unsolicited:
            self.link._device_stopped(f"device stopped: {openpod.STATUS_NAMES.get(msg.status, msg.status)}")
            return
        self.link._resolve(msg)


class _RscDriver(_Driver):
    protocol = Protocol.RSC
    data_uuids = (rsc.RSC_MEASUREMENT_UUID,)

    def __init__(self, link: DeviceLink) -> None:
        super().__init__(link)
        self.feature: rsc.RscFeature | None = None

    async def prepare(self, client: BleakClient) -> None:
        if client.services.get_characteristic(rsc.RSC_FEATURE_UUID) is not None:
            raw = bytes(await client.read_gatt_char(rsc.RSC_FEATURE_UUID))
            self.link._put_control(rsc.RSC_FEATURE_UUID, raw)
            self.feature = rsc.decode_feature(raw)

    async def start(self, client: BleakClient) -> None:
        await self.link._subscribe(client, rsc.RSC_MEASUREMENT_UUID)  # RSC streams while notifications are on

    async def stop(self, client: BleakClient) -> None:
        await self.link._unsubscribe_all(client)


class _MetaWearDriver(_Driver):
    """MetaWear: one notify characteristic carries both the module-info answers and the data.

    Every connection: notifications on, module info of the accelerometer and gyro read (the
    board names its chip: BMI160 or BMI270; any other is `protocols.UnsupportedFrame`), then
    configure, subscribe, enable and start with that chip's commands. The gyro streams only
    when the settings ask for it (``gyro=True``), as the session decodes it only then."""

    protocol = Protocol.METAWEAR
    data_uuids = (metawear.METAWEAR_NOTIFY_UUID,)

    def __init__(self, link: DeviceLink) -> None:
        super().__init__(link)
        self.board: metawear.BoardInfo | None = None
        self.gyro = False

    def _watch(self, payload: bytes) -> None:
        if not metawear.is_module_info(payload):
            return
        try:
            self.link._resolve(metawear.decode_module_info(payload))
        except metawear.ProtocolError as exc:
            self.link.health.malformed += 1
            logger.warning("%s: bad module info %s: %s", self.link.name, payload.hex(" "), exc)

    async def _module_info(self, client: BleakClient, module: int) -> metawear.ModuleInfo:
        def match(msg: Any) -> bool:
            return isinstance(msg, metawear.ModuleInfo) and msg.module == module

        request = metawear.module_info_request(module)
        return await self.link._request(client, metawear.METAWEAR_COMMAND_UUID, request, match)

    async def prepare(self, client: BleakClient) -> None:
        await self.link._subscribe(client, metawear.METAWEAR_NOTIFY_UUID, watch=self._watch)
        acc = await self._module_info(client, metawear.ACC_MODULE)
        gyro = await self._module_info(client, metawear.GYRO_MODULE)
        self.board = metawear.detect_board(acc, gyro)  # UnsupportedFrame: not a BMI160 / BMI270 board
        self.gyro = bool(self.link.settings.gyro)
        if self.gyro and not self.board.gyro:
            raise DeviceNotSupported(f"{self.link.name}: this board has no gyro")

    async def start(self, client: BleakClient) -> None:
        assert self.board is not None
        s, d = self.link.settings, self.link.spec.defaults
        commands = metawear.start_streaming_commands(
            chip=self.board.chip,
            acc_odr_hz=int(s.acc_rate_hz or d.acc_rate_hz or 200),
            acc_range_g=int(s.acc_range_g or d.acc_range_g or 16),
            gyro_odr_hz=int(s.gyr_rate_hz or s.acc_rate_hz or d.gyr_rate_hz or 200) if self.gyro else None,
            gyro_range_dps=int(s.gyr_range_dps or d.gyr_range_dps or 2000),
            packed=self.board.packed_acc,
            packed_gyro=self.board.packed_gyro,
        )
        for command in commands:
            await self.link._write(client, metawear.METAWEAR_COMMAND_UUID, command)

    async def stop(self, client: BleakClient) -> None:
        if self.board is not None:
            for command in metawear.stop_streaming_commands(chip=self.board.chip, gyro=self.gyro):
                with contextlib.suppress(Exception):
                    await self.link._write(client, metawear.METAWEAR_COMMAND_UUID, command)
        await self.link._unsubscribe_all(client)


_DRIVERS: dict[Protocol, type[_Driver]] = {
    Protocol.PMD: _PmdDriver,
    Protocol.OPENPOD: _OpenpodDriver,
    Protocol.RSC: _RscDriver,
    Protocol.METAWEAR: _MetaWearDriver,
}


def _watched(callback: Callable[[Any, bytearray], None], watch: Callable[[bytes], None]) -> Callable[..., None]:
    def on_notify(sender: Any, data: bytearray) -> None:  # SYNC: enqueue, then let the driver look
        callback(sender, data)
        watch(bytes(data))

    return on_notify


# =============================================================================================
# DeviceLink
# =============================================================================================


class DeviceLink:
    """One device: connect, negotiate, stream into a queue, reconnect, stop.

    ``device``: a `FoundDevice` (from `scan`) or a bleak `BLEDevice` (then ``kind`` is needed
    unless the name is recognised by the registry). ``queue``: where `RawPacket`s go (bounded; shared
    by a `LinkGroup`). ``clock``: the receive clock (``time.monotonic_ns`` unless shared).
    ``backend``: bleak client backend class (None = platform; tests: `emulation.BumbleClient`).
    ``device_id``: the `RawPacket.device` value (default: the address).
    """

    def __init__(
        self,
        device: FoundDevice | BLEDevice,
        *,
        kind: str | None = None,
        settings: StreamSettings | None = None,
        queue: asyncio.Queue[RawPacket] | None = None,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        clock: Clock = time.monotonic_ns,
        backend: type | None = None,
        device_id: str | None = None,
        reconnect: bool = True,
        reconnect_timeout_s: float = 60.0,
        connect_attempts: int = 3,
        control_timeout_s: float = 3.0,
        stop_timeout_s: float = 5.0,
        late_after_ms: float = 250.0,
        stall_timeout_s: float | None = None,
        session: Any = None,
    ) -> None:
        if isinstance(device, FoundDevice):
            found = device
            if found.ble_device is None:
                raise LinkError(f"{found.address}: FoundDevice without its BLEDevice; scan() for it")
            ble_device = found.ble_device
        else:
            ble_device = device
            found = found_device(device, device.name, (), None)
        try:
            spec = registry.get(str(kind)) if kind is not None else found.spec
        except registry.UnknownDeviceKind as exc:
            raise DeviceNotSupported(str(exc)) from None
        if spec is None:
            raise DeviceNotSupported(f"{found.name or found.address}: not a supported device (give kind=...)")
        driver_cls = _DRIVERS.get(spec.protocol)
        if driver_cls is None:
            raise DeviceNotSupported(f"{spec.label}: the {spec.protocol} transport is not implemented yet")
        self.found = found
        self.ble_device = ble_device
        self.spec = spec
        self.name = found.name or found.address
        self.address = found.address
        self.device_id = device_id or found.address
        self.placement = found.placement or spec.placement
        self.side = found.side
        self.settings = settings or StreamSettings()
        self.queue: asyncio.Queue[RawPacket] = queue if queue is not None else asyncio.Queue(queue_size)
        self.clock = clock
        self.backend = backend
        self.reconnect = reconnect
        self.reconnect_timeout_s = reconnect_timeout_s
        self.connect_attempts = connect_attempts
        self.control_timeout_s = control_timeout_s
        self.stop_timeout_s = stop_timeout_s
        self.late_after_ns = int(late_after_ms * 1e6)
        self.stall_timeout_s = stall_timeout_s
        self.session = session
        self.health = LinkHealth()
        self.finished = asyncio.Event()
        self.driver = driver_cls(self)
        self.client: BleakClient | None = None
        self._subscribed: list[str] = []
        self._pending: tuple[Callable[[Any], bool], asyncio.Future] | None = None
        self._request_lock = asyncio.Lock()
        self._stopping = False
        self._streaming = False
        self._reconnect_task: asyncio.Task | None = None
        self._stop_task: asyncio.Task | None = None
        self._watchdog: asyncio.Task | None = None

    def __repr__(self) -> str:
        return f"<DeviceLink {self.name} ({self.spec.kind}) {self.device_id}>"

    # -- the receive path --------------------------------------------------------------------
    def _put(self, packet: RawPacket) -> None:
        """Enqueue without ever blocking: when the queue is full the oldest packet goes."""
        q = self.queue
        while True:
            try:
                q.put_nowait(packet)
                return
            except asyncio.QueueFull:
                with contextlib.suppress(asyncio.QueueEmpty):
                    q.get_nowait()
                    self.health.dropped += 1

    def _data_callback(self, channel: str) -> Callable[[Any, bytearray], None]:
        clock, device, put, health = self.clock, self.device_id, self._put, self.health

        def on_notify(_sender: Any, data: bytearray) -> None:  # SYNC: enqueue only
            now = clock()
            health.received += 1
            health.last_rx_ns = now
            put(RawPacket(now, device, channel, bytes(data)))

        return on_notify

    def _control_callback(self, channel: str) -> Callable[[Any, bytearray], None]:
        def on_control(_sender: Any, data: bytearray) -> None:  # SYNC: enqueue, then hand to the driver
            payload = bytes(data)
            self.health.control += 1
            self._put(RawPacket(self.clock(), self.device_id, channel, payload))
            self.driver.on_control(payload)

        return on_control

    def _battery_callback(self, _sender: Any, data: bytearray) -> None:
        payload = bytes(data)
        if len(payload) == 1:
            self.health.battery_pct = payload[0]
        self._put(RawPacket(self.clock(), self.device_id, BATTERY_LEVEL_UUID, payload))

    def _put_control(self, channel: str, payload: bytes) -> None:
        self._put(RawPacket(self.clock(), self.device_id, channel, payload))

    def _put_link(self, what: bytes) -> None:
        self._put(RawPacket(self.clock(), self.device_id, LINK_CHANNEL, what))

    # -- helpers for drivers -----------------------------------------------------------------
    async def _subscribe(
        self,
        client: BleakClient,
        uuid: str,
        *,
        control: bool = False,
        watch: Callable[[bytes], None] | None = None,
    ) -> None:
        """Notifications of ``uuid`` into the queue (``control``: also to the driver's
        `on_control`); ``watch``: also to this (a characteristic that carries both answers
        and data, as MetaWear's does)."""
        callback = self._control_callback(uuid) if control else self._data_callback(uuid)
        await client.start_notify(uuid, callback if watch is None else _watched(callback, watch))
        if uuid not in self._subscribed:
            self._subscribed.append(uuid)

    async def _unsubscribe_all(self, client: BleakClient) -> None:
        for uuid in reversed(self._subscribed):
            with contextlib.suppress(Exception):
                await client.stop_notify(uuid)
        self._subscribed = []

    async def _write(self, client: BleakClient, uuid: str, payload: bytes) -> None:
        self._put(RawPacket(self.clock(), self.device_id, write_channel(uuid), payload))
        await client.write_gatt_char(uuid, payload, response=True)

    async def _request(self, client: BleakClient, uuid: str, payload: bytes, match: Callable[[Any], bool]) -> Any:
        """Write a command and wait for its answer (one outstanding request per device)."""
        async with self._request_lock:
            future: asyncio.Future = asyncio.get_running_loop().create_future()
            self._pending = (match, future)
            try:
                await self._write(client, uuid, payload)
                async with asyncio.timeout(self.control_timeout_s):
                    return await future
            except TimeoutError:
                raise ControlTimeout(
                    f"{self.name}: no answer to {payload.hex(' ')} within {self.control_timeout_s} s"
                ) from None
            finally:
                self._pending = None

    def _resolve(self, msg: Any) -> None:
        pending = self._pending
        if pending is not None and not pending[1].done() and pending[0](msg):
            pending[1].set_result(msg)

    # -- lifecycle ---------------------------------------------------------------------------
    async def __aenter__(self) -> DeviceLink:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Connect, negotiate and start streaming. Raises the protocol's typed error when the
        device refuses (e.g. `ControlPointError` INVALID_SAMPLE_RATE), after disconnecting."""
        try:
            await self._connect_and_start()
        except BaseException:
            await self._teardown(send_stop=False)
            raise
        if self.stall_timeout_s:
            self._watchdog = asyncio.get_running_loop().create_task(self._watch_stall())

    async def _connect_and_start(self) -> None:
        try:
            client = await establish_connection(
                BleakClient,
                self.ble_device,
                self.name,
                disconnected_callback=self._on_disconnected,
                max_attempts=self.connect_attempts,
                backend=self.backend,
            )
        except (BleakError, TimeoutError) as exc:
            raise ConnectFailed(f"{self.name}: {exc}") from exc
        self.client = client
        self._put_link(LINK_CONNECTED)
        await self._read_battery(client)
        await self.driver.prepare(client)
        await self.driver.start(client)
        self._streaming = True

    async def _read_battery(self, client: BleakClient) -> None:
        if client.services.get_characteristic(BATTERY_LEVEL_UUID) is None:
            return
        with contextlib.suppress(BleakError, TimeoutError):
            raw = bytes(await client.read_gatt_char(BATTERY_LEVEL_UUID))
            if len(raw) == 1:
                self.health.battery_pct = raw[0]
            self._put(RawPacket(self.clock(), self.device_id, BATTERY_LEVEL_UUID, raw))
            char = client.services.get_characteristic(BATTERY_LEVEL_UUID)
            if char is not None and "notify" in char.properties:
                await client.start_notify(BATTERY_LEVEL_UUID, self._battery_callback)

    def _on_disconnected(self, _client: BleakClient) -> None:
        """bleak calls this on an UNSOLICITED disconnect only."""
        self._streaming = False
        self._subscribed = []
        if self._stopping or self.finished.is_set():
            return
        self.health.disconnects += 1
        self.health.outages.append((self.clock(), None))
        self._put_link(LINK_DISCONNECTED)
        if self._pending is not None and not self._pending[1].done():
            self._pending[1].set_exception(LinkError(f"{self.name}: link lost during a command"))
        if self.reconnect:
            self._reconnect_task = asyncio.get_running_loop().create_task(self._reconnect_loop())
        else:
            self._finish("link lost")

    async def _reconnect_loop(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.reconnect_timeout_s
        delay = 0.1
        while not self._stopping:
            try:
                await self._connect_and_start()
            except (LinkError, BleakError, TimeoutError, OSError) as exc:
                logger.info("%s: reconnect failed (%s); retrying", self.name, exc)
                if self.client is not None:
                    with contextlib.suppress(Exception):
                        await self.client.disconnect()
                if loop.time() + delay > deadline:
                    self._finish(f"link lost: no reconnection within {self.reconnect_timeout_s} s")
                    return
                await asyncio.sleep(delay)
                delay = min(2.0, delay * 2)
                continue
            except (pmd.ProtocolError, openpod.OpenpodError) as exc:
                self._finish(f"device refused the restart: {exc}")
                with contextlib.suppress(Exception):
                    await self._teardown(send_stop=False)
                return
            self.health.reconnects += 1
            lost, _ = self.health.outages[-1]
            self.health.outages[-1] = (lost, self.clock())
            logger.info("%s: reconnected (%d)", self.name, self.health.reconnects)
            return

    async def _watch_stall(self) -> None:
        assert self.stall_timeout_s
        while not self.finished.is_set():
            await asyncio.sleep(self.stall_timeout_s / 4)
            last = self.health.last_rx_ns
            if self._streaming and last is not None and self.clock() - last > self.stall_timeout_s * 1e9:
                self._device_stopped(f"device went silent for {self.stall_timeout_s} s")
                return

    def _device_stopped(self, reason: str) -> None:
        """The device stopped streaming on its own: a clean end, reported, no reconnection."""
        if self.finished.is_set():
            return
        self.health.device_stopped = True
        self._finish(reason)
        self._stop_task = asyncio.get_running_loop().create_task(self._teardown(send_stop=True))

    def _finish(self, reason: str) -> None:
        if self.health.ended is None:
            self.health.ended = reason
        self.finished.set()

    async def stop(self) -> None:
        """Stop the streams (device STOP, unsubscribe) and disconnect. Idempotent; runs to the
        end even when the calling task is being cancelled (Ctrl-C)."""
        self._stopping = True
        if self._stop_task is None or self._stop_task.done():
            self._stop_task = asyncio.get_running_loop().create_task(self._teardown(send_stop=True))
        task = self._stop_task
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            await asyncio.wait({task}, timeout=self.stop_timeout_s)
            raise
        finally:
            self._finish(self.health.ended or "stopped")

    async def _teardown(self, *, send_stop: bool) -> None:
        self._stopping = True
        for task in (self._reconnect_task, self._watchdog):
            if task is not None and task is not asyncio.current_task() and not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        client = self.client
        if client is None:
            return
        if client.is_connected:
            try:
                async with asyncio.timeout(self.stop_timeout_s):
                    if send_stop and self._streaming:
                        await self.driver.stop(client)
                    else:
                        await self._unsubscribe_all(client)
            except Exception as exc:  # noqa: BLE001 - shutting down: report and go on disconnecting
                logger.warning("%s: stopping the streams failed: %s", self.name, exc)
            with contextlib.suppress(Exception):
                await client.disconnect()
        self._streaming = False

    # -- the consumer side -------------------------------------------------------------------
    def note_consumed(self, packet: RawPacket, now_ns: int | None = None) -> None:
        """Count ``packet`` as late if it waited in the queue longer than ``late_after_ms``."""
        now = self.clock() if now_ns is None else now_ns
        if now - packet.rx_time_ns > self.late_after_ns:
            self.health.late += 1

    async def get(self) -> RawPacket:
        packet = await self.queue.get()
        self.note_consumed(packet)
        return packet

    def feed(self, packet: RawPacket) -> list[Any]:
        """Decode with this link's `session` (if any); its malformed count becomes ours."""
        if self.session is None:
            return []
        before = self.session.counts["malformed"]
        records = self.session.feed(packet)
        self.health.malformed += self.session.counts["malformed"] - before
        return records


# =============================================================================================
# LinkGroup: several devices, one queue, one receive clock
# =============================================================================================


class LinkGroup:
    """Devices streaming together (a foot pod and a chest strap) into one queue, one clock."""

    def __init__(
        self,
        devices: Iterable[FoundDevice | BLEDevice | tuple[FoundDevice | BLEDevice, dict[str, Any]]],
        *,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        clock: Clock = time.monotonic_ns,
        backend: type | None = None,
        **common: Any,
    ) -> None:
        self.queue: asyncio.Queue[RawPacket] = asyncio.Queue(queue_size)
        self.clock = clock
        self.links: list[DeviceLink] = []
        for item in devices:
            dev, extra = item if isinstance(item, tuple) else (item, {})
            self.links.append(DeviceLink(dev, queue=self.queue, clock=clock, backend=backend, **{**common, **extra}))
        self._by_id = {link.device_id: link for link in self.links}

    def __getitem__(self, device_id: str) -> DeviceLink:
        return self._by_id[device_id]

    async def __aenter__(self) -> LinkGroup:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        results = await asyncio.gather(*(link.start() for link in self.links), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            await self.stop()
            raise errors[0]

    async def stop(self) -> None:
        await asyncio.gather(*(link.stop() for link in self.links), return_exceptions=True)

    @property
    def finished(self) -> bool:
        return all(link.finished.is_set() for link in self.links)

    async def get(self) -> RawPacket:
        packet = await self.queue.get()
        link = self._by_id.get(packet.device)
        if link is not None:
            link.note_consumed(packet)
        return packet

    async def packets(self, duration_s: float | None = None) -> AsyncIterator[RawPacket]:
        """Packets as they arrive, until every link finished (and the queue is empty) or
        ``duration_s`` of the receive clock passed."""
        end = None if duration_s is None else self.clock() + int(duration_s * 1e9)
        while True:
            if self.finished and self.queue.empty():
                return
            timeout = 0.1 if end is None else max(0.0, min(0.1, (end - self.clock()) / 1e9))
            if end is not None and self.clock() >= end:
                return
            try:
                async with asyncio.timeout(timeout):
                    packet = await self.get()
            except TimeoutError:
                continue
            yield packet

    def feed(self, packet: RawPacket) -> list[Any]:
        link = self._by_id.get(packet.device)
        return link.feed(packet) if link is not None else []

    def health(self) -> dict[str, LinkHealth]:
        return {link.device_id: link.health for link in self.links}


__all__ = [
    "ConnectFailed",
    "ControlTimeout",
    "DeviceLink",
    "DeviceNotSupported",
    "FoundDevice",
    "LinkError",
    "LinkGroup",
    "LinkHealth",
    "StreamSettings",
    "find",
    "found_device",
    "scan",
]
