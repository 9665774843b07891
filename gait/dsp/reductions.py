"""NumPy's reductions of a float64 row, written out so that a compiled build gives NumPy's numbers.

`pairwise_sum` is ``a[lo:lo + n].sum()`` and `row_max` is ``b[row, r0:r1].max()``, bit for bit. As
pure Python they call NumPy; compiled (``reductions.pxd``, see setup.py) they are C loops over
typed memory views, which a detector calls per step without a NumPy call's overhead.
`tests/test_reductions.py` checks the loops against NumPy in both builds.
"""

from __future__ import annotations

_COMPILED = not __file__.endswith(".py")


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
    if _COMPILED:
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
    if _COMPILED:
        return max_loop(b, row, r0, r1)
    return float(b[row, r0:r1].max())
