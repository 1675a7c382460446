"""The second opinion: notebook 06's classifier slid over the canvas, and its vote with the detector."""

import keras
import numpy as np
import pytest

from mnistsum.classifier import build_digit_classifier
from mnistsum.detector import BACKGROUND, STRIDE, build_detector, decode
from mnistsum.generator import PATCH, CanvasConfig, generate
from mnistsum.second_opinion import Vote, choose_weight, classifier_grid, parts, with_second_opinion


@pytest.fixture(scope="module")
def canvas():
    return generate(CanvasConfig(split="test"), seed=0, indices=[0, 1]).images


@pytest.fixture(scope="module")
def classifier():
    keras.utils.set_random_seed(0)
    return build_digit_classifier()


def test_the_classifier_grid_is_the_classifier_on_each_cleaned_window(canvas, classifier):
    grid = classifier_grid(classifier).predict(canvas, verbose=0)
    assert grid.shape == (2, 26, 26, 10)
    for n, cy, cx in [(0, 0, 0), (1, 9, 15), (0, 25, 25)]:
        y, x = cy * STRIDE, cx * STRIDE
        window = np.clip((canvas[n: n + 1, y: y + PATCH, x: x + PATCH] - 0.1) / 0.8, 0, 1)
        np.testing.assert_allclose(classifier.predict(window, verbose=0)[0], grid[n, cy, cx], atol=1e-5)


def test_the_vote_multiplies_the_digit_opinions_and_keeps_the_background():
    detector = np.array([[0.6, 0.2] + [0.0] * 8 + [0.2]], np.float32)  # 0.6 for a 0, 0.2 for a 1, 0.2 background
    classifier = np.array([[0.1, 0.9] + [0.0] * 8], np.float32)
    voted = keras.ops.convert_to_numpy(Vote(1.0)(detector, classifier))[0]
    assert voted[BACKGROUND] == pytest.approx(0.2)
    assert voted[:2] / voted[:2].sum() == pytest.approx([0.06 / 0.24, 0.18 / 0.24], rel=1e-4)  # 0.6*0.1 : 0.2*0.9
    alone = keras.ops.convert_to_numpy(Vote(0.0)(detector, classifier))[0]
    np.testing.assert_allclose(alone, detector[0], atol=1e-5)
    with pytest.raises(ValueError, match="weight"):
        Vote(-1.0)


def test_the_combined_model_saves_reloads_and_gives_back_its_parts(canvas, classifier, tmp_path):
    detector = build_detector()
    combined = with_second_opinion(detector, classifier_grid(classifier), 0.5)
    before = combined.predict(canvas, verbose=0)
    assert before.shape == (2, 26, 26, 11)
    np.testing.assert_allclose(before.sum(-1), 1.0, atol=1e-5)
    combined.save(tmp_path / "best.keras")
    again = keras.models.load_model(tmp_path / "best.keras")
    np.testing.assert_allclose(again.predict(canvas, verbose=0), before, atol=1e-6)
    clone = type(combined).from_config(combined.get_config())  # as zoo.ship() saves it, without the optimizer
    clone.set_weights(combined.get_weights())
    np.testing.assert_allclose(clone.predict(canvas, verbose=0), before, atol=1e-6)
    det, grid, weight = parts(again)
    assert weight == 0.5 and grid is not None
    np.testing.assert_allclose(det.predict(canvas, verbose=0), detector.predict(canvas, verbose=0), atol=1e-6)
    assert parts(detector) == (detector, None, 0.0)


def test_choose_weight_picks_the_most_accurate_and_names_bad_shapes():
    detector = np.zeros((2, 1, 1, 11), np.float32)
    detector[..., 3], detector[..., 8] = 0.5, 0.4  # the detector reads a 3, a bit more than an 8
    classifier = np.zeros((2, 1, 1, 10), np.float32)
    classifier[..., 8], classifier[..., 3] = 0.9, 0.1  # the classifier is sure it is an 8
    weight, scores = choose_weight(detector, classifier, np.array([8, 8]), weights=(0.0, 1.0, 2.0))
    assert scores == {0.0: 0.0, 1.0: 1.0, 2.0: 1.0} and weight == 1.0
    assert decode(detector).sums.tolist() == [3, 3]
    with pytest.raises(ValueError, match="same canvases"):
        choose_weight(detector, classifier[:1], np.array([8, 8]))
