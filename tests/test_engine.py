"""The checker on small derivations written here: every claim kind, true and planted-wrong."""

import time

import pytest
import sympy as sp

from symderive import (
    BINARY,
    POSITIVE,
    SIMPLEX,
    D,
    Derivation,
    bsum,
    comp,
    ediv,
    hadamard,
    interval,
    log,
    softmax,
)
from symderive.mutate import mutants, variant
from symderive.report import passes
from symderive.runner import run_claims
from symderive.testing import exact, results, verdicts

# -- a small derivation with every claim kind -----------------------------------------------
d = Derivation("toy", source="tests")
n = d.dim("n")
m = d.dim("m")
i = d.index("i", n)
j = d.index("j", m)
k = d.index("k", m)
A = d.matrix("A", m, m)
B = d.matrix("B", m, m)
x = d.vector("x", m)
u = d.vector("u", m)
z = d.batch("z", m, n)
y = d.batch("y", m, n)
c = d.scalar("c", POSITIVE)
t = d.scalar("t", BINARY)
q = d.scalar("q", interval(0, 1))
p = d.tensor("p", (m,), SIMPLEX)

yhat = d.define("yhat", softmax(z[i]), params=(i,))
L = d.define("L", -bsum(y[i].T * log(yhat[i]), i, 1, n) / n)
y_total = sp.Sum(comp(y[i], j), (j, 1, m))
quad = d.define("quad", x.T * A * x)

EQUAL = d.equal("eq", (A * B).T, B.T * A.T)
GRAD = d.derivative("grad", L, z[i], (y_total * yhat[i] - y[i]) / n)
GRAD_MAT = d.derivative("grad-A", quad, A, x * x.T)
HESS = d.hessian("hess", quad, x, A + A.T)
CHAIN = d.chain("chain", D(L, comp(z[i], k)), [
    sp.Sum(D(L, comp(yhat[i], j)) * D(comp(yhat[i], j), comp(z[i], k)), (j, 1, m)),
    (comp(yhat[i], k) * y_total - comp(y[i], k)) / n,
    (comp(yhat[i], k) * y_total + comp(y[i], k)) / n,   # planted: wrong sign, line 3
    (comp(yhat[i], k) * y_total - comp(y[i], k)) / n,   # right again: not hidden by line 3
], errata={3: "planted sign error"})
BERNOULLI = d.equal("bern", q ** t * (1 - q) ** (1 - t), t * q + (1 - t) * (1 - q))
MAXIMISER = d.stationary("max", c * sp.log(q) + sp.log(1 - q), [q], {q: c / (c + 1)},
                         domain={q: interval(0, 1)})
lam = d.scalar("lam")
STATIONARY_SIMPLEX = d.stationary(
    "simplex", sp.Sum(sp.log(p[k]), (k, 1, m)), [p[k]], {p[k]: 1 / m},
    constraints=[sp.Sum(p[k], (k, 1, m)) - 1])
GIVEN = d.equal("given", lam, m, given=[sp.Sum(p[k], (k, 1, m)) * lam - m],
                unknowns=[lam])
ELEMENTWISE = d.equal("ediv", ediv(hadamard(x, u), u), x)


@pytest.fixture(scope="module")
def toy():
    return results(d, timeout=30)


def test_true_claims_of_every_kind_hold(toy):
    for cid in ("eq", "grad", "grad-A", "hess", "chain.1", "chain.2", "chain.4", "bern",
                "max", "simplex", "given", "ediv"):
        assert toy[cid].verdict in ("proved", "verified"), (cid, toy[cid].message)


def test_small_claims_are_proved_not_merely_sampled(toy):
    for cid in ("eq", "grad", "grad-A", "hess", "bern", "max", "simplex", "ediv"):
        assert exact(toy[cid]), (cid, toy[cid].verdict, toy[cid].message)
        assert any(proof in toy[cid].message for proof in (
            "exactly at", "parameters at", "holds for every size")), toy[cid].message


