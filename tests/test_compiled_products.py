"""The compiled sparse products (``symderive/em/_sparse.c``) against scipy's kernels.

They must give scipy's values bit for bit (the same multiply-adds in the same order), so
a fit gives the same numbers with or without the extension.  Integer operands make every
product exact, so a lost, doubled, misplaced or transposed term cannot hide in rounding;
random floats and special values (-inf, NaN, subnormals, -0.0) check the rounding.

Where the extension was not built (no C compiler at install) the tests of the compiled
module are skipped, except where ``$SYMDERIVE_REQUIRE_COMPILED`` or ``$CI`` is set
(``.ci/run`` builds it and must test it): there a missing extension fails.
"""

from __future__ import annotations

import os
import platform

import numpy as np
import pytest
import scipy.sparse as sps

from symderive.em import kernels
from symderive.em.kernels import SparseData, compiled_products

BUILT = kernels._COMPILED is not None
REQUIRED = bool(os.environ.get("SYMDERIVE_REQUIRE_COMPILED") or os.environ.get("CI"))
needs_built = pytest.mark.skipif(not BUILT and not REQUIRED,
                                 reason="symderive.em._sparse was not built (no C compiler)")
#: scipy's wheels for x86-64 are built without fused multiply-adds, as the extension is;
#: elsewhere scipy's own kernel may contract a * g + acc, so only closeness is asserted
X86 = platform.machine().lower() in ("x86_64", "amd64")

WIDTHS = [1, 2, 3, 7, 8, 10, 15, 16, 17, 20, 31, 32, 33, 50, 63, 64, 65, 100, 130]


def counts(rows: int, cols: int, density: float, seed: int) -> sps.csr_matrix:
    rng = np.random.default_rng(seed)
    A = sps.random(rows, cols, density=density, format="csr", random_state=rng)
    A.data = np.floor(A.data * 7) + 1
    A = kernels.as_counts(A)
    if rows > 3:  # a long row (longer than the kernels' prefetch distance) and an empty one
        A = A.tolil()
        A[1, :] = 0
        A[2, : min(cols, 60)] = 3
        A = kernels.as_counts(A.tocsr())
    return A


def scipy_product(data: SparseData, which: str, G: np.ndarray) -> np.ndarray:
    return np.asarray(data.csc_view(which) @ G)


def both(data: SparseData, which: str, G: np.ndarray, monkeypatch) -> tuple:
    """(compiled, scipy) values of one product through ``SparseData.product``."""
    rows, _ = data.shape if which == "dot" else data.shape[::-1]
    fast = data.product(which, G, np.empty((rows, G.shape[1])))
    monkeypatch.setenv("SYMDERIVE_EM_COMPILED", "0")
    slow = data.product(which, G, np.empty((rows, G.shape[1])))
    monkeypatch.delenv("SYMDERIVE_EM_COMPILED")
    return fast, slow


@needs_built
def test_extension_is_built_and_used():
    assert BUILT, "symderive.em._sparse is missing: pip install needs a C compiler"
    assert compiled_products()


@needs_built
@pytest.mark.parametrize("K", WIDTHS)
@pytest.mark.parametrize("which", ["dot", "tdot"])
def test_integer_products_are_exact(K, which, monkeypatch):
    """Integer operands: every product is exact, compared with an independent dense
    product (a term lost, doubled or put in the wrong place changes the integers)."""
    A = counts(37, 23, 0.3, seed=K)
    data = SparseData(A, threads=1)
    rng = np.random.default_rng(100 + K)
    G = rng.integers(-9, 10, size=(A.shape[1] if which == "dot" else A.shape[0], K))
    G = G.astype(np.float64)
    dense = A.toarray()
    expected = dense @ G if which == "dot" else dense.T @ G
    fast, slow = both(data, which, G, monkeypatch)
    np.testing.assert_array_equal(fast, expected)
    np.testing.assert_array_equal(slow, expected)


