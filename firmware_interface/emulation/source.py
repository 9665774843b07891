"""Emulated BLE sensors as a source: the emulators of `peripherals` advertising on an
in-process Bumble radio, found and streamed through the real transport (`BleSource`).

    source = EmulatedSource([EmulatedDevice.parse("kind=h10,placement=chest")], time_scale=4)

This is the emulation layer's source (it sits above `firmware_interface.sources`, which
re-exports `EmulatedDevice` / `EmulatedSource` and builds it in `open_source("emulated")`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from firmware_interface.devices import registry
from firmware_interface.emulation.backend import BumbleClient, BumbleScanner, EmulatedAir
from firmware_interface.emulation.peripherals import (
    EmulatedPeripheral,
    H10Emulator,
    MetaWearEmulator,
    OpenpodEmulator,
    RscPodEmulator,
    VeritySenseEmulator,
    motion_from_block,
    synthetic_running,
)
from firmware_interface.files.recording import read_recording
from firmware_interface.session import DeviceConfig, RawPacket
from firmware_interface.sources import BleSource, Source

# The emulated devices, one per kind (its `kind` is the canonical name of the registry);
# `gait scan --emulated` shows them with their `scan_rssi`. Adding an emulator: one line here.
EMULATORS: tuple[type[EmulatedPeripheral], ...] = (
    H10Emulator,
    VeritySenseEmulator,
    OpenpodEmulator,
    RscPodEmulator,
    MetaWearEmulator,
)


@dataclass(frozen=True)
class Emulated:
    """One emulated kind: its canonical ``kind``, the emulator class and the signal strength
    it shows in a scan (``rssi``, dBm)."""

    kind: str
    emulator: type[EmulatedPeripheral]
    rssi: int


def emulators() -> tuple[Emulated, ...]:
    """Every emulated device kind, in registry order, with a default RSSI each."""
    order = {k: i for i, k in enumerate(registry.kinds())}
    found = sorted(EMULATORS, key=lambda c: order[c.kind])  # KeyError: an emulator of no registered kind
    return tuple(Emulated(c.kind, c, c.scan_rssi) for c in found)


def emulator_for(kind: str) -> type[EmulatedPeripheral]:
    """The emulator class of ``kind``; ValueError lists the kinds that have one."""
    for cls in EMULATORS:
        if cls.kind == kind:
            return cls
    raise ValueError(f"no emulated device of kind {kind!r}; one of {', '.join(c.kind for c in EMULATORS)}")


@dataclass
class EmulatedDevice:
    """One emulated sensor: its kind (a canonical name with an emulator: `emulators`), where
    it is worn, what it measures and its stream settings.

    ``motion``: an `emulation.Motion` (device time -> specific force, angular rate); None =
    the CSV recording ``csv`` (looped), or without one a synthetic runner for the placement.
    ``name``: the advertised name (None = the emulator's default, unique per source).
    ``settings``: decoder and stream settings as in `DeviceConfig.settings`.
    ``battery_pct`` / ``rssi``: what the device reports (None = the emulator's default).
    ``samples_per_frame``: Polar devices: at most this many samples per frame (None = as many
    as an MTU-sized frame holds, as the real devices do).
    """

    kind: str
    placement: str | None = None
    side: str | None = None
    csv: str | Path | None = None
    motion: Any = None
    name: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    battery_pct: int | None = None
    rssi: int | None = None
    samples_per_frame: int | None = None

    @classmethod
    def parse(cls, text: str, *, csv: str | Path | None = None) -> EmulatedDevice:
        """``kind=h10,placement=chest[,side=left][,id=NAME][,csv=PATH][,sample_rate_hz=200]...``
        (the ``--device`` form; ``id`` is the advertised name, optional; ``battery_pct``,
        ``rssi`` and ``samples_per_frame`` set the emulator's fields). ``csv``: the recording
        when the spec names none."""
        spec = DeviceConfig.parse(text, require_id=False)
        settings = dict(spec.settings)
        path = settings.pop("csv", None) or csv
        battery, rssi = settings.pop("battery_pct", None), settings.pop("rssi", None)
        per_frame = settings.pop("samples_per_frame", None)
        emulator_for(spec.kind)  # ValueError: no emulator of that kind
        return cls(
            spec.kind,
            spec.placement,
            spec.side,
            None if path is None else str(path),
            name=spec.id or None,
            settings=settings,
            battery_pct=None if battery is None else int(battery),
            rssi=None if rssi is None else int(rssi),
            samples_per_frame=None if per_frame is None else int(per_frame),
        )


class EmulatedSource(Source):
    """Emulated BLE sensors (`firmware_interface.emulation`) advertising on an in-process
    Bumble radio, found and streamed through the real transport: `BleSource` (scan by name,
    `ble.LinkGroup`, `ble.DeviceLink` negotiation, bleak's API with the Bumble backend). The
    same sessions and pipeline as real hardware see the packets; only the radio is emulated.

    ``time_scale``: device time runs this many times faster than the wall clock (1 = real
    time). ``faults``: an `emulation.Faults` applied to every device (each gets its own seed).
    Needs the ``emulation`` extra (bumble)."""

    kind = "emulated"

    def __init__(
        self,
        devices: Iterable[EmulatedDevice],
        *,
        time_scale: float = 1.0,
        duration_s: float | None = None,
        faults: Any = None,
        scan_timeout_s: float = 2.0,
        link_options: dict[str, Any] | None = None,
    ):
        super().__init__()
        self.emulated = list(devices)
        if not self.emulated:
            raise ValueError("no devices to emulate")
        if not (time_scale > 0 and math.isfinite(time_scale)):
            raise ValueError(f"time_scale must be a positive factor, got {time_scale!r}")
        self.time_scale = float(time_scale)
        self.duration_s = duration_s
        self.faults = faults
        self.scan_timeout_s = scan_timeout_s
        self.link_options = dict(link_options or {})
        self.emulators: list[Any] = []
        self.air: Any = None
        self.inner: BleSource | None = None
        self._stack: Any = None
        self.metadata = {"source": "emulated"}

    def _emulator(self, dev: EmulatedDevice, index: int, used: set[str]) -> tuple[Any, dict[str, Any]]:
        settings = dict(dev.settings)
        placement = dev.placement
        has_gyro = True
        if dev.motion is not None:
            motion = dev.motion
        elif dev.csv is not None:
            rec = read_recording(dev.csv)
            placement = placement or rec.metadata.get("placement")
            has_gyro = rec.gyr_dps is not None
            motion = motion_from_block(rec.block())
        else:
            motion = synthetic_running(placement=placement or "chest", gyro=True)
        cls = emulator_for(dev.kind)
        if not has_gyro and cls.streams_gyro and "gyro" not in settings:
            settings["gyro"] = False  # the recording has no gyroscope: do not stream zeros as one
        faults = None
        if self.faults is not None:
            faults = dataclasses.replace(self.faults, seed=self.faults.seed + index)
        common: dict[str, Any] = {"motion": motion, "faults": faults, "time_scale": self.time_scale}
        if dev.battery_pct is not None:
            common["battery_pct"] = dev.battery_pct
        if dev.rssi is not None:
            common["rssi"] = dev.rssi
        name = dev.name or cls.unique_name(index, dev.side, used)
        if name in used:
            raise ValueError(f"two emulated devices named {name!r}")
        used.add(name)
        emu = cls(name, **common)
        if dev.samples_per_frame and hasattr(emu, "max_samples_per_frame"):
            emu.max_samples_per_frame = int(dev.samples_per_frame)
        emu.wear(placement, dev.side)
        emu.use_settings(settings)
        return emu, {"placement": placement, "settings": settings}

    async def prepare(self) -> None:
        if self.inner is not None:
            return
        self._stack = contextlib.AsyncExitStack()
        try:
            self.air = await self._stack.enter_async_context(EmulatedAir())
            configs = []
            used: set[str] = set()
            for i, dev in enumerate(self.emulated):
                emu, chosen = self._emulator(dev, i, used)
                await emu.attach(self.air)
                self.emulators.append(emu)
                configs.append(DeviceConfig(emu.name, dev.kind, chosen["placement"], dev.side, chosen["settings"]))
            self.inner = BleSource(
                configs,
                scan_timeout_s=self.scan_timeout_s,
                duration_s=self.duration_s,
                scanner_backend=BumbleScanner,
                client_backend=BumbleClient,
                link_options=self.link_options,
            )
            await self.inner.prepare()
        except BaseException:
            await self.aclose()
            raise
        self.devices = list(self.inner.devices)
        self.metadata = {
            "source": "emulated",
            "time_scale": self.time_scale,
            "devices": [
                {
                    "name": emu.name,
                    "address": emu.address,
                    "kind": emu.kind,
                    "motion": Path(dev.csv).name if dev.csv else ("custom" if dev.motion else "synthetic"),
                }
                for emu, dev in zip(self.emulators, self.emulated, strict=True)
            ],
        }

    async def packets(self) -> AsyncIterator[RawPacket]:
        if self.inner is None:
            await self.prepare()
        assert self.inner is not None
        try:
            async for packet in self.inner.packets():
                if self._stopped:
                    return
                yield packet
        finally:
            await self.aclose()

    def stop(self) -> None:
        super().stop()
        if self.inner is not None:
            self.inner.stop()

    async def aclose(self) -> None:
        self.stop()
        inner, self.inner = self.inner, None
        if inner is not None:
            await inner.aclose()
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()
