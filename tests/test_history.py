"""`gait.dsp.history.History`: the recent samples a stage reads back, by absolute stream index."""

from __future__ import annotations

import numpy as np
import pytest

from gait.dsp.history import History


@pytest.mark.parametrize("keep", [0, 1, 37, 500])
def test_the_newest_rows_are_exactly_what_was_appended_whatever_the_frames(keep):
    rng = np.random.default_rng(keep)
    hist = History(keep, [((), float), ((3,), float), ((), np.uint8)])
    t_all, v_all, f_all = [], [], []
    for _ in range(300):
        m = int(rng.choice([1, 2, 7, 20, 200, 3 * keep + 5]))
        t = rng.normal(size=m)
        v = rng.normal(size=(m, 3))
        f = rng.integers(0, 255, m).astype(np.uint8)
        before = hist.n
        hist.append(t, v, f)
        t_all.append(t)
        v_all.append(v)
        f_all.append(f)
        total = sum(len(x) for x in t_all)
        assert hist.end == total
        # at least `keep` rows behind the new ones are still held, and they are the appended values
        assert hist.n >= min(total, keep + m)
        assert hist.n >= min(before + m, keep + m)
        ts = np.concatenate(t_all)
        assert np.array_equal(hist.column(0), ts[hist.b0 :])
        assert np.array_equal(hist.column(1), np.concatenate(v_all)[hist.b0 :])
        assert np.array_equal(hist.column(2), np.concatenate(f_all)[hist.b0 :])
        lo = max(hist.b0, total - keep - m)
        assert np.array_equal(hist.get(0, lo, total), ts[lo:total])
    assert hist.get(0, hist.b0 - 1, hist.end) is None  # dropped rows are not offered
    assert hist.get(0, hist.b0, hist.end + 1) is None  # nor rows not yet appended
    assert hist.get(0, 5, 5) is None


def test_a_column_is_a_view_writes_go_into_the_history():
    hist = History(10, [((), float)])
    hist.append(np.zeros(8))
    hist.column(0)[3:5] = 7.0
    hist.append(np.ones(4))
    assert hist.column(0).tolist() == [0.0, 0.0, 0.0, 7.0, 7.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]


def test_a_frame_longer_than_the_room_grows_the_storage():
    hist = History(4, [((), float)], spare=0)
    hist.append(np.arange(3.0))
    hist.append(np.arange(3.0, 103.0))
    assert hist.end == 103
    assert np.array_equal(hist.get(0, 99 - 4, 103), np.arange(95.0, 103.0))
