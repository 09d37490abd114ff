"""Run a deep computation on one large frame-stack chunk, so its cost does not depend on
the depth it was called from.

CPython 3.11 keeps its Python frames in 16 KiB chunks and frees a chunk as soon as the
frame that opened it returns.  A recursive walk that oscillates across a chunk boundary
then maps and unmaps a chunk at every call: measured here, 1.5 million mmap/munmap pairs
and 19 s of system time in one quadrature claim that otherwise takes 7 CPU s, so the claim
ran out of its CPU budget, and only when called one frame deeper (under pytest-xdist, or
after an unrelated change added a wrapper).  A verdict must not depend on that.
:func:`anchored` calls the function from a frame whose declared stack size makes CPython
open a chunk of :data:`CHUNK_BYTES` for it: every frame of the computation then fits in
that one chunk (deeper than the recursion limit allows), and it is freed once, on return.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

#: bytes of the chunk opened for an anchored computation (reserved address space: pages
#: are only touched as deep as the computation goes)
CHUNK_BYTES = 1 << 25
_SLOTS = CHUNK_BYTES // 16  # the anchor's own frame: half the chunk, the rest for callees


def _anchor(fn, args, kwargs):
    return fn(*args, **kwargs)


if sys.implementation.name == "cpython" and sys.version_info >= (3, 11):
    _anchor.__code__ = _anchor.__code__.replace(co_stacksize=_SLOTS)


def anchored(fn: Callable[..., T], *args, **kwargs) -> T:
    """``fn(*args, **kwargs)``, on a fresh frame-stack chunk of :data:`CHUNK_BYTES`."""
    return _anchor(fn, args, kwargs)
