"""Tests of the validation-data tooling (gait.validation): readers, virtual IMU, truth, build.

Uses the public data sets of data/datasets.toml (fetched on first use, or from GAIT_DATA_MIRROR).
"""

from __future__ import annotations

import functools
import io
import json
from pathlib import Path

import numpy as np
import pytest

from gait.validation import datasets as D
from gait.validation import mocap, truth
from gait.validation.virtual_imu import (
    G_MPS2,
    SensorModel,
    angular_rate_body,
    ideal_signals,
    kabsch,
    random_mount,
    simulate_sensor,
    track_segment,
)
from tests.conftest import data_root

DATA = data_root()


@functools.cache
def rbds(subject: str) -> D.MocapTrial:
    return D.load_rbds_trial(DATA, subject)


def read_csv(path: Path) -> tuple[dict, list[str], np.ndarray]:
    meta, body = {}, []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            key, _, value = line[1:].partition(":")
            meta[key.strip()] = value.strip()
        else:
            body.append(line)
    header = body[0].split(",")
    return meta, header, np.loadtxt(io.StringIO("\n".join(body[1:])), delimiter=",", ndmin=2)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, list[D.Trial]]:
    out = tmp_path_factory.mktemp("vset")
    return out, D.build_validation_set(out)


def truth_of(built, name: str) -> dict:
    out, trials = built
    tr = next(t for t in trials if t.name == name)
    return json.loads(tr.truth.read_text(encoding="utf-8"))


# ----------------------------------------------------------------------------- synthetic checks


def _rigid_markers(rot: np.ndarray, origin: np.ndarray, local: np.ndarray) -> list[np.ndarray]:
    return [np.einsum("nij,j->ni", rot, p) + origin for p in local]


def test_synthetic_rotation_gives_known_rate():
    fs = 200.0
    t = np.arange(0, 3.0, 1 / fs)
    axis_world = np.array([0.3, 0.8, 0.5])
    axis_world /= np.linalg.norm(axis_world)
    rate_dps = 250.0
    from scipy.spatial.transform import Rotation

    r0 = Rotation.from_euler("xyz", [20, -35, 60], degrees=True).as_matrix()
    rot = Rotation.from_rotvec(np.outer(np.radians(rate_dps) * t, axis_world)).as_matrix() @ r0
    origin = np.column_stack([0.5 * t, 1.0 + 0.05 * np.sin(2 * np.pi * 1.5 * t), np.zeros_like(t)])
    local = np.array([[0.05, 0, 0], [0, 0.04, 0], [0, 0, 0.06], [-0.03, -0.02, 0.01]])
    run = _rigid_markers(rot, origin, local)
    static = [p[:1] for p in run]  # pose at t = 0 is the "standing" pose
    trk = track_segment(run, static, r0, origin[0], t, fs, 20.0, "synthetic")
    assert trk.fit_rms_m < 1e-4
    _, gyr = ideal_signals(trk, np.eye(3))
    expected = rate_dps * (r0.T @ axis_world)  # constant in the body frame
    inner = slice(40, -40)
    np.testing.assert_allclose(gyr[inner], np.broadcast_to(expected, gyr[inner].shape), atol=0.5)
    # with a mounting rotation the sensor sees mount^T omega
    mount, _ = random_mount(np.random.default_rng(1), "foot")
    _, gyr_m = ideal_signals(trk, mount)
    np.testing.assert_allclose(gyr_m[inner], np.broadcast_to(mount.T @ expected, gyr_m[inner].shape), atol=0.5)


def test_synthetic_translation_gives_specific_force():
    fs = 150.0
    t = np.arange(0, 4.0, 1 / fs)
    amp, f = 0.05, 2.6  # 5 cm at running step frequency
    origin = np.column_stack([np.zeros_like(t), 1.0 + amp * np.sin(2 * np.pi * f * t), np.zeros_like(t)])
    rot = np.broadcast_to(np.eye(3), (t.size, 3, 3)).copy()
    local = np.array([[0.05, 0, 0], [0, 0.04, 0], [0, 0, 0.06]])
    run = _rigid_markers(rot, origin, local)
    trk = track_segment(run, [p[:1] for p in run], np.eye(3), origin[0], t, fs, 15.0, "bounce")
    acc, gyr = ideal_signals(trk, np.eye(3))
    expected_y = G_MPS2 - amp * (2 * np.pi * f) ** 2 * np.sin(2 * np.pi * f * t)
    inner = slice(30, -30)
    np.testing.assert_allclose(acc[inner, 1], expected_y[inner], atol=0.15)
    assert np.abs(acc[inner][:, [0, 2]]).max() < 1e-6
    assert np.abs(gyr).max() < 1e-6


