"""Running Speed and Cadence (0x2A53 / 0x2A54): the reference vectors and the cadence unit."""

from __future__ import annotations

import pytest

from firmware_interface.protocols import decode_hex, rsc
from firmware_interface.protocols.common import parse_hex
from firmware_interface.protocols.errors import EncodeError, MalformedFrame, ProtocolError, TruncatedFrame


def test_running_with_stride_and_distance():
    m = rsc.decode_measurement(parse_hex("07 80 03 AA 7C 00 39 30 00 00"))
    assert m.running is True
    assert m.speed_mps == 3.5
    assert m.cadence_raw == 170 and m.cadence_spm == 170.0
    assert m.stride_length_m == 1.24
    assert m.total_distance_m == 1234.5
    assert m.flags == 0x07


def test_walking_minimal():
    m = rsc.decode_measurement(parse_hex("00 40 01 6E"))
    assert (m.running, m.speed_mps, m.cadence_spm) == (False, 1.25, 110.0)
    assert m.stride_length_m is None and m.total_distance_m is None


def test_running_minimal():
    m = rsc.decode_measurement(parse_hex("04 00 04 B4"))
    assert (m.running, m.speed_mps, m.cadence_spm) == (True, 4.0, 180.0)


def test_feature_bits():
    f = rsc.decode_feature(parse_hex("07 00"))
    assert (f.stride_length, f.total_distance, f.walking_running_status) == (True, True, True)
    assert (f.calibration, f.multiple_locations) == (False, False)
    assert rsc.encode_feature(stride_length=True, total_distance=True, walking_running_status=True) == parse_hex(
        "07 00"
    )
    assert (
        rsc.decode_feature(parse_hex("18 00")).calibration and rsc.decode_feature(parse_hex("18 00")).multiple_locations
    )


def test_cadence_unit_strides_doubles_to_steps():
    m = rsc.decode_measurement(parse_hex("04 00 04 5A"), cadence_unit="strides")
    assert m.cadence_raw == 90 and m.cadence_spm == 180.0
    with pytest.raises(ProtocolError):
        rsc.decode_measurement(parse_hex("04 00 04 5A"), cadence_unit="legs")  # type: ignore[arg-type]


def test_only_stride_or_only_distance():
    m = rsc.decode_measurement(parse_hex("01 00 03 A0 78 00"))
    assert m.stride_length_m == 1.2 and m.total_distance_m is None
    m = rsc.decode_measurement(parse_hex("02 00 03 A0 10 27 00 00"))
    assert m.stride_length_m is None and m.total_distance_m == 1000.0


def test_truncated_and_trailing_bytes():
    with pytest.raises(TruncatedFrame):
        rsc.decode_measurement(parse_hex("07 80 03 AA 7C 00 39 30 00"))  # distance cut short
    with pytest.raises(TruncatedFrame):
        rsc.decode_measurement(parse_hex("00 40 01"))
    with pytest.raises(MalformedFrame):
        rsc.decode_measurement(parse_hex("00 40 01 6E 00"))
    # reserved flag bits set: a later spec may append fields, so trailing bytes are tolerated
    assert rsc.decode_measurement(parse_hex("08 40 01 6E 00 00")).speed_mps == 1.25
    with pytest.raises(TruncatedFrame):
        rsc.decode_feature(b"\x07")
    with pytest.raises(MalformedFrame):
        rsc.decode_feature(b"\x07\x00\x00")


def test_encode_round_trip_and_validation():
    data = rsc.encode_measurement(
        speed_mps=3.5, cadence_per_min=170, stride_length_m=1.24, total_distance_m=1234.5, running=True
    )
    assert data == parse_hex("07 80 03 AA 7C 00 39 30 00 00")
    assert rsc.encode_measurement(speed_mps=1.25, cadence_per_min=110) == parse_hex("00 40 01 6E")
    with pytest.raises(EncodeError):
        rsc.encode_measurement(speed_mps=300.0, cadence_per_min=170)
    with pytest.raises(EncodeError):
        rsc.encode_measurement(speed_mps=3.0, cadence_per_min=256)


def test_registry():
    out = decode_hex("rsc", "07 80 03 AA 7C 00 39 30 00 00")
    assert out["speed_mps"] == 3.5 and out["cadence_spm"] == 170.0 and out["total_distance_m"] == 1234.5
    assert decode_hex("rsc-strides", "04 00 04 5A")["cadence_spm"] == 180.0
    assert decode_hex("rsc-feature", "07 00")["walking_running_status"] is True
    with pytest.raises(ProtocolError):
        decode_hex("rsc", "04 00 04 5A", factor=2.0)
