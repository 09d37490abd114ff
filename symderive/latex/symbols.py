"""The setup of a derivation in the report: its symbols with shapes and domains, its
dimensions and indices, and its definitions (printed by name, as the formulas use them)."""

# LaTeX is full of braces: %-formatting reads far better here than str.format.
# ruff: noqa: UP031

from __future__ import annotations

import sympy as sp

from ..assumptions import Assumption, Binary, Counts, Interval, Positive, Real, Simplex
from ..derivation import Definition, Derivation, Var
from ..nodes import DefRef
from .display import Row, align
from .printer import DerivationPrinter
from .text import escape, ident


def domain_tex(assume: Assumption) -> str:
    """The set the entries of a symbol lie in, as LaTeX (text mode)."""
    if isinstance(assume, Simplex):
        return r"probability simplex (entries along the last axis sum to 1)"
    if isinstance(assume, Positive):
        return r"$(0, \infty)$"
    if isinstance(assume, Interval):
        left, right = ("[", "]") if assume.closed else ("(", ")")
        lo, hi = (sp.latex(sp.Rational(str(v))) for v in (assume.lo, assume.hi))
        return f"${left}{lo}, {hi}{right}$"
    if isinstance(assume, Binary):
        return r"$\{0, 1\}$"
    if isinstance(assume, Counts):
        return r"integers $\geq %d$" % assume.low
    if isinstance(assume, Real) or type(assume) is Assumption:
        return r"$\mathbb{R}$"
    return escape(assume.describe())


def _index_letters(d: Derivation, shape: tuple, p: DerivationPrinter) -> list[str]:
    """Index names for the axes of a tensor: the declared index of each dimension."""
    out, used = [], set()
    for dim in shape:
        name = next((p._print(k) for k, n in d.indices.items() if n == dim and k not in used),
                    None)
        if name is None:
            name = "abcdefgh"[len(out)]
        else:
            used |= {k for k, n in d.indices.items() if p._print(k) == name}
        out.append(name)
    return out


def symbol_row(var: Var, d: Derivation, p: DerivationPrinter) -> tuple[str, str, str]:
    """(symbol, shape, domain) of one declared symbol, as cells of the table."""
    shape = [p._print(s) for s in var.shape]
    if var.kind == "scalar":
        return f"${p._print(var.obj)}$", "scalar", domain_tex(var.assume)
    if var.kind == "vector":
        return f"${p._print(var.obj)}$", f"${shape[0]}$-vector", domain_tex(var.assume)
    if var.kind == "matrix":
        return (f"${p._print(var.obj)}$", r"$%s \times %s$" % tuple(shape),
                domain_tex(var.assume))
    if var.kind == "batch":
        count, dim = var.shape
        index = next((k for k, n in d.indices.items() if n == count), sp.Symbol("i"))
        elem = p._print(var.obj[index])
        return (r"$%s,\ %s = 1, \dots, %s$" % (elem, p._print(index), shape[0]),
                f"${shape[1]}$-vectors", domain_tex(var.assume))
    letters = _index_letters(d, var.shape, p)
    name = p.names.get(var.name).plain().render(tuple(letters))
    return f"${name}$", r"$%s$" % r" \times ".join(shape), domain_tex(var.assume)


def symbols_table(d: Derivation, p: DerivationPrinter) -> str:
    if not d.vars:
        return ""
    lines = []
    for v in d.vars.values():
        sym, shape, dom = symbol_row(v, d, p)
        lines.append(r"%s & \texttt{%s} & %s & %s \\" % (sym, ident(v.name), shape, dom))
    body = "\n".join(lines)
    return ("\\begin{longtable}{@{}p{0.3\\linewidth}p{0.16\\linewidth}p{0.17\\linewidth}"
            "p{0.29\\linewidth}@{}}\n\\toprule\nSymbol & Name & Shape & Entries in \\\\\n"
            f"\\midrule\n\\endhead\n{body}\n\\bottomrule\n\\end{{longtable}}")


def dims_text(d: Derivation, p: DerivationPrinter) -> str:
    """The sizes the claims are checked at, as the claims' own evidence states them:
    configurations of all dimensions together, which of them are proved, and the range
    of the extra random size; then the indices."""
    out = ""
    if d.dims:
        dims = list(d.dims)
        count = max(len(s) for s, _ in d.dims.values())
        configs = [tuple(d.dims[x][0][min(k, len(d.dims[x][0]) - 1)] for x in dims)
                   for k in range(count)]
        largest = tuple(d.dims[x][1] for x in dims)

        def tup(values: tuple) -> str:
            return "(%s)" % ", ".join(map(str, values)) if len(values) > 1 else str(values[0])

        names = ", ".join(p._print(x) for x in dims)
        names = f"({names})" if len(dims) > 1 else names
        k = len(configs) if d.proof_sizes is None else min(d.proof_sizes, len(configs))
        at = ("each of them" if k == len(configs) else "the first" if k == 1
              else f"the first {k}")
        listed = [f"${names} = {tup(configs[0])}$"] + [f"${tup(c)}$" for c in configs[1:]]
        listed_text = (", ".join(listed[:-1]) + " and " + listed[-1]) if len(listed) > 1 \
            else listed[0]
        text = (r"Unless a claim states its own, it is checked at %s: proved exactly "
                r"at %s (within the time budget), and sampled at random exact points at all "
                r"of them and at one further random size up to $%s$. A claim uses only the "
                r"dimensions it involves." % (listed_text, at, tup(largest)))
        out += r"\noindent\textbf{Sizes:} " + text + "\n\n"
    if d.indices:
        idx = [r"$%s = 1, \dots, %s$" % (p._print(k), p._print(n)) for k, n in d.indices.items()]
        out += r"\noindent\textbf{Indices:} " + ", ".join(idx) + ".\n\n"
    return out


def definition_lhs(df: Definition) -> sp.Basic:
    """What the formulas call the definition: ``z_{1,i}``, ``y_{n,k}``, ``L``."""
    if df.is_matrix:
        return DefRef(df.token, *df.body.shape, *df.params)
    if df.params:
        return sp.IndexedBase(df.name)[df.params]
    return df.token


def definitions(d: Derivation, p: DerivationPrinter) -> str:
    if not d.defs:
        return ""
    rows = [Row(p.doprint(definition_lhs(df)), p.doprint(df.body)) for df in d.defs.values()]
    return "\\noindent\\textbf{Definitions:}\n" + align(rows) + "\n"


def setup_section(d: Derivation) -> str:
    """The symbols, dimensions, indices and definitions of ``d``."""
    inline = DerivationPrinter(d)  # no break marks in text-mode math
    parts = ["\\subsection*{Setup}"]
    table = symbols_table(d, inline)
    if table:
        parts.append(table)
    parts.append(dims_text(d, inline))
    parts.append(definitions(d, DerivationPrinter(d, breaks=True)))
    return "\n".join(x for x in parts if x)
