#!/usr/bin/env python3
"""Run gaitmap (mad-lab-fau/gaitmap 2.x) on one foot recording; print analysis-contract JSON lines.

A standalone script, executed by the interpreter of the separate gaitmap venv (``.venv-gaitmap``,
made by ``make gaitmap-env``; requirements in ``gaitmap-requirements.txt`` beside this file). It
must not import the ``gait`` package: it reads our CSV recording format with numpy/pandas.

    .venv-gaitmap/bin/python gait/validation/gaitmap_runner.py REC.csv --side left \
        [--segmentation peaks|dtw] [--events herzer|rampp|rampp,herzer]

stdout: one JSON object per contact in the analysis-contract shape (ic_s, to_s, side, gct_ms;
every other metric null; quality []); with several detectors each line has a "detector" key too. stderr: free text, and as its last line
``GAITMAP_DIAG {json}`` with what was done (alignment, stride counts, warnings).
Exit status: 0 on success (even with zero contacts), 2 when gaitmap could not be run.

What is done (gaitmap's own conventions and helpers; parameters that differ from gaitmap's
walking defaults are marked RUNNING):

1. Units: our CSV has specific force in m/s^2 and angular rate in deg/s, which are gaitmap's
   units too (``acc_x..z``, ``gyr_x..z``). Non-uniform or missing samples are not expected from
   our recordings; the sample rate is 1 / median(dt).
2. Sensor frame -> gaitmap foot sensor frame (FSF: X to the tip of the shoe, Y to the left,
   Z up, right-handed; gyro by the right-hand rule). Our mounting is unknown, so:
   a. ``gaitmap.preprocessing.align_dataset_to_gravity``: rotates the data so the median specific
      force in "static" windows points along +Z. Gaitmap's default (0.7 s windows with a gyro
      norm <= 2.5 deg/s) finds nothing while running. RUNNING: 0.1 s windows and a threshold
      at the 10th percentile of the windowed median gyro norm of the recording, so the static
      samples are the quietest part of each stance (foot flat). The threshold is reported.
   b. ``PcaAlignment(target_axis="y", pca_plane_axis=("gyr_x", "gyr_y"))``: the heading (rotation
      about Z) that puts Y on the main rotation axis of the foot (medio-lateral).
   c. ``ForwardDirectionSignAlignment(forward_direction="x", rotation_axis="z")``: the 0/180 deg
      flip about Z, from the sign of the forward velocity of a strapdown integration. RUNNING:
      its ZUPT detectors use the gyro norm (0.1 s windows, mean, threshold = 2x the gravity
      threshold above) instead of 0.15 s windows at 0.01 (m/s^2)^2 / 15 deg/s, which never
      trigger in running.
   The result is converted to the foot body frame with ``convert_left_foot_to_fbf`` /
   ``convert_right_foot_to_fbf`` (``--side``).
3. Stride segmentation (``--segmentation``):
   * ``dtw``: ``BarthDtw`` with its original (walking) template. RUNNING: min_match_length_s
     0.4 (default 0.6; running strides are 0.6-0.8 s), max_match_length_s 1.5, max_cost 4.0
     (default), snap to the gyr_ml minimum within 150 ms. It finds most running strides, but
     snaps the borders to whichever gyr_ml minimum is near (for a rearfoot striker the foot slap
     just after IC), and the event detectors then reject most strides (RBDS0041 right foot,
     100 Hz: 38 strides, 0 contacts). Kept as an option; not used by ``gait validate``.
   * ``peaks`` (default): a simple segmentation, not a gaitmap algorithm, that puts the stride
     borders where gaitmap's "segmented" stride type has them (the gyr_ml minimum before toe-off:
     the push-off plantar-flexion peak). Mid-swing peaks = maxima of gyr_ml
     (``scipy.signal.find_peaks``, minimum distance 0.6 x the stride period from the
     autocorrelation of gyr_ml, prominence 30 % of its 5-95 % range); border = the minimum of
     gyr_ml in the 0.65 stride periods before each mid-swing peak. (The plain per-stride minimum
     of gyr_ml does not work: for a rearfoot striker the deepest minimum is the foot slap just
     after IC, not push-off.) Consecutive borders closer than 1.6 stride periods form a stride.
4. Events (``--events``): ``HerzerEventDetection`` (default parameters) and/or
   ``RamppEventDetection`` (default parameters; input "segmented"). Both are walking algorithms:
   Rampp looks for IC only up to 60 % of a segmented stride and takes TC at the gyr_ml zero
   crossing after push-off, which in running is well after toe-off; Herzer (TC = gyr_ml minimum
   near the border, IC search to 70 % of the stride) fits running better. Both give, per min_vel stride, ``pre_ic``
   (the IC before the stride's mid-stance) and ``tc`` (the toe-off after it): one contact is
   (ic = pre_ic, to = tc).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import sys
import traceback
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

SF_ACC = ["acc_x", "acc_y", "acc_z"]
SF_GYR = ["gyr_x", "gyr_y", "gyr_z"]
OUR_ACC = ["acc_x_mps2", "acc_y_mps2", "acc_z_mps2"]
OUR_GYR = ["gyr_x_dps", "gyr_y_dps", "gyr_z_dps"]


def read_csv(path: Path) -> tuple[np.ndarray, pd.DataFrame, dict]:
    """Our CSV recording format -> (time_s, gaitmap sensor-frame DataFrame, metadata)."""
    text = path.read_text(encoding="utf-8") if path.suffix != ".gz" else _read_gz(path)
    meta: dict[str, str] = {}
    body = []
    for line in text.splitlines():
        s = line.strip()
        if not s:
            continue
        if s.startswith("#"):
            kv = s.lstrip("#").strip()
            if ":" in kv:
                k, v = kv.split(":", 1)
                meta[k.strip()] = v.strip()
            continue
        body.append(line)
    df = pd.read_csv(io.StringIO("\n".join(body)))
    missing = [c for c in ["time_s", *OUR_ACC, *OUR_GYR] if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: gaitmap needs acc and gyro; missing columns {missing}")
    df = df.dropna(subset=["time_s"]).sort_values("time_s").drop_duplicates("time_s")
    data = pd.DataFrame(
        np.column_stack([df[OUR_ACC].to_numpy(float), df[OUR_GYR].to_numpy(float)]), columns=SF_ACC + SF_GYR
    )
    data = data.interpolate(limit_direction="both")
    return df["time_s"].to_numpy(float), data, meta


def _read_gz(path: Path) -> str:
    import gzip

    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return fh.read()


def _windowed_median(x: np.ndarray, win: int) -> np.ndarray:
    from numpy.lib.stride_tricks import sliding_window_view

    if x.size < win:
        return np.array([np.median(x)])
    return np.median(sliding_window_view(x, win), axis=1)


def align_to_fsf(data: pd.DataFrame, fs: float, diag: dict) -> pd.DataFrame:
    from gaitmap.preprocessing.sensor_alignment import (
        ForwardDirectionSignAlignment,
        PcaAlignment,
        align_dataset_to_gravity,
    )
    from gaitmap.trajectory_reconstruction import PieceWiseLinearDedriftedIntegration
    from gaitmap.utils.consts import GRAV_VEC
    from gaitmap.zupt_detection import NormZuptDetector

    win_s = 0.1
    win = max(3, int(round(win_s * fs)))
    gyr_norm = np.linalg.norm(data[SF_GYR].to_numpy(), axis=1)
    th = float(max(2.5, np.percentile(_windowed_median(gyr_norm, win), 10.0)))
    diag["gravity_window_s"] = win_s
    diag["gravity_static_gyr_th_dps"] = round(th, 2)
    g = align_dataset_to_gravity(data, fs, window_length_s=win_s, static_signal_th=th, metric="median")

    pca = PcaAlignment(target_axis="y", pca_plane_axis=("gyr_x", "gyr_y")).align(g)
    p = pca.aligned_data_
    comp = np.asarray(pca.pca_.explained_variance_ratio_, float)
    diag["pca_explained_variance_ratio"] = [round(float(v), 3) for v in comp]

    zupt_th = 2.0 * th
    fdsa = ForwardDirectionSignAlignment(
        forward_direction="x",
        rotation_axis="z",
        baseline_velocity_threshold=0.2,
        zupt_detector_orientation_init=NormZuptDetector(
            sensor="gyr", window_length_s=win_s, inactive_signal_threshold=zupt_th, metric="mean"
        ),
        pos_method=PieceWiseLinearDedriftedIntegration(
            NormZuptDetector(sensor="gyr", window_length_s=win_s, inactive_signal_threshold=zupt_th, metric="mean"),
            level_assumption=False,
            gravity=GRAV_VEC,
        ),
    ).align(p, sampling_rate_hz=fs)
    diag["forward_flipped"] = bool(fdsa.is_flipped_)
    diag["zupt_gyr_th_dps"] = round(zupt_th, 2)
    return fdsa.aligned_data_


def stride_period_s(gyr_ml: np.ndarray, fs: float) -> float:
    """Dominant period of gyr_ml in 0.4-2.0 s (autocorrelation)."""
    x = gyr_ml - np.mean(gyr_ml)
    n = x.size
    spec = np.fft.rfft(x, 2 * n)
    ac = np.fft.irfft(spec * np.conj(spec))[:n]
    lo, hi = int(0.4 * fs), min(n - 1, int(2.0 * fs))
    if hi <= lo:
        return 0.7
    k = lo + int(np.argmax(ac[lo:hi]))
    return k / fs


def segment_peaks(bf: pd.DataFrame, fs: float, diag: dict) -> pd.DataFrame:
    """Stride borders at the push-off minimum of gyr_ml (see the module docstring)."""
    from scipy.signal import find_peaks

    gyr_ml = bf["gyr_ml"].to_numpy()
    period = stride_period_s(gyr_ml, fs)
    rng = np.percentile(gyr_ml, 95) - np.percentile(gyr_ml, 5)
    swing, _ = find_peaks(gyr_ml, distance=max(1, int(0.6 * period * fs)), prominence=0.3 * rng)
    look = int(0.65 * period * fs)
    borders = [int(p - look + np.argmin(gyr_ml[p - look : p])) for p in swing if p - look >= 0]
    diag["stride_period_s"] = round(period, 3)
    diag["n_swing_peaks"] = int(len(swing))
    rows = [(a, b) for a, b in zip(borders[:-1], borders[1:]) if 0 < (b - a) < 1.6 * period * fs]
    sl = pd.DataFrame(rows, columns=["start", "end"]).astype(int)
    sl.index.name = "s_id"
    return sl


def segment_dtw(bf: pd.DataFrame, fs: float, diag: dict) -> pd.DataFrame:
    from gaitmap.stride_segmentation import BarthDtw

    dtw = BarthDtw(min_match_length_s=0.4, max_match_length_s=1.5, max_cost=4.0, snap_to_min_win_ms=150)
    dtw = dtw.segment(data=bf, sampling_rate_hz=fs)
    return dtw.stride_list_


def detect_events(bf: pd.DataFrame, stride_list: pd.DataFrame, fs: float, which: str) -> pd.DataFrame:
    if which == "rampp":
        from gaitmap.event_detection import RamppEventDetection

        ed = RamppEventDetection()
    elif which == "herzer":
        from gaitmap.event_detection import HerzerEventDetection

        ed = HerzerEventDetection()
    else:
        raise ValueError(f"unknown event detector {which!r}")
    ed = ed.detect(data=bf, stride_list=stride_list, sampling_rate_hz=fs)
    return ed.min_vel_event_list_


def _t(time_s: np.ndarray, idx: float) -> float:
    """Sample index (possibly fractional / NaN) -> time on the recording's own clock."""
    if idx is None or not math.isfinite(idx):
        return math.nan
    i = int(np.floor(idx))
    i = min(max(i, 0), time_s.size - 1)
    frac = idx - i
    if frac and i + 1 < time_s.size:
        return float(time_s[i] + frac * (time_s[i + 1] - time_s[i]))
    return float(time_s[i])


