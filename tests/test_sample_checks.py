"""The sanitize stage's two routes (`gait.dsp.sample_checks`): the per-sample loop gives the NumPy
route's flags, gaps and arrays, frame by frame, on streams with gaps, clipping (flat at the
largest value seen, or at a known range) and non-finite values. ``sample_checks.COMPILED`` picks
the route at each frame, so both run in any build."""

from __future__ import annotations

import numpy as np
import pytest

from gait.core.config import PipelineConfig
from gait.core.records import Gap, SampleBlock
from gait.dsp import sample_checks
from gait.dsp.sanitize import SanitizeStage

FS = 200.0


def _stream(seed: int, gyro: bool = True, nonfinite: bool = False) -> SampleBlock:
    rng = np.random.default_rng(seed)
    n = 3000
    t = np.arange(n) / FS
    t[700:] += 0.3  # lost samples
    t[1900:] += 0.02  # a short one (4 periods)
    acc = rng.normal(0.0, 20.0, (n, 3))
    acc[100:110, 0] = 80.0  # flat at the largest value seen: clipping without a known range
    acc[1500:1504, 2] = -160.0
    acc[2200:2203, 1] = 39.0  # flat, but below the largest seen
    gyr = rng.normal(0.0, 400.0, (n, 3))
    gyr[400:406, 1] = 2000.0
    if nonfinite:
        acc[1200, 1] = np.nan
        gyr[2500, 0] = np.inf
    return SampleBlock(time_s=t, acc_mps2=acc, gyr_dps=gyr if gyro else None, index0=0)


def _run(block: SampleBlock, config: PipelineConfig, packet: int, loop: bool, monkeypatch) -> list:
    monkeypatch.setattr(sample_checks, "COMPILED", loop)
    stage = SanitizeStage(config, FS)
    out = []
    for i in range(0, len(block), packet):
        out += stage.process(block.slice(i, min(len(block), i + packet)))
    return out + stage.flush()


def _same(a: list, b: list) -> None:
    assert [type(r) for r in a] == [type(r) for r in b]
    for x, y in zip(a, b):
        if isinstance(x, SampleBlock):
            for f in ("time_s", "acc_mps2", "gyr_dps", "flags"):
                u, v = getattr(x, f), getattr(y, f)
                assert (u is None) == (v is None), f
                if u is not None:
                    assert u.tobytes() == v.tobytes(), f
        else:
            assert x == y


@pytest.mark.parametrize("gyro, nonfinite, acc_range_g, packet", [
    (True, False, None, 20), (True, True, None, 7), (False, False, None, 500), (True, False, 8.0, 13),
])  # fmt: skip
def test_the_loop_gives_the_numpy_routes_records(monkeypatch, gyro, nonfinite, acc_range_g, packet):
    block = _stream(1, gyro, nonfinite)
    config = PipelineConfig(placement="sacrum", acc_range_g=acc_range_g)
    want = _run(block, config, packet, False, monkeypatch)
    got = _run(block, config, packet, True, monkeypatch)
    _same(got, want)
    gaps = [r for r in got if isinstance(r, Gap)]
    assert [round(g.start_s, 3) for g in gaps] == [round(699 / FS, 3), round(1899 / FS + 0.3, 3)]
    flags = np.concatenate([r.flags for r in got if isinstance(r, SampleBlock)])
    assert flags[101:110].all() and not flags[2201:2203].any()


def test_a_frame_with_a_non_finite_value_is_left_to_numpy():
    n = 5
    state = np.zeros(12)
    flags = np.zeros(n, np.uint8)
    acc = np.ones((n, 3))
    acc[3, 2] = np.nan
    got = sample_checks.check_frame(np.arange(n) / FS, acc, np.zeros((0, 3)), -1.0 / FS, 1.5 / FS, 0.0, 39.2, 1000.0,
                                    state, flags, np.empty(n, np.intp), 4, 2)  # fmt: skip
    assert got == -1 and not flags.any() and not state.any()
