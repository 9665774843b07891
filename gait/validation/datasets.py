"""Build the validation set: public running data -> recordings in our CSV format + truth JSON.

    python -m gait.validation.datasets OUT_DIR [--source-dir DATA_DIR]

Sources: the public data sets of ``data/datasets.toml``, fetched on first use and checked by SHA-256
(`gait.public_data`; ``--source-dir`` reads a folder of the same layout instead):

* RBDS001 and RBDS0041 at 2.5 m/s (markers 150 Hz + treadmill force) and the RIC trials
  20140515T133244 and 20141003T073938 (4-marker clusters, 200 Hz, no force): "virtual IMU"
  recordings of a sacrum sensor and of a shoe (instep) sensor on each foot, at 100 and 200 Hz,
  with a random (seeded) plausible mounting rotation and a MEMS error model; truth from force
  (RBDS) or from a kinematic method validated on RBDS (RIC). Each virtual sensor also gets a
  standing calibration recording ``<name>.static.csv`` (4 s still, same mounting and noise model).
  Marker clusters are cleaned first (`virtual_imu.clean_cluster`); stretches that cannot be
  recovered are listed in the truth as ``excluded_spans`` and the contacts in them are marked
  ``excluded`` (RIC 20140515T133244: the right foot cluster, see ``quality`` in its truth).
* Alcantara et al. 2022: 20 trials of a real sacral accelerometer (vertical + AP, 500 Hz) with
  treadmill vertical GRF (truth contacts).
* adeptdata ``acc_running``: 25 min of a real outdoor run, ankle (shoe clip) and hip, 100 Hz,
  no truth. GPL-3: written into its own sub-folder together with the package's description.

The output is a cache: nothing here is meant to be committed.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from firmware_interface.files.adept import read_adept
from firmware_interface.files.recording import write_recording
from gait.public_data import fetch
from gait.validation import mocap, truth
from gait.validation.virtual_imu import (
    G_MPS2,
    UP,
    SegmentTrack,
    SensorModel,
    VirtualRecording,
    lowpass,
    random_mount,
    seed_for,
    simulate_sensor,
    track_segment,
)

SCHEMA = "gait-validation-truth/1"

SACRUM_CUTOFF_HZ = 15.0
FOOT_CUTOFF_HZ = 20.0
OUTPUT_RATES_HZ = (100.0, 200.0)
DATASETS = ("rbds", "ric")


def source_root(source_dir: str | Path | None, *names: str) -> Path:
    """``source_dir``, else the fetched public data sets ``names`` (folder with one sub-folder each)."""
    return Path(source_dir) if source_dir else fetch(names)

# standing calibration recordings: this long, cut from a static trial at least this long (else the
# static pose is held still: RIC static trials have one frame, RBDS001's lasts 1 s)
CALIBRATION_S = 4.0
# unrecoverable marker stretches are widened by this much on each side (filters and derivatives
# spread a fault; the excursion starts before the cluster visibly loses its shape)
EXCLUDE_PAD_S = 0.05
# a contact is affected by a span that overlaps [IC - this, TO + EXCLUDE_PAD_S] (the late swing
# before IC is what an IMU detects the contact from)
EXCLUDE_LEAD_S = 0.1
# quality check at foot flat (foot sensors, see _quality): a contact fails when the least
# |f - g up_static| in its stance exceeds max(ABS, REL x the foot's median)
FOOT_FLAT_ABS_MPS2 = 5.0
FOOT_FLAT_REL = 3.0
# Instep (lace) sensor site, from the ankle joint centre in the standing trial, in the foot frame
INSTEP_FWD_M = 0.06
INSTEP_UP_M = -0.02
# RIC: forefoot sole point (metatarsal heads) ahead of the ankle joint centre (no toe markers)
RIC_FOREFOOT_FWD_M = 0.12
RIC_SOLE_BELOW_CLUSTER_M = 0.03

__all__ = [
    "Trial",
    "Recording",
    "MocapTrial",
    "build_validation_set",
    "mocap_recordings",
    "alcantara_trials",
    "adept_recordings",
    "load_rbds_trial",
    "load_ric_trial",
    "load_mocap_trials",
    "segment_tracks",
    "mocap_truth",
    "static_sensor_signals",
    "static_track",
    "calibrate_kinematic_method",
    "main",
]


# ============================================================================ records


@dataclass(frozen=True)
class Trial:
    """One generated recording on disk."""

    name: str
    placement: str  # sacrum / waist / chest / foot
    side: str | None  # left / right for a foot sensor, None otherwise
    csv: Path
    truth: Path | None  # None when the source has no ground truth (adept)
    rate_hz: float
    source: str = ""
    calibration: Path | None = None  # standing calibration recording of the same sensor, if any


@dataclass
class Still:
    """A standing calibration recording of a sensor (written as ``<name>.static.csv``)."""

    time_s: np.ndarray
    acc_mps2: np.ndarray
    gyr_dps: np.ndarray | None
    meta: dict


@dataclass
class Recording:
    """A recording in memory, ready to be written as CSV (+ truth JSON)."""

    name: str
    placement: str
    side: str | None
    rate_hz: float
    time_s: np.ndarray
    acc_mps2: np.ndarray
    gyr_dps: np.ndarray | None
    meta: dict  # '# key: value' comment lines (flat, scalar values)
    truth: dict | None
    source: str = ""
    subdir: str = ""  # sub-folder of the output directory
    extra_files: dict = field(default_factory=dict)  # name -> source path to copy next to the CSV
    calibration: Still | None = None  # written as <name>.static.csv

    @property
    def metadata(self) -> dict:
        """The '# key: value' metadata (same name as firmware_interface's Recording)."""
        return self.meta

    @property
    def path(self) -> str:
        """Where `write` puts the CSV, relative to the output directory."""
        return f"{self.subdir}/{self.name}.csv" if self.subdir else f"{self.name}.csv"

    def block(self):
        """The samples as a `gait.core.records.SampleBlock`."""
        from gait.core.records import SampleBlock

        return SampleBlock(time_s=self.time_s, acc_mps2=self.acc_mps2, gyr_dps=self.gyr_dps, index0=0)

    def write(self, out_dir: Path) -> Trial:
        folder = Path(out_dir) / self.subdir if self.subdir else Path(out_dir)
        folder.mkdir(parents=True, exist_ok=True)
        csv_path = _write_csv(folder / f"{self.name}.csv", self.time_s, self.acc_mps2, self.gyr_dps, self.meta)
        cal_path = None
        if self.calibration is not None:
            c = self.calibration
            cal_path = _write_csv(folder / f"{self.name}.static.csv", c.time_s, c.acc_mps2, c.gyr_dps, c.meta)
        truth_path = None
        if self.truth is not None:
            truth_path = folder / f"{self.name}.truth.json"
            doc = dict(self.truth)
            doc["calibration_csv"] = cal_path.name if cal_path else None
            doc["recording"] = {
                "csv": csv_path.name,
                "name": self.name,
                "placement": self.placement,
                "side": self.side,
                "rate_hz": self.rate_hz,
                "t_start_s": round(float(self.time_s[0]), 6),
                "t_end_s": round(float(self.time_s[-1]), 6),
                "n_samples": int(self.time_s.size),
                **doc.get("recording", {}),
            }
            truth_path.write_text(json.dumps(_jsonable(doc), indent=1) + "\n", encoding="utf-8")
        for fname, src in self.extra_files.items():
            dst = folder / fname
            if not dst.exists():
                shutil.copyfile(src, dst)
        return Trial(self.name, self.placement, self.side, csv_path, truth_path, self.rate_hz, self.source, cal_path)


def _write_csv(path: Path, time_s: np.ndarray, acc: np.ndarray, gyr: np.ndarray | None, meta: dict) -> Path:
    """The CSV recording format via firmware_interface's writer (metadata kept on one line each)."""
    time_s = np.asarray(time_s, float)
    if time_s.size and not np.all(np.diff(time_s) > 0):
        raise ValueError(f"{path}: time_s must be strictly increasing")
    gyr = None if gyr is None else np.asarray(gyr, float)
    flat = {k: str(v).replace("\n", " ") for k, v in meta.items()}
    return write_recording(path, time_s, np.asarray(acc, float), gyr, flat)


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (np.floating, float)):
        v = float(x)
        return round(v, 6) if np.isfinite(v) else None
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, Path):
        return x.name
    return x


def _fmt_vec(v) -> str:
    return " ".join(f"{float(x):.6f}" for x in np.ravel(v))


# ============================================================================ mocap trials


@dataclass
class MocapTrial:
    """A treadmill motion-capture trial in the standard lab frame (X fwd, Y up, Z right)."""

    name: str
    dataset: str  # "rbds" / "ric"
    run: mocap.MarkerData
    static: mocap.MarkerData
    force: mocap.ForceData | None
    speed_mps: float | None
    source: str
    license: str
    lab_rotation: np.ndarray
    label_row: dict | None = None
    events: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)


RBDS_TRIALS = {
    "RBDS001": ("RBDS001runT25markers.txt", "RBDS001static.txt", "RBDS001runT25forces.txt", 2.5),
    "RBDS0041": ("RBDS0041runT252.txt", "RBDS0041static.txt", "RBDS0041runT252forces.txt", 2.5),
}
RIC_TRIALS = ("20140515T133244", "20141003T073938")
RBDS_FOOT = ("Heel.Top", "Heel.Bottom", "Heel.Lateral", "MT1", "MT5")
RBDS_HEEL = ("Heel.Top", "Heel.Bottom", "Heel.Lateral")
SENSOR_KEYS = ("sacrum", "foot_left", "foot_right")


