"""Check one claim: refute fast at exact random points, then try a symbolic proof.

The two phases report separately (through ``emit``) so that, when the proof attempt
runs out of time, the evidence gathered by sampling is not lost: the claim is then
``verified``, never ``proved``.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import mpmath
import sympy as sp

from .assumptions import Binary, Simplex
from .derivation import Claim, Derivation, StationaryClaim
from .evaluate import WORK_DIGITS, KinkError, NumericInstantiator, WorkLimit, key_of, work_limit
from .instantiate import InstantiationError, Instantiator
from .nodes import BatchElement, Component, DefRef, Hess, MatD, ScalarD
from .numeric import (
    DIGITS,
    Sampler,
    agree,
    assumption_of,
    fmt_pair,
    leaf_name,
    quad_integrals,
    valid,
)
from .plan import DEFAULT_SEED, POINTS_PER_SIZE, WORK_PER_POINT, plan_sizes, seeded_rng
from .prove import is_zero
from .scope import at_sizes, evidence, has_sizes

VERDICTS = ("proved", "verified", "refuted", "undecided", "error")

POINTS_SYMBOLIC = POINTS_PER_SIZE  # random points per size also tried by the exact proof
POINTS_NUMERIC = POINTS_PER_SIZE   # random points per larger size checked numerically only
MAX_TRIES = 40       # draws allowed (at least; 3 per wanted point) to find defined points


@dataclass
class Outcome:
    verdict: str
    method: str
    message: str | None = None
    counterexample: dict | None = None
    evidence: dict = field(default_factory=dict)


Emit = Callable[[str, Outcome], None]


def _sizes_text(sizes: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in sizes.items()) or "scalar"


def _jsonable_sizes(sizes: dict) -> dict:
    return {str(k): int(v) for k, v in sizes.items()}


def claim_rng(claim: Claim, seed: int | None = None) -> random.Random:
    """The sampler's generator: from ``--seed`` only, never from the claim's name, so
    that the same content gets the same points whatever its id."""
    return seeded_rng(seed)


def free_indices(d: Derivation, *exprs: sp.Basic) -> list[sp.Symbol]:
    out: set = set()
    for e in exprs:
        out |= {s for s in getattr(e, "free_symbols", set()) if s in d.indices}
    return sorted(out, key=str)


def expand_family(inst: Instantiator, d: Derivation, exprs, fn=None) -> list:
    """Every instance of ``exprs`` over all values of their free indices."""
    out = []
    for e in exprs:
        idx = free_indices(d, e)
        ranges = [range(1, inst.integer(d.indices[k], {}) + 1) for k in idx]
        for values in itertools.product(*ranges):
            env = dict(zip(idx, values))
            out.append(fn(e, env) if fn else inst.scalar(sp.sympify(e), env, frozenset()))
    return out


@dataclass
class Instance:
    """A claim made explicit at one set of sizes: matching lists of entries."""

    sizes: dict
    labels: list
    lhs: list
    rhs: list
    given: list
    unknowns: list

    @property
    def leaves(self) -> list:
        return leaves_of(itertools.chain(self.lhs, self.rhs, self.given), self.unknowns)


def leaves_of(exprs, exclude=()) -> list:
    """The variables of explicit expressions: entries and plain scalar symbols."""
    entries: set = set()
    scalars: set = set()
    for e in exprs:
        e = sp.sympify(e)
        entries |= e.atoms(sp.Indexed)
        scalars |= {s for s in e.free_symbols if isinstance(s, sp.Symbol)}
    labels = {x.base.label for x in entries}
    out = (entries | (scalars - labels)) - set(exclude)
    return sorted(out, key=str)


class ShapeMismatch(Exception):
    def __init__(self, sizes, env, lshape, rshape):
        super().__init__(f"left side is {lshape[0]}x{lshape[1]} but right side is "
                         f"{rshape[0]}x{rshape[1]}")
        self.sizes, self.env = sizes, env


def instantiate(claim: Claim, sizes: dict, generalise: frozenset = frozenset()) -> Instance:
    """The claim made explicit at ``sizes``.  Definitions in ``generalise`` are left as
    free symbols (see :func:`generalisable`)."""
    d = claim.derivation
    inst = Instantiator(d, sizes)
    idx = free_indices(d, claim.lhs, claim.rhs)
    ranges = [range(1, inst.integer(d.indices[k], {}) + 1) for k in idx]
    labels, lhs, rhs = [], [], []
    for values in itertools.product(*ranges):
        env = dict(zip(idx, values))
        L = inst.explicit(claim.lhs, env, generalise)
        R = inst.explicit(claim.rhs, env, generalise)
        if L.shape != R.shape:
            raise ShapeMismatch(sizes, env, L.shape, R.shape)
        for a in range(L.rows):
            for b in range(L.cols):
                labels.append((env, (a + 1, b + 1), L.shape))
                lhs.append(L[a, b])
                rhs.append(R[a, b])
    given = expand_family(inst, d, claim.given) if claim.given else []
    unknowns = expand_family(inst, d, claim.unknowns) if claim.unknowns else []
    return Instance(dict(sizes), labels, lhs, rhs, given, unknowns)


def _entry_text(label) -> str:
    env, (a, b), shape = label
    where = ", ".join(f"{k}={v}" for k, v in env.items())
    if shape == (1, 1):
        pos = ""
    elif shape[1] == 1:
        pos = f"[{a}]"
    else:
        pos = f"[{a},{b}]"
    return f"{where} {pos}".strip() or "value"


# -- numeric phase -----------------------------------------------------------------------
def referenced_vars(d: Derivation, *exprs: sp.Basic) -> list:
    """The declared variables an expression depends on, through its definitions."""
    return [d.vars[n] for n in sorted(d.var_names(*exprs)) if n in d.vars]


def all_entries(inst: Instantiator, variables) -> list:
    """Every entry of the given variables at the instance's sizes."""
    out = []
    for var in variables:
        shape = [inst.integer(s, {}) for s in var.shape]
        if var.kind == "scalar":
            out.append(var.obj)
            continue
        base = inst._base(var.name)
        for idx in itertools.product(*(range(1, s + 1) for s in shape)):
            out.append(base[idx] if len(idx) > 1 else base[idx[0]])
    return out


