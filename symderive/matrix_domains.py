"""Domains of square matrices: symmetric, positive definite, invertible, orthogonal, diagonal.

A structured matrix is made explicit from its free entries only, so that what the prover
proves is proved for every matrix of the domain and nothing else: a symmetric ``A`` is
instantiated with ``A[j, i]`` standing for ``A[i, j]`` (i <= j), a diagonal one with zeros
off the diagonal, an orthogonal one as ``Q = (I - S)(I + S)^{-1} diag(1 - 2b, 1, ..., 1)``
with ``S`` skew-symmetric (its entries ``Q[i, j]``, i < j, are the free parameters) and
the reflection bit ``b = Q[1, 1]`` in {0, 1} (every orthogonal matrix without the
eigenvalue -1 in its rotation part: a dense subset of O(n)).  The sampler draws whole
matrices, at the point's scale for that matrix (:data:`SCALES`) as it draws a scalar:
positive-definite ones as ``c (B Bᵀ + ε I)``, invertible ones as ``c G₀`` with ``|det G₀|
>= 1/2``, where the factor ``c`` is small (1e-3), 1, a rational or large (1e3) and ``ε``
is 1e-3 (nearly singular) or 1.  A fixed factor would leave out most of the domain: with
``B Bᵀ + n I`` every draw had det >= n^n and diagonal entries >= n, so a claim true only
for such matrices (log det Σ >= 0) agreed at every point.

A derivative with respect to a structured matrix is the gradient with respect to its n²
entries taken as independent, evaluated at a matrix of the domain (the convention of the
Matrix Cookbook, so that d log det(Σ)/dΣ = Σ⁻¹ for a symmetric Σ).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import mpmath
import sympy as sp

from .assumptions import POSITIVE, REAL, SCALES, Assumption

__all__ = ["MatrixDomain", "Symmetric", "PositiveDefinite", "Invertible", "Orthogonal",
           "Diagonal", "SYMMETRIC", "POSITIVE_DEFINITE", "INVERTIBLE", "ORTHOGONAL",
           "DIAGONAL", "structured"]

Entry = Callable[[int, int], object]  # (row, col), 1-based -> the value of a free entry


@dataclass(frozen=True)
class MatrixDomain(Assumption):
    """A set of square matrices, described by its free entries (1-based)."""

    def free(self, n: int) -> list[tuple[int, int]]:
        return [(a, b) for a in range(1, n + 1) for b in range(1, n + 1)]

    def assemble(self, entry: Entry, n: int, ring) -> list[list]:
        """The matrix from its free entries; ``ring`` is ``sp`` or ``mpmath`` ops."""
        return [[entry(a, b) for b in range(1, n + 1)] for a in range(1, n + 1)]

    def draw_matrix(self, rng: random.Random, n: int, scale: str | None = None
                    ) -> dict[tuple[int, int], sp.Rational]:
        """The free entries of one matrix of the domain; ``scale`` (one of
        :data:`SCALES`) is the point's scale for the whole matrix (free entries are drawn
        at scales of their own)."""
        return {ab: REAL.draw(rng, 1)[0] for ab in self.free(n)}

    def simpler(self, value):
        return []  # a whole matrix is drawn at once: single entries are not changed

    def simple_matrices(self, n: int) -> list[dict[tuple[int, int], sp.Rational]]:
        """Whole matrices of the domain (their free entries), simplest first, that a
        counterexample is shrunk to when it still fails there (c I rather than
        72259/10000000 ...); none for a domain whose entries shrink one by one."""
        return []

    def contains(self, value) -> bool:
        return True

    def explicit(self, entry: Entry, n: int) -> sp.Matrix:
        return sp.Matrix(self.assemble(entry, n, _SympyRing))

    def numeric(self, entry: Entry, n: int) -> list[list]:
        return self.assemble(entry, n, _MpmathRing)


@dataclass(frozen=True)
class Symmetric(MatrixDomain):
    """A = Aᵀ: the entries on and above the diagonal are free."""

    def free(self, n: int) -> list[tuple[int, int]]:
        return [(a, b) for a in range(1, n + 1) for b in range(a, n + 1)]

    def assemble(self, entry: Entry, n: int, ring) -> list[list]:
        return [[entry(min(a, b), max(a, b)) for b in range(1, n + 1)] for a in range(1, n + 1)]

    def simpler(self, value):
        return REAL.simpler(value)

    def describe(self) -> str:
        return "symmetric"


@dataclass(frozen=True)
class PositiveDefinite(Symmetric):
    """Symmetric positive definite; sampled as c (B Bᵀ + ε I): B with simple entries
    (-3..3 and fractions such as 5/2), c > 0 at the point's scale, ε = 1e-3 at the
    scales near 0 (a nearly singular matrix), else 1."""

    def draw_matrix(self, rng: random.Random, n: int, scale: str | None = None) -> dict:
        scale = scale or rng.choice(SCALES)
        B = sp.Matrix(n, n, lambda a, b: REAL.draw(rng, 1, "simple")[0])
        eps = sp.Rational(1, 1000) if scale in _NEAR_ZERO else sp.S.One
        M = POSITIVE.draw(rng, 1, scale)[0] * (B * B.T + eps * sp.eye(n))
        return {(a, b): M[a - 1, b - 1] for a, b in self.free(n)}

    def simpler(self, value):
        return []

    def simple_matrices(self, n: int) -> list[dict]:
        """c I, then I + 11ᵀ (positive definite, not diagonal)."""
        out = [{ab: c if ab[0] == ab[1] else sp.S.Zero for ab in self.free(n)}
               for c in _SIMPLE_FACTORS if c > 0]
        return out + [{ab: sp.Integer(2 if ab[0] == ab[1] else 1) for ab in self.free(n)}]

    def describe(self) -> str:
        return "symmetric positive definite"


@dataclass(frozen=True)
class Invertible(MatrixDomain):
    """Any invertible matrix; sampled as c G₀ with |det G₀| >= 1/2 (away from singular
    ones) and c != 0 at the point's scale, so |det| is small, near 1 or large."""

    def draw_matrix(self, rng: random.Random, n: int, scale: str | None = None) -> dict:
        scale = scale or rng.choice(SCALES)
        c = REAL.draw(rng, 1, "small" if scale == "zero" else scale)[0]
        while True:
            values = super().draw_matrix(rng, n)
            M = sp.Matrix(n, n, [values[(a, b)] for a in range(1, n + 1)
                                 for b in range(1, n + 1)])
            if abs(M.det()) >= sp.Rational(1, 2):
                return {ab: c * v for ab, v in values.items()}

    def simple_matrices(self, n: int) -> list[dict]:
        """c I, then I plus ones above the diagonal, or below (det 1, not symmetric)."""
        out = [{ab: c if ab[0] == ab[1] else sp.S.Zero for ab in self.free(n)}
               for c in _SIMPLE_FACTORS]
        return out + [{(a, b): sp.Integer(1 if a == b or side * (b - a) > 0 else 0)
                       for a, b in self.free(n)} for side in (1, -1)]

    def describe(self) -> str:
        return "invertible"


