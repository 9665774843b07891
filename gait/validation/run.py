"""The validation command: build the validation set (cached), run the pipeline on every recording,
score it against truth, compare with gaitmap on the foot recordings, print the accuracy table.

    python -m gait.validation.run [--cache DIR] [--source-dir DIR] [--no-gaitmap] [--markdown FILE]

(wired by the CLI as ``gait validate``). `run_validation` returns the exit status:
0 = every floor with data passes, 1 = a floor fails, 2 = the validation set could not be built.

Rows: one per dataset x placement x sample rate (RBDS and RIC virtual IMU, Alcantara real sacral
accelerometer), for our pipeline and, on the foot recordings, for gaitmap (run in its own venv by
``gaitmap_runner.py``); then one pooled row per placement. Floors are checked on our pooled rows;
the trunk contact-time floor only on trials whose truth comes from force.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from firmware_interface.files.recording import read_metadata
from gait.batch.analysis import AnalysisOptions, AnalysisRequest, analyse_file
from gait.batch.run import OK, BatchSetupError, run_batch
from gait.public_data import attribution, registry
from gait.validation import report
from gait.validation.score import (
    Consistency,
    Score,
    TruthContact,
    band_rank,
    cadence_consistency,
    floors_for,
    normalize_strike,
    pool,
    score_trial,
    speed_band,
    speeds_text,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CACHE_DIR = REPO_ROOT / ".cache" / "validation"
GAITMAP_VENV = REPO_ROOT / ".venv-gaitmap"
GAITMAP_RUNNER = Path(__file__).resolve().with_name("gaitmap_runner.py")
GAITMAP_REQUIREMENTS = Path(__file__).resolve().with_name("gaitmap-requirements.txt")
GAITMAP_DETECTORS = ("herzer", "rampp")
CALIBRATED = "ours, calibrated"  # the same pipeline given the sensor's standing calibration
ACC_ONLY = "ours, no gyro"  # a foot sensor's accelerometer alone (the degraded mode)
# A recording is not scored when more than this share of its contacts lies in motion-capture data
# that cannot be repaired (the truth there is unknown, and so is the virtual signal).
MAX_EXCLUDED_SHARE = 0.5
GAITMAP_TIMEOUT_S = 300.0
_GENERATOR_MODULES = ("datasets.py", "virtual_imu.py", "truth.py", "mocap.py")

GAITMAP_HOWTO = (
    "gaitmap venv missing: run `make gaitmap-env` (python3 -m venv .venv-gaitmap && "
    ".venv-gaitmap/bin/pip install -r gait/validation/gaitmap-requirements.txt)"
)


# ============================================================================ the set


@dataclass(frozen=True)
class TrialInfo:
    """What run.py needs of one recording of the validation set."""

    name: str
    placement: str
    side: str | None
    csv: Path
    truth: Path | None
    rate_hz: float
    source: str
    calibration: Path | None = None  # standing calibration recording of the same sensor

    @property
    def dataset(self) -> str:
        n = self.name.lower()
        if n.startswith("rbds"):
            return "RBDS"
        if n.startswith("ric"):
            return "RIC"
        if n.startswith("alcantara"):
            return "Alcantara"
        if n.startswith("adept"):
            return "adept"
        return self.source or self.name.split("_")[0]


def _stale(cache_dir: Path) -> bool:
    index = cache_dir / "index.json"
    if not index.exists():
        return True
    built = index.stat().st_mtime
    here = Path(__file__).resolve().parent
    return any((here / m).exists() and (here / m).stat().st_mtime > built for m in _GENERATOR_MODULES)


def load_or_build(cache_dir: Path, source_dir: Path | None, log: Callable[[str], None]) -> list[TrialInfo]:
    """The validation set from ``cache_dir/index.json``; (re)built when missing or older than its generator."""
    if _stale(cache_dir):
        from gait.validation.datasets import build_validation_set

        log(f"building the validation set into {cache_dir} ...")
        t0 = time.perf_counter()
        trials = build_validation_set(cache_dir, source_dir)
        log(f"  {len(trials)} recordings in {time.perf_counter() - t0:.1f} s")
        return [
            TrialInfo(t.name, t.placement, t.side, Path(t.csv), Path(t.truth) if t.truth else None, float(t.rate_hz),
                      t.source, Path(t.calibration) if getattr(t, "calibration", None) else None)
            for t in trials
        ]
    index = json.loads((cache_dir / "index.json").read_text(encoding="utf-8"))
    return [
        TrialInfo(
            name=e["name"],
            placement=e["placement"],
            side=e.get("side"),
            csv=cache_dir / e["csv"],
            truth=(cache_dir / e["truth"]) if e.get("truth") else None,
            rate_hz=float(e["rate_hz"]),
            source=e.get("source", ""),
            calibration=(cache_dir / e["calibration"]) if e.get("calibration") else None,
        )
        for e in index
    ]


# ============================================================================ truth


@dataclass
class Truth:
    contacts: list[TruthContact]
    kind: str  # "force" / "kinematic"
    speed_mps: float | None
    doc: dict = field(default_factory=dict)


def load_truth(trial: TrialInfo) -> Truth | None:
    """Truth contacts of a recording (both feet), with per-step sacral VO (trunk recordings only),
    FSA and strike class (foot recordings only) and the RBDSinfo label of the contact's side."""
    if trial.truth is None or not trial.truth.exists():
        return None
    doc = json.loads(trial.truth.read_text(encoding="utf-8"))
    kind = doc.get("contacts_source") or (
        "kinematic" if str(doc.get("contacts_method") or "").lower().startswith("kinematic") else "force"
    )
    vo_by_ic: dict[float, float] = {}
    lean_by_ic: dict[float, float] = {}
    if trial.placement != "foot":
        for s in doc.get("steps") or []:
            key = round(float(s["ic_s"]), 4)
            if s.get("vo_cm") is not None and not s.get("excluded"):
                vo_by_ic[key] = float(s["vo_cm"])
            # the sacrum's lean is the pelvis' sagittal tilt; scored relative to standing (calibrated runs)
            if s.get("pelvis_tilt_rel_deg") is not None and not s.get("excluded"):
                lean_by_ic[key] = float(s["pelvis_tilt_rel_deg"])
    labels = doc.get("labels") or {}
    contacts = []
    for c in doc.get("contacts") or []:
        side = c.get("side")
        foot = trial.placement == "foot"
        contacts.append(
            TruthContact(
                ic_s=float(c["ic_s"]),
                to_s=float(c["to_s"]) if c.get("to_s") is not None else math.nan,
                side=side,
                vo_cm=vo_by_ic.get(round(float(c["ic_s"]), 4), math.nan),
                fsa_deg=float(c["fsa_deg"]) if foot and c.get("fsa_deg") is not None else math.nan,
                strike=normalize_strike(c.get("strike")) if foot else None,
                label=labels.get(side) if foot and side in ("left", "right") else None,
                lean_deg=lean_by_ic.get(round(float(c["ic_s"]), 4), math.nan),
                excluded=bool(c.get("excluded")),
            )
        )
    speed = doc.get("speed_mps")
    return Truth(contacts, kind, float(speed) if speed else None, doc)


