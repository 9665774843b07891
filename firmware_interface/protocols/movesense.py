"""Movesense GATT Sensor Data Protocol (GSP): IMU subscriptions over one command and one data
characteristic (the "gatt_sensordata_app" sample firmware).

Commands (client -> 34800001): ``[cmd][ref][data...]``; notifications (34800002):
``[type][ref][payload...]`` with type 1 = command result, 2 = DATA, 3 = DATA_PART2 (a
continuation appended to the previous DATA payload of the same ref). A DATA payload for
Acc/Gyro/Magn/IMU6/IMU9 is ``u32 LE timestamp_ms`` then one array per sensor, each N x
(float32 LE x, y, z); N is not in the packet.

What is verified and what is not, plainly (tags as in README.md):

- [V] The commands the host writes: SUBSCRIBE ``01 <ref> <ASCII path>``, UNSUBSCRIBE
  ``02 <ref>``, HELLO ``00 <ref>``, and the HELLO answer ``01 <ref> "Hello"``: the protocol
  reference's vectors, the bytes the sample firmware's Python client writes.
- [U] Everything the sensor sends as data. No real frame has been published: the DATA /
  DATA_PART2 header, the u32 ms timestamp, the float32 arrays and their order are read from
  the sample firmware and its Python client, and the only test vector is synthetic. Capture
  one real frame on hardware before calling this byte-exact.
- [U] The timestamp is that of the first sample (third-party doc comments).
- [U] The units: acc m/s^2, gyro deg/s, magn uT (not checked against a real frame).
- [U] Which resources and rates use DATA_PART2, and where firmware splits a DATA.
- [U] Command-result status codes as a big-endian u16 (507 = subscription table full).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

from .common import ImuSamples, as_bytes, check_uint, need, u32le
from .errors import EncodeError, MalformedFrame, TruncatedFrame, UnsupportedFrame

PROTOCOL = "movesense"

GSP_SERVICE_UUID = "34802252-7185-4d5d-b431-630e7050e8f0"
GSP_COMMAND_UUID = "34800001-7185-4d5d-b431-630e7050e8f0"
GSP_DATA_UUID = "34800002-7185-4d5d-b431-630e7050e8f0"


class GspCommand(IntEnum):
    HELLO = 0
    SUBSCRIBE = 1
    UNSUBSCRIBE = 2


class GspPacket(IntEnum):
    COMMAND_RESULT = 1
    DATA = 2
    DATA_PART2 = 3


RATES_HZ = (13, 26, 52, 104, 208, 416, 833, 1666)
# kind -> (resource name in the path, arrays in the payload in order)
RESOURCES = {
    "acc": ("Acc", ("acc",)),
    "gyro": ("Gyro", ("gyro",)),
    "magn": ("Magn", ("magn",)),
    "imu6": ("IMU6", ("acc", "gyro")),
    "imu9": ("IMU9", ("acc", "gyro", "magn")),
}
_PATH = re.compile(r"/Meas/(Acc|Gyro|Magn|IMU6|IMU9)/(\d+)")
_KIND_OF_RESOURCE = {name: kind for kind, (name, _) in RESOURCES.items()}
_SAMPLE_BYTES = 12  # 3 x float32


def resource_path(kind: str, rate_hz: int) -> str:
    """``("imu6", 104)`` -> ``"/Meas/IMU6/104"``."""
    if kind not in RESOURCES:
        raise EncodeError(f"kind must be one of {sorted(RESOURCES)}, not {kind!r}", protocol=PROTOCOL)
    if rate_hz not in RATES_HZ:
        raise EncodeError(f"rate must be one of {RATES_HZ} Hz, not {rate_hz!r}", protocol=PROTOCOL)
    return f"/Meas/{RESOURCES[kind][0]}/{rate_hz}"


def parse_resource_path(path: str) -> tuple[str, int]:
    """``"/Meas/IMU6/104"`` -> ``("imu6", 104)``; other resources are `UnsupportedFrame`."""
    m = _PATH.fullmatch(path)
    if not m or int(m.group(2)) not in RATES_HZ:
        raise MalformedFrame(f"not an IMU resource path this decoder knows: {path!r}", protocol=PROTOCOL)
    return _KIND_OF_RESOURCE[m.group(1)], int(m.group(2))


def _ref(ref: int) -> int:
    ref = check_uint(ref, 8, "client reference", PROTOCOL)
    if ref == 0:
        raise EncodeError("the client reference must be non-zero", protocol=PROTOCOL)
    return ref


def encode_hello(ref: int = 1) -> bytes:
    return bytes((GspCommand.HELLO, _ref(ref)))


def encode_subscribe(ref: int, path: str) -> bytes:
    """``01 <ref> <ASCII path>``, e.g. ref 99 and "/Meas/Acc/52" -> ``01 63 2F 4D ...``."""
    try:
        ascii_path = path.encode("ascii")
    except (UnicodeEncodeError, AttributeError):
        raise EncodeError(f"the resource path must be ASCII text: {path!r}", protocol=PROTOCOL) from None
    return bytes((GspCommand.SUBSCRIBE, _ref(ref))) + ascii_path


def encode_unsubscribe(ref: int) -> bytes:
    """``02 <ref>``: the ref given to SUBSCRIBE."""
    return bytes((GspCommand.UNSUBSCRIBE, _ref(ref)))


@dataclass(frozen=True, slots=True)
class GspCommandPacket:
    command: GspCommand
    ref: int
    path: str = ""


def decode_command(data: bytes) -> GspCommandPacket:
    """Parse a command write (what a device emulator receives)."""
    data = as_bytes(data, PROTOCOL)
    need(data, 2, PROTOCOL, "command and reference")
    try:
        cmd = GspCommand(data[0])
    except ValueError:
        raise UnsupportedFrame(data[0], protocol=PROTOCOL, what="command") from None
    if data[1] == 0:
        raise MalformedFrame("client reference 0 is not allowed", protocol=PROTOCOL)
    path = ""
    if cmd is GspCommand.SUBSCRIBE:
        try:
            path = data[2:].decode("ascii")
        except UnicodeDecodeError:
            raise MalformedFrame("the resource path is not ASCII", protocol=PROTOCOL) from None
        if not path:
            raise TruncatedFrame(PROTOCOL, "SUBSCRIBE resource path", 3, len(data))
    elif len(data) > 2:
        raise MalformedFrame(f"{cmd.name} carries no data, got {len(data) - 2} bytes", protocol=PROTOCOL)
    return GspCommandPacket(cmd, data[1], path)


@dataclass(frozen=True, slots=True)
class GspNotification:
    type: GspPacket
    ref: int
    payload: bytes


def decode_notification(data: bytes) -> GspNotification:
    data = as_bytes(data, PROTOCOL)
    need(data, 2, PROTOCOL, "notification type and reference")
    try:
        kind = GspPacket(data[0])
    except ValueError:
        raise UnsupportedFrame(data[0], protocol=PROTOCOL, what="notification type") from None
    return GspNotification(kind, data[1], data[2:])


@dataclass(frozen=True, slots=True)
class GspCommandResult:
    """A type-1 notification: the answer to a command (``01 <ref> 'Hello'`` to HELLO)."""

    ref: int
    payload: bytes

    @property
    def is_hello(self) -> bool:
        return self.payload == b"Hello"

    @property
    def status(self) -> int | None:
        """A 2-byte payload read as a big-endian status (507 = no free subscription slot) [U]."""
        return int.from_bytes(self.payload, "big") if len(self.payload) == 2 else None


@dataclass(frozen=True, eq=False, slots=True)
class MovesenseData:
    """A reassembled DATA payload: ``timestamp_ms`` (device time of the FIRST sample [U], u32
    ms) and (n, 3) float64 arrays: acc in m/s^2, gyro in deg/s, magn in uT [U: units not
    checked against a real frame] (None if absent)."""

    kind: str
    timestamp_ms: int
    acc_mps2: np.ndarray | None = None
    gyr_dps: np.ndarray | None = None
    magn_ut: np.ndarray | None = None

    def __len__(self) -> int:
        for a in (self.acc_mps2, self.gyr_dps, self.magn_ut):
            if a is not None:
                return int(a.shape[0])
        return 0


def decode_data_payload(payload: bytes, kind: str) -> MovesenseData:
    """Decode a DATA payload (the bytes after type and ref, PART2 already appended).

    [U] The layout (u32 LE ms timestamp, then float32 x,y,z arrays in the order acc, gyro,
    magn) is the sample firmware's; no real frame has been checked."""
    if kind not in RESOURCES:
        raise UnsupportedFrame(0, protocol=PROTOCOL, what=f"resource kind {kind!r}")
    payload = as_bytes(payload, PROTOCOL)
    arrays = RESOURCES[kind][1]
    per_sample = _SAMPLE_BYTES * len(arrays)
    need(payload, 4 + per_sample, PROTOCOL, f"{kind} data (timestamp and one sample)")
    body = len(payload) - 4
    if body % per_sample:
        raise MalformedFrame(
            f"{kind} data: {body} bytes after the timestamp is not a whole number of {per_sample}-byte samples"
            + (" (a DATA_PART2 continuation may be missing)" if len(arrays) > 1 else ""),
            protocol=PROTOCOL,
        )
    n = body // per_sample
    with np.errstate(invalid="ignore"):  # a NaN bit pattern (signalling) is data, not an error
        values = np.frombuffer(payload, "<f4", offset=4).astype(np.float64).reshape(len(arrays), n, 3)
    out = {"acc": None, "gyro": None, "magn": None}
    for i, name in enumerate(arrays):
        out[name] = values[i]
    return MovesenseData(
        kind=kind, timestamp_ms=u32le(payload, 0), acc_mps2=out["acc"], gyr_dps=out["gyro"], magn_ut=out["magn"]
    )