def test_chain_pinpoints_the_wrong_line_and_keeps_checking(toy):
    assert toy["chain.3"].verdict == "refuted"
    assert toy["chain.3"].expected == "refuted"
    assert exact(toy["chain.4"])
    cx = toy["chain.3"].counterexample
    assert cx["sizes"] == {"n": 2, "m": 2}
    assert cx["lhs"] != cx["rhs"]


def test_verified_needs_two_sizes(toy):
    sizes = toy["grad"].evidence["sampled"]["sizes"]
    assert len({s["n"] for s in sizes}) >= 2 and len({s["m"] for s in sizes}) >= 2
    assert max(s["n"] for s in sizes) >= 6 and max(s["m"] for s in sizes) >= 6
    assert toy["grad"].evidence["sampled"]["points"] >= 5 * len(sizes)
    assert toy["grad"].evidence["digits"] == 50


@pytest.mark.parametrize("claim", [GRAD, GRAD_MAT, HESS, EQUAL, BERNOULLI, MAXIMISER,
                                   ELEMENTWISE], ids=lambda c: c.id)
def test_planted_mistakes_are_refuted(claim):
    planted = mutants(claim)
    assert planted, "no mutation applies"
    got = results(planted, timeout=30)
    for cid, r in got.items():
        assert r.verdict == "refuted", (cid, r.verdict, r.message)
        assert r.counterexample, cid


def test_each_kind_of_mistake():
    """sign flip, transpose, missing factor, swapped symbol, wrong exponent."""
    planted = {
        "sign": variant(GRAD_MAT, "sign", rhs=-(x * x.T)),
        "transpose": variant(EQUAL, "transpose", rhs=A.T * B.T),
        "factor": variant(HESS, "factor", rhs=A.T),
        "swap": variant(GRAD_MAT, "swap", rhs=x * u.T),
        "exponent": variant(BERNOULLI, "exponent", rhs=t * q ** 2 + (1 - t) * (1 - q)),
        "max-swap": variant(MAXIMISER, "swap", point={q: 1 / (c + 1)}),
        "max-sign": variant(MAXIMISER, "sign", point={q: -c / (c + 1)}),
        "chain-factor": variant(CHAIN[1], "factor", rhs=comp(yhat[i], k) * y_total - comp(y[i], k)),
        "given": variant(GIVEN, "factor", rhs=2 * m),
    }
    got = results(planted.values(), timeout=30)
    for name, claim in planted.items():
        r = got[claim.id]
        assert r.verdict == "refuted", (name, r.verdict, r.message)


def test_counterexample_is_small_and_readable():
    r = results([variant(GRAD_MAT, "sign", rhs=-(x * x.T))], timeout=30)["grad-A~sign"]
    cx = r.counterexample
    assert cx["sizes"] == {"m": 2}
    values = [sp.Rational(v) for v in cx["values"].values()]
    assert all(abs(v.q) <= 6 and abs(v) <= 5 for v in values)
    assert cx["entries"] and {"entry", "lhs", "rhs"} <= set(cx["entries"][0])
    assert cx["differing"] >= 1 and cx["total"] == 4


def test_transpose_shape_mismatch_is_a_refutation():
    e = Derivation("shapes")
    a, b = e.dim("a", sizes=(2, 3)), e.dim("b", sizes=(3, 2))
    M = e.matrix("M", a, b)
    e.equal("T", M, M.T)
    r = results(e, timeout=20)["T"]
    assert r.verdict == "refuted"
    assert "3x2" in r.message or "2x3" in r.message


def test_not_a_maximiser_is_refuted():
    e = Derivation("gan-like")
    a, b = e.scalar("a"), e.scalar("b")
    xx = e.scalar("x", interval(0, 1, closed=True))
    e.stationary("any-ab", a * sp.log(xx) + b * sp.log(1 - xx), [xx], {xx: a / (a + b)},
                 domain={xx: interval(0, 1, closed=True)})
    r = results(e, timeout=20)["any-ab"]
    assert r.verdict == "refuted"
    assert r.counterexample["message"]


