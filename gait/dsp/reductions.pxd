# C declarations for the compiled build of reductions.py (see setup.py). Locals that take a C
# double from typed inputs are inferred as such; only integers, flags and values unpacked from Python
# objects are declared.
cimport cython


@cython.locals(i=cython.Py_ssize_t, j=cython.Py_ssize_t, end8=cython.Py_ssize_t, n2=cython.Py_ssize_t)
cpdef double pairwise_loop(const double[::1] a, Py_ssize_t lo, Py_ssize_t n)

cpdef double pairwise_sum(const double[::1] a, Py_ssize_t lo, Py_ssize_t n)

@cython.locals(i=cython.Py_ssize_t)
cpdef double max_loop(const double[:, ::1] b, Py_ssize_t row, Py_ssize_t r0, Py_ssize_t r1)

cpdef double row_max(const double[:, ::1] b, Py_ssize_t row, Py_ssize_t r0, Py_ssize_t r1)

@cython.locals(n=cython.Py_ssize_t, a=cython.Py_ssize_t, b=cython.Py_ssize_t, i=cython.Py_ssize_t)
cpdef gram_loop(const double[:, ::1] g, double[::1] scratch, double[:, ::1] out)

@cython.locals(i=cython.Py_ssize_t)
cpdef double max_norm_loop(const double[:, ::1] x)

@cython.locals(i=cython.Py_ssize_t)
cpdef dot_norm_loop(const double[:, ::1] x, double v0, double v1, double v2, double[::1] dot, double[::1] norm)

@cython.locals(bits=cython.int, i=cython.Py_ssize_t)
cpdef int or_loop(const unsigned char[::1] flags, Py_ssize_t r0, Py_ssize_t r1)
