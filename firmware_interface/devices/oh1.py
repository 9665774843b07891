"""Polar OH1: its spec and its session (the generic PMD session: ACC, frame type read from
each frame).

BLE driver: the PMD driver of `firmware_interface.ble`; no emulator yet.
"""

from __future__ import annotations

from firmware_interface.devices.polar import PmdSession
from firmware_interface.devices.spec import Capability, DefaultSettings, DeviceSpec, Protocol
from firmware_interface.protocols import polar_pmd


class Oh1Session(PmdSession):
    """Polar OH1: PMD ACC; the rate comes from the settings or the START request in the stream."""

    kind = "oh1"


SPEC = DeviceSpec(
    kind="oh1",
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
    session=Oh1Session,
    data_uuids=(polar_pmd.PMD_DATA_UUID,),
)