# ============================================================================ our pipeline


def trial_request(
    trial: TrialInfo, speed_mps: float | None = None, calibrated: bool = False, without_gyro: bool = False
) -> AnalysisRequest:
    """What `gait analyze` is asked for one recording of the set: its placement and side, the
    treadmill speed its file gives (unless ``speed_mps``), with ``calibrated`` its sensor's
    standing recording as `--calibration`, with ``without_gyro`` as if the sensor had no gyroscope
    (the accelerometer-only mode)."""
    if calibrated and trial.calibration is None:
        raise ValueError("no standing calibration recording")
    if speed_mps is None:
        text = read_metadata(trial.csv).get("speed_mps")
        try:
            speed_mps = float(text) if text else None
        except ValueError:
            speed_mps = None
    options = AnalysisOptions(placement=trial.placement, side=trial.side, speed_mps=speed_mps,
                              calibration=str(trial.calibration) if calibrated else None, acc_only=without_gyro)  # fmt: skip
    return AnalysisRequest(str(trial.csv), options)


def run_pipeline(
    trial: TrialInfo, speed_mps: float | None = None, calibrated: bool = False, without_gyro: bool = False
) -> list[dict]:
    """Our pipeline on one recording (`trial_request`): the analysis-contract records (`gait analyze --jsonl`)."""
    return analyse_file(trial_request(trial, speed_mps, calibrated, without_gyro)).records()