def _side_prefix(dataset: str, side: str) -> str:
    if dataset == "rbds":
        return "L." if side == "left" else "R."
    return "L_" if side == "left" else "R_"


def load_rbds_trial(source_dir: str | Path, subject: str) -> MocapTrial:
    src = Path(source_dir) / "rbds"
    run_f, static_f, force_f, speed = RBDS_TRIALS[subject]
    # RBDS0041 is not subject 4 (body mass from force 78 kg vs 57 kg in the table): no row.
    info = src / "RBDSinfo_v2.txt" if subject == "RBDS001" else None
    return load_rbds_files(subject, src / run_f, src / static_f, src / force_f, speed, info)


def load_rbds_files(
    name: str,
    markers: Path,
    static_path: Path,
    forces: Path | None,
    speed_mps: float | None,
    info: Path | None = None,
) -> MocapTrial:
    """One RBDS trial from its files: the run's markers, the subject's standing (static) trial and,
    when there is one, the run's treadmill forces (the contact truth; without it there is none).
    ``info``: an ``RBDSinfo`` table whose row for the markers file gives the foot strike labels."""
    run = mocap.read_rbds_markers(markers)
    static = mocap.read_rbds_markers(static_path)
    force = mocap.read_rbds_forces(forces) if forces is not None else None
    feet = [f"{s}.{m}" for s in "RL" for m in ("Heel.Bottom", "MT1", "MT5")]
    run, rot = mocap.standardize_lab_frame(run, feet)
    static = static.rotated(rot, run.frame)
    force = force.rotated(rot) if force is not None else None
    notes = _fix_metatarsal_swaps(run, static)
    fwd = static.mean_of(["R.ASIS", "L.ASIS"]) - static.mean_of(["R.PSIS", "L.PSIS"])
    if np.nanmean(fwd[:, 0]) <= 0:
        raise ValueError(f"{name}: static trial does not face the run's forward direction")
    label_row = None
    if info is not None and info.is_file():
        rows = mocap.read_rbds_info(info)
        label_row = next((r for r in rows if r.get("FileName") == markers.name), None)
    files = f"{markers.name} + {forces.name}" if forces is not None else f"{markers.name} (no force file)"
    return MocapTrial(
        name=name,
        dataset="rbds",
        run=run,
        static=static,
        force=force,
        speed_mps=speed_mps,
        source=f"RBDS (Fukuchi, Fukuchi & Duarte 2017, PeerJ 5:e3298), {files}, static {static_path.name}",
        license="CC-BY-4.0",
        lab_rotation=rot,
        label_row=label_row,
        notes=notes,
    )


def _fix_metatarsal_swaps(run: mocap.MarkerData, static: mocap.MarkerData) -> list[str]:
    """Swap MT1/MT5 labels in the run where that makes the foot's marker distances match the
    standing trial much better (RBDS001's right foot has them swapped). Edits ``run`` in place."""
    notes = []
    for p in ("R.", "L."):
        names = [p + m for m in RBDS_FOOT]
        if not all(n in run.positions for n in names):
            continue
        st = np.array([np.nanmean(static.get(n), axis=0) for n in names])
        d_st = np.linalg.norm(st[:, None] - st[None], axis=-1)

        def mismatch(order: list[str], d_st: np.ndarray = d_st) -> float:
            q = np.array([run.get(n) for n in order])  # (m, n, 3)
            d = np.linalg.norm(q[:, None] - q[None], axis=-1)  # (m, m, n)
            return float(np.nanmean(np.abs(d - d_st[..., None])))

        swapped = names[:3] + [names[4], names[3]]
        if mismatch(swapped) < 0.5 * mismatch(names):
            a, b = run.positions[names[3]], run.positions[names[4]]
            run.positions[names[3]], run.positions[names[4]] = b, a
            notes.append(
                f"{run.source}: {names[3]} and {names[4]} labels are swapped in the run file; swapped back "
                "(inter-marker distances then match the standing trial)"
            )
    return notes


def load_ric_trial(source_dir: str | Path, stamp: str) -> MocapTrial:
    src = Path(source_dir) / "ric"
    run = mocap.read_c3d_markers(src / f"{stamp}_run.c3d")
    static = mocap.read_c3d_markers(src / f"{stamp}_static.c3d")
    feet = [f"{s}_foot_{i}" for s in "LR" for i in range(1, 5)]
    run, rot = mocap.standardize_lab_frame(run, feet)
    static = static.rotated(rot, run.frame)
    hips = static.get("R_hip") - static.get("L_hip")
    if np.nanmean(hips[:, 2]) <= 0:
        raise ValueError(f"{stamp}: static trial: right hip is not to the right")
    events = None
    mat = src / f"{stamp}_r.mat"
    if mat.exists():
        events = mocap.read_ric_events(mat)
    # speed: the RIC files carry none; estimate it from the feet during contact (belt speed)
    return MocapTrial(
        name=f"RIC{stamp}",
        dataset="ric",
        run=run,
        static=static,
        force=None,
        speed_mps=None,
        source=f"Running Injury Clinic (Calgary) treadmill trial {stamp}_run.c3d, static {stamp}_static.c3d "
        "(BMC-RIC running biomechanics data, Fukuchi et al.)",
        license="CC-BY-4.0",
        lab_rotation=rot,
        events=events,
    )


def _static_mean(md: mocap.MarkerData, name: str) -> np.ndarray:
    return np.nanmean(md.get(name), axis=0)


def _gravity_aligned_frame(x_dir: np.ndarray) -> np.ndarray:
    """World-from-segment: y = up, x = horizontal part of ``x_dir``, z = x cross y (right)."""
    x = np.array([x_dir[0], 0.0, x_dir[2]], float)
    x /= np.linalg.norm(x)
    return np.stack([x, UP, np.cross(x, UP)], axis=1)


@dataclass
class FootGeometry:
    """Static-trial geometry of one foot, for tracking and truth."""

    markers: list[str]  # markers of the rigid fit
    anat: np.ndarray  # world-from-foot in the standing trial
    site: np.ndarray  # instep sensor site (static)
    heel_sole: np.ndarray  # heel sole point (static)
    fore_sole: np.ndarray  # forefoot sole point (static)
    rear_line: list[str] | None  # markers averaged for the rear end of the heel-MT line (RBDS)
    front_line: list[str] | None


def _foot_geometry(trial: MocapTrial, side: str) -> FootGeometry:
    p = _side_prefix(trial.dataset, side)
    st = trial.static
    if trial.dataset == "rbds":
        names = [p + m for m in RBDS_FOOT]
        heel = np.mean([_static_mean(st, p + "Heel.Top"), _static_mean(st, p + "Heel.Bottom")], axis=0)
        mt = np.mean([_static_mean(st, p + "MT1"), _static_mean(st, p + "MT5")], axis=0)
        anat = _gravity_aligned_frame(mt - heel)
        ajc = np.mean([_static_mean(st, p + "Ankle"), _static_mean(st, p + "Ankle.Medial")], axis=0)
        heel_sole = _static_mean(st, p + "Heel.Bottom")
        fore_sole = mt
        rear, front = [p + "Heel.Top", p + "Heel.Bottom"], [p + "MT1", p + "MT5"]
    else:
        names = [f"{p}foot_{i}" for i in range(1, 5)]
        side_l = "L_" if side == "left" else "R_"
        ajc = np.mean([_static_mean(st, side_l + "lat_ankle"), _static_mean(st, side_l + "med_ankle")], axis=0)
        cluster = np.mean([_static_mean(st, n) for n in names], axis=0)
        # no toe markers: the foot's long axis is taken as the lab forward direction while standing
        anat = _gravity_aligned_frame(np.array([1.0, 0.0, 0.0]))
        floor_y = min(_static_mean(st, n)[1] for n in names) - RIC_SOLE_BELOW_CLUSTER_M
        heel_sole = np.array([cluster[0], floor_y, cluster[2]])
        fore = ajc + RIC_FOREFOOT_FWD_M * anat[:, 0]
        fore_sole = np.array([fore[0], floor_y, fore[2]])
        rear = front = None
    site = ajc + INSTEP_FWD_M * anat[:, 0] + INSTEP_UP_M * UP
    return FootGeometry(names, anat, site, heel_sole, fore_sole, rear, front)


def _pelvis_geometry(trial: MocapTrial) -> tuple[list[str], np.ndarray, np.ndarray, str]:
    st = trial.static
    if trial.dataset == "rbds":
        names = ["R.ASIS", "L.ASIS", "R.PSIS", "L.PSIS"]
        r_asis, l_asis, r_psis, l_psis = (_static_mean(st, n) for n in names)
        z = r_asis - l_asis
        z /= np.linalg.norm(z)
        x = 0.5 * (r_asis + l_asis) - 0.5 * (r_psis + l_psis)
        x -= (x @ z) * z
        x /= np.linalg.norm(x)
        y = np.cross(z, x)
        anat = np.stack([x, y, z], axis=1)
        site = 0.5 * (r_psis + l_psis)
        desc = "pelvis frame from ASIS/PSIS (z = L->R ASIS, x forward in the ASIS/PSIS plane); site mid-PSIS"
    else:
        names = [f"pelvis_{i}" for i in range(1, 5)]
        hips = _static_mean(st, "R_hip") - _static_mean(st, "L_hip")
        fwd = np.cross(UP, hips)  # up x right = forward
        anat = _gravity_aligned_frame(fwd)
        site = np.mean([_static_mean(st, n) for n in names], axis=0)
        desc = (
            "pelvis cluster (4 markers on the sacrum); frame gravity-aligned in the standing trial, "
            "heading perpendicular to the hip markers; site = cluster centroid"
        )
    return names, anat, site, desc