def test_erratum_that_holds_fails_the_run():
    e = Derivation("wrongly-marked")
    xx = e.scalar("x")
    claim = e.equal("ok", (xx + 1) ** 2, xx ** 2 + 2 * xx + 1, erratum="not really wrong")
    r = run_claims([claim], timeout=20)[0]
    assert r.verdict == "proved" and not passes(r)


# -- budgets ---------------------------------------------------------------------------------
#: CPU seconds a runaway evaluation would take if its budget did not stop it
BURN = 120


def _burn(seconds: float) -> None:
    """Busy work of ``seconds`` CPU seconds (the budget counts CPU seconds, so a sleep
    would not use it up; counted in CPU, so that on a loaded machine the work left undone
    by a budget that failed to stop it still shows in the wall time)."""
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


class Slow(sp.Function):
    """A function that takes a long time to evaluate at numbers (a stand-in for a heavy
    integral or a huge instance)."""

    @classmethod
    def eval(cls, arg):
        if arg.is_Number:
            _burn(BURN)
            return arg


def test_slow_claim_ends_undecided_within_budget():
    e = Derivation("slow")
    xx = e.scalar("x")
    claim = e.equal("slow", Slow(xx), xx)
    start = time.perf_counter()
    r = run_claims([claim], timeout=1.5)[0]
    assert r.verdict == "undecided"
    assert "1.5 CPU s" in r.message
    assert r.evidence["scope"] is None and r.evidence["sampled"] == {"sizes": [], "points": 0}
    assert r.evidence["seed"] is None   # nothing was sampled
    # the claim burns BURN CPU seconds, at least that long in wall time; the budget (a
    # few CPU seconds) stops it long before, even on a machine so loaded that a CPU
    # second takes several seconds of wall time
    assert time.perf_counter() - start < BURN / 2


def test_runaway_proof_keeps_the_sampling_evidence(monkeypatch):
    def runaway_simplify(*args, **kwargs):  # stands in for a simplify that never ends
        _burn(BURN)

    monkeypatch.setattr("symderive.check.equality.is_zero", runaway_simplify)  # workers are forked
    e = Derivation("runaway")
    xx = e.scalar("x", POSITIVE)
    claim = e.equal("runaway", sp.sqrt(xx) ** 2, xx)
    start = time.perf_counter()
    r = run_claims([claim], timeout=2)[0]
    # the claim burns BURN CPU seconds, at least that long in wall time; the budget (a
    # few CPU seconds) stops it long before, even on a machine so loaded that a CPU
    # second takes several seconds of wall time
    assert time.perf_counter() - start < BURN / 2
    assert r.verdict == "verified"
    assert "did not finish within 2 CPU s" in r.message
    ev = r.evidence   # the evidence of the sampling phase survives the killed worker
    assert ev["scope"] is None and ev["proved_sizes"] == []
    assert ev["method"] == "sampling" and ev["sampled"]["points"] >= 20
    assert ev["sampled"]["sizes"] == [{}] * len(ev["sampled"]["sizes"])  # a scalar claim
    assert ev["seed"] == 0


def test_restated_claims_are_checked_once():
    e = Derivation("twice")
    xx = e.scalar("x")
    a = e.equal("1", (xx + 1) ** 2, xx ** 2 + 2 * xx + 1)
    b = e.equal("9", (xx + 1) ** 2, xx ** 2 + 2 * xx + 1)
    first, second = run_claims([a, b], timeout=20)
    assert first.verdict == second.verdict == "proved"
    assert "same statement as claim 1" in second.message


def test_error_verdict_names_the_problem():
    e = Derivation("broken")
    M = sp.MatrixSymbol("undeclared", 2, 2)
    r = run_claims([e.equal("e", M, M)], timeout=20)[0]
    assert r.verdict == "error"
    assert "undeclared" in r.message


def test_verdicts_helper():
    e = Derivation("tiny")
    xx = e.scalar("x", POSITIVE)
    e.equal("log", sp.log(xx ** 2), 2 * sp.log(xx))
    assert verdicts(e, timeout=20) == {"log": "proved"}
