"""The 20 Newsgroups corpus ("bydate" version), shipped inside the package.

The raw archive ``symderive/data/20news-bydate.tar.xz`` (see ``symderive/data/README.md``
for provenance and checksums) is read directly, so this works offline. Tokenising all
18,846 messages takes a few seconds; the resulting counts are cached on disk
(:mod:`symderive.corpus.cache`) and later loads only select rows and columns.
"""

from __future__ import annotations

import os
import re
import sys
import tarfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path, PurePosixPath

import numpy as np

from .bag import Corpus, CorpusError
from .cache import cache_key, default_cache_dir, file_sha256, load_bundle, save_bundle
from .stopwords import DATA_DIR
from .text import TextOptions, tokenize
from .vocab import count_tokens, select_vocabulary

__all__ = ["ARCHIVE_PATH", "load_20newsgroups"]

#: The bundled archive.
ARCHIVE_PATH = DATA_DIR / "20news-bydate.tar.xz"

_SPLITS = ("train", "test")
_SPLIT_DIR = re.compile(r"^20news-bydate-(train|test)$")


def _natural_key(name: str) -> tuple[int, int, str]:
    """Message files are numbers: sort them numerically, anything else after them."""
    return (0, int(name), "") if name.isdigit() else (1, 0, name)


def _read_archive(archive: Path) -> list[tuple[str, str, str, bytes]]:
    """(split, newsgroup, member path, bytes) per message, train first, then test."""
    messages = []
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                parts = PurePosixPath(member.name).parts
                if len(parts) < 3:
                    continue
                match = _SPLIT_DIR.match(parts[-3])
                if match is None:
                    continue
                handle = tar.extractfile(member)
                if handle is None:
                    continue
                messages.append((match.group(1), parts[-2], "/".join(parts[-3:]), handle.read()))
    except (tarfile.TarError, EOFError, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise CorpusError(f"cannot read the archive: {exc}", archive) from exc
    if not messages:
        raise CorpusError(
            "no messages found (expected members 20news-bydate-{train,test}/<group>/<id>)",
            archive,
        )
    messages.sort(key=lambda m: (_SPLITS.index(m[0]), m[1], _natural_key(m[2].rsplit("/")[-1])))
    return messages


def _tokenised_archive(
    archive: Path,
    options: TextOptions,
    cache: bool | str | os.PathLike[str],
    log: Callable[[str], None],
    progress: Callable[[int, int], None] | None,
):
    """Counts over every word of every message, from the cache when possible."""
    key = cache_key({"archive_sha256": file_sha256(archive), "text": options.as_dict()})
    cache_path = None
    if cache:
        folder = default_cache_dir() if cache is True else Path(cache)
        if folder is not None:
            cache_path = folder / "corpus" / f"20news-bydate-{key[:20]}.npz"
            start = time.perf_counter()
            bundle = load_bundle(cache_path, key)
            if bundle is not None:
                seconds = time.perf_counter() - start
                log(f"loaded cached counts from {cache_path} in {seconds:.2f} s")
                counts, strings, arrays = bundle
                return (
                    counts,
                    strings["vocabulary"],
                    arrays["labels"].astype(np.int64),
                    strings["label_names"],
                    arrays["split"].astype(str),
                    strings["doc_ids"],
                )

    start = time.perf_counter()
    messages = _read_archive(archive)
    log(f"read {len(messages)} messages from {archive} in {time.perf_counter() - start:.2f} s")
    total = len(messages)
    label_names = sorted({group for _, group, _, _ in messages})
    label_index = {name: i for i, name in enumerate(label_names)}

    def report(done: int) -> None:
        if progress is not None and (done % 500 == 0 or done == total):
            progress(done, total)

    start = time.perf_counter()
    counts, vocabulary = count_tokens(
        (tokenize(raw, options) for _, _, _, raw in messages), progress=report
    )
    log(
        f"tokenised {total} messages ({counts.shape[1]} distinct words, {counts.nnz} nonzeros)"
        f" in {time.perf_counter() - start:.2f} s"
    )
    labels = np.array([label_index[group] for _, group, _, _ in messages], dtype=np.int64)
    split = np.array([s for s, _, _, _ in messages], dtype="<U5")
    doc_ids = [path for _, _, path, _ in messages]

    if cache_path is not None:
        try:
            save_bundle(
                cache_path,
                key,
                counts,
                strings={"vocabulary": vocabulary, "label_names": label_names, "doc_ids": doc_ids},
                arrays={"labels": labels.astype(np.int16), "split": split},
            )
            log(f"cached counts in {cache_path}")
        except OSError as exc:
            log(f"not caching ({exc})")
    return counts, vocabulary, labels, label_names, split, doc_ids


def load_20newsgroups(
    subset: str = "all",
    *,
    strip_headers: bool = True,
    strip_quotes: bool = True,
    strip_signatures: bool = True,
    strip_encoded: bool = True,
    lowercase: bool = True,
    stop_words: str | Iterable[str] | None = "english",
    min_word_length: int = 2,
    min_df: int | float = 5,
    max_df: int | float = 1.0,
    max_features: int | None = None,
    vocabulary: Sequence[str] | None = None,
    cache: bool | str | os.PathLike[str] = True,
    archive: str | os.PathLike[str] | None = None,
    verbose: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Corpus:
    """The 20 Newsgroups messages as a bag-of-words :class:`Corpus` (offline).

    Parameters (defaults in brackets)
    ----------
    subset ["all"]:
        ``"train"`` (11,314 messages), ``"test"`` (7,532) or ``"all"`` (18,846; train
        first). Labels are the newsgroup's index in alphabetical order, as in
        scikit-learn (0 = alt.atheism ... 19 = talk.religion.misc).
    strip_headers [True]:
        Drop the message header (everything up to the first empty line), so that
        addresses and host names do not become topics.
    strip_quotes [True]:
        Drop quoted lines (starting with ``>`` or ``|``) and ``In article <...> ...
        writes:`` attributions, so a reply is not counted with the text it answers.
    strip_signatures [True]:
        Drop everything from a line that is exactly ``--`` or ``-- `` onwards.
    strip_encoded [True]:
        Drop encoded binary content (uuencode blocks, base64 attachments, long runs
        without spaces), which would otherwise become junk topics ("ax", "max", "qs").
    lowercase [True]:
        Lower-case before tokenising. Tokens are maximal runs of ``[a-z]+`` (letters
        only, after removing apostrophes so "doesn't" gives "doesnt"; bytes are decoded
        as latin-1).
    stop_words ["english"]:
        ``"english"`` (scikit-learn's 318-word list, shipped in ``symderive/data``),
        ``None``, or your own collection of words. Matching ignores case.
    min_word_length [2]:
        Drop words with fewer letters (single letters are mostly noise).
    min_df [5], max_df [1.0]:
        Keep words found in at least ``min_df`` and at most ``max_df`` documents of the
        chosen subset; an int is a number of documents, a float a fraction of them.
    max_features [None]:
        If set, keep only the this many most frequent of the remaining words.
    vocabulary [None]:
        Use exactly these words as columns, in this order, and skip the word filters
        (for example ``vocabulary=train.vocabulary`` to load the test set with the
        training columns).
    cache [True]:
        Cache the tokenised corpus in ``$SYMDERIVE_CACHE``, ``$XDG_CACHE_HOME/symderive``
        or ``~/.cache/symderive``; a path picks another folder, ``False`` disables it.
        The key covers the archive's sha256 and the text options, so the min_df /
        stop-word / subset options reuse one entry. An unwritable folder is ignored.
    archive [None]:
        Another copy of the archive (e.g. the original ``20news-bydate.tar.gz``); by
        default the one bundled with symderive.
    verbose [False]:
        Print what is done and how long it takes to stderr.
    progress [None]:
        Called as ``progress(done, total)`` while messages are tokenised (not called
        when the cache is used).

    Documents whose words are all removed are kept as rows of zeros so labels stay
    aligned. ``counts`` is int64; ``doc_ids`` are the archive paths, e.g.
    ``"20news-bydate-train/alt.atheism/49960"``.
    """
    if subset not in ("all", "train", "test"):
        raise ValueError(f"subset={subset!r}: expected 'all', 'train' or 'test'")
    archive_path = Path(archive) if archive is not None else ARCHIVE_PATH
    if not archive_path.is_file():
        raise CorpusError("20 Newsgroups archive not found", archive_path)

    def log(message: str) -> None:
        if verbose:
            print(f"[symderive.corpus] {message}", file=sys.stderr, flush=True)

    options = TextOptions(
        strip_headers=bool(strip_headers),
        strip_quotes=bool(strip_quotes),
        strip_signatures=bool(strip_signatures),
        strip_encoded=bool(strip_encoded),
        lowercase=bool(lowercase),
    )
    counts, words, labels, label_names, split, doc_ids = _tokenised_archive(
        archive_path, options, cache, log, progress
    )
    if subset != "all":
        rows = np.flatnonzero(split == subset)
        counts = counts[rows]
        labels = labels[rows]
        split = split[rows]
        doc_ids = [doc_ids[i] for i in rows]
    start = time.perf_counter()
    counts, kept = select_vocabulary(
        counts,
        words,
        stop_words=stop_words,
        min_word_length=min_word_length,
        min_df=min_df,
        max_df=max_df,
        max_features=max_features,
        vocabulary=vocabulary,
    )
    corpus = Corpus(
        counts=counts,
        vocabulary=kept,
        labels=labels,
        label_names=label_names,
        split=split,
        doc_ids=doc_ids,
        text_options=options,
    )
    log(f"selected the vocabulary in {time.perf_counter() - start:.2f} s: {corpus!r}")
    return corpus
