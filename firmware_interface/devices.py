"""Catalogue of supported BLE devices: how to recognise them, what they measure, where they go.

`classify(name, service_uuids)` maps an advertisement to a `DeviceSpec`: the device kind, the
wire protocol its streams use, what it can measure (`Capability`), where it is worn
(placements, DESIGN.md vocabulary: sacrum / waist / chest / foot) and the stream settings
the transport asks for when the caller gives none (`DefaultSettings`).

Recognition uses the advertised name first (vendor name patterns, [U] for Polar: "common
knowledge", see the BLE reference section 1.1) and then advertised service UUIDs. Pure data:
no I/O, no bleak import, so the catalogue is usable from the CLI, dashboards and tests.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from firmware_interface.openpod.codec import SERVICE_UUID as OPENPOD_SERVICE_UUID
from firmware_interface.protocols.polar_pmd import PMD_SERVICE_UUID
from firmware_interface.protocols.rsc import RSC_SERVICE_UUID

HEART_RATE_SERVICE_UUID = "0000180d-0000-1000-8000-00805f9b34fb"
BATTERY_SERVICE_UUID = "0000180f-0000-1000-8000-00805f9b34fb"
BATTERY_LEVEL_UUID = "00002a19-0000-1000-8000-00805f9b34fb"
MOVESENSE_SERVICE_UUID = "34802252-7185-4d5d-b431-630e7050e8f0"
METAWEAR_SERVICE_UUID = "326a9000-85cb-9195-d9dd-464cfbbae75a"


class DeviceKind(StrEnum):
    POLAR_H10 = "polar_h10"
    POLAR_VERITY_SENSE = "polar_verity_sense"
    POLAR_OH1 = "polar_oh1"
    MOVESENSE = "movesense"
    METAWEAR = "metawear"
    RSC_FOOT_POD = "rsc_foot_pod"
    OPENPOD = "openpod"


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
    kind: DeviceKind
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

    @property
    def placement(self) -> str:
        """The usual placement (the hint shown in a scan)."""
        return self.placements[0]

    @property
    def raw_imu(self) -> bool:
        return Capability.ACC in self.capabilities

    def matches_name(self, name: str | None) -> bool:
        return bool(name) and any(re.match(p, name) for p in self.name_patterns)  # type: ignore[arg-type]


CATALOGUE: tuple[DeviceSpec, ...] = (
    DeviceSpec(
        kind=DeviceKind.POLAR_H10,
        label="Polar H10 chest strap",
        protocol=Protocol.PMD,
        name_patterns=(r"Polar H10\b",),
        service_uuids=(),  # advertises 0x180D like every Polar sensor: the name decides
        capabilities=frozenset({Capability.ACC, Capability.ECG, Capability.HEART_RATE, Capability.BATTERY}),
        placements=("chest",),
        defaults=DefaultSettings(acc_rate_hz=200, acc_range_g=8, resolution_bits=16),
        acc_rates_hz=(25, 50, 100, 200),
        acc_ranges_g=(2, 4, 8),
        notes="ACC raw frames 0x01 (int16 mG). Streams until told to STOP: always send STOP.",
    ),
    DeviceSpec(
        kind=DeviceKind.POLAR_VERITY_SENSE,
        label="Polar Verity Sense",
        protocol=Protocol.PMD,
        name_patterns=(r"Polar Sense\b", r"Polar Verity\b"),
        service_uuids=(),
        capabilities=frozenset(
            {Capability.ACC, Capability.GYRO, Capability.MAG, Capability.HEART_RATE, Capability.BATTERY}
        ),
        placements=("waist", "sacrum", "foot"),  # an arm band by design; clipped to the waistband for running
        defaults=DefaultSettings(acc_rate_hz=52, acc_range_g=8, gyr_rate_hz=52, gyr_range_dps=2000, resolution_bits=16),
        acc_rates_hz=(52,),  # 26..416 in SDK mode
        acc_ranges_g=(8,),
        gyr_rates_hz=(52,),
        gyr_ranges_dps=(2000,),
        notes="Delta-compressed frames 0x80 (with FACTOR) or 0x81 (no factor, current firmware).",
    ),
    DeviceSpec(
        kind=DeviceKind.POLAR_OH1,
        label="Polar OH1",
        protocol=Protocol.PMD,
        name_patterns=(r"Polar OH1\b",),
        service_uuids=(),
        capabilities=frozenset({Capability.ACC, Capability.HEART_RATE, Capability.BATTERY}),
        placements=("waist",),
        defaults=DefaultSettings(acc_rate_hz=50, acc_range_g=8, resolution_bits=16),
        acc_rates_hz=(50,),
        acc_ranges_g=(8,),
        notes="[U] ACC frame type undocumented; the decoder dispatches on the type byte.",
    ),
    DeviceSpec(
        kind=DeviceKind.MOVESENSE,
        label="Movesense sensor",
        protocol=Protocol.MOVESENSE,
        name_patterns=(r"Movesense\b",),
        service_uuids=(MOVESENSE_SERVICE_UUID,),
        capabilities=frozenset(
            {Capability.ACC, Capability.GYRO, Capability.MAG, Capability.HEART_RATE, Capability.BATTERY}
        ),
        placements=("chest", "sacrum", "foot"),
        defaults=DefaultSettings(acc_rate_hz=208, gyr_rate_hz=208),
        acc_rates_hz=(13, 26, 52, 104, 208, 416, 833, 1666),
        gyr_rates_hz=(13, 26, 52, 104, 208, 416, 833, 1666),
        notes="GATT Sensor Data Protocol (GSP) firmware sample app; not emulated yet.",
    ),
    DeviceSpec(
        kind=DeviceKind.METAWEAR,
        label="MbientLab MetaWear",
        protocol=Protocol.METAWEAR,
        name_patterns=(r"MetaWear\b",),
        service_uuids=(METAWEAR_SERVICE_UUID,),
        capabilities=frozenset({Capability.ACC, Capability.GYRO, Capability.BATTERY}),
        placements=("foot", "sacrum"),
        defaults=DefaultSettings(acc_rate_hz=200, acc_range_g=16, gyr_rate_hz=200, gyr_range_dps=2000),
        acc_rates_hz=(25, 50, 100, 200, 400, 800),
        acc_ranges_g=(2, 4, 8, 16),
        notes="No device timestamp in streamed packets; not emulated yet.",
    ),
    DeviceSpec(
        kind=DeviceKind.RSC_FOOT_POD,
        label="Running speed and cadence foot pod",
        protocol=Protocol.RSC,
        name_patterns=(r"Stryd\b", r"RunPod\b", r"Polar Stride\b", r"Zwift RunPod\b"),
        service_uuids=(RSC_SERVICE_UUID,),
        capabilities=frozenset({Capability.SPEED_CADENCE, Capability.BATTERY}),
        placements=("foot",),
        notes="Speed and cadence only, about 1 Hz; cadence may be steps or strides per minute.",
    ),
    DeviceSpec(
        kind=DeviceKind.OPENPOD,
        label="openpod IMU pod",
        protocol=Protocol.OPENPOD,
        name_patterns=(r"openpod\b",),
        service_uuids=(OPENPOD_SERVICE_UUID,),
        capabilities=frozenset({Capability.ACC, Capability.GYRO, Capability.BATTERY}),
        placements=("foot", "sacrum", "waist", "chest"),
        defaults=DefaultSettings(acc_rate_hz=200, acc_range_g=16, gyr_rate_hz=200, gyr_range_dps=2000),
        acc_rates_hz=(50, 100, 200, 400, 800, 1600, 52, 104, 208, 416, 833, 1666, 500, 1000),
        acc_ranges_g=(2, 4, 8, 16, 32),
        gyr_ranges_dps=(125, 250, 500, 1000, 2000, 4000),
        notes="Capabilities characteristic says what this pod can do (gyro, rates, mount); read it after connect.",
    ),
)

_BY_KIND = {spec.kind: spec for spec in CATALOGUE}


def spec_for(kind: DeviceKind | str) -> DeviceSpec:
    return _BY_KIND[DeviceKind(kind)]


def _norm(uuids: Iterable[str] | None) -> set[str]:
    return {u.lower() for u in uuids or ()}


def classify(name: str | None, service_uuids: Iterable[str] | None = None) -> DeviceSpec | None:
    """The catalogue entry for an advertisement, or None for a device we do not support.

    A name pattern wins over service UUIDs (Polar sensors share their advertised services);
    a PMD service UUID alone (some firmwares advertise it) means "a Polar sensor with PMD"
    and is classified by name only.
    """
    for spec in CATALOGUE:
        if spec.matches_name(name):
            return spec
    uuids = _norm(service_uuids)
    for spec in CATALOGUE:
        if uuids & set(spec.service_uuids):
            return spec
    return None


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
    "CATALOGUE",
    "HEART_RATE_SERVICE_UUID",
    "METAWEAR_SERVICE_UUID",
    "MOVESENSE_SERVICE_UUID",
    "OPENPOD_SERVICE_UUID",
    "PMD_SERVICE_UUID",
    "RSC_SERVICE_UUID",
    "Capability",
    "DefaultSettings",
    "DeviceKind",
    "DeviceSpec",
    "Protocol",
    "classify",
    "side_from_name",
    "spec_for",
]
