"""Polar Verity Sense: its spec and its session (PMD ACC + GYRO, delta-compressed frames).

BLE driver: the PMD driver of `firmware_interface.ble`; emulator:
`firmware_interface.emulation.VeritySenseEmulator`.
"""

from __future__ import annotations

from firmware_interface.devices.polar import PmdSession
from firmware_interface.devices.spec import Capability, DefaultSettings, DeviceSpec, Protocol
from firmware_interface.protocols import polar_pmd


class VeritySession(PmdSession):
    """Polar Verity Sense: PMD ACC + GYRO (delta frames), 52 Hz by default, merged by time."""

    kind = "verity"

    def __init__(
        self,
        device: str,
        *,
        sample_rate_hz: float = 52.0,
        factor: float | None = None,
        gyro: bool = True,
        gyro_rate_hz: float | None = None,
        gyro_factor: float | None = None,
        max_wait_s: float = 0.5,
    ):
        super().__init__(
            device,
            sample_rate_hz=sample_rate_hz,
            factor=factor,
            gyro=gyro,
            gyro_rate_hz=gyro_rate_hz,
            gyro_factor=gyro_factor,
            max_wait_s=max_wait_s,
        )


SPEC = DeviceSpec(
    kind="verity",
    label="Polar Verity Sense",
    protocol=Protocol.PMD,
    name_patterns=(r"Polar Sense\b", r"Polar Verity\b"),
    service_uuids=(),
    capabilities=frozenset(
        {Capability.ACC, Capability.GYRO, Capability.MAG, Capability.HEART_RATE, Capability.BATTERY}
    ),
    placements=("waist", "sacrum", "foot", "wrist"),  # an arm band by design; clipped to the waistband for running
    defaults=DefaultSettings(acc_rate_hz=52, acc_range_g=8, gyr_rate_hz=52, gyr_range_dps=2000, resolution_bits=16),
    acc_rates_hz=(52,),  # 26..416 in SDK mode
    acc_ranges_g=(8,),
    gyr_rates_hz=(52,),
    gyr_ranges_dps=(2000,),
    notes="Delta-compressed frames 0x80 (with FACTOR) or 0x81 (no factor, current firmware).",
    session=VeritySession,
    data_uuids=(polar_pmd.PMD_DATA_UUID,),
)
