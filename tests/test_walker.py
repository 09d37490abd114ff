"""The two backends of the walker agree on every node kind, at random points.

The exact backend (:class:`Instantiator`) builds SymPy entries; the numeric one
(:class:`NumericInstantiator`) computes mpmath numbers.  Both are evaluated here at the
same random rational points and must agree to the checker's tolerance.  The table of
expressions must reach every ``scalar_<Node>`` / ``matrix_<Node>`` method of both
backends: a new node without an example here fails ``test_every_node_kind_is_covered``.
"""

from __future__ import annotations

import random

import mpmath
import pytest
import sympy as sp

from symderive import D, Derivation, E, H, frobenius
from symderive.check.instances import all_entries
from symderive.evaluate import NumericInstantiator, key_of
from symderive.instantiate import Instantiator
from symderive.nodes import indicator, relu, sigmoid
from symderive.numeric import agree, to_mp
from symderive.ops import bcast, bsum, comp, epow, hadamard, ones, softmax
from symderive.ops import exp as eexp
from symderive.ops import log as elog
from symderive.ops import relu as erelu
from symderive.ops import sigmoid as esigmoid
from symderive.ops import sqrt as esqrt
from symderive.walker import Walker

d = Derivation("walker")
n = d.dim("n")
m = d.dim("m")
x = d.scalar("x")
y = d.scalar("y")
v = d.vector("v", n)
w = d.vector("w", n)
A = d.matrix("A", n, m)
S = d.matrix("S", n, n)
X = d.batch("X", n, m)
i = d.index("i", m)
k, t = sp.Symbol("k", integer=True), sp.Symbol("t")
u = d.define("u", A.T * v)                      # a matrix definition (DefRef)
s = d.define("s", x * y + 1)                    # a scalar definition
q = d.define("q", sp.Sum(comp(u, k) ** 2, (k, 1, m)) + s)

CASES = {
    # scalars
    "numbers": sp.pi * x + sp.Rational(1, 3) + sp.Float("0.25", 60) * x + 2 * y,
    "imaginary unit": (x + sp.I) * (y - sp.I),   # compared on the real part
    "powers": x ** 3 + sp.sqrt(y) + x ** y + x ** -2,
    "functions": sp.exp(x) + sp.log(y) + sp.cos(x) + sp.atan(y),
    "kinks": sigmoid(x) + relu(x) + indicator(x - sp.Rational(1, 2)),
    "piecewise": sp.Piecewise((x, x > 2), (x ** 2, True)),
    "kinked functions": sp.Abs(x - 3) + sp.sign(y - 1) + sp.Max(x, y) + sp.Min(x, 2)
    + sp.floor(x) + sp.ceiling(y) + sp.Heaviside(x - 1),
    "sum and product": sp.Sum(comp(v, k) ** 2, (k, 1, n)) + sp.Product(comp(w, k), (k, 1, n)),
    "integral": sp.Integral(t ** 2 * x + t * y, (t, 0, 1)),
    # s depends on the declared x: the bound x is renamed, s keeps meaning the outer x
    "integral binding a definition's variable": sp.Integral(s * x, (x, 0, 1)),
    "scalar derivative": D(x ** 2 * y + sp.log(s), x),
    "definitions": q + s,
    "indexed": sp.Sum(sp.IndexedBase("A")[1, k], (k, 1, m)),
    # matrices
    "leaves and products": 2 * A.T * v + A.T * w,
    "transpose": v.T * w,
    "hadamard": hadamard(v, w) + epow(v, 2),
    "elementwise": eexp(v) + elog(w) + esqrt(v) + esigmoid(w) + erelu(v),
    "broadcast and ones": bcast(x, n) + ones(n),
    "softmax": softmax(v),
    "batch": bsum(hadamard(X[i], v), i, 1, m) + X[1],
    "empty batch sum": bsum(X[i], i, m + 1, m) + X[1],  # the empty range is 0
    "constants": sp.Identity(n),
    "zeros": sp.ZeroMatrix(n, m),
    "gradient": D(x * (v.T * w), v),
    "jacobian": D(esigmoid(v), v),
    "hessian": H(v.T * v * w.T * v, v),
    "derivative by a definition": D(q, u),
    "derivative holding a definition": D(q, v, holding=[u]),
    # SymPy's matrix calculus
    "trace and determinant": sp.Trace(S * S.T) + sp.log(sp.Determinant(S * S.T)) + sp.det(S)
    + frobenius(A),
    "inverse and powers": S.I * v + S ** -1 * w + S ** 2 * v + sp.Inverse(S.T) * v,
    "1x1 products": (v.T * w - x) ** 2 + sp.exp(v.T * S * v / 10) + sp.log(w.T * w),
    "diagonal": sp.DiagMatrix(v) * S + sp.DiagonalMatrix(S) + sp.DiagMatrix(sp.DiagonalOf(S)),
    "matrix element": S[0, 1] * v,
    # SymPy's entry of an identity is a delta with a range: 0 outside it (here at k = n)
    "delta": sp.Sum(sp.Identity(n)[k, 1] * comp(v, k + 1) + sp.KroneckerDelta(k, 0)
                    * comp(w, k + 1), (k, 0, n - 1))
    + x * sp.Sum(sp.KroneckerDelta(k, n, (0, n - 1)) + sp.KroneckerDelta(k, 1, (0, n - 1)),
                 (k, 0, n)),
    "expectation": E(t ** 2 * x + t, t, sp.exp(-t ** 2 / 2) / sp.sqrt(2 * sp.pi)),
    "gradient of a log-determinant": D(sp.log(sp.Determinant(S * S.T)), S),
}


