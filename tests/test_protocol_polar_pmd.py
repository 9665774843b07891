"""Polar PMD: every golden vector G1-G19 of the protocol reference, with its exact values,
plus the per-sample clock, the SI conversion and the stateful stream."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

from firmware_interface.protocols import decode_hex
from firmware_interface.protocols import polar_pmd as pmd
from firmware_interface.protocols.common import parse_hex
from firmware_interface.protocols.errors import (
    ControlPointError,
    EncodeError,
    InvalidHex,
    MalformedFrame,
    ProtocolError,
    TimestampError,
    TruncatedFrame,
    UnknownProtocol,
    UnsupportedFrame,
)
from firmware_interface.protocols.polar_pmd import MeasurementType as MT
from firmware_interface.protocols.polar_pmd import SettingType as ST

F32_FACTOR = float(np.float32(0.000244))  # the FACTOR of G6, as the float32 the device sends

G12 = parse_hex(
    """
02 00 94 35 77 00 00 00 00 01 F7 FF FF FF E7 03 F8 FF FE FF E5 03 F9 FF FF FF E5 03 FA FF FF FF
E6 03 FA FF FE FF E6 03 F9 FF FF FF E5 03 F8 FF FF FF E6 03 F8 FF FE FF E6 03 FA FF FF FF E5 03
FA FF FF FF E7 03 FA FF FF FF E5 03 F8 FF FF FF E6 03 F7 FF FF FF E6 03 F8 FF FE FF E6 03 F9 FF
FE FF E7 03 F9 FF 00 00 E6 03 F9 FF FF FF E6 03 F7 FF FE FF E5 03 F9 FF FF FF E5 03 F9 FF FF FF
E5 03 FA FF 00 00 E6 03 F9 FF FE FF E6 03 F8 FF FF FF E6 03 F8 FF FF FF E5 03 F9 FF FF FF E6 03
F9 FF FF FF E5 03 FA FF FF FF E6 03 F9 FF FF FF E5 03 F9 FF FF FF E5 03 F8 FF FE FF E6 03 F9 FF
FF FF E6 03 F9 FF FF FF E6 03 F9 FF 00 00 E5 03 F9 FF FE FF E6 03 F8 FF FE FF E6 03 F7 FF FE FF
E6 03
"""
)
G13 = parse_hex(
    """
02 00 94 35 77 00 00 00 00 80 71 07 F0 6A 9E 8D 0A 38 BE 5C BE BA 2F 96 B3 EE 4B E5 AD FB 42 B9
EB BE 4C FE BA 2F 92 BF EE 4B E4 B1 FB 12 B9 EC BD 3C 3E BB 2F 8F D3 DE 4B E3 B5 F7 D2 B8 ED BD
30 7E 7B 2F 8B E3 CE 8B E2 BA F7 A2 B8 EE BC 20 BE 7B 2F 88 F3 CE CB E1 BD EF 52 F8 EF BC 18 FE
3B 2F 84 03 BF CB E0 C2 EF 32 B8 F0 BB 04 4E BC 2E 81 13 AF 0B E0 C6 EF F2 F7 F1 B9 FC 7D BC 2E
7D 27 9F 4B DF CA EB C2 F7 F2 B8 EC CD 7C 2E 7B 37 8F 4B DE CE E3 92 F7 F3 B8 E0 0D FD 2D 77 4B
7F CB DD D2 DF 62 37 F5 B7 D4 4D BD 2D 74 5B 6F CB DC D7 D7 32 37 F6 B5 C8 8D 7D 2D 71 6B 4F 4B
DC DC D3 F2 36 F7 B4 BC DD FD 2C 6F 7B 3F 4B DB E0 CF D2 36 F8 B2 B0 2D BE 2C 6C 8F 1F CB DA E3
C7 A2 76 F9
"""
)
G10 = parse_hex("02 EA 54 A2 42 8B 45 52 08 01 45 FF E4 FF B5 03 45 FF E4 FF B8 03")
G11_DOC = parse_hex(
    "02 64 6C 76 C4 3C C6 7F 07 80 D0 FF 65 01 E4 0F 08 1D FC 07 FF 0C 13 F2 11 F1 1A F9 EE F8 EF 0C 03 09 F2"
)
G11 = parse_hex("02 64 6C 76 C4 3C C6 7F 07 80 D0 FF 65 01 E4 0F 08 02 FC 07 FF 0C 13 F2")
G14 = parse_hex("02 65 00 00 00 00 00 00 00 81 F1 FF 14 00 F0 03 06 01 7B 0F 08")
G15 = parse_hex("05 FF FF FF FF FF FF FF 7F 80 EA FF 08 00 0D 00 03 01 DF 00")
G16 = parse_hex(
    "05 00 94 35 77 00 00 00 00 81 00 00 80 3F 00 00 20 41 00 00 A0 41 1C 01 00 00 A0 01 00 00 08 CD CC EC 0D"
)
G19 = parse_hex(
    "02 00 41 6F C4 12 45 93 0A 81 EE 02 1F FE 82 FF 08 0A 10 DA 20 D6 A3 0B D9 CB E7 D6 F6 C4 E6 F1 E1 F3"
    "E0 15 1A FE 28 1B F8 37 2C 25 20 13 19 11"
)


def mg_ints(frame: pmd.PmdDataFrame, factor: float) -> list[list[int]]:
    """The SDK's integer mG (it truncates toward zero)."""
    return np.trunc(pmd.native_values(frame, factor)).astype(int).tolist()


