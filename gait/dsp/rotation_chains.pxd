# C declarations for the compiled build of rotation_chains.py (see setup.py). Locals that take a C
# double from typed inputs are inferred as such; only integers, flags and values unpacked from Python
# objects are declared.
cimport cython


@cython.locals(t=cython.Py_ssize_t)
cpdef attitudes(const double[:, :, ::1] rot, Py_ssize_t m, double[:, ::1] out)


@cython.locals(n=cython.Py_ssize_t, t=cython.Py_ssize_t, k=cython.Py_ssize_t)
cpdef chain_sums(const double[:, ::1] att, const double[:, ::1] vec, double[:, ::1] out)


cpdef chain_up(const double[:, ::1] att, const double[:, :, ::1] rot, Py_ssize_t i, double up0x, double up0y,
               double up0z, double fr, double[::1] out)


@cython.locals(m=cython.Py_ssize_t, t=cython.Py_ssize_t, j=cython.Py_ssize_t, ux=cython.double, uy=cython.double,
               uz=cython.double, fx=cython.double, fy=cython.double, fz=cython.double)
cpdef tuple pivot_chain(const double[:, ::1] acc, const double[:, ::1] gyr, const double[:, :, ::1] rot, double fs,
                        double gravity, tuple up, tuple fwd, Py_ssize_t k0, Py_ssize_t k1, double[:, ::1] att,
                        double[:, ::1] scratch, double[::1] speed)


@cython.locals(n=cython.Py_ssize_t, k=cython.Py_ssize_t)
cpdef bint stride_summary(const double[:, ::1] sums, const double[:, ::1] acc, double fs, double gravity,
                          double[::1] out) except -1


@cython.locals(found=cython.bint, ex=cython.double, ey=cython.double, ez=cython.double)
cpdef principal_axis(const double[:, ::1] cov, previous=*)


@cython.locals(t=cython.Py_ssize_t)
cpdef step_rotations_loop(const double[:, ::1] gyr, double fs, double[:, :, ::1] out)
