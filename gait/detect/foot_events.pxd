# C declarations for the compiled build of foot_events.py (see setup.py). Locals that take a C
# double from typed inputs are inferred as such; only integers, flags and values unpacked from Python
# objects are declared.
cimport cython

from gait.dsp.reductions cimport pairwise_loop
from gait.dsp.rotation_chains cimport attitudes, chain_sums, chain_up, stride_summary


cpdef double parabolic(double y0, double y1, double y2)


@cython.locals(i=cython.Py_ssize_t, a=cython.Py_ssize_t, b=cython.Py_ssize_t, j=cython.Py_ssize_t,
               r0=cython.Py_ssize_t)
cpdef push_off(const double[::1] rate, Py_ssize_t lo, Py_ssize_t m, double deep_fraction, double dip_fraction,
               double[::1] out)


@cython.locals(n=cython.Py_ssize_t, i=cython.Py_ssize_t, lo_ff=cython.Py_ssize_t, hi_ff=cython.Py_ssize_t,
               k_hi=cython.Py_ssize_t, k_lo=cython.Py_ssize_t, last=cython.Py_ssize_t, ff_i=cython.Py_ssize_t,
               ic_i=cython.Py_ssize_t, zc=cython.Py_ssize_t, k=cython.Py_ssize_t, m=cython.Py_ssize_t,
               j=cython.Py_ssize_t, to_i=cython.Py_ssize_t)
cpdef int cycle_events(const double[::1] rate, const double[::1] gn, double[::1] theta, int edge, Py_ssize_t ff_half,
                       double edge_min_swing, double fs, double slap_min_deg, double slap_max_deg,
                       double ic_slap_fraction, double deep_fraction, double dip_fraction, double[::1] out) except -1


@cython.locals(p=cython.Py_ssize_t, b0=cython.Py_ssize_t, f1=cython.Py_ssize_t)
cpdef Py_ssize_t find_midswing(const double[::1] sig, Py_ssize_t q0, Py_ssize_t q1, double floor, double thr_near,
                               double thr_far, Py_ssize_t pause_row, Py_ssize_t b_from, Py_ssize_t max_stride,
                               Py_ssize_t confirm, Py_ssize_t end) except -2


@cython.locals(i=cython.Py_ssize_t, hit=cython.bint)
cdef bint _blocks(const double[::1] sig, Py_ssize_t r0, Py_ssize_t r1, double v, bint or_equal) except -1


@cython.locals(n=cython.Py_ssize_t, i=cython.Py_ssize_t, k=cython.Py_ssize_t, nan=cython.bint)
cpdef double sign_vote_loop(const double[::1] rate, const double[::1] gn, double fs) except? -2.0


@cython.locals(n=cython.Py_ssize_t, moved=cython.bint, i=cython.Py_ssize_t)
cpdef int stride_fsa(const double[:, ::1] acc, const double[:, :, ::1] rot, double fs, double gravity, double g_tol,
                     double min_stride_m, double gain, bint has_up, double up0, double up1, double up2,
                     bint has_fwd, double fw0, double fw1, double fw2, bint has_cal, double cal0, double cal1,
                     double cal2, bint has_toe, double ca, double sa, double ic_pos, double[:, ::1] att,
                     double[:, ::1] sums, double[::1] summary, double[::1] up_ic, double[::1] out) except -1
