"""Tests of the corpus preprocessing, the 20 Newsgroups loader and its cache.

The bundled-corpus tests read the archive shipped in ``symderive/data`` (never
/work/shared) and cache into a temporary folder, so they do not touch the user's cache.
"""

from __future__ import annotations

import hashlib
import io
import re
import tarfile
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from symderive.corpus import (
    ARCHIVE_PATH,
    Corpus,
    CorpusError,
    TextOptions,
    default_cache_dir,
    english_stop_words,
    load_20newsgroups,
    load_directory,
    load_uci,
    tokenize,
)
from symderive.corpus.cache import load_bundle, save_bundle
from symderive.corpus.vectorize import align, vectorize

NEWS_GROUPS = [
    "alt.atheism",
    "comp.graphics",
    "comp.os.ms-windows.misc",
    "comp.sys.ibm.pc.hardware",
    "comp.sys.mac.hardware",
    "comp.windows.x",
    "misc.forsale",
    "rec.autos",
    "rec.motorcycles",
    "rec.sport.baseball",
    "rec.sport.hockey",
    "sci.crypt",
    "sci.electronics",
    "sci.med",
    "sci.space",
    "soc.religion.christian",
    "talk.politics.guns",
    "talk.politics.mideast",
    "talk.politics.misc",
    "talk.religion.misc",
]

MESSAGE = b"""From: jdoe@cs.example.edu (John Doe)
Subject: Re: Engines
Organization: Example University
Lines: 12

In article <1993Apr5.1234@host.example.com> smith@host.example.com (Ann Smith)
writes:
> Rotary engines are unreliable, said my uncle.
|> Pistons forever.
Ann Smith wrote:
The rotary engine doesn't leak; it didn't fail me. Engine engine!
--\x20
John Doe, Example University, jdoe@cs.example.edu
"""


def assert_canonical(matrix: sp.csr_matrix) -> None:
    assert isinstance(matrix, sp.csr_matrix)
    assert matrix.dtype == np.int64
    assert matrix.has_sorted_indices
    assert matrix.has_canonical_format
    assert np.all(matrix.data > 0)  # no explicit zeros, no negative counts


# -- text preprocessing ----------------------------------------------------------------
def test_tokenize_drops_header_quotes_and_signature() -> None:
    assert tokenize(MESSAGE) == [
        "the", "rotary", "engine", "doesnt", "leak", "it", "didnt", "fail", "me",
        "engine", "engine",
    ]  # fmt: skip


def test_tokenize_options_switch_steps_off() -> None:
    everything = tokenize(MESSAGE, TextOptions(False, False, False))
    for word in ("jdoe", "organization", "rotary", "uncle", "pistons", "ann", "wrote", "lines"):
        assert word in everything
    assert everything[:4] == ["from", "jdoe", "cs", "example"]
    assert everything[-4:] == ["jdoe", "cs", "example", "edu"]
    no_sig = tokenize(MESSAGE, TextOptions(strip_headers=True, strip_quotes=True,
                                           strip_signatures=False))  # fmt: skip
    assert no_sig[-8:] == ["john", "doe", "example", "university", "jdoe", "cs", "example", "edu"]
    cased = tokenize(b"Subject: x\n\nNASA's Shuttle", TextOptions(lowercase=False))
    assert cased == ["NASAs", "Shuttle"]


def test_header_is_everything_up_to_the_first_empty_line() -> None:
    assert tokenize(b"Subject: a\n \nHeader continuation\n\nbody text") == ["body", "text"]
    assert tokenize(b"no blank line here, all header") == []
    assert tokenize(b"Subject: a\r\n\r\nwindows line ends\r\n") == ["windows", "line", "ends"]


def test_signature_separator_must_be_exact() -> None:
    body = b"H: x\n\nkeep\n--- not a separator\n -- nor this\nstill kept\n--\ndropped\n"
    assert tokenize(body) == ["keep", "not", "a", "separator", "nor", "this", "still", "kept"]
    assert tokenize(b"H: x\n\nkeep\n-- \ndropped\n-- \nalso dropped") == ["keep"]


def test_quote_rules() -> None:
    body = (
        b"H: x\n\n"
        b">quoted\n"
        b"|also quoted\n"
        b"In article <abc@def> someone says\n"
        b"  (Some One) writes:\n"
        b"Bob wrote:  \n"
        b"a > b and a | b stay\n"
        b" > indented quote stays\n"
        b"he rewrites: this stays\n"
    )
    assert tokenize(body) == [
        "a", "b", "and", "a", "b", "stay", "indented", "quote", "stays",
        "he", "rewrites", "this", "stays",
    ]  # fmt: skip