def to_mp(value: sp.Basic):
    """A SymPy number as an mpmath number (NaN when it is not a finite number)."""
    v = sp.N(quad_integrals(value), DIGITS)
    if v.free_symbols or v.has(sp.zoo, sp.oo, -sp.oo, sp.nan):
        return mpmath.nan
    if v.is_Float or v.is_Rational:
        return mpmath.mpf(sp.Float(v, DIGITS)._mpf_)
    re, im = v.as_real_imag()
    try:
        return mpmath.mpc(mpmath.mpf(sp.Float(re, DIGITS)._mpf_),
                          mpmath.mpf(sp.Float(im, DIGITS)._mpf_))
    except (TypeError, ValueError, AttributeError):
        return mpmath.nan


class Evaluator:
    """Both sides of a claim at one size, evaluated at points (numbers fold as they come)."""

    def __init__(self, claim: Claim, sizes: dict):
        self.claim, self.sizes = claim, sizes
        d = claim.derivation
        probe = Instantiator(d, sizes)
        self.leaves = all_entries(probe, referenced_vars(d, claim.lhs, claim.rhs))
        idx = free_indices(d, claim.lhs, claim.rhs)
        ranges = [range(1, probe.integer(d.indices[k], {}) + 1) for k in idx]
        self.envs = [dict(zip(idx, v)) for v in itertools.product(*ranges)]
        self.labels: list = []
        self.digits = WORK_DIGITS

    def __call__(self, point: dict) -> list | None:
        with mpmath.workdps(self.digits):
            values = {key_of(k): mpmath.mpf(int(v.p)) / int(v.q) for k, v in point.items()}
            inst = NumericInstantiator(self.claim.derivation, self.sizes, values)
            labels, lhs, rhs = [], [], []
            try:
                for env in self.envs:
                    L = inst.matrix(self.claim.lhs, env, frozenset())
                    R = inst.matrix(self.claim.rhs, env, frozenset())
                    if L.shape != R.shape:
                        raise ShapeMismatch(self.sizes, env, L.shape, R.shape)
                    for a in range(L.rows):
                        for b in range(L.cols):
                            labels.append((env, (a + 1, b + 1), L.shape))
                            lhs.append(L[a, b])
                            rhs.append(R[a, b])
            except (ZeroDivisionError, OverflowError, KinkError):
                return None
            self.labels = labels
            return [v if isinstance(v, (mpmath.mpf, mpmath.mpc)) else mpmath.mpf(v)
                    for v in lhs + rhs]


