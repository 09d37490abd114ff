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

GATHER(1, f) GATHER(2, f) GATHER(3, f) GATHER(4, f) GATHER(5, f) GATHER(6, f) GATHER(7, f) GATHER(8, f) GATHER(9, f) GATHER(10, f) GATHER(11, f) GATHER(12, f) GATHER(13, f) GATHER(14, f) GATHER(15, f) GATHER(16, f)
GATHER(1, u) GATHER(2, u) GATHER(3, u) GATHER(4, u) GATHER(5, u) GATHER(6, u) GATHER(7, u) GATHER(8, u) GATHER(9, u) GATHER(10, u) GATHER(11, u) GATHER(12, u) GATHER(13, u) GATHER(14, u) GATHER(15, u) GATHER(16, u)

SCATTER(1, f) SCATTER(2, f) SCATTER(3, f) SCATTER(4, f) SCATTER(5, f) SCATTER(6, f)
SCATTER(7, f) SCATTER(8, f) SCATTER(9, f) SCATTER(10, f) SCATTER(11, f) SCATTER(12, f)
SCATTER(13, f) SCATTER(14, f) SCATTER(15, f) SCATTER(16, f) SCATTER(17, f) SCATTER(18, f)
SCATTER(19, f) SCATTER(20, f) SCATTER(21, f) SCATTER(22, f) SCATTER(23, f) SCATTER(24, f)
SCATTER(25, f) SCATTER(26, f) SCATTER(27, f) SCATTER(28, f) SCATTER(29, f) SCATTER(30, f)
SCATTER(31, f) SCATTER(32, f) SCATTER(33, f) SCATTER(34, f) SCATTER(35, f) SCATTER(36, f)
SCATTER(37, f) SCATTER(38, f) SCATTER(39, f) SCATTER(40, f) SCATTER(41, f) SCATTER(42, f)
SCATTER(43, f) SCATTER(44, f) SCATTER(45, f) SCATTER(46, f) SCATTER(47, f) SCATTER(48, f)
SCATTER(49, f) SCATTER(50, f) SCATTER(51, f) SCATTER(52, f) SCATTER(53, f) SCATTER(54, f)
SCATTER(55, f) SCATTER(56, f) SCATTER(57, f) SCATTER(58, f) SCATTER(59, f) SCATTER(60, f)
SCATTER(61, f) SCATTER(62, f) SCATTER(63, f) SCATTER(64, f)
SCATTER(1, u) SCATTER(2, u) SCATTER(3, u) SCATTER(4, u) SCATTER(5, u) SCATTER(6, u)
SCATTER(7, u) SCATTER(8, u) SCATTER(9, u) SCATTER(10, u) SCATTER(11, u) SCATTER(12, u)
SCATTER(13, u) SCATTER(14, u) SCATTER(15, u) SCATTER(16, u) SCATTER(17, u) SCATTER(18, u)
SCATTER(19, u) SCATTER(20, u) SCATTER(21, u) SCATTER(22, u) SCATTER(23, u) SCATTER(24, u)
SCATTER(25, u) SCATTER(26, u) SCATTER(27, u) SCATTER(28, u) SCATTER(29, u) SCATTER(30, u)
SCATTER(31, u) SCATTER(32, u) SCATTER(33, u) SCATTER(34, u) SCATTER(35, u) SCATTER(36, u)
SCATTER(37, u) SCATTER(38, u) SCATTER(39, u) SCATTER(40, u) SCATTER(41, u) SCATTER(42, u)
SCATTER(43, u) SCATTER(44, u) SCATTER(45, u) SCATTER(46, u) SCATTER(47, u) SCATTER(48, u)
SCATTER(49, u) SCATTER(50, u) SCATTER(51, u) SCATTER(52, u) SCATTER(53, u) SCATTER(54, u)
SCATTER(55, u) SCATTER(56, u) SCATTER(57, u) SCATTER(58, u) SCATTER(59, u) SCATTER(60, u)
SCATTER(61, u) SCATTER(62, u) SCATTER(63, u) SCATTER(64, u)

