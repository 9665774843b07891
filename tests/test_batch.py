"""Batch analysis (issue 13): `gait analyze` over many recordings on dask.distributed.

The cluster here is real: a `dask scheduler` and two `dask worker` processes on 127.0.0.1 (the
entry points dask.distributed installs), reached with ``--scheduler``. Every partition of the
Parquet dataset must equal `gait analyze PATH --jsonl` of its file, record for record; a broken
file is a failed row and the others go on; a second run skips what is done; without Dask the
same batch runs in one process and gives the same. Without dask.distributed these tests skip
(with the install command), under CI=true they fail.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gait.batch.command import expand_inputs
from gait.batch.run import FAILED, OK, FileProgress, FileResult, read_steps
from gait.cli import main
from gait.core.step_fields import CONTRACT_KEYS
from tests.conftest import IN_CI, free_port

REPO = Path(__file__).resolve().parents[1]
INSTALL = "pip install -e '.[cluster]'"
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}

# imported first by a Python started with this folder on PYTHONPATH: dask cannot be imported there
NO_DASK = """
import sys


class _NoDask:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("dask", "distributed"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _NoDask())
"""


def need_dask() -> None:
    try:
        import distributed  # noqa: F401
    except ImportError:
        msg = f"dask.distributed is not installed; install it with: {INSTALL}"
        if IN_CI:
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)


def gait(*argv: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gait.cli", *argv], capture_output=True, text=True, cwd=str(REPO),
                          env=env or ENV, timeout=600)  # fmt: skip


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def dask_scheduler(tmp_path_factory):
    """tcp://127.0.0.1:PORT of a running `dask scheduler` with two `dask worker` processes."""
    need_dask()
    dask = Path(sys.executable).with_name("dask")
    if not dask.exists():
        pytest.fail(f"{dask}: the dask command is missing though distributed imports", pytrace=False)
    logs = tmp_path_factory.mktemp("dask-logs")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs: list[subprocess.Popen] = []

    def start(name: str, *argv: str) -> None:
        with open(logs / f"{name}.log", "w") as log:
            procs.append(subprocess.Popen([str(dask), *argv], stdout=log, stderr=subprocess.STDOUT, cwd=str(REPO),
                                          env=ENV))  # fmt: skip

    try:
        start("scheduler", "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard",
              "--dashboard-address", "127.0.0.1:0")  # its HTTP endpoint on a free port too  # fmt: skip
        for i in range(2):
            start(f"worker{i}", "worker", address, "--host", "127.0.0.1", "--nthreads", "1", "--nworkers", "1",
                  "--no-dashboard", "--name", f"worker-{i}")  # fmt: skip
        from distributed import Client

        deadline = time.monotonic() + 120
        while True:
            try:
                with Client(address, timeout="10s") as client:
                    client.wait_for_workers(2, timeout=max(1.0, deadline - time.monotonic()))
                break
            except (OSError, TimeoutError):
                if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                    text = "\n".join(f.read_text()[-2000:] for f in sorted(logs.glob("*.log")))
                    pytest.fail(f"the dask cluster did not start:\n{text}", pytrace=False)
                time.sleep(0.5)
        yield address
    finally:
        for proc in reversed(procs):  # workers first, then the scheduler
            _stop(proc)


def per_file(path: str | Path, *options: str) -> list[dict]:
    """`gait analyze PATH --jsonl` (the single-file command), its records."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
        assert main(["analyze", str(path), *options, "--jsonl"]) == 0
    return [json.loads(line) for line in buf.getvalue().splitlines()]


def same_value(a, b) -> bool:
    """Exactly equal; None only equals None (a missing value), NaN only NaN (never in the contract)."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def same_records(got: list[dict], want: list[dict]) -> bool:
    return len(got) == len(want) and all(
        set(g) == set(w) and all(same_value(g[k], w[k]) for k in w) for g, w in zip(got, want)
    )


def partitions(out: Path) -> dict[str, list[dict]]:
    """The steps dataset per recording id, rows in file order."""
    by: dict[str, list[dict]] = {}
    for row in read_steps(out).to_pylist():
        by.setdefault(row["recording"], []).append(row)
    return by


def summary(out: Path) -> dict[str, dict]:
    import pyarrow.parquet as pq

    return {r["path"]: r for r in pq.read_table(out / "summary.parquet").to_pylist()}


def contract(rows: list[dict]) -> list[dict]:
    return [{k: r[k] for k in CONTRACT_KEYS} for r in rows]


def placement_options(trial) -> list[str]:
    return ["--placement", trial.placement] + (["--side", trial.side] if trial.side else [])