def _solve_given(inst: Instance, point: dict) -> list[dict] | None:
    """Solutions of the ``given`` conditions for the unknowns at ``point``."""
    eqs = [sp.nsimplify(g.xreplace(point)) for g in inst.given]
    try:
        sols = sp.solve(eqs, inst.unknowns, dict=True)
    except (NotImplementedError, ValueError):
        return None
    return [s for s in sols if all(sp.sympify(v).is_real is not False for v in s.values())]


def _eval_conditional(inst: Instance, point: dict) -> list[tuple] | None:
    sols = _solve_given(inst, point)
    if not sols:
        return None
    return [(sol, [to_mp(sp.sympify(e).xreplace({**point, **sol})) for e in inst.lhs + inst.rhs])
            for sol in sols]


def _disagreements(vals) -> list[int]:
    m = len(vals) // 2
    return [k for k in range(m) if not agree(vals[k], vals[m + k])]


def _all_valid(vals) -> bool:
    return vals is not None and all(valid(v) for v in vals)


SHRINK_SECONDS = 2.0


def _shrink(evaluate, sampler: Sampler, point: dict) -> dict:
    """Make the failing point simpler while it still fails (Hypothesis-style): first a
    whole variable at once, then entry by entry, within a small time budget."""
    deadline = time.perf_counter() + SHRINK_SECONDS

    def fails(trial) -> bool:
        vals = evaluate(trial)
        return _all_valid(vals) and bool(_disagreements(vals))

    groups: dict = {}
    for leaf in point:
        groups.setdefault(leaf.base.label if isinstance(leaf, sp.Indexed) else leaf,
                          []).append(leaf)
    for members in groups.values():
        if time.perf_counter() > deadline:
            return point
        options = sampler.simpler(members[0], point[members[0]])
        for cand in options:
            trial = {**point, **{m: cand for m in members}}
            if trial != point and fails(trial):
                point = trial
                break
    for leaf in list(point):
        ranked = sampler.simpler(leaf, point[leaf])  # candidates, simplest first
        if point[leaf] in ranked:  # only the ones simpler than the value it has
            ranked = ranked[:ranked.index(point[leaf])]
        for cand in ranked:
            if time.perf_counter() > deadline:
                return point
            trial = {**point, leaf: cand}
            if fails(trial):
                point = trial
                break
    return point


CONFIRM_DIGITS = (500, 1000)
CONFIRM_DIGITS_QUAD = (150, 200)  # quadrature at 1000 digits would take minutes


def _confirmed(evaluate: Evaluator, point: dict) -> list | None:
    """The values at ``point`` when a disagreement survives evaluation at 500 and at 1000
    digits, with the same values at both (so not an artefact of cancellation, say
    cosh(x)^2 - sinh(x)^2 at x = 1000); None otherwise."""
    previous = None
    c = evaluate.claim
    quad = any(sp.sympify(e).has(sp.Integral) for e in (c.lhs, c.rhs)) or any(
        sp.sympify(df.body).has(sp.Integral) for df in c.derivation.defs.values())
    try:
        for digits in CONFIRM_DIGITS_QUAD if quad else CONFIRM_DIGITS:
            evaluate.digits = digits
            vals = evaluate(point)
            if not _all_valid(vals) or not _disagreements(vals):
                return None
            if previous is not None and _disagreements(previous + vals):
                return None  # still moving with the precision: not a settled value
            previous = vals
        return previous
    finally:
        evaluate.digits = WORK_DIGITS