#define MAX_GATHER 16
#define MAX_SCATTER 64
/* wider products are done in column strips of this width (each strip reads the sparse
 * matrix again; per output entry the order of additions is unchanged) */
#define STRIP 32

static const kernel_f GATHERS_f[MAX_GATHER + 1] = {
    NULL, gather_1_f, gather_2_f, gather_3_f, gather_4_f, gather_5_f,
    gather_6_f, gather_7_f, gather_8_f, gather_9_f, gather_10_f, gather_11_f,
    gather_12_f, gather_13_f, gather_14_f, gather_15_f, gather_16_f};
static const kernel_u GATHERS_u[MAX_GATHER + 1] = {
    NULL, gather_1_u, gather_2_u, gather_3_u, gather_4_u, gather_5_u,
    gather_6_u, gather_7_u, gather_8_u, gather_9_u, gather_10_u, gather_11_u,
    gather_12_u, gather_13_u, gather_14_u, gather_15_u, gather_16_u};
static const kernel_f SCATTERS_f[MAX_SCATTER + 1] = {
    NULL, scatter_1_f, scatter_2_f, scatter_3_f, scatter_4_f,
    scatter_5_f, scatter_6_f, scatter_7_f, scatter_8_f, scatter_9_f,
    scatter_10_f, scatter_11_f, scatter_12_f, scatter_13_f, scatter_14_f,
    scatter_15_f, scatter_16_f, scatter_17_f, scatter_18_f, scatter_19_f,
    scatter_20_f, scatter_21_f, scatter_22_f, scatter_23_f, scatter_24_f,
    scatter_25_f, scatter_26_f, scatter_27_f, scatter_28_f, scatter_29_f,
    scatter_30_f, scatter_31_f, scatter_32_f, scatter_33_f, scatter_34_f,
    scatter_35_f, scatter_36_f, scatter_37_f, scatter_38_f, scatter_39_f,
    scatter_40_f, scatter_41_f, scatter_42_f, scatter_43_f, scatter_44_f,
    scatter_45_f, scatter_46_f, scatter_47_f, scatter_48_f, scatter_49_f,
    scatter_50_f, scatter_51_f, scatter_52_f, scatter_53_f, scatter_54_f,
    scatter_55_f, scatter_56_f, scatter_57_f, scatter_58_f, scatter_59_f,
    scatter_60_f, scatter_61_f, scatter_62_f, scatter_63_f, scatter_64_f};
static const kernel_u SCATTERS_u[MAX_SCATTER + 1] = {
    NULL, scatter_1_u, scatter_2_u, scatter_3_u, scatter_4_u,
    scatter_5_u, scatter_6_u, scatter_7_u, scatter_8_u, scatter_9_u,
    scatter_10_u, scatter_11_u, scatter_12_u, scatter_13_u, scatter_14_u,
    scatter_15_u, scatter_16_u, scatter_17_u, scatter_18_u, scatter_19_u,
    scatter_20_u, scatter_21_u, scatter_22_u, scatter_23_u, scatter_24_u,
    scatter_25_u, scatter_26_u, scatter_27_u, scatter_28_u, scatter_29_u,
    scatter_30_u, scatter_31_u, scatter_32_u, scatter_33_u, scatter_34_u,
    scatter_35_u, scatter_36_u, scatter_37_u, scatter_38_u, scatter_39_u,
    scatter_40_u, scatter_41_u, scatter_42_u, scatter_43_u, scatter_44_u,
    scatter_45_u, scatter_46_u, scatter_47_u, scatter_48_u, scatter_49_u,
    scatter_50_u, scatter_51_u, scatter_52_u, scatter_53_u, scatter_54_u,
    scatter_55_u, scatter_56_u, scatter_57_u, scatter_58_u, scatter_59_u,
    scatter_60_u, scatter_61_u, scatter_62_u, scatter_63_u, scatter_64_u};

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