# --- control point ----------------------------------------------------------------------------


def test_g1_h10_get_acc_settings():
    assert pmd.encode_get_settings(MT.ACC) == parse_hex("01 02")
    resp = pmd.decode_cp_message(
        parse_hex("F0 01 02 00 00 00 04 19 00 32 00 64 00 C8 00 01 01 10 00 02 03 02 00 04 00 08 00")
    )
    assert isinstance(resp, pmd.PmdControlPointResponse)
    assert (resp.op, resp.measurement, resp.status, resp.ok, resp.more) == (1, MT.ACC, 0, True, False)
    s = resp.settings
    assert s.sample_rate_hz == (25, 50, 100, 200)
    assert s.resolution_bits == (16,)
    assert s.range == (2, 4, 8)
    assert s.present() == (ST.SAMPLE_RATE, ST.RESOLUTION, ST.RANGE)


def test_g2_verity_get_acc_settings():
    s = pmd.decode_response(parse_hex("F0 01 02 00 00 00 01 34 00 01 01 10 00 02 01 08 00 04 01 03")).settings
    assert (s.sample_rate_hz, s.resolution_bits, s.range, s.channels) == ((52,), (16,), (8,), (3,))


def test_g3_h10_ecg_settings():
    assert pmd.encode_get_settings(MT.ECG) == parse_hex("01 00")
    resp = pmd.decode_response(parse_hex("F0 01 00 00 00 00 01 82 00 01 01 0E 00"))
    assert resp.measurement is MT.ECG
    assert (resp.settings.sample_rate_hz, resp.settings.resolution_bits) == ((130,), (14,))


def test_g4_oh1_ppg_settings():
    resp = pmd.decode_response(parse_hex("F0 01 01 00 00 00 01 82 00 01 01 16 00"))
    assert resp.measurement is MT.PPG
    assert (resp.settings.sample_rate_hz, resp.settings.resolution_bits) == ((130,), (22,))


def test_g5_h10_start_acc_request_and_response():
    request = pmd.encode_start(MT.ACC, {ST.RANGE: 8, ST.SAMPLE_RATE: 200, ST.RESOLUTION: 16})
    assert request == parse_hex("02 02 02 01 08 00 00 01 C8 00 01 01 10 00")
    req = pmd.decode_request(request)
    assert (req.op, req.measurement, req.offline) == (pmd.Opcode.REQUEST_MEASUREMENT_START, MT.ACC, False)
    assert (req.settings.range, req.settings.sample_rate_hz, req.settings.resolution_bits) == ((8,), (200,), (16,))
    resp = pmd.decode_response(parse_hex("F0 02 02 00 00 01"))
    assert resp.ok and not resp.more
    assert resp.params == b"\x01"
    assert not resp.settings  # the lone trailing 01 ("reserved") is ignored


