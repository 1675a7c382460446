"""sum-only's value map: a sum of every window's expected digit value, learnt from sums alone."""

import keras
import numpy as np
import pytest

from mnistsum.generator import CanvasConfig
from mnistsum.value_map import (CURRICULUM, N_VALUES, ExpectedSum, build_value_map, predicted_sums,
                                train_value_map_for, value_probabilities)


def test_expected_sum_adds_the_expected_value_of_every_cell():
    p = np.zeros((2, 3, 3, N_VALUES), np.float32)
    p[..., 0] = 1.0
    p[0, 0, 0] = np.eye(N_VALUES)[7]
    p[0, 2, 1] = np.eye(N_VALUES)[3]
    p[1, 1, 1, [0, 9]] = 0.5  # an unsure cell: half "nothing", half a 9
    np.testing.assert_allclose(keras.ops.convert_to_numpy(ExpectedSum()(p)), [[10.0], [4.5]])


def test_the_value_map_is_fully_convolutional_and_starts_near_nothing_per_window():
    model = build_value_map(width=4)
    canvases = np.random.default_rng(0).uniform(0, 1, (2, 128, 128, 1)).astype(np.float32)
    p = keras.ops.convert_to_numpy(value_probabilities(model)(canvases))
    assert p.shape == (2, 26, 26, N_VALUES) and np.allclose(p.sum(-1), 1, atol=1e-5)
    assert p[..., 0].mean() > 0.95, "each window starts near 'adds nothing'"
    assert model(np.zeros((1, 28, 28, 1), np.float32)).shape == (1, 1), "one window is a canvas too"
    sums = predicted_sums(model, canvases)
    np.testing.assert_allclose(sums, (p * np.arange(N_VALUES)).sum(axis=(1, 2, 3)), rtol=1e-4)


def test_a_saved_value_map_reloads_and_predicts_the_same(tmp_path):
    model = build_value_map(width=4)
    canvases = np.random.default_rng(1).uniform(0, 1, (3, 64, 64, 1)).astype(np.float32)
    model.save(tmp_path / "v.keras")
    again = keras.models.load_model(tmp_path / "v.keras")
    np.testing.assert_allclose(predicted_sums(again, canvases), predicted_sums(model, canvases), rtol=1e-5)


def test_the_curriculum_ends_on_the_benchmark_recipe_and_labels_only_sums():
    untils = [until for until, _ in CURRICULUM]
    assert untils == sorted(untils) and untils[-1] == 1.0
    assert CURRICULUM[0][1].max_digits == 1 and CURRICULUM[-1][1] == CanvasConfig()
    model = build_value_map(width=4)
    history = train_value_map_for(model, seconds=3, batch_size=4, images_per_epoch=8, val_images=4, log=lambda _: None)
    assert set(history["phase"]) == {1, 2, 3}
    assert "val_sum_accuracy" in history and all(0 <= a <= 1 for a in history["val_sum_accuracy"])
    with pytest.raises(ValueError, match="seconds > 0"):
        train_value_map_for(model, seconds=0)
