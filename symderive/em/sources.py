"""The ``--corpus`` argument of ``symderive em``: which bag of words to load.

    20news[:SUBSET]          the bundled 20 Newsgroups, SUBSET = all (default), train, test
    DIR  or  dir:DIR         a folder of text files (one subfolder per label)
    libsvm:DATA,VOCAB        'docid id:count ...' lines (0-based ids) + vocabulary file
    uci:DOCWORD,VOCAB        UCI bag-of-words docword.txt + vocab.txt (1-based ids)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..corpus import Corpus

__all__ = ["CorpusSpecError", "CorpusSource", "parse_corpus", "SYNTAX"]

SYNTAX = "\n".join("  " + line.strip() if line.strip() else ""
                   for line in __doc__.split("\n\n", 1)[1].rstrip().splitlines())


class CorpusSpecError(ValueError):
    """The --corpus text does not follow the syntax."""


@dataclass(frozen=True)
class CorpusSource:
    kind: str                 # 20news | dir | libsvm | uci
    paths: tuple[str, ...] = ()
    subset: str = "all"

    @property
    def label(self) -> str:
        if self.kind == "20news":
            return f"20 Newsgroups ({self.subset}, bundled)"
        return f"{self.kind}: " + ", ".join(self.paths)

    def load(self, *, max_df: int | float | None = None, all_words: bool = False) -> Corpus:
        """Load it; bad files raise ``CorpusError`` (``path:LINE: message``).

        ``max_df`` drops words found in more documents (an int) or a larger share of
        them (a float); ``all_words`` keeps the bundled corpus's rare words too (min_df
        1), for a corpus that is only scored with another's vocabulary."""
        from ..corpus import CorpusError, load_20newsgroups, load_directory, load_libsvm, load_uci

        if self.kind == "20news":
            corpus = load_20newsgroups(self.subset, **({"min_df": 1} if all_words else {}))
        elif self.kind == "dir":
            corpus = load_directory(self.paths[0])
        else:
            for p in self.paths:
                if not os.path.isfile(p):
                    raise CorpusError("no such file", p)
            corpus = (load_libsvm if self.kind == "libsvm" else load_uci)(*self.paths)
        return corpus if max_df is None else _limit_df(corpus, max_df)


def _limit_df(corpus: Corpus, max_df: int | float) -> Corpus:
    """The corpus without the words found in more than ``max_df`` documents."""
    from ..corpus import Corpus
    from ..corpus.vocab import select_vocabulary

    counts, words = select_vocabulary(corpus.counts, corpus.vocabulary, stop_words=None,
                                      min_word_length=1, max_df=max_df)
    return Corpus(counts=counts, vocabulary=words, labels=corpus.labels,
                  label_names=corpus.label_names, split=corpus.split, doc_ids=corpus.doc_ids,
                  text_options=corpus.text_options)


def parse_corpus(text: str) -> CorpusSource:
    """Parse the --corpus text (see the module docstring)."""
    kind, sep, rest = text.partition(":")
    if kind == "20news":
        subset = rest if sep else "all"
        if subset not in ("all", "train", "test"):
            raise CorpusSpecError(f"20news subset {subset!r}: expected all, train or test")
        return CorpusSource("20news", subset=subset)
    if kind == "dir" and sep:
        return CorpusSource("dir", (rest,))
    if kind in ("libsvm", "uci") and sep:
        parts = rest.split(",")
        if len(parts) != 2 or not all(parts):
            first = "DATA" if kind == "libsvm" else "DOCWORD"
            raise CorpusSpecError(f"{kind} needs two files: {kind}:{first},VOCAB")
        return CorpusSource(kind, (parts[0], parts[1]))
    if os.path.isdir(text):
        return CorpusSource("dir", (text,))
    raise CorpusSpecError(f"--corpus {text!r}: not a directory, and not one of "
                          "20news[:SUBSET], dir:DIR, libsvm:DATA,VOCAB, uci:DOCWORD,VOCAB")
