"""Where raw packets come from: the `Source` interface and the factory `open_source`.

A source is an async iterator of `RawPacket` with JSON-able ``metadata`` and the list of
devices it will deliver (`DeviceConfig`: id, decoder kind, placement, side, settings):

    source = open_source("csv", path="run.csv", placement="foot", side="left", speed=None)
    async for packet in source:          # RawPacket(rx_time_ns, device, channel, payload)
        ...
    source.stop()                        # from anywhere: the iteration ends cleanly

Kinds:

- ``replay``: a capture file (`capture.py`), at original timing (``speed=1``), N times faster
  (``speed=N``) or as fast as possible (``speed=None``). Packets keep their recorded receive
  times, so a replay goes through the decoders exactly as the live run did.
- ``csv``: a CSV recording (`files/recording.py`) chopped into openpod packets by a pod
  emulator (`PodEncoder`: the openpod encoder, int16 at ±16 g / ±2000 deg/s, sequence numbers,
  first-sample µs timestamps), so CSV data drives the live path exactly like a DIY pod.
- ``simulator``: the same pod emulator fed by sample blocks the caller provides (a synthetic
  runner), with optional device-clock offset / drift, transport latency and impairments
  (lost, duplicated, garbled packets) per device: tests and demos of the live path.
- ``phone``: openpod packets over UDP, one packet per datagram (SPEC.md section 9; a phone
  app or a bridge sends them).
- ``ble``: the bleak transport (`firmware_interface.ble`), imported only when asked for.
- ``emulated``: emulated BLE sensors (H10, Verity Sense, openpod, RSC pod) on an in-process
  Bumble radio, streaming a CSV recording's motion through the very same ``ble`` transport
  (bleak API, `ble.LinkGroup`): the hardware path without hardware. That source belongs to
  the emulation layer (`firmware_interface.emulation.source`); this module builds it on
  demand and re-exports `EmulatedDevice` / `EmulatedSource` for existing callers.

Receive times are ``time.monotonic_ns()`` for live sources. File-driven sources (csv,
simulator) make them deterministic: start time + data time + modelled latency; with
``speed=1`` they are also paced to arrive then.
"""

from __future__ import annotations

import asyncio
import heapq
import math
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from firmware_interface.capture import CaptureReader
from firmware_interface.devices import openpod as openpod_device
from firmware_interface.devices import registry
from firmware_interface.openpod import codec as openpod
from firmware_interface.session import BATTERY_LEVEL_UUID, LINK_CHANNEL, LINK_CONNECTED, DeviceConfig, RawPacket
from gait.core.records import SampleBlock

SOURCE_KINDS = ("replay", "csv", "simulator", "phone", "ble", "emulated")
DEFAULT_LATENCY_MS = 8.0  # modelled BLE transport latency of emulated pods (one connection interval or so)


class Source(ABC):
    """An async iterator of `RawPacket`. ``metadata`` describes the source (JSON-able, goes
    into capture headers); ``devices`` the devices it delivers (may grow for live sources)."""

    kind = "source"

    def __init__(self) -> None:
        self.metadata: dict[str, Any] = {"source": self.kind}
        self.devices: list[DeviceConfig] = []
        self._stopped = False

    def __aiter__(self) -> AsyncIterator[RawPacket]:
        return self.packets()

    @abstractmethod
    def packets(self) -> AsyncIterator[RawPacket]:
        """The packets, in receive order."""

    async def prepare(self) -> None:
        """Find the devices before streaming (BLE: scan / connect), so that ``devices`` is
        complete when the consumer sets up its decoders. No-op for file sources."""
        return None

    def stop(self) -> None:
        """Ask the source to end: the iteration finishes after the packet in hand."""
        self._stopped = True

    @property
    def stopped(self) -> bool:
        return self._stopped

    async def aclose(self) -> None:
        """Release what the source holds (connections, sockets, files)."""
        self.stop()


