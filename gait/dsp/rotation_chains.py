"""Running products of per-sample rotations, one sample after the other: the compiled route of
the foot's per-stride attitude sums (`gait.metrics.foot_strike.StrideAttitude`) and push-off
pivot (`gait.detect.foot.pivot_speed`).

The NumPy route forms the same products as a pairwise tree (`gait.dsp.foot_orientation.stride_tree`)
or a prefix scan (`gait.dsp.foot_orientation.prefix_products`): a few stacked matrix products per
stride instead of one Python step per sample, which is what makes NumPy fast there. Compiled, a
loop over the samples is faster still (a stride's 140 products of 3 x 3 matrices take about a
microsecond), so the build uses these loops (``COMPILED``) and pure Python keeps the NumPy route.
The two group the same products differently, so they agree to rounding (about 1e-15 relative for
a stride), not bit for bit: ``tests/test_rotation_chains.py`` holds them together.

Rotations ``rot[t]`` map a vector from the sensor frame at sample ``t + 1`` into that at ``t``;
``C_t = rot[0] @ ... @ rot[t - 1]`` (``C_0`` the identity) is the attitude at ``t`` in the frame of
sample 0. Every function reads C-contiguous float64 arrays and writes into ``out``.
"""

from __future__ import annotations

try:
    import cython
except ImportError:  # pure Python, Cython not installed
    from gait.core.compiled import NO_CYTHON as cython

if cython.compiled:  # C's sqrt (Python's would be a call into the interpreter for every sample)
    from cython.cimports.libc.math import acos, cos, sin, sqrt
else:
    from math import acos, cos, sin, sqrt

COMPILED = not __file__.endswith(".py")


def attitudes(rot, m: int, out) -> None:
    """``out[t]`` (9 values, row by row) = ``C_t`` for ``t < m``: the running product of the
    rotations ``rot`` ((m - 1, 3, 3) or more rows), one sample after the other."""
    c00, c01, c02 = 1.0, 0.0, 0.0
    c10, c11, c12 = 0.0, 1.0, 0.0
    c20, c21, c22 = 0.0, 0.0, 1.0
    for t in range(m):
        out[t, 0], out[t, 1], out[t, 2] = c00, c01, c02
        out[t, 3], out[t, 4], out[t, 5] = c10, c11, c12
        out[t, 6], out[t, 7], out[t, 8] = c20, c21, c22
        if t + 1 < m:
            r00, r01, r02 = rot[t, 0, 0], rot[t, 0, 1], rot[t, 0, 2]
            r10, r11, r12 = rot[t, 1, 0], rot[t, 1, 1], rot[t, 1, 2]
            r20, r21, r22 = rot[t, 2, 0], rot[t, 2, 1], rot[t, 2, 2]
            c00, c01, c02 = (c00 * r00 + c01 * r10 + c02 * r20, c00 * r01 + c01 * r11 + c02 * r21,
                             c00 * r02 + c01 * r12 + c02 * r22)  # fmt: skip
            c10, c11, c12 = (c10 * r00 + c11 * r10 + c12 * r20, c10 * r01 + c11 * r11 + c12 * r21,
                             c10 * r02 + c11 * r12 + c12 * r22)  # fmt: skip
            c20, c21, c22 = (c20 * r00 + c21 * r10 + c22 * r20, c20 * r01 + c21 * r11 + c22 * r21,
                             c20 * r02 + c21 * r12 + c22 * r22)  # fmt: skip


