"""The estimator's API beyond the plain fit: MAP and annealing through the certified
formulas, the free-energy guard, the precondition, warnings, warm starts, persistence,
new texts, top words."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from symderive.corpus import load_directory
from symderive.em import (
    ConvergenceWarning,
    MultinomialMixture,
    PreconditionError,
    load_formulas,
    normalized_mutual_info,
    top_words,
)
from symderive.em.defaults import DEFAULT_ANNEAL, DEFAULT_SMOOTHING
from symderive.em.kernels import SparseData


@pytest.fixture(scope="module")
def formulas():
    return load_formulas()


def corpus_matrix(seed: int = 0, n_docs: int = 40):
    """Three topics over 15 words (5 each), documents of 60 words."""
    rng = np.random.default_rng(seed)
    truth = np.arange(n_docs) % 3
    X = np.zeros((n_docs, 15), dtype=np.int64)
    for i, t in enumerate(truth):
        p = np.full(15, 0.02)
        p[5 * t:5 * t + 5] = 0.18
        X[i] = rng.multinomial(60, p / p.sum())
    return X, truth


def test_defaults_are_the_measured_quality_settings():
    m = MultinomialMixture()
    assert m.smoothing == DEFAULT_SMOOTHING == 1.0
    assert m.anneal is True and m._schedule() == [*DEFAULT_ANNEAL, 1.0]
    assert m.n_init == 1 and m.stop == "loglik"


def test_map_m_step_is_the_certified_formula(formulas):
    """The MAP update with both priors, against its closed form (numpy)."""
    X, _ = corpus_matrix()
    rng = np.random.default_rng(1)
    resp = rng.random((X.shape[0], 3))
    resp /= resp.sum(1, keepdims=True)
    pi, mu_t = formulas.m_step(SparseData.from_counts(X), resp, 0.7, 2.0)
    counts = resp.T @ X + 0.7
    np.testing.assert_allclose(mu_t.T, counts / counts.sum(1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(pi, (resp.sum(0) + 2.0) / (X.shape[0] + 3 * 2.0), rtol=1e-12)


def test_annealed_e_step_and_free_energy(formulas):
    X, _ = corpus_matrix()
    rng = np.random.default_rng(2)
    pi = np.array([0.2, 0.3, 0.5])
    mu = rng.random((3, 15)) + 0.05
    mu /= mu.sum(1, keepdims=True)
    beta = 0.3
    resp, ll, fe = formulas.e_step(SparseData.from_counts(X), pi, mu.T.copy(), beta)
    log_joint = np.log(pi) + X @ np.log(mu).T  # up to the coefficient, which cancels
    scaled = beta * log_joint
    expected = np.exp(scaled - scaled.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    np.testing.assert_allclose(resp, expected, rtol=1e-10, atol=1e-300)
    plain_resp, plain_ll, plain_fe = formulas.e_step(SparseData.from_counts(X), pi,
                                                     mu.T.copy())
    np.testing.assert_allclose(ll, plain_ll, rtol=1e-12)
    assert np.array_equal(plain_ll, plain_fe)  # at beta = 1 the free energy is log P(d)
    # F_beta = (1/beta) log sum_k (pi_k P(d|k))^beta: the same shift of log P(d|k)
    coef = plain_ll - np.log(np.exp(log_joint).sum(1))
    np.testing.assert_allclose(fe, np.log(np.exp(scaled + beta * coef[:, None]).sum(1))
                               / beta, rtol=1e-10)


def test_annealed_smoothed_fit_never_decreases_its_objective_per_stage(formulas):
    X, truth = corpus_matrix()
    stages = []
    m = MultinomialMixture(3, random_state=0, formulas=formulas, smoothing=0.5,
                           smoothing_pi=1.0, anneal=[0.05, 0.3],
                           callback=lambda p: stages.append(p.beta))
    m.fit(X)
    assert stages[0] == 0.05 and stages[-1] == 1.0 and sorted(stages) == stages
    betas = np.array(stages)
    for b in (0.05, 0.3, 1.0):
        obj = m.objective_[betas == b]
        assert np.all(np.diff(obj) >= -1e-9 * np.abs(obj[1:])), b
    assert normalized_mutual_info(truth, m.labels_) == pytest.approx(1.0)
    assert np.all(m.components_ > 0)


def test_precondition_every_word_occurs(formulas):
    X, _ = corpus_matrix()
    X = np.hstack([X, np.zeros((X.shape[0], 1), dtype=np.int64)])  # a word never seen
    with pytest.raises(PreconditionError, match="1 word.*occur in no document.*column 15"):
        MultinomialMixture(3, smoothing=0.0, anneal=False, formulas=formulas).fit(X)
    m = MultinomialMixture(3, smoothing=1.0, anneal=False, random_state=0,
                           formulas=formulas).fit(X)  # MAP: no precondition
    assert np.all(m.components_[:, 15] > 0)


def test_convergence_warning_fit_predict_and_warm_start(formulas):
    X, truth = corpus_matrix()
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        m = MultinomialMixture(3, max_iter=2, anneal=False, random_state=0,
                               formulas=formulas).fit(X)
    assert not m.converged_
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        labels = MultinomialMixture(3, random_state=0, formulas=formulas).fit_predict(X)
    assert normalized_mutual_info(truth, labels) == pytest.approx(1.0)
    cold = MultinomialMixture(3, anneal=False, random_state=0, tol=1e-12, max_iter=500,
                              formulas=formulas).fit(X)
    warm = MultinomialMixture(3, anneal=False, random_state=0, max_iter=2,
                              warm_start=True, formulas=formulas)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warm.fit(X)
        first = warm.log_likelihood_[-1]
        warm.fit(X)  # continues from the previous parameters: never worse
    assert warm.log_likelihood_[0] >= first - 1e-9 * abs(first)
    betas = []
    annealed = MultinomialMixture(3, random_state=0, warm_start=True, formulas=formulas,
                                  callback=lambda p: betas.append(p.beta)).fit(X)
    assert betas[0] < 1.0
    betas.clear()
    annealed.fit(X)  # the second, warm fit does not anneal again
    assert set(betas) == {1.0}
    assert cold.log_likelihood_[-1] >= warm.log_likelihood_[-1] - 1e-6 * abs(first)


def test_more_topics_than_documents_is_a_value_error(formulas):
    X, _ = corpus_matrix(n_docs=4)
    with pytest.raises(ValueError, match="n_components=5 must be <= the number of documents"):
        MultinomialMixture(5, formulas=formulas).fit(X)


def test_save_load_predict_texts_and_top_words(tmp_path: Path, formulas):
    words = {"fruit": "apple banana cherry grape lemon mango", "cars": "engine motor wheel "
             "brake clutch piston"}
    root = tmp_path / "c"
    for label, text in words.items():
        (root / label).mkdir(parents=True)
        w = text.split()
        for i in range(5):
            (root / label / f"{i}.txt").write_text(" ".join(w[(i + n) % 6] for n in range(9)))
    corpus = load_directory(root)
    m = MultinomialMixture(2, random_state=0, formulas=formulas).fit(corpus)
    tops = top_words(m, corpus.vocabulary, 3)
    assert len(tops) == 2 and all(len(t) == 3 for t in tops)
    assert {frozenset(t) <= frozenset(words["fruit"].split()) or
            frozenset(t) <= frozenset(words["cars"].split()) for t in tops} == {True}
    texts = ["banana mango apple and a kiwi", "the piston and the brake"]
    pred = m.predict(texts)
    assert pred[0] != pred[1]
    path = tmp_path / "model.npz"
    m.save(path)
    loaded = MultinomialMixture.load(path)
    assert loaded.vocabulary_ == corpus.vocabulary
    np.testing.assert_array_equal(loaded.components_, m.components_)
    np.testing.assert_array_equal(loaded.weights_, m.weights_)
    assert loaded.predict(texts).tolist() == pred.tolist()  # vectorised by its vocabulary
    np.testing.assert_allclose(loaded.score_samples(corpus), m.score_samples(corpus))
    with np.load(path) as f:
        assert set(f.files) == {"weights", "components", "vocabulary", "log_likelihood", "meta"}
    (tmp_path / "bad.npz").write_bytes(b"not a model")
    with pytest.raises(ValueError):
        MultinomialMixture.load(tmp_path / "bad.npz")
