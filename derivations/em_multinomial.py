r"""EM for a mixture of multinomials (hw2.md §5, Problem 4, equations (39)–(47)).

Model: document $d$ has topic $c_d = k$ with probability $\pi_k$; given its topic, its word
counts $T_d = (T_{d1}, \dots, T_{dW})$ follow $\mathrm{Mult}(n_d, \mu_k)$, where
$n_d = \sum_w T_{dw}$.

Where the truth comes from (never from the document's own formulas):

* $P(d \mid c_d = k)$ is the multinomial pmf of `sympy.stats` (node `MultinomialPMF`) and
  $P(c_d = k) = \pi_k$. Claim `39` checks the document's closed form against that pmf.
* $P(d)$ (40) is the law of total probability over those;
  $\gamma_{dk} = P(c_d = k \mid d)$ (41), (46) is Bayes' rule over them.
* $E_C[\log P(D, C)]$ (42) is a real expectation: the checker enumerates all $K^D$ topic
  assignments $C = (c_1, \dots, c_D)$, each weighted by $\prod_d \gamma_{d, c_d}$
  ($\gamma$ is fixed in the M-step, as the document says: a leaf, drawn from the simplex).
* The derivatives (44) come from differentiating the Lagrangian (43), built on that
  expectation. The M-step (45), (47) comes from solving the Lagrange conditions
  (`stationary`, second-order condition included) of line 2 of (42), which claim `42.2`
  proves equal to the expectation on the simplex; solving with the $K^D$-term enumeration
  inside costs more and would leave the proof without the constraint
  $\sum_k \gamma_{dk} = 1$.

Errata (kept as written, marked, each with a corrected claim that is proved):

* (40), middle: $P(c_d = K)$, with a capital $K$ (the last topic), inside the sum over
  $k$, that is, $\pi_K$ for every $k$. Counterexample: one document,
  $T_1 = (1, 1, 1)$, $\pi = (3/7, 4/7)$, $\mu_1 = (2/7, 2/7, 3/7)$,
  $\mu_2 = (1/2, 1/8, 3/8)$: $P(d) = 0.170319658476$, the line gives $0.200307163682$
  ($= \pi_2 \sum_k P(d \mid c_d = k)$). With one topic it would hold (a test checks
  that). Claim `40-corrected` has $P(c_d = k)$.
* (42), line 3: the multinomial coefficient is dropped. Counterexample: one document,
  $T_1 = (1, 1, 1)$, $\gamma_1 = (3/5, 2/5)$, $\pi = (1/2, 1/2)$,
  $\mu_1 = (1/5, 1/5, 3/5)$, $\mu_2 = (1/3, 1/2, 1/6)$: $E_C[\log P] = -2.57261615589$,
  line 3 gives $-4.36437562512$; the gap is $\log 6 = \log(3! / (1!\, 1!\, 1!))$, that
  is, $\sum_k \gamma_{1k} \log(n_1! / \prod_w T_{1w}!)$. Claim `42.3-corrected` keeps
  that term. It depends on neither $\pi$ nor $\mu$, so the maximiser (45), (47) is
  unaffected (a test maximises line 3 as written and gets the same M-step).

Normalised typos (mathematics unchanged; a test checks the literal forms give the same):

* (45), (47), $\pi_k$: the denominator $\sum_d \sum_k \gamma_{dk}$ reuses the free $k$ as
  its bound index; written $\sum_d \sum_j \gamma_{dj}$.
* (45), (47), $\mu_{kw}$: likewise the denominator $\sum_d \sum_w \gamma_{dk} T_{dw}$
  reuses the free $w$; written $\sum_d \sum_v \gamma_{dk} T_{dv}$.

How the displays are encoded:

* (41): line 1 is $P(d, c_d = k) / P(d)$ (the definition of the posterior, so claim
  `41.1` is immediate); line 2 keeps the coefficient in numerator and denominator
  (unevaluated).
* Line 3 of (41) and (46) are the same formula, `E_STEP`; (45) and (47) are the same two
  formulas, `M_STEP_PI` and `M_STEP_MU`. Each line is its own claim: the maximiser over
  $\pi$ (resp. $\mu$) with the other block fixed; the objective is a $\pi$-part plus a
  $\mu$-part, so the joint maximiser is the pair.
* Lines 4–5 of (42) ("s.t. …") are constraints, used by the M-step claims, not
  identities.
* (43) defines the Lagrangian $L(\pi, \mu)$; a definition, not a claim.
* (44), lines 1–2: the derivative claims `44.1` and `44.2` (their "= 0" is the condition
  that the M-step claims solve). Lines 3–4 are the conditions
  $\partial L / \partial \lambda = 0$: claim `44.3` (`44.4`) states
  $\sum_k \pi_k = 1$ ($\sum_w \mu_{kw} = 1$) wherever
  $\partial L / \partial \lambda_0 = 0$ ($\partial L / \partial \lambda_k = 0$), solved
  for $\pi_K$ ($\mu_{kW}$), with the derivative taken of (43) by the checker.
* The convergence rule
  $\|(\pi, \mu)_{\mathrm{old}} - (\pi, \mu)_{\mathrm{new}}\| < \epsilon$ is not an
  equation: skipped.

Domains and sizes: $T$ is `Counts(low=0)`, the domain the engine runs on (a sparse count
matrix is mostly zeros). The maximum-likelihood M-step (45.2), (47.2) is interior only when
every word occurs ($\sum_d \gamma_{dk} T_{dw} > 0$); for a word that never occurs the
claimed $\mu_{kw}$ is 0, on the boundary of the simplex, where $\log \mu_{kw}$ and the
Lagrange conditions break down. Those claims carry that precondition (`PRECONDITION`):
sampled counts that violate it are skipped, and the engine checks it on its data. The MAP
M-step (smoothing, claims `MAP.1` and `MAP.2`) needs no precondition.

Beyond the document, for the engine: `MAP.1` and `MAP.2` (the M-step under Dirichlet
priors) and `DA.1` and `DA.2` (the annealed E-step and its free energy); `ENGINE` names
every formula the engine runs and the claim that certifies it. Sizes are small
($D \le 2$, $K \le 3$, $W \le 3$; numerically also $D = 2$, $K = 3$, $W = 3$) to keep
`symderive check em_multinomial` within a few seconds.
"""

