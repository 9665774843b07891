"""The optional compiled build (setup.py, gait/core/compiled.py).

The per-step modules are plain Python that the install also compiles where it can. These tests
check that the compiled modules give the records of their source (bit for bit, but for the foot's
rotation products, which the compiled loops group otherwise: to the last digits), that an
extension built from other bytes than its source never runs, and that CI runs the compiled path.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import os
import re
import subprocess
import sys
import sysconfig
import warnings
from pathlib import Path

import pytest

from gait.core import compiled
from gait.core.compiled import COMPILED_MODULES, PURE_ENV, SIDECAR_SUFFIX, source_digest, status

ROOT = Path(__file__).resolve().parents[1]
EXT_SUFFIX = importlib.machinery.EXTENSION_SUFFIXES[0]

# Analyses every placement's synthetic run and prints each record's repr: run once as compiled
# (when built) and once with the source forced, in separate processes.
_RECORDS = """
from gait.bench.speed import _config
from gait.pipeline import analyze
from gait.synthetic import synthetic_recording
for placement in ("sacrum", "waist", "foot", "wrist"):
    r = analyze(synthetic_recording(placement, 4.0, seed=3), _config(placement), 200.0)
    print(placement, len(r.steps))
    for s in r.steps:
        print(repr(s))
    for g in r.gaps:
        print(repr(g))