class Pacer:
    """Paces packets to their receive times: ``speed`` 1 = original timing, N = N x faster,
    None = as fast as possible (it still yields to the event loop now and then)."""

    def __init__(self, speed: float | None):
        if speed is not None and not (speed > 0 and math.isfinite(speed)):
            raise ValueError(f"speed must be a positive number or None (max), got {speed!r}")
        self.speed = speed
        self._rx0: int | None = None
        self._wall0 = 0
        self._count = 0

    async def wait(self, rx_time_ns: int) -> None:
        self._count += 1
        if self.speed is None:
            if self._count % 64 == 0:
                await asyncio.sleep(0)
            return
        if self._rx0 is None:
            self._rx0, self._wall0 = rx_time_ns, time.monotonic_ns()
            return
        due = self._wall0 + (rx_time_ns - self._rx0) / self.speed
        ahead = (due - time.monotonic_ns()) / 1e9
        if ahead > 0:
            await asyncio.sleep(ahead)
        elif self._count % 64 == 0:
            await asyncio.sleep(0)


def parse_speed(text: str | float | None) -> float | None:
    """``"max"`` / None -> None (as fast as possible); ``"1"``, ``"2.5"``, ``"4x"`` -> a factor."""
    if text is None:
        return None
    if isinstance(text, int | float):
        return float(text)
    t = text.strip().lower()
    if t in ("max", "fast", ""):
        return None
    t = t.removesuffix("x")
    value = float(t)
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"speed must be 'max' or a positive factor, got {text!r}")
    return value


# ----------------------------------------------------------------------------------------------
# replay
# ----------------------------------------------------------------------------------------------
class ReplaySource(Source):
    """A capture file, packet by packet, with the recorded receive times."""

    kind = "replay"

    def __init__(self, path: str | Path, speed: float | None = None):
        super().__init__()
        self.path = Path(path)
        self.reader = CaptureReader(self.path)
        self.speed = speed
        meta = self.reader.metadata
        self.metadata = {"source": "replay", "path": self.path.name, "capture": meta}
        self.devices = [DeviceConfig.from_dict(d) for d in meta.get("devices", [])]

    @property
    def capture_metadata(self) -> dict[str, Any]:
        return self.reader.metadata

    async def packets(self) -> AsyncIterator[RawPacket]:
        pacer = Pacer(self.speed)
        for packet in self.reader.packets():
            if self._stopped:
                return
            await pacer.wait(packet.rx_time_ns)
            yield packet


# ----------------------------------------------------------------------------------------------
# pod emulation: sample blocks -> openpod packets
# ----------------------------------------------------------------------------------------------
def nearest_openpod_rate(rate_hz: float) -> float:
    """The openpod rate (SPEC.md table 4.2) nearest to ``rate_hz`` (by ratio)."""
    rates = sorted(openpod.RATE_CODES.values())
    return min(rates, key=lambda r: abs(math.log(r / rate_hz)))


