/* Sparse (CSR) times dense products for the EM engine: the arithmetic of scipy's
 * csr_matvecs / csc_matvecs, operation for operation, compiled for a fixed row width.
 *
 * Why: scipy's kernels take the number of dense columns K at run time, so their inner
 * loop (K multiply-adds per stored entry) is neither unrolled nor kept in registers.
 * Specialised for each width (here 1..16 and 1..64), the same loop runs about twice as
 * fast.  The values are scipy's bit for bit: every output entry starts at 0.0 and gets
 * `+= a * g` for the stored entries in the same order, with no fused multiply-add
 * (built with -ffp-contract=off) and no reassociation (no -ffast-math).  Vectorising
 * across the K independent outputs does not change any of them.
 *
 *   gather(indptr, indices, data, G, out):  out[i, :] = sum_p data[p] G[indices[p], :]
 *       over the stored entries p of row i (CSR of the left factor)
 *   scatter(indptr, indices, data, G, out): out[indices[p], :] += data[p] G[j, :]
 *       over the stored entries p of row j (CSR of the left factor's transpose); out is
 *       zeroed first
 *
 * indptr and indices int32; data float64, or uint16 for counts below 65536 (converted
 * exactly, and a third of the bytes to read: the products stream the whole matrix from
 * memory every iteration); G and out float64, 2-D, C-contiguous.  These functions check
 * the types and the sizes; the caller (symderive.em.kernels) checks once per matrix that
 * the indices are within its shape.  The GIL is released during a product, so threads
 * run products of different blocks at once.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* An AVX2 copy of every kernel beside the baseline one, chosen when the module loads
 * (GCC's function multi-versioning, which needs the ifunc of glibc).  AVX2 without FMA:
 * the same additions and multiplications, so the same bits as the baseline copy. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__GLIBC__)
#define CLONES __attribute__((target_clones("avx2", "default")))
#else
#define CLONES
#endif

#if defined(__GNUC__)
#define PREFETCH_READ(addr) __builtin_prefetch(addr)
#else
#define PREFETCH_READ(addr) ((void)0)
#endif
#if defined(_MSC_VER)
#define restrict __restrict
#endif

typedef double value_f;
typedef uint16_t value_u;

#define KERNEL_TYPE(V)                                                                  \
    typedef void (*kernel_##V)(int64_t n, const int32_t *restrict ptr,                  \
                               const int32_t *restrict idx, const value_##V *restrict ax, \
                               const double *restrict G, double *restrict out,          \
                               int64_t stride);
KERNEL_TYPE(f)
KERNEL_TYPE(u)

/* W outputs accumulated in registers, one row at a time; the row of G that the entry
 * PREFETCH places ahead will read is requested early (its rows are scattered over a G
 * larger than the L2 cache: 10-15% faster at K = 10) */
#define PREFETCH 16
#define GATHER(W, V)                                                                    \
    CLONES static void gather_##W##_##V(int64_t n, const int32_t *restrict ptr,         \
                                        const int32_t *restrict idx,                    \
                                        const value_##V *restrict ax,                   \
                                        const double *restrict G, double *restrict out, \
                                        int64_t stride) {                               \
        const int64_t nnz = ptr[n];                                                     \
        for (int64_t i = 0; i < n; i++) {                                               \
            double acc[W] = {0.0};                                                      \
            for (int64_t p = ptr[i]; p < ptr[i + 1]; p++) {                             \
                if (p + PREFETCH < nnz) PREFETCH_READ(G + stride * idx[p + PREFETCH]);  \
                const double a = (double)ax[p];                                         \
                const double *g = G + stride * idx[p];                                  \
                for (int k = 0; k < W; k++) acc[k] += a * g[k];                         \
            }                                                                           \
            memcpy(out + stride * i, acc, sizeof acc);                                  \
        }                                                                               \
    }

/* row j of G added (scaled) to the output rows its stored entries name */
#define SCATTER(W, V)                                                                   \
    CLONES static void scatter_##W##_##V(int64_t n, const int32_t *restrict ptr,        \
                                         const int32_t *restrict idx,                   \
                                         const value_##V *restrict ax,                  \
                                         const double *restrict G,                      \
                                         double *restrict out, int64_t stride) {        \
        for (int64_t j = 0; j < n; j++) {                                               \
            double g[W];                                                                \
            memcpy(g, G + stride * j, sizeof g);                                        \
            for (int64_t p = ptr[j]; p < ptr[j + 1]; p++) {                             \
                const double a = (double)ax[p];                                         \
                double *o = out + stride * idx[p];                                      \
                for (int k = 0; k < W; k++) o[k] += a * g[k];                           \
            }                                                                           \
        }                                                                               \
    }

