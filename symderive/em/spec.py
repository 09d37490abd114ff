"""What a derivation exports for the EM engine: its formulas and the claims behind them.

A derivation module that the engine can run defines ``ENGINE = EngineSpec(...)``.  The
spec names the tensors and scalars the formulas read, by their role, and every formula
with the id of the claim that certifies it.  :mod:`symderive.em.formulas` checks that
each formula is verbatim a part of its claim, has the claims checked, and compiles the
formulas; nothing else of the module is read.

Kept free of numpy, so that a derivation module stays cheap to import.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import sympy as sp

__all__ = ["EngineFormula", "EngineSpec", "REQUIRED", "OPTIONAL", "TENSORS", "SCALARS"]

#: the formulas every engine needs, and the output axes (by role) of each
REQUIRED = {"e_step": ("d", "k"), "log_likelihood": ("d",), "m_step_pi": ("k",),
            "m_step_mu": ("w", "k")}
#: formulas for the optional features: smoothing (MAP M-step) and annealing
OPTIONAL = {"m_step_pi_map": ("k",), "m_step_mu_map": ("w", "k"),
            "e_step_annealed": ("d", "k"), "free_energy": ("d",), "log_prior": ()}
#: roles of the tensors (T: documents x words counts, pi: K, mu: K x W, gamma: D x K)
TENSORS = ("T", "pi", "mu", "gamma")
#: roles of the scalar parameters (smoothing on mu, on pi; inverse temperature)
SCALARS = ("alpha", "alpha_pi", "beta")


@dataclass(frozen=True)
class EngineFormula:
    """One formula the engine runs, and the claim that certifies it.

    ``claim`` must have ``expr`` verbatim as one of its sides (an equality), as its
    claimed point (a maximiser), or as a term of its objective; ``log(x)`` is also
    covered by a claim about ``x``.  ``precondition`` says what the data must satisfy
    for the claim to apply; the engine checks it before running.
    """

    expr: sp.Expr
    claim: str
    precondition: str | None = None


@dataclass(frozen=True)
class EngineSpec:
    """The engine's view of a derivation (see the module docstring)."""

    derivation: object
    dims: Mapping[str, sp.Symbol]        # "D", "K", "W"
    indices: Mapping[str, sp.Symbol]     # "d", "k", "w"
    tensors: Mapping[str, sp.IndexedBase]
    formulas: Mapping[str, EngineFormula]
    scalars: Mapping[str, sp.Symbol] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problems = [f"dimension {r}" for r in ("D", "K", "W") if r not in self.dims]
        problems += [f"index {r}" for r in ("d", "k", "w") if r not in self.indices]
        problems += [f"tensor {r}" for r in TENSORS if r not in self.tensors]
        problems += [f"formula {r}" for r in REQUIRED if r not in self.formulas]
        unknown = set(self.formulas) - set(REQUIRED) - set(OPTIONAL)
        problems += [f"unknown formula {r}" for r in sorted(unknown)]
        problems += [f"unknown scalar {r}" for r in sorted(set(self.scalars) - set(SCALARS))]
        if problems:
            raise ValueError("EngineSpec: missing or unknown " + ", ".join(problems))

    def axes(self, name: str) -> tuple[sp.Symbol, ...]:
        roles = REQUIRED.get(name, OPTIONAL.get(name))
        return tuple(self.indices[r] for r in roles)

    def has(self, *names: str) -> bool:
        return all(n in self.formulas for n in names)
