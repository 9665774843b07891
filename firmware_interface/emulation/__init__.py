"""Device emulation for tests and demos without Bluetooth hardware.

`backend`: a bleak backend (`BumbleScanner`, `BumbleClient`) on Google Bumble's in-process
virtual radio (`EmulatedAir`); `peripherals`: emulated sensors (Polar H10, Polar Verity Sense,
an RSC foot pod, an openpod pod, a MetaWear MetaMotion R or S) as Bumble GATT servers, driven by recorded or synthetic
motion, with fault injection; `source`: them as a source (`EmulatedSource`), and the list of
emulated kinds (`emulators()`: kind, class, scan RSSI; `emulator_for(kind)`), each emulator
named by its kind's canonical name (`firmware_interface.devices.registry`).

The top layer of `firmware_interface`: it may import every other part, none imports it.
"""

from firmware_interface.emulation.backend import BumbleClient, BumbleScanner, EmulatedAir, current_air
from firmware_interface.emulation.peripherals import (
    EmulatedPeripheral,
    Faults,
    H10Emulator,
    MetaWearEmulator,
    Motion,
    OpenpodEmulator,
    RscPodEmulator,
    SentPacket,
    VeritySenseEmulator,
    motion_from_block,
    motion_from_csv,
    synthetic_running,
)
from firmware_interface.emulation.source import (
    EMULATORS,
    Emulated,
    EmulatedDevice,
    EmulatedSource,
    emulator_for,
    emulators,
)


def latency_probe(frames: int = 400, rate_hz: int = 200, samples_per_frame: int = 5, *, quiet: bool = False) -> dict:
    """End-to-end latency from the emulated device's notify to the `RawPacket` in the queue.

    An emulated H10 streams ACC (``rate_hz``, ``samples_per_frame`` per frame) through real
    ATT over Bumble's virtual radio, the bleak API (Bumble backend) and `ble.DeviceLink`'s
    sync callback. Per frame: ``RawPacket.rx_time_ns - SentPacket.notify_ns`` (one clock,
    ``time.monotonic_ns``). Returns ``{"n", "p50_ms", "p99_ms", "max_ms"}`` and prints a line
    unless ``quiet``. It measures the host stack (Bumble + bleak + our callback), not a radio.
    """
    import asyncio

    import numpy as np

    from firmware_interface import ble
    from firmware_interface.protocols.polar_pmd import PMD_DATA_UUID

    async def main() -> list[int]:
        async with EmulatedAir():
            h10 = H10Emulator()
            h10.max_samples_per_frame = samples_per_frame
            await h10.attach()
            found = [f for f in await ble.scan(0.2, backend=BumbleScanner) if f.kind == H10Emulator.kind]
            link = ble.DeviceLink(found[0], settings=ble.StreamSettings(acc_rate_hz=rate_hz), backend=BumbleClient)
            async with link:
                await asyncio.sleep(frames * samples_per_frame / rate_hz + 0.1)
            notify = {s.payload: s.notify_ns for s in h10.sent if s.notify_ns}
            out = []
            while not link.queue.empty():
                p = link.queue.get_nowait()
                if p.channel == PMD_DATA_UUID and p.payload in notify:
                    out.append(p.rx_time_ns - notify[p.payload])
            return out

    lat_ms = np.asarray(asyncio.run(main()), dtype=np.float64) / 1e6
    result = {
        "n": int(lat_ms.size),
        "p50_ms": float(np.percentile(lat_ms, 50)) if lat_ms.size else float("nan"),
        "p99_ms": float(np.percentile(lat_ms, 99)) if lat_ms.size else float("nan"),
        "max_ms": float(lat_ms.max()) if lat_ms.size else float("nan"),
    }
    if not quiet:
        print(
            f"BLE emulated notify -> RawPacket latency: n={result['n']} "
            f"p50={result['p50_ms']:.3f} ms p99={result['p99_ms']:.3f} ms max={result['max_ms']:.3f} ms"
        )
    return result


__all__ = [
    "EMULATORS",
    "Emulated",
    "EmulatedDevice",
    "EmulatedSource",
    "emulator_for",
    "emulators",
    "latency_probe",
    "BumbleClient",
    "BumbleScanner",
    "EmulatedAir",
    "EmulatedPeripheral",
    "Faults",
    "H10Emulator",
    "MetaWearEmulator",
    "Motion",
    "OpenpodEmulator",
    "RscPodEmulator",
    "SentPacket",
    "VeritySenseEmulator",
    "current_air",
    "motion_from_block",
    "motion_from_csv",
    "synthetic_running",
]