class PodEncoder:
    """A device-side openpod encoder: samples in (SI), packets out, as a pod firmware would.

    Quantizes to int16 at ``acc_range_g`` / ``gyr_range_dps`` (saturating like a sensor),
    numbers packets (uint16 seq from 0), stamps each with the device time of its first sample
    in µs (``device_time_s(t)``: data time -> device clock seconds, for clock offset / drift),
    starts a new packet at a time gap, and never sends a non-finite sample (the next packet
    carries OVERRUN, as SPEC.md section 3 says).
    """

    def __init__(
        self,
        rate_hz: float,
        *,
        gyro: bool,
        acc_range_g: int = 16,
        gyr_range_dps: int = 2000,
        samples_per_packet: int | None = None,
        device_time_s: Callable[[float], float] | None = None,
        clock_origin_us: int = 1_000_000,
    ):
        self.rate_hz = float(rate_hz)
        openpod.rate_code(self.rate_hz)  # raises InvalidField for a rate openpod does not define
        self.gyro = gyro
        self.acc_range_g = acc_range_g
        self.gyr_range_dps = gyr_range_dps
        full = openpod.max_samples(247, gyro=gyro)
        self.samples_per_packet = samples_per_packet or max(1, min(full, int(round(self.rate_hz * 0.1))))
        self.device_time_s = device_time_s or (lambda t: t)
        self.clock_origin_us = clock_origin_us
        self.seq = 0
        self._overrun = False
        self._last_t: float | None = None
        self._pending: list[tuple[float, np.ndarray, np.ndarray | None]] = []

    def encode(self, block: SampleBlock) -> Iterator[tuple[float, bytes]]:
        """(data time of the packet's last sample, packet bytes) for every packet that fills up
        with the samples of ``block``; a partial packet waits for the next block (`flush`)."""
        t = block.time_s
        acc = block.acc_mps2
        gyr = block.gyr_dps if self.gyro else None
        if self.gyro and gyr is None:
            gyr = np.full_like(acc, np.nan)
        good = np.all(np.isfinite(acc), axis=1)
        if gyr is not None:
            good &= np.all(np.isfinite(gyr), axis=1)
        period = 1.0 / self.rate_hz
        for i in range(len(t)):
            if not good[i]:
                self._overrun = True  # a sample the device could not read is not sent
                continue
            ti = float(t[i])
            if self._pending and ti - self._pending[-1][0] > 1.5 * period:
                yield from self.flush()  # a time gap: a packet's samples are evenly spaced
            if self._last_t is not None and not self._pending and ti - self._last_t > 1.5 * period:
                self._overrun = True  # the device lost samples before this one
            self._pending.append((ti, acc[i], None if gyr is None else gyr[i]))
            if len(self._pending) >= self.samples_per_packet:
                yield from self.flush()

    def flush(self) -> Iterator[tuple[float, bytes]]:
        """The partial packet, if any (end of data, or a time gap)."""
        if not self._pending:
            return
        rows = self._pending
        self._pending = []
        acc = np.array([r[1] for r in rows])
        gyr = None if rows[0][2] is None else np.array([r[2] for r in rows])
        self._last_t = rows[-1][0]
        yield rows[-1][0], self._packet(rows[0][0], acc, gyr)

    def _packet(self, t0: float, acc: np.ndarray, gyr: np.ndarray | None) -> bytes:
        ts = self.clock_origin_us + int(round(self.device_time_s(float(t0)) * 1e6))
        flags = openpod.FLAG_OVERRUN if self._overrun else 0
        self._overrun = False
        data = openpod.encode_packet(
            seq=self.seq,
            timestamp_us=max(0, ts),
            rate_hz=self.rate_hz,
            acc_range_g=self.acc_range_g,
            acc_raw=openpod.acc_to_raw(acc, self.acc_range_g),
            gyr_range_dps=self.gyr_range_dps if gyr is not None else None,
            gyr_raw=None if gyr is None else openpod.gyr_to_raw(gyr, self.gyr_range_dps),
            flags=flags,
        )
        self.seq = (self.seq + 1) & 0xFFFF
        return data


