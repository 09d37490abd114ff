"""The one-line progress display of a check run (``checked 3/96 claims, 4.2 s``)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """A ``progress`` callback for :func:`symderive.runner.run_claims` that rewrites one
    line of ``stream`` (claims done/total, elapsed time, the last claim) as claims
    finish; silent when ``show`` is false."""

    def __init__(self, total: int, show: bool, stream: TextIO | None = None):
        self.total, self.show, self.done = total, show, 0
        self.stream = stream if stream is not None else sys.stderr
        self.start = time.perf_counter()
        self.last = ""

    def __call__(self, result) -> None:
        self.done += 1
        self.last = f"{result.derivation}:{result.id}"
        self.draw()

    def draw(self) -> None:
        if self.show:
            elapsed = time.perf_counter() - self.start
            self.stream.write(f"\r  checked {self.done}/{self.total} claims, {elapsed:.1f} s"
                              f" ({self.last})\033[K")
            self.stream.flush()

    def above(self, text: str, out: TextIO | None = None) -> None:
        """Print ``text`` (to ``out``, default stdout) above the progress line."""
        out = out if out is not None else sys.stdout
        self.close()
        out.write(text + "\n")
        out.flush()
        if self.done < self.total:
            self.draw()

    def close(self) -> None:
        """Clear the line, so the report starts on a clean one."""
        if self.show:
            self.stream.write("\r\033[K")
            self.stream.flush()
