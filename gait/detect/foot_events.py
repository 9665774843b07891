"""The events of one foot cycle from its pitch rate, as loops over the samples: the compiled route
of `gait.detect.foot.FootStepStage` (foot flat, initial contact, the push-off minimum). The
NumPy route there takes about twenty small NumPy calls a stride; this is the same scans, one
function call. Both give the same numbers bit for bit (the same comparisons, NumPy's first-index
rule for ``argmax`` / ``argmin``, ``cumsum``'s running sum, NumPy's pairwise sum), which
``tests/test_foot_events.py`` checks stride by stride on recordings. Compiled only (``COMPILED``);
a cycle with a non-finite rate is left to the NumPy route.
"""

from __future__ import annotations

from gait.dsp.reductions import pairwise_loop
from gait.dsp.rotation_chains import attitudes, chain_sums, chain_up, stride_summary

try:
    import cython
except ImportError:  # pure Python, Cython not installed
    from gait.core.compiled import NO_CYTHON as cython

if cython.compiled:  # C's functions (Python's would be calls into the interpreter)
    from cython.cimports.libc.math import asin, floor, sqrt
else:
    from math import asin, floor, sqrt

COMPILED = not __file__.endswith(".py")

# what `cycle_events` returns first
OK, NO_CONTACT, NOT_FINITE = 0, 1, 2
# ``edge``
INSIDE, FIRST, LAST = 0, 1, 2


def parabolic(y0: float, y1: float, y2: float) -> float:
    """`gait.dsp.foot_orientation.parabolic_offset`, on C doubles."""
    den = y0 - 2.0 * y1 + y2
    if den == 0.0 or den != den or den - den != 0.0:  # zero, NaN or infinite
        return 0.0
    off = 0.5 * (y0 - y2) / den
    if off > 0.5:
        return 0.5
    return off if off > -0.5 else -0.5


def push_off(rate, lo: int, m: int, deep_fraction: float, dip_fraction: float, out) -> None:
    """`gait.detect.foot.push_off_minimum` of ``rate[lo:lo + m]`` (finite, m >= 1): ``out[0]`` the
    index (from ``lo``), ``out[1]`` 1.0 when the rate rises after it, else 0.0."""
    tmin = rate[lo]
    for i in range(lo + 1, lo + m):
        if rate[i] < tmin:
            tmin = rate[i]
    dip = dip_fraction * tmin
    a = 0
    while a < m and not rate[lo + a] <= dip:
        a += 1
    if a == m:
        a = 0  # (argmax of all False)
    b = a
    while b < m and rate[lo + b] <= dip:
        b += 1
    if not b < m:
        b = m
    dmin = rate[lo + a]
    for i in range(lo + a + 1, lo + b):
        if rate[i] < dmin:
            dmin = rate[i]
    deep = deep_fraction * dmin
    j = a
    while j < b and not rate[lo + j] <= deep:
        j += 1
    if j == b:
        j = a
    r0 = j + 1
    while r0 < m and not rate[lo + r0] >= rate[lo + r0 - 1]:
        r0 += 1
    if r0 < m:
        out[0] = r0 - 1.0
        out[1] = 1.0
    else:
        out[0] = m - 1.0
        out[1] = 0.0


