"""Building the source a run reads from, from typed options.

    source = build_source(SourceOptions(kind="emulated", devices=("kind=h10,placement=chest",), speed="20"))

Kinds: ``ble`` (real sensors through bleak), ``emulated`` (emulated BLE sensors on an in-process
radio, through the real BLE transport), ``csv`` (a CSV recording played as an openpod pod),
``simulator`` (the synthetic runner as openpod pods), ``phone`` (openpod over UDP, or with
``phyphox=URL`` the phyphox app's remote access, e.g. on the phone itself), and
``blocks`` (sample blocks, e.g. a recorded run, played as openpod pods: `pods_from_blocks`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from firmware_interface.session import DeviceConfig
from firmware_interface.sources import Impairment, PodStream, Source, open_source, parse_speed
from gait.core.errors import GaitError
from gait.core.records import SampleBlock

SOURCE_KINDS = ("ble", "csv", "simulator", "phone", "emulated")


@dataclass(frozen=True)
class SourceOptions:
    kind: str = "ble"
    devices: tuple[str, ...] = ()  # device specs: "id=ADDRESS,kind=h10,placement=chest,..."
    csv: str | None = None
    speed: str | None = None  # 'max' or a factor of real time (None: 1)
    duration_s: float | None = None
    port: int = 5555
    phyphox: str | None = None  # phone: the phyphox remote-access URL (None: openpod over UDP)
    placement: str | None = None
    side: str | None = None
    loss: float = 0.0
    duplicate: float = 0.0
    garble: float = 0.0
    seed: int = 0
    settings: Mapping[str, Any] = field(default_factory=dict)

    def impairment(self) -> Impairment:
        return Impairment(loss=self.loss or 0.0, duplicate=self.duplicate or 0.0, garble=self.garble or 0.0,
                          seed=self.seed or 0)  # fmt: skip


def simulated_blocks(placement: str, rate_hz: float, seconds: float, seed: int) -> Iterator[SampleBlock]:
    """The synthetic runner (`gait.synthetic.SyntheticRunner`) in one-second blocks."""
    from gait.synthetic import SyntheticRunner

    runner = SyntheticRunner(placement, rate_hz, seed)
    total = int(round(seconds * rate_hz))
    per = max(1, int(round(rate_hz)))
    done = 0
    while done < total:
        n = min(per, total - done)
        yield runner.next_block(n)
        done += n


def build_source(opts: SourceOptions) -> Source:
    """The source the options ask for; `GaitError` for options that do not fit together."""
    speed = 1.0 if opts.speed is None else parse_speed(opts.speed)
    if opts.phyphox and opts.kind != "phone":
        raise GaitError("--phyphox URL is for --source phone")
    if opts.kind == "emulated":
        return _emulated_source(opts, speed)
    specs = [DeviceConfig.parse(s) for s in opts.devices]
    if opts.kind == "csv":
        if not opts.csv:
            raise GaitError("--source csv needs --csv PATH")
        dev = specs[0].id if specs else "csv-pod"
        return open_source("csv", path=opts.csv, device=dev, placement=opts.placement, side=opts.side,
                           speed=speed, impairment=opts.impairment())  # fmt: skip
    if opts.kind == "simulator":
        if not specs:
            specs = [DeviceConfig("sim-pod", "openpod", opts.placement or "sacrum", opts.side)]
        streams = []
        for i, spec in enumerate(specs):
            placement = spec.placement or opts.placement or "sacrum"
            rate = float(spec.settings.get("sample_rate_hz", 200.0 if placement == "foot" else 100.0))
            imp = opts.impairment()
            imp.seed += i
            streams.append(
                PodStream(
                    DeviceConfig(spec.id, "openpod", placement, spec.side or opts.side),
                    simulated_blocks(placement, rate, float(opts.duration_s or 60.0), 1 + i),
                    rate,
                    gyro=placement in ("foot", "wrist"),
                    clock_offset_s=float(spec.settings.get("clock_offset_s", 100.0 * i)),
                    clock_drift_ppm=float(spec.settings.get("clock_drift_ppm", 30.0 * i)),
                    impairment=imp,
                    battery_pct=int(spec.settings.get("battery_pct", 90)),
                )
            )
        return open_source("simulator", streams=streams, speed=speed)
    if opts.kind == "phone":
        dev = specs[0].id if specs else None
        if opts.phyphox:
            return _phyphox_source(opts, dev)
        return open_source("phone", port=opts.port, device=dev, placement=opts.placement, side=opts.side)
    if opts.kind == "ble":
        return open_source("ble", devices=specs, duration_s=opts.duration_s)
    raise GaitError(f"unknown source {opts.kind!r}; one of {', '.join(SOURCE_KINDS)}")


PHYPHOX_RETRY_S = 1.0  # ask a phone that does not answer again after this long (it may come back)


def _phyphox_source(opts: SourceOptions, device: str | None) -> Source:
    """The phyphox app's remote access as the run's one device (an openpod pod): live from now,
    the experiment started when it is not measuring yet, waiting for a phone that does not answer
    (yet, or any more) instead of giving up; ``duration_s`` ends the run."""
    from firmware_interface.phones import open_phone_source

    return open_phone_source("phyphox", url=opts.phyphox, device=device, placement=opts.placement, side=opts.side,
                             duration_s=opts.duration_s, retry_s=PHYPHOX_RETRY_S, auto_start=True)  # fmt: skip


def _emulated_source(opts: SourceOptions, speed: float | None) -> Source:
    from firmware_interface.emulation import EmulatedDevice

    if speed is None:
        raise GaitError("--source emulated streams in real time or N times faster: give --speed N, not 'max'")
    if opts.csv and not Path(opts.csv).is_file():
        raise GaitError(f"{opts.csv}: no such file")
    texts = list(opts.devices) or ["kind=h10"]
    devices = []
    for i, text in enumerate(texts):
        dev = EmulatedDevice.parse(text, csv=opts.csv)
        dev.placement = dev.placement or opts.placement
        dev.side = dev.side or opts.side
        if dev.csv is None and dev.kind != "rsc":  # no recording: the synthetic runner (looped)
            dev.motion = synthetic_motion(dev.placement or ("chest" if dev.kind == "h10" else "sacrum"), 1 + i)
        devices.append(dev)
    faults = None
    if opts.loss or opts.garble:
        from firmware_interface.emulation import Faults

        faults = Faults(
            loss_probability=float(opts.loss),
            garbage_every=max(1, round(1.0 / opts.garble)) if opts.garble > 0 else 0,
            seed=int(opts.seed or 0),
        )
    return open_source("emulated", devices=devices, time_scale=speed, duration_s=opts.duration_s, faults=faults)


def synthetic_motion(placement: str, seed: int, seconds: float = 60.0, rate_hz: float = 200.0) -> Any:
    """A minute of the synthetic runner as an emulator motion (looped)."""
    from firmware_interface.emulation import motion_from_block
    from gait.core.records import concat_blocks

    return motion_from_block(concat_blocks(list(simulated_blocks(placement, rate_hz, seconds, seed))))


def devices_for(source: Source, specs: tuple[str, ...] = ()) -> list[DeviceConfig]:
    """The source's devices, with ``specs`` (``--device``) taking precedence (same id). The
    simulator's specs carry simulation settings it has consumed already; BLE and emulated
    sources found their devices (by address or name) and merged the specs."""
    if source.kind in ("simulator", "ble", "emulated"):
        return list(source.devices)
    given = {s.id: s for s in (DeviceConfig.parse(t) for t in specs)}
    out = [given.pop(d.id, d) for d in source.devices]
    out.extend(given.values())
    return out


def _parts(block: SampleBlock, n: int) -> Iterator[SampleBlock]:
    for i in range(0, len(block), n):
        yield block.slice(i, min(len(block), i + n))


def pods_from_blocks(
    blocks: Mapping[str, tuple[DeviceConfig, SampleBlock]],
    *,
    rate_hz: float,
    speed: float | None,
    acc_range_g: int = 16,
    block_s: float = 1.0,
    rx0_ns: int | None = None,
) -> Source:
    """Recorded sample blocks (one per device) played as openpod pods, paced at ``speed`` x
    real time (None: as fast as possible): a recorded run through the same decoders, sessions
    and engine as any live run. No transport latency or jitter: packets arrive when their last
    sample was measured, so a run's common clock is the recording's own time since its start."""
    from firmware_interface.sources import PodSource

    t0 = min(float(b.time_s[0]) for _, b in blocks.values())
    streams = []
    for config, block in blocks.values():
        streams.append(PodStream(config, _parts(block, max(1, int(round(block_s * rate_hz)))), rate_hz, gyro=block.gyr_dps is not None, latency_ms=0.0,
                                 jitter_ms=0.0, acc_range_g=acc_range_g))  # fmt: skip
    return PodSource(streams, speed=speed, rx0_ns=rx0_ns, t0=t0)