def contract_record(ic_s: float, to_s: float, side: str | None) -> dict:
    gct = (to_s - ic_s) * 1000.0 if math.isfinite(ic_s) and math.isfinite(to_s) else None
    return {
        "ic_s": round(ic_s, 4),
        "to_s": round(to_s, 4) if math.isfinite(to_s) else None,
        "side": side,
        "gct_ms": round(gct, 3) if gct is not None else None,
        "flight_ms": None,
        "cadence_spm": None,
        "vo_cm": None,
        "vertical_ratio_pct": None,
        "fsa_deg": None,
        "strike": None,
        "lean_deg": None,
        "quality": [],
    }


def run(path: Path, side: str, segmentation: str, events: list[str], diag: dict) -> list[dict]:
    from gaitmap.utils.coordinate_conversion import convert_left_foot_to_fbf, convert_right_foot_to_fbf

    time_s, data, _meta = read_csv(path)
    fs = float(1.0 / np.median(np.diff(time_s)))
    diag.update(file=path.name, fs_hz=round(fs, 3), n_samples=int(time_s.size), side=side,
                segmentation=segmentation, events=events)
    fsf = align_to_fsf(data, fs, diag)
    bf = convert_left_foot_to_fbf(fsf) if side == "left" else convert_right_foot_to_fbf(fsf)
    bf = bf.astype(float)
    sl = segment_dtw(bf, fs, diag) if segmentation == "dtw" else segment_peaks(bf, fs, diag)
    diag["n_segmented_strides"] = int(len(sl))
    out = []
    for which in events:
        n = 0
        if len(sl) >= 2:
            try:
                ev = detect_events(bf, sl, fs, which)
            except Exception as exc:  # one detector failing does not hide the other
                diag[f"error_{which}"] = f"{type(exc).__name__}: {exc}"[:300]
                continue
            for _, row in ev.sort_values("pre_ic").iterrows():
                ic, to = _t(time_s, row.get("pre_ic")), _t(time_s, row.get("tc"))
                if not math.isfinite(ic):
                    continue
                rec = contract_record(ic, to, side)
                if len(events) > 1:
                    rec["detector"] = which
                out.append(rec)
                n += 1
        diag[f"n_contacts_{which}"] = n
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("path", type=Path)
    ap.add_argument("--side", choices=("left", "right"), required=True)
    ap.add_argument("--segmentation", choices=("peaks", "dtw"), default="peaks")
    ap.add_argument(
        "--events",
        default="herzer",
        help="rampp, herzer, or both comma-separated (then each line carries a 'detector' key)",
    )
    args = ap.parse_args(argv)
    events = [e.strip() for e in args.events.split(",") if e.strip()]
    bad = [e for e in events if e not in ("rampp", "herzer")]
    if bad or not events:
        ap.error(f"--events: unknown detector(s) {bad}; use rampp, herzer or rampp,herzer")
    diag: dict = {}
    try:
        import gaitmap  # noqa: F401

        diag["gaitmap_version"] = getattr(gaitmap, "__version__", "?")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            records = run(args.path, args.side, args.segmentation, events, diag)
        diag["warnings"] = sorted({str(w.message)[:160] for w in caught})[:10]
    except Exception as exc:  # reported, not raised: run.py puts it in the table row
        traceback.print_exc(file=sys.stderr)
        diag["error"] = f"{type(exc).__name__}: {exc}"[:300]
        print("GAITMAP_DIAG " + json.dumps(diag), file=sys.stderr)
        return 2
    for rec in records:
        print(json.dumps(rec))
    print("GAITMAP_DIAG " + json.dumps(diag), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
