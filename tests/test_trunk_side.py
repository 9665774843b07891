"""A trunk sensor's left/right from the whole chain of alternating steps (`gait.detect.side`).

Truth sides come from the validation set's force plates (RBDS: the foot whose sole points are
lower during the contact) and marker kinematics (RIC), never from the pipeline.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from gait.core.config import PipelineConfig
from gait.core.records import Q_SIDE_UNCERTAIN, SampleBlock
from gait.detect.side import SideChain, side_at
from gait.pipeline import Pipeline, analyze
from tests.conftest import stream


def _chain(**kw) -> SideChain:
    args = dict(memory=0.9, min_steps=3, min_agreement=0.75, min_score=2.0)
    args.update(kw)
    return SideChain(**args)


def test_a_common_part_larger_than_the_alternating_one_cancels():
    # every step's roll evidence is +30 deg/s of the runner's own plus +-20 by the foot: the raw sign
    # says "left" for every step, the chain's differences give the alternation
    chain = _chain()
    sides = ["right", "left"] * 10
    states = [chain.add(30.0 + (20.0 if s == "left" else -20.0), True) for s in sides]
    known = [st for st in states if st.known]
    assert len(known) >= len(sides) - 3
    assert all(st.side == sides[st.position] for st in known)
    last = states[-1]
    assert [side_at(last, i) for i in range(len(sides))] == sides  # the early steps by alternation


def test_noisy_evidence_is_outvoted_by_the_chain():
    rng = np.random.default_rng(3)
    chain = _chain()
    sides = ["left", "right"] * 40
    evidence = [(25.0 if s == "left" else -25.0) + rng.normal(0.0, 20.0) for s in sides]
    raw_right = np.mean([(e > 0) == (s == "left") for e, s in zip(evidence, sides)])
    states = [chain.add(e, True) for e in evidence]
    chain_right = np.mean([st.side == s for st, s in zip(states[5:], sides[5:])])
    assert raw_right < 0.95  # one step alone is wrong now and then
    assert chain_right == 1.0


def test_a_break_forgets_the_chain_and_missing_evidence_is_no_evidence():
    chain = _chain()
    for s in ["left", "right", "left", "right"]:
        st = chain.add(40.0 if s == "left" else -40.0, True)
    assert st.known and st.side == "right"
    st = chain.add(None, True)  # no evidence: the side follows by alternation
    assert st.side == "left" and st.position == 4
    st = chain.add(-40.0, False)  # a new chain (after a gap): one step proves nothing
    assert st.position == 0 and not st.known and st.side == "right"
    assert _chain().state().side is None


def _truth_sides(truth_path: str | Path) -> list[tuple[float, str]]:
    doc = json.loads(Path(truth_path).read_text(encoding="utf-8"))
    return [(float(c["ic_s"]), c["side"]) for c in doc["contacts"] if c.get("side") in ("left", "right")]


def _run(trial, frame_ms: float | None = None):
    from firmware_interface.files.recording import read_recording

    rec = read_recording(trial.csv)
    cfg = PipelineConfig(placement="sacrum")
    if frame_ms is None:
        return analyze(rec.block(), cfg, rec.sampling_rate_hz).steps, rec
    pipe = Pipeline(cfg.with_(frame_ms=frame_ms), rec.sampling_rate_hz)
    out = stream(pipe, rec.block(), [int(rec.sampling_rate_hz * frame_ms / 1000.0)])
    return [r for r in out if type(r).__name__ == "StepMetrics"], rec


def test_every_step_of_the_virtual_sacrum_recordings_has_the_right_side(sacrum_trials):
    right = total = 0
    for trial in sacrum_trials:
        steps, _ = _run(trial)
        truth = _truth_sides(trial.truth)
        tol = 0.4 * float(np.median(np.diff([t for t, _ in truth])))
        for s in steps:
            t_ic, t_side = min(truth, key=lambda ts: abs(ts[0] - s.ic_s))
            if abs(t_ic - s.ic_s) > tol:
                continue
            total += 1
            assert s.side is not None, f"{trial.name}: step at {s.ic_s:.2f} s without a side"
            right += s.side == t_side
    assert total > 500
    assert right / total >= 0.995, f"{right} of {total} steps with the right side"


def test_held_steps_wait_a_bounded_time_and_come_in_order(sacrum_trials):
    hold_s = PipelineConfig(placement="sacrum").params.trunk.side_hold_s
    trial = next(t for t in sacrum_trials if t.rate_hz == 100)
    steps, _ = _run(trial, frame_ms=100.0)
    latency = [s.emitted_s - s.to_s for s in steps]
    assert max(latency) > 0.8  # the chain's first steps waited for their side ...
    assert max(latency) <= hold_s + 0.75 + 0.1  # ... at most the hold beyond the usual wait
    assert float(np.median(latency)) < 0.4  # the rest are not held
    assert [s.ic_s for s in steps] == sorted(s.ic_s for s in steps)


def _cut(block: SampleBlock, t0: float, t1: float) -> SampleBlock:
    """The block without the samples in [t0, t1) (a data gap: time jumps)."""
    keep = (block.time_s < t0) | (block.time_s >= t1)
    return SampleBlock(time_s=block.time_s[keep], acc_mps2=block.acc_mps2[keep],
                       gyr_dps=None if block.gyr_dps is None else block.gyr_dps[keep])


def test_a_gap_starts_a_new_chain_whose_sides_are_right_again(sacrum_trials):
    from firmware_interface.files.recording import read_recording

    trial = next(t for t in sacrum_trials if t.rate_hz == 100)
    rec = read_recording(trial.csv)
    block = _cut(rec.block(), 12.0, 13.3)
    cfg = PipelineConfig(placement="sacrum")
    steps = analyze(block, cfg, rec.sampling_rate_hz).steps
    truth = _truth_sides(trial.truth)
    after = [s for s in steps if s.ic_s > 13.3]
    assert len(after) > 20
    for s in after:
        t_ic, t_side = min(truth, key=lambda ts: abs(ts[0] - s.ic_s))
        assert abs(t_ic - s.ic_s) < 0.1 and s.side == t_side
    # the chain after the gap started knowing nothing: its first steps were held for their side
    first = after[0]
    assert first.emitted_s - first.to_s > 0.6
    # streaming in small packets gives the same steps (held steps included)
    pipe = Pipeline(cfg, rec.sampling_rate_hz)
    live = [r for r in stream(pipe, block, [7]) if type(r).__name__ == "StepMetrics"]
    assert [(s.ic_s, s.side, s.quality) for s in live] == [(s.ic_s, s.side, s.quality) for s in steps]


def test_a_chain_too_short_to_know_is_released_in_time_and_flagged(sacrum_trials):
    from firmware_interface.files.recording import read_recording

    trial = next(t for t in sacrum_trials if t.rate_hz == 100)
    rec = read_recording(trial.csv)
    full = rec.block()
    fs = rec.sampling_rate_hz
    # five seconds of running, then two steps' worth after a gap, then the sensor lies still
    i_run = int(5.0 * fs)
    j0, j1 = int(8.0 * fs), int(8.75 * fs)
    still_n = int(4.0 * fs)
    t_still = full.time_s[j1 - 1] + (np.arange(1, still_n + 1) / fs)
    acc_still = np.tile(np.median(full.acc_mps2[:i_run], axis=0), (still_n, 1))
    block = SampleBlock(
        time_s=np.concatenate([full.time_s[:i_run], full.time_s[j0:j1], t_still]),
        acc_mps2=np.concatenate([full.acc_mps2[:i_run], full.acc_mps2[j0:j1], acc_still]),
        gyr_dps=np.concatenate([full.gyr_dps[:i_run], full.gyr_dps[j0:j1], np.zeros((still_n, 3))]),
    )
    cfg = PipelineConfig(placement="sacrum")
    steps = analyze(block, cfg, fs).steps
    pipe = Pipeline(cfg, fs)
    live = [r for r in stream(pipe, block, [1]) if type(r).__name__ == "StepMetrics"]
    assert [(s.ic_s, s.side, s.quality) for s in live] == [(s.ic_s, s.side, s.quality) for s in steps]
    late = [s for s in live if s.ic_s > 7.9]
    assert late, "the steps after the gap were found"
    assert all(Q_SIDE_UNCERTAIN in s.quality for s in late)
    hold_s = cfg.params.trunk.side_hold_s
    # released while the stream went on (sample by sample: the emission time is exact)
    assert all(s.emitted_s - s.to_s <= hold_s + 0.75 + 0.1 for s in late)
    assert all(math.isfinite(s.emitted_s) and s.emitted_s < block.time_s[-1] - 1.0 for s in late)
