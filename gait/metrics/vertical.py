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


def _solve(a: list[list[float]], b: list[float]) -> list[float] | None:
    """Gaussian elimination with partial pivoting on a small system, in Python floats (the same
    result wherever the numbers came from); None when singular."""
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for c in range(n):
        piv, best = c, abs(m[c][c])  # the first row of the largest magnitude
        for r in range(c + 1, n):
            v = abs(m[r][c])
            if v > best:
                piv, best = r, v
        if best < 1e-300:
            return None
        m[c], m[piv] = m[piv], m[c]
        mc = m[c]
        for r in range(c + 1, n):
            mr = m[r]
            f = mr[c] / mc[c]
            if f != 0.0:
                for j in range(c, n + 1):
                    mr[j] -= f * mc[j]
    x = [0.0] * n
    for c in range(n - 1, -1, -1):
        mc = m[c]
        s = 0
        for j in range(c + 1, n):
            s += mc[j] * x[j]
        x[c] = (mc[n] - s) / mc[c]
    return x


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
    # z + c1 t + c2 t^2 - L(parity) = 0 at every IC, least squares (t in seconds from the first IC):
    # the normal equations' sums over the rows (t, t^2, -[even IC], -[odd IC]; -z at the IC, linearly
    # interpolated), added row by row in Python floats
    t0 = ic_pos[0] * dt
    s00 = s01 = s02 = s03 = s11 = s12 = s13 = s22 = s23 = s33 = b0 = b1 = b2 = b3 = 0.0
    last = n - 2
    for k, pos in enumerate(ic_pos):
        t = pos * dt - t0
        tt = t * t
        e, o = (-1.0, 0.0) if k % 2 == 0 else (0.0, -1.0)
        i = min(max(math.floor(pos), 0), last)
        zi = float(z[i])
        y = -(zi + (pos - i) * (float(z[i + 1]) - zi))
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
    ata = [[s00, s01, s02, s03], [s01, s11, s12, s13], [s02, s12, s22, s23], [s03, s13, s23, s33]]
    sol = _solve(ata, [b0, b1, b2, b3])
    if sol is None:
        return None
    c1, c2 = sol[0], sol[1]
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
