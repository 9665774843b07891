# C declarations for the compiled build of csv_numbers.py (see setup.py). Locals that take a C
# double from typed inputs are inferred as such; only integers, flags and values unpacked from Python
# objects are declared.
cimport cython


@cython.locals(n=cython.Py_ssize_t, ncols=cython.Py_ssize_t, cap=cython.Py_ssize_t, i=cython.Py_ssize_t,
               row=cython.Py_ssize_t, j=cython.Py_ssize_t, k=cython.Py_ssize_t, e=cython.Py_ssize_t,
               edigits=cython.Py_ssize_t, seen=cython.Py_ssize_t, _=cython.Py_ssize_t, last_k=cython.Py_ssize_t,
               m=cython.ulonglong, c=cython.int, neg=cython.bint, eneg=cython.bint)
cpdef Py_ssize_t parse_table(const unsigned char[::1] data, Py_ssize_t start, const long long[::1] offsets,
                             const long long[::1] strides, Py_ssize_t cap, double[::1] out) except? -3