def test_letters_only_apostrophes_and_latin1() -> None:
    text = "H: x\n\nIt's mp3, X11 e-mail foo_bar caf\xe9 \u2019n rock\x92n\u2019roll\n"
    assert tokenize(text.encode("latin-1", errors="ignore")) == [
        "its", "mp", "x", "e", "mail", "foo", "bar", "caf", "n", "rocknroll",
    ]  # fmt: skip
    # bytes 0x80-0xff never fail to decode (latin-1)
    assert tokenize(b"H: x\n\nna\xefve \xff\xfe") == ["na", "ve"]


def test_english_stop_words_list() -> None:
    words = english_stop_words()
    assert len(words) == 318
    assert {"the", "and", "doesn", "a"} & words == {"the", "and", "a"}
    assert "doesnt" not in words and "didnt" not in words
    assert all(re.fullmatch(r"[a-z]+", w) for w in words)


# -- load_directory --------------------------------------------------------------------
def write(path: Path, data: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode("latin-1"))


def test_load_directory_known_counts(tmp_path: Path) -> None:
    write(tmp_path / "sports" / "2", "The goal, the GOAL! A team's goal.")
    write(tmp_path / "sports" / "10", "Team team team; the referee.")
    write(tmp_path / "cooking" / "soup.txt", "Soup: onion, onion and salt. Isn't it?")
    write(tmp_path / "cooking" / "sub" / "empty.txt", "the and of 42 !!")
    write(tmp_path / "loose.txt", "Salt and goal")
    write(tmp_path / ".hidden", "ignored words")
    write(tmp_path / ".git" / "x", "ignored words")

    corpus = load_directory(tmp_path)
    assert isinstance(corpus, Corpus)
    assert corpus.label_names == ["cooking", "sports"]
    assert corpus.doc_ids == [
        "loose.txt", "cooking/soup.txt", "cooking/sub/empty.txt", "sports/2", "sports/10",
    ]  # fmt: skip
    assert corpus.labels.tolist() == [-1, 0, 0, 1, 1]
    assert corpus.split.tolist() == [""] * 5
    assert corpus.vocabulary == "goal isnt onion referee salt soup team teams".split()
    expected = np.array(
        [
            # goal isnt onion referee salt soup team teams
            [1, 0, 0, 0, 1, 0, 0, 0],  # loose.txt
            [0, 1, 2, 0, 1, 1, 0, 0],  # cooking/soup.txt
            [0, 0, 0, 0, 0, 0, 0, 0],  # cooking/sub/empty.txt: all stop words -> zero row
            [3, 0, 0, 0, 0, 0, 0, 1],  # sports/2
            [0, 0, 0, 1, 0, 0, 3, 0],  # sports/10
        ]
    )
    np.testing.assert_array_equal(corpus.counts.toarray(), expected)
    assert_canonical(corpus.counts)
    assert corpus.n_documents == 5 and corpus.n_words == 8 and corpus.n_tokens == 15
    assert corpus.document_lengths.tolist() == [2, 5, 0, 4, 4]
    assert corpus.document_frequency.tolist() == [2, 1, 1, 1, 2, 1, 1, 1]
    assert repr(corpus) == "Corpus(5 documents, 8 words, 10 nonzeros, 15 tokens, 2 labels)"