def cycle_events(
    rate, gn, theta, edge: int, ff_half: int, edge_min_swing: float, fs: float, slap_min_deg: float,
    slap_max_deg: float, ic_slap_fraction: float, deep_fraction: float, dip_fraction: float, out,
) -> int:  # fmt: skip
    """Foot flat, IC and the push-off minimum of one cycle (rows ``0 .. n - 1`` of ``rate``, the
    smoothed pitch rate, and ``gn``, the smoothed rate norm), as `gait.detect.foot.FootStepStage`
    finds them: ``out`` = (foot flat row, IC position, push-off row, its position). Returns `OK`,
    `NO_CONTACT` (the cycle has none to report) or `NOT_FINITE` (a NaN or infinity in the
    signals: the NumPy route decides). ``theta`` (n,) is scratch for the running angle.
    ``edge_min_swing``: at the stream's first cycle, the swing peak a real contact needs."""
    n = rate.shape[0]
    for i in range(n):
        if rate[i] - rate[i] != 0.0 or gn[i] - gn[i] != 0.0:
            return NOT_FINITE
    lo_ff = ff_half if edge == FIRST else 3
    hi_ff = n - ff_half if edge == LAST else n - 3
    if hi_ff <= lo_ff:
        return NO_CONTACT
    # foot flat: the quietest instant between the most toes-up instant and the most toes-down one
    # after it, above the middle of that pitch range
    s = rate[0]  # (cumsum: the first term itself, then a running sum)
    theta[0] = s
    for i in range(1, n):
        s += rate[i]
        theta[i] = s
    k_hi = lo_ff
    for i in range(lo_ff + 1, hi_ff):
        if theta[i] > theta[k_hi]:
            k_hi = i
    k_lo = k_hi
    for i in range(k_hi + 1, hi_ff):
        if theta[i] < theta[k_lo]:
            k_lo = i
    if k_lo - k_hi >= 4:
        mid = 0.5 * (theta[k_hi] + theta[k_lo])
        last = k_hi
        for i in range(k_hi, k_lo):
            if theta[i] >= mid:
                last = i
        lo_ff, hi_ff = k_hi, last + 1
    ff_i = lo_ff
    for i in range(lo_ff + 1, hi_ff):
        if gn[i] < gn[ff_i]:
            ff_i = i
    if ff_i < 3 or ff_i > n - 4:
        return NO_CONTACT
    # IC: the pitch rate's minimum before foot flat ...
    ic_i = 0
    for i in range(1, ff_i):
        if rate[i] < rate[ic_i]:
            ic_i = i
    if edge == FIRST:
        if ic_i < 2 or rate[ic_i] >= 0.0:
            return NO_CONTACT
        top = rate[0]
        for i in range(1, ic_i):
            if rate[i] > top:
                top = rate[i]
        if top < edge_min_swing:
            return NO_CONTACT
    ic_pos = ic_i + (parabolic(rate[ic_i - 1], rate[ic_i], rate[ic_i + 1]) if 0 < ic_i < n - 1 else 0.0)
    # ... moved earlier after a heel strike (where the forefoot starts to slap)
    zc = ic_i
    while zc >= 0 and not rate[zc] >= 0.0:
        zc -= 1
    if zc < 0:
        zc = 0
    slap_deg = -pairwise_loop(rate, zc + 1, ic_i - zc) / fs
    w = (slap_deg - slap_min_deg) / (slap_max_deg - slap_min_deg)
    w = w if w > 0.0 else 0.0
    w = w if w < 1.0 else 1.0
    if w > 0.0 and ic_i - zc >= 1:
        level = ic_slap_fraction * rate[ic_i]
        k = ic_i
        while k >= zc and not rate[k] >= level:
            k -= 1
        if k >= zc:
            k -= zc  # the last sample still above the level, from zc
            if k > ic_i - zc - 1:
                k = ic_i - zc - 1
            sk, sk1 = rate[zc + k], rate[zc + k + 1]
            den = sk1 - sk
            cross = (zc + k) + ((level - sk) / den if den != 0.0 else 0.0)
            ic_pos = (1.0 - w) * ic_pos + w * cross
    # TO: the push-off minimum of the pitch rate after foot flat
    m = n - ff_i
    tmin = rate[ff_i]
    for i in range(ff_i + 1, n):
        if rate[i] < tmin:
            tmin = rate[i]
    if tmin >= 0.0:
        return NO_CONTACT
    push_off(rate, ff_i, m, deep_fraction, dip_fraction, out)
    j = int(out[0])
    if edge == LAST:
        if out[1] == 0.0:
            return NO_CONTACT
        if rate[n - 1] > 0.5 * tmin and j >= m - 2:
            return NO_CONTACT
    to_i = ff_i + j
    out[0] = ff_i
    out[1] = ic_pos
    out[2] = to_i
    out[3] = to_i + (parabolic(rate[to_i - 1], rate[to_i], rate[to_i + 1]) if 0 < to_i < n - 1 else 0.0)
    return OK


