"""The sum-only ResNet and its focal loss."""

import keras
import numpy as np
import pytest

from mnistsum.generator import CanvasConfig, generate
from mnistsum.resnet import N_SUMS, SMALL_TASK, build_resnet, focal_factor, residual_block, sum_classes


def test_focal_loss_is_cross_entropy_times_alpha_and_the_focal_factor():
    y = np.eye(4, dtype=np.float32)[[0, 2]]
    p = np.array([[0.7, 0.1, 0.1, 0.1], [0.2, 0.2, 0.5, 0.1]], np.float32)
    focal = keras.losses.CategoricalFocalCrossentropy(alpha=0.25, gamma=2.0, reduction=None)(y, p)
    p_true = np.array([0.7, 0.5])
    np.testing.assert_allclose(focal, 0.25 * focal_factor(p_true, 2.0) * -np.log(p_true), rtol=1e-5)


def test_targets_and_shapes():
    batch = generate(CanvasConfig(split="val"), seed=1, indices=range(6))
    targets = sum_classes(batch)
    assert targets.shape == (6, N_SUMS) and (targets.argmax(1) == batch.sums).all()
    x = keras.Input((16, 16, 8))
    assert residual_block(x, 16, 2, "b").shape == (None, 8, 8, 16)
    assert build_resnet("focal").loss.gamma == 2.0
    with pytest.raises(ValueError, match="loss"):
        build_resnet("hinge")


def test_the_small_task_is_read_by_the_same_resnet():
    batch = generate(SMALL_TASK.replace(split="val"), seed=1, indices=range(300))
    assert batch.images.shape[1:] == (64, 64, 1)
    model = build_resnet("focal", input_shape=batch.images.shape[1:])
    assert model.predict(batch.images[:4], verbose=0).shape == (4, N_SUMS)
    assert batch.n_digits.max() == 2 and 0.25 < np.mean(batch.n_digits == 0) < 0.45  # a uniform 0-2 attempted
    assert sum_classes(batch).argmax(1).max() <= 18