def test_load_directory_filters(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", "the cat and the dog x")
    write(tmp_path / "b.txt", "the cat sat")
    write(tmp_path / "c.txt", "a cat")

    plain = load_directory(tmp_path, stop_words=None, min_word_length=1)
    assert plain.vocabulary == ["a", "and", "cat", "dog", "sat", "the", "x"]
    assert plain.counts.toarray()[:, 5].tolist() == [2, 1, 0]
    assert plain.label_names == [] and plain.labels.tolist() == [-1, -1, -1]

    assert load_directory(tmp_path).vocabulary == ["cat", "dog", "sat"]
    # a custom list replaces the English one; matching ignores case
    assert load_directory(tmp_path, stop_words=["CAT"]).vocabulary == ["and", "dog", "sat", "the"]
    assert load_directory(tmp_path, min_df=2).vocabulary == ["cat"]
    assert load_directory(tmp_path, stop_words=None, max_df=2).vocabulary == [
        "and", "dog", "sat", "the",
    ]  # fmt: skip
    assert load_directory(tmp_path, stop_words=None, max_df=0.5).vocabulary == [
        "and", "dog", "sat",
    ]  # fmt: skip
    assert load_directory(tmp_path, stop_words=None, max_features=2).vocabulary == ["cat", "the"]
    fixed = load_directory(tmp_path, vocabulary=["the", "zebra", "cat"])
    assert fixed.vocabulary == ["the", "zebra", "cat"]
    np.testing.assert_array_equal(fixed.counts.toarray(), [[2, 0, 1], [1, 0, 1], [0, 0, 1]])
    assert_canonical(fixed.counts)
    with pytest.raises(ValueError, match="min_df"):
        load_directory(tmp_path, min_df=1.5)
    with pytest.raises(ValueError, match="fewer documents than min_df"):
        load_directory(tmp_path, min_df=3, max_df=2)


def test_load_directory_news_options(tmp_path: Path) -> None:
    write(tmp_path / "autos" / "1", MESSAGE)
    kept = load_directory(tmp_path)  # defaults: plain text, nothing stripped
    assert {"jdoe", "uncle", "pistons", "organization"} <= set(kept.vocabulary)
    news = load_directory(tmp_path, strip_headers=True, strip_quotes=True, strip_signatures=True)
    assert news.vocabulary == ["didnt", "doesnt", "engine", "fail", "leak", "rotary"]
    assert news.counts.toarray().tolist() == [[1, 1, 3, 1, 1, 1]]


def test_load_directory_decoding_error_names_file_and_line(tmp_path: Path) -> None:
    write(tmp_path / "ok.txt", "caf\xe9")  # latin-1 byte 0xe9
    write(tmp_path / "bad.txt", b"line one\nline two \xff\n")
    assert load_directory(tmp_path).vocabulary == ["caf", "line"]  # "one", "two": stop words
    with pytest.raises(CorpusError) as err:
        load_directory(tmp_path, encoding="utf-8")
    assert str(err.value) == (
        f"{tmp_path / 'bad.txt'}:2: cannot decode as utf-8: invalid start byte"
    )
    assert isinstance(err.value, ValueError)
    with pytest.raises(CorpusError, match=re.escape(f"{tmp_path / 'missing'}: no such directory")):
        load_directory(tmp_path / "missing")


def test_missing_empty_and_unreadable_corpora_raise_corpus_error(tmp_path: Path) -> None:
    """Every loader names the path, with CorpusError (exit 2 on the command line)."""
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CorpusError, match=re.escape(f"{empty}: no documents")):
        load_directory(empty)
    blank = tmp_path / "blank"
    write(blank / "a.txt", "  1234 !!\n")
    write(blank / "b.txt", "")
    with pytest.raises(CorpusError, match=re.escape(f"{blank}: no readable documents")):
        load_directory(blank)
    write(tmp_path / "plain.txt", "words")
    with pytest.raises(CorpusError, match="not a directory"):
        load_directory(tmp_path / "plain.txt")
    with pytest.raises(CorpusError, match=re.escape(f"{tmp_path / 'none.tar.xz'}: 20 Newsgroups "
                                                    "archive not found")):
        load_20newsgroups(archive=tmp_path / "none.tar.xz")
    with pytest.raises(CorpusError, match=re.escape(f"{tmp_path / 'vocab.txt'}: no such file")):
        load_uci(tmp_path / "no.txt", tmp_path / "vocab.txt")


# -- encoded binary content (uuencode, base64, non-word runs) ---------------------------
UUENCODED = (
    "Here is the picture\n"
    "begin 644 pic.gif\n"
    "M1V7&.#EA0`!``(``(````/___RP`````0`!```(#A(\\!0H`(;6%X/B=A>#XG\n"
    "M83X_:7)Q=VAE>F5N9&ES;&%N9&%X<&QE:61I8W@N8V]M\n"
    "`\n"
    "end\n"
    "hope it helps\n"
)


def test_encoded_content_is_dropped() -> None:
    assert tokenize(UUENCODED, TextOptions(strip_headers=False)) == \
        ["here", "is", "the", "picture", "hope", "it", "helps"]
    base64 = "see attachment\n" + "TWFueSBoYW5kcyBtYWtlIGxpZ2h0IHdvcmsuIE1hbnk=\n" * 3 + "bye\n"
    assert tokenize(base64, TextOptions(strip_headers=False)) == ["see", "attachment", "bye"]
    junk = "real words here\nmax>'ax>'ax>'ax>'ax>'ax>'\n"
    assert tokenize(junk, TextOptions(strip_headers=False)) == ["real", "words", "here"]
    # a begin line without its end: the rest of the message is the block
    assert tokenize("text\nbegin 600 x.zip\nM123\nmore", TextOptions(strip_headers=False)) \
        == ["text"]
    # ordinary prose, short runs and a line of a few long words are kept
    prose = "internationalization is long but fine\n(see page 12-14)\n"
    assert tokenize(prose, TextOptions(strip_headers=False)) == \
        ["internationalization", "is", "long", "but", "fine", "see", "page"]
    off = TextOptions(strip_headers=False, strip_encoded=False)
    assert "ax" in tokenize(junk, off)