@needs_built
@pytest.mark.parametrize("K", WIDTHS)
@pytest.mark.parametrize("which", ["dot", "tdot"])
def test_float_products_are_scipys_bits(K, which, monkeypatch):
    A = counts(120, 90, 0.08, seed=7 * K)
    data = SparseData(A, threads=1)
    rng = np.random.default_rng(K)
    G = rng.standard_normal((A.shape[1] if which == "dot" else A.shape[0], K)) * 1e3
    G[::7, 0] = -np.inf  # log 0
    G[3, -1] = np.nan
    G[5, :] = 5e-324  # subnormal: products 0 or tiny
    G[6, :] = -0.0
    fast, slow = both(data, which, G, monkeypatch)
    assert np.array_equal(fast, scipy_product(data, which, G), equal_nan=True) or not X86
    if X86:
        np.testing.assert_array_equal(fast, slow)
    else:
        np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=0)


@needs_built
@pytest.mark.parametrize("which", ["dot", "tdot"])
def test_threads_and_blocks_give_the_same_bits(which, monkeypatch):
    """Big enough to be cut into blocks and run on two threads (the engine's path)."""
    A = counts(6000, 3000, 0.01, seed=3)
    monkeypatch.setattr(SparseData, "BLOCK_NNZ", 1 << 13)
    K = 20
    G = np.random.default_rng(1).random((A.shape[1] if which == "dot" else A.shape[0], K))
    one, two = SparseData(A, threads=1), SparseData(A, threads=2)
    assert A.nnz * K >= kernels._PARALLEL_WORK and len(two.blocks(0)) > 2
    f = (lambda d: d.dot(G)) if which == "dot" else (lambda d: d.tdot(G))
    serial, parallel = f(one), f(two)
    np.testing.assert_array_equal(serial, parallel)
    monkeypatch.setenv("SYMDERIVE_EM_COMPILED", "0")
    np.testing.assert_array_equal(parallel, f(SparseData(A, threads=2)))


@needs_built
def test_empty_matrix_and_empty_rows(monkeypatch):
    for shape in [(0, 5), (5, 0), (4, 6)]:
        data = SparseData(kernels.as_counts(sps.csr_matrix(shape)), threads=1)
        for which, rows, cols in [("dot", shape[0], shape[1]), ("tdot", shape[1], shape[0])]:
            for K in (3, 40):
                fast, slow = both(data, which, np.ones((cols, K)), monkeypatch)
                np.testing.assert_array_equal(fast, np.zeros((rows, K)))
                np.testing.assert_array_equal(slow, fast)


@needs_built
def test_kernel_checks_the_buffers():
    """The C functions refuse operands whose types or sizes do not fit, instead of
    reading or writing past them."""
    from symderive.em import _sparse

    A = counts(8, 6, 0.5, seed=0)
    ptr, idx, val = A.indptr, A.indices, A.data
    G, out = np.ones((6, 4)), np.empty((8, 4))
    _sparse.gather(ptr, idx, val, G, out)
    np.testing.assert_array_equal(out, A @ G)
    with pytest.raises(ValueError, match="inconsistent sizes"):
        _sparse.gather(ptr, idx, val[:-1], G, out)  # values and indices differ
    with pytest.raises(ValueError, match="inconsistent sizes"):
        _sparse.gather(ptr, idx, val, G, np.empty((8, 5)))  # G and out differ in width
    with pytest.raises(ValueError, match="row pointers"):
        _sparse.gather(ptr, idx, val, G, np.empty((7, 4)))  # out has 7 rows, not 8
    with pytest.raises(ValueError, match="row pointers"):
        _sparse.gather(ptr[:-1], idx, val, G, out)  # pointers end before the entries
    with pytest.raises(ValueError, match="row pointers"):
        _sparse.scatter(ptr, idx, val, np.ones((7, 4)), np.empty((6, 4)))  # G: 7 rows
    with pytest.raises(ValueError, match="inconsistent sizes"):
        _sparse.scatter(ptr, idx, val, np.ones((8, 0)), np.empty((6, 0)))  # no columns
    with pytest.raises(TypeError, match="indices must be a 1-D C-contiguous array of 4-byte"):
        _sparse.gather(ptr, idx.astype(np.int64), val, G, out)
    with pytest.raises(TypeError, match="data must be"):
        _sparse.gather(ptr, idx, val.astype(np.float32), G, out)
    with pytest.raises(TypeError, match="G must be a 2-D"):
        _sparse.gather(ptr, idx, val, np.ones(24), out)
    with pytest.raises(TypeError, match="out must be a 2-D C-contiguous"):
        _sparse.gather(ptr, idx, val, G, np.empty((4, 8)).T)  # not contiguous
    read_only = np.empty((8, 4))
    read_only.flags.writeable = False
    with pytest.raises(TypeError, match="out must be a 2-D C-contiguous writable"):
        _sparse.gather(ptr, idx, val, G, read_only)


