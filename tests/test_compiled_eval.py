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
from test_walker import CASES, _values, d, m, n

import symderive.evaluate as evaluate
from symderive.evaluate import NumericInstantiator, compile_plain, key_of, raised_precision
from symderive.instantiate import Instantiator
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
