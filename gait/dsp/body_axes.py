# cython: boundscheck=False, wraparound=False
# (compiled: no index checks in the loop; body_axes checks every shape on entry)
"""The trunk orientation stage's per-sample work in one loop over the samples: the compiled route of
`gait.dsp.orientation.TrunkOrientationStage` once its warm-up is over (with a gyroscope and its
correction of 'up', the sacrum's and waist's usual case).

The NumPy route passes over a frame once per operation (about forty element-wise passes and four
calls of the recursive filters, each filtering one channel after the other). Here each sample goes
through every step at once, the channels' filters side by side. The arithmetic is that of the
NumPy route operation for operation (the same IEEE double operations in the same order: the
filters' transposed direct form II as ``scipy.signal.sosfilt`` computes it, sums of three
products left to right as ``(a * b).sum(axis=0)``, the same guards), so both routes give the same
bits (``tests/test_body_axes.py``); the lean's ``arctan2`` stays with NumPy. Compiled only
(``COMPILED``): in pure Python the loop would be far slower than NumPy.
"""

from __future__ import annotations

try:
    import cython
except ImportError:  # pure Python, Cython not installed
    from gait.core.compiled import NO_CYTHON as cython

if cython.compiled:  # C's sqrt (Python's would be a call into the interpreter for every sample)
    from cython.cimports.libc.math import sqrt
else:
    from math import sqrt

COMPILED = not __file__.endswith(".py")

# rows of ``out`` (the loop writes them by number: a module constant would be a Python lookup there)
ACC_V, ACC_AP, ACC_ML, ACC_NORM, GYR_ML, GYR_V, GYR_AP, ACC_V_GYRO, TILT_Y, TILT_X = range(10)


