"""From token lists to a count matrix, and choosing which words to keep.

Counting is done once, over every word; the filters (stop words, word length,
document frequency, a fixed vocabulary) then only select columns. That is what makes
the cache reusable across those options and keeps them cheap to change.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp

from .stopwords import resolve_stop_words

__all__ = ["count_tokens", "select_vocabulary"]


def count_tokens(
    documents: Iterable[list[str]],
    *,
    progress: Callable[[int], None] | None = None,
) -> tuple[sp.csr_matrix, list[str]]:
    """Count the tokens of each document.

    Returns a canonical int64 CSR matrix (documents x words) and its vocabulary, sorted
    alphabetically. Documents without tokens give rows of zeros.
    """
    index: dict[str, int] = {}
    indptr = [0]
    indices: list[int] = []
    data: list[int] = []
    for n, tokens in enumerate(documents, start=1):
        bag = Counter(tokens)
        setdefault = index.setdefault
        indices.extend([setdefault(word, len(index)) for word in bag])
        data.extend(bag.values())
        indptr.append(len(indices))
        if progress is not None:
            progress(n)
    words = list(index)
    order = sorted(range(len(words)), key=words.__getitem__)
    rank = np.empty(len(words), dtype=np.int64)
    rank[order] = np.arange(len(words))
    matrix = sp.csr_matrix(
        (
            np.asarray(data, dtype=np.int64),
            rank[np.asarray(indices, dtype=np.int64)] if indices else np.zeros(0, np.int64),
            np.asarray(indptr, dtype=np.int64),
        ),
        shape=(len(indptr) - 1, len(words)),
    )
    matrix.sort_indices()
    return matrix, [words[i] for i in order]


def _document_count(value: object, name: str, n_documents: int) -> float:
    """An int is a number of documents, a float in [0, 1] a fraction of them."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an int or a float, got {value!r}")
    if isinstance(value, Integral):
        if value < 0:
            raise ValueError(f"{name}={value} must be >= 0")
        return float(value)
    if isinstance(value, Real):
        if not 0.0 <= float(value) <= 1.0:
            raise ValueError(f"{name}={value}: a float must be a fraction in [0, 1]")
        return float(value) * n_documents
    raise TypeError(f"{name} must be an int or a float, got {value!r}")


def select_vocabulary(
    counts: sp.csr_matrix,
    words: Sequence[str],
    *,
    stop_words: str | Iterable[str] | None = "english",
    min_word_length: int = 2,
    min_df: int | float = 1,
    max_df: int | float = 1.0,
    max_features: int | None = None,
    vocabulary: Sequence[str] | None = None,
) -> tuple[sp.csr_matrix, list[str]]:
    """Keep the columns of ``counts`` that pass the filters.

    With ``vocabulary`` given, the result has exactly those words as columns, in that
    order (words never seen give zero columns) and the other filters are not applied:
    that is how to give a test set the columns of its training set.
    Otherwise a word is kept when it occurs in at least one document, is not a stop word
    (case-insensitive), has at least ``min_word_length`` letters, and appears in at least
    ``min_df`` and at most ``max_df`` documents (ints count documents, floats are
    fractions of ``counts.shape[0]``); ``max_features`` then keeps the most frequent
    words (ties broken by column order). Kept words stay in the order of ``words``
    (alphabetical for the output of :func:`count_tokens`).
    """
    n_documents = counts.shape[0]
    if vocabulary is not None:
        wanted = [str(w) for w in vocabulary]
        if len(set(wanted)) != len(wanted):
            raise ValueError("vocabulary contains a word more than once")
        position = {w: i for i, w in enumerate(words)}
        source = np.array([position.get(w, -1) for w in wanted], dtype=np.int64)
        known = source >= 0
        selector = sp.csr_matrix(
            (
                np.ones(int(known.sum()), dtype=np.int64),
                (source[known], np.flatnonzero(known)),
            ),
            shape=(len(words), len(wanted)),
        )
        result = sp.csr_matrix(counts @ selector)
        result.sort_indices()
        return result, wanted

    if not isinstance(min_word_length, Integral) or isinstance(min_word_length, bool):
        raise TypeError(f"min_word_length must be an int, got {min_word_length!r}")
    low = _document_count(min_df, "min_df", n_documents)
    high = _document_count(max_df, "max_df", n_documents)
    if high < low:
        raise ValueError(f"max_df={max_df} corresponds to fewer documents than min_df={min_df}")
    if max_features is not None and (
        not isinstance(max_features, Integral) or isinstance(max_features, bool) or max_features < 0
    ):
        raise ValueError(f"max_features must be a non-negative int or None, got {max_features!r}")

    stop = resolve_stop_words(stop_words)
    df = np.bincount(counts.indices, minlength=len(words))
    keep = (df >= max(low, 1.0)) & (df <= high)
    if min_word_length > 1 or stop:
        lexical = np.fromiter(
            (len(w) >= min_word_length and w.lower() not in stop for w in words),
            dtype=bool,
            count=len(words),
        )
        keep &= lexical
    columns = np.flatnonzero(keep)
    if max_features is not None and len(columns) > max_features:
        totals = np.asarray(counts.sum(axis=0)).ravel()[columns]
        # a stable sort on -total keeps column order among ties
        columns = np.sort(columns[np.argsort(-totals, kind="stable")[:max_features]])
    result = sp.csr_matrix(counts[:, columns])
    result.sort_indices()
    return result, [words[i] for i in columns]
