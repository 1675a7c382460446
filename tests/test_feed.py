"""Training batches made in worker processes: the same data as in one process, and as GridDataset's."""

import numpy as np
import pytest

from mnistsum.detector import GridDataset
from mnistsum.feed import grid_batch, grid_batches
from mnistsum.generator import CanvasConfig
from mnistsum.grid import BACKGROUND, grid_labels


def _same(a, b) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_grid_batches_are_the_same_with_any_number_of_workers():
    config = CanvasConfig(split="val")
    one, two = grid_batches(config, 5, 4), grid_batches(config, 5, 4, workers=2, first=1)
    first = next(one)
    try:
        for _ in range(3):
            assert _same(next(one), next(two))
    finally:
        two.close()
    assert not _same(first, grid_batch(config, 5, 1, 4)), "each batch holds canvases of its own"


def test_grid_batches_match_the_keras_dataset_and_label_every_cell():
    config = CanvasConfig(split="train")
    dataset = GridDataset(config, 7, 12, 4)
    batches = grid_batches(config, 7, 4)
    for index in range(3):
        images, labels, weights = next(batches)
        assert _same((images, labels, weights), dataset[index])
    assert labels.shape == (4, 26, 26) and set(np.unique(weights)) <= {0.0, 1.0}
    assert ((labels == BACKGROUND) | (labels < 10)).all() and (labels[weights == 0] == 0).all()
    assert (weights == 0).any(), "cells 3 pixels off a digit are left out"


def test_grid_labels_can_be_made_without_keras():
    import subprocess
    import sys

    code = ("import sys, mnistsum.feed, mnistsum.grid; "
            "sys.exit('keras' in sys.modules or 'tensorflow' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0, "workers must not import Keras"
    assert grid_labels.__module__ == "mnistsum.grid"


@pytest.mark.parametrize("kwargs", [{"workers": 0}, {"batch_size": 0}])
def test_grid_batches_reject_bad_sizes(kwargs):
    args = {"config": CanvasConfig(split="val"), "seed": 1, "batch_size": 2, **kwargs}
    with pytest.raises(ValueError, match="workers >= 1 and batch_size >= 1"):
        next(grid_batches(**args))
