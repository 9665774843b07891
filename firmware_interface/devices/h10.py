"""Polar H10 chest strap: its spec and its session (PMD ACC, raw int16 frames, no gyro).

BLE driver: the PMD driver of `firmware_interface.ble` (chosen by ``protocol``); emulator:
`firmware_interface.emulation.H10Emulator`.
"""

from __future__ import annotations

from firmware_interface.devices.polar import PmdSession
from firmware_interface.devices.spec import Capability, DefaultSettings, DeviceSpec, Protocol
from firmware_interface.protocols import polar_pmd


class H10Session(PmdSession):
    """Polar H10 chest strap: PMD ACC (raw int16 frames), 200 Hz by default, no gyro."""

    kind = "h10"

    def __init__(self, device: str, *, sample_rate_hz: float = 200.0, factor: float | None = None):
        super().__init__(device, sample_rate_hz=sample_rate_hz, factor=factor, gyro=False)


SPEC = DeviceSpec(
    kind="h10",
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
    session=H10Session,
    data_uuids=(polar_pmd.PMD_DATA_UUID,),  # first in the registry: an undeclared PMD stream is taken for an H10
)
