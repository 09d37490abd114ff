"""hw2.md §5, Problem 4 (EM for a mixture of multinomials): every claim's verdict, and a
planted mistake refuted for each claim that holds, so a passing claim means something."""

import pytest
import sympy as sp
from symderive.derivations import em_multinomial as em
from sympy.stats.joint_rv_types import MultinomialDistribution

from symderive.testing import exact, mutants, results, variant, verdicts

D, K, W = em.D, em.K, em.W
d, k, w, j = em.d, em.k, em.w, em.j
gamma, T = em.gamma, em.T

EXPECTED = {
    "39": "proved",
    "40.1": "refuted",          # erratum: P(c_d = K)
    "40.2": "proved",
    "40-corrected": "proved",
    "41.1": "proved",
    "41.2": "proved",
    "41.3": "proved",
    "46": "proved",
    "42.1": "proved",
    "42.2": "proved",
    "42.3": "refuted",          # erratum: multinomial coefficient dropped
    "42.3-corrected": "proved",
    "44.1": "proved",
    "44.2": "proved",
    "44.3": "proved",
    "44.4": "proved",
    "45.1": "proved",
    "45.2": "verified",         # precondition: every word occurs (zero counts sampled)
    "47.1": "proved",
    "47.2": "verified",
    "MAP.1": "proved",
    "MAP.2": "proved",
    "DA.1": "proved",
    "DA.2": "proved",
}
HOLDING = [cid for cid, v in EXPECTED.items() if v != "refuted"]


@pytest.fixture(scope="module")
def verdict(report):
    return {cid: r.verdict for cid, r in report.items()}


@pytest.fixture(scope="module")
def mutant_verdicts():
    """All planted mistakes of all holding claims, checked in one parallel run."""
    planted = [m for cid in HOLDING for m in mutants(em.derivation.claim(cid))]
    return verdicts(planted, timeout=60)


def test_every_claim_is_expected():
    assert sorted(c.id for c in em.derivation.claims) == sorted(EXPECTED)


#: claims in plain index notation, proved for every size; the others are exact at the
#: sizes checked (packed pmf vectors and the K^D enumeration need concrete sizes)
ALL_SIZES = {"40-corrected", "41.1"}


@pytest.fixture(scope="module")
def report():
    return results(em.derivation, timeout=60)


@pytest.mark.parametrize("cid", sorted(EXPECTED))
def test_verdict(report, cid):
    r = report[cid]
    if EXPECTED[cid] == "refuted":
        assert r.verdict == "refuted"
        return
    if EXPECTED[cid] == "verified":  # sampled only (no exact argument at any size)
        assert r.verdict == "verified", (cid, r.verdict, r.message)
        return
    assert exact(r), (cid, r.verdict, r.message)
    assert (r.verdict == "proved") == (cid in ALL_SIZES), (cid, r.verdict, r.message)


def test_errata_are_marked():
    marked = {c.id for c in em.derivation.claims if c.erratum}
    assert marked == {cid for cid, v in EXPECTED.items() if v == "refuted"}


def test_engine_claims_hold(verdict):
    claims = {f.claim for f in em.ENGINE.formulas.values()}
    assert claims == {"46", "40.2", "47.1", "47.2", "MAP.1", "MAP.2", "DA.1", "DA.2"}
    assert all(verdict[cid] in ("proved", "verified") for cid in claims)
    assert em.ENGINE.formulas["m_step_mu"].precondition == em.PRECONDITION
    assert all(f.precondition is None for n, f in em.ENGINE.formulas.items()
               if n != "m_step_mu")


def test_zero_counts_are_in_the_domain():
    """The engine runs on sparse counts: T is sampled with zeros; the ML mu-update skips
    (does not count) points that violate its precondition, and says so."""
    assert em.derivation.vars["T"].assume.low == 0
    with pytest.raises(ValueError, match="precondition"):
        em.OccurringWords().contains(sp.Integer(0))
    assert em.OccurringWords().contains(sp.Rational(1, 3))


A, A_PI, B = em.alpha, em.alpha_pi, em.beta
_MU_NUM = sp.Sum(gamma[d, k] * T[d, w], (d, 1, D))
_MU_DEN = sp.Sum(sp.Sum(gamma[d, k] * T[d, em.v], (em.v, 1, W)), (d, 1, D))
_PI_NUM = sp.Sum(gamma[d, k], (d, 1, D))
_PI_DEN = sp.Sum(sp.Sum(gamma[d, j], (j, 1, K)), (d, 1, D))
_WORDS = em.words


