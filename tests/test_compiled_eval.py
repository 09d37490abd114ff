"""The compiled paths of the numeric evaluator compute exactly what the walk computes.

:func:`symderive.evaluate.compile_plain` turns an explicit expression into a closure of
the point's values; it must give the very same mpmath numbers as walking the expression
(same operations, same order, same precision), at every node kind it covers, and the
evaluator must count the same work whichever path it takes (work decides the sizes
sampled)."""

from __future__ import annotations

import random

import mpmath
import pytest
import sympy as sp
from em_point import evaluated_at_a_point
from test_walker import CASES, X, _values, d, i, m, n, q, s, u, v, w, x, y

import symderive.evaluate as evaluate
import symderive.invariant as invariant
from symderive import D
from symderive.evaluate import NumericInstantiator, compile_plain, key_of, raised_precision
from symderive.instantiate import Instantiator
from symderive.ops import bsum, comp, hadamard, softmax
from symderive.ops import exp as eexp
from symderive.walker import Walker

#: cases whose explicit entries are plain arithmetic: the closure must cover them
PLAIN = ("numbers", "imaginary unit", "powers", "functions", "sum and product", "indexed",
         "leaves and products", "transpose", "1x1 products")


def _walked_and_compiled(name: str, sizes: dict, digits: int = 100):
    rng = random.Random(name)
    point = _values(sizes, rng)
    entries = Instantiator(d, sizes).explicit(CASES[name])
    with mpmath.workdps(digits):
        values = {key_of(k): mpmath.mpf(int(p.p)) / int(p.q) for k, p in point.items()}
        inst = NumericInstantiator(d, sizes, values)
        out = []
        for entry in entries:
            entry = sp.sympify(entry)
            fast = compile_plain(inst, entry)
            walked = inst.scalar(entry, {}, frozenset())
            out.append((walked, None if fast is None else fast(values)))
    return out


@pytest.mark.parametrize("name", list(CASES))
def test_a_compiled_entry_is_exactly_the_walked_one(name):
    for sizes in ({n: 2, m: 3}, {n: 3, m: 2}):
        for digits in (100, 200):
            pairs = _walked_and_compiled(name, sizes, digits)
            for walked, fast in pairs:
                if fast is not None:
                    assert fast == walked and type(fast) is type(walked), (name, fast, walked)
            if name in PLAIN:
                assert all(fast is not None for _, fast in pairs), name


def test_a_kinked_entry_is_left_to_the_walk():
    """Kinks are guarded by the walker's methods (near_kink): never compiled."""
    pairs = _walked_and_compiled("kinked functions", {n: 2, m: 2})
    assert pairs and all(fast is None for _, fast in pairs)


def test_a_planted_compiler_mistake_is_caught(monkeypatch):
    """The exact comparison can fail: compiled powers of 53-bit floats disagree."""
    monkeypatch.setattr(evaluate, "_as_mpf", float)
    pairs = _walked_and_compiled("powers", {n: 2, m: 2})
    assert any(fast != walked for walked, fast in pairs)


class _NoStore(dict):
    """A cache that keeps nothing: every fallback value made anew."""

    def __setitem__(self, key, value):
        pass


@pytest.mark.parametrize("claim_id", ["41.1", "39", "42.1"])
def test_symbolic_nodes_same_values_and_work_compiled_or_walked(claim_id, monkeypatch):
    run = evaluated_at_a_point(claim_id, 7)

    evaluate._COMPILED.clear()
    evaluate._FALLBACK.clear()
    compiled = run()
    assert any(f is not None for f in evaluate._COMPILED.values())  # the path is taken
    fallbacks = len(evaluate._FALLBACK)
    with raised_precision():
        compiled_fine = run()
    monkeypatch.setattr(evaluate, "_compiled", lambda *a: None)
    monkeypatch.setattr(evaluate, "_FALLBACK", _NoStore())
    walked = run()
    with raised_precision():
        walked_fine = run()
    assert compiled[0] is not None and len(compiled[0]) > 0
    assert compiled == walked
    assert compiled_fine == walked_fine
    if claim_id == "42.1":  # topic-of-document at integer arguments: made once each
        assert 0 < fallbacks < 50


