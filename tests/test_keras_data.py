"""Keras feeding: PyDataset with workers and processes, tf.data, epochs of fresh data."""

import keras
import numpy as np
import pytest

from mnistsum.generator import CanvasConfig, generate
from mnistsum.keras_data import CanvasDataset, make_tf_dataset

VAL = CanvasConfig(split="val")


def pixel_sum_model() -> keras.Model:
    """A deterministic 'model' whose output fingerprints each input image."""
    inputs = keras.Input((128, 128, 1))
    outputs = keras.layers.Lambda(lambda x: keras.ops.sum(x, axis=(1, 2)))(inputs)
    return keras.Model(inputs, outputs)


def test_len_getitem_and_last_partial_batch():
    ds = CanvasDataset(VAL, seed=3, n_samples=10, batch_size=4)
    assert len(ds) == ds.num_batches == 3
    x, y = ds[2]
    assert x.shape == (2, 128, 128, 1) and y.shape == (2, 1) and y.dtype == np.float32
    reference = generate(VAL, 3, [8, 9])
    np.testing.assert_array_equal(x, reference.images)
    np.testing.assert_array_equal(y[:, 0], reference.sums)
    with pytest.raises(IndexError):
        ds.batch(3)


@pytest.mark.parametrize("workers, processes", [(2, False), (2, True)])
def test_workers_and_processes_serve_identical_data(workers, processes):
    model = pixel_sum_model()
    plain = model.predict(CanvasDataset(VAL, 5, 48, 8), verbose=0)
    parallel = model.predict(CanvasDataset(VAL, 5, 48, 8, workers=workers, use_multiprocessing=processes),
                             verbose=0)
    np.testing.assert_array_equal(parallel, plain)
    expected = generate(VAL, 5, range(48)).images.sum(axis=(1, 2))
    np.testing.assert_allclose(plain, expected, rtol=1e-5)


def test_tf_data_matches_pydataset():
    ds = CanvasDataset(VAL, 11, 20, 8)
    for (x, y), k in zip(make_tf_dataset(VAL, 11, 20, 8, parallel_calls=2), range(len(ds))):
        np.testing.assert_array_equal(x.numpy(), ds[k][0])
        np.testing.assert_array_equal(y.numpy(), ds[k][1])


def test_fresh_each_epoch_moves_on_to_new_samples():
    ds = CanvasDataset(VAL, 1, 8, 4, fresh_each_epoch=True)
    first = ds.batch(0).indices
    ds.on_epoch_end()
    assert list(ds.batch(0).indices) == [8, 9, 10, 11] and list(first) == [0, 1, 2, 3]
    fixed = CanvasDataset(VAL, 1, 8, 4)
    fixed.on_epoch_end()
    assert list(fixed.batch(0).indices) == [0, 1, 2, 3]


def test_fit_runs_on_the_dataset():
    model = keras.Sequential([keras.Input((128, 128, 1)), keras.layers.AveragePooling2D(16),
                              keras.layers.Flatten(), keras.layers.Dense(1)])
    model.compile("adam", "mse")
    history = model.fit(CanvasDataset(VAL, 0, 16, 8, fresh_each_epoch=True), epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