def test_g6_verity_start_acc_with_factor():
    request = pmd.encode_start(MT.ACC, pmd.start_settings(sample_rate_hz=52, resolution_bits=16, range=8, channels=3))
    assert request == parse_hex("02 02 00 01 34 00 01 01 10 00 02 01 08 00 04 01 03")
    response = parse_hex("F0 02 02 00 00 05 01 40 DA 7F 39")
    resp = pmd.decode_response(response)
    assert resp.settings.factor == (F32_FACTOR,)
    assert np.float32(resp.settings.factor[0]).view(np.uint32) == 0x397FDA40
    assert resp.settings.factor[0] == pytest.approx(0.000244)
    stream = pmd.PmdStream(device="Verity Sense")
    stream.on_start(request, response)
    assert stream.factor(MT.ACC) == F32_FACTOR


def test_g6b_verity_start_without_factor_then_0x81_frames():
    request = parse_hex("02 02 00 01 34 00 01 01 10 00 02 01 08 00 04 01 03")
    stream = pmd.PmdStream()
    stream.configure(MT.ACC, factor=0.5)  # a previous session's factor must not survive START
    resp = stream.on_start(request, parse_hex("F0 02 02 00 00"))
    assert resp.ok and resp.params == b"" and not resp.settings
    assert stream.factor(MT.ACC) == 1.0
    out = stream.decode(G19)
    assert out.frame.frame_type == 0x81
    assert np.allclose(out.values[0], np.array([750, -481, -126]) * 9.80665e-3)


def test_g7_stop_acc():
    assert pmd.encode_stop(MT.ACC) == parse_hex("03 02")
    resp = pmd.decode_response(parse_hex("F0 03 02 00 00"))
    assert (resp.op, resp.measurement, resp.ok) == (pmd.Opcode.STOP_MEASUREMENT, MT.ACC, True)


def test_g8_sdk_mode():
    assert pmd.encode_start(MT.SDK_MODE) == parse_hex("02 09")
    assert pmd.encode_stop(MT.SDK_MODE) == parse_hex("03 09")
    assert pmd.encode_get_settings(MT.ACC, sdk_mode=True) == parse_hex("04 02")
    for hex_text, op in (("F0 02 09 00 00", 2), ("F0 03 09 00 00", 3)):
        resp = pmd.decode_response(parse_hex(hex_text))
        assert (resp.op, resp.measurement, resp.ok) == (op, MT.SDK_MODE, True)


def test_g9_feature_read():
    features = pmd.decode_cp_message(parse_hex("0F 6E 00"))
    assert isinstance(features, pmd.PmdFeatures)
    assert features.measurements == {MT.PPG, MT.ACC, MT.PPI, MT.GYRO, MT.MAG}
    assert MT.ACC in features and MT.ECG not in features
    assert pmd.encode_features(features.measurements) == parse_hex("0F 6E 00")


def test_g17_settings_tlv_gyro_style():
    s = pmd.decode_settings(parse_hex("00 01 34 00 01 01 10 00 02 04 F5 00 F4 01 E8 03 D0 07 04 01 03"))
    assert s.sample_rate_hz == (52,)
    assert s.resolution_bits == (16,)
    assert s.range == (245, 500, 1000, 2000)
    assert s.channels == (3,)
    assert pmd.encode_settings(s, request=False) == parse_hex(
        "00 01 34 00 01 01 10 00 02 04 F5 00 F4 01 E8 03 D0 07 04 01 03"
    )


def test_g18_cp_response_success_with_params_and_error_status():
    ok = pmd.decode_response(parse_hex("F0 01 02 00 00 FF FF FF"))
    assert ok.ok and ok.more is False and ok.params == parse_hex("FF FF FF")
    err = pmd.decode_response(parse_hex("F0 01 06 07 00"))
    assert (err.status, err.status_name, err.params, err.more) == (7, "INVALID_RESOLUTION", b"", False)
    assert err.measurement is MT.MAG
    with pytest.raises(ControlPointError) as info:
        err.raise_for_status(device="Verity Sense")
    assert info.value.status == 7 and info.value.status_name == "INVALID_RESOLUTION"
    assert "Verity Sense" in str(info.value) and isinstance(info.value, ProtocolError)


def test_device_initiated_stop_and_unknown_cp_message():
    msg = pmd.decode_cp_message(parse_hex("01 02 05"))
    assert msg == pmd.PmdMeasurementStopped((MT.ACC, MT.GYRO))
    with pytest.raises(UnsupportedFrame):
        pmd.decode_cp_message(parse_hex("77 00"))