def _counterexample(labels, sizes, point: dict, vals, bad: list[int],
                    solution: dict | None = None) -> dict:
    m = len(vals) // 2
    first = bad[0]
    entries = [{"entry": _entry_text(labels[k]), **_pair(vals[k], vals[m + k])}
               for k in bad[:12]]
    cx = {
        "sizes": _jsonable_sizes(sizes),
        "indices": {str(k): v for k, v in labels[first][0].items()},
        "values": {leaf_name(x): str(v) for x, v in sorted(point.items(), key=lambda t: str(t[0]))},
        **_pair(vals[first], vals[m + first]),
        "entries": entries,
        "differing": len(bad),
        "total": m,
    }
    if solution is not None:
        cx["solution"] = {leaf_name(k): str(v) for k, v in solution.items()}
    return cx


def _pair(lhs, rhs) -> dict:
    a, b = fmt_pair(lhs, rhs)
    return {"lhs": a, "rhs": b}


def _numeric_one(claim: Claim, sizes: dict, wanted: int, rng: random.Random,
                 limit: int | None = None) -> Outcome | int:
    """Sample one size: an Outcome when the claim fails there, else the points used.
    Raises WorkLimit when one point costs more than ``limit`` evaluation steps."""
    d = claim.derivation
    tries = max(MAX_TRIES, 3 * wanted)
    if claim.given:
        inst = instantiate(claim, sizes)
        sampler = Sampler(d, inst.leaves, sizes, rng)
        good = 0
        unknowns = set(inst.unknowns)
        for _ in range(tries if inst.leaves else 1):
            # a simplex group is drawn whole: drop the entries that are unknowns, or the
            # conditions would be evaluated, not solved for them
            point = {x: v for x, v in sampler.draw().items() if x not in unknowns}
            for sol, vals in _eval_conditional(inst, point) or []:
                if not _all_valid(vals):
                    continue
                bad = _disagreements(vals)
                if bad:
                    return Outcome("refuted", "sampling at solutions of the conditions",
                                   "false at a point satisfying the stated conditions",
                                   _counterexample(inst.labels, sizes, point, vals, bad, sol))
                good += 1
            if good >= wanted:
                break
        return good
    evaluate = Evaluator(claim, sizes)
    sampler = Sampler(d, evaluate.leaves, sizes, rng)
    good = 0
    for _ in range(tries if evaluate.leaves else 1):
        point = sampler.draw()
        work_limit(limit)
        try:
            vals = evaluate(point)
        finally:
            work_limit(None)
        if not _all_valid(vals):
            continue
        bad = _disagreements(vals)
        if bad and _confirmed(evaluate, point) is None:
            bad = []  # a rounding artefact (cancellation at large values): it agrees
        if bad:
            first = point
            point = _shrink(evaluate, sampler, point)
            vals = _confirmed(evaluate, point)
            if vals is None:
                point, vals = first, _confirmed(evaluate, first)
            bad = _disagreements(vals)
            return Outcome("refuted", f"exact point, {DIGITS} digits",
                           f"{len(bad)} of {len(vals) // 2} entries differ at "
                           f"{_sizes_text(sizes)}",
                           _counterexample(evaluate.labels, sizes, point, vals, bad))
        good += 1
        if good >= wanted:
            break
    return good


