"""Ground truth for the validation recordings, from treadmill force and markers.

Definitions (they are what the pipeline's metrics mean, see the reference algorithms doc §1-3):

* contact: initial contact (IC) and toe-off (TO). From force: vertical GRF low-passed at 50 Hz
  (4th-order zero-phase Butterworth) crossing 50 N, interpolated between samples. Without force:
  a kinematic method on the foot markers (`kinematic_contacts`), validated against force on RBDS.
* side of a force contact: the foot whose sole is lower (nearer the belt) during the contact.
* step: from one IC to the next IC (either foot). VO of a step = max - min of the vertical
  position of the sacrum sensor site within [IC, next IC] (peak-to-trough), in cm.
* pelvis tilt of a step: mean over the step of the inclination of the pelvis's anteroposterior axis
  below the horizontal (+ = anterior), absolute where anatomical pelvis markers exist, and
  relative to the standing trial (what a calibrated sensor sees).
* excluded: contacts and steps inside stretches where the markers could not be recovered (the
  truth JSON's ``excluded_spans``); they are kept, marked, and should not be scored.
* foot strike angle (FSA) at IC: sagittal angle of the foot's heel-to-metatarsal line at IC minus
  the same angle in the standing trial, positive = toes up. Altman & Davis 2012 classes: RFS above
  8 deg, FFS below -1.6 deg, MFS between.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.signal import butter, filtfilt

G_MPS2 = 9.80665
RFS_ABOVE_DEG = 8.0
FFS_BELOW_DEG = -1.6

__all__ = [
    "Contact",
    "force_contacts",
    "vertical_force_column",
    "body_mass_kg",
    "assign_sides",
    "kinematic_contacts",
    "step_vertical_excursion",
    "sagittal_angle_deg",
    "strike_class",
    "label_to_class",
    "match_events",
    "threshold_crossings",
]


@dataclass
class Contact:
    ic_s: float
    to_s: float
    side: str | None = None
    fsa_deg: float | None = None
    strike: str | None = None
    fsa_mt1_deg: float | None = None
    excluded: bool = False  # True: the truth or the signal is unreliable here (see excluded_spans)
    excluded_reason: str | None = None

    @property
    def gct_ms(self) -> float:
        return 1000.0 * (self.to_s - self.ic_s)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["gct_ms"] = self.gct_ms
        if d["fsa_mt1_deg"] is None:
            del d["fsa_mt1_deg"]
        return {k: (round(v, 5) if isinstance(v, float) else v) for k, v in d.items()}


def _lowpass(x: np.ndarray, rate_hz: float, cutoff_hz: float, order: int = 4) -> np.ndarray:
    b, a = butter(order, cutoff_hz / (0.5 * rate_hz))
    return filtfilt(b, a, x, axis=0)


def threshold_crossings(time_s: np.ndarray, x: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Times where ``x`` crosses ``threshold`` upwards and downwards (linear interpolation)."""
    above = x >= threshold
    d = np.diff(above.astype(np.int8))
    up_i = np.flatnonzero(d == 1)
    dn_i = np.flatnonzero(d == -1)

    def interp(i: np.ndarray) -> np.ndarray:
        x0, x1 = x[i], x[i + 1]
        frac = (threshold - x0) / np.where(x1 != x0, x1 - x0, 1.0)
        return time_s[i] + frac * (time_s[i + 1] - time_s[i])

    return interp(up_i), interp(dn_i)


def vertical_force_column(force_n: np.ndarray) -> int:
    """Index of the vertical force column: the one whose mean is largest in magnitude
    (body weight; the shear forces average near zero)."""
    return int(np.argmax(np.abs(np.mean(force_n, axis=0))))


def force_contacts(
    time_s: np.ndarray,
    fz_n: np.ndarray,
    rate_hz: float,
    threshold_n: float = 50.0,
    cutoff_hz: float = 50.0,
    min_contact_s: float = 0.08,
    min_flight_s: float = 0.0,
) -> list[Contact]:
    """Contacts from a vertical force (single treadmill plate: one foot at a time while running).

    Only complete contacts (both IC and TO inside the record) are returned. Contacts shorter than
    ``min_contact_s`` are dropped (a spike, not a step).
    """
    f = _lowpass(np.asarray(fz_n, float), rate_hz, cutoff_hz)
    ups, downs = threshold_crossings(np.asarray(time_s, float), f, threshold_n)
    contacts: list[Contact] = []
    for ic in ups:
        later = downs[downs > ic]
        if later.size == 0:
            break
        to = float(later[0])
        if to - ic < min_contact_s:
            continue
        contacts.append(Contact(ic_s=float(ic), to_s=to))
    return contacts


def body_mass_kg(fz_n: np.ndarray, g: float = G_MPS2) -> float:
    """Body mass from the mean vertical force over whole strides (the mean GRF of steady running
    equals body weight)."""
    return float(np.mean(fz_n) / g)


def assign_sides(contacts: list[Contact], time_s: np.ndarray, sole_height: dict[str, np.ndarray]) -> dict:
    """Set ``side`` of each contact to the foot whose sole is lower during the contact
    (mean over the middle half of the contact). ``sole_height`` maps "left"/"right" to a height
    track (n,) at ``time_s``. Returns stats: how many contacts break the left/right alternation
    and the median height margin between the two feet (m)."""
    margins = []
    for c in contacts:
        a = c.ic_s + 0.25 * (c.to_s - c.ic_s)
        b = c.to_s - 0.25 * (c.to_s - c.ic_s)
        sel = (time_s >= a) & (time_s <= b)
        if not sel.any():
            sel = np.argmin(np.abs(time_s - 0.5 * (a + b)))
        h = {s: float(np.nanmean(np.atleast_1d(sole_height[s][sel]))) for s in ("left", "right")}
        c.side = "left" if h["left"] < h["right"] else "right"
        margins.append(abs(h["left"] - h["right"]))
    breaks = sum(1 for a, b in zip(contacts, contacts[1:]) if a.side == b.side)
    return {
        "alternation_breaks": breaks,
        "median_height_margin_m": float(np.median(margins)) if margins else None,
        "min_height_margin_m": float(np.min(margins)) if margins else None,
    }