def run_ours(
    requests: dict[str, AnalysisRequest], jobs: int | None, scheduler: str | None, log: Callable[[str], None]
) -> dict[str, tuple[list[dict] | None, str, float]]:
    """Every request through the batch (`gait.batch.run`: a local cluster, ``scheduler``, or one
    process): per key the records (None: failed), the error and the seconds it took."""
    keys = list(requests)
    report = run_batch([requests[k] for k in keys], names=keys, jobs=jobs, scheduler=scheduler, say=log)
    log(f"  our pipeline ran in {report.mode}")
    return {k: (r.records if r.status == OK else None, r.error, r.seconds) for k, r in zip(keys, report.results)}


# ============================================================================ gaitmap


def gaitmap_python() -> Path | None:
    env = os.environ.get("GAIT_GAITMAP_PYTHON")
    if env:
        return Path(env)
    for cand in (GAITMAP_VENV / "bin" / "python", GAITMAP_VENV / "Scripts" / "python.exe"):
        if cand.exists():
            return cand
    return None


def run_gaitmap(python: Path, trial: TrialInfo) -> tuple[dict[str, list[dict]], dict]:
    """gaitmap on one foot recording: records per detector, and the runner's diagnostics
    (``diag["error"]`` when it failed)."""
    cmd = [str(python), str(GAITMAP_RUNNER), str(trial.csv), "--side", trial.side or "left",
           "--events", ",".join(GAITMAP_DETECTORS)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=GAITMAP_TIMEOUT_S, cwd=REPO_ROOT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {}, {"error": f"{type(exc).__name__}: {exc}"[:200]}
    diag: dict = {}
    for line in proc.stderr.splitlines():
        if line.startswith("GAITMAP_DIAG "):
            try:
                diag = json.loads(line[len("GAITMAP_DIAG "):])
            except ValueError:
                pass
    if proc.returncode != 0 and "error" not in diag:
        tail = proc.stderr.strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
        diag["error"] = tail[0][:200]
    out: dict[str, list[dict]] = {d: [] for d in GAITMAP_DETECTORS}
    for line in proc.stdout.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        out.setdefault(rec.pop("detector", GAITMAP_DETECTORS[0]), []).append(rec)
    return out, diag


# ============================================================================ the run


@dataclass
class TrialResult:
    trial: TrialInfo
    algorithm: str
    score: Score | None
    truth_kind: str
    error: str = ""
    seconds: float = 0.0
    speed_mps: float | None = None  # the trial's treadmill speed (from its truth)

    @property
    def band(self) -> str:
        return speed_band(self.speed_mps)


def _score(trial: TrialInfo, truth: Truth, detected: list[dict]) -> Score:
    foot = trial.placement == "foot"
    return score_trial(detected, truth.contacts, foot=foot, foot_side=trial.side if foot else None)


def _group_rows(results: list[TrialResult]) -> list[report.Row]:
    groups: dict[tuple, list[TrialResult]] = defaultdict(list)
    for r in results:
        groups[(r.trial.dataset, r.trial.placement, f"{r.trial.rate_hz:g}", r.algorithm, r.band)].append(r)
    order_ds = {"RBDS": 0, "RIC": 1, "Alcantara": 2}
    rows = []
    for key in sorted(groups, key=lambda k: (k[1] != "sacrum", k[1], order_ds.get(k[0], 9), k[0], float(k[2]),
                                             band_rank(k[4]), _algo_rank(k[3]), k[3])):
        rs = groups[key]
        ok = [r for r in rs if r.score is not None]
        by_error: dict[str, list[str]] = defaultdict(list)
        for r in rs:
            if r.error:
                by_error[r.error].append(r.trial.name)
        notes = [
            err if len(names) == len(rs) else f"{', '.join(names)}: {err}" for err, names in by_error.items()
        ]
        kinds = sorted({r.truth_kind for r in rs})
        if kinds == ["kinematic"]:
            notes.insert(0, "truth: kinematic")
        rows.append(
            report.Row(key[0], key[1], key[2], key[3], pool([r.score for r in ok]) if ok else None,
                       "+".join(kinds), notes, speed=speeds_text(r.speed_mps for r in rs))
        )
    return rows


def _pooled_rows(results: list[TrialResult]) -> list[report.Row]:
    rows = []
    by: dict[tuple, list[TrialResult]] = defaultdict(list)
    for r in results:
        if r.score is not None:
            by[(r.trial.placement, r.algorithm)].append(r)
    for (placement, algo) in sorted(by, key=lambda k: (k[0] != "sacrum", k[0], _algo_rank(k[1]), k[1])):
        rs = by[(placement, algo)]
        bands = sorted({r.band for r in rs}, key=band_rank)
        for band in [*bands, "all"] if len(bands) > 1 else ["all"]:
            sub = rs if band == "all" else [r for r in rs if r.band == band]
            datasets = sorted({r.trial.dataset for r in sub})
            rows.append(report.Row("all: " + "+".join(datasets), placement, "all", algo, pool([r.score for r in sub]),
                                   pooled=True, speed=speeds_text(r.speed_mps for r in sub) if band != "all" else "all"))
    return rows


def _algo_rank(algo: str) -> int:
    return {"ours": 0, CALIBRATED: 1, ACC_ONLY: 2}.get(algo, 3)


# Foot strike angle truth is 'angle at IC minus the standing trial': what a standing calibration
# measures. Those floors are checked on the calibrated runs; everything else without calibration.
# Truth that depends on the instant of contact (contact time, the foot angle at IC) is checked
# against force-plate truth: the kinematic contact times of the RIC trials are fitted at 2.5 m/s
# and checked only there (the table shows those rows in full).
CALIBRATED_FLOOR_METRICS = ("fsa_mae_deg", "strike_acc_pct")


def _floors(results: list[TrialResult]) -> list[report.FloorResult]:
    out = []
    ours = [r for r in results if r.algorithm == "ours" and r.score is not None]
    calibrated = [r for r in results if r.algorithm == CALIBRATED and r.score is not None]
    for placement in sorted({r.trial.placement for r in ours}, key=lambda p: (p != "sacrum", p)):
        rs = [r for r in ours if r.trial.placement == placement]
        everything = pool([r.score for r in rs])
        cal = [r for r in calibrated if r.trial.placement == placement]
        force = [r for r in rs if r.truth_kind == "force"]
        for fl in floors_for(placement):
            basis, sc = "all trials", everything
            if fl.metric in CALIBRATED_FLOOR_METRICS and cal:
                # the angle truth is read at initial contact: only force truth fixes that instant
                cal_force = [r for r in cal if r.truth_kind == "force"]
                basis, sc = "trials with force truth, with standing calibration", pool([r.score for r in cal_force])
            if fl.metric == "gct_mae_ms":  # kinematic truth has its own contact-time error
                basis, sc = "trials with force truth", pool([r.score for r in force])
            value = getattr(sc, fl.metric)
            out.append(report.FloorResult(placement, fl, value, fl.check(sc), basis))
    return out


def _goals(results: list[TrialResult]) -> list[report.GoalResult]:
    """The accuracy goals, one line per goal and speed band, each on the truth that can judge it."""
    out: list[report.GoalResult] = []

    def band_groups(rs: list[TrialResult]) -> list[tuple[str, list[TrialResult]]]:
        bands = sorted({r.band for r in rs}, key=band_rank)
        return [(b, [r for r in rs if r.band == b]) for b in bands]

    def basis(rs: list[TrialResult]) -> str:
        kinds = "+".join(sorted({r.truth_kind for r in rs}))
        return (f"{'+'.join(sorted({r.trial.dataset for r in rs}))} {speeds_text(r.speed_mps for r in rs)} m/s, "
                f"{len(rs)} recordings, {kinds} truth")

    ours = [r for r in results if r.algorithm == "ours" and r.score is not None]
    calibrated = [r for r in results if r.algorithm == CALIBRATED and r.score is not None]
    # trunk side: recordings whose truth names the sides (the virtual sacrum sensors, with a gyroscope)
    sided = [r for r in ours if r.trial.placement != "foot" and r.score.side_n + r.score.side_missing > 0]
    for band, rs in band_groups(sided):
        sc = pool([r.score for r in rs])
        out.append(report.GoalResult("sacrum", "steps with the right side >= 99.5 %", band, sc.side_acc_pct,
                                     _check(sc.side_acc_pct, 99.5, True), basis(rs)))
        out.append(report.GoalResult("sacrum", "steps without a side (gyro present) = 0 %", band,
                                     sc.side_missing_pct, _check(sc.side_missing_pct, 0.0, False), basis(rs)))
    vo = [r for r in ours if r.trial.placement != "foot" and r.score.vo_err_cm.size]
    for band, rs in band_groups(vo):
        sc = pool([r.score for r in rs])
        out.append(report.GoalResult("sacrum", "VO MAE per step <= 0.25 cm", band, sc.vo_mae_cm,
                                     _check(sc.vo_mae_cm, 0.25, False), basis(rs)))
    foot = [r for r in ours if r.trial.placement == "foot" and r.score.to_err_ms.size]
    for band, rs in band_groups(foot):
        force = [r for r in rs if r.truth_kind == "force"]
        use = force or rs
        sc = pool([r.score for r in use])
        out.append(report.GoalResult("foot", "toe-off bias within +-3 ms", band, sc.to_bias_ms,
                                     _check(abs(sc.to_bias_ms), 3.0, False) if force else None, basis(use)))
        worst = max(use, key=lambda r: r.score.gct_mae_ms)
        out.append(report.GoalResult("foot", "contact time MAE <= 5 ms on every trial (worst)", band,
                                     worst.score.gct_mae_ms, _check(worst.score.gct_mae_ms, 5.0, False) if force else None,
                                     basis(use) + f"; worst {worst.trial.name}"))
    strike = [r for r in calibrated if r.trial.placement == "foot" and r.score.strike_n]
    for band, rs in band_groups(strike):
        force = [r for r in rs if r.truth_kind == "force"]
        use = force or rs
        sc = pool([r.score for r in use])
        out.append(report.GoalResult("foot", "strike type >= 90 % (calibrated)", band, sc.strike_acc_pct,
                                     _check(sc.strike_acc_pct, 90.0, True) if force else None, basis(use)))
        out.append(report.GoalResult("foot", "strike type, steps not near_boundary (calibrated)", band,
                                     sc.strike_firm_acc_pct, _check(sc.strike_firm_acc_pct, 90.0, True) if force else None,
                                     basis(use) + f"; {report._f(sc.near_boundary_pct)} % of the steps near_boundary"))
    return out


def _check(value: float, limit: float, higher_is_better: bool) -> bool | None:
    if value is None or not math.isfinite(value):
        return None
    return value >= limit if higher_is_better else value <= limit


ADEPT_KEYS = ("adept ankle", "adept hip")


def _adept_trials(trials: list[TrialInfo]) -> tuple[TrialInfo, TrialInfo] | None:
    ankle = next((t for t in trials if t.dataset == "adept" and t.placement == "foot"), None)
    hip = next((t for t in trials if t.dataset == "adept" and t.placement != "foot"), None)
    return None if ankle is None or hip is None else (ankle, hip)


def _adept(
    trials: list[TrialInfo], log: Callable[[str], None], ours: dict[str, tuple[list[dict] | None, str, float]]
) -> tuple[Consistency | None, str]:
    if _adept_trials(trials) is None:
        return None, "the adept recordings are not in the validation set"
    (a, a_err, a_s), (h, h_err, h_s) = (ours[k] for k in ADEPT_KEYS)
    if a is None or h is None:  # reported, not raised
        return None, f"pipeline failed: {a_err or h_err}"
    log(f"  adept ankle + hip: {len(a)} + {len(h)} contacts in {a_s + h_s:.1f} s")
    return cadence_consistency(a, h), ""


def run_validation(
    cache_dir: str | Path | None = None,
    source_dir: str | Path | None = None,
    include_gaitmap: bool = True,
    markdown: str | Path | None = None,
    out: TextIO | None = None,
    jobs: int | None = None,
    scheduler: str | None = None,
) -> int:
    """Build (or reuse) the validation set, score our pipeline (and gaitmap) on it, print the table.

    Returns 0 when every floor with data passes, 1 when one fails, 2 when the set cannot be built.
    ``markdown``: also write the table, floors and notes as markdown to this file. Our pipeline
    runs as `gait analyze` batches do (`run_ours`): on a local cluster of ``jobs`` worker
    processes, on the dask ``scheduler`` given, or in this process (``jobs=1``, or without Dask);
    ``jobs`` also bounds the gaitmap runs at once.
    """
    out = out or sys.stdout

    def log(msg: str) -> None:
        print(msg, file=out, flush=True)

    cache = Path(cache_dir) if cache_dir else DEFAULT_CACHE_DIR
    try:
        trials = load_or_build(cache, Path(source_dir) if source_dir else None, log)
    except Exception as exc:
        log(f"error: could not build the validation set in {cache}: {type(exc).__name__}: {exc}")
        return 2
    scored = [t for t in trials if t.truth is not None]
    log(f"validation set: {len(trials)} recordings ({len(scored)} with truth) in {cache}")

    results: list[TrialResult] = []
    truths: dict[str, Truth] = {}
    unscored: set[str] = set()
    t_ours = time.perf_counter()
    planned: list[TrialResult | tuple[TrialInfo, str]] = []  # a result, or (trial, algorithm) to run
    requests: dict[str, AnalysisRequest] = {}
    for t in scored:
        truth = load_truth(t)
        if truth is None:
            continue
        truths[t.name] = truth
        own = [c for c in truth.contacts if t.placement != "foot" or c.side == t.side]
        n_excluded = sum(c.excluded for c in own)
        if own and n_excluded > MAX_EXCLUDED_SHARE * len(own):
            why = (f"not scored: {n_excluded} of {len(own)} contacts lie in motion-capture data that cannot be "
                   "repaired (see the truth file's excluded_spans)")
            planned.append(TrialResult(t, "ours", None, truth.kind, why))
            unscored.add(t.name)
            continue
        variants = [("ours", {})]
        if t.placement == "foot":
            variants.append((ACC_ONLY, {"without_gyro": True}))
        if t.calibration is not None:
            variants.append((CALIBRATED, {"calibrated": True}))
        for algo, how in variants:
            planned.append((t, algo))
            requests[f"{t.name}.{algo}"] = trial_request(t, **how)
    adept = _adept_trials(trials)
    if adept is not None:
        requests.update(zip(ADEPT_KEYS, (trial_request(t) for t in adept)))
    try:
        ours = run_ours(requests, jobs, scheduler, log)
    except BatchSetupError as exc:
        log(f"error: {exc}")
        return 2
    for item in planned:  # one failing trial is a row note, not a crash
        if isinstance(item, TrialResult):
            results.append(item)
            continue
        t, algo = item
        det, error, seconds = ours[f"{t.name}.{algo}"]
        score = None
        try:
            score = _score(t, truths[t.name], det) if det is not None else None
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
        results.append(TrialResult(t, algo, score, truths[t.name].kind, error[:160],
                                   seconds=seconds if algo == "ours" else 0.0))  # fmt: skip
    log(f"  our pipeline: {len(results)} recordings in {time.perf_counter() - t_ours:.1f} s")

    notes: list[str] = []
    missing_row: report.Row | None = None
    if include_gaitmap:
        foot = [t for t in scored if t.placement == "foot" and t.name in truths and t.name not in unscored]
        py = gaitmap_python()
        if py is None:
            missing_row = report.Row("RBDS+RIC", "foot", "all", "gaitmap (not run)", None, notes=[GAITMAP_HOWTO])
            notes.append(GAITMAP_HOWTO)
        else:
            t0 = time.perf_counter()
            with ThreadPoolExecutor(max_workers=jobs or min(4, os.cpu_count() or 1)) as ex:
                runs = list(ex.map(lambda t: (t, run_gaitmap(py, t)), foot))
            for t, (per_det, diag) in runs:
                for d in GAITMAP_DETECTORS:
                    err = diag.get("error") or diag.get(f"error_{d}") or ""
                    if err:
                        results.append(TrialResult(t, f"gaitmap {d}", None, truths[t.name].kind, err[:160]))
                    else:
                        results.append(TrialResult(t, f"gaitmap {d}", _score(t, truths[t.name], per_det.get(d, [])),
                                                   truths[t.name].kind))
            log(f"  gaitmap: {len(foot)} foot recordings in {time.perf_counter() - t0:.1f} s ({py})")
            notes.append(
                "gaitmap 2.x in its own venv: sensor frame aligned with align_dataset_to_gravity (0.1 s windows, "
                "threshold at the 10th percentile of the gyro norm), PcaAlignment and ForwardDirectionSignAlignment; "
                "strides segmented at the push-off minimum of gyr_ml before each mid-swing peak (a simple segmentation; "
                "BarthDtw with its walking template finds most strides but snaps their borders to the wrong gyr_ml "
                "minimum in running, after which most strides fail the event checks); events by HerzerEventDetection and "
                "RamppEventDetection with default (walking) parameters; one contact = (pre_ic, tc) of each min_vel "
                "stride. See gait/validation/gaitmap_runner.py."
            )

    for r in results:
        if r.speed_mps is None and r.trial.name in truths:
            r.speed_mps = truths[r.trial.name].speed_mps
    rows = _group_rows(results) + ([missing_row] if missing_row else []) + _pooled_rows(results)
    floors = _floors(results)
    goals = _goals(results)
    consistency, cnote = _adept(trials, log, ours)

    label = [r for r in results if r.algorithm == "ours" and r.score is not None and r.score.label_truth_n]
    if label:  # the same contacts appear once per sample rate: count them at the highest rate only
        top = max(r.trial.rate_hz for r in label)
        label = [r for r in label if r.trial.rate_hz == top]
        p = pool([r.score for r in label])
        notes.append(
            f"RBDSinfo strike labels (RBDS001 only; a weak hint): the marker-derived truth class agrees with the "
            f"label on {report._f(p.label_truth_agreement_pct, 0)} % of {p.label_truth_n} contacts; our detected "
            f"class (at {top:g} Hz) agrees on {report._f(p.label_agreement_pct, 0)} % of {p.label_n}."
        )
    notes.append("Cadence error: per trial |mean detected - mean truth| over matched steps, averaged over trials; "
                 "trunk truth cadence = 60 / (next IC - IC), foot = 120 / (IC - previous IC of that foot).")
    notes.append("Matching: one-to-one nearest IC within 40 % of the median truth step time; a foot sensor is "
                 "scored against its own foot's contacts only.")
    notes += [f"Data: {line}" for line in attribution(registry())]

    log("")
    log(report.text_table(rows))
    log("")
    log("floors (our pipeline, pooled per placement):")
    log(report.floors_text(floors))
    log("")
    log("goals by speed band (our pipeline):")
    log(report.goals_text(goals))
    log("")
    log(report.consistency_text(consistency, cnote))
    for n in notes:
        log(f"note: {n}")
    if markdown:
        md_cons = report.consistency_text(consistency, cnote, markdown=True)
        report.write_markdown(markdown, rows, floors, md_cons, notes, goals)
        log(f"markdown written to {markdown}")
    return 1 if any(f.verdict is False for f in floors) else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m gait.validation.run", description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", default=None, help=f"validation set cache (default {DEFAULT_CACHE_DIR})")
    ap.add_argument("--source-dir", default=None, help="raw public data (default: the repository's data/)")
    ap.add_argument("--no-gaitmap", action="store_true", help="skip the gaitmap comparison")
    ap.add_argument("--markdown", default=None, help="also write the table as markdown to this file")
    ap.add_argument("--jobs", type=int, default=None, help="worker processes (default: one per core; 1: this process)")
    ap.add_argument("--scheduler", default=None, help="run our pipeline on this dask.distributed scheduler")
    args = ap.parse_args(argv)
    return run_validation(args.cache, args.source_dir, include_gaitmap=not args.no_gaitmap, markdown=args.markdown,
                          jobs=args.jobs, scheduler=args.scheduler)  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