def test_kabsch_recovers_rotation():
    from scipy.spatial.transform import Rotation

    rots = Rotation.random(5, random_state=3).as_matrix()
    template = np.random.default_rng(0).normal(size=(4, 3))
    frames = np.einsum("nij,mj->nmi", rots, template) + np.array([1.0, 2.0, 3.0])
    r, _, _ = kabsch(template, frames)
    np.testing.assert_allclose(r, rots, atol=1e-10)


def test_angular_rate_constant():
    from scipy.spatial.transform import Rotation

    t = np.arange(100) / 100.0
    rot = Rotation.from_rotvec(np.outer(t * 3.0, [0, 0, 1])).as_matrix()
    w = angular_rate_body(rot, 100.0)
    np.testing.assert_allclose(w[:, 2], 3.0, atol=1e-9)


def test_sensor_model_noise_bias_quantisation_and_seed():
    fs = 200.0
    t = np.arange(0, 5.0, 1 / 150.0)
    rot = np.broadcast_to(np.eye(3), (t.size, 3, 3)).copy()
    pos = np.column_stack([t * 0, t * 0 + 1, t * 0])
    local = np.array([[0.05, 0, 0], [0, 0.04, 0], [0, 0, 0.06]])
    run = _rigid_markers(rot, pos, local)
    trk = track_segment(run, [p[:1] for p in run], np.eye(3), pos[0], t, 150.0, 15.0, "still")
    model = SensorModel()
    bias_a, bias_g = np.array([0.05, -0.08, 0.02]), np.array([0.5, -0.9, 0.1])
    rec = simulate_sensor(trk, np.eye(3), fs, np.random.default_rng(7), bias_a, bias_g, model)
    rec2 = simulate_sensor(trk, np.eye(3), fs, np.random.default_rng(7), bias_a, bias_g, model)
    np.testing.assert_array_equal(rec.acc_mps2, rec2.acc_mps2)
    assert np.all(np.diff(rec.time_s) > 0)
    assert abs(np.median(np.diff(rec.time_s)) - 1 / fs) < 1e-9
    np.testing.assert_allclose(rec.acc_mps2.mean(0), [0.05, G_MPS2 - 0.08, 0.02], atol=0.01)
    np.testing.assert_allclose(rec.gyr_dps.mean(0), bias_g, atol=0.02)
    assert 0.04 < rec.acc_mps2[:, 0].std() < 0.06  # 0.05 m/s^2 RMS at 200 Hz
    assert 0.08 < rec.gyr_dps[:, 0].std() < 0.12
    counts = rec.acc_mps2 / model.acc_lsb
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-6)
    # reproducible mounts, proper rotations
    m1, d1 = random_mount(np.random.default_rng(D.seed_for("x")), "sacrum")
    m2, _ = random_mount(np.random.default_rng(D.seed_for("x")), "sacrum")
    np.testing.assert_array_equal(m1, m2)
    np.testing.assert_allclose(m1.T @ m1, np.eye(3), atol=1e-12)
    assert np.linalg.det(m1) > 0 and d1["kind"] == "sacrum"


# ----------------------------------------------------------------------------- readers / static


def test_readers_and_lab_frame():
    tr = rbds("RBDS001")
    assert tr.run.rate_hz == 150.0 and len(tr.run) == 4500
    assert tr.force.rate_hz == 300.0 and tr.force.force_n.shape == (9000, 3)
    # standard frame: right-side markers on +Z, forward +X, Y up
    assert np.nanmean(tr.run.get("R.ASIS")[:, 2] - tr.run.get("L.ASIS")[:, 2]) > 0.15
    assert np.nanmean(tr.run.get("R.ASIS")[:, 0] - tr.run.get("R.PSIS")[:, 0]) > 0.1
    assert truth.vertical_force_column(tr.force.force_n) == 1
    assert any("swapped" in n for n in tr.notes)  # RBDS001 run: R.MT1 / R.MT5 labels swapped
    ric = D.load_ric_trial(DATA, "20140515T133244")
    assert ric.run.rate_hz == 200.0 and len(ric.run) == 5000
    assert np.nanmean(ric.run.get("R_thigh_1")[:, 2] - ric.run.get("L_thigh_1")[:, 2]) > 0.05
    assert ric.events.shape == (37, 4)
    rows = mocap.read_rbds_info(DATA / "rbds" / "RBDSinfo_v2.txt")
    assert any(r.get("Subject") == "39" for r in rows)  # short rows parse by header


