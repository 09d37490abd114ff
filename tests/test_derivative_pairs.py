"""Entries of a vector differentiated one by one share the vector's perturbed values.

d yhat_j / d z_k for every j perturbs z_k the same way; evaluating the entry yhat_j in
the perturbed instance evaluates the whole softmax, so one pair of evaluations per k
serves every j (symderive.evaluate.NumericInstantiator._vector_pair).  The numbers must
be exactly those of an entry-by-entry evaluation, each entry must be its own (not a
neighbour's), and a false Jacobian entry must still be refuted at that entry.
"""

import random

import mpmath
import sympy as sp

from symderive import D, Derivation, comp, softmax
from symderive.check import check_claim
from symderive.evaluate import NumericInstantiator, working_precision

d = Derivation("vector-pairs", source="tests")
n = d.dim("n", sizes=(2, 3), numeric=6)
z = d.vector("z", n)
x = d.vector("x", n)
j = d.index("j", n)
k = d.index("k", n)
yhat = d.define("yhat", softmax(z))
yhj, yhk = comp(yhat, j), comp(yhat, k)
entry = D(yhj, comp(z, k))  # one entry of the softmax's Jacobian
SIZES = {n: 5}


def _values(seed: int = 3) -> dict:
    rng = random.Random(seed)
    return {("z", (a,)): mpmath.mpf(rng.randint(-300, 300)) / 100 for a in range(1, 6)}


def _entry(inst: NumericInstantiator, a: int, b: int):
    return inst.scalar(entry, {j: a, k: b}, frozenset())


def test_shared_pairs_give_the_entrywise_numbers_exactly(monkeypatch):
    with working_precision():
        values = _values()
        shared = NumericInstantiator(d, SIZES, values)
        calls = []
        perturbed = NumericInstantiator._perturbed

        def counted(self, steps, *args, **kw):
            calls.append(next(iter(steps)))
            return perturbed(self, steps, *args, **kw)

        monkeypatch.setattr(NumericInstantiator, "_perturbed", counted)
        got = {(a, b): _entry(shared, a, b) for a in range(1, 6) for b in range(1, 6)}
        assert len(calls) == 2 * 5  # one pair per variable z_k, not one per entry
        calls.clear()
        for (a, b), value in got.items():
            alone = NumericInstantiator(d, SIZES, values)  # nothing shared
            assert _entry(alone, a, b) == value  # the same digits, not just close
        assert len(calls) == 2 * 25
        y = [shared.scalar(yhj, {j: a}, frozenset()) for a in range(1, 6)]
        for (a, b), value in got.items():
            truth = y[a - 1] * ((a == b) - y[b - 1])  # each entry is its own
            assert abs(value - truth) < mpmath.mpf(10) ** -40


def test_the_entries_of_a_vector_variable_by_a_leaf_are_shared_too():
    """A vector of the variables themselves (x_j by x_k: the identity)."""
    with working_precision():
        values = {("x", (a,)): mpmath.mpf(a) / 7 for a in range(1, 6)}
        inst = NumericInstantiator(d, SIZES, values)
        for a in range(1, 6):
            for b in range(1, 6):
                got = inst.scalar(D(comp(x, j), comp(x, k)), {j: a, k: b}, frozenset())
                assert abs(got - (a == b)) < mpmath.mpf(10) ** -40


def test_softmax_jacobian_true_and_planted_faults():
    true = d.derivative("softmax-jacobian", yhj, comp(z, k), yhj * (sp.KroneckerDelta(j, k)
                                                                    - yhk))
    swapped = d.derivative("swapped", yhj, comp(z, k), yhj * (sp.KroneckerDelta(j, k) - yhj))
    flipped = d.derivative("flipped", yhj, comp(z, k), yhj * (yhk - sp.KroneckerDelta(j, k)))
    out = check_claim(true, lambda *_: None)
    assert out.verdict in ("proved", "verified"), out.message
    for claim in (swapped, flipped):
        out = check_claim(claim, lambda *_: None)
        assert out.verdict == "refuted", (claim.id, out.message)
        named = {e["entry"] for e in out.counterexample["entries"]}
        assert named, out.counterexample
    # y_j (delta_jk - y_j) is right on the diagonal only: every named entry is off it
    out = check_claim(swapped, lambda *_: None)
    for e in out.counterexample["entries"]:
        env = dict(part.split("=") for part in e["entry"].split(", "))
        assert env["j"] != env["k"], e
