"""The guides in docs/real-run.md run as written, so they cannot rot (issue 11).

Every ``sh`` block of the guides starts with ``# tested here`` or ``# not tested here: why``.
Each command of a tested block runs with bash in a fresh home and working folder, with the
project's ``gait`` on the PATH, and must exit 0. What a machine without a radio or a phone needs
changed is changed here, and the guides say so in their introduction:

- ``--source ble`` runs as ``--source emulated --speed 20`` (the emulated sensors advertise
  under the names the guides use), ``gait scan`` as ``gait scan --emulated``;
- ``gait live`` / ``gait record`` run for at most `MAX_RUN_S` seconds;
- ``http://127.0.0.1:8080`` is a `RecordingPhyphox` (tests/phyphox_phone.py): phyphox's remote
  access playing a real phone recording, started a moment after gait, not measuring until
  gait starts it;
- ``termux-tts-speak`` is a stand-in program that writes its arguments down;
- in the Android guide bleak, pyarrow, matplotlib, InfluxDB, the FIT SDK and Bumble cannot be
  imported (what ``pip install --no-deps`` leaves out on Termux);
- ``gait dashboard`` is served on a free port, fetched once and stopped with Ctrl-C.

The real phone recordings are other people's files, read from the shared data folder
(``tests.conftest.SHARED_DATA``, ``real-formats/phones``); the phone guides are skipped without
them.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import REPO, SHARED_DATA, free_port
from tests.phyphox_phone import RecordingPhyphox, serve

DOC = REPO / "docs" / "real-run.md"
BIN = Path(sys.executable).parent
MAX_RUN_S = 4.0
PHONE_URL = "http://127.0.0.1:8080"
TESTED, NOT_TESTED = "# tested here", "# not tested here:"
# what `pip install --no-deps .` leaves out on Termux (starlette and uvicorn install there: pure Python)
NOT_ON_TERMUX = ("bleak", "bleak_retry_connector", "dbus_fast", "pyarrow", "matplotlib", "influxdb_client",
                 "garmin_fit_sdk", "bumble")  # fmt: skip


PHONES = SHARED_DATA / "real-formats" / "phones"
JOGGING = PHONES / "phyphox" / "brantlii_jogging_hand_brant" / "jogging_hand_brant.csv"  # MIT, 60 s at 100 Hz
RUNNING_SL = PHONES / "sensorlogger" / "lscblack_running2"  # iOS Sensor Logger, 7 s of running


# --- the guides, read from the document ------------------------------------------------------------


@dataclass
class Block:
    marker: str
    commands: list[str]
    line: int


@dataclass
class Guide:
    title: str
    blocks: list[Block] = field(default_factory=list)

    @property
    def tested(self) -> list[str]:
        return [c for b in self.blocks if b.marker == TESTED for c in b.commands]


def _commands(lines: list[str]) -> list[str]:
    """Shell commands of a block: comment and blank lines left out; a here-document is one
    command with its body."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        here = re.search(r"<<\s*'?(\w+)'?\s*$", line)
        if here:
            body = [line]
            while i < len(lines):
                body.append(lines[i])
                i += 1
                if lines[i - 1].strip() == here.group(1):
                    break
            out.append("\n".join(body) + "\n")
        else:
            out.append(line)
    return out


def read_guides(path: Path = DOC) -> list[Guide]:
    guides: list[Guide] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("## "):
            guides.append(Guide(line[3:].strip()))
        elif line.strip() == "```sh":
            start = i + 1
            j = start
            while lines[j].strip() != "```":
                j += 1
            body = lines[start:j]
            first = body[0].strip() if body else ""
            marker = TESTED if first == TESTED else NOT_TESTED if first.startswith(NOT_TESTED) else first
            guides[-1].blocks.append(Block(marker, _commands(body[1:]), start + 1))
            i = j
        i += 1
    return guides


GUIDES = {g.title[0]: g for g in read_guides() if g.title[:2] in ("a.", "b.", "c.", "d.")}


def test_every_block_says_whether_it_is_tested_here():
    assert sorted(GUIDES) == ["a", "b", "c", "d"]
    for guide in GUIDES.values():
        assert guide.tested, f"{guide.title}: nothing tested here"
        for block in guide.blocks:
            assert block.marker in (TESTED, NOT_TESTED), (
                f"docs/real-run.md line {block.line}: a command block must start with '{TESTED}' or "
                f"'{NOT_TESTED} <why>', not {block.marker!r}"
            )
            assert block.commands, f"docs/real-run.md line {block.line}: an empty block"