def find_midswing(
    sig, q0: int, q1: int, floor: float, thr_near: float, thr_far: float, pause_row: int, b_from: int,
    max_stride: int, confirm: int, end: int,
) -> int:  # fmt: skip
    """`gait.detect.foot.FootStepStage._find_midswing`'s scan over the ring rows ``q0 .. q1 - 1`` of
    the detection signal ``sig``: the first row ``p`` that is a local peak (above the row before,
    not below the row after, at least ``floor``), reaches the threshold (``thr_far`` beyond
    ``pause_row``, else ``thr_near``), is the highest since row ``max(b_from, p - max_stride)``
    and is not exceeded within ``confirm`` rows after it (rows below ``end``); -1 if none. A NaN
    in a span blocks nothing there (as the maximum NumPy takes of it is NaN)."""
    for p in range(q0, q1):
        v = sig[p]
        if not (v > sig[p - 1] and v >= sig[p + 1] and v >= floor):
            continue
        if v < (thr_far if p > pause_row else thr_near):
            continue
        b0 = p - max_stride
        if b0 < b_from:
            b0 = b_from
        if p > b0 and _blocks(sig, b0, p, v, True):
            continue
        f1 = p + confirm + 1
        if f1 > end:
            f1 = end
        if f1 > p + 1 and _blocks(sig, p + 1, f1, v, False):
            continue
        return p
    return -1


def _blocks(sig, r0: int, r1: int, v: float, or_equal: bool) -> bool:
    """``max(sig[r0:r1]) >= v`` (``> v`` unless ``or_equal``), False when a NaN is among them."""
    hit = False
    for i in range(r0, r1):
        x = sig[i]
        if x != x:
            return False
        if x > v or (or_equal and x == v):
            hit = True
    return hit


def sign_vote_loop(rate, gn, fs: float) -> float:
    """`gait.dsp.foot_orientation.sign_vote` of the rate minus its mean (``rate - rate.mean()``, as
    `gait.detect.foot.FootStepStage` votes each cycle), NaN as NumPy has it."""
    n = rate.shape[0]
    if n < 4:
        return 0.0
    mean = pairwise_loop(rate, 0, n) / n
    k = 0
    for i in range(n):
        if gn[i] != gn[i]:  # argmin: the first NaN
            k = i
            break
        if gn[i] < gn[k]:
            k = i
    s = rate[0] - mean
    ref = s
    lo = hi = s
    nan = s != s
    for i in range(1, n):
        s += rate[i] - mean
        if i == k:
            ref = s
        if s != s:
            nan = True
        elif s < lo:
            lo = s
        elif s > hi:
            hi = s
    if nan:
        lo = hi = s  # (a NaN stays in the running sum: NaN, as the reductions give)
    down = (ref - lo) / fs
    up = (hi - ref) / fs
    total = down + up
    if total < 20.0:
        return 0.0
    return (down - up) / total


# what `stride_fsa` returns
REJECTED, FSA_OK, FORWARD_VERTICAL = 0, 1, 2