def test_preprocessing_steps_are_a_documented_list() -> None:
    """The module docstring lists every step, and each option is one of them."""
    from symderive.corpus import text

    doc = text.__doc__
    for option in ("strip_headers", "strip_signatures", "strip_quotes", "strip_encoded",
                   "lowercase"):
        assert f"``{option}``" in doc, option
        assert hasattr(TextOptions(), option)
    assert [int(n) for n in re.findall(r"^(\d)\. ", doc, re.MULTILINE)] == list(range(1, 10))


def test_vectorize_and_align_use_the_training_vocabulary(tmp_path: Path) -> None:
    write(tmp_path / "a" / "1.txt", "apple banana apple")
    write(tmp_path / "b" / "2.txt", "engine motor")
    corpus = load_directory(tmp_path)
    X = corpus.vectorize(["apple apple kiwi", "the motor motor engine"])
    assert corpus.vocabulary == ["apple", "banana", "engine", "motor"]
    assert X.toarray().tolist() == [[2, 0, 0, 0], [0, 0, 1, 2]]  # kiwi unseen, "the" a stop word
    news = vectorize(["From: a@b\nSubject: motor\n\napple engine", "apple engine motor"],
                     corpus.vocabulary, TextOptions())  # a header only where there is one
    assert news.toarray().tolist() == [[1, 0, 1, 0], [1, 0, 1, 1]]
    write(tmp_path / "other" / "c" / "3.txt", "kiwi kiwi apple lemon")
    other = load_directory(tmp_path / "other")
    aligned, dropped_tokens, dropped_words = align(other, corpus.vocabulary)
    assert aligned.vocabulary == corpus.vocabulary
    assert aligned.counts.toarray().tolist() == [[1, 0, 0, 0]]
    assert (dropped_tokens, dropped_words) == (3, 2)


# -- 20 Newsgroups archive handling on a tiny archive ---------------------------------
def tiny_archive(path: Path) -> Path:
    members = {
        "20news-bydate-train/sci.space/10": b"Subject: a\n\nOrbit orbit rocket\n",
        "20news-bydate-train/sci.space/9": b"Subject: b\n\nRocket launch\n> quoted moon\n",
        "20news-bydate-train/alt.atheism/7": b"Subject: c\n\nGods and orbit\n-- \nsig rocket\n",
        "20news-bydate-test/sci.space/3": b"Subject: d\n\nMoon rocket\n",
        "20news-bydate-test/alt.atheism/4": b"Subject: e\n\nthe and\n",
        "README": b"not a message",
    }
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_archive_loader_on_tiny_archive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYMDERIVE_CACHE", str(tmp_path / "cache"))
    archive = tiny_archive(tmp_path / "tiny.tar.gz")
    calls: list[tuple[int, int]] = []
    record = lambda done, total: calls.append((done, total))  # noqa: E731
    corpus = load_20newsgroups(archive=archive, min_df=1, progress=record)
    assert calls == [(5, 5)]
    assert corpus.label_names == ["alt.atheism", "sci.space"]
    assert corpus.doc_ids == [
        "20news-bydate-train/alt.atheism/7",
        "20news-bydate-train/sci.space/9",
        "20news-bydate-train/sci.space/10",
        "20news-bydate-test/alt.atheism/4",
        "20news-bydate-test/sci.space/3",
    ]
    assert corpus.labels.tolist() == [0, 1, 1, 0, 1]
    assert corpus.split.tolist() == ["train", "train", "train", "test", "test"]
    assert corpus.vocabulary == ["gods", "launch", "moon", "orbit", "rocket"]
    np.testing.assert_array_equal(
        corpus.counts.toarray(),
        [[1, 0, 0, 1, 0], [0, 1, 0, 0, 1], [0, 0, 0, 2, 1], [0, 0, 0, 0, 0], [0, 0, 1, 0, 1]],
    )
    assert repr(corpus) == (
        "Corpus(5 documents, 5 words, 8 nonzeros, 9 tokens, 2 labels, split test=2, train=3)"
    )

    cached = list((tmp_path / "cache" / "corpus").iterdir())
    assert len(cached) == 1 and cached[0].suffix == ".npz"  # no temporary file left behind

    # second load: from the cache (no progress), same result; subsets and min_df reuse it
    calls.clear()
    again = load_20newsgroups(archive=archive, min_df=1, progress=record)
    assert calls == []
    assert (again.counts != corpus.counts).nnz == 0 and again.vocabulary == corpus.vocabulary
    train = load_20newsgroups("train", archive=archive, min_df=2, progress=calls.append)
    assert calls == []
    assert train.vocabulary == ["orbit", "rocket"]  # df computed on the train part only
    assert train.counts.toarray().tolist() == [[1, 0], [0, 1], [2, 1]]
    test = load_20newsgroups("test", archive=archive, vocabulary=train.vocabulary)
    assert test.vocabulary == ["orbit", "rocket"]
    assert test.counts.toarray().tolist() == [[0, 0], [0, 1]]

    # other text options get their own cache entry
    load_20newsgroups(archive=archive, strip_quotes=False, min_df=1)
    assert len(list((tmp_path / "cache" / "corpus").iterdir())) == 2

    with pytest.raises(ValueError, match="subset"):
        load_20newsgroups("validation", archive=archive)


