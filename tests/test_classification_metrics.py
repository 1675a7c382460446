"""Confusion matrix and ROC, checked against slow, obvious implementations."""

import numpy as np
import pytest

from mnistsum.classification_metrics import auc, confusion_matrix, one_vs_rest_roc, per_class_recall, roc_curve


def test_confusion_matrix_counts_every_pair():
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.integers(0, 4, 500), rng.integers(0, 4, 500)
    slow = np.zeros((4, 4), int)
    for t, p in zip(y_true, y_pred):
        slow[t, p] += 1
    np.testing.assert_array_equal(confusion_matrix(y_true, y_pred, 4), slow)
    assert per_class_recall(slow).tolist() == [slow[i, i] / slow[i].sum() for i in range(4)]


@pytest.mark.parametrize("y_true, y_pred, message", [([0, 1], [0], "length"), ([0, 5], [0, 1], "outside")])
def test_confusion_matrix_rejects_bad_labels(y_true, y_pred, message):
    with pytest.raises(ValueError, match=message):
        confusion_matrix(y_true, y_pred, 3)


def test_auc_is_the_probability_a_positive_outscores_a_negative():
    rng = np.random.default_rng(1)
    positive = rng.random(300) < 0.3
    scores = np.round(rng.random(300) + positive * 0.4, 1)  # rounding makes ties
    pos, neg = scores[positive], scores[~positive]
    mann_whitney = ((pos[:, None] > neg).sum() + 0.5 * (pos[:, None] == neg).sum()) / (len(pos) * len(neg))
    fpr, tpr = roc_curve(positive, scores)
    assert fpr[0] == tpr[0] == 0 and fpr[-1] == tpr[-1] == 1
    assert (np.diff(fpr) >= 0).all() and (np.diff(tpr) >= 0).all()
    assert auc(fpr, tpr) == pytest.approx(mann_whitney)


def test_one_vs_rest_gives_a_curve_per_class():
    y = np.array([0, 1, 2, 2])
    probs = np.eye(3)[y] * 0.8 + 0.1
    curves = one_vs_rest_roc(y, probs)
    assert sorted(curves) == [0, 1, 2] and all(c[2] == 1.0 for c in curves.values())
    with pytest.raises(ValueError, match="both positive and negative"):
        roc_curve([1, 1], [0.2, 0.3])
    with pytest.raises(ValueError, match="probabilities"):
        one_vs_rest_roc(y, probs[:2])
