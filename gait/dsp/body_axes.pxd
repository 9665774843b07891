# C declarations for the compiled build of body_axes.py (see setup.py). Locals that take a C
# double from typed inputs are inferred as such; only integers, flags and values unpacked from Python
# objects are declared.
cimport cython


@cython.locals(n=cython.Py_ssize_t, i=cython.Py_ssize_t, c=cython.Py_ssize_t, k=cython.Py_ssize_t,
               ns=cython.Py_ssize_t, r0=cython.double, r1=cython.double, r2=cython.double)
cpdef double body_axes(const double[:, :] acc, const double[:, :] gyr, const double[:, ::1] sos,
                       const double[:, ::1] leak_sos, const double[:, ::1] ap_sos, double[:, :, ::1] g_zi,
                       double[:, :, ::1] th_zi, double[:, :, ::1] leak_zi, double[:, :, ::1] ap_zi, double prev_av,
                       double fs, double gravity, tuple ref, double min_corr2, double[:, ::1] out,
                       unsigned char[::1] unknown, double[::1] tmp) except? -1.0
