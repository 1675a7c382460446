"""sum-only's value map: every window's digit value, summed, learnt from sums alone."""

import itertools

import keras
import numpy as np
import pytest

from mnistsum.generator import CanvasConfig
from mnistsum.value_map import (CELL, CURRICULUM, N_VALUES, CellValues, ExpectedSum, SumDistribution,
                                build_value_map, most_likely_sum_model, predicted_sums, sum_distribution_model,
                                train_value_map_for, value_per_digit, value_probabilities)


def _enumerated_sum_distribution(p: np.ndarray, max_sum: int) -> np.ndarray:
    """P(sum = s) of independent windows by listing every combination of values (slow, obviously right)."""
    windows = p.reshape(-1, p.shape[-1])
    out = np.zeros(max_sum + 2)
    for values in itertools.product(range(p.shape[-1]), repeat=len(windows)):
        out[min(sum(values), max_sum + 1)] += np.prod(windows[np.arange(len(windows)), values])
    return out


@pytest.mark.parametrize("grid, max_sum", [((2, 2), 45), ((1, 3), 45), ((2, 2), 12), ((1, 1), 4)])
def test_sum_distribution_is_the_exact_distribution_of_the_sum_of_the_windows(grid, max_sum):
    p = np.random.default_rng(sum(grid) + max_sum).dirichlet(np.full(N_VALUES, 0.3), size=(2, *grid))
    got = keras.ops.convert_to_numpy(SumDistribution(max_sum)(p.astype(np.float32)))
    assert got.shape == (2, max_sum + 2)
    for canvas in range(2):
        np.testing.assert_allclose(got[canvas], _enumerated_sum_distribution(p[canvas], max_sum), atol=2e-6)
    np.testing.assert_allclose(got.sum(-1), 1, atol=1e-5)


def test_sum_distribution_refuses_an_unknown_canvas_size_and_a_bad_cap():
    with pytest.raises(ValueError, match="integer >= 0"):
        SumDistribution(max_sum=-1)
    model = most_likely_sum_model(build_value_map(width=4))
    model.predict(np.zeros((2, 56, 56, 1), np.float32), verbose=0)
    if keras.backend.backend() == "tensorflow":  # a second size makes TensorFlow relax the shape; JAX retraces
        with pytest.raises(ValueError, match="one size per model"):
            model.predict(np.zeros((2, 64, 64, 1), np.float32), verbose=0)


