"""Turning one raw message into a list of word tokens.

The steps follow the homework's preprocessing ("letters only, lower case, stop words
removed") plus the usual clean-up for Usenet posts, so that topics are about the
content rather than about e-mail addresses, quoted replies and signatures:

1. decode the bytes as latin-1 (never fails; the 20 Newsgroups files are 8-bit);
2. normalise line ends (CRLF and lone CR become LF);
3. ``strip_headers``: drop everything up to the first empty line (the RFC 822 header);
4. ``strip_signatures``: drop everything from the first line that is exactly ``--`` or
   ``-- `` (the signature separator) to the end;
5. ``strip_quotes``: drop lines starting with ``>`` or ``|`` (quoted text) and
   attribution lines, i.e. lines starting with ``In article`` or ending with
   ``writes:`` / ``wrote:`` (these cover the two-line form
   ``In article <id> user@host (Name)`` + ``writes:`` too);
6. ``strip_encoded``: drop encoded binary content, which survives a letters-only
   tokenizer as junk words ("ax", "max", "qs", ...): uuencode blocks (from a line
   ``begin NNN name`` to the line ``end``, or to the end of the message), and every line
   that is one long run without spaces (40 characters or more, or 20 or more with a
   character that is not a letter): base64 attachments, uuencoded lines without their
   ``begin``, and runs of non-words such as ``max>'ax>'ax>'ax``;
7. ``lowercase``;
8. remove apostrophes (``'``, U+2019 and the cp1252 byte 0x92) so "doesn't" becomes
   "doesnt" rather than "doesn" + "t";
9. tokens are the maximal runs of letters ``[a-z]+`` (``[A-Za-z]+`` if not lowercasing).

Stop words and the minimum word length are applied afterwards to the vocabulary
(see :mod:`symderive.corpus.vocab`), which gives the same counts and lets one cached
tokenisation serve every choice of those options.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

__all__ = [
    "TextOptions",
    "clean_message",
    "strip_header",
    "strip_encoded",
    "strip_quoted_lines",
    "strip_signature",
    "tokenize",
]

_SIGNATURE = re.compile(r"^-- ?$", re.MULTILINE)
_QUOTED_LINE = re.compile(
    r"^(?:[>|].*|In article\b.*|.*\b(?:writes|wrote):[ \t]*)(?:\n|\Z)", re.MULTILINE
)
_UUENCODE_BLOCK = re.compile(r"^begin [0-7]{3,4} [^\n]*\n(?:.*?^end[ \t]*$|.*\Z)",
                             re.MULTILINE | re.DOTALL)
_ENCODED_LINE = re.compile(
    r"^[ \t]*(?:\S{40,}|(?=\S*[^A-Za-z\s])\S{20,})[ \t]*(?:\n|\Z)", re.MULTILINE)
_LOWER_WORD = re.compile(r"[a-z]+")
_ANY_CASE_WORD = re.compile(r"[A-Za-z]+")
_APOSTROPHES = ("'", "\u2019", "\x92")


@dataclass(frozen=True)
class TextOptions:
    """Options of the text-to-tokens step (see the module docstring for each step)."""

    strip_headers: bool = True
    strip_quotes: bool = True
    strip_signatures: bool = True
    strip_encoded: bool = True
    lowercase: bool = True
    encoding: str = "latin-1"

    def as_dict(self) -> dict[str, object]:
        """Plain dict, used in cache keys."""
        return asdict(self)


def strip_header(text: str) -> str:
    """Everything after the first empty line; ``""`` when there is none (all header)."""
    _, sep, body = text.partition("\n\n")
    return body if sep else ""


def strip_signature(text: str) -> str:
    """Everything before the first line that is exactly ``--`` or ``-- ``."""
    match = _SIGNATURE.search(text)
    return text if match is None else text[: match.start()]


def strip_quoted_lines(text: str) -> str:
    """Drop quoted lines (``>``, ``|``) and ``In article ... writes:`` attributions."""
    return _QUOTED_LINE.sub("", text)


def strip_encoded(text: str) -> str:
    """Drop uuencode blocks and lines that are one long run without spaces (step 6)."""
    if "begin " in text:
        text = _UUENCODE_BLOCK.sub("", text)
    return _ENCODED_LINE.sub("", text)


def clean_message(text: str, options: TextOptions = TextOptions()) -> str:  # noqa: B008
    """Apply steps 2-6 (line ends, header, signature, quotes, encoded content) to one
    decoded message."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if options.strip_headers:
        text = strip_header(text)
    if options.strip_signatures:
        text = strip_signature(text)
    if options.strip_quotes:
        text = strip_quoted_lines(text)
    if options.strip_encoded:
        text = strip_encoded(text)
    return text


def tokenize(text: str | bytes, options: TextOptions = TextOptions()) -> list[str]:  # noqa: B008
    """Word tokens of one message, after all the steps in the module docstring.

    >>> tokenize(b"Subject: hi\\n\\nIt doesn't > work\\n> quoted\\n-- \\nBob")
    ['it', 'doesnt', 'work']
    """
    if isinstance(text, bytes):
        text = text.decode(options.encoding)
    text = clean_message(text, options)
    if options.lowercase:
        text = text.lower()
    for mark in _APOSTROPHES:
        if mark in text:
            text = text.replace(mark, "")
    return (_LOWER_WORD if options.lowercase else _ANY_CASE_WORD).findall(text)
