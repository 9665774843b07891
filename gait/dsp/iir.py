"""Recursive filtering of a stream in frames: second-order sections applied in place to rows,
with the state carried from frame to frame.

    sosfilt_rows(sos, x, zi)   # x: (channels, n) C-contiguous float64, filtered in place
                               # zi: (channels, sections, 2), updated in place

It is the compiled kernel behind `scipy.signal.sosfilt`, called directly when this SciPy has it
and it agrees with the public function (checked once, on first use): a live stage filters a few
samples per frame, where the public function's argument handling (about 25 us a call, more than
the filtering) would dominate. Otherwise the public function, the same numbers. Per channel and
sample the arithmetic is the recursion itself, so the result does not depend on how the stream
is cut into frames. `scipy.signal` takes most of a second to import: it is imported on first use.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np


def _public(sos: np.ndarray, x: np.ndarray, zi: np.ndarray) -> None:
    from scipy.signal import sosfilt

    y, z = sosfilt(sos, x, axis=-1, zi=zi.transpose(1, 0, 2))
    x[...] = y
    zi[...] = z.transpose(1, 0, 2)


@functools.cache
def _kernel() -> Callable[[np.ndarray, np.ndarray, np.ndarray], None]:
    from scipy.signal import butter, sosfilt

    try:
        from scipy.signal._sosfilt import _sosfilt as kernel  # private: checked below

        sos = butter(2, 0.1, output="sos")
        x = np.linspace(-1.0, 1.0, 16)[None, :].repeat(2, 0).copy()
        zi = np.zeros((2, sos.shape[0], 2))
        ref, _ = sosfilt(sos, x, axis=-1, zi=zi.transpose(1, 0, 2))
        kernel(sos, x, zi)
        if np.allclose(x, ref, rtol=0.0, atol=1e-12):
            return kernel
    except Exception:  # pragma: no cover - a SciPy without the kernel
        pass
    return _public  # pragma: no cover


def sosfilt_rows(sos: np.ndarray, x: np.ndarray, zi: np.ndarray) -> None:
    """Filter the rows of ``x`` (channels, n; C-contiguous float64) in place with the sections
    ``sos`` (sections, 6; C-contiguous), from and into the state ``zi`` (channels, sections, 2)."""
    _kernel()(sos, x, zi)
