"""Claims whose expressions are built lazily, so that one that cannot be built fails alone.

A claim's sides may be given as functions returning the expression (``lambda: X*X.T``).
They are built when the claim is declared; if building raises, the claim is still
declared, with a :class:`BuildError` in place of its expressions, and the checker
reports it without stopping the module: a shape mismatch is ``refuted`` (method
``shape``), naming the operands, their shapes and the file and line; anything else is
``error``, with the file and line.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass
from pathlib import Path

import sympy as sp
from sympy.matrices.common import ShapeError
from sympy.matrices.expressions import MatrixExpr

_SYMPY = Path(sp.__file__).resolve().parent
_PACKAGE = Path(__file__).resolve().parent
_OPERATIONS = (sp.MatAdd, sp.MatMul, sp.HadamardProduct)


@dataclass
class BuildError:
    """Why a claim could not be built, and where."""

    shape: bool
    message: str
    file: str | None
    line: int | None
    operands: list[tuple[str, tuple]] | None = None

    @property
    def where(self) -> str:
        if self.file is None:
            return "" if self.line is None else f"line {self.line}"
        return f"{self.file}:{self.line}" if self.line else self.file


class Unbuilt(sp.Symbol):
    """Stands for both sides of a claim that could not be built (printed as such)."""


def is_lazy(value) -> bool:
    """A function standing for an expression (SymPy objects are callable too: not those)."""
    return callable(value) and not isinstance(value, (sp.Basic, type))


def force(value):
    """The expression a lazy argument stands for (lists, tuples and dicts element-wise)."""
    if is_lazy(value):
        return value()
    if isinstance(value, (list, tuple)):
        return type(value)(force(v) for v in value)
    if isinstance(value, dict):
        return {k: force(v) for k, v in value.items()}
    return value


def any_lazy(values) -> bool:
    for v in values:
        if is_lazy(v) or isinstance(v, (list, tuple)) and any_lazy(v) \
                or isinstance(v, dict) and any_lazy(v.values()):
            return True
    return False


def _user_frame(tb) -> tuple[str | None, int | None]:
    """File and line of the innermost frame outside SymPy and symderive's own code (the
    derivation's line that built the expression)."""
    found = (None, None)
    while tb is not None:
        path = Path(tb.tb_frame.f_code.co_filename).resolve()
        ours = _PACKAGE in path.parents and "derivations" not in path.parts
        if _SYMPY not in path.parents and not ours:
            found = (str(path), tb.tb_lineno)
        tb = tb.tb_next
    return found


def _operands(tb) -> list[tuple[str, tuple]] | None:
    """The operands of the matrix operation that raised, with their shapes."""
    out = None
    while tb is not None:
        frame = tb.tb_frame
        cls = frame.f_locals.get("cls")
        args = frame.f_locals.get("args")
        if isinstance(cls, type) and issubclass(cls, _OPERATIONS) and args:
            mats = [a for a in args if isinstance(a, MatrixExpr)]
            out = [(_text(a), tuple(a.shape)) for a in mats]
            if issubclass(cls, sp.MatMul):
                for a, b in zip(mats, mats[1:]):
                    if a.shape[1] != b.shape[0]:
                        out = [(_text(a), tuple(a.shape)), (_text(b), tuple(b.shape))]
                        break
        tb = tb.tb_next
    return out


def _text(e: sp.Basic) -> str:
    try:
        return str(e)
    except Exception:  # noqa: BLE001 - an operand that cannot even be printed
        return type(e).__name__


def build_error(exc: BaseException, line: int | None) -> BuildError:
    file, user_line = _user_frame(exc.__traceback__)
    line = user_line or line
    if isinstance(exc, ShapeError):
        ops = _operands(exc.__traceback__)
        if ops:
            desc = " and ".join(f"{t} ({s[0]}×{s[1]})" for t, s in ops)
            what = "cannot be multiplied" if "align" in str(exc) else "do not match"
            msg = f"shape mismatch: {desc} {what}"
        else:
            msg = f"shape mismatch: {exc}"
        return BuildError(True, msg, file, line, ops)
    return BuildError(False, f"{type(exc).__name__}: {exc}", file, line)


def _caller_line(ours: set) -> int | None:
    for frame in inspect.stack()[2:]:
        if Path(frame.filename).resolve() not in ours:
            return frame.lineno
    return None


def deferred(method):
    """Let a claim constructor take lazy arguments and survive their failure to build."""
    @functools.wraps(method)
    def wrapper(self, id, *args, **kw):
        if not any_lazy(list(args) + list(kw.values())):
            return method(self, id, *args, **kw)
        try:
            built, built_kw = force(args), {k: force(v) for k, v in kw.items()}
            return method(self, id, *built, **built_kw)
        except Exception as exc:  # noqa: BLE001 - reported as the claim's verdict
            line = _caller_line({Path(__file__).resolve(),
                                 Path(method.__code__.co_filename).resolve()})
            return self._add_broken(id, build_error(exc, line), kw)
    return wrapper
