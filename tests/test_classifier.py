"""The single-digit classifier: its data, the imbalance tools and the shipped model."""

import numpy as np
import pytest

from mnistsum.classifier import balanced_class_weights, build_digit_classifier, imbalance, load_digit_data, to_inputs
from mnistsum.generator import MNIST_VAL_START


def test_the_data_follows_the_generator_splits():
    data = load_digit_data()
    assert data.x_train.shape == (MNIST_VAL_START, 28, 28, 1) and data.x_val.shape == (10_000, 28, 28, 1)
    assert data.x_test.shape == (10_000, 28, 28, 1) and data.x_train.dtype == np.float32
    assert 0.0 == data.x_train.min() and data.x_train.max() == 1.0


def test_imbalance_keeps_the_asked_share_and_class_weights_even_it_out():
    labels = np.repeat(np.arange(10), 50)
    kept = labels[imbalance(labels, {3: 0.1, 5: 0.5}, seed=1)]
    counts = np.bincount(kept, minlength=10)
    assert counts[3] == 5 and counts[5] == 25 and (np.delete(counts, [3, 5]) == 50).all()
    weights = balanced_class_weights(kept)
    assert np.allclose([weights[c] * counts[c] for c in range(10)], len(kept) / 10)
    with pytest.raises(ValueError, match="fraction"):
        imbalance(labels, {3: 0.0})
    with pytest.raises(ValueError, match="no examples"):
        balanced_class_weights(np.array([0, 0]), 3)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="optimizer"):
        build_digit_classifier("sgd")
    with pytest.raises(ValueError, match="28, 28"):
        to_inputs(np.zeros((2, 28, 27)))