def numeric_phase(claim: Claim, configs: list[tuple[dict | list[dict], int]],
                  rng: random.Random, seed: int | None = None,
                  notes: list[str] | None = None) -> Outcome:
    """Sample every configuration.  A configuration given as a list of candidate sizes
    (largest first) is sampled at the first candidate whose points stay within the work
    limit; a claim too costly at every candidate is sampled at the other sizes only."""
    points, used, capped = 0, [], []
    for sizes, wanted in configs:
        ladder = sizes if isinstance(sizes, list) else [sizes]
        limit = WORK_PER_POINT if isinstance(sizes, list) else None
        for cand in ladder:
            try:
                got = _numeric_one(claim, cand, wanted, rng, limit)
            except WorkLimit:
                capped.append(cand)
                continue
            break
        else:
            continue
        if isinstance(got, Outcome):
            return got
        if got == 0:
            return Outcome("undecided", "sampling",
                           f"no point found where both sides are defined at "
                           f"{_sizes_text(cand)}")
        points += got
        used.append(cand)
    text = "; ".join(_sizes_text(s) for s in used)
    notes = list(notes or [])
    if capped:
        notes.append(f"too costly to evaluate at {_sizes_text(capped[0])} "
                     f"(more than {WORK_PER_POINT} steps per point), sampled smaller")
    extra = "".join(f"; {n}" for n in notes)
    return Outcome("verified", f"sampling: {points} points, {DIGITS} digits",
                   f"agrees at {points} random points ({text}), {DIGITS}-digit arithmetic"
                   f"{extra}",
                   evidence=evidence("sampling", used, points, DIGITS, seed))


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
            try:
                sols = sp.solve(inst.given, inst.unknowns, dict=True)
            except (NotImplementedError, ValueError):
                return None
            if not sols:
                return None
            diffs = [e.xreplace(s) for s in sols for e in diffs]
        binaries = _binaries(d, diffs)
        simplex = _simplex_substitution(d, inst)
        for e in diffs:
            if simplex and is_zero(e.xreplace(simplex), binaries, use_simplify=False):
                continue  # holds on the simplex (cheap attempt first)
            if is_zero(e, binaries, use_simplify=use_simplify) is not True:
                return None
    sizes = "; ".join(_sizes_text(i.sizes) for i in instances)
    return Outcome("proved", "symbolic", f"identity holds exactly at {sizes}",
                   evidence={"sizes": [_jsonable_sizes(i.sizes) for i in instances]})


# -- driver ------------------------------------------------------------------------------
def _numeric_configs(d: Derivation, claim: Claim, rng: random.Random) -> list[dict]:
    """The declared larger sizes, each dimension drawn on its own (stationary claims,
    whose conditions are solved exactly at each point, stay at these sizes)."""
    sym, num = d.size_configs(claim)
    out = []
    for cfg in num:
        lo = {k: max(c[k] for c in sym) for k in cfg}
        out.append({k: rng.randint(min(lo[k], v), max(lo[k], v)) for k, v in cfg.items()})
    return out


def _sampling_configs(claim: Claim, rng: random.Random) -> tuple[list, list[str]]:
    """(configurations for :func:`numeric_phase`, notes for the message)."""
    d = claim.derivation
    sym, num = d.size_configs(claim)
    plan = plan_sizes(sym, num, claim.sizes is not None, rng)
    configs: list = [(s, plan.points) for s in plan.exact]
    notes = list(plan.notes)
    if claim.given and plan.larger:
        # the conditions are solved exactly at every point: the declared sizes only
        configs += [(s, plan.points) for s in _numeric_configs(d, claim, rng)]
        notes.append("conditions solved exactly at each point: sampled at the declared "
                     "sizes only")
    else:
        configs += [(ladder, plan.points) for ladder in plan.larger]
    return configs, notes


