"""Scoring detected contacts against truth contacts (pure functions, no I/O).

Inputs are plain: a detected contact is anything with the analysis-contract keys (a
`StepMetrics`, or the dict `StepMetrics.to_contract()` / `gait analyze --jsonl` gives), read
through `Detected.from_any`; a truth contact is a `TruthContact`.

Matching (`match_contacts`)
    One-to-one, nearest initial contact (IC) first: every (detected, truth) pair whose ICs lie
    within the tolerance is a candidate; candidates are taken in order of increasing |dIC|, each
    detection and each truth contact at most once. The tolerance defaults to 40 % of the median
    truth step time (IC to next IC of either foot). For a foot sensor only the truth contacts of
    that foot are scored (the tolerance still comes from the step time of both feet, so a
    detection at the other foot's contact, one step away, is a false positive).
    Detections outside the truth span (first truth IC - tol, last truth IC + tol) are not counted:
    truth may cover only part of a recording.

Errors are detected minus truth (positive = late / too long / too high).

Cadence truth per contact, following the pipeline's step definitions: for a trunk sensor the step
is [IC_k, IC_k+1) (either foot), so 60 / (next IC - IC); for a foot sensor the stride that ends
at the contact, 120 / (IC - previous IC of the same foot).
Two cadence errors are reported: per step (mean |error| over matched steps whose truth and
detection both have a cadence) and per trial (|mean detected - mean truth| over those steps).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

STRIKE_TYPES = ("rearfoot", "midfoot", "forefoot")
_STRIKE_ALIASES = {
    "rfs": "rearfoot",
    "rf": "rearfoot",
    "rearfoot": "rearfoot",
    "heel": "rearfoot",
    "mfs": "midfoot",
    "mf": "midfoot",
    "midfoot": "midfoot",
    "ffs": "forefoot",
    "ff": "forefoot",
    "forefoot": "forefoot",
}


def normalize_strike(label: object) -> str | None:
    """'RFS' / 'rearfoot' / 'rf' -> 'rearfoot'; unknown or empty -> None."""
    if label is None:
        return None
    key = str(label).strip().lower()
    return _STRIKE_ALIASES.get(key)


def _num(value: object) -> float:
    """None / non-numeric / non-finite -> NaN."""
    if value is None:
        return math.nan
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return out if math.isfinite(out) else math.nan


# --------------------------------------------------------------------------------------------
# inputs


@dataclass(frozen=True)
class Detected:
    """One detected contact (analysis-contract fields that scoring uses)."""

    ic_s: float
    to_s: float = math.nan
    side: str | None = None
    gct_ms: float = math.nan
    cadence_spm: float = math.nan
    vo_cm: float = math.nan
    fsa_deg: float = math.nan
    strike: str | None = None
    lean_deg: float = math.nan
    near_boundary: bool = False  # the detection flags its strike class as near a class edge

    @staticmethod
    def from_any(obj: object) -> Detected:
        """From a `StepMetrics`, a contract dict, or another `Detected`."""
        if isinstance(obj, Detected):
            return obj
        get = obj.get if isinstance(obj, Mapping) else (lambda k, d=None: getattr(obj, k, d))
        ic = _num(get("ic_s"))
        to = _num(get("to_s"))
        gct = _num(get("gct_ms"))
        has_gct_key = ("gct_ms" in obj) if isinstance(obj, Mapping) else hasattr(obj, "gct_ms")
        if not has_gct_key and not (math.isnan(ic) or math.isnan(to)):
            gct = (to - ic) * 1000.0  # a detector that reports contacts only: contact time is TO - IC
        return Detected(
            ic_s=ic,
            to_s=to,
            side=get("side"),
            gct_ms=gct,
            cadence_spm=_num(get("cadence_spm")),
            vo_cm=_num(get("vo_cm")),
            fsa_deg=_num(get("fsa_deg")),
            strike=normalize_strike(get("strike")),
            lean_deg=_num(get("lean_deg")),
            near_boundary="near_boundary" in (get("quality") or ()),
        )


@dataclass(frozen=True)
class TruthContact:
    """One truth contact. Optional fields are NaN / None where the truth source has no value.

    ``label`` is an external strike label (RBDSinfo), a weak hint scored separately from
    ``strike`` (the class derived from the measured angle).
    """

    ic_s: float
    to_s: float = math.nan
    side: str | None = None
    vo_cm: float = math.nan
    fsa_deg: float = math.nan
    strike: str | None = None
    label: str | None = None
    lean_deg: float = math.nan  # trunk lean / pelvis tilt truth of the step from this IC
    excluded: bool = False  # truth unreliable here (e.g. broken markers): neither a miss nor a hit

    @property
    def gct_ms(self) -> float:
        return (self.to_s - self.ic_s) * 1000.0


def as_detected(items: Iterable[object]) -> list[Detected]:
    out = [Detected.from_any(x) for x in items]
    out = [d for d in out if not math.isnan(d.ic_s)]
    return sorted(out, key=lambda d: d.ic_s)


def median_step_time_s(truth: Sequence[TruthContact]) -> float:
    ics = np.sort(np.array([t.ic_s for t in truth], float))
    if ics.size < 2:
        return math.nan
    return float(np.median(np.diff(ics)))


def truth_cadence_spm(truth: Sequence[TruthContact], foot: bool) -> np.ndarray:
    """Per-contact truth cadence, aligned with ``truth`` (sorted by IC).

    Trunk: 60 / (next IC - IC), NaN for the last contact. Foot: 120 / (IC - previous IC of the
    same side), NaN for each side's first contact.
    """
    ics = np.array([t.ic_s for t in truth], float)
    out = np.full(ics.shape, np.nan)
    if foot:
        last: dict[object, float] = {}
        for i, t in enumerate(truth):
            prev = last.get(t.side)
            if prev is not None and t.ic_s > prev:
                out[i] = 120.0 / (t.ic_s - prev)
            last[t.side] = t.ic_s
    else:
        d = np.diff(ics)
        with np.errstate(divide="ignore"):
            out[:-1] = np.where(d > 0, 60.0 / np.where(d > 0, d, 1.0), np.nan)
    return out


# --------------------------------------------------------------------------------------------
# matching


@dataclass(frozen=True)
class Match:
    pairs: list[tuple[int, int]]  # (detected index, truth index), sorted by truth index
    unmatched_detected: list[int]  # inside the scored span, no truth partner: false positives
    unmatched_truth: list[int]  # misses
    ignored_detected: list[int]  # outside the scored span
    tolerance_s: float


def match_contacts(
    detected_ic_s: Sequence[float],
    truth_ic_s: Sequence[float],
    tolerance_s: float,
    span: tuple[float, float] | None = None,
) -> Match:
    """One-to-one nearest-IC matching within ``tolerance_s`` (greedy by |dIC|, ties by order).

    ``span`` (start, end): detections outside it are ignored; default = truth span +- tolerance.
    """
    det = np.asarray(detected_ic_s, float)
    tru = np.asarray(truth_ic_s, float)
    if span is None:
        span = (
            (float(tru.min()) - tolerance_s, float(tru.max()) + tolerance_s) if tru.size else (math.inf, -math.inf)
        )
    inside = (det >= span[0]) & (det <= span[1])
    ignored = [int(i) for i in np.nonzero(~inside)[0]]
    cand: list[tuple[float, int, int]] = []
    for i in np.nonzero(inside)[0]:
        dt = np.abs(tru - det[i])
        for j in np.nonzero(dt <= tolerance_s)[0]:
            cand.append((float(dt[j]), int(i), int(j)))
    cand.sort()
    used_d: set[int] = set()
    used_t: set[int] = set()
    pairs: list[tuple[int, int]] = []
    for _, i, j in cand:
        if i in used_d or j in used_t:
            continue
        used_d.add(i)
        used_t.add(j)
        pairs.append((i, j))
    pairs.sort(key=lambda p: p[1])
    return Match(
        pairs=pairs,
        unmatched_detected=[int(i) for i in np.nonzero(inside)[0] if int(i) not in used_d],
        unmatched_truth=[j for j in range(tru.size) if j not in used_t],
        ignored_detected=ignored,
        tolerance_s=float(tolerance_s),
    )


# --------------------------------------------------------------------------------------------
# scores


def _mean(a: np.ndarray) -> float:
    return float(np.mean(a)) if a.size else math.nan


def _sd(a: np.ndarray) -> float:
    return float(np.std(a, ddof=1)) if a.size >= 2 else math.nan


def _mae(a: np.ndarray) -> float:
    return float(np.mean(np.abs(a))) if a.size else math.nan


def _pct(num: int, den: int) -> float:
    return 100.0 * num / den if den else math.nan


def _finite(a: Iterable[float]) -> np.ndarray:
    arr = np.asarray(list(a), float)
    return arr[np.isfinite(arr)]


@dataclass
class Score:
    """Raw errors of one trial (or of several pooled); summary statistics are properties.

    All error arrays are detected minus truth over matched contacts where both sides have a value.
    ``cadence_trial_err_spm`` holds one |mean detected - mean truth| per trial (pooled: a list).
    """

    n_truth: int = 0
    n_detected: int = 0  # inside the scored span
    n_matched: int = 0
    ic_err_ms: np.ndarray = field(default_factory=lambda: np.empty(0))
    to_err_ms: np.ndarray = field(default_factory=lambda: np.empty(0))
    gct_err_ms: np.ndarray = field(default_factory=lambda: np.empty(0))
    cadence_step_err_spm: np.ndarray = field(default_factory=lambda: np.empty(0))
    cadence_trial_err_spm: np.ndarray = field(default_factory=lambda: np.empty(0))
    vo_err_cm: np.ndarray = field(default_factory=lambda: np.empty(0))
    fsa_err_deg: np.ndarray = field(default_factory=lambda: np.empty(0))
    lean_err_deg: np.ndarray = field(default_factory=lambda: np.empty(0))
    side_n: int = 0  # matched contacts where both detection and truth name a side
    side_correct: int = 0
    side_missing: int = 0  # matched contacts where truth names a side and the detection none
    strike_n: int = 0  # matched contacts where truth and detection both have a strike class
    strike_correct: int = 0
    strike_near_n: int = 0  # of those, detections flagged near_boundary
    strike_near_correct: int = 0
    label_n: int = 0  # matched contacts with an external label and a detected class
    label_agree: int = 0  # detected class == label
    label_truth_n: int = 0  # truth contacts with both a label and a truth class
    label_truth_agree: int = 0  # truth class (from the measured angle) == label
    tolerance_s: float = math.nan
    n_trials: int = 1

    # --- summaries -------------------------------------------------------------------------
    @property
    def recall_pct(self) -> float:
        return _pct(self.n_matched, self.n_truth)

    @property
    def precision_pct(self) -> float:
        return _pct(self.n_matched, self.n_detected)

    @property
    def ic_bias_ms(self) -> float:
        return _mean(self.ic_err_ms)

    @property
    def ic_sd_ms(self) -> float:
        return _sd(self.ic_err_ms)

    @property
    def to_bias_ms(self) -> float:
        return _mean(self.to_err_ms)

    @property
    def to_sd_ms(self) -> float:
        return _sd(self.to_err_ms)

    @property
    def gct_mae_ms(self) -> float:
        return _mae(self.gct_err_ms)

    @property
    def gct_bias_ms(self) -> float:
        return _mean(self.gct_err_ms)

    @property
    def cadence_step_mae_spm(self) -> float:
        return _mae(self.cadence_step_err_spm)

    @property
    def cadence_err_spm(self) -> float:
        """Trial-level cadence error: mean over trials of |mean detected - mean truth|."""
        return _mean(self.cadence_trial_err_spm)

    @property
    def vo_mae_cm(self) -> float:
        return _mae(self.vo_err_cm)

    @property
    def fsa_mae_deg(self) -> float:
        return _mae(self.fsa_err_deg)

    @property
    def fsa_bias_deg(self) -> float:
        return _mean(self.fsa_err_deg)

    @property
    def lean_mae_deg(self) -> float:
        return _mae(self.lean_err_deg)

    @property
    def side_acc_pct(self) -> float:
        return _pct(self.side_correct, self.side_n)

    @property
    def side_missing_pct(self) -> float:
        """Share of the matched contacts with a truth side that were given no side."""
        return _pct(self.side_missing, self.side_n + self.side_missing)

    @property
    def strike_acc_pct(self) -> float:
        return _pct(self.strike_correct, self.strike_n)

    @property
    def strike_firm_acc_pct(self) -> float:
        """Strike class accuracy over the steps not flagged near_boundary."""
        return _pct(self.strike_correct - self.strike_near_correct, self.strike_n - self.strike_near_n)

    @property
    def near_boundary_pct(self) -> float:
        """Share of the scored strike classes flagged near_boundary."""
        return _pct(self.strike_near_n, self.strike_n)

    @property
    def label_agreement_pct(self) -> float:
        return _pct(self.label_agree, self.label_n)

    @property
    def label_truth_agreement_pct(self) -> float:
        return _pct(self.label_truth_agree, self.label_truth_n)

    def summary(self) -> dict[str, float | int]:
        keys = (
            "n_trials n_truth n_detected n_matched recall_pct precision_pct ic_bias_ms ic_sd_ms to_bias_ms "
            "to_sd_ms gct_mae_ms gct_bias_ms cadence_err_spm cadence_step_mae_spm vo_mae_cm fsa_mae_deg "
            "fsa_bias_deg lean_mae_deg side_acc_pct side_n side_missing_pct strike_acc_pct strike_n strike_firm_acc_pct "
            "near_boundary_pct label_agreement_pct label_n label_truth_agreement_pct "
            "label_truth_n tolerance_s"
        ).split()
        return {k: getattr(self, k) for k in keys}


def score_trial(
    detected: Iterable[object],
    truth: Sequence[TruthContact],
    *,
    foot_side: str | None = None,
    foot: bool = False,
    tolerance_s: float | None = None,
    tolerance_frac: float = 0.4,
    span: tuple[float, float] | None = None,
) -> Score:
    """Score one trial.

    ``foot=True`` marks a foot sensor; with ``foot_side`` ('left'/'right') only that foot's truth
    contacts are scored. ``tolerance_s`` overrides ``tolerance_frac`` x median truth step time
    (computed over both feet).
    """
    truth_all = sorted(truth, key=lambda t: t.ic_s)
    det = as_detected(detected)
    if tolerance_s is None:
        step = median_step_time_s(truth_all)
        tolerance_s = tolerance_frac * step if math.isfinite(step) else 0.25
    cad_all = truth_cadence_spm(truth_all, foot=foot)
    if foot and foot_side is not None:
        keep = [i for i, t in enumerate(truth_all) if t.side == foot_side]
    else:
        keep = list(range(len(truth_all)))
    tru = [truth_all[i] for i in keep]
    cad_truth = cad_all[keep] if keep else np.empty(0)
    if span is None and truth_all:
        span = (truth_all[0].ic_s - tolerance_s, truth_all[-1].ic_s + tolerance_s)

    m = match_contacts([d.ic_s for d in det], [t.ic_s for t in tru], tolerance_s, span=span)
    # Contacts whose truth is unreliable count neither way: their matched detections are set aside.
    excluded_pairs = [(i, j) for i, j in m.pairs if tru[j].excluded]
    pairs = [(i, j) for i, j in m.pairs if not tru[j].excluded]
    pd = [det[i] for i, _ in pairs]
    pt = [tru[j] for _, j in pairs]
    pc = np.array([cad_truth[j] for _, j in pairs], float)
    n_excluded = sum(t.excluded for t in tru)

    def diffs(a: Iterable[float], b: Iterable[float], scale: float = 1.0) -> np.ndarray:
        return _finite((x - y) * scale for x, y in zip(a, b, strict=True))

    cad_det = np.array([d.cadence_spm for d in pd], float)
    ok = np.isfinite(cad_det) & np.isfinite(pc)
    cad_err = cad_det[ok] - pc[ok]
    trial_cad = np.array([abs(float(np.mean(cad_det[ok])) - float(np.mean(pc[ok])))]) if ok.any() else np.empty(0)

    strike_pairs = [(d.strike, t.strike) for d, t in zip(pd, pt, strict=True) if d.strike and t.strike]
    strike_near = [(d.strike, t.strike) for d, t in zip(pd, pt, strict=True) if d.strike and t.strike and d.near_boundary]
    label_pairs = [(d.strike, normalize_strike(t.label)) for d, t in zip(pd, pt, strict=True)]
    label_pairs = [(a, b) for a, b in label_pairs if a and b]
    label_truth = [(t.strike, normalize_strike(t.label)) for t in tru if not t.excluded]
    side_pairs = [(d.side, t.side) for d, t in zip(pd, pt, strict=True) if d.side and t.side]
    side_missing = sum(1 for d, t in zip(pd, pt, strict=True) if t.side and not d.side)
    label_truth = [(a, b) for a, b in label_truth if a and b]

    return Score(
        n_truth=len(tru) - n_excluded,
        n_detected=len(det) - len(m.ignored_detected) - len(excluded_pairs),
        n_matched=len(pairs),
        ic_err_ms=diffs((d.ic_s for d in pd), (t.ic_s for t in pt), 1000.0),
        to_err_ms=diffs((d.to_s for d in pd), (t.to_s for t in pt), 1000.0),
        gct_err_ms=diffs((d.gct_ms for d in pd), (t.gct_ms for t in pt)),
        cadence_step_err_spm=cad_err,
        cadence_trial_err_spm=trial_cad,
        vo_err_cm=diffs((d.vo_cm for d in pd), (t.vo_cm for t in pt)),
        fsa_err_deg=diffs((d.fsa_deg for d in pd), (t.fsa_deg for t in pt)),
        lean_err_deg=diffs((d.lean_deg for d in pd), (t.lean_deg for t in pt)),
        side_n=len(side_pairs),
        side_correct=sum(a == b for a, b in side_pairs),
        side_missing=side_missing,
        strike_n=len(strike_pairs),
        strike_correct=sum(a == b for a, b in strike_pairs),
        strike_near_n=len(strike_near),
        strike_near_correct=sum(a == b for a, b in strike_near),
        label_n=len(label_pairs),
        label_agree=sum(a == b for a, b in label_pairs),
        label_truth_n=len(label_truth),
        label_truth_agree=sum(a == b for a, b in label_truth),
        tolerance_s=float(tolerance_s),
    )


def pool(scores: Iterable[Score]) -> Score:
    """Pool trials: counts add up, error arrays concatenate (so SDs and MAEs are over all steps)."""
    scores = list(scores)
    out = Score(n_trials=0)
    if not scores:
        return out
    cat = lambda name: np.concatenate([getattr(s, name) for s in scores])  # noqa: E731
    for name in ("ic_err_ms", "to_err_ms", "gct_err_ms", "cadence_step_err_spm", "cadence_trial_err_spm", "vo_err_cm",
                 "fsa_err_deg", "lean_err_deg"):
        setattr(out, name, cat(name))
    for name in ("n_truth", "n_detected", "n_matched", "strike_n", "strike_correct", "strike_near_n",
                 "strike_near_correct", "label_n", "label_agree",
                 "label_truth_n", "label_truth_agree", "n_trials", "side_n", "side_correct", "side_missing"):
        setattr(out, name, sum(getattr(s, name) for s in scores))
    tols = [s.tolerance_s for s in scores if math.isfinite(s.tolerance_s)]
    out.tolerance_s = float(np.median(tols)) if tols else math.nan
    return out


# --------------------------------------------------------------------------------------------
# speed bands: every row of the table is split by the treadmill speed of its trials

# (label, lowest speed, highest speed) in m/s, lowest inclusive; labelled by the speeds runners'
# data sets are usually recorded at (2.5, 3.5, 4.5 m/s)
SPEED_BANDS: tuple[tuple[str, float, float], ...] = (
    ("~2.5", 0.0, 2.75),
    ("~3.5", 2.75, 3.75),
    ("~4.5", 3.75, math.inf),
)


def speed_band(speed_mps: float | None) -> str:
    """The label of the band ``speed_mps`` falls in ("?" when the speed is unknown)."""
    if speed_mps is None or not math.isfinite(speed_mps):
        return "?"
    for label, lo, hi in SPEED_BANDS:
        if lo <= speed_mps < hi:
            return label
    return "?"  # pragma: no cover - the bands cover [0, inf)


def band_rank(label: str) -> int:
    """Order of a band label (unknown last)."""
    return next((i for i, (b, _, _) in enumerate(SPEED_BANDS) if b == label), len(SPEED_BANDS))


def speeds_text(speeds: Iterable[float | None]) -> str:
    """The speeds of a group of trials as text: "2.5", "2.91-3.35" (two decimals, trailing zeros cut)."""
    known = sorted({round(float(v), 2) for v in speeds if v is not None and math.isfinite(v)})
    if not known:
        return "?"
    fmt = lambda v: f"{v:.2f}".rstrip("0").rstrip(".")  # noqa: E731
    return fmt(known[0]) if len(known) == 1 else f"{fmt(known[0])}-{fmt(known[-1])}"


# --------------------------------------------------------------------------------------------
# floors (the acceptance thresholds)


@dataclass(frozen=True)
class Floor:
    name: str
    metric: str  # a `Score` property
    limit: float
    higher_is_better: bool
    applies_to: str = "all"  # "all", "trunk" or "foot"

    def check(self, score: Score) -> bool | None:
        """True = PASS, False = FAIL, None = no data."""
        value = getattr(score, self.metric)
        if value is None or not math.isfinite(value):
            return None
        return value >= self.limit if self.higher_is_better else value <= self.limit


FLOORS: tuple[Floor, ...] = (
    Floor("step recall >= 99 %", "recall_pct", 99.0, True),
    Floor("step precision >= 99 %", "precision_pct", 99.0, True),
    Floor("cadence error <= 1 spm", "cadence_err_spm", 1.0, False),
    Floor("contact time MAE <= 20 ms (trunk, vs force)", "gct_mae_ms", 20.0, False, "trunk"),
    Floor("contact time MAE <= 10 ms (foot, vs force)", "gct_mae_ms", 10.0, False, "foot"),
    Floor("VO MAE <= 1.0 cm", "vo_mae_cm", 1.0, False, "trunk"),
    Floor("FSA MAE <= 4 deg", "fsa_mae_deg", 4.0, False, "foot"),
    Floor("strike type >= 90 %", "strike_acc_pct", 90.0, True, "foot"),
)


def floors_for(placement: str) -> list[Floor]:
    kind = "foot" if placement == "foot" else "trunk"
    return [f for f in FLOORS if f.applies_to in ("all", kind)]


# --------------------------------------------------------------------------------------------
# adept: ankle vs hip cadence consistency (no truth)


@dataclass
class Consistency:
    n_ankle: int
    n_hip: int
    n_matched: int
    diff_spm: np.ndarray  # ankle stride cadence - hip cadence over the same interval, per compared ankle stride
    per_minute: list[dict[str, float]]  # minute, ankle_spm, hip_spm, diff_spm, ankle_steps, hip_steps

    @property
    def mean_abs_diff_spm(self) -> float:
        return _mae(self.diff_spm)

    @property
    def within_2spm_pct(self) -> float:
        return _pct(int(np.sum(np.abs(self.diff_spm) <= 2.0)), int(self.diff_spm.size))

    @property
    def within_5pct_pct(self) -> float:
        """Share of strides whose cadences agree within 5 % (the scale of a half/double error is 50 %)."""
        return _pct(int(np.sum(np.abs(self.diff_spm) <= 0.05 * 160.0)), int(self.diff_spm.size))

    @property
    def minute_mean_abs_diff_spm(self) -> float:
        return _mae(_finite(r["diff_spm"] for r in self.per_minute))

    @property
    def match_pct(self) -> float:
        return _pct(self.n_matched, self.n_ankle)


def cadence_consistency(
    ankle: Iterable[object],
    hip: Iterable[object],
    *,
    max_hip_gap_s: float = 0.6,
    minute_s: float = 60.0,
) -> Consistency:
    """Cadence from a one-foot (ankle) sensor against cadence from a trunk (hip) sensor.

    Stride by stride: each ankle contact reports the cadence of the stride that ends at it
    (120 / (IC_k - IC_k-1)); it is compared with the hip's cadence over the same interval,
    60 x (hip step phase at IC_k - at IC_k-1) / (IC_k - IC_k-1), the hip step phase being the
    step count interpolated linearly between hip ICs. Comparing intervals rather than pairing
    individual ICs keeps the check valid when the two sensors' clocks differ by a fraction of a
    step (the adept sensors' offset changes between running bouts). Strides where the hip has no
    step for more than ``max_hip_gap_s`` (stops, walking) are left out.

    Per minute (from the first contact of either sensor): the mean reported cadence of each
    sensor's contacts with IC in that minute, and the step counts (ankle contacts x 2, hip contacts).
    """
    a = as_detected(ankle)
    h = as_detected(hip)
    h_ic = np.array([d.ic_s for d in h], float)
    a_ic = np.array([d.ic_s for d in a], float)
    diffs = []
    n_compared = 0
    if h_ic.size >= 2:
        phase = np.arange(h_ic.size, dtype=float)
        for k in range(1, len(a)):
            t0, t1, ca = a[k - 1].ic_s, a[k].ic_s, a[k].cadence_spm
            if not math.isfinite(ca) or t1 <= t0 or t0 < h_ic[0] or t1 > h_ic[-1]:
                continue
            lo = int(np.searchsorted(h_ic, t0, side="right")) - 1
            hi = int(np.searchsorted(h_ic, t1, side="left"))
            if np.max(np.diff(h_ic[lo : hi + 1])) > max_hip_gap_s:
                continue
            p0, p1 = np.interp([t0, t1], h_ic, phase)
            diffs.append(ca - 60.0 * (p1 - p0) / (t1 - t0))
            n_compared += 1
    rows: list[dict[str, float]] = []
    if a_ic.size or h_ic.size:
        t0 = float(min(a_ic.min() if a_ic.size else math.inf, h_ic.min() if h_ic.size else math.inf))
        t1 = float(max(a_ic.max() if a_ic.size else -math.inf, h_ic.max() if h_ic.size else -math.inf))
        n_min = int((t1 - t0) // minute_s) + 1
        a_cad = np.array([d.cadence_spm for d in a], float)
        h_cad = np.array([d.cadence_spm for d in h], float)
        for k in range(n_min):
            lo, hi = t0 + k * minute_s, t0 + (k + 1) * minute_s
            ia = (a_ic >= lo) & (a_ic < hi)
            ih = (h_ic >= lo) & (h_ic < hi)
            am = _mean(_finite(a_cad[ia]))
            hm = _mean(_finite(h_cad[ih]))
            rows.append(
                {
                    "minute": float(k),
                    "ankle_spm": am,
                    "hip_spm": hm,
                    "diff_spm": am - hm,
                    "ankle_steps": float(2 * int(ia.sum())),
                    "hip_steps": float(int(ih.sum())),
                }
            )
    return Consistency(
        n_ankle=len(a), n_hip=len(h), n_matched=n_compared, diff_spm=np.asarray(diffs, float), per_minute=rows
    )
