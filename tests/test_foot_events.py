"""The foot cycle's events by loops (`gait.detect.foot_events`) against the NumPy route of
`gait.detect.foot.FootStepStage`: the same numbers bit for bit, on random cycles, on whole runs and
at the stream's edges; the pitch axis against NumPy's eigenvectors. ``foot_events.COMPILED`` picks the route at each cycle, so both run in any
build (the loops in pure Python too, slowly)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from gait.bench.speed import _config
from gait.core.config import Calibration, PipelineConfig
from gait.detect import foot_events
from gait.detect.foot import FootStepStage
from gait.dsp import rotation_chains as chains
from gait.dsp.foot_orientation import sign_vote
from gait.dsp.rotation_chains import principal_axis
from gait.pipeline import analyze
from gait.synthetic import synthetic_recording

FS = 200.0


def _stage() -> FootStepStage:
    stage = FootStepStage(PipelineConfig(placement="foot", side="left"), FS)

    class _Ring:
        base = 0

    stage._ring = _Ring()
    stage._peaks = [300.0, 320.0]
    return stage


def _cycle(rng, n: int) -> tuple[np.ndarray, np.ndarray]:
    """A rough foot cycle: swing peak, a dip at contact, a quiet stance, a push-off dip, noise."""
    t = np.linspace(0.0, 1.0, n)
    rate = (300 * np.exp(-(((t - 0.05) / 0.06) ** 2)) - 250 * np.exp(-(((t - 0.2) / 0.03) ** 2))
            - 400 * np.exp(-(((t - 0.55) / 0.05) ** 2)) + 200 * np.exp(-(((t - 0.9) / 0.08) ** 2)))  # fmt: skip
    rate = rate * rng.uniform(0.3, 1.5) + rng.normal(0.0, rng.uniform(1.0, 60.0), n)
    gn = np.abs(rate) + np.abs(rng.normal(0.0, 20.0, n))
    k = np.full(9, 1.0 / 9)
    return np.convolve(rate, np.full(5, 0.2), mode="same"), np.convolve(gn, k, mode="same")


@pytest.mark.parametrize("edge", [None, "first", "last"])
def test_random_cycles_give_the_same_events(monkeypatch, edge):
    stage = _stage()
    rng = np.random.default_rng({None: 1, "first": 2, "last": 3}[edge])
    found = 0
    for _ in range(400):
        rate, gn = _cycle(rng, int(rng.integers(8, 220)))
        monkeypatch.setattr(foot_events, "COMPILED", False)
        want = stage._cycle_events(0, rate, gn, edge)
        monkeypatch.setattr(foot_events, "COMPILED", True)
        got = stage._cycle_events(0, rate, gn, edge)
        assert got == want
        if want is not None:
            found += 1
            assert [type(v) for v in got] == [type(v) for v in want]
    assert found > 100


def test_a_non_finite_cycle_is_left_to_numpy(monkeypatch):
    stage = _stage()
    rate, gn = _cycle(np.random.default_rng(4), 150)
    rate[40] = np.nan
    monkeypatch.setattr(foot_events, "COMPILED", True)
    out = np.empty(4)
    status = foot_events.cycle_events(rate, gn, np.empty(150), foot_events.INSIDE, 5, 0.0, FS, 1.0, 5.0, 0.5, 0.9, 0.5, out)
    assert status == foot_events.NOT_FINITE
    monkeypatch.setattr(foot_events, "COMPILED", False)
    want = stage._cycle_events(0, rate, gn, None)
    monkeypatch.setattr(foot_events, "COMPILED", True)
    assert stage._cycle_events(0, rate, gn, None) == want


@pytest.mark.parametrize(
    "seed, gyro, calibrated, side", [(3, True, False, "left"), (8, True, True, "right"), (4, True, False, None), (5, False, False, "left")]
)
def test_a_run_gives_the_same_records_by_either_route(monkeypatch, seed, gyro, calibrated, side):
    block = synthetic_recording("foot", 1.0, seed=seed)
    if not gyro:  # the accelerometer-only detector shares the mid-swing scan
        block = dataclasses.replace(block, gyr_dps=None)
    # (the rotation products one way in both: their two routes differ in the last digits, see
    # tests/test_rotation_chains.py)
    monkeypatch.setattr(chains, "COMPILED", True)
    config = _config("foot").with_(side=side)
    if calibrated:  # standing 'up' of the synthetic shoe: its mean specific force over the run
        up = block.acc_mps2.mean(axis=0)
        config = config.with_(calibration=Calibration(gravity_sensor=tuple((up / np.linalg.norm(up)).tolist())))
    monkeypatch.setattr(foot_events, "COMPILED", False)
    want = analyze(block, config, FS)
    monkeypatch.setattr(foot_events, "COMPILED", True)
    got = analyze(block, config, FS)
    assert len(got.steps) > 70  # (one foot: a stride each 0.7 s)
    assert [repr(s) for s in got.steps] == [repr(s) for s in want.steps]


def test_the_sign_vote_loop_is_numpys(monkeypatch):
    rng = np.random.default_rng(11)
    for _ in range(300):
        rate, gn = _cycle(rng, int(rng.integers(9, 200)))
        n = rate.shape[0]
        if rng.uniform() < 0.05:
            gn[int(rng.integers(0, n))] = np.nan
        if rng.uniform() < 0.05:
            rate[int(rng.integers(0, n))] = np.nan
        want = sign_vote(rate - float(np.add.reduce(rate)) / n, gn, FS)
        got = foot_events.sign_vote_loop(rate, gn, FS)
        assert np.float64(got).tobytes() == np.float64(want).tobytes()


def test_the_principal_axis_is_the_largest_eigenvector():
    rng = np.random.default_rng(12)
    for _ in range(200):
        a = rng.normal(size=(3, 3)) * rng.uniform(0.1, 300.0, 3)
        cov = np.ascontiguousarray(a @ a.T)
        w, v = np.linalg.eigh(cov)
        e = principal_axis(cov)
        assert abs(abs(float(e @ v[:, -1])) - 1.0) < 1e-9
        assert float(np.abs(e).max()) == float(e[np.argmax(np.abs(e))])  # largest component positive
        prev = -e
        assert float(principal_axis(cov, prev) @ e) < 0.0  # follows the previous orientation
    iso = np.eye(3) * 4.0  # a repeated eigenvalue: NumPy's eigh decides
    assert abs(float(np.linalg.norm(principal_axis(iso))) - 1.0) < 1e-12
