"""Loaders for bag-of-words files people already have, and for in-memory matrices.

All of them return a :class:`~symderive.corpus.Corpus` and report bad input with a
:class:`~symderive.corpus.CorpusError` whose message starts with ``path:LINE:`` (1-based
line), so the offending line can be found at once. Files ending in ``.gz`` are
decompressed on the fly.

Conventions
-----------
libsvm-style (the layout of the Tsinghua ``20news.libsvm``)::

    docid<TAB>wordid:count wordid:count ...

Word ids are **0-based** (id 0 is the first line of the vocabulary file). Any
whitespace separates fields; blank lines and lines starting with ``#`` are skipped;
every other line is one document, in file order (a document with no items is an empty
row). With ``first_field="label"`` the first field is instead an integer class label,
as in plain libsvm files. The vocabulary file has one word per line, or
``id<TAB>word[<TAB>frequency]`` per line as in the Tsinghua ``20news.vocab``.

UCI bag-of-words (``docword.*.txt`` + ``vocab.*.txt``): three header lines ``D``,
``W`` and ``NNZ``, then one ``docID wordID count`` line per nonzero, with **1-based**
ids; the vocabulary file has one word per line.
"""

from __future__ import annotations

import gzip
import math
import os
from array import array
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from .bag import Corpus, CorpusError

__all__ = ["from_sparse", "load_libsvm", "load_uci", "read_vocabulary"]

PathLike = str | os.PathLike[str]


