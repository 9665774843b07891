"""Running Speed and Cadence foot pods (Stryd, RunPod, Polar Stride...): spec and session.

BLE driver: the RSC driver of `firmware_interface.ble`; emulator:
`firmware_interface.emulation.RscPodEmulator`.
"""

from __future__ import annotations

from firmware_interface.devices.base import DeviceSession, RawPacket, RscReading, SessionRecord
from firmware_interface.devices.spec import Capability, DeviceSpec, Protocol
from firmware_interface.protocols import rsc


class RscSession(DeviceSession):
    """Running Speed and Cadence (0x2A53): speed and cadence, no samples, no device clock."""

    kind = "rsc"

    def __init__(self, device: str, *, cadence_unit: str = "steps"):
        super().__init__(device)
        self.cadence_unit = cadence_unit
        self._rx0: int | None = None
        self._last_rx: int | None = None

    def _data(self, packet: RawPacket) -> list[SessionRecord]:
        if packet.channel != rsc.RSC_MEASUREMENT_UUID:
            self.counts["skipped"] += 1
            return []
        m = rsc.decode_measurement(packet.payload, cadence_unit=self.cadence_unit)  # type: ignore[arg-type]
        if self._last_rx is not None and packet.rx_time_ns <= self._last_rx:
            self.counts["late"] += 1
            return []
        if self._rx0 is None:
            self._rx0 = packet.rx_time_ns
        self._last_rx = packet.rx_time_ns
        self.counts["samples"] += 1
        return [
            RscReading(
                rx_time_ns=packet.rx_time_ns,
                device=self.device,
                time_s=(packet.rx_time_ns - self._rx0) / 1e9,
                speed_mps=m.speed_mps,
                cadence_spm=m.cadence_spm,
                stride_length_m=m.stride_length_m,
                total_distance_m=m.total_distance_m,
                running=m.running,
            )
        ]


SPEC = DeviceSpec(
    kind="rsc",
    label="Running speed and cadence foot pod",
    protocol=Protocol.RSC,
    name_patterns=(r"Stryd\b", r"RunPod\b", r"Polar Stride\b", r"Zwift RunPod\b"),
    service_uuids=(rsc.RSC_SERVICE_UUID,),
    capabilities=frozenset({Capability.SPEED_CADENCE, Capability.BATTERY}),
    placements=("foot",),
    notes="Speed and cadence only, about 1 Hz; cadence may be steps or strides per minute.",
    session=RscSession,
    data_uuids=(rsc.RSC_MEASUREMENT_UUID,),
)