def test_a_batch_on_a_dask_cluster_equals_gait_analyze_file_by_file(dask_scheduler, validation_trials, tmp_path):
    broken = tmp_path / "broken.csv"
    broken.write_text("# placement: sacrum\ntime_s,acc_x_mps2,acc_y_mps2,acc_z_mps2\n0.00,0,0,9.8\n0.01,x,0,9.8\n")
    paths = [str(t.csv) for t in validation_trials]
    out = tmp_path / "out"
    argv = ("analyze", *paths, str(broken), "--out", str(out), "--scheduler", dask_scheduler)

    res = gait(*argv)
    assert res.returncode == 1, res.stderr  # one file failed: said, the others analysed
    assert f"scheduler {dask_scheduler}" in res.stdout
    assert re.search(rf"{re.escape(str(broken))}: failed, skipped: .*broken\.csv:4 \(column 'acc_x_mps2'\)", res.stderr)
    rows = summary(out)
    assert rows[str(broken)]["status"] == "failed" and "broken.csv:4" in rows[str(broken)]["error"]
    assert rows[str(broken)]["recording"] not in partitions(out)  # no partition for it
    steps = partitions(out)
    assert len(validation_trials) >= 40
    total = 0
    for t in validation_trials:
        row = rows[str(t.csv)]
        assert row["status"] == "ok" and row["error"] is None, row
        got = steps.get(row["recording"], [])
        want = per_file(t.csv, *placement_options(t))
        assert same_records(contract(got), want), t.name
        assert {r["placement"] for r in got} <= {t.placement} and {r["device"] for r in got} <= {None}
        assert {r["config_hash"] for r in got} <= {row["config_hash"]} and row["steps"] == len(want)
        total += len(want)
    assert total > 3000

    # the same command again: everything done is skipped, nothing rewritten
    files = sorted((out / "steps").rglob("*.parquet"))
    stamps = [f.stat().st_mtime_ns for f in files]
    again = gait(*argv)
    assert again.returncode == 1, again.stderr
    assert {r["status"] for p, r in summary(out).items() if p != str(broken)} == {"skipped"}
    assert f"0 analysed (0 steps), {len(paths)} skipped" in again.stdout and "1 failed" in again.stdout
    assert [f.stat().st_mtime_ns for f in files] == stamps
    assert partitions(out) == steps

    # --redo: every recording analysed again (e.g. after a numerical library's upgrade)
    redo = gait(*argv, "--redo")
    assert redo.returncode == 1, redo.stderr
    assert {r["status"] for p, r in summary(out).items() if p != str(broken)} == {"ok"}
    assert f"{len(paths)} analysed" in redo.stdout and all(f.stat().st_mtime_ns > s for f, s in zip(files, stamps))
    assert partitions(out) == steps


def test_gait_validate_through_the_cluster_gives_the_table_of_one_process(dask_scheduler, validation_trials):
    from gait.validation.run import run_validation

    cache = Path(validation_trials[0].csv).parents[1]
    assert (cache / "index.json").exists()
    tables = []
    for how in ({"jobs": 1}, {"scheduler": dask_scheduler}):
        buf = io.StringIO()
        with contextlib.redirect_stderr(io.StringIO()):
            assert run_validation(cache, include_gaitmap=False, out=buf, **how) in (0, 1)
        text = buf.getvalue()
        assert ("one process" if "jobs" in how else f"scheduler {dask_scheduler}") in text
        lines = [re.sub(r"\d+\.\d s\b", "_ s", x) for x in text.splitlines() if "our pipeline ran in" not in x]
        tables.append(lines)
    assert tables[0] == tables[1]
    assert any("ours, calibrated" in x for x in tables[0]) and any("ours, no gyro" in x for x in tables[0])


@pytest.fixture
def capture(validation_trials, tmp_path) -> Path:
    """A capture file of a sacrum recording, written by `gait live --source csv --record`."""
    trial = next(t for t in validation_trials if t.placement == "sacrum" and t.rate_hz == 100)
    cap = tmp_path / "sacrum.gcap"
    res = gait("live", "--source", "csv", "--csv", str(trial.csv), "--speed", "max", "--record", str(cap), "--no-store",
               "--coach", "off", "--cues", "silent", "--no-keys")  # fmt: skip
    assert res.returncode == 0, res.stderr
    return cap