def _random_matrix(rng: random.Random, rows: int, cols: int, kind: str = "real"):
    def entry():
        x = mpmath.mpf(rng.randint(-10**6, 10**6)) / rng.randint(1, 10**6)
        x = x * mpmath.exp(rng.randint(-30, 30))
        if kind == "complex" and rng.random() < 0.5:
            return mpmath.mpc(x, 1)
        if kind == "int" and rng.random() < 0.5:
            return rng.randint(-5, 5)
        return x
    return evaluate.Matrix(rows, cols, [entry() for _ in range(rows * cols)])


@pytest.mark.parametrize("kind", ["real", "complex", "int"])
@pytest.mark.parametrize("digits", [50, 100, 200])
def test_matrix_arithmetic_is_mpmaths_own(kind, digits):
    """The raw fast paths of Matrix give exactly what mpmath's operators and fdot give."""
    rng = random.Random(f"{kind}{digits}")
    with mpmath.workdps(digits):
        for _ in range(5):
            A = _random_matrix(rng, 3, 4, kind)
            B = _random_matrix(rng, 3, 4, kind)
            C = _random_matrix(rng, 4, 2, kind)
            pairs = list(zip(A.data, B.data))
            assert (A + B).data == [x + y for x, y in pairs]
            assert (A - B).data == [x - y for x, y in pairs]
            assert A.hadamard(B).data == [x * y for x, y in pairs]
            expected = [mpmath.fdot(A.data[a * 4:(a + 1) * 4], C.data[b::2])
                        for a in range(3) for b in range(2)]
            assert (A @ C).data == expected
            assert all(type(x) is type(y) for x, y in zip((A @ C).data, expected))


def test_a_planted_arithmetic_mistake_is_caught(monkeypatch):
    """The comparison above can fail: a fast path rounding each product disagrees."""
    monkeypatch.setattr(evaluate, "mpf_sum", lambda terms, prec, rnd: mpmath.libmp.mpf_add(
        mpmath.libmp.mpf_add(terms[0], terms[1], prec, rnd),
        mpmath.libmp.mpf_add(terms[2], terms[3], prec, rnd), prec, rnd))
    rng = random.Random(3)
    with mpmath.workdps(50):
        A, C = _random_matrix(rng, 3, 4), _random_matrix(rng, 4, 2)
        expected = [mpmath.fdot(A.data[a * 4:(a + 1) * 4], C.data[b::2])
                    for a in range(3) for b in range(2)]
        assert (A @ C).data != expected


class _Reference(NumericInstantiator):
    """The evaluator as it was before its hot paths were inlined: one visit counted per
    scalar(), matrix() and int_of() call, dispatch through the walker, no compiled
    nodes.  The inlined evaluator must count exactly the same work (it decides which
    sizes are sampled) and compute exactly the same values."""

    def scalar(self, e, env, cuts):
        evaluate._tick()
        return Walker.scalar(self, e, env, cuts)

    def matrix(self, e, env, cuts):
        evaluate._tick()
        return Walker.matrix(self, e, env, cuts)

    def int_of(self, e, env):
        if type(e) is sp.Symbol and type(env.get(e)) is int:
            evaluate._tick()
            return env[e]
        if type(e) is int:
            evaluate._tick()
            return e
        value = self.scalar(sp.sympify(e), env, frozenset())
        if isinstance(value, int):
            return value
        if isinstance(value, mpmath.mpf) and value == int(value):
            return int(value)
        raise evaluate.InstantiationError(f"{e} is not an integer here ({value})")

    def scalar_Indexed(self, e, env, cuts):
        idx = tuple(self.int_of(i, env) for i in e.indices)
        label = e.base.label
        if label in self.d.defs:
            if label in cuts:
                return self._held(label, idx).data[0]
            return self.definition(label, idx, cuts).data[0]
        return self._leaf((str(label), idx))


    def matrix_DefRef(self, e, env, cuts):
        idx = tuple(self.int_of(i, env) for i in e.indices)
        if e.token in cuts:
            return self._held(e.token, idx)
        return self.definition(e.token, idx, cuts)


