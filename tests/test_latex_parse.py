"""Printed formulas read back: SymPy's LaTeX parser gives the expression that was checked.

Every scalar formula of the test derivations (both sides of each claim, stationary
objectives, points and constraints, definition bodies) is printed and parsed.  Formulas
the parser cannot read (vectors in bold, operator names...) are skipped and counted; the
parser reads unknown commands as products of letters (``\\mathbf{x}`` as ``mathbf*x``),
so a parse whose symbols are not the formula's own also counts as unreadable, and so does
a parse that lost some of the formula's symbols (on input it cannot read, such as
``y_{n,k}``, the parser may return what it read up to there).  Every formula that is
read must equal the checked one.
"""

from __future__ import annotations

import random

import pytest
import sympy as sp
from latex_cases import long_derivation, scalar_derivation, vector_derivation

from symderive.derivation import StationaryClaim
from symderive.latex.printer import DerivationPrinter
from symderive.nodes import ScalarD, sigmoid

parse_latex = pytest.importorskip("sympy.parsing.latex").parse_latex
pytest.importorskip("antlr4")


def _formulas(d):
    for c in d.claims:
        exprs = [c.lhs, c.rhs]
        if isinstance(c, StationaryClaim):
            exprs += [c.f, *c.point.values(), *c.constraints]
        for e in exprs:
            yield c.id, e
    for df in d.defs.values():
        yield f"def {df.name}", df.body


def _norm(tex: str) -> str:
    return tex.replace("\\", "").replace(" ", "")


def _leaves(expr: sp.Basic) -> set:
    return expr.atoms(sp.Symbol, sp.Indexed)


def _as_sympy(expr: sp.Basic) -> sp.Basic:
    """The checked expression with symderive's derivative node as SymPy's Derivative."""
    return expr.replace(lambda e: isinstance(e, ScalarD),
                        lambda e: sp.Derivative(e.f, e.wrt))


def _read_back(expr: sp.Basic, tex: str, p: DerivationPrinter) -> sp.Basic | None:
    """The parsed formula in the checked expression's symbols; None when unreadable."""
    try:
        parsed = parse_latex(tex)
    except Exception:  # the parser's own errors, and antlr's
        return None
    names = {_norm(p.doprint(leaf)): leaf for leaf in _leaves(expr)}
    mapping = {}
    for sym in parsed.atoms(sp.Symbol):
        if sym.name == "e":
            mapping[sym] = sp.E
        elif _norm(sym.name) in names:
            mapping[sym] = names[_norm(sym.name)]
        else:
            return None
    parsed = parsed.xreplace(mapping)
    if not _leaves(expr) <= _leaves(parsed):
        return None  # a partial parse: the parser gave up part way and dropped the rest
    return parsed.replace(lambda e: isinstance(e, sp.Function) and type(e).__name__ == "sigma",
                          lambda e: sigmoid(*e.args))


def _equal(a: sp.Basic, b: sp.Basic, rng: random.Random) -> bool:
    diff = (a - b).doit()
    if diff == 0 or sp.simplify(diff) == 0:
        return True
    for _ in range(3):
        sizes = {s: rng.randint(2, 4) for s in diff.free_symbols if s.is_integer}
        e = diff.xreplace(sizes).doit()
        point = {x: sp.Rational(rng.randint(1, 9), 10) for x in _leaves(e)}
        if abs(complex(sp.N(e.xreplace(point), 30))) > 1e-20:
            return False
    return True


def test_printed_scalar_formulas_parse_back_to_the_checked_expression():
    rng = random.Random(1)
    read, skipped, wrong, seen = [], [], [], set()
    for d in (scalar_derivation(), vector_derivation(), long_derivation()):
        p = DerivationPrinter(d)
        for where, expr in _formulas(d):
            if not isinstance(expr, sp.Expr) or expr.is_Matrix or expr == 0:
                continue
            if isinstance(expr, sp.MatrixExpr):
                continue
            tex = p.doprint(expr)
            if tex in seen:
                continue
            seen.add(tex)
            parsed = _read_back(expr, tex, p)
            if parsed is None:
                skipped.append((d.name, where, tex))
                continue
            read.append((d.name, where))
            if not _equal(_as_sympy(expr), parsed, rng):
                wrong.append((d.name, where, tex, parsed))
    assert not wrong, wrong
    # the scalar formulas of the test derivations are the parser's kind of formula
    assert len(read) >= 12, (read, skipped)
    assert any(w.startswith("def") is False and n == "scal" for n, w in read)
