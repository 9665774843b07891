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
"""

from __future__ import annotations

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


def vertical_ratio_pct(vo_cm_value: float | None, speed_mps: float | None, step_s: float | None) -> float | None:
    """VO / step length * 100, step length = speed * step time (Garmin's 'stride' is one step)."""
    if vo_cm_value is None or speed_mps is None or step_s is None or step_s <= 0:
        return None
    return vo_cm_value / (speed_mps * step_s * 100.0) * 100.0
