# C declarations for the compiled build of trunk.py (see setup.py): the detector's state as C
# fields and its per-step methods as C calls. trunk.py stays plain Python; without a build it runs
# as it reads. A field that may be None stays a Python object.

cimport cython

from gait.dsp.reductions cimport pairwise_sum, row_max

cdef class _Job:
    cdef public Py_ssize_t index


cdef class _Contact:
    cdef public double ic_t, ic_i, start_i, end_t, end_i, peak, level


cdef class _TrunkSteps:
    cdef object _p, _vertical, _kernel, _bflags, _vo_hist, _chain
    cdef public object _buf  # (tests read its size)
    cdef double[:, ::1] _bv
    cdef public double fs
    cdef public Py_ssize_t frame_len
    cdef Py_ssize_t _h, _keep, _cap, _len, _b0, _n_in, _n_sv, _w, _fw, _imp_n, _side_n
    cdef double _minc, _merge, _maxc, _maxstep, _hold_n
    cdef double _run_start_i, _run_end_t, _run_level, _last_t
    cdef bint _in_run, _run_confirmed, _chain_known, _side_prev_gap, _vo_stride_mean
    cdef list _vo_ics, _vo_jobs, _vo_todo, _out, _held
    cdef object _vo_prev, _uniform, _prev_above, _run_end_i, _run_ic, _last_end_i, _wait
    cdef object _floor, _flight, _prev_ic_t, _prev_raw_ic, _alt, _side_prev_ic, _side_step_s

    cpdef list process_frame(self, frame, bint final)
    cpdef list finish(self)
    cdef _append(self, b)
    cdef _compact(self, Py_ssize_t n)
    cdef tuple _smooth_new(self, bint final)
    cdef _scan(self, Py_ssize_t lo, Py_ssize_t hi)
    cdef double _time_at(self, double i)
    cdef _on_up(self, double ci)
    cdef _on_down(self, double ci)
    cdef _advance(self, double k)
    cdef _confirm_run(self, double trig)
    cdef _finalize_run(self)
    @cython.locals(sv=cython.double[::1], t=cython.double[::1], off=cython.Py_ssize_t, r=cython.Py_ssize_t,
                   j=cython.Py_ssize_t, x0=cython.double, x1=cython.double, frac=cython.double)
    cdef _crossing(self, double start_i, double level, bint rising, Py_ssize_t lo, Py_ssize_t hi)
    cpdef tuple _alternation(self, double ic_s, double to_s, next_ic_s)  # (tests call it)
    cdef _emit(self, _Contact c, nxt, double trig)
    cdef long _or_flags(self, Py_ssize_t r0, Py_ssize_t r1)
    cdef _vo(self, _Contact c, nxt, long bits)
    cdef _resolve_vo(self)
    cdef _roll_evidence(self, Py_ssize_t r_ic, Py_ssize_t lim)
    cdef _side_step(self, event, x, double ic_s, long bits, double trig, Py_ssize_t r_ic)
    cdef _sided(self, event, state, Py_ssize_t position, bint known)
    cdef _release_with(self, state, Py_ssize_t n)
    cdef _release_held(self, double k, bint strict=*)
