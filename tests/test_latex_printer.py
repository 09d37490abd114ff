"""The LaTeX printer: the document's notation for every symderive node, names, breaking."""

from __future__ import annotations

import sympy as sp
from latex_cases import scalar_derivation, vector_derivation

from symderive import (
    D,
    Derivation,
    H,
    bcast,
    bsum,
    comp,
    ediv,
    epow,
    exp,
    hadamard,
    indicator,
    log,
    ones,
    relu,
    sigmoid,
    softmax,
    sqrt,
)
from symderive.latex.layout import break_lines, strip_marks
from symderive.latex.names import default_name, given_name
from symderive.latex.printer import BREAK, MUL_BREAK, latex
from symderive.latex.text import escape, ident, value
from symderive.latex.width import width


def _setup():
    d = Derivation("t")
    n, m = d.dim("n"), d.dim("n_x")
    i = d.index("i", n)
    k = d.index("k", m)
    x = d.batch("x", m, n)
    W = d.matrix("W1", m, m)
    b = d.vector("b1", m)
    W2 = d.matrix("W2", m, m, latex=r"\mathbf{W}^{(2)}")
    g = d.scalar("gamma")
    eps = d.scalar("epsilon")
    z = d.define("z1", W * x[i] + b, params=(i,))
    mu = d.define("mu", bsum(x[i], i, 1, n) / n)
    s2 = d.define("sigma2", bsum(hadamard(x[i] - mu, x[i] - mu), i, 1, n) / n)
    hh = d.define("h1hat", relu(z[i]), params=(i,))
    L = d.define("L", bsum(ones(m).T * log(hh[i]), i, 1, n))
    return d, dict(n=n, m=m, i=i, k=k, x=x, W=W, b=b, W2=W2, g=g, eps=eps, z=z, mu=mu, s2=s2,
                   hh=hh, L=L)


def test_names_bold_vectors_hats_and_greek():
    assert default_name("W1", True).render() == r"\mathbf{W}_{1}"
    assert default_name("yhat", True).render(("i",)) == r"\hat{\mathbf{y}}_{i}"
    assert default_name("h1hat", True).render(("i",)) == r"\hat{\mathbf{h}}_{1,i}"
    assert default_name("delta1", True).render(("i",)) == r"\boldsymbol{\delta}_{1,i}"
    assert default_name("sigma2", True).render() == r"\boldsymbol{\sigma}^{2}"
    assert default_name("gamma", False).render() == r"\gamma"
    assert default_name("n_x", False).render() == r"n_{x}"
    assert default_name("yhat", True).plain().render(("i", "k")) == r"\hat{y}_{i,k}"
    assert default_name("pivot", False).render() == "pivot"  # no accent on "piv"
    assert default_name("gammaG", False).render() == "gammaG"  # no SymPy "mag" modifier
    assert given_name(r"\hat{\mathbf{h}}_{1}").render(("i",)) == r"\hat{\mathbf{h}}_{1,i}"


def test_nodes_print_in_the_document_notation():
    d, s = _setup()
    i, k, x, b, g = s["i"], s["k"], s["x"], s["b"], s["g"]

    def p(e):
        return latex(e, d)

    assert p(x[i]) == r"\mathbf{x}_{i}"
    assert p(s["z"][i]) == r"\mathbf{z}_{1,i}"
    assert p(s["hh"][i]) == r"\hat{\mathbf{h}}_{1,i}"
    assert p(s["mu"]) == r"\boldsymbol{\mu}"
    assert p(s["s2"]) == r"\boldsymbol{\sigma}^{2}"
    assert p(x[i].T) == r"\mathbf{x}_{i}^{T}"
    assert p(s["W2"].T) == r"{\mathbf{W}^{(2)}}^{T}"
    assert p(hadamard(x[i], b)) in (r"\mathbf{b}_{1} \odot \mathbf{x}_{i}",
                                    r"\mathbf{x}_{i} \odot \mathbf{b}_{1}")
    assert p(ediv(x[i], sqrt(b))) == r"\frac{\mathbf{x}_{i}}{\sqrt{\mathbf{b}_{1}}}"
    assert p(epow(x[i], 2)) == r"\mathbf{x}_{i}^{\odot 2}"
    assert p(bcast(g, s["m"])) == r"\gamma"
    assert p(hadamard(bcast(g, s["m"]), x[i])) == r"\gamma \mathbf{x}_{i}"
    assert p(softmax(x[i])).startswith(r"\operatorname{softmax}")
    assert p(ones(s["m"])) == r"\mathbf{1}" and p(ones(s["m"]).T) == r"\mathbf{1}^{T}"
    assert p(bsum(x[i], i, 1, s["n"])) == r"\sum_{i=1}^{n} \mathbf{x}_{i}"
    assert p(exp(x[i])).startswith(r"\exp")
    assert p(log(x[i])).startswith(r"\log")
    assert p(relu(x[i])).startswith(r"\operatorname{ReLU}")
    assert p(indicator(x[i])) == r"\mathbf{1}\left\{\mathbf{x}_{i} > 0\right\}"
    assert p(sigmoid(g)) == r"\sigma\left(\gamma\right)"
    assert p(comp(s["hh"][i], k)) == r"\hat{h}_{1,i,k}"
    assert p(comp(x[i] + b, k)) == r"\left(\mathbf{x}_{i} + \mathbf{b}_{1}\right)_{k}"
    assert p(D(s["L"], g)) == r"\frac{\partial L}{\partial \gamma}"
    assert p(D(s["L"], s["W"])) == r"\frac{\partial L}{\partial \mathbf{W}_{1}}"
    held = p(D(s["L"], s["mu"], holding=[s["s2"]]))
    assert held.startswith(r"\left.\frac{\partial L}{\partial \boldsymbol{\mu}}\right|")
    assert r"\boldsymbol{\sigma}^{2}" in held and "held" in held
    assert p(H(s["L"], b)) == (r"\frac{\partial^{2} L}{\partial \mathbf{b}_{1}\, "
                               r"\partial \mathbf{b}_{1}^{T}}")
    assert p(D(g**2 + s["eps"], g)) == \
        r"\frac{\partial}{\partial \gamma} \left(\epsilon + \gamma^{2}\right)"


