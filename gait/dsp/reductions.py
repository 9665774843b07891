"""NumPy's reductions of a float64 row, written out so that a compiled build gives NumPy's numbers.

`pairwise_sum` is ``a[lo:lo + n].sum()``, `row_max` is ``b[row, r0:r1].max()``, `gram3` is the
column products' sums of an (n, 3) array and `max_norm3` its largest row norm, bit for bit. As
pure Python they call NumPy; compiled (``reductions.pxd``, see setup.py) they are C loops over
typed memory views, which a detector calls per step without a NumPy call's overhead.
`tests/test_reductions.py` checks the loops against NumPy in both builds.
"""

from __future__ import annotations

import math

try:
    import cython
except ImportError:  # pure Python, Cython not installed
    from gait.core.compiled import NO_CYTHON as cython

if cython.compiled:  # C's sqrt (Python's would be a call into the interpreter)
    from cython.cimports.libc.math import sqrt
else:
    from math import sqrt

COMPILED = not __file__.endswith(".py")


def pairwise_loop(a, lo: int, n: int) -> float:
    """NumPy's pairwise summation of the contiguous ``a[lo:lo + n]``: eight running sums in blocks
    of up to 128 values, halves above (as NumPy adds a contiguous float64 row)."""
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    if n <= 128:
        r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
        r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
        i = 8
        end8 = n - n % 8
        while i < end8:
            j = lo + i
            r0 += a[j]
            r1 += a[j + 1]
            r2 += a[j + 2]
            r3 += a[j + 3]
            r4 += a[j + 4]
            r5 += a[j + 5]
            r6 += a[j + 6]
            r7 += a[j + 7]
            i += 8
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while i < n:
            res += a[lo + i]
            i += 1
        return res
    n2 = n // 2
    n2 -= n2 % 8
    return pairwise_loop(a, lo, n2) + pairwise_loop(a, lo + n2, n - n2)


def pairwise_sum(a, lo: int, n: int) -> float:
    """``float(a[lo:lo + n].sum())`` of a C-contiguous float64 row."""
    if COMPILED:
        return pairwise_loop(a, lo, n)
    return float(a[lo : lo + n].sum())


def max_loop(b, row: int, r0: int, r1: int) -> float:
    """The largest of ``b[row, r0:r1]`` (r1 > r0), NaN when one is NaN (as NumPy)."""
    m = b[row, r0]
    if m != m:
        return m
    for i in range(r0 + 1, r1):
        x = b[row, i]
        if x != x:
            return x
        if x > m:
            m = x
    return m


def row_max(b, row: int, r0: int, r1: int) -> float:
    """``float(b[row, r0:r1].max())`` of a C-contiguous float64 2-D array (r1 > r0)."""
    if COMPILED:
        return max_loop(b, row, r0, r1)
    return float(b[row, r0:r1].max())


def gram_loop(g, scratch, out) -> None:
    """``out`` (3, 3) = ``g.T @ g`` of an (n, 3) array, each entry the pairwise sum of a column
    product written into ``scratch`` (n,), as ``(g[:, a] * g[:, b]).sum()`` adds them."""
    n = g.shape[0]
    for a in range(3):
        for b in range(a, 3):
            for i in range(n):
                scratch[i] = g[i, a] * g[i, b]
            s = pairwise_loop(scratch, 0, n)
            out[a, b] = s
            out[b, a] = s


def gram3(g):
    """``g.T @ g`` (3 x 3 array) of a C-contiguous (n, 3) float64 array by element-wise products
    and NumPy's sums: unlike a BLAS product, the rounding cannot depend on where the rows sit in
    memory (frame-size invariance)."""
    import numpy as np

    if COMPILED:
        out = np.empty((3, 3))
        gram_loop(g, np.empty(g.shape[0]), out)
        return out
    x, y, z = g[:, 0], g[:, 1], g[:, 2]
    xy, xz, yz = float((x * y).sum()), float((x * z).sum()), float((y * z).sum())
    return np.array([[float((x * x).sum()), xy, xz], [xy, float((y * y).sum()), yz], [xz, yz, float((z * z).sum())]])


def max_norm_loop(x) -> float:
    """The largest row norm of an (n >= 1, 3) array, NaN when a row has a NaN: the root of the
    largest sum of squares (the root is monotonic: the largest norm, bit for bit)."""
    m = -1.0
    for i in range(x.shape[0]):
        s = x[i, 0] * x[i, 0] + x[i, 1] * x[i, 1] + x[i, 2] * x[i, 2]
        if s != s:
            return s
        if s > m:
            m = s
    return sqrt(m)


def max_norm3(x) -> float:
    """``max(norm of each row)`` of an (n >= 1, 3) float64 array, NaN if any row is NaN."""
    if COMPILED:
        return max_norm_loop(x)
    sq = [a * a + b * b + c * c for a, b, c in x.tolist()]
    m = max(sq)
    if m != m or not all(v == v for v in sq):
        return math.nan
    return math.sqrt(m)


def dot_norm_loop(x, v0: float, v1: float, v2: float, dot, norm) -> None:
    """Per row of an (n, 3) array: ``dot`` = x . v and ``norm`` = |x|, each summed left to right
    as the element-wise NumPy expressions ``x[:, 0] * v[0] + x[:, 1] * v[1] + x[:, 2] * v[2]``
    and ``sqrt(x[:, 0] * x[:, 0] + ...)`` (the same bits)."""
    for i in range(x.shape[0]):
        a, b, c = x[i, 0], x[i, 1], x[i, 2]
        dot[i] = a * v0 + b * v1 + c * v2
        norm[i] = sqrt(a * a + b * b + c * c)


def or_loop(flags, r0: int, r1: int) -> int:
    """The bitwise OR of ``flags[r0:r1]`` (uint8; 0 for none)."""
    bits = 0
    for i in range(r0, r1):
        bits |= flags[i]
    return bits


def or_bits(flags, r0: int, r1: int) -> int:
    """``int(np.bitwise_or.reduce(flags[r0:r1]))`` of a C-contiguous uint8 array (0 for none)."""
    if COMPILED:
        return or_loop(flags, r0, r1)
    import numpy as np

    return int(np.bitwise_or.reduce(flags[r0:r1])) if r1 > r0 else 0
