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

    def load(self) -> Corpus:
        """Load it; bad files raise ``CorpusError`` (``path:LINE: message``)."""
        from ..corpus import load_20newsgroups, load_directory, load_libsvm, load_uci

        if self.kind == "20news":
            return load_20newsgroups(self.subset)
        if self.kind == "dir":
            return load_directory(self.paths[0])
        for p in self.paths:
            if not os.path.isfile(p):
                raise FileNotFoundError(f"no such file: {p}")
        if self.kind == "libsvm":
            return load_libsvm(*self.paths)
        return load_uci(*self.paths)


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
