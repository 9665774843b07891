"""pytest plugin: ``--real-device ADDRESS`` runs tests/test_ble_emulated.py against real hardware.

Register it from tests/conftest.py with ``pytest_plugins = ["ble_options"]``. Without the
option every BLE test runs on the emulated radio (Bumble); with it, the tests that make sense
on a real sensor run through bleak's default (platform) backend against ADDRESS and the rest
(fault injection, emulator introspection) are skipped.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ble", "Bluetooth LE")
    group.addoption(
        "--real-device",
        action="store",
        default=None,
        metavar="ADDRESS",
        help="run the BLE transport tests against this real device (platform bleak backend)",
    )


@pytest.fixture(scope="session")
def real_device_address(request: pytest.FixtureRequest) -> str | None:
    return request.config.getoption("--real-device", default=None)
