"""Test isolation: the whole session uses a fresh cache folder, never the user's.

A cache left by an earlier run (the tokenised corpus, the EM certificate, claim timings)
would let tests skip work they are meant to do, and tests must not write into the real
cache either.  Worker processes are forked, so they inherit the variable.
"""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory):
    folder = tmp_path_factory.mktemp("symderive-cache")
    saved = os.environ.get("SYMDERIVE_CACHE")
    os.environ["SYMDERIVE_CACHE"] = str(folder)
    yield folder
    if saved is None:
        os.environ.pop("SYMDERIVE_CACHE", None)
    else:
        os.environ["SYMDERIVE_CACHE"] = saved


@pytest.fixture
def drawn_points(monkeypatch) -> list:
    """Every point the sampler draws, recorded in the last list the test appended (the
    test appends one list before each run it wants to compare)."""
    from symderive.numeric import Sampler

    seen: list = []
    real_draw = Sampler.draw

    def recording(self):
        point = real_draw(self)
        seen[-1].append(dict(point))
        return point

    monkeypatch.setattr(Sampler, "draw", recording)
    return seen


@pytest.fixture
def count_calls(monkeypatch):
    """``count_calls(owner, name)`` replaces ``owner.name`` by a wrapper that counts its
    calls and returns a one-element list holding the count."""

    def count(owner, name: str) -> list:
        calls = [0]
        real = getattr(owner, name)

        def counted(*args, **kwargs):
            calls[0] += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(owner, name, counted)
        return calls

    return count
