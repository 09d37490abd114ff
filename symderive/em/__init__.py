"""Numeric EM for a mixture of multinomials, compiled from the certified derivation.

``MultinomialMixture`` (scikit-learn style) runs the formulas that the ``em_multinomial``
derivation exports in its ``ENGINE`` spec (:mod:`symderive.em.spec`): E-step, M-step,
log-likelihood, and their MAP (smoothing) and annealed forms, compiled to numpy /
scipy.sparse code by :mod:`symderive.em.compile`, after the checker has proved or verified
the claims behind them (:mod:`symderive.em.formulas`).  ``symderive em`` reproduces the
document's Table 1; :mod:`symderive.em.guards` refuses runs that cannot fit in memory.

Names are imported on first use, so that ``symderive --help`` (which registers the
``em`` subcommand) does not pay for numpy, scipy and the compiler.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "CompileError": "compile", "Program": "compile", "TensorSpec": "compile",
    "EMFormulas": "formulas", "UnverifiedFormulasError": "formulas", "certify": "formulas",
    "load_formulas": "formulas", "normalized_mutual_info": "metrics",
    "LikelihoodDecreaseError": "model", "MultinomialMixture": "model",
    "NotFittedError": "model", "Progress": "model", "ConvergenceWarning": "model",
    "PreconditionError": "formulas", "top_words": "table", "EngineSpec": "spec",
    "EngineFormula": "spec",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
