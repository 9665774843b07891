"""Devices of a run: their configuration (`DeviceConfig`), a session per device
(`make_session`) and several devices at once on one clock (`SessionSet`).

The session of each kind lives in its module under `firmware_interface.devices` and is found
through `firmware_interface.devices.registry` by the kind's one canonical name (``h10``,
``verity``, ``oh1``, ``openpod``, ``rsc``, ``metawear``, ``movesense``). What every session
shares (`RawPacket`, `DeviceEvent`, `RscReading`, `Health`, `ClockModel`, `DeviceSession`,
the channel conventions) is in `firmware_interface.devices.base`; it is re-exported here.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from firmware_interface.devices import registry
from firmware_interface.devices.base import (
    BATTERY_LEVEL_UUID,
    LINK_CHANNEL,
    LINK_CONNECTED,
    LINK_DISCONNECTED,
    WRITE_PREFIX,
    ClockEstimate,
    ClockModel,
    DeviceEvent,
    DeviceSession,
    Health,
    RawPacket,
    RscReading,
    SessionRecord,
    write_channel,
)

# the session classes, re-exported (import them from their kind modules in new code)
from firmware_interface.devices.h10 import H10Session
from firmware_interface.devices.metawear import MetaWearSession
from firmware_interface.devices.movesense import MovesenseSession
from firmware_interface.devices.oh1 import Oh1Session
from firmware_interface.devices.openpod import OpenpodSession
from firmware_interface.devices.polar import PmdSession
from firmware_interface.devices.rsc import RscSession
from firmware_interface.devices.verity import VeritySession


@dataclass(frozen=True)
class DeviceConfig:
    """One device of a session: its id, kind (a canonical name of
    `firmware_interface.devices.registry`), where it is worn (pipeline settings) and decoder
    settings (keyword arguments of the kind's session class)."""

    id: str
    kind: str
    placement: str | None = None
    side: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "placement": self.placement,
            "side": self.side,
            "settings": dict(self.settings),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DeviceConfig:
        return cls(
            id=str(d["id"]),
            kind=str(d["kind"]),
            placement=d.get("placement"),
            side=d.get("side"),
            settings=dict(d.get("settings") or {}),
        )

    @classmethod
    def parse(cls, text: str, *, require_id: bool = True) -> DeviceConfig:
        """``id=AA:BB,kind=h10,placement=chest[,side=left][,sample_rate_hz=200]`` (CLI form).

        ``require_id=False``: ``id`` may be left out (it is then ``""``: the caller names the
        device, e.g. an emulated one)."""
        fields_: dict[str, str] = {}
        for part in text.split(","):
            if "=" not in part:
                raise ValueError(f"device spec {text!r}: expected key=value pairs separated by commas")
            k, v = part.split("=", 1)
            fields_[k.strip()] = v.strip()
        if not require_id:
            fields_.setdefault("id", "")
        if "id" not in fields_ or "kind" not in fields_:
            raise ValueError(f"device spec {text!r} needs id=... and kind=...")
        settings: dict[str, Any] = {}
        for k, v in fields_.items():
            if k in ("id", "kind", "placement", "side"):
                continue
            settings[k] = _parse_value(v)
        return cls(fields_["id"], fields_["kind"], fields_.get("placement"), fields_.get("side"), settings)


def _parse_value(v: str) -> Any:
    low = v.lower()
    if low in ("true", "false"):
        return low == "true"
    for conv in (int, float):
        try:
            return conv(v)
        except ValueError:
            pass
    return v


# settings that tell the transport what to negotiate (`ble.StreamSettings`) and that a decoder
# does not take: `make_session` leaves them out for the session classes that do not accept them
TRANSPORT_SETTINGS = frozenset(
    {
        "acc_rate_hz",
        "acc_range_g",
        "gyr_rate_hz",
        "gyr_range_dps",
        "gyro",
        "gyro_range_dps",
        "resolution_bits",
        "sdk_mode",
        "set_time",
    }
)


def session_settings(kind: str, settings: dict[str, Any]) -> dict[str, Any]:
    """``settings`` without the transport-only keys the session class of ``kind`` does not take."""
    try:
        cls = registry.get(kind).session
    except registry.UnknownDeviceKind:
        cls = None
    if cls is None:
        return dict(settings)
    accepted = set(inspect.signature(cls.__init__).parameters)
    return {k: v for k, v in settings.items() if k in accepted or k not in TRANSPORT_SETTINGS}


def make_session(spec: DeviceConfig) -> DeviceSession:
    """The session class of ``spec.kind`` with ``spec.settings`` as keyword arguments
    (transport-only settings such as ``acc_range_g`` or ``sdk_mode`` are left out)."""
    cls = registry.get(spec.kind).session  # UnknownDeviceKind (a ValueError) lists the kinds
    if cls is None:
        raise ValueError(f"device kind {spec.kind!r} has no session")
    try:
        return cls(spec.id, **session_settings(spec.kind, spec.settings))
    except TypeError as exc:
        raise ValueError(f"device {spec.id!r} ({spec.kind}): bad settings {spec.settings}: {exc}") from None


class SessionSet:
    """Routes packets to per-device sessions and aligns their clocks.

    Devices not declared get a session from the channel of their first data packet when
    ``auto`` is true (`registry.for_channel`: openpod, PMD as H10, RSC, MetaWear, Movesense); otherwise their packets
    are counted in ``unknown`` and dropped. ``rx_origin_ns`` is the receive time of the first
    packet: common times are seconds since then.
    """

    def __init__(self, specs: Iterable[DeviceConfig] = (), *, auto: bool = True):
        self.sessions: dict[str, DeviceSession] = {}
        self.specs: dict[str, DeviceConfig] = {}
        self.auto = auto
        self.unknown = 0
        self.rx_origin_ns: int | None = None
        for spec in specs:
            self.add(spec)

    def add(self, spec: DeviceConfig) -> DeviceSession:
        session = make_session(spec)
        self.sessions[spec.id] = session
        self.specs[spec.id] = spec
        return session

    def feed(self, packet: RawPacket) -> list[tuple[str, SessionRecord]]:
        if self.rx_origin_ns is None:
            self.rx_origin_ns = packet.rx_time_ns
        session = self.sessions.get(packet.device)
        if session is None:
            found = registry.for_channel(packet.channel)
            if not self.auto or found is None:
                self.unknown += 1
                return []
            session = self.add(DeviceConfig(packet.device, found.kind))
        return [(packet.device, r) for r in session.feed(packet)]

    def flush(self) -> list[tuple[str, SessionRecord]]:
        out: list[tuple[str, SessionRecord]] = []
        for dev, session in self.sessions.items():
            out.extend((dev, r) for r in session.flush())
        return out

    def health(self) -> dict[str, Health]:
        return {dev: s.health() for dev, s in self.sessions.items()}

    def to_common(self, device: str, device_time_s: float) -> float:
        """Device time (session seconds) -> seconds on the common receive clock since the
        first packet. Before any estimate exists it returns ``device_time_s`` unchanged."""
        session = self.sessions.get(device)
        est = None if session is None else session.clock.estimate()
        if est is None or self.rx_origin_ns is None:
            return float(device_time_s)
        return est.to_rx_s(device_time_s) - self.rx_origin_ns / 1e9


__all__ = [
    "BATTERY_LEVEL_UUID",
    "LINK_CHANNEL",
    "LINK_CONNECTED",
    "LINK_DISCONNECTED",
    "TRANSPORT_SETTINGS",
    "WRITE_PREFIX",
    "ClockEstimate",
    "ClockModel",
    "DeviceConfig",
    "DeviceEvent",
    "DeviceSession",
    "H10Session",
    "Health",
    "MetaWearSession",
    "MovesenseSession",
    "Oh1Session",
    "OpenpodSession",
    "PmdSession",
    "RawPacket",
    "RscReading",
    "RscSession",
    "SessionRecord",
    "SessionSet",
    "VeritySession",
    "make_session",
    "session_settings",
    "write_channel",
]
