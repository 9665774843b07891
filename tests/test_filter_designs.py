"""`gait.dsp.designs`: the stages' Butterworth designs and steady states without importing
`scipy.signal` each time. The reference is SciPy itself: the numbers must be its numbers, bit for
bit, whether designed now or read back from the cache file."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.signal import butter, sosfilt, sosfilt_zi

from gait.dsp import designs
from gait.dsp.iir import sosfilt_rows

CASES = [
    (1, 0.5, 200.0, "lowpass"),
    (2, 0.3, 100.0, "lowpass"),
    (4, 0.5, 200.0, "lowpass"),
    (4, 0.5, 52.0, "lowpass"),
    (8, 3.0, 104.0, "lowpass"),
    (5, 1.7, 833.0, "lowpass"),
    (2, (0.4, 2.0), 100.0, "band"),
    (3, (0.5, 4.0), 50.0, "band"),
    (6, (0.25, 3.5), 200.0, "band"),
]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    path = tmp_path / "filters.json"
    monkeypatch.setenv(designs.CACHE_ENV, str(path))
    monkeypatch.setattr(designs, "_memory", {})
    return path


@pytest.mark.parametrize("order,cut,fs,btype", CASES)
def test_designs_are_scipys_bit_for_bit_made_now_and_read_back(cache, order, cut, fs, btype):
    want = butter(order, cut, btype=btype, fs=fs, output="sos")
    made = designs.butter_sos(order, cut, fs, btype)
    assert made.flags.c_contiguous and np.array_equal(made, want)
    assert cache.is_file()
    designs._memory.clear()  # as a new process: from the file
    read = designs.butter_sos(order, cut, fs, btype)
    assert np.array_equal(read, want)
    assert np.array_equal(designs.steady_state_zi(want), sosfilt_zi(want))


def test_steady_state_is_the_state_after_a_long_unit_step():
    sos = butter(4, 0.5, fs=200.0, output="sos")
    _, zf = sosfilt(sos, np.ones(200 * 60), zi=np.zeros((2, 2)))
    assert np.allclose(designs.steady_state_zi(sos), zf, rtol=0.0, atol=1e-9)
    x = np.full((1, 50), 3.0)
    sosfilt_rows(sos, x, 3.0 * designs.steady_state_zi(sos)[None])
    assert np.allclose(x, 3.0, rtol=0.0, atol=1e-9)  # started in the steady state: no transient


def test_a_damaged_or_foreign_cache_file_is_designed_over(cache):
    want = butter(4, 0.5, fs=200.0, output="sos")
    key = "butter/lowpass/4/0.5/200.0"
    for text in ("{not json", json.dumps([1, 2]), json.dumps({"format": 99, "designs": {key: [[0.0] * 6]}}),
                 json.dumps({"format": 1, "designs": {key: [[1.0, 2.0]]}}),
                 json.dumps({"format": 1, "designs": {key: [[float("nan")] * 6]}})):  # fmt: skip
        cache.write_text(text)
        designs._memory.clear()
        assert np.array_equal(designs.butter_sos(4, 0.5, 200.0), want)
        assert np.array_equal(np.array(json.loads(cache.read_text())["designs"][key]), want)  # written again


def test_no_cache_file_when_switched_off_or_unwritable(tmp_path, monkeypatch):
    want = butter(2, 0.3, fs=100.0, output="sos")
    monkeypatch.setattr(designs, "_memory", {})
    monkeypatch.setenv(designs.CACHE_ENV, "off")
    assert designs.cache_file() is None
    assert np.array_equal(designs.butter_sos(2, 0.3, 100.0), want)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv(designs.CACHE_ENV, str(blocker / "filters.json"))  # its folder is a file
    designs._memory.clear()
    assert np.array_equal(designs.butter_sos(2, 0.3, 100.0), want)
    assert list(tmp_path.iterdir()) == [blocker]


def test_a_returned_design_is_the_callers_own():
    a = designs.butter_sos(2, 0.3, 100.0)
    a[:] = 0.0
    assert designs.butter_sos(2, 0.3, 100.0).any()


def test_no_home_folder_means_no_cache_not_an_error(monkeypatch):
    monkeypatch.delenv(designs.CACHE_ENV, raising=False)
    monkeypatch.setattr(designs, "_memory", {})

    def no_home(appname):
        raise RuntimeError("Could not determine home directory.")

    import platformdirs

    monkeypatch.setattr(platformdirs, "user_cache_path", no_home)
    assert designs.cache_file() is None
    assert np.array_equal(designs.butter_sos(2, 0.3, 100.0), butter(2, 0.3, fs=100.0, output="sos"))