def encode_data(
    ref: int,
    timestamp_ms: int,
    kind: str,
    *,
    acc: np.ndarray | None = None,
    gyro: np.ndarray | None = None,
    magn: np.ndarray | None = None,
    max_packet: int | None = None,
) -> list[bytes]:
    """Build the DATA notification (plus DATA_PART2 packets if longer than ``max_packet``).

    For emulators and tests; the split point of real firmware is [U].
    """
    if kind not in RESOURCES:
        raise EncodeError(f"kind must be one of {sorted(RESOURCES)}", protocol=PROTOCOL)
    given = {"acc": acc, "gyro": gyro, "magn": magn}
    arrays = []
    for name in RESOURCES[kind][1]:
        a = given[name]
        if a is None:
            raise EncodeError(f"{kind} needs {name} samples", protocol=PROTOCOL)
        arrays.append(np.asarray(a, dtype=np.float64).reshape(-1, 3))
    if len({a.shape[0] for a in arrays}) != 1 or arrays[0].shape[0] == 0:
        raise EncodeError("every array needs the same, non-zero number of samples", protocol=PROTOCOL)
    payload = check_uint(timestamp_ms, 32, "timestamp_ms", PROTOCOL).to_bytes(4, "little")
    payload += b"".join(a.astype("<f4").tobytes() for a in arrays)
    ref = _ref(ref)
    if max_packet is None or len(payload) + 2 <= max_packet:
        return [bytes((GspPacket.DATA, ref)) + payload]
    if max_packet < 3:
        raise EncodeError("max_packet must leave room for payload", protocol=PROTOCOL)
    chunk = max_packet - 2
    packets = [bytes((GspPacket.DATA, ref)) + payload[:chunk]]
    for start in range(chunk, len(payload), chunk):
        packets.append(bytes((GspPacket.DATA_PART2, ref)) + payload[start : start + chunk])
    return packets