def test_start_request_validation():
    with pytest.raises(EncodeError):
        pmd.encode_start(MT.ACC, {ST.FACTOR: 1.0})
    with pytest.raises(EncodeError):
        pmd.encode_start(MT.ACC, {ST.SAMPLE_RATE: 70000})
    with pytest.raises(EncodeError):
        pmd.encode_start(MT.ACC, {ST.SAMPLE_RATE: [52, 104]})
    assert pmd.encode_start("acc", {ST.SAMPLE_RATE: 52}, offline=True) == parse_hex("02 82 00 01 34 00")


# --- data frames ------------------------------------------------------------------------------


def test_g10_h10_raw_type1():
    f = pmd.decode_data_frame(G10)
    assert (f.measurement, f.frame_type, f.compressed) == (MT.ACC, 0x01, False)
    assert f.timestamp_ns == 599618164814402794
    assert f.samples_raw.tolist() == [[-187, -28, 949], [-187, -28, 952]]
    assert f.unit == "mG"
    assert np.allclose(pmd.si_values(f), np.array([[-187, -28, 949], [-187, -28, 952]]) * 9.80665e-3)
    # the H10's clock was never set: it counts from 2019-01-01
    assert pmd.H10_UNSET_CLOCK_NS < f.timestamp_ns < pmd.H10_UNSET_CLOCK_NS + 3600 * 10**9


def test_g11_verity_compressed_type0_doc_frame():
    with pytest.raises(TruncatedFrame):  # the document cuts the 29-sample block short
        pmd.decode_data_frame(G11_DOC)
    f = pmd.decode_data_frame(G11)
    assert f.timestamp_ns == 540368444604181604
    assert f.frame_type == 0x80 and f.compressed and f.frame_type_number == 0
    assert f.samples_raw.tolist() == [[-48, 357, 4068], [-52, 364, 4067], [-40, 383, 4053]]
    assert mg_ints(f, F32_FACTOR) == [[-11, 87, 992], [-12, 88, 992], [-9, 93, 988]]


def test_g12_raw_type1_complete_frame_and_clock():
    assert len(G12) == 226
    f = pmd.decode_data_frame(G12)
    assert f.n_samples == 36 and f.timestamp_ns == 2_000_000_000
    assert f.samples_raw[0].tolist() == [-9, -1, 999]
    assert f.samples_raw[1].tolist() == [-8, -2, 997]
    assert f.samples_raw[35].tolist() == [-9, -2, 998]
    t = pmd.sample_times_ns(f.timestamp_ns, f.n_samples, sample_rate_hz=52)
    assert t[-1] == 2_000_000_000  # the frame timestamp is the last sample's
    assert t[0] == round(2e9 - 35 * 1e9 / 52)
    assert np.all(np.diff(t) > 0)


def test_g13_compressed_type0_complete_frame():
    assert len(G13) == 228
    f = pmd.decode_data_frame(G13)
    assert f.n_samples == 57
    assert f.samples_raw[0].tolist() == [1905, 27376, -29282]
    assert f.samples_raw[1].tolist() == [2095, 27271, -29367]
    assert f.samples_raw[56].tolist() == [12274, 20173, -32449]
    assert mg_ints(f, 2.44e-4)[:2] == [[464, 6679, -7144], [511, 6654, -7165]]
    t = pmd.sample_times_ns(f.timestamp_ns, f.n_samples, previous_ns=100)
    assert t[0] == round(100 + (2e9 - 100) / 57)
    assert t[-1] == 2_000_000_000


def test_g14_compressed_type1_and_half_even_rounding():
    f = pmd.decode_data_frame(G14)
    assert f.samples_raw.tolist() == [[-15, 20, 1008], [-20, 17, 1008]]
    assert mg_ints(f, 1.0) == [[-15, 20, 1008], [-20, 17, 1008]]
    # prev 100, ts 101, 2 samples: 100.5 rounds half-to-even to 100 (kotlin.math.round)
    assert pmd.sample_times_ns(f.timestamp_ns, 2, previous_ns=100).tolist() == [100, 101]


def test_g15_gyro_compressed_type0_three_bit_deltas():
    f = pmd.decode_data_frame(G15)
    assert f.measurement is MT.GYRO and f.frame_type == 0x80
    assert f.timestamp_ns == 0x7FFFFFFFFFFFFFFF
    assert f.samples_raw.tolist() == [[-22, 8, 13], [-23, 11, 16]]
    assert pmd.native_values(f).tolist() == [[-22, 8, 13], [-23, 11, 16]]  # deg/s
    assert pmd.sample_times_ns(f.timestamp_ns, 2, sample_rate_hz=52)[-1] == 0x7FFFFFFFFFFFFFFF