def test_sum_of_transposes_prints_as_a_transposed_sum():
    d, s = _setup()
    expr = ediv(s["x"][s["i"]] - s["mu"], sqrt(s["s2"] + bcast(s["eps"], s["m"]))).T
    tex = latex(expr, d)
    assert tex.startswith(r"\left(\frac{\mathbf{x}_{i} - \boldsymbol{\mu}}{\sqrt{")
    assert tex.endswith(r"\right)^{T}")


def test_index_notation_uses_the_names():
    d = scalar_derivation()
    c = d.claim("4")
    assert latex(c.lhs, d) == r"\sum_{k=1}^{K} T_{k} \log{\left(\pi_{k} \right)}"
    st = d.claim("10")
    assert latex(st.constraints[0], d) == r"\left(\sum_{k=1}^{K} \pi_{k}\right) - 1"


def test_negative_summand_is_bracketed():
    k, K = sp.symbols("k K", integer=True)
    y = sp.IndexedBase("y")
    assert latex(sp.Sum(-y[k] * k, (k, 1, K))) == r"\sum_{k=1}^{K} \left(- k y_{k}\right)"


def test_every_packaged_style_formula_prints_without_sympy_fallbacks():
    for d in (vector_derivation(), scalar_derivation()):
        for c in d.claims:
            for e in (c.lhs, c.rhs, getattr(c, "f", None)):
                if e is None:
                    continue
                tex = latex(e, d)
                for node in ("BatchElement", "DefRef", "Elementwise", "BatchSum", "Broadcast",
                             "ScalarD", "MatD", "Component", "Softmax", "circ"):
                    assert node not in tex, (c.id, tex)


def test_break_marks_and_line_breaking():
    a = sp.symbols("a1:30")
    tex = latex(sum(a), breaks=True)
    assert BREAK in tex and strip_marks(tex) == latex(sum(a))
    lines = break_lines(tex, 12, 12)
    assert len(lines) > 2
    assert all(width(line) <= 12 for line in lines)
    assert all(line.lstrip().startswith("+") for line in lines[1:])
    assert "".join(strip_marks(line) for line in lines).replace(" ", "") == \
        strip_marks(tex).replace(" ", "")


def test_breaking_inside_brackets_keeps_them_balanced():
    a = sp.symbols("a1:30")
    n = sp.Symbol("n")
    tex = latex(sum(a) / n, breaks=True)
    lines = break_lines(tex, 15, 15)
    assert len(lines) > 1
    for line in lines:
        assert line.count(r"\left") == line.count(r"\right"), line
    assert r"\vphantom" in lines[0]


def test_long_products_break_between_factors():
    a = sp.symbols("a1:40")
    tex = latex(sp.Mul(*a), breaks=True)
    assert MUL_BREAK in tex
    lines = break_lines(tex, 15, 15)
    assert len(lines) > 1 and lines[1].startswith(r"\times")


def test_width_estimate_orders_formulas():
    assert width("x") < width("x + y") < width(r"x + y + \frac{a + b + c}{d}")
    assert width(r"\sum_{i=1}^{n} x") < width(r"\sum_{i=1}^{n} x + y")
    assert width(r"\mathbf{x}_{i}^{T}") < width(r"\mathbf{x}_{i} \mathbf{x}_{i}")


def test_escape_free_text():
    text = r"50% of #1 & $x_1$ ~ {a} ^ \b < > | ≥ ⊙ 日"
    out = escape(text)
    for raw in ("%", "#", "&", "$", "_", "{", "}"):
        assert f"\\{raw}" in out
    assert r"\textbackslash{}" in out and r"\textasciicircum{}" in out
    assert r"\ensuremath{\geq}" in out and r"\ensuremath{\odot}" in out
    assert "[U+65E5]" in out
    assert r"\allowbreak" in escape("x" * 60)
    # accented letters (repair hints: h → ĥ, precomposed or with a combining mark)
    assert escape("ĥ_1 x̂") == r"\^{h}\_1 \^{x}"
    assert ident("a-b_c.d") == r"a-\allowbreak{}b\_\allowbreak{}c.\allowbreak{}d"


def test_values_from_the_checker():
    assert value("-3/4") == r"$-\frac{3}{4}$"
    assert value("0.25") == "$0.25$"
    assert value("1e-30") == r"$1 \times 10^{-30}$"
    assert r"\allowbreak" in value("0." + "3" * 50)
    assert value("nan%") == r"\texttt{nan\%}"