def _values_and_work(cls, name: str, sizes: dict):
    point = _values(sizes, random.Random(name))
    with mpmath.workdps(100):
        values = {key_of(k): mpmath.mpf(int(p.p)) / int(p.q) for k, p in point.items()}
        evaluate.work_limit(None)
        M = cls(d, sizes, values).matrix(CASES[name], {}, frozenset())
        return list(M.data), evaluate.work_done()


@pytest.mark.parametrize("name", list(CASES))
def test_inlined_evaluator_counts_and_computes_as_the_plain_walk(name, monkeypatch):
    for sizes in ({n: 2, m: 3}, {n: 3, m: 2}):
        fast = _values_and_work(NumericInstantiator, name, sizes)
        with monkeypatch.context() as patch:
            patch.setattr(evaluate, "_compiled", lambda *a: None)
            # the perturbed instances of numeric derivatives are of the reference too
            patch.setattr(evaluate, "NumericInstantiator", _Reference)
            plain = _values_and_work(_Reference, name, sizes)
        assert fast == plain, name
        assert fast[1][0] > 0


def test_a_planted_counting_mistake_is_caught():
    """The comparison can fail: an evaluator that does not count index visits differs."""
    class Uncounted(NumericInstantiator):
        def int_of(self, e, env):
            saved = evaluate._STATE[1]
            out = super().int_of(e, env)
            evaluate._STATE[1] = saved
            return out

    sizes = {n: 2, m: 3}
    assert (_values_and_work(Uncounted, "leaves and products", sizes)[1]
            != _values_and_work(NumericInstantiator, "leaves and products", sizes)[1])


# -- loop-invariant subterms of sums (symderive.invariant) ------------------------------
Ai = sp.IndexedBase("A")
j, r = sp.Symbol("j", integer=True), sp.Symbol("r", integer=True)
k = sp.Symbol("k", integer=True)

#: sums whose summands hold subterms that miss an index bound around them
REUSE_CASES = {
    # the log-sum-exp of row j, inside the sum over k
    "log-sum-exp per row": sp.Sum(sp.Sum(
        Ai[j, k] * (Ai[j, k] - sp.log(sp.Sum(sp.exp(Ai[j, r]), (r, 1, m)))),
        (k, 1, m)), (j, 1, n)),
    # definitions (q, s) computed inside the reused subterm: a second walk finds them
    # cached, so reuse must not charge their bodies again
    "definitions inside": sp.Sum(comp(v, k) * (q + s * sp.log(x + s)), (k, 1, n)),
    # depends on the inner index only: reused across the outer one
    "inner index only": sp.Sum(sp.Sum(Ai[j, k] * sp.exp(comp(u, k)), (k, 1, m)), (j, 1, n)),
    "batch sum": bsum(hadamard(X[i], eexp(v)), i, 1, m) + X[1],
    "product": sp.Product(comp(w, k) + sp.exp(x * y), (k, 1, n)),
    # a numeric derivative is never inside a reused subterm; one around a sum is
    "derivative in the summand": sp.Sum(comp(v, k) * (sp.log(s) + D(x ** 2 * y, x)),
                                        (k, 1, n)),
    "sum in a derivative": D(sp.Sum(comp(v, k) * sp.exp(x * y + s), (k, 1, n)), x),
    "gradient of a sum": D(sp.Sum(comp(v, k) * sp.log(v.T * w + s), (k, 1, n)), w),
}

SIZES = ({n: 2, m: 3}, {n: 3, m: 2})


def _run(cls, expr, sizes: dict, limit: int | None = None):
    """Values and counted work of ``expr`` at the point of ``_values`` (seeded)."""
    point = _values(sizes, random.Random("reuse"))
    with mpmath.workdps(100):
        values = {key_of(k): mpmath.mpf(int(p.p)) / int(p.q) for k, p in point.items()}
        evaluate.work_limit(limit)
        try:
            M = cls(d, sizes, values).matrix(expr, {}, frozenset())
        finally:
            done = evaluate.work_done()
            evaluate.work_limit(None)
        return list(M.data), done


