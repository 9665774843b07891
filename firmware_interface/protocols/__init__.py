"""Pure wire-protocol decoders and encoders: bytes in, records out, one module per protocol.

- `polar_pmd`: Polar Measurement Data (H10, Verity Sense): control point, settings, ACC/GYRO frames
- `rsc`: Bluetooth SIG Running Speed and Cadence (0x2A53 / 0x2A54)
- `metawear`: MbientLab MetaWear accelerometer / gyro streaming (BMI160 and BMI270 boards)
- `movesense`: Movesense GATT Sensor Data Protocol (IMU subscriptions; received data unverified)
- `registry`: protocol name -> decoder (`decode_hex`, for ``gait decode``)

Decoders raise only `ProtocolError` subclasses on bad input (see `errors`). README.md in this
package documents byte layouts and which parts are verified or uncertain.
"""

from .common import ImuSamples, parse_hex
from .errors import (
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
from .registry import decode_bytes, decode_hex, protocols

__all__ = [
    "ControlPointError",
    "EncodeError",
    "ImuSamples",
    "InvalidHex",
    "MalformedFrame",
    "ProtocolError",
    "TimestampError",
    "TruncatedFrame",
    "UnknownProtocol",
    "UnsupportedFrame",
    "decode_bytes",
    "decode_hex",
    "parse_hex",
    "protocols",
]
