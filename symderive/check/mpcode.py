"""SymPy expressions as straight-line mpmath code, one assignment per distinct subtree.

The larger-size check of a stationary claim (stationary_large.py) compiles the objective,
its gradient, Hessian, constraints and the claimed point at some 50 unknowns and 100
parameters: thousands of nodes, most of them repeated (log mu_kw once per document).
``lambdify`` prints each expression through the code printer (ordering, precedence) and
needs ``cse`` to share repeated subtrees, which together were most of the cost of the
build.  Here every distinct subtree is visited once and becomes one assignment, so
sharing comes from the walk itself.  Each node is computed as the mpmath printer would
(a sum left to right, a product as numerator / denominator, a rational as
``mpf(p)/mpf(q)`` at the caller's working precision), so a value differs from
lambdify's at most by the order of its roundings at that precision.

Only arithmetic, ``exp``, ``log`` and ``factorial`` of the arguments and rational numbers
are compiled; anything else raises :class:`Unsupported` and the caller uses ``lambdify``.
"""

from __future__ import annotations

import re

import mpmath
import sympy as sp


class Unsupported(Exception):
    """The expression holds a node this compiler does not know (the caller falls back)."""


_FUNCTIONS = {sp.log: "log", sp.exp: "exp", sp.factorial: "factorial"}
_NAMESPACE = {"mpf": mpmath.mpf, "log": mpmath.log, "exp": mpmath.exp,
              "sqrt": mpmath.sqrt, "factorial": mpmath.factorial}


class _Writer:
    def __init__(self, args: list, vary: int | None = None):
        self.names = {a: f"a{k}" for k, a in enumerate(args)}
        if len(self.names) != len(args):
            raise Unsupported("an argument given twice")
        self.done: dict = {}
        self.lines: list[str] = []
        self.sums: dict = {}
        #: with ``vary``, the names whose values do not depend on the first ``vary``
        #: arguments: their lines go to ``fixed`` (computed once per parameter point)
        self.hoist = vary is not None
        self.fixed: list[str] = []
        self.steady = {f"a{k}" for k in range(vary or 0, len(args))}

    def index_sums(self, exprs: list) -> None:
        """For each term, the sums (their positions in a walk) that hold it."""
        seen: set = set()
        holders: dict = {}

        def walk(e):
            if e in seen or e in self.names:
                return
            seen.add(e)
            if e.is_Add:
                for a in e.args:
                    holders.setdefault(a, []).append(len(seen))
            for a in e.args:
                walk(a)
        for e in exprs:
            walk(e)
        self.sums = {a: tuple(h) for a, h in holders.items()}

    def code(self, e: sp.Basic) -> str:
        """A name or literal holding ``e``'s value (its lines emitted once)."""
        got = self.names.get(e)
        if got is None:
            got = self.done.get(e)
        if got is not None:
            return got
        if e.is_Integer:
            return f"({int(e)})"
        name = self.done[e] = self._assign(self._node(e))
        return name

    def _assign(self, text: str) -> str:
        """A new name for ``text`` (computed after the lines it uses)."""
        if self.hoist and all(n in self.steady for n in _NAME.findall(text)):
            name = f"c{len(self.fixed)}"
            self.fixed.append(f"    {name} = {text}")
            self.steady.add(name)
            return name
        name = f"t{len(self.lines)}"
        self.lines.append(f"    {name} = {text}")
        return name

    def _node(self, e: sp.Basic) -> str:
        if e.is_Rational:
            return f"mpf({int(e.p)})/mpf({int(e.q)})"
        if e.is_Add:
            return self._add(e)
        if e.is_Mul:
            return self._mul(e)
        if e.is_Pow:
            return self._pow(e.base, e.exp)
        name = _FUNCTIONS.get(type(e))
        if name is not None and len(e.args) == 1:
            return f"{name}({self.code(e.args[0])})"
        raise Unsupported(type(e).__name__)

    def _add(self, e: sp.Add) -> str:
        """A sum; terms that the same other sums hold too (the log coefficient of a
        document, in every topic's term) are summed once, as their own sum."""
        groups: dict = {}
        for a in e.args:
            groups.setdefault(self.sums.get(a, ()), []).append(a)
        parts = []
        for holders, terms in groups.items():
            if len(holders) > 1 and len(terms) > 1:
                key = (holders, tuple(terms))
                if key not in self.done:
                    self.done[key] = self._assign(self._terms(terms))
                parts.append(self.done[key])
            else:
                parts += terms
        return self._terms(parts)

    def _terms(self, terms: list) -> str:
        """``a + b - c``: a term -x is subtracted, not negated and added."""
        out = []
        for t in terms:
            if isinstance(t, str):
                out.append(f"+ {t}")
                continue
            c, rest = t.as_coeff_Mul()
            out.append(f"- {self.code(rest)}" if c == -1 else f"+ {self.code(t)}")
        text = " ".join(out)
        return text[2:] if text.startswith("+ ") else text

    def _mul(self, e: sp.Mul) -> str:
        coeff, factors = e.as_coeff_mul()
        num, den = [], []
        for f in factors:
            if f.is_Pow and f.exp.is_Rational and f.exp.is_negative:
                den.append(self._power(f.base, -f.exp))
            else:
                num.append(self.code(f))
        if coeff not in (1, -1):
            num.insert(0, self.code(coeff))
        text = "*".join(num) or "1"
        if coeff == -1:
            text = "-" + text
        if den:
            text += "/" + (den[0] if len(den) == 1 else "(" + "*".join(den) + ")")
        return text

    def _power(self, base: sp.Basic, exp: sp.Rational) -> str:
        """base**exp for a positive rational exponent, as an operand."""
        if exp == 1:
            return self.code(base)
        if exp == sp.S.Half:
            return f"sqrt({self.code(base)})"
        return f"{self.code(base)}**{self.code(exp)}"

    def _pow(self, base: sp.Basic, exp: sp.Basic) -> str:
        if exp.is_Rational and exp.is_negative:
            if exp == -1 or exp == -sp.S.Half:
                return f"1/{self._power(base, -exp)}"
        if exp == sp.S.Half:
            return f"sqrt({self.code(base)})"
        return f"{self.code(base)}**{self.code(exp)}"