def chain_sums(att, vec, out) -> None:
    """``out`` (3, 5) = ``[C_{n-1} | sum_t C_t v_t | sum_t t C_t v_t]`` for the ``n`` rows ``v_t`` of
    ``vec`` (n, 3) and their `attitudes` ``att`` (n, 9): the root of
    `gait.dsp.foot_orientation.stride_tree`, rows 0-2, columns 0-4."""
    n = vec.shape[0]
    s0x = s0y = s0z = 0.0
    s1x = s1y = s1z = 0.0
    for t in range(n):
        vx, vy, vz = vec[t, 0], vec[t, 1], vec[t, 2]
        x = att[t, 0] * vx + att[t, 1] * vy + att[t, 2] * vz
        y = att[t, 3] * vx + att[t, 4] * vy + att[t, 5] * vz
        z = att[t, 6] * vx + att[t, 7] * vy + att[t, 8] * vz
        s0x += x
        s0y += y
        s0z += z
        w = float(t)
        s1x += w * x
        s1y += w * y
        s1z += w * z
    k = n - 1
    out[0, 0], out[0, 1], out[0, 2], out[0, 3], out[0, 4] = att[k, 0], att[k, 1], att[k, 2], s0x, s1x
    out[1, 0], out[1, 1], out[1, 2], out[1, 3], out[1, 4] = att[k, 3], att[k, 4], att[k, 5], s0y, s1y
    out[2, 0], out[2, 1], out[2, 2], out[2, 3], out[2, 4] = att[k, 6], att[k, 7], att[k, 8], s0z, s1z


def chain_up(att, rot, i: int, up0x: float, up0y: float, up0z: float, fr: float, out) -> None:
    """``out`` (3,) = the unit vector between ``C_i^T up0`` and ``C_{i+1}^T up0`` at the fraction
    ``fr`` (a world vector given in the frame of sample 0, seen from fractional sample ``i + fr``),
    with ``C_i`` row ``i`` of the `attitudes` ``att``."""
    # a = C_i^T up0 (frame of sample i), b = rot[i]^T a (frame of sample i + 1)
    ax = att[i, 0] * up0x + att[i, 3] * up0y + att[i, 6] * up0z
    ay = att[i, 1] * up0x + att[i, 4] * up0y + att[i, 7] * up0z
    az = att[i, 2] * up0x + att[i, 5] * up0y + att[i, 8] * up0z
    bx = rot[i, 0, 0] * ax + rot[i, 1, 0] * ay + rot[i, 2, 0] * az
    by = rot[i, 0, 1] * ax + rot[i, 1, 1] * ay + rot[i, 2, 1] * az
    bz = rot[i, 0, 2] * ax + rot[i, 1, 2] * ay + rot[i, 2, 2] * az
    g = 1.0 - fr
    x, y, z = g * ax + fr * bx, g * ay + fr * by, g * az + fr * bz
    nrm = sqrt(x * x + y * y + z * z)
    out[0], out[1], out[2] = x / nrm, y / nrm, z / nrm


