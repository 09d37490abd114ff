"""Bounded memo caches for pure per-claim artifacts, keyed on what a claim says.

A worker process checks many claims; two claims with the same content (the same
objective, unknowns, constraints, claimed point and domains, in the same derivation) need
the same explicit systems and compiled functions.  The key is the claim's content, never
its id, and what is cached is a pure function of that key (and the sizes), so a verdict
never depends on which claims ran before.  The derivation and any unhashable domain are
keyed by identity (and kept alive by the key, so an identity is never reused).
"""

from __future__ import annotations

import functools
from collections import OrderedDict


class _Same:
    """An object keyed by identity (an unhashable domain, the derivation)."""

    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj

    def __hash__(self) -> int:
        return id(self.obj)

    def __eq__(self, other) -> bool:
        return isinstance(other, _Same) and other.obj is self.obj


def _hashable(obj):
    try:
        hash(obj)
    except TypeError:
        return _Same(obj)
    return obj


def content_key(claim) -> tuple:
    """What a stationary claim says, as a hashable key (its id and note left out)."""
    return (_Same(claim.derivation), claim.f, tuple(claim.variables),
            tuple(claim.constraints), tuple(claim.point.items()),
            tuple((k, _hashable(v)) for k, v in claim.domain.items()),
            claim.maximum, claim.local, claim.minimum,
            None if claim.sizes is None else tuple(tuple(sorted(s.items(), key=str))
                                                   for s in claim.sizes))


def sizes_key(sizes: dict) -> tuple:
    return tuple(sorted(sizes.items(), key=str))


def point_key(point: dict) -> tuple:
    return tuple(sorted(point.items(), key=lambda t: label(t[0])))


@functools.lru_cache(maxsize=4096)
def label(leaf) -> str:
    """``str(leaf)``, the sort key of a point's leaves, printed once per leaf (printing
    an Indexed entry costs more than the rest of a memo lookup)."""
    return str(leaf)


_ALL: list = []


def clear_all() -> None:
    """Empty every memo (tests compare a cold check with a warm one)."""
    for memo in _ALL:
        memo.clear()


class Memo:
    """A least-recently-used map of at most ``size`` entries."""

    def __init__(self, size: int):
        self.size = size
        self._data: OrderedDict = OrderedDict()
        _ALL.append(self)

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key, make, remember: tuple = (), keep=None):
        """The value for ``key``, made by ``make()`` on a miss.  An exception of a type in
        ``remember`` is stored and raised again on every hit (it is as much a function of
        the key); any other (a time budget running out) is not stored.  With ``keep``,
        only values it accepts are stored (an Outcome the caller will change is not)."""
        if key in self._data:
            self._data.move_to_end(key)
            ok, value = self._data[key]
        else:
            try:
                ok, value = True, make()
            except remember as exc:  # kept without its frames (and their locals)
                ok, value = False, exc.with_traceback(None)
            if keep is None or not ok or keep(value):
                self._data[key] = (ok, value)
                if len(self._data) > self.size:
                    self._data.popitem(last=False)
        if not ok:
            raise value
        return value

    def clear(self) -> None:
        self._data.clear()