def test_archive_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty.tar.gz"
    with tarfile.open(empty, "w:gz"):
        pass
    with pytest.raises(CorpusError, match=re.escape(f"{empty}: no messages found")):
        load_20newsgroups(archive=empty, cache=False)
    junk = tmp_path / "junk.tar.xz"
    junk.write_bytes(b"not a tar file")
    with pytest.raises(CorpusError, match=re.escape(f"{junk}: cannot read the archive")):
        load_20newsgroups(archive=junk, cache=False)


def test_unwritable_or_broken_cache_is_ignored(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path / "tiny.tar.gz")
    blocker = tmp_path / "a-file"
    blocker.write_text("a file where the cache folder should be")
    corpus = load_20newsgroups(archive=archive, min_df=1, cache=blocker)
    assert corpus.n_documents == 5 and blocker.read_text().startswith("a file")

    folder = tmp_path / "cache"
    load_20newsgroups(archive=archive, min_df=1, cache=folder)
    (entry,) = (folder / "corpus").iterdir()
    entry.write_bytes(entry.read_bytes()[:100])  # truncated: must be recomputed, not crash
    calls: list[tuple[int, int]] = []
    again = load_20newsgroups(
        archive=archive, min_df=1, cache=folder, progress=lambda *a: calls.append(a)
    )
    assert calls == [(5, 5)]
    assert (again.counts != corpus.counts).nnz == 0
    assert [p.name for p in (folder / "corpus").iterdir()] == [entry.name]


