"""Check a claimed equality (or derivative): refute fast at exact random points, then
try a symbolic proof.

The two phases report separately (through ``emit``) so that, when the proof attempt
runs out of time, the evidence gathered by sampling is not lost: the claim is then
``verified``, never ``proved``.
"""

from __future__ import annotations

import itertools
import random

import mpmath
import sympy as sp

from ..assumptions import Binary, Simplex
from ..derivation import Claim, Derivation
from ..evaluate import COMPARE_TOLERANCE, FD_DIGITS, WORK_DIGITS, WorkLimit, work_done, work_limit
from ..instantiate import InstantiationError
from ..nodes import Hess, MatD, ScalarD
from ..numeric import DIGITS, TOLERANCE, Sampler, assumption_of, to_mp
from ..piecewise_level import _LOG as _BRANCH_LOG
from ..piecewise_level import BranchLog, state_branches
from ..piecewise_level import recording as branch_recording
from ..quadrature import _LOG as _QUADRATURE_LOG
from ..quadrature import QuadratureLog, recording, state_precision, unsettled
from ..walker import IndexRangeError, OperandShapeError, wrt_name
from .allsizes import prove_all_sizes
from .conditions import degenerate_points, follows_from, solutions_at
from .counterexample import (
    all_valid,
    complex_note,
    confirmed,
    counterexample,
    failures,
    index_refutation,
    operand_refutation,
    shape_refutation,
    skipped_text,
)
from .directions import DIRECTIONS, NESTED_TOLERANCE, SCREEN_TOLERANCE, Unsettled
from .index_ranges import outside_shape
from .instances import Evaluator, Instance, ShapeMismatch, _sizes_key, instantiate
from .kinks import has_kinked, kink_points, kinks
from .plan import (
    EXACT_WORK,
    MAX_TRIES,
    WORK_PER_POINT,
    claim_rng,
    claim_seed,
    numeric_configs,
    plan_sizes,
    tries,
)
from .prove import is_zero
from .scope import at_sizes, has_sizes
from .shrink import shrink
from .verdict import Emit, Evidence, Outcome, Verdict, sizes_text

# -- numeric phase -----------------------------------------------------------------------
#: solutions of conditions at a point, shared by the claims of one derivation that state
#: the same conditions (logistic_mixture 27-31 solve the same systems at the same points):
#: key -> (solutions, the generator's state after solving)
_SOLVED: dict = {}
SOLVED_MAX = 512


def _solve_given(inst: Instance, point: dict, sampler: Sampler | None = None
                 ) -> list[dict] | None:
    """Real solutions of the ``given`` conditions for the unknowns at ``point``: those
    ``solve`` finds, unknowns left free drawn from their domains, and for a system that
    is not polynomial in the unknowns, further roots found numerically (never assumed
    complete: see :mod:`symderive.check.conditions`).

    Memoised on everything the answer depends on: the conditions at the point, the
    unknowns with their declared domains (free unknowns are drawn from them, solutions
    filtered by them) and the generator's state, which is set afterwards to what solving
    would have left.  So a claim gets the same solutions, and draws the same later
    points, whichever claims ran before it."""
    eqs = [sp.sympify(g).xreplace(point) for g in inst.given]
    rng = sampler.rng if sampler is not None else random.Random(0)
    key = None
    if sampler is None or not sampler.extra:
        domains = tuple(assumption_of(sampler.d, u) for u in inst.unknowns) \
            if sampler is not None else None
        key = (tuple(eqs), tuple(inst.unknowns), domains, rng.getstate(), DIGITS)
    if key is not None and key in _SOLVED:
        sols, state = _SOLVED[key]
        rng.setstate(state)
        return None if sols is None else [dict(s) for s in sols]
    sols = _solve_fresh(eqs, inst, rng, sampler)
    if key is not None:
        if len(_SOLVED) >= SOLVED_MAX:
            del _SOLVED[next(iter(_SOLVED))]
        _SOLVED[key] = (None if sols is None else [dict(s) for s in sols], rng.getstate())
    return sols


