"""New text and other corpora in the columns of a given vocabulary.

A model fitted on one corpus scores another only over the same words.  Both functions
here drop what the vocabulary does not have, and say how much they dropped.
"""

from __future__ import annotations

import dataclasses
import re
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
    dropped, and with them the stop words and short words it never had.  The header is
    stripped only from texts that have one (see ``_has_header``)."""
    if isinstance(texts, (str, bytes)):
        raise TypeError("texts must be a list of documents, not one string")
    opts = TextOptions() if options is None else options
    plain = dataclasses.replace(opts, strip_headers=False)
    counts, words = count_tokens(
        tokenize(t, opts if opts.strip_headers and _has_header(t, opts) else plain)
        for t in texts)
    return select_vocabulary(counts, words, vocabulary=vocabulary)[0]


_HEADER_FIELD = re.compile(r"[A-Za-z][A-Za-z0-9-]*:")


def _has_header(text: str | bytes, options: TextOptions) -> bool:
    """Whether a new text starts with a message header (``Field: value`` lines, then an
    empty line).  Header stripping drops everything up to the first empty line, which
    for a plain sentence would be all of it, so it applies only to texts that have one."""
    if isinstance(text, bytes):
        text = text.decode(options.encoding)
    text = text.replace("\r\n", "\n")
    return bool(_HEADER_FIELD.match(text)) and "\n\n" in text


def align(corpus, vocabulary: Sequence[str]):
    """``corpus`` with exactly the columns ``vocabulary`` (matched by word), and the
    number of tokens and of distinct words it had that the vocabulary lacks (dropped)."""
    wanted = set(vocabulary)
    unseen = np.array([w not in wanted for w in corpus.vocabulary], dtype=bool)
    dropped_tokens = int(corpus.word_totals[unseen].sum()) if unseen.size else 0
    counts, words = select_vocabulary(corpus.counts, corpus.vocabulary, vocabulary=vocabulary)
    aligned = dataclasses.replace(corpus, counts=counts, vocabulary=words)  # a new Corpus
    return aligned, dropped_tokens, int(unseen.sum())