@pytest.mark.parametrize("subject", ["RBDS0041", "RBDS001"])
def test_static_trial_virtual_sacrum_is_still(subject):
    tr = rbds(subject)
    acc, gyr = D.static_sensor_signals(tr, random_mount(np.random.default_rng(3), "sacrum")[0])
    inner = slice(10, -10)
    norm = np.linalg.norm(acc[inner], axis=1)
    assert abs(np.median(norm) - G_MPS2) < 0.05
    assert np.abs(norm - G_MPS2).max() < 0.3
    assert np.median(np.linalg.norm(gyr[inner], axis=1)) < 1.0
    assert np.abs(gyr[inner]).max() < 3.0


def test_foot_gyro_sign_matches_marker_pitch():
    """The virtual foot gyro about the segment's right axis is the foot pitch rate (+ = toes up)."""
    tr = rbds("RBDS0041")
    tracks = D.segment_tracks(tr)
    trk = tracks["foot_right"]
    mount, _ = random_mount(np.random.default_rng(5), "foot")
    _, gyr = ideal_signals(trk, mount)
    pitch_rate = gyr @ (mount.T @ np.array([0.0, 0.0, 1.0]))
    pitch = D._foot_pitch_deg(trk)
    d_pitch = np.gradient(pitch, tr.run.time_s)
    sel = np.abs(np.radians(pitch)) < 0.6  # away from large roll coupling
    assert np.corrcoef(pitch_rate[sel], d_pitch[sel])[0, 1] > 0.95


# ----------------------------------------------------------------------------- truth numbers


def test_rbds001_force_contacts(built):
    doc = truth_of(built, "RBDS001_sacrum_200hz")
    s = doc["summary"]
    assert abs(s["n_contacts"] - 78) <= 2  # DATA.md: 78 steps in 30 s (trimmed ends may drop one)
    assert abs(s["median_gct_ms"] - 277) <= 6
    assert abs(s["cadence_spm"] - 156.5) <= 1.5
    assert doc["side_assignment"]["alternation_breaks"] == 0
    assert 57 < doc["body_mass_kg"] < 65
    sides = [c["side"] for c in doc["contacts"]]
    assert all(a != b for a, b in zip(sides, sides[1:]))


def test_rbds0041_contact_time_and_mass(built):
    doc = truth_of(built, "RBDS0041_foot_left_100hz")
    assert abs(doc["summary"]["median_gct_ms"] - 297) <= 6
    assert abs(doc["body_mass_kg"] - 78.3) < 1.0
    assert doc["labels"] is None  # not subject 4: no table row attached


def test_rbds001_vertical_excursion(built):
    doc = truth_of(built, "RBDS001_sacrum_100hz")
    s = doc["summary"]
    # DATA.md: pelvis markers move about 95 mm per step (their centroid); mid-PSIS moves more
    assert abs(s["mean_vo_pelvis_centroid_cm"] - 9.5) < 0.4
    assert 9.0 < s["mean_vo_cm"] < 11.5
    for st in doc["steps"]:
        assert 0.25 < st["step_time_s"] < 0.5 and 6.0 < st["vo_cm"] < 14.0


def test_foot_strike_angle_truth(built):
    ff = truth_of(built, "RBDS001_foot_right_200hz")
    fsa = np.array([c["fsa_deg"] for c in ff["contacts"]])
    assert np.mean((fsa > -5) & (fsa < 8)) >= 0.8
    assert all(c["strike"] in ("MFS", "FFS") for c in ff["contacts"])
    lab = ff["labels"]
    assert lab["right"] == "Forefoot" and lab["left"] == "Forefoot"
    assert 0.0 <= lab["agreement"]["left"]["agreement"] <= 1.0
    rf = truth_of(built, "RBDS0041_foot_right_200hz")
    fsa = np.array([c["fsa_deg"] for c in rf["contacts"]])
    assert abs(np.mean(fsa) - 20) < 4
    assert all(c["strike"] == "RFS" for c in rf["contacts"])


