# C declarations for the compiled build of rotation_chains.py (see setup.py).
cimport cython


@cython.locals(t=cython.Py_ssize_t,
               c00=cython.double, c01=cython.double, c02=cython.double, c10=cython.double, c11=cython.double,
               c12=cython.double, c20=cython.double, c21=cython.double, c22=cython.double,
               r00=cython.double, r01=cython.double, r02=cython.double, r10=cython.double, r11=cython.double,
               r12=cython.double, r20=cython.double, r21=cython.double, r22=cython.double)
cpdef attitudes(const double[:, :, ::1] rot, Py_ssize_t m, double[:, ::1] out)


@cython.locals(n=cython.Py_ssize_t, t=cython.Py_ssize_t, k=cython.Py_ssize_t, s0x=cython.double, s0y=cython.double,
               s0z=cython.double, s1x=cython.double, s1y=cython.double, s1z=cython.double, vx=cython.double,
               vy=cython.double, vz=cython.double, x=cython.double, y=cython.double, z=cython.double, w=cython.double)
cpdef chain_sums(const double[:, ::1] att, const double[:, ::1] vec, double[:, ::1] out)


@cython.locals(ax=cython.double, ay=cython.double, az=cython.double, bx=cython.double, by=cython.double,
               bz=cython.double, g=cython.double, x=cython.double, y=cython.double, z=cython.double,
               nrm=cython.double)
cpdef chain_up(const double[:, ::1] att, const double[:, :, ::1] rot, Py_ssize_t i, double up0x, double up0y,
               double up0z, double fr, double[::1] out)


@cython.locals(m=cython.Py_ssize_t, t=cython.Py_ssize_t, j=cython.Py_ssize_t, d2r=cython.double,
               ux=cython.double, uy=cython.double, uz=cython.double, fx=cython.double, fy=cython.double,
               fz=cython.double, gx=cython.double, gy=cython.double, gz=cython.double,
               c00=cython.double, c01=cython.double, c02=cython.double, c10=cython.double, c11=cython.double,
               c12=cython.double, c20=cython.double, c21=cython.double, c22=cython.double,
               vx=cython.double, vy=cython.double, vz=cython.double, px=cython.double, py=cython.double,
               pz=cython.double, half=cython.double, ax=cython.double, ay=cython.double, az=cython.double,
               wx=cython.double, wy=cython.double, wz=cython.double, bx=cython.double, by=cython.double,
               bz=cython.double, cx=cython.double, cy=cython.double, cz=cython.double, qx=cython.double,
               qy=cython.double, qz=cython.double, a11=cython.double, a12=cython.double, a22=cython.double,
               b1=cython.double, b2=cython.double, f=cython.double, u=cython.double, v=cython.double,
               det=cython.double, x=cython.double, z=cython.double, sx=cython.double, sy=cython.double,
               sz=cython.double)
cpdef tuple pivot_chain(const double[:, ::1] acc, const double[:, ::1] gyr, const double[:, :, ::1] rot, double fs,
                        double gravity, tuple up, tuple fwd, Py_ssize_t k0, Py_ssize_t k1, double[:, ::1] att,
                        double[:, ::1] scratch, double[::1] speed)


@cython.locals(n=cython.Py_ssize_t, k=cython.Py_ssize_t, x0=cython.double, x1=cython.double, x2=cython.double,
               l0=cython.double, l1=cython.double, l2=cython.double,
               c00=cython.double, c01=cython.double, c02=cython.double, c10=cython.double, c11=cython.double,
               c12=cython.double, c20=cython.double, c21=cython.double, c22=cython.double,
               i0=cython.double, i1=cython.double, i2=cython.double, span=cython.double, m0=cython.double,
               m1=cython.double, m2=cython.double, nf=cython.double, u0=cython.double, u1=cython.double,
               u2=cython.double, half=cython.double, w=cython.double, d0=cython.double, d1=cython.double,
               d2=cython.double, du=cython.double, h0=cython.double, h1=cython.double, h2=cython.double,
               stride_m=cython.double, t0=cython.double, t1=cython.double, t2=cython.double)
cpdef bint stride_summary(const double[:, ::1] sums, const double[:, ::1] acc, double fs, double gravity,
                          double[::1] out) except -1


@cython.locals(a00=cython.double, a01=cython.double, a02=cython.double, a11=cython.double, a12=cython.double,
               a22=cython.double, p1=cython.double, q=cython.double, b00=cython.double, b11=cython.double,
               b22=cython.double, p2=cython.double, found=cython.bint, ex=cython.double, ey=cython.double,
               ez=cython.double, p=cython.double, det=cython.double, r=cython.double, lam=cython.double,
               d0=cython.double, d1=cython.double, d2=cython.double, best=cython.double, x=cython.double,
               y=cython.double, z=cython.double, nn=cython.double, ne=cython.double, big=cython.double)
cpdef principal_axis(const double[:, ::1] cov, previous=*)


@cython.locals(k=cython.double, t=cython.Py_ssize_t, r0=cython.double, r1=cython.double, r2=cython.double,
               th=cython.double, d=cython.double, u0=cython.double, u1=cython.double, u2=cython.double,
               sn=cython.double, cs=cython.double, c1=cython.double, v0=cython.double, v1=cython.double,
               v2=cython.double, s0=cython.double, s1=cython.double, s2=cython.double)
cpdef step_rotations_loop(const double[:, ::1] gyr, double fs, double[:, :, ::1] out)