# -- reading files ---------------------------------------------------------------------
def _read_bytes(path: PathLike) -> bytes:
    name = os.fspath(path)
    try:
        if name.endswith(".gz"):
            with gzip.open(name, "rb") as handle:
                return handle.read()
        with open(name, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        raise CorpusError("no such file", path) from None
    except OSError as exc:
        raise CorpusError(f"cannot read: {exc.strerror or exc}", path) from None


def _decode(raw: bytes, path: PathLike, encoding: str) -> str:
    """Decode, reporting an undecodable byte as ``path:LINE:``."""
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        reason = f"cannot decode the text as {encoding}: {exc.reason}"
        raise CorpusError(reason, path, line) from None


def _lines(path: PathLike, encoding: str = "utf-8") -> list[str]:
    """The file's lines, without line ends (CRLF tolerated)."""
    text = _decode(_read_bytes(path), path, encoding)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _parse_count(text: str, path: PathLike, line: int) -> int:
    """A non-negative integer count; ``2.0`` is accepted, ``2.5`` and ``-1`` are not."""
    try:
        value = int(text)
    except ValueError:
        try:
            number = float(text)
        except ValueError:
            raise CorpusError(f"count {text!r} is not an integer", path, line) from None
        if not math.isfinite(number) or not number.is_integer():
            raise CorpusError(f"count {text!r} is not an integer", path, line) from None
        value = int(number)
    if value < 0:
        raise CorpusError(f"negative count {value}", path, line)
    return value


def read_vocabulary(path: PathLike, *, allow_ids: bool = False) -> list[str]:
    """Words of a vocabulary file, one per line (UTF-8).

    Trailing blank lines are ignored; a blank line inside the file, a line with spaces
    and a repeated word are errors. With ``allow_ids``, lines may also be
    ``id word [frequency]`` with 0-based ids in file order (Tsinghua ``20news.vocab``).
    """
    lines = _lines(path)
    while lines and not lines[-1].strip():
        lines.pop()
    words: list[str] = []
    first_line: dict[str, int] = {}
    for number, text in enumerate(lines, start=1):
        fields = text.split()
        if not fields:
            raise CorpusError("blank line in the vocabulary (expected a word)", path, number)
        if len(fields) == 1:
            word = fields[0]
        elif allow_ids and len(fields) in (2, 3) and fields[0].lstrip("-").isdigit():
            if int(fields[0]) != number - 1:
                raise CorpusError(
                    f"word id {fields[0]} where {number - 1} was expected "
                    "(ids must be 0-based and in file order)",
                    path,
                    number,
                )
            word = fields[1]
        else:
            expected = "'word' or 'id word [frequency]'" if allow_ids else "one word"
            raise CorpusError(f"malformed line {text.strip()!r}: expected {expected}", path, number)
        if word in first_line:
            raise CorpusError(
                f"word {word!r} is repeated (first on line {first_line[word]})", path, number
            )
        first_line[word] = number
        words.append(word)
    return words


# -- libsvm ----------------------------------------------------------------------------
def _libsvm_items(
    items: list[str], path: PathLike, line: int, n_words: int, vocab_path: PathLike
) -> tuple[list[int], list[int]]:
    """Word ids and counts of one line; fast when the line is clean."""
    try:
        pairs = [item.split(":") for item in items]
        ids = [int(a) for a, _ in pairs]
        counts = [int(b) for _, b in pairs]
        if not ids or (
            min(ids) >= 0 and max(ids) < n_words and min(counts) >= 0 and len(set(ids)) == len(ids)
        ):
            return ids, counts
    except ValueError:
        pass
    # slow path: find the first bad item and say what is wrong with it
    ids, counts = [], []
    seen: set[int] = set()
    for item in items:
        word, sep, count = item.partition(":")
        if not sep or ":" in count or not word or not count:
            raise CorpusError(f"malformed item {item!r}: expected wordid:count", path, line)
        try:
            word_id = int(word)
        except ValueError:
            raise CorpusError(
                f"malformed item {item!r}: word id {word!r} is not an integer", path, line
            ) from None
        if not 0 <= word_id < n_words:
            raise CorpusError(
                f"unknown word id {word_id} ({vocab_path} has {n_words} words, "
                f"0-based ids 0..{n_words - 1})",
                path,
                line,
            )
        if word_id in seen:
            raise CorpusError(f"word id {word_id} appears twice on the line", path, line)
        seen.add(word_id)
        ids.append(word_id)
        counts.append(_parse_count(count, path, line))
    return ids, counts


def load_libsvm(data_path: PathLike, vocab_path: PathLike, *, first_field: str = "docid") -> Corpus:
    """Load ``docid<TAB>id:count ...`` lines (0-based word ids) and a vocabulary file.

    ``first_field="docid"`` (default) takes the first field of each line as the
    document id (``Corpus.doc_ids``; documents are unlabelled). ``first_field="label"``
    reads it as an integer class label instead (plain libsvm files): ``label_names`` are
    the distinct labels in increasing order and ``labels`` index into them. See the
    module docstring for the exact format.
    """
    if first_field not in ("docid", "label"):
        raise ValueError(f"first_field={first_field!r}: expected 'docid' or 'label'")
    vocabulary = read_vocabulary(vocab_path, allow_ids=True)
    n_words = len(vocabulary)
    indptr = array("q", [0])
    indices = array("q")
    data = array("q")
    heads: list[str] = []
    for number, text in enumerate(_lines(data_path, "latin-1"), start=1):
        fields = text.split()
        if not fields or fields[0].startswith("#"):
            continue
        head = fields[0]
        if ":" in head:
            what = "document id" if first_field == "docid" else "label"
            raise CorpusError(
                f"malformed line: it must start with a {what}, not the item {head!r}",
                data_path,
                number,
            )
        if first_field == "label":
            try:
                int(head)
            except ValueError:
                raise CorpusError(f"label {head!r} is not an integer", data_path, number) from None
        ids, counts = _libsvm_items(fields[1:], data_path, number, n_words, vocab_path)
        indices.extend(ids)
        data.extend(counts)
        indptr.append(len(indices))
        heads.append(head)
    matrix = sp.csr_matrix(
        (
            np.frombuffer(data, np.int64),
            np.frombuffer(indices, np.int64),
            np.frombuffer(indptr, np.int64),
        ),
        shape=(len(heads), n_words),
    )
    if first_field == "docid":
        return from_sparse(matrix, vocabulary, doc_ids=heads)
    values = [int(h) for h in heads]
    names = sorted(set(values))
    position = {v: i for i, v in enumerate(names)}
    return from_sparse(
        matrix,
        vocabulary,
        labels=np.array([position[v] for v in values], dtype=np.int64),
        label_names=[str(v) for v in names],
    )


# -- UCI -------------------------------------------------------------------------------
def _header_value(lines: list[str], index: int, name: str, path: PathLike) -> int:
    if index >= len(lines):
        raise CorpusError(f"missing header line: expected {name}", path, index + 1)
    text = lines[index].strip()
    try:
        value = int(text)
    except ValueError:
        raise CorpusError(
            f"malformed header line {text!r}: expected {name} (one integer)", path, index + 1
        ) from None
    if value < 0:
        raise CorpusError(f"malformed header line: {name} = {value} is negative", path, index + 1)
    return value


def load_uci(docword_path: PathLike, vocab_path: PathLike) -> Corpus:
    """Load the UCI bag-of-words pair ``docword.txt`` + ``vocab.txt`` (1-based ids).

    docword starts with three lines ``D`` (documents), ``W`` (words) and ``NNZ``
    (entries), then ``docID wordID count`` lines. ``W`` must equal the number of words in
    the vocabulary file and ``NNZ`` the number of entries; a (document, word) pair may
    appear only once. Documents without entries become rows of zeros; ``doc_ids`` are
    ``"1"`` .. ``"D"``.
    """
    vocabulary = read_vocabulary(vocab_path)
    lines = _lines(docword_path, "latin-1")
    n_docs = _header_value(lines, 0, "D, the number of documents", docword_path)
    n_words = _header_value(lines, 1, "W, the number of words", docword_path)
    nnz = _header_value(lines, 2, "NNZ, the number of entries", docword_path)
    if n_words != len(vocabulary):
        raise CorpusError(
            f"header says W = {n_words} words but {vocab_path} has {len(vocabulary)}",
            docword_path,
            2,
        )
    rows = array("q")
    cols = array("q")
    data = array("q")
    where = array("q")
    for number in range(4, len(lines) + 1):
        fields = lines[number - 1].split()
        if not fields:
            continue
        try:
            doc, word, count = (int(f) for f in fields)
            clean = 1 <= doc <= n_docs and 1 <= word <= n_words and count >= 0
        except ValueError:
            clean = False
        if not clean:
            doc, word, count = _diagnose_uci(fields, docword_path, number, n_docs, n_words)
        rows.append(doc - 1)
        cols.append(word - 1)
        data.append(count)
        where.append(number)
    if len(data) != nnz:
        raise CorpusError(
            f"header says NNZ = {nnz} entries but the file has {len(data)}", docword_path, 3
        )
    row = np.frombuffer(rows, np.int64)
    col = np.frombuffer(cols, np.int64)
    key = row * max(n_words, 1) + col
    order = np.argsort(key, kind="stable")
    repeated = np.flatnonzero(key[order][1:] == key[order][:-1])
    if repeated.size:
        line_numbers = np.frombuffer(where, np.int64)
        seconds = line_numbers[order[repeated + 1]]
        k = int(repeated[np.argmin(seconds)])  # the repeat that comes first in the file
        first = int(line_numbers[order[k]])
        raise CorpusError(
            f"document {row[order[k]] + 1}, word {col[order[k]] + 1} was already given "
            f"on line {first}",
            docword_path,
            int(seconds.min()),
        )
    matrix = sp.csr_matrix((np.frombuffer(data, np.int64), (row, col)), shape=(n_docs, n_words))
    return from_sparse(matrix, vocabulary, doc_ids=[str(i) for i in range(1, n_docs + 1)])


def _diagnose_uci(
    fields: list[str], path: PathLike, line: int, n_docs: int, n_words: int
) -> tuple[int, int, int]:
    """Parse one suspicious ``docID wordID count`` line or raise the precise error."""
    if len(fields) != 3:
        raise CorpusError(
            f"malformed line {' '.join(fields)!r}: expected 'docID wordID count'", path, line
        )
    try:
        doc = int(fields[0])
        word = int(fields[1])
    except ValueError:
        raise CorpusError(
            f"malformed line {' '.join(fields)!r}: ids must be integers", path, line
        ) from None
    if not 1 <= doc <= n_docs:
        raise CorpusError(
            f"document id {doc} is outside 1..{n_docs} (header line 1 says D = {n_docs})",
            path,
            line,
        )
    if not 1 <= word <= n_words:
        raise CorpusError(
            f"unknown word id {word} (the vocabulary has {n_words} words, 1-based ids "
            f"1..{n_words})",
            path,
            line,
        )
    return doc, word, _parse_count(fields[2], path, line)


# -- in memory -------------------------------------------------------------------------
def from_sparse(
    matrix: object,
    words: Sequence[str],
    labels: Sequence[int] | Sequence[str] | np.ndarray | None = None,
    label_names: Sequence[str] | None = None,
    split: Sequence[str] | np.ndarray | None = None,
    doc_ids: Sequence[str] | None = None,
) -> Corpus:
    """Wrap a documents x words matrix (any scipy sparse format or dense array).

    Entries must be non-negative integers (floats such as ``2.0`` are fine); the matrix
    is copied into a canonical int64 CSR. ``labels`` may be integers (``-1`` for
    unlabelled; ``label_names`` defaults to ``"0"``, ``"1"``, ...) or strings (then
    ``label_names`` defaults to the sorted distinct strings). ``split`` defaults to ``""``
    for every document and ``doc_ids`` to ``"0"``, ``"1"``, ...
    """
    if sp.issparse(matrix):
        csr = sp.csr_matrix(matrix, copy=True)
    else:
        dense = np.asarray(matrix)
        if dense.ndim != 2:
            raise CorpusError(f"the matrix must be 2-D, got shape {dense.shape}")
        if dense.dtype.kind not in "biuf":
            raise CorpusError(f"the matrix must hold integer counts, got dtype {dense.dtype}")
        csr = sp.csr_matrix(dense)
    if csr.dtype.kind not in "biuf":
        raise CorpusError(f"the matrix must hold integer counts, got dtype {csr.dtype}")
    csr.sum_duplicates()  # also sorts the indices, so "first" below is in row-major order
    n_docs, n_cols = csr.shape
    words = [str(w) for w in words]
    if len(words) != n_cols:
        raise CorpusError(
            f"the word list has {len(words)} words but the matrix has {n_cols} columns"
        )
    values = csr.data
    bad = None
    if values.dtype.kind == "f":
        bad_mask = ~np.isfinite(values)
        bad_mask[~bad_mask] = values[~bad_mask] != np.round(values[~bad_mask])
        if bad_mask.any():
            bad = (int(np.argmax(bad_mask)), "is not an integer")
    negative = values < 0
    if negative.any():
        k = int(np.argmax(negative))
        if bad is None or k < bad[0]:
            bad = (k, "is negative")
    if bad is not None:
        k, problem = bad
        row = int(np.searchsorted(csr.indptr, k, side="right")) - 1
        raise CorpusError(f"entry ({row}, {int(csr.indices[k])}) = {values[k]} {problem}")
    csr = csr.astype(np.int64)

    if labels is None:
        label_array = np.full(n_docs, -1, dtype=np.int64)
        names = [] if label_names is None else [str(n) for n in label_names]
    else:
        raw = np.asarray(labels)
        if raw.shape != (n_docs,):
            raise CorpusError(f"labels has shape {raw.shape}, expected ({n_docs},)")
        if raw.dtype.kind in "USO":
            text = [str(x) for x in raw]
            names = sorted(set(text)) if label_names is None else [str(n) for n in label_names]
            position = {n: i for i, n in enumerate(names)}
            missing = [t for t in text if t not in position]
            if missing:
                raise CorpusError(f"label {missing[0]!r} is not in label_names")
            label_array = np.array([position[t] for t in text], dtype=np.int64)
        elif raw.dtype.kind in "iu" or n_docs == 0:
            label_array = raw.astype(np.int64)
            if label_names is None:
                top = int(label_array.max()) if n_docs else -1
                names = [str(i) for i in range(top + 1)]
            else:
                names = [str(n) for n in label_names]
        else:
            raise CorpusError(f"labels must be integers or strings, got dtype {raw.dtype}")
    split_array = np.full(n_docs, "", dtype="<U5") if split is None else np.asarray(split, str)
    ids = [str(i) for i in range(n_docs)] if doc_ids is None else [str(d) for d in doc_ids]
    return Corpus(
        counts=csr,
        vocabulary=words,
        labels=label_array,
        label_names=names,
        split=split_array,
        doc_ids=ids,
    )
