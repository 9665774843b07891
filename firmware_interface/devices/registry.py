"""The one registry of device kinds: one canonical name per kind, found here.

    from firmware_interface.devices import registry
    registry.kinds()                       # ("h10", "verity", "oh1", "movesense", ...)
    spec = registry.get("h10")             # DeviceSpec: label, protocol, capabilities, ...
    spec.session("AA:BB", sample_rate_hz=100)   # the kind's DeviceSession
    registry.classify("Polar H10 0A1B2C3D", [])  # the spec an advertisement belongs to
    registry.for_channel(uuid)             # the kind an undeclared data stream is taken for

Each kind is one module of this package holding its spec (`SPEC`) and its session; the
layers above find the rest through the spec: the BLE driver by ``spec.protocol``
(`firmware_interface.ble`), the emulator by ``kind`` (`firmware_interface.emulation.emulators`).
The order of `_MODULES` is the order of recognition (a name pattern of an earlier kind wins)
and of auto-detection by channel (the H10 before the other PMD sensors).

Adding a sensor: write ``firmware_interface/devices/<kind>.py`` with its session and `SPEC`
(see `rsc.py` for a small one), then add the module to `_MODULES` below. A sensor that speaks
a protocol we already drive over BLE needs nothing else; a new protocol also needs its codec
(`protocols/`), its driver (`ble.py`) and, to test without hardware, an emulator.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from firmware_interface.devices import h10, metawear, movesense, oh1, openpod, rsc, verity
from firmware_interface.devices.spec import DeviceSpec

_MODULES = (h10, verity, oh1, movesense, metawear, rsc, openpod)

_SPECS: tuple[DeviceSpec, ...] = tuple(m.SPEC for m in _MODULES)
_BY_KIND: dict[str, DeviceSpec] = {s.kind: s for s in _SPECS}
assert len(_BY_KIND) == len(_SPECS), "two device modules claim the same kind"
assert all(re.fullmatch(r"[a-z][a-z0-9_]*", k) for k in _BY_KIND), "a kind is a lower-case identifier"


class UnknownDeviceKind(KeyError, ValueError):
    """No device kind of that name."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown device kind"


def kinds() -> tuple[str, ...]:
    """The canonical kind names, in registry order."""
    return tuple(_BY_KIND)


def specs() -> tuple[DeviceSpec, ...]:
    """Every kind's spec, in registry order."""
    return _SPECS


def get(kind: str) -> DeviceSpec:
    """The spec of ``kind`` (a canonical name); `UnknownDeviceKind` (a KeyError and a
    ValueError) says which names there are."""
    spec = _BY_KIND.get(kind)
    if spec is None:
        raise UnknownDeviceKind(f"unknown device kind {kind!r}; one of {', '.join(_BY_KIND)}")
    return spec


def classify(name: str | None, service_uuids: Iterable[str] | None = None) -> DeviceSpec | None:
    """The spec of an advertisement, or None for a device we do not support.

    A name pattern wins over service UUIDs (Polar sensors share their advertised services);
    a PMD service UUID alone (some firmwares advertise it) means "a Polar sensor with PMD"
    and is classified by name only.
    """
    for spec in _SPECS:
        if spec.matches_name(name):
            return spec
    uuids = {u.lower() for u in service_uuids or ()}
    for spec in _SPECS:
        if uuids & set(spec.service_uuids):
            return spec
    return None


def for_channel(channel: str) -> DeviceSpec | None:
    """The first kind whose session decodes notifications on ``channel`` (None: no kind)."""
    for spec in _SPECS:
        if channel in spec.data_uuids:
            return spec
    return None


__all__ = ["UnknownDeviceKind", "classify", "for_channel", "get", "kinds", "specs"]