@dataclass
class Impairment:
    """What goes wrong on the way (deterministic for a given ``seed``): probabilities per
    packet of being lost, delivered twice, or garbled (bytes flipped: the CRC catches it);
    ``delay_probability`` / ``delay_ms``: a packet held back (and those behind it, BLE is
    in order) by that long."""

    loss: float = 0.0
    duplicate: float = 0.0
    garble: float = 0.0
    delay_probability: float = 0.0
    delay_ms: float = 300.0
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class PodStream:
    """One emulated pod: its device config, the sample blocks it measures, its clock (offset
    in seconds and drift in ppm against true time) and transport model."""

    config: DeviceConfig
    blocks: Iterable[SampleBlock]
    rate_hz: float
    gyro: bool
    clock_offset_s: float = 0.0
    clock_drift_ppm: float = 0.0
    latency_ms: float = DEFAULT_LATENCY_MS
    jitter_ms: float = 4.0
    impairment: Impairment = field(default_factory=Impairment)
    battery_pct: int | None = None
    acc_range_g: int = 16  # the pod's accelerometer full scale (int16 quantisation, saturation)

    def packets(self, rx0_ns: int, t0: float) -> Iterator[RawPacket]:
        """Packets with receive times ``rx0 + (data time - t0) + latency`` (in order)."""
        drift = 1.0 + self.clock_drift_ppm * 1e-6
        enc = PodEncoder(
            self.rate_hz,
            gyro=self.gyro,
            acc_range_g=self.acc_range_g,
            device_time_s=lambda t: (t - t0) * drift + self.clock_offset_s,
        )
        imp = self.impairment
        rng = np.random.default_rng(imp.seed)
        dev = self.config.id
        ch = openpod.DATA_UUID
        last_rx = rx0_ns
        yield RawPacket(rx0_ns, dev, LINK_CHANNEL, LINK_CONNECTED)
        if self.battery_pct is not None:
            yield RawPacket(rx0_ns, dev, BATTERY_LEVEL_UUID, bytes((self.battery_pct,)))
        for t_last, data in _chain_encoded(enc, self.blocks):
            u = rng.random(5)
            latency = self.latency_ms + rng.exponential(self.jitter_ms) if self.jitter_ms > 0 else self.latency_ms
            if u[3] < imp.delay_probability:
                latency += imp.delay_ms
            rx = max(last_rx, rx0_ns + int(round((t_last - t0 + latency * 1e-3) * 1e9)))
            last_rx = rx
            if u[0] < imp.loss:
                continue
            if u[2] < imp.garble:
                b = bytearray(data)
                k = int(rng.integers(0, len(b)))
                b[k] ^= 0x5A
                data = bytes(b)
            yield RawPacket(rx, dev, ch, data)
            if u[1] < imp.duplicate:
                yield RawPacket(rx, dev, ch, data)


def _chain_encoded(enc: PodEncoder, blocks: Iterable[SampleBlock]) -> Iterator[tuple[float, bytes]]:
    for block in blocks:
        yield from enc.encode(block)
    yield from enc.flush()


class PodSource(Source):
    """Emulated openpod devices (one or more `PodStream`s), merged in receive-time order."""

    kind = "pods"

    def __init__(
        self, streams: list[PodStream], speed: float | None = None, rx0_ns: int | None = None, t0: float = 0.0
    ):
        super().__init__()
        self._t0_s = t0
        if not streams:
            raise ValueError("no devices to emulate")
        self.streams = streams
        self.speed = speed
        self.rx0_ns = rx0_ns
        self.devices = [s.config for s in streams]
        self.metadata = {"source": self.kind}

    async def packets(self) -> AsyncIterator[RawPacket]:
        rx0 = self.rx0_ns if self.rx0_ns is not None else time.monotonic_ns()
        t0 = self._t0_s
        iters = [s.packets(rx0, t0) for s in self.streams]
        merged = heapq.merge(*iters, key=lambda p: p.rx_time_ns)
        pacer = Pacer(self.speed)
        for packet in merged:
            if self._stopped:
                return
            await pacer.wait(packet.rx_time_ns)
            yield packet