def pivot_chain(
    acc, gyr, rot, fs: float, gravity: float, up, fwd, k0: int, k1: int, att, scratch, speed
) -> tuple | None:
    """The loop form of `gait.detect.foot.pivot_speed` (see there): ``speed`` (m,) receives the
    pivot's speed from row 0 on, and the pivot's place ``(x, z)`` is returned (None when the fit
    over rows ``k0 .. k1 - 1`` is degenerate). ``acc``, ``gyr`` (m, 3); ``rot`` (m - 1, 3, 3);
    ``up``, ``fwd``: 3-tuples of floats; ``att`` (m, 9) receives the `attitudes`; ``scratch``
    (m, 9) holds per row ``C_t (w_t x fwd)``, ``C_t (w_t x up)`` and the velocity."""
    m = acc.shape[0]
    attitudes(rot, m, att)
    d2r = 3.141592653589793 / 180.0
    ux, uy, uz = up
    fx, fy, fz = fwd
    gx, gy, gz = gravity * ux, gravity * uy, gravity * uz
    vx = vy = vz = 0.0
    px = py = pz = 0.0  # the previous row's gravity-free specific force (frame of row 0)
    half = 0.5 / fs
    for t in range(m):
        c00, c01, c02 = att[t, 0], att[t, 1], att[t, 2]
        c10, c11, c12 = att[t, 3], att[t, 4], att[t, 5]
        c20, c21, c22 = att[t, 6], att[t, 7], att[t, 8]
        ax, ay, az = acc[t, 0], acc[t, 1], acc[t, 2]
        wx, wy, wz = gyr[t, 0] * d2r, gyr[t, 1] * d2r, gyr[t, 2] * d2r
        # w x fwd and w x up (sensor frame of row t), then everything into the frame of row 0
        bx, by, bz = wy * fz - wz * fy, wz * fx - wx * fz, wx * fy - wy * fx
        cx, cy, cz = wy * uz - wz * uy, wz * ux - wx * uz, wx * uy - wy * ux
        scratch[t, 0] = c00 * bx + c01 * by + c02 * bz
        scratch[t, 1] = c10 * bx + c11 * by + c12 * bz
        scratch[t, 2] = c20 * bx + c21 * by + c22 * bz
        scratch[t, 3] = c00 * cx + c01 * cy + c02 * cz
        scratch[t, 4] = c10 * cx + c11 * cy + c12 * cz
        scratch[t, 5] = c20 * cx + c21 * cy + c22 * cz
        qx = c00 * ax + c01 * ay + c02 * az - gx
        qy = c10 * ax + c11 * ay + c12 * az - gy
        qz = c20 * ax + c21 * ay + c22 * az - gz
        if t > 0:  # trapezoids from zero: the foot is still at foot flat
            vx += (qx + px) * half
            vy += (qy + py) * half
            vz += (qz + pz) * half
        scratch[t, 6], scratch[t, 7], scratch[t, 8] = vx, vy, vz
        px, py, pz = qx, qy, qz
    # least squares: the point x fwd + z up stillest over the fit rows
    a11 = a12 = a22 = b1 = b2 = 0.0
    for t in range(k0, k1):
        for j in range(3):
            f = scratch[t, j]
            u = scratch[t, 3 + j]
            v = scratch[t, 6 + j]
            a11 += f * f
            a12 += f * u
            a22 += u * u
            b1 -= f * v
            b2 -= u * v
    det = a11 * a22 - a12 * a12
    if not det > 1e-12 * max(a11 * a22, 1e-300):
        return None
    x = (a22 * b1 - a12 * b2) / det
    z = (a11 * b2 - a12 * b1) / det
    for t in range(m):
        sx = scratch[t, 6] + x * scratch[t, 0] + z * scratch[t, 3]
        sy = scratch[t, 7] + x * scratch[t, 1] + z * scratch[t, 4]
        sz = scratch[t, 8] + x * scratch[t, 2] + z * scratch[t, 5]
        speed[t] = sqrt(sx * sx + sy * sy + sz * sz)
    return x, z