def kinematic_contacts(
    time_s: np.ndarray,
    heel_ap_m: np.ndarray,
    pelvis_ap_m: np.ndarray,
    foot_pitch_deg: np.ndarray,
    ic_delay_s: float,
    to_pitch_deg: float,
    side: str | None = None,
    min_stride_s: float = 0.45,
    max_contact_s: float = 0.5,
) -> list[Contact]:
    """Contacts of one foot from markers only (treadmill).

    IC: Zeni et al. (2008) — the heel's maximum anteroposterior distance ahead of the pelvis —
    plus ``ic_delay_s`` (on a treadmill the foot reaches its most forward point shortly before
    touchdown). TO: first time after IC that the foot's pitch (elevation of the long axis relative to
    standing, negative = toes down) falls through ``to_pitch_deg``. Both constants are calibrated
    against force (``datasets.calibrate_kinematic_method``).
    """
    from scipy.signal import find_peaks

    time_s = np.asarray(time_s, float)
    rel = np.asarray(heel_ap_m, float) - np.asarray(pelvis_ap_m, float)
    rate = 1.0 / np.median(np.diff(time_s))
    peaks, _ = find_peaks(rel, distance=max(1, int(min_stride_s * rate)), prominence=0.1)
    _, pitch_down = threshold_crossings(time_s, np.asarray(foot_pitch_deg, float), to_pitch_deg)
    contacts: list[Contact] = []
    for k in peaks:
        # sub-sample peak (parabola through the three samples)
        if 0 < k < rel.size - 1:
            y0, y1, y2 = rel[k - 1 : k + 2]
            den = y0 - 2 * y1 + y2
            frac = 0.5 * (y0 - y2) / den if den != 0 else 0.0
        else:
            frac = 0.0
        t_peak = time_s[k] + frac / rate
        ic = float(t_peak + ic_delay_s)
        later = pitch_down[(pitch_down > ic) & (pitch_down < ic + max_contact_s)]
        if later.size == 0:
            continue
        contacts.append(Contact(ic_s=ic, to_s=float(later[0]), side=side))
    return contacts


def step_vertical_excursion(time_s: np.ndarray, height_m: np.ndarray, ics: list[float] | np.ndarray) -> list[dict]:
    """Per step (IC to next IC): peak-to-trough of the height inside the step, in cm."""
    ics = np.sort(np.asarray(ics, float))
    out = []
    for a, b in zip(ics[:-1], ics[1:]):
        sel = (time_s >= a) & (time_s <= b)
        if np.count_nonzero(sel) < 3:
            continue
        # include the track at the exact IC instants (interpolated)
        h = np.concatenate([np.interp([a, b], time_s, height_m), height_m[sel]])
        out.append({"ic_s": float(a), "next_ic_s": float(b), "vo_cm": float(100.0 * (h.max() - h.min()))})
    return out


def sagittal_angle_deg(rear: np.ndarray, front: np.ndarray) -> np.ndarray:
    """Elevation of the rear->front line above the horizontal plane (deg; Y is up), measured in
    the line's own vertical plane (so independent of foot progression angle). Positive = front
    end higher (toes up)."""
    d = np.asarray(front, float) - np.asarray(rear, float)
    horiz = np.hypot(d[..., 0], d[..., 2])
    return np.degrees(np.arctan2(d[..., 1], horiz))


def strike_class(
    fsa_deg: float | None, rfs_above: float = RFS_ABOVE_DEG, ffs_below: float = FFS_BELOW_DEG
) -> str | None:
    if fsa_deg is None or not np.isfinite(fsa_deg):
        return None
    if fsa_deg > rfs_above:
        return "RFS"
    if fsa_deg < ffs_below:
        return "FFS"
    return "MFS"


def label_to_class(label: str | None) -> str | None:
    """RBDSinfo foot-strike labels ("Rearfoot", "Midfoot", "Forefoot") -> RFS / MFS / FFS."""
    if not label:
        return None
    key = label.strip().lower()
    for prefix, cls in (("rear", "RFS"), ("mid", "MFS"), ("fore", "FFS")):
        if key.startswith(prefix):
            return cls
    return None


def match_events(ref: np.ndarray, est: np.ndarray, tol_s: float) -> np.ndarray:
    """For each reference time, est - ref of the nearest estimate within ``tol_s`` (NaN if none)."""
    ref = np.asarray(ref, float)
    est = np.sort(np.asarray(est, float))
    out = np.full(ref.shape, np.nan)
    if est.size == 0:
        return out
    idx = np.clip(np.searchsorted(est, ref), 1, est.size - 1) if est.size > 1 else np.zeros(ref.shape, int)
    for k, (r, i) in enumerate(zip(ref, np.atleast_1d(idx))):
        cands = est[max(i - 1, 0) : i + 1]
        j = np.argmin(np.abs(cands - r))
        if abs(cands[j] - r) <= tol_s:
            out[k] = cands[j] - r
    return out