def _reference(expr, sizes: dict, monkeypatch, limit: int | None = None):
    with monkeypatch.context() as patch:
        patch.setattr(evaluate, "_compiled", lambda *a: None)
        patch.setattr(evaluate, "NumericInstantiator", _Reference)
        return _run(_Reference, expr, sizes, limit)


@pytest.mark.parametrize("name", list(REUSE_CASES))
def test_reuse_counts_and_computes_as_the_plain_walk(name, monkeypatch):
    """Values bit for bit and work visit for visit, as the walk without reuse."""
    for sizes in SIZES:
        invariant.forget()
        fast = _run(NumericInstantiator, REUSE_CASES[name], sizes)
        assert invariant.MARKED, name  # something is reused
        assert fast == _reference(REUSE_CASES[name], sizes, monkeypatch), name
        assert fast[1][0] > 0
        if "derivative" in name:
            assert fast[1][1] > 0  # work inside numeric derivatives counted too


def test_reuse_computes_an_invariant_once_per_index_value(monkeypatch):
    """The log-sum-exp of a row is computed once per row, not once per entry."""
    calls = []
    exp = evaluate.FUNCTIONS[sp.exp]
    monkeypatch.setitem(evaluate.FUNCTIONS, sp.exp, lambda a: calls.append(a) or exp(a))
    sizes = {n: 2, m: 3}
    _run(NumericInstantiator, REUSE_CASES["log-sum-exp per row"], sizes)
    assert len(calls) == 2 * 3  # rows x entries per row, not rows x 3 x 3
    calls.clear()
    _reference(REUSE_CASES["log-sum-exp per row"], sizes, monkeypatch)
    assert len(calls) == 2 * 3 * 3


def test_work_does_not_depend_on_what_is_marked_or_cached(monkeypatch):
    """Marks kept from earlier evaluations, or none at all, change nothing counted."""
    expr = REUSE_CASES["definitions inside"]
    sizes = {n: 3, m: 2}
    cold = _run(NumericInstantiator, expr, sizes)
    for other in REUSE_CASES.values():
        _run(NumericInstantiator, other, sizes)
    assert _run(NumericInstantiator, expr, sizes) == cold
    monkeypatch.setattr(evaluate, "mark_invariants", lambda e: None)
    invariant.forget()
    assert _run(NumericInstantiator, expr, sizes) == cold


