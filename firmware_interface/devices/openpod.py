"""openpod IMU pod (DIY pods, phone bridges, CSV import, simulator): its spec and its session.

BLE driver: the openpod driver of `firmware_interface.ble`; emulator:
`firmware_interface.emulation.OpenpodEmulator`.
"""

from __future__ import annotations

import numpy as np

from firmware_interface.devices.base import (
    WRITE_PREFIX,
    DeviceEvent,
    DeviceSession,
    RawPacket,
    SessionRecord,
    sample_offsets_s,
    write_channel,
)
from firmware_interface.devices.spec import Capability, DefaultSettings, DeviceSpec, Protocol
from firmware_interface.openpod import codec as openpod
from gait.core.records import SampleFlag


class OpenpodSession(DeviceSession):
    """openpod v1 data packets (SPEC.md section 4): sequence numbers count lost packets and
    catch duplicates / late packets; timestamps (µs, first sample) count missing samples."""

    kind = "openpod"

    def __init__(self, device: str, *, sample_rate_hz: float | None = None):
        super().__init__(device, units_per_s=1e6)
        self.sample_rate_hz = sample_rate_hz
        self.acc_range_g: int | None = None
        self._seq: int | None = None
        self._last_t_us: float | None = None  # timestamp of the last sample received
        self._unsupported_reported = False
        self._estimated_drop = False

    def _on_reconnect(self) -> None:
        self._seq = None  # the host sends START again: seq restarts at 0

    def _data(self, packet: RawPacket) -> list[SessionRecord]:
        ch = packet.channel
        if ch == openpod.DATA_UUID:
            return self._packet(packet)
        if ch == openpod.CONTROL_UUID:
            resp = openpod.decode_response(packet.payload)
            if resp.unsolicited:
                name = openpod.STATUS_NAMES.get(resp.status, f"status 0x{resp.status:02X}")
                return [DeviceEvent(packet.rx_time_ns, self.device, "stopped", f"device stopped the stream: {name}")]
            return [
                DeviceEvent(packet.rx_time_ns, self.device, "control", f"op 0x{resp.opcode:02X} status {resp.status}")
            ]
        if ch == openpod.CAPABILITIES_UUID:
            caps = openpod.decode_capabilities(packet.payload)
            return [
                DeviceEvent(packet.rx_time_ns, self.device, "capabilities", f"mount {caps.mount}", float(caps.mount))
            ]
        if ch.startswith(WRITE_PREFIX):
            if ch == write_channel(openpod.CONTROL_UUID):
                cmd = openpod.decode_command(packet.payload)
                if cmd.opcode == openpod.OP_START:
                    self._seq = None  # seq restarts at 0 after START
            return []
        self.counts["skipped"] += 1
        return []

    def _packet(self, packet: RawPacket) -> list[SessionRecord]:
        try:
            pk = openpod.decode_packet(packet.payload)
        except openpod.UnknownPacketType as exc:
            self.counts["skipped"] += 1
            self._advance_seq(exc.seq)
            return []
        except openpod.UnsupportedVersion as exc:
            self._bad(str(exc))
            if not self._unsupported_reported:
                self._unsupported_reported = True
                return [DeviceEvent(packet.rx_time_ns, self.device, "unsupported", str(exc))]
            return []
        out: list[SessionRecord] = []
        rx_ns = packet.rx_time_ns
        rate_hz, timestamp_us, seq = pk.rate_hz, pk.timestamp_us, pk.seq
        period_us = 1e6 / rate_hz
        t0 = float(timestamp_us)
        d = None if self._seq is None else (seq - self._seq) & 0xFFFF
        if d == 0:
            self.counts["duplicates"] += 1
            return []
        restart: str | None = None
        if self._last_t_us is not None and t0 <= self._last_t_us:
            kind = self._classify_old(timestamp_us)
            if kind == "late":
                self.counts["late"] += 1
                return []
            if kind == "duplicate":
                self.counts["duplicates"] += 1
                return []
            restart = "device clock went back (reboot)"
            d = None
        if d is not None and d < 0x8000:
            self.counts["dropped"] += d - 1
        if self.sample_rate_hz is not None and rate_hz != self.sample_rate_hz and self._index:
            self.sample_rate_hz = rate_hz
            out.append(DeviceEvent(rx_ns, self.device, "rate_changed", "", rate_hz))
        self.sample_rate_hz = rate_hz
        self.has_gyro = pk.gyr_raw is not None
        self.acc_range_g = pk.acc_range_g
        self._seq = seq
        self._check_epoch(timestamp_us, rx_ns, out, force=restart)
        n = len(pk.acc_raw)
        self._last_t_us = t0 + (n - 1) * period_us
        self._note_device_time(timestamp_us + (n - 1) * period_us, rx_ns)
        time_s = self._timeline.second(timestamp_us) + sample_offsets_s(n, rate_hz)
        flags = np.where(pk.clipped, SampleFlag.CLIPPED, 0).astype(np.uint8) if pk.saturated else None
        self._emit(out, time_s, pk.acc_mps2, pk.gyr_dps, rx_ns, flags)
        return out

    def _advance_seq(self, seq: int) -> None:
        if self._seq is None:
            return
        d = (seq - self._seq) & 0xFFFF
        if 0 < d < 0x8000:
            self.counts["dropped"] += d - 1
            self._seq = seq


SPEC = DeviceSpec(
    kind="openpod",
    label="openpod IMU pod",
    protocol=Protocol.OPENPOD,
    name_patterns=(r"openpod\b",),
    service_uuids=(openpod.SERVICE_UUID,),
    capabilities=frozenset({Capability.ACC, Capability.GYRO, Capability.BATTERY}),
    placements=("foot", "sacrum", "waist", "chest", "wrist"),
    defaults=DefaultSettings(acc_rate_hz=200, acc_range_g=16, gyr_rate_hz=200, gyr_range_dps=2000),
    acc_rates_hz=(50, 100, 200, 400, 800, 1600, 52, 104, 208, 416, 833, 1666, 500, 1000),
    acc_ranges_g=(2, 4, 8, 16, 32),
    gyr_ranges_dps=(125, 250, 500, 1000, 2000, 4000),
    notes="Capabilities characteristic says what this pod can do (gyro, rates, mount); read it after connect.",
    session=OpenpodSession,
    data_uuids=(openpod.DATA_UUID,),
)