def _values(sizes: dict, rng: random.Random) -> dict:
    """Every entry of every variable: a random rational in [1, 3] (so logs, roots and
    kinks are well away from their edges)."""
    leaves = all_entries(Instantiator(d, sizes), d.vars.values())
    return {leaf: sp.Rational(rng.randint(100, 300), 100) for leaf in leaves}


def _exact(expr, sizes: dict, point: dict) -> list:
    M = Instantiator(d, sizes).explicit(expr)
    with mpmath.workdps(100):
        return [to_mp(sp.sympify(e).xreplace(point)) for e in M]


def _numeric(expr, sizes: dict, point: dict) -> list:
    with mpmath.workdps(100):
        values = {key_of(k): mpmath.mpf(int(v.p)) / int(v.q) for k, v in point.items()}
        M = NumericInstantiator(d, sizes, values).matrix(expr, {}, frozenset())
        return list(M.data)


@pytest.mark.parametrize("name", list(CASES))
def test_backends_agree(name):
    rng = random.Random(name)
    for sizes in ({n: 2, m: 3}, {n: 3, m: 2}):
        point = _values(sizes, rng)
        exact = _exact(CASES[name], sizes, point)
        numeric = _numeric(CASES[name], sizes, point)
        assert len(exact) == len(numeric) > 0
        with mpmath.workdps(100):
            for a, b in zip(exact, numeric):
                assert agree(a, b), (name, sizes, a, b)


def _backend_nodes(cls: type) -> set[str]:
    return {attr.partition("_")[2] for attr in vars(cls)
            if attr.startswith(("scalar_", "matrix_")) and not attr.endswith("_default")
            and attr != "matrix_sum"}  # a helper, not a node


def test_every_node_kind_is_covered():
    reached: set[str] = set()
    for expr in CASES.values():
        for node in sp.preorder_traversal(expr):
            reached |= {c.__name__ for c in type(node).__mro__}
    for cls in (Walker, Instantiator, NumericInstantiator):
        missing = _backend_nodes(cls) - reached
        assert not missing, f"{cls.__name__}: no example of {sorted(missing)} in CASES"


def test_binding_rules_are_written_once():
    """The binders' rules (no capture under an Integral, an empty sum is 0) live in the
    shared walker; a backend supplies only the integration and the index arithmetic."""
    for name in ("scalar_Integral", "unclash", "matrix_BatchSum"):
        assert name in vars(Walker)
        for cls in (Instantiator, NumericInstantiator):
            assert name not in vars(cls), (cls.__name__, name)


def test_definition_under_an_integral_keeps_its_own_variable():
    sizes = {n: 2, m: 2}
    expr = CASES["integral binding a definition's variable"]
    point = {x: sp.Integer(2), y: sp.Integer(3)}
    exact = sp.Integral(*Instantiator(d, sizes).explicit(expr)[0].args).doit()
    assert exact.xreplace(point) == sp.Rational(7, 2)  # (x y + 1)/2, not 1/3 y + 1/2
    assert agree(_numeric(expr, sizes, point)[0], mpmath.mpf(7) / 2)


def test_empty_batch_sum_is_zero_in_both_backends():
    sizes = {n: 2, m: 2}
    expr = bsum(X[i], i, m + 1, m)
    assert Instantiator(d, sizes).explicit(expr) == sp.zeros(2, 1)
    assert _numeric(expr, sizes, {}) == [0, 0]


def test_dispatch_follows_the_class_hierarchy():
    """``Dummy`` has no method of its own: it is handled as the ``Symbol`` it is."""
    inst = Instantiator(d, {n: 2, m: 2})
    dummy = sp.Dummy("z")
    assert inst._method("scalar", dummy) is Instantiator.scalar_Symbol
    assert inst.scalar(dummy, {}, frozenset()) == dummy
    assert issubclass(Instantiator, Walker) and issubclass(NumericInstantiator, Walker)


def test_a_planted_backend_mistake_is_caught():
    """The agreement test can fail: a numeric softmax without normalisation disagrees."""
    class Wrong(NumericInstantiator):
        def matrix_Softmax(self, e, env, cuts):
            return self.matrix(e.arg, env, cuts).map(mpmath.exp)

    sizes = {n: 2, m: 2}
    point = _values(sizes, random.Random(1))
    exact = _exact(softmax(v), sizes, point)
    with mpmath.workdps(100):
        values = {key_of(k): mpmath.mpf(int(p.p)) / int(p.q) for k, p in point.items()}
        wrong = Wrong(d, sizes, values).matrix(softmax(v), {}, frozenset()).data
        assert not all(agree(a, b) for a, b in zip(exact, wrong))
