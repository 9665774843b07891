"""Public data sets: fetched from their original places (real HTTP, here a local server), or copied
from a mirror; checked by SHA-256; one clear line when they cannot be had."""

from __future__ import annotations

import hashlib
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from gait import public_data as pd
from gait.cli import main
from tests.conftest import REPO, SHARED_DATA, free_port

SHARED = SHARED_DATA




def _registry(tmp_path: Path, base_url: str, files: dict[str, bytes], bad: str | None = None) -> Path:
    lines = []
    for name in sorted({p.split("/")[0] for p in files}):
        lines += [f'[{name}]', 'title = "t"', 'licence = "CC0-1.0"', 'licence_url = "https://example.org/l"',
                  'citation = "A. Author (2020)."', 'source = "s"', 'changes = "none"', ""]  # fmt: skip
        for path, body in files.items():
            if path.startswith(name + "/"):
                digest = "0" * 64 if path == bad else hashlib.sha256(body).hexdigest()
                lines += [f"[[{name}.files]]", f'path = "{path}"', f'url = "{base_url}/{path}"',
                          f'sha256 = "{digest}"', ""]  # fmt: skip
    reg = tmp_path / "datasets.toml"
    reg.write_text("\n".join(lines), encoding="utf-8")
    return reg


@pytest.fixture
def http_folder(tmp_path):
    """A real HTTP server on 127.0.0.1 serving a folder (the stand-in for the original places)."""
    root = tmp_path / "served"
    root.mkdir()
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"], cwd=root,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield root, f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def no_mirror(monkeypatch):
    monkeypatch.delenv(pd.MIRROR_ENV, raising=False)


def test_download_checks_and_caches(tmp_path, http_folder, no_mirror):
    root, url = http_folder
    body = b"time_s,acc\n0,1\n" * 1000
    (root / "set").mkdir()
    (root / "set" / "a.csv").write_bytes(body)
    sets = pd.registry(_registry(tmp_path, url, {"set/a.csv": body}))
    said: list[str] = []
    cache = tmp_path / "cache"
    got = pd.fetch(["set"], log=said.append, sets=sets, cache=cache)
    assert (got / "set" / "a.csv").read_bytes() == body
    assert said == [f"downloading set/a.csv from {url}/set/a.csv"]
    (root / "set" / "a.csv").unlink()  # a second fetch uses the cache, says nothing and needs no server file
    said.clear()
    pd.fetch(["set"], log=said.append, sets=sets, cache=cache)
    assert said == []
    (cache / "set" / "a.csv").write_bytes(b"changed")  # a damaged cache file is fetched again
    (root / "set" / "a.csv").write_bytes(body)
    pd.fetch(["set"], log=said.append, sets=sets, cache=cache)
    assert (cache / "set" / "a.csv").read_bytes() == body and len(said) == 1


def test_download_failures_are_one_line(tmp_path, http_folder, no_mirror):
    root, url = http_folder
    (root / "set").mkdir()
    (root / "set" / "b.csv").write_bytes(b"not the published bytes")
    sets = pd.registry(_registry(tmp_path, url, {"set/a.csv": b"x", "set/b.csv": b"published"}))
    with pytest.raises(pd.DataUnavailable, match=r"set/a.csv .*\(HTTP 404\).*GAIT_DATA_MIRROR") as e404:
        pd.fetch(["set"], log=None, sets=sets, cache=tmp_path / "c1")
    assert "\n" not in str(e404.value)
    sets_b = pd.DataSet(**{**sets["set"].__dict__, "files": sets["set"].files[1:]})
    with pytest.raises(pd.DataUnavailable, match=r"SHA-256 [0-9a-f]{64} is not the registered"):
        pd.fetch(["set"], log=None, sets={"set": sets_b}, cache=tmp_path / "c2")
    assert not list((tmp_path / "c2").rglob("b.csv*"))  # nothing unverified is left in the cache
    closed = f"http://127.0.0.1:{free_port()}"
    sets = pd.registry(_registry(tmp_path, closed, {"set/a.csv": b"x"}))
    with pytest.raises(pd.DataUnavailable, match=r"\(no connection\)"):
        pd.fetch(["set"], log=None, sets=sets, cache=tmp_path / "c3")
    with pytest.raises(pd.DataUnavailable, match="unknown data set nope"):
        pd.fetch(["nope"], log=None, sets=sets, cache=tmp_path / "c3")