def stride_summary(sums, acc, fs: float, gravity: float, out) -> bool:
    """What `gait.metrics.foot_strike.StrideAttitude` derives from the stride's sums ``sums``
    (`chain_sums`' layout) and its specific force ``acc`` (n, 3), into ``out`` (14,): the ratio of
    the mean specific force to gravity, the horizontal distance travelled (m), 'up' in the frames
    of the first and the last sample, and the direction of travel in both (zero when the stride
    went nowhere: returns False then)."""
    n = acc.shape[0]
    x0, x1, x2 = acc[0, 0], acc[0, 1], acc[0, 2]
    l0, l1, l2 = acc[n - 1, 0], acc[n - 1, 1], acc[n - 1, 2]
    c00, c01, c02 = sums[0, 0], sums[0, 1], sums[0, 2]
    c10, c11, c12 = sums[1, 0], sums[1, 1], sums[1, 2]
    c20, c21, c22 = sums[2, 0], sums[2, 1], sums[2, 2]
    # the last sample's specific force in the first one's frame; the trapezoidal integral
    i0 = (sums[0, 3] - 0.5 * (x0 + (c00 * l0 + c01 * l1 + c02 * l2))) / fs
    i1 = (sums[1, 3] - 0.5 * (x1 + (c10 * l0 + c11 * l1 + c12 * l2))) / fs
    i2 = (sums[2, 3] - 0.5 * (x2 + (c20 * l0 + c21 * l1 + c22 * l2))) / fs
    span = (n - 1) / fs
    m0, m1, m2 = i0 / span, i1 / span, i2 / span  # the mean specific force: gravity
    nf = sqrt(m0 * m0 + m1 * m1 + m2 * m2)
    u0, u1, u2 = m0 / nf, m1 / nf, m2 / nf
    # the ZUPT displacement, made horizontal
    half = 0.5 / fs
    w = 2.0 * n - 1.0
    d0 = (half * (w * sums[0, 3] - 2.0 * sums[0, 4] - n * x0) - i0 * (0.5 * n)) / fs
    d1 = (half * (w * sums[1, 3] - 2.0 * sums[1, 4] - n * x1) - i1 * (0.5 * n)) / fs
    d2 = (half * (w * sums[2, 3] - 2.0 * sums[2, 4] - n * x2) - i2 * (0.5 * n)) / fs
    du = d0 * u0 + d1 * u1 + d2 * u2
    h0, h1, h2 = d0 - du * u0, d1 - du * u1, d2 - du * u2
    stride_m = sqrt(h0 * h0 + h1 * h1 + h2 * h2)
    out[0] = nf / gravity
    out[1] = stride_m
    out[2], out[3], out[4] = u0, u1, u2
    # in the frame of the last sample: C_{n-1}^T v
    out[5] = c00 * u0 + c10 * u1 + c20 * u2
    out[6] = c01 * u0 + c11 * u1 + c21 * u2
    out[7] = c02 * u0 + c12 * u1 + c22 * u2
    if not stride_m > 1e-6:
        for k in range(8, 14):
            out[k] = 0.0
        return False
    t0, t1, t2 = h0 / stride_m, h1 / stride_m, h2 / stride_m
    out[8], out[9], out[10] = t0, t1, t2
    out[11] = c00 * t0 + c10 * t1 + c20 * t2
    out[12] = c01 * t0 + c11 * t1 + c21 * t2
    out[13] = c02 * t0 + c12 * t1 + c22 * t2
    return True


