"""Table 1 of the document: per K, the iterations and the topics sorted by pi_k, each with
its most probable words; plus the log-likelihood, NMI and time of each run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .metrics import nmi_from_contingency, normalized_mutual_info, per_word_log_likelihood
from .model import MultinomialMixture

__all__ = ["RunResult", "Topic", "summarize", "render", "to_json", "top_words", "HeldOut"]


@dataclass
class Topic:
    rank: int          # 1 = largest pi_k
    index: int         # k, 0-based column of components_
    pi: float
    words: list[str]


@dataclass
class RunResult:
    """One fitted K, reduced to what Table 1 and the JSON report show."""

    K: int
    iterations: int
    converged: bool
    log_likelihood: float
    n_documents: int
    nmi: float | None
    seconds: float
    topics: list[Topic]
    history: list[float] = field(default_factory=list)
    held_out: HeldOut | None = None

    @property
    def per_document(self) -> float:
        return self.log_likelihood / max(self.n_documents, 1)


@dataclass
class HeldOut:
    """Scores of a fitted model on another corpus (vectorised with its vocabulary)."""

    n_documents: int
    n_tokens: int
    log_likelihood: float   # sum_d log P(d), multinomial coefficient included
    per_word: float         # per token, coefficient excluded: exp(-x) is the perplexity
    nmi: float | None

    @property
    def per_document(self) -> float:
        return self.log_likelihood / max(self.n_documents, 1)


def top_words(model: MultinomialMixture, vocabulary: Sequence[str], n: int = 10
              ) -> list[list[str]]:
    """For each topic k (in the order of ``components_``), its ``n`` most probable words
    (ties by column)."""
    m = min(n, model.components_.shape[1])
    return [[vocabulary[w] for w in _top(row, m)] for row in model.components_]


def held_out(model: MultinomialMixture, counts, labels: np.ndarray | None) -> HeldOut:
    """Log-likelihood and NMI of ``model`` on other counts (same columns)."""
    resp, ll = model._e_step(counts)  # noqa: SLF001 - one E-step gives both
    nmi = _nmi(labels, np.argmax(resp, axis=1))
    return HeldOut(int(resp.shape[0]), int(counts.sum()), float(np.sum(ll)),
                   per_word_log_likelihood(ll, counts), nmi)


def _nmi(labels: np.ndarray | None, predicted: np.ndarray) -> float | None:
    if labels is None:
        return None
    labels = np.asarray(labels)
    known = labels >= 0
    return normalized_mutual_info(labels[known], predicted[known]) if known.any() else None


def top_topics(model: MultinomialMixture, vocabulary: Sequence[str], top: int = 5
               ) -> list[Topic]:
    """Topics by decreasing pi_k (ties by k), each with its ``top`` words by mu_kw."""
    pi = np.asarray(model.weights_)
    order = sorted(range(len(pi)), key=lambda k: (-pi[k], k))
    out = []
    n = min(top, model.components_.shape[1])
    for rank, k in enumerate(order, start=1):
        best = _top(model.components_[k], n)
        out.append(Topic(rank, int(k), float(pi[k]), [vocabulary[w] for w in best]))
    return out


def _top(row: np.ndarray, n: int) -> np.ndarray:
    """``np.argsort(-row, kind="stable")[:n]`` (ties by index) without sorting the whole
    vocabulary: only the entries at least as large as the n-th largest are sorted."""
    if n >= row.size or np.isnan(row).any():
        return np.argsort(-row, kind="stable")[:n]
    kth = np.partition(row, row.size - n)[row.size - n]
    candidates = np.flatnonzero(row >= kth)
    return candidates[np.argsort(-row[candidates], kind="stable")][:n]


def summarize(model: MultinomialMixture, vocabulary: Sequence[str], labels: np.ndarray | None,
              top: int = 5) -> RunResult:
    table = getattr(model, "contingency_", None)  # a Dask fit: reduced on the workers
    if table is not None:
        nmi = nmi_from_contingency(table) if table.sum() > 0 else None
    else:
        nmi = _nmi(labels, model.labels_)
    return RunResult(
        K=model.n_components, iterations=int(model.n_iter_), converged=bool(model.converged_),
        log_likelihood=float(model.log_likelihood_[-1]),
        n_documents=getattr(model, "n_documents_", None) or len(model.labels_),
        nmi=nmi, seconds=float(model.fit_seconds_), topics=top_topics(model, vocabulary, top),
        history=[float(v) for v in model.log_likelihood_])


def _topic_text(t: Topic) -> str:
    return f"t_{t.rank} ({', '.join(t.words)})[{t.pi:.4f}]"


def render(results: Sequence[RunResult], topics: int | None = None, top: int = 5) -> str:
    """Table 1 (one line per topic) followed by the run summary."""
    lines = [f"Table 1: iterations used until convergence and the top-{top} words of each "
             "topic, topics sorted by pi_k",
             f"{'K':>4}  {'#iter':>5}  topic t_k (top-{top} words of t_k)[pi_k]"]
    for r in results:
        shown = r.topics if topics is None else r.topics[:topics]
        for n, t in enumerate(shown):
            head = f"{r.K:>4}  {r.iterations:>5}  " if n == 0 else " " * 13
            lines.append(head + _topic_text(t))
        if len(shown) < len(r.topics):
            lines.append(" " * 13 + f"... ({len(r.topics) - len(shown)} more)")
    lines.append("")
    lines.append(f"{'K':>4}  {'#iter':>5}  {'converged':>9}  {'log-likelihood':>16}  "
                 f"{'per doc':>9}  {'NMI':>6}  {'time':>8}")
    for r in results:
        nmi = "-" if r.nmi is None else f"{r.nmi:.4f}"
        lines.append(f"{r.K:>4}  {r.iterations:>5}  {'yes' if r.converged else 'no':>9}  "
                     f"{r.log_likelihood:>16.4f}  {r.per_document:>9.3f}  {nmi:>6}  "
                     f"{r.seconds:>6.2f} s")
    if any(r.held_out is not None for r in results):
        lines.append("")
        lines.append(f"held-out: {'K':>4}  {'documents':>9}  {'log-likelihood':>16}  "
                     f"{'per doc':>9}  {'per word':>9}  {'NMI':>6}   (per word: coefficient "
                     "excluded, exp(-x) = perplexity)")
        for r in results:
            h = r.held_out
            if h is None:
                continue
            nmi = "-" if h.nmi is None else f"{h.nmi:.4f}"
            lines.append(f"          {r.K:>4}  {h.n_documents:>9}  {h.log_likelihood:>16.4f}  "
                         f"{h.per_document:>9.3f}  {h.per_word:>9.4f}  {nmi:>6}")
    return "\n".join(lines)


def to_json(r: RunResult) -> dict:
    return {
        "K": r.K, "iterations": r.iterations, "converged": r.converged,
        "log_likelihood": r.log_likelihood, "log_likelihood_per_document": r.per_document,
        "log_likelihood_per_iteration": r.history, "nmi": r.nmi,
        "seconds": round(r.seconds, 4),
        "topics": [{"rank": t.rank, "k": t.index, "pi": t.pi, "top_words": t.words}
                   for t in r.topics],
        "held_out": None if r.held_out is None else {
            "documents": r.held_out.n_documents, "tokens": r.held_out.n_tokens,
            "log_likelihood": r.held_out.log_likelihood,
            "log_likelihood_per_document": r.held_out.per_document,
            "log_likelihood_per_word": r.held_out.per_word, "nmi": r.held_out.nmi},
    }