_NAME = re.compile(r"\b[atc]\d+\b")


def compile_mp(args: list, exprs, vary: int | None = None):
    """A Python function of ``args`` computing ``exprs`` (one expression, or a list: a
    list of values) with mpmath; :class:`Unsupported` for a node it does not know.

    With ``vary``, only the first ``vary`` arguments change from call to call in the
    common use (trial points of a search, the parameters fixed): what depends on the
    other arguments alone is computed once and kept for the next call with the same
    values of them at the same working precision (one entry, compared by value)."""
    w = _Writer(args, vary)
    many = isinstance(exprs, list)
    exprs = [sp.sympify(e) for e in (exprs if many else [exprs])]
    w.index_sums(exprs)
    outs = [w.code(e) for e in exprs]
    result = "[" + ", ".join(outs) + "]" if many else outs[0]
    head = f"def compiled({', '.join(w.names.values())}):\n"
    if w.fixed:
        steady = [f"a{k}" for k in range(vary, len(args))]
        consts = [line.split(" = ")[0].strip() for line in w.fixed]
        key = f"(mp.prec, {''.join(a + ', ' for a in steady)})"  # no held argument: (prec, )
        head = (f"def fixed({', '.join(steady)}):\n" + "\n".join(w.fixed) + "\n"
                f"    return ({', '.join(consts)},)\n" + head
                + f"    key = {key}\n"
                  "    if memo[0] != key:\n"
                f"        memo[:] = [key, fixed({', '.join(steady)})]\n"
                f"    ({', '.join(consts)},) = memo[1]\n")
    source = f"{head}" + "\n".join(w.lines) + f"\n    return {result}\n"
    scope = dict(_NAMESPACE, mp=mpmath.mp, memo=[None, None])
    exec(compile(source, "<symderive.mpcode>", "exec"), scope)  # noqa: S102 -- our own code
    return scope["compiled"]
