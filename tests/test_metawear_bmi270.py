"""MetaWear boards with a BMI160 (MetaMotion R, RL, C) and a BMI270 (MetaMotion S): module info
-> chip, each chip's commands and data, the session, and an emulated MetaMotion S end to end
through bleak's own client API.

The byte vectors and expected values are copied from MbientLab's own SDK unit tests:

- C++ SDK (github.com/mbientlab/MetaWear-SDK-Cpp): test/common.py (the module-info answers of
  each board), test/test_accelerometer_bmi270.py, test/test_accelerometer_bmi160.py,
  test/test_gyro_bmi160.py;
- Android SDK (github.com/mbientlab/MetaWear-SDK-Android), because the C++ SDK has no BMI270
  gyro test: library/src/test/java/com/mbientlab/metawear/TestGyro270Config.java,
  TestGyro270Data.java, TestGyro270PackedData.java (expected values there are float32 bit
  patterns, written out below as decimals), TestGyro160Config.java and MetaWearBoardInfo.java
  (module info).

The SDKs give values in g and deg/s; here they are also checked in m/s^2 (x 9.80665).
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from bleak import BleakClient, BleakScanner

from firmware_interface import ble
from firmware_interface.devices.base import DeviceEvent, RawPacket, write_channel
from firmware_interface.emulation import BumbleClient, BumbleScanner, EmulatedAir, MetaWearEmulator
from firmware_interface.protocols import decode_hex
from firmware_interface.protocols import metawear as mw
from firmware_interface.protocols.common import STANDARD_GRAVITY_MPS2, parse_hex
from firmware_interface.protocols.errors import (
    EncodeError,
    MalformedFrame,
    ProtocolError,
    TruncatedFrame,
    UnsupportedFrame,
)
from firmware_interface.session import MetaWearSession
from gait.core.records import SampleBlock

BMI160, BMI270 = mw.Chip.BMI160, mw.Chip.BMI270
G = STANDARD_GRAVITY_MPS2

# --- module info (C++ SDK test/common.py; the same bytes in Android MetaWearBoardInfo.java) ---
MOTION_S = {"acc": "03 80 04 00", "gyro": "13 80 01 00"}  # metawear_motion_s_services
MOTION_R = {"acc": "03 80 01 01", "gyro": "13 80 00 01"}  # metawear_motion_r_services
MOTION_RL = {"acc": "03 80 01 02", "gyro": "13 80 00 01"}  # metawear_motion_rl_services
METAWEAR_R = {"acc": "03 80 00 01", "gyro": "13 80"}  # metawear_r_services: MMA8452Q, no gyro
METAWEAR_ENV = {"acc": "03 80 03 01", "gyro": "13 80"}  # metawear_environment_services: BMA255

# --- data (C++ test_accelerometer_bmi270.py / _bmi160.py, Android TestGyro270*.java) ----------
ACC_SINGLE = "03 04 16 C4 94 A2 2A D0"  # +-4 g
ACC_SINGLE_G = [[-1.872, -2.919, -1.495]]
ACC_PACKED_TAIL = "62 B7 53 0D E9 FD 16 D0 4D 0E 57 02 8A FF A1 05 0A 01"  # +-8 g
ACC_PACKED_G = [[-4.539, 0.833, -0.131], [-2.995, 0.894, 0.146], [-0.029, 0.352, 0.065]]
BMI270_ACC_PACKED = "03 05 " + ACC_PACKED_TAIL
BMI160_ACC_PACKED = "03 1C " + ACC_PACKED_TAIL
GYRO_SINGLE_TAIL = "3E 43 FF 7F 00 80"  # 500 dps
# TestGyro270Data: 0x4383344b, 0x43f9bf9c, 0xc3f9c190
GYRO_SINGLE_DPS = [[262.4085388183594, 499.4969482421875, -499.51220703125]]
GYRO_PACKED_TAIL = "09 15 AD 26 08 DE 8A 1A 0D 26 65 E4 8D 20 AC 27 73 EC"  # 1000 dps
# TestGyro270PackedData: 0x43242d45 0x4396ee0d 0xc3848f9c / 0x434f2258 0x43947da9 0xc3577513 /
# 0x437e0e0d 0x439ad12c 0xc318976a
GYRO_PACKED_DPS = [
    [164.1768341064453, 301.8597717285156, -265.1219482421875],
    [207.1341552734375, 296.9817199707031, -215.4573211669922],
    [254.0548858642578, 309.6341552734375, -152.59146118164062],
]


def h(text: str) -> bytes:
    return parse_hex(text)


# ---------------------------------------------------------------------------------------------
# module info -> chip
# ---------------------------------------------------------------------------------------------


def test_module_info_of_each_board_picks_the_chip():
    s = mw.detect_board(h(MOTION_S["acc"]), h(MOTION_S["gyro"]))
    assert (s.chip, s.gyro, s.packed_acc, s.packed_gyro) == (BMI270, True, True, True)
    r = mw.detect_board(h(MOTION_R["acc"]), h(MOTION_R["gyro"]))
    assert (r.chip, r.acc_revision, r.gyro_revision, r.packed_acc, r.packed_gyro) == (BMI160, 1, 1, True, True)
    assert mw.detect_board(h(MOTION_RL["acc"]), h(MOTION_RL["gyro"])).chip is BMI160
    info = mw.decode_module_info(h(MOTION_S["acc"]))
    assert (info.module, info.present, info.implementation, info.revision) == (0x03, True, 4, 0)
    assert info.implementation_name == "BMI270"
    assert mw.decode_module_info(h("13 80")) == mw.ModuleInfo(0x13, present=False)
    assert mw.encode_module_info(0x03, 4, 0) == h(MOTION_S["acc"])
    assert mw.encode_module_info(0x13, None) == h("13 80")
    assert mw.module_info_request(0x03) == h("03 80") and mw.module_info_request(0x13) == h("13 80")
    # accelerometer only: the gyro module answers without an implementation
    acc_only = mw.detect_board(h("03 80 04 00"), h("13 80"))
    assert (acc_only.chip, acc_only.gyro, acc_only.packed_gyro) == (BMI270, False, False)


def test_a_bmi160_of_revision_0_does_not_pack():
    # synthetic: revision 0 of a BMI160 module (the SDK packs only from revision 1)
    old = mw.detect_board(h("03 80 01 00"), h("13 80 00 00"))
    assert (old.chip, old.packed_acc, old.packed_gyro) == (BMI160, False, False)


@pytest.mark.parametrize(
    ("acc", "gyro", "error", "words"),
    [
        (METAWEAR_R["acc"], METAWEAR_R["gyro"], UnsupportedFrame, "MMA8452Q"),
        (METAWEAR_ENV["acc"], METAWEAR_ENV["gyro"], UnsupportedFrame, "BMA255"),
        ("03 80 07 00", None, UnsupportedFrame, "unknown"),
        ("03 80", "13 80", UnsupportedFrame, "no accelerometer"),
        ("03 80 04 00", "13 80 00 01", MalformedFrame, "BMI160"),  # a BMI270 acc with a BMI160 gyro
        ("13 80 01 00", None, MalformedFrame, "accelerometer"),
        ("03 80 04", None, TruncatedFrame, "module info"),
        ("03 04 16 C4", None, UnsupportedFrame, "module-info"),
    ],
)
def test_unknown_or_inconsistent_module_info_is_a_typed_error(acc, gyro, error, words):
    with pytest.raises(error, match=words) as exc:
        mw.detect_board(h(acc), None if gyro is None else h(gyro))
    assert isinstance(exc.value, ProtocolError)
    if error is UnsupportedFrame and "module-info" not in words:
        assert "BMI160" in str(exc.value) and "BMI270" in str(exc.value)  # says what is supported


# ---------------------------------------------------------------------------------------------
# commands
# ---------------------------------------------------------------------------------------------

# C++ test_accelerometer_bmi270.py test_set_odr (range left at the BMI270 default +-8 g)
BMI270_ACC_ODR = {25: 0xA6, 50: 0xA7, 100: 0xA8, 200: 0xA9, 400: 0xAA, 800: 0xAB, 1600: 0xAC}
# C++ test_accelerometer_bmi160.py test_set_odr (range left at the BMI160 default +-2 g)
BMI160_ACC_ODR = {25: 0x26, 50: 0x27, 100: 0x28, 200: 0x29, 400: 0x2A, 800: 0x2B, 1600: 0x2C}


@pytest.mark.parametrize("odr_hz", sorted(BMI270_ACC_ODR))
def test_accelerometer_config_every_rate(odr_hz):
    assert mw.acc_config(odr_hz, 8, chip=BMI270) == bytes([0x03, 0x03, BMI270_ACC_ODR[odr_hz], 0x02])
    assert mw.acc_config(odr_hz, 2, chip=BMI160) == bytes([0x03, 0x03, BMI160_ACC_ODR[odr_hz], 0x03])


def test_accelerometer_config_ranges():
    assert mw.acc_config(100, 16, chip=BMI270) == h("03 03 A8 03")  # BMI270 test_set_range
    assert mw.acc_config(200, 8, chip="bmi270") == h("03 03 A9 02")  # BMI270 test_set_odr_and_range
    assert mw.acc_config(100, 16, chip=BMI160) == h("03 03 28 0C")  # BMI160 test_set_range
    assert mw.acc_config(200, 8) == h("03 03 29 08")  # BMI160 test_set_odr_and_range
    assert mw.decode_config(h("03 03 A8 03"), chip=BMI270) == mw.SensorConfig("acc", 100, 16)
    assert mw.decode_config(h("03 03 29 08"), chip=BMI160) == mw.SensorConfig("acc", 200, 8)
    with pytest.raises(EncodeError):
        mw.acc_config(12, 8, chip=BMI270)
    with pytest.raises(EncodeError):
        mw.acc_config(100, 3, chip=BMI270)
    with pytest.raises(ProtocolError, match="bmi160, bmi270"):
        mw.acc_config(100, 8, chip="bmi999")
    with pytest.raises(MalformedFrame):
        mw.decode_config(h("03 03 A8 0C"), chip=BMI270)  # 0x0C is a BMI160 range code only


# Android TestGyro270Config.java and TestGyro160Config.java (the same tables): ODR_BITMASK per
# OutputDataRate (25 .. 3200 Hz), RANGE_BITMASK per Range (2000, 1000, 500, 250, 125 dps);
# expected {0x13, 0x03, 0x20 | odr, range}
GYRO_ODRS = (25, 50, 100, 200, 400, 800, 1600, 3200)
GYRO_ODR_BITMASK = (0b0110, 0b0111, 0b1000, 0b1001, 0b1010, 0b1011, 0b1100, 0b1101)
GYRO_RANGES = (2000, 1000, 500, 250, 125)
GYRO_RANGE_BITMASK = (0b000, 0b001, 0b010, 0b011, 0b100)


@pytest.mark.parametrize("chip", list(mw.Chip))
def test_gyro_config_every_rate_and_range(chip):
    for odr, odr_mask in zip(GYRO_ODRS, GYRO_ODR_BITMASK, strict=True):
        for fsr, fsr_mask in zip(GYRO_RANGES, GYRO_RANGE_BITMASK, strict=True):
            expected = bytes([0x13, 0x03, 0x20 | odr_mask, fsr_mask])
            assert mw.gyro_config(odr, fsr, chip=chip) == expected
            assert mw.decode_config(expected, chip=chip) == mw.SensorConfig("gyro", odr, fsr)


def test_bmi160_gyro_config():
    # C++ test_gyro_bmi160.py: 200 Hz (range 2000), 250 dps (rate 100 Hz), 50 Hz + 125 dps
    assert mw.gyro_config(200, 2000) == h("13 03 29 00")
    assert mw.gyro_config(100, 250, chip=BMI160) == h("13 03 28 03")
    assert mw.gyro_config(50, 125, chip=BMI160) == h("13 03 27 04")


def test_enable_subscribe_start_stop_bytes():
    # BMI270 accelerometer (C++ test_accelerometer_bmi270.py)
    assert mw.ACC_ENABLE == h("03 02 01 00") and mw.ACC_DISABLE == h("03 02 00 01")
    assert mw.subscribe("acc", chip=BMI270) == h("03 04 01")
    assert mw.subscribe("acc", enable=False, chip=BMI270) == h("03 04 00")
    assert mw.subscribe("acc", packed=True, chip=BMI270) == h("03 05 01")
    assert mw.subscribe("acc", packed=True, enable=False, chip=BMI270) == h("03 05 00")
    # BMI270 gyro (Android TestGyro270Data / TestGyro270PackedData)
    assert mw.GYRO_START == h("13 01 01") and mw.GYRO_STOP == h("13 01 00")
    assert mw.GYRO_ENABLE == h("13 02 01 00") and mw.GYRO_DISABLE == h("13 02 00 01")
    assert mw.subscribe("gyro", chip=BMI270) == h("13 04 01")
    assert mw.subscribe("gyro", enable=False, chip=BMI270) == h("13 04 00")
    assert mw.subscribe("gyro", packed=True, chip=BMI270) == h("13 05 01")
    assert mw.subscribe("gyro", packed=True, enable=False, chip=BMI270) == h("13 05 00")
    # BMI160 (C++ test_accelerometer_bmi160.py, test_gyro_bmi160.py)
    assert mw.subscribe("acc", enable=False) == h("03 04 00")
    assert mw.subscribe("acc", packed=True, enable=False) == h("03 1C 00")
    assert mw.subscribe("gyro", enable=False, chip=BMI160) == h("13 05 00")
    assert mw.subscribe("gyro", packed=True, enable=False, chip=BMI160) == h("13 07 00")
    # [D] accelerometer start / stop: the SDKs' source only (no test vector)
    assert mw.ACC_START == h("03 01 01") and mw.ACC_STOP == h("03 01 00")


def test_streaming_sequences_per_chip():
    s = mw.start_streaming_commands(chip=BMI270, acc_odr_hz=100, acc_range_g=16, gyro_odr_hz=200)
    assert s == [
        h("03 03 A8 03"),
        h("03 05 01"),
        h("03 02 01 00"),
        h("03 01 01"),
        h("13 03 29 00"),
        h("13 05 01"),
        h("13 02 01 00"),
        h("13 01 01"),
    ]
    r = mw.start_streaming_commands(chip=BMI160, acc_odr_hz=200, acc_range_g=8, gyro_odr_hz=200, packed=False)
    assert r == [
        h("03 03 29 08"),
        h("03 04 01"),
        h("03 02 01 00"),
        h("03 01 01"),
        h("13 03 29 00"),
        h("13 05 01"),
        h("13 02 01 00"),
        h("13 01 01"),
    ]
    assert mw.stop_streaming_commands(chip=BMI270, gyro=True) == [
        h("03 01 00"),
        h("03 02 00 01"),
        h("03 05 00"),
        h("03 04 00"),
        h("13 01 00"),
        h("13 02 00 01"),
        h("13 05 00"),
        h("13 04 00"),
    ]


# ---------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------


def test_bmi270_acceleration_single_and_packed():
    single = mw.decode_notification(h(ACC_SINGLE), chip=BMI270)
    assert (single.kind, single.packed, len(single)) == ("acc", False, 1)
    assert np.round(single.scaled(4), 3).tolist() == ACC_SINGLE_G
    assert np.allclose(single.si(4), np.array(ACC_SINGLE_G) * G, atol=0.001 * G)
    packed = mw.decode_notification(h(BMI270_ACC_PACKED), chip=BMI270)
    assert (packed.kind, packed.packed, len(packed)) == ("acc", True, 3)
    assert np.round(packed.scaled(8), 3).tolist() == ACC_PACKED_G
    assert np.allclose(packed.si(8), np.array(ACC_PACKED_G) * G, atol=0.001 * G)
    # the BMI160 board sends the same samples on 03 1C
    assert mw.decode_notification(h(BMI160_ACC_PACKED)).raw.tolist() == packed.raw.tolist()


def test_bmi270_rotation_single_and_packed():
    single = mw.decode_notification(h("13 04 " + GYRO_SINGLE_TAIL), chip=BMI270)
    assert (single.kind, single.packed) == ("gyro", False)
    assert single.si(500)[0].tolist() == pytest.approx(GYRO_SINGLE_DPS[0], rel=1e-6)
    assert single.scaled(500).astype(np.float32)[0].tolist() == pytest.approx(GYRO_SINGLE_DPS[0], rel=1e-7)
    packed = mw.decode_notification(h("13 05 " + GYRO_PACKED_TAIL), chip=BMI270)
    assert (packed.kind, packed.packed, len(packed)) == ("gyro", True, 3)
    for got, want in zip(packed.si(1000).tolist(), GYRO_PACKED_DPS, strict=True):
        assert got == pytest.approx(want, rel=1e-6)
    # the BMI160 board: 13 05 single, 13 07 packed (C++ test_gyro_bmi160.py, same samples)
    assert np.round(mw.decode_notification(h("13 05 " + GYRO_SINGLE_TAIL)).scaled(500), 3).tolist() == [
        [262.409, 499.497, -499.512]
    ]
    assert mw.decode_notification(h("13 07 " + GYRO_PACKED_TAIL)).raw.tolist() == packed.raw.tolist()


def test_a_packet_read_with_the_other_chips_layout_is_refused():
    with pytest.raises(UnsupportedFrame, match="BMI160"):
        mw.decode_notification(h(BMI270_ACC_PACKED), chip=BMI160)  # 03 05 is no BMI160 data
    with pytest.raises(UnsupportedFrame, match="BMI270"):
        mw.decode_notification(h(BMI160_ACC_PACKED), chip=BMI270)  # 03 1C is no BMI270 data
    with pytest.raises(UnsupportedFrame):
        mw.decode_notification(h("13 04 " + GYRO_SINGLE_TAIL), chip=BMI160)
    with pytest.raises(MalformedFrame):
        mw.decode_notification(h("13 05 " + GYRO_PACKED_TAIL), chip=BMI160)  # BMI160 13 05 is one sample
    with pytest.raises(TruncatedFrame):
        mw.decode_notification(h("13 05 " + GYRO_SINGLE_TAIL), chip=BMI270)  # BMI270 13 05 is packed
    with pytest.raises(UnsupportedFrame, match="module-info"):
        mw.decode_notification(h(MOTION_S["acc"]), chip=BMI270)


def test_encode_round_trip_per_chip():
    raw = [[1, -2, 3], [400, -500, 600], [-32768, 32767, 0]]
    for chip in mw.Chip:
        for kind in ("acc", "gyro"):
            data = mw.encode_notification(kind, raw, packed=True, chip=chip)
            assert mw.decode_notification(data, chip=chip).raw.tolist() == raw
    assert mw.encode_notification("gyro", [[1, 2, 3]], chip=BMI270)[:2] == h("13 04")


def test_registry_decodes_bmi270_packets():
    out = decode_hex("metawear-bmi270", BMI270_ACC_PACKED, factor=1 / 4096)
    assert (out["chip"], out["kind"], out["packed"], out["n_samples"]) == ("bmi270", "acc", True, 3)
    assert np.round(out["samples"], 3).tolist() == ACC_PACKED_G
    assert decode_hex("metawear-bmi160", ACC_SINGLE)["chip"] == "bmi160"
    with pytest.raises(UnsupportedFrame):
        decode_hex("metawear", BMI270_ACC_PACKED)


# ---------------------------------------------------------------------------------------------
# the stateful stream and the session
# ---------------------------------------------------------------------------------------------


def test_stream_takes_the_chip_from_module_info_and_scales_from_config_commands():
    stream = mw.MetaWearStream()  # BMI160 until the board says otherwise
    with pytest.raises(UnsupportedFrame):
        stream.decode(h(BMI270_ACC_PACKED))
    with pytest.raises(UnsupportedFrame):
        stream.on_module_info(h(METAWEAR_R["acc"]))  # refused: the chip stays as it was
    assert stream.chip is BMI160
    stream.on_module_info(h(MOTION_S["acc"]))
    stream.on_module_info(h(MOTION_S["gyro"]))
    assert stream.chip is BMI270
    with pytest.raises(MalformedFrame):
        stream.on_module_info(h(MOTION_R["gyro"]))  # a BMI160 gyro on a BMI270 board
    assert stream.on_command(h("03 03 A9 02")) == mw.SensorConfig("acc", 200, 8)
    assert stream.on_command(h("03 02 01 00")) is None  # not a config command
    with pytest.raises(MalformedFrame):
        stream.on_command(h("03 03 A9 0C"))
    assert (stream.acc_odr_hz, stream.acc_range_g) == (200.0, 8)
    first = stream.decode(h(BMI270_ACC_PACKED))
    assert first.acc_mps2 is not None
    assert np.allclose(first.acc_mps2, np.array(ACC_PACKED_G) * G, atol=0.001 * G)
    assert first.time_s.tolist() == [0.0, 0.005, 0.01]
    stream.on_command(h("03 03 A8 02"))  # 100 Hz from now: the times carry on
    assert stream.decode(h(BMI270_ACC_PACKED)).time_s.tolist() == pytest.approx([0.015, 0.025, 0.035])
    stream.on_command(h("13 03 28 01"))
    gyro = stream.decode(h("13 04 " + GYRO_SINGLE_TAIL))
    assert gyro.gyr_dps is not None and gyro.gyr_dps[0, 0] == pytest.approx(17214 / 32.8)


def packet(t_ns: int, channel: str, payload: str | bytes) -> RawPacket:
    return RawPacket(t_ns, "mms", channel, payload if isinstance(payload, bytes) else h(payload))


def test_session_reads_chip_and_scale_from_the_stream():
    notify, cmd = mw.METAWEAR_NOTIFY_UUID, write_channel(mw.METAWEAR_COMMAND_UUID)
    session = MetaWearSession("mms")  # chip unknown: from the module info
    records = []
    for i, p in enumerate(
        [
            packet(1, cmd, "03 80"),
            packet(2, notify, MOTION_S["acc"]),
            packet(3, cmd, "13 80"),
            packet(4, notify, MOTION_S["gyro"]),
            packet(5, cmd, "03 03 A8 02"),  # 100 Hz, +-8 g
            packet(6, cmd, "03 05 01"),
            packet(7, notify, BMI270_ACC_PACKED),
            packet(8, notify, BMI270_ACC_PACKED),
        ]
    ):
        records += session.feed(RawPacket(p.rx_time_ns + i * 10_000_000, p.device, p.channel, p.payload))
    events = [r for r in records if isinstance(r, DeviceEvent)]
    assert [e.kind for e in events] == ["capabilities"] and "BMI270" in events[0].detail
    assert session.chip is BMI270 and session.chip_from_board and session.sample_rate_hz == 100
    blocks = [r for r in records if isinstance(r, SampleBlock)]
    acc = np.concatenate([b.acc_mps2 for b in blocks])
    assert np.allclose(acc[:3], np.array(ACC_PACKED_G) * G, atol=0.001 * G)
    assert np.concatenate([b.time_s for b in blocks]).tolist() == pytest.approx([i / 100 for i in range(6)])
    assert session.health().malformed == 0


def test_session_says_when_the_board_is_not_supported():
    session = MetaWearSession("r")
    (event,) = session.feed(packet(1, mw.METAWEAR_NOTIFY_UUID, METAWEAR_R["acc"]))
    assert event.kind == "unsupported" and "MMA8452Q" in event.detail
    assert session.health().malformed == 1


# ---------------------------------------------------------------------------------------------
# an emulated MetaMotion S through bleak
# ---------------------------------------------------------------------------------------------


def run(coro, timeout: float = 30.0):
    async def bounded():
        async with asyncio.timeout(timeout):
            return await coro

    return asyncio.run(bounded())


def test_emulated_metamotion_s_through_bleaks_client():
    """Connect with `BleakClient`, read the module info, pick the chip, stream, decode."""

    async def main():
        async with EmulatedAir():
            emu = await MetaWearEmulator(chip="bmi270", time_scale=4.0).attach()
            device = await BleakScanner.find_device_by_name(emu.name, timeout=2.0, backend=BumbleScanner)
            assert device is not None
            got: list[bytes] = []
            async with BleakClient(device, backend=BumbleClient) as client:
                await client.start_notify(mw.METAWEAR_NOTIFY_UUID, lambda _s, data: got.append(bytes(data)))
                for module in (mw.ACC_MODULE, mw.GYRO_MODULE):
                    await client.write_gatt_char(mw.METAWEAR_COMMAND_UUID, mw.module_info_request(module), True)
                for _ in range(50):
                    if len(got) >= 2:
                        break
                    await asyncio.sleep(0.01)
                board = mw.detect_board(got[0], got[1])
                # a BMI160 host would subscribe to 03 1C: the MetaMotion S has no such register
                await client.write_gatt_char(mw.METAWEAR_COMMAND_UUID, mw.subscribe("acc", packed=True), True)
                for command in mw.start_streaming_commands(
                    chip=board.chip, acc_odr_hz=100, acc_range_g=16, gyro_odr_hz=100, gyro_range_dps=1000
                ):
                    await client.write_gatt_char(mw.METAWEAR_COMMAND_UUID, command, True)
                await asyncio.sleep(0.5)
                for command in mw.stop_streaming_commands(chip=board.chip, gyro=True):
                    await client.write_gatt_char(mw.METAWEAR_COMMAND_UUID, command, True)
                await asyncio.sleep(0.1)
            return emu, got, board

    emu, got, board = run(main())
    assert got[:2] == [h(MOTION_S["acc"]), h(MOTION_S["gyro"])]
    assert board.chip is BMI270 and board.packed_acc and board.packed_gyro
    assert emu.ignored == [h("03 1C 01")]
    data = got[2:]
    assert {d[:2] for d in data} == {h("03 05"), h("13 05")}  # packed acc and gyro, BMI270 registers
    stream = mw.MetaWearStream(acc_odr_hz=100, acc_range_g=16, gyro_odr_hz=100, gyro_range_dps=1000, chip=board.chip)
    decoded = [stream.decode(d) for d in data]
    sent = {"acc": [], "gyro": []}
    for s in emu.sent:
        if not s.lost and not s.garbage:
            sent[s.stream].append(s.raw)
    acc = np.concatenate([d.acc_mps2 for d in decoded if d.acc_mps2 is not None])
    gyr = np.concatenate([d.gyr_dps for d in decoded if d.gyr_dps is not None])
    assert len(acc) >= 30 and len(gyr) >= 30
    assert np.allclose(acc, np.concatenate(sent["acc"])[: len(acc)] / 2048.0 * G)
    assert np.allclose(gyr, np.concatenate(sent["gyro"])[: len(gyr)] / 32.8)
    assert abs(np.median(np.linalg.norm(acc, axis=1)) - G) < 0.5 * G  # m/s^2, not g: the median is near 1 g
    assert all(not s.running for s in emu.sensors.values())  # stopped by the host


def _link_run(emu: MetaWearEmulator, settings: ble.StreamSettings, seconds: float = 0.6):
    async def main():
        async with EmulatedAir():
            await emu.attach()
            found = await ble.scan(0.3, backend=BumbleScanner)
            dev = next(f for f in found if f.kind == "metawear")
            session = MetaWearSession(dev.address, gyro=bool(settings.gyro))
            link = ble.DeviceLink(dev, settings=settings, backend=BumbleClient, session=session)
            async with link:
                await asyncio.sleep(seconds)
            records = []
            while not link.queue.empty():
                records += link.feed(link.queue.get_nowait())
            return link, records + session.flush()

    return run(main())


def test_device_link_picks_the_chip_and_streams_a_metamotion_s():
    emu = MetaWearEmulator(chip="bmi270", time_scale=4.0)
    link, records = _link_run(emu, ble.StreamSettings(acc_rate_hz=100, acc_range_g=8, gyro=True))
    assert link.driver.board is not None and link.driver.board.chip is BMI270
    session = link.session
    assert session.chip is BMI270 and session.chip_from_board
    assert (session.stream.acc_odr_hz, session.stream.acc_range_g) == (100.0, 8)
    assert emu.commands[:2] == [h("03 80"), h("13 80")]
    assert h("03 03 A8 02") in emu.commands and h("13 04 00") in emu.commands and not emu.ignored
    blocks = [r for r in records if isinstance(r, SampleBlock)]
    assert sum(len(b) for b in blocks) >= 30 and all(b.gyr_dps is not None for b in blocks)
    assert session.health().malformed == 0 and link.health.malformed == 0
    sent = np.concatenate([s.raw for s in emu.sent if s.stream == "acc" and not s.lost])
    acc = np.concatenate([b.acc_mps2 for b in blocks])
    assert np.allclose(acc, sent[: len(acc)] / 4096.0 * G)


def test_device_link_still_streams_a_metamotion_r():
    emu = MetaWearEmulator(chip="bmi160", time_scale=4.0)
    link, records = _link_run(emu, ble.StreamSettings(acc_rate_hz=200))
    assert link.session.chip is BMI160 and link.driver.board.packed_acc
    assert h("03 03 29 0C") in emu.commands and h("03 1C 01") in emu.commands  # spec default +-16 g, packed
    assert sum(len(r) for r in records if isinstance(r, SampleBlock)) >= 30


def test_device_link_refuses_a_board_with_another_accelerometer():
    emu = MetaWearEmulator(time_scale=4.0, module_info={0x03: h(METAWEAR_R["acc"]), 0x13: h("13 80")})
    with pytest.raises(UnsupportedFrame, match="MMA8452Q"):
        _link_run(emu, ble.StreamSettings())


def test_emulated_source_presents_a_metamotion_s():
    from firmware_interface.sources import EmulatedDevice, EmulatedSource

    async def main():
        source = EmulatedSource(
            [EmulatedDevice.parse("kind=metawear,placement=foot,chip=bmi270,sample_rate_hz=100")],
            time_scale=4.0,
            duration_s=0.6,
        )
        await source.prepare()
        got = [p async for p in source.packets()]
        return source, got

    source, got = run(main())
    emu = source.emulators[0]
    assert emu.chip is BMI270 and source.devices[0].settings["chip"] == "bmi270"
    notified = [p.payload for p in got if p.channel == mw.METAWEAR_NOTIFY_UUID]
    assert h(MOTION_S["acc"]) in notified and any(p[:2] == h("03 05") for p in notified)
