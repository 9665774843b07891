"""Which modules run compiled, and a guard that never lets a stale compiled module shadow its source.

The per-step modules of `COMPILED_MODULES` are plain Python that the install also compiles
(``setup.py``: with Cython, where a C compiler is there). Python imports an extension module in place of the ``.py``
beside it, so after an edit of the source an old build would silently run the old code. The build
writes the SHA-256 of each module's source next to its extension (``<extension>.sha256``); the
finder installed by `install_guard` imports the sources instead of the extensions whenever one of
them no longer matches (the compiled modules call each other in C, so they run compiled all
together or not at all), or when ``GAIT_PURE_PYTHON`` is set (to step through the code, or to
compare).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
import warnings
from pathlib import Path

# the modules compiled by ``setup.py``: each has C declarations in a ``.pxd`` beside it (typed
# state and calls). Compiling the other per-step modules as they are, untyped, was measured no
# faster on CPython 3.11 (its specialising interpreter): the foot detector's hour 3-5 % slower
# offline and 12 % slower live, so they stay pure Python until they are typed.
COMPILED_MODULES = (
    "gait.core.csv_numbers",
    "gait.dsp.reductions",
    "gait.dsp.rotation_chains",
    "gait.dsp.body_axes",
    "gait.dsp.sample_checks",
    "gait.metrics.vertical",
    "gait.detect.foot_events",
    "gait.detect.trunk",
)

PURE_ENV = "GAIT_PURE_PYTHON"


class _NoCython:
    """What a compiled module's ``import cython`` stands for where Cython is not installed (its
    source then runs as plain Python)."""

    compiled = False


NO_CYTHON = _NoCython()
SIDECAR_SUFFIX = ".sha256"

# module name -> "compiled", "source" (no extension, or not wanted) or "stale" (a compiled module's
# source changed since the build)
_seen: dict[str, str] = {}


def source_digest(path: str | os.PathLike) -> str:
    """SHA-256 of a module's source and, when there is one, of the ``.pxd`` beside it (its C
    declarations for the compiled build)."""
    import hashlib  # (here: it costs 4 ms, and `gait --help` imports no compiled module)

    path = Path(path)
    h = hashlib.sha256(path.read_bytes())
    pxd = path.with_suffix(".pxd")
    if pxd.exists():
        h.update(b"\0pxd\0" + pxd.read_bytes())
    return h.hexdigest()


def pure_python_requested() -> bool:
    return os.environ.get(PURE_ENV, "") not in ("", "0")


def extension_is_fresh(extension: str | os.PathLike, source: str | os.PathLike) -> bool:
    """True when ``extension`` was built from the current bytes of ``source``."""
    try:
        recorded = Path(str(extension) + SIDECAR_SUFFIX).read_text().strip()
    except OSError:
        return False
    try:
        return recorded == source_digest(source)
    except OSError:
        return True  # an install without sources: the extension is all there is


def _extension_of(source: Path) -> Path | None:
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        candidate = source.with_suffix(suffix)
        if candidate.exists():
            return candidate
    return None


_stale: list[str] | None = None  # the compiled modules whose extension is missing or stale


def stale_modules() -> list[str]:
    """The modules of `COMPILED_MODULES` that have no extension built from their current source
    (looked up once per process). The compiled modules call each other in C (``cimport``), so
    they run compiled all together or not at all."""
    global _stale
    if _stale is None:
        root = Path(__file__).resolve().parents[1]  # the gait package
        stale = []
        for name in COMPILED_MODULES:
            source = root.joinpath(*name.split(".")[1:]).with_suffix(".py")
            ext = _extension_of(source)
            if ext is None or not extension_is_fresh(ext, source):
                stale.append(name)
        _stale = stale
    return _stale


class _GuardFinder:
    """A meta path finder for ``gait.*`` that imports the source instead of an extension unless
    every compiled module has an extension built from its current source."""

    def find_spec(self, fullname, path, target=None):
        if not fullname.startswith("gait.") or path is None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is None or not isinstance(spec.loader, importlib.machinery.ExtensionFileLoader):
            return spec
        origin = spec.origin or ""
        source = os.path.join(os.path.dirname(origin), fullname.rpartition(".")[2] + ".py")
        if not os.path.exists(source):
            _seen[fullname] = "compiled"
            return spec  # an install without sources: the extension is all there is
        if pure_python_requested():
            _seen[fullname] = "source"
        elif fullname not in COMPILED_MODULES:
            _seen[fullname] = "source"  # left over from another build's list
        elif not extension_is_fresh(origin, source) or stale_modules():
            _seen[fullname] = "stale"
            stale = stale_modules() or [fullname]
            warnings.warn(
                f"{fullname}: running its source, as every compiled module does: {', '.join(stale)} "
                "changed since the build (reinstall to compile them again: pip install -e .)",
                RuntimeWarning,
                stacklevel=2,
            )
        else:
            _seen[fullname] = "compiled"
            return spec
        return importlib.util.spec_from_file_location(fullname, source)


_GUARD = _GuardFinder()


def install_guard() -> None:
    if _GUARD not in sys.meta_path:
        sys.meta_path.insert(0, _GUARD)


def status(names) -> dict[str, str]:
    """Import each module of ``names`` and tell how it runs: compiled, source or stale."""
    out = {}
    for name in names:
        importlib.import_module(name)
        out[name] = _seen.get(name, "source")
    return out


def summary() -> str:
    """One line for benchmark headers: how many of the per-step modules run compiled."""
    st = status(COMPILED_MODULES)
    n = sum(v == "compiled" for v in st.values())
    line = f"{n} of {len(st)} per-step modules compiled"
    if any(v == "stale" for v in st.values()):
        line += f" (running their source: no current build of {', '.join(stale_modules())})"
    elif n < len(st) and pure_python_requested():
        line += f" ({PURE_ENV} is set)"
    return line
