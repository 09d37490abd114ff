"""Tests of the libsvm, UCI and in-memory corpus loaders and of their error messages.

Every error must name the file and the 1-based line as ``path:LINE: message``.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from symderive.corpus import Corpus, CorpusError, from_sparse, load_libsvm, load_uci

VOCAB = "apple\nbanana\ncherry\ndate\n"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def error_of(call, *args, **kwargs) -> str:
    with pytest.raises(CorpusError) as err:
        call(*args, **kwargs)
    assert isinstance(err.value, ValueError)
    return str(err.value)


def assert_canonical(matrix: sp.csr_matrix) -> None:
    assert isinstance(matrix, sp.csr_matrix) and matrix.dtype == np.int64
    assert matrix.has_sorted_indices and matrix.has_canonical_format
    assert np.all(matrix.data > 0)


# -- libsvm ----------------------------------------------------------------------------
def test_libsvm_reads_counts_exactly(tmp_path: Path) -> None:
    vocab = write(tmp_path / "20news.vocab", VOCAB)
    data = write(
        tmp_path / "20news.libsvm",
        "# a comment\n"
        "17\t0:2 3:1\n"
        "\n"
        "18\t2:5 1:1 0:0\n"  # ids in any order; a zero count is dropped
        "19\n"  # an empty document
        "20 3:2.0\r\n",  # spaces, CRLF and an integral float are fine
    )
    corpus = load_libsvm(data, vocab)
    assert isinstance(corpus, Corpus)
    assert corpus.vocabulary == ["apple", "banana", "cherry", "date"]
    assert corpus.doc_ids == ["17", "18", "19", "20"]
    np.testing.assert_array_equal(
        corpus.counts.toarray(), [[2, 0, 0, 1], [0, 1, 5, 0], [0, 0, 0, 0], [0, 0, 0, 2]]
    )
    assert_canonical(corpus.counts)
    assert corpus.labels.tolist() == [-1] * 4 and corpus.label_names == []
    assert corpus.split.tolist() == [""] * 4


def test_libsvm_tsinghua_vocab_labels_and_gzip(tmp_path: Path) -> None:
    vocab = write(tmp_path / "v.txt", "0\tapple\t10\n1\tbanana\t7\n2\tcherry\t1\n")
    data = tmp_path / "d.libsvm.gz"
    with gzip.open(data, "wt") as handle:
        handle.write("3 0:1 2:2\n-1 1:4\n3 2:1\n")
    corpus = load_libsvm(data, vocab, first_field="label")
    assert corpus.vocabulary == ["apple", "banana", "cherry"]
    assert corpus.label_names == ["-1", "3"]
    assert corpus.labels.tolist() == [1, 0, 1]
    assert corpus.doc_ids == ["0", "1", "2"]
    np.testing.assert_array_equal(corpus.counts.toarray(), [[1, 0, 2], [0, 4, 0], [0, 0, 1]])
    with pytest.raises(ValueError, match="first_field"):
        load_libsvm(data, vocab, first_field="id")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("d2\t0:1 4:2", "unknown word id 4 ({vocab} has 4 words, 0-based ids 0..3)"),
        ("d2\t-1:2", "unknown word id -1 ({vocab} has 4 words, 0-based ids 0..3)"),
        ("d2\t1:-3", "negative count -3"),
        ("d2\t1:2.5", "count '2.5' is not an integer"),
        ("d2\t1:many", "count 'many' is not an integer"),
        ("d2\t1:nan", "count 'nan' is not an integer"),
        ("d2\t1", "malformed item '1': expected wordid:count"),
        ("d2\t1:2:3", "malformed item '1:2:3': expected wordid:count"),
        ("d2\t1:", "malformed item '1:': expected wordid:count"),
        ("d2\tx:2", "malformed item 'x:2': word id 'x' is not an integer"),
        ("0:1 2:2", "malformed line: it must start with a document id, not the item '0:1'"),
        ("d2\t1:1 2:1 1:3", "word id 1 appears twice on the line"),
    ],
)
def test_libsvm_errors_name_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    vocab = write(tmp_path / "v.txt", VOCAB)
    data = write(tmp_path / "d.libsvm", f"d1\t0:1\n\n{line}\nd3\t1:1\n")
    expected = f"{data}:3: " + message.format(vocab=vocab)
    assert error_of(load_libsvm, data, vocab) == expected


def test_libsvm_label_must_be_an_integer(tmp_path: Path) -> None:
    vocab = write(tmp_path / "v.txt", VOCAB)
    data = write(tmp_path / "d.libsvm", "1 0:1\nspam 1:1\n")
    assert error_of(load_libsvm, data, vocab, first_field="label") == (
        f"{data}:2: label 'spam' is not an integer"
    )
    data = write(tmp_path / "d.libsvm", "1:1\n")
    assert error_of(load_libsvm, data, vocab, first_field="label") == (
        f"{data}:1: malformed line: it must start with a label, not the item '1:1'"
    )


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("apple\nbanana\napple\n", 3, "word 'apple' is repeated (first on line 1)"),
        ("apple\n\nbanana\n", 2, "blank line in the vocabulary (expected a word)"),
        ("apple\nbig apple pie tart\n", 2, "malformed line 'big apple pie tart': expected "
         "'word' or 'id word [frequency]'"),
        ("0\tapple\t3\n2\tbanana\t1\n", 2, "word id 2 where 1 was expected (ids must be "
         "0-based and in file order)"),
    ],
)  # fmt: skip
def test_vocabulary_errors(tmp_path: Path, text: str, line: int, message: str) -> None:
    vocab = write(tmp_path / "v.txt", text)
    data = write(tmp_path / "d.libsvm", "d1\t0:1\n")
    assert error_of(load_libsvm, data, vocab) == f"{vocab}:{line}: {message}"


def test_vocabulary_trailing_blank_lines_and_bad_utf8(tmp_path: Path) -> None:
    vocab = write(tmp_path / "v.txt", "apple\nbanana\n\n  \n")
    data = write(tmp_path / "d.libsvm", "d1\t1:3\n")
    assert load_libsvm(data, vocab).vocabulary == ["apple", "banana"]
    (tmp_path / "v.txt").write_bytes(b"apple\nbanana\nna\xefve\n")
    assert error_of(load_libsvm, data, vocab) == (
        f"{vocab}:3: cannot decode the text as utf-8: invalid continuation byte"
    )


# -- UCI -------------------------------------------------------------------------------
def uci_files(tmp_path: Path, docword: str, vocab: str = VOCAB) -> tuple[Path, Path]:
    return write(tmp_path / "docword.test.txt", docword), write(tmp_path / "vocab.test.txt", vocab)


def test_uci_reads_counts_exactly(tmp_path: Path) -> None:
    docword, vocab = uci_files(tmp_path, "4\n4\n5\n1 1 3\n1 4 1\n3 2 2\n3 3 7\n\n1 2 1\n")
    corpus = load_uci(docword, vocab)
    np.testing.assert_array_equal(
        corpus.counts.toarray(),
        [[3, 1, 0, 1], [0, 0, 0, 0], [0, 2, 7, 0], [0, 0, 0, 0]],  # docs 2 and 4: empty
    )
    assert_canonical(corpus.counts)
    assert corpus.vocabulary == ["apple", "banana", "cherry", "date"]
    assert corpus.doc_ids == ["1", "2", "3", "4"]
    assert corpus.n_tokens == 14
    assert corpus.labels.tolist() == [-1] * 4


def test_uci_gzip(tmp_path: Path) -> None:
    docword = tmp_path / "docword.kos.txt.gz"
    with gzip.open(docword, "wt") as handle:
        handle.write("1\n4\n1\n1 2 5\n")
    corpus = load_uci(docword, write(tmp_path / "vocab.kos.txt", VOCAB))
    assert corpus.counts.toarray().tolist() == [[0, 5, 0, 0]]


@pytest.mark.parametrize(
    ("docword", "line", "message"),
    [
        ("3\n5\n1\n1 1 1\n", 2, "header says W = 5 words but {vocab} has 4"),
        ("3\n4\n3\n1 1 1\n2 2 2\n", 3, "header says NNZ = 3 entries but the file has 2"),
        ("3\n4\n1\n1 1 1\n2 2 2\n", 3, "header says NNZ = 1 entries but the file has 2"),
        ("3\n4\n2\n1 1 1\n4 2 2\n", 5, "document id 4 is outside 1..3 (header line 1 says D = 3)"),
        ("3\n4\n2\n1 1 1\n0 2 2\n", 5, "document id 0 is outside 1..3 (header line 1 says D = 3)"),
        ("3\n4\n2\n1 1 1\n2 5 2\n", 5, "unknown word id 5 (the vocabulary has 4 words, 1-based "
         "ids 1..4)"),
        ("3\n4\n2\n1 1 1\n2 0 2\n", 5, "unknown word id 0 (the vocabulary has 4 words, 1-based "
         "ids 1..4)"),
        ("3\n4\n2\n1 1 1\n2 2 -2\n", 5, "negative count -2"),
        ("3\n4\n2\n1 1 1\n2 2 0.5\n", 5, "count '0.5' is not an integer"),
        ("3\n4\n2\n1 1 1\n2 2\n", 5, "malformed line '2 2': expected 'docID wordID count'"),
        ("3\n4\n2\n1 1 1\n2 2 1 9\n", 5, "malformed line '2 2 1 9': expected 'docID wordID "
         "count'"),
        ("3\n4\n2\n1 1 1\n2 b 1\n", 5, "malformed line '2 b 1': ids must be integers"),
        ("3\n4\n3\n1 1 1\n2 2 2\n1 1 4\n", 6, "document 1, word 1 was already given on line 4"),
        ("three\n4\n1\n1 1 1\n", 1, "malformed header line 'three': expected D, the number of "
         "documents (one integer)"),
        ("3\n-4\n1\n1 1 1\n", 2, "malformed header line: W, the number of words = -4 is "
         "negative"),
        ("3\n4\n", 3, "missing header line: expected NNZ, the number of entries"),
    ],
)  # fmt: skip
def test_uci_errors_name_file_and_line(
    tmp_path: Path, docword: str, line: int, message: str
) -> None:
    docword_path, vocab = uci_files(tmp_path, docword)
    expected = f"{docword_path}:{line}: " + message.format(vocab=vocab)
    assert error_of(load_uci, docword_path, vocab) == expected


def test_uci_vocabulary_must_be_one_word_per_line(tmp_path: Path) -> None:
    docword, vocab = uci_files(tmp_path, "1\n2\n1\n1 1 1\n", vocab="apple\n0 banana\n")
    assert error_of(load_uci, docword, vocab) == (
        f"{vocab}:2: malformed line '0 banana': expected one word"
    )


# -- from_sparse -----------------------------------------------------------------------
def test_from_sparse_formats_and_canonical_copy() -> None:
    words = ["x", "y", "z"]
    dense = np.array([[0, 2, 0], [1, 0, 3]])
    coo = sp.coo_matrix(([1, 1, 3, 0], ([0, 0, 1, 1], [1, 1, 2, 0])), shape=(2, 3))
    for matrix in (dense, sp.csc_matrix(dense), sp.csr_array(dense), dense.astype(float)):
        corpus = from_sparse(matrix, words)
        assert_canonical(corpus.counts)
        np.testing.assert_array_equal(corpus.counts.toarray(), dense)
    # duplicates are summed and the explicit zero is dropped
    summed = from_sparse(coo, words).counts
    assert_canonical(summed)
    np.testing.assert_array_equal(summed.toarray(), [[0, 2, 0], [0, 0, 3]])
    source = sp.csr_matrix(dense)
    corpus = from_sparse(source, words, split=["train", "test"], doc_ids=["a", "b"])
    source.data[:] = 99  # the corpus holds its own copy
    np.testing.assert_array_equal(corpus.counts.toarray(), dense)
    assert corpus.split.tolist() == ["train", "test"] and corpus.doc_ids == ["a", "b"]
    assert corpus.labels.tolist() == [-1, -1] and corpus.label_names == []


def test_from_sparse_labels() -> None:
    matrix = np.eye(3, dtype=int)
    named = from_sparse(matrix, ["a", "b", "c"], labels=["sci", "rec", "sci"])
    assert named.label_names == ["rec", "sci"] and named.labels.tolist() == [1, 0, 1]
    numbered = from_sparse(matrix, ["a", "b", "c"], labels=[2, -1, 0])
    assert numbered.label_names == ["0", "1", "2"] and numbered.labels.tolist() == [2, -1, 0]
    given = from_sparse(matrix, ["a", "b", "c"], labels=[1, 1, 0], label_names=["no", "yes"])
    assert given.label_names == ["no", "yes"]
    assert error_of(from_sparse, matrix, ["a", "b", "c"], labels=[0, 1]) == (
        "labels has shape (2,), expected (3,)"
    )
    assert error_of(from_sparse, matrix, ["a", "b", "c"], labels=[0, 3, 0], label_names=["n"]) == (
        "labels must lie in -1..0 (there are 1 label names)"
    )


@pytest.mark.parametrize(
    ("matrix", "message"),
    [
        (np.array([[1, 0, 0], [0, -2, 1]]), "entry (1, 1) = -2 is negative"),
        (np.array([[1, 0, 0.5], [0, -2, 1]]), "entry (0, 2) = 0.5 is not an integer"),
        (np.array([[1, 0, 0], [np.nan, 1, 1]]), "entry (1, 0) = nan is not an integer"),
        (np.array([[1, 0, 0], [0, 1, np.inf]]), "entry (1, 2) = inf is not an integer"),
        (np.array([[1, 2]]), "the word list has 3 words but the matrix has 2 columns"),
        (np.array([1, 2, 3]), "the matrix must be 2-D, got shape (3,)"),
        (np.array([["a", "b", "c"]]), "the matrix must hold integer counts, got dtype <U1"),
    ],
)
def test_from_sparse_errors(matrix: np.ndarray, message: str) -> None:
    assert error_of(from_sparse, matrix, ["p", "q", "r"]) == message
    if matrix.ndim == 2 and matrix.dtype.kind != "U":
        assert error_of(from_sparse, sp.coo_matrix(matrix), ["p", "q", "r"]) == message


def test_from_sparse_duplicate_words() -> None:
    assert error_of(from_sparse, np.eye(2, dtype=int), ["p", "p"]) == (
        "vocabulary contains the word 'p' more than once"
    )


def test_corpus_select_and_repr() -> None:
    corpus = from_sparse(
        np.array([[1, 0], [0, 2], [3, 0]]),
        ["p", "q"],
        labels=["a", "b", "a"],
        split=["train", "test", "train"],
    )
    assert repr(corpus) == (
        "Corpus(3 documents, 2 words, 3 nonzeros, 6 tokens, 2 labels, split test=1, train=2)"
    )
    train = corpus.select(corpus.split == "train")
    assert train.counts.toarray().tolist() == [[1, 0], [3, 0]]
    assert train.vocabulary == ["p", "q"] and train.labels.tolist() == [0, 0]
    assert train.doc_ids == ["0", "2"]
    assert corpus.select([1]).counts.toarray().tolist() == [[0, 2]]
    assert corpus.word_totals.tolist() == [4, 2] and corpus.document_frequency.tolist() == [2, 1]
