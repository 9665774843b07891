# C declarations for the compiled build of body_axes.py (see setup.py).
cimport cython


@cython.locals(n=cython.Py_ssize_t, i=cython.Py_ssize_t, c=cython.Py_ssize_t, k=cython.Py_ssize_t,
               ns=cython.Py_ssize_t, r0=cython.double, r1=cython.double, r2=cython.double,
               lb0=cython.double, lb1=cython.double, lb2=cython.double, la1=cython.double, la2=cython.double,
               pb0=cython.double, pb1=cython.double, pb2=cython.double, pa1=cython.double, pa2=cython.double,
               a0=cython.double, a1=cython.double, a2=cython.double, w0=cython.double, w1=cython.double,
               w2=cython.double, t=cython.double, x=cython.double, y=cython.double,
               d0=cython.double, d1=cython.double, d2=cython.double, u0=cython.double, u1=cython.double,
               u2=cython.double, m0=cython.double, m1=cython.double, m2=cython.double, v0=cython.double,
               v1=cython.double, v2=cython.double, nv=cython.double, nu=cython.double, fvert=cython.double,
               acc_v=cython.double, h0=cython.double, h1=cython.double, h2=cython.double, dav=cython.double,
               f0=cython.double, f1=cython.double, f2=cython.double, fu=cython.double, cn=cython.double,
               nf=cython.double, power2=cython.double, b0=cython.double, b1=cython.double, b2=cython.double,
               e0=cython.double, e1=cython.double, e2=cython.double, de=cython.double, ne=cython.double,
               l0=cython.double, l1=cython.double, l2=cython.double, rf=cython.double, ru=cython.double,
               fv=cython.double, q=cython.double)
cpdef double body_axes(const double[:, :] acc, const double[:, :] gyr, const double[:, ::1] sos,
                       const double[:, ::1] leak_sos, const double[:, ::1] ap_sos, double[:, :, ::1] g_zi,
                       double[:, :, ::1] th_zi, double[:, :, ::1] leak_zi, double[:, :, ::1] ap_zi, double prev_av,
                       double fs, double gravity, tuple ref, double min_corr2, double[:, ::1] out,
                       unsigned char[::1] unknown, double[::1] tmp) except? -1.0
