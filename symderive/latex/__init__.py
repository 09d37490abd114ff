"""The LaTeX report: formulas printed from the checked expressions, verdicts, evidence."""

from .compile import CompileError, NoEngine, compile_pdf, find_engine
from .document import build
from .printer import DerivationPrinter, latex

__all__ = ["DerivationPrinter", "latex", "build", "compile_pdf", "find_engine",
           "CompileError", "NoEngine"]
