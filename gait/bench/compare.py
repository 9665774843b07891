"""Side by side, on the same files: this project against gaitmap, and the batch against one process
per file (part of ``gait bench``; ``gait bench --compare`` for this part alone).

The files: ``--files`` synthetic recordings (`gait.synthetic`, 200 Hz, six axes) of ``--file-minutes``
each, sacrum and foot alternating, written with their ``# placement:`` (and a foot's ``# side:``)
so that every tool reads the same bytes.

* **gaitmap** (mad-lab-fau/gaitmap in its own environment, ``.venv-gaitmap`` or
  ``$GAIT_GAITMAP_PYTHON``, as ``gait validate`` runs it: ``gait/validation/gaitmap_runner.py``
  with Herzer's event detector) on every foot file, against ``gait analyze FILE --jsonl``: each a fresh process, its
  wall time from start to exit (imports included), the best of ``--repeat``; the ratio is
  gaitmap's time over ours. Contacts found are printed beside them (gaitmap handles a foot sensor
  only).
* **batch**: every file analysed by one process per file (``gait analyze FILE --jsonl``, one
  after another, and two at a time), against ``gait analyze FOLDER --out DIR`` (the batch: a
  local Dask cluster of one worker per core when ``dask.distributed`` is installed, else one file
  after another in one process) and ``--jobs 1`` (one process, no cluster). Wall time of the
  whole set and files per second; the ratio is the one-process-per-file time over the batch's.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
_SCRIPT = "import sys\nfrom gait.cli import main\nsys.exit(main())"  # what the `gait` console script runs


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _gait(*args: str) -> list[str]:
    return [sys.executable, "-c", _SCRIPT, *args]


def _run(argv: list[str], env: dict[str, str], timeout: float = 1800.0) -> tuple[float, str]:
    """Wall time and stdout of a command (stderr dropped); raises on failure."""
    t0 = time.perf_counter()
    proc = subprocess.run(argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:1] + argv[3:])}: exit {proc.returncode}: {proc.stderr.strip()[-300:]}")
    return seconds, proc.stdout


def _best(argv: list[str], env: dict[str, str], repeat: int) -> tuple[float, float, str]:
    runs = [_run(argv, env) for _ in range(max(1, repeat))]
    times = [t for t, _ in runs]
    return min(times), statistics.median(times), runs[0][1]


def write_files(folder: Path, count: int, minutes: float) -> list[tuple[Path, str]]:
    """``count`` synthetic recordings, sacrum and foot alternating: [(path, placement)]."""
    from firmware_interface.files.recording import write_recording
    from gait.synthetic import synthetic_recording

    files = []
    for k in range(count):
        placement = ("foot", "sacrum")[k % 2]
        block = synthetic_recording(placement, minutes, seed=11 + k)
        meta = {"placement": placement, "source": "gait bench synthetic runner"}
        if placement == "foot":
            meta["side"] = "left"
        path = write_recording(folder / f"run{k:02d}-{placement}.csv", block.time_s, block.acc_mps2, block.gyr_dps, meta)
        files.append((path, placement))
    return files


GAITMAP_RUNNER = REPO_ROOT / "gait" / "validation" / "gaitmap_runner.py"  # run as a script, never imported


def gaitmap_python() -> Path | None:
    """gaitmap's interpreter where `gait validate` finds it: $GAIT_GAITMAP_PYTHON, else .venv-gaitmap."""
    env = os.environ.get("GAIT_GAITMAP_PYTHON")
    if env:
        return Path(env)
    for cand in (REPO_ROOT / ".venv-gaitmap" / "bin" / "python", REPO_ROOT / ".venv-gaitmap" / "Scripts" / "python.exe"):
        if cand.exists():
            return cand
    return None


def gaitmap_figures(files: list[tuple[Path, str]], repeat: int, progress=None) -> dict[str, Any]:
    python = gaitmap_python()
    if python is None:
        return {"available": False, "why": "gaitmap's environment is not installed (make gaitmap-env)"}
    env = _env()
    rows = []
    for path, placement in files:
        if placement != "foot":
            continue
        if progress:
            progress(f"gaitmap vs gait analyze: {path.name}")
        ours_min, ours_med, out = _best(_gait("analyze", str(path), "--jsonl"), env, repeat)
        ours_steps = sum(1 for line in out.splitlines() if line.strip())
        cmd = [str(python), str(GAITMAP_RUNNER), str(path), "--side", "left", "--events", "herzer"]
        gm_min, gm_med, out = _best(cmd, env, repeat)
        gm_steps = sum(1 for line in out.splitlines() if line.strip())
        rows.append({"file": path.name, "ours_s": ours_min, "ours_median_s": ours_med, "ours_contacts": ours_steps,
                     "gaitmap_s": gm_min, "gaitmap_median_s": gm_med, "gaitmap_contacts": gm_steps,
                     "ratio": gm_min / ours_min if ours_min > 0 else float("nan")})  # fmt: skip
    return {"available": True, "python": str(python), "rows": rows}