def test_g16_gyro_float_bit_pattern_deltas():
    f = pmd.decode_data_frame(G16)
    assert f.samples_raw.dtype == np.float32
    assert f.samples_raw.tolist() == [
        [1.0, 10.0, 20.0],
        [10.0, 20.0, float(np.float32(1.1))],
    ]
    assert pmd.native_values(f, 0.5).tolist() == [[0.5, 5.0, 10.0], [5.0, 10.0, float(np.float32(1.1)) / 2]]


def test_g19_real_verity_frame_epoch_and_values():
    f = pmd.decode_data_frame(G19)
    when = dt.datetime(2000, 1, 1) + dt.timedelta(microseconds=f.timestamp_ns // 1000)
    assert when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:23] == "2024-02-23T18:38:28.863"
    assert f.frame_type == 0x81
    assert f.samples_raw.tolist() == [
        [750, -481, -126],
        [766, -519, -94],
        [724, -612, -83],
        [685, -665, -108],
        [643, -675, -168],
        [617, -690, -199],
        [604, -722, -178],
        [630, -724, -138],
        [657, -732, -83],
        [701, -695, -51],
        [720, -670, -34],
    ]
    assert mg_ints(f, 1.0) == f.samples_raw.tolist()  # mG, factor 1.0: no scaling


def test_unsupported_frames_name_the_type_and_device():
    bad = bytearray(G10)
    bad[9] = 0x83
    with pytest.raises(UnsupportedFrame) as info:
        pmd.decode_data_frame(bytes(bad), device="H10")
    assert info.value.type == 0x83 and info.value.device == "H10"
    assert "0x83" in str(info.value) and "H10" in str(info.value) and "ACC" in str(info.value)
    ecg = bytes([0]) + G10[1:]
    with pytest.raises(UnsupportedFrame, match="measurement type"):
        pmd.decode_data_frame(ecg)


@pytest.mark.parametrize(
    ("measurement", "frame_type", "samples"),
    [
        (MT.ACC, 0x00, [[-128, 0, 127], [1, -1, 5]]),
        (MT.ACC, 0x01, [[-32768, 0, 32767]]),
        (MT.ACC, 0x02, [[-8388608, 8388607, -1], [0, 1, 2]]),
        (MT.GYRO, 0x00, [[-32768, 100, 32767]]),
        (MT.GYRO, 0x01, [[1.5, -2.25, 1000.0]]),
    ],
)
def test_raw_frame_types_round_trip(measurement, frame_type, samples):
    data = pmd.encode_data_frame(measurement, frame_type, 123, samples)
    f = pmd.decode_data_frame(data)
    assert (f.measurement, f.frame_type, f.timestamp_ns) == (measurement, frame_type, 123)
    assert f.samples_raw.tolist() == samples


def test_raw_frame_with_partial_sample_is_truncated():
    with pytest.raises(TruncatedFrame):
        pmd.decode_data_frame(G10[:-1])
    with pytest.raises(TruncatedFrame):
        pmd.decode_data_frame(G10[:10])  # header only: no sample
    with pytest.raises(TruncatedFrame):
        pmd.decode_data_frame(G10[:9])


def test_delta_width_out_of_range_is_malformed():
    bad = bytearray(G14)
    bad[16] = 33  # width byte of the first block
    with pytest.raises(MalformedFrame):
        pmd.decode_data_frame(bytes(bad))


def test_delta_encoder_round_trip_with_mixed_widths():
    rng = np.random.default_rng(3)
    x = np.cumsum(rng.integers(-300, 300, size=(90, 3)), axis=0)
    x[40:] = x[40] + np.cumsum(rng.integers(-3, 3, size=(50, 3)), axis=0)
    payload = pmd.encode_delta_payload(x, block_size=20)
    frame = pmd.decode_data_frame(bytes([2]) + (5).to_bytes(8, "little") + bytes([0x81]) + payload)
    assert frame.samples_raw.tolist() == x.tolist()


