"""The :class:`Corpus` bag-of-words container and the :class:`CorpusError` exception.

Every loader in :mod:`symderive.corpus` returns the same ``Corpus`` type, so code that
runs EM (or anything else) on word counts does not care where the counts came from.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .text import TextOptions

__all__ = ["Corpus", "CorpusError"]


class CorpusError(ValueError):
    """Bad corpus input.

    When the problem is in a file, the message has the compiler-style form
    ``path:LINE: message`` (``LINE`` is 1-based) so editors and terminals can jump to it;
    ``path``, ``line`` and ``reason`` are also available as attributes.
    """

    def __init__(
        self, reason: str, path: str | os.PathLike[str] | None = None, line: int | None = None
    ) -> None:
        self.reason = reason
        self.path = None if path is None else os.fspath(path)
        self.line = line
        if self.path is not None and line is not None:
            text = f"{self.path}:{line}: {reason}"
        elif self.path is not None:
            text = f"{self.path}: {reason}"
        else:
            text = reason
        super().__init__(text)


@dataclass(frozen=True, eq=False, repr=False)
class Corpus:
    """A documents x words matrix of counts plus what is known about each row and column.

    Attributes
    ----------
    counts:
        ``scipy.sparse.csr_matrix`` of dtype **int64**, shape ``(n_documents, n_words)``,
        canonical (sorted column indices, no duplicates, no explicit zeros). A document
        whose words were all filtered out is kept as a row of zeros, so rows stay aligned
        with ``labels``.
    vocabulary:
        ``list[str]``, the word of each column (unique).
    labels:
        ``numpy.ndarray`` of int64, one per document: an index into ``label_names``,
        or ``-1`` when the document is unlabelled.
    label_names:
        ``list[str]``.
    split:
        ``numpy.ndarray`` of str, one per document: ``"train"``, ``"test"``, or ``""``
        when the source has no split.
    doc_ids:
        ``list[str]``, an identifier per document (file path inside the archive or
        directory, the id written in the file, ...).
    text_options:
        How raw text was turned into tokens (:class:`TextOptions`), for
        :meth:`vectorize`; ``None`` for corpora read as counts (plain tokenising then).

    The constructor checks and canonicalises its inputs (raising :class:`CorpusError`);
    :func:`symderive.corpus.from_sparse` is the friendlier way to build one by hand.
    """

    counts: sp.csr_matrix
    vocabulary: list[str]
    labels: np.ndarray
    label_names: list[str]
    split: np.ndarray
    doc_ids: list[str]
    text_options: TextOptions | None = None

    def __post_init__(self) -> None:
        counts = _canonical_counts(self.counts)
        n_docs, n_words = counts.shape
        vocabulary = [str(w) for w in self.vocabulary]
        if len(vocabulary) != n_words:
            raise CorpusError(
                f"vocabulary has {len(vocabulary)} words but the matrix has {n_words} columns"
            )
        if len(set(vocabulary)) != n_words:
            raise CorpusError(
                f"vocabulary contains the word {_first_duplicate(vocabulary)!r} more than once"
            )
        label_names = [str(n) for n in self.label_names]
        labels = np.asarray(self.labels)
        if labels.shape != (n_docs,):
            raise CorpusError(f"labels has shape {labels.shape}, expected ({n_docs},)")
        if labels.dtype.kind not in "iu" and n_docs:
            raise CorpusError(f"labels must be integers, got dtype {labels.dtype}")
        labels = labels.astype(np.int64, copy=True)
        if n_docs and (labels.min() < -1 or labels.max() >= len(label_names)):
            raise CorpusError(
                f"labels must lie in -1..{len(label_names) - 1} "
                f"(there are {len(label_names)} label names)"
            )
        split = np.asarray(self.split, dtype=str)
        if split.shape != (n_docs,):
            raise CorpusError(f"split has shape {split.shape}, expected ({n_docs},)")
        doc_ids = [str(d) for d in self.doc_ids]
        if len(doc_ids) != n_docs:
            raise CorpusError(f"doc_ids has {len(doc_ids)} entries, expected {n_docs}")
        for name, value in (
            ("counts", counts),
            ("vocabulary", vocabulary),
            ("labels", labels),
            ("label_names", label_names),
            ("split", split),
            ("doc_ids", doc_ids),
        ):
            object.__setattr__(self, name, value)

    # -- sizes and simple statistics -------------------------------------------------
    @property
    def n_documents(self) -> int:
        """Number of documents (rows)."""
        return int(self.counts.shape[0])

    @property
    def n_words(self) -> int:
        """Vocabulary size (columns)."""
        return int(self.counts.shape[1])

    @property
    def n_tokens(self) -> int:
        """Total number of word occurrences."""
        return int(self.counts.data.sum())

    @property
    def document_lengths(self) -> np.ndarray:
        """Tokens per document (int64 array; 0 for documents left empty)."""
        return np.asarray(self.counts.sum(axis=1)).ravel().astype(np.int64)

    @property
    def word_totals(self) -> np.ndarray:
        """Occurrences of each word over all documents (int64 array)."""
        return np.asarray(self.counts.sum(axis=0)).ravel().astype(np.int64)

    @property
    def document_frequency(self) -> np.ndarray:
        """Number of documents containing each word (int64 array)."""
        return np.bincount(self.counts.indices, minlength=self.n_words).astype(np.int64)

    # -- selection ---------------------------------------------------------------------
    def select(self, rows: Sequence[int] | np.ndarray) -> Corpus:
        """A new corpus with only the given documents (indices or a boolean mask).

        The vocabulary is kept as is (some words may no longer occur), which keeps
        the columns of e.g. the train and test parts of one corpus aligned.
        """
        index = np.asarray(rows)
        if index.dtype == bool:
            if index.shape != (self.n_documents,):
                raise CorpusError(
                    f"boolean mask has shape {index.shape}, expected ({self.n_documents},)"
                )
            index = np.flatnonzero(index)
        index = index.astype(np.int64, copy=False).ravel()
        return Corpus(
            counts=self.counts[index],
            vocabulary=list(self.vocabulary),
            labels=self.labels[index],
            label_names=list(self.label_names),
            split=self.split[index],
            doc_ids=[self.doc_ids[i] for i in index],
            text_options=self.text_options,
        )

    def vectorize(self, texts) -> sp.csr_matrix:
        """Counts of new raw ``texts`` over this corpus's vocabulary, with its
        preprocessing (its text options; its stop words and short words are not in the
        vocabulary, so they drop out).  Words it never saw are dropped."""
        from .vectorize import vectorize

        options = self.text_options or TextOptions(
            strip_headers=False, strip_quotes=False, strip_signatures=False)
        return vectorize(texts, self.vocabulary, options)

    def __repr__(self) -> str:
        parts = [
            f"{self.n_documents} documents",
            f"{self.n_words} words",
            f"{self.counts.nnz} nonzeros",
            f"{self.n_tokens} tokens",
        ]
        if self.label_names:
            parts.append(f"{len(self.label_names)} labels")
        splits = [str(s) for s in np.unique(self.split) if s]
        if splits:
            parts.append(
                "split " + ", ".join(f"{s}={int(np.sum(self.split == s))}" for s in splits)
            )
        return f"Corpus({', '.join(parts)})"


def _first_duplicate(items: Sequence[str]) -> str | None:
    seen: set[str] = set()
    for item in items:
        if item in seen:
            return item
        seen.add(item)
    return None


def _canonical_counts(counts: object) -> sp.csr_matrix:
    """Return ``counts`` as a canonical int64 CSR matrix; cheap when it already is one."""
    if sp.issparse(counts):
        matrix = sp.csr_matrix(counts)  # copies if the format or class differs
    else:
        dense = np.asarray(counts)
        if dense.ndim != 2:
            raise CorpusError(f"counts must be 2-D, got an array of shape {dense.shape}")
        matrix = sp.csr_matrix(dense)
    if matrix.dtype != np.int64:
        data = matrix.data
        if (
            data.dtype.kind == "f"
            and data.size
            and (not np.all(np.isfinite(data)) or np.any(data != np.round(data)))
        ):
            raise CorpusError("counts must be integers")
        if data.dtype.kind not in "biuf":
            raise CorpusError(f"counts must be integers, got dtype {data.dtype}")
        matrix = matrix.astype(np.int64)
    if matrix.data.size and matrix.data.min() < 0:
        raise CorpusError("counts must be non-negative")
    if not matrix.has_canonical_format:
        matrix = matrix.copy()
        matrix.sum_duplicates()
    if matrix.data.size and not matrix.data.all():
        matrix = matrix.copy()
        matrix.eliminate_zeros()
    return matrix