def _solve_fresh(eqs: list, inst: Instance, rng: random.Random,
                 sampler: Sampler | None) -> list[dict] | None:

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
        for _ in range(tries(wanted) if inst.leaves else 1):
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
    return good, skipped, 0


def _numeric_one(claim: Claim, sizes: dict, wanted: int, rng: random.Random,
                 special: bool = True, limit: int | None = None
                 ) -> Outcome | tuple[int, int, int]:
    """Sample one size: an Outcome when the claim fails there, else the points used, the
    points skipped (both sides non-real, or one undefined) and of those, the points
    where a numeric derivative could not be resolved.  ``special``: try the
    sampler's special points first.  Raises WorkLimit when one point costs more than
    ``limit`` evaluation steps."""
    if claim.given:
        return _numeric_conditional(claim, sizes, wanted, rng, special)
    evaluate = Evaluator(claim, sizes)
    sampler = Sampler(claim.derivation, evaluate.leaves, sizes, rng)
    good = skipped = regular = unresolved = 0
    firsts = sampler.special_points() if evaluate.leaves and special else []
    if firsts and not sizes:
        firsts += _on_kinks(claim, sampler)
    for k in range(len(firsts) + (tries(wanted) if evaluate.leaves else 1)):
        point = firsts[k] if k < len(firsts) else sampler.draw()
        if limit is not None and evaluate.side is None and evaluate.least_work > limit:
            # every evaluation here would exceed the limit: known without one (the point
            # is still drawn, so later sizes get the same points)
            raise WorkLimit(f"more than {limit} evaluation steps")
        before = evaluate.unresolved
        vals = _screened(evaluate, point, limit)
        if failures(vals):
            # a disagreement not confirmed at higher precision is rounding: it agrees
            sure = confirmed(evaluate, point)
            if sure is not None:
                return _refutation(evaluate, sampler, sizes, point, sure)
            if evaluate.unresolved > before:  # a numeric derivative too coarse to tell
                skipped += 1
                unresolved += 1
                continue
            if unsettled():  # a quadrature without a reliable estimate: decides nothing
                skipped += 1
                continue
        if not all_valid(vals):
            skipped += 1
            continue
        good += 1
        regular += k >= len(firsts)
        if regular >= wanted:
            break
    return good, skipped, unresolved


def _on_kinks(claim: Claim, sampler: Sampler) -> list[dict]:
    """Points on the kinks of a claim without dimensions (kinks.py): tried after the
    special points, before the random draws.  Only a claim that has a kinked function
    at all (in its sides or its derivation's definitions) is made explicit for them."""
    d = claim.derivation
    if not has_kinked(claim.lhs, claim.rhs, *(df.body for df in d.defs.values())):
        return []
    try:
        inst = instantiate(claim, {})
    except (InstantiationError, TypeError, ValueError, KeyError):
        return []
    base = sampler.draw()
    found = kinks([*inst.lhs, *inst.rhs], list(base))

    def admissible(leaf, value) -> bool:
        return bool(assumption_of(d, leaf).contains(value))
    return kink_points(found, base, admissible)


def _screened(evaluate: Evaluator, point: dict, limit: int | None) -> list | None:
    """The values at ``point``, screened within the work ``limit``
    (:meth:`.instances.Evaluator.screen`).  A claimed derivative outside the directional
    route is evaluated entry by entry within the limit; one whose screen is suspicious
    (projections that disagree, an undefined value) entry by entry beyond it, since a
    refutation may start there."""
    work_limit(limit)
    try:
        return evaluate.screen(point)
    except Unsettled as exc:
        if not exc.suspect:
            return evaluate(point)
    finally:
        work_limit(None)
    return evaluate(point)


