# cython: boundscheck=False, wraparound=False
# (compiled: no index checks in the loop; every index is checked against the lengths as it goes)
"""A fast path for the numbers of a CSV recording: plain decimal fields, comma-separated, one
sample per line, read in one compiled pass (``COMPILED``; `firmware_interface.files.recording`
uses it only then, and Arrow's CSV reader otherwise).

Every field must be a decimal number such as ``-12.345678`` or ``1.5e-3`` whose digits fit the
exact fast path of decimal-to-binary conversion (Clinger 1990): at most 19 digits
forming an integer ``m`` below 2^53, and a power of ten ``10^k`` with ``|k| <= 22``. Both are then
exact doubles, so ``m * 10^k`` or ``m / 10^-k`` is rounded once: the correctly rounded value, the
same bits as any correct parser (Arrow's, Python's ``float``). The recording writer's six decimals
are well inside. Anything else (another number form, ``nan``, an empty field, a blank line, a
wrong field count) makes `parse_table` give up (-1) and the caller reads the text the general way,
which also names a bad line.
"""

from __future__ import annotations

COMPILED = not __file__.endswith(".py")

def parse_table(data, start: int, offsets, strides, cap: int, out) -> int:
    """Parse the lines of ``data`` (ASCII bytes, or any buffer of them) from offset ``start``,
    ``len(offsets)`` fields a line: field ``j`` of line ``r`` goes to ``out[offsets[j] + r *
    strides[j]]`` (``offsets[j]`` -1: skipped), for at most ``cap`` lines (so that columns can be
    laid out as the caller's arrays want them). Returns the number of lines parsed, -1 when the
    text is not all fast-path numbers (see the module docstring), or -2 when there are more than
    ``cap`` lines."""
    n = len(data)
    ncols = offsets.shape[0]
    if strides.shape[0] != ncols:
        raise ValueError("parse_table: one stride per offset")
    for j in range(ncols):
        if offsets[j] >= 0 and (strides[j] < 0 or (cap > 0 and offsets[j] + (cap - 1) * strides[j] >= out.shape[0])):
            raise ValueError("parse_table: a column beyond the end of out")
    i = start
    row = 0
    last_k = 0
    last_p = 1.0
    while i < n:
        if row >= cap:
            return -2
        for j in range(ncols):
            # one field: [+-] digits [. digits] [(e|E) [+-] digits]
            neg = False
            c = data[i] if i < n else 0
            if c == 45 or c == 43:  # '-' '+'
                neg = c == 45
                i += 1
            m = 0
            seen = 0  # digits of the mantissa (leading zeros included: at most 19 in all)
            k = 0
            while i < n and 48 <= data[i] <= 57:
                m = m * 10 + (data[i] - 48)
                seen += 1
                i += 1
            if i < n and data[i] == 46:  # '.'
                i += 1
                k = seen
                while i < n and 48 <= data[i] <= 57:
                    m = m * 10 + (data[i] - 48)
                    seen += 1
                    i += 1
                k -= seen
            if seen == 0 or seen > 19:  # (beyond 19 digits m may have wrapped around: not used)
                return -1
            if i < n and (data[i] == 101 or data[i] == 69):  # 'e' 'E'
                i += 1
                eneg = False
                if i < n and (data[i] == 45 or data[i] == 43):
                    eneg = data[i] == 45
                    i += 1
                e = 0
                edigits = 0
                while i < n and 48 <= data[i] <= 57:
                    if edigits >= 4:
                        return -1
                    e = e * 10 + (data[i] - 48)
                    edigits += 1
                    i += 1
                if edigits == 0:
                    return -1
                k += -e if eneg else e
            # the field must end here: a comma between fields, the line's end after the last
            if j + 1 < ncols:
                if i >= n or data[i] != 44:
                    return -1
                i += 1
            elif i < n:
                if data[i] == 13:  # '\r\n'
                    i += 1
                    if i >= n or data[i] != 10:
                        return -1
                elif data[i] != 10:
                    return -1
                i += 1
            if offsets[j] < 0:
                continue
            if m == 0:
                v = 0.0
            else:
                if m >> 53 or k < -22 or k > 22:  # (m >= 2^53)
                    return -1
                if k != last_k:
                    last_p = 1.0
                    for _ in range(k if k > 0 else -k):
                        last_p *= 10.0  # 10^0 .. 10^22 are exact doubles
                    last_k = k
                v = m * last_p if k >= 0 else m / last_p
            out[offsets[j] + row * strides[j]] = -v if neg else v
        row += 1
    return row