/* the widths with a kernel of their own: X(W) for each (X-macros, so that each list of
 * widths is written once and the kernels and their tables cannot disagree) */
#define GATHER_WIDTHS(X) \
    X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) \
    X(9) X(10) X(11) X(12) X(13) X(14) X(15) X(16)
#define SCATTER_WIDTHS(X) \
    X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) \
    X(9) X(10) X(11) X(12) X(13) X(14) X(15) X(16) \
    X(17) X(18) X(19) X(20) X(21) X(22) X(23) X(24) \
    X(25) X(26) X(27) X(28) X(29) X(30) X(31) X(32) \
    X(33) X(34) X(35) X(36) X(37) X(38) X(39) X(40) \
    X(41) X(42) X(43) X(44) X(45) X(46) X(47) X(48) \
    X(49) X(50) X(51) X(52) X(53) X(54) X(55) X(56) \
    X(57) X(58) X(59) X(60) X(61) X(62) X(63) X(64)

#define GATHER_F(W) GATHER(W, f)
#define GATHER_U(W) GATHER(W, u)
#define SCATTER_F(W) SCATTER(W, f)
#define SCATTER_U(W) SCATTER(W, u)
GATHER_WIDTHS(GATHER_F)
GATHER_WIDTHS(GATHER_U)
SCATTER_WIDTHS(SCATTER_F)
SCATTER_WIDTHS(SCATTER_U)

#define MAX_GATHER 16
#define MAX_SCATTER 64
/* wider products are done in column strips of this width (each strip reads the sparse
 * matrix again; per output entry the order of additions is unchanged) */
#define STRIP 32

#define NAME_GATHER_F(W) gather_##W##_f,
#define NAME_GATHER_U(W) gather_##W##_u,
#define NAME_SCATTER_F(W) scatter_##W##_f,
#define NAME_SCATTER_U(W) scatter_##W##_u,
static const kernel_f GATHERS_f[] = {NULL, GATHER_WIDTHS(NAME_GATHER_F)};
static const kernel_u GATHERS_u[] = {NULL, GATHER_WIDTHS(NAME_GATHER_U)};
static const kernel_f SCATTERS_f[] = {NULL, SCATTER_WIDTHS(NAME_SCATTER_F)};
static const kernel_u SCATTERS_u[] = {NULL, SCATTER_WIDTHS(NAME_SCATTER_U)};
_Static_assert(sizeof GATHERS_f / sizeof *GATHERS_f == MAX_GATHER + 1 &&
               sizeof GATHERS_u / sizeof *GATHERS_u == MAX_GATHER + 1 &&
               sizeof SCATTERS_f / sizeof *SCATTERS_f == MAX_SCATTER + 1 &&
               sizeof SCATTERS_u / sizeof *SCATTERS_u == MAX_SCATTER + 1,
               "a kernel table does not cover the widths up to its maximum");

/* the operands of a product, checked */
typedef struct {
    Py_buffer ptr, idx, ax, G, out;
    int64_t n, K, n_out, n_in;
    int counts; /* data are uint16 */
} Args;

static void release(Args *a) {
    PyBuffer_Release(&a->ptr);
    PyBuffer_Release(&a->idx);
    PyBuffer_Release(&a->ax);
    PyBuffer_Release(&a->G);
    PyBuffer_Release(&a->out);
}

/* a C-contiguous buffer of `ndim` dimensions whose items are one of the struct codes in
 * `codes` (native byte order) and `size` bytes long */
static int get(PyObject *obj, Py_buffer *view, int writable, int ndim, const char *codes,
               Py_ssize_t size, const char *what) {
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT |
                                          (writable ? PyBUF_WRITABLE : 0)) < 0) {
        PyErr_Clear();
        PyErr_Format(PyExc_TypeError, "sparse product: %s must be a %d-D C-contiguous%s "
                     "array of type code %s", what, ndim, writable ? " writable" : "", codes);
        view->obj = NULL;
        return 0;
    }
    const char *f = view->format ? view->format : "B";
    if (*f == '@' || *f == '=') f++;
    if (view->ndim != ndim || view->itemsize != size || f[0] == '\0' || f[1] != '\0' ||
        !strchr(codes, f[0])) {
        PyErr_Format(PyExc_TypeError, "sparse product: %s must be a %d-D C-contiguous "
                     "array of %d-byte items of type code %s, got type code '%s' and %d "
                     "dimensions", what, ndim, (int)size, codes, view->format, view->ndim);
        PyBuffer_Release(view);
        view->obj = NULL;
        return 0;
    }
    return 1;
}

