"""Shared fixtures: real recordings from the public data sets (fetched on first use, see
data/datasets.toml; on a machine without internet GAIT_DATA_MIRROR names a local copy)."""

from __future__ import annotations

import functools
import os
import shutil
import socket
import tempfile
from pathlib import Path

import numpy as np
import pytest

from gait.core.records import SampleBlock, slice_block
from gait.public_data import mirror_dir

REPO = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() == "true"
# Other people's files (phone exports, watch FIT files, the public data sets as published) are never
# in the repository: tests read them from the offline mirror beside it, where there is one.
SHARED_DATA = mirror_dir() or REPO.parent / "shared" / "data"

# Live and replay runs are stored by default: keep the tests' runs out of the user's data folder
# (set before any test module copies the environment for its subprocesses).
os.environ.setdefault("GAIT_DATA_DIR", tempfile.mkdtemp(prefix="gait-tests-"))

pytest_plugins = ["tests.ble_options"]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (for a server a test starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def need_program(name: str, install: str) -> str:
    """Path of an external program; skip (outside CI) or fail (under CI) when it is missing."""
    path = shutil.which(name)
    if path:
        return path
    msg = f"{name} is not installed; install it with: {install}"
    if IN_CI:
        pytest.fail(msg)
    pytest.skip(msg)


@functools.cache
def _fetched() -> tuple[Path | None, str]:
    from gait.public_data import DataUnavailable, fetch

    try:
        return fetch(), ""
    except DataUnavailable as exc:
        return None, str(exc)


def data_root() -> Path:
    """The folder of the fetched public data sets; skip (outside CI) or fail (under CI) when they
    cannot be had. Usable at module level (the skip then covers the module)."""
    root, why = _fetched()
    if root is not None:
        return root
    msg = f"public data sets not available: {why}"
    if IN_CI:
        pytest.fail(msg, pytrace=False)
    pytest.skip(msg, allow_module_level=True)


def data_dir(name: str) -> Path:
    """One data set's folder (see data_root)."""
    return data_root() / name


def adept_run_path() -> Path:
    """The adept outdoor run as published (acc_running.rda)."""
    return data_dir("adept-outdoor-run") / "acc_running.rda"


def _adept(loc_id: str, start_s: float, seconds: float) -> SampleBlock:
    from gait.validation.datasets import adept_recordings

    rec = {r.metadata.get("sensor", r.path): r for r in adept_recordings(data_root())}
    chosen = next(r for key, r in rec.items() if loc_id in key)
    t0 = chosen.time_s[0] + start_s
    m = (chosen.time_s >= t0) & (chosen.time_s < t0 + seconds)
    return SampleBlock(time_s=chosen.time_s[m], acc_mps2=chosen.acc_mps2[m], gyr_dps=None, index0=0)


@pytest.fixture(scope="session")
def hip_block() -> SampleBlock:
    """30 s of real outdoor running, waist accelerometer, 100 Hz."""
    return _adept("hip", 60.0, 30.0)


@pytest.fixture(scope="session")
def ankle_block() -> SampleBlock:
    """30 s of real outdoor running, ankle accelerometer (no gyro), 100 Hz."""
    return _adept("ankle", 60.0, 30.0)


@pytest.fixture(scope="session")
def validation_trials(tmp_path_factory):
    """Virtual IMU recordings from motion capture (RBDS, RIC) with truth files."""
    from gait.validation.datasets import build_validation_set

    out = tmp_path_factory.mktemp("validation")
    return build_validation_set(out, data_root())


@pytest.fixture(scope="session")
def sacrum_trials(validation_trials):
    """The virtual sacrum recordings with truth (RBDS, RIC)."""
    trials = [t for t in validation_trials if t.placement == "sacrum" and t.truth and t.name.startswith(("RBDS", "RIC"))]
    if not trials:
        pytest.skip("no virtual sacrum recordings")
    return trials


def stream(pipe_or_stage, block: SampleBlock, sizes: list[int]) -> list:
    """Feed ``block`` in chunks of the given sizes (cycled), then flush."""
    out: list = []
    n = len(block)
    i = k = 0
    while i < n:
        size = max(1, sizes[k % len(sizes)])
        out.extend(pipe_or_stage.process(slice_block(block, i, min(n, i + size))))
        i += size
        k += 1
    out.extend(pipe_or_stage.flush())
    return out


def rng_noise_block(seconds: float, fs: float, gyro: bool, seed: int = 0) -> SampleBlock:
    rng = np.random.default_rng(seed)
    n = int(seconds * fs)
    t = np.arange(n) / fs
    acc = rng.normal(0, 0.05, (n, 3)) + np.array([0.0, 0.0, 9.81])
    gyr = rng.normal(0, 0.5, (n, 3)) if gyro else None
    return SampleBlock(time_s=t, acc_mps2=acc, gyr_dps=gyr)


# --- the dashboards in a real browser (Debian's chromium through Playwright) ---------------------
SCREENSHOTS = REPO / "docs" / "screenshots"


@pytest.fixture(scope="module")
def chromium_path():
    return need_program("chromium", "apt-get install chromium")


@pytest.fixture(scope="module")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    from dashboards.bench import CHROMIUM_ARGS

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield b
        b.close()


def keep_screenshots(out: Path) -> None:
    """Copy a test's screenshots over the README's copies, on request only (GAIT_UPDATE_SCREENSHOTS=1)."""
    if os.environ.get("GAIT_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for f in out.glob("*.png"):
            shutil.copy2(f, SCREENSHOTS / f.name)
