"""The streaming contract: every stage is chunk-invariant.

Feeding a stage its input in any chunking (1-sample packets, odd sizes, one whole block)
must give identical records. The input of stage i is the output of stages 0..i-1 on a real
recording; hypothesis draws the chunkings.
"""

from __future__ import annotations

import math
from dataclasses import fields, is_dataclass

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gait.core.config import PipelineConfig
from gait.core.records import concat_blocks
from gait.pipeline import OFFLINE_FRAME_MS, Pipeline, build_stages
from tests.conftest import stream

SETTINGS = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
chunkings = st.lists(st.integers(min_value=1, max_value=257), min_size=1, max_size=6)


def _is_block(r) -> bool:
    return hasattr(r, "index0") and hasattr(r, "time_s")


def _norm(value):
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, np.ndarray):
        return ("array", value.shape, value.tobytes())
    if is_dataclass(value):
        return (type(value).__name__,) + tuple(
            _norm(getattr(value, f.name)) for f in fields(value) if f.name != "emitted_s"
        )
    if isinstance(value, tuple | list):
        return tuple(_norm(v) for v in value)
    return value


def _canonical(records: list) -> tuple:
    """Blocks joined; other records grouped by type, each group in time order (records of
    different types may interleave differently with other frame sizes)."""
    blocks = [r for r in records if _is_block(r)]
    joined = _norm(concat_blocks(blocks)) if blocks else None
    groups: dict[str, list] = {}
    for r in records:
        if not _is_block(r):
            groups.setdefault(type(r).__name__, []).append(_norm(r))
    return joined, tuple((name, tuple(sorted(items, key=repr))) for name, items in sorted(groups.items()))


def _stage_inputs(config: PipelineConfig, block, fs: float) -> list:
    """The whole-recording input of each stage (output blocks of the stages before it)."""
    stages = build_stages(config, fs)
    inputs = [block]
    current = block
    for stage in stages[:-1]:
        out = stage.process(current) + stage.flush()
        blocks = [r for r in out if _is_block(r)]
        current = concat_blocks(blocks)
        inputs.append(current)
    return inputs


CASES = {
    "sacrum-acc": ("hip_block", dict(placement="sacrum", speed_mps=3.0)),
    "chest-acc": ("hip_block", dict(placement="chest")),
    "foot-acc": ("ankle_block", dict(placement="foot", side="left")),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_stage_is_chunk_invariant(case, request):
    fixture, cfg = CASES[case]
    block = request.getfixturevalue(fixture)
    _check_all_stages(PipelineConfig(**cfg), block)


def _gyro_trial_block(validation_trials, placement: str):
    from firmware_interface.files.recording import read_recording

    for trial in validation_trials:
        if trial.placement == placement and int(round(trial.rate_hz)) == 200:
            rec = read_recording(trial.csv)
            return rec, trial
    pytest.skip(f"no 200 Hz {placement} trial in the validation set")


@pytest.mark.parametrize("placement", ["sacrum", "foot"])
def test_every_stage_is_chunk_invariant_with_gyro(placement, validation_trials):
    rec, trial = _gyro_trial_block(validation_trials, placement)
    assert rec.gyr_dps is not None
    cfg = PipelineConfig(placement=placement, side=getattr(trial, "side", None) if placement == "foot" else None)
    _check_all_stages(cfg, rec.block())


def _check_stage(stage_type, config, fs, stage_input, expected) -> None:
    @SETTINGS
    @given(sizes=chunkings)
    def check(sizes):
        stage = stage_type(config, fs)
        got = _canonical(stream(stage, stage_input, sizes))
        assert got == expected, f"{stage_type.__name__} differs for chunk sizes {sizes}"

    check()


def _check_all_stages(config: PipelineConfig, block) -> None:
    fs = 1.0 / float(np.median(np.diff(block.time_s)))
    inputs = _stage_inputs(config, block, fs)
    stage_types = [type(s) for s in build_stages(config, fs)]
    for i, stage_type in enumerate(stage_types):
        reference_stage = stage_type(config, fs)
        expected = _canonical(reference_stage.process(inputs[i]) + reference_stage.flush())

        _check_stage(stage_type, config, fs, inputs[i], expected)
    # and the whole pipeline: live in 1-sample packets == offline (long frames, one chunk)
    offline_cfg = config.with_(frame_ms=OFFLINE_FRAME_MS)
    whole = Pipeline(offline_cfg, fs)
    expected = _canonical(whole.process(block) + whole.flush())
    single = Pipeline(config, fs)
    assert _canonical(stream(single, block, [1])) == expected
    # frame size is a cost knob only: every stage gives the same records with other frames
    for frame_ms in (40.0, 250.0, 2000.0, OFFLINE_FRAME_MS):
        other = config.with_(frame_ms=frame_ms)
        inputs_other = _stage_inputs(other, block, fs)
        for i, stage_type in enumerate(stage_types):
            a = stage_type(config, fs)
            b = stage_type(other, fs)
            assert _canonical(b.process(inputs_other[i]) + b.flush()) == _canonical(
                a.process(inputs[i]) + a.flush()
            ), f"{stage_type.__name__} depends on the frame size ({frame_ms} ms)"


def test_offline_equals_streaming_steps(hip_block):
    """Offline analysis is the streaming path over one chunk: same steps as 10-sample packets."""
    from gait.pipeline import analyze

    cfg = PipelineConfig(placement="waist")
    fs = 100.0
    offline = analyze(hip_block, cfg, fs).steps
    pipe = Pipeline(cfg, fs)
    live = [r for r in stream(pipe, hip_block, [10]) if type(r).__name__ == "StepMetrics"]
    assert len(offline) > 60  # 30 s of running
    assert [_norm(s) for s in offline] == [_norm(s) for s in sorted(live, key=lambda s: s.ic_s)]
