"""The pipeline's configuration as data: parameters nested in PipelineConfig, round-trips through
dict, JSON and TOML, typed errors, and `gait analyze --config`; and the one assembly of step
metrics from contact events (each key means the same on every placement)."""

from __future__ import annotations

import json
import re
from dataclasses import fields, replace

import numpy as np
import pytest

from firmware_interface.files.recording import write_recording
from gait.cli import main
from gait.core.config import Calibration, PipelineConfig, StrikeThresholds, load_pipeline_toml
from gait.core.errors import ConfigError
from gait.core.events import ContactEvent
from gait.core.params import Params, PipelineParams, UnknownSettingError, from_dict
from gait.core.records import Q_IMPLAUSIBLE
from gait.metrics.assemble import assemble_step
from gait.pipeline import analyze
from gait.synthetic import SyntheticRunner


def _tuned() -> PipelineConfig:
    """A config with non-default values at every level (top, nested table, nested params)."""
    p = PipelineParams()
    params = replace(
        p,
        trunk=replace(p.trunk, alternation_correction=False, min_contact_s=0.08),
        foot=replace(p.foot, foot_progression_deg=5.5, warmup_strides_count=3),
        orientation=replace(p.orientation, gravity_lp_order=2, gyro_correction=False),
        quality=replace(p.quality, gct_max_ms=550.0),
        vertical=replace(p.vertical, oversample_count=8),
    )
    return PipelineConfig(
        placement="foot",
        side="right",
        speed_mps=3.2,
        strike=StrikeThresholds(rearfoot_above_deg=7.0),
        calibration=Calibration(gravity_sensor=(0.1, -0.2, 0.97)),
        acc_range_g=16.0,
        params=params,
    )


def test_round_trip_through_dict_json_and_toml_with_nested_params():
    config = _tuned()
    d = config.to_dict()
    assert d["params"]["trunk"]["alternation_correction"] is False
    assert d["params"]["foot"]["warmup_strides_count"] == 3
    json.dumps(d)  # plain values only
    assert PipelineConfig.from_dict(d) == config
    assert PipelineConfig.from_json(config.to_json()) == config
    text = config.to_toml()
    assert "[pipeline.params.trunk]" in text
    assert PipelineConfig.from_toml(text) == config
    assert PipelineConfig.from_toml(PipelineConfig().to_toml()) == PipelineConfig()


def test_a_partial_pipeline_table_overrides_the_defaults_and_other_tables_are_ignored(tmp_path):
    path = tmp_path / "gait.toml"
    path.write_text(
        '[coach]\npreset = "less-bounce"\n\n[influxdb]\nurl = "http://localhost:8086"\n\n'
        '[pipeline]\nspeed_mps = 3\n\n[pipeline.params.trunk]\nmin_peak_g = 1.4\n'
    )
    config = load_pipeline_toml(path)
    defaults = PipelineConfig()
    assert config.speed_mps == 3.0 and isinstance(config.speed_mps, float)
    assert config.params.trunk.min_peak_g == 1.4
    assert config.params.trunk.min_contact_s == defaults.params.trunk.min_contact_s
    assert config.params.foot == defaults.params.foot
    assert replace(config, speed_mps=None, params=defaults.params) == defaults
    # no [pipeline] table at all: the defaults
    path.write_text('[coach]\npreset = "default"\n')
    assert load_pipeline_toml(path) == defaults


@pytest.mark.parametrize(
    "data,key",
    [
        ({"params": {"trunk": {"min_contact_ss": 0.07}}}, "params.trunk.min_contact_ss"),
        ({"params": {"feet": {}}}, "params.feet"),
        ({"placment": "foot"}, "placment"),
        ({"strike": {"rearfoot_deg": 8.0}}, "strike.rearfoot_deg"),
    ],
)
def test_an_unknown_key_is_a_typed_error_naming_it(data, key):
    with pytest.raises(UnknownSettingError) as err:
        PipelineConfig.from_dict(data)
    assert isinstance(err.value, ConfigError)
    assert err.value.key == key
    assert repr(key) in str(err.value)


