"""Foot strike class near a class edge: the class is kept and the step is flagged near_boundary."""

from __future__ import annotations

import pytest

from gait.core.config import PipelineConfig, StrikeThresholds
from gait.core.events import ContactEvent
from gait.core.records import Q_NEAR_BOUNDARY
from gait.metrics.assemble import assemble_step


def _step(fsa: float | None, config: PipelineConfig | None = None):
    cfg = config or PipelineConfig(placement="foot", side="left")
    event = ContactEvent(ic_s=1.0, to_s=1.25, side="left", stride_s=0.75, fsa_deg=fsa)
    return assemble_step(event, cfg, 200.0)


# Altman & Davis edges: rearfoot above 8.0 deg, forefoot below -1.6 deg; flagged within 2 deg of either
@pytest.mark.parametrize(
    ("fsa", "strike", "near"),
    [
        (10.5, "rearfoot", False),
        (9.9, "rearfoot", True),
        (8.0, "midfoot", True),  # on the edge: midfoot (not above 8), and flagged
        (6.1, "midfoot", True),
        (5.0, "midfoot", False),
        (0.5, "midfoot", False),  # 2.1 deg above the forefoot edge
        (0.3, "midfoot", True),
        (-1.7, "forefoot", True),
        (-3.5, "forefoot", True),
        (-3.7, "forefoot", False),
        (-12.0, "forefoot", False),
    ],
)
def test_class_is_kept_and_flagged_near_an_edge(fsa, strike, near):
    s = _step(fsa)
    assert s.strike == strike
    assert (Q_NEAR_BOUNDARY in s.quality) is near


def test_no_angle_no_flag_and_the_margin_is_a_setting():
    assert Q_NEAR_BOUNDARY not in _step(None).quality
    tight = PipelineConfig(placement="foot", side="left", strike=StrikeThresholds(near_boundary_deg=0.5))
    assert Q_NEAR_BOUNDARY not in _step(9.9, tight).quality
    assert Q_NEAR_BOUNDARY in _step(8.4, tight).quality


def test_scoring_counts_flagged_strike_classes_apart():
    from gait.validation.score import TruthContact, score_trial

    truth = [TruthContact(ic_s=i * 0.7, to_s=i * 0.7 + 0.25, side="left", strike="midfoot") for i in range(10)]
    detected = []
    for i, t in enumerate(truth):
        s = _step([5.0, 7.0, 8.5][i % 3])  # midfoot, midfoot near the edge, rearfoot near the edge
        detected.append({**s.to_contract(), "ic_s": t.ic_s, "to_s": t.to_s})
    sc = score_trial(detected, truth, foot=True, foot_side="left")
    assert sc.strike_n == 10 and sc.strike_correct == 7  # i % 3 == 2 (3 steps) are rearfoot
    assert sc.strike_near_n == 6 and sc.near_boundary_pct == 60.0
    assert sc.strike_firm_acc_pct == 100.0  # the 4 steps away from an edge are all right