class CsvSource(PodSource):
    """A CSV recording played as an openpod pod (see module docstring)."""

    kind = "csv"

    def __init__(
        self,
        path: str | Path,
        *,
        device: str = "csv-pod",
        placement: str | None = None,
        side: str | None = None,
        speed: float | None = None,
        rx0_ns: int | None = None,
        impairment: Impairment | None = None,
        latency_ms: float = DEFAULT_LATENCY_MS,
        jitter_ms: float = 4.0,
        block_s: float = 1.0,
    ):
        from firmware_interface.files.recording import read_recording

        rec = read_recording(path)
        placement = placement or rec.metadata.get("placement")
        side = side or rec.metadata.get("side")
        rate = nearest_openpod_rate(rec.sampling_rate_hz)
        gyro = rec.gyr_dps is not None
        blocks = _csv_blocks(rec.time_s, rec.acc_mps2, rec.gyr_dps, rate, block_s)
        config = DeviceConfig(device, openpod_device.SPEC.kind, placement, side, {"sample_rate_hz": rate})
        stream = PodStream(
            config,
            blocks,
            rate,
            gyro,
            latency_ms=latency_ms,
            jitter_ms=jitter_ms,
            impairment=impairment or Impairment(),
        )
        super().__init__([stream], speed=speed, rx0_ns=rx0_ns, t0=float(rec.time_s[0]))
        self.metadata = {
            "source": "csv",
            "path": Path(path).name,
            "csv_rate_hz": round(rec.sampling_rate_hz, 3),
            "pod_rate_hz": rate,
            "resampled": abs(rate / rec.sampling_rate_hz - 1.0) > 0.002,
            "csv_metadata": rec.metadata,
            "impairment": stream.impairment.to_dict(),
        }


def _csv_blocks(
    t: np.ndarray, acc: np.ndarray, gyr: np.ndarray | None, rate: float, block_s: float
) -> Iterator[SampleBlock]:
    """The recording in blocks of ``block_s``; resampled linearly onto ``rate`` when the
    recording's rate is not an openpod rate (within 0.2 %)."""
    est = 1.0 / float(np.median(np.diff(t)))
    if abs(rate / est - 1.0) > 0.002:
        grid = t[0] + np.arange(int(math.floor((t[-1] - t[0]) * rate)) + 1) / rate
        acc = np.column_stack([np.interp(grid, t, acc[:, c]) for c in range(3)])
        if gyr is not None:
            gyr = np.column_stack([np.interp(grid, t, gyr[:, c]) for c in range(3)])
        t = grid
    step = max(1, int(round(block_s * rate)))
    for i in range(0, len(t), step):
        j = min(len(t), i + step)
        yield SampleBlock(time_s=t[i:j], acc_mps2=acc[i:j], gyr_dps=None if gyr is None else gyr[i:j], index0=i)


class SimulatorSource(PodSource):
    """Emulated pods fed with sample blocks from the caller (e.g. a synthetic runner)."""

    kind = "simulator"

    def __init__(self, streams: list[PodStream], speed: float | None = None, rx0_ns: int | None = None):
        super().__init__(streams, speed=speed, rx0_ns=rx0_ns)
        self.metadata = {
            "source": "simulator",
            "streams": [
                {
                    "device": s.config.id,
                    "rate_hz": s.rate_hz,
                    "clock_offset_s": s.clock_offset_s,
                    "clock_drift_ppm": s.clock_drift_ppm,
                    "latency_ms": s.latency_ms,
                    "impairment": s.impairment.to_dict(),
                }
                for s in streams
            ],
        }


