"""Scores of a clustering: normalized mutual information between two labelings
(scikit-learn's default NMI), and the perplexity of held-out documents.

Written here because scikit-learn is not a dependency.  NMI = MI / mean(H(U), H(V)), the
arithmetic mean, with natural logarithms; 1.0 when both labelings have one class, 0.0
when the mutual information is 0 otherwise (the same conventions as scikit-learn).
"""

from __future__ import annotations

import numpy as np

__all__ = ["normalized_mutual_info", "mutual_info", "entropy", "contingency",
           "nmi_from_contingency", "per_word_log_likelihood"]


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


def per_word_log_likelihood(log_pd, counts) -> float:
    """Held-out log-likelihood per word of the word sequences: sum_d log P(d) minus the
    multinomial coefficients log(n_d! / prod_w T_dw!) (which count the orderings of a
    bag of words, not how well the model predicts them), over the number of tokens.
    exp(-x) is the perplexity, as in the topic-model literature."""
    import scipy.sparse as sps
    from scipy.special import gammaln

    X = sps.csr_matrix(counts, dtype=np.float64)
    lengths = np.asarray(X.sum(axis=1)).ravel()
    log_coef = float(np.sum(gammaln(lengths + 1.0)) - np.sum(gammaln(X.data + 1.0)))
    return (float(np.sum(log_pd)) - log_coef) / max(float(lengths.sum()), 1.0)
