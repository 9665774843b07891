"""pytest fixtures: a real VictoriaMetrics server on loopback, started and stopped by the tests.

Register from tests/conftest.py with ``pytest_plugins = ["vm_server"]`` (or import the fixtures
into a test module). Debian's ``victoria-metrics`` binary is started on a free 127.0.0.1 port with
a temporary storage folder; the fixture waits for ``/health`` and stops the server afterwards.
Missing binary: skip with the install command outside CI, fail under ``CI=true``.

The server speaks InfluxDB line protocol at ``/write`` and ``/api/v2/write`` (it ignores bucket,
org and, unless ``-httpAuth.*`` is set, the token) and is read back through ``/api/v1/export``.
It runs with ``-dedup.minScrapeInterval=1ms`` (one sample per series and millisecond: what makes
re-sending a point idempotent, as InfluxDB is by itself) and a 100-year retention (the default of
one month silently drops older points, e.g. when syncing old runs).
"""

from __future__ import annotations

import base64
import contextlib
import json
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port, need_program

VM_PROGRAM = "victoria-metrics"
VM_INSTALL = "apt-get install -y victoria-metrics"
BASE_ARGS = (
    "-dedup.minScrapeInterval=1ms",
    "-retentionPeriod=100y",
    "-loggerLevel=ERROR",
    "-search.disableCache",
    "-search.latencyOffset=0s",
)




class VMServer:
    """One victoria-metrics process; `kill` + `start` keeps the storage folder and the port."""

    def __init__(
        self,
        binary: str,
        data_dir: Path,
        port: int | None = None,
        extra_args: tuple[str, ...] = (),
        basic_auth: tuple[str, str] | None = None,
    ):
        self.binary = binary
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.extra_args = tuple(extra_args)
        self.basic_auth = basic_auth
        if basic_auth:
            self.extra_args += (f"-httpAuth.username={basic_auth[0]}", f"-httpAuth.password={basic_auth[1]}")
        self.proc: subprocess.Popen | None = None
        self._started = False  # once started, the port is kept (a restart must come back on it)
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- lifecycle -------------------------------------------------------------------------------
    def start(self, timeout_s: float = 15.0) -> VMServer:
        for attempt in range(3):
            args = [
                self.binary,
                f"-storageDataPath={self.data_dir}",
                f"-httpListenAddr=127.0.0.1:{self.port}",
                *BASE_ARGS,
                *self.extra_args,
            ]
            log = open(self.log_path, "ab")  # noqa: SIM115 - kept open for the process's life
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            log.close()
            if self._wait_ready(timeout_s):
                self._started = True
                return self
            self.stop()
            tail = self.log_tail()
            if "address already in use" in tail and attempt < 2 and not self._started:
                self.port = free_port()  # somebody took the port between our probe and the bind
                continue
            raise RuntimeError(f"victoria-metrics did not become ready on {self.url}:\n{tail}")
        raise RuntimeError("unreachable")  # pragma: no cover

    def _wait_ready(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(self._request("/health"), timeout=1.0) as r:
                    if r.status == 200:
                        return True
            except urllib.error.HTTPError as exc:
                if exc.code == 401:  # up, and asking for credentials
                    return True
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.02)
        return False

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush (what a power cut or an OOM kill does)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def log_tail(self, n: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        return ""

    # --- reading back ----------------------------------------------------------------------------
    def _request(self, path: str, params: dict | None = None) -> urllib.request.Request:
        url = self.url + path + ("?" + urllib.parse.urlencode(params, doseq=True) if params else "")
        req = urllib.request.Request(url)
        if self.basic_auth:
            token = base64.b64encode(":".join(self.basic_auth).encode()).decode()
            req.add_header("Authorization", f"Basic {token}")
        return req

    def _get(self, path: str, params: dict | None = None, timeout: float = 10.0) -> bytes:
        with urllib.request.urlopen(self._request(path, params), timeout=timeout) as r:
            return r.read()

    def metric(self, name: str) -> float:
        """Sum of one of the server's own counters (``/metrics``), e.g. ``vm_rows_inserted_total``."""
        total = 0.0
        for line in self._get("/metrics").decode().splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def force_flush(self) -> None:
        """Make recently written rows searchable now (otherwise it takes a few seconds)."""
        self._get("/internal/force_flush")

    def export(self, match: str = '{__name__=~"gait_.+"}') -> list[dict]:
        """Every stored sample of the matching series: ``[{"metric": {...}, "values": [...], "timestamps": [...]}]``."""
        body = self._get("/api/v1/export", {"match[]": match}).decode()
        return [json.loads(line) for line in body.splitlines() if line.strip()]

    def samples(self, match: str = '{__name__=~"gait_.+"}') -> dict[tuple, list[tuple[int, float]]]:
        """``{(name, sorted labels...): [(timestamp_ms, value), ...]}``, duplicates kept."""
        out: dict[tuple, list[tuple[int, float]]] = {}
        for series in self.export(match):
            labels = dict(series["metric"])
            name = labels.pop("__name__")
            key = (name, *sorted(labels.items()))
            out.setdefault(key, []).extend(zip(series["timestamps"], series["values"]))
        return out

    def wait_samples(self, expected: int, match: str = '{__name__=~"gait_.+"}', timeout_s: float = 15.0) -> dict:
        """Poll until at least ``expected`` samples match (then one more look, to catch extra ones)."""
        deadline = time.monotonic() + timeout_s
        got: dict = {}
        while time.monotonic() < deadline:
            self.force_flush()
            got = self.samples(match)
            if sum(len(v) for v in got.values()) >= expected:
                time.sleep(0.3)
                self.force_flush()
                return self.samples(match)
            time.sleep(0.2)
        return got


@pytest.fixture(scope="session")
def vm_binary() -> str:
    return need_program(VM_PROGRAM, VM_INSTALL)


@pytest.fixture
def vm_factory(vm_binary: str, tmp_path: Path) -> Iterator:
    """``make(extra_args=(), name="vm", basic_auth=None) -> VMServer`` (started); all are stopped at the end."""
    servers: list[VMServer] = []

    def make(extra_args: tuple[str, ...] = (), name: str = "vm", basic_auth: tuple[str, str] | None = None) -> VMServer:
        server = VMServer(vm_binary, tmp_path / f"{name}-{len(servers)}", extra_args=extra_args, basic_auth=basic_auth)
        servers.append(server)
        return server.start()

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def vm_server(vm_factory) -> VMServer:
    """A started VictoriaMetrics on 127.0.0.1 with an empty storage folder."""
    return vm_factory()