@pytest.mark.parametrize("cid, name, change", [
    ("MAP.2", "sign flip", {"point": (_MU_NUM - A) / (_MU_DEN - W * A)}),
    ("MAP.2", "missing factor W", {"point": (_MU_NUM + A) / (_MU_DEN + A)}),
    ("MAP.2", "swapped alpha_pi", {"point": (_MU_NUM + A_PI) / (_MU_DEN + W * A_PI)}),
    ("MAP.2", "plain ML (prior ignored)", {"point": _MU_NUM / _MU_DEN}),
    ("MAP.1", "sign flip", {"point": (_PI_NUM - A_PI) / (_PI_DEN - K * A_PI)}),
    ("MAP.1", "missing factor K", {"point": (_PI_NUM + A_PI) / (_PI_DEN + A_PI)}),
    ("MAP.1", "swapped alpha", {"point": (_PI_NUM + A) / (_PI_DEN + K * A)}),
    ("DA.1", "inverse temperature inverted", {"point": (em.pi[k] * _WORDS(k)) ** (1 / B)
                                              / sp.Sum((em.pi[j] * _WORDS(j)) ** (1 / B),
                                                       (j, 1, K))}),
    ("DA.1", "beta on the words only", {"point": em.pi[k] * _WORDS(k) ** B
                                        / sp.Sum(em.pi[j] * _WORDS(j) ** B, (j, 1, K))}),
    ("DA.2", "missing 1/beta", {"lhs": em.FREE_ENERGY * B}),
    ("DA.2", "sign flip", {"lhs": -em.FREE_ENERGY}),
])
def test_planted_mistakes_in_the_engine_claims_are_refuted(cid, name, change):
    c = em.derivation.claim(cid)
    if "point" in change:
        var = next(iter(c.point))
        planted = variant(c, name, point={var: change["point"]})
    else:
        planted = variant(c, name, **change)
    assert list(verdicts([planted], timeout=60).values()) == ["refuted"]


def test_exported_formulas_are_the_claimed_objects():
    assert em.derivation.claim("46").rhs is em.E_STEP
    assert em.derivation.claim("41.3").rhs is em.E_STEP
    for eq in ("45", "47"):
        assert em.derivation.claim(f"{eq}.1").point[em.pi[k]] is em.M_STEP_PI
        assert em.derivation.claim(f"{eq}.2").point[em.mu[k, w]] is em.M_STEP_MU
    assert em.LOG_LIKELIHOOD == sp.log(em.derivation.claim("40.2").rhs)
    assert em.derivation.claim("MAP.1").point[em.pi[k]] is em.M_STEP_PI_MAP
    assert em.derivation.claim("MAP.2").point[em.mu[k, w]] is em.M_STEP_MU_MAP
    assert em.derivation.claim("DA.1").point[gamma[d, k]] is em.E_STEP_ANNEALED
    assert em.derivation.claim("DA.2").lhs is em.FREE_ENERGY


def test_exported_formulas_free_indices():
    assert em.E_STEP.free_symbols & {d, k, w, j} == {d, k}
    assert em.M_STEP_PI.free_symbols & {d, k, w, j} == {k}
    assert em.M_STEP_MU.free_symbols & {d, k, w, j} == {k, w}
    assert em.LOG_LIKELIHOOD.free_symbols & {d, k, w, j} == {d}


@pytest.mark.parametrize("cid", HOLDING)
def test_a_planted_mistake_is_refuted(mutant_verdicts, cid):
    mine = {m: v for m, v in mutant_verdicts.items() if m.startswith(f"{cid}~")}
    assert mine, f"no planted mistake applies to {cid}"
    assert "refuted" in mine.values(), mine


def test_normalised_bound_indices_change_nothing():
    """The document reuses the free k (resp. w) as the bound index of the denominators in
    (45)/(47); read literally, SymPy binds it, so renaming it j (resp. v) is a typo fix."""
    pi_doc = sp.Sum(gamma[d, k], (d, 1, D)) / sp.Sum(sp.Sum(gamma[d, k], (k, 1, K)), (d, 1, D))
    mu_doc = (sp.Sum(gamma[d, k] * T[d, w], (d, 1, D))
              / sp.Sum(sp.Sum(gamma[d, k] * T[d, w], (w, 1, W)), (d, 1, D)))
    c1, c2 = em.derivation.claim("47.1"), em.derivation.claim("47.2")
    got = results([variant(c1, "doc-k", point={em.pi[k]: pi_doc}),
                   variant(c2, "doc-w", point={em.mu[k, w]: mu_doc})], timeout=60)
    assert exact(got["47.1~doc-k"]), got["47.1~doc-k"].message  # as 47.1
    assert got["47.2~doc-w"].verdict == "verified"                  # as 47.2 (sampled)


