"""The numeric EM engine: compiled formulas, certification, and the estimator."""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import time
import types

import numpy as np
import pytest
import scipy.sparse as sps
import sympy as sp
from symderive.derivations import em_multinomial as em

from symderive.em import (
    CompileError,
    LikelihoodDecreaseError,
    MultinomialMixture,
    NotFittedError,
    UnverifiedFormulasError,
    kernels,
    load_formulas,
    normalized_mutual_info,
)
from symderive.em import formulas as formulas_mod
from symderive.em.compile import Contract, Map, Program, Softmax, TensorSpec
from symderive.em.formulas import EMFormulas, certify
from symderive.em.kernels import SparseData, logsumexp
from symderive.em.metrics import entropy, mutual_info
from symderive.em.spec import EngineFormula
from symderive.instantiate import Instantiator

SIZES = {em.D: 3, em.K: 2, em.W: 4}


@pytest.fixture(scope="module")
def formulas() -> EMFormulas:
    """The certified formulas (the first call checks the claims, then it is cached)."""
    return load_formulas()


_OUTPUTS = {"gamma": ("e_step", "E_STEP"), "loglik": ("log_likelihood", "LOG_LIKELIHOOD"),
            "pi": ("m_step_pi", "M_STEP_PI"), "mu": ("m_step_mu", "M_STEP_MU")}


def spec_with(**changes):
    """The derivation's engine spec with some formulas replaced (planted changes), named
    by their derivation names (E_STEP, M_STEP_MU, ...)."""
    formulas = dict(em.ENGINE.formulas)
    for name, var in _OUTPUTS.values():
        if var in changes:
            formulas[name] = EngineFormula(changes[var], formulas[name].claim)
    return dataclasses.replace(em.ENGINE, formulas=formulas)


def program_for(**changes) -> Program:
    """The engine's four plain formulas (outputs gamma, loglik, pi, mu), compiled."""
    spec = spec_with(**changes)
    full = EMFormulas.compile(spec)
    prog = Program(em.derivation.indices, list(full.tensors.values()))
    for out, (name, _) in _OUTPUTS.items():
        prog.add(out, spec.formulas[name].expr, spec.axes(name))
    return prog


def plain(*args, **kw) -> MultinomialMixture:
    """The estimator with the document's plain settings (no smoothing, no annealing)
    unless the test asks for them."""
    kw.setdefault("smoothing", 0.0)
    kw.setdefault("anneal", False)
    return MultinomialMixture(*args, **kw)


def random_inputs(seed: int, zeros: bool = True):
    rng = np.random.default_rng(seed)
    D, K, W = (SIZES[x] for x in (em.D, em.K, em.W))
    T = rng.integers(0, 4, (D, W)).astype(float)
    if not zeros:
        T += 1
    pi = rng.random(K) + 0.1
    mu = rng.random((K, W)) + 0.1
    gamma = rng.random((D, K)) + 0.1
    return (T, pi / pi.sum(), mu / mu.sum(axis=1, keepdims=True),
            gamma / gamma.sum(axis=1, keepdims=True))


def direct(expr: sp.Expr, env: dict, T, pi, mu, gamma) -> float:
    """Evaluate ``expr`` by SymPy: instantiate at SIZES, substitute the numbers."""
    e = Instantiator(em.derivation, SIZES).scalar(expr, env, frozenset())
    values = {}
    for a in e.atoms(sp.Indexed):
        idx = tuple(int(i) - 1 for i in a.indices)
        arr = {"T": T, "pi": pi, "mu": mu, "gamma": gamma}[str(a.base.label)]
        values[a] = sp.Integer(int(arr[idx])) if str(a.base.label) == "T" else \
            sp.Float(float(arr[idx]), 30)
    return float(e.xreplace(values).evalf(30))


def run_program(prog: Program, T, pi, mu, gamma) -> dict:
    data = SparseData.from_counts(T)
    out = prog.run(["gamma", "loglik"], {"T": data, "pi": pi, "mu": mu})
    out.update(prog.run(["pi", "mu"], {"T": data, "gamma": gamma}))
    return out


# -- the compiler -----------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_compiled_formulas_agree_with_sympy(seed):
    T, pi, mu, gamma = random_inputs(seed)
    out = run_program(program_for(), T, pi, mu, gamma)
    D, K, W = T.shape[0], len(pi), T.shape[1]
    for d in range(D):
        assert out["loglik"][d] == pytest.approx(
            direct(em.LOG_LIKELIHOOD, {em.d: d + 1}, T, pi, mu, gamma), rel=1e-12)
        for k in range(K):
            assert out["gamma"][d, k] == pytest.approx(
                direct(em.E_STEP, {em.d: d + 1, em.k: k + 1}, T, pi, mu, gamma), rel=1e-12)
    for k in range(K):
        assert out["pi"][k] == pytest.approx(
            direct(em.M_STEP_PI, {em.k: k + 1}, T, pi, mu, gamma), rel=1e-12)
        for w in range(W):
            assert out["mu"][w, k] == pytest.approx(
                direct(em.M_STEP_MU, {em.k: k + 1, em.w: w + 1}, T, pi, mu, gamma),
                rel=1e-12, abs=1e-15)


def test_a_planted_change_changes_the_compiled_code():
    T, pi, mu, gamma = random_inputs(3)
    d, k, w, j = em.d, em.k, em.w, em.j
    # (46) with pi_k squared in the numerator: still a valid formula, a different value
    planted = em.pi[k] ** 2 * sp.Product(em.mu[k, w] ** em.T[d, w], (w, 1, em.W)) / sp.Sum(
        em.pi[j] * sp.Product(em.mu[j, w] ** em.T[d, w], (w, 1, em.W)), (j, 1, em.K))
    good = run_program(program_for(), T, pi, mu, gamma)["gamma"]
    bad = run_program(program_for(E_STEP=planted), T, pi, mu, gamma)["gamma"]
    assert not np.allclose(good, bad)
    assert bad[1, 0] == pytest.approx(direct(planted, {d: 2, k: 1}, T, pi, mu, gamma),
                                      rel=1e-12)
    # the M-step with the numerator's T_dw replaced by T_dw^2
    planted_mu = sp.Sum(em.gamma[d, k] * em.T[d, w] ** 2, (d, 1, em.D)) / sp.Sum(
        em.gamma[d, k] * em.T[d, w], (w, 1, em.W), (d, 1, em.D))
    bad_mu = run_program(program_for(M_STEP_MU=planted_mu), T, pi, mu, gamma)["mu"]
    assert bad_mu[2, 1] == pytest.approx(
        direct(planted_mu, {k: 2, w: 3}, T, pi, mu, gamma), rel=1e-12)