@dataclass(frozen=True)
class Diagonal(MatrixDomain):
    """Zero off the diagonal; the diagonal is free."""

    def free(self, n: int) -> list[tuple[int, int]]:
        return [(a, a) for a in range(1, n + 1)]

    def assemble(self, entry: Entry, n: int, ring) -> list[list]:
        return [[entry(a, a) if a == b else ring.zero for b in range(1, n + 1)]
                for a in range(1, n + 1)]

    def simpler(self, value):
        return REAL.simpler(value)

    def describe(self) -> str:
        return "diagonal"


@dataclass(frozen=True)
class Orthogonal(MatrixDomain):
    """QᵀQ = I, by the Cayley transform of a skew-symmetric S and a reflection bit."""

    def free(self, n: int) -> list[tuple[int, int]]:
        return [(1, 1)] + [(a, b) for a in range(1, n + 1) for b in range(a + 1, n + 1)]

    def assemble(self, entry: Entry, n: int, ring) -> list[list]:
        S = [[ring.zero if a == b else entry(a, b) if a < b else -entry(b, a)
              for b in range(1, n + 1)] for a in range(1, n + 1)]
        eye = [[ring.one if a == b else ring.zero for b in range(n)] for a in range(n)]
        minus = [[eye[a][b] - S[a][b] for b in range(n)] for a in range(n)]
        plus = [[eye[a][b] + S[a][b] for b in range(n)] for a in range(n)]
        Q = ring.matmul(minus, ring.inverse(plus))
        sign = 1 - 2 * entry(1, 1)
        return [[Q[a][b] * (sign if b == 0 else 1) for b in range(n)] for a in range(n)]

    def simple_matrices(self, n: int) -> list[dict]:
        """I, the reflection diag(-1, 1, ...), the quarter turn in the first plane."""
        zero = {ab: sp.S.Zero for ab in self.free(n)}
        out = [zero, {**zero, (1, 1): sp.S.One}]
        return out + [{**zero, (1, 2): sp.S.One}] if n > 1 else out

    def draw_matrix(self, rng: random.Random, n: int, scale: str | None = None) -> dict:
        values = {ab: REAL.draw(rng, 1)[0] for ab in self.free(n)[1:]}
        values[(1, 1)] = sp.Integer(rng.randint(0, 1))
        return values

    def describe(self) -> str:
        return "orthogonal (Cayley parameters Q[i,j], i<j; reflection bit Q[1,1])"


#: the scales at which a structured matrix is drawn near the boundary of its domain
_NEAR_ZERO = frozenset({"zero", "small", "edge"})
#: the factors c of the simple matrices c I a counterexample is shrunk to, simplest first
_SIMPLE_FACTORS = tuple(sp.Rational(c) for c in
                        ("1", "-1", "2", "1/2", "1/10", "10", "1/100", "100", "1/1000", "1000"))


class _SympyRing:
    zero, one = sp.S.Zero, sp.S.One

    @staticmethod
    def matmul(A, B):
        return (sp.Matrix(A) * sp.Matrix(B)).tolist()

    @staticmethod
    def inverse(A):
        M = sp.Matrix(A)
        return (M.adjugate(method="berkowitz") / M.det(method="berkowitz")).tolist()


class _MpmathRing:
    zero, one = mpmath.mpf(0), mpmath.mpf(1)

    @staticmethod
    def matmul(A, B):
        return (mpmath.matrix(A) * mpmath.matrix(B)).tolist()

    @staticmethod
    def inverse(A):
        return (mpmath.matrix(A) ** -1).tolist()


SYMMETRIC = Symmetric()
POSITIVE_DEFINITE = PositiveDefinite()
INVERTIBLE = Invertible()
ORTHOGONAL = Orthogonal()
DIAGONAL = Diagonal()


def structured(var) -> MatrixDomain | None:
    """The matrix domain of a declared variable, or None for a general one."""
    return var.assume if isinstance(var.assume, MatrixDomain) else None
