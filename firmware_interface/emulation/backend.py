"""A bleak backend on Google Bumble: real ATT/GATT over an in-process virtual radio.

`EmulatedAir` is the radio: a `bumble.link.LocalLink` that every emulated controller joins,
plus the host's own adapter (one Bumble `Device` acting as central for scanning and for
every connection). Emulated peripherals (see `peripherals`) join the same air.

`BumbleScanner` and `BumbleClient` implement bleak's backend ABCs so that the unmodified
bleak API drives them::

    async with EmulatedAir() as air:
        await H10Emulator().attach(air)
        dev = await BleakScanner.find_device_by_name("Polar H10 ...", backend=BumbleScanner)
        async with BleakClient(dev, backend=BumbleClient) as client:
            ...

bleak instantiates backends itself, so they find their air through `current_air()` (the
innermost `EmulatedAir` entered in this process); pass ``air=`` through bleak's ``**kwargs``
to pick another one explicitly.

What is real here: advertising reports, connection setup, ATT MTU exchange (247), service /
characteristic / descriptor discovery, CCCD writes, notifications vs indications (with
confirmations), ATT error responses (raised as `BleakGATTProtocolError`) and HCI
disconnections with a reason code (an unsolicited one calls bleak's disconnected callback).
What is not: radio timing (the LocalLink delivers on the next event-loop turn), pairing.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import uuid as _uuid
from collections.abc import Callable
from typing import Any

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError
from bumble import att, core, hci
from bumble.controller import Controller
from bumble.core import AdvertisingData
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.host import Host
from bumble.transport.common import AsyncPipeSink

logger = logging.getLogger(__name__)

HOST_ADDRESS = "F0:F0:F0:F0:F0:F0"
PREFERRED_MTU = 247  # what BlueZ / Android / iOS negotiate with a peripheral that allows it
HCI_CONNECTION_TIMEOUT = 0x08  # "link lost": what a real central sees when the peer goes out of range
HCI_REMOTE_USER_TERMINATED = 0x13
HCI_LOCAL_HOST_TERMINATED = 0x16

_PROPERTY_NAMES = (
    (0x01, "broadcast"),
    (0x02, "read"),
    (0x04, "write-without-response"),
    (0x08, "write"),
    (0x10, "notify"),
    (0x20, "indicate"),
    (0x40, "authenticated-signed-writes"),
    (0x80, "extended-properties"),
)

_current: list[EmulatedAir] = []


def uuid_str(value: core.UUID) -> str:
    """A Bumble UUID as bleak's lower-case 128-bit string."""
    return str(_uuid.UUID(bytes=bytes(reversed(value.to_bytes(force_128=True)))))


def current_air() -> EmulatedAir:
    """The innermost `EmulatedAir` entered (``async with EmulatedAir()``)."""
    if not _current:
        raise BleakError(
            "no emulated radio: enter `async with EmulatedAir() as air:` (firmware_interface.emulation) "
            "before using BumbleScanner / BumbleClient"
        )
    return _current[-1]


class EmulatedAir:
    """One virtual radio: a Bumble LocalLink, the host adapter and the peripherals on it."""

    def __init__(self, host_address: str = HOST_ADDRESS) -> None:
        from bumble.link import LocalLink

        self.link = LocalLink()
        self.host_address = host_address
        self._host: Device | None = None
        self._host_lock = asyncio.Lock()
        self._connect_lock = asyncio.Lock()
        self._scanners = 0
        self._scan_lock = asyncio.Lock()
        self.peripherals: list[Any] = []  # emulated devices attached (see peripherals.py)
        self._addresses = itertools.count(1)
        self._controllers: dict[int, Controller] = {}

    # -- lifetime ----------------------------------------------------------------------------
    async def __aenter__(self) -> EmulatedAir:
        _current.append(self)
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            for peripheral in list(self.peripherals):
                with contextlib.suppress(Exception):
                    await peripheral.detach()
            if self._host is not None:
                for connection in list(self._host.connections.values()):
                    with contextlib.suppress(Exception):
                        await connection.disconnect(HCI_LOCAL_HOST_TERMINATED)
                if self._scanners:
                    with contextlib.suppress(Exception):
                        await self._host.stop_scanning()
        finally:
            if self in _current:
                _current.remove(self)

    # -- controllers -------------------------------------------------------------------------
    def next_address(self) -> str:
        """A fresh static random address (top two bits set), e.g. ``C0:00:00:00:00:01``."""
        n = next(self._addresses)
        return "C0:00:00:00:" + f"{n >> 8 & 0xFF:02X}:{n & 0xFF:02X}"

    def new_device(self, name: str, address: str) -> Device:
        """A Bumble device on this air (its own controller), not yet powered on."""
        controller = Controller(name, link=self.link, public_address=address)
        device = Device(name=name, address=hci.Address(address), host=Host(controller, AsyncPipeSink(controller)))
        self._controllers[id(device)] = controller
        return device

    def remove_device(self, device: Device) -> None:
        """Take a device's controller off the air (it can no longer be heard)."""
        controller = self._controllers.pop(id(device), None)
        if controller is not None and controller in self.link.controllers:
            self.link.remove_controller(controller)

    async def host(self) -> Device:
        """The host's adapter (created and powered on first use)."""
        async with self._host_lock:
            if self._host is None:
                device = self.new_device("host", self.host_address)
                await device.power_on()
                self._host = device
            return self._host

    # -- scanning (shared by every scanner on this air) --------------------------------------
    async def acquire_scan(self) -> Device:
        host = await self.host()
        async with self._scan_lock:
            self._scanners += 1
            if self._scanners == 1:
                await host.start_scanning(filter_duplicates=False)
        return host

    async def release_scan(self) -> None:
        async with self._scan_lock:
            self._scanners = max(0, self._scanners - 1)
            if self._scanners == 0 and self._host is not None and self._host.is_scanning:
                await self._host.stop_scanning()

    def rssi_of(self, address: str, reported: int) -> int:
        for peripheral in self.peripherals:
            if getattr(peripheral, "address", None) == address:
                return int(getattr(peripheral, "rssi", reported))
        return reported