def body_axes(
    acc, gyr, sos, leak_sos, ap_sos, g_zi, th_zi, leak_zi, ap_zi, prev_av: float, fs: float, gravity: float,
    ref, min_corr2: float, out, unknown, tmp,
) -> float:  # fmt: skip
    """The stage's outputs for the samples of ``acc`` and ``gyr`` (n, 3; sensor frame) into ``out``
    ((10, n), rows as named above; ``TILT_Y``, ``TILT_X``: the lean's ``arctan2`` arguments) and
    ``unknown`` ((n,) uint8: forward not identifiable, the sensor axis used). Filter states
    (``g_zi`` (6, sections, 2): gravity, raw and in the mean-attitude frame; ``th_zi`` (3, sections,
    2): the integrated angle's low-pass; ``leak_zi`` (3, 1, 2); ``ap_zi`` (5, 1, 2)) are updated in
    place. ``prev_av``: the previous sample's vertical acceleration; returns this frame's last.
    ``ref``: the trunk axis (3 floats). ``tmp``: scratch of 16 values."""
    n = acc.shape[0]
    r0, r1, r2 = ref
    ns = sos.shape[0]
    if (
        gyr.shape[0] != n or acc.shape[1] != 3 or gyr.shape[1] != 3 or out.shape[0] != 10 or out.shape[1] != n
        or unknown.shape[0] != n or tmp.shape[0] < 14 or sos.shape[1] != 6 or leak_sos.shape[1] != 6
        or ap_sos.shape[1] != 6 or leak_sos.shape[0] < 1 or ap_sos.shape[0] < 1
        or g_zi.shape[0] != 6 or g_zi.shape[1] != ns or g_zi.shape[2] != 2
        or th_zi.shape[0] != 3 or th_zi.shape[1] != ns or th_zi.shape[2] != 2
        or leak_zi.shape[0] != 3 or leak_zi.shape[1] < 1 or leak_zi.shape[2] != 2
        or ap_zi.shape[0] != 5 or ap_zi.shape[1] < 1 or ap_zi.shape[2] != 2
    ):  # fmt: skip
        raise ValueError("body_axes: arrays of the wrong shape")
    lb0, lb1, lb2, la1, la2 = leak_sos[0, 0], leak_sos[0, 1], leak_sos[0, 2], leak_sos[0, 4], leak_sos[0, 5]
    pb0, pb1, pb2, pa1, pa2 = ap_sos[0, 0], ap_sos[0, 1], ap_sos[0, 2], ap_sos[0, 4], ap_sos[0, 5]
    for i in range(n):
        a0, a1, a2 = acc[i, 0], acc[i, 1], acc[i, 2]
        # (every filter: sections in transposed direct form II, as scipy.signal.sosfilt computes them)
        # rotation from the mean attitude: the integrated angle (leaky) minus its low-pass
        for c in range(3):
            t = gyr[i, c] * 1.0
            y = lb0 * t + leak_zi[c, 0, 0]
            leak_zi[c, 0, 0] = lb1 * t - la1 * y + leak_zi[c, 0, 1]
            leak_zi[c, 0, 1] = lb2 * t - la2 * y
            t = y
            x = t
            for k in range(ns):
                y = sos[k, 0] * x + th_zi[c, k, 0]
                th_zi[c, k, 0] = sos[k, 1] * x - sos[k, 4] * y + th_zi[c, k, 1]
                th_zi[c, k, 1] = sos[k, 2] * x - sos[k, 5] * y
                x = y
            tmp[c] = t - x
        d0, d1, d2 = tmp[0], tmp[1], tmp[2]
        # gravity: the low-passed specific force, raw (rows 0-2) and in the mean-attitude frame
        # (v + dth x v, rows 3-5)
        tmp[3], tmp[4], tmp[5] = a0, a1, a2
        tmp[6] = a0 + (d1 * a2 - d2 * a1)
        tmp[7] = a1 + (d2 * a0 - d0 * a2)
        tmp[8] = a2 + (d0 * a1 - d1 * a0)
        for c in range(6):
            x = tmp[3 + c]
            for k in range(ns):
                y = sos[k, 0] * x + g_zi[c, k, 0]
                g_zi[c, k, 0] = sos[k, 1] * x - sos[k, 4] * y + g_zi[c, k, 1]
                g_zi[c, k, 1] = sos[k, 2] * x - sos[k, 5] * y
                x = y
            tmp[3 + c] = x
        u0, u1, u2, m0, m1, m2 = tmp[3], tmp[4], tmp[5], tmp[6], tmp[7], tmp[8]
        # tilt: the sample's own 'up' (the mean-attitude gravity turned back by dth)
        v0 = m0 - (d1 * m2 - d2 * m1)
        v1 = m1 - (d2 * m0 - d0 * m2)
        v2 = m2 - (d0 * m1 - d1 * m0)
        nv = sqrt(v0 * v0 + v1 * v1 + v2 * v2)
        nv = nv if nv > 0 else 1.0
        v0, v1, v2 = v0 / nv, v1 / nv, v2 / nv
        nu = sqrt(u0 * u0 + u1 * u1 + u2 * u2)
        nu = nu if nu > 0 else 1.0
        u0, u1, u2 = u0 / nu, u1 / nu, u2 / nu
        # vertical, horizontal, and the forward axis from the AP correlation
        fvert = a0 * u0 + a1 * u1 + a2 * u2
        acc_v = fvert - gravity
        h0, h1, h2 = a0 - fvert * u0, a1 - fvert * u1, a2 - fvert * u2
        dav = (acc_v - prev_av) * fs
        prev_av = acc_v
        tmp[9], tmp[10], tmp[11] = h0 * dav, h1 * dav, h2 * dav
        tmp[12] = h0 * h0 + h1 * h1 + h2 * h2
        tmp[13] = dav * dav
        for c in range(5):
            x = tmp[9 + c]
            y = pb0 * x + ap_zi[c, 0, 0]
            ap_zi[c, 0, 0] = pb1 * x - pa1 * y + ap_zi[c, 0, 1]
            ap_zi[c, 0, 1] = pb2 * x - pa2 * y
            tmp[9 + c] = y
        f0, f1, f2 = tmp[9], tmp[10], tmp[11]
        fu = f0 * u0 + f1 * u1 + f2 * u2
        f0, f1, f2 = (f0 - fu * u0) * -1.0, (f1 - fu * u1) * -1.0, (f2 - fu * u2) * -1.0
        cn = sqrt(f0 * f0 + f1 * f1 + f2 * f2)
        nf = cn if cn > 0 else 1.0
        f0, f1, f2 = f0 / nf, f1 / nf, f2 / nf
        power2 = tmp[12] * tmp[13]
        if cn * cn < min_corr2 * power2 or power2 <= 0.0:
            # the sensor axis least aligned with gravity (numpy's argmin: the first smallest, a NaN
            # first of all), made horizontal
            b0, b1, b2 = abs(u0), abs(u1), abs(u2)
            if b0 != b0:
                k = 0
            elif b1 != b1:
                k = 1
            elif b2 != b2:
                k = 2
            else:
                k = 1 if b1 < b0 else 0
                if b2 < (b1 if k == 1 else b0):
                    k = 2
            e0, e1, e2 = (1.0 if k == 0 else 0.0), (1.0 if k == 1 else 0.0), (1.0 if k == 2 else 0.0)
            de = e0 * u0 + e1 * u1 + e2 * u2
            e0, e1, e2 = e0 - de * u0, e1 - de * u1, e2 - de * u2
            ne = sqrt(e0 * e0 + e1 * e1 + e2 * e2)
            ne = ne if ne > 0 else 1.0
            f0, f1, f2 = e0 / ne, e1 / ne, e2 / ne
            unknown[i] = 1
        else:
            unknown[i] = 0
        l0, l1, l2 = f1 * u2 - f2 * u1, f2 * u0 - f0 * u2, f0 * u1 - f1 * u0  # ML = forward x up
        # lean: the trunk axis' angle from the sample's own 'up', forward made horizontal to it
        rf = r0 * f0 + r1 * f1 + r2 * f2
        ru = r0 * v0 + r1 * v1 + r2 * v2
        fv = f0 * v0 + f1 * v1 + f2 * v2
        q = 1.0 - fv * fv
        if q < 1e-12:
            q = 1e-12
        w0, w1, w2 = gyr[i, 0], gyr[i, 1], gyr[i, 2]
        out[8, i] = (rf - fv * ru) / sqrt(q)
        out[9, i] = ru
        out[0, i] = acc_v
        out[1, i] = a0 * f0 + a1 * f1 + a2 * f2
        out[2, i] = a0 * l0 + a1 * l1 + a2 * l2
        out[3, i] = sqrt(a0 * a0 + a1 * a1 + a2 * a2)
        out[4, i] = w0 * l0 + w1 * l1 + w2 * l2
        out[5, i] = w0 * u0 + w1 * u1 + w2 * u2
        out[6, i] = w0 * f0 + w1 * f1 + w2 * f2
        out[7, i] = (a0 * v0 + a1 * v1 + a2 * v2) - gravity
    return prev_av
