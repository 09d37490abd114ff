"""New text and other corpora in the columns of a given vocabulary.

A model fitted on one corpus scores another only over the same words.  Both functions
here drop what the vocabulary does not have, and say how much they dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import scipy.sparse as sp

from .text import TextOptions, tokenize
from .vocab import count_tokens, select_vocabulary

__all__ = ["vectorize", "align"]


def vectorize(texts: Iterable[str | bytes], vocabulary: Sequence[str],
              options: TextOptions | None = None) -> sp.csr_matrix:
    """Counts (documents x ``vocabulary``, int64 CSR) of raw ``texts``, tokenised with
    ``options`` (default: :class:`TextOptions` ()); words outside the vocabulary are
    dropped, and with them the stop words and short words it never had."""
    if isinstance(texts, (str, bytes)):
        raise TypeError("texts must be a list of documents, not one string")
    opts = TextOptions() if options is None else options
    counts, words = count_tokens(tokenize(t, opts) for t in texts)
    return select_vocabulary(counts, words, vocabulary=vocabulary)[0]


def align(corpus, vocabulary: Sequence[str]):
    """``corpus`` with exactly the columns ``vocabulary`` (matched by word), and the
    number of tokens and of distinct words it had that the vocabulary lacks (dropped)."""
    from .bag import Corpus

    wanted = set(vocabulary)
    unseen = np.array([w not in wanted for w in corpus.vocabulary], dtype=bool)
    dropped_tokens = int(corpus.word_totals[unseen].sum()) if unseen.size else 0
    counts, words = select_vocabulary(corpus.counts, corpus.vocabulary, vocabulary=vocabulary)
    aligned = Corpus(counts=counts, vocabulary=words, labels=corpus.labels,
                     label_names=corpus.label_names, split=corpus.split,
                     doc_ids=corpus.doc_ids, text_options=corpus.text_options)
    return aligned, dropped_tokens, int(unseen.sum())
