"""Data loading: checksums, the offline mirror, and clear errors when there is no data."""

import gzip
import pickle
import urllib.error

import numpy as np
import pytest

from mnistsum import data, mirror


@pytest.fixture
def no_data(tmp_path, monkeypatch):
    """No mirror anywhere and no network: every source fails."""
    monkeypatch.delenv(data.DATA_DIR_ENV, raising=False)
    monkeypatch.setattr(data, "DEFAULT_MIRROR", tmp_path / "nothing")
    data._load.cache_clear()

    def offline(*args, **kwargs):
        raise urllib.error.URLError(OSError(-3, "Temporary failure in name resolution"))

    import keras

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", offline)
    yield
    data._load.cache_clear()


def test_loaders_give_verified_keras_layout():
    (x_train, y_train), (x_test, y_test) = data.load_mnist()
    assert x_train.shape == (60_000, 28, 28) and x_test.shape == (10_000, 28, 28)
    assert y_train.shape == (60_000,) and x_train.dtype == np.uint8 and y_train.dtype == np.uint8
    assert list(y_train[:10]) == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]  # the famous first MNIST labels
    assert abs(x_train.mean() / 255 - 0.1307) < 1e-4  # the famous MNIST mean
    (fx_train, fy_train), (fx_test, _) = data.load_fashion_mnist()
    assert fx_train.shape == (60_000, 28, 28) and fx_test.shape == (10_000, 28, 28)
    assert np.bincount(fy_train).tolist() == [6000] * 10
    assert not x_train.flags.writeable  # shared arrays cannot be changed by accident


def test_checksum_catches_a_single_changed_pixel():
    (x_train, y_train), (x_test, y_test) = data.load_mnist()
    arrays = {"x_train": x_train.copy(), "y_train": y_train, "x_test": x_test, "y_test": y_test}
    data.verify("mnist", arrays, "test")
    arrays["x_train"][123, 14, 14] ^= 1
    with pytest.raises(data.ChecksumError, match="x_train .*does not match"):
        data.verify("mnist", arrays, "test")


def test_checksum_rejects_wrong_dtype():
    (x_train, y_train), (x_test, y_test) = data.load_mnist()
    arrays = {"x_train": x_train.astype(np.float32), "y_train": y_train, "x_test": x_test, "y_test": y_test}
    with pytest.raises(data.ChecksumError, match="dtype float32"):
        data.verify("mnist", arrays, "test")


def test_offline_without_data_gives_instructions_not_a_socket_traceback(no_data):
    with pytest.raises(data.DataUnavailableError) as info:
        data.load_mnist()
    message = str(info.value)
    assert "python -m mnistsum build-mirror" in message and "MNISTSUM_DATA_DIR" in message
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_data_dir_that_lacks_files_says_which(tmp_path, monkeypatch):
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path))
    data._load.cache_clear()
    try:
        with pytest.raises(data.DataUnavailableError, match="fashion/train-images-idx3-ubyte.gz"):
            data.load_fashion_mnist()
        with pytest.raises(data.DataUnavailableError, match="mnist.npz"):
            data.load_mnist()
    finally:
        data._load.cache_clear()


def test_read_idx_gz_round_trip(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    header = bytes([0, 0, 8, 3]) + b"".join(n.to_bytes(4, "big") for n in images.shape)
    path = tmp_path / "x-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(header + images.tobytes()))
    np.testing.assert_array_equal(data.read_idx_gz(path), images)
    path.write_bytes(gzip.compress(b"\x00\x00\x0d\x03" + header[4:] + images.tobytes()))
    with pytest.raises(data.ChecksumError, match="not an unsigned-byte IDX"):
        data.read_idx_gz(path)


def test_mnist_pickle_is_checked_before_unpickling():
    evil = gzip.compress(pickle.dumps(((np.zeros(1), np.zeros(1)),) * 3))
    with pytest.raises(ValueError, match="refusing to unpickle"):
        mirror.mnist_from_pickle(evil)


def test_numpy_only_unpickler_refuses_other_globals():
    import io

    payload = pickle.dumps(print)  # any global outside numpy's array machinery
    with pytest.raises(pickle.UnpicklingError, match="refusing to load builtins.print"):
        mirror._NumpyOnlyUnpickler(io.BytesIO(payload)).load()
    arrays = pickle.dumps(np.arange(3, dtype=np.float32))
    np.testing.assert_array_equal(mirror._NumpyOnlyUnpickler(io.BytesIO(arrays)).load(), [0, 1, 2])


def test_build_mirror_reuses_a_verified_mirror(monkeypatch):
    root = data.mirror_dir()
    if root is None:
        pytest.skip("the loaders read keras.datasets here, not a mirror")

    def must_not_fetch(*args):
        raise AssertionError("a verified mirror must not be fetched again")

    monkeypatch.setattr(mirror, "fetch_mnist", must_not_fetch)
    monkeypatch.setattr(mirror, "fetch_fashion", must_not_fetch)
    assert mirror.build_mirror(root) == root