def _air_from(kwargs: dict[str, Any]) -> EmulatedAir:
    air = kwargs.get("air")
    return air if isinstance(air, EmulatedAir) else current_air()


def _advertisement_data(adv: Advertisement, rssi: int) -> AdvertisementData:
    data = adv.data
    name = data.get(AdvertisingData.COMPLETE_LOCAL_NAME) or data.get(AdvertisingData.SHORTENED_LOCAL_NAME)
    if isinstance(name, bytes):
        name = name.decode("utf-8", "replace")
    uuids: list[str] = []
    for ad_type in (
        AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
        AdvertisingData.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
        AdvertisingData.COMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
        AdvertisingData.INCOMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
        AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
        AdvertisingData.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
    ):
        for value in data.get_all(ad_type):
            uuids.extend(uuid_str(u) for u in (value if isinstance(value, list) else [value]))
    manufacturer: dict[int, bytes] = {}
    for value in data.get_all(AdvertisingData.MANUFACTURER_SPECIFIC_DATA):
        company, payload = value
        manufacturer[int(company)] = bytes(payload)
    service_data: dict[str, bytes] = {}
    for ad_type in (
        AdvertisingData.SERVICE_DATA_16_BIT_UUID,
        AdvertisingData.SERVICE_DATA_32_BIT_UUID,
        AdvertisingData.SERVICE_DATA_128_BIT_UUID,
    ):
        for value in data.get_all(ad_type):
            service_uuid, payload = value
            service_data[uuid_str(service_uuid)] = bytes(payload)
    tx_power = data.get(AdvertisingData.TX_POWER_LEVEL)
    return AdvertisementData(
        local_name=name or None,
        manufacturer_data=manufacturer,
        service_data=service_data,
        service_uuids=list(dict.fromkeys(uuids)),  # ADV_IND and SCAN_RSP carry the same data here
        tx_power=int(tx_power) if isinstance(tx_power, int) else None,
        rssi=rssi,
        platform_data=(adv,),
    )


class BumbleScanner(BaseBleakScanner):
    """bleak scanner backend: advertising reports of the emulated air's host adapter."""

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._air = _air_from(kwargs)
        self._host: Device | None = None
        self._scanning = False

    async def start(self) -> None:
        self.seen_devices = {}
        self._host = await self._air.acquire_scan()
        self._host.on(Device.EVENT_ADVERTISEMENT, self._on_advertisement)
        self._scanning = True

    async def stop(self) -> None:
        if not self._scanning:
            return
        self._scanning = False
        if self._host is not None:
            self._host.remove_listener(Device.EVENT_ADVERTISEMENT, self._on_advertisement)
        await self._air.release_scan()

    def _on_advertisement(self, adv: Advertisement) -> None:
        address = str(adv.address).split("/")[0]
        adv_data = _advertisement_data(adv, self._air.rssi_of(address, adv.rssi))
        if not self.is_allowed_uuid(adv_data.service_uuids):
            return
        device = self.create_or_update_device(address, address, adv_data.local_name, adv.address, adv_data)
        self.call_detection_callbacks(device, adv_data)


