"""Recursive filtering of a stream in frames: second-order sections applied in place to rows,
with the state carried from frame to frame.

    sosfilt_rows(sos, x, zi)   # x: (channels, n) C-contiguous float64, filtered in place
                               # zi: (channels, sections, 2), updated in place

It is the compiled kernel behind `scipy.signal.sosfilt`, called directly when this SciPy has it
and it agrees with the recursion written out in Python (checked once, on first use): a live stage
filters a few samples per frame, where the public function's argument handling (about 25 us a
call, more than the filtering) would dominate. The kernel is loaded from its extension module
without importing the ``scipy.signal`` package, which takes about 0.6 s (more than analysing a
10-minute recording). Otherwise the public function, the same numbers. Per channel and sample the
arithmetic is the recursion itself, so the result does not depend on how the stream is cut into
frames.
"""

from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np


def _public(sos: np.ndarray, x: np.ndarray, zi: np.ndarray) -> None:
    from scipy.signal import sosfilt

    y, z = sosfilt(sos, x, axis=-1, zi=zi.transpose(1, 0, 2))
    x[...] = y
    zi[...] = z.transpose(1, 0, 2)


@functools.cache
def _kernel() -> Callable[[np.ndarray, np.ndarray, np.ndarray], None]:
    kernel = _compiled_kernel()
    return kernel if kernel is not None and _agrees(kernel) else _public


def _compiled_kernel() -> Callable | None:
    """SciPy's compiled ``_sosfilt`` from its extension module, loaded without running the
    ``scipy.signal`` package (whose import is what takes most of a second); None if not found."""
    name = "scipy.signal._sosfilt"
    try:
        mod = sys.modules.get(name)
        if mod is None:
            spec = importlib.util.find_spec("scipy")
            if spec is None or spec.origin is None:
                return None
            folder = Path(spec.origin).parent / "signal"
            files = [folder / ("_sosfilt" + suffix) for suffix in importlib.machinery.EXTENSION_SUFFIXES]
            found = next((f for f in files if f.is_file()), None)
            if found is None:
                return None
            import scipy  # noqa: F401  (the parent package, without its signal module)

            loader = importlib.machinery.ExtensionFileLoader(name, str(found))
            mod = importlib.util.module_from_spec(importlib.util.spec_from_file_location(name, found, loader=loader))
            loader.exec_module(mod)
            sys.modules.setdefault(name, mod)  # (scipy.signal, when imported later, uses the same module)
        return mod._sosfilt
    except Exception:  # pragma: no cover - another SciPy layout: the public function
        return None


def _agrees(kernel: Callable) -> bool:
    """The kernel against the recursion itself, in Python floats (transposed direct form II per
    section), on a short two-channel input: a kernel with another calling convention fails."""
    sos = np.array([[0.02, 0.04, 0.02, 1.0, -1.56, 0.64], [1.0, 2.0, 1.0, 1.0, -1.7, 0.78]])
    x = np.vstack([np.linspace(-1.0, 1.0, 24), np.cos(np.arange(24.0))])
    zi = np.array([[[0.1, -0.2], [0.3, 0.05]], [[0.0, 0.0], [-0.4, 0.2]]])
    want = x.tolist()
    state = zi.tolist()
    for c, row in enumerate(want):
        for i, v in enumerate(row):
            for k, (b0, b1, b2, _, a1, a2) in enumerate(sos.tolist()):
                z0, z1 = state[c][k]
                y = b0 * v + z0
                state[c][k] = [b1 * v - a1 * y + z1, b2 * v - a2 * y]
                v = y
            row[i] = v
    try:
        got, zgot = x.copy(), zi.copy()
        kernel(sos, got, zgot)
    except Exception:  # pragma: no cover
        return False
    return bool(np.allclose(got, want, rtol=0.0, atol=1e-12) and np.allclose(zgot, state, rtol=0.0, atol=1e-12))


def sosfilt_rows(sos: np.ndarray, x: np.ndarray, zi: np.ndarray) -> None:
    """Filter the rows of ``x`` (channels, n; C-contiguous float64) in place with the sections
    ``sos`` (sections, 6; C-contiguous), from and into the state ``zi`` (channels, sections, 2)."""
    _kernel()(sos, x, zi)