# --- running them here -------------------------------------------------------------------------------




def as_run_here(cmd: str, phone_url: str | None = None) -> str:
    """The command as this machine runs it (see the module docstring); a here-document (a file
    the guide writes) as it is."""
    if "\n" in cmd:
        return cmd
    if re.search(r"(^|\s)--source ble(\s|$)", cmd):
        cmd = re.sub(r"--source ble(?=\s|$)", "--source emulated", cmd)
        if not re.search(r"--speed(\s|=)", cmd):
            cmd += " --speed 20"
    if re.search(r"(^|\s)gait scan(\s|$)", cmd) and "--emulated" not in cmd:
        cmd = cmd.replace("gait scan", "gait scan --emulated", 1)
    if re.search(r"(^|[\s/])gait (live|record)\s", cmd):
        m = re.search(r"--duration[ =](\S+)", cmd)
        if m is None:
            cmd += f" --duration {MAX_RUN_S:g}"
        elif float(m.group(1)) > MAX_RUN_S:
            cmd = cmd[: m.start()] + f"--duration {MAX_RUN_S:g}" + cmd[m.end() :]
    if phone_url is not None:
        cmd = cmd.replace(PHONE_URL, phone_url)
    return cmd


def test_as_run_here():
    assert as_run_here('gait live --source ble --device "id=X,kind=h10" --speed-mps 2.78') == (
        'gait live --source emulated --device "id=X,kind=h10" --speed-mps 2.78 --speed 20 --duration 4'
    )
    assert as_run_here("gait scan") == "gait scan --emulated"
    assert as_run_here("gait live --source phone --phyphox http://127.0.0.1:8080 --duration 2400", "http://h:1") == (
        "gait live --source phone --phyphox http://h:1 --duration 4"
    )
    assert as_run_here("gait runs") == "gait runs"


class Here:
    """A fresh home and working folder, the environment the commands run in, and the runner."""

    def __init__(self, root: Path, *, termux: bool = False):
        self.home = root / "home"
        self.work = root / "work"
        self.home.mkdir(parents=True)
        self.work.mkdir(parents=True)
        runtime = root / "run"
        runtime.mkdir(mode=0o700)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GAIT_", "XDG_", "PYTHON"))}
        env.update(HOME=str(self.home), XDG_RUNTIME_DIR=str(runtime), PYTHONUNBUFFERED="1")
        path = [str(BIN), env.get("PATH", "")]
        self.spoken: Path | None = None
        if termux:
            stand_ins = root / "termux-bin"
            stand_ins.mkdir()
            self.spoken = root / "spoken.jsonl"
            tts = stand_ins / "termux-tts-speak"
            tts.write_text(
                f"#!{sys.executable}\nimport json, sys\n"
                f"with open({str(self.spoken)!r}, 'a') as f:\n    f.write(json.dumps(sys.argv[1:]) + '\\n')\n"
            )
            tts.chmod(0o755)
            path.insert(0, str(stand_ins))
            blocker = root / "no-ble-stack"
            blocker.mkdir()
            (blocker / "sitecustomize.py").write_text(
                "import importlib.abc, sys\n"
                f"BLOCKED = {NOT_ON_TERMUX!r}\n"
                "class _NotInstalled(importlib.abc.MetaPathFinder):\n"
                "    def find_spec(self, name, path, target=None):\n"
                "        if name.split('.')[0] in BLOCKED:\n"
                "            raise ImportError(f'No module named {name!r} (not installed on Termux)')\n"
                "sys.meta_path.insert(0, _NotInstalled())\n"
            )
            env["PYTHONPATH"] = str(blocker)
        env["PATH"] = os.pathsep.join(path)
        self.env = env
        self.phones: list[RecordingPhyphox] = []

    def run(self, cmd: str, *, timeout: float = 60.0) -> subprocess.CompletedProcess:
        if re.search(r"(^|\s)gait dashboard(\s|$)", cmd):
            return self._dashboard(cmd)
        if PHONE_URL in cmd:
            return self._with_phone(cmd, timeout)
        done = subprocess.run(["bash", "-c", as_run_here(cmd)], cwd=self.work, env=self.env, capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)  # fmt: skip
        assert done.returncode == 0, _failed(cmd, done)
        return done

    def _with_phone(self, cmd: str, timeout: float) -> subprocess.CompletedProcess:
        """gait first, then the phone: phyphox's remote access comes up once gait says it is
        waiting, not measuring (gait starts it), playing the jogging recording 20x real time."""
        port = free_port()
        phone = RecordingPhyphox.from_export(JOGGING, speed=20.0, loops=2, measuring=False)
        self.phones.append(phone)
        proc = subprocess.Popen(["bash", "-c", as_run_here(cmd, f"http://127.0.0.1:{port}")], cwd=self.work,
                                env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                stdin=subprocess.DEVNULL)  # fmt: skip
        out: list[str] = []
        waiting = threading.Event()

        def read() -> None:
            for line in proc.stdout:
                out.append(line)
                if "waiting for phyphox" in line:
                    waiting.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            waiting.wait(timeout=30)
            with serve(phone, port=port):
                proc.wait(timeout=timeout)
        finally:
            if proc.poll() is None:
                proc.kill()
        reader.join(timeout=5)
        done = subprocess.CompletedProcess(cmd, proc.returncode, "".join(out), proc.stderr.read())
        assert done.returncode == 0, _failed(cmd, done)
        return done

    def _dashboard(self, cmd: str) -> subprocess.CompletedProcess:
        port = free_port()
        proc = subprocess.Popen(["bash", "-c", f"exec {as_run_here(cmd)} --port {port}"], cwd=self.work,
                                env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                stdin=subprocess.DEVNULL)  # fmt: skip
        try:
            line = proc.stdout.readline()
            assert f":{port}" in line, _failed(cmd, subprocess.CompletedProcess(cmd, proc.poll(), line, ""))
            url = line.split()[2]
            deadline = time.monotonic() + 20
            browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())  # ?token= sets a cookie
            while True:
                try:
                    with browser.open(url, timeout=5) as resp:
                        assert resp.status == 200
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            proc.send_signal(signal.SIGINT)
            rest, err = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
        return subprocess.CompletedProcess(cmd, proc.returncode, line + rest, err)