def stride_fsa(
    acc, rot, fs: float, gravity: float, g_tol: float, min_stride_m: float, gain: float, has_up: bool,
    up0: float, up1: float, up2: float, has_fwd: bool, fw0: float, fw1: float, fw2: float, has_cal: bool,
    cal0: float, cal1: float, cal2: float, has_toe: bool, ca: float, sa: float, ic_pos: float, att, sums,
    summary, up_ic, out,
) -> int:  # fmt: skip
    """The common case of `gait.detect.foot.FootStepStage._fsa`, in one call: the stride attitude
    from the previous foot flat (rows of ``acc`` and ``rot``, as `gait.metrics.foot_strike.StrideAttitude`),
    the running 'up' and forward estimates blended with it, the forward axis made horizontal and
    turned by the toe-out (``ca``, ``sa``), and the foot strike angle at IC (``ic_pos``, a row of
    the stride). ``out``: the new 'up' (0-2) and forward (3-5) estimates and the angle (6);
    ``att`` (n, 9), ``sums`` (3, 5), ``summary`` (14,) and ``up_ic`` (3,) are scratch. Returns `FSA_OK`;
    `REJECTED` when the stride does not pass the attitude's checks (nothing changed);
    `FORWARD_VERTICAL` when the estimates changed but the forward axis is within 17 degrees of
    vertical (the caller takes it from there). The arithmetic of `_blend_unit`, `horizontal`,
    `StrideAttitude.up_at` and `elevation_deg`, operation for operation: the same bits."""
    n = acc.shape[0]
    attitudes(rot, n, att)
    chain_sums(att, acc, sums)
    moved = stride_summary(sums, acc, fs, gravity, summary)
    if abs(summary[0] - 1.0) > g_tol or not moved or summary[1] < min_stride_m:
        return REJECTED
    # the running estimates: 'up' at foot flat, and the direction of travel
    k = 1.0 - gain
    a0, a1, a2 = summary[5], summary[6], summary[7]  # 'up' at this foot flat
    if has_up:
        x, y, z = up0 * k + gain * a0, up1 * k + gain * a1, up2 * k + gain * a2
        nn = sqrt(x * x + y * y + z * z)
        a0, a1, a2 = x / nn, y / nn, z / nn
    out[0], out[1], out[2] = a0, a1, a2
    x = summary[8] * 0.5 + 0.5 * summary[11]
    y = summary[9] * 0.5 + 0.5 * summary[12]
    z = summary[10] * 0.5 + 0.5 * summary[13]
    nn = sqrt(x * x + y * y + z * z)
    f0, f1, f2 = x / nn, y / nn, z / nn
    if has_fwd:
        x, y, z = fw0 * k + gain * f0, fw1 * k + gain * f1, fw2 * k + gain * f2
        nn = sqrt(x * x + y * y + z * z)
        f0, f1, f2 = x / nn, y / nn, z / nn
    out[3], out[4], out[5] = f0, f1, f2
    if has_cal:
        r0, r1, r2 = cal0, cal1, cal2
    else:
        r0, r1, r2 = a0, a1, a2
    # forward made horizontal, then turned by the toe-out
    d = f0 * r0 + f1 * r1 + f2 * r2
    h0, h1, h2 = f0 - d * r0, f1 - d * r1, f2 - d * r2
    nn = sqrt(h0 * h0 + h1 * h1 + h2 * h2)
    if not nn > 0.3:
        return FORWARD_VERTICAL
    h0, h1, h2 = h0 / nn, h1 / nn, h2 / nn
    if has_toe:
        x = h0 * ca + (r1 * h2 - r2 * h1) * sa
        y = h1 * ca + (r2 * h0 - r0 * h2) * sa
        z = h2 * ca + (r0 * h1 - r1 * h0) * sa
        h0, h1, h2 = x, y, z
    # 'up' at IC from the stride's attitude, and the forward axis' elevation above its horizontal
    i = int(floor(ic_pos))
    if i < 0:
        i = 0
    if i > n - 2:
        i = n - 2
    fr = ic_pos - i
    if 0.0 > fr:
        fr = 0.0
    if 1.0 < fr:
        fr = 1.0
    chain_up(att, rot, i, summary[2], summary[3], summary[4], fr, up_ic)
    e = h0 * up_ic[0] + h1 * up_ic[1] + h2 * up_ic[2]
    e = e if e > -1.0 else -1.0  # (as max(-1.0, e): a NaN gives -1)
    e = e if e < 1.0 else 1.0
    out[6] = asin(e) * (180.0 / 3.141592653589793)  # (math.degrees)
    return FSA_OK
