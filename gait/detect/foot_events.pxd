# C declarations for the compiled build of foot_events.py (see setup.py).
cimport cython

from gait.dsp.reductions cimport pairwise_loop
from gait.dsp.rotation_chains cimport attitudes, chain_sums, chain_up, stride_summary


@cython.locals(den=cython.double, off=cython.double)
cpdef double parabolic(double y0, double y1, double y2)


@cython.locals(tmin=cython.double, dip=cython.double, dmin=cython.double, deep=cython.double, i=cython.Py_ssize_t,
               a=cython.Py_ssize_t, b=cython.Py_ssize_t, j=cython.Py_ssize_t, r0=cython.Py_ssize_t)
cpdef push_off(const double[::1] rate, Py_ssize_t lo, Py_ssize_t m, double deep_fraction, double dip_fraction,
               double[::1] out)


@cython.locals(n=cython.Py_ssize_t, i=cython.Py_ssize_t, lo_ff=cython.Py_ssize_t, hi_ff=cython.Py_ssize_t,
               s=cython.double, k_hi=cython.Py_ssize_t, k_lo=cython.Py_ssize_t, mid=cython.double,
               last=cython.Py_ssize_t, ff_i=cython.Py_ssize_t, ic_i=cython.Py_ssize_t, top=cython.double,
               ic_pos=cython.double, zc=cython.Py_ssize_t, slap_deg=cython.double, w=cython.double,
               level=cython.double, k=cython.Py_ssize_t, sk=cython.double, sk1=cython.double, den=cython.double,
               cross=cython.double, m=cython.Py_ssize_t, tmin=cython.double, j=cython.Py_ssize_t,
               to_i=cython.Py_ssize_t)
cpdef int cycle_events(const double[::1] rate, const double[::1] gn, double[::1] theta, int edge, Py_ssize_t ff_half,
                       double edge_min_swing, double fs, double slap_min_deg, double slap_max_deg,
                       double ic_slap_fraction, double deep_fraction, double dip_fraction, double[::1] out) except -1


@cython.locals(p=cython.Py_ssize_t, v=cython.double, b0=cython.Py_ssize_t, f1=cython.Py_ssize_t)
cpdef Py_ssize_t find_midswing(const double[::1] sig, Py_ssize_t q0, Py_ssize_t q1, double floor, double thr_near,
                               double thr_far, Py_ssize_t pause_row, Py_ssize_t b_from, Py_ssize_t max_stride,
                               Py_ssize_t confirm, Py_ssize_t end) except -2


@cython.locals(i=cython.Py_ssize_t, x=cython.double, hit=cython.bint)
cdef bint _blocks(const double[::1] sig, Py_ssize_t r0, Py_ssize_t r1, double v, bint or_equal) except -1


@cython.locals(n=cython.Py_ssize_t, i=cython.Py_ssize_t, k=cython.Py_ssize_t, mean=cython.double, s=cython.double,
               ref=cython.double, lo=cython.double, hi=cython.double, nan=cython.bint, down=cython.double,
               up=cython.double, total=cython.double)
cpdef double sign_vote_loop(const double[::1] rate, const double[::1] gn, double fs) except? -2.0


@cython.locals(n=cython.Py_ssize_t, moved=cython.bint, k=cython.double, a0=cython.double, a1=cython.double,
               a2=cython.double, x=cython.double, y=cython.double, z=cython.double, nn=cython.double,
               f0=cython.double, f1=cython.double, f2=cython.double, r0=cython.double, r1=cython.double,
               r2=cython.double, d=cython.double, h0=cython.double, h1=cython.double, h2=cython.double,
               i=cython.Py_ssize_t, fr=cython.double, e=cython.double)
cpdef int stride_fsa(const double[:, ::1] acc, const double[:, :, ::1] rot, double fs, double gravity, double g_tol,
                     double min_stride_m, double gain, bint has_up, double up0, double up1, double up2,
                     bint has_fwd, double fw0, double fw1, double fw2, bint has_cal, double cal0, double cal1,
                     double cal2, bint has_toe, double ca, double sa, double ic_pos, double[:, ::1] att,
                     double[:, ::1] sums, double[::1] summary, double[::1] up_ic, double[::1] out) except -1
