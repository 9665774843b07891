"""The BLE transport end to end, through bleak's own API, on an emulated radio.

Every test drives `BleakScanner` / `BleakClient` (directly or through `firmware_interface.ble`)
with ``backend=`` the Bumble classes of `firmware_interface.emulation`: real ATT/GATT between
in-process Bumble controllers, emulated Polar H10 / Verity Sense / RSC pod / openpod pod.

``pytest --real-device ADDRESS`` (plugin tests/ble_options.py) runs the tests that make sense
on hardware against a real sensor through bleak's platform backend, skipping the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import numpy as np
import pytest
from bleak import BleakClient, BleakScanner

from firmware_interface import ble
from firmware_interface.devices.spec import Capability
from firmware_interface.emulation import (
    BumbleClient,
    BumbleScanner,
    EmulatedAir,
    Faults,
    H10Emulator,
    OpenpodEmulator,
    RscPodEmulator,
    VeritySenseEmulator,
    motion_from_csv,
    synthetic_running,
)
from firmware_interface.openpod import codec as openpod
from firmware_interface.protocols import ControlPointError
from firmware_interface.protocols import polar_pmd as pmd
from firmware_interface.session import (
    DeviceEvent,
    H10Session,
    OpenpodSession,
    RawPacket,
    RscSession,
    VeritySession,
)
from gait.core.records import Gap, SampleBlock

G1_H10_ACC_SETTINGS = bytes.fromhex("F0 01 02 00 00 00 04 19 00 32 00 64 00 C8 00 01 01 10 00 02 03 02 00 04 00 08 00")
G5_START_REQUEST = bytes.fromhex("02 02 02 01 08 00 00 01 C8 00 01 01 10 00")
G5_START_ANSWER = bytes.fromhex("F0 02 02 00 00 01")
G7_STOP_ANSWER = bytes.fromhex("F0 03 02 00 00")
MG_TO_MPS2 = pmd.MG_TO_MPS2


# ---------------------------------------------------------------------------------------------
# harness
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_address(request: pytest.FixtureRequest) -> str | None:
    return request.config.getoption("--real-device", default=None)


def emulated_only(real_address: str | None) -> None:
    if real_address:
        pytest.skip("needs the emulator (fault injection / emulator introspection)")


def run(coro, timeout: float = 20.0):
    async def bounded():
        async with asyncio.timeout(timeout):
            return await coro

    return asyncio.run(bounded())


async def scan_for(kind: str, timeout: float = 0.3) -> ble.FoundDevice:
    found = await ble.scan(timeout, backend=BumbleScanner)
    return next(f for f in found if f.kind == kind)


async def drain(queue: asyncio.Queue) -> list[RawPacket]:
    out = []
    while not queue.empty():
        out.append(queue.get_nowait())
    return out


def data_payloads(packets: list[RawPacket], channel: str) -> list[bytes]:
    return [p.payload for p in packets if p.channel == channel]


def sent_payloads(emulator, *, streams=("acc", "gyro", "imu", "rsc")) -> list[bytes]:
    return [s.payload for s in emulator.sent if s.stream in streams and not s.lost]


IN_FLIGHT_NS = 150_000_000  # a notification handed to the stack this long before a link drop may die with it


def assert_arrived_but_in_flight(received: list[bytes], emulator, *, streams=("acc", "gyro", "imu", "rsc")) -> list:
    """Everything the device sent while connected arrived, in order, except packets still in flight
    when the link dropped (a real radio loses those too); returns the packets that arrived."""
    sent = [s for s in emulator.sent if s.stream in streams and not s.lost]
    arrived, i = [], 0
    for s in sent:
        if i < len(received) and received[i] == s.payload:
            arrived.append(s)
            i += 1
            continue
        in_flight = any(0 <= drop - s.notify_ns <= IN_FLIGHT_NS for drop in emulator.drops_ns)
        assert in_flight, f"packet {s.stream} #{s.index} sent while connected never arrived"
    assert i == len(received), "a packet arrived that the device never sent, or out of order"
    assert len(sent) - len(arrived) <= 2
    return arrived


def blocks(records) -> list[SampleBlock]:
    return [r for r in records if isinstance(r, SampleBlock)]


def feed_all(link: ble.DeviceLink, packets: list[RawPacket]) -> list:
    out = []
    for p in packets:
        out.extend(link.feed(p))
    out.extend(link.session.flush())
    return out


async def stream_for(link: ble.DeviceLink, seconds: float) -> list[RawPacket]:
    async with link:
        await asyncio.sleep(seconds)
    return await drain(link.queue)


# ---------------------------------------------------------------------------------------------
# discovery
# ---------------------------------------------------------------------------------------------


def test_scan_finds_every_emulated_device_with_kind_and_capabilities(real_address):
    if real_address:

        async def real():
            found = await ble.scan(8.0, supported_only=False)
            hit = [f for f in found if f.address.lower() == real_address.lower()]
            assert hit, f"{real_address} not advertising"
            assert hit[0].supported, f"{hit[0].name} is not in the catalogue"

        return run(real(), 20)

    async def main():
        async with EmulatedAir():
            await H10Emulator().attach()
            await VeritySenseEmulator().attach()
            await RscPodEmulator().attach()
            await OpenpodEmulator().attach()
            # bleak's own API first
            devices = await BleakScanner.discover(timeout=0.3, backend=BumbleScanner)
            assert {d.name for d in devices} == {
                "Polar H10 0A1B2C3D",
                "Polar Sense 5E6F7A8B",
                "RunPod 4C5D",
                "openpod-7E21-L",
            }
            found = {f.kind: f for f in await ble.scan(0.3, backend=BumbleScanner)}
            return found

    found = run(main())
    assert set(found) == {
        "h10",
        "verity",
        "rsc",
        "openpod",
    }
    h10, verity, pod, op = (
        found[k]
        for k in ("h10", "verity", "rsc", "openpod")
    )
    assert Capability.ACC in h10.capabilities and Capability.GYRO not in h10.capabilities
    assert h10.placement == "chest"
    assert {Capability.ACC, Capability.GYRO} <= verity.capabilities
    assert pod.capabilities >= {Capability.SPEED_CADENCE} and Capability.ACC not in pod.capabilities
    assert pod.placement == "foot"
    assert op.placement == "foot" and op.side == "left" and Capability.GYRO in op.capabilities
    assert all(f.rssi == -58 for f in found.values())
    assert "00001814-0000-1000-8000-00805f9b34fb" in pod.service_uuids
    assert openpod.SERVICE_UUID in op.service_uuids


# ---------------------------------------------------------------------------------------------
# settings negotiation
# ---------------------------------------------------------------------------------------------


def test_h10_settings_start_stop_answers_are_the_reference_bytes(real_address):
    async def exchange(client: BleakClient) -> list[bytes]:
        answers: list[bytes] = []
        frames: list[bytes] = []
        got = asyncio.Event()

        def on_cp(_s, data):
            answers.append(bytes(data))
            got.set()

        async def ask(payload: bytes) -> bytes:
            got.clear()
            await client.write_gatt_char(pmd.PMD_CONTROL_POINT_UUID, payload, response=True)
            async with asyncio.timeout(3):
                await got.wait()
            return answers[-1]

        features = pmd.decode_features(bytes(await client.read_gatt_char(pmd.PMD_CONTROL_POINT_UUID)))
        assert pmd.MeasurementType.ACC in features
        await client.start_notify(pmd.PMD_CONTROL_POINT_UUID, on_cp)
        await client.start_notify(pmd.PMD_DATA_UUID, lambda _s, d: frames.append(bytes(d)))
        out = [await ask(bytes.fromhex("01 02")), await ask(G5_START_REQUEST)]
        await asyncio.sleep(0.4)
        out.append(await ask(bytes.fromhex("03 02")))
        assert frames, "no ACC frame after START"
        first = pmd.decode_data_frame(frames[0])
        assert first.measurement is pmd.MeasurementType.ACC and first.frame_type == pmd.RAW_TYPE1
        return out

    if real_address:

        async def real():
            dev = await ble.find(real_address, timeout=10.0)
            if dev is None or dev.kind != "h10":
                pytest.skip("the reference bytes are those of a Polar H10")
            async with BleakClient(dev.ble_device) as client:
                return await exchange(client)

        answers = run(real(), 30)
    else:

        async def main():
            async with EmulatedAir():
                await H10Emulator().attach()
                dev = await BleakScanner.find_device_by_name("Polar H10 0A1B2C3D", timeout=2.0, backend=BumbleScanner)
                assert dev is not None
                async with BleakClient(dev, backend=BumbleClient) as client:
                    assert client.mtu_size == 247
                    return await exchange(client)

        answers = run(main())
    assert answers[0] == G1_H10_ACC_SETTINGS
    assert answers[1] == G5_START_ANSWER
    assert answers[2] == G7_STOP_ANSWER


def test_unsupported_rate_is_the_devices_error_code_as_a_typed_error(real_address):
    async def refuse(dev: ble.FoundDevice, backend) -> ControlPointError:
        link = ble.DeviceLink(dev, settings=ble.StreamSettings(acc_rate_hz=150), backend=backend)
        with pytest.raises(ControlPointError) as info:
            await link.start()
        assert link.client is None or not link.client.is_connected
        return info.value

    if real_address:

        async def real():
            dev = await ble.find(real_address, timeout=10.0)
            if dev is None or dev.kind != "h10":
                pytest.skip("checks the H10's answer to 150 Hz")
            return await refuse(dev, None)

        err = run(real(), 30)
    else:

        async def main():
            async with EmulatedAir():
                h10 = await H10Emulator().attach()
                dev = await scan_for("h10")
                err = await refuse(dev, BumbleClient)
                await asyncio.sleep(0.05)
                assert h10.connection is None  # the link cleaned up after the refusal
                assert h10.cp_log[-1][1] == bytes.fromhex("F0 02 02 08")
                # and the device is usable again with a supported rate
                link = ble.DeviceLink(
                    dev, settings=ble.StreamSettings(acc_rate_hz=50, acc_range_g=4), backend=BumbleClient
                )
                async with link:
                    assert h10.running[pmd.MeasurementType.ACC].rate_hz == 50
                return err

        err = run(main())
    assert err.status == pmd.PmdStatus.INVALID_SAMPLE_RATE and err.status_name == "INVALID_SAMPLE_RATE"
    assert err.op == pmd.Opcode.REQUEST_MEASUREMENT_START and err.measurement == pmd.MeasurementType.ACC


def test_openpod_unsupported_configuration_is_commandfailed(real_address):
    emulated_only(real_address)

    async def main():
        async with EmulatedAir():
            pod = await OpenpodEmulator().attach()
            dev = await scan_for("openpod")
            link = ble.DeviceLink(dev, settings=ble.StreamSettings(acc_rate_hz=52), backend=BumbleClient)
            with pytest.raises(openpod.CommandFailed) as info:
                await link.start()
            assert not pod.streaming
            return info.value

    err = run(main())
    assert err.status == openpod.STATUS_UNSUPPORTED_RATE


# ---------------------------------------------------------------------------------------------
# streaming
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "frame_type"),
    [(200, pmd.RAW_TYPE1), (100, pmd.COMPRESSED_TYPE0), (50, pmd.COMPRESSED_TYPE1)],
)
def test_h10_acc_frames_arrive_in_order_and_decode_to_what_was_sent(real_address, rate, frame_type):
    if real_address:
        if (rate, frame_type) != (200, pmd.RAW_TYPE1):
            pytest.skip("a real H10 sends raw frames")

        async def real():
            dev = await ble.find(real_address, timeout=10.0)
            if dev is None or dev.kind != "h10":
                pytest.skip("streams a Polar H10")
            link = ble.DeviceLink(dev, session=H10Session(dev.address))
            packets = await stream_for(link, 5.0)
            records = feed_all(link, packets)
            assert link.session.health().malformed == 0
            assert len(blocks(records)) > 10
            t = np.concatenate([b.time_s for b in blocks(records)])
            assert np.all(np.diff(t) > 0)

        return run(real(), 40)

    async def main():
        async with EmulatedAir():
            h10 = H10Emulator(acc_frame_type=frame_type)
            h10.max_samples_per_frame = rate // 4  # four frames a second, also for the delta frames
            await h10.attach()
            dev = await scan_for("h10")
            link = ble.DeviceLink(
                dev,
                settings=ble.StreamSettings(acc_rate_hz=rate),
                backend=BumbleClient,
                session=H10Session(dev.address, sample_rate_hz=rate),
            )
            packets = await stream_for(link, 1.6)
            return h10, link, packets

    h10, link, packets = run(main())
    received = data_payloads(packets, pmd.PMD_DATA_UUID)
    sent = sent_payloads(h10)
    assert len(sent) >= 5
    assert received == sent  # every frame, in order, byte for byte
    assert link.health.received == len(received) and link.health.dropped == 0
    # the write of START and the device's answer are in the queue too (exact replay needs them)
    assert any(p.channel == "write:" + pmd.PMD_CONTROL_POINT_UUID and p.payload[0] == 2 for p in packets)
    records = feed_all(link, packets)
    got = SampleBlock.concat(blocks(records))
    raw = np.concatenate([s.raw for s in h10.sent if s.stream == "acc"])
    factor = float(np.float32(0.000244)) if frame_type == pmd.COMPRESSED_TYPE0 else 1.0
    expect_mps2 = raw * (factor * 1000.0 if frame_type == pmd.COMPRESSED_TYPE0 else 1.0) * MG_TO_MPS2
    assert len(got) == raw.shape[0]
    np.testing.assert_allclose(got.acc_mps2, expect_mps2, rtol=1e-6, atol=1e-9)
    assert np.all(np.diff(got.time_s) > 0)
    np.testing.assert_allclose(np.diff(got.time_s), 1.0 / rate, rtol=1e-6)
    assert link.session.health().gaps == 0 and link.health.malformed == 0
    # the stream was stopped on exit: STOP written and answered, device idle, link closed
    assert h10.cp_log[-1] == (bytes.fromhex("03 02"), G7_STOP_ANSWER)
    assert not h10.running and h10.connection is None
    assert link.health.ended == "stopped"


def test_verity_sense_acc_and_gyro(real_address):
    emulated_only(real_address)

    async def main():
        async with EmulatedAir():
            verity = VeritySenseEmulator(acc_with_factor=True)
            verity.max_samples_per_frame = 13
            await verity.attach()
            dev = await scan_for("verity")
            link = ble.DeviceLink(dev, backend=BumbleClient, session=VeritySession(dev.address))
            packets = await stream_for(link, 1.6)
            return verity, link, packets

    verity, link, packets = run(main())
    assert data_payloads(packets, pmd.PMD_DATA_UUID) == sent_payloads(verity)
    got = SampleBlock.concat(blocks(feed_all(link, packets)))
    assert got.gyr_dps is not None
    acc_sent = [s for s in verity.sent if s.stream == "acc"]
    acc_raw = np.concatenate([s.raw for s in acc_sent])
    acc_t = np.concatenate([s.time_ns for s in acc_sent])
    gyr_by_time = {
        int(t): row for s in verity.sent if s.stream == "gyro" for t, row in zip(s.time_ns, s.raw, strict=True)
    }
    n = len(got)
    assert n >= 52
    f_acc = float(np.float32(0.000244)) * 1000.0 * MG_TO_MPS2
    f_gyr = float(np.float32(2000.0 / 32768.0))
    np.testing.assert_allclose(got.acc_mps2, acc_raw[:n] * f_acc, rtol=1e-6)
    # ACC and GYRO sample on one device grid; the session puts the gyro onto the ACC times
    # (NaN before the first gyro sample the session used: GYRO starts one control round trip
    # after ACC, and the session drops a GYRO frame that arrives before the first ACC frame)
    have = ~np.isnan(got.gyr_dps[:, 0])
    first = int(np.argmax(have))
    assert first <= 13 and have[first:].all()
    expect = np.array([gyr_by_time[int(t)] for t in acc_t[:n][have]]) * f_gyr
    np.testing.assert_allclose(got.gyr_dps[have], expect, rtol=1e-4, atol=1e-3)
    stops = [ans for req, ans in verity.cp_log if req[0] == pmd.Opcode.STOP_MEASUREMENT]
    assert stops == [bytes.fromhex("F0 03 05 00 00"), bytes.fromhex("F0 03 02 00 00")]
    assert not verity.running


def test_openpod_stream_from_a_csv_recording(real_address, tmp_path):
    emulated_only(real_address)
    from firmware_interface.files.recording import write_recording

    t = np.arange(0, 4, 1 / 200)
    acc, gyr = synthetic_running(placement="foot")(t)
    path = write_recording(tmp_path / "run.csv", t, acc, gyr)

    async def main():
        async with EmulatedAir():
            pod = await OpenpodEmulator(motion=motion_from_csv(path)).attach()
            dev = await scan_for("openpod")
            link = ble.DeviceLink(dev, backend=BumbleClient, session=OpenpodSession(dev.address))
            packets = await stream_for(link, 1.0)
            return pod, link, packets

    pod, link, packets = run(main())
    assert data_payloads(packets, openpod.DATA_UUID) == sent_payloads(pod)
    got = SampleBlock.concat(blocks(feed_all(link, packets)))
    raw = np.concatenate([s.raw for s in pod.sent if s.stream == "imu"])
    graw = np.concatenate([s.raw_gyro for s in pod.sent if s.stream == "imu"])
    np.testing.assert_allclose(got.acc_mps2, raw * 16 * 9.80665 / 32768)
    np.testing.assert_allclose(got.gyr_dps, graw * 2000 / 32768)
    assert link.placement == "foot" and link.side == "left"
    # SET_TIME was sent, so packets carry Unix time
    first = openpod.decode_packet(data_payloads(packets, openpod.DATA_UUID)[0])
    assert first.time_is_unix and abs(first.timestamp_us / 1e6 - time.time()) < 60


def test_rsc_pod_speed_and_cadence(real_address):
    emulated_only(real_address)

    async def main():
        async with EmulatedAir():
            pod = await RscPodEmulator(interval_s=0.1, speed_mps=3.5, cadence_spm=172).attach()
            dev = await scan_for("rsc")
            link = ble.DeviceLink(dev, backend=BumbleClient, session=RscSession(dev.address))
            packets = await stream_for(link, 0.55)
            return pod, link, packets

    pod, link, packets = run(main())
    assert data_payloads(packets, "00002a53-0000-1000-8000-00805f9b34fb") == sent_payloads(pod)
    readings = [r for r in feed_all(link, packets) if type(r).__name__ == "RscReading"]
    assert len(readings) >= 4
    assert all(abs(r.speed_mps - 3.5) < 0.01 and r.cadence_spm == 172 for r in readings)
    assert link.health.battery_pct == 87


# ---------------------------------------------------------------------------------------------
# faults
# ---------------------------------------------------------------------------------------------


def test_link_lost_mid_run_is_reestablished_and_the_run_continues(real_address):
    emulated_only(real_address)

    async def main():
        async with EmulatedAir():
            h10 = H10Emulator(faults=Faults(drop_link_at_s=0.6, return_after_s=0.3))
            h10.max_samples_per_frame = 20
            await h10.attach()
            dev = await scan_for("h10")
            link = ble.DeviceLink(dev, backend=BumbleClient, session=H10Session(dev.address))
            packets = await stream_for(link, 2.0)
            return h10, link, packets

    h10, link, packets = run(main())
    assert link.health.disconnects == 1 and link.health.reconnects == 1
    lost, restored = link.health.outages[0]
    assert restored is not None and 0.25 < (restored - lost) / 1e9 < 1.5
    assert h10.connections == 2
    # the device was started again after the reconnection
    starts = [req for req, ans in h10.cp_log if req[0] == pmd.Opcode.REQUEST_MEASUREMENT_START]
    assert len(starts) == 2
    # nothing received before the drop is lost; everything sent while connected arrived, in order
    received = data_payloads(packets, pmd.PMD_DATA_UUID)
    arrived = assert_arrived_but_in_flight(received, h10)
    drop_at = next(i for i, p in enumerate(packets) if p.channel == "link" and p.payload == b"disconnected")
    before = data_payloads(packets[:drop_at], pmd.PMD_DATA_UUID)
    after = data_payloads(packets[drop_at:], pmd.PMD_DATA_UUID)
    assert len(before) >= 5 and len(after) >= 5
    # the gap shows in the device clock and is reported by the decoder as a Gap record
    ts_before = pmd.decode_data_frame(before[-1]).timestamp_ns
    first_after = pmd.decode_data_frame(after[0])
    outage_s = (first_after.timestamp_ns - ts_before) / 1e9
    assert outage_s > 0.25
    records = feed_all(link, packets)
    gaps = [r for r in records if isinstance(r, Gap)]
    assert len(gaps) == 1 and gaps[0].missing_samples == pytest.approx(outage_s * 200 - first_after.n_samples, abs=3)
    health = link.session.health()
    assert health.reconnects == 1 and health.gaps == 1
    assert health.samples == sum(s.raw.shape[0] for s in arrived if s.stream == "acc")


def test_openpod_link_lost_restarts_sequence_and_continues(real_address):
    emulated_only(real_address)

    async def main():
        async with EmulatedAir():
            pod = await OpenpodEmulator(faults=Faults(drop_link_at_s=0.5, return_after_s=0.2)).attach()
            dev = await scan_for("openpod")
            link = ble.DeviceLink(dev, backend=BumbleClient, session=OpenpodSession(dev.address))
            packets = await stream_for(link, 1.5)
            return pod, link, packets

    pod, link, packets = run(main())
    assert link.health.reconnects == 1
    received = data_payloads(packets, openpod.DATA_UUID)
    assert_arrived_but_in_flight(received, pod)
    seqs = [openpod.decode_packet(p).seq for p in received]
    assert seqs.count(0) == 2  # START after the reconnection restarts the sequence
    records = feed_all(link, packets)
    assert sum(isinstance(r, Gap) for r in records) == 1


def test_device_that_stops_on_its_own_ends_cleanly_and_says_so(real_address):
    emulated_only(real_address)

    async def main():
        async with EmulatedAir():
            h10 = H10Emulator(faults=Faults(stop_at_s=0.5))
            h10.max_samples_per_frame = 20
            await h10.attach()
            dev = await scan_for("h10")
            link = ble.DeviceLink(dev, backend=BumbleClient, session=H10Session(dev.address))
            async with link:
                async with asyncio.timeout(3):
                    await link.finished.wait()
                await asyncio.sleep(0.1)
            return h10, link, await drain(link.queue)

    h10, link, packets = run(main())
    assert link.health.device_stopped and link.health.ended == "device stopped ACC"
    assert link.health.reconnects == 0
    assert data_payloads(packets, pmd.PMD_DATA_UUID) == sent_payloads(h10)
    events = [r for r in feed_all(link, packets) if isinstance(r, DeviceEvent) and r.kind == "stopped"]
    assert len(events) == 1
    assert h10.connection is None  # the link let go of the device


def test_silent_stop_is_detected_by_the_stall_watchdog(real_address):
    emulated_only(real_address)

    async def main():
        async with EmulatedAir():
            await OpenpodEmulator(faults=Faults(stop_at_s=0.3, announce_stop=False)).attach()
            dev = await scan_for("openpod")
            link = ble.DeviceLink(dev, backend=BumbleClient, stall_timeout_s=0.4)
            async with link:
                async with asyncio.timeout(3):
                    await link.finished.wait()
            return link

    link = run(main())
    assert link.health.device_stopped and "silent" in link.health.ended


def test_openpod_announced_stop(real_address):
    emulated_only(real_address)

    async def main():
        async with EmulatedAir():
            await OpenpodEmulator(faults=Faults(stop_at_s=0.3)).attach()
            dev = await scan_for("openpod")
            link = ble.DeviceLink(dev, backend=BumbleClient)
            async with link:
                async with asyncio.timeout(3):
                    await link.finished.wait()
            return link

    link = run(main())
    assert link.health.ended == "device stopped: LOW_BATTERY"


@pytest.mark.parametrize("kind", ["h10", "openpod", "rsc"])
def test_garbage_frames_count_as_malformed_and_the_stream_continues(real_address, kind):
    emulated_only(real_address)
    make = {
        "h10": lambda f: H10Emulator(faults=f),
        "openpod": lambda f: OpenpodEmulator(faults=f),
        "rsc": lambda f: RscPodEmulator(faults=f, interval_s=0.05),
    }[kind]
    session = {
        "h10": H10Session,
        "openpod": OpenpodSession,
        "rsc": RscSession,
    }[kind]

    async def main():
        async with EmulatedAir():
            emu = make(Faults(garbage_every=3))
            if kind == "h10":
                emu.max_samples_per_frame = 20
            await emu.attach()
            dev = await scan_for(kind)
            link = ble.DeviceLink(dev, backend=BumbleClient, session=session(dev.address))
            packets = await stream_for(link, 1.0)
            return emu, link, packets

    emu, link, packets = run(main())
    garbage = [s for s in emu.sent if s.garbage]
    good = [s for s in emu.sent if not s.garbage]
    assert len(garbage) >= 2 and len(good) >= 6
    records = feed_all(link, packets)
    assert link.health.malformed == len(garbage)
    assert link.session.health().malformed == len(garbage)
    if kind != "rsc":  # every good frame still decoded: no sample lost, no gap
        n = sum(len(b) for b in blocks(records))
        assert n == sum(s.raw.shape[0] for s in good)
        assert link.session.health().gaps == 0


def test_lost_packets_show_as_gaps(real_address):
    emulated_only(real_address)

    async def main():
        async with EmulatedAir():
            pod = await OpenpodEmulator(faults=Faults(loss_every=5)).attach()
            dev = await scan_for("openpod")
            link = ble.DeviceLink(dev, backend=BumbleClient, session=OpenpodSession(dev.address))
            packets = await stream_for(link, 1.0)
            return pod, link, packets

    pod, link, packets = run(main())
    lost = [s for s in pod.sent if s.lost]
    records = feed_all(link, packets)
    health = link.session.health()
    # the last packets may be lost after the final one received: only count the bracketed ones
    last_seen = openpod.decode_packet(data_payloads(packets, openpod.DATA_UUID)[-1]).seq
    bracketed = [s for s in lost if openpod.decode_packet(s.payload).seq < last_seen]
    assert len(bracketed) >= 2
    assert health.dropped == len(bracketed)
    assert health.missing_samples == sum(s.raw.shape[0] for s in bracketed)
    assert sum(isinstance(r, Gap) for r in records) == len(bracketed)


# ---------------------------------------------------------------------------------------------
# queue, shutdown, two devices
# ---------------------------------------------------------------------------------------------


def test_full_queue_drops_the_oldest_and_counts(real_address):
    emulated_only(real_address)

    async def main():
        async with EmulatedAir():
            h10 = H10Emulator(time_scale=4.0)
            h10.max_samples_per_frame = 10
            await h10.attach()
            dev = await scan_for("h10")
            link = ble.DeviceLink(dev, backend=BumbleClient, queue_size=8)
            packets = await stream_for(link, 0.6)
            return h10, link, packets

    h10, link, packets = run(main())
    assert len(packets) == 8
    assert link.health.dropped > 10
    sent = sent_payloads(h10)
    data = data_payloads(packets, pmd.PMD_DATA_UUID)
    assert data and data == sent[-len(data) :]  # the newest survived, in order


def test_cancellation_stops_the_device_stream(real_address):
    emulated_only(real_address)

    async def main():
        async with EmulatedAir():
            h10 = await H10Emulator().attach()
            dev = await scan_for("h10")
            link = ble.DeviceLink(dev, backend=BumbleClient)
            started = asyncio.Event()

            async def runner():
                async with link:
                    started.set()
                    await asyncio.sleep(30)

            task = asyncio.create_task(runner())
            await started.wait()
            await asyncio.sleep(0.2)
            task.cancel()  # what Ctrl-C does to asyncio.run's main task
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await asyncio.sleep(0.05)
            return h10, link

    h10, link = run(main())
    assert (bytes.fromhex("03 02"), G7_STOP_ANSWER) in h10.cp_log
    assert not h10.running and h10.connection is None
    assert link.finished.is_set() and link.health.reconnects == 0


def test_two_devices_at_once_share_one_queue_and_clock(real_address):
    emulated_only(real_address)

    async def main():
        async with EmulatedAir():
            h10 = H10Emulator()
            h10.max_samples_per_frame = 20
            await h10.attach()
            pod = await OpenpodEmulator().attach()
            found = {f.kind: f for f in await ble.scan(0.3, backend=BumbleScanner)}
            chest, foot = found["h10"], found["openpod"]
            group = ble.LinkGroup(
                [
                    (chest, {"device_id": "chest", "session": H10Session("chest")}),
                    (foot, {"device_id": "foot", "session": OpenpodSession("foot")}),
                ],
                backend=BumbleClient,
            )
            got: list[RawPacket] = []
            records: dict[str, list] = {"chest": [], "foot": []}
            async with group:
                async for packet in group.packets(duration_s=1.2):
                    got.append(packet)
                    records[packet.device].extend(group.feed(packet))
            return h10, pod, group, got, records

    h10, pod, group, got, records = run(main())
    assert {p.device for p in got} == {"chest", "foot"}
    rx = [p.rx_time_ns for p in got]
    assert rx == sorted(rx)  # one receive clock, one queue: arrival order
    for device, emulator, channel in (("chest", h10, pmd.PMD_DATA_UUID), ("foot", pod, openpod.DATA_UUID)):
        received = data_payloads([p for p in got if p.device == device], channel)
        assert received and received == sent_payloads(emulator)[: len(received)]  # in order, none missing
    assert blocks(records["chest"]) and blocks(records["foot"])
    assert group.finished and all(h.ended == "stopped" for h in group.health().values())
    assert not h10.running and not pod.streaming


def test_latency_probe_reports_percentiles():
    from firmware_interface.emulation import latency_probe

    result = latency_probe(frames=60, quiet=True)
    assert result["n"] >= 50
    assert 0 < result["p50_ms"] <= result["p99_ms"] < 100
