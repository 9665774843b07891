"""Vertical oscillation (pure functions).

`vo_cm` treats the vertical acceleration over one step (IC to next IC) as one period of a
periodic signal: the trunk's vertical velocity and height are the same at both ends of a
steady step. Each Fourier harmonic k of the acceleration (angular frequency w_k = 2 pi k / T)
gives the displacement harmonic z_k = -a_k / w_k^2; the mean (DC) term, which holds the
gravity-estimate error and any drift, is dropped. This is exactly double integration with
periodic drift removal (velocity and position forced periodic), but without the
end-point bias of trapezoid integration, and it evaluates the trajectory on an 8x finer grid
so the peak-to-trough is not limited by the sample rate (it works at 50 Hz).
"""

from __future__ import annotations

import numpy as np

OVERSAMPLE = 4
MAX_HARMONIC_HZ = 25.0


def vertical_displacement_m(acc_v_mps2: np.ndarray, period_s: float) -> np.ndarray:
    """Periodic vertical displacement (m, zero mean) over one step, oversampled by `OVERSAMPLE`."""
    a = np.asarray(acc_v_mps2, dtype=float)
    n = a.shape[0]
    if n < 4 or period_s <= 0:
        return np.zeros(0)
    spec = np.fft.rfft(a)
    k = np.arange(spec.shape[0])
    w = 2.0 * np.pi * k / period_s
    z = np.zeros_like(spec)
    keep = (k >= 1) & (k / period_s <= MAX_HARMONIC_HZ)
    z[keep] = -spec[keep] / (w[keep] ** 2)
    if n % 2 == 0 and spec.shape[0] > 1:
        z[-1] *= 0.5  # Nyquist bin is split between +/- frequencies once zero-padded
    m = n * OVERSAMPLE
    return np.fft.irfft(z, m) * (m / n)


def vo_cm(acc_v_mps2: np.ndarray, period_s: float) -> float | None:
    """Peak-to-trough vertical oscillation (cm) of one step from its vertical acceleration
    (m/s^2, gravity removed or not: the mean is ignored) sampled over exactly one step."""
    z = vertical_displacement_m(acc_v_mps2, period_s)
    if z.size == 0:
        return None
    return float((z.max() - z.min()) * 100.0)


def vertical_ratio_pct(vo_cm_value: float | None, speed_mps: float | None, step_s: float | None) -> float | None:
    """VO / step length * 100, step length = speed * step time (Garmin's 'stride' is one step)."""
    if vo_cm_value is None or speed_mps is None or step_s is None or step_s <= 0:
        return None
    return vo_cm_value / (speed_mps * step_s * 100.0) * 100.0
