"""Error-analysis helpers: slicing, regression to the mean, and looking inside a model."""

import keras
import numpy as np
import pytest

from mnistsum.analysis import accuracy_by, activations, gradcam, mean_prediction_by_sum, saliency
from mnistsum.models import build_baseline_model


def test_accuracy_by_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="3 values but 2 hits"):
        accuracy_by([1, 2, 3], [True, False])


def test_regression_to_the_mean_slope():
    sums = np.arange(46).repeat(3)
    keys, means, slope = mean_prediction_by_sum(sums, 0.5 * sums + 11.25)
    assert slope == pytest.approx(0.5) and np.allclose(means, 0.5 * keys + 11.25)


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    return build_baseline_model()


def test_gradcam_saliency_and_activations_have_the_right_shapes(model):
    image = np.random.default_rng(0).random((128, 128, 1), dtype=np.float32)
    cam = gradcam(model, image, "conv3")
    assert cam.shape == (32, 32) and cam.min() >= 0 and cam.max() <= 1
    sal = saliency(model, image)
    assert sal.shape == (128, 128) and sal.max() <= 1
    assert activations(model, image, "conv1").shape == (128, 128, 128)


def test_saliency_is_zero_where_the_model_cannot_look():
    # a model that only reads the top-left pixel: saliency must be zero elsewhere
    inputs = keras.Input((128, 128, 1))
    outputs = keras.layers.Lambda(lambda x: 3.0 * x[:, 0, 0, :])(inputs)
    probe = keras.Model(inputs, outputs)
    sal = saliency(probe, np.ones((128, 128, 1), np.float32))
    assert sal[0, 0] == 1.0 and sal.sum() == 1.0