def _segment_geometry(
    trial: MocapTrial, key: str, heel_only_feet: bool = False
) -> tuple[list[str], np.ndarray, np.ndarray, str, float]:
    """Markers, standing frame (world-from-segment), sensor site, description and marker cutoff of
    the segment of sensor ``key`` ("sacrum", "foot_left", "foot_right")."""
    if key == "sacrum":
        names, anat, site, desc = _pelvis_geometry(trial)
        return names, anat, site, desc, SACRUM_CUTOFF_HZ
    side = key.removeprefix("foot_")
    geo = _foot_geometry(trial, side)
    markers = geo.markers
    if heel_only_feet and trial.dataset == "rbds":
        markers = [_side_prefix("rbds", side) + m for m in RBDS_HEEL]
    desc = f"{side} foot: rigid fit of {', '.join(markers)}; instep site"
    return markers, geo.anat, geo.site, desc, FOOT_CUTOFF_HZ


def segment_tracks(trial: MocapTrial, heel_only_feet: bool = False) -> dict[str, SegmentTrack]:
    """Tracks of the sacrum sensor site and of each foot's instep site (+ sole points).

    Keys: "sacrum", "foot_left", "foot_right"; and for the feet also "heel_sole_<side>" and
    "fore_sole_<side>" position tracks packed as SegmentTracks (rot = the foot's).
    ``heel_only_feet`` tracks RBDS feet from the three heel markers only (to emulate the RIC
    heel clusters when validating the kinematic contact method).
    """
    run, st = trial.run, trial.static
    out: dict[str, SegmentTrack] = {}
    for key in SENSOR_KEYS:
        names, anat, site, desc, cutoff = _segment_geometry(trial, key, heel_only_feet)
        trk = track_segment(
            [run.get(n) for n in names], [st.get(n) for n in names], anat, site, run.time_s, run.rate_hz, cutoff, desc
        )
        out[key] = trk
        if key == "sacrum":
            continue
        side = key.removeprefix("foot_")
        geo = _foot_geometry(trial, side)
        # sole points follow the same rigid motion: p(t) = pos(t) + R(t) R_static^T (p_static - site_static)
        rel = trk.rot @ trk.rot_static.T
        for name, pt in (("heel_sole", geo.heel_sole), ("fore_sole", geo.fore_sole)):
            pos = trk.pos + np.einsum("nij,j->ni", rel, pt - geo.site)
            out[f"{name}_{side}"] = replace(trk, pos=pos, pos_static=pt, description=f"{side} {name} point")
    return out


def static_track(trial: MocapTrial, key: str = "sacrum", min_s: float = CALIBRATION_S) -> tuple[SegmentTrack, str]:
    """The segment of sensor ``key`` during the standing (static) trial, as a track of at least
    ``min_s`` + 0.5 s (the ends that `simulate_sensor` trims). A static trial that long is tracked
    from its markers (postural sway included); a shorter one is held still in its mean pose.
    Returns the track and a description of how it was made."""
    names, anat, site, desc, cutoff = _segment_geometry(trial, key)
    st = trial.static
    span = (len(st) - 1) / st.rate_hz if len(st) > 1 else 0.0
    if span >= min_s + 0.5:
        trk = track_segment(
            [st.get(n) for n in names], [st.get(n) for n in names], anat, site, st.time_s, st.rate_hz, cutoff, desc
        )
        return trk, f"static trial tracked from its markers ({span:.1f} s, postural sway included)"
    rate = 100.0
    n = int(round((min_s + 0.5) * rate)) + 1
    t = np.arange(n) / rate
    trk = SegmentTrack(
        t,
        rate,
        np.broadcast_to(anat, (n, 3, 3)).copy(),
        np.broadcast_to(site, (n, 3)).copy(),
        anat,
        site,
        cutoff,
        0.0,
        desc,
    )
    how = "one frame" if len(st) < 2 else f"{span:.1f} s"
    return trk, f"static trial pose held still (the static trial has {how}; shorter than {min_s:g} s)"


def static_sensor_signals(
    trial: MocapTrial, mount: np.ndarray | None = None, key: str = "sacrum"
) -> tuple[np.ndarray, np.ndarray]:
    """Noise-free virtual sensor ``key`` on the standing (static) trial, tracked from its markers:
    specific force (m/s^2) and angular rate (deg/s) in the sensor frame. A sanity check: |f| ~ g,
    omega ~ 0."""
    from gait.validation.virtual_imu import ideal_signals

    if len(trial.static) < 30:
        raise ValueError(f"{trial.name}: static trial too short for a derivative check ({len(trial.static)} frames)")
    trk, _ = static_track(trial, key, min_s=0.0)
    return ideal_signals(trk, np.eye(3) if mount is None else mount)


# ============================================================================ truth


# Kinematic contact method (for RIC, whose trials have no force): Zeni IC + delay, TO from foot
# pitch. Constants calibrated against force on RBDS001 + RBDS0041 (2.5 m/s) with heel-only foot
# tracking, which is what the RIC heel clusters give (see calibrate_kinematic_method).
KIN_IC_DELAY_S = 0.025
KIN_TO_PITCH_DEG = -41.0


def _sole_heights(tracks: dict[str, SegmentTrack], side: str) -> tuple[np.ndarray, np.ndarray]:
    heel = tracks[f"heel_sole_{side}"]
    fore = tracks[f"fore_sole_{side}"]
    return heel.pos[:, 1] - heel.pos_static[1], fore.pos[:, 1] - fore.pos_static[1]


def _foot_pitch_deg(track: SegmentTrack) -> np.ndarray:
    """Elevation of the foot's long axis (segment x) above the horizontal, deg (0 when standing
    for a gravity-aligned static frame)."""
    x_axis = track.rot[:, :, 0]
    return np.degrees(np.arctan2(x_axis[:, 1], np.hypot(x_axis[:, 0], x_axis[:, 2])))


def kinematic_trial_contacts(trial: MocapTrial, tracks: dict[str, SegmentTrack]) -> list[truth.Contact]:
    contacts = []
    t = trial.run.time_s
    pelvis_ap = tracks["sacrum"].pos[:, 0]
    for side in ("left", "right"):
        heel_ap = tracks[f"heel_sole_{side}"].pos[:, 0]
        pitch = _foot_pitch_deg(tracks[f"foot_{side}"])
        contacts += truth.kinematic_contacts(t, heel_ap, pelvis_ap, pitch, KIN_IC_DELAY_S, KIN_TO_PITCH_DEG, side=side)
    return sorted(contacts, key=lambda c: c.ic_s)


def calibrate_kinematic_method(source_dir: str | Path | None = None, trials: list[MocapTrial] | None = None) -> dict:
    """Errors of the kinematic contact method (heel-only foot tracking, as for RIC) against force
    on the two RBDS trials: IC / TO / GCT mean and SD of (kinematic - force) in ms.
    ``trials``: already loaded RBDS trials (else they are read from ``source_dir``)."""
    if trials is None:
        source_dir = source_root(source_dir, "rbds")
        trials = [load_rbds_trial(source_dir, subject) for subject in RBDS_TRIALS]
    res = {}
    for trial in trials:
        if trial.force is None:
            continue
        subject = trial.name
        ref = _force_truth_contacts(trial, segment_tracks(trial))[0]
        kin = kinematic_trial_contacts(trial, segment_tracks(trial, heel_only_feet=True))
        row = {"n_force": len(ref), "n_kinematic": len(kin)}
        for side in ("left", "right"):
            r = [c for c in ref if c.side == side]
            k = [c for c in kin if c.side == side]
            d_ic = truth.match_events(np.array([c.ic_s for c in r]), np.array([c.ic_s for c in k]), 0.1)
            d_to = truth.match_events(np.array([c.to_s for c in r]), np.array([c.to_s for c in k]), 0.15)
            ok = np.isfinite(d_ic) & np.isfinite(d_to)
            row[side] = {
                "matched": int(ok.sum()),
                "ic_mean_ms": float(np.nanmean(d_ic) * 1000),
                "ic_sd_ms": float(np.nanstd(d_ic) * 1000),
                "to_mean_ms": float(np.nanmean(d_to) * 1000),
                "to_sd_ms": float(np.nanstd(d_to) * 1000),
                "gct_mean_ms": float(np.mean((d_to - d_ic)[ok]) * 1000) if ok.any() else None,
                "gct_sd_ms": float(np.std((d_to - d_ic)[ok]) * 1000) if ok.any() else None,
            }
        res[subject] = row
    return res


def _force_truth_contacts(trial: MocapTrial, tracks: dict[str, SegmentTrack]) -> tuple[list[truth.Contact], dict]:
    f = trial.force
    col = truth.vertical_force_column(f.force_n)
    if col != 1:
        raise ValueError(f"{trial.name}: vertical force is column {col}, expected Fy (1) in the Y-up lab")
    contacts = truth.force_contacts(f.time_s, f.force_n[:, col], f.rate_hz, threshold_n=50.0, cutoff_hz=50.0)
    heights = {}
    for side in ("left", "right"):
        hh, fh = _sole_heights(tracks, side)
        heights[side] = np.minimum(hh, fh)
    stats = truth.assign_sides(contacts, trial.run.time_s, heights)
    return contacts, stats