def test_without_dask_the_batch_runs_in_one_process_with_the_same_records(validation_trials, capture, tmp_path):
    blocker = tmp_path / "no-dask"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(NO_DASK)
    env = {**ENV, "PYTHONPATH": os.pathsep.join([str(blocker), ENV["PYTHONPATH"]])}
    probe = subprocess.run([sys.executable, "-c", "import distributed"], env=env, capture_output=True, text=True)
    assert probe.returncode != 0 and "No module named 'distributed'" in probe.stderr
    trials = [next(t for t in validation_trials if t.placement == p) for p in ("sacrum", "foot", "waist")]
    out = tmp_path / "out"
    inputs = [str(t.csv) for t in trials] + [str(capture)]

    res = gait("analyze", *inputs, "--out", str(out), env=env)
    assert res.returncode == 0, res.stderr
    assert "dask is not installed" in res.stderr and INSTALL in res.stderr
    assert "one process" in res.stdout
    rows, steps = summary(out), partitions(out)
    for t in trials:
        assert same_records(contract(steps[rows[str(t.csv)]["recording"]]), per_file(t.csv, *placement_options(t)))
    # a capture file: the decoders and engine of `gait replay`, equal to `gait analyze CAPTURE --jsonl`
    cap_rows = steps[rows[str(capture)]["recording"]]
    assert rows[str(capture)]["kind"] == "capture" and len(cap_rows) > 50
    assert same_records(contract(cap_rows), per_file(capture))
    assert {r["placement"] for r in cap_rows} == {"sacrum"} and None not in {r["device"] for r in cap_rows}

    # another config: its recordings are analysed again, under another hash; the rest stays skipped
    again = gait("analyze", *inputs, "--out", str(out), "--speed-mps", "3.0", "--jobs", "1", env=env)
    assert again.returncode == 0, again.stderr
    assert "dask is not installed" not in again.stderr  # --jobs 1 asks for one process
    rows2 = summary(out)
    assert {r["status"] for r in rows2.values()} == {"ok"}
    assert all(rows2[p]["config_hash"] != rows[p]["config_hash"] for p in inputs)
    vr = [r["vertical_ratio_pct"] for r in partitions(out)[rows2[str(trials[0].csv)]["recording"]]]
    assert any(v is not None for v in vr)  # the speed gives vertical ratio

    # --scheduler without dask: one line with the install command, exit 2
    res = gait("analyze", *inputs, "--out", str(out), "--scheduler", "tcp://127.0.0.1:1", env=env)
    assert res.returncode == 2 and INSTALL in res.stderr and "Traceback" not in res.stderr


def test_inputs_are_files_folders_and_globs_each_once(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / ".hidden").mkdir()
    for name in ("a/r1.csv", "a/r2.csv.gz", "a/c.gcap", "a/notes.txt", "a/.hidden/x.csv", "b.csv"):
        (tmp_path / name).write_text("")
    got = expand_inputs([str(tmp_path / "a"), str(tmp_path / "*.csv"), str(tmp_path / "a" / "r1.csv"),
                         str(tmp_path / "none*.csv")])  # fmt: skip
    assert [Path(p).name for p in got] == ["c.gcap", "r1.csv", "r2.csv.gz", "b.csv", "none*.csv"]


def test_one_file_keeps_the_contract_and_many_need_out_for_steps(validation_trials, tmp_path, capsys):
    trial = next(t for t in validation_trials if t.placement == "sacrum")
    bare = tmp_path / "bare.csv"
    bare.write_text("\n".join(x for x in Path(trial.csv).read_text().splitlines() if not x.startswith("# placement")))
    assert main(["analyze", str(bare), "--jsonl"]) == 2  # no placement given nor in the file
    assert "no placement: give --placement" in capsys.readouterr().err
    # the file's '# placement:' is used when none is given
    assert per_file(trial.csv) == per_file(trial.csv, "--placement", trial.placement)
    assert main(["analyze", str(trial.csv), str(bare), "--jsonl"]) == 2
    assert "many recordings; --jsonl takes one recording" in capsys.readouterr().err


def test_the_progress_bar_redraws_on_a_terminal_and_writes_lines_elsewhere():
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    results = [
        FileResult(i, f"r{i}", f"r{i}.csv", FAILED if i == 3 else OK, "r3.csv:4: not a number") for i in range(20)
    ]
    for stream, expect in ((Tty(), "\r["), (io.StringIO(), "gait: 2/20 recordings")):
        bar = FileProgress(len(results), stream)
        for r in results:
            bar.update(r)
        bar.close()
        text = stream.getvalue()
        assert expect in text and "20/20 recordings, 1 failed" in text
        assert "gait: warning: r3.csv: failed, skipped: r3.csv:4: not a number\n" in text
    assert text.count("\n") == 11  # a line per tenth and the failure


def test_the_config_hash_changes_with_the_analysis_code_and_only_with_it(tmp_path):
    """A copy of the package: editing a detector changes `analysis_code_digest` (and so every
    config hash: the batch analyses again); editing the command line does not."""
    import shutil

    repo = Path(__file__).resolve().parents[1]
    for pkg in ("gait", "firmware_interface"):
        shutil.copytree(repo / pkg, tmp_path / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    code = ("from gait.batch.analysis import analysis_code_digest, config_hash; "
            "print(analysis_code_digest(), config_hash({'kind': 'csv'}))")  # fmt: skip

    def digests() -> list[str]:
        env = {**ENV, "PYTHONPATH": str(tmp_path)}
        res = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
        )
        assert res.returncode == 0, res.stderr
        return res.stdout.split()

    first = digests()
    assert len(first) == 2 and all(re.fullmatch(r"[0-9a-f]{16}", d) for d in first)
    assert digests() == first  # stable
    with open(tmp_path / "gait" / "cli.py", "a") as fh:
        fh.write("\n# an edit outside the analysis\n")
    assert digests() == first
    with open(tmp_path / "gait" / "detect" / "trunk.py", "a") as fh:
        fh.write("\n# an edit to a detector\n")
    changed = digests()
    assert changed[0] != first[0] and changed[1] != first[1]