def test_ric_kinematic_truth(built):
    for stamp in D.RIC_TRIALS:
        doc = truth_of(built, f"RIC{stamp}_sacrum_200hz")
        s = doc["summary"]
        assert s["n_contacts"] > 60 and s["n_left"] == pytest.approx(s["n_right"], abs=2)
        assert 150 < s["median_gct_ms"] < 350 and 150 < s["cadence_spm"] < 210
        assert 5 < s["mean_vo_cm"] < 13
        assert 2.0 < doc["speed_mps"] < 4.5
        val = doc["kinematic_method_validation"]
        for subject in D.RBDS_TRIALS:
            for side in ("left", "right"):
                assert abs(val[subject][side]["ic_mean_ms"]) < 10
                assert val[subject][side]["ic_sd_ms"] < 10
    doc = truth_of(built, "RIC20140515T133244_foot_left_200hz")
    chk = doc["mat_events_check"]
    assert chk["left_vs_cols01"]["ic_matched"] >= 30  # .mat columns 0-1 are the left foot


# ----------------------------------------------------------------------------- outputs


def test_built_recordings_follow_the_csv_format(built):
    out, trials = built
    names = {t.name for t in trials}
    for subject in ("RBDS001", "RBDS0041", "RIC20140515T133244", "RIC20141003T073938"):
        for rate in (100, 200):
            for sensor in ("sacrum", "foot_left", "foot_right"):
                assert f"{subject}_{sensor}_{rate}hz" in names
    assert sum(t.name.startswith("alcantara_") for t in trials) == 20
    assert (out / "index.json").is_file()
    tr = next(t for t in trials if t.name == "RBDS0041_foot_left_200hz")
    meta, header, data = read_csv(tr.csv)
    assert header == ["time_s", "acc_x_mps2", "acc_y_mps2", "acc_z_mps2", "gyr_x_dps", "gyr_y_dps", "gyr_z_dps"]
    assert meta["placement"] == "foot" and meta["side"] == "left" and meta["license"] == "CC-BY-4.0"
    assert float(meta["speed_mps"]) == 2.5
    t = data[:, 0]
    assert np.all(np.diff(t) > 0) and abs(np.median(np.diff(t)) - 0.005) < 1e-9
    doc = json.loads(tr.truth.read_text(encoding="utf-8"))
    assert doc["recording"]["t_start_s"] <= doc["contacts"][0]["ic_s"]
    assert doc["contacts"][-1]["to_s"] <= doc["recording"]["t_end_s"]
    for key in ("ic_s", "to_s", "side", "gct_ms", "fsa_deg", "strike"):
        assert key in doc["contacts"][0]
    # the mean specific force of a sacrum sensor over whole strides is ~ g along the standing "up"
    sac = next(t for t in trials if t.name == "RBDS0041_sacrum_200hz")
    _, _, d2 = read_csv(sac.csv)
    up = np.array(json.loads(sac.truth.read_text())["sensor"]["up_in_sensor_static"])
    assert abs(np.linalg.norm(d2[:, 1:4].mean(0)) - G_MPS2) < 0.3
    assert d2[:, 1:4].mean(0) @ up > 9.0


def test_alcantara_and_adept(built):
    out, trials = built
    doc = truth_of(built, "alcantara_trial01_sacrum_500hz")
    assert abs(doc["summary"]["cadence_spm"] - 190) < 3  # DATA.md: 190 steps/min, 254 ms
    assert abs(doc["summary"]["median_gct_ms"] - 254) < 8
    assert doc["speed_mps"] == 2.5 and doc["slope_pct"] == 10
    tr = next(t for t in trials if t.name == "alcantara_trial01_sacrum_500hz")
    meta, header, data = read_csv(tr.csv)
    assert header[:4] == ["time_s", "acc_x_mps2", "acc_y_mps2", "acc_z_mps2"] and len(header) == 4
    assert 1.0 < data[:, 2].mean() / G_MPS2 < 1.3  # vertical incl. gravity
    adept = [t for t in trials if t.name.startswith("adept_")]
    assert {(t.placement, t.side) for t in adept} == {("foot", "left"), ("waist", None)}
    for t in adept:
        assert t.truth is None and (t.csv.parent / "DESCRIPTION").is_file()  # GPL-3 package metadata beside it
        meta, header, data = read_csv(t.csv)
        assert "GPL-3" in meta["license"]
        assert data.shape[0] == 150000 and np.all(np.diff(data[:, 0]) > 0)
        # the recording starts with the runner standing: |acc| ~ g
        assert abs(np.median(np.linalg.norm(data[:200, 1:4], axis=1)) - G_MPS2) < 0.5