def _foot_angle_tracks(trial: MocapTrial, side: str, tracks: dict[str, SegmentTrack]) -> tuple[np.ndarray, float, str]:
    """Sagittal heel-to-metatarsal angle over the run (deg) and its standing value."""
    run, st = trial.run, trial.static
    geo = _foot_geometry(trial, side)
    if geo.rear_line is not None:
        rear = np.mean([lowpass(run.get(n), run.rate_hz, FOOT_CUTOFF_HZ) for n in geo.rear_line], axis=0)
        front = np.mean([lowpass(run.get(n), run.rate_hz, FOOT_CUTOFF_HZ) for n in geo.front_line], axis=0)
        ang = truth.sagittal_angle_deg(rear, front)
        rear_s = np.mean([_static_mean(st, n) for n in geo.rear_line], axis=0)
        front_s = np.mean([_static_mean(st, n) for n in geo.front_line], axis=0)
        static = float(truth.sagittal_angle_deg(rear_s, front_s))
        method = (
            f"sagittal angle of the line mid({', '.join(geo.rear_line)}) -> mid({', '.join(geo.front_line)}) "
            f"(markers low-passed {FOOT_CUTOFF_HZ:g} Hz) at IC minus the standing trial's"
        )
    else:
        ang = _foot_pitch_deg(tracks[f"foot_{side}"])
        static = 0.0
        method = (
            "elevation of the foot's long axis (rigid heel-cluster frame, long axis = lab forward in the "
            "standing trial, so 0 while standing) at IC: the heel-to-metatarsal line of a rigid foot"
        )
    return ang, static, method


def _fsa_mt1_track(trial: MocapTrial, side: str) -> tuple[np.ndarray, float] | None:
    """RBDS only: the heel -> first-metatarsal line (a common variant of the FSA line; it reads a
    few degrees more toes-up than the foot midline when the foot lands supinated)."""
    if trial.dataset != "rbds":
        return None
    p = _side_prefix("rbds", side)
    run, st = trial.run, trial.static
    rear_names = [p + "Heel.Top", p + "Heel.Bottom"]
    rear = np.mean([lowpass(run.get(n), run.rate_hz, FOOT_CUTOFF_HZ) for n in rear_names], axis=0)
    front = lowpass(run.get(p + "MT1"), run.rate_hz, FOOT_CUTOFF_HZ)
    rear_s = np.mean([_static_mean(st, n) for n in rear_names], axis=0)
    static = float(truth.sagittal_angle_deg(rear_s, _static_mean(st, p + "MT1")))
    return truth.sagittal_angle_deg(rear, front), static


def mocap_truth(trial: MocapTrial, tracks: dict[str, SegmentTrack]) -> dict:
    """Truth document (without the per-recording 'recording'/'sensor' blocks)."""
    t = trial.run.time_s
    doc: dict = {"schema": SCHEMA, "trial": trial.name, "source": trial.source, "license": trial.license}
    notes: list[str] = list(trial.notes)
    if trial.force is not None:
        contacts, side_stats = _force_truth_contacts(trial, tracks)
        col = truth.vertical_force_column(trial.force.force_n)
        doc["body_mass_kg"] = truth.body_mass_kg(trial.force.force_n[:, col])
        doc["body_mass_method"] = "mean vertical treadmill force over the trial / 9.80665"
        doc["contacts_source"] = "force"
        doc["contacts_method"] = (
            "force: vertical GRF (Fy) low-passed 50 Hz (4th-order zero-phase Butterworth), "
            "IC/TO = crossings of 50 N (interpolated); side = foot whose sole points are "
            "lower during the middle half of the contact"
        )
        doc["side_assignment"] = side_stats
        doc["speed_mps"] = trial.speed_mps
        doc["speed_method"] = "treadmill speed of the trial (file name)"
    elif trial.dataset == "rbds":  # markers without their force file: no contact truth
        contacts = []
        doc["body_mass_kg"] = None
        doc["body_mass_method"] = "no force file for this trial"
        doc["contacts_source"] = None
        doc["contacts_method"] = "none: the trial's force file (the contact truth) is not there"
        doc["speed_mps"] = trial.speed_mps
        doc["speed_method"] = "treadmill speed of the trial (file name)"
    else:
        contacts = kinematic_trial_contacts(trial, tracks)
        doc["body_mass_kg"] = None
        doc["body_mass_method"] = "no force in this trial"
        doc["contacts_source"] = "kinematic"
        doc["contacts_method"] = (
            "kinematic (no force): IC = Zeni et al. 2008 (maximum of heel-sole-point minus pelvis AP position) + "
            f"{KIN_IC_DELAY_S * 1000:.0f} ms; TO = foot pitch (rigid heel-cluster frame, long axis relative to "
            f"standing) falling through {KIN_TO_PITCH_DEG:g} deg. Constants calibrated against force on RBDS "
            "(2.5 m/s) with heel-only tracking; residual errors in 'kinematic_method_validation'. "
            "Speed-dependent: RIC speeds differ from 2.5 m/s, so expect a few ms more bias."
        )
        doc["speed_mps"] = _belt_speed(trial, tracks, contacts)
        doc["speed_method"] = "belt speed: median backward speed of the foot sole points in mid-contact"
        if trial.events is not None:
            doc["mat_events_check"] = _compare_mat_events(trial, contacts)
    # one rounding of the event times, shared by contacts and steps (consumers key steps by ic_s)
    for c in contacts:
        c.ic_s, c.to_s = round(c.ic_s, 5), round(c.to_s, 5)
    # FSA per contact
    fsa_methods = {}
    static_angles = {}
    for side in ("left", "right"):
        ang, static, method = _foot_angle_tracks(trial, side, tracks)
        fsa_methods[side] = method
        static_angles[side] = static
        mt1 = _fsa_mt1_track(trial, side)
        for c in contacts:
            if c.side == side:
                c.fsa_deg = float(np.interp(c.ic_s, t, ang) - static)
                c.strike = truth.strike_class(c.fsa_deg)
                if mt1 is not None:
                    c.fsa_mt1_deg = float(np.interp(c.ic_s, t, mt1[0]) - mt1[1])
    doc["fsa_method"] = fsa_methods["left"].replace("L.", "<side>.").replace("L_", "<side>_")
    doc["fsa_static_deg"] = static_angles
    doc["strike_thresholds_deg"] = {"rfs_above": truth.RFS_ABOVE_DEG, "ffs_below": truth.FFS_BELOW_DEG}
    doc["contacts"] = [c.to_dict() for c in contacts]
    # VO per step
    sac = tracks["sacrum"]
    steps = truth.step_vertical_excursion(t, sac.pos[:, 1], [c.ic_s for c in contacts])
    side_of = {round(c.ic_s, 9): c.side for c in contacts}
    for s in steps:
        s["side"] = side_of.get(round(s["ic_s"], 9))
        s["step_time_s"] = s["next_ic_s"] - s["ic_s"]
    centroid = _pelvis_centroid(trial)
    for s in steps:
        one = truth.step_vertical_excursion(t, centroid[:, 1], [s["ic_s"], s["next_ic_s"]])
        s["vo_pelvis_centroid_cm"] = one[0]["vo_cm"] if one else None
    doc["steps"] = steps
    doc["vo_method"] = (
        f"vo_cm: peak-to-trough vertical position of the sacrum sensor site (markers low-passed "
        f"{SACRUM_CUTOFF_HZ:g} Hz) between successive ICs (either foot); vo_pelvis_centroid_cm: "
        "the same for the centroid of the pelvis markers (a closer centre-of-mass proxy)"
    )
    tilt, tilt_static, doc["pelvis_tilt_method"] = _pelvis_tilt(trial, tracks["sacrum"])
    doc["pelvis_tilt_static_deg"] = tilt_static
    for s in steps:
        sel = (t >= s["ic_s"]) & (t <= s["next_ic_s"])
        rel = float(np.mean(tilt[sel]))
        s["pelvis_tilt_deg"] = rel + tilt_static if tilt_static is not None else None
        s["pelvis_tilt_rel_deg"] = rel
    # labels (RBDS001 only)
    doc["labels"] = None
    if trial.label_row is not None:
        code = f"{round(trial.speed_mps * 10):d}" if trial.speed_mps else "25"  # RFSI25 = right at 2.5 m/s
        lab = {
            "source": "RBDSinfo_v2.txt",
            "right": trial.label_row.get(f"RFSI{code}"),
            "left": trial.label_row.get(f"LFSI{code}"),
            "note": "table labels are a weak hint; the marker-derived FSA is the truth",
        }
        agree = {}
        for side in ("left", "right"):
            cls = truth.label_to_class(lab[side])
            got = [c.strike for c in contacts if c.side == side and c.strike]
            agree[side] = {
                "label_class": cls,
                "n": len(got),
                "agreement": (sum(g == cls for g in got) / len(got)) if got else None,
                "counts": {k: got.count(k) for k in ("RFS", "MFS", "FFS")},
            }
        lab["agreement"] = agree
        doc["labels"] = lab
    elif trial.name == "RBDS0041":
        notes.append("RBDS0041 is not subject 4 of RBDSinfo (body mass 78 kg from force vs 57 kg): no labels attached")
    doc["excluded_spans"] = _marker_spans(trial, tracks)
    _apply_exclusions(doc)
    for key in SENSOR_KEYS:
        spans = [sp for sp in doc["excluded_spans"] if sp["segment"] == key]
        if spans:
            c = tracks[key].cleaning
            notes.append(
                f"{key} markers: {len(spans)} stretch(es), {c['unrecoverable_s']:.2f} s in all, where the cluster "
                f"is not rigid (fit RMS up to {c['fit_rms_max_mm']:.0f} mm against a median of "
                f"{c['fit_rms_median_mm']:.2f} mm) with no three mutually consistent markers, so no rigid gap fill is "
                "possible: listed in excluded_spans (widened by "
                f"{EXCLUDE_PAD_S * 1000:.0f} ms); the contacts and steps they affect carry excluded = true"
            )
    doc["summary"] = _summary(doc["contacts"], doc["steps"])
    doc["notes"] = notes
    return doc