@pytest.mark.parametrize("formula, message", [
    # a product over part of the vocabulary only
    (em.pi[em.k] * sp.Product(em.mu[em.k, em.w] ** em.T[em.d, em.w], (em.w, 1, em.W - 1)),
     "full ranges"),
    # exp of a count: 0 would map to 1, a dense D x W array
    (sp.Sum(sp.exp(em.T[em.d, em.w]) * em.mu[em.k, em.w], (em.w, 1, em.W)), "maps 0 to"),
    # log of a count on its own
    (sp.Sum(sp.log(em.T[em.d, em.w]), (em.w, 1, em.W)) * em.pi[em.k], "maps 0 to"),
    # a count times a dense factor indexed by both d and w
    (sp.Sum(em.T[em.d, em.w] * sp.exp(em.gamma[em.d, em.k] * em.mu[em.k, em.w]),
            (em.w, 1, em.W)), "dense D x W"),
    # a product over an index that is not declared
    (sp.Product(em.mu[em.k, 1], (sp.Symbol("q", integer=True), 1, 3)) * em.T[em.d, 1],
     "not a declared index"),
])
def test_shapes_the_compiler_does_not_understand_are_rejected(formula, message):
    with pytest.raises(CompileError, match=message):
        program_for(E_STEP=formula)


def test_contraction_with_two_extra_axes_is_rejected():
    d, k, w, j = em.d, em.k, em.w, em.j
    prog = Program(em.derivation.indices, [TensorSpec("T", (em.D, em.W), sparse=True),
                                           TensorSpec("mu", (em.K, em.W))])
    with pytest.raises(CompileError, match="only one more axis"):
        prog.add("x", sp.Sum(em.T[d, w] * em.mu[k, w] * em.mu[j, w], (w, 1, em.W)), (d, k, j))
    with pytest.raises(CompileError, match="free indices"):
        prog.add("y", em.mu[k, w], (d, k))


def test_log_of_a_possibly_negative_formula_is_rejected():
    d, k, w = em.d, em.k, em.w
    bad = sp.log(sp.Sum(em.T[d, w] * (em.mu[k, w] - 1), (w, 1, em.W)) + em.pi[k])
    with pytest.raises(CompileError, match="not known to be >= 0"):
        program_for(E_STEP=bad)


def test_e_step_and_log_likelihood_share_one_sparse_product():
    prog = program_for()
    contracts = [n for n in prog.nodes(["gamma", "loglik"]) if isinstance(n, Contract)]
    assert len(contracts) == 1


def test_compiler_handles_empty_documents_and_zero_probabilities():
    T = np.array([[0, 0, 0, 0], [2, 0, 1, 0], [0, 3, 0, 0]], dtype=float)
    pi = np.array([0.5, 0.5])
    mu = np.array([[0.5, 0.0, 0.5, 0.0], [0.0, 1.0, 0.0, 0.0]])  # mu = 0 for unseen words
    out = program_for().run(["gamma", "loglik"],
                            {"T": SparseData.from_counts(T), "pi": pi, "mu": mu})
    assert np.all(np.isfinite(out["gamma"])) and np.all(np.isfinite(out["loglik"]))
    np.testing.assert_allclose(out["gamma"], [[0.5, 0.5], [1, 0], [0, 1]])
    assert out["loglik"][0] == 0.0  # an empty document has probability 1
    assert out["loglik"][1] == pytest.approx(math.log(0.5 * 3 * 0.5**3))


def test_logsumexp_of_impossible_rows_is_minus_infinity():
    x = np.array([[-np.inf, -np.inf], [0.0, -np.inf], [1000.0, 1000.0]])
    lse, _, _ = logsumexp(x, axis=1)
    assert lse[0] == -np.inf and lse[1] == 0.0 and lse[2] == pytest.approx(1000 + math.log(2))


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_threaded_products_equal_scipy_bit_for_bit(threads, monkeypatch):
    monkeypatch.setattr(SparseData, "BLOCK_NNZ", 1500)  # several blocks of rows, columns
    monkeypatch.setattr(kernels, "_PARALLEL_WORK", 1)
    rng = np.random.default_rng(5)
    X = sps.random(700, 300, density=0.05, random_state=6, format="csr")
    X.data = np.ceil(X.data * 5)
    data = SparseData(SparseData.from_counts(X).csr, threads=threads)
    G = rng.random((300, 7))
    H = rng.random((700, 7))
    assert len(data.blocks(0)) > 2 and len(data.blocks(1)) > 2
    assert np.array_equal(data.dot(G), data.csr @ G)
    assert np.array_equal(data.tdot(H), data.transposed @ H)