# ----------------------------------------------------------------------------- marker cleaning, exclusions


def test_clean_cluster_fills_dropouts_and_flags_unrecoverable():
    from scipy.spatial.transform import Rotation

    from gait.validation.virtual_imu import STATUS_BAD, STATUS_FILLED, clean_cluster

    fs = 200.0
    t = np.arange(0, 2.0, 1 / fs)
    rot = Rotation.from_rotvec(np.outer(np.sin(2 * np.pi * 1.3 * t), [0.2, 0.5, 0.3])).as_matrix()
    origin = np.column_stack([np.sin(2 * np.pi * t), 0.1 + 0.05 * np.cos(2 * np.pi * t), 0 * t])
    local = np.array([[0.03, 0, 0], [0, 0.02, 0.01], [0, 0, 0.04], [-0.02, 0.01, 0.0]])
    truth_pos = np.stack(_rigid_markers(rot, origin, local), axis=1)  # (n, 4, 3)
    run = truth_pos.copy()
    run[50:90, 1] = np.nan  # a dropout of one marker: rigid fit of the other three
    run[120:125, 2] += 0.02  # a one-marker glitch
    run[200:260] = run[200:260].mean(axis=1, keepdims=True) + 0.5 * (
        run[200:260] - run[200:260].mean(axis=1, keepdims=True)
    )
    c = clean_cluster(truth_pos[0] - origin[0], run, fs)
    assert np.all(c.status[50:90] == STATUS_FILLED) and np.all(c.status[120:125] == STATUS_FILLED)
    np.testing.assert_allclose(c.positions[50:90], truth_pos[50:90], atol=1e-6)
    np.testing.assert_allclose(c.positions[120:125], truth_pos[120:125], atol=1e-6)
    assert np.all(c.status[200:260] == STATUS_BAD)  # the whole cluster shrinks: unrecoverable
    assert np.count_nonzero(c.status == STATUS_BAD) == 60
    trk = track_segment(
        list(np.moveaxis(run, 1, 0)),
        list(truth_pos[:1].transpose(1, 0, 2)),
        np.eye(3),
        truth_pos[0, 0],
        t,
        fs,
        20.0,
        "glitchy",
    )
    spans = trk.bad_spans(0.05)
    assert (
        len(spans) == 1 and spans[0][0] == pytest.approx(t[200] - 0.05) and spans[0][1] == pytest.approx(t[259] + 0.05)
    )


def test_ric_right_foot_is_fixed_or_excluded(built):
    """RIC 20140515T133244: the right foot cluster loses its shape around touchdown in ~16 places
    (all four markers at once, so no rigid fill is possible): those stretches are excluded, and the
    remaining right-foot stances read |f| ~ g at foot flat."""
    name = "RIC20140515T133244_foot_right_200hz"
    doc = truth_of(built, name)
    q = doc["quality"]
    assert q["rigid_fit"]["frames_unrecoverable"] > 100
    own = [sp for sp in doc["excluded_spans"] if sp["signal"]]
    assert len(own) >= 10 and all(sp["segment"] == "foot_right" for sp in own)
    right = [c for c in doc["contacts"] if c["side"] == "right"]
    kept = [c for c in right if not c["excluded"]]
    assert 8 <= len(kept) < len(right)
    ff = q["foot_flat"]
    assert q["ok"] and ff["n_fail"] == 0 and ff["n"] == len(kept)
    assert abs(ff["median_acc_norm_mps2"] - G_MPS2) < 2.0 and ff["max_residual_mps2"] < 5.0
    assert max(ff["excluded_residuals_mps2"]) > 40  # what the broken stretches read
    # the signal itself at the foot-flat instants of the kept contacts
    out, trials = built
    tr = next(t for t in trials if t.name == name)
    _, _, data = read_csv(tr.csv)
    up = np.array(doc["sensor"]["up_in_sensor_static"])
    t = data[:, 0]
    for c in kept:
        d = c["to_s"] - c["ic_s"]
        sel = (t >= c["ic_s"] + 0.1 * d) & (t <= c["ic_s"] + 0.7 * d)
        resid = np.linalg.norm(data[sel, 1:4] - G_MPS2 * up, axis=1)
        assert resid.min() < 5.0
        assert abs(np.linalg.norm(data[sel, 1:4][np.argmin(resid)]) - G_MPS2) < 4.0
    # the same exclusions reach the other sensors' truth (kinematic ICs from the broken foot)
    sac = truth_of(built, "RIC20140515T133244_sacrum_200hz")
    assert {c["ic_s"] for c in sac["contacts"] if c["excluded"] and c["side"] == "right"} == {
        c["ic_s"] for c in right if c["excluded"]
    }
    assert not any(sp["signal"] for sp in sac["excluded_spans"])
    # a clean trial has none
    clean = truth_of(built, "RIC20141003T073938_foot_right_200hz")
    assert clean["excluded_spans"] == [] and clean["summary"]["n_excluded"] == 0
    assert clean["quality"]["rigid_fit"]["fit_rms_max_mm"] < 1.0