def principal_axis(cov, previous=None):
    """Unit eigenvector (3-array) of the largest eigenvalue of a 3x3 covariance (C-contiguous
    float64); oriented to agree with ``previous`` (so the axis never flips by itself between
    updates), else with its largest component positive.

    Closed form on doubles (trigonometric eigenvalues of a symmetric 3x3, the eigenvector as the
    longest cross product of two rows of ``cov - lambda I``): about 20x cheaper than
    `numpy.linalg.eigh` on a 3x3, and called once per stride. Falls back to ``eigh`` when the
    largest eigenvalue is (numerically) repeated.
    """
    a00, a01, a02 = cov[0, 0], cov[0, 1], cov[0, 2]
    a11, a12 = cov[1, 1], cov[1, 2]
    a22 = cov[2, 2]
    p1 = a01 * a01 + a02 * a02 + a12 * a12
    q = (a00 + a11 + a22) / 3.0
    b00, b11, b22 = a00 - q, a11 - q, a22 - q
    p2 = b00 * b00 + b11 * b11 + b22 * b22 + 2.0 * p1
    found = False
    ex = ey = ez = 0.0
    if p2 > 0.0:
        p = sqrt(p2 / 6.0)
        det = (b00 * (b11 * b22 - a12 * a12) - a01 * (a01 * b22 - a12 * a02) + a02 * (a01 * a12 - b11 * a02)) / (
            p * p * p
        )
        r = 0.5 * det
        r = r if r > -1.0 else -1.0
        r = r if r < 1.0 else 1.0
        lam = q + 2.0 * p * cos(acos(r) / 3.0)
        # rows of cov - lam I; the eigenvector is orthogonal to all three: the longest of the
        # cross products of (row 0, row 1), (row 0, row 2), (row 1, row 2)
        d0, d1, d2 = a00 - lam, a11 - lam, a22 - lam
        best = 0.0
        x, y, z = a01 * a12 - a02 * d1, a02 * a01 - d0 * a12, d0 * d1 - a01 * a01
        nn = x * x + y * y + z * z
        if nn > best:
            best, ex, ey, ez, found = nn, x, y, z, True
        x, y, z = a01 * d2 - a02 * a12, a02 * a02 - d0 * d2, d0 * a12 - a01 * a02
        nn = x * x + y * y + z * z
        if nn > best:
            best, ex, ey, ez, found = nn, x, y, z, True
        x, y, z = d1 * d2 - a12 * a12, a12 * a02 - a01 * d2, a01 * a12 - d1 * a02
        nn = x * x + y * y + z * z
        if nn > best:
            best, ex, ey, ez, found = nn, x, y, z, True
        # well separated: the cross product is not a rounding artefact
        if found and best <= 1e-20 * p2 * p2:
            found = False
    if not found:
        import numpy as np

        _, vecs = np.linalg.eigh(cov)
        ex, ey, ez = vecs[:, -1].tolist()
    ne = sqrt(ex * ex + ey * ey + ez * ez)
    x, y, z = ex / ne, ey / ne, ez / ne
    if previous is not None:
        if x * float(previous[0]) + y * float(previous[1]) + z * float(previous[2]) < 0.0:
            x, y, z = -x, -y, -z
    else:
        # the largest component (the last of equals) positive: a deterministic first orientation
        big = x
        if abs(y) >= abs(big):
            big = y
        if abs(z) >= abs(big):
            big = z
        if big < 0.0:
            x, y, z = -x, -y, -z
    import numpy as np

    return np.array([x, y, z])


def step_rotations_loop(gyr, fs: float, out) -> None:
    """`gait.dsp.foot_orientation.step_rotations` of ``gyr`` (n, 3; deg/s) into ``out``
    ((n - 1, 3, 3)), one sample after the other: the same element-wise operations (and libm's
    ``sin`` and ``cos``, which NumPy's float64 loops use too: ``tests/test_rotation_chains.py``
    holds the two to the same bits where they agree)."""
    k = 3.141592653589793 / 180.0 / fs
    for t in range(gyr.shape[0] - 1):
        r0 = 0.5 * (gyr[t + 1, 0] * k + gyr[t, 0] * k)
        r1 = 0.5 * (gyr[t + 1, 1] * k + gyr[t, 1] * k)
        r2 = 0.5 * (gyr[t + 1, 2] * k + gyr[t, 2] * k)
        th = sqrt(r0 * r0 + r1 * r1 + r2 * r2)
        d = th if th >= 1e-300 or th != th else 1e-300  # (no rotation: u = 0, R = I)
        u0, u1, u2 = r0 / d, r1 / d, r2 / d
        sn = sin(th)
        cs = cos(th)
        c1 = 1.0 - cs
        v0, v1, v2 = c1 * u0, c1 * u1, c1 * u2
        s0, s1, s2 = sn * u0, sn * u1, sn * u2
        out[t, 0, 0] = v0 * u0 + cs
        out[t, 0, 1] = v0 * u1 - s2
        out[t, 0, 2] = v0 * u2 + s1
        out[t, 1, 0] = v1 * u0 + s2
        out[t, 1, 1] = v1 * u1 + cs
        out[t, 1, 2] = v1 * u2 - s0
        out[t, 2, 0] = v2 * u0 - s1
        out[t, 2, 1] = v2 * u1 + s0
        out[t, 2, 2] = v2 * u2 + cs