# ----------------------------------------------------------------------------------------------
# phone: openpod over UDP
# ----------------------------------------------------------------------------------------------
class PhoneSource(Source):
    """openpod packets over UDP (one packet per datagram, SPEC.md section 9). Every sender
    (host:port) is a device, unless ``device`` names the one device; the source ends after
    ``idle_timeout_s`` without data (None: only on `stop`)."""

    kind = "phone"

    def __init__(
        self,
        host: str = "0.0.0.0",
        port: int = 5555,
        *,
        device: str | None = None,
        placement: str | None = None,
        side: str | None = None,
        idle_timeout_s: float | None = 30.0,
    ):
        super().__init__()
        self.host, self.port, self.device = host, port, device
        self.idle_timeout_s = idle_timeout_s
        self.placement, self.side = placement, side
        if device:
            self.devices = [DeviceConfig(device, openpod_device.SPEC.kind, placement, side)]
        self.metadata = {"source": "phone", "transport": "udp", "port": port}
        self._transport: asyncio.DatagramTransport | None = None

    async def packets(self) -> AsyncIterator[RawPacket]:
        queue: asyncio.Queue[RawPacket] = asyncio.Queue()
        name = self.device

        class _Proto(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple) -> None:
                dev = name or f"udp-{addr[0]}:{addr[1]}"
                queue.put_nowait(RawPacket(time.monotonic_ns(), dev, openpod.DATA_UUID, bytes(data)))

        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.create_datagram_endpoint(_Proto, local_addr=(self.host, self.port))
        try:
            while not self._stopped:
                try:
                    packet = await asyncio.wait_for(queue.get(), timeout=self.idle_timeout_s or 0.5)
                except TimeoutError:
                    if self.idle_timeout_s is not None:
                        return
                    continue
                if not any(d.id == packet.device for d in self.devices):
                    self.devices.append(
                        DeviceConfig(packet.device, openpod_device.SPEC.kind, self.placement, self.side)
                    )
                yield packet
        finally:
            self._transport.close()

    async def aclose(self) -> None:
        self.stop()
        if self._transport is not None:
            self._transport.close()


# ----------------------------------------------------------------------------------------------
# BLE (the transport in firmware_interface.ble; bleak is imported only here)
# ----------------------------------------------------------------------------------------------


def _rate(value: Any) -> int | float | None:
    if value is None:
        return None
    v = float(value)
    return int(v) if v.is_integer() else v


def stream_settings(settings: dict[str, Any]) -> Any:
    """A device's settings (`DeviceConfig.settings`, the ``--device`` keys) as the
    `ble.StreamSettings` the transport negotiates: ``sample_rate_hz`` (or ``acc_rate_hz``) is
    the accelerometer rate asked for in START / CONFIGURE; ``gyro``, ``gyro_rate_hz`` (or
    ``gyr_rate_hz``), ``acc_range_g``, ``gyr_range_dps`` (or ``gyro_range_dps``),
    ``resolution_bits``, ``sdk_mode`` and ``set_time`` likewise. Keys it does not know are the
    decoder's (``factor``, ``max_wait_s``...)."""
    from firmware_interface.ble import StreamSettings

    s = settings

    def first(*keys: str) -> Any:
        return next((s[k] for k in keys if s.get(k) is not None), None)

    bits = first("resolution_bits")
    acc_range = first("acc_range_g")
    gyr_range = first("gyr_range_dps", "gyro_range_dps")
    return StreamSettings(
        acc_rate_hz=_rate(first("acc_rate_hz", "sample_rate_hz")),  # type: ignore[arg-type]
        acc_range_g=None if acc_range is None else int(acc_range),
        gyro=None if s.get("gyro") is None else bool(s["gyro"]),
        gyr_rate_hz=_rate(first("gyr_rate_hz", "gyro_rate_hz")),  # type: ignore[arg-type]
        gyr_range_dps=None if gyr_range is None else int(gyr_range),
        resolution_bits=None if bits is None else int(bits),
        sdk_mode=bool(s.get("sdk_mode", False)),
        set_time=bool(s.get("set_time", True)),
    )


