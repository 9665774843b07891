"""Start-up: `gait --help` loads no numerical library, and a one-file `gait analyze` loads only what
the analysis uses. Checked on ``sys.modules`` of a fresh interpreter; the time itself is a figure
(`gait bench --startup`), not a test."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from firmware_interface.files.recording import write_recording
from gait.synthetic import synthetic_recording
from tests.conftest import REPO

# packages some command needs and a plain run of another must not pay for
HEAVY = ("scipy", "matplotlib", "pyarrow", "pandas", "influxdb_client", "bleak", "bleak_retry_connector",
         "starlette", "uvicorn", "garmin_fit_sdk", "rdata", "pooch", "dask", "distributed", "bumble")  # fmt: skip

_RUN = """
import json, sys
from gait.cli import main
try:
    main(sys.argv[2:])
except SystemExit:
    pass
with open(sys.argv[1], "w") as fh:
    json.dump(sorted(sys.modules), fh)
"""


def _loaded(tmp_path, *argv: str, env: dict | None = None) -> set[str]:
    out = tmp_path / "modules.json"
    subprocess.run([sys.executable, "-c", _RUN, str(out), *argv], cwd=REPO, check=True, capture_output=True,
                   env=None if env is None else {**os.environ, **env})  # fmt: skip
    return {name.split(".")[0] for name in json.loads(out.read_text())} | set(json.loads(out.read_text()))


@pytest.mark.parametrize("argv", [("--help",), ("analyze", "--help"), ("programme", "status", "--help")])
def test_help_loads_no_numerical_library(tmp_path, argv):
    loaded = _loaded(tmp_path, *argv)
    assert "numpy" not in loaded
    assert not loaded & set(HEAVY)
    assert "firmware_interface" not in loaded


def test_one_file_analyze_loads_only_what_it_uses(tmp_path):
    for placement, allowed in (("foot", {"pyarrow"}), ("sacrum", {"pyarrow", "scipy"})):
        block = synthetic_recording(placement, 0.5)
        csv = write_recording(tmp_path / f"{placement}.csv", block.time_s, block.acc_mps2, block.gyr_dps)
        side = ("--side", "left") if placement == "foot" else ()
        loaded = _loaded(tmp_path, "analyze", str(csv), "--placement", placement, *side, "--jsonl")
        assert "gait.pipeline" in loaded  # it did analyse
        assert loaded & set(HEAVY) <= allowed, placement  # the trunk's low-pass filters are scipy.signal's


def test_trunk_filters_come_from_the_design_cache_without_scipy_signal(tmp_path):
    """The first analysis at a rate designs the trunk's low-pass with `scipy.signal` and keeps it; the
    next process reads it back and never imports the `scipy.signal` package (about 0.6 s)."""
    block = synthetic_recording("sacrum", 0.5)
    csv = write_recording(tmp_path / "sacrum.csv", block.time_s, block.acc_mps2, block.gyr_dps)
    env = {"GAIT_FILTER_CACHE": str(tmp_path / "filters.json")}
    argv = ("analyze", str(csv), "--placement", "sacrum", "--jsonl")
    first = _loaded(tmp_path, *argv, env=env)
    assert "scipy.signal" in first and (tmp_path / "filters.json").is_file()
    second = _loaded(tmp_path, *argv, env=env)
    assert "gait.pipeline" in second
    assert "scipy.signal" not in second  # (its compiled filter kernel alone: scipy.signal._sosfilt)
    assert "scipy.signal._sosfilt" in second