"""


def _run(code: str, pure: bool) -> str:
    env = {k: v for k, v in os.environ.items() if k != PURE_ENV}
    if pure:
        env[PURE_ENV] = "1"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def _built() -> list[str]:
    return [m for m in COMPILED_MODULES if (ROOT / (m.replace(".", "/") + EXT_SUFFIX)).exists()]


def test_every_listed_module_is_a_source_file():
    for name in COMPILED_MODULES:
        assert (ROOT / (name.replace(".", "/") + ".py")).is_file(), name


def test_ci_runs_the_compiled_modules():
    """A green CI means the compiled path ran: every listed module imports as its extension."""
    code = "from gait.core.compiled import COMPILED_MODULES, status\nprint(sorted(set(status(COMPILED_MODULES).values())))"
    seen = _run(code, pure=False).strip()
    if seen != "['compiled']":
        why = (
            f"per-step modules not compiled ({seen}): install a C compiler and the Python headers "
            "(apt-get install gcc python3-dev), then pip install -e ."
        )
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)
    forced = _run(code, pure=True).strip()
    assert forced == "['source']"


def test_compiled_records_equal_the_source_records_bit_for_bit():
    if not _built():
        if os.environ.get("CI") == "true":
            pytest.fail("no compiled module is built")
        pytest.skip("no compiled module is built (apt-get install gcc python3-dev, then pip install -e .)")
    compiled_out = _run(_RECORDS, pure=False)
    source_out = _run(_RECORDS, pure=True)
    counts = [line for line in compiled_out.splitlines() if line.split(" ")[0] in ("sacrum", "waist", "foot", "wrist")]
    assert len(counts) == 4 and all(int(c.split()[1]) > 300 for c in counts), counts
    compiled_parts, source_parts = _by_placement(compiled_out), _by_placement(source_out)
    assert compiled_parts.keys() == source_parts.keys()
    for placement in ("sacrum", "waist", "wrist"):
        assert compiled_parts[placement] == source_parts[placement], placement
    # the foot's stride attitude and push-off pivot: the compiled loops group the rotation products
    # one sample after the other, the NumPy route as a tree (gait.dsp.rotation_chains): the same
    # records, every field but their last digits
    got, want = compiled_parts["foot"], source_parts["foot"]
    assert len(got) == len(want)
    changed = 0
    for a, b in zip(got, want):
        if a == b:
            continue
        changed += 1
        assert _NUMBER.split(a) == _NUMBER.split(b), (a, b)  # every other field identical
        for x, y in zip(_NUMBER.findall(a), _NUMBER.findall(b)):
            assert abs(float(x) - float(y)) <= 1e-9 * max(1.0, abs(float(y))), (x, y, a)
    assert changed < len(got)  # (the IC and toe-off times of most records are bit-identical)


_NUMBER = re.compile(r"-?\d+\.\d*(?:e[-+]?\d+)?")


def _by_placement(out: str) -> dict[str, list[str]]:
    parts: dict[str, list[str]] = {}
    current: list[str] = []
    for line in out.splitlines():
        head = line.split(" ")[0]
        if head in ("sacrum", "waist", "foot", "wrist"):
            current = parts.setdefault(head, [])
        current.append(line)
    return parts


# ------------------------------------------------------------------ the guard against stale builds


def _digest_of(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _fake_package(tmp_path: Path, source: str, digest: str | None) -> Path:
    """A folder with ``zz_fake.py`` and a stand-in extension ``zz_fake<EXT_SUFFIX>`` (never
    loaded when the guard picks the source) with ``digest`` as its recorded source digest."""
    (tmp_path / "zz_fake.py").write_text(source)
    ext = tmp_path / ("zz_fake" + EXT_SUFFIX)
    ext.write_bytes(b"not an extension")
    if digest is not None:
        Path(str(ext) + SIDECAR_SUFFIX).write_text(digest + "\n")
    return ext


@pytest.fixture
def fake_listed(monkeypatch):
    """``gait.zz_fake`` counted as a compiled module, every real one taken as fresh."""
    monkeypatch.delenv(PURE_ENV, raising=False)
    monkeypatch.setattr(compiled, "COMPILED_MODULES", (*COMPILED_MODULES, "gait.zz_fake"))
    monkeypatch.setattr(compiled, "_stale", [])


def test_a_fresh_extension_is_chosen(tmp_path, fake_listed):
    src = "X = 1\n"
    ext = _fake_package(tmp_path, src, _digest_of(src))
    spec = compiled._GUARD.find_spec("gait.zz_fake", [str(tmp_path)])
    assert spec.origin == str(ext)
    assert isinstance(spec.loader, importlib.machinery.ExtensionFileLoader)


@pytest.mark.parametrize("digest", ["0" * 64, None], ids=["edited source", "no digest"])
def test_a_stale_extension_gives_way_to_its_source(tmp_path, fake_listed, digest):
    _fake_package(tmp_path, "X = 2\n", digest)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spec = compiled._GUARD.find_spec("gait.zz_fake", [str(tmp_path)])
    assert spec.origin == str(tmp_path / "zz_fake.py")
    assert any("running its source" in str(w.message) for w in caught)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.X == 2


def test_one_stale_module_sends_every_compiled_module_to_its_source(tmp_path, fake_listed, monkeypatch):
    """The compiled modules call each other in C: a fresh one beside a stale one runs its source."""
    src = "X = 4\n"
    _fake_package(tmp_path, src, _digest_of(src))
    monkeypatch.setattr(compiled, "_stale", ["gait.dsp.reductions"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spec = compiled._GUARD.find_spec("gait.zz_fake", [str(tmp_path)])
    assert spec.origin == str(tmp_path / "zz_fake.py")
    assert any("gait.dsp.reductions changed since the build" in str(w.message) for w in caught)


def test_an_extension_of_a_module_not_listed_is_not_used(tmp_path, monkeypatch):
    monkeypatch.delenv(PURE_ENV, raising=False)
    src = "X = 5\n"
    _fake_package(tmp_path, src, _digest_of(src))
    spec = compiled._GUARD.find_spec("gait.zz_fake", [str(tmp_path)])
    assert spec.origin == str(tmp_path / "zz_fake.py")


def test_pure_python_is_chosen_on_request(tmp_path, fake_listed, monkeypatch):
    src = "X = 3\n"
    _fake_package(tmp_path, src, _digest_of(src))
    monkeypatch.setenv(PURE_ENV, "1")
    spec = compiled._GUARD.find_spec("gait.zz_fake", [str(tmp_path)])
    assert spec.origin == str(tmp_path / "zz_fake.py")


def test_source_digest_matches_hashlib(tmp_path):
    p = tmp_path / "a.py"
    p.write_bytes(b"print(1)\n")
    assert source_digest(p) == _digest_of("print(1)\n")


def test_status_reports_source_for_modules_without_an_extension():
    st = status(["gait.core.records"])
    assert st == {"gait.core.records": "source"}


def test_python_headers_are_there_under_ci():
    """The compiled build needs Python.h; .ci/run installs it where it is missing."""
    if os.environ.get("CI") != "true":
        pytest.skip("checked under CI only")
    assert Path(sysconfig.get_paths()["include"], "Python.h").is_file()