def explain_radio_error(exc: BaseException, hint: str = "--source emulated") -> str | None:
    """One line saying what is missing when the platform's Bluetooth cannot be used at all
    (no D-Bus, BlueZ not running, no adapter, adapter off, access denied); None when ``exc``
    is something else (a device that does not answer, a protocol error...). ``hint``: the
    option that runs without hardware, appended as a suggestion ("" = none)."""
    import os
    import sys

    try:
        from bleak.exc import BleakBluetoothNotAvailableError, BleakDBusError, BleakError
    except ImportError:  # pragma: no cover - bleak is a dependency
        return None
    hint = f" (to try without hardware: {hint})" if hint else ""
    if isinstance(exc, BleakBluetoothNotAvailableError):
        reason = getattr(exc.reason, "name", "UNKNOWN")
        what = {
            "NO_BLUETOOTH": "no Bluetooth adapter found",
            "NO_BLE_CENTRAL_ROLE": "the Bluetooth adapter cannot act as a BLE central (a classic-only adapter?)",
            "POWERED_OFF": "the Bluetooth adapter is powered off (switch it on, e.g. `bluetoothctl power on`)",
            "DENIED_BY_USER": "access to Bluetooth was denied (allow this program to use Bluetooth)",
            "DENIED_BY_SYSTEM": "access to Bluetooth was denied by the system (D-Bus policy: is the user in the "
            "bluetooth group?)",
        }.get(reason, f"Bluetooth is not available ({exc.args[0] if exc.args else reason})")
        return what + hint
    if isinstance(exc, BleakDBusError):
        if exc.dbus_error in ("org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner"):
            return "BlueZ is not running (org.bluez is not on the system D-Bus): start bluetoothd" + hint
        return None
    if isinstance(exc, BleakError):
        msg = str(exc)
        if "adapter" in msg and "not found" in msg:
            return f"Bluetooth adapter not found ({msg})" + hint
        return None
    linux = sys.platform.startswith("linux")
    if linux and isinstance(exc, FileNotFoundError | ConnectionRefusedError | PermissionError):
        bus = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/run/dbus/system_bus_socket")
        what = {
            FileNotFoundError: "no system D-Bus socket",
            ConnectionRefusedError: "the system D-Bus refused the connection",
            PermissionError: "no permission to open the system D-Bus",
        }[type(exc)]
        return f"BlueZ/D-Bus not available: {what} ({bus}); is dbus and bluetoothd running?" + hint
    return None


class BleSource(Source):
    """Devices over BLE through `firmware_interface.ble.LinkGroup` (connect, negotiate, START,
    reconnect, STOP on exit). ``devices``: the ones to use, by address or advertised name in
    `DeviceConfig.id` (``kind`` ``auto`` = from the catalogue); none given = the strongest
    supported device a scan finds. A device's ``settings`` go both to its decoder and, as
    `ble.StreamSettings` (`stream_settings`), to its link, so the rate asked for is the rate
    negotiated. ``scanner_backend`` / ``client_backend``: bleak backends (None = the
    platform's; tests pass the Bumble emulation). The source ends when every link has finished
    (given up reconnecting) or after ``duration_s``. Without a usable radio `prepare` raises
    `ble.LinkError` with one line saying what is missing (`explain_radio_error`)."""

    kind = "ble"

    def __init__(
        self,
        devices: Iterable[DeviceConfig] = (),
        *,
        scan_timeout_s: float = 5.0,
        duration_s: float | None = None,
        scanner_backend: type | None = None,
        client_backend: type | None = None,
        link_options: dict[str, Any] | None = None,
    ):
        super().__init__()
        self.requested = list(devices)
        self.scan_timeout_s = scan_timeout_s
        self.duration_s = duration_s
        self.scanner_backend = scanner_backend
        self.client_backend = client_backend
        self.link_options = dict(link_options or {})
        self.group: Any = None
        self.metadata = {"source": "ble"}

    async def _discover(self) -> list[tuple[Any, DeviceConfig | None]]:
        from firmware_interface import ble

        found: list[tuple[Any, DeviceConfig | None]] = []
        if self.requested:
            for spec in self.requested:
                dev = await ble.find(spec.id, timeout=self.scan_timeout_s * 2, backend=self.scanner_backend)
                if dev is None:
                    raise ble.LinkError(f"{spec.id}: not found (is it on, advertising, and in range?)")
                found.append((dev, spec))
        else:
            devices = await ble.scan(self.scan_timeout_s, backend=self.scanner_backend)
            if not devices:
                raise ble.LinkError("no supported device found: switch one on (or name it with --device id=...)")
            found.append((devices[0], None))
        return found

    async def prepare(self) -> None:
        from firmware_interface import ble

        try:
            found = await self._discover()
        except ble.LinkError:
            raise
        except Exception as exc:
            why = explain_radio_error(exc)
            if why is None:
                raise
            raise ble.LinkError(why) from exc
        links = []
        for dev, spec in found:
            explicit = spec is not None and spec.kind not in ("", "auto")
            kind = spec.kind if explicit else str(dev.kind)  # type: ignore[union-attr]
            try:
                if registry.get(kind).session is None:
                    raise ble.DeviceNotSupported(f"{dev.name or dev.address}: no decoder for kind {kind!r}")
            except registry.UnknownDeviceKind as exc:
                raise ble.DeviceNotSupported(f"{dev.name or dev.address}: {exc}") from None
            device_id = dev.address
            settings = dict(spec.settings) if spec else {}
            if settings.get("sample_rate_hz") is None and settings.get("acc_rate_hz") is not None:
                settings["sample_rate_hz"] = settings["acc_rate_hz"]  # the decoder's name for it
            self.devices.append(
                DeviceConfig(
                    device_id,
                    kind,
                    (spec.placement if spec else None) or dev.placement,
                    (spec.side if spec else None) or dev.side,
                    settings,
                )
            )
            options = {"kind": kind, "device_id": device_id, "settings": stream_settings(settings)}
            links.append((dev, {**options, **self.link_options}))
        self.group = ble.LinkGroup(links, backend=self.client_backend)
        self.metadata = {
            "source": "ble",
            "devices": [{"address": d.address, "name": d.name, "kind": str(d.kind)} for d, _ in found],
        }
        await self.group.start()

    async def packets(self) -> AsyncIterator[RawPacket]:
        if self.group is None:
            await self.prepare()
        try:
            async for packet in self.group.packets(self.duration_s):
                if self._stopped:
                    return
                yield packet
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        self.stop()
        group, self.group = self.group, None
        if group is not None:
            await group.stop()