def _pelvis_tilt(trial: MocapTrial, sacrum: SegmentTrack) -> tuple[np.ndarray, float | None, str]:
    """Pelvis tilt over the run relative to standing (deg, + = anterior: the pelvis's forward axis
    pointing down), its absolute standing value (None when the markers define no anatomical axis)
    and the method text."""

    def tilt(fwd: np.ndarray) -> np.ndarray:
        return -np.degrees(np.arctan2(fwd[..., 1], np.hypot(fwd[..., 0], fwd[..., 2])))

    rel = tilt(sacrum.rot[:, :, 0]) - tilt(sacrum.rot_static[:, 0])
    if trial.dataset == "rbds":
        return (
            rel,
            float(tilt(sacrum.rot_static[:, 0])),
            (
                "pelvis_tilt_deg: mean over the step (IC to next IC) of the inclination below the horizontal of "
                "the pelvis's anteroposterior axis (mid-PSIS -> mid-ASIS, made perpendicular to the ASIS line), "
                "deg, + = anterior tilt; absolute (pelvis_tilt_static_deg = the standing trial's value); "
                "pelvis_tilt_rel_deg = pelvis_tilt_deg - pelvis_tilt_static_deg (what a calibrated sensor sees)"
            ),
        )
    return (
        rel,
        None,
        (
            "pelvis_tilt_rel_deg: mean over the step (IC to next IC) of the change, from the standing trial, of the "
            "inclination of the pelvis cluster frame's forward axis (deg, + = anterior tilt). No anatomical pelvis "
            "markers (ASIS/PSIS) in this trial: the absolute tilt is unknown (pelvis_tilt_deg and "
            "pelvis_tilt_static_deg are null)"
        ),
    )


def _marker_spans(trial: MocapTrial, tracks: dict[str, SegmentTrack]) -> list[dict]:
    """Unrecoverable marker stretches of the tracked segments, widened by EXCLUDE_PAD_S."""
    kinematic = trial.force is None
    out = []
    for key in SENSOR_KEYS:
        trk = tracks[key]
        names = _segment_geometry(trial, key)[0]
        if key == "sacrum":
            affects = "VO and pelvis tilt of the steps" + (
                " and the kinematic IC of every contact" if kinematic else ""
            )
        else:
            side = key.removeprefix("foot_")
            affects = f"contacts of the {side} foot: " + ("kinematic IC/TO, " if kinematic else "side, ") + "FSA"
        for a, b in trk.bad_spans(EXCLUDE_PAD_S):
            out.append(
                {
                    "start_s": round(a, 4),
                    "end_s": round(b, 4),
                    "segment": key,
                    "markers": names,
                    "reason": "marker cluster not rigid (fewer than three mutually consistent markers): unrecoverable",
                    "truth": affects,
                    "signal": False,  # set per recording: True when it is this recording's sensor segment
                }
            )
    return out


def _apply_exclusions(doc: dict, sensor_key: str | None = None) -> None:
    """Mark ``excluded`` contacts and steps of a truth document from its ``excluded_spans``.

    A contact is excluded when a span overlaps [IC - EXCLUDE_LEAD_S, TO + EXCLUDE_PAD_S] and the span
    is on the contact's own foot, or on the pelvis when the contacts are kinematic (Zeni IC), or on
    the segment of the recording's own sensor ``sensor_key`` (its signal is broken). A step is
    excluded when either of its contacts is, or a pelvis / own-sensor span overlaps it."""
    kinematic = doc.get("contacts_source") == "kinematic"
    spans = doc.get("excluded_spans") or []
    for sp in spans:
        sp["signal"] = sp["segment"] == sensor_key

    def hits(a: float, b: float, keys: set[str]) -> list[dict]:
        return [sp for sp in spans if sp["segment"] in keys and sp["start_s"] <= b and sp["end_s"] >= a]

    excluded_ic = set()
    for c in doc["contacts"]:
        keys = {f"foot_{c['side']}"} | ({"sacrum"} if kinematic else set()) | ({sensor_key} if sensor_key else set())
        found = hits(c["ic_s"] - EXCLUDE_LEAD_S, c["to_s"] + EXCLUDE_PAD_S, keys)
        c["excluded"] = bool(found)
        c["excluded_reason"] = (
            "; ".join(
                sorted(
                    {
                        f"{sp['segment']} markers unrecoverable" + (" (this sensor's signal)" if sp["signal"] else "")
                        for sp in found
                    }
                )
            )
            or None
        )
        if found:
            excluded_ic.add(c["ic_s"])
    for st in doc["steps"]:
        keys = {"sacrum"} | ({sensor_key} if sensor_key else set())
        st["excluded"] = (
            st["ic_s"] in excluded_ic or st["next_ic_s"] in excluded_ic or bool(hits(st["ic_s"], st["next_ic_s"], keys))
        )


def _pelvis_centroid(trial: MocapTrial) -> np.ndarray:
    names = _pelvis_geometry(trial)[0]
    run = trial.run
    return np.mean([lowpass(run.get(n), run.rate_hz, SACRUM_CUTOFF_HZ) for n in names], axis=0)


def _summary(contacts: list[dict], steps: list[dict]) -> dict:
    """Summary of contact and step dicts; every statistic but the counts skips excluded ones."""
    use = [c for c in contacts if not c.get("excluded")]
    ok_steps = [s for s in steps if not s.get("excluded")]
    gct = np.array([c["gct_ms"] for c in use])
    step_t = np.array(
        [b["ic_s"] - a["ic_s"] for a, b in zip(contacts, contacts[1:]) if not (a.get("excluded") or b.get("excluded"))]
    )

    def mean(key: str, fn=np.mean) -> float | None:
        v = [s[key] for s in ok_steps if s.get(key) is not None]
        return float(fn(v)) if v else None

    out = {
        "n_contacts": len(contacts),
        "n_left": sum(c["side"] == "left" for c in contacts),
        "n_right": sum(c["side"] == "right" for c in contacts),
        "n_excluded": len(contacts) - len(use),
        "n_steps_excluded": len(steps) - len(ok_steps),
        "median_gct_ms": float(np.median(gct)) if gct.size else None,
        "cadence_spm": float(60.0 / np.median(step_t)) if step_t.size else None,
        "mean_vo_cm": mean("vo_cm"),
        "sd_vo_cm": mean("vo_cm", np.std),
        "mean_vo_pelvis_centroid_cm": mean("vo_pelvis_centroid_cm"),
        "mean_pelvis_tilt_deg": mean("pelvis_tilt_deg"),
        "mean_pelvis_tilt_rel_deg": mean("pelvis_tilt_rel_deg"),
        "mean_fsa_deg": {},
        "strike_counts": {},
    }
    for side in ("left", "right"):
        f = [c["fsa_deg"] for c in use if c["side"] == side and c.get("fsa_deg") is not None]
        out["mean_fsa_deg"][side] = float(np.mean(f)) if f else None
        cl = [c["strike"] for c in use if c["side"] == side and c.get("strike")]
        out["strike_counts"][side] = {k: cl.count(k) for k in ("RFS", "MFS", "FFS")}
    return out


def _belt_speed(trial: MocapTrial, tracks: dict[str, SegmentTrack], contacts: list[truth.Contact]) -> float | None:
    t = trial.run.time_s
    speeds = []
    for c in contacts:
        a = c.ic_s + 0.3 * (c.to_s - c.ic_s)
        b = c.to_s - 0.3 * (c.to_s - c.ic_s)
        sel = (t >= a) & (t <= b)
        if np.count_nonzero(sel) < 3:
            continue
        for key in ("heel_sole", "fore_sole"):
            p = tracks[f"{key}_{c.side}"].pos
            v = np.gradient(p[:, 0], t)
            speeds.append(-np.median(v[sel]))
    return float(np.median(speeds)) if speeds else None


def _compare_mat_events(trial: MocapTrial, contacts: list[truth.Contact]) -> dict:
    """Compare the .mat ``events`` columns with our kinematic contacts (per side)."""
    ev = trial.events
    t = trial.run.time_s
    fr = lambda idx: t[0] + (np.asarray(idx, float) - 1.0) / trial.run.rate_hz  # noqa: E731 (1-based frames)
    out = {"events_shape": list(ev.shape), "interpretation": "columns (0,1) and (2,3) = (IC, TO) of two feet"}
    for side in ("left", "right"):
        ic = np.array([c.ic_s for c in contacts if c.side == side])
        to = np.array([c.to_s for c in contacts if c.side == side])
        for pair, (ci, co) in (("cols01", (0, 1)), ("cols23", (2, 3))):
            d_ic = truth.match_events(fr(ev[:, ci]), ic, 0.1)
            d_to = truth.match_events(fr(ev[:, co]), to, 0.15)
            out[f"{side}_vs_{pair}"] = {
                "ic_matched": int(np.isfinite(d_ic).sum()),
                "ic_median_diff_ms": float(np.nanmedian(d_ic) * 1000) if np.isfinite(d_ic).any() else None,
                "to_matched": int(np.isfinite(d_to).sum()),
                "to_median_diff_ms": float(np.nanmedian(d_to) * 1000) if np.isfinite(d_to).any() else None,
            }
    pairs = {
        side: max(("cols01", "cols23"), key=lambda p, s=side: out[f"{s}_vs_{p}"]["ic_matched"])
        for side in ("left", "right")
    }
    mat_gct = {
        "cols01": float(np.median(ev[:, 1] - ev[:, 0]) / trial.run.rate_hz * 1000),
        "cols23": float(np.median(ev[:, 3] - ev[:, 2]) / trial.run.rate_hz * 1000),
    }
    out["side_of_columns"] = {pairs["left"]: "left", pairs["right"]: "right"}
    out["mat_median_contact_ms"] = mat_gct
    out["conclusion"] = (
        "used for checking only: the .mat ICs match ours one-to-one per foot (ours later by the median "
        "ic_median_diff_ms above, i.e. theirs sit near the uncorrected Zeni instant), but their 'toe-off' column "
        "gives contacts of about the step time (no flight phase at this cadence), so it is not a toe-off truth"
    )
    return out