def test_mirror_copy_and_its_failures(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    (mirror / "set").mkdir(parents=True)
    (mirror / "set" / "a.csv").write_bytes(b"published")
    monkeypatch.setenv(pd.MIRROR_ENV, str(mirror))
    unreachable = f"http://127.0.0.1:{free_port()}"  # never asked: the mirror replaces the web
    sets = pd.registry(_registry(tmp_path, unreachable, {"set/a.csv": b"published"}))
    said: list[str] = []
    got = pd.fetch(["set"], log=said.append, sets=sets, cache=tmp_path / "cache")
    assert (got / "set" / "a.csv").read_bytes() == b"published"
    assert said == [f"copying set/a.csv from the mirror {mirror} (${pd.MIRROR_ENV})"]
    (mirror / "set" / "a.csv").write_bytes(b"edited")
    with pytest.raises(pd.DataUnavailable, match="is not the registered"):
        pd.fetch(["set"], log=None, sets=sets, cache=tmp_path / "cache2")
    (mirror / "set" / "a.csv").unlink()
    with pytest.raises(pd.DataUnavailable, match=r"not in the mirror .*unset GAIT_DATA_MIRROR"):
        pd.fetch(["set"], log=None, sets=sets, cache=tmp_path / "cache3")


def test_the_registry_names_original_places_and_licences():
    sets = pd.registry()
    assert set(sets) == {"rbds", "ric", "alcantara-sacral", "adept-outdoor-run"}
    for ds in sets.values():
        assert ds.licence in {"CC-BY-4.0", "Apache-2.0", "GPL-3.0"} and ds.citation and ds.licence_url.startswith("https://")
        for f in ds.files:
            assert re.fullmatch(r"[0-9a-f]{64}", f.sha256), f.path
            assert re.fullmatch(r"https://raw\.githubusercontent\.com/[\w.-]+/[\w.-]+/[0-9a-f]{40}/.+", f.url), f.url
            assert f.path.split("/")[0] in (ds.name, "rbds"), f.path  # RIC shares the repository's licence file
    adept = next(f for f in sets["adept-outdoor-run"].files if f.path.endswith(".rda"))
    assert "martakarass/adeptdata/d614883c8b150d3307a0836f8e1b0eb1585f7be3/data/acc_running.rda" in adept.url


@pytest.mark.skipif(not SHARED.is_dir(), reason="no local mirror of the public data (../shared/data) here")
def test_the_registry_matches_the_mirror_byte_for_byte():
    for ds in pd.registry().values():
        for f in ds.files:
            assert hashlib.sha256((SHARED / f.path).read_bytes()).hexdigest() == f.sha256, f.path


def test_the_repository_carries_no_third_party_data():
    listed = subprocess.run(["git", "ls-files", "data"], cwd=REPO, capture_output=True, text=True)
    files = set(listed.stdout.split()) if listed.returncode == 0 else {
        str(p.relative_to(REPO)) for p in (REPO / "data").rglob("*") if p.is_file()}  # fmt: skip
    assert files == {"data/LICENSES.md", "data/datasets.toml"}


@pytest.mark.skipif(not (SHARED / "adept-outdoor-run" / "acc_running.csv.gz").is_file(),
                    reason="the mirror's CSV export of the adept run is not here")  # fmt: skip
def test_the_published_r_file_reads_as_its_csv_export(tmp_path):
    from firmware_interface.files.adept import read_adept

    rda = tmp_path / "acc_running.rda"
    rda.write_bytes((SHARED / "adept-outdoor-run" / "acc_running.rda").read_bytes())
    first = read_adept(rda)
    assert (tmp_path / "acc_running.rda.columns.npz").is_file()
    again = read_adept(rda)  # from the columns kept beside it
    export = read_adept(SHARED / "adept-outdoor-run" / "acc_running.csv.gz")
    assert set(first) == set(export) == {"left_hip", "left_ankle"}
    for loc in export:
        assert len(first[loc].time_s) == 150_000
        np.testing.assert_array_equal(first[loc].time_s, export[loc].time_s)
        np.testing.assert_array_equal(first[loc].acc_mps2, export[loc].acc_mps2)
        np.testing.assert_array_equal(again[loc].acc_mps2, export[loc].acc_mps2)
        assert first[loc].time_origin_unix_s == export[loc].time_origin_unix_s
    rda.write_bytes(b"RDX3\n not an R file")
    from gait.core.errors import RecordingFormatError

    with pytest.raises(RecordingFormatError):
        read_adept(rda)


def test_demo_without_internet_or_mirror_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(pd.MIRROR_ENV, raising=False)
    monkeypatch.setenv(pd.CACHE_ENV, str(tmp_path / "empty-cache"))
    closed = f"http://127.0.0.1:{free_port()}"
    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(var, closed)  # whatever this machine can reach, the download fails
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert main(["demo", "--no-dashboard", "--minutes", "1", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("downloading adept-outdoor-run/acc_running.rda from https://raw.githubusercontent.com/")
    assert len(err) == 2 and "GAIT_DATA_MIRROR=FOLDER" in err[1] and "Traceback" not in err[1]


def test_data_command(tmp_path, capsys, monkeypatch):
    if not SHARED.is_dir():
        pytest.skip("no local mirror of the public data (../shared/data) here")
    monkeypatch.setenv(pd.MIRROR_ENV, str(SHARED))
    monkeypatch.setenv(pd.CACHE_ENV, str(tmp_path / "cache"))
    assert main(["data", "fetch", "alcantara-sacral"]) == 0
    out = capsys.readouterr()
    assert out.err.count("copying alcantara-sacral/") == 5
    assert main(["data", "list", "alcantara-sacral"]) == 0
    text = capsys.readouterr().out
    assert "5 files, 3.9 MB cached" in text and "Apache-2.0" in text and "PeerJ 10:e12752" in text
    assert main(["data", "fetch", "nope"]) == 2
    assert "unknown data set nope" in capsys.readouterr().err
