"""Check a claimed equality (or derivative): refute fast at exact random points, then
try a symbolic proof.

The two phases report separately (through ``emit``) so that, when the proof attempt
runs out of time, the evidence gathered by sampling is not lost: the claim is then
``verified``, never ``proved``.
"""

from __future__ import annotations

import itertools
import random

import sympy as sp

from ..assumptions import Binary, Simplex
from ..derivation import Claim, Derivation
from ..instantiate import InstantiationError
from ..nodes import Hess, MatD, ScalarD
from ..numeric import DIGITS, Sampler, assumption_of, to_mp
from ..quadrature import state_precision
from ..walker import OperandShapeError, wrt_name
from .conditions import degenerate_points, follows_from, solutions_at
from .counterexample import (
    all_valid,
    complex_note,
    confirmed_failures,
    counterexample,
    failures,
    operand_refutation,
    shape_refutation,
    skipped_text,
)
from .instances import Evaluator, Instance, ShapeMismatch, instantiate
from .plan import MAX_TRIES, POINTS_NUMERIC, POINTS_SYMBOLIC, claim_rng, claim_seed, numeric_configs
from .prove import is_zero
from .shrink import shrink
from .verdict import Emit, Evidence, Outcome, Verdict, sizes_text


# -- numeric phase -----------------------------------------------------------------------
def _solve_given(inst: Instance, point: dict, sampler: Sampler | None = None
                 ) -> list[dict] | None:
    """Real solutions of the ``given`` conditions for the unknowns at ``point``: those
    ``solve`` finds, unknowns left free drawn from their domains, and for a system that
    is not polynomial in the unknowns, further roots found numerically (never assumed
    complete: see :mod:`symderive.check.conditions`)."""
    eqs = [sp.sympify(g).xreplace(point) for g in inst.given]
    rng = sampler.rng if sampler is not None else random.Random(0)

    def draw_free(u):
        return sampler.draw_one(u) if sampler is not None else sp.Integer(2)

    sols = solutions_at(eqs, inst.unknowns, draw_free, rng, DIGITS)
    if sols is None or sampler is None:
        return sols
    # the claim speaks of solutions in the unknowns' declared domains
    return [s for s in sols if all(assumption_of(sampler.d, u).contains(sp.N(v, DIGITS))
                                   for u, v in s.items())]


def _eval_conditional(inst: Instance, point: dict, sampler: Sampler | None = None
                      ) -> list[tuple] | None:
    sols = _solve_given(inst, point, sampler)
    if not sols:
        return None
    return [(sol, [to_mp(sp.sympify(e).xreplace({**point, **sol})) for e in inst.lhs + inst.rhs])
            for sol in sols]


def _numeric_conditional(claim: Claim, sizes: dict, wanted: int, rng: random.Random,
                         special: bool) -> Outcome | tuple[int, int]:
    """Sample one size of a claim under conditions, at solutions of the conditions."""
    inst = instantiate(claim, sizes)
    unknowns = set(inst.unknowns)
    sampler = Sampler(claim.derivation, inst.leaves, sizes, rng)

    def points():
        # special values first (a vanishing parameter, the ends of the domains), and the
        # parameter values where a coefficient of the conditions vanishes; then random
        # draws.  A simplex group is drawn whole: the entries that are unknowns are
        # dropped, or the conditions would be evaluated, not solved for them.
        for n, p in enumerate(sampler.special_points() if inst.leaves and special else []):
            p = {x: v for x, v in p.items() if x not in unknowns}
            yield p
            if n == 1:  # at a generic point (the low ends), not at the all-zero one
                yield from degenerate_points(inst.given, inst.unknowns, p)
        for _ in range(MAX_TRIES if inst.leaves else 1):
            yield {x: v for x, v in sampler.draw().items() if x not in unknowns}

    good = skipped = tried = 0
    for point in points():
        tried += 1
        for sol, vals in _eval_conditional(inst, point, sampler) or []:
            bad = failures(vals)
            if bad:
                return Outcome(Verdict.REFUTED, "sampling at solutions of the conditions",
                               "false at a point satisfying the stated conditions"
                               + complex_note(vals, bad),
                               counterexample(inst.labels, sizes, point, vals, bad, sol))
            if not all_valid(vals):
                skipped += 1
                continue
            good += 1
        if good >= wanted and tried > 3:
            break
    return good, skipped


