"""MbientLab MetaWear: its spec and its session (acc + gyro notifications timed by counting).

No BLE driver and no emulator yet: captures and files only.
"""

from __future__ import annotations

from firmware_interface.devices.base import DeviceSession, Merger, RawPacket, SessionRecord
from firmware_interface.devices.spec import METAWEAR_SERVICE_UUID, Capability, DefaultSettings, DeviceSpec, Protocol
from firmware_interface.protocols import metawear


class MetaWearSession(DeviceSession):
    """MetaWear acc (+ gyro) notifications. They carry no device timestamp or counter, so
    samples are timed by counting at the ODR (`metawear.MetaWearStream`) and lost packets
    cannot be seen: this session never reports gaps (health says so: dropped stays 0)."""

    kind = "metawear"

    def __init__(
        self,
        device: str,
        *,
        sample_rate_hz: float = 200.0,
        acc_range_g: int = 8,
        gyro: bool = False,
        gyro_rate_hz: float | None = None,
        gyro_range_dps: int = 2000,
    ):
        super().__init__(device, units_per_s=1.0)
        self.stream = metawear.MetaWearStream(
            acc_odr_hz=sample_rate_hz,
            acc_range_g=acc_range_g,
            gyro_odr_hz=gyro_rate_hz or sample_rate_hz,
            gyro_range_dps=gyro_range_dps,
        )
        self.sample_rate_hz = float(sample_rate_hz)
        self.has_gyro = gyro
        self._merger = Merger() if gyro else None
        self._timeline.origin = 0.0

    def _on_reconnect(self) -> None:
        # counting restarts: continue the timeline after the last sample (receive clock bridges)
        self.stream.reset()
        if self._last_s is not None:
            self._timeline.base_s = self._last_s + 1.0 / self.sample_rate_hz
        if self._merger is not None:
            self._merger.reset()

    def _data(self, packet: RawPacket) -> list[SessionRecord]:
        if packet.channel != metawear.METAWEAR_NOTIFY_UUID:
            self.counts["skipped"] += 1
            return []
        s = self.stream.decode(packet.payload)
        out: list[SessionRecord] = []
        time_s = self._timeline.seconds(s.time_s)
        if self._merger is None:
            if s.acc_mps2 is not None:
                self._emit(out, time_s, s.acc_mps2, None, packet.rx_time_ns)
            return out
        if s.acc_mps2 is not None:
            self._merger.add_acc(time_s, s.acc_mps2)
        elif s.gyr_dps is not None:
            self._merger.add_gyr(time_s, s.gyr_dps, 1.0 / self.stream.gyro_odr_hz)
        got = self._merger.take()
        if got is not None:
            self._emit(out, got[0], got[1], got[2], packet.rx_time_ns, got[3])
        return out

    def flush(self) -> list[SessionRecord]:
        out: list[SessionRecord] = []
        if self._merger is not None:
            got = self._merger.take(final=True)
            if got is not None:
                self._emit(out, got[0], got[1], got[2], self._timeline.last_rx_ns or 0, got[3])
        return out


SPEC = DeviceSpec(
    kind="metawear",
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
    session=MetaWearSession,
    data_uuids=(metawear.METAWEAR_NOTIFY_UUID,),
)