def _refutation(evaluate: Evaluator, sampler: Sampler, sizes: dict, point: dict,
                vals: list) -> Outcome:
    """The refutation at ``point``, made simpler first (kept only if it confirms)."""
    simple = shrink(evaluate, sampler, point)
    if simple != point:
        sure = confirmed(evaluate, simple)
        if sure is not None:
            point, vals = simple, sure
    bad = failures(vals)
    return Outcome(Verdict.REFUTED, f"exact point, {DIGITS} digits",
                   f"{len(bad)} of {len(vals) // 2} entries differ at "
                   f"{sizes_text(sizes)}" + complex_note(vals, bad),
                   counterexample(evaluate.labels, sizes, point, vals, bad))


def _sample_ladder(claim: Claim, ladder: list[dict], wanted: int, rng: random.Random,
                   special: bool, limit: int | None, capped: list[dict]):
    """Sample the first size of ``ladder`` whose points stay within the work ``limit``:
    (size, result), or None when every candidate is too costly (each is added to
    ``capped``).  A size already sampled for a claim with the same content is served
    from the derivation's memo (:func:`_memo`)."""
    for cand in ladder:
        # _numeric_one is called from here, not through a wrapper: one more frame under
        # the walk's deep recursion can put it on a boundary of CPython 3.11's 16 KiB
        # frame-stack chunks, where every call maps and unmaps one (seen: 19 s of system
        # time in one quadrature claim under pytest-xdist)
        cache, key = _memo(claim, cand, wanted, special, limit, rng)
        hit = cache.get(key) if cache is not None else None
        try:
            if hit is not None:
                rng.setstate(hit[1])
                if hit[0] is None:
                    raise WorkLimit(f"more than {limit} evaluation steps")
                return cand, hit[0]
            try:
                result = _numeric_one(claim, cand, wanted, rng, special, limit)
            except WorkLimit:
                _remember(cache, key, None, rng)
                raise
            if isinstance(result, tuple):
                _remember(cache, key, result, rng)
            return cand, result
        except WorkLimit:
            found = outside_shape(claim, cand)  # what the walk would have met later
            if found is not None:
                raise found from None
            capped.append(cand)
    return None


#: sizes sampled kept in a derivation's memo (see _memo) before it is emptied
SAMPLED_MAX = 256


def _memo(claim: Claim, sizes: dict, wanted: int, special: bool, limit: int | None,
          rng: random.Random) -> tuple[dict | None, tuple | None]:
    """The memo of sampled sizes and the key of this sampling, for a claim with the same
    content (a formula restated: bn_backprop (14)-(23) repeat (2)-(13)) at the same
    sizes, from the same state of the generator, which a hit leaves as sampling would.

    Kept on the derivation, keyed on everything the result depends on: both sides, the
    derivation's variables, definitions and indices (the objects: one declared again is
    new), the sizes, the points wanted, the generator's state, the precision and the
    sampling constants; a size too costly is remembered as such.  A refutation (an
    Outcome) or any other error is found again, not remembered, and so is a size whose
    sampling logged a quadrature or a piecewise level (notes for the evidence, and state
    that later comparisons read): (None, None) then."""
    d = claim.derivation
    if claim.given or not _pristine():
        return None, None
    key = (claim.lhs, claim.rhs, tuple(map(id, d.vars.values())),
           tuple(map(id, d.defs.values())), tuple(d.indices.items()), _sizes_key(sizes),
           wanted, special, limit, _constants(), rng.getstate())
    return d.__dict__.setdefault("_sampled", {}), key


def _remember(cache: dict | None, key: tuple, result: tuple | None,
              rng: random.Random) -> None:
    if cache is not None and _pristine():
        if len(cache) >= SAMPLED_MAX:
            cache.clear()
        cache[key] = (result, rng.getstate())


def _pristine() -> bool:
    """Whether no quadrature and no piecewise level has been logged for this claim."""
    return _QUADRATURE_LOG[0] == QuadratureLog() and _BRANCH_LOG[0] == BranchLog()


def _constants() -> tuple:
    """The settings sampling reads besides its arguments."""
    return (mpmath.mp.prec, DIGITS, TOLERANCE, WORK_DIGITS, FD_DIGITS, COMPARE_TOLERANCE,
            MAX_TRIES, DIRECTIONS, SCREEN_TOLERANCE, NESTED_TOLERANCE)