def batch_figures(files: list[tuple[Path, str]], folder: Path, progress=None) -> dict[str, Any]:
    try:
        import gait.batch.run  # noqa: F401
    except ImportError:  # the batch mode of `gait analyze` is not part of this install
        return {"available": False, "why": "gait analyze has no batch mode here (gait.batch)"}
    env = _env()
    paths = [str(p) for p, _ in files]
    say = progress or (lambda msg: None)
    rep: dict[str, Any] = {"available": True, "files": len(paths)}
    say(f"batch: {len(paths)} files, one process per file, one after another")
    t0 = time.perf_counter()
    for p in paths:
        _run(_gait("analyze", p, "--jsonl"), env)
    rep["one_process_per_file_s"] = time.perf_counter() - t0
    say(f"batch: {len(paths)} files, one process per file, two at a time")
    t0 = time.perf_counter()
    pending = list(paths)
    running: list[subprocess.Popen] = []
    while pending or running:
        while pending and len(running) < 2:
            running.append(subprocess.Popen(_gait("analyze", pending.pop(0), "--jsonl"), cwd=REPO_ROOT, env=env,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))  # fmt: skip
        done = running.pop(0)
        if done.wait() != 0:
            raise RuntimeError(f"gait analyze failed (exit {done.returncode})")
    rep["two_processes_at_a_time_s"] = time.perf_counter() - t0
    try:
        import distributed  # noqa: F401

        rep["cluster"] = f"a local Dask cluster, {os.cpu_count() or 1} workers"
    except ImportError:
        rep["cluster"] = "no dask.distributed: one file after another in one process"
    for key, extra in (("batch_s", ()), ("batch_jobs1_s", ("--jobs", "1"))):
        say(f"batch: gait analyze FILES --out DIR {' '.join(extra)}".rstrip())
        out = folder / f"out-{key}"
        shutil.rmtree(out, ignore_errors=True)
        seconds, _ = _run(_gait("analyze", *paths, "--out", str(out), *extra), env)
        rep[key] = seconds
    return rep


def compare(files: int = 6, minutes: float = 10.0, repeat: int = 2, progress=None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="gait-bench-compare-") as tmp:
        folder = Path(tmp)
        if progress:
            progress(f"writing {files} synthetic recordings of {minutes:g} min")
        written = write_files(folder, files, minutes)
        rep = {"files": files, "minutes": minutes, "repeat": repeat, "cores": os.cpu_count() or 1}
        rep["gaitmap"] = gaitmap_figures(written, repeat, progress)
        rep["batch"] = batch_figures(written, folder, progress)
        try:
            rep["load"] = os.getloadavg()
        except OSError:  # pragma: no cover
            rep["load"] = None
    return rep


def format_compare(rep: dict[str, Any]) -> str:
    load = rep.get("load")
    where = f"{rep['cores']} cores" + (f", load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}" if load else "")
    lines = [f"side by side, on the same {rep['files']} synthetic recordings of {rep['minutes']:g} min "
             f"(200 Hz, six axes; {where})"]  # fmt: skip
    gm = rep["gaitmap"]
    if not gm.get("available"):
        lines.append(f"  gaitmap: not measured: {gm.get('why')}")
    else:
        lines.append(f"  gaitmap (foot files; fresh processes, best of {rep['repeat']}; gaitmap time / ours):")
        for r in gm["rows"]:
            lines.append(f"    {r['file']:<22} gait analyze {r['ours_s']:6.2f} s ({r['ours_contacts']} contacts)   "
                         f"gaitmap {r['gaitmap_s']:6.2f} s ({r['gaitmap_contacts']} contacts)   "
                         f"ratio {r['ratio']:.1f}x")  # fmt: skip
        if gm["rows"]:
            ratios = [r["ratio"] for r in gm["rows"]]
            lines.append(f"    this project is {min(ratios):.1f}-{max(ratios):.1f}x faster than gaitmap on these files")
    b = rep["batch"]
    if not b.get("available"):
        lines.append(f"  batch: not measured: {b.get('why')}")
    else:
        n = b["files"]
        one = b["one_process_per_file_s"]

        def row(label: str, seconds: float) -> str:
            return f"    {label:<62} {seconds:6.1f} s  {n / seconds:5.2f} files/s  {one / seconds:4.1f}x"

        lines.append(f"  batch ({n} files, wall time of the whole set; x = against one process per file):")
        lines.append(row("one process per file, one after another", one))
        lines.append(row("one process per file, two at a time", b["two_processes_at_a_time_s"]))
        lines.append(row(f"gait analyze FILES --out DIR ({b['cluster']})", b["batch_s"]))
        lines.append(row("gait analyze FILES --out DIR --jobs 1", b["batch_jobs1_s"]))
    return "\n".join(lines)