def _numeric_one(claim: Claim, sizes: dict, wanted: int, rng: random.Random,
                 special: bool = True) -> Outcome | tuple[int, int]:
    """Sample one size: an Outcome when the claim fails there, else the points used and
    the points skipped (both sides non-real, or one undefined).  ``special``: try the
    sampler's special points first."""
    if claim.given:
        return _numeric_conditional(claim, sizes, wanted, rng, special)
    evaluate = Evaluator(claim, sizes)
    sampler = Sampler(claim.derivation, evaluate.leaves, sizes, rng)
    good = skipped = regular = 0
    firsts = sampler.special_points() if evaluate.leaves and special else []
    for k in range(len(firsts) + (MAX_TRIES if evaluate.leaves else 1)):
        point = firsts[k] if k < len(firsts) else sampler.draw()
        vals = evaluate(point)
        if failures(vals) and confirmed_failures(evaluate, point):
            point = shrink(evaluate, sampler, point)
            vals = evaluate(point)
            bad = failures(vals)
            return Outcome(Verdict.REFUTED, f"exact point, {DIGITS} digits",
                           f"{len(bad)} of {len(vals) // 2} entries differ at "
                           f"{sizes_text(sizes)}" + complex_note(vals, bad),
                           counterexample(evaluate.labels, sizes, point, vals, bad))
        if not all_valid(vals):
            skipped += 1
            continue
        good += 1  # agrees (a disagreement not confirmed at higher precision is rounding)
        regular += k >= len(firsts)
        if regular >= wanted:
            break
    return good, skipped


def numeric_phase(claim: Claim, configs: list[tuple[dict, int]],
                  rng: random.Random) -> Outcome:
    points = skipped = 0
    seed = claim_seed(claim)
    for k, (sizes, wanted) in enumerate(configs):
        # the special points (a vanishing parameter, the ends of the domains) at the
        # smallest size only: they are about the values, not the sizes
        got = _numeric_one(claim, sizes, wanted, rng, special=k == 0)
        if isinstance(got, Outcome):
            got.evidence.sampled_sizes = [s for s, _ in configs[:k + 1]]
            got.evidence.points, got.evidence.seed = points, seed
            got.skipped = skipped
            return got
        skipped += got[1]
        if got[0] == 0:
            return Outcome(Verdict.UNDECIDED, "sampling",
                           f"no point found where both sides are defined at "
                           f"{sizes_text(sizes)}" + skipped_text(skipped),
                           evidence=Evidence("sampling", sampled_sizes=[
                               s for s, _ in configs[:k + 1]], points=points, seed=seed),
                           skipped=skipped)
        points += got[0]
    text = "; ".join(sizes_text(s) for s, _ in configs)
    method = f"sampling: {points} points, {DIGITS} digits"
    return Outcome(Verdict.VERIFIED, method,
                   f"agrees at {points} random points ({text}), {DIGITS}-digit arithmetic"
                   + skipped_text(skipped),
                   evidence=Evidence("sampling", sampled_sizes=[dict(s) for s, _ in configs],
                                     points=points, seed=seed),
                   skipped=skipped)


# -- symbolic phase ----------------------------------------------------------------------
def _binaries(d: Derivation, exprs) -> set:
    """The binary entries to split on; an indexed family's label (``t`` of ``t[1]``, also a
    free symbol) is not a value, and splitting on it doubles the cases for nothing."""
    out = set()
    for e in exprs:
        for s in sp.sympify(e).free_symbols:
            var = d.vars.get(str(s)) if isinstance(s, sp.Symbol) else None
            if var is not None and var.kind != "scalar":
                continue
            if isinstance(assumption_of(d, s), Binary):
                out.add(s)
    return out


def _simplex_substitution(d: Derivation, inst: Instance) -> dict:
    """Each simplex group's last entry as one minus the others, so that the prover may use
    the constraint sum = 1.  Sound: an identity in the remaining (free) entries holds on
    the simplex exactly when it holds after this substitution."""
    unknowns = set(inst.unknowns)
    heads = {(x.base, x.indices[:-1]) for x in inst.leaves
             if isinstance(x, sp.Indexed) and isinstance(assumption_of(d, x), Simplex)}
    out = {}
    for base, head in heads:
        extent = sp.sympify(d.vars[str(base.label)].shape[-1]).xreplace(
            {k: sp.Integer(v) for k, v in inst.sizes.items()})
        entries = [base[(*head, i)] for i in range(1, int(extent) + 1)]
        if not unknowns.intersection(entries):
            out[entries[-1]] = 1 - sp.Add(*entries[:-1])
    return out


def symbolic_phase(claim: Claim, instances: list[Instance],
                   use_simplify: bool = True) -> Outcome | None:
    d = claim.derivation
    for inst in instances:
        diffs = [sp.sympify(a - b) for a, b in zip(inst.lhs, inst.rhs)]
        if inst.given:
            # proved from the conditions themselves, never from solve's (possibly
            # incomplete) list of solutions: see symderive/check/conditions.py
            if not _follows_on_cases(d, inst, diffs):
                return None
            continue
        binaries = _binaries(d, diffs)
        simplex = _simplex_substitution(d, inst)
        for e in diffs:
            if simplex and is_zero(e.xreplace(simplex), binaries, use_simplify=False):
                continue  # holds on the simplex (cheap attempt first)
            if is_zero(e, binaries, use_simplify=use_simplify) is not True:
                return None
    sizes = "; ".join(sizes_text(i.sizes) for i in instances)
    return Outcome(Verdict.PROVED, "symbolic", f"identity holds exactly at {sizes}",
                   evidence=Evidence("symbolic", proved_sizes=[i.sizes for i in instances]))


