"""`gait.dsp.reductions`: NumPy's sum and max of a float64 row, written out, bit for bit.

The reference is NumPy itself; the loops run as they are (pure Python) or compiled, whichever this
install has (`tests/test_compiled.py` checks that CI has them compiled).
"""

from __future__ import annotations

import math

import numpy as np

from gait.dsp.reductions import (
    dot_norm_loop,
    gram3,
    gram_loop,
    max_loop,
    max_norm3,
    max_norm_loop,
    or_bits,
    or_loop,
    pairwise_loop,
    pairwise_sum,
    row_max,
)


def test_the_pairwise_loop_is_numpys_sum_for_every_length_and_offset():
    rng = np.random.default_rng(3)
    for n in list(range(0, 140)) + [255, 256, 257, 1000, 1234, 4099, 9000]:
        x = rng.normal(0.0, 10.0 ** rng.uniform(-3, 3), n + 7)
        for lo in (0, 3, 7):
            want = float(x[lo : lo + n].sum())
            assert pairwise_loop(x, lo, n) == want, (n, lo)
            assert pairwise_sum(x, lo, n) == want


def test_a_non_finite_value_gives_numpys_answer():
    x = np.arange(40.0)
    x[17] = np.inf
    assert pairwise_loop(x, 0, 40) == math.inf
    x[20] = -np.inf
    assert math.isnan(pairwise_loop(x, 0, 40)) and math.isnan(float(x.sum()))


def test_the_max_loop_is_numpys_max_nan_included():
    rng = np.random.default_rng(5)
    b = np.ascontiguousarray(rng.normal(size=(3, 300)))
    for r0, r1 in ((0, 1), (0, 300), (17, 18), (5, 250)):
        for row in range(3):
            want = float(b[row, r0:r1].max())
            assert max_loop(b, row, r0, r1) == want
            assert row_max(b, row, r0, r1) == want
    b[1, 40] = np.nan
    assert math.isnan(max_loop(b, 1, 0, 300)) and math.isnan(float(b[1, 0:300].max()))
    assert math.isnan(max_loop(b, 1, 40, 41))
    assert max_loop(b, 1, 41, 300) == float(b[1, 41:300].max())


def test_the_gram_loop_is_the_sum_of_numpys_column_products():
    rng = np.random.default_rng(9)
    for n in (1, 5, 8, 9, 127, 128, 129, 150, 300):
        g = rng.normal(0.0, 200.0, (n, 3))
        out = np.empty((3, 3))
        gram_loop(g, np.empty(n), out)
        want = np.array([[float((g[:, a] * g[:, b]).sum()) for b in range(3)] for a in range(3)])
        assert out.tobytes() == want.tobytes(), n
        assert gram3(g).tobytes() == want.tobytes()
        np.testing.assert_allclose(out, g.T @ g, rtol=1e-12)


def test_the_largest_row_norm_nan_included():
    rng = np.random.default_rng(4)
    x = rng.normal(0.0, 30.0, (25, 3))
    want = float(np.max(np.sqrt(x[:, 0] * x[:, 0] + x[:, 1] * x[:, 1] + x[:, 2] * x[:, 2])))
    assert max_norm_loop(x) == want and max_norm3(x) == want
    x[11, 1] = np.nan
    assert math.isnan(max_norm_loop(x)) and math.isnan(max_norm3(x))


def test_the_dot_and_norm_loop_is_numpys_element_wise_arithmetic():
    rng = np.random.default_rng(6)
    x = rng.normal(0.0, 100.0, (333, 3))
    v = rng.normal(size=3)
    dot, norm = np.empty(333), np.empty(333)
    dot_norm_loop(x, *v.tolist(), dot, norm)
    assert dot.tobytes() == (x[:, 0] * v[0] + x[:, 1] * v[1] + x[:, 2] * v[2]).tobytes()
    assert norm.tobytes() == np.sqrt(x[:, 0] * x[:, 0] + x[:, 1] * x[:, 1] + x[:, 2] * x[:, 2]).tobytes()


def test_the_or_loop_is_numpys_bitwise_or():
    rng = np.random.default_rng(8)
    flags = rng.integers(0, 256, 500).astype(np.uint8)
    for r0, r1 in ((0, 500), (10, 11), (37, 200), (5, 5)):
        want = int(np.bitwise_or.reduce(flags[r0:r1])) if r1 > r0 else 0
        assert or_loop(flags, r0, r1) == want and or_bits(flags, r0, r1) == want
