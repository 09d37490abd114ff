"""Load a folder of plain-text documents, one file per document.

Layout: files directly in the folder are unlabelled documents; each subfolder is a
label (its name), and every file below it (at any depth) is a document with that
label. Labels are numbered in sorted order of the subfolder names, as scikit-learn's
``load_files`` does. Hidden files and folders (name starting with ``.``) are skipped.
The extracted ``20news-bydate-train`` folder, for instance, loads with the newsgroups
as labels.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from .bag import Corpus, CorpusError
from .text import TextOptions, tokenize
from .vocab import count_tokens, select_vocabulary

__all__ = ["load_directory"]


def _natural_key(path: Path) -> tuple[tuple[int, int, str], ...]:
    """Sort numbered files (like the 20 Newsgroups message ids) numerically."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in path.parts)


def _files_below(folder: Path, root: Path) -> list[Path]:
    found = []
    for current, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            path = Path(current) / name
            if not name.startswith(".") and path.is_file():
                found.append(path.relative_to(root))
    return sorted(found, key=_natural_key)


def load_directory(
    path: str | os.PathLike[str],
    *,
    encoding: str = "latin-1",
    strip_headers: bool = False,
    strip_quotes: bool = False,
    strip_signatures: bool = False,
    strip_encoded: bool = False,
    lowercase: bool = True,
    stop_words: str | Iterable[str] | None = "english",
    min_word_length: int = 2,
    min_df: int | float = 1,
    max_df: int | float = 1.0,
    max_features: int | None = None,
    vocabulary: Sequence[str] | None = None,
) -> Corpus:
    """Bag of words of every text file under ``path`` (layout in the module docstring).

    The options mean the same as in :func:`symderive.corpus.load_20newsgroups`, but
    the defaults suit ordinary text files: no header / quote / signature /
    encoded-content stripping (turn them on for saved e-mail or news messages) and
    ``min_df=1`` (keep every word). ``encoding`` defaults to latin-1, which never fails;
    use ``"utf-8"`` for UTF-8 files (an undecodable byte then raises :class:`CorpusError`
    naming the file and line). ``doc_ids`` are the file paths relative to ``path``, with ``/``.
    """
    root = Path(path)
    if not root.is_dir():
        raise CorpusError("not a directory" if root.exists() else "no such directory", root)
    label_names = sorted(
        entry.name for entry in root.iterdir() if entry.is_dir() and not entry.name.startswith(".")
    )
    top_level = sorted(
        (
            Path(entry.name)
            for entry in root.iterdir()
            if entry.is_file() and not entry.name.startswith(".")
        ),
        key=_natural_key,
    )
    documents: list[tuple[Path, int]] = [(p, -1) for p in top_level]
    for label, name in enumerate(label_names):
        documents.extend((p, label) for p in _files_below(root / name, root))

    if not documents:
        raise CorpusError("no documents: the folder has no files (hidden files are skipped)",
                          root)
    options = TextOptions(
        strip_headers=bool(strip_headers),
        strip_quotes=bool(strip_quotes),
        strip_signatures=bool(strip_signatures),
        strip_encoded=bool(strip_encoded),
        lowercase=bool(lowercase),
        encoding=encoding,
    )

    def tokens(relative: Path) -> list[str]:
        full = root / relative
        try:
            raw = full.read_bytes()
        except OSError as exc:
            raise CorpusError(f"cannot read: {exc.strerror or exc}", full) from None
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as exc:
            line = raw.count(b"\n", 0, exc.start) + 1
            raise CorpusError(f"cannot decode as {encoding}: {exc.reason}", full, line) from None
        return tokenize(text, options)

    counts, words = count_tokens(tokens(p) for p, _ in documents)
    if counts.nnz == 0:
        raise CorpusError(f"no readable documents: none of its {len(documents)} file(s) "
                          "has a word", root)
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
    return Corpus(
        counts=counts,
        vocabulary=kept,
        labels=np.array([label for _, label in documents], dtype=np.int64),
        label_names=label_names,
        split=np.full(len(documents), "", dtype="<U5"),
        doc_ids=[p.as_posix() for p, _ in documents],
        text_options=options,
    )