# ============================================================================ virtual recordings


def _sensor_recordings(
    trial: MocapTrial,
    tracks: dict[str, SegmentTrack],
    truth_doc: dict,
    rates: tuple[float, ...],
    model: SensorModel,
) -> list[Recording]:
    recs = []
    has_truth = truth_doc.get("contacts_source") is not None
    sensors = [("sacrum", "sacrum", None), ("foot_left", "foot", "left"), ("foot_right", "foot", "right")]
    for key, placement, side in sensors:
        trk = tracks[key]
        rng = np.random.default_rng(seed_for(trial.name, key, "mount"))
        mount, mount_desc = random_mount(rng, "foot" if placement == "foot" else "sacrum")
        bias_acc = rng.uniform(-model.acc_bias_max, model.acc_bias_max, 3)
        bias_gyr = rng.uniform(-model.gyr_bias_max, model.gyr_bias_max, 3)
        still_trk, still_how = static_track(trial, key)
        for rate in rates:
            rng_noise = np.random.default_rng(seed_for(trial.name, key, rate, "noise"))
            vr = simulate_sensor(trk, mount, rate, rng_noise, bias_acc, bias_gyr, model)
            rng_still = np.random.default_rng(seed_for(trial.name, key, rate, "static"))
            still = simulate_sensor(still_trk, mount, rate, rng_still, bias_acc, bias_gyr, model)
            name = f"{trial.name}_{placement}{'_' + side if side else ''}_{int(rate)}hz"
            toes_up_axis = mount.T @ np.array([0.0, 0.0, 1.0])
            fwd_axis = mount.T @ np.array([1.0, 0.0, 0.0])
            sensor = {
                "kind": "virtual",
                "segment": key,
                "segment_frame": "x forward, y up, z right (" + trk.description + ")",
                "mount_segment_from_sensor": mount,
                "mount": mount_desc,
                "up_in_sensor_static": vr.up_in_sensor_static,
                "forward_in_sensor_static": (trk.rot_static @ mount).T @ np.array([1.0, 0.0, 0.0]),
                "segment_forward_in_sensor": fwd_axis,
                "segment_right_in_sensor": toes_up_axis,
                "acc_bias_mps2": vr.bias_acc_mps2,
                "gyr_bias_dps": vr.bias_gyr_dps,
                "model": model.to_dict(),
                "marker_cutoff_hz": trk.cutoff_hz,
                "rigid_fit_rms_mm": trk.fit_rms_m * 1000,
                **vr.meta,
            }
            if placement == "foot":
                sensor["note"] = "rotation about segment_right_in_sensor (+) is toes up (foot pitch rate sign)"
            tdoc = dict(truth_doc)
            tdoc["sensor"] = sensor
            # keep only truth events inside the recording (copies: exclusions depend on the sensor)
            t0, t1 = float(vr.time_s[0]), float(vr.time_s[-1])
            tdoc["contacts"] = [dict(c) for c in truth_doc["contacts"] if c["ic_s"] >= t0 and c["to_s"] <= t1]
            tdoc["steps"] = [dict(s) for s in truth_doc["steps"] if s["ic_s"] >= t0 and s["next_ic_s"] <= t1]
            tdoc["excluded_spans"] = [dict(sp) for sp in truth_doc["excluded_spans"]]
            _apply_exclusions(tdoc, key)
            tdoc["summary"] = _summary(tdoc["contacts"], tdoc["steps"])
            tdoc["quality"] = _quality(trk, vr, tdoc, placement, side)
            meta = {
                "source": trial.source,
                "license": trial.license,
                "generator": "gait.validation.datasets (virtual IMU from motion capture)",
                "placement": placement,
            }
            if side:
                meta["side"] = side
            if truth_doc.get("speed_mps"):
                meta["speed_mps"] = f"{truth_doc['speed_mps']:.3f}"
                if str(truth_doc.get("speed_method", "")).startswith("belt speed"):
                    meta["speed_note"] = "estimated from the markers (belt speed)"
            meta.update(
                {
                    "sample_rate_hz": f"{rate:g}",
                    "treadmill": "yes",
                    "acc_range_g": f"{model.acc_range_g:g}",
                    "gyr_range_dps": f"{model.gyr_range_dps:g}",
                    "segment_frame": "x forward, y up, z right (" + key.replace("_", " ") + ")",
                    "mount_segment_from_sensor": _fmt_vec(mount)
                    + " (row-major; columns = sensor axes in the segment frame)",
                    "up_in_sensor_static": _fmt_vec(vr.up_in_sensor_static),
                    "truth": f"{name}.truth.json" if has_truth else "none (no force file: no contact truth)",
                    "calibration": f"{name}.static.csv",
                }
            )
            own = [sp for sp in tdoc["excluded_spans"] if sp["signal"]]
            if own:
                meta["excluded_spans_s"] = " ".join(f"{sp['start_s']:.3f}-{sp['end_s']:.3f}" for sp in own)
                meta["excluded_note"] = "marker data unrecoverable in these spans: the signal there is not valid"
            still_meta = {
                k: v
                for k, v in meta.items()
                if k
                not in (
                    "truth",
                    "calibration",
                    "speed_mps",
                    "speed_note",
                    "treadmill",
                    "excluded_spans_s",
                    "excluded_note",
                )
            }
            still_meta["recording"] = f"standing calibration for {name}.csv: {still_how}"
            n_still = int(round(CALIBRATION_S * rate))
            calib = Still(
                still.time_s[:n_still] - still.time_s[0], still.acc_mps2[:n_still], still.gyr_dps[:n_still], still_meta
            )
            recs.append(
                Recording(
                    name=name,
                    placement=placement,
                    side=side,
                    rate_hz=rate,
                    time_s=vr.time_s,
                    acc_mps2=vr.acc_mps2,
                    gyr_dps=vr.gyr_dps,
                    meta=meta,
                    truth=tdoc if has_truth else None,
                    source=trial.name,
                    subdir="mocap",
                    calibration=calib,
                )
            )
    return recs


def _quality(trk: SegmentTrack, vr: VirtualRecording, tdoc: dict, placement: str, side: str | None) -> dict:
    """Data-quality checks of one virtual recording.

    * ``rigid_fit``: the marker cluster's rigid-body fit (`virtual_imu.clean_cluster`): residuals,
      filled and unrecoverable frames (the latter become ``excluded_spans``).
    * foot sensors, ``foot_flat``: a foot in stance on a belt comes to rest (foot flat, moving at belt
      speed), so somewhere in 10-70 % of each contact the specific force is close to g along the
      standing 'up': per contact the least |f - g up_static| (m/s^2). Broken marker data (a cluster
      that jumps or shrinks) gives tens of m/s^2. A contact fails when its residual exceeds
      max(FOOT_FLAT_ABS, FOOT_FLAT_REL x the foot's median); a median above FOOT_FLAT_ABS says the
      foot never rests (a heel that hovers in a forefoot strike, or a tracking problem) and is a warning.
    * trunk sensors, ``mean_force``: the mean specific force is ~ g along the standing 'up'.

    ``ok`` is False when a contact that is not excluded fails, or the trunk mean force is off."""
    up = vr.up_in_sensor_static / np.linalg.norm(vr.up_in_sensor_static)
    q: dict = {
        "rigid_fit": trk.cleaning,
        "acc_norm_p999_mps2": float(np.percentile(np.linalg.norm(vr.acc_mps2, axis=1), 99.9)),
        "excluded_contacts": sum(bool(c.get("excluded")) for c in tdoc["contacts"]),
        "excluded_own_signal_s": round(
            sum(sp["end_s"] - sp["start_s"] for sp in tdoc["excluded_spans"] if sp["signal"]), 4
        ),
    }
    problems, warnings = [], []
    if placement == "foot":
        t = vr.time_s
        dist = np.linalg.norm(vr.acc_mps2 - G_MPS2 * up, axis=1)
        rows = []
        for c in tdoc["contacts"]:
            d = c["to_s"] - c["ic_s"]
            idx = np.flatnonzero((t >= c["ic_s"] + 0.1 * d) & (t <= c["ic_s"] + 0.7 * d))
            if c["side"] == side and idx.size:
                i = idx[np.argmin(dist[idx])]
                rows.append((c, float(dist[i]), float(np.linalg.norm(vr.acc_mps2[i]))))
        clean = [r for r in rows if not r[0].get("excluded")]
        med = float(np.median([r[1] for r in clean or rows])) if rows else None
        limit = max(FOOT_FLAT_ABS_MPS2, FOOT_FLAT_REL * med) if rows else None
        fails = [r for r in clean if r[1] > limit]
        q["foot_flat"] = {
            "n": len(clean),
            "n_fail": len(fails),
            "median_residual_mps2": float(np.median([r[1] for r in clean])) if clean else None,
            "max_residual_mps2": float(max(r[1] for r in clean)) if clean else None,
            "median_acc_norm_mps2": float(np.median([r[2] for r in clean])) if clean else None,
            "fail_above_mps2": limit,
            "failing_ic_s": [r[0]["ic_s"] for r in fails],
            "excluded_residuals_mps2": [round(r[1], 2) for r in rows if r[0].get("excluded")],
        }
        if fails:
            problems.append(f"{len(fails)} of {len(clean)} contacts fail the foot-flat check")
        if clean and q["foot_flat"]["median_residual_mps2"] > FOOT_FLAT_ABS_MPS2:
            warnings.append(
                "the foot never comes to rest in stance (least |f - g up| median "
                f"{q['foot_flat']['median_residual_mps2']:.1f} m/s^2): hovering heel or tracking"
            )
    else:
        f = vr.acc_mps2.mean(axis=0)
        ang = float(np.degrees(np.arccos(np.clip(f @ up / np.linalg.norm(f), -1, 1))))
        q["mean_force"] = {"norm_mps2": float(np.linalg.norm(f)), "angle_to_up_deg": ang}
        if abs(np.linalg.norm(f) - G_MPS2) > 0.5:
            problems.append("mean specific force is not ~ g")
        if ang > 15.0:  # lean and orientation-acceleration coupling give up to ~11 deg in clean trials
            warnings.append(f"mean specific force is {ang:.0f} deg from the standing 'up'")
    q["problems"] = problems
    q["warnings"] = warnings
    q["ok"] = not problems
    return q