def special_values(rng, n: int, scale: float) -> np.ndarray:
    """Random values in [-scale, 0] with the special cases of exp and log mixed in."""
    x = -rng.random(n) * scale
    x[rng.integers(0, n, n // 50)] = -np.inf
    x[:12] = [np.nan, np.inf, -np.inf, 0.0, -0.0, -707.0, -707.5, -708.4, -745.13,
              -745.14, -746.0, -1e300]
    return x


@pytest.mark.parametrize("scale", [1.0, 600.0, 720.0, 800.0, 1000.0, 1400.0, 5000.0])
def test_exp_is_numpys_exp_bit_for_bit(scale):
    rng = np.random.default_rng(int(scale))
    x = special_values(rng, 30_000, scale).reshape(3000, 10)
    with np.errstate(all="ignore"):
        want = np.exp(x)
        for arr in (x, np.asfortranarray(x), x[:, :7], x.ravel()):
            got = kernels.exp(arr)
            assert np.array_equal(got, np.exp(arr), equal_nan=True)
            assert np.array_equal(np.signbit(got), np.signbit(np.exp(arr)))
        assert np.array_equal(kernels.exp_inplace(x.copy()), want, equal_nan=True)


@pytest.mark.parametrize("zeros", [0.0, 0.02, 0.09, 0.12, 0.5, 0.95])
def test_log_is_numpys_log_bit_for_bit(zeros):
    rng = np.random.default_rng(int(zeros * 100))
    x = rng.random(200_000) * 10.0 ** rng.uniform(-300, 3, 200_000)
    x[rng.random(x.size) < zeros] = 0.0
    x[:6] = [np.nan, np.inf, 5e-324, -0.0, 0.0, 1.0]
    with np.errstate(all="ignore"):
        for arr in (x, x.reshape(400, 500), np.asfortranarray(x.reshape(400, 500)), x[1:]):
            got, want = kernels.log(arr), np.log(arr)
            assert np.array_equal(got, want, equal_nan=True)
            assert np.array_equal(np.signbit(got), np.signbit(want))
            assert got.flags.f_contiguous == want.flags.f_contiguous
        negative = x.copy()
        negative[1000] = -1.0  # NaN, as np.log gives
        assert np.array_equal(kernels.log(negative), np.log(negative), equal_nan=True)


def test_logsumexp_agrees_with_scipy_and_row_max_with_numpy():
    from scipy.special import logsumexp as scipy_lse

    rng = np.random.default_rng(9)
    x = rng.normal(0, 300, (500, 13))
    x[3] = -np.inf
    x[4, :5] = -np.inf
    assert np.array_equal(kernels.row_max(x), np.max(x, axis=1, keepdims=True))
    lse, shifted, total = logsumexp(x, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.testing.assert_allclose(lse, scipy_lse(x, axis=1), rtol=1e-14)
        np.testing.assert_allclose((shifted / total)[4:], np.exp(x - lse[:, None])[4:],
                                   rtol=1e-12, atol=1e-300)
    assert lse[3] == -np.inf


def small_blocks(monkeypatch, block_nnz: int = 400) -> None:
    """Make a small corpus cut into several blocks of rows and of columns."""
    monkeypatch.setattr(SparseData, "BLOCK_NNZ", block_nnz)
    monkeypatch.setattr(kernels, "_PARALLEL_WORK", 1)
    monkeypatch.setattr(Map, "PARALLEL_SIZE", 16)


def poisson_corpus(seed: int, D: int = 300, W: int = 80, rate: float = 0.4):
    rng = np.random.default_rng(seed)
    X = rng.poisson(rate, (D, W)) * (rng.random((D, W)) < 0.5)
    X[5] = 0  # an empty document
    return sps.csr_matrix(X)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_blockwise_evaluation_is_the_whole_evaluation_bit_for_bit(threads, monkeypatch):
    small_blocks(monkeypatch)
    prog = program_for()
    X = poisson_corpus(1)
    rng = np.random.default_rng(2)
    K = 4
    gamma = rng.random((X.shape[0], K))
    gamma[rng.random(gamma.shape) < 0.4] = 0.0  # responsibilities that underflowed
    gamma[gamma.sum(1) == 0, 0] = 1.0
    gamma /= gamma.sum(1, keepdims=True)
    data = SparseData(SparseData.from_counts(X).csr, threads=threads)
    assert len(data.blocks(0)) > 2 and len(data.blocks(1)) > 2
    mu = prog.run(["mu"], {"T": data, "gamma": gamma}, split=em.W)["mu"]
    assert np.array_equal(mu, prog.run(["mu"], {"T": data, "gamma": gamma})["mu"])
    pi = prog.run(["pi"], {"gamma": gamma, "T": data}, split=em.D)["pi"]  # sums over d:
    assert np.array_equal(pi, prog.run(["pi"], {"gamma": gamma})["pi"])  # evaluated whole
    both = prog.run(["pi", "mu"], {"T": data, "gamma": gamma}, split=em.W)  # pi beside
    assert np.array_equal(both["pi"], pi) and np.array_equal(both["mu"], mu)
    mu[::3, 1] = 0.0  # words cluster 1 never saw: log mu = -inf there
    inputs = {"T": data, "pi": pi, "mu": mu.T}
    split = prog.run(["gamma", "loglik"], inputs, split=em.D)
    whole = prog.run(["gamma", "loglik"], inputs)
    assert np.array_equal(split["gamma"], whole["gamma"])
    assert np.array_equal(split["loglik"], whole["loglik"])
    assert np.all(np.isfinite(whole["loglik"])) and np.any(whole["gamma"][:, 1] == 0.0)


def test_the_m_steps_normaliser_runs_beside_the_blocks_and_an_error_there_stops_them(
        monkeypatch):
    """sum_d gamma_dk n_d (a pass over D x K) is computed beside the blocks' products,
    not before them; a failure there is raised, not waited for."""
    small_blocks(monkeypatch)
    prog = program_for()
    plan = prog._split_plan(("pi", "mu"), em.W)
    assert [n.describe() for n in plan.late] == ["Einsum", "Map(x**-1)"]
    assert [n.describe() for n in plan.head] == ["Contract"]
    assert prog._split_plan(("gamma", "loglik"), em.D).late == []  # the E-step: none
    data = SparseData(SparseData.from_counts(poisson_corpus(3)).csr, threads=2)
    gamma = np.full((data.shape[0], 3), 1 / 3)
    good = prog.run(["pi", "mu"], {"T": data, "gamma": gamma}, split=em.W)
    assert np.allclose(good["mu"].sum(axis=0), 1.0)

    def broken(self, vals, ctx):
        raise FloatingPointError("planted")

    monkeypatch.setattr(type(plan.late[0]), "compute", broken)
    with pytest.raises(FloatingPointError, match="planted"):
        prog.run(["pi", "mu"], {"T": data, "gamma": gamma}, split=em.W)


def test_the_m_steps_side_values_run_after_the_blocks_the_late_ones_before(monkeypatch):
    """pi (no block needs it) is the last item of the M-step's pass, so the thread that
    finishes its blocks first computes it; the normaliser the blocks wait for is the
    first.  The order changes nothing: the same bits on 1 and 2 threads."""
    small_blocks(monkeypatch)
    prog = program_for()
    plan = prog._split_plan(("pi", "mu"), em.W)
    assert plan.side and plan.late
    order: list[str] = []
    evaluate = Program._evaluate

    def recording(self, nodes, *args, **kwargs):
        order.append("late" if nodes is plan.late else "side" if nodes is plan.side else
                     "block" if nodes in (plan.head, plan.tail, plan.blockwise) else "whole")
        return evaluate(self, nodes, *args, **kwargs)

    monkeypatch.setattr(Program, "_evaluate", recording)
    X = SparseData.from_counts(poisson_corpus(3)).csr
    gamma = np.random.default_rng(7).random((X.shape[0], 3))
    gamma /= gamma.sum(1, keepdims=True)
    one = prog.run(["pi", "mu"], {"T": SparseData(X, threads=1), "gamma": gamma}, split=em.W)
    blocks = len(SparseData(X, threads=1).blocks(1))
    assert order == ["whole", "late", *["block"] * (2 * blocks), "side"]
    two = prog.run(["pi", "mu"], {"T": SparseData(X, threads=2), "gamma": gamma}, split=em.W)
    assert np.array_equal(one["pi"], two["pi"]) and np.array_equal(one["mu"], two["mu"])
    np.testing.assert_allclose(one["pi"], gamma.mean(0), rtol=1e-14)


def test_blocks_have_equal_cost_counting_each_row():
    """A block's time grows with its rows (the E-step's log-sum-exp over each row of K)
    as well as with its stored entries: blocks cut by entries alone put the many short
    documents of one half in one block, and the other thread waits for it."""
    short = np.zeros((600, 50))
    short[np.arange(600), np.arange(600) % 50] = 1.0     # 600 rows of one entry
    long = np.zeros((20, 50))
    long[:, :30] = 1.0                                   # 20 rows of 30 entries
    X = sps.csr_matrix(np.vstack([short, long]))
    data = SparseData(SparseData.from_counts(X).csr, threads=1)
    data.BLOCK_NNZ = 600                                 # two blocks
    data.ROW_COST = 0
    (a0, b0, _), (a1, b1, _) = data.blocks(0)
    assert (a0, b0, b1) == (0, 600, 620)                 # equal entries: 600 and 600
    weighted = SparseData(SparseData.from_counts(X).csr, threads=1)
    weighted.BLOCK_NNZ = 600
    weighted.ROW_COST = 10
    blocks = weighted.blocks(0)
    cost = [blk.csr.nnz + 10 * (b - a) for a, b, blk in blocks]
    assert len(blocks) == 2 and max(cost) <= 1.02 * min(cost), cost
    assert blocks[0][1] < 600                            # fewer of the short rows
    assert np.array_equal(sps.vstack([b.csr for _, _, b in blocks]).toarray(), X.toarray())


def test_blockwise_outputs_are_written_in_place_and_never_shared(monkeypatch):
    """A block's last operation writes straight into its part of the output (no copy);
    an output asked for under two names is one formula: each name gets its own array."""
    small_blocks(monkeypatch)
    prog = program_for()
    spec = spec_with()
    prog.add("loglik_again", spec.formulas["log_likelihood"].expr, spec.axes("log_likelihood"))
    prog.add("gamma_again", spec.formulas["e_step"].expr, spec.axes("e_step"))
    X = poisson_corpus(3)
    data = SparseData(SparseData.from_counts(X).csr, threads=2)
    rng = np.random.default_rng(4)
    pi = rng.random(4) + 0.1
    pi /= pi.sum()
    mu = rng.random((X.shape[1], 4)) + 0.05
    mu /= mu.sum(0)
    inputs = {"T": data, "pi": pi, "mu": mu.T}
    names = ["gamma", "loglik", "loglik_again", "gamma_again"]
    assert prog.outputs["loglik"][0] is prog.outputs["loglik_again"][0]  # one node
    copies: list[bool] = []
    monkeypatch.setattr(Softmax, "compute", _counting(Softmax.compute, copies))
    split = prog.run(names, inputs, split=em.D)
    # the softmax of every block returned the block's part of the output array itself
    assert len(copies) == len(data.blocks(0)) and all(copies)
    whole = prog.run(names, inputs)
    for n in names:
        assert np.array_equal(split[n], whole[n])
    assert not np.shares_memory(split["loglik"], split["loglik_again"])
    assert not np.shares_memory(split["gamma"], split["gamma_again"])
    split["loglik"][0] = 1.0
    assert split["loglik_again"][0] == whole["loglik"][0]


@pytest.mark.parametrize("threads", [1, 2])
def test_log_mu_kept_by_the_m_step_is_the_e_steps_own_bit_for_bit(threads, monkeypatch):
    """The M-step computes log mu block by block (``then``) and the E-step of that very
    array takes it (``given``) instead of its own log pass: the same values, the log
    computed once; any other array (a repaired mu, a stale one) gets its own log."""
    small_blocks(monkeypatch)
    prog = program_for()
    X = poisson_corpus(5)
    rng = np.random.default_rng(6)
    gamma = rng.random((X.shape[0], 3))
    gamma[rng.random(gamma.shape) < 0.5] = 0.0
    gamma[X[:, 0].toarray().ravel() > 0, 2] = 0.0  # cluster 2 never sees word 0: log 0
    gamma[gamma.sum(1) == 0, 0] = 1.0
    gamma /= gamma.sum(1, keepdims=True)
    data = SparseData(SparseData.from_counts(X).csr, threads=threads)
    out = prog.run(["pi", "mu"], {"T": data, "gamma": gamma}, split=em.W,
                   then={"mu": kernels.log})
    mu, log_mu = out["mu"], out[("mu", kernels.log)]
    with np.errstate(divide="ignore"):
        assert np.array_equal(log_mu, np.log(mu)) and np.isneginf(log_mu).any()
    whole = prog.run(["mu"], {"T": data, "gamma": gamma}, then={"mu": kernels.log})
    assert np.array_equal(whole[("mu", kernels.log)], log_mu)  # evaluated whole: the same
    inputs = {"T": data, "pi": out["pi"], "mu": mu.T}
    own = prog.run(["gamma", "loglik"], inputs, split=em.D)
    logs: list = []
    real_log = kernels.log

    def counting_log(x):
        logs.append(np.shape(x))
        return real_log(x)

    monkeypatch.setattr(kernels, "log", counting_log)  # what the E-step would call
    for node in prog.nodes(["gamma"]):
        if isinstance(node, Map) and node.fn is real_log:
            monkeypatch.setattr(node, "fn", counting_log)
    given = {("mu", counting_log): log_mu.T}
    reused = prog.run(["gamma", "loglik"], inputs, split=em.D, given=given)
    assert not any(shape == mu.T.shape for shape in logs)  # log mu was not taken again
    assert np.array_equal(reused["gamma"], own["gamma"])
    assert np.array_equal(reused["loglik"], own["loglik"])
    # a given value really is what the node returns (so a wrong one would show)
    planted = prog.run(["loglik"], inputs, given={("mu", counting_log): log_mu.T - 1.0})
    assert not np.allclose(planted["loglik"], own["loglik"])


def test_the_engine_reuses_log_mu_only_for_the_array_it_was_computed_from(formulas):
    X = poisson_corpus(7)
    data = SparseData.from_counts(X)
    rng = np.random.default_rng(8)
    resp = rng.random((X.shape[0], 3))
    resp /= resp.sum(1, keepdims=True)
    f = EMFormulas(formulas.spec, formulas.program, formulas.certificate)
    pi, mu_t = f.m_step(data, resp, keep_log=True)
    assert f._given(mu_t) is not None and f._given(mu_t.copy()) is None
    fresh = EMFormulas(formulas.spec, formulas.program, formulas.certificate)
    for got, want in zip(f.e_step(data, pi, mu_t), fresh.e_step(data, pi, mu_t),
                         strict=True):
        assert np.array_equal(got, want)
    changed = np.array(mu_t)
    changed[:, 0] = 1.0 / changed.shape[0]  # as the loop repairs an empty cluster
    for got, want in zip(f.e_step(data, pi, changed), fresh.e_step(data, pi, changed),
                         strict=True):
        assert np.array_equal(got, want)
    f.m_step(data, resp)  # without keep_log: nothing kept for the new array
    assert f._given(mu_t) is not None  # (the kept pair stays that of its own array)


def _counting(compute, record: list):
    def wrapped(self, vals, ctx):
        out = compute(self, vals, ctx)
        dest = ctx.dest.get(id(self))
        record.append(dest is not None and out is dest)
        return out
    return wrapped


# -- certification: the engine refuses unverified formulas ------------------------------
def test_the_real_formulas_are_certified(formulas):
    cert = formulas.certificate
    assert {"46", "47.1", "47.2", "MAP.1", "MAP.2", "DA.1", "DA.2"} <= set(cert.verdicts)
    assert all(v in ("proved", "verified") for v in cert.verdicts.values())
    assert cert.covers["e_step"] == "46"
    assert cert.covers["m_step_mu_map"] == "MAP.2"
    assert cert.covers["e_step_annealed"] == "DA.1"
    assert "every word occurs" in cert.preconditions["m_step_mu"]


def test_key_covers_every_checker_module():
    from symderive import cache as cache_mod

    files = {p.relative_to(cache_mod._ROOT).as_posix() for p in cache_mod.checker_sources()}
    assert {"check/equality.py", "check/prove.py", "check/stationary.py", "evaluate.py",
            "instantiate.py", "walker.py"} <= files
    assert not any(f.startswith(("em/", "corpus/", "latex/")) for f in files)


def _fake_results(verdict_of):
    def run(claims, timeout, jobs):
        return [types.SimpleNamespace(id=c.id, verdict=verdict_of(c), message="planted")
                for c in claims]
    return run


def test_refuses_when_a_claim_is_not_verified(monkeypatch):
    monkeypatch.setattr(formulas_mod, "_run_claims",
                        _fake_results(lambda c: "refuted" if c.id == "47.2" else "proved"))
    with pytest.raises(UnverifiedFormulasError, match=r"47\.2: refuted"):
        certify(em.ENGINE, cache=False)
    monkeypatch.setattr(formulas_mod, "_run_claims", _fake_results(lambda c: "undecided"))
    with pytest.raises(UnverifiedFormulasError, match="refuses"):
        load_formulas(em, cache=False)


def test_refuses_a_formula_no_claim_looked_at():
    d, k, w = em.d, em.k, em.w
    other = sp.Sum(em.gamma[d, k] * em.T[d, w] + 1, (d, 1, em.D)) / sp.Sum(
        em.gamma[d, k] * em.T[d, w] + 1, (w, 1, em.W), (d, 1, em.D))
    with pytest.raises(UnverifiedFormulasError, match="m_step_mu is not a part of claim 47.2"):
        certify(spec_with(M_STEP_MU=other), cache=False)
    with pytest.raises(UnverifiedFormulasError, match="does not export ENGINE"):
        load_formulas(types.SimpleNamespace(derivation=em.derivation))


def test_refuses_a_planted_e_step_refuted_by_the_real_checker(monkeypatch):
    """Claim 46 with a wrong right-hand side: the checker refutes it, the engine refuses."""
    d, k, w, j = em.d, em.k, em.w, em.j
    wrong = em.pi[k] * sp.Product(em.mu[k, w] ** em.T[d, w], (w, 1, em.W)) / sp.Sum(
        sp.Product(em.mu[j, w] ** em.T[d, w], (w, 1, em.W)), (j, 1, em.K))  # pi_j dropped
    deriv = copy.copy(em.derivation)
    deriv.claims = [dataclasses.replace(c, rhs=wrong) if c.id == "46" else c
                    for c in em.derivation.claims]
    spec = dataclasses.replace(spec_with(E_STEP=wrong), derivation=deriv)
    real = formulas_mod._run_claims

    def only_46_for_real(claims, timeout, jobs):  # the untouched claims are tested above
        out = real([c for c in claims if c.id == "46"], timeout, jobs)
        return out + [types.SimpleNamespace(id=c.id, verdict="proved", message="")
                      for c in claims if c.id != "46"]

    monkeypatch.setattr(formulas_mod, "_run_claims", only_46_for_real)
    with pytest.raises(UnverifiedFormulasError, match="46: refuted"):
        certify(spec, timeout=30, cache=False)
    model = plain(2, formulas=None)
    monkeypatch.setattr("symderive.em.model.load_formulas",
                        lambda timeout: load_formulas(types.SimpleNamespace(ENGINE=spec),
                                                      cache=False))
    with pytest.raises(UnverifiedFormulasError):
        model.fit(np.ones((3, 4)))


# -- the estimator ----------------------------------------------------------------------
def two_topic_corpus(n_docs: int = 30, length: int = 200, seed: int = 0):
    """Topic A uses words 0-4, topic B words 5-9: well separated, known answer."""
    rng = np.random.default_rng(seed)
    truth = np.arange(n_docs) % 2
    X = np.zeros((n_docs, 10), dtype=np.int64)
    for i, t in enumerate(truth):
        X[i, 5 * t:5 * t + 5] = rng.multinomial(length, np.full(5, 0.2))
    return X, truth


def test_two_separated_topics_are_recovered(formulas):
    X, truth = two_topic_corpus()
    m = plain(2, random_state=0, formulas=formulas).fit(X)
    assert m.converged_
    assert normalized_mutual_info(truth, m.predict(X)) == pytest.approx(1.0)
    np.testing.assert_allclose(m.weights_, [0.5, 0.5], atol=1e-9)
    a = m.predict(X[:1])[0]
    assert m.components_[a, :5].sum() == pytest.approx(1.0)
    assert np.all(m.components_[a, 5:] == 0.0)  # words the cluster never saw: mu = 0
    assert np.all(np.isfinite(m.predict_proba(X)))
    assert m.score(X) == pytest.approx(np.mean(m.score_samples(X)))
    assert m.log_likelihood_[-1] == pytest.approx(m.score(X) * len(X), rel=1e-12)


def dense_reference(X, resp, iters):
    """A few EM iterations written out densely (test-only cross-check)."""
    from scipy.special import gammaln
    from scipy.special import logsumexp as lse

    X = np.asarray(X, dtype=float)
    coef = gammaln(X.sum(1) + 1) - gammaln(X + 1).sum(1)
    out = []
    for _ in range(iters):
        pi = resp.sum(0) / resp.sum()
        mu = (X.T @ resp).T
        mu /= mu.sum(1, keepdims=True)
        with np.errstate(divide="ignore"):
            L = np.where(X[:, None, :] > 0, X[:, None, :] * np.log(mu)[None], 0).sum(2)
        L = L + np.log(pi)
        norm = lse(L, axis=1)
        resp = np.exp(L - norm[:, None])
        out.append(float((norm + coef).sum()))
    return out


def test_agrees_with_a_plain_implementation_from_the_same_start(formulas):
    rng = np.random.default_rng(1)
    X = rng.poisson(1.0, (40, 25))
    X[3] = 0  # an empty document
    resp0 = rng.random((40, 3))
    resp0 /= resp0.sum(1, keepdims=True)
    m = plain(3, init=resp0, max_iter=15, stop="loglik", tol=1e-300,
                           formulas=formulas).fit(X)
    np.testing.assert_allclose(m.log_likelihood_, dense_reference(X, resp0, 15), rtol=1e-12)


def test_log_likelihood_never_decreases_and_stop_rules(formulas):
    rng = np.random.default_rng(2)
    X = rng.poisson(0.7, (120, 40))
    seen = []
    m = plain(5, stop="loglik", tol=1e-9, max_iter=500, random_state=3,
                           formulas=formulas, callback=seen.append).fit(X)
    ll = m.log_likelihood_
    assert m.converged_ and len(ll) == m.n_iter_ == len(seen)
    assert np.all(np.diff(ll) >= -1e-9 * np.abs(ll[1:]))
    changes = [p.change for p in seen]
    assert changes[-1] <= 1e-9 and all(c > 1e-9 for c in changes[:-1])
    seen.clear()
    m = plain(5, stop="pi-norm", random_state=3, formulas=formulas,
                           callback=seen.append).fit(X)
    changes = [p.change for p in seen]
    assert m.converged_ and changes[-1] < 1e-3 and all(c >= 1e-3 for c in changes[:-1])
    np.testing.assert_allclose(changes[-1], np.linalg.norm(
        np.asarray(m.weights_) - _pi_before_last(X, m, formulas)))


def _pi_before_last(X, m, formulas):
    again = plain(m.n_components, stop="pi-norm", random_state=3,
                               max_iter=m.n_iter_ - 1, formulas=formulas).fit(X)
    return again.weights_


def test_a_decreasing_log_likelihood_fails_loudly(formulas, monkeypatch):
    X, _ = two_topic_corpus(12, 30)
    calls = [0]
    real = EMFormulas.m_step

    def sabotage(self, data, resp, *priors, **options):  # from the 3rd M-step on: uniform
        calls[0] += 1                                      # mu, worse
        pi, mu_t = real(self, data, resp, *priors, **options)
        return pi, (np.full_like(mu_t, 1.0 / mu_t.shape[0]) if calls[0] >= 3 else mu_t)

    monkeypatch.setattr(EMFormulas, "m_step", sabotage)
    with pytest.raises(LikelihoodDecreaseError, match="decreased at iteration 3"):
        plain(2, stop="loglik", tol=1e-300, max_iter=10, random_state=0,
                           formulas=formulas).fit(X)
    calls[0] = 0  # annealed and smoothed: the free energy at beta = 0.5 is guarded too
    with pytest.raises(LikelihoodDecreaseError, match=r"free energy at beta = 0.5 \(plus log "
                       r"prior\) decreased at iteration 3"):
        plain(2, anneal=[0.5], smoothing=1.0, tol=1e-300, random_state=0,
              formulas=formulas).fit(X)


def test_empty_documents_and_empty_clusters(formulas):
    X, _ = two_topic_corpus(10, 50)
    X = np.vstack([X, np.zeros((3, 10), dtype=np.int64)])  # 3 empty documents
    init = np.zeros((13, 4))
    init[:10, 0] = init[:10, 1] = 0.5
    init[10:, 2] = 1.0  # cluster 2 holds only empty documents: its mu is 0 / 0
    # cluster 3 has no responsibility at all: pi_3 = 0 for ever
    m = plain(4, init=init, max_iter=50, formulas=formulas).fit(X)
    assert np.all(np.isfinite(m.weights_)) and np.all(np.isfinite(m.components_))
    assert m.weights_[3] == 0.0
    np.testing.assert_allclose(m.components_.sum(1), 1.0)
    assert np.all(np.isfinite(m.log_likelihood_))
    np.testing.assert_allclose(m.score_samples(X)[10:], 0.0, atol=1e-12)
    np.testing.assert_allclose(m.predict_proba(X)[10:], np.tile(m.weights_, (3, 1)))
    assert m.predict_proba(X)[:, 3].max() == 0.0


def test_more_clusters_than_documents(formulas):
    X = np.array([[3, 0, 1], [0, 2, 2]])
    with pytest.raises(ValueError, match="n_components=5 must be <= the number of documents"):
        plain(5, random_state=0, formulas=formulas).fit(X)
    m = plain(2, random_state=0, formulas=formulas).fit(X)
    assert np.all(np.isfinite(m.components_)) and m.weights_.sum() == pytest.approx(1.0)


def test_deterministic_for_a_random_state(formulas):
    rng = np.random.default_rng(4)
    X = sps.csr_matrix(rng.poisson(0.5, (80, 30)))
    a = plain(4, random_state=7, n_init=2, formulas=formulas).fit(X)
    b = plain(4, random_state=7, n_init=2, formulas=formulas).fit(X)
    c = plain(4, random_state=8, n_init=2, formulas=formulas).fit(X)
    assert np.array_equal(a.components_, b.components_)
    assert np.array_equal(a.log_likelihood_, b.log_likelihood_)
    assert not np.array_equal(a.components_, c.components_)


def test_the_number_of_threads_does_not_change_the_fit(formulas, monkeypatch):
    """Blocks of documents and of words on 1, 2 or 3 threads: the same numbers, bit for
    bit (the blocks are fixed by the data; every sum keeps its order)."""
    small_blocks(monkeypatch)
    X = poisson_corpus(3, D=400, W=120, rate=0.6)
    fits = []
    for threads in ("1", "2", "3"):
        monkeypatch.setenv("SYMDERIVE_EM_THREADS", threads)
        m = plain(6, random_state=11, max_iter=25, stop="loglik", tol=1e-300,
                               formulas=formulas).fit(X)
        fits.append(m)
    assert SparseData.from_counts(X).threads == 3
    for m in fits[1:]:
        assert np.array_equal(m.log_likelihood_, fits[0].log_likelihood_)
        assert np.array_equal(m.components_, fits[0].components_)
        assert np.array_equal(m.weights_, fits[0].weights_)
        assert np.array_equal(m.predict_proba(X), fits[0].predict_proba(X))
    assert fits[0].n_iter_ == 25 and np.all(np.diff(fits[0].log_likelihood_) >= 0)


def test_parallel_map_keeps_order_and_raises_errors():
    import threading

    seen = set()
    caller = threading.current_thread().name
    caller_worked = threading.Event()

    def square(x):
        # the pool's threads wait (a few seconds at most) until the caller has taken an
        # item, so that a loaded machine cannot let them take every item first
        name = threading.current_thread().name
        seen.add(name)
        if name == caller:
            caller_worked.set()
        else:
            caller_worked.wait(5)
        return x * x

    assert kernels.parallel_map(square, range(50), 3) == [x * x for x in range(50)]
    assert kernels.parallel_map(square, [], 3) == []
    assert threading.current_thread().name in seen  # the caller works too

    def boom(x):
        if x == 7:
            raise ValueError("block 7")
        return x

    with pytest.raises(ValueError, match="block 7"):
        kernels.parallel_map(boom, range(20), 2)

    def nested(x):  # inside an item: its own items run in its thread, no deadlock
        return sum(kernels.parallel_map(square, range(x), 2))

    assert kernels.parallel_map(nested, range(12), 2) == [sum(i * i for i in range(x))
                                                          for x in range(12)]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_gets_its_own_thread_pool():
    kernels.parallel_map(abs, [-1, -2, -3], 2)  # the parent's pool exists
    pid = os.fork()
    if pid == 0:  # the child: the parent's pool threads are not here
        try:
            ok = kernels.parallel_map(abs, [-1, -2, -3], 2) == [1, 2, 3]
        finally:
            os._exit(0 if ok else 1)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.05)
    os.kill(pid, 9)
    pytest.fail("parallel_map in a forked child hung")


def test_top_words_are_the_stable_sort_without_sorting_everything():
    from symderive.em.table import _top

    rng = np.random.default_rng(3)
    for trial in range(300):
        row = rng.integers(0, 4, rng.integers(1, 50)) / 7.0  # many ties
        if trial % 10 == 0:
            row[0] = np.nan
        n = int(rng.integers(1, 8))
        assert np.array_equal(_top(row, n), np.argsort(-row, kind="stable")[:n])


def test_a_count_matrix_is_freed_without_the_cycle_collector(formulas, monkeypatch):
    """No reference cycle through the caches: the matrix, its blocks and their cached
    values go as soon as the last reference does (not at some later full collection)."""
    import gc
    import weakref

    small_blocks(monkeypatch)
    X = poisson_corpus(4)
    gc.collect()
    gc.disable()
    try:
        data = SparseData.from_counts(X)
        plain(3, max_iter=3, random_state=0, formulas=formulas).fit(data)
        refs = [weakref.ref(data), weakref.ref(data.blocks(0)[0][2]),
                weakref.ref(data.blocks(1)[-1][2])]
        assert data.cache and data.blocks(0)[0][2].cache  # static values were cached
        del data
        assert all(r() is None for r in refs)
    finally:
        gc.enable()


def test_default_threads(monkeypatch):
    monkeypatch.setenv("SYMDERIVE_EM_THREADS", "3")
    assert kernels.default_threads() == 3
    monkeypatch.setenv("SYMDERIVE_EM_THREADS", "auto")  # not a count: the CPUs
    assert kernels.default_threads() == min(kernels.MAX_THREADS, kernels.usable_cpus())
    monkeypatch.delenv("SYMDERIVE_EM_THREADS")
    assert kernels.default_threads() == min(kernels.MAX_THREADS, kernels.usable_cpus())
    monkeypatch.setattr(kernels.os, "getloadavg", lambda: (50.0, 50.0, 50.0))
    assert kernels.default_threads() == min(kernels.MAX_THREADS, kernels.usable_cpus())


def test_smoothing_keeps_every_word_possible(formulas):
    X, _ = two_topic_corpus(20, 40)
    m = plain(2, smoothing=0.5, random_state=0, stop="loglik", tol=1e-10,
                           max_iter=300, formulas=formulas).fit(X)
    assert np.all(m.components_ > 0)
    assert np.all(np.diff(m.objective_) >= -1e-9 * np.abs(m.objective_[1:]))
    resp = m.predict_proba(X)
    counts = resp.T @ X + 0.5
    np.testing.assert_allclose(m.components_, counts / counts.sum(1, keepdims=True),
                               rtol=1e-6)


def test_parameter_and_input_errors(formulas):
    X, _ = two_topic_corpus(6, 10)
    for bad in (dict(n_components=0), dict(stop="never"), dict(tol=-1.0), dict(max_iter=0),
                dict(smoothing=-0.1), dict(init="kmeans")):
        with pytest.raises(ValueError):
            plain(**{"n_components": 2, **bad}, formulas=formulas).fit(X)
    with pytest.raises(NotFittedError):
        plain(2, formulas=formulas).predict(X)
    m = plain(2, random_state=0, formulas=formulas).fit(X)
    with pytest.raises(ValueError, match="words"):
        m.predict(X[:, :5])
    for counts in (-X, X + 0.5, np.full((2, 10), np.nan)):
        with pytest.raises(ValueError, match="counts"):
            m.fit(counts)


def test_bundled_corpus_small_run(formulas):
    from symderive.corpus import load_20newsgroups

    corpus = load_20newsgroups()
    m = plain(3, max_iter=3, stop="loglik", tol=1e-300, random_state=0,
                           formulas=formulas).fit(corpus)
    assert m.n_iter_ == 3 and m.components_.shape == (3, corpus.counts.shape[1])
    assert np.all(np.diff(m.log_likelihood_) > 0) and np.all(np.isfinite(m.components_))
    assert 0.0 <= normalized_mutual_info(corpus.labels, m.labels_) <= 1.0


# -- NMI --------------------------------------------------------------------------------
def test_nmi_against_hand_computed_values():
    assert normalized_mutual_info([0, 0, 1, 1], [0, 0, 1, 1]) == pytest.approx(1.0)
    assert normalized_mutual_info([0, 0, 1, 1], [5, 5, 2, 2]) == pytest.approx(1.0)
    assert normalized_mutual_info([0, 0, 1, 1], [0, 1, 0, 1]) == 0.0
    assert normalized_mutual_info([3, 3, 3], [1, 1, 1]) == 1.0
    assert normalized_mutual_info([0, 0, 0, 0], [0, 1, 2, 3]) == 0.0
    # true (0,0,1,1) vs predicted (0,1,1,1): pu = (1/2, 1/2), pv = (1/4, 3/4)
    mi = 0.25 * math.log(2) + 0.25 * math.log(2 / 3) + 0.5 * math.log(4 / 3)
    hu = math.log(2)
    hv = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    assert mutual_info([0, 0, 1, 1], [0, 1, 1, 1]) == pytest.approx(mi)
    assert entropy([0, 1, 1, 1]) == pytest.approx(hv)
    assert normalized_mutual_info([0, 0, 1, 1], [0, 1, 1, 1]) == pytest.approx(
        mi / ((hu + hv) / 2))
    with pytest.raises(ValueError):
        normalized_mutual_info([0, 1], [0, 1, 2])


def test_a_fit_draws_its_random_start_on_the_datas_threads_with_the_same_values(
        formulas, monkeypatch):
    """The chunks of the random start are drawn in parallel on the fit's threads; every
    row is still 1 - u normalised, u from the chunk's own stream, on any thread count."""
    from symderive.em import steps

    K, D = 6, 2 * steps.INIT_CHUNK + 700
    one = steps.initial_responsibilities(5, 2, 0, D, K)
    u = np.random.default_rng([5, 2, 2]).random((700, K))  # the third chunk's stream
    np.testing.assert_allclose(one[-700:], (1 - u) / (1 - u).sum(1, keepdims=True),
                               rtol=1e-15)
    for threads in (2, 3):
        assert np.array_equal(steps.initial_responsibilities(5, 2, 0, D, K, threads), one)
    asked: list[int] = []
    parallel_map = steps.parallel_map
    monkeypatch.setattr(steps, "parallel_map",
                        lambda fn, items, threads: asked.append(threads) or
                        parallel_map(fn, items, threads))
    X = poisson_corpus(4, D=400, W=60, rate=0.8)
    X = X[:, np.flatnonzero(np.asarray(X.sum(0)).ravel() > 0)]
    fits = [MultinomialMixture(3, random_state=1, max_iter=3, anneal=False, smoothing=0.0,
                               formulas=formulas).fit(SparseData(SparseData.from_counts(X).csr,
                                                                 threads=t))
            for t in (1, 2)]
    assert asked == [1, 2]
    assert np.array_equal(fits[0].components_, fits[1].components_)
    assert np.array_equal(fits[0].log_likelihood_, fits[1].log_likelihood_)
