"""Compile the report to PDF with latexmk or pdflatex, whichever is installed.

The compilation runs in a scratch folder beside the ``.tex``, so that no auxiliary files
are left behind and the PDF appears (atomically) only when it is complete.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

INSTALL_HINT = """\
no TeX engine found: --pdf needs latexmk or pdflatex on the PATH.
Install one, for example:
  Debian/Ubuntu:  sudo apt-get install latexmk texlive-latex-recommended \\
                      texlive-fonts-recommended lmodern
  Fedora:         sudo dnf install latexmk texlive-scheme-medium
  macOS:          brew install --cask mactex-no-gui
  other systems:  TeX Live from https://tug.org/texlive/
The .tex file was written; compile it later with `latexmk -pdf FILE.tex`."""

_OVERFULL_RE = re.compile(r"^Overfull \\hbox \((\d+(?:\.\d+)?)pt too wide\)(.*)$", re.M)


class NoEngine(Exception):
    """Neither latexmk nor pdflatex is installed."""

    def __str__(self) -> str:
        return INSTALL_HINT


class CompileError(Exception):
    """LaTeX stopped with an error; ``excerpt`` holds the relevant lines of its log."""

    def __init__(self, message: str, excerpt: str, log: str = ""):
        super().__init__(message)
        self.excerpt, self.log = excerpt, log


@dataclass
class Compiled:
    pdf: Path
    engine: str
    seconds: float
    log: str
    overfull: list[tuple[float, str]] = field(default_factory=list)


def find_engine() -> str | None:
    """``latexmk`` when installed (it reruns as needed), else ``pdflatex``, else None."""
    for name in ("latexmk", "pdflatex"):
        if shutil.which(name):
            return name
    return None


def overfull_boxes(log: str) -> list[tuple[float, str]]:
    """(points too wide, where) of every overfull horizontal box in a LaTeX log."""
    return [(float(m.group(1)), m.group(2).strip()) for m in _OVERFULL_RE.finditer(log)]


def error_excerpt(log: str, context: int = 6) -> str:
    """The error lines of a LaTeX log (``! ...`` up to its ``l.NN`` line) and context."""
    lines = log.splitlines()
    picked: list[str] = []
    for k, line in enumerate(lines):
        if line.startswith("!") or re.match(r"^\S+\.tex:\d+: ", line):
            end = k
            while end < len(lines) - 1 and end < k + context and \
                    not lines[end].startswith("l."):
                end += 1
            picked += lines[max(0, k - 2): end + 2] + ["..."]
            if len(picked) > 40:
                break
    if not picked:
        picked = lines[-20:]
    return "\n".join(picked)


def _commands(engine: str, name: str) -> list[list[str]]:
    flags = ["-interaction=nonstopmode", "-halt-on-error", "-file-line-error"]
    if engine == "latexmk":
        return [["latexmk", "-pdf", "-silent", *flags, name]]
    # twice, so that the longtable column widths and the links settle
    return [["pdflatex", *flags, name], ["pdflatex", *flags, name]]


def compile_pdf(tex: str | Path, engine: str | None = None, timeout: float = 300.0
                ) -> Compiled:
    """Compile ``tex`` and put the PDF beside it; raise NoEngine or CompileError."""
    tex = Path(tex).resolve()
    engine = engine or find_engine()
    if engine is None:
        raise NoEngine()
    start = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix=".symderive-latex-", dir=tex.parent))
    try:
        shutil.copyfile(tex, work / tex.name)
        env = {**os.environ, "max_print_line": "10000"}  # unwrapped log lines
        for cmd in _commands(engine, tex.name):
            try:
                proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True,
                                      timeout=timeout, env=env, stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired:
                raise CompileError(f"{engine} did not finish within {timeout:g} s",
                                   "") from None
            log_path = work / (tex.stem + ".log")
            log = log_path.read_text(errors="replace") if log_path.exists() else \
                proc.stdout + proc.stderr
            if proc.returncode != 0:
                raise CompileError(f"{engine} failed on {tex.name} (exit {proc.returncode})",
                                   error_excerpt(log), log)
        pdf = tex.with_suffix(".pdf")
        os.replace(work / (tex.stem + ".pdf"), pdf)
        return Compiled(pdf, engine, time.perf_counter() - start, log, overfull_boxes(log))
    finally:
        shutil.rmtree(work, ignore_errors=True)
