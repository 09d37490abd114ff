"""Normalized mutual information between two labelings (scikit-learn's default NMI).

Written here because scikit-learn is not a dependency.  NMI = MI / mean(H(U), H(V)), the
arithmetic mean, with natural logarithms; 1.0 when both labelings have one class, 0.0
when the mutual information is 0 otherwise (the same conventions as scikit-learn).
"""

from __future__ import annotations

import numpy as np

__all__ = ["normalized_mutual_info", "mutual_info", "entropy", "contingency",
           "nmi_from_contingency"]


def _codes(labels) -> tuple[np.ndarray, int]:
    values, codes = np.unique(np.asarray(labels).ravel(), return_inverse=True)
    return codes.ravel(), len(values)


def entropy(labels) -> float:
    """H(U) of a labeling, in nats."""
    codes, n = _codes(labels)
    if codes.size == 0:
        return 0.0
    return _entropy_of_counts(np.bincount(codes, minlength=n).astype(np.float64))


def contingency(labels_true, labels_pred) -> np.ndarray:
    """The table n_uv of documents with true class u and predicted cluster v (the values
    present only)."""
    u, nu = _codes(labels_true)
    v, nv = _codes(labels_pred)
    if u.size != v.size:
        raise ValueError(f"labelings of different lengths: {u.size} and {v.size}")
    return np.bincount(u * nv + v, minlength=nu * nv).reshape(nu, nv).astype(np.float64)


def _entropy_of_counts(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-np.sum(p * np.log(p)))


def _mi_of_table(table: np.ndarray) -> float:
    n = float(table.sum())
    pu = table.sum(axis=1) / n
    pv = table.sum(axis=0) / n
    i, j = np.nonzero(table)
    pij = table[i, j] / n
    mi = float(np.sum(pij * (np.log(pij) - np.log(pu[i]) - np.log(pv[j]))))
    return max(mi, 0.0)


def mutual_info(labels_true, labels_pred) -> float:
    """I(U; V) in nats, from the contingency table."""
    table = contingency(labels_true, labels_pred)
    return _mi_of_table(table) if table.size and table.sum() else 0.0


def nmi_from_contingency(table) -> float:
    """NMI with arithmetic-mean normalisation, from a contingency table alone (any
    orientation; empty rows and columns are ignored).  This is all the Dask backend
    reduces on its workers: the client never sees per-document labels."""
    table = np.asarray(table, dtype=np.float64)
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    nu, nv = table.shape
    if nu == nv == 1 or nu == nv == 0:
        return 1.0
    mi = _mi_of_table(table)
    if mi == 0.0:
        return 0.0
    denom = (_entropy_of_counts(table.sum(axis=1)) + _entropy_of_counts(table.sum(axis=0))) / 2
    return float(mi / max(denom, np.finfo(np.float64).eps))


def normalized_mutual_info(labels_true, labels_pred) -> float:
    """NMI with arithmetic-mean normalisation (scikit-learn's default)."""
    return nmi_from_contingency(contingency(labels_true, labels_pred))
