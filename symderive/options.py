"""The options of a check, one object for ``check``, ``latex`` and the pytest plugin.

``--seed``, ``--timeout``, ``--strict``, ``--no-cache`` and ``--no-repair`` mean the same
everywhere: each front end reads its flags, fills the gaps from the ``[tool.symderive]``
table of the nearest ``pyproject.toml`` (:func:`project_defaults`) and hands one
:class:`CheckOptions` down to :func:`symderive.runner.run_claims`.  The options that can
change a result (:meth:`CheckOptions.key_fields`) are part of every cache key.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from pathlib import Path

import tomllib

from .config import DEFAULT_TIMEOUT, validate_timeout

__all__ = ["CheckOptions", "STRICT_LEVELS", "OptionsError", "find_pyproject",
           "project_defaults", "add_arguments", "from_args"]

#: ``--strict`` levels (``--strict`` alone is ``verified``).
STRICT_LEVELS = ("verified", "proved")


class OptionsError(ValueError):
    """A bad option value, in a ``pyproject.toml`` or on a command line."""


@dataclass(frozen=True)
class CheckOptions:
    """How claims are checked and judged.

    ``repair`` / ``repair_budget`` drive the "did you mean" search for refuted claims
    (:mod:`symderive.repair`); ``seed`` is recorded in cache keys (see the README on how
    points are drawn).
    """

    timeout: float = DEFAULT_TIMEOUT
    seed: int | None = None
    strict: str | None = None
    cache: bool = True
    repair: bool = True
    repair_budget: int | None = None

    def key_fields(self) -> dict:
        """The options that can change a claim's result (not ``strict``, which only
        judges it, nor ``cache``)."""
        return {"timeout": self.timeout, "seed": self.seed, "repair": self.repair,
                "repair_budget": self.repair_budget}

    def repair_search(self):
        """The repair search's options (:class:`symderive.repair.run.Options`), or None
        when ``repair`` is off."""
        if not self.repair:
            return None
        from .repair.run import Options
        from .repair.search import DEFAULT_BUDGET

        return Options(budget=self.repair_budget or DEFAULT_BUDGET)

    def replace(self, **changes) -> CheckOptions:
        return dataclasses.replace(self, **changes)


def _validated(name: str, value: object, where: str) -> object:
    """One option's value, checked the same way wherever it comes from."""
    if name == "timeout":
        try:
            return validate_timeout(value, f"{where}timeout")
        except ValueError as exc:
            raise OptionsError(str(exc)) from None
    if name == "seed":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise OptionsError(f"{where}seed must be a non-negative integer, got {value!r}")
        return value
    if name == "strict":
        if value is True:
            return "verified"
        if value is False:
            return None
        if value not in STRICT_LEVELS:
            raise OptionsError(f"{where}strict must be true, false, \"verified\" or "
                               f"\"proved\", got {value!r}")
        return value
    if name == "repair_budget":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise OptionsError(f"{where}repair-budget must be a whole number of candidates, "
                               f"at least 1, got {value!r}")
        return value
    if name in ("cache", "repair"):
        if not isinstance(value, bool):
            raise OptionsError(f"{where}{name} must be true or false, got {value!r}")
        return value
    if name == "dir":
        if not isinstance(value, str):
            raise OptionsError(f"{where}dir must be a folder name, got {value!r}")
        return value
    raise OptionsError(f"{where}unknown option {name!r} (known: cache, dir, repair, "
                       f"repair_budget, seed, strict, timeout)")


def find_pyproject(start: Path | None = None) -> Path | None:
    """The nearest ``pyproject.toml``: in ``start`` (default: the current folder) or the
    first folder above it that has one."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def project_defaults(start: Path | None = None) -> dict:
    """The ``[tool.symderive]`` table of the nearest ``pyproject.toml``, validated; a
    ``dir`` is made absolute (relative to that file).  Empty without one."""
    path = find_pyproject(start)
    if path is None:
        return {}
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise OptionsError(f"{path}: cannot read it: {exc}") from None
    table = doc.get("tool", {}).get("symderive", {})
    if not isinstance(table, dict):
        raise OptionsError(f"{path}: [tool.symderive] must be a table")
    where = f"{path}: [tool.symderive] "
    out = {name.replace("-", "_"): _validated(name.replace("-", "_"), value, where)
           for name, value in table.items()}
    if "dir" in out:
        out["dir"] = str((path.parent / out["dir"]).resolve())
    return out


def add_arguments(parser, prefix: str = "--") -> None:
    """The shared option flags (``--seed``, ``--timeout``, ``--strict``, ``--no-cache``,
    ``--no-repair``), with None defaults so that a ``pyproject.toml`` can fill them.
    ``parser`` is an argparse parser, or a pytest option group (``prefix="--symderive-"``:
    it has ``addoption`` with the same arguments)."""
    add = getattr(parser, "add_argument", None) or parser.addoption
    add(f"{prefix}timeout", type=option_type("timeout", float), default=None,
                        metavar="S", help=f"budget per claim in CPU seconds "
                                          f"(default: {DEFAULT_TIMEOUT:g})")
    add(f"{prefix}seed", type=option_type("seed", int), default=None, metavar="N",
                        help="seed of the sampled points (default: 0; reported in the "
                             "evidence)")
    add(f"{prefix}strict", nargs="?", const="verified", default=None,
                        choices=STRICT_LEVELS, metavar="LEVEL",
                        help="an undecided claim fails; --strict=proved: also a claim that "
                             "is only verified")
    add(f"{prefix}no-cache", action="store_true", default=None,
                        help="check every claim again (ignore and do not use cached results)")
    add(f"{prefix}no-repair", action="store_true", default=None,
                        help="do not search for small edits that repair a refuted claim")
    add(f"{prefix}repair-budget", type=option_type("repair_budget", int), default=None,
                        metavar="N", help="candidate formulas tried per refuted claim "
                                          "(default: 400)")


def option_type(name: str, kind: type):
    """An argparse ``type`` for option ``name`` that applies the shared validation."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = text  # the validation names the option and what it must be
        try:
            return _validated(name, value, "--")
        except OptionsError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    parse.__name__ = name
    return parse


def from_args(args: argparse.Namespace, defaults: dict | None = None,
              prefix: str = "") -> CheckOptions:
    """The options of a command line (None: not given) over ``defaults`` (a
    ``[tool.symderive]`` table) over the built-in defaults.  ``prefix`` is that of the
    attribute names (``symderive_`` for pytest's ``config.option``)."""
    defaults = project_defaults() if defaults is None else defaults

    def given(name: str) -> object:
        return getattr(args, prefix + name, None)

    def pick(name: str, fallback: object) -> object:
        value = given(name)
        return value if value is not None else defaults.get(name, fallback)

    return CheckOptions(
        timeout=pick("timeout", DEFAULT_TIMEOUT), seed=pick("seed", None),
        strict=pick("strict", None),
        cache=False if given("no_cache") else defaults.get("cache", True),
        repair=False if given("no_repair") else defaults.get("repair", True),
        repair_budget=pick("repair_budget", None),
    )