def test_si_conversion_per_frame_type():
    f80 = pmd.decode_data_frame(G11)
    assert np.allclose(pmd.si_values(f80, F32_FACTOR), f80.samples_raw * F32_FACTOR * 9.80665)  # raw x factor = g
    f81 = pmd.decode_data_frame(G14)
    assert np.allclose(pmd.si_values(f81, 2.0), f81.samples_raw * 2.0 * 9.80665e-3)  # mG x factor
    raw = pmd.decode_data_frame(G10)
    assert np.allclose(pmd.si_values(raw, 5.0), raw.samples_raw * 9.80665e-3)  # raw ACC ignores factor
    gyro = pmd.decode_data_frame(G15)
    assert pmd.si_values(gyro, 0.5).tolist() == (gyro.samples_raw * 0.5).tolist()  # deg/s stays deg/s


# --- the clock --------------------------------------------------------------------------------


def test_sample_times_half_even_tie_depends_on_absolute_time():
    # prev 101, ts 102, 2 samples: 101.5 -> 102 (even), unlike prev 100 -> 100
    assert pmd.sample_times_ns(102, 2, previous_ns=101).tolist() == [102, 102]
    assert pmd.sample_times_ns(101, 2, previous_ns=100).tolist() == [100, 101]


def test_sample_times_need_a_rate_or_a_previous_timestamp():
    with pytest.raises(TimestampError):
        pmd.sample_times_ns(10**12, 5)
    with pytest.raises(TimestampError):
        pmd.sample_times_ns(10**12, 5, previous_ns=10**12)  # no advance, no rate
    with pytest.raises(TimestampError):
        pmd.sample_times_ns(1 << 63, 2, sample_rate_hz=52)


def _h10_frames(n_frames: int, per_frame: int = 36, rate: float = 200.0, t0: int = 600 * 10**15) -> list[bytes]:
    period = 1e9 / rate
    rng = np.random.default_rng(0)
    out = []
    for k in range(n_frames):
        last = t0 + round(((k + 1) * per_frame - 1) * period)
        samples = rng.integers(-2000, 2000, size=(per_frame, 3))
        out.append(pmd.encode_data_frame(MT.ACC, 0x01, last, samples))
    return out


def test_stream_times_consecutive_frames_from_timestamps():
    frames = _h10_frames(5)
    stream = pmd.PmdStream(device="H10")
    stream.configure(MT.ACC, sample_rate_hz=200)
    parts = [stream.decode(f) for f in frames]
    t = np.concatenate([p.time_ns for p in parts])
    assert np.allclose(np.diff(t), 5e6, atol=1)
    assert not any(p.gap_before or p.clock_jump for p in parts)
    imu = pmd.to_imu_samples(parts, time_origin_ns=parts[0].frame.timestamp_ns)
    block = imu.to_sample_block()
    assert len(block) == 180 and block.gyr_dps is None
    assert np.all(np.diff(block.time_s) > 0)


def test_stream_flags_lost_frames_and_keeps_the_nominal_interval():
    frames = _h10_frames(4)
    stream = pmd.PmdStream()
    stream.configure(MT.ACC, sample_rate_hz=200)
    first = stream.decode(frames[0])
    after_gap = stream.decode(frames[2])  # frames[1] lost
    assert after_gap.gap_before and after_gap.missing_samples == 36
    assert np.allclose(np.diff(after_gap.time_ns), 5e6, atol=1)
    assert after_gap.time_ns[0] - first.time_ns[-1] == pytest.approx(37 * 5e6, abs=2)
    assert not stream.decode(frames[3]).gap_before


def test_stream_clock_jump_backwards_is_flagged_and_timed_nominally():
    frames = _h10_frames(2)
    stream = pmd.PmdStream()
    stream.configure(MT.ACC, sample_rate_hz=200)
    stream.decode(frames[1])
    out = stream.decode(frames[0])
    assert out.clock_jump and np.allclose(np.diff(out.time_ns), 5e6, atol=1)


def test_stream_bad_frame_changes_nothing():
    frames = _h10_frames(3)
    clean = pmd.PmdStream()
    clean.configure(MT.ACC, sample_rate_hz=200)
    dirty = pmd.PmdStream()
    dirty.configure(MT.ACC, sample_rate_hz=200)
    expect = [clean.decode(f) for f in frames]
    got = [dirty.decode(frames[0])]
    for bad in (frames[1][:-3], frames[1][:5], b"", bytes([2]) + frames[1][1:9] + b"\x83" + frames[1][10:]):
        with pytest.raises(ProtocolError):
            dirty.decode(bad)
    got += [dirty.decode(f) for f in frames[1:]]
    for a, b in zip(expect, got, strict=True):
        assert np.array_equal(a.time_ns, b.time_ns) and np.array_equal(a.values, b.values)