def load_mocap_trials(
    source_dir: str | Path | None = None, datasets: tuple[str, ...] | list[str] = DATASETS
) -> list[MocapTrial]:
    """The motion-capture trials of the given data sets ("rbds", "ric"), read from ``source_dir``."""
    source_dir = source_root(source_dir, *datasets)
    unknown = set(datasets) - set(DATASETS)
    if unknown:
        raise ValueError(f"unknown motion-capture data set(s) {sorted(unknown)}; have {list(DATASETS)}")
    trials = []
    if "rbds" in datasets:
        trials += [load_rbds_trial(source_dir, s) for s in RBDS_TRIALS]
    if "ric" in datasets:
        trials += [load_ric_trial(source_dir, s) for s in RIC_TRIALS]
    return trials


def mocap_recordings(
    source_dir: str | Path | None = None,
    rates: tuple[float, ...] = OUTPUT_RATES_HZ,
    model: SensorModel | None = None,
    datasets: tuple[str, ...] | list[str] = DATASETS,
) -> list[Recording]:
    """Virtual sacrum + left/right instep sensors for the trials of ``datasets`` ("rbds", "ric"),
    at each rate. Only the requested data sets are read; RIC's kinematic-method validation needs
    the RBDS force trials and is left out (with a note) when data/rbds is not there."""
    model = model or SensorModel()
    source_dir = source_root(source_dir, "rbds", *datasets)
    recs = []
    kin_validation = None
    trials = load_mocap_trials(source_dir, datasets)
    for trial in trials:
        if trial.force is None and trial.dataset == "ric" and kin_validation is None:
            kin_validation = _kinematic_validation(source_dir, trials)
        recs += trial_recordings(trial, rates, model, kin_validation)
    return recs


def trial_recordings(
    trial: MocapTrial,
    rates: tuple[float, ...] = OUTPUT_RATES_HZ,
    model: SensorModel | None = None,
    kinematic_validation: dict | None = None,
) -> list[Recording]:
    """Virtual sacrum + left/right instep sensors of one motion-capture trial, at each rate. An
    RBDS trial without its force file has no contact truth: its recordings have no truth document."""
    tracks = segment_tracks(trial)
    doc = mocap_truth(trial, tracks)
    if doc.get("contacts_source") == "kinematic":
        doc["kinematic_method_validation"] = kinematic_validation
    return _sensor_recordings(trial, tracks, doc, rates, model or SensorModel())


def _kinematic_validation(source_dir: Path, trials: list[MocapTrial]) -> dict:
    with_force = [t for t in trials if t.force is not None]
    if not with_force:
        if not (source_dir / "rbds").is_dir():
            return {"note": "not computed: the RBDS force trials (the rbds/ folder next to ric/) are not available"}
        with_force = [load_rbds_trial(source_dir, s) for s in RBDS_TRIALS]
    return calibrate_kinematic_method(trials=with_force)


# ============================================================================ Alcantara


def alcantara_trials(source_dir: str | Path | None = None) -> list[Recording]:
    """The 20 sacral-accelerometer trials of Alcantara et al. 2022 as sacrum recordings.

    Source signals: vertical and AP sacral acceleration in g, 500 Hz, pre-processed by the
    authors (20 Hz low-pass, negative vertical values set to 0). The vertical signal includes
    gravity: its mean over each trial is 1.13-1.24 g (a gravity-free signal would average ~0; the
    clipping of negative values lifts the mean a little above 1 g, and flight phases read ~0 g, as
    a free-falling accelerometer does). The AP signal is positive forward: relative to its mean it
    reads negative in early stance (braking) and positive in late stance (propulsion) in every trial.
    Written as: acc_x = AP (forward), acc_y = vertical (up, gravity included), acc_z = 0 (not
    recorded), in m/s^2 (g * 9.80665). No gyro. Truth: contacts where the vertical GRF exceeds
    0.1 body weight (low-passed 50 Hz); side unknown.
    """
    src = source_root(source_dir, "alcantara-sacral") / "alcantara-sacral"
    return alcantara_table_trials(
        src / "Accelerometer_trials01-20.csv", src / "GRF_trials01-20.csv", src / "Sub_Info_trials01-20.csv"
    )


ALCANTARA_RATE_HZ = 500.0  # the authors' tables (their notebooks: fs = 500)
ALCANTARA_SOURCE = "Alcantara, Edwards, Millet & Grabowski 2022, PeerJ 10:e12752 (Recurrent_GRF_Prediction data)"


def _number_table(path: Path, lines: list[str] | None = None) -> np.ndarray:
    """A comma-separated table of numbers (``lines``: its text already read, without a header)."""
    try:
        return np.loadtxt(path if lines is None else lines, delimiter=",", ndmin=2)
    except ValueError as exc:
        why = str(exc).split(";")[0].rstrip(".")  # numpy's own advice after ';' is about its API
        raise ValueError(f"{path}: not a comma-separated table of numbers ({why})") from None


def _number(row: dict[str, str], key: str) -> float | None:
    try:
        return float(row[key])
    except (KeyError, ValueError):  # a missing column or "NA"
        return None


def alcantara_table_trials(
    acc_path: Path, grf_path: Path | None = None, info_path: Path | None = None, tag: str = ""
) -> list[Recording]:
    """Trials of the authors' tables: ``Accelerometer*.csv`` (one trial per row: the vertical then
    the anteroposterior half, in g, 500 Hz), with ``GRF*.csv`` (vertical GRF in body weights, the
    contact truth; without it the recordings have no truth) and ``Sub_Info*.csv`` (speed, slope,
    mass and foot strike distribution per trial; optional). The published variants differ in name
    (``_trials01-20``, ``_one_sub``, none) and in the number of trials, not in layout. ``tag`` goes
    into the recording names (none for the data set's own ``_trials01-20`` tables)."""
    acc = _number_table(acc_path)
    grf = _number_table(grf_path) if grf_path is not None else None
    info = _read_csv_dicts(info_path) if info_path is not None else None
    n = grf.shape[1] if grf is not None else acc.shape[1] // 2
    if acc.shape[1] != 2 * n:
        what = f"{grf_path.name} has {n} columns" if grf is not None else "an odd number of columns"
        raise ValueError(
            f"{acc_path}: {acc.shape[1]} columns where the vertical and anteroposterior halves need {2 * n} ({what})"
        )
    if grf is not None and grf.shape[0] != acc.shape[0]:
        raise ValueError(f"{grf_path}: {grf.shape[0]} trials (rows), {acc_path.name} has {acc.shape[0]}")
    if info is not None and len(info) != acc.shape[0]:
        raise ValueError(f"{info_path}: {len(info)} trials (rows), {acc_path.name} has {acc.shape[0]}")
    rate = ALCANTARA_RATE_HZ
    t = np.arange(n) / rate
    prefix = f"alcantara_{tag}" if tag else "alcantara"
    recs = []
    for i in range(acc.shape[0]):
        vert_g, ap_g = acc[i, :n], acc[i, n:]
        row = info[i] if info is not None else {}
        speed = _number(row, "Speed")
        trial_name = f"{prefix}_trial{i + 1:02d}"
        name = f"{trial_name}_sacrum_500hz"
        strike_pct = {k: v for k in ("RFS", "MFS", "FFS") if (v := _number(row, k)) is not None} or None
        meta = {
            "source": f"Alcantara et al. 2022 PeerJ 10:e12752, {acc_path.name} row "
            f"{i + 1} (pre-processed: 20 Hz low-pass, negative vertical set to 0)",
            "license": "Apache-2.0",
            "placement": "sacrum",
        }
        if speed is not None:
            meta["speed_mps"] = f"{speed:g}"
        if row.get("Slope"):
            meta["slope_pct"] = row["Slope"]
        meta.update(
            {
                "sample_rate_hz": "500",
                "treadmill": "yes",
                "axes": "x=AP (forward) y=vertical (up, gravity included) z=not recorded (0)",
                "truth": f"{name}.truth.json" if grf is not None else "none (no GRF table: no contact truth)",
            }
        )
        tdoc = None
        if grf is not None:
            contacts = truth.force_contacts(t, grf[i], rate, threshold_n=0.1, cutoff_hz=50.0, min_contact_s=0.08)
            ics = np.array([c.ic_s for c in contacts])
            tdoc = {
                "schema": SCHEMA,
                "trial": trial_name,
                "source": ALCANTARA_SOURCE,
                "license": "Apache-2.0",
                "speed_mps": speed,
                "slope_pct": _number(row, "Slope"),
                "body_mass_kg": _number(row, "Mass"),
                "body_mass_method": "Sub_Info table" if _number(row, "Mass") is not None else None,
                "contacts_source": "force",
                "contacts_method": "vertical GRF (body weights) low-passed 50 Hz, IC/TO = crossings of 0.1 BW; "
                "side unknown",
                "contacts": [c.to_dict() for c in contacts],
                "excluded_spans": [],
                "calibration_csv": None,
                "steps": [],
                "vo_method": None,
                "fsa_method": None,
                "strike_distribution_pct": strike_pct,
                "labels": {"source": info_path.name, "strike_distribution_pct": strike_pct} if strike_pct else None,
                "summary": {
                    "n_contacts": len(contacts),
                    "median_gct_ms": float(np.median([c.gct_ms for c in contacts])) if contacts else None,
                    "cadence_spm": float(60.0 / np.median(np.diff(ics))) if ics.size > 1 else None,
                },
                "sensor": {
                    "kind": "real",
                    "note": "pre-processed by the authors: 20 Hz low-pass, negative vertical values set to 0; "
                    "acc_z is not recorded and written as 0",
                    "axes": "x = anteroposterior (positive forward), y = vertical incl. gravity (up), z = none",
                },
                "notes": ["not a raw signal: impacts and free-fall undershoot are removed by the authors' processing"],
            }
        a = np.column_stack([ap_g, vert_g, np.zeros(n)]) * G_MPS2
        recs.append(Recording(name, "sacrum", None, rate, t, a, None, meta, tdoc, "alcantara", "alcantara"))
    return recs