def test_bundle_round_trip_and_stale_key(tmp_path: Path) -> None:
    counts = sp.csr_matrix(np.array([[0, 2], [1, 0]], dtype=np.int64))
    path = tmp_path / "sub" / "b.npz"
    save_bundle(path, "k1", counts, strings={"w": ["x", "y"], "e": []}, arrays={"a": np.arange(2)})
    loaded = load_bundle(path, "k1")
    assert loaded is not None
    matrix, strings, arrays = loaded
    assert (matrix != counts).nnz == 0 and matrix.dtype == np.int64
    assert strings == {"w": ["x", "y"], "e": []} and arrays["a"].tolist() == [0, 1]
    assert load_bundle(path, "k2") is None
    assert load_bundle(tmp_path / "missing.npz", "k1") is None
    assert sorted(p.name for p in path.parent.iterdir()) == ["b.npz"]


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SYMDERIVE_CACHE", str(tmp_path / "mine"))
    assert default_cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("SYMDERIVE_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "symderive"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "symderive"


# -- the bundled 20 Newsgroups corpus -------------------------------------------------
def test_bundled_archive_is_intact() -> None:
    assert ARCHIVE_PATH.name == "20news-bydate.tar.xz"
    assert "symderive" in ARCHIVE_PATH.parts and "shared" not in ARCHIVE_PATH.parts
    digest = hashlib.sha256(ARCHIVE_PATH.read_bytes()).hexdigest()
    assert digest == "1727296533d699971ce92e09969eedec793cad9718198a96faca578a63c53aaa"
    assert digest in (ARCHIVE_PATH.parent / "README.md").read_text()


@pytest.fixture(scope="module")
def news_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("symderive-cache")


@pytest.fixture(scope="module")
def news(news_cache: Path) -> Corpus:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SYMDERIVE_CACHE", str(news_cache))
        return load_20newsgroups()


def test_bundled_corpus_shape_and_labels(news: Corpus) -> None:
    assert news.n_documents == 18846
    assert news.counts.shape == (18846, news.n_words) == (18846, len(news.vocabulary))
    assert_canonical(news.counts)
    assert news.label_names == NEWS_GROUPS
    assert news.labels.dtype.kind == "i" and news.labels.min() == 0 and news.labels.max() == 19
    assert int(np.sum(news.split == "train")) == 11314
    assert int(np.sum(news.split == "test")) == 7532
    assert news.split[:11314].tolist() == ["train"] * 11314  # train first
    per_group = {
        split: np.bincount(news.labels[news.split == split], minlength=20)
        for split in ("train", "test")
    }
    assert (per_group["train"][0], per_group["test"][0]) == (480, 319)  # alt.atheism
    assert (per_group["train"][19], per_group["test"][19]) == (377, 251)  # talk.religion.misc
    assert (per_group["train"][10], per_group["test"][10]) == (600, 399)  # rec.sport.hockey
    assert news.doc_ids[0] == "20news-bydate-train/alt.atheism/49960"
    assert len(set(news.doc_ids)) == 18846


def test_bundled_corpus_has_no_encoded_debris(news: Corpus) -> None:
    """The words of the old junk topics ("ax, max, pl, ei, di", "cx, hz, ww, qs, uw")
    came from uuencoded and base64 posts; with those dropped they are gone or rare
    (before: ax 62,363 occurrences, max 4,781, giz 445, bhj 483, ei 780, chz 270)."""
    totals = dict(zip(news.vocabulary, news.word_totals.tolist(), strict=True))
    for word in ("giz", "bhj", "ei", "chz"):
        assert word not in totals, word
    assert totals["ax"] < 100 and totals["max"] < 500 and totals["qs"] < 50


def test_bundled_corpus_vocabulary_and_statistics(news: Corpus) -> None:
    words = news.vocabulary
    assert words == sorted(words) and len(set(words)) == len(words)
    assert 15000 < news.n_words < 40000
    assert all(re.fullmatch(r"[a-z]{2,}", w) for w in words)
    assert not set(words) & english_stop_words()
    for word in ("doesnt", "didnt", "god", "space", "windows", "hockey", "israel"):
        assert word in words
    df = news.document_frequency
    assert df.min() >= 5  # min_df=5
    lengths = news.document_lengths
    totals = news.word_totals
    assert lengths.sum() == totals.sum() == news.n_tokens > 1_000_000
    assert np.all(lengths >= 0) and np.all(totals > 0)
    # the statistics an EM run starts from are finite
    with np.errstate(divide="ignore", invalid="ignore"):
        frequencies = totals / totals.sum()
        mean_length = lengths.mean()
    assert np.all(np.isfinite(frequencies)) and np.isfinite(mean_length)
    assert not np.isnan(news.counts.data).any()
    assert 0 < int(np.sum(lengths == 0)) < 200  # emptied documents are kept as zero rows


def test_bundled_corpus_cache_and_subsets(news: Corpus, news_cache: Path) -> None:
    entries = list((news_cache / "corpus").glob("*"))
    assert [e.suffix for e in entries] == [".npz"]
    calls: list[object] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SYMDERIVE_CACHE", str(news_cache))
        again = load_20newsgroups(progress=lambda *a: calls.append(a))
        train = load_20newsgroups("train")
        test = load_20newsgroups("test", vocabulary=train.vocabulary)
    assert calls == []  # served from the cache
    assert again.vocabulary == news.vocabulary and (again.counts != news.counts).nnz == 0
    assert train.n_documents == 11314 and set(train.split.tolist()) == {"train"}
    assert test.n_documents == 7532 and test.vocabulary == train.vocabulary
    np.testing.assert_array_equal(np.bincount(train.labels, minlength=20)[[0, 19]], [480, 377])
    np.testing.assert_array_equal(np.bincount(test.labels, minlength=20)[[0, 19]], [319, 251])
    # selecting rows keeps the columns
    part = news.select(news.split == "test")
    assert part.n_documents == 7532 and part.vocabulary == news.vocabulary
    assert part.doc_ids[0].startswith("20news-bydate-test/alt.atheism/")
