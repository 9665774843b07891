"""MbientLab MetaWear (MetaMotion R / RL / C with a BMI160, MetaMotion S with a BMI270): its
spec and its session (acc + gyro notifications timed by counting).

The chip comes from the board: the BLE driver (`firmware_interface.ble`) reads the module
info of the accelerometer and gyro before streaming, and the answers arrive on the notify
characteristic like data, so a session (live or replayed from a capture) picks the chip from
them (`metawear.MetaWearStream.on_module_info`) and the ranges and rates from the config
commands the host wrote (`on_command`). A board with another accelerometer (MMA8452Q,
BMA255) is refused with `UnsupportedFrame`.
"""

from __future__ import annotations

from firmware_interface.devices.base import DeviceEvent, DeviceSession, Merger, RawPacket, SessionRecord, write_channel
from firmware_interface.devices.spec import METAWEAR_SERVICE_UUID, Capability, DefaultSettings, DeviceSpec, Protocol
from firmware_interface.protocols import metawear
from firmware_interface.protocols.errors import UnsupportedFrame

_COMMAND_CHANNEL = write_channel(metawear.METAWEAR_COMMAND_UUID)


class MetaWearSession(DeviceSession):
    """MetaWear acc (+ gyro) notifications. They carry no device timestamp or counter, so
    samples are timed by counting at the ODR (`metawear.MetaWearStream`) and lost packets
    cannot be seen: this session never reports gaps (health says so: dropped stays 0).

    ``chip``: "bmi160" or "bmi270"; None = from the board's module info, BMI160 until it
    arrives (captures and files without it). The module info in the stream wins over ``chip``.
    ``acc_range_g`` / rates: until the host's config commands are seen in the stream."""

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
        chip: str | None = None,
    ):
        super().__init__(device, units_per_s=1.0)
        self.stream = metawear.MetaWearStream(
            acc_odr_hz=sample_rate_hz,
            acc_range_g=acc_range_g,
            gyro_odr_hz=gyro_rate_hz or sample_rate_hz,
            gyro_range_dps=gyro_range_dps,
            chip=metawear.Chip.BMI160 if chip is None else chip,
        )
        self.chip_from_board = False  # True once the board's module info named the chip
        self.sample_rate_hz = float(sample_rate_hz)
        self.has_gyro = gyro
        self._merger = Merger() if gyro else None
        self._timeline.origin = 0.0

    @property
    def chip(self) -> metawear.Chip:
        return metawear.Chip(self.stream.chip)

    def _on_reconnect(self) -> None:
        # counting restarts: continue the timeline after the last sample (receive clock bridges)
        self.stream.reset()
        if self._last_s is not None:
            self._timeline.base_s = self._last_s + 1.0 / self.sample_rate_hz
        if self._merger is not None:
            self._merger.reset()

    def _data(self, packet: RawPacket) -> list[SessionRecord]:
        if packet.channel == _COMMAND_CHANNEL:
            cfg = self.stream.on_command(packet.payload)  # a config command sets the scale
            if cfg is not None and cfg.kind == "acc":
                self.sample_rate_hz = float(cfg.odr_hz)
            return []
        if packet.channel != metawear.METAWEAR_NOTIFY_UUID:
            self.counts["skipped"] += 1
            return []
        if metawear.is_module_info(packet.payload):
            return self._module_info(packet)
        s = self.stream.decode(packet.payload)
        out: list[SessionRecord] = []
        time_s = self._timeline.seconds(s.time_s)
        if self._merger is None:
            if s.acc_mps2 is not None:
                self._emit(out, time_s, s.acc_mps2, None, packet.rx_time_ns)
            else:
                self.counts["skipped"] += 1  # gyro data, and this session was not asked for it
            return out
        if s.acc_mps2 is not None:
            self._merger.add_acc(time_s, s.acc_mps2)
        elif s.gyr_dps is not None:
            self._merger.add_gyr(time_s, s.gyr_dps, 1.0 / self.stream.gyro_odr_hz)
        got = self._merger.take()
        if got is not None:
            self._emit(out, got[0], got[1], got[2], packet.rx_time_ns, got[3])
        return out

    def _module_info(self, packet: RawPacket) -> list[SessionRecord]:
        try:
            info = self.stream.on_module_info(packet.payload)
        except UnsupportedFrame as exc:
            self._bad(str(exc))
            return [DeviceEvent(packet.rx_time_ns, self.device, "unsupported", str(exc))]
        if info.module != metawear.ACC_MODULE:
            return []
        self.chip_from_board = True
        detail = f"{self.chip.name} (accelerometer implementation {info.implementation}, revision {info.revision})"
        return [DeviceEvent(packet.rx_time_ns, self.device, "capabilities", detail)]

    def flush(self) -> list[SessionRecord]:
        out: list[SessionRecord] = []
        if self._merger is not None:
            got = self._merger.take(final=True)
            if got is not None:
                self._emit(out, got[0], got[1], got[2], self._timeline.last_rx_ns or 0, got[3])
        return out


SPEC = DeviceSpec(
    kind="metawear",
    label="MbientLab MetaWear (MetaMotion R, RL, C: BMI160; MetaMotion S: BMI270)",
    protocol=Protocol.METAWEAR,
    name_patterns=(r"MetaWear\b",),
    service_uuids=(METAWEAR_SERVICE_UUID,),
    capabilities=frozenset({Capability.ACC, Capability.GYRO, Capability.BATTERY}),
    placements=("foot", "sacrum"),
    defaults=DefaultSettings(acc_rate_hz=200, acc_range_g=16, gyr_rate_hz=200, gyr_range_dps=2000),
    acc_rates_hz=(25, 50, 100, 200, 400, 800, 1600),
    acc_ranges_g=(2, 4, 8, 16),
    gyr_rates_hz=(25, 50, 100, 200, 400, 800, 1600, 3200),
    gyr_ranges_dps=(125, 250, 500, 1000, 2000),
    notes=(
        "BMI160 and BMI270 boards, the chip read from the board's module info; commands and data "
        "checked against MbientLab's SDK test vectors, the accelerometer start/stop command only "
        "against the SDK source. No device timestamp in streamed packets: samples are timed by "
        "counting and lost packets cannot be seen. The gyro streams only when asked (gyro=true)."
    ),
    session=MetaWearSession,
    data_uuids=(metawear.METAWEAR_NOTIFY_UUID,),
)