class BumbleClient(BaseBleakClient):
    """bleak client backend: a GATT client over a Bumble connection on the emulated air.

    Accepts (and ignores) every keyword bleak and bleak-retry-connector pass (``bluez=``,
    ``winrt=``, ``pair=``, ``_is_retry_client=``...); ``air=`` selects the radio.
    """

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None = None,
        services: set[str] | None = None,
        timeout: float = 10.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout)
        self._air = _air_from(kwargs)
        self._name = address_or_ble_device.name if isinstance(address_or_ble_device, BLEDevice) else None
        self._requested_services = services
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._closing = False
        self._subscribers: dict[int, Callable[[bytes], None]] = {}

    # -- connection --------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._name or self.address.replace(":", "-")

    @property
    def mtu_size(self) -> int:
        return self._connection.att_mtu if self._connection is not None else 23

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def connect(self, pair: bool = False, **kwargs: Any) -> None:
        if self._connection is not None:
            return
        timeout = float(kwargs.get("timeout", self._timeout))
        host = await self._air.host()
        address = hci.Address(self.address)
        try:
            async with self._air._connect_lock:  # one pending LE connection per adapter (HCI rule)
                connection = await host.connect(address, timeout=timeout)
        except (core.TimeoutError, TimeoutError) as exc:
            raise BleakDeviceNotFoundError(self.address, f"device {self.address} not found (not advertising)") from exc
        except core.ConnectionError as exc:
            raise BleakError(f"connection to {self.address} failed: {exc}") from exc
        self._closing = False
        self._connection = connection
        connection.on(Connection.EVENT_DISCONNECTION, self._on_disconnection)
        try:
            peer = Peer(connection)
            await peer.request_mtu(PREFERRED_MTU)
            self._peer = peer
            self.services = await self._discover(peer)
        except BaseException:
            with contextlib.suppress(Exception):
                await self.disconnect()
            raise

    async def _discover(self, peer: Peer) -> BleakGATTServiceCollection:
        collection = BleakGATTServiceCollection()
        await peer.discover_services()
        for service_proxy in peer.services:
            service = BleakGATTService(service_proxy, service_proxy.handle, uuid_str(service_proxy.uuid))
            collection.add_service(service)
            await peer.discover_characteristics(service=service_proxy)
            for char_proxy in service_proxy.characteristics:
                props = [name for bit, name in _PROPERTY_NAMES if int(char_proxy.properties) & bit]
                char = BleakGATTCharacteristic(
                    char_proxy,
                    char_proxy.handle,
                    uuid_str(char_proxy.uuid),
                    props,  # type: ignore[arg-type]
                    lambda: self.mtu_size - 3,
                    service,
                )
                collection.add_characteristic(char)
                await peer.discover_descriptors(char_proxy)
                for desc_proxy in char_proxy.descriptors:
                    collection.add_descriptor(
                        BleakGATTDescriptor(desc_proxy, desc_proxy.handle, uuid_str(desc_proxy.type), char)
                    )
        return collection

    def _on_disconnection(self, reason: int) -> None:
        unsolicited = not self._closing
        self._connection = None
        self._peer = None
        self._subscribers.clear()
        logger.debug("emulated link to %s closed (reason 0x%02X, unsolicited=%s)", self.address, reason, unsolicited)
        if unsolicited and self._disconnected_callback is not None:
            self._disconnected_callback()

    async def disconnect(self) -> None:
        connection = self._connection
        if connection is None:
            return
        self._closing = True
        with contextlib.suppress(Exception):
            await connection.disconnect(HCI_LOCAL_HOST_TERMINATED)
        self._connection = None
        self._peer = None

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        return None  # the emulated devices need no pairing

    async def unpair(self) -> None:
        return None

    # -- GATT --------------------------------------------------------------------------------
    def _need_peer(self) -> Peer:
        if self._peer is None:
            raise BleakError("Not connected")
        return self._peer

    async def read_gatt_char(self, characteristic: BleakGATTCharacteristic, **kwargs: Any) -> bytearray:
        peer = self._need_peer()
        try:
            return bytearray(await peer.read_value(characteristic.obj))
        except att.ATT_Error as exc:
            raise BleakGATTProtocolError(exc.error_code) from exc

    async def read_gatt_descriptor(self, descriptor: BleakGATTDescriptor, **kwargs: Any) -> bytearray:
        peer = self._need_peer()
        try:
            return bytearray(await peer.read_value(descriptor.obj))
        except att.ATT_Error as exc:
            raise BleakGATTProtocolError(exc.error_code) from exc

    async def write_gatt_char(self, characteristic: BleakGATTCharacteristic, data: Any, response: bool) -> None:
        peer = self._need_peer()
        try:
            await peer.write_value(characteristic.obj, bytes(data), with_response=bool(response))
        except att.ATT_Error as exc:
            raise BleakGATTProtocolError(exc.error_code) from exc

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: Any) -> None:
        peer = self._need_peer()
        try:
            await peer.write_value(descriptor.obj, bytes(data), with_response=True)
        except att.ATT_Error as exc:
            raise BleakGATTProtocolError(exc.error_code) from exc

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        peer = self._need_peer()
        old = self._subscribers.pop(characteristic.handle, None)
        if old is not None:  # bleak semantics: a second start_notify replaces the callback
            with contextlib.suppress(Exception):
                await peer.unsubscribe(characteristic.obj, old)

        def subscriber(value: bytes) -> None:
            callback(bytearray(value))

        self._subscribers[characteristic.handle] = subscriber
        try:
            await peer.subscribe(characteristic.obj, subscriber, prefer_notify=True)
        except att.ATT_Error as exc:
            self._subscribers.pop(characteristic.handle, None)
            raise BleakGATTProtocolError(exc.error_code) from exc

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        peer = self._need_peer()
        subscriber = self._subscribers.pop(characteristic.handle, None)
        try:
            await peer.unsubscribe(characteristic.obj, subscriber)
        except att.ATT_Error as exc:
            raise BleakGATTProtocolError(exc.error_code) from exc
