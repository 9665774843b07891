"""The sanitize stage's checks of a frame in one loop over its samples: the compiled route of
`gait.dsp.sanitize.SanitizeStage` (a live frame is a few dozen samples, where the NumPy route's
two dozen calls cost more than the samples). The same decisions as the NumPy route, bit for bit
(comparisons and absolute values only; ``tests/test_sample_checks.py``). A frame with a
non-finite value is left to the NumPy route, which fills it. Compiled only (``COMPILED``).
"""

from __future__ import annotations

COMPILED = not __file__.endswith(".py")


def check_frame(
    t, acc, gyr, prev_t: float, gap_dt: float, acc_limit: float, acc_floor: float, gyr_floor: float, state, flags,
    gaps, gap_bit: int, clip_bit: int,
) -> int:  # fmt: skip
    """Flags (``flags``, (n,) uint8, ORed into) and gap rows (``gaps``, (n,) int: the first
    ``k`` returned entries) of a frame of ``n`` samples: ``t`` (n,), ``acc`` and ``gyr`` (n, 3;
    ``gyr`` may have no rows: no gyroscope). A sample more than ``gap_dt`` after the one before
    (``prev_t`` before the first) follows a gap (``gap_bit``: `SampleFlag.AFTER_GAP`). Clipping
    (``clip_bit``: `SampleFlag.CLIPPED`): at or above ``acc_limit`` on an acc axis when it is positive (the
    sensor's range), else sitting flat (equal to the sample before) at the largest magnitude seen
    (0.999 of it), at least ``acc_floor`` / ``gyr_floor``. ``state`` (12,): the previous sample's
    acc (0-2) and gyr (3-5), the largest magnitudes seen on each axis (6-8 acc, 9-11 gyr), all
    updated. Returns ``k``, or -1 when a value is not finite (nothing changed: the NumPy route
    fills it)."""
    n = t.shape[0]
    ng = gyr.shape[0]
    for i in range(n):
        for c in range(3):
            x = acc[i, c]
            if x - x != 0.0:
                return -1
            if ng:
                x = gyr[i, c]
                if x - x != 0.0:
                    return -1
    k = 0
    before = prev_t
    for i in range(n):
        if t[i] - before > gap_dt:
            gaps[k] = i
            k += 1
            flags[i] |= gap_bit
        before = t[i]
    _clipped(acc, 0, acc_limit, acc_floor, state, flags, clip_bit)
    if ng:
        _clipped(gyr, 3, 0.0, gyr_floor, state, flags, clip_bit)
    return k


def _clipped(x, col0: int, limit: float, floor: float, state, flags, bit: int) -> None:
    """`check_frame`'s clipping of one sensor (its state from column ``col0``; its largest
    magnitudes from ``col0 + 6``)."""
    n = x.shape[0]
    for c in range(3):
        prev = state[col0 + c]
        run = state[col0 + 6 + c]
        for i in range(n):
            v = x[i, c]
            a = v if v >= 0.0 else -v
            if limit > 0.0:
                if a >= limit:
                    flags[i] |= bit
            else:
                if a > run:
                    run = a
                if v == prev and a >= floor and a >= run * 0.999:
                    flags[i] |= bit
            prev = v
        state[col0 + c] = prev
        if limit <= 0.0:
            state[col0 + 6 + c] = run