def _cell_values_by_hand(logits: np.ndarray, cell: int) -> np.ndarray:
    """One softmax over each block's (window, value) pairs, block by block with Python loops."""
    n, h, w, v = logits.shape
    out = np.zeros((n, -(-h // cell), -(-w // cell), v))
    for i, r, c in itertools.product(range(n), range(out.shape[1]), range(out.shape[2])):
        block = logits[i, r * cell:(r + 1) * cell, c * cell:(c + 1) * cell].reshape(-1, v).astype(np.float64)
        pairs = np.exp(block - block.max())
        out[i, r, c] = pairs.sum(0) / pairs.sum()
    return out


@pytest.mark.parametrize("grid, cell", [((9, 8), 4), ((26, 26), CELL), ((3, 3), 1)])
def test_cell_values_is_one_softmax_per_block_of_windows_even_where_blocks_are_cut_short(grid, cell):
    logits = np.random.default_rng(cell).normal(0, 3, (2, *grid, N_VALUES)).astype(np.float32)
    got = keras.ops.convert_to_numpy(CellValues(cell)(logits))
    np.testing.assert_allclose(got, _cell_values_by_hand(logits, cell), atol=1e-6)
    np.testing.assert_allclose(got.sum(-1), 1, atol=1e-5)
    with pytest.raises(ValueError, match="integer >= 1"):
        CellValues(0)


def test_a_cell_map_reads_16_cells_of_a_canvas_starts_near_the_mean_sum_and_reloads(tmp_path):
    model = build_value_map(width=4, cell=CELL)
    canvases = np.random.default_rng(3).uniform(0, 1, (2, 128, 128, 1)).astype(np.float32)
    p = keras.ops.convert_to_numpy(value_probabilities(model)(canvases))
    assert p.shape == (2, 4, 4, N_VALUES) and np.allclose(p.sum(-1), 1, atol=1e-5)
    assert value_probabilities(model)(canvases[:, :56, :56]).shape == (2, 2, 2, N_VALUES)
    assert 15 < predicted_sums(model, canvases).mean() < 35, "a blank start is near the mean sum of 22.5"
    reader = most_likely_sum_model(model)
    reader.save(tmp_path / "cells.keras")
    np.testing.assert_array_equal(predicted_sums(keras.models.load_model(tmp_path / "cells.keras"), canvases),
                                  predicted_sums(reader, canvases))
    with pytest.raises(ValueError, match="cell .*integer >= 1"):
        build_value_map(cell=0)


def test_value_per_digit_of_a_cell_map_is_the_value_of_the_cell_of_the_digits_nearest_window():
    p = np.zeros((1, 4, 4, N_VALUES))
    p[..., 0] = 1
    p[0, 0, 1] = np.eye(N_VALUES)[4]
    p[0, 3, 3] = np.eye(N_VALUES)[9]
    boxes = np.array([[[26, 0, 54, 28],  # nearest window x 26/4 -> 6, in cell 0: the 4 in cell 1 is not its value
                       [30, 0, 58, 28],  # window 8, in cell 1
                       [100, 100, 128, 128],  # window 25, in cell 3
                       [-1, -1, -1, -1]]])
    np.testing.assert_array_equal(value_per_digit(p, boxes, cell=CELL), [[0.0, 4.0, 9.0, np.nan]])
    with pytest.raises(ValueError, match="value_per_digit cell .*integer >= 1"):
        value_per_digit(p, boxes, cell=0)


def _brightness_map() -> keras.Model:
    """A stand-in value map whose windows say "nothing" on black and lean to 9 the brighter they are."""
    inputs = keras.Input((None, None, 1), name="canvas")
    logits = keras.layers.Conv2D(N_VALUES, 28, strides=4, name="value_logits")
    outputs = keras.layers.Softmax(name="values")(logits(inputs))
    model = keras.Model(inputs, outputs)
    values = np.arange(N_VALUES, dtype=np.float32)
    logits.set_weights([np.broadcast_to(values * 20 / 784, (28, 28, 1, N_VALUES)), -10 * values])
    return model


def test_the_most_likely_sum_is_the_mode_of_the_maps_sum_distribution(tmp_path):
    value_map = _brightness_map()
    canvases = np.random.default_rng(2).uniform(0, 1, (4, 56, 56, 1)).astype(np.float32)
    canvases *= np.array([0.0, 0.75, 0.85, 1.0], np.float32)[:, None, None, None]  # sums 0, a few, more, > 45
    distribution = keras.ops.convert_to_numpy(sum_distribution_model(value_map, canvas_size=56)(canvases))
    model = most_likely_sum_model(value_map)
    sums = predicted_sums(model, canvases)
    np.testing.assert_array_equal(sums, distribution.argmax(-1))
    assert sums[0] == 0 and sums[-1] == 46 and len(set(sums.tolist())) > 2, sums
    assert value_probabilities(model)(canvases).shape == (4, 8, 8, N_VALUES)
    model.save(tmp_path / "m.keras")
    np.testing.assert_array_equal(predicted_sums(keras.models.load_model(tmp_path / "m.keras"), canvases), sums)


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


@pytest.mark.parametrize("objective, cell", [("likelihood", CELL), ("likelihood", 1), ("mse", 1)])
def test_the_curriculum_ends_on_the_benchmark_recipe_and_labels_only_sums(objective, cell):
    untils = [until for until, _ in CURRICULUM]
    assert untils == sorted(untils) and untils[-1] == 1.0
    assert CURRICULUM[0][1].max_digits == 1 and CURRICULUM[-1][1] == CanvasConfig()
    model = build_value_map(width=4, cell=cell)
    before = model.get_layer("conv1").get_weights()[0].copy()
    history = train_value_map_for(model, seconds=3, batch_size=4, images_per_epoch=8, val_images=4,
                                  objective=objective, log=lambda _: None)
    assert set(history["phase"]) == {1, 2, 3}
    assert "val_sum_accuracy" in history and all(0 <= a <= 1 for a in history["val_sum_accuracy"])
    assert not np.allclose(model.get_layer("conv1").get_weights()[0], before), "the value map's own weights train"
    with pytest.raises(ValueError, match="seconds > 0"):
        train_value_map_for(model, seconds=0)
    with pytest.raises(ValueError, match="objective='sum'"):
        train_value_map_for(model, seconds=1, objective="sum")
    with pytest.raises(ValueError, match="from_phase=4 .* has 3 phases"):
        train_value_map_for(model, seconds=1, from_phase=4)
    with pytest.raises(ValueError, match="from_phase=0 .*integer >= 1"):
        train_value_map_for(model, seconds=1, from_phase=0)
