# C declarations for the compiled build of vertical.py (see setup.py): the chain kernel
# `_vo_chain` and its helpers on C doubles. vertical.py stays plain Python.
cimport cython

from gait.dsp.reductions cimport pairwise_loop


@cython.locals(best_i=cython.Py_ssize_t, best=cython.double, i=cython.Py_ssize_t, t=cython.double,
               y=cython.double, y0=cython.double, y2=cython.double, den=cython.double, d=cython.double)
cdef double _extreme_at(const double[::1] z, Py_ssize_t lo, Py_ssize_t hi, double c1, double c2, double dt,
                        double t0, bint highest)


@cython.locals(c=cython.Py_ssize_t, piv=cython.Py_ssize_t, r=cython.Py_ssize_t, j=cython.Py_ssize_t,
               best=cython.double, v=cython.double, f=cython.double, acc=cython.double)
cdef bint _solve4(double[::1] m) except -1


@cython.locals(t0=cython.double, s00=cython.double, s01=cython.double, s02=cython.double, s03=cython.double,
               s11=cython.double, s12=cython.double, s13=cython.double, s22=cython.double, s23=cython.double,
               s33=cython.double, b0=cython.double, b1=cython.double, b2=cython.double, b3=cython.double,
               k=cython.Py_ssize_t, pos=cython.double, t=cython.double, tt=cython.double, e=cython.double,
               o=cython.double, i=cython.Py_ssize_t, zi=cython.double, y=cython.double)
cdef int _normal_equations(const double[::1] z, Py_ssize_t last, list ic_pos, double dt, double[::1] m) except -1


@cython.locals(m=cython.double[::1], n=cython.Py_ssize_t, dt=cython.double, h=cython.double, mean=cython.double,
               v_prev=cython.double, a_prev=cython.double, z_prev=cython.double, i=cython.Py_ssize_t,
               a_i=cython.double, w=cython.double, v=cython.double, ww=cython.double, zz=cython.double,
               t0=cython.double, c1=cython.double, c2=cython.double, lo=cython.Py_ssize_t, hi=cython.Py_ssize_t,
               top=cython.double, bottom=cython.double)
cpdef double _vo_chain(const double[::1] a, double[::1] z, double fs, list ic_pos)
