"""Vertical oscillation (pure functions).

`vo_cm` treats the vertical acceleration over one step (IC to next IC) as one period of a
periodic signal: the trunk's vertical velocity and height are the same at both ends of a
steady step. Each Fourier harmonic k of the acceleration (angular frequency w_k = 2 pi k / T)
gives the displacement harmonic z_k = -a_k / w_k^2; the mean (DC) term, which holds the
gravity-estimate error and any drift, is dropped, and so are harmonics above
``max_harmonic_hz``. This is exactly double integration with periodic drift removal (velocity
and position forced periodic), but without the end-point bias of trapezoid integration, and it
evaluates the trajectory on an ``oversample`` x finer grid so the peak-to-trough is not limited
by the sample rate (it works at 50 Hz).

Cost: a step has only ~10 harmonics below 25 Hz, so instead of two FFTs per step the map
acceleration -> harmonics (2K x n) and harmonics -> fine-grid trajectory (2K x oversample n) are
precomputed per step length n (and period) and cached; a step is then two small element-wise
product-sums (the same value as the FFT route to ~1e-15 relative; deterministic, no BLAS).
Both parameters are `gait.core.params.VerticalParams` (``config.params.vertical``).

`vo_window_cm` is what the trunk detector uses once a chain of steps is long enough: forcing one
step periodic makes both feet's steps alike (on the virtual sacrum sensors the feet's bounce
differs by 0.6-2.2 cm, and the heights at consecutive contacts with it), so a step's VO is read
from the chain of steps that ends with it, the trunk at the same height at every contact of the
same foot (per-step MAE 0.73 -> 0.14 cm on `gait validate`'s virtual sacrum sensors).
"""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np

from gait.core.params import VerticalParams
from gait.dsp.reductions import pairwise_loop

_DEFAULTS = VerticalParams()  # when a caller gives none (stages pass their config's)
_CACHE_MAX_BYTES = 16 * 1024 * 1024  # the factor matrices of recent step lengths

_cache: OrderedDict[tuple[int, float, float, int], tuple[np.ndarray, np.ndarray]] = OrderedDict()
_cache_bytes = 0