/* n_in: rows of G; n_out: rows of out */
static int parse(PyObject *args, Args *a, int gather) {
    PyObject *ptr_o, *idx_o, *ax_o, *G_o, *out_o;
    memset(a, 0, sizeof *a);
    if (!PyArg_ParseTuple(args, "OOOOO", &ptr_o, &idx_o, &ax_o, &G_o, &out_o)) return 0;
    if (!get(ptr_o, &a->ptr, 0, 1, "il", 4, "indptr") ||
        !get(idx_o, &a->idx, 0, 1, "il", 4, "indices") ||
        !get(G_o, &a->G, 0, 2, "d", 8, "G") || !get(out_o, &a->out, 1, 2, "d", 8, "out")) {
        release(a);
        return 0;
    }
    {   /* float64 values, or uint16 counts */
        Py_buffer probe;
        if (PyObject_GetBuffer(ax_o, &probe, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
            PyErr_Clear();
            PyErr_SetString(PyExc_TypeError, "sparse product: data must be a 1-D "
                                             "C-contiguous array of type code d or H");
            release(a);
            return 0;
        }
        a->counts = probe.itemsize == 2;
        PyBuffer_Release(&probe);
    }
    if (!get(ax_o, &a->ax, 0, 1, a->counts ? "H" : "d", a->counts ? 2 : 8, "data")) {
        release(a);
        return 0;
    }
    const int64_t n_ptr = a->ptr.shape[0], nnz = a->idx.shape[0];
    a->K = a->G.shape[1];
    a->n_in = a->G.shape[0];
    a->n_out = a->out.shape[0];
    a->n = n_ptr - 1;
    if (n_ptr < 1 || a->ax.shape[0] != nnz || a->K < 1 || a->out.shape[1] != a->K) {
        PyErr_SetString(PyExc_ValueError, "sparse product: inconsistent sizes (indptr "
                                          "empty, data and indices of different lengths, "
                                          "or G and out of different widths)");
        release(a);
        return 0;
    }
    const int32_t *ptr = (const int32_t *)a->ptr.buf;
    if (ptr[0] != 0 || ptr[a->n] != nnz || (gather ? a->n_out : a->n_in) != a->n) {
        PyErr_SetString(PyExc_ValueError, "sparse product: the row pointers do not match "
                                          "the stored entries or the dense operands");
        release(a);
        return 0;
    }
    return 1;
}

/* a product of any width: specialised kernels up to `max`, column strips beyond */
#define RUN(TABLE, max, strip)                                                          \
    do {                                                                                \
        if (K <= (max)) {                                                               \
            TABLE[K](n, ptr, idx, ax, G, out, K);                                       \
        } else {                                                                        \
            for (int64_t c = 0; c < K; c += (strip)) {                                  \
                const int64_t w = K - c < (strip) ? K - c : (strip);                    \
                TABLE[w](n, ptr, idx, ax, G + c, out + c, K);                           \
            }                                                                           \
        }                                                                               \
    } while (0)

static PyObject *product(PyObject *args, int gather) {
    Args a;
    if (!parse(args, &a, gather)) return NULL;
    const int32_t *ptr = a.ptr.buf, *idx = a.idx.buf;
    const double *G = a.G.buf;
    double *out = a.out.buf;
    const int64_t K = a.K, n = a.n;
    Py_BEGIN_ALLOW_THREADS
    if (!gather) memset(out, 0, (size_t)(a.n_out * K) * sizeof(double));
    if (a.counts) {
        const value_u *ax = a.ax.buf;
        if (gather) RUN(GATHERS_u, MAX_GATHER, MAX_GATHER);
        else RUN(SCATTERS_u, MAX_SCATTER, STRIP);
    } else {
        const value_f *ax = a.ax.buf;
        if (gather) RUN(GATHERS_f, MAX_GATHER, MAX_GATHER);
        else RUN(SCATTERS_f, MAX_SCATTER, STRIP);
    }
    Py_END_ALLOW_THREADS
    release(&a);
    Py_RETURN_NONE;
}

static PyObject *py_gather(PyObject *self, PyObject *args) { return product(args, 1); }
static PyObject *py_scatter(PyObject *self, PyObject *args) { return product(args, 0); }

static PyMethodDef methods[] = {
    {"gather", py_gather, METH_VARARGS,
     "gather(indptr, indices, data, G, out): out[i] = sum_p data[p] G[indices[p]] over "
     "the stored entries p of row i of a CSR matrix."},
    {"scatter", py_scatter, METH_VARARGS,
     "scatter(indptr, indices, data, G, out): out = 0, then out[indices[p]] += "
     "data[p] G[j] over the stored entries p of each row j of a CSR matrix (the product "
     "by its transpose)."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_sparse",
    "Sparse times dense products specialised by row width (scipy's arithmetic, faster).",
    -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__sparse(void) { return PyModule_Create(&module); }