def test_stream_without_rate_times_from_the_second_frame():
    frames = _h10_frames(2)
    stream = pmd.PmdStream()
    with pytest.raises(TimestampError):
        stream.decode(frames[0])
    out = stream.decode(frames[1])
    assert np.allclose(np.diff(out.time_ns), 5e6, atol=1)


def test_frames_to_imu_offline():
    imu = pmd.frames_to_imu(_h10_frames(3), sample_rate_hz=200)
    assert len(imu) == 108 and imu.source == "polar-pmd-acc"
    assert imu.time_s[35] == 0.0  # origin: the first frame's timestamp (its last sample)
    assert imu.acc_mps2 is not None and imu.acc_mps2.shape == (108, 3)


def test_stream_gyro_float_frames_with_factor():
    stream = pmd.PmdStream()
    stream.configure(MT.GYRO, sample_rate_hz=52, factor=0.5)
    out = stream.decode(G16)
    assert out.values.tolist() == [[0.5, 5.0, 10.0], [5.0, 10.0, float(np.float32(1.1)) / 2]]
    imu = out.to_imu()
    assert imu.acc_mps2 is None and imu.gyr_dps is not None


# --- the registry (`gait decode`) ---------------------------------------------------------------


def test_decode_hex_pmd_data_frame():
    out = decode_hex("pmd", G10.hex(" "))
    assert out["measurement"] == "acc"
    assert out["frame_type"] == 0x01
    assert out["timestamp_ns"] == 599618164814402794
    assert out["samples_raw"] == [[-187, -28, 949], [-187, -28, 952]]
    json.dumps(out, allow_nan=False)
    gyro = decode_hex("polar", G16.hex(), factor=0.5)
    assert gyro["measurement"] == "gyro" and gyro["samples"][0] == [0.5, 5.0, 10.0]
    assert decode_hex("pmd", G11.hex(), F32_FACTOR)["samples"][0] == pytest.approx([-11.712, 87.108, 992.592])


def test_decode_hex_control_point_and_errors():
    out = decode_hex("pmd-cp", "F0 01 02 00 00 00 01 34 00 01 01 10 00 02 01 08 00 04 01 03")
    assert out["settings"] == {"sample_rate_hz": [52], "resolution_bits": [16], "range": [8], "channels": [3]}
    assert decode_hex("pmd-cp", "F0 01 06 07 00")["status_name"] == "INVALID_RESOLUTION"
    assert decode_hex("pmd-request", "02 02 02 01 08 00 00 01 C8 00 01 01 10 00")["settings"]["sample_rate_hz"] == [200]
    with pytest.raises(UnknownProtocol):
        decode_hex("nope", "00")
    with pytest.raises(InvalidHex):
        decode_hex("pmd", "0G")
    with pytest.raises(InvalidHex):
        decode_hex("pmd", "F0 0")
    with pytest.raises(TruncatedFrame):
        decode_hex("pmd", "02 EA 54")
    with pytest.raises(ProtocolError):
        decode_hex("pmd", G10.hex(), factor=-1.0)


def test_a_frame_whose_first_sample_falls_before_the_epoch_is_a_typed_error_and_leaves_no_trace():
    stream = pmd.PmdStream(device="H10")
    stream.configure(MT.ACC, sample_rate_hz=200)
    # 36 samples at 200 Hz end 175 ms after the first: a last-sample time of 100 ms cannot be right
    early = pmd.encode_data_frame(MT.ACC, 0x01, 100_000_000, np.zeros((36, 3), dtype=int))
    with pytest.raises(pmd.BeforeEpoch, match="before the device's epoch") as err:
        stream.decode(early)
    assert isinstance(err.value, TimestampError)
    frames = _h10_frames(2)
    parts = [stream.decode(f) for f in frames]  # the clock was not moved by the bad frame
    assert int(parts[0].time_ns[0]) > 0 and not parts[1].clock_jump and not parts[1].gap_before
    assert pmd.sample_times_ns(175_000_000, 36, sample_rate_hz=200)[0] == 0  # exactly at the epoch is fine
