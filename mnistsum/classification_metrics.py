"""Confusion matrices and ROC curves, in plain numpy (notebook 06).

>>> confusion_matrix([0, 1, 1, 2], [0, 1, 2, 2], 3).tolist()
[[1, 0, 0], [0, 1, 1], [0, 0, 1]]
>>> fpr, tpr = roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
>>> auc(fpr, tpr)
0.75
"""

from __future__ import annotations

import numpy as np


def confusion_matrix(y_true, y_pred, n_classes: int = 10) -> np.ndarray:
    """Counts ``[true, predicted]``: row *i* says what the images of class *i* were called."""
    y_true, y_pred = np.asarray(y_true, np.int64).ravel(), np.asarray(y_pred, np.int64).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred differ in length: {y_true.size} vs {y_pred.size}.")
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if y.size and (y.min() < 0 or y.max() >= n_classes):
            raise ValueError(f"{name} has labels outside [0, {n_classes}).")
    return np.bincount(y_true * n_classes + y_pred, minlength=n_classes**2).reshape(n_classes, n_classes)


def roc_curve(is_positive, scores) -> tuple[np.ndarray, np.ndarray]:
    """False- and true-positive rates at every threshold, from (0, 0) to (1, 1).

    Tied scores move together, so the curve does not depend on the order of ties.
    """
    is_positive = np.asarray(is_positive).astype(bool).ravel()
    scores = np.asarray(scores, np.float64).ravel()
    n_pos, n_neg = is_positive.sum(), (~is_positive).sum()
    if n_pos == 0 or n_neg == 0:
        raise ValueError("a ROC curve needs both positive and negative examples.")
    order = np.argsort(-scores, kind="stable")
    scores, is_positive = scores[order], is_positive[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    tp = np.cumsum(is_positive)[last_of_tie]
    fp = (last_of_tie + 1) - tp
    return np.r_[0.0, fp / n_neg], np.r_[0.0, tp / n_pos]


def auc(fpr: np.ndarray, tpr: np.ndarray) -> float:
    """Area under a curve by the trapezoid rule."""
    return float(np.trapezoid(tpr, fpr))


def one_vs_rest_roc(y_true, probabilities) -> dict[int, tuple[np.ndarray, np.ndarray, float]]:
    """Per class *c*: the ROC of "is it a *c*?" scored by ``probabilities[:, c]``, and its AUC."""
    y_true, probabilities = np.asarray(y_true).ravel(), np.asarray(probabilities)
    if probabilities.ndim != 2 or len(probabilities) != len(y_true):
        raise ValueError(f"probabilities must be (N, classes) for N={len(y_true)} labels, got {probabilities.shape}.")
    curves = {}
    for c in range(probabilities.shape[1]):
        fpr, tpr = roc_curve(y_true == c, probabilities[:, c])
        curves[c] = (fpr, tpr, auc(fpr, tpr))
    return curves


def per_class_recall(matrix: np.ndarray) -> np.ndarray:
    """Share of each true class that was called correctly (the diagonal over the row sums)."""
    matrix = np.asarray(matrix, np.float64)
    return np.diag(matrix) / np.maximum(matrix.sum(axis=1), 1)
