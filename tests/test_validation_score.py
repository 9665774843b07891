"""gait.validation.score on hand-made contact lists with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gait.validation.score import (
    Detected,
    Score,
    TruthContact,
    cadence_consistency,
    floors_for,
    match_contacts,
    normalize_strike,
    pool,
    score_trial,
    truth_cadence_spm,
)

STEP = 0.4  # s; 150 spm


def _truth(n: int = 10, gct: float = 0.25, **kw) -> list[TruthContact]:
    return [
        TruthContact(ic_s=1.0 + k * STEP, to_s=1.0 + k * STEP + gct, side="left" if k % 2 == 0 else "right", **kw)
        for k in range(n)
    ]


def _det(ic: float, to: float, **kw) -> dict:
    return {"ic_s": ic, "to_s": to, "side": None, "gct_ms": (to - ic) * 1000.0, **kw}


def test_perfect_detection():
    truth = _truth()
    det = [_det(t.ic_s, t.to_s, cadence_spm=150.0) for t in truth]
    s = score_trial(det, truth)
    assert s.n_truth == 10 and s.n_detected == 10 and s.n_matched == 10
    assert s.recall_pct == 100.0 and s.precision_pct == 100.0
    assert s.ic_bias_ms == pytest.approx(0.0, abs=1e-9)
    assert s.gct_mae_ms == pytest.approx(0.0, abs=1e-9)
    # the last truth contact has no next contact, so no cadence truth
    assert s.cadence_err_spm == pytest.approx(0.0, abs=1e-9)
    assert s.cadence_step_mae_spm == pytest.approx(0.0, abs=1e-9)
    assert s.tolerance_s == pytest.approx(0.4 * STEP)


def test_missed_and_extra_step():
    truth = _truth(10)
    det = [_det(t.ic_s, t.to_s) for i, t in enumerate(truth) if i != 3]  # miss the 4th
    det.append(_det(truth[5].ic_s + 0.2, truth[5].ic_s + 0.3))  # halfway between 6th and 7th: extra
    s = score_trial(det, truth)
    assert s.n_truth == 10
    assert s.n_detected == 10
    assert s.n_matched == 9
    assert s.recall_pct == pytest.approx(90.0)
    assert s.precision_pct == pytest.approx(90.0)


def test_detections_outside_truth_span_are_ignored():
    truth = _truth(5)
    det = [_det(t.ic_s, t.to_s) for t in truth] + [_det(0.0, 0.2), _det(9.0, 9.2)]
    s = score_trial(det, truth)
    assert s.n_detected == 5 and s.precision_pct == 100.0


def test_bias_sd_and_mae():
    truth = _truth(4, gct=0.25)
    ic_off = [0.010, 0.020, 0.030, 0.040]  # s, late
    to_off = [-0.010, -0.010, -0.010, -0.010]
    det = [_det(t.ic_s + a, t.to_s + b) for t, a, b in zip(truth, ic_off, to_off, strict=True)]
    s = score_trial(det, truth)
    assert s.ic_bias_ms == pytest.approx(25.0)
    assert s.ic_sd_ms == pytest.approx(np.std([10, 20, 30, 40], ddof=1))
    assert s.to_bias_ms == pytest.approx(-10.0)
    assert s.to_sd_ms == pytest.approx(0.0, abs=1e-9)
    # GCT errors: -20, -30, -40, -50 ms
    assert s.gct_mae_ms == pytest.approx(35.0)
    assert s.gct_bias_ms == pytest.approx(-35.0)


def test_gct_taken_from_ic_to_when_missing():
    # a detector that reports contacts only: contact time is TO - IC
    d = Detected.from_any({"ic_s": 1.0, "to_s": 1.25})
    assert d.gct_ms == pytest.approx(250.0)
    # a detector that says it cannot measure contact time (null) is not scored on it
    d = Detected.from_any({"ic_s": 1.0, "to_s": 1.25, "gct_ms": None})
    assert math.isnan(d.gct_ms)


def test_cadence_vo_fsa_strike_and_labels():
    truth = [
        TruthContact(ic_s=1.0 + k * STEP, to_s=1.25 + k * STEP, side="left" if k % 2 == 0 else "right",
                     vo_cm=8.0, fsa_deg=20.0, strike="rearfoot", label="RFS" if k < 3 else "FFS")
        for k in range(5)
    ]
    det = [
        _det(t.ic_s, t.to_s, cadence_spm=152.0, vo_cm=8.5, fsa_deg=17.0 if k % 2 else 22.0,
             strike="rearfoot" if k != 4 else "midfoot")
        for k, t in enumerate(truth)
    ]
    s = score_trial(det, truth)
    assert s.cadence_step_mae_spm == pytest.approx(2.0)
    assert s.cadence_err_spm == pytest.approx(2.0)
    assert s.vo_mae_cm == pytest.approx(0.5)
    assert s.fsa_mae_deg == pytest.approx((2 + 3 + 2 + 3 + 2) / 5)
    assert s.strike_n == 5 and s.strike_acc_pct == pytest.approx(80.0)
    # detected vs label: k=0,1,2 rearfoot==RFS agree; k=3 rearfoot vs FFS no; k=4 midfoot vs FFS no
    assert s.label_n == 5 and s.label_agreement_pct == pytest.approx(60.0)
    # truth class vs label: 3 of 5
    assert s.label_truth_n == 5 and s.label_truth_agreement_pct == pytest.approx(60.0)


def test_cadence_per_step_vs_trial():
    truth = _truth(5)
    det = [_det(t.ic_s, t.to_s, cadence_spm=c) for t, c in zip(truth, [148, 152, 148, 152, 0], strict=True)]
    s = score_trial(det, truth)
    assert s.cadence_step_mae_spm == pytest.approx(2.0)  # every step 2 spm off
    assert s.cadence_err_spm == pytest.approx(0.0, abs=1e-9)  # but no trial-level error


def test_foot_sensor_scores_only_its_side_and_counts_other_foot_as_extra():
    truth = _truth(10)  # alternating left (even) / right (odd)
    left = [t for t in truth if t.side == "left"]
    det = [_det(t.ic_s + 0.005, t.to_s, cadence_spm=150.0) for t in left]
    s = score_trial(det, truth, foot=True, foot_side="left")
    assert s.n_truth == 5 and s.n_matched == 5 and s.precision_pct == 100.0
    assert s.ic_bias_ms == pytest.approx(5.0)
    # foot cadence truth is 120 / stride = 120 / 0.8 = 150
    assert s.cadence_step_mae_spm == pytest.approx(0.0, abs=1e-9)
    # tolerance from the step time of both feet: a right-foot detection is a false positive
    det2 = det + [_det(truth[1].ic_s, truth[1].to_s)]
    s2 = score_trial(det2, truth, foot=True, foot_side="left")
    assert s2.n_matched == 5 and s2.n_detected == 6
    assert s2.precision_pct == pytest.approx(100 * 5 / 6)


def test_truth_cadence():
    truth = _truth(4)
    trunk = truth_cadence_spm(truth, foot=False)
    assert math.isnan(trunk[-1]) and np.allclose(trunk[:-1], 150.0)
    foot = truth_cadence_spm(truth, foot=True)
    assert np.isnan(foot[:2]).all() and np.allclose(foot[2:], 150.0)


def test_matching_is_one_to_one_nearest_first():
    # two detections near one truth contact: the nearer one wins, the other is an extra
    m = match_contacts([0.98, 1.01, 1.39], [1.0, 1.4], tolerance_s=0.1)
    assert m.pairs == [(1, 0), (2, 1)]
    assert m.unmatched_detected == [0]
    assert m.unmatched_truth == []


def test_matching_tolerance():
    m = match_contacts([1.2], [1.0], tolerance_s=0.1, span=(0, 5))
    assert m.pairs == [] and m.unmatched_detected == [0] and m.unmatched_truth == [0]


def test_pool_concatenates_errors():
    truth = _truth(4)
    a = score_trial([_det(t.ic_s + 0.010, t.to_s) for t in truth], truth)
    b = score_trial([_det(t.ic_s + 0.030, t.to_s) for t in truth[:3]], truth)
    p = pool([a, b])
    assert p.n_truth == 8 and p.n_matched == 7 and p.n_trials == 2
    assert p.recall_pct == pytest.approx(100 * 7 / 8)
    assert p.ic_bias_ms == pytest.approx((4 * 10 + 3 * 30) / 7)


def test_empty_inputs_give_nan_not_errors():
    s = score_trial([], _truth(3))
    assert s.recall_pct == 0.0 and math.isnan(s.precision_pct) and math.isnan(s.ic_bias_ms)
    assert isinstance(pool([]), Score)


def test_floors():
    s = Score(n_truth=100, n_detected=100, n_matched=100, gct_err_ms=np.array([15.0, -15.0]))
    trunk = {f.metric: f.check(s) for f in floors_for("sacrum") if f.metric == "gct_mae_ms"}
    foot = {f.metric: f.check(s) for f in floors_for("foot") if f.metric == "gct_mae_ms"}
    assert trunk == {"gct_mae_ms": True} and foot == {"gct_mae_ms": False}
    vo = next(f for f in floors_for("sacrum") if f.metric == "vo_mae_cm")
    assert vo.check(s) is None  # no data


def test_normalize_strike():
    assert normalize_strike("RFS") == "rearfoot"
    assert normalize_strike("ffs") == "forefoot"
    assert normalize_strike("midfoot") == "midfoot"
    assert normalize_strike("") is None and normalize_strike(None) is None


def test_cadence_consistency_ankle_vs_hip():
    hip_ic = [1.0 + k * STEP for k in range(300)]  # 2 minutes at 150 spm
    hip = [{"ic_s": t, "to_s": t + 0.25, "cadence_spm": 150.0} for t in hip_ic]
    # ankle: every other hip step (left foot), 10 ms late; half of them 1 spm high, one 5 spm high
    ankle = [
        {"ic_s": t + 0.01, "to_s": t + 0.25, "cadence_spm": 150.0 + (1.0 if i % 2 else 0.0) + (4.0 if i == 10 else 0.0)}
        for i, t in enumerate(hip_ic[::2])
    ]
    c = cadence_consistency(ankle, hip)
    assert c.n_ankle == 150 and c.n_hip == 300
    # the first ankle contact ends no stride: 149 strides compared, each against the hip's
    # cadence over the same interval (exactly 150 spm here)
    assert c.n_matched == 149 and c.diff_spm.size == 149
    expected = (sum(1.0 for i in range(1, 150) if i % 2) + 4.0) / 149
    assert c.mean_abs_diff_spm == pytest.approx(expected)
    assert c.within_2spm_pct == pytest.approx(100 * 148 / 149)
    assert len(c.per_minute) == 2
    assert c.per_minute[0]["hip_steps"] == 150 and c.per_minute[0]["ankle_steps"] == 150
    assert c.per_minute[0]["hip_spm"] == pytest.approx(150.0)
    # a clock offset of a fraction of a step between the sensors does not change the comparison
    shifted = [dict(d, ic_s=d["ic_s"] + 0.17) for d in ankle]
    c2 = cadence_consistency(shifted, hip)
    assert c2.mean_abs_diff_spm == pytest.approx(expected)
    # a hip stop (no step for 2 s) leaves the strides across it out
    hip_gap = [d for d in hip if not (100.0 < d["ic_s"] < 102.0)]
    c3 = cadence_consistency(ankle, hip_gap)
    assert c3.diff_spm.size < 149


def test_report_tables_render_scores_and_missing_rows():
    from gait.validation import report

    truth = _truth(6)
    s = score_trial([_det(t.ic_s + 0.01, t.to_s) for t in truth], truth)
    rows = [
        report.Row("RBDS", "foot", "200", "ours", s),
        report.Row("RBDS+RIC", "foot", "all", "gaitmap (not run)", None, notes=["run make gaitmap-env"]),
    ]
    text = report.text_table(rows)
    assert "+10±0" in text and "100.0" in text and "run make gaitmap-env" in text
    md = report.markdown_table(rows)
    assert md.count("\n") == 3 and md.startswith("| dataset |")


def test_excluded_truth_counts_neither_way():
    from gait.validation.score import Detected, TruthContact, score_trial

    truth = [TruthContact(ic_s=i * 0.35, to_s=i * 0.35 + 0.25, side="left" if i % 2 else "right") for i in range(10)]
    truth[4] = TruthContact(ic_s=truth[4].ic_s, to_s=truth[4].to_s, side=truth[4].side, excluded=True)
    truth[7] = TruthContact(ic_s=truth[7].ic_s, to_s=truth[7].to_s, side=truth[7].side, excluded=True)
    detected = [Detected(ic_s=t.ic_s + 0.01, to_s=t.to_s, side=t.side) for t in truth if t.ic_s != truth[7].ic_s]
    s = score_trial(detected, truth)
    assert s.n_truth == 8  # two excluded
    assert s.n_matched == 8 and s.recall_pct == 100.0
    assert s.n_detected == 8 and s.precision_pct == 100.0  # the detection at excluded contact 4 is set aside


def test_side_and_lean_errors():
    from gait.validation.score import Detected, TruthContact, score_trial

    truth = [TruthContact(ic_s=i * 0.35, to_s=i * 0.35 + 0.25, side="left" if i % 2 else "right", lean_deg=5.0)
             for i in range(8)]
    detected = [Detected(ic_s=t.ic_s, to_s=t.to_s, side=("left" if i < 6 and i % 2 else "right"), lean_deg=6.0)
                for i, t in enumerate(truth)]
    s = score_trial(detected, truth)
    assert s.side_n == 8 and s.side_correct == 7  # contact 7 is 'left' in truth, 'right' detected
    assert s.side_acc_pct == 87.5
    assert s.lean_mae_deg == 1.0


def test_speed_bands_and_speed_text():
    from gait.validation.score import speed_band, speeds_text

    assert [speed_band(v) for v in (2.5, 2.91, 3.33, 3.35, 3.5, 4.17, 4.5)] == [
        "~2.5", "~3.5", "~3.5", "~3.5", "~3.5", "~4.5", "~4.5"]
    assert speed_band(None) == "?" and speed_band(math.nan) == "?"
    assert speeds_text([2.5, 2.5]) == "2.5"
    assert speeds_text([3.353539, 2.910051, None]) == "2.91-3.35"
    assert speeds_text([None]) == "?"


def test_steps_without_a_side_are_counted_apart_from_wrong_ones():
    from gait.validation.score import Detected, TruthContact, pool, score_trial

    truth = [TruthContact(ic_s=i * 0.35, to_s=i * 0.35 + 0.25, side="left" if i % 2 else "right") for i in range(10)]
    sides = [t.side for t in truth]
    sides[2] = None  # no side
    sides[3] = None
    sides[5] = "right"  # wrong
    detected = [Detected(ic_s=t.ic_s, to_s=t.to_s, side=s) for t, s in zip(truth, sides)]
    s = score_trial(detected, truth)
    assert (s.side_n, s.side_correct, s.side_missing) == (8, 7, 2)
    assert s.side_missing_pct == 20.0 and s.side_acc_pct == 87.5
    p = pool([s, s])
    assert (p.side_n, p.side_missing) == (16, 4) and p.side_missing_pct == 20.0


def test_report_splits_rows_by_speed_and_lists_goals():
    from gait.validation import report

    truth = _truth(6)
    s = score_trial([_det(t.ic_s, t.to_s) for t in truth], truth)
    rows = [report.Row("RIC", "sacrum", "200", "ours", s, speed="2.91-3.35")]
    text = report.text_table(rows)
    assert "speed m/s" in text.splitlines()[0] and "2.91-3.35" in text.splitlines()[2]
    goals = [report.GoalResult("sacrum", "steps with the right side >= 99.5 %", "~3.5", 99.7, True, "RIC")]
    assert "met" in report.goals_text(goals) and "| ~3.5 |" in report.goals_text(goals, markdown=True)
