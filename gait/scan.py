"""``gait scan``: nearby supported BLE sensors, what each measures and where to wear it.

``emulated``: the emulated sensors advertising on an in-process radio, through bleak's API (no
Bluetooth hardware). Without a usable radio: one line saying what is missing, exit 2.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any, TextIO

CAPABILITY_WORDS = {
    "acc": "acc",
    "gyro": "gyro",
    "mag": "mag",
    "ecg": "ECG",
    "heart_rate": "heart rate",
    "speed_cadence": "speed+cadence",
    "battery": "battery",
}
CAPABILITY_ORDER = ("acc", "gyro", "mag", "speed_cadence", "heart_rate", "ecg", "battery")


def _measures(found: Any) -> str:
    caps = {str(c) for c in found.capabilities}
    words = [CAPABILITY_WORDS.get(c, c) for c in CAPABILITY_ORDER if c in caps]
    return ", ".join(words) if words else "-"


def _wear(found: Any) -> str:
    spec = found.spec
    if spec is None:
        return "-"
    places = list(spec.placements)
    if found.side and "foot" in places:  # an openpod that says which foot it is for
        places = [f"foot ({found.side})"] + [p for p in places if p != "foot"]
    return ", ".join(places)


def format_scan(devices: list[Any], *, emulated: bool = False) -> list[str]:
    """The table `gait scan` prints (one line per device, strongest signal first)."""
    rows = [
        (
            d.name or "?",
            d.address,
            str(d.kind) if d.kind is not None else "unsupported",
            _measures(d),
            _wear(d),
            "-" if d.rssi is None else f"{d.rssi}",
        )
        for d in devices
    ]
    head = ("NAME", "ADDRESS", "KIND", "MEASURES", "WEAR ON", "RSSI")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    out = [line(head)] + [line(r) for r in rows]
    where = " (emulated, on an in-process radio: no Bluetooth hardware used)" if emulated else ""
    supported = sum(1 for d in devices if d.kind is not None)
    out.append(f"# {supported} supported device{'s' if supported != 1 else ''} found{where}")
    return out


def _scan_json(d: Any) -> dict[str, Any]:
    return {
        "name": d.name,
        "address": d.address,
        "kind": None if d.kind is None else str(d.kind),
        "measures": sorted(str(c) for c in d.capabilities),
        "placements": list(d.spec.placements) if d.spec is not None else [],
        "side": d.side,
        "rssi": d.rssi,
    }


async def _scan(timeout: float, *, emulated: bool, supported_only: bool) -> list[Any]:
    from firmware_interface import ble

    if not emulated:
        return await ble.scan(timeout, supported_only=supported_only)
    from firmware_interface.emulation import BumbleScanner, EmulatedAir, emulators

    async with EmulatedAir() as air:
        for e in emulators():  # every emulated kind the registry knows, each at its usual distance
            await e.emulator(rssi=e.rssi).attach(air)
        return await ble.scan(timeout, backend=BumbleScanner, supported_only=supported_only)


def scan(
    timeout_s: float | None = None,
    *,
    emulated: bool = False,
    show_all: bool = False,
    as_json: bool = False,
    out: TextIO | None = None,
) -> int:
    """``gait scan``: nearby supported devices (name, address, kind, what each can measure, where
    to wear it, RSSI) from `firmware_interface.ble.scan`; returns the exit code."""
    from firmware_interface.sources import explain_radio_error

    out = out if out is not None else sys.stdout
    timeout = float(timeout_s) if timeout_s is not None else (1.0 if emulated else 5.0)
    if not (timeout > 0):
        print("gait: error: --timeout must be positive", file=sys.stderr)
        return 2
    try:
        devices = asyncio.run(_scan(timeout, emulated=emulated, supported_only=not show_all))
    except ImportError as exc:
        msg = f"{exc}; install the emulation extra (bumble) for --emulated" if emulated else str(exc)
        print(f"gait: error: {msg}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - a radio problem is one line, not a traceback
        why = explain_radio_error(exc, hint="gait scan --emulated")
        print(f"gait: error: {why or f'scan failed: {type(exc).__name__}: {exc}'}", file=sys.stderr)
        return 2
    if as_json:
        for d in devices:
            out.write(json.dumps(_scan_json(d)) + "\n")
    else:
        for text in format_scan(devices, emulated=emulated):
            out.write(text + "\n")
    return 0
