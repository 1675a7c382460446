"""Training batches made in worker processes: the same data as in one process, and as GridDataset's."""

import numpy as np
import pytest

from mnistsum.detector import GridDataset
from mnistsum.feed import canvas_batch, canvas_batches, fixed_batches, sum_target
from mnistsum.generator import CanvasConfig, generate
from mnistsum.grid import BACKGROUND, grid_labels


def _same(a, b) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_canvas_batches_are_the_same_with_any_number_of_workers():
    config = CanvasConfig(split="val")
    one, two = canvas_batches(config, 5, 4), canvas_batches(config, 5, 4, workers=2, first=1)
    first = next(one)
    try:
        for _ in range(3):
            assert _same(next(one), next(two))
    finally:
        two.close()
    assert not _same(first, canvas_batch(config, 5, 1, 4)), "each batch holds canvases of its own"


def test_canvas_batches_match_the_keras_dataset_and_label_every_cell():
    config = CanvasConfig(split="train")
    dataset = GridDataset(config, 7, 12, 4)
    batches = canvas_batches(config, 7, 4)
    for index in range(3):
        images, labels, weights = next(batches)
        assert _same((images, labels, weights), dataset[index])
    assert labels.shape == (4, 26, 26) and set(np.unique(weights)) <= {0.0, 1.0}
    assert ((labels == BACKGROUND) | (labels < 10)).all() and (labels[weights == 0] == 0).all()
    assert (weights == 0).any(), "cells 3 pixels off a digit are left out"


def test_sum_targets_and_a_fixed_set_are_the_stream_s_first_canvases():
    config = CanvasConfig(split="val", variable_digits=True)
    images, sums = fixed_batches(config, 3, 10, 4, sum_target)
    truth = generate(config, 3, np.arange(12))
    assert images.shape == (12, 128, 128, 1), "rounded up to whole batches"
    np.testing.assert_array_equal(images, truth.images)
    assert sums.dtype == np.float32 and sums.shape == (12, 1) and (sums[:, 0] == truth.sums).all()
    in_workers = canvas_batches(config, 3, 4, sum_target, workers=2)
    try:
        assert _same(next(in_workers), (images[:4], sums[:4]))
    finally:
        in_workers.close()


def test_grid_labels_can_be_made_without_keras():
    import subprocess
    import sys

    code = ("import sys, mnistsum.feed, mnistsum.grid; "
            "sys.exit('keras' in sys.modules or 'tensorflow' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0, "workers must not import Keras"
    assert grid_labels.__module__ == "mnistsum.grid"


@pytest.mark.parametrize("kwargs", [{"workers": 0}, {"batch_size": 0}])
def test_canvas_batches_reject_bad_sizes(kwargs):
    args = {"config": CanvasConfig(split="val"), "seed": 1, "batch_size": 2, **kwargs}
    with pytest.raises(ValueError, match="workers >= 1 and batch_size >= 1"):
        next(canvas_batches(**args))
