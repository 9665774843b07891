"""How far the wrist placement can be checked without arm truth, and the figures the README quotes.

No public running data here has arm markers, and none has a wrist sensor recorded together with a
trunk or foot sensor, so neither the arm metrics nor the wrist's cadence has truth. What can be
checked, and what each check is (and is not):

1. Phones held in the hand while jogging (``real-formats/phones/phyphox``, brantlii's two
   "jogging, phone in hand" exports, 100 Hz, accelerometer only; see its SOURCES.md): the
   arm-swing cadence (`gait.detect.wrist`, which reads the swing across 'up', below 2 Hz) against
   the step rate of the *same phone's* step impacts, the strongest spectral line of |a| between 60
   and 220 steps/min (along 'up' the hand shakes once per step), per 10-s window. Two methods on
   one signal: a consistency check, not truth. No gyroscope in these files: no arm metrics.
2. The adept outdoor run (hip and ankle accelerometers, 100 Hz): the arm-swing method applied to
   the *hip* sensor against the ankle's contacts. The hip sways once per stride as an arm swings
   once per stride, so this checks the method's physics (step cadence = 2 x the stride rhythm) on
   25 minutes of real running with an independent sensor; it is NOT a wrist validation.

``python -m gait.validation.wrist_check [PHONES_FOLDER]`` prints both.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gait.core.config import PipelineConfig
from gait.core.records import Q_IMPLAUSIBLE, SampleBlock, StepMetrics
from gait.pipeline import analyze

HAND_JOGGING = ("brantlii_jogging_hand_brant", "brantlii_jogging_hand_sophia")
HAND_WALKING = ("brantlii_walking_hand",)
WINDOW_S = 10.0
RUNNING_SPM = 130.0  # below this a contact is walking (the coach's own line)


def impact_step_rate_spm(acc_mps2: np.ndarray, rate_hz: float, lo_spm: float = 60.0, hi_spm: float = 220.0) -> float:
    """The step rate of the step impacts: the strongest spectral line of |a| (Hann window,
    zero-padded 8x) between ``lo_spm`` and ``hi_spm``."""
    mag = np.linalg.norm(np.asarray(acc_mps2, dtype=float), axis=1)
    mag = mag - mag.mean()
    nfft = 1 << int(np.ceil(np.log2(mag.size * 8)))
    spec = np.abs(np.fft.rfft(mag * np.hanning(mag.size), nfft))
    spm = np.fft.rfftfreq(nfft, 1.0 / rate_hz) * 60.0
    ok = (spm >= lo_spm) & (spm <= hi_spm)
    return float(spm[ok][np.argmax(spec[ok])])


@dataclass(frozen=True)
class WindowRow:
    start_s: float
    wrist_spm: float  # median arm-swing cadence of the window's steps
    impacts_spm: float  # the impacts' step rate over the window
    steps: int

    @property
    def diff_spm(self) -> float:
        return self.wrist_spm - self.impacts_spm


def window_agreement(steps: list[StepMetrics], time_s: np.ndarray, acc_mps2: np.ndarray, rate_hz: float,
                     window_s: float = WINDOW_S, min_steps: int = 5) -> list[WindowRow]:  # fmt: skip
    """Arm-swing cadence against the impacts' step rate, window by window (the first 5 s, while
    the swing axis is learnt, and a last partial window left out)."""
    t = np.asarray(time_s, dtype=float)
    ic = np.array([s.ic_s for s in steps])
    cad = np.array([np.nan if s.cadence_spm is None else s.cadence_spm for s in steps])
    rows = []
    for t0 in np.arange(t[0] + 5.0, t[-1] - window_s + 1e-9, window_s):
        sel = (ic >= t0) & (ic < t0 + window_s) & np.isfinite(cad)
        seg = (t >= t0) & (t < t0 + window_s)
        if sel.sum() < min_steps:
            continue
        rows.append(WindowRow(float(t0), float(np.median(cad[sel])), impact_step_rate_spm(acc_mps2[seg], rate_hz),
                              int(sel.sum())))  # fmt: skip
    return rows


def phone_check(folder: Path) -> dict:
    """Check 1 on one phone export folder."""
    from firmware_interface.phones.importers import read_phone_export

    rec = read_phone_export(folder)
    steps = analyze(rec.block(), PipelineConfig(placement="wrist"), rec.sampling_rate_hz).steps
    rows = window_agreement(steps, rec.time_s, rec.acc_mps2, rec.sampling_rate_hz)
    diffs = np.array([r.diff_spm for r in rows])
    return {
        "name": folder.name,
        "seconds": float(rec.duration_s),
        "steps": len(steps),
        "wrist_spm": float(np.median([s.cadence_spm for s in steps])) if steps else float("nan"),
        "impacts_spm": impact_step_rate_spm(rec.acc_mps2, rec.sampling_rate_hz),
        "windows": rows,
        "mean_abs_diff_spm": float(np.mean(np.abs(diffs))) if diffs.size else float("nan"),
        "max_abs_diff_spm": float(np.max(np.abs(diffs))) if diffs.size else float("nan"),
    }


@dataclass(frozen=True)
class HipCheck:
    minutes: list[
        tuple[int, int, float | None, int, float | None]
    ]  # minute, hip-as-wrist steps, spm, ankle contacts, spm
    compared: int  # ankle contacts (running) with hip-as-wrist steps around them
    mean_abs_diff_spm: float
    within_2_spm_pct: float
    within_5_pct_pct: float
    minute_mean_abs_diff_spm: float
    running_minutes: int


def adept_hip_check(blocks: dict[str, SampleBlock] | None = None, rate_hz: float = 100.0,
                    around_s: float = 1.0) -> HipCheck:  # fmt: skip
    """Check 2: the arm-swing method on the adept hip against the adept ankle's contacts. Each running
    ankle contact (cadence >= 130 spm, not implausible) is compared with the median cadence of the
    hip-as-wrist steps within ``around_s`` of it (the two sensors' clocks drift apart between
    bouts, so strides are compared over the same stretch, not marker by marker); and minute by
    minute where the ankle ran at least 40 contacts."""
    if blocks is None:
        from gait.demo import load_adept_run

        blocks = load_adept_run()
    hip = analyze(blocks["left_hip"], PipelineConfig(placement="wrist"), rate_hz).steps
    ankle = analyze(blocks["left_ankle"], PipelineConfig(placement="foot", side="left"), rate_hz).steps
    ht = np.array([s.ic_s for s in hip])
    hc = np.array([s.cadence_spm for s in hip], dtype=float)
    diffs, truth = [], []
    for s in ankle:
        if s.cadence_spm is None or s.cadence_spm < RUNNING_SPM or Q_IMPLAUSIBLE in s.quality:
            continue
        near = np.abs(ht - s.ic_s) <= around_s
        if not near.any():
            continue
        diffs.append(float(np.median(hc[near])) - s.cadence_spm)
        truth.append(s.cadence_spm)
    d, tr = np.array(diffs), np.array(truth)
    at = np.array([s.ic_s for s in ankle])
    ac = np.array([np.nan if s.cadence_spm is None else s.cadence_spm for s in ankle])
    minutes, mdiff = [], []
    end = max(float(ht[-1]) if ht.size else 0.0, float(at[-1]) if at.size else 0.0)
    for m in range(int(end // 60.0) + 1):
        sh, sa = (ht >= 60 * m) & (ht < 60 * m + 60), (at >= 60 * m) & (at < 60 * m + 60)
        h_spm = float(np.median(hc[sh])) if sh.any() else None
        a_spm = float(np.nanmedian(ac[sa])) if sa.any() and np.isfinite(ac[sa]).any() else None
        minutes.append((m, int(sh.sum()), h_spm, int(sa.sum()), a_spm))
        if h_spm is not None and a_spm is not None and sa.sum() >= 40 and a_spm >= RUNNING_SPM:
            mdiff.append(abs(h_spm - a_spm))
    return HipCheck(
        minutes=minutes,
        compared=int(d.size),
        mean_abs_diff_spm=float(np.mean(np.abs(d))) if d.size else float("nan"),
        within_2_spm_pct=float(100.0 * np.mean(np.abs(d) <= 2.0)) if d.size else float("nan"),
        within_5_pct_pct=float(100.0 * np.mean(np.abs(d) <= 0.05 * tr)) if d.size else float("nan"),
        minute_mean_abs_diff_spm=float(np.mean(mdiff)) if mdiff else float("nan"),
        running_minutes=len(mdiff),
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    phones = Path(argv[0]) if argv else None
    if phones is not None:
        print("1. Phone in the hand, arm-swing cadence against the same phone's step impacts (10-s windows):")
        for name in HAND_JOGGING + HAND_WALKING:
            folder = phones / "phyphox" / name
            if not folder.is_dir():
                print(f"   {name}: not found")
                continue
            r = phone_check(folder)
            print(f"   {name}: {r['steps']} steps in {r['seconds']:.0f} s; median {r['wrist_spm']:.1f} spm, impacts "
                  f"{r['impacts_spm']:.1f} spm; windows {len(r['windows'])}: mean |diff| {r['mean_abs_diff_spm']:.2f}, "
                  f"max {r['max_abs_diff_spm']:.2f} spm")  # fmt: skip
            for w in r["windows"]:
                print(
                    f"      {w.start_s:5.0f} s  wrist {w.wrist_spm:6.1f}  impacts {w.impacts_spm:6.1f}  diff {w.diff_spm:+5.1f}"
                )
    hc = adept_hip_check()
    print("2. adept run: the arm-swing method on the hip against the ankle's contacts (a method check, not a wrist):")
    print(f"   {hc.compared} running ankle contacts compared: mean |diff| {hc.mean_abs_diff_spm:.2f} spm, "
          f"{hc.within_2_spm_pct:.1f} % within 2 spm, {hc.within_5_pct_pct:.1f} % within 5 %; "
          f"{hc.running_minutes} running minutes: mean |diff| {hc.minute_mean_abs_diff_spm:.2f} spm")  # fmt: skip
    for m, n_h, h, n_a, a in hc.minutes:
        print(f"   minute {m:2d}: hip-as-wrist {n_h:4d} steps {'-' if h is None else f'{h:6.1f}'} spm; "
              f"ankle {n_a:3d} contacts {'-' if a is None else f'{a:6.1f}'} spm")  # fmt: skip
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
