"""Protocol name -> decoder, for ``gait decode PROTOCOL HEX [--factor F]``.

`decode_hex` returns one JSON-ready object (plain dicts, lists, ints, floats, strings; NaN and
infinity become null) or raises the protocol's typed error (`ProtocolError` subclasses).
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Callable

from . import metawear, movesense, polar_pmd, rsc
from .common import as_bytes, json_rows, parse_hex, to_hex
from .errors import ProtocolError, UnknownProtocol, UnsupportedFrame

_POLAR_EPOCH = _dt.datetime(2000, 1, 1)  # device time: UTC only if the client set the clock


def _check_factor(factor: float | None, protocol: str) -> float | None:
    if factor is None:
        return None
    if isinstance(factor, bool) or not isinstance(factor, int | float) or not math.isfinite(factor) or factor <= 0:
        raise ProtocolError(f"factor must be a positive finite number, got {factor!r}", protocol=protocol)
    return float(factor)


def _no_factor(factor: float | None, protocol: str) -> None:
    if factor is not None:
        raise ProtocolError("--factor applies to pmd and metawear only", protocol=protocol)


def _device_time(ns: int) -> str | None:
    try:
        return (_POLAR_EPOCH + _dt.timedelta(microseconds=ns // 1000)).isoformat(timespec="microseconds")
    except OverflowError:
        return None


def _pmd(data: bytes, factor: float | None) -> dict:
    factor = _check_factor(factor, "pmd")
    frame = polar_pmd.decode_data_frame(data)
    used = 1.0 if factor is None else factor
    return {
        "protocol": "pmd",
        "measurement": frame.measurement.name.lower(),
        "frame_type": frame.frame_type,
        "frame_type_hex": f"0x{frame.frame_type:02X}",
        "compressed": frame.compressed,
        "timestamp_ns": frame.timestamp_ns,
        "timestamp_device": _device_time(frame.timestamp_ns),
        "timestamp_is_last_sample": True,
        "n_samples": frame.n_samples,
        "samples_raw": json_rows(frame.samples_raw),
        "factor": used,
        "factor_applied": frame.compressed or frame.measurement is not polar_pmd.MeasurementType.ACC,
        "unit": frame.unit,
        "samples": json_rows(polar_pmd.native_values(frame, used)),
        "si_unit": "m/s^2" if frame.measurement is polar_pmd.MeasurementType.ACC else "deg/s",
        "samples_si": json_rows(polar_pmd.si_values(frame, used)),
    }


def _pmd_cp(data: bytes, factor: float | None) -> dict:
    _no_factor(factor, "pmd-cp")
    msg = polar_pmd.decode_cp_message(data)
    if isinstance(msg, polar_pmd.PmdFeatures):
        return {
            "protocol": "pmd-cp",
            "message": "features",
            "measurements": sorted(m.name.lower() for m in msg.measurements),
        }
    if isinstance(msg, polar_pmd.PmdMeasurementStopped):
        return {
            "protocol": "pmd-cp",
            "message": "measurement_stopped",
            "measurements": [polar_pmd.measurement_name(int(m)).lower() for m in msg.measurements],
        }
    out = {
        "protocol": "pmd-cp",
        "message": "response",
        "op": msg.op,
        "op_name": _enum_name(polar_pmd.Opcode, msg.op),
        "measurement": polar_pmd.measurement_name(int(msg.measurement)).lower(),
        "offline": msg.offline,
        "status": msg.status,
        "status_name": msg.status_name,
        "more": msg.more,
        "params_hex": to_hex(msg.params),
    }
    try:
        out["settings"] = msg.settings.to_dict()
    except ProtocolError as exc:  # params that are not settings TLVs (e.g. the SDK's FF FF FF)
        out["settings"] = None
        out["settings_error"] = str(exc)
    return out


def _pmd_request(data: bytes, factor: float | None) -> dict:
    _no_factor(factor, "pmd-request")
    req = polar_pmd.decode_request(data)
    out = {
        "protocol": "pmd-request",
        "op": int(req.op),
        "op_name": req.op.name,
        "measurement": polar_pmd.measurement_name(int(req.measurement)).lower(),
        "offline": req.offline,
        "params_hex": to_hex(req.params),
    }
    if req.op is polar_pmd.Opcode.REQUEST_MEASUREMENT_START:
        out["settings"] = req.settings.to_dict()
    return out


def _pmd_settings(data: bytes, factor: float | None) -> dict:
    _no_factor(factor, "pmd-settings")
    return {"protocol": "pmd-settings", "settings": polar_pmd.decode_settings(data).to_dict()}


def _rsc(unit: rsc.CadenceUnit) -> Callable[[bytes, float | None], dict]:
    name = "rsc" if unit == "steps" else "rsc-strides"

    def decode(data: bytes, factor: float | None) -> dict:
        _no_factor(factor, name)
        return {"protocol": name, "cadence_unit": unit, **rsc.decode_measurement(data, cadence_unit=unit).to_dict()}

    return decode


def _rsc_feature(data: bytes, factor: float | None) -> dict:
    _no_factor(factor, "rsc-feature")
    return {"protocol": "rsc-feature", **rsc.decode_feature(data).to_dict()}


def _metawear(chip: metawear.Chip) -> Callable[[bytes, float | None], dict]:
    name = "metawear" if chip is metawear.Chip.BMI160 else f"metawear-{chip.value}"

    def decode(data: bytes, factor: float | None) -> dict:
        factor = _check_factor(factor, name)
        msg = metawear.decode_notification(data, chip=chip)
        return {
            "protocol": name,
            "chip": chip.value,
            "kind": msg.kind,
            "packed": msg.packed,
            "n_samples": len(msg),
            "samples_raw": json_rows(msg.raw),
            "factor": factor,
            "samples": None if factor is None else json_rows(msg.raw * factor),
            "note": "no device timestamp in MetaWear data; --factor is units per LSB (1/LSB-per-g or 1/LSB-per-dps)",
        }

    return decode


def _movesense(data: bytes, factor: float | None) -> dict:
    _no_factor(factor, "movesense")
    msg = movesense.decode_notification(data)
    out = {
        "protocol": "movesense",
        "type": int(msg.type),
        "type_name": msg.type.name,
        "ref": msg.ref,
        "payload_hex": to_hex(msg.payload),
    }
    if msg.type is movesense.GspPacket.DATA and len(msg.payload) >= 4:
        out["timestamp_ms"] = int.from_bytes(msg.payload[:4], "little")
    return out


def _movesense_kind(kind: str) -> Callable[[bytes, float | None], dict]:
    name = f"movesense-{kind}"

    def decode(data: bytes, factor: float | None) -> dict:
        _no_factor(factor, name)
        msg = movesense.decode_notification(data)
        if msg.type is not movesense.GspPacket.DATA:
            raise UnsupportedFrame(
                int(msg.type),
                protocol=name,
                what="notification type (expected DATA, 2)",
                hint="reassemble DATA + DATA_PART2 first",
            )
        d = movesense.decode_data_payload(msg.payload, kind)
        out: dict = {
            "protocol": name,
            "ref": msg.ref,
            "timestamp_ms": d.timestamp_ms,
            "timestamp_is_first_sample": True,
            "n_samples": len(d),
        }
        for key, arr in (("acc_mps2", d.acc_mps2), ("gyr_dps", d.gyr_dps), ("magn_ut", d.magn_ut)):
            if arr is not None:
                out[key] = json_rows(arr)
        return out

    return decode


def _enum_name(enum: type, value: int) -> str | None:
    try:
        return enum(value).name
    except ValueError:
        return None


DECODERS: dict[str, Callable[[bytes, float | None], dict]] = {
    "pmd": _pmd,
    "pmd-cp": _pmd_cp,
    "pmd-request": _pmd_request,
    "pmd-settings": _pmd_settings,
    "rsc": _rsc("steps"),
    "rsc-strides": _rsc("strides"),
    "rsc-feature": _rsc_feature,
    "metawear": _metawear(metawear.Chip.BMI160),
    "metawear-bmi270": _metawear(metawear.Chip.BMI270),
    "movesense": _movesense,
    **{f"movesense-{kind}": _movesense_kind(kind) for kind in movesense.RESOURCES},
}
ALIASES = {
    "polar": "pmd",
    "polar-pmd": "pmd",
    "polar_pmd": "pmd",
    "gsp": "movesense",
    "mbient": "metawear",
    "metawear-bmi160": "metawear",
}

DESCRIPTIONS = {
    "pmd": "Polar PMD data frame (FB005C82): ACC/GYRO, raw or delta; --factor = START-response FACTOR",
    "pmd-cp": "Polar PMD control-point message: response (F0...), device stop (01...), feature read (0F...)",
    "pmd-request": "Polar PMD control-point request (client -> device)",
    "pmd-settings": "Polar PMD settings TLV list",
    "rsc": "RSC measurement 0x2A53, cadence in steps/min",
    "rsc-strides": "RSC measurement 0x2A53 from a device that reports strides/min",
    "rsc-feature": "RSC feature 0x2A54",
    "metawear": "MetaWear acc/gyro data notification, BMI160 board (MetaMotion R/RL/C); --factor = units per LSB",
    "metawear-bmi270": "MetaWear acc/gyro data notification, BMI270 board (MetaMotion S); --factor = units per LSB",
    "movesense": "Movesense GSP notification (type, ref, payload)",
    **{f"movesense-{k}": f"Movesense GSP DATA notification of /Meas/{v[0]}" for k, v in movesense.RESOURCES.items()},
}


def protocols() -> list[str]:
    """The protocol names `decode_hex` accepts (aliases not listed)."""
    return list(DECODERS)


def _lookup(protocol: str) -> Callable[[bytes, float | None], dict]:
    if not isinstance(protocol, str):
        raise UnknownProtocol(f"protocol must be a name, got {type(protocol).__name__}")
    key = protocol.strip().lower()
    decoder = DECODERS.get(ALIASES.get(key, key))
    if decoder is None:
        raise UnknownProtocol(f"unknown protocol {protocol!r}", hint=f"one of: {', '.join(DECODERS)}")
    return decoder


def decode_bytes(protocol: str, data: bytes, factor: float | None = None) -> dict:
    decoder = _lookup(protocol)
    return decoder(as_bytes(data, protocol), factor)


def decode_hex(protocol: str, hex_text: str, factor: float | None = None) -> dict:
    """Decode one message given as hex text into one JSON-ready object.

    >>> decode_hex("pmd", "02 EA 54 A2 42 8B 45 52 08 01 45 FF E4 FF B5 03")["samples_raw"]
    [[-187, -28, 949]]
    """
    decoder = _lookup(protocol)
    data = parse_hex(hex_text, protocol)
    out = decoder(data, factor)
    out["hex"] = to_hex(data)
    return out
