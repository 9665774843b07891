"""The coach: synthetic step streams with known faults at known times, and the real outdoor run.

Timing arithmetic used below: a rule's window median flips about ``window_steps / 2`` steps after
a step change (20-step window at 170 spm: ~3.5 s), then the rule waits ``min_duration_s`` (20 s)
before its first alert. So a fault starting at T is cued inside [T + 20, T + 27] s.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest

from gait.coach import (
    Coach,
    CoachConfig,
    RunContext,
    baseline_from_steps,
    coach_run,
    list_presets,
    load_config,
    load_preset,
)
from gait.core.errors import ConfigError
from gait.core.records import (
    ALERT_CLEAR,
    ALERT_CUE,
    ALERT_SILENT,
    ALERT_STOP,
    Q_IMPLAUSIBLE,
    Q_UNCALIBRATED,
    Alert,
    StepMetrics,
)
from tests.conftest import adept_run_path

REPO = Path(__file__).resolve().parents[1]
Fn = Callable[[float], float]


# ------------------------------------------------------------------------------------------------
# synthetic runner
# ------------------------------------------------------------------------------------------------
def level(base: float, *changes: tuple[float, float, float]) -> Fn:
    """``base``, except ``value`` for t0 <= t < t1 for each change (t0, t1, value)."""

    def f(t: float) -> float:
        for t0, t1, v in changes:
            if t0 <= t < t1:
                return v
        return base

    return f


def run(
    duration_s: float = 900.0,
    cadence: Fn | None = None,
    vo: Fn | None = None,
    gct: Fn | None = None,
    lean: Fn | None = None,
    vr: Fn | None = None,
    strike: Callable[[int, float], str | None] = lambda i, t: None,
    sides: bool = False,
    gct_side: Callable[[str, float], float] | None = None,
    quality: Callable[[int, float], tuple[str, ...]] = lambda i, t: (),
    skip: Callable[[float], bool] = lambda t: False,
) -> list[StepMetrics]:
    """Steps of a steady runner (170 spm, VO 8 cm, GCT 250 ms, lean 5 deg); every metric a function of time."""
    cadence = cadence or level(170.0)
    vo = vo or level(8.0)
    gct = gct or level(250.0)
    lean = lean or level(5.0)
    out = []
    t, i = 0.0, 0
    while t < duration_s:
        c = cadence(t)
        side = ("left", "right")[i % 2] if sides else None
        g = gct_side(side, t) if (gct_side and side) else gct(t)
        if not skip(t):
            out.append(
                StepMetrics(
                    ic_s=t,
                    to_s=t + g / 1000.0,
                    side=side,
                    gct_ms=g,
                    flight_ms=60000.0 / c - g,
                    cadence_spm=c,
                    vo_cm=vo(t),
                    vertical_ratio_pct=None if vr is None else vr(t),
                    fsa_deg=None,
                    strike=strike(i, t),
                    lean_deg=lean(t),
                    impact_g=None,
                    duty_factor=None,
                    quality=quality(i, t),
                )
            )
        t += 60.0 / c
        i += 1
    return out


def of(alerts: list[Alert], kind: str | None = None, rule: str | None = None) -> list[Alert]:
    return [a for a in alerts if (kind is None or a.kind == kind) and (rule is None or a.rule == rule)]


def cfg(preset: str = "default", **over) -> CoachConfig:
    return load_preset(preset).merged(over)


TRUNK = RunContext(placement="waist")


# ------------------------------------------------------------------------------------------------
# single faults
# ------------------------------------------------------------------------------------------------
def test_bounce_jump_is_cued_once_then_cleared_and_the_rest_stays_silent():
    # VO 8 -> 11 cm at t = 300 s for 60 s; everything else steady.
    steps = run(900, vo=level(8.0, (300, 360, 11.0)))
    alerts, summary = coach_run(steps, "less-bounce", TRUNK)
    cues = of(alerts, ALERT_CUE)
    assert [a.rule for a in cues] == ["bounce"]
    assert 320.0 <= cues[0].time_s <= 327.0
    assert cues[0].value == pytest.approx(11.0)
    assert cues[0].message.startswith("Less bounce")
    clears = of(alerts, ALERT_CLEAR)
    assert [a.rule for a in clears] == ["bounce"] and 360.0 < clears[0].time_s < 366.0
    # on-target stretches say nothing: no bounce alert outside [300, 366]
    assert all(300.0 <= a.time_s <= 366.0 for a in of(alerts, rule="bounce"))
    b = summary["rules"]["bounce"]
    assert b["cues"] == 1 and b["corrections"] == 1
    assert 33.0 <= b["median_time_to_correction_s"] <= 45.0
    # 60 s of ~2,550 steps off target (plus the window lag)
    assert 0.92 <= b["on_target_share"] <= 0.97


def test_short_excursions_below_the_minimum_duration_stay_silent():
    # VO up for 15 s every 2 minutes: never 20 s in a row
    changes = [(t, t + 15.0, 11.0) for t in range(200, 900, 120)]
    alerts, summary = coach_run(run(900, vo=level(8.0, *changes)), "less-bounce", TRUNK)
    assert of(alerts, rule="bounce") == []
    assert summary["rules"]["bounce"]["episodes"] == len(changes)


def test_hysteresis_holds_the_alert_between_exit_and_enter_thresholds():
    # 11 cm for 40 s, then 8.8 cm: below the enter (9.0) but above the exit (8.6) of less-bounce
    steps = run(900, vo=level(8.0, (300, 340, 11.0), (340, 500, 8.8)))
    alerts, _ = coach_run(steps, "less-bounce", TRUNK)
    bounce = of(alerts, rule="bounce")
    assert [a.kind for a in bounce] == [ALERT_CUE, ALERT_CUE, ALERT_CLEAR]
    # still off target at 8.8 cm: the cue repeats after repeat_s = 90 s, and clears only at 8.0 cm
    assert bounce[1].time_s - bounce[0].time_s == pytest.approx(90.0, abs=1.0)
    assert 500.0 < bounce[2].time_s < 506.0


def test_cadence_drop_of_8_percent_is_cued_and_no_feedback_block_records_silently():
    # baseline 160 spm for 3 min, then the runner holds +6.25 % (170 spm, on target), with two
    # 8 % drops (to 156.4 spm): one inside a feedback block, one inside the no-feedback block.
    cad = level(170.0, (0, 180, 160.0), (380, 440, 156.4), (500, 560, 156.4))
    alerts, summary = coach_run(run(900, cadence=cad), "cadence-builder", TRUNK)
    assert summary["baseline"]["cadence_spm"] == pytest.approx(160.0)
    cues = of(alerts, ALERT_CUE)
    assert [a.rule for a in cues] == ["cadence"]
    assert 400.0 <= cues[0].time_s <= 406.0
    assert cues[0].message == "Quicker, shorter steps"
    assert cues[0].target.startswith("168 to 176 spm")
    # the second drop falls in the no-feedback block (480-600 s): recorded, not voiced
    silent = of(alerts, ALERT_SILENT, "cadence")
    assert len(silent) == 2 and 520.0 <= silent[0].time_s <= 526.0 and 560.0 < silent[1].time_s < 566.0
    blocks = summary["blocks"]
    assert [(b["kind"], b["start_run_s"]) for b in blocks[:4]] == [
        ("quiet", 0.0),
        ("feedback", 180.0),
        ("no_feedback", 480.0),
        ("feedback", 600.0),
    ]
    nofb = blocks[2]
    assert nofb["rules"]["cadence"]["cues"] == 0 and nofb["rules"]["cadence"]["silent"] == 2
    assert 0.45 <= nofb["rules"]["cadence"]["on_target_share"] <= 0.55  # 60 s of 120 s off target
    assert nofb["held"] is False  # the drop shows the change did not hold without feedback
    assert blocks[3]["rules"]["cadence"]["on_target_share"] == 1.0


def test_heel_strike_share_of_40_percent_is_cued_from_a_foot_sensor():
    # midfoot landings; from t = 300 s to 420 s, 2 of every 5 contacts are rearfoot (40 %)
    def strike(i: int, t: float) -> str:
        return "rearfoot" if 300 <= t < 420 and i % 5 in (0, 2) else "midfoot"

    steps = run(900, strike=strike)
    alerts, summary = coach_run(steps, "no-heel-strike", RunContext(placement="foot"))
    cues = of(alerts, ALERT_CUE)
    assert [a.rule for a in cues] == ["heel_strike", "heel_strike"]  # 120 s off: the cue, then a repeat
    # the share over 30 contacts passes 35 % only after ~28 contacts (~10 s), then 15 s min duration
    assert 322.0 <= cues[0].time_s <= 327.0
    assert cues[1].time_s - cues[0].time_s == pytest.approx(90.0, abs=1.0)  # repeat_s
    assert cues[0].value == pytest.approx(40.0, abs=4.0)
    assert summary["rules"]["heel_strike"]["corrections"] == 1
    # the same stream on a waist sensor: foot strike is not measurable there, nothing is said
    alerts_w, summary_w = coach_run(steps, "no-heel-strike", TRUNK)
    assert of(alerts_w, rule="heel_strike") == []
    assert summary_w["rules"]["heel_strike"]["measurable"] is False


def test_lean_is_judged_against_the_runners_own_baseline():
    # uncalibrated lean (no zero): baseline 5 deg; +6 deg at t = 300 s is off target, even though
    # 11 deg is inside the self-selected range of Teng & Powers
    uncal = lambda i, t: (Q_UNCALIBRATED,)  # noqa: E731
    steps = run(900, lean=level(5.0, (300, 380, 11.0)), quality=uncal)
    alerts, summary = coach_run(steps, cfg(focus={"rules": ["lean"]}), TRUNK)
    cues = of(alerts, ALERT_CUE)
    assert [a.rule for a in cues] == ["lean"] and 320.0 <= cues[0].time_s <= 327.0
    assert cues[0].message.startswith("Run tall")
    assert summary["baseline"]["lean_deg"] == pytest.approx(5.0)
    # an absolute band needs a calibrated zero: with uncalibrated steps the rule never judges
    absolute = cfg(
        focus={"rules": ["lean"]},
        rules={"lean": {"reference": "absolute", "above": 12.0, "above_exit": 10.0, "below": 2.0, "below_exit": 4.0}},
    )
    _, s2 = coach_run(steps, absolute, TRUNK)
    assert s2["rules"]["lean"]["evaluated_steps"] == 0


def test_asymmetry_from_contact_time_balance():
    gs = lambda side, t: 275.0 if side == "left" and 300 <= t < 400 else 245.0  # noqa: E731
    alerts, summary = coach_run(run(900, sides=True, gct_side=gs), cfg(focus={"rules": ["asymmetry"]}), TRUNK)
    cues = of(alerts, ALERT_CUE)
    assert [a.rule for a in cues] == ["asymmetry"]
    assert cues[0].value == pytest.approx(100 * 275 / 520, abs=0.05)  # 52.9 % left
    assert "left" in cues[0].message
    # sides unknown: the rule is enabled but cannot be measured
    _, s2 = coach_run(run(300), "default", TRUNK)
    assert s2["rules"]["asymmetry"]["measurable"] is False


# ------------------------------------------------------------------------------------------------
# focus, cool-down, fading, quality flags, pauses
# ------------------------------------------------------------------------------------------------
def test_non_focus_rules_are_recorded_silently():
    # less-bounce focus; contact time and lean go off target too: recorded, never voiced
    steps = run(
        900, vo=level(8.0, (300, 360, 11.0)), gct=level(250.0, (500, 600, 300.0)), lean=level(5.0, (650, 750, 12.0))
    )
    alerts, summary = coach_run(steps, "less-bounce", TRUNK)
    assert {a.rule for a in of(alerts, ALERT_CUE)} == {"bounce"}
    ct = of(alerts, rule="contact_time")
    assert [a.kind for a in ct] == [ALERT_SILENT, ALERT_SILENT]  # off target, on target again
    assert 520.0 <= ct[0].time_s <= 527.0 and ct[0].value == pytest.approx(300.0)
    assert [a.kind for a in of(alerts, rule="lean")] == [ALERT_SILENT, ALERT_SILENT]
    assert summary["rules"]["contact_time"]["cues"] == 0 and summary["rules"]["contact_time"]["silent"] == 2
    assert summary["rules"]["contact_time"]["self_corrections"] == 1


def test_auto_focus_takes_the_highest_priority_rule_off_target():
    # default preset: cadence is judged against the baseline (160 spm, the median of the first
    # 3 min); the runner is at +6 % from 150 s, so after the baseline only bounce (from 200 s) and
    # contact time (from 250 s) are off target.
    steps = run(
        900, cadence=level(170.0, (0, 150, 160.0)), vo=level(8.0, (200, 500, 10.5)), gct=level(250.0, (250, 500, 300.0))
    )
    alerts, summary = coach_run(steps, "default", TRUNK)
    assert summary["focus"][0]["rule"] == "bounce"
    assert {a.rule for a in of(alerts, ALERT_CUE)} == {"bounce"}
    assert of(alerts, ALERT_SILENT, "contact_time")


def test_focus_in_turn_per_block():
    config = cfg(
        focus={"rules": ["bounce", "contact_time"], "scope": "block"},
        feedback={"blocks": {"feedback_s": 240.0, "no_feedback_s": 60.0}},
    )
    steps = run(1100, vo=level(8.0, (200, 1100, 10.5)), gct=level(250.0, (200, 1100, 300.0)))
    alerts, summary = coach_run(steps, config, TRUNK)
    fb = [b for b in summary["blocks"] if b["kind"] == "feedback"]
    # feedback blocks start at 180, 480, 780 and 1080 s (240 s on, 60 s off)
    assert [b["focus"] for b in fb] == ["bounce", "contact_time", "bounce", "contact_time"]
    for b in fb[:3]:  # each feedback block cues its own focus only
        other = "contact_time" if b["focus"] == "bounce" else "bounce"
        assert b["rules"][b["focus"]]["cues"] >= 2 and b["rules"][other]["cues"] == 0
    for b in summary["blocks"]:
        if b["kind"] != "feedback":
            assert all(r["cues"] == 0 for r in b["rules"].values())


def test_cues_repeat_no_faster_than_repeat_s_and_two_rules_respect_the_cool_down():
    # less-bounce: bounce and vertical ratio are one focus; both go off at the same moment
    steps = run(900, vo=level(8.0, (300, 600, 11.0)), vr=level(7.0, (300, 600, 9.5)))
    alerts, _ = coach_run(steps, "less-bounce", TRUNK)
    cues = of(alerts, ALERT_CUE)
    times = [a.time_s for a in cues]
    assert {a.rule for a in cues} == {"bounce", "vertical_ratio"}
    assert all(b - a >= 30.0 - 1e-9 for a, b in zip(times, times[1:]))  # feedback.cooldown_s
    tb = [a.time_s for a in cues if a.rule == "bounce"]
    tv = [a.time_s for a in cues if a.rule == "vertical_ratio"]
    assert 320.0 <= tb[0] <= 327.0 and len(tb) == 4  # 300 s off target: ~t0 + 23 s, then every 90 s
    assert tv[0] - tb[0] == pytest.approx(30.0, abs=0.5) and len(tv) == 3  # waited for the cool-down
    for t in (tb, tv):
        assert all(b - a >= 90.0 - 1e-9 for a, b in zip(t, t[1:]))


def test_faded_feedback_gives_fewer_cues_as_the_runner_keeps_correcting():
    # a 40 s bounce fault every 150 s; the runner corrects each time within the 60 s window
    changes = [(t, t + 40.0, 11.0) for t in range(300, 2400, 150)]
    steps = run(2400, vo=level(8.0, *changes))
    plain, _ = coach_run(steps, "less-bounce", TRUNK)
    faded, s = coach_run(steps, cfg("less-bounce", feedback={"fade": {"enabled": True}}), TRUNK)
    n_plain, n_faded = len(of(plain, ALERT_CUE)), len(of(faded, ALERT_CUE))
    assert n_plain == len(changes) == 14
    # ratio 1 -> 0.5 (after the 1st correction) -> 0.25 (after the 2nd): episodes 1, 3, 7, 11 voiced
    assert n_faded == 4
    assert s["fade"]["ratio"] == 0.25
    faded_silent = [a for a in of(faded, ALERT_SILENT, "bounce") if "faded" in a.message]
    assert len(faded_silent) == n_plain - n_faded  # skipped cues are still recorded


def test_flagged_steps_are_ignored():
    # 40 % of steps carry an 'implausible' flag with a wild VO: the window never sees them
    q = lambda i, t: (Q_IMPLAUSIBLE,) if i % 5 in (1, 3) else ()  # noqa: E731
    v = lambda t: 8.0  # noqa: E731
    steps = run(900, vo=v, quality=q)
    steps = [s if not s.quality else StepMetrics(**{**_fields(s), "vo_cm": 20.0}) for s in steps]
    alerts, summary = coach_run(steps, "less-bounce", TRUNK)
    assert of(alerts, rule="bounce") == []
    assert summary["rules"]["bounce"]["on_target_share"] == 1.0


def _fields(s: StepMetrics) -> dict:
    return {k: getattr(s, k) for k in StepMetrics.__dataclass_fields__}


def test_a_stop_mid_fault_interrupts_the_episode_without_a_clear():
    steps = run(900, vo=level(8.0, (300, 600, 11.0)), skip=lambda t: 340 <= t < 400)
    alerts, summary = coach_run(steps, "less-bounce", TRUNK)
    bounce = of(alerts, rule="bounce")
    assert of(bounce, ALERT_CLEAR)[0].time_s > 600.0  # only after the real correction
    assert summary["pauses"] == 1 and summary["rules"]["bounce"]["interrupted"] == 1
    # after the stop the episode starts again: a new cue ~20 s after running resumes
    after = [a.time_s for a in of(bounce, ALERT_CUE) if a.time_s > 400]
    assert 420.0 <= after[0] <= 427.0


def test_speed_matched_cadence_baseline():
    # baseline 160 spm at 3.0 m/s; later 3.5 m/s at 168 spm: +5 % naively, but a faster runner
    # takes quicker steps anyway (8 spm per m/s -> 164 spm), so only +2.4 %: off target.
    def vr_at(speed: float, cad: float, vo: float = 8.0) -> float:
        return vo / (speed * 60.0 / cad * 100.0) * 100.0  # VO / step length, %

    cad = level(168.0, (0, 180, 160.0))
    vr = lambda t: vr_at(3.0, 160.0) if t < 180 else vr_at(3.5, 168.0)  # noqa: E731
    focus_cad = cfg(focus={"rules": ["cadence"]})
    alerts, s = coach_run(run(600, cadence=cad, vr=vr), focus_cad, TRUNK)
    assert s["baseline"]["speed_mps"] == pytest.approx(3.0, abs=0.01)
    cues = of(alerts, ALERT_CUE, "cadence")
    assert cues and "baseline 164 spm" in cues[0].target
    # speed unknown (no vertical ratio): assumed constant, and 168 spm is +5 %: on target
    alerts2, _ = coach_run(run(600, cadence=cad), focus_cad, TRUNK)
    assert of(alerts2, ALERT_CUE, "cadence") == []


def test_calibration_run_baseline():
    cal = run(300, cadence=level(150.0), lean=level(2.0))
    base = baseline_from_steps(cal)
    assert base.cadence_spm == pytest.approx(150.0) and base.lean_deg == pytest.approx(2.0)
    config = cfg(focus={"rules": ["cadence"]}).merged(base.to_overrides())
    coach = Coach(config, TRUNK)
    assert coach.baseline.result.cadence_spm == pytest.approx(150.0)
    # 160 spm is +6.7 % over the calibration baseline: on target from the first minutes on
    alerts, s = coach_run(run(600, cadence=level(160.0)), config, TRUNK)
    assert of(alerts, rule="cadence") == [] and s["rules"]["cadence"]["on_target_share"] == 1.0


# ------------------------------------------------------------------------------------------------
# pain
# ------------------------------------------------------------------------------------------------
def test_pain_stop_overrides_and_silences_every_other_cue():
    steps = run(900, vo=level(8.0, (300, 900, 11.0)))
    alerts, summary = coach_run(
        steps, "less-bounce", TRUNK, pain=[(0.0, 1, "before"), (420.0, 5, "during"), (905.0, 3, "after")]
    )
    stops = of(alerts, ALERT_STOP)
    assert stops[0].time_s == 420.0 and stops[0].message == "Stop and walk: pain 5/10"
    # the runner kept running: reminded every 60 s, and not one form cue after the stop
    assert [round(a.time_s) for a in stops[1:3]] == [480, 540]
    assert all(a.time_s < 420.0 for a in of(alerts, ALERT_CUE) + of(alerts, ALERT_CLEAR))
    assert of(alerts, ALERT_CUE, "bounce")  # there was one before
    assert summary["pain"] == {
        "before": 1,
        "during": [5],
        "max_during": 5,
        "after": 3,
        "change_after": 2,
        "stopped_at_s": 420.0,
    }


def test_pain_rise_rule_and_scores_below_it():
    coach = Coach(load_preset("default"), TRUNK)
    assert coach.pain(1, 0.0, "before") == []
    assert coach.pain(2, 100.0) == []  # +1: go on
    stop = coach.pain(3, 200.0)  # +2 over the pre-run score
    assert [a.kind for a in stop] == [ALERT_STOP] and "up from 1 to 3" in stop[0].message
    assert coach.stopped
    # sciatica-gentle stops at 4/10
    gentle = Coach(load_preset("sciatica-gentle"), TRUNK)
    assert gentle.pain(4, 50.0)[0].kind == ALERT_STOP
    # a high pre-run score: walk today
    pre = Coach(load_preset("default"), TRUNK).pain(6, 0.0, "before")
    assert pre[0].kind == ALERT_STOP and "before the run" in pre[0].message
    with pytest.raises(ValueError, match="0 to 10"):
        coach.pain(11, 1.0)
    with pytest.raises(ValueError, match="phase"):
        coach.pain(1, 1.0, "mid")


# ------------------------------------------------------------------------------------------------
# configuration
# ------------------------------------------------------------------------------------------------
def test_presets_load_and_round_trip():
    assert list_presets() == ["cadence-builder", "default", "less-bounce", "no-heel-strike", "sciatica-gentle"]
    for name in list_presets():
        c = load_preset(name)
        assert c.name == name and c.description
        assert CoachConfig.from_toml(c.to_toml()) == c
        assert CoachConfig.from_json(c.to_json()) == c
    # the default preset is the built-in defaults
    assert load_preset("default").with_(name="default", description="") == CoachConfig()
    gentle = load_preset("sciatica-gentle")
    assert gentle.focus.rules == ("cadence",) and gentle.feedback.fade.enabled and gentle.pain.stop_at == 4
    assert gentle.rules.heel_strike.enabled is False and gentle.rules.lean.above == 4.0
    assert math.isinf(CoachConfig().rules.bounce.below)


def test_user_overrides_on_a_preset(tmp_path):
    user = tmp_path / "me.toml"
    user.write_text("[rules.cadence]\nbelow = 4.0\nbelow_exit = 6.0\n\n[pain]\nstop_at = 3\n")
    c = load_config("cadence-builder", user)
    assert (c.rules.cadence.below, c.rules.cadence.below_exit, c.pain.stop_at) == (4.0, 6.0, 3)
    assert c.rules.cadence.window_steps == 16  # the preset's value survives
    assert load_config("default", {"speed_mps": 3.2}).speed_mps == 3.2


@pytest.mark.parametrize(
    ("over", "words"),
    [
        ({"rules": {"bounce": {"above_exit": 10.0}}}, "above_exit (10.0) must be at or below above (9.7)"),
        ({"rules": {"bounce": {"colour": "red"}}}, "coach.rules.bounce: unknown settings ['colour']"),
        ({"rules": {"heel_strike": {"reference": "baseline"}}}, "coach.rules.heel_strike.reference"),
        ({"rules": {"cadence": {"window_steps": 0}}}, "window_steps must be an integer"),
        ({"focus": {"rules": ["speed"]}}, "unknown rule 'speed'"),
        ({"focus": {"rules": ["cadence", "bounce"]}}, "one focus per run"),
        ({"focus": {"rules": ["heel_strike"]}, "rules": {"heel_strike": {"enabled": False}}}, "disabled rules"),
        ({"pain": {"stop_at": 12}}, "coach.pain.stop_at"),
        ({"feedback": {"fade": {"factor": 2.0}}}, "coach.feedback.fade.factor"),
        ({"speed_mps": "fast"}, "coach.speed_mps"),
        ({"feedback": {"clear_cue": "yes"}}, "coach.feedback.clear_cue must be true or false"),
    ],
)
def test_config_errors_are_clear(over, words):
    with pytest.raises(ConfigError) as err:
        CoachConfig().merged(over)
    assert words in str(err.value)


def test_unknown_preset_and_bad_toml():
    with pytest.raises(ConfigError, match="unknown coach preset 'fast'; presets: cadence-builder"):
        load_preset("fast")
    with pytest.raises(ConfigError, match="not valid TOML"):
        CoachConfig.from_toml("[rules\n")


# ------------------------------------------------------------------------------------------------
# the real run: 25 minutes outdoors, waist accelerometer (adeptdata, GPL-3)
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def hip_steps() -> list[StepMetrics]:
    from firmware_interface.files.adept import read_adept
    from gait.core.config import PipelineConfig
    from gait.core.records import SampleBlock
    from gait.pipeline import analyze

    hip = read_adept(adept_run_path())["left_hip"]
    block = SampleBlock(time_s=hip.time_s - hip.time_s[0], acc_mps2=hip.acc_mps2)
    return analyze(block, PipelineConfig(placement="waist"), 100.0).steps


def test_real_run_default_preset(hip_steps):
    alerts, s = coach_run(hip_steps, "default", RunContext(placement="waist"))
    assert len(hip_steps) > 2500
    # baseline from the first 3 minutes of running
    assert s["baseline"]["cadence_spm"] == pytest.approx(157.5, abs=1.0)
    assert s["baseline"]["vo_cm"] == pytest.approx(9.6, abs=0.3)
    # the runner does not change the cadence: cadence becomes the focus and is cued all run
    assert s["focus"] == [{"run_s": pytest.approx(181.3, abs=1.0), "rule": "cadence"}]
    cues = of(alerts, ALERT_CUE)
    assert {a.rule for a in cues} == {"cadence"}
    minutes = [round(a.time_s / 60.0, 1) for a in cues]
    assert minutes[0] == pytest.approx(3.4, abs=0.2)
    assert 10 <= len(cues) <= 14
    assert all(b - a >= 30.0 for a, b in zip([c.time_s for c in cues], [c.time_s for c in cues][1:]))
    # nothing voiced during the baseline minutes; other rules recorded silently
    assert all(a.time_s >= 180.0 for a in cues)
    assert of(alerts, ALERT_SILENT, "contact_time") and of(alerts, ALERT_SILENT, "bounce")
    cad = s["rules"]["cadence"]
    assert cad["on_target_share"] < 0.2
    # stops and walks in the recording pause the coach; rules a waist sensor cannot feed stay quiet
    assert s["pauses"] >= 5
    assert s["rules"]["heel_strike"]["measurable"] is False
    assert s["rules"]["vertical_ratio"]["measurable"] is False  # no speed, no vertical ratio


def test_real_run_sciatica_gentle(hip_steps):
    alerts, s = coach_run(
        hip_steps, "sciatica-gentle", RunContext(placement="waist"), pain=[(0.0, 2, "before"), (900.0, 4, "during")]
    )
    cues = of(alerts, ALERT_CUE)
    assert {a.rule for a in cues} <= {"cadence"} and cues
    # cues only in the feedback blocks (180-480 s, 600-900 s), none in the 2-minute gaps
    assert all(180 <= a.time_s < 480 or 600 <= a.time_s < 900 for a in cues)
    # the pain check-in at 15 min (4/10) stops the run: nothing but stop reminders after it
    assert of(alerts, ALERT_STOP)[0].time_s == 900.0
    assert all(a.time_s < 900.0 for a in cues)
    assert s["pain"]["stopped_at_s"] == 900.0
    assert len(cues) < len(of(coach_run(hip_steps, "default", TRUNK)[0], ALERT_CUE))
