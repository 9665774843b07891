"""What a device kind is, as data: how to recognise it, what it measures, where it goes.

A `DeviceSpec` holds one kind's canonical name (``kind``: the one name used by the command line,
capture metadata, the store and scan output), the wire protocol its streams use, what it
can measure (`Capability`), where it is worn (placements, DESIGN.md vocabulary: sacrum /
waist / chest / foot), how it advertises (name patterns, then service UUIDs), the
notification characteristics its session decodes, the stream settings the transport asks
for when the caller gives none (`DefaultSettings`) and its session class.

Each kind's spec lives in that kind's module (`firmware_interface.devices.h10`, ...) and is
found through `firmware_interface.devices.registry`. Pure data: no I/O, no bleak import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from firmware_interface.openpod.codec import SERVICE_UUID as OPENPOD_SERVICE_UUID
from firmware_interface.protocols.polar_pmd import PMD_SERVICE_UUID
from firmware_interface.protocols.rsc import RSC_SERVICE_UUID

if TYPE_CHECKING:
    from firmware_interface.devices.base import DeviceSession

HEART_RATE_SERVICE_UUID = "0000180d-0000-1000-8000-00805f9b34fb"
BATTERY_SERVICE_UUID = "0000180f-0000-1000-8000-00805f9b34fb"
BATTERY_LEVEL_UUID = "00002a19-0000-1000-8000-00805f9b34fb"
MOVESENSE_SERVICE_UUID = "34802252-7185-4d5d-b431-630e7050e8f0"
METAWEAR_SERVICE_UUID = "326a9000-85cb-9195-d9dd-464cfbbae75a"


class Capability(StrEnum):
    ACC = "acc"  # raw accelerometer samples
    GYRO = "gyro"  # raw gyroscope samples
    MAG = "mag"
    ECG = "ecg"
    HEART_RATE = "heart_rate"
    SPEED_CADENCE = "speed_cadence"  # processed speed / cadence only (RSC): no raw samples
    BATTERY = "battery"


class Protocol(StrEnum):
    PMD = "pmd"
    RSC = "rsc"
    OPENPOD = "openpod"
    MOVESENSE = "movesense"
    METAWEAR = "metawear"


@dataclass(frozen=True, slots=True)
class DefaultSettings:
    """What the transport requests when the caller gives no settings.

    ``acc_rate_hz`` / ``gyr_rate_hz``: None = the stream is not started by default.
    ``acc_range_g`` / ``gyr_range_dps``: ± full scale.
    """

    acc_rate_hz: int | None = None
    acc_range_g: int | None = None
    gyr_rate_hz: int | None = None
    gyr_range_dps: int | None = None
    resolution_bits: int | None = None


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    """One device kind. ``session``: its `DeviceSession` subclass (keyword arguments = the
    decoder settings of `DeviceConfig.settings`); ``data_uuids``: the notifications that
    session decodes (a packet on one of them from an undeclared device is taken for this
    kind when this is the first kind in the registry with it)."""

    kind: str
    label: str
    protocol: Protocol
    name_patterns: tuple[str, ...]  # regular expressions, matched at the start of the advertised name
    service_uuids: tuple[str, ...]  # any of these advertised identifies the device (lower-case 128-bit)
    capabilities: frozenset[Capability]
    placements: tuple[str, ...]  # where it can be worn; the first is the usual one
    defaults: DefaultSettings = field(default_factory=DefaultSettings)
    acc_rates_hz: tuple[int, ...] = ()  # documented rates (the device's answer to a settings query wins)
    acc_ranges_g: tuple[int, ...] = ()
    gyr_rates_hz: tuple[int, ...] = ()
    gyr_ranges_dps: tuple[int, ...] = ()
    notes: str = ""
    session: type[DeviceSession] | None = None
    data_uuids: tuple[str, ...] = ()

    @property
    def placement(self) -> str:
        """The usual placement (the hint shown in a scan)."""
        return self.placements[0]

    @property
    def raw_imu(self) -> bool:
        return Capability.ACC in self.capabilities

    def matches_name(self, name: str | None) -> bool:
        return bool(name) and any(re.match(p, name) for p in self.name_patterns)  # type: ignore[arg-type]


def side_from_name(name: str | None) -> str | None:
    """``openpod-1A2B-L`` -> "left"; ``-R`` -> "right" (SPEC.md section 2); else None."""
    if not name:
        return None
    if re.search(r"[-_ ]L$", name):
        return "left"
    if re.search(r"[-_ ]R$", name):
        return "right"
    return None


__all__ = [
    "BATTERY_LEVEL_UUID",
    "BATTERY_SERVICE_UUID",
    "HEART_RATE_SERVICE_UUID",
    "METAWEAR_SERVICE_UUID",
    "MOVESENSE_SERVICE_UUID",
    "OPENPOD_SERVICE_UUID",
    "PMD_SERVICE_UUID",
    "RSC_SERVICE_UUID",
    "Capability",
    "DefaultSettings",
    "DeviceSpec",
    "Protocol",
    "side_from_name",
]
