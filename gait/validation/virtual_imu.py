"""Marker trajectories -> "virtual IMU" signals.

A virtual sensor is a point rigidly attached to a body segment, with its own axes. Its pose is
tracked from the segment's markers with a least-squares rigid fit (Kabsch) of the marker
configuration recorded in the standing (static) trial, so the sensor's place and orientation on
the segment are defined once, while standing, like a real sensor's mounting.

Signals (all in the SENSOR frame):

* specific force  f = R^T (a + g * up)   with a the second derivative of the sensor point's
  position (markers low-passed first: markers do not see impacts, which is expected);
  a still sensor reads +g on its axis pointing up;
* angular rate   omega = vee(R^T dR/dt), in deg/s, from the central rotation increment
  log(R(t-h)^T R(t+h)) / 2h (exact for a constant rate).

Before the fit, each cluster is cleaned (`clean_cluster`): a marker that is missing, or that alone
breaks the cluster's rigidity, is replaced by the rigid fit of the remaining markers (three or more);
short gaps with fewer markers are interpolated; anything else is flagged unrecoverable, frame by
frame, so the truth can exclude it (``SegmentTrack.status``).

Then the sensor model: mounting rotation, constant bias, white noise, full-scale clipping and
16-bit quantisation, at the requested output rate (the smooth signals are interpolated with a
cubic spline; they are low-passed well below the Nyquist frequency of every output rate).

Lab frame (see `mocap.standardize_lab_frame`): X forward, Y up, Z right.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np
from scipy.interpolate import CubicSpline
from scipy.signal import butter, filtfilt
from scipy.spatial.transform import Rotation

G_MPS2 = 9.80665
UP = np.array([0.0, 1.0, 0.0])

__all__ = [
    "G_MPS2",
    "SegmentTrack",
    "SensorModel",
    "VirtualRecording",
    "ClusterCleaning",
    "clean_cluster",
    "fill_gaps",
    "lowpass",
    "kabsch",
    "track_segment",
    "specific_force_world",
    "angular_rate_body",
    "random_mount",
    "simulate_sensor",
    "seed_for",
]


# ----------------------------------------------------------------------------- signal helpers


def fill_gaps(x: np.ndarray) -> np.ndarray:
    """Linear interpolation over NaN samples, column by column (ends held). All-NaN stays NaN."""
    x = np.array(x, dtype=float, copy=True)
    flat = x.reshape(x.shape[0], -1)
    idx = np.arange(flat.shape[0])
    for j in range(flat.shape[1]):
        col = flat[:, j]
        bad = ~np.isfinite(col)
        if bad.all() or not bad.any():
            continue
        col[bad] = np.interp(idx[bad], idx[~bad], col[~bad])
    return flat.reshape(x.shape)


def lowpass(x: np.ndarray, rate_hz: float, cutoff_hz: float, order: int = 4) -> np.ndarray:
    """Zero-phase Butterworth low-pass along axis 0 (gaps filled first)."""
    x = fill_gaps(x)
    if cutoff_hz >= 0.5 * rate_hz:
        return x
    b, a = butter(order, cutoff_hz / (0.5 * rate_hz))
    padlen = min(3 * max(len(a), len(b)) * 10, x.shape[0] - 1)
    return filtfilt(b, a, x, axis=0, padtype="odd", padlen=padlen)


def kabsch(template: np.ndarray, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rigid fit of ``template`` (m, 3) to each of ``frames`` (n, m, 3).

    Returns ``(R, c_template, c_frames)`` with R (n, 3, 3) such that
    ``frames[i] ≈ R[i] @ (template - c_template) + c_frames[i]``.
    """
    template = np.asarray(template, float)
    frames = np.asarray(frames, float)
    c_t = template.mean(axis=0)
    c_f = frames.mean(axis=1)
    p = template - c_t
    q = frames - c_f[:, None, :]
    h = np.einsum("mi,nmj->nij", p, q)  # sum over markers of p q^T
    u, _, vt = np.linalg.svd(h)
    v = np.transpose(vt, (0, 2, 1))
    ut = np.transpose(u, (0, 2, 1))
    d = np.sign(np.linalg.det(v @ ut))
    d[d == 0] = 1.0
    corr = np.zeros((frames.shape[0], 3, 3))
    corr[:, 0, 0] = 1.0
    corr[:, 1, 1] = 1.0
    corr[:, 2, 2] = d
    rot = v @ corr @ ut
    return rot, c_t, c_f