def check_claim(claim: Claim, emit: Emit, seed: int | None = None) -> Outcome:
    """Check one claim; ``emit`` receives the numeric outcome before the proof starts."""
    seed = DEFAULT_SEED if seed is None else seed
    d = claim.derivation
    sym_cfgs, _ = d.size_configs(claim)
    one_size = not has_sizes(sym_cfgs)  # no dimensions: an exact proof covers "all sizes"

    def scoped(kind: str, outcome: Outcome) -> None:
        sizes = (outcome.evidence or {}).get("proved_sizes") or sym_cfgs
        emit(kind, at_sizes(outcome, sizes, covers_all=one_size))

    if isinstance(claim, StationaryClaim):
        from .stationary import check_stationary
        return at_sizes(check_stationary(claim, scoped, seed), sym_cfgs, covers_all=one_size)
    rng = claim_rng(claim, seed)
    configs, notes = _sampling_configs(claim, rng)
    try:
        outcome = numeric_phase(claim, configs, rng, seed, notes)
    except ShapeMismatch as exc:
        return _shape_refutation(exc)
    except (InstantiationError, TypeError, ValueError, KeyError, AttributeError) as exc:
        return Outcome("error", "build", f"{type(exc).__name__}: {exc}")
    if outcome.verdict != "verified":
        if outcome.counterexample and not outcome.evidence:  # how to reproduce it
            outcome.evidence = evidence(outcome.method, [outcome.counterexample["sizes"]], 0,
                                        DIGITS, seed)
        return outcome
    emit("numeric", outcome)
    if not one_size:
        from .allsizes import prove_all_sizes
        general = prove_all_sizes(claim)
        if general is not None:
            return _proved_all(general, outcome)
    # Prove size by size, smallest first, reporting each success at once: if the budget
    # runs out at a larger size, the sizes already proved still stand, and are stated.
    # Without dimensions that proof covers every size; with them it covers the sizes
    # proved, and the verdict is "verified" (see scope.at_sizes).
    proved: list[dict] = []
    limit = d.proof_sizes if d.proof_sizes is not None else len(sym_cfgs)
    if not one_size:
        limit = 1  # evidence only (the verdict stays "verified"): the smallest size
    for sizes in sym_cfgs[:limit]:
        if not _prove_at(claim, sizes):
            break
        proved.append(sizes)
        scoped("proof", _proved(proved, outcome))
    if not proved:
        outcome.message = (outcome.message or "") + "; no symbolic proof found"
        return outcome
    result = _proved(proved, outcome)
    if len(proved) < limit:
        result.message += f"; no proof found at {_sizes_text(sym_cfgs[len(proved)])}"
    return at_sizes(result, proved, covers_all=one_size)


def _wrt_name(e: sp.Basic) -> str | None:
    if isinstance(e, DefRef):
        return str(e.token)
    if isinstance(e, Component):
        return _wrt_name(e.vector)
    if isinstance(e, BatchElement):
        return e.batch.name
    if isinstance(e, sp.Indexed):
        return str(e.base.label)
    if isinstance(e, (sp.Symbol, sp.MatrixSymbol)):
        return str(e.name)
    return None


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
                name = _wrt_name(node.wrt)
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
    text = "; ".join(_sizes_text(s) for s in sizes)
    ev = {**sampled.evidence, "method": "symbolic",
          "proved_sizes": [_jsonable_sizes(s) for s in sizes]}
    return Outcome("proved", "symbolic", f"identity holds exactly at {text}; also "
                   f"{sampled.message}", evidence=ev)


def _proved_all(argument: str, sampled: Outcome) -> Outcome:
    """Proved for every size by a size-generic argument (named in the message)."""
    ev = {**sampled.evidence, "method": "symbolic, all sizes", "scope": "all sizes",
          "proved_sizes": []}
    return Outcome("proved", "symbolic, all sizes",
                   f"identity holds for every size ({argument}); also {sampled.message}",
                   evidence=ev)


def _shape_refutation(exc: ShapeMismatch) -> Outcome:
    return Outcome("refuted", "shape", f"{exc} at {_sizes_text(exc.sizes)}",
                   {"sizes": _jsonable_sizes(exc.sizes),
                    "indices": {str(k): v for k, v in exc.env.items()},
                    "values": {}, "lhs": None, "rhs": None, "entries": [],
                    "message": str(exc)})