def test_truth_fields_source_and_pelvis_tilt(built):
    out, trials = built
    for tr in trials:
        if tr.truth is None:
            continue
        doc = json.loads(tr.truth.read_text(encoding="utf-8"))
        expected = "kinematic" if tr.name.startswith("RIC") else "force"
        assert doc["contacts_source"] == expected, tr.name
        assert all("excluded" in c for c in doc["contacts"])
    rb = truth_of(built, "RBDS001_sacrum_200hz")
    assert 0.0 < rb["pelvis_tilt_static_deg"] < 25.0  # ASIS below PSIS when standing: anterior tilt
    for st in rb["steps"]:
        assert st["pelvis_tilt_deg"] == pytest.approx(
            st["pelvis_tilt_rel_deg"] + rb["pelvis_tilt_static_deg"], abs=1e-4
        )
        assert abs(st["pelvis_tilt_rel_deg"]) < 20.0
    ric = truth_of(built, "RIC20141003T073938_sacrum_200hz")
    assert ric["pelvis_tilt_static_deg"] is None
    assert all(st["pelvis_tilt_deg"] is None and abs(st["pelvis_tilt_rel_deg"]) < 20.0 for st in ric["steps"])


def test_calibration_recordings_are_still(built):
    out, trials = built
    mocap_trials = [t for t in trials if t.name.startswith(("RBDS", "RIC"))]
    assert mocap_trials and all(t.calibration is not None and t.calibration.is_file() for t in mocap_trials)
    assert all(t.calibration is None for t in trials if t.name.startswith(("alcantara", "adept")))
    index = json.loads((out / "index.json").read_text(encoding="utf-8"))
    assert all(e["calibration"] for e in index if e["name"].startswith(("RBDS", "RIC")))
    from firmware_interface.files.recording import read_recording
    from gait.cli import calibration_from_recording

    for tr in mocap_trials:
        doc = json.loads(tr.truth.read_text(encoding="utf-8"))
        assert doc["calibration_csv"] == tr.calibration.name
        rec = read_recording(tr.calibration)
        assert 3.0 <= rec.duration_s <= 5.0 and abs(rec.sampling_rate_hz - tr.rate_hz) < 1e-6
        norm = np.linalg.norm(rec.acc_mps2, axis=1)
        assert abs(np.median(norm) - G_MPS2) < 0.3 and norm.std() < 0.15, tr.name
        np.testing.assert_allclose(rec.gyr_dps.mean(0), doc["sensor"]["gyr_bias_dps"], atol=0.3)
        up = np.array(doc["sensor"]["up_in_sensor_static"])
        cal = calibration_from_recording(rec)  # what `gait analyze --calibration` uses
        assert np.degrees(np.arccos(np.clip(np.dot(cal.gravity_sensor, up), -1, 1))) < 2.0, tr.name


def test_mocap_dataset_filter_and_import(tmp_path):
    assert {t.dataset for t in D.load_mocap_trials(DATA, ("ric",))} == {"ric"}
    with pytest.raises(ValueError):
        D.load_mocap_trials(DATA, ("nope",))
    from gait.validation.importers import import_dataset

    src = tmp_path / "only"
    src.mkdir()
    (src / "rbds").symlink_to(DATA / "rbds", target_is_directory=True)  # no ric/ next to it
    trials = import_dataset("rbds", src / "rbds", tmp_path / "out")
    assert len(trials) == 12 and all(t.name.startswith("RBDS") for t in trials)
    assert all(t.calibration.is_file() for t in trials)