# a raw recording as the authors' Sample_test_data.csv has it (a sacral IMU's own export)
ALCANTARA_RAW_AXES = ("Accel_LN_X", "Accel_LN_Y", "Accel_LN_Z")


def alcantara_raw_recording(path: Path) -> Recording:
    """A raw sacral accelerometer recording as the authors publish it beside their tables
    (``Sample_test_data.csv``: columns ``Accel_LN_X,Accel_LN_Y,Accel_LN_Z`` in m/s^2 and a time
    column in ms, 512 Hz). Their notes: X is vertical including gravity (it reads -g standing: down),
    Z anteroposterior with the sign flipped; no foot strike data, so no truth. Written as a rotation
    of the device's axes, like the tables: acc_x = -Z (forward), acc_y = -X (up), acc_z = Y."""
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    header = [h.strip() for h in lines[0].split(",")] if lines else []
    cols = [header.index(a) if a in header else -1 for a in ALCANTARA_RAW_AXES]
    time_col = next((i for i, h in enumerate(header) if "timestamp" in h.lower() or h.lower().startswith("time")), -1)
    if min(cols) < 0 or time_col < 0:
        raise ValueError(
            f"{path}: expected columns {', '.join(ALCANTARA_RAW_AXES)} and a time column in ms "
            f"(like Sample_test_data.csv), got {', '.join(header) or 'an empty file'}"
        )
    data = _number_table(path, lines[1:])
    if data.shape[0] < 2:
        raise ValueError(f"{path}: fewer than two samples")
    t = (data[:, time_col] - data[0, time_col]) / 1000.0
    dt_s = np.diff(t)
    if not np.all(dt_s > 0):
        raise ValueError(f"{path}: the time column does not increase from sample to sample")
    rate = float(round(1.0 / np.median(dt_s), 3))
    x, y, z = (data[:, c] for c in cols)
    acc = np.column_stack([-z, -x, y])
    name = f"alcantara_{re.sub(r'[^a-z0-9]+', '_', path.stem.lower()).strip('_')}_sacrum_{rate:.0f}hz"
    meta = {
        "source": f"Alcantara et al. 2022 PeerJ 10:e12752 (Recurrent_GRF_Prediction data), {path.name}: a raw "
        "sacral accelerometer recording",
        "license": "Apache-2.0",
        "placement": "sacrum",
        "sample_rate_hz": f"{rate:g}",
        "axes": "x=-Accel_LN_Z (forward) y=-Accel_LN_X (up, gravity included) z=Accel_LN_Y",
        "speed_note": "about 3 m/s, runner 175 cm and 60 kg (the authors' notes in Test_LSTM.ipynb)",
        "truth": "none (no force or foot strike data with this recording)",
    }
    return Recording(name, "sacrum", None, rate, t, acc, None, meta, None, "alcantara", "alcantara")


def _read_csv_dicts(path: Path) -> list[dict[str, str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    header = [h.strip() for h in lines[0].split(",")]
    return [dict(zip(header, (c.strip() for c in line.split(",")))) for line in lines[1:] if line.strip()]


# ============================================================================ adept (GPL-3)


def adept_recordings(source_dir: str | Path | None = None) -> list[Recording]:
    """The adeptdata ``acc_running`` outdoor run: ``left_ankle`` (shoe clip, outside of the left
    foot below the ankle) as placement foot / side left, ``left_hip`` (belt) as placement waist.

    Values g -> m/s^2 (x 9.80665); axes are the device's own (ActiGraph GT9X Link); the ankle
    channel clips at +/- 8 g. time_s = date_time - first date_time of the file (seconds; the UTC
    start is in the metadata). No truth. GPL-3 data: written to the ``adept-outdoor-run``
    sub-folder with the licence text.
    """
    src = source_root(source_dir, "adept-outdoor-run") / "adept-outdoor-run"
    published = src / "acc_running.rda"
    streams = read_adept(published if published.exists() else src / "acc_running.csv.gz")
    description = src / "source-text" / "DESCRIPTION"
    recs = []
    for loc_id, placement, side in (("left_ankle", "foot", "left"), ("left_hip", "waist", None)):
        stream = streams[loc_id]
        tt, acc, t_first = stream.time_s, stream.acc_mps2, stream.time_origin_unix_s
        start_utc = (
            time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t_first)) + f".{int(round((t_first % 1) * 100)):02d}Z"
        )
        meta = {
            "source": "adeptdata R package 1.1 (Karas, Urbanek, Harezlak, Fadel), object acc_running, "
            f"loc_id {loc_id}; ActiGraph GT9X Link, outdoor run",
            "license": "GPL-3.0 (https://www.gnu.org/licenses/gpl-3.0.html; package DESCRIPTION next to this file)",
            "placement": placement,
        }
        if side:
            meta["side"] = side
        meta.update(
            {
                "sensor": loc_id,
                "sample_rate_hz": "100",
                "axes": "device's own (ActiGraph), not aligned to the body",
                "acc_range_g": "8" if loc_id == "left_ankle" else "unknown",
                "start_utc": start_utc,
                "time_origin_unix_s": f"{t_first:.2f}",
                "treadmill": "no",
                "location": "clip on the outside of the left shoe, below the ankle"
                if loc_id == "left_ankle"
                else "elastic belt, left side of the hip",
            }
        )
        name = f"adept_outdoor_run_{loc_id}_100hz"
        extra = {"DESCRIPTION": description} if description.exists() else {}
        recs.append(
            Recording(
                name,
                placement,
                side,
                100.0,
                tt,
                acc,
                None,
                meta,
                None,
                "adept",
                "adept-outdoor-run",
                extra,
            )
        )
    return recs


# ============================================================================ all


def build_validation_set(out_dir: str | Path, source_dir: str | Path | None = None) -> list[Trial]:
    """Build every validation recording into ``out_dir`` (sub-folders mocap/, alcantara/,
    adept-outdoor-run/). ``source_dir`` defaults to the fetched public data sets."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    source_dir = source_root(source_dir, "rbds", "ric", "alcantara-sacral", "adept-outdoor-run")
    trials: list[Trial] = []
    for rec in mocap_recordings(source_dir):
        trials.append(rec.write(out_dir))
    for rec in alcantara_trials(source_dir):
        trials.append(rec.write(out_dir))
    for rec in adept_recordings(source_dir):
        trials.append(rec.write(out_dir))
    index = [
        {
            "name": tr.name,
            "placement": tr.placement,
            "side": tr.side,
            "csv": str(tr.csv.relative_to(out_dir)),
            "truth": str(tr.truth.relative_to(out_dir)) if tr.truth else None,
            "calibration": str(tr.calibration.relative_to(out_dir)) if tr.calibration else None,
            "rate_hz": tr.rate_hz,
            "source": tr.source,
        }
        for tr in trials
    ]
    (out_dir / "index.json").write_text(json.dumps(index, indent=1) + "\n", encoding="utf-8")
    return trials


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m gait.validation.datasets", description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir", help="directory to write the recordings into (a cache; not committed)")
    ap.add_argument("--source-dir", default=None, help="raw data folder laid out as data/datasets.toml's paths (default: fetched on first use)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    trials = build_validation_set(args.out_dir, args.source_dir)
    dt = time.perf_counter() - t0
    print(f"wrote {len(trials)} recordings to {args.out_dir} in {dt:.1f} s")
    for tr in trials:
        if tr.truth is None or "alcantara" in tr.name or not tr.name.endswith("_200hz"):
            continue
        doc = json.loads(tr.truth.read_text(encoding="utf-8"))
        s = doc["summary"]
        if tr.placement == "sacrum":
            print(
                f"  {doc['trial']:>22}: {s['n_contacts']} contacts, median GCT {s['median_gct_ms']:.0f} ms, "
                f"cadence {s['cadence_spm']:.1f} spm, VO {s['mean_vo_cm']:.2f} cm, FSA L {s['mean_fsa_deg']['left']:.1f} "
                f"R {s['mean_fsa_deg']['right']:.1f} deg"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
