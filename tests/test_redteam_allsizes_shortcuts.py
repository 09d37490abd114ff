"""Red team for the size-generic prover's shortcuts (issue 10, speed).

Three shortcuts spare SymPy's re-evaluation: a sum's variable is renamed to its
canonical one without evaluation (``rename.rename``), derivatives skip ``sympy.diff``'s
wrapper (``calculus.diff``), and ``Sigma`` answers no assumption query.  Each is checked
against what it replaces, and false claims that a careless version would prove must stay
unproved (each shown false at a witness first).
"""

from __future__ import annotations

import sympy as sp

from symderive import Derivation
from symderive.check.allsizes import prove_all_sizes
from symderive.check.allsizes.calculus import diff
from symderive.check.allsizes.rename import rename
from symderive.check.allsizes.sigma import Sigma
from symderive.check.allsizes.zero import CANON, ZeroTest

n = sp.Symbol("n", integer=True, positive=True)
V = sp.IndexedBase("V", real=True)
W = sp.IndexedBase("W", real=True)
k = sp.Dummy("k", integer=True)
j = sp.Dummy("j", integer=True)
c0, c1 = CANON[0], CANON[1]


def test_a_captured_variable_is_never_renamed_into():
    # sum_k sum_c V[k] W[c] = (sum V)(sum W), not n sum_c V[c] W[c]: renaming k to the
    # canonical c0 inside a sum over c0 would capture it (xreplace did, unguarded)
    lhs = Sigma(Sigma(V[k] * W[c0], (c0, 1, n)), (k, 1, n))
    rhs = n * Sigma(V[c0] * W[c0], (c0, 1, n))
    explicit = sum(V[a] * W[b] for a in (1, 2) for b in (1, 2)) \
        - 2 * sum(V[a] * W[a] for a in (1, 2))
    assert explicit.subs({V[1]: 1, V[2]: 0, W[1]: 0, W[2]: 1}) != 0  # false at n = 2
    assert ZeroTest({}, lambda e: False).zero(lhs - rhs) is False
    assert rename(V[k] * Sigma(W[c0], (c0, 1, n)), k, c0) is None  # bound c0
    assert rename(V[k] * W[c0], k, c0) is None  # free c0: k and c0 would merge


def test_a_rename_builds_what_xreplace_builds():
    exprs = [
        V[k] * W[k] + 3 * V[j] - sp.exp(V[k] + 2) / (1 + V[k] ** 2),
        sp.KroneckerDelta(k, j) * V[k] * sp.log(W[k, j]) + sp.sqrt(V[k] + W[j]),
        Sigma(V[k] * W[c1] + sp.KroneckerDelta(c1, k), (c1, 1, n)) * (V[k] - 1) ** -2,
        2 * (V[k] + V[j]) ** 3 - sp.Rational(1, 2) * k,
    ]
    for e in exprs:
        assert rename(e, k, c0) == e.xreplace({k: c0})


def test_derivatives_are_sympys():
    a = sp.Symbol("a", integer=True)
    x = sp.Symbol("x", real=True)
    f = Sigma(sp.exp(V[k] * x) * W[k, a] ** 2 / (1 + Sigma(V[j] ** 2, (j, 1, n))), (k, 1, n))
    for wrt in (V[a], W[a, a], x):
        assert diff(f, wrt) == sp.diff(f, wrt)
    # a sum is not differentiable in its length: the derivative stays unevaluated
    assert diff(Sigma(V[k] * n, (k, 1, n)), n).has(sp.Derivative)


d = Derivation("redteam_allsizes_shortcuts")
m = d.dim("m")
i = d.index("i", m)
v = d.tensor("v", (m,))
S = sp.Sum(v[i], (i, 1, m))
E = sp.Sum(v[i] * sp.exp(v[i]), (i, 1, m))


def test_false_claims_that_need_a_sign_stay_unproved():
    # Sigma answers no sign or reality query: nothing may be concluded from that
    false = {
        "sqrt-square": (sp.sqrt(S ** 2), S),  # -1 at v = (-1,)
        "abs": (sp.Abs(E), E),  # |-1/e| != -1/e at v = (-1,)
        "log-exp-imaginary": (sp.log(sp.exp(sp.I * 4 * S)), sp.I * 4 * S),  # 4i vs 4i-2pi i
    }
    for name, (lhs, rhs) in false.items():
        expl = (lhs - rhs).replace(lambda e: isinstance(e, sp.Sum),
                                   lambda e: e.function.subs(i, 1)).subs(v[1], -1)
        assert abs(sp.N(expl, 30)) > 1e-10, name
        assert prove_all_sizes(d.equal(name, lhs, rhs)) is None, name
    # controls: true for every real entry
    assert prove_all_sizes(d.equal("sqrt-square-true", sp.sqrt(S ** 2), sp.Abs(S)))
    assert prove_all_sizes(d.equal("log-exp-true", sp.log(sp.exp(S)), S))