def test_a_reuse_past_the_work_limit_raises(monkeypatch):
    """A limit crossed by the visits a reuse charges raises WorkLimit, as the walk
    does when it crosses the limit inside the same subterm; below the total, every
    limit raises, at the total none does."""
    expr, sizes = REUSE_CASES["log-sum-exp per row"], {n: 2, m: 3}
    total = _run(NumericInstantiator, expr, sizes)[1][0]
    charges = []
    tick = evaluate._tick

    def recorded(steps=1):
        if steps > 1:
            charges.append((evaluate._STATE[1], steps))
        tick(steps)
    monkeypatch.setattr(evaluate, "_tick", recorded)
    _run(NumericInstantiator, expr, sizes)
    assert charges  # reuses charged their work
    before, steps = charges[-1]
    for limit in (before + 1, before + steps - 1, total - 1, total // 2, 0):
        with pytest.raises(evaluate.WorkLimit):
            _run(NumericInstantiator, expr, sizes, limit)
        with pytest.raises(evaluate.WorkLimit):
            _reference(expr, sizes, monkeypatch, limit)
    assert _run(NumericInstantiator, expr, sizes, total)[1][0] == total


def test_a_memo_keyed_without_its_index_is_caught(monkeypatch):
    """The comparison can fail: reusing the log-sum-exp of row 1 for every row gives
    other values."""
    marking = evaluate.mark_invariants

    def careless(e):
        marking(e)
        for key, (node, _) in list(invariant.MARKED.items()):
            invariant.MARKED[key] = (node, ())
    monkeypatch.setattr(evaluate, "mark_invariants", careless)
    invariant.forget()
    expr, sizes = REUSE_CASES["log-sum-exp per row"], {n: 2, m: 3}
    wrong = _run(NumericInstantiator, expr, sizes)
    invariant.forget()
    assert wrong[0] != _reference(expr, sizes, monkeypatch)[0]


class _Frozen(list):
    """A counter that keeps nothing written to it."""

    def __setitem__(self, key, value):
        pass


def test_a_reuse_charging_cached_definitions_again_is_caught(monkeypatch):
    """The comparison can fail: charging a reused subterm its first walk's work
    (definitions computed inside it included) over-counts."""
    expr, sizes = REUSE_CASES["definitions inside"], {n: 3, m: 2}
    monkeypatch.setattr(evaluate, "_ABSORBED", _Frozen([0]))
    over = _run(NumericInstantiator, expr, sizes)
    monkeypatch.undo()
    plain = _reference(expr, sizes, monkeypatch)
    assert over[0] == plain[0] and over[1][0] > plain[1][0]


@pytest.mark.parametrize("claim_id", ["42.1", "44.1", "DA.2"])
def test_homework_claims_same_values_and_work_with_or_without_reuse(claim_id,
                                                                     monkeypatch):
    run = evaluated_at_a_point(claim_id, 11)
    with_reuse = run()
    monkeypatch.setattr(evaluate, "mark_invariants", lambda e: None)
    invariant.forget()
    assert run() == with_reuse
    assert with_reuse[1][0] > 0


def test_a_derivative_inside_a_reused_subterm_is_caught(monkeypatch):
    """The comparison can fail: a numeric derivative is cached by the instance (a second
    walk counts one visit for it), so a reuse charging its whole first computation
    over-counts: derivatives are never marked."""
    monkeypatch.setattr(invariant, "UNSAFE", ())
    invariant.forget()
    expr, sizes = REUSE_CASES["derivative in the summand"], {n: 2, m: 3}
    over = _run(NumericInstantiator, expr, sizes)
    invariant.forget()
    assert over[1][0] > _reference(expr, sizes, monkeypatch)[1][0]


@pytest.mark.parametrize("kind", ["real", "complex", "int"])
@pytest.mark.parametrize("digits", [50, 100, 200])
def test_sums_products_and_softmax_are_mpmaths_own(kind, digits):
    """The raw fast paths of sums, products and softmax give exactly what mpmath's fsum,
    its operators and exp give."""
    rng = random.Random(f"raw{kind}{digits}")
    with mpmath.workdps(digits):
        for _ in range(5):
            terms = _random_matrix(rng, 1, 5, kind).data
            out = mpmath.mpf(1)
            for t in terms:
                out = out * t
            assert evaluate._product(terms) == out
            assert type(evaluate._product(terms)) is type(out)
            assert evaluate._fsum(terms) == mpmath.fsum(terms)
            assert type(evaluate._fsum(terms)) is type(mpmath.fsum(terms))
        if kind == "real":
            values = {("v", (a + 1,)): mpmath.mpf(rng.randint(-300, 300)) / 7
                      for a in range(3)}
            got = NumericInstantiator(d, {n: 3, m: 2}, values).matrix(
                softmax(v), {}, frozenset()).data
            z = [mpmath.exp(values[("v", (a + 1,))]) for a in range(3)]
            total = mpmath.fsum(z)
            assert got == [t / total for t in z]


def test_a_planted_product_mistake_is_caught(monkeypatch):
    """The comparison above can fail: integer factors multiplied at half precision."""
    monkeypatch.setattr(evaluate, "mpf_mul_int", lambda a, b, prec, rnd: mpmath.libmp.mpf_mul(
        a, mpmath.libmp.from_int(b), prec // 2, rnd))
    with mpmath.workdps(50):
        terms = [mpmath.mpf(1) / 3, 7]
        assert evaluate._product(terms) != terms[0] * 7


@pytest.mark.parametrize("kind", ["real", "complex", "int"])
def test_a_product_without_a_scalar_is_scaled_by_one_exactly(kind):
    """unit_scaled gives what scale(mpf(1)) gives (ints become mpf, entries made at a
    higher precision are rounded), with the same work counted."""
    rng = random.Random(kind)
    with mpmath.workdps(200):
        fine = _random_matrix(rng, 3, 2, kind)  # entries with more bits than below
    for digits in (50, 100, 300):
        with mpmath.workdps(digits):
            for M in (fine, _random_matrix(rng, 3, 2, kind)):
                evaluate.work_limit(None)
                got = M.unit_scaled()
                counted = evaluate.work_done()
                evaluate.work_limit(None)
                want = M.scale(mpmath.mpf(1))
                assert got.data == want.data and got.shape == want.shape
                assert [type(a) for a in got.data] == [type(b) for b in want.data]
                assert [a._mpf_ for a in got.data if type(a) is mpmath.mpf] == \
                    [b._mpf_ for b in want.data if type(b) is mpmath.mpf]
                assert counted == evaluate.work_done() == (6, 0)


def test_a_planted_unit_scale_mistake_is_caught(monkeypatch):
    """The comparison above can fail: a path keeping entries finer than the precision."""
    def careless(self):
        evaluate._tick(len(self.data))
        return self if all(type(x) is mpmath.mpf for x in self.data) else self.scale(1)
    monkeypatch.setattr(evaluate.Matrix, "unit_scaled", careless)
    with mpmath.workdps(200):
        M = evaluate.Matrix(1, 1, [mpmath.mpf(1) / 3])
    with mpmath.workdps(50):
        assert M.unit_scaled().data[0]._mpf_ != M.scale(mpmath.mpf(1)).data[0]._mpf_


def test_a_compiled_expression_is_evaluated_once_per_instance(monkeypatch):
    """Nodes that instantiate to the same explicit expression (a document's pmf under
    every assignment giving it the same topic) share one evaluation per point; the
    values are those of the walk (test above) and the work is unchanged."""
    run = evaluated_at_a_point("42.1", 7)
    first = run()
    calls, nodes = [], []
    compiled, symbolic = evaluate._compiled, evaluate.NumericInstantiator._symbolic

    def counting(inst, expr):
        fast = compiled(inst, expr)
        return None if fast is None else (lambda values: calls.append(expr) or fast(values))

    def counted(self, e, env, cuts):
        nodes.append(e)
        return symbolic(self, e, env, cuts)

    monkeypatch.setattr(evaluate, "_compiled", counting)
    monkeypatch.setattr(evaluate.NumericInstantiator, "_symbolic", counted)
    again = run()
    assert again == first
    assert 0 < len(calls) == len(set(calls)) < len(nodes)


@pytest.mark.parametrize("cid", ["1.1", "10.1"])
def test_indexed_definitions_counted_and_computed_as_the_plain_walk(cid, monkeypatch):
    """bn_backprop's definitions indexed by the batch (z1[i], hhat[i], ...), under numeric
    derivatives that hold them: the same values and work as the reference walk."""
    from symderive.derivations import bn_backprop as bn

    from symderive.check.instances import Evaluator
    from symderive.numeric import Sampler

    claim = bn.derivation.claim(cid)
    sizes = bn.derivation.size_configs(claim)[0][1]
    ev = Evaluator(claim, sizes)
    point = Sampler(claim.derivation, ev.leaves, sizes, random.Random(cid)).draw()

    def run(cls):
        with mpmath.workdps(100):
            values = ev._values(point)
            evaluate.work_limit(None)
            inst = cls(claim.derivation, sizes, values)
            out = [inst.matrix(side, env, frozenset()).data for env in ev.envs
                   for side in (claim.lhs, claim.rhs)]
            return out, evaluate.work_done()

    fast = run(NumericInstantiator)
    with monkeypatch.context() as patch:
        patch.setattr(evaluate, "NumericInstantiator", _Reference)
        plain = run(_Reference)
    assert fast == plain and fast[1][0] > 0