def _factors(n: int, period_s: float, max_harmonic_hz: float, oversample: int) -> tuple[np.ndarray, np.ndarray]:
    """(analysis (2K, n), synthesis (2K, oversample n)) for a step of n samples over period_s:
    displacement = sum over rows of synthesis * (analysis @ a)."""
    global _cache_bytes
    key = (n, period_s, max_harmonic_hz, oversample)
    hit = _cache.get(key)
    if hit is not None:
        _cache.move_to_end(key)
        return hit
    k_max = n // 2
    k = np.arange(1, k_max + 1)
    k = k[k / period_s <= max_harmonic_hz]
    j = np.arange(n)
    ang = 2.0 * np.pi * np.outer(k, j) / n
    w2 = (2.0 * np.pi * k / period_s) ** 2
    # a_k = sum_j a_j exp(-i ang); the real trajectory is sum_k (2/n) Re(z_k e^{i w t}), z_k = -a_k / w_k^2
    scale = 2.0 / n * np.ones(k.size)
    if n % 2 == 0:
        scale[k == n // 2] = 1.0 / n  # the Nyquist bin (real) is split between +/- frequencies once zero-padded
    analysis = np.concatenate([np.cos(ang), -np.sin(ang)]) * np.concatenate([-scale / w2, -scale / w2])[:, None]
    m = n * oversample
    tf = 2.0 * np.pi * np.outer(k, np.arange(m)) / m
    synthesis = np.concatenate([np.cos(tf), -np.sin(tf)])
    analysis = np.ascontiguousarray(analysis)
    synthesis = np.ascontiguousarray(synthesis)
    _cache[key] = (analysis, synthesis)
    _cache_bytes += analysis.nbytes + synthesis.nbytes
    while _cache_bytes > _CACHE_MAX_BYTES and len(_cache) > 1:
        _, (a_old, s_old) = _cache.popitem(last=False)
        _cache_bytes -= a_old.nbytes + s_old.nbytes
    return analysis, synthesis


def vertical_displacement_m(
    acc_v_mps2: np.ndarray, period_s: float, params: VerticalParams | None = None
) -> np.ndarray:
    """Periodic vertical displacement (m, zero mean) over one step, oversampled by
    ``params.oversample_count``."""
    p = params or _DEFAULTS
    a = np.asarray(acc_v_mps2, dtype=float)
    n = a.shape[0]
    if n < 4 or period_s <= 0:
        return np.zeros(0)
    analysis, synthesis = _factors(n, float(period_s), p.max_harmonic_hz, p.oversample_count)
    if analysis.shape[0] == 0:
        return np.zeros(n * p.oversample_count)
    c = (analysis * a).sum(axis=1)  # pairwise sums: deterministic
    return (synthesis * c[:, None]).sum(axis=0)


def vo_cm(acc_v_mps2: np.ndarray, period_s: float, params: VerticalParams | None = None) -> float | None:
    """Peak-to-trough vertical oscillation (cm) of one step from its vertical acceleration
    (m/s^2, gravity removed or not: the mean is ignored) sampled over exactly one step."""
    z = vertical_displacement_m(acc_v_mps2, period_s, params)
    if z.size == 0:
        return None
    return float((z.max() - z.min()) * 100.0)


# A compiled build (setup.py, vertical.pxd) runs `vo_window_cm` through `_vo_chain`: the same
# operations in the same order on C doubles (NumPy's pairwise sum: `gait.dsp.reductions`), one
# chain at a time, about 16 times faster than the NumPy calls below. As pure Python `_vo_chain`
# would be far slower than NumPy, so it runs only when compiled; `tests/test_compiled.py` and
# `tests/test_vertical_chain.py` check that both give the same numbers bit for bit.
_COMPILED = not __file__.endswith(".py")


def _extreme_at(z, lo: int, hi: int, c1: float, c2: float, dt: float, t0: float, highest: bool) -> float:
    """`_extreme` of ``z[lo:hi] + c1 t + c2 t t`` (t = i dt - t0), its values formed as NumPy
    forms them; NaN when a value is NaN (the NumPy route decides then)."""
    best_i = -1
    best = 0.0
    for i in range(lo, hi):
        t = i * dt - t0
        y = (z[i] + c1 * t) + c2 * t * t
        if y != y:
            return math.nan
        if best_i < 0 or (y > best if highest else y < best):
            best_i, best = i, y
    if lo < best_i < hi - 1:
        t = (best_i - 1) * dt - t0
        y0 = (z[best_i - 1] + c1 * t) + c2 * t * t
        t = (best_i + 1) * dt - t0
        y2 = (z[best_i + 1] + c1 * t) + c2 * t * t
        den = y0 - 2.0 * best + y2
        if den != 0.0:
            d = 0.5 * (y0 - y2) / den
            if -1.0 <= d <= 1.0:
                return best - 0.25 * (y0 - y2) * d
    return best


def _normal_equations(z, last: int, ic_pos: list, dt: float, m) -> None:
    """The least-squares fit of `vo_window_cm` (z + c1 t + c2 t^2 - L(parity) = 0 at every IC,
    t in seconds from the first IC): the normal equations' sums over the rows (t, t^2, -[even IC],
    -[odd IC]; -z at the IC, linearly interpolated, ``last`` the last row to interpolate from),
    added row by row, into ``m[0:20]`` as the 4 x 5 augmented system (row-major)."""
    t0 = ic_pos[0] * dt
    s00 = s01 = s02 = s03 = s11 = s12 = s13 = s22 = s23 = s33 = b0 = b1 = b2 = b3 = 0.0
    k = 0
    for pos in ic_pos:
        t = pos * dt - t0
        tt = t * t
        if k % 2 == 0:
            e, o = -1.0, 0.0
        else:
            e, o = 0.0, -1.0
        i = min(max(math.floor(pos), 0), last)
        zi = z[i]
        y = -(zi + (pos - i) * (z[i + 1] - zi))
        s00 += t * t
        s01 += t * tt
        s02 += t * e
        s03 += t * o
        s11 += tt * tt
        s12 += tt * e
        s13 += tt * o
        s22 += e * e
        s23 += e * o
        s33 += o * o
        b0 += t * y
        b1 += tt * y
        b2 += e * y
        b3 += o * y
        k += 1
    m[0], m[1], m[2], m[3], m[4] = s00, s01, s02, s03, b0
    m[5], m[6], m[7], m[8], m[9] = s01, s11, s12, s13, b1
    m[10], m[11], m[12], m[13], m[14] = s02, s12, s22, s23, b2
    m[15], m[16], m[17], m[18], m[19] = s03, s13, s23, s33, b3


def _solve4(m) -> bool:
    """Gaussian elimination with partial pivoting of the 4 x 5 augmented system in ``m[0:20]``
    (row-major), in place, the solution into ``m[20:24]``; False when singular."""
    for c in range(4):
        piv = c
        best = abs(m[5 * c + c])  # the first row of the largest magnitude
        for r in range(c + 1, 4):
            v = abs(m[5 * r + c])
            if v > best:
                piv, best = r, v
        if best < 1e-300:
            return False
        if piv != c:
            for j in range(5):
                m[5 * c + j], m[5 * piv + j] = m[5 * piv + j], m[5 * c + j]
        for r in range(c + 1, 4):
            f = m[5 * r + c] / m[5 * c + c]
            if f != 0.0:
                for j in range(c, 5):
                    m[5 * r + j] -= f * m[5 * c + j]
    for c in range(3, -1, -1):
        acc = 0.0
        for j in range(c + 1, 4):
            acc += m[5 * c + j] * m[20 + j]
        m[20 + c] = (m[5 * c + 4] - acc) / m[5 * c + c]
    return True


def _vo_chain(a, z, fs: float, ic_pos: list) -> float:
    """`vo_window_cm` of the chain ``a`` (C-contiguous float64, at least 8 samples, 5 ICs) with
    ``z`` as scratch of 24 values more than ``a``: NaN when it cannot decide (a non-finite
    sample, a singular fit: the NumPy route then runs and says why)."""
    n = a.shape[0]
    dt = 1.0 / fs
    h = 0.5 * dt
    mean = pairwise_loop(a, 0, n) / n
    if mean != mean or mean in (math.inf, -math.inf):
        return math.nan
    # z: twice integrated (trapezoids), v kept in a running value; NumPy's cumsum starts from the
    # first term itself
    v_prev = 0.0
    z[0] = 0.0
    a_prev = a[0] - mean
    z_prev = 0.0
    for i in range(1, n):
        a_i = a[i] - mean
        w = (a_i + a_prev) * h
        v = w if i == 1 else v_prev + w
        ww = (v + v_prev) * h
        zz = ww if i == 1 else z_prev + ww
        z[i] = zz
        z_prev = zz
        v_prev = v
        a_prev = a_i
    t0 = ic_pos[0] * dt
    m = z[n:]
    _normal_equations(z, n - 2, ic_pos, dt, m)
    if not _solve4(m):
        return math.nan
    c1, c2 = m[20], m[21]
    lo = max(math.floor(ic_pos[-2]), 0)
    hi = min(math.ceil(ic_pos[-1]) + 1, n)
    if hi - lo < 3:
        return math.nan
    top = _extreme_at(z, lo, hi, c1, c2, dt, t0, True)
    bottom = _extreme_at(z, lo, hi, c1, c2, dt, t0, False)
    return (top - bottom) * 100.0


def vo_window_cm(acc_v_mps2: np.ndarray, fs: float, ic_pos: list[float]) -> float | None:
    """Peak-to-trough vertical oscillation (cm) of the *last* step of a chain of consecutive steps.

    ``acc_v_mps2``: vertical acceleration (any constant offset: the mean is removed) over the
    chain; ``ic_pos``: the fractional sample positions in it of the chain's initial contacts, the
    last one ending the step whose VO is wanted (at least 5, i.e. 4 steps).

    The acceleration is integrated twice (trapezoids); the unknown integration constants and a slow
    drift (the gravity estimate's error, a runner rising or sinking a little) are a quadratic in
    time, fitted so that the trunk is at the same height at every initial contact of the same foot
    (least squares over the chain; the two feet's heights may differ: a runner is not symmetric).
    On marker-derived acceleration (RBDS, 2.5 m/s) this recovers the sacrum's per-step VO to
    0.06-0.07 cm over 8 steps, where forcing one step (or one stride) periodic leaves 0.33-0.55 cm:
    the height at consecutive contacts differs by up to 2 cm between the feet, and by a few
    millimetres from stride to stride. The extremes are refined by a parabola through the three
    samples around them."""
    a = np.asarray(acc_v_mps2, dtype=float)
    n = a.shape[0]
    if len(ic_pos) < 5 or n < 8 or fs <= 0:
        return None
    if _COMPILED:
        vo = _vo_chain(np.ascontiguousarray(a), np.empty(n + 24), float(fs), [float(p) for p in ic_pos])
        if vo == vo:
            return vo
    return _vo_window_numpy(a, fs, ic_pos)


def _vo_window_numpy(a: np.ndarray, fs: float, ic_pos: list[float]) -> float | None:
    """`vo_window_cm` in NumPy calls (the reference, and the pure Python route)."""
    n = a.shape[0]
    dt = 1.0 / fs
    h = 0.5 * dt  # x * (0.5 dt) rounds as 0.5 x dt does: halving is exact
    a = a - float(a.sum()) / n
    w = a[1:] + a[:-1]
    w *= h
    v = np.empty(n)
    v[0] = 0.0
    np.cumsum(w, out=v[1:])
    np.add(v[1:], v[:-1], out=w)
    w *= h
    z = np.empty(n)
    z[0] = 0.0
    np.cumsum(w, out=z[1:])
    t0 = ic_pos[0] * dt
    m = np.zeros(24) if _COMPILED else [0.0] * 24  # (Python floats: cheap element access)
    _normal_equations(z, n - 2, list(ic_pos), dt, m)
    if not _solve4(m):
        return None
    c1, c2 = float(m[20]), float(m[21])
    lo = max(math.floor(ic_pos[-2]), 0)
    hi = min(math.ceil(ic_pos[-1]) + 1, n)
    if hi - lo < 3:
        return None
    t = np.arange(lo, hi) * dt - t0
    seg = z[lo:hi] + c1 * t + c2 * t * t
    return float((_extreme(seg, True) - _extreme(seg, False)) * 100.0)


def _extreme(x: np.ndarray, highest: bool) -> float:
    """The largest (or smallest) value of a smooth sampled curve, refined by the parabola through
    the extreme sample and its neighbours."""
    i = int(np.argmax(x) if highest else np.argmin(x))
    if 0 < i < x.shape[0] - 1:
        y0, y1, y2 = float(x[i - 1]), float(x[i]), float(x[i + 1])
        den = y0 - 2.0 * y1 + y2
        if den != 0.0:
            d = 0.5 * (y0 - y2) / den
            if -1.0 <= d <= 1.0:
                return y1 - 0.25 * (y0 - y2) * d
    return float(x[i])


def vertical_ratio_pct(vo_cm_value: float | None, speed_mps: float | None, step_s: float | None) -> float | None:
    """VO / step length * 100, step length = speed * step time (Garmin's 'stride' is one step)."""
    if vo_cm_value is None or speed_mps is None or step_s is None or step_s <= 0:
        return None
    return vo_cm_value / (speed_mps * step_s * 100.0) * 100.0


_MANY_CHUNK = 256  # jobs per vectorised pass (bounds the padded work arrays)
_MANY_MIN = 8  # fewer chains go one by one (the same numbers)


def vo_window_cm_many(x: np.ndarray, fs: float, windows: list[tuple[int, int, list[float]]]) -> list[float | None]:
    """`vo_window_cm` of many chains at once: ``windows`` holds (start, length, IC positions
    relative to start) of slices of ``x``; returns what ``vo_window_cm(x[start:start + length],
    fs, ics)`` returns for each, bit for bit.

    The same floating-point operations in the same order, one row per chain: the mean is summed
    per chain (NumPy's pairwise sum depends on the length), the two running sums run along rows
    zero-padded at their end (a running sum never looks ahead), the normal equations are added IC
    by IC (a padded IC adds 0.0, which changes no sum), the 4 x 4 systems are eliminated column by
    column with each row's own pivot, and the extremes are read from rows padded with -inf / +inf.
    A chain with a non-finite sample is left to `vo_window_cm` itself."""
    out: list[float | None] = [None] * len(windows)
    if fs <= 0:
        return out
    todo = [j for j, (_, n, ics) in enumerate(windows) if len(ics) >= 5 and n >= 8]
    if len(todo) < _MANY_MIN or _COMPILED:  # (a live frame's step or two: the row set-up would cost more)
        for j in todo:
            s, n, ics = windows[j]
            out[j] = vo_window_cm(x[s : s + n], fs, ics)
        return out
    for c0 in range(0, len(todo), _MANY_CHUNK):
        part = todo[c0 : c0 + _MANY_CHUNK]
        vals = _vo_rows(x, fs, [windows[j] for j in part])
        for j, v in zip(part, vals):
            out[j] = v
    return out


def _vo_rows(x: np.ndarray, fs: float, windows: list[tuple[int, int, list[float]]]) -> list[float | None]:
    m = len(windows)
    starts = np.array([w[0] for w in windows], dtype=np.intp)
    ns = np.array([w[1] for w in windows], dtype=np.intp)
    width = int(ns.max())
    cols = np.arange(width)
    inside = cols[None, :] < ns[:, None]
    idx = np.where(inside, starts[:, None] + cols[None, :], 0)
    a = np.where(inside, x[idx], 0.0)
    if not np.isfinite(a).all():  # rare: the exact scalar route for every row
        return [vo_window_cm(x[s : s + n], fs, ics) for s, n, ics in windows]
    means = np.array([float(x[s : s + n].sum()) / n for s, n, _ in windows])
    dt = 1.0 / fs
    h = 0.5 * dt
    a -= means[:, None]
    a[~inside] = 0.0
    w = a[:, 1:] + a[:, :-1]
    w *= h
    v = np.empty((m, width))
    v[:, 0] = 0.0
    np.cumsum(w, axis=1, out=v[:, 1:])
    np.add(v[:, 1:], v[:, :-1], out=w)
    w *= h
    z = np.empty((m, width))
    z[:, 0] = 0.0
    np.cumsum(w, axis=1, out=z[:, 1:])
    # the normal equations, IC by IC (padded ICs: all terms 0.0)
    k_max = max(len(wd[2]) for wd in windows)
    pos = np.zeros((m, k_max))
    valid = np.zeros((m, k_max), dtype=bool)
    for r, (_, _, ics) in enumerate(windows):
        pos[r, : len(ics)] = ics
        valid[r, : len(ics)] = True
    rows = np.arange(m)
    t0 = pos[:, 0] * dt
    last = ns - 2
    s = np.zeros((14, m))  # s00 s01 s02 s03 s11 s12 s13 s22 s23 s33 b0 b1 b2 b3
    for k in range(k_max):
        ok = valid[:, k]
        p = pos[:, k]
        t = np.where(ok, p * dt - t0, 0.0)
        tt = t * t
        i = np.minimum(np.maximum(np.floor(p).astype(np.intp), 0), last)
        zi = z[rows, i]
        y = np.where(ok, -(zi + (p - i) * (z[rows, i + 1] - zi)), 0.0)
        one = np.where(ok, -1.0, 0.0)
        e, o = (one, np.zeros(m)) if k % 2 == 0 else (np.zeros(m), one)
        for q, term in enumerate(
            (t * t, t * tt, t * e, t * o, tt * tt, tt * e, tt * o, e * e, e * o, o * o, t * y, tt * y, e * y, o * y)
        ):
            s[q] += term
    s00, s01, s02, s03, s11, s12, s13, s22, s23, s33, b0, b1, b2, b3 = s
    aug = np.stack(
        [
            np.stack([s00, s01, s02, s03, b0], axis=1),
            np.stack([s01, s11, s12, s13, b1], axis=1),
            np.stack([s02, s12, s22, s23, b2], axis=1),
            np.stack([s03, s13, s23, s33, b3], axis=1),
        ],
        axis=1,
    )
    c1, c2, solved = _solve_rows(aug)
    lo = np.maximum(np.floor(pos[rows, np.array([len(wd[2]) - 2 for wd in windows])]).astype(np.intp), 0)
    hi = np.minimum(np.ceil(pos[rows, np.array([len(wd[2]) - 1 for wd in windows])]).astype(np.intp) + 1, ns)
    span = hi - lo
    seg_w = max(int(span.max()), 1)
    sc = np.arange(seg_w)
    in_seg = sc[None, :] < span[:, None]
    si = np.where(in_seg, lo[:, None] + sc[None, :], 0)
    t = si * dt - t0[:, None]
    with np.errstate(invalid="ignore", over="ignore"):
        seg = z[rows[:, None], si] + c1[:, None] * t + c2[:, None] * t * t
    top = _extreme_rows(np.where(in_seg, seg, -np.inf), span, True)
    bottom = _extreme_rows(np.where(in_seg, seg, np.inf), span, False)
    vo = (top - bottom) * 100.0
    return [float(vo[r]) if solved[r] and span[r] >= 3 else None for r in range(m)]


def _solve_rows(aug: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`_solve4` on each (4, 5) augmented system of ``aug`` (m, 4, 5): (x0, x1, solved)."""
    m = aug.shape[0]
    aug = aug.copy()
    rows = np.arange(m)
    solved = np.ones(m, dtype=bool)
    for c in range(4):
        mag = np.abs(aug[:, c:, c])
        piv = c + np.argmax(mag, axis=1)  # the first row of the largest magnitude
        solved &= mag[rows, piv - c] >= 1e-300
        top = aug[rows, c].copy()
        aug[rows, c] = aug[rows, piv]
        aug[rows, piv] = top
        d = np.where(solved, aug[:, c, c], 1.0)
        for r in range(c + 1, 4):
            f = aug[:, r, c] / d
            aug[:, r, c:] -= f[:, None] * aug[:, c, c:]
    x = np.zeros((m, 4))
    for c in range(3, -1, -1):
        acc = np.zeros(m)
        for j in range(c + 1, 4):
            acc += aug[:, c, j] * x[:, j]
        x[:, c] = (aug[:, c, 4] - acc) / np.where(solved, aug[:, c, c], 1.0)
    return x[:, 0], x[:, 1], solved


def _extreme_rows(x: np.ndarray, length: np.ndarray, highest: bool) -> np.ndarray:
    """`_extreme` of each row's first ``length`` values (the rest padded with -inf / +inf)."""
    m = x.shape[0]
    rows = np.arange(m)
    i = np.argmax(x, axis=1) if highest else np.argmin(x, axis=1)
    y1 = x[rows, i]
    inner = (i > 0) & (i < length - 1)
    y0 = x[rows, np.where(inner, i - 1, i)]
    y2 = x[rows, np.where(inner, i + 1, i)]
    den = y0 - 2.0 * y1 + y2
    use = inner & (den != 0.0)
    d = 0.5 * (y0 - y2) / np.where(use, den, 1.0)
    use &= (d >= -1.0) & (d <= 1.0)
    return np.where(use, y1 - 0.25 * (y0 - y2) * d, y1)
