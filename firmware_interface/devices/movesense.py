"""Movesense sensors (GATT Sensor Data Protocol firmware): its spec and its session.

No BLE driver and no emulator yet: captures and files only.

Verified against byte vectors: only the commands the host writes (subscribe, unsubscribe,
hello). Unverified [U]: everything the sensor sends. No real data frame has been published,
so the DATA layout, the first-sample timestamp, the units and the DATA_PART2 use come from
the sample firmware and its client, and the only test vector is synthetic
(`firmware_interface/protocols/README.md` lists each [U] item).
"""

from __future__ import annotations

import numpy as np

from firmware_interface.devices.base import DeviceEvent, DeviceSession, RawPacket, SessionRecord
from firmware_interface.devices.spec import MOVESENSE_SERVICE_UUID, Capability, DefaultSettings, DeviceSpec, Protocol
from firmware_interface.protocols import movesense


class MovesenseSession(DeviceSession):
    """Movesense GSP: one subscription (``kind`` acc / imu6 / imu9, ``rate_hz``, ``ref``),
    reassembled and timed by `movesense.GspStream` (u32 ms device time of the first sample)."""

    kind = "movesense"

    def __init__(
        self,
        device: str,
        *,
        resource: str = "imu6",
        sample_rate_hz: int = 104,
        ref: int = 99,
        part2: bool | None = None,
    ):
        super().__init__(device, units_per_s=1.0)
        self.stream = movesense.GspStream()
        self.stream.subscribe(ref, resource, int(sample_rate_hz), part2=part2)
        self.sample_rate_hz = float(sample_rate_hz)
        self.has_gyro = resource in ("imu6", "imu9", "gyro")

    def _on_reconnect(self) -> None:
        self.stream.reset()

    def _data(self, packet: RawPacket) -> list[SessionRecord]:
        if packet.channel != movesense.GSP_DATA_UUID:
            self.counts["skipped"] += 1
            return []
        out: list[SessionRecord] = []
        for item in self.stream.feed(packet.payload):
            self._samples(item, packet.rx_time_ns, out)
        return out

    def _samples(self, item: object, rx_ns: int, out: list[SessionRecord]) -> None:
        if isinstance(item, movesense.GspCommandResult):
            out.append(DeviceEvent(rx_ns, self.device, "control", f"ref {item.ref}: {item.payload!r}"))
            return
        acc = getattr(item, "acc_mps2", None)
        if acc is None:
            return
        t = np.asarray(item.time_s)  # type: ignore[attr-defined]
        self._check_epoch(float(t[0]), rx_ns, out)
        self._note_device_time(float(t[-1]), rx_ns)
        self._emit(out, self._timeline.seconds(t), acc, item.gyr_dps, rx_ns)  # type: ignore[attr-defined]

    def flush(self) -> list[SessionRecord]:
        out: list[SessionRecord] = []
        for item in self.stream.flush():
            self._samples(item, self._timeline.last_rx_ns or 0, out)
        return out


SPEC = DeviceSpec(
    kind="movesense",
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
    notes=(
        "GATT Sensor Data Protocol (GSP) firmware sample app. Unverified: no real data frame has been "
        "checked (the data layout, timestamps, units and DATA_PART2 use come from the sample firmware; "
        "the test vector is synthetic); only the subscribe/unsubscribe/hello command bytes match test "
        "vectors. No BLE driver, not emulated: captures and files only."
    ),
    session=MovesenseSession,
    data_uuids=(movesense.GSP_DATA_UUID,),
)
