"""English stop words, read from the list shipped in ``symderive/data``.

The list is scikit-learn's ``ENGLISH_STOP_WORDS`` (BSD-3-Clause) written out as a text
file, so results match what a scikit-learn ``CountVectorizer(stop_words="english")``
would drop, without depending on scikit-learn.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

__all__ = ["DATA_DIR", "english_stop_words", "resolve_stop_words"]

#: Folder of the data files that ship inside the package.
DATA_DIR = Path(__file__).resolve().parent.parent / "data"

_ENGLISH_FILE = DATA_DIR / "english_stop_words.txt"


@lru_cache(maxsize=1)
def english_stop_words() -> frozenset[str]:
    """The 318 English stop words (lower case)."""
    lines = _ENGLISH_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip() for w in lines if w.strip() and not w.startswith("#"))


def resolve_stop_words(stop_words: str | Iterable[str] | None) -> frozenset[str]:
    """Turn the ``stop_words`` option into a set of lower-case words.

    ``"english"`` means :func:`english_stop_words`; ``None`` means no stop words; any
    other iterable of strings is used as given (lower-cased, since matching ignores case).
    """
    if stop_words is None:
        return frozenset()
    if isinstance(stop_words, str):
        if stop_words == "english":
            return english_stop_words()
        raise ValueError(
            f"stop_words={stop_words!r}: expected 'english', None or a collection of words"
        )
    words = list(stop_words)
    for word in words:
        if not isinstance(word, str):
            raise TypeError(f"stop words must be strings, got {word!r}")
    return frozenset(w.lower() for w in words)