import sympy as sp
from sympy.stats.joint_rv_types import MultinomialDistribution

from symderive import POSITIVE, SIMPLEX, Counts, Derivation, Simplex
from symderive import D as deriv
from symderive.em.spec import EngineFormula, EngineSpec

derivation = Derivation("em_multinomial", source="hw2.md §5, Problem 4",
                        title="EM for a mixture of multinomials", doc=__doc__)
dv = derivation

D = dv.dim("D", sizes=(1, 2), numeric=2)
K = dv.dim("K", sizes=(2, 3), numeric=3)
W = dv.dim("W", sizes=(3, 2), numeric=3)
d = dv.index("d", D)
k = dv.index("k", K)
w = dv.index("w", W)
j = dv.index("j", K)
v = dv.index("v", W)  # the word index summed over in the mu denominator

T = dv.tensor("T", (D, W), Counts(low=0))
pi = dv.tensor("pi", (K,), SIMPLEX, latex=r"\pi")
mu = dv.tensor("mu", (K, W), SIMPLEX, latex=r"\mu")
gamma = dv.tensor("gamma", (D, K), SIMPLEX, latex=r"\gamma")
lam0 = dv.scalar("lambda_0", latex=r"\lambda_0")
lam = dv.tensor("lambda", (K,), latex=r"\lambda")
alpha = dv.scalar("alpha", POSITIVE, latex=r"\alpha")          # Dirichlet(1 + alpha) on mu_k
alpha_pi = dv.scalar("alpha_pi", POSITIVE, latex=r"\alpha_\pi")  # Dirichlet(1 + alpha_pi) on pi
beta = dv.scalar("beta", POSITIVE, latex=r"\beta")             # inverse temperature


