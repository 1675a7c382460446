"""Exercises of notebook 06 (the digit classifier). Set-up: ``from mnistsum.exercises import ____, ex06``.

- q1: define ``confusion(y_true, y_pred)``, then ``ex06.q1.check(confusion)``.
- q2: define ``auc_score(is_positive, scores)``, then ``ex06.q2.check(auc_score)``.
- q3 (open): ``ex06.q3.hint()``, ``ex06.q3.solution()``.
"""

from __future__ import annotations

import math

import numpy as np

from mnistsum.exercises.core import (
    Incorrect, OpenQuestion, Question, advice_for, call, expect_array, expect_callable, expect_number, sentence
)

__all__ = ["q1", "q2", "q3"]


# ----------------------------------------------------------------------------- references

def confusion(y_true, y_pred) -> np.ndarray:
    """The 10×10 confusion matrix: ``[i, j]`` counts digits of class *i* predicted as *j*.

    >>> int(confusion([0, 1, 1], [0, 1, 7])[1, 7])
    1
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return np.bincount(10 * y_true + y_pred, minlength=100).reshape(10, 10)


def auc_score(is_positive, scores) -> float:
    """The probability that a random positive scores higher than a random negative (ties count half).

    >>> auc_score([True, False, True, False], [0.9, 0.4, 0.4, 0.1])
    0.875
    """
    is_positive, scores = np.asarray(is_positive, bool), np.asarray(scores, float)
    pos, neg = scores[is_positive], scores[~is_positive]
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return float((greater + 0.5 * ties) / (len(pos) * len(neg)))


# ----------------------------------------------------------------------------- checkers

def _labels(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    y_true = rng.integers(0, 10, n)
    y_pred = np.where(rng.random(n) < 0.7, y_true, rng.integers(0, 10, n))
    return y_true, y_pred


def _check_confusion(answer) -> str:
    fn = expect_callable(answer, "confusion")
    rng = np.random.default_rng()
    for n in (50, 400):
        y_true, y_pred = _labels(rng, n)
        expected = confusion(y_true, y_pred)
        got = expect_array(call(fn, y_true.copy(), y_pred.copy(), name="confusion"), (10, 10),
                           "confusion(y_true, y_pred)")
        if np.array_equal(got, expected):
            continue
        advice = ""
        if np.array_equal(got, expected.T):
            advice = "your matrix is transposed: rows are the *true* classes, columns the predicted ones."
        elif np.allclose(got, expected / max(n, 1)) or np.allclose(got, expected / expected.sum(1, keepdims=True).clip(1)):
            advice = "return counts, not shares."
        i, j = np.argwhere(got != expected)[0]
        raise Incorrect(f"for {n} random labels, entry [{i}, {j}] is {got[i, j]:g}; expected {expected[i, j]} "
                        f"(digits of class {i} predicted as {j}). {sentence(advice)}".rstrip())
    return "confusion counts every (true, predicted) pair, rows = true class, like mnistsum.classification_metrics."


def _scores(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    is_positive = rng.random(n) < 0.3
    is_positive[:2] = [True, False]
    scores = np.round(rng.random(n) + 0.5 * is_positive, 1)  # rounding makes many ties
    return is_positive, scores


def _check_auc(answer) -> str:
    fn = expect_callable(answer, "auc_score")
    rng = np.random.default_rng()
    for n in (30, 300):
        is_positive, scores = _scores(rng, n)
        expected = auc_score(is_positive, scores)
        got = expect_number(call(fn, is_positive.copy(), scores.copy(), name="auc_score"), "auc_score(...)")
        if math.isclose(got, expected, abs_tol=1e-9):
            continue
        pos, neg = scores[is_positive], scores[~is_positive]
        pairs = len(pos) * len(neg)
        advice = {
            "ties (a positive and a negative with the same score) count one half.":
                (pos[:, None] > neg).sum() / pairs,
            "a tie is not a win: count it as one half.": (pos[:, None] >= neg).sum() / pairs,
            "you computed the chance that a *negative* outscores a positive: swap them.": 1 - expected,
        }
        why = advice_for(got, advice)
        raise Incorrect(f"on {n} random scores (with ties) your function returned {got:.4f}; expected "
                        f"{expected:.4f}. {why}".rstrip())
    return ("auc_score is the Mann-Whitney statistic: the area under the ROC curve, without drawing the curve. "
            "It does not depend on any threshold.")


# ----------------------------------------------------------------------------- questions

q1 = Question(
    "confusion", _check_confusion,
    hint="Each (true, predicted) pair adds one to matrix[true, predicted]. A loop works; np.add.at(matrix, "
         "(y_true, y_pred), 1) or np.bincount(10 * y_true + y_pred, minlength=100).reshape(10, 10) is fast.",
    solution=confusion,
)

q2 = Question(
    "auc_score", _check_auc,
    hint="Compare every positive score with every negative one: pos[:, None] > neg[None, :] is a (P, N) "
         "table of wins. The AUC is the share of wins, with ties counting one half.",
    solution=auc_score,
)

q3 = OpenQuestion(
    "ex06.q3 (a threshold instead of weights)",
    hint="Take the model trained on the imbalanced set (section 7). Instead of retraining with class weights, "
         "divide its probabilities by the class frequencies of its training set and take the argmax. Compare "
         "recall, the confusion matrix and the AUC with the class-weighted model.",
    solution="""\
counts = np.bincount(data.y_train[kept], minlength=10)
p = predict_probabilities(imbalanced_model, data.x_test)
adjusted = (p / (counts / counts.sum())).argmax(1)          # Bayes: remove the training prior
cm = confusion_matrix(data.y_test, adjusted)
print(per_class_recall(cm)[[3, 5, 8]], np.trace(cm) / cm.sum())

Discussion (what a good answer says):
- A classifier trained with cross-entropy estimates p(class | image) under the *training* priors. Dividing by
  the training prior (and multiplying by the test prior, uniform here) corrects the posterior: no retraining.
- The recall of the rare classes comes back much like with class weights; the AUC does not change at all,
  because per-class rescaling of one column is monotone for that class's one-vs-rest ranking.
- Both fixes trade false negatives of the rare classes for false positives; which is right depends on the
  costs of the two errors in the application, not on the data.
- Neither fix adds information: with 50 training 5s the model has seen few ways of writing a 5, so some
  errors remain. More (or augmented) data of the rare classes is the real cure.""",
)