@dataclass
class _Subscription:
    kind: str
    rate_hz: float
    part2: bool | None
    pending: bytes | None = None
    wraps: int = 0
    last_ms: int | None = None  # unwrapped timestamp of the last emitted packet
    next_ms: float | None = None  # expected timestamp of the next packet


@dataclass
class GspStream:
    """Reassembles and times the DATA notifications of one Movesense connection.

    Register each subscription (`subscribe` returns the command to write). ``part2`` says
    whether this resource's DATA is followed by DATA_PART2 continuations: False emits every
    DATA at once; True always waits for the continuation; None (unknown, the default) holds
    each DATA until the next DATA of the same ref (or `flush`), which costs one packet of
    latency. Which resources and rates use PART2 is [U] (IMU9 at 104 Hz does).

    Sample i of a packet is at ``timestamp_ms + i*1000/rate`` device ms (u32, unwrapped).
    A malformed packet raises its typed error and leaves the other subscriptions untouched.
    """

    gap_ratio: float = 1.5
    _subs: dict[int, _Subscription] = field(default_factory=dict, repr=False)

    def subscribe(self, ref: int, kind: str, rate_hz: int, *, part2: bool | None = None) -> bytes:
        command = encode_subscribe(ref, resource_path(kind, rate_hz))
        self._subs[ref] = _Subscription(kind=kind, rate_hz=float(rate_hz), part2=part2)
        return command

    def unsubscribe(self, ref: int) -> bytes:
        self._subs.pop(ref, None)
        return encode_unsubscribe(ref)

    def reset(self) -> None:
        """After a reconnect: the firmware dropped every subscription; pending data is void."""
        for sub in self._subs.values():
            sub.pending = None
            sub.last_ms = None
            sub.next_ms = None
            sub.wraps = 0

    def feed(self, data: bytes) -> list[ImuSamples | GspCommandResult]:
        msg = decode_notification(data)
        if msg.type is GspPacket.COMMAND_RESULT:
            return [GspCommandResult(msg.ref, msg.payload)]
        sub = self._subs.get(msg.ref)
        if sub is None:
            raise UnsupportedFrame(msg.ref, protocol=PROTOCOL, what="data reference (not subscribed)")
        if msg.type is GspPacket.DATA_PART2:
            if sub.pending is None:
                raise MalformedFrame(f"DATA_PART2 for ref {msg.ref} without a DATA before it", protocol=PROTOCOL)
            if sub.part2 is False:
                raise MalformedFrame(f"DATA_PART2 for ref {msg.ref}, subscribed without part2", protocol=PROTOCOL)
            payload, sub.pending = sub.pending + msg.payload, None
            return [self._emit(sub, payload)]
        # DATA
        if sub.part2 is False:
            return [self._emit(sub, msg.payload)]
        previous, sub.pending = sub.pending, msg.payload
        if previous is not None and sub.part2 is None:
            return [self._emit(sub, previous)]
        return []  # part2=True with a pending DATA: its continuation was lost; the gap shows in time

    def flush(self) -> list[ImuSamples]:
        """Emit held DATA packets (end of stream, or when a caller knows no PART2 follows)."""
        out = []
        for sub in self._subs.values():
            if sub.pending is not None and sub.part2 is not True:
                payload, sub.pending = sub.pending, None
                out.append(self._emit(sub, payload))
        return out

    def _emit(self, sub: _Subscription, payload: bytes) -> ImuSamples:
        data = decode_data_payload(payload, sub.kind)  # raises before any state changes
        period_ms = 1000.0 / sub.rate_hz
        wraps = sub.wraps
        ts = data.timestamp_ms + (wraps << 32)
        if sub.last_ms is not None and ts < sub.last_ms - (1 << 31):
            wraps += 1
            ts += 1 << 32
        gap = False
        missing = 0
        if sub.next_ms is not None and ts - sub.next_ms > self.gap_ratio * period_ms:
            gap = True
            missing = round((ts - sub.next_ms) / period_ms)
        n = len(data)
        time_s = (ts + np.arange(n, dtype=np.float64) * period_ms) / 1000.0
        sub.wraps, sub.last_ms, sub.next_ms = wraps, ts, ts + n * period_ms
        return ImuSamples(
            time_s=time_s,
            acc_mps2=data.acc_mps2,
            gyr_dps=data.gyr_dps,
            magn_ut=data.magn_ut,
            gap_before=gap,
            missing_samples=missing,
            source=f"movesense-{sub.kind}",
        )