def _failed(cmd: str, done: subprocess.CompletedProcess) -> str:
    return f"docs/real-run.md: `{cmd}` exited {done.returncode}\n--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"


def _steps(out: str) -> int:
    m = re.search(r"# end \([^)]*\): \d+ packets, (\d+) steps", out)
    assert m, out[-2000:]
    return int(m.group(1))


def _need_emulation() -> None:
    pytest.importorskip("bumble", reason="the emulated radio needs the emulation extra (bumble)")


def _need_phone_recordings() -> None:
    if not JOGGING.is_file() or not RUNNING_SL.is_dir():
        pytest.skip(f"the real phone recordings are not here ({PHONES})")


# --- the four guides, run side by side (each in its own folders), then one test each -----------------


def guide_a(root: Path) -> None:
    _need_emulation()
    here = Here(root)
    results = {cmd: here.run(cmd) for cmd in GUIDES["a"].tested}
    scan = next(r for c, r in results.items() if c.startswith("gait scan"))
    assert "Polar H10 0A1B2C3D" in scan.stdout and "RunPod 4C5D" in scan.stdout
    live = next(r for c, r in results.items() if c.startswith("gait live"))
    assert _steps(live.stdout) > 50 and "stored" in live.stderr
    assert (here.work / "treadmill.gcap").is_file() and (here.work / "reports" / "run-1.html").is_file()
    replay = next(r for c, r in results.items() if c.startswith("gait replay"))
    assert _steps(replay.stdout) == _steps(live.stdout)


def guide_b(root: Path) -> None:
    _need_phone_recordings()
    here = Here(root)
    # the apps' zip exports, made of real recordings: phyphox names its one export set "Raw Data.csv"
    with zipfile.ZipFile(here.work / "phyphox-export.zip", "w") as z:
        z.write(JOGGING, "Raw Data.csv")
    with zipfile.ZipFile(here.work / "sensor-logger-export.zip", "w") as z:
        for f in sorted(RUNNING_SL.iterdir()):
            z.write(f, f.name)
    results = {cmd: here.run(cmd) for cmd in GUIDES["b"].tested}
    analyzed = [r for c, r in results.items() if c.startswith("gait analyze")]
    assert "Cadence:" in analyzed[0].stdout and "no running found" not in analyzed[0].stdout
    assert [json.loads(x)["cadence_spm"] for x in analyzed[1].stdout.splitlines()]  # steps of 7 s of running
    live = next(r for c, r in results.items() if c.startswith("gait live"))
    assert _steps(live.stdout) > 100
    assert (here.work / "reports" / "run-1.html").is_file()