def numeric_phase(claim: Claim, configs: list[tuple[dict | list[dict], int]],
                  rng: random.Random, seed: int | None = None,
                  notes: list[str] | None = None) -> Outcome:
    """Sample every configuration.  A configuration given as a list of candidate sizes
    (largest first) is sampled at the first candidate whose points stay within the work
    limit (:data:`.plan.WORK_PER_POINT`); a claim too costly at every candidate is
    sampled at the other sizes only, and the message says so."""
    points = skipped = unresolved = 0
    seed = claim_seed(seed)
    used: list[dict] = []
    capped: list[dict] = []
    for k, (sizes, wanted) in enumerate(configs):
        ladder = sizes if isinstance(sizes, list) else [sizes]
        limit = WORK_PER_POINT if isinstance(sizes, list) else None
        # the special points (a vanishing parameter, the ends of the domains) at the
        # smallest size only: they are about the values, not the sizes
        sampled = _sample_ladder(claim, ladder, wanted, rng, k == 0, limit, capped)
        if sampled is None:
            continue
        cand, got = sampled
        used.append(cand)
        if isinstance(got, Outcome):
            got.evidence.sampled_sizes = list(used)
            got.evidence.points, got.evidence.seed = points, seed
            got.skipped = skipped
            return got
        skipped += got[1]
        unresolved += got[2]
        if got[0] == 0:
            return Outcome(Verdict.UNDECIDED, "sampling",
                           f"no point found where both sides are defined at "
                           f"{sizes_text(cand)}" + skipped_text(skipped, unresolved),
                           evidence=Evidence("sampling", sampled_sizes=list(used),
                                             points=points, seed=seed),
                           skipped=skipped)
        points += got[0]
    text = "; ".join(sizes_text(s) for s in used)
    notes = list(notes or [])
    if capped:
        notes.append(f"too costly to evaluate at {sizes_text(capped[0])} "
                     f"(more than {WORK_PER_POINT} steps per point), sampled smaller")
    method = f"sampling: {points} points, {DIGITS} digits"
    return Outcome(Verdict.VERIFIED, method,
                   f"agrees at {points} random points ({text}), {DIGITS}-digit arithmetic"
                   + "".join(f"; {n}" for n in notes) + skipped_text(skipped, unresolved),
                   evidence=Evidence("sampling", sampled_sizes=[dict(s) for s in used],
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
def _sampling_configs(claim: Claim, rng: random.Random, sizes: tuple | None = None
                      ) -> tuple[list, list[str]]:
    """(configurations for :func:`numeric_phase`, notes for the message); ``sizes``: the
    claim's ``size_configs`` when the caller has them already."""
    d = claim.derivation
    sym, num = sizes if sizes is not None else d.size_configs(claim)
    plan = plan_sizes(sym, num, claim.sizes is not None, rng)
    configs: list = [(s, plan.points) for s in plan.exact]
    notes = list(plan.notes)
    if claim.given and plan.larger:
        # the conditions are solved exactly at every point: the declared sizes only
        configs += [(s, plan.points) for s in numeric_configs(d, claim, rng, (sym, num))]
        notes.append("conditions solved exactly at each point: sampled at the declared "
                     "sizes only")
    else:
        configs += [(ladder, plan.points) for ladder in plan.larger]
    return configs, notes


def check_equality(claim: Claim, emit: Emit, seed: int | None = None) -> Outcome:
    """Check one claimed equality; ``emit`` receives the numeric outcome before the proof
    starts, and each size as it is proved.  ``proved`` means proved for every size: by
    the size-generic prover (:mod:`.allsizes`), or, for a claim without dimensions, by
    the exact proof at its one size; an exact identity at fixed sizes is ``verified``
    (:func:`.scope.at_sizes`)."""
    d = claim.derivation
    rng = claim_rng(seed)
    sizes = d.size_configs(claim)
    sym_cfgs = sizes[0]
    one_size = not has_sizes(sym_cfgs)  # no dimensions: an exact proof covers "all sizes"
    configs, notes = _sampling_configs(claim, rng, sizes)
    try:
        with recording() as quadrature, branch_recording() as branches:
            outcome = numeric_phase(claim, configs, rng, seed, notes)
    except ShapeMismatch as exc:
        return shape_refutation(exc)
    except OperandShapeError as exc:
        return operand_refutation(claim, exc)
    except IndexRangeError as exc:
        return index_refutation(claim, exc)
    except (InstantiationError, TypeError, ValueError, KeyError, AttributeError) as exc:
        return Outcome(Verdict.ERROR, "build", f"{type(exc).__name__}: {exc}")
    outcome = state_branches(state_precision(outcome, quadrature, claim.lhs, claim.rhs),
                             branches)
    if outcome.verdict == Verdict.UNDECIDED and outcome.evidence.points and not one_size:
        # points agreed at the smaller sizes, but none was defined at a larger one (a
        # saturated sigmoid under log(1 - s): 1 - s is 0 at 100 digits once z > 230).
        # Sampling cannot make the claim verified there; a proof for every size does not
        # rest on sampling, and may still make it proved.
        general = prove_all_sizes(claim)
        return outcome if general is None else _proved_all(general, outcome)
    if outcome.verdict != Verdict.VERIFIED:
        return outcome
    emit("numeric", outcome)
    if not one_size:
        general = prove_all_sizes(claim)
        if general is not None:
            return _proved_all(general, outcome)
    # Prove size by size, smallest first, reporting each success at once: if the budget
    # runs out at a larger size, the sizes already proved still stand, and are stated.
    # With dimensions this is evidence only (the verdict stays "verified"): the smallest
    # size is enough.
    proved: list[dict] = []
    limit = d.proof_sizes if d.proof_sizes is not None else len(sym_cfgs)
    if not one_size:
        limit = 1
        # a claim that pins its sizes, or holds under conditions, is checked exactly at
        # its sizes whatever the cost: nothing larger is sampled for it
        pinned = claim.given or claim.sizes is not None
        work = 0 if pinned else exact_work(claim, sym_cfgs[0], seed)
        if work > EXACT_WORK:
            outcome.message = (outcome.message or "") + (
                f"; no exact check at {sizes_text(sym_cfgs[0])} (its derivatives take "
                f"{work} evaluation steps there, more than {EXACT_WORK}; an exact identity "
                "at fixed sizes would not make it proved)")
            return outcome
    for sizes in sym_cfgs[:limit]:
        if not _prove_at(claim, sizes):
            break
        proved.append(sizes)
        emit("proof", at_sizes(_proved(proved, outcome), proved, covers_all=one_size))
    if not proved:
        outcome.message = (outcome.message or "") + "; no symbolic proof found"
        return outcome
    result = _proved(proved, outcome)
    if len(proved) < limit:
        result.message += f"; no proof found at {sizes_text(sym_cfgs[len(proved)])}"
    return at_sizes(result, proved, covers_all=one_size)


def exact_work(claim: Claim, sizes: dict, seed: int | None = None) -> int:
    """The counted cost that predicts the exact phase at ``sizes``: node visits inside
    numeric derivatives, entry by entry, at one point drawn from the seed (symbolic
    differentiation at fixed sizes is what makes that phase slow).  Counted, not timed:
    the same on every run, whatever the load."""
    evaluate = Evaluator(claim, sizes)
    point = Sampler(claim.derivation, evaluate.leaves, sizes, claim_rng(seed)).draw()
    work_limit(None)
    evaluate(point)
    return work_done()[1]


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


def _proved_all(argument: str, sampled: Outcome) -> Outcome:
    """Proved for every size by a size-generic argument (named in the message)."""
    ev = sampled.evidence
    return Outcome(Verdict.PROVED, "symbolic, all sizes",
                   f"identity holds for every size ({argument}); also {sampled.message}",
                   evidence=Evidence("symbolic, all sizes", sampled_sizes=ev.sampled_sizes,
                                     points=ev.points, digits=ev.digits, seed=ev.seed,
                                     all_sizes=True),
                   skipped=sampled.skipped)
