"""Error-analysis helpers: slicing, regression to the mean, and looking inside a model."""

import keras
import numpy as np
import pytest

from mnistsum.analysis import accuracy_by, activations, gradcam, mean_prediction_by_sum, misread_digits, saliency
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


def test_misread_digits_groups_wrong_readings_by_their_source_digit():
    digits = np.array([[3, 3, 3, 8, -1], [3, 8, 5, 5, 2]])
    read = np.array([[5, 5, 3, 0, -2], [5, 8, -1, 6, 7]])  # -1: missed, -2: padding
    ids = np.array([[10, 10, 10, 4, -1], [10, 4, 9, -1, 7]])  # id -1: a muddled digit, left out
    m = misread_digits(digits, read, ids)
    assert m.ids.tolist() == [7, 10, 4]  # 1/1 wrong, then 3/4, then 1/2
    assert m.labels.tolist() == [2, 3, 8] and m.read.tolist() == [7, 5, 0]
    assert m.wrong.tolist() == [1, 3, 1] and m.seen.tolist() == [1, 4, 2]
    assert m.always_wrong.tolist() == [True, False, False] and len(m) == 3
    assert len(misread_digits(digits, digits, ids)) == 0  # nothing wrong, nothing listed
    with pytest.raises(ValueError, match="same size"):
        misread_digits(digits, read[:, :4], ids)
    with pytest.raises(ValueError, match="0-9"):
        misread_digits(digits, np.where(read == 7, 10, read), ids)  # 10 is no digit


def test_show_misread_titles_each_digit_with_what_was_read():
    import matplotlib.pyplot as plt

    from mnistsum.plots import show_misread

    m = misread_digits([3, 3, 8], [5, 5, 0], [1, 1, 0])
    fig = show_misread(m, np.zeros((2, 28, 28), np.uint8), cols=4)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    plt.close(fig)
    assert titles == ["#1: a 3\nread 5 · 2/2", "#0: a 8\nread 0 · 1/1"]
