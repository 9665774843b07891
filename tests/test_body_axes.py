"""The trunk orientation stage's two routes (`gait.dsp.body_axes`): the per-sample loop gives the
NumPy route's numbers bit for bit. ``body_axes.COMPILED`` picks the route at each frame, so both
run in any build (the loop in pure Python too, slowly: short runs here)."""

from __future__ import annotations

import numpy as np
import pytest

from gait.core.config import Calibration, PipelineConfig
from gait.core.records import SampleBlock
from gait.dsp import body_axes
from gait.dsp.orientation import OrientationFlag, TrunkOrientationStage
from gait.synthetic import synthetic_recording

FS = 200.0
FIELDS = ("time_s", "acc_v_mps2", "acc_ap_mps2", "acc_ml_mps2", "acc_norm_mps2", "gyr_ml_dps", "tilt_deg", "flags",
          "gyr_v_dps", "gyr_ap_dps", "acc_v_gyro_mps2")  # fmt: skip


def _run(block: SampleBlock, config: PipelineConfig, frame: int, loop: bool, monkeypatch) -> dict[str, np.ndarray]:
    monkeypatch.setattr(body_axes, "COMPILED", loop)
    stage = TrunkOrientationStage(config.with_(frame_ms=frame / FS * 1e3), FS)
    out = []
    for i in range(0, len(block), frame):
        out += stage.process(block.slice(i, min(len(block), i + frame)))
    out += stage.flush()
    return {f: np.concatenate([getattr(b, f) for b in out]) for f in FIELDS}


def _same_bits(a: dict, b: dict) -> None:
    for f in FIELDS:
        assert a[f].dtype == b[f].dtype, f
        assert a[f].tobytes() == b[f].tobytes(), f  # (NaN included)


@pytest.mark.parametrize("calibrated", [False, True])
def test_the_loop_gives_the_numpy_routes_bits(monkeypatch, calibrated):
    block = synthetic_recording("sacrum", 0.12, seed=5)  # 7.2 s: past the 4 s warm-up
    cal = Calibration(gravity_sensor=(0.05, -0.99, 0.1)) if calibrated else None
    config = PipelineConfig(placement="sacrum", calibration=cal)
    numpy_route = _run(block, config, 200, False, monkeypatch)
    loop = _run(block, config, 200, True, monkeypatch)
    _same_bits(numpy_route, loop)
    assert np.isfinite(loop["tilt_deg"][-200:]).all()
    # and whatever the frames: a stream split elsewhere gives the same bits
    _same_bits(loop, _run(block, config, 333, True, monkeypatch))


def test_an_unknown_forward_axis_falls_back_the_same_way(monkeypatch):
    """Standing still: no braking / propulsion correlation, the sensor axis least aligned with
    gravity is the forward axis, flagged, by either route."""
    n = int(7 * FS)
    rng = np.random.default_rng(2)
    acc = np.tile([0.3, 9.78, 0.5], (n, 1)) + rng.normal(0.0, 0.02, (n, 3))
    gyr = rng.normal(0.0, 0.5, (n, 3))
    block = SampleBlock(time_s=np.arange(n) / FS, acc_mps2=acc, gyr_dps=gyr, index0=0)
    config = PipelineConfig(placement="sacrum")
    numpy_route = _run(block, config, 400, False, monkeypatch)
    loop = _run(block, config, 400, True, monkeypatch)
    _same_bits(numpy_route, loop)
    assert (loop["flags"][-400:] & OrientationFlag.AP_UNKNOWN).any()


def test_wrong_shapes_are_refused():
    out = np.empty((10, 4))
    with pytest.raises(ValueError):
        body_axes.body_axes(np.zeros((4, 3)), np.zeros((3, 3)), np.zeros((2, 6)), np.zeros((1, 6)), np.zeros((1, 6)),
                            np.zeros((6, 2, 2)), np.zeros((3, 2, 2)), np.zeros((3, 1, 2)), np.zeros((5, 1, 2)), 0.0,
                            FS, 9.8, (0.0, 0.0, 1.0), 0.0064, out, np.zeros(4, np.uint8), np.zeros(16))  # fmt: skip
