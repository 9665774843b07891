"""The Polar PMD family: the session every PMD sensor (H10, Verity Sense, OH1) shares.

Not a device kind: the kinds (`h10`, `verity`, `oh1`) configure or subclass `PmdSession`.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from firmware_interface.devices.base import DeviceEvent, DeviceSession, Merger, RawPacket, SessionRecord, write_channel
from firmware_interface.protocols import polar_pmd

EARLY_GYRO_FRAMES = 32  # PMD gyro frames held while waiting for the first acc frame (the newest kept)


class PmdSession(DeviceSession):
    """Polar PMD data (ACC, and GYRO with ``gyro=True``) with the per-sample clock of
    `polar_pmd.PmdStream` (frame timestamp = last sample, ns since 2000-01-01).

    Rates and factors come from the settings given here and, when the capture has them, from
    the START request the host wrote and the device's answer (``write:`` control point channel,
    then the control point indication)."""

    kind = "pmd"

    def __init__(
        self,
        device: str,
        *,
        sample_rate_hz: float = 200.0,
        factor: float | None = None,
        gyro: bool = False,
        gyro_rate_hz: float | None = None,
        gyro_factor: float | None = None,
        max_wait_s: float = 0.5,
    ):
        super().__init__(device, units_per_s=1e9)
        self.stream = polar_pmd.PmdStream(device=device)
        self.stream.configure(polar_pmd.MeasurementType.ACC, sample_rate_hz=sample_rate_hz, factor=factor)
        self.sample_rate_hz = float(sample_rate_hz)
        self.has_gyro = bool(gyro)
        self.gyro_rate_hz = float(gyro_rate_hz or sample_rate_hz)
        if gyro:
            self.stream.configure(polar_pmd.MeasurementType.GYRO, sample_rate_hz=self.gyro_rate_hz, factor=gyro_factor)
        self._merger = Merger(max_wait_s) if gyro else None
        self._last_ts: dict[tuple[int, int], int] = {}
        self._pending_start: dict[int, bytes] = {}
        self._estimated_drop = True
        # gyro frames that came before the first acc frame (no time base yet): held, not dropped
        self._early_gyro: deque[tuple[np.ndarray, np.ndarray]] = deque(maxlen=EARLY_GYRO_FRAMES)

    def _on_reconnect(self) -> None:
        self.stream.reset()
        self._last_ts.clear()
        self._early_gyro.clear()

    def _on_clock_restart(self) -> None:
        self._on_reconnect()

    def _data(self, packet: RawPacket) -> list[SessionRecord]:
        ch, data = packet.channel, packet.payload
        if ch == polar_pmd.PMD_DATA_UUID:
            return self._frame(packet)
        if ch == write_channel(polar_pmd.PMD_CONTROL_POINT_UUID):
            req = polar_pmd.decode_request(data)
            if req.op is polar_pmd.Opcode.REQUEST_MEASUREMENT_START:
                self._pending_start[int(req.measurement)] = data
            return []
        if ch == polar_pmd.PMD_CONTROL_POINT_UUID:
            return self._control(packet)
        self.counts["skipped"] += 1
        return []

    def _control(self, packet: RawPacket) -> list[SessionRecord]:
        msg = polar_pmd.decode_cp_message(packet.payload)
        if isinstance(msg, polar_pmd.PmdMeasurementStopped):
            names = ", ".join(polar_pmd.measurement_name(int(m)) for m in msg.measurements)
            return [DeviceEvent(packet.rx_time_ns, self.device, "stopped", f"device stopped {names}")]
        if isinstance(msg, polar_pmd.PmdControlPointResponse) and msg.op == polar_pmd.Opcode.REQUEST_MEASUREMENT_START:
            request = self._pending_start.pop(int(msg.measurement), None)
            if request is None:
                return []
            self.stream.on_start(request, packet.payload)  # raises ControlPointError on failure
            rate = polar_pmd.decode_request(request).settings.sample_rate_hz
            out: list[SessionRecord] = [DeviceEvent(packet.rx_time_ns, self.device, "control", "measurement started")]
            if msg.measurement == polar_pmd.MeasurementType.ACC and rate and float(rate[0]) != self.sample_rate_hz:
                self.sample_rate_hz = float(rate[0])
                out.append(DeviceEvent(packet.rx_time_ns, self.device, "rate_changed", "", self.sample_rate_hz))
            if msg.measurement == polar_pmd.MeasurementType.GYRO and rate:
                self.gyro_rate_hz = float(rate[0])
            self._last_ts = {k: v for k, v in self._last_ts.items() if k[0] != int(msg.measurement)}
            return out
        return []

    def _frame(self, packet: RawPacket) -> list[SessionRecord]:
        data = packet.payload
        out: list[SessionRecord] = []
        restart: str | None = None
        if len(data) >= polar_pmd.DATA_HEADER_BYTES:
            key = (data[0] & 0x3F, data[9])
            ts = int.from_bytes(data[1:9], "little")
            last = self._last_ts.get(key)
            if last is not None and ts <= last:
                kind = "duplicate" if ts == last else self._classify_old(ts)
                if kind == "late":
                    self.counts["late"] += 1
                    return []
                if kind == "duplicate":
                    self.counts["duplicates"] += 1
                    return []
                polar_pmd.decode_data_frame(data, device=self.device)  # garbage is malformed, not a restart
                restart = "device clock went back"
                self.stream.reset()
                self._last_ts.clear()
        samples = self.stream.decode(data)  # raises typed errors; state unchanged then
        self._last_ts[(int(samples.measurement), samples.frame.frame_type)] = samples.frame.timestamp_ns
        times = samples.time_ns
        is_acc = samples.measurement is polar_pmd.MeasurementType.ACC
        if is_acc:
            self._check_epoch(int(times[0]), packet.rx_time_ns, out, force=restart)
            if out and any(isinstance(r, DeviceEvent) and r.kind == "restart" for r in out):
                self._last_ts = {(int(samples.measurement), samples.frame.frame_type): samples.frame.timestamp_ns}
            self._note_device_time(int(times[-1]), packet.rx_time_ns)
        elif self._timeline.origin is None:
            # gyro before any acc (the two streams start independently): no time base yet, so
            # hold the frame until the first acc frame sets one
            if self._merger is not None:
                self._early_gyro.append((times, samples.values))
            return []
        time_s = self._timeline.seconds(times)
        if self._merger is None:
            if is_acc:
                self._emit(out, time_s, samples.values, None, packet.rx_time_ns)
            return out
        if is_acc:
            while self._early_gyro:
                g_times, g_values = self._early_gyro.popleft()
                self._merger.add_gyr(self._timeline.seconds(g_times), g_values, 1.0 / self.gyro_rate_hz)
            self._merger.add_acc(time_s, samples.values)
        else:
            self._merger.add_gyr(time_s, samples.values, 1.0 / self.gyro_rate_hz)
        self._drain(out, packet.rx_time_ns, final=False)
        return out

    def _drain(self, out: list[SessionRecord], rx_ns: int, final: bool) -> None:
        assert self._merger is not None
        got = self._merger.take(final)
        if got is not None:
            t, v, g, f = got
            self._emit(out, t, v, g, rx_ns, f)

    def flush(self) -> list[SessionRecord]:
        out: list[SessionRecord] = []
        if self._merger is not None:
            self._drain(out, self._timeline.last_rx_ns or 0, final=True)
        return out