def orthonormal_frame(x_dir: np.ndarray, y_hint: np.ndarray) -> np.ndarray:
    """3x3 matrix whose columns are x (along ``x_dir``), y (``y_hint`` made orthogonal to x),
    z = x cross y. Works on (3,) or (n, 3) inputs (then returns (n, 3, 3))."""
    x = np.asarray(x_dir, float)
    y = np.asarray(y_hint, float)
    x = x / np.linalg.norm(x, axis=-1, keepdims=True)
    y = y - np.sum(y * x, axis=-1, keepdims=True) * x
    y = y / np.linalg.norm(y, axis=-1, keepdims=True)
    z = np.cross(x, y)
    return np.stack([x, y, z], axis=-1)


# ----------------------------------------------------------------------------- cluster cleaning

STATUS_OK = 0  # every marker seen and the cluster rigid
STATUS_FILLED = 1  # markers replaced by the rigid fit of the others, or a short gap interpolated
STATUS_BAD = 2  # unrecoverable: fewer than three consistent markers for longer than a short gap


@dataclass
class ClusterCleaning:
    """Result of `clean_cluster`. ``positions`` (n, m, 3) cleaned markers; ``rms_m`` (n,) RMS
    residual of the rigid fit of the consistent markers (NaN when fewer than three);
    ``status`` (n,) STATUS_OK / STATUS_FILLED / STATUS_BAD; ``replaced`` (n, m) markers replaced or
    filled; ``threshold_m`` the frame RMS above which a frame is not rigid."""

    positions: np.ndarray
    rms_m: np.ndarray
    status: np.ndarray
    replaced: np.ndarray
    threshold_m: float

    def summary(self, rate_hz: float) -> dict:
        fin = self.rms_m[np.isfinite(self.rms_m)]
        return {
            "fit_rms_median_mm": float(np.median(fin) * 1000) if fin.size else None,
            "fit_rms_p99_mm": float(np.percentile(fin, 99) * 1000) if fin.size else None,
            "fit_rms_max_mm": float(fin.max() * 1000) if fin.size else None,
            "nonrigid_threshold_mm": self.threshold_m * 1000,
            "frames": int(self.status.size),
            "frames_filled": int(np.count_nonzero(self.status == STATUS_FILLED)),
            "frames_unrecoverable": int(np.count_nonzero(self.status == STATUS_BAD)),
            "marker_samples_replaced": int(np.count_nonzero(self.replaced)),
            "unrecoverable_s": float(np.count_nonzero(self.status == STATUS_BAD) / rate_hz),
        }


