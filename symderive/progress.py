"""The one-line progress display of a check run (``checked 3/96 claims (name:id)``)."""

from __future__ import annotations

import sys
from typing import TextIO


class Progress:
    """A ``progress`` callback for :func:`symderive.runner.run_claims` that rewrites one
    line of ``stream`` as claims finish; silent when ``show`` is false."""

    def __init__(self, total: int, show: bool, stream: TextIO | None = None):
        self.total, self.show, self.done = total, show, 0
        self.stream = stream if stream is not None else sys.stderr

    def __call__(self, result) -> None:
        self.done += 1
        if self.show:
            self.stream.write(f"\r  checked {self.done}/{self.total} claims "
                              f"({result.derivation}:{result.id})\033[K")
            self.stream.flush()

    def close(self) -> None:
        """Clear the line, so the report starts on a clean one."""
        if self.show:
            self.stream.write("\r\033[K")
            self.stream.flush()