def _follows_on_cases(d: Derivation, inst: Instance, diffs: list) -> bool:
    """Ideal membership of the claim modulo the conditions, on every case of the binary
    symbols and with each simplex group's last entry eliminated (both exact rewrites)."""
    simplex = _simplex_substitution(d, inst)
    exprs = [e.xreplace(simplex) for e in diffs]
    given = [sp.sympify(g).xreplace(simplex) for g in inst.given]
    present = sorted(_binaries(d, exprs + given), key=str)
    if len(present) > 6:
        return False
    for case in itertools.product((0, 1), repeat=len(present)):
        sub = dict(zip(present, map(sp.Integer, case)))
        if not follows_from([e.xreplace(sub) for e in exprs],
                            [g.xreplace(sub) for g in given], inst.unknowns):
            return False
    return True


# -- driver ------------------------------------------------------------------------------
def check_equality(claim: Claim, emit: Emit) -> Outcome:
    """Check one claimed equality; ``emit`` receives the numeric outcome before the proof
    starts, and each size as it is proved."""
    d = claim.derivation
    rng = claim_rng(claim)
    sym_cfgs, _ = d.size_configs(claim)
    configs = [(s, POINTS_SYMBOLIC) for s in sym_cfgs]
    configs += [(s, POINTS_NUMERIC) for s in numeric_configs(d, claim, rng)]
    try:
        outcome = numeric_phase(claim, configs, rng)
    except ShapeMismatch as exc:
        return shape_refutation(exc)
    except OperandShapeError as exc:
        return operand_refutation(claim, exc)
    except (InstantiationError, TypeError, ValueError, KeyError, AttributeError) as exc:
        return Outcome(Verdict.ERROR, "build", f"{type(exc).__name__}: {exc}")
    outcome = state_precision(outcome, claim.lhs, claim.rhs)
    if outcome.verdict != Verdict.VERIFIED:
        return outcome
    emit("numeric", outcome)
    # Prove size by size, smallest first, reporting each success at once: if the budget
    # runs out at a larger size, the sizes already proved still stand, and are stated.
    proved: list[dict] = []
    limit = d.proof_sizes if d.proof_sizes is not None else len(sym_cfgs)
    for sizes in sym_cfgs[:limit]:
        if not _prove_at(claim, sizes):
            break
        proved.append(sizes)
        emit("proof", _proved(proved, outcome))
    if not proved:
        outcome.message = (outcome.message or "") + "; no symbolic proof found"
        return outcome
    result = _proved(proved, outcome)
    if len(proved) < limit:
        result.message += f"; no proof found at {sizes_text(sym_cfgs[len(proved)])}"
    return result


def generalisable(claim: Claim) -> frozenset:
    """Definitions that may be replaced by free symbols in a proof of ``claim``.

    A definition that none of the claim's derivatives differentiates through (it does
    not depend on any variable differentiated by) enters both sides only through its
    value.  Proving the identity for arbitrary values of it proves it for the actual one,
    so the proof may treat it as free symbols: a smaller problem, and still sound.  An
    identity that needs the definition's value (say, sum_i (h_i - mu) = 0 at the batch
    mean) simply fails this attempt, and the full instance is tried next.
    """
    d = claim.derivation
    if claim.given:
        return frozenset()
    names = d.var_names(claim.lhs, claim.rhs)
    tokens = [t for t in d.defs if str(t) in names]
    wrts: set = set()
    for body in [claim.lhs, claim.rhs] + [d.defs[t].body for t in tokens]:
        for node in sp.preorder_traversal(body):
            if isinstance(node, (ScalarD, MatD, Hess)):
                name = wrt_name(node.wrt)
                if name is None:
                    return frozenset()
                wrts.add(name)
    return frozenset(t for t in tokens if not (d.depends(t) & wrts))


def _prove_at(claim: Claim, sizes: dict) -> bool:
    free = generalisable(claim)
    # cheap attempt only: an identity that needs the definitions' values fails here, and
    # must not spend the budget in simplify before the full instance gets its turn
    if free and symbolic_phase(claim, [instantiate(claim, sizes, free)],
                               use_simplify=False) is not None:
        return True
    return symbolic_phase(claim, [instantiate(claim, sizes)]) is not None


def _proved(sizes: list[dict], sampled: Outcome) -> Outcome:
    text = "; ".join(sizes_text(s) for s in sizes)
    ev = sampled.evidence
    return Outcome(Verdict.PROVED, "symbolic", f"identity holds exactly at {text}; also "
                   f"{sampled.message}",
                   evidence=Evidence("symbolic", proved_sizes=list(sizes),
                                     sampled_sizes=ev.sampled_sizes, points=ev.points,
                                     digits=ev.digits, seed=ev.seed),
                   skipped=sampled.skipped)