# ----------------------------------------------------------------------------------------------
# factory
# ----------------------------------------------------------------------------------------------
def open_source(kind: str, **options: Any) -> Source:
    """A source of ``kind`` (`SOURCE_KINDS`) with its options:

    - replay: ``path``, ``speed``
    - csv: ``path``, ``device``, ``placement``, ``side``, ``speed``, ``impairment``, ``rx0_ns``
    - simulator: ``streams`` (list of `PodStream`), ``speed``, ``rx0_ns``
    - phone: ``host``, ``port``, ``device``, ``placement``, ``side``, ``idle_timeout_s``
    - ble: ``devices`` (`DeviceConfig` list), ``scan_timeout_s``, ``duration_s``,
      ``scanner_backend``, ``client_backend``, ``link_options`` (`BleSource`)
    - emulated: ``devices`` (`EmulatedDevice` list), ``time_scale``, ``duration_s``, ``faults``,
      ``scan_timeout_s``, ``link_options`` (`EmulatedSource`)
    """
    if kind == "replay":
        return ReplaySource(options["path"], speed=options.get("speed"))
    if kind == "csv":
        path = options.pop("path")
        return CsvSource(path, **options)
    if kind == "simulator":
        return SimulatorSource(options["streams"], speed=options.get("speed"), rx0_ns=options.get("rx0_ns"))
    if kind == "phone":
        return PhoneSource(**options)
    if kind == "ble":
        return BleSource(**options)
    if kind == "emulated":
        from firmware_interface.emulation.source import EmulatedSource

        return EmulatedSource(**options)
    raise ValueError(f"unknown source kind {kind!r}; one of {', '.join(SOURCE_KINDS)}")


def __getattr__(name: str) -> Any:
    """``EmulatedDevice`` / ``EmulatedSource`` are the emulation layer's
    (`firmware_interface.emulation.source`): still importable from here, loaded on demand (the
    emulation extra, bumble, may be missing). Import them from the emulation package in new code."""
    if name in ("EmulatedDevice", "EmulatedSource"):
        from firmware_interface.emulation import source

        return getattr(source, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