def test_dropped_coefficient_does_not_move_the_maximiser():
    """(42) line 3 is wrong by a constant only: maximising it gives the same M-step."""
    line3 = em.derivation.claim("42.3").rhs
    got = results([variant(em.derivation.claim(cid), "line3", f=line3)
                   for cid in ("47.1", "47.2")], timeout=60)
    assert exact(got["47.1~line3"]), got["47.1~line3"].message   # as 47.1
    assert got["47.2~line3"].verdict == "verified"                 # as 47.2 (sampled)


def test_capital_K_is_harmless_only_with_one_topic():
    """The erratum in (40) needs two topics to show: with K = 1, pi_K is pi_k."""
    c = em.derivation.claim("40.1")
    got = results([variant(c, "K1", sizes=[{D: 1, K: 1, W: 2}, {D: 2, K: 1, W: 3}])],
                  timeout=60)
    assert [exact(r) for r in got.values()] == [True]


def test_plausible_m_step_slips_are_refuted():
    """Feasible but wrong updates (they satisfy the constraints): uniform pi, and mu from
    the raw counts, ignoring the responsibilities.  Only the Lagrange conditions catch them."""
    c1, c2 = em.derivation.claim("47.1"), em.derivation.claim("47.2")
    uniform_pi = 1 / K
    v = em.v
    raw_mu = sp.Sum(T[d, w], (d, 1, D)) / sp.Sum(sp.Sum(T[d, v], (v, 1, W)), (d, 1, D))
    got = verdicts([variant(c1, "uniform", point={em.pi[k]: uniform_pi}),
                    variant(c2, "raw-counts", point={em.mu[k, w]: raw_mu})], timeout=60)
    assert set(got.values()) == {"refuted"}


@pytest.mark.parametrize("cls", [em.MultinomialPMF, em.LogMultinomialPMF])
@pytest.mark.parametrize("n", [2, 3, 6])
def test_the_pmf_is_the_librarys_at_every_size(cls, n):
    """The pmf is built once per size from sympy.stats and then filled in: it must be
    the very expression the library gives for these entries (not merely equal in value),
    also with a missing count (0) and with numbers, which the library folds."""
    mus = [em.mu[2, i + 1] for i in range(n)]
    cases = [[T[1, i + 1] for i in range(n)], [T[2, i + 1] for i in range(n - 1)]]
    numbers = ([sp.Integer(i) for i in range(n)], [sp.Rational(1, n)] * n)
    for xs, ps in [(xs, mus) for xs in cases] + [numbers]:
        got = cls(sum(x * em._z ** i for i, x in enumerate(xs)),
                  sum(p * em._z ** i for i, p in enumerate(ps)))
        full = [*xs, *[sp.S.Zero] * (n - len(xs))]
        library = cls._finish(MultinomialDistribution(sp.Add(*full), sp.Tuple(*ps)).pdf(*full))
        assert sp.srepr(got) == sp.srepr(library)
        assert not got.has(sp.Dummy, em.MultinomialPMF)


def test_packed_entries_are_read_as_sympy_reads_them():
    """``_coeff_exponent`` reads ``c * z**e`` off a packed term's factors instead of
    through SymPy's ``as_coeff_exponent`` (whose ``collect`` is slow): the very same
    coefficient and exponent for every shape of term, also the ones it hands to SymPy."""
    z = em._z
    a, b = sp.symbols("a b")
    terms = [T[1, 1], T[1, 2] * z, T[1, 3] * z ** 5, sp.Float("0.3", 50) * z ** 3,
             sp.Rational(2, 7) * z, 2 * (T[1, 1] + 1) * z ** 2, sp.Integer(3), z, z ** 4,
             em.mu[2, 1] * T[1, 1] * z ** 2, z ** a * T[1, 1], (1 + z) * a,
             sp.exp(z) * b, z ** sp.Rational(1, 2), a + b * z ** 2]
    for term in terms:
        got, want = em._coeff_exponent(term), term.as_coeff_exponent(z)
        assert [sp.srepr(x) for x in got] == [sp.srepr(x) for x in want], term
    packed = sum(T[1, i + 1] * z ** i for i in range(4))
    assert em.MultinomialPMF._entries(packed) == {i: T[1, i + 1] for i in range(4)}
