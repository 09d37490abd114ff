"""Find and import derivation modules; a broken file is reported, not fatal."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

from .derivation import Derivation

PACKAGE = "symderive.derivations"


@dataclass
class LoadError:
    """A derivation file that could not be imported: where, and why."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


def default_dir() -> Path:
    """The derivations shipped with the package (the repository's ``derivations/``)."""
    return Path(importlib.import_module(PACKAGE).__file__).parent


def _error(path: Path, exc: BaseException) -> LoadError:
    if isinstance(exc, SyntaxError) and exc.filename and Path(exc.filename).name == path.name:
        return LoadError(str(path), exc.lineno, f"SyntaxError: {exc.msg}")
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        try:
            if Path(frame.filename).resolve() == path.resolve():
                line = frame.lineno
        except OSError:
            continue
    return LoadError(str(path), line, f"{type(exc).__name__}: {exc}")


def import_file(path: str | Path, name: str | None = None):
    """Import one derivation module from its file (the caller reports errors).

    Every :class:`Derivation` it defines learns its file, so that messages can name it.
    """
    path = Path(path)
    name = name or f"symderive_user_derivations.{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    for deriv in derivations_in(module):
        deriv.file = deriv.file or str(path)
    return module


def load_module(ref: str | Path):
    """A derivation module by dotted name (``symderive.derivations.em_multinomial``) or
    by the path of its file; the one loader behind ``check``, ``latex`` and ``em``."""
    if isinstance(ref, Path) or str(ref).endswith(".py"):
        return import_file(ref)
    return importlib.import_module(str(ref))


def derivations_in(module) -> list[Derivation]:
    """The derivations a module defines, each once (``derivation = d = Derivation(...)``
    binds one object twice)."""
    return list({id(v): v for v in vars(module).values() if isinstance(v, Derivation)}.values())


def _import(path: Path, packaged: bool):
    if packaged:
        return importlib.import_module(f"{PACKAGE}.{path.stem}")
    return import_file(path)


def load(directory: str | Path | None = None) -> tuple[list[Derivation], list[LoadError]]:
    """Every derivation in ``directory`` (default: the packaged ones), sorted by file."""
    packaged = directory is None
    folder = default_dir() if packaged else Path(directory)
    if not folder.is_dir():
        raise FileNotFoundError(f"no such derivations folder: {folder}")
    paths = [p for p in sorted(folder.glob("*.py")) if not p.name.startswith("_")]
    return load_files(paths, packaged)


def load_files(paths: list[Path], packaged: bool = False
               ) -> tuple[list[Derivation], list[LoadError]]:
    """The derivations of the given files, and an error for each file that cannot be
    imported or defines none."""
    derivations, errors = [], []
    for path in paths:
        if not Path(path).is_file():
            raise FileNotFoundError(f"no such derivation file: {path}")
        try:
            module = _import(Path(path), packaged)
        except Exception as exc:
            errors.append(_error(Path(path), exc))
            continue
        found = derivations_in(module)
        if not found:
            errors.append(LoadError(str(path), None, "defines no Derivation"))
        for deriv in found:
            deriv.file = str(path)
            derivations.append(deriv)
    return _unique_names(derivations, errors)


def _unique_names(derivations: list[Derivation], errors: list[LoadError]
                  ) -> tuple[list[Derivation], list[LoadError]]:
    """Two derivations with one name are a usage error (exit 2), naming both files: a
    name selects derivations on the command line and labels a report, so it must say
    which one is meant.  The first (by file) is still checked, the other is not."""
    seen: dict[str, Derivation] = {}
    kept = []
    for deriv in derivations:
        first = seen.get(deriv.name)
        if first is None:
            seen[deriv.name] = deriv
            kept.append(deriv)
            continue
        errors.append(LoadError(str(deriv.file), None,
                                f"the derivation name {deriv.name!r} is also used by "
                                f"{first.file}; rename one of them (only {first.file} "
                                "is checked)"))
    return kept, errors