@needs_built
@pytest.mark.parametrize("K", [3, 10, 40])
def test_counts_are_read_as_uint16_with_the_same_bits(K, monkeypatch):
    """Whole counts below 65536 go to the kernels as uint16 (exact); anything else, a
    count of 70000 or a non-integer value (an elementwise map of the counts), as float64;
    every case gives scipy's values."""
    A = counts(60, 40, 0.2, seed=K)
    rng = np.random.default_rng(K)
    for data_values, dtype in [(A.data, np.uint16), (A.data * 70000, np.float64),
                               (A.data + 0.5, np.float64), (A.data * 0 + 65535, np.uint16)]:
        M = sps.csr_matrix((data_values, A.indices, A.indptr), shape=A.shape)
        data = SparseData(M, threads=1)
        gather = K <= kernels.GATHER_MAX_K
        form = data.csr if gather else data.transposed
        assert data._kernel_values(form).dtype == dtype
        G = rng.standard_normal((40, K))
        fast, slow = both(data, "dot", G, monkeypatch)
        np.testing.assert_array_equal(fast, slow)
        np.testing.assert_array_equal(fast, scipy_product(data, "dot", G))


@pytest.mark.parametrize("bad", ["int64 indices", "index past the shape", "float32 values"])
def test_unchecked_forms_take_scipys_kernel(bad, monkeypatch):
    """A CSR form the kernels cannot trust goes to scipy (same values), never to C."""
    A = counts(30, 20, 0.3, seed=2)
    data = SparseData(A, threads=1)
    G = np.random.default_rng(0).random((20, 10))
    expected = scipy_product(data, "dot", G)
    if bad == "int64 indices":
        A.indices = A.indices.astype(np.int64)
        A.indptr = A.indptr.astype(np.int64)
    elif bad == "index past the shape":  # a corrupted matrix: C would write out of bounds
        A.indices = A.indices.copy()
        A.indices[-1] = 20
    else:
        A.data = A.data.astype(np.float32)
    assert data._kernel_values(A) is None
    if bad != "index past the shape":  # scipy itself reads past the shape there
        np.testing.assert_allclose(data.product("dot", G, np.empty((30, 10))), expected,
                                   rtol=1e-6)


def test_product_refuses_operands_that_do_not_fit():
    data = SparseData(counts(9, 4, 0.5, seed=1))
    with pytest.raises(ValueError, match=r"product dot: a \(9, 4\) matrix, G of shape"):
        data.product("dot", np.ones((9, 3)), np.empty((9, 3)))
    with pytest.raises(ValueError, match="do not fit"):
        data.product("tdot", np.ones((9, 3)), np.empty((9, 3)))


def test_switch_off(monkeypatch):
    monkeypatch.setenv("SYMDERIVE_EM_COMPILED", "0")
    assert not compiled_products()
    monkeypatch.setenv("SYMDERIVE_EM_COMPILED", "1")
    assert compiled_products() == BUILT