def guide_c(root: Path) -> None:
    _need_phone_recordings()
    here = Here(root, termux=True)
    results = {cmd: here.run(cmd) for cmd in GUIDES["c"].tested}
    lives = [r for c, r in results.items() if "--source phone" in c]
    assert len(lives) == 2
    for live, phone in zip(lives, here.phones, strict=True):
        assert "waiting for phyphox at http://127.0.0.1:" in live.stdout, live.stdout[:2000]
        assert ": connected" in live.stdout
        assert _steps(live.stdout) > 50
        assert any(r.startswith("/control?cmd=start") for r in phone.requests)  # gait started the measurement
    assert "stored" in lives[0].stderr
    # the walk-run session's first call, through the phone's voice
    assert here.spoken is not None and here.spoken.is_file()
    spoken = [json.loads(x) for x in here.spoken.read_text().splitlines()]
    assert spoken[0][:4] == ["-s", "MUSIC", "-r", "1.00"]
    assert any("Walk briskly" in s[-1] for s in spoken)
    assert list((here.work / "exports").glob("run-1-steps.csv"))


def guide_d(root: Path) -> None:
    _need_emulation()
    here = Here(root)
    venv_gait = here.home / "gait-form" / ".venv" / "bin" / "gait"  # where the unit expects it
    venv_gait.parent.mkdir(parents=True)
    venv_gait.symlink_to(BIN / "gait")
    commands = GUIDES["d"].tested
    live_line = next(c for c in commands if c.startswith("gait live"))
    if shutil.which("systemd-analyze") is None:
        commands = [c for c in commands if not c.startswith("systemd-analyze")]
    # the unit runs the guide's live command line: run it once, as systemd would start it
    results = {cmd: here.run(cmd) for cmd in commands if cmd != live_line}
    verify = [r for c, r in results.items() if c.startswith("systemd-analyze")]
    assert all(not r.stderr.strip() for r in verify), [r.stderr for r in verify]
    unit = (here.home / ".config" / "systemd" / "user" / "gait-run.service").read_text()
    exec_start = next(ln.split("=", 1)[1] for ln in unit.splitlines() if ln.startswith("ExecStart="))
    argv = shlex.split(exec_start.replace("%h", str(here.home)))
    assert argv[0] == str(venv_gait) and argv[1:] == shlex.split(live_line)[1:]
    unit_run = here.run(shlex.join(argv))
    assert _steps(unit_run.stdout) > 50


GUIDE_RUNS = {"a": guide_a, "b": guide_b, "c": guide_c, "d": guide_d}


@pytest.fixture(scope="module")
def outcomes(request, tmp_path_factory) -> dict[str, BaseException | None]:
    """Each selected guide's outcome: None (passed), or what it raised (a failed assertion, a skip)."""
    selected = {item.name[len("test_")] for item in request.session.items if item.name.startswith("test_")}
    runs = {k: run for k, run in GUIDE_RUNS.items() if k in selected}

    def outcome(run, root: Path) -> BaseException | None:
        try:
            run(root)
        except BaseException as exc:  # noqa: BLE001 - handed to the guide's test, which raises it
            return exc
        return None

    with ThreadPoolExecutor(max_workers=max(1, len(runs))) as pool:
        futures = {k: pool.submit(outcome, run, tmp_path_factory.mktemp(f"guide-{k}")) for k, run in runs.items()}
    return {k: f.result() for k, f in futures.items()}


def _check(outcomes: dict[str, BaseException | None], guide: str) -> None:
    exc = outcomes[guide]
    if exc is not None:
        raise exc


def test_a_treadmill_with_ble_sensors(outcomes):
    _check(outcomes, "a")


def test_b_phone_recording_imported_afterwards(outcomes):
    _check(outcomes, "b")


def test_c_android_phone_with_phyphox_and_termux(outcomes):
    _check(outcomes, "c")


def test_d_raspberry_pi_with_headphones(outcomes):
    _check(outcomes, "d")
