"""Bag-of-words corpora for the mixture-of-multinomials (EM) problems.

Everything returns one type, :class:`Corpus` (a documents x words int64 CSR matrix
plus vocabulary, labels and train/test split), from:

- :func:`load_20newsgroups`: the 20 Newsgroups "bydate" corpus shipped inside the
  package (works offline; tokenised once, then cached on disk);
- :func:`load_directory`: a folder of text files, optionally one subfolder per label;
- :func:`load_libsvm`: ``docid<TAB>wordid:count ...`` files (0-based word ids);
- :func:`load_uci`: the UCI bag-of-words ``docword.txt`` + ``vocab.txt`` (1-based ids);
- :func:`from_sparse`: any scipy sparse matrix or dense array with a word list.

Bad input raises :class:`CorpusError` (a ``ValueError``) with a ``path:LINE: message``.
"""

from .bag import Corpus, CorpusError
from .cache import default_cache_dir
from .directory import load_directory
from .formats import from_sparse, load_libsvm, load_uci, read_vocabulary
from .newsgroups import ARCHIVE_PATH, load_20newsgroups
from .stopwords import english_stop_words
from .text import TextOptions, tokenize

__all__ = [
    "ARCHIVE_PATH",
    "Corpus",
    "CorpusError",
    "TextOptions",
    "default_cache_dir",
    "english_stop_words",
    "from_sparse",
    "load_20newsgroups",
    "load_directory",
    "load_libsvm",
    "load_uci",
    "read_vocabulary",
    "tokenize",
]
