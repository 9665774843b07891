"""Start-up figures: ``gait bench --startup`` (also part of ``gait bench``).

Each command runs in a fresh interpreter, as the ``gait`` script runs it, ``--repeat`` times;
the figure is the wall time from process start to exit, min and median (the machine may be
shared: the load average is printed beside them). Commands timed:

* ``python -c pass``: the interpreter alone, the floor under every figure;
* ``gait --help`` (target under 0.2 s) and ``gait analyze --help``: no numerical library loaded;
* ``gait analyze`` of a one-minute 200 Hz six-axis CSV recording, foot and sacrum, ``--jsonl``:
  start-up plus a short analysis (the sacrum's trunk filters load scipy.signal, the foot's do not).

What each command may import is a test (``tests/test_startup.py``); this prints times only.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TARGET_HELP_S = 0.2
_SCRIPT = "import sys\nfrom gait.cli import main\nsys.exit(main())"  # what the `gait` console script runs


def _time(argv: list[str], repeat: int, env: dict[str, str]) -> list[float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(argv, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - t0)
    return times


def startup_figures(repeat: int = 10, progress=None) -> dict:
    """``{"rows": [{"command", "min_s", "median_s", "runs"}], "load": (1, 5, 15 min), "cpus": n}``."""
    from firmware_interface.files.recording import write_recording
    from gait.synthetic import synthetic_recording

    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    gait = [sys.executable, "-c", _SCRIPT]
    rows = []
    with tempfile.TemporaryDirectory(prefix="gait-bench-startup-") as tmp:
        files = {}
        for placement in ("foot", "sacrum"):
            block = synthetic_recording(placement, 1.0)
            files[placement] = write_recording(Path(tmp) / f"{placement}.csv", block.time_s, block.acc_mps2,
                                               block.gyr_dps)  # fmt: skip
        commands = [
            ("python -c pass", [sys.executable, "-c", "pass"]),
            ("gait --help", [*gait, "--help"]),
            ("gait analyze --help", [*gait, "analyze", "--help"]),
            ("gait analyze foot.csv (1 min)",
             [*gait, "analyze", str(files["foot"]), "--placement", "foot", "--side", "left", "--jsonl"]),
            ("gait analyze sacrum.csv (1 min)", [*gait, "analyze", str(files["sacrum"]), "--placement", "sacrum", "--jsonl"]),
        ]  # fmt: skip
        _time(commands[1][1], 1, env)  # warm the file cache and the bytecode
        for label, argv in commands:
            if progress:
                progress(f"start-up: {label}, {repeat} runs")
            times = _time(argv, repeat, env)
            rows.append({"command": label, "min_s": min(times), "median_s": statistics.median(times), "runs": times})
    return {"rows": rows, "load": _load(), "cpus": os.cpu_count() or 1, "repeat": repeat}


def _load() -> tuple[float, float, float] | None:
    try:
        return os.getloadavg()
    except OSError:  # pragma: no cover - not available
        return None


def format_startup(rep: dict) -> str:
    load = rep.get("load")
    where = f"{rep['cpus']} cores" + (f", load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}" if load else "")
    lines = [f"start-up: fresh interpreters, {rep['repeat']} runs each ({where})",
             f"  {'command':<34} {'min':>7} {'median':>7}"]  # fmt: skip
    for row in rep["rows"]:
        mark = ""
        if row["command"] == "gait --help":
            mark = "  ok (< 0.2 s)" if row["min_s"] < TARGET_HELP_S else "  MISSED (target < 0.2 s)"
        lines.append(f"  {row['command']:<34} {row['min_s']:6.3f}s {row['median_s']:6.3f}s{mark}")
    return "\n".join(lines)