@pytest.mark.parametrize(
    "data",
    [
        {"params": {"trunk": {"min_contact_s": -0.01}}},  # out of range
        {"params": {"quality": {"gct_min_ms": 700.0}}},  # min above max
        {"params": {"trunk": {"alternation_correction": 1}}},  # not a boolean
        {"params": {"orientation": {"gravity_lp_order": 2.5}}},  # not a whole number
        {"params": {"foot": {"min_peak_dps": "fast"}}},  # not a number
        {"params": {"trunk": 3}},  # not a table
        {"speed_mps": 40.0},
    ],
)
def test_bad_values_are_config_errors(data):
    with pytest.raises(ConfigError):
        PipelineConfig.from_dict(data)


def test_bad_toml_and_missing_file_are_config_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[pipeline\nplacement = 'foot'\n")
    with pytest.raises(ConfigError, match="bad.toml"):
        load_pipeline_toml(bad)
    with pytest.raises(ConfigError, match="no such file"):
        load_pipeline_toml(tmp_path / "missing.toml")


_UNIT = re.compile(r"_(s|ms|hz|g|mps|mps2|dps|deg|m|cm|spm|fraction|weight|ratio|count|order|correlation|vote)$")


def test_every_parameter_has_a_unit_in_its_name_a_doc_and_a_default():
    groups = [f.default_factory() for f in fields(PipelineParams)]
    assert len(groups) >= 6
    n = 0
    for group in groups:
        assert isinstance(group, Params)
        for f in fields(group):
            n += 1
            assert f.metadata.get("doc"), f"{type(group).__name__}.{f.name} has no doc"
            value = getattr(group, f.name)
            if not isinstance(value, bool):
                assert _UNIT.search(f.name), f"{type(group).__name__}.{f.name}: no unit in the name"
    assert n >= 65
    assert from_dict(PipelineParams, {}) == PipelineParams()


# ------------------------------------------------------------------------------------------------
# gait analyze --config


@pytest.fixture(scope="module")
def sacrum_csv(tmp_path_factory):
    runner = SyntheticRunner("sacrum", 200.0, seed=4)
    block = runner.next_block(200 * 30)
    path = tmp_path_factory.mktemp("rec") / "sacrum.csv"
    write_recording(path, block.time_s, block.acc_mps2, block.gyr_dps, {"placement": "sacrum"})
    return path


def _analyze(capsys, *args: str) -> tuple[int, list[dict], str]:
    rc = main(["analyze", *args])
    out, err = capsys.readouterr()
    return rc, [json.loads(line) for line in out.splitlines()], err


def test_analyze_with_a_config_file(sacrum_csv, tmp_path, capsys):
    rc, plain, _ = _analyze(capsys, str(sacrum_csv), "--placement", "sacrum", "--jsonl")
    assert rc == 0 and len(plain) > 40
    # the defaults written out as a config file: the same steps
    defaults = tmp_path / "defaults.toml"
    defaults.write_text('[coach]\npreset = "default"\n\n' + PipelineConfig().to_toml())
    rc, same, _ = _analyze(capsys, str(sacrum_csv), "--placement", "sacrum", "--jsonl", "--config", str(defaults))
    assert rc == 0 and same == plain
    # a parameter changed in the file changes the output
    tuned = tmp_path / "tuned.toml"
    tuned.write_text("[pipeline]\nspeed_mps = 3.0\n\n[pipeline.params.trunk]\nside_from_gyro = false\n")
    rc, other, _ = _analyze(capsys, str(sacrum_csv), "--placement", "sacrum", "--jsonl", "--config", str(tuned))
    assert rc == 0 and len(other) == len(plain)
    assert all(r["side"] is None for r in other) and any(r["side"] is not None for r in plain)
    assert all(r["vertical_ratio_pct"] is not None for r in other if r["vo_cm"] is not None)
    # ... and an option on the command line wins over the file
    rc, cli_wins, _ = _analyze(
        capsys, str(sacrum_csv), "--placement", "sacrum", "--jsonl", "--config", str(tuned), "--speed-mps", "4.0"
    )
    ratios = [(a["vertical_ratio_pct"], b["vertical_ratio_pct"]) for a, b in zip(other, cli_wins) if a["vo_cm"]]
    assert ratios and all(b == pytest.approx(a * 3.0 / 4.0, abs=2e-3) for a, b in ratios)


def test_analyze_with_a_bad_config_is_one_line_and_exit_2(sacrum_csv, tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[pipeline.params.trunk]\nmin_contact_ss = 0.07\n")
    rc, out, err = _analyze(capsys, str(sacrum_csv), "--placement", "sacrum", "--config", str(bad))
    assert rc == 2 and out == []
    assert len(err.strip().splitlines()) == 1 and "params.trunk.min_contact_ss" in err


@pytest.mark.parametrize("what", ["folder", "missing"])
def test_analyze_of_a_folder_or_missing_file_is_one_line_and_exit_2(tmp_path, capsys, what):
    path = tmp_path if what == "folder" else tmp_path / "nothing.csv"
    rc, out, err = _analyze(capsys, str(path), "--placement", "sacrum", "--jsonl")
    assert rc == 2 and out == []
    lines = err.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and "Traceback" not in err


# ------------------------------------------------------------------------------------------------
# one assembly for every placement


def test_the_same_contacts_give_the_same_metrics_whoever_saw_them():
    """A trunk sensor sees the next contact; a foot sensor sees its own stride. With symmetric
    steps both describe the same contacts, and every derived key agrees."""
    ic, to, step = 10.0, 10.24, 0.35
    trunk = ContactEvent(ic_s=ic, to_s=to, next_ic_s=ic + step, vo_cm=8.0)
    foot = ContactEvent(ic_s=ic, to_s=to, side="left", stride_s=2 * step, fsa_deg=4.0)
    config = PipelineConfig(speed_mps=3.0)
    a = assemble_step(trunk, config, 200.0)
    b = assemble_step(foot, config.with_(placement="foot"), 200.0)
    for key in ("gct_ms", "flight_ms", "cadence_spm", "duty_factor"):
        assert getattr(a, key) == pytest.approx(getattr(b, key), rel=1e-12), key
    assert a.flight_ms == pytest.approx(110.0)
    assert a.vertical_ratio_pct == pytest.approx(8.0 / (3.0 * step * 100.0) * 100.0)
    assert b.strike == "midfoot" and a.strike is None


def test_no_flight_is_negative_flight_on_every_placement():
    """Walking: the next contact starts before this one ends. Flight is reported as it is (not
    clamped) on every placement, and flagged implausible only beyond the quality bound."""
    config = PipelineConfig()
    trunk = assemble_step(ContactEvent(ic_s=0.0, to_s=0.6, next_ic_s=0.5), config, 100.0)
    foot = assemble_step(ContactEvent(ic_s=0.0, to_s=0.6, stride_s=1.0), config.with_(placement="foot"), 100.0)
    assert trunk.flight_ms == pytest.approx(-100.0) and foot.flight_ms == pytest.approx(-100.0)
    assert Q_IMPLAUSIBLE not in trunk.quality and Q_IMPLAUSIBLE not in foot.quality
    long = assemble_step(ContactEvent(ic_s=0.0, to_s=0.7, stride_s=1.0), config.with_(placement="foot"), 100.0)
    assert long.flight_ms == pytest.approx(-200.0) and Q_IMPLAUSIBLE in long.quality
    # toe-off not measured (a foot sensor without gyroscope): no contact-derived keys
    coarse = assemble_step(ContactEvent(ic_s=0.0, to_s=0.3, stride_s=0.7, to_measured=False), config, 100.0)
    assert coarse.gct_ms is None and coarse.flight_ms is None and coarse.duty_factor is None
    assert coarse.cadence_spm == pytest.approx(120.0 / 0.7)


def test_flight_means_the_same_on_a_trunk_and_a_foot_sensor():
    """One synthetic runner seen by a sacrum and a foot sensor: on both, flight = step time -
    contact time (step time = 60 / cadence), and the two placements agree on it."""
    medians = {}
    for placement in ("sacrum", "foot"):
        block = SyntheticRunner(placement, 200.0, seed=3).next_block(200 * 40)
        config = PipelineConfig(placement=placement, side="left" if placement == "foot" else None)
        steps = [s for s in analyze(block, config, 200.0).steps[4:] if s.flight_ms is not None]
        assert len(steps) > 30
        for s in steps:
            assert s.flight_ms == pytest.approx(60000.0 / s.cadence_spm - s.gct_ms, abs=1e-6)
        medians[placement] = float(np.median([s.flight_ms for s in steps]))
    assert abs(medians["sacrum"] - medians["foot"]) < 30.0