# -- the model (39): P(d | c_d = k) from sympy.stats --------------------------------------
_z = sp.Symbol("z")  # position marker: a vector (x_1 .. x_W) travels as sum_w x_w z**(w-1)


def _vector(entry: sp.Expr) -> sp.Expr:
    """The entries ``entry`` (over w) packed into one scalar expression (see ``_z``)."""
    return sp.Sum(entry * _z ** (w - 1), (w, 1, W))


def _coeff_exponent(term: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """``term.as_coeff_exponent(_z)`` for one term of a packed vector: ``c * _z**e`` read
    off its factors directly (``as_coeff_exponent`` first runs ``collect``, 0.4 ms a term,
    which leaves such a monomial as it is); any other shape goes to SymPy."""
    if not term.is_Add:
        coeff, dep = term.as_coeff_mul(_z)
        if not dep:
            return term, sp.S.Zero
        if len(dep) == 1:
            base, power = dep[0].as_base_exp()
            if base == _z and power.is_Integer:
                return coeff, power
    return term.as_coeff_exponent(_z)


class MultinomialPMF(sp.Function):
    """P(x | Mult(n = sum x, p)), the pmf of ``sympy.stats``; x and p packed by ``_vector``.

    Stays unevaluated in general notation; the checker instantiates the packed sums at
    concrete sizes, and then the pmf is taken from the library, not from the document.
    """

    nargs = 2

    @staticmethod
    def _entries(packed: sp.Expr) -> dict[int, sp.Expr]:
        out: dict[int, sp.Expr] = {}
        for term in sp.Add.make_args(packed):
            coeff, power = _coeff_exponent(term)
            out[int(power)] = out.get(int(power), 0) + coeff
        return out

    @staticmethod
    def _library(xs: list, ps: list) -> sp.Expr:
        """The pmf of ``sympy.stats`` at counts ``xs`` and probabilities ``ps``."""
        # the distribution itself, not the random-variable factory: its validation would
        # reject the 50-digit floats of the numeric phase (they sum to 1 only to rounding)
        return MultinomialDistribution(sp.Add(*xs), sp.Tuple(*ps)).pdf(*xs)

    @classmethod
    def _finish(cls, pmf: sp.Expr) -> sp.Expr:
        """What ``eval`` makes of the library's pmf (here: the pmf itself)."""
        return pmf

    @classmethod
    def _pmf(cls, x: sp.Expr, p: sp.Expr) -> sp.Expr | None:
        if x.has(sp.Sum) or p.has(sp.Sum):  # general notation: wait for the sizes
            return None
        xs, ps = cls._entries(x), cls._entries(p)
        n = max(ps) + 1
        xs = [xs.get(i, sp.S.Zero) for i in range(n)]
        ps = [ps[i] for i in range(n)]
        if any(a.is_number for a in (*xs, *ps)):  # numbers may fold (log(9/49) splits)
            return cls._finish(cls._library(xs, ps))
        # entries that are all symbols (what the checker passes): the library's pmf,
        # taken once per size at placeholders, with these entries put in; the same
        # expression, built anew, without the library's 5 ms per call
        dummies, template = _template(cls, n)
        return template.xreplace(dict(zip(dummies, (*xs, *ps))))

    @classmethod
    def eval(cls, x, p):
        return cls._pmf(x, p)

    def _latex(self, printer):
        parts = [printer._print(a.function.subs(_z, 1) if isinstance(a, sp.Sum) else a)
                 for a in self.args]
        return r"\operatorname{Mult}\left(" + r";\ ".join(parts) + r"\right)"


class LogMultinomialPMF(MultinomialPMF):
    """log of ``MultinomialPMF``, expanded into a sum of logs (every factor is positive)."""

    @classmethod
    def _finish(cls, pmf: sp.Expr) -> sp.Expr:
        return sp.expand_log(sp.log(pmf), force=True)

    def _latex(self, printer):
        return r"\log " + super()._latex(printer)


_TEMPLATES: dict[tuple[type, int], tuple[tuple, sp.Expr]] = {}  # one per class and size


def _template(cls: type, n: int) -> tuple[tuple, sp.Expr]:
    """``cls``'s value at ``n`` placeholder counts and probabilities (the placeholders
    first): built by the library once per size."""
    if (cls, n) not in _TEMPLATES:
        xs = [sp.Dummy(f"x{i}") for i in range(n)]
        ps = [sp.Dummy(f"p{i}") for i in range(n)]
        _TEMPLATES[cls, n] = (*xs, *ps), cls._finish(cls._library(xs, ps))
    return _TEMPLATES[cls, n]


def pmf(doc: sp.Expr, topic: sp.Expr) -> sp.Expr:
    """P(doc | c_doc = topic): the model's multinomial pmf, the truth behind (39)."""
    return MultinomialPMF(_vector(T[doc, w]), _vector(mu[topic, w]))


P_WORDS = pmf(d, k)                                   # P(d | c_d = k)
P_JOINT = P_WORDS * pi[k]                             # P(d, c_d = k) = P(d | c_d = k) P(c_d = k)
P_DOC = sp.Sum(P_JOINT.xreplace({k: j}), (j, 1, K))   # P(d): total probability
POSTERIOR = P_JOINT / P_DOC                           # P(c_d = k | d): Bayes' rule

# -- the document's formulas, each written once ------------------------------------------
n_d = sp.Sum(T[d, w], (w, 1, W))
COEF = sp.factorial(n_d) / sp.Product(sp.factorial(T[d, w]), (w, 1, W))  # n_d!/prod T_dw!


def words(topic: sp.Expr) -> sp.Expr:
    """prod_w mu_{topic,w}^T_dw."""
    return sp.Product(mu[topic, w] ** T[d, w], (w, 1, W))


P_D_40 = COEF * sp.Sum(pi[k] * words(k), (k, 1, K))              # (40), right-hand side
LOG_LIKELIHOOD = sp.log(P_D_40)  # log P(d); sp.expand_log(..., force=True) splits it
# (46) = (41), line 3
E_STEP = pi[k] * words(k) / sp.Sum(pi[j] * words(j), (j, 1, K))
# (45) = (47), line 1 (inner bound k renamed j)
M_STEP_PI = sp.Sum(gamma[d, k], (d, 1, D)) / sp.Sum(sp.Sum(gamma[d, j], (j, 1, K)), (d, 1, D))
# (45) = (47), line 2 (inner bound w renamed v)
M_STEP_MU = (sp.Sum(gamma[d, k] * T[d, w], (d, 1, D))
             / sp.Sum(sp.Sum(gamma[d, k] * T[d, v], (v, 1, W)), (d, 1, D)))

# -- (39) ----------------------------------------------------------------------------------
dv.equal("39", P_WORDS, COEF * words(k))

# -- (40) ----------------------------------------------------------------------------------
dv.chain("40", P_DOC, [sp.Sum(P_WORDS * pi[K], (k, 1, K)), P_D_40], errata={
    1: r"$P(c_d = K)$ (capital $K$, the last topic) inside the sum over $k$: $\pi_K$ for "
       r"every $k$"})
dv.equal("40-corrected", P_DOC, sp.Sum(P_WORDS * pi[k], (k, 1, K)),
         note="line 1 of (40) with $P(c_d = k)$")

# -- (41), (46) ----------------------------------------------------------------------------
_num = COEF * pi[k] * words(k)
_den = COEF * sp.Sum(pi[j] * words(j), (j, 1, K))
dv.chain("41", POSTERIOR, [
    P_JOINT / P_DOC,
    sp.Mul(_num, sp.Pow(_den, -1, evaluate=False), evaluate=False),  # coefficient not cancelled
    E_STEP,
])
dv.equal("46", POSTERIOR, E_STEP)

# -- (42) ----------------------------------------------------------------------------------
_c = sp.Symbol("c", integer=True)  # numbers the topic assignments C = (c_1 .. c_D), 1..K^D
_e = sp.Symbol("e", integer=True)  # a document index bound inside the expectation


class TopicOf(sp.Function):
    """c_doc, the topic of document ``doc`` in assignment number ``c``: base-K digit doc-1
    of c-1, plus 1.  Evaluates once the checker has made c, doc and K numbers."""

    nargs = 3

    @classmethod
    def eval(cls, c, doc, k_topics):
        if all(isinstance(a, sp.Integer) for a in (c, doc, k_topics)):
            c, doc, k_topics = int(c), int(doc), int(k_topics)
            return sp.Integer((c - 1) // k_topics ** (doc - 1) % k_topics + 1)
        return None

    def _latex(self, printer):
        return "c_{" + printer._print(self.args[1]) + "}"


class Expectation(sp.Sum):
    """E_C[f]: the sum over all K^D assignments C of prod_e gamma_{e, c_e} f (the weight is
    the factor that is a Product); the checker expands it as the sum it is."""

    def _latex(self, printer):
        f = sp.Mul(*(a for a in sp.Mul.make_args(self.function)
                     if not isinstance(a, sp.Product)))
        return r"\mathbb{E}_{C}\left[" + printer._print(f) + r"\right]"


def topic_of(doc: sp.Expr) -> sp.Expr:
    return TopicOf(_c, doc, K)


def expect(f: sp.Expr) -> sp.Expr:
    """E_C[f] by enumeration: C has probability prod_e gamma_{e, c_e}."""
    return Expectation(sp.Product(gamma[_e, topic_of(_e)], (_e, 1, D)) * f, (_c, 1, K ** D))


def log_joint(doc: sp.Expr, topic: sp.Expr) -> sp.Expr:
    """log P(doc, c_doc = topic) = log P(doc | c_doc = topic) + log pi_topic, of the model."""
    return LogMultinomialPMF(_vector(T[doc, w]), _vector(mu[topic, w])) + sp.log(pi[topic])


def sum_dk(f: sp.Expr) -> sp.Expr:
    return sp.Sum(sp.Sum(f, (k, 1, K)), (d, 1, D))


L_TRUE = expect(sp.Sum(log_joint(d, topic_of(d)), (d, 1, D)))   # E_C[log P(D, C)]
_bracket = sp.log(pi[k]) + sp.Sum(T[d, w] * sp.log(mu[k, w]), (w, 1, W))
L_EXPECTED = sum_dk(log_joint(d, k) * gamma[d, k])              # (42), line 2
dv.chain("42", L_TRUE, [
    sp.Sum(expect(log_joint(d, topic_of(d))), (d, 1, D)),
    L_EXPECTED,
    sum_dk(gamma[d, k] * _bracket),
], errata={3: r"drops the multinomial coefficient: line 2 minus line 3 is "
              r"$\sum_d \sum_k \gamma_{dk} \log(n_d! / \prod_w T_{dw}!)$, a constant in "
              r"$\pi$ and $\mu$"})
LOG_COEF = sp.log(sp.factorial(n_d)) - sp.Sum(sp.log(sp.factorial(T[d, w])), (w, 1, W))
dv.equal("42.3-corrected", L_TRUE, sum_dk(gamma[d, k] * (LOG_COEF + _bracket)),
         note="line 3 with the multinomial coefficient kept")

# Sizes of the M-step claims (the Lagrange systems are what costs): the pi-block needs the
# topics (K = 3), not the words; the mu-block solves for K*W entries, and the conditions of
# different topics do not interact, so K = 2, with D = 2 documents or W = 3 words.
PI_SIZES = [{D: 1, K: 2, W: 2}, {D: 2, K: 3, W: 2}]
MU_SIZES = [{D: 2, K: 2, W: 2}, {D: 1, K: 2, W: 3}]

# -- (43): the Lagrangian (a definition) ----------------------------------------------------
LAGRANGIAN = dv.define("L", L_TRUE - lam0 * (sp.Sum(pi[k], (k, 1, K)) - 1)
                       - sp.Sum(lam[k] * (sp.Sum(mu[k, w], (w, 1, W)) - 1), (k, 1, K)),
                       latex=r"L(\pi, \mu)")

# -- (44) ----------------------------------------------------------------------------------
dv.derivative("44.1", LAGRANGIAN, pi[k], sp.Sum(gamma[d, k], (d, 1, D)) / pi[k] - lam0,
              sizes=PI_SIZES)
dv.derivative("44.2", LAGRANGIAN, mu[k, w],
              sp.Sum(gamma[d, k] * T[d, w], (d, 1, D)) / mu[k, w] - lam[k], sizes=MU_SIZES)
dv.equal("44.3", sp.Sum(pi[k], (k, 1, K)), 1, given=[deriv(LAGRANGIAN, lam0)], unknowns=[pi[K]],
         note=r"wherever $\partial L / \partial \lambda_0 = 0$ (solved for $\pi_K$)",
         sizes=PI_SIZES)
dv.equal("44.4", sp.Sum(mu[k, w], (w, 1, W)), 1, given=[deriv(LAGRANGIAN, lam[k])],
         unknowns=[mu[k, W]],
         note=r"wherever $\partial L / \partial \lambda_k = 0$ (solved for $\mu_{kW}$)",
         sizes=MU_SIZES)

# -- (45), (47): the M-step ----------------------------------------------------------------
_pi_sum = sp.Sum(pi[k], (k, 1, K)) - 1
_mu_sum = sp.Sum(mu[k, w], (w, 1, W)) - 1
class OccurringWords(Simplex):
    """The probability simplex, for a maximiser that is interior only under a precondition.

    The maximum-likelihood mu_kw of (45), (47) is 0 -- on the boundary of the simplex,
    where log mu_kw and the Lagrange conditions break down -- exactly when the column sum
    sum_d gamma_dk T_dw is 0, i.e. (gamma > 0) when word w occurs in no document.  The
    claim is made under the precondition that every word occurs (``PRECONDITION``): a
    sampled count matrix that violates it is outside the claim and is skipped, not
    counted as agreement.  The engine checks the same precondition on its data.
    """

    def contains(self, value: sp.Expr) -> bool:
        if value == 0:
            raise ValueError("precondition violated: a word that occurs in no document")
        return super().contains(value)


PRECONDITION = "every word occurs in some document (every column of T has a positive sum)"
_occurring = {mu[a, b]: OccurringWords() for a in range(1, 4) for b in range(1, 4)}
for _eq in ("45", "47"):
    dv.stationary(f"{_eq}.1", L_EXPECTED, [pi[k]], {pi[k]: M_STEP_PI}, constraints=[_pi_sum],
                  sizes=PI_SIZES)
    dv.stationary(f"{_eq}.2", L_EXPECTED, [mu[k, w]], {mu[k, w]: M_STEP_MU},
                  constraints=[_mu_sum], sizes=MU_SIZES, domain=_occurring,
                  note="precondition: " + PRECONDITION)

# -- beyond the document: the MAP M-step (smoothing) and the annealed E-step ------------
# A symmetric Dirichlet(1 + alpha) prior on every mu_k (and Dirichlet(1 + alpha_pi) on pi)
# adds alpha sum_kw log mu_kw (+ alpha_pi sum_k log pi_k) to the objective (up to a
# constant): the M-step maximises the expected log posterior instead.  This is what the
# engine's ``smoothing`` means.  Its maximiser is interior for every count matrix,
# zero columns included (each numerator is at least alpha > 0).
LOG_PRIOR = (alpha_pi * sp.Sum(sp.log(pi[k]), (k, 1, K))
             + alpha * sp.Sum(sp.Sum(sp.log(mu[k, w]), (w, 1, W)), (k, 1, K)))
L_POSTERIOR = L_EXPECTED + LOG_PRIOR
M_STEP_PI_MAP = ((sp.Sum(gamma[d, k], (d, 1, D)) + alpha_pi)
                 / (sp.Sum(sp.Sum(gamma[d, j], (j, 1, K)), (d, 1, D)) + K * alpha_pi))
M_STEP_MU_MAP = ((sp.Sum(gamma[d, k] * T[d, w], (d, 1, D)) + alpha)
                 / (sp.Sum(sp.Sum(gamma[d, k] * T[d, v], (v, 1, W)), (d, 1, D)) + W * alpha))
dv.stationary("MAP.1", L_POSTERIOR, [pi[k]], {pi[k]: M_STEP_PI_MAP}, constraints=[_pi_sum],
              sizes=PI_SIZES,
              note=r"MAP M-step for $\pi$ under a Dirichlet$(1 + \alpha_\pi)$ prior")
dv.stationary("MAP.2", L_POSTERIOR, [mu[k, w]], {mu[k, w]: M_STEP_MU_MAP},
              constraints=[_mu_sum], sizes=MU_SIZES,
              note=r"MAP M-step for $\mu$ under a Dirichlet$(1 + \alpha)$ prior (smoothing)")

# Deterministic annealing (Ueda & Nakano): at inverse temperature beta the E-step maximises
# the free energy F_beta(gamma) = E_gamma[log P(D, C)] + H(gamma) / beta over the
# responsibilities; its maximiser is gamma ∝ (pi_k P(d | mu_k))^beta.  At the maximiser
# F_beta is (1/beta) sum_d log sum_k (pi_k P(d | mu_k))^beta, the quantity that EM at a
# fixed beta never decreases (at beta = 1: the log-likelihood).
ENTROPY = -sum_dk(gamma[d, k] * sp.log(gamma[d, k]))
F_BETA = L_EXPECTED + ENTROPY / beta
E_STEP_ANNEALED = (pi[k] * words(k)) ** beta / sp.Sum((pi[j] * words(j)) ** beta, (j, 1, K))
FREE_ENERGY = sp.log(sp.Sum((pi[k] * COEF * words(k)) ** beta, (k, 1, K))) / beta
ANNEAL_SIZES = [{D: 1, K: 2, W: 2}, {D: 2, K: 2, W: 2}]
_gamma_sum = sp.Sum(gamma[d, k], (k, 1, K)) - 1
dv.stationary("DA.1", F_BETA, [gamma[d, k]], {gamma[d, k]: E_STEP_ANNEALED},
              constraints=[_gamma_sum], sizes=ANNEAL_SIZES,
              note=r"annealed E-step: the maximiser of the free energy at inverse "
                   r"temperature $\beta$")
_f_doc = sp.Sum(log_joint(d, k) * gamma[d, k] - gamma[d, k] * sp.log(gamma[d, k]) / beta,
                (k, 1, K))
dv.equal("DA.2", FREE_ENERGY, _f_doc.xreplace({gamma[d, k]: E_STEP_ANNEALED}),
         sizes=ANNEAL_SIZES, note=r"the free energy of document $d$ at the annealed E-step")

# -- what the EM engine runs (symderive.em): each formula with the claim that certifies it --
_F = EngineFormula
ENGINE = EngineSpec(
    derivation=dv,
    dims={"D": D, "K": K, "W": W},
    indices={"d": d, "k": k, "w": w},
    tensors={"T": T, "pi": pi, "mu": mu, "gamma": gamma},
    scalars={"alpha": alpha, "alpha_pi": alpha_pi, "beta": beta},
    formulas={
        "e_step": _F(E_STEP, "46"),
        "log_likelihood": _F(LOG_LIKELIHOOD, "40.2"),
        "m_step_pi": _F(M_STEP_PI, "47.1"),
        "m_step_mu": _F(M_STEP_MU, "47.2", precondition=PRECONDITION),
        "m_step_pi_map": _F(M_STEP_PI_MAP, "MAP.1"),
        "m_step_mu_map": _F(M_STEP_MU_MAP, "MAP.2"),
        "log_prior": _F(LOG_PRIOR, "MAP.2"),
        "e_step_annealed": _F(E_STEP_ANNEALED, "DA.1"),
        "free_energy": _F(FREE_ENERGY, "DA.2"),
    },
)