def _fit_residuals(template: np.ndarray, frames: np.ndarray, use: np.ndarray) -> tuple[np.ndarray, ...]:
    """Rigid fit of ``template`` (m, 3) to ``frames`` (n, m, 3) using the markers ``use`` (n, m)
    (each frame its own subset, three or more). Returns the fitted markers (n, m, 3), the
    per-marker residual (n, m) and the RMS residual over the used markers (n,; NaN when fewer
    than three)."""
    n, m, _ = frames.shape
    rot = np.full((n, 3, 3), np.nan)
    c_t = np.full((n, 3), np.nan)
    c_f = np.full((n, 3), np.nan)
    patterns, inverse = np.unique(use, axis=0, return_inverse=True)
    for k, pat in enumerate(patterns):
        if pat.sum() < 3:
            continue
        rows = np.flatnonzero(inverse.ravel() == k)
        r, ct, cf = kabsch(template[pat], frames[rows][:, pat])
        rot[rows], c_t[rows], c_f[rows] = r, ct, cf
    fitted = np.einsum("nij,nmj->nmi", rot, template[None] - c_t[:, None, :]) + c_f[:, None, :]
    res = np.linalg.norm(fitted - frames, axis=-1)
    with np.errstate(invalid="ignore"):
        used = np.where(use, res, 0.0)
        rms = np.sqrt(np.sum(used**2, axis=1) / np.maximum(use.sum(axis=1), 1))
    rms[use.sum(axis=1) < 3] = np.nan
    return fitted, res, rms


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) index runs where ``mask`` is True."""
    d = np.diff(np.r_[0, mask.astype(np.int8), 0])
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))


def clean_cluster(
    template: np.ndarray,
    frames: np.ndarray,
    rate_hz: float,
    *,
    floor_m: float = 0.003,
    factor: float = 5.0,
    max_interp_s: float = 0.05,
) -> ClusterCleaning:
    """Gap-fill and de-glitch the markers of one rigid cluster.

    ``template`` (m, 3): the markers in the standing trial; ``frames`` (n, m, 3): the run, NaN
    where a marker was not seen. A frame is rigid when the RMS residual of the rigid fit of its
    markers is below ``max(floor_m, factor * median frame RMS)`` (skin-mounted anatomical markers
    are only roughly rigid; the median sets the scale). Then, frame by frame:

    * a missing marker, or the one marker whose removal makes a non-rigid frame clearly rigid
      (RMS below ``max(floor_m / 3, 2 * median)``), is replaced by the rigid fit of the others
      (at least three consistent markers);
    * a frame with fewer than three consistent markers is interpolated (linear, per marker) when
      it lies in a run of at most ``max_interp_s``, else flagged STATUS_BAD (left as it is).
    """
    template = np.asarray(template, float)
    frames = np.array(frames, dtype=float, copy=True)
    n, m, _ = frames.shape
    seen = np.all(np.isfinite(frames), axis=-1)
    _, res, rms = _fit_residuals(template, np.where(seen[..., None], frames, 0.0), seen)
    full = seen.all(axis=1) & np.isfinite(rms)
    scale = float(np.median(rms[full])) if full.any() else float(np.nanmedian(rms)) if np.isfinite(rms).any() else 0.0
    thr = max(floor_m, factor * scale)
    use = seen.copy()
    # one-marker outliers: drop the marker whose removal makes the frame rigid (needs 4+ markers)
    bad = ~(rms <= thr) & (use.sum(axis=1) >= 4)
    if bad.any() and m >= 4:
        best_rms = np.full(n, np.inf)
        best_k = np.full(n, -1)
        for k in range(m):
            u = use.copy()
            u[:, k] = False
            _, _, r_k = _fit_residuals(template, np.where(seen[..., None], frames, 0.0), u & bad[:, None])
            better = bad & (r_k < best_rms) & use[:, k]
            best_rms[better], best_k[better] = r_k[better], k
        # the rest must be clearly rigid, not just under the threshold (else it is a wider fault)
        fix = bad & (best_rms <= max(floor_m / 3.0, 2.0 * scale))
        use[np.flatnonzero(fix), best_k[fix]] = False
    fitted, _, rms = _fit_residuals(template, np.where(seen[..., None], frames, 0.0), use)
    rigid = rms <= thr
    replaced = rigid[:, None] & ~use
    frames[replaced] = fitted[replaced]
    status = np.where(replaced.any(axis=1), STATUS_FILLED, STATUS_OK)
    # frames without a rigid fit: short dropouts (fewer than three markers seen) are interpolated;
    # markers that are seen but disagree with each other, or long dropouts, are unrecoverable
    max_len = max(1, int(round(max_interp_s * rate_hz)))
    dropout = seen.sum(axis=1) < 3
    for a, b in _runs(~rigid):
        if dropout[a:b].all() and b - a <= max_len and a > 0 and b < n:
            frames[a:b] = np.nan
            replaced[a:b] = True
            status[a:b] = STATUS_FILLED
        else:
            status[a:b] = STATUS_BAD
    if np.isnan(frames).any():
        frames = fill_gaps(frames)
    return ClusterCleaning(frames, rms, status, replaced, thr)


# ----------------------------------------------------------------------------- segment tracking


@dataclass
class SegmentTrack:
    """Pose of a segment-fixed sensor site over a trial.

    ``rot`` (n, 3, 3): world-from-segment rotation (columns = segment x/y/z in the lab frame);
    the segment frame is x forward, y up, z right as defined in the static trial.
    ``pos`` (n, 3): position of the sensor site (m). ``rot_static``: the segment frame in the
    static trial (world-from-segment), i.e. the standing pose that defines angle zeros.
    """

    time_s: np.ndarray
    rate_hz: float
    rot: np.ndarray
    pos: np.ndarray
    rot_static: np.ndarray
    pos_static: np.ndarray
    cutoff_hz: float
    fit_rms_m: float
    description: str = ""
    status: np.ndarray | None = None  # (n,) STATUS_* of the marker cluster per frame
    cleaning: dict = field(default_factory=dict)  # ClusterCleaning.summary()

    def bad_spans(self, pad_s: float = 0.0) -> list[tuple[float, float]]:
        """Time spans (s) of unrecoverable marker data, widened by ``pad_s`` on each side, merged."""
        if self.status is None:
            return []
        spans: list[tuple[float, float]] = []
        for a, b in _runs(self.status == STATUS_BAD):
            lo = max(float(self.time_s[a]) - pad_s, float(self.time_s[0]))
            hi = min(float(self.time_s[b - 1]) + pad_s, float(self.time_s[-1]))
            if spans and lo <= spans[-1][1]:
                spans[-1] = (spans[-1][0], max(hi, spans[-1][1]))
            else:
                spans.append((lo, hi))
        return spans


def track_segment(
    run_positions: list[np.ndarray],
    static_positions: list[np.ndarray],
    anat_rot_static: np.ndarray,
    site_static: np.ndarray,
    time_s: np.ndarray,
    rate_hz: float,
    cutoff_hz: float,
    description: str = "",
) -> SegmentTrack:
    """Track a segment from its markers.

    ``run_positions`` / ``static_positions``: the same markers, (n, 3) each, in the run and the
    static trial (static is averaged over its frames). ``anat_rot_static``: world-from-segment
    frame in the static pose; ``site_static``: sensor site in the static pose. The run markers are
    cleaned (`clean_cluster`), then low-passed at ``cutoff_hz`` before the rigid fit.
    """
    template = np.array([np.nanmean(p, axis=0) for p in static_positions])
    if not np.all(np.isfinite(template)):
        raise ValueError(f"{description}: a static marker is missing")
    raw = np.stack([np.asarray(p, float) for p in run_positions], axis=1)  # (n, m, 3)
    if np.all(np.isnan(raw), axis=(0, 2)).any():
        raise ValueError(f"{description}: a run marker is never seen")
    cleaned = clean_cluster(template, raw, rate_hz)
    run = np.stack([lowpass(cleaned.positions[:, j], rate_hz, cutoff_hz) for j in range(raw.shape[1])], axis=1)
    if not np.all(np.isfinite(run)):
        raise ValueError(f"{description}: a run marker is never seen")
    rot_k, c_t, c_f = kabsch(template, run)
    fitted = np.einsum("nij,mj->nmi", rot_k, template - c_t) + c_f[:, None, :]
    fit_rms = float(np.sqrt(np.mean(np.sum((fitted - run) ** 2, axis=-1))))
    rot = rot_k @ anat_rot_static
    pos = np.einsum("nij,j->ni", rot_k, site_static - c_t) + c_f
    return SegmentTrack(
        time_s=np.asarray(time_s, float),
        rate_hz=float(rate_hz),
        rot=rot,
        pos=pos,
        rot_static=np.asarray(anat_rot_static, float),
        pos_static=np.asarray(site_static, float),
        cutoff_hz=float(cutoff_hz),
        fit_rms_m=fit_rms,
        description=description,
        status=cleaned.status,
        cleaning=cleaned.summary(rate_hz),
    )


def specific_force_world(pos: np.ndarray, rate_hz: float) -> np.ndarray:
    """a + g*up in the lab frame (m/s^2) from a smooth position track (n, 3)."""
    dt = 1.0 / rate_hz
    acc = np.gradient(np.gradient(pos, dt, axis=0), dt, axis=0)
    return acc + G_MPS2 * UP


def angular_rate_body(rot: np.ndarray, rate_hz: float) -> np.ndarray:
    """omega in the body frame, rad/s: vee(R^T dR/dt), by log(R[i-1]^T R[i+1]) / (2 dt).
    One-sided at the ends."""
    n = rot.shape[0]
    dt = 1.0 / rate_hz
    out = np.empty((n, 3))
    if n < 2:
        return np.zeros((n, 3))
    rel = np.transpose(rot[:-2], (0, 2, 1)) @ rot[2:]
    if n > 2:
        out[1:-1] = Rotation.from_matrix(rel).as_rotvec() / (2 * dt)
    out[0] = Rotation.from_matrix(rot[0].T @ rot[1]).as_rotvec() / dt
    out[-1] = Rotation.from_matrix(rot[-2].T @ rot[-1]).as_rotvec() / dt
    return out


# ----------------------------------------------------------------------------- sensor model


@dataclass(frozen=True)
class SensorModel:
    """MEMS error model. Noise densities: acc 0.005 m/s^2/sqrt(Hz) (about 500 ug/sqrt(Hz),
    0.05 m/s^2 RMS over the 100 Hz bandwidth of a 200 Hz stream), gyro 0.01 deg/s/sqrt(Hz)
    (0.1 deg/s RMS at 200 Hz). Biases drawn uniformly within +/- the given bounds per axis.
    16-bit signed output over +/- acc_range_g and +/- gyr_range_dps."""

    acc_noise_density: float = 0.005
    gyr_noise_density: float = 0.01
    acc_bias_max: float = 0.1
    gyr_bias_max: float = 1.0
    acc_range_g: float = 16.0
    gyr_range_dps: float = 2000.0
    bits: int = 16

    @property
    def acc_lsb(self) -> float:
        return 2 * self.acc_range_g * G_MPS2 / 2**self.bits

    @property
    def gyr_lsb(self) -> float:
        return 2 * self.gyr_range_dps / 2**self.bits

    def to_dict(self) -> dict:
        return {
            "acc_noise_density_mps2_per_sqrt_hz": self.acc_noise_density,
            "gyr_noise_density_dps_per_sqrt_hz": self.gyr_noise_density,
            "acc_bias_max_mps2": self.acc_bias_max,
            "gyr_bias_max_dps": self.gyr_bias_max,
            "acc_range_g": self.acc_range_g,
            "gyr_range_dps": self.gyr_range_dps,
            "bits": self.bits,
            "acc_lsb_mps2": self.acc_lsb,
            "gyr_lsb_dps": self.gyr_lsb,
        }


def seed_for(*parts: object, base: int = 20240601) -> int:
    """A stable seed from names (crc32; not Python's salted hash)."""
    return (base * 1_000_003 + zlib.crc32("|".join(str(p) for p in parts).encode())) % 2**32


def _rot_about(axis: np.ndarray, angle_rad: float) -> np.ndarray:
    axis = np.asarray(axis, float)
    return Rotation.from_rotvec(axis / np.linalg.norm(axis) * angle_rad).as_matrix()


def random_mount(rng: np.random.Generator, kind: str) -> tuple[np.ndarray, dict]:
    """A plausible random mounting: segment-from-sensor rotation (columns = sensor axes in the
    segment frame, x fwd / y up / z right) and a description.

    The sensor lies flat on a body surface: one of its six signed axes is the surface's outward
    normal, it is turned by any angle (uniform 0-360 deg) about that normal, and tilted by a few
    degrees about a random horizontal axis (strap, clip, tissue).

    * ``foot`` (lace/instep): outward normal up and forward, the instep sloping 15-35 deg;
    * ``sacrum``: outward normal backward, sloping up by 0-30 deg (sacral slope, belt clip).
    """
    if kind == "foot":
        slope = np.radians(rng.uniform(15.0, 35.0))
        normal = np.array([np.sin(slope), np.cos(slope), 0.0])
    elif kind == "sacrum":
        slope = np.radians(rng.uniform(0.0, 30.0))
        normal = np.array([-np.cos(slope), np.sin(slope), 0.0])
    else:
        raise ValueError(f"unknown mount kind {kind!r}")
    normal_axis = int(rng.integers(0, 3))
    normal_sign = float(rng.choice([-1.0, 1.0]))
    spin = rng.uniform(0.0, 2 * np.pi)
    tilt_axis_angle = rng.uniform(0.0, 2 * np.pi)
    tilt = np.radians(rng.uniform(0.0, 5.0))

    # base: sensor axis `normal_axis` along normal * sign, the other two completing a frame
    helper = np.array([0.0, 0.0, 1.0])  # segment z (ML) is never parallel to these normals
    a1 = np.cross(helper, normal)
    a1 /= np.linalg.norm(a1)
    a2 = np.cross(normal, a1)
    cols = [None, None, None]
    cols[normal_axis] = normal * normal_sign
    # keep right-handedness: (normal_axis, next, next-next) cyclic
    cols[(normal_axis + 1) % 3] = a1
    cols[(normal_axis + 2) % 3] = a2 * normal_sign
    base = np.stack(cols, axis=1)
    spin_rot = _rot_about(normal, spin)
    tilt_dir = np.cross(normal, a1 * np.cos(tilt_axis_angle) + a2 * np.sin(tilt_axis_angle))
    tilt_rot = _rot_about(tilt_dir if np.linalg.norm(tilt_dir) > 0 else a1, tilt) if tilt > 0 else np.eye(3)
    mount = tilt_rot @ spin_rot @ base
    # re-orthonormalise (numerical hygiene)
    u, _, vt = np.linalg.svd(mount)
    mount = u @ vt
    assert np.linalg.det(mount) > 0
    desc = {
        "kind": kind,
        "surface_slope_deg": round(float(np.degrees(slope)), 2),
        "normal_sensor_axis": ("+" if normal_sign > 0 else "-") + "xyz"[normal_axis],
        "spin_about_normal_deg": round(float(np.degrees(spin)), 2),
        "extra_tilt_deg": round(float(np.degrees(tilt)), 2),
    }
    return mount, desc


@dataclass
class VirtualRecording:
    """A simulated sensor stream and what is known about it."""

    time_s: np.ndarray
    acc_mps2: np.ndarray
    gyr_dps: np.ndarray
    rate_hz: float
    mount: np.ndarray  # segment-from-sensor
    bias_acc_mps2: np.ndarray
    bias_gyr_dps: np.ndarray
    up_in_sensor_static: np.ndarray
    meta: dict = field(default_factory=dict)


def _quantise(x: np.ndarray, lsb: float, bits: int) -> tuple[np.ndarray, int]:
    counts = np.round(x / lsb)
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    clipped = int(np.count_nonzero((counts < lo) | (counts > hi)))
    return np.clip(counts, lo, hi) * lsb, clipped


def ideal_signals(track: SegmentTrack, mount: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Noise-free specific force (m/s^2) and angular rate (deg/s) in the sensor frame at the
    track's own rate."""
    f_world = specific_force_world(track.pos, track.rate_hz)
    rot_ws = track.rot @ mount  # world-from-sensor
    acc = np.einsum("nji,nj->ni", rot_ws, f_world)  # R^T f
    omega_seg = angular_rate_body(track.rot, track.rate_hz)
    gyr = np.degrees(omega_seg @ mount)  # mount^T omega_seg, row-wise
    return acc, gyr


def simulate_sensor(
    track: SegmentTrack,
    mount: np.ndarray,
    out_rate_hz: float,
    rng_noise: np.random.Generator,
    bias_acc: np.ndarray,
    bias_gyr: np.ndarray,
    model: SensorModel = SensorModel(),
    trim_s: float = 0.25,
    noise: bool = True,
) -> VirtualRecording:
    """Sample the virtual sensor at ``out_rate_hz`` with the error model.

    The output time base is the trial's own: t = t_first + trim_s + k / out_rate_hz, up to
    t_last - trim_s (the ends, where the zero-phase filters and the differentiation are one-sided,
    are dropped).
    """
    acc, gyr = ideal_signals(track, mount)
    t = track.time_s
    t0 = t[0] + trim_s
    t1 = t[-1] - trim_s
    n_out = int(np.floor((t1 - t0) * out_rate_hz + 1e-9)) + 1
    t_out = t0 + np.arange(n_out) / out_rate_hz
    acc_o = CubicSpline(t, acc, axis=0)(t_out)
    gyr_o = CubicSpline(t, gyr, axis=0)(t_out)
    if noise:
        bw = 0.5 * out_rate_hz
        acc_o = acc_o + bias_acc + rng_noise.normal(0.0, model.acc_noise_density * np.sqrt(bw), acc_o.shape)
        gyr_o = gyr_o + bias_gyr + rng_noise.normal(0.0, model.gyr_noise_density * np.sqrt(bw), gyr_o.shape)
    acc_q, acc_clipped = _quantise(acc_o, model.acc_lsb, model.bits)
    gyr_q, gyr_clipped = _quantise(gyr_o, model.gyr_lsb, model.bits)
    rot_ws_static = track.rot_static @ mount
    up_static = rot_ws_static.T @ UP
    return VirtualRecording(
        time_s=t_out,
        acc_mps2=acc_q,
        gyr_dps=gyr_q,
        rate_hz=float(out_rate_hz),
        mount=mount,
        bias_acc_mps2=np.asarray(bias_acc, float),
        bias_gyr_dps=np.asarray(bias_gyr, float),
        up_in_sensor_static=up_static,
        meta={
            "acc_clipped_samples": acc_clipped,
            "gyr_clipped_samples": gyr_clipped,
            "acc_noise_rms_mps2": model.acc_noise_density * np.sqrt(0.5 * out_rate_hz) if noise else 0.0,
            "gyr_noise_rms_dps": model.gyr_noise_density * np.sqrt(0.5 * out_rate_hz) if noise else 0.0,
        },
    )
