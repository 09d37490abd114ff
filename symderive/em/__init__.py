"""Numeric EM for a mixture of multinomials, compiled from the certified derivation.

``MultinomialMixture`` (scikit-learn style) runs the E-step, M-step and log-likelihood
of the ``em_multinomial`` derivation, compiled to numpy / scipy.sparse code by
:mod:`symderive.em.compile`, after the checker has proved or verified the claims behind
them (:mod:`symderive.em.formulas`).  ``symderive em`` reproduces the document's Table 1.
"""

from .compile import CompileError, Program, TensorSpec
from .formulas import EMFormulas, UnverifiedFormulasError, certify, load_formulas
from .metrics import normalized_mutual_info
from .model import LikelihoodDecreaseError, MultinomialMixture, NotFittedError, Progress

__all__ = [
    "CompileError",
    "EMFormulas",
    "LikelihoodDecreaseError",
    "MultinomialMixture",
    "NotFittedError",
    "Program",
    "Progress",
    "TensorSpec",
    "UnverifiedFormulasError",
    "certify",
    "load_formulas",
    "normalized_mutual_info",
]
