# C declarations for the compiled build of sample_checks.py (see setup.py). Locals that take a C
# double from typed inputs are inferred as such; only integers, flags and values unpacked from Python
# objects are declared.
cimport cython


@cython.locals(n=cython.Py_ssize_t, ng=cython.Py_ssize_t, i=cython.Py_ssize_t, c=cython.Py_ssize_t,
               k=cython.Py_ssize_t)
cpdef Py_ssize_t check_frame(const double[:] t, const double[:, :] acc, const double[:, :] gyr, double prev_t,
                             double gap_dt, double acc_limit, double acc_floor, double gyr_floor, double[::1] state,
                             unsigned char[::1] flags, Py_ssize_t[::1] gaps, unsigned char gap_bit,
                             unsigned char clip_bit) except -2


@cython.locals(n=cython.Py_ssize_t, c=cython.Py_ssize_t, i=cython.Py_ssize_t)
cdef int _clipped(const double[:, :] x, Py_ssize_t col0, double limit, double floor, double[::1] state,
                  unsigned char[::1] flags, unsigned char bit) except -1
