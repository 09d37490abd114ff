"""Which entries of a claim disagree, and the counterexample a report shows for them."""

from __future__ import annotations

import mpmath
import sympy as sp

from ..evaluate import raised_precision, resolution_checked
from ..numeric import agree, fmt_pair, leaf_name, valid
from .instances import ShapeMismatch
from .verdict import Outcome, Verdict, jsonable_sizes, sizes_text


def all_valid(vals) -> bool:
    return vals is not None and all(valid(v) for v in vals)


def is_complex(v) -> bool:
    """A finite value with a non-negligible imaginary part (a real formula left the reals)."""
    return isinstance(v, mpmath.mpc) and mpmath.isfinite(v) and not valid(v)


def failures(vals) -> list[int]:
    """Positions k where the left side ``vals[k]`` and the right side ``vals[m + k]``
    refute the claim at this point: both sides real and different, or exactly one side
    non-real (then the two sides are different numbers).  Entries where both sides are
    non-real, or either is undefined, decide nothing (they are skipped, and counted)."""
    if vals is None:
        return []
    m = len(vals) // 2
    out = []
    for k in range(m):
        a, b = vals[k], vals[m + k]
        if valid(a) and valid(b):
            if not agree(a, b):
                out.append(k)
        elif (valid(a) and is_complex(b)) or (is_complex(a) and valid(b)):
            out.append(k)
    return out


#: a disagreement refutes only if it survives at 500 and at 1000 digits (working digits
#: times these factors), with the same values at both; quadrature at 1000 digits would
#: take minutes, so a claim with an integral is confirmed at 150 and 200
CONFIRM_FACTORS = (5, 10)
CONFIRM_FACTORS_QUAD = (1.5, 2)


def _has_integral(claim) -> bool:
    return any(sp.sympify(e).has(sp.Integral) for e in (claim.lhs, claim.rhs)) or any(
        sp.sympify(df.body).has(sp.Integral) for df in claim.derivation.defs.values())


def confirmed(evaluate, point: dict) -> list | None:
    """The values at ``point`` when a failure there survives at two raised precisions
    (:func:`symderive.evaluate.raised_precision`, finite-difference step made finer too)
    and its values are the same at both: a real disagreement stays, a rounding artefact
    (cancellation in cosh(x)^2 - sinh(x)^2 at x = 1000, finite differences at a softmax
    entry of 1e-13) goes.  None when the point does not refute the claim."""
    if not failures(evaluate(point)):
        return None
    claim = getattr(evaluate, "claim", None)
    factors = CONFIRM_FACTORS_QUAD if claim and _has_integral(claim) else CONFIRM_FACTORS
    previous = None
    for factor in factors:
        with raised_precision(factor), resolution_checked():
            vals = evaluate(point)
        if not failures(vals):
            return None
        if previous is not None and failures(previous + vals):
            return None  # still moving with the precision: not a settled value
        previous = vals
    return previous


def confirmed_failures(evaluate, point: dict) -> list[int]:
    """The failing entries at ``point`` that :func:`confirmed` confirms."""
    vals = confirmed(evaluate, point)
    return failures(vals) if vals is not None else []


def complex_note(vals, bad: list[int]) -> str:
    """Which side is complex at the first failing entry, if one is ("" otherwise)."""
    m = len(vals) // 2
    a, b = vals[bad[0]], vals[m + bad[0]]
    if is_complex(a):
        return "; the left side is complex there, the right side real"
    if is_complex(b):
        return "; the right side is complex there, the left side real"
    return ""


def skipped_text(skipped: int, unresolved: int = 0) -> str:
    """The note a report adds for points that decided nothing (``unresolved`` of the
    ``skipped`` for a numeric derivative that could not be resolved)."""
    other = skipped - unresolved
    return ((f"; {other} point(s) skipped where a side is complex or undefined"
             if other else "")
            + (f"; {unresolved} point(s) skipped where a numeric derivative cannot be "
               "resolved to the comparison tolerance (its rounding error bound is not "
               "well below it)" if unresolved else ""))


def entry_text(label) -> str:
    env, (a, b), shape = label
    where = ", ".join(f"{k}={v}" for k, v in env.items())
    if shape == (1, 1):
        pos = ""
    elif shape[1] == 1:
        pos = f"[{a}]"
    else:
        pos = f"[{a},{b}]"
    return f"{where} {pos}".strip() or "value"


def _pair(lhs, rhs) -> dict:
    """Both sides, printed with enough digits to show that they differ."""
    a, b = fmt_pair(lhs, rhs)
    return {"lhs": a, "rhs": b}


def counterexample(labels, sizes, point: dict, vals, bad: list[int],
                   solution: dict | None = None) -> dict:
    m = len(vals) // 2
    first = bad[0]
    entries = [{"entry": entry_text(labels[k]), **_pair(vals[k], vals[m + k])}
               for k in bad[:12]]
    cx = {
        "sizes": jsonable_sizes(sizes),
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


def shape_refutation(exc: ShapeMismatch) -> Outcome:
    return Outcome(Verdict.REFUTED, "shape", f"{exc} at {sizes_text(exc.sizes)}",
                   {"sizes": jsonable_sizes(exc.sizes),
                    "indices": {str(k): v for k, v in exc.env.items()},
                    "values": {}, "lhs": None, "rhs": None, "entries": [],
                    "message": str(exc)})


def index_refutation(claim, exc) -> Outcome:
    """A claim naming an entry outside a declared tensor's shape at the sizes sampled
    (:class:`~symderive.walker.IndexRangeError`): refuted by shape, like matrices that
    do not fit, with the sizes and the file and line."""
    text = f"{exc} at {sizes_text(exc.sizes)}{_where(claim)}"
    return Outcome(Verdict.REFUTED, "shape", text,
                   {"sizes": jsonable_sizes(exc.sizes), "indices": {}, "values": {},
                    "lhs": None, "rhs": None, "entries": [], "message": text})


def unbuilt(error) -> Outcome:
    """The verdict of a claim that could not be built (:mod:`symderive.deferred`): a shape
    mismatch refutes it, anything else is an error; both name the file and line."""
    where = f" ({error.where})" if error.where else ""
    if error.shape:
        cx = {"sizes": {}, "indices": {}, "values": {}, "lhs": None, "rhs": None,
              "entries": [], "message": error.message + where,
              "operands": [{"expr": t, "shape": [str(x) for x in s]}
                           for t, s in error.operands or []]}
        return Outcome(Verdict.REFUTED, "shape", error.message + where, cx)
    return Outcome(Verdict.ERROR, "build", error.message + where)


def _where(claim) -> str:
    d = claim.derivation
    file = getattr(d, "file", None) if d is not None else None
    if file and claim.line:
        return f" ({file}:{claim.line})"
    return f" (line {claim.line})" if claim.line else ""


def operand_refutation(claim, exc) -> Outcome:
    """A matrix operation whose operands do not fit at the sizes checked: refuted."""
    message = f"{exc}{_where(claim)}"
    return Outcome(Verdict.REFUTED, "shape", message,
                   {"sizes": {}, "indices": {}, "values": {}, "lhs": None, "rhs": None,
                    "entries": [], "message": message,
                    "operands": [{"expr": t, "shape": list(s)} for t, s in exc.operands]})
