"""A module-level slot (a one-element list) that a ``with`` block fills with a fresh value
and restores afterwards: how the quadrature and branch logs collect what one claim used,
without threading a log object through every evaluation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")


@contextmanager
def fresh(slot: list, factory: Callable[[], T]) -> Iterator[T]:
    """Put ``factory()`` in ``slot`` for the block, yield it, and restore the old value."""
    saved = slot[0]
    slot[0] = factory()
    try:
        yield slot[0]
    finally:
        slot[0] = saved
