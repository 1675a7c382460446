"""The set-up every notebook runs first: versions, hardware, data source."""

from __future__ import annotations

import sys

MIN_VERSIONS = {"tensorflow": "2.16", "keras": "3.3", "numpy": "1.26", "matplotlib": "3.8"}


def _version_tuple(version: str) -> tuple[int, ...]:
    parts = []
    for piece in version.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def check_versions() -> dict[str, str]:
    """Import the course's libraries and fail clearly if one is too old.

    >>> sorted(check_versions())[:2]
    ['keras', 'matplotlib']
    """
    import importlib

    found = {}
    for name, minimum in MIN_VERSIONS.items():
        version = importlib.import_module(name).__version__
        if _version_tuple(version) < _version_tuple(minimum):
            raise RuntimeError(f"{name} {version} is too old: the course needs {name} >= {minimum}. "
                               f'Run: pip install -U "{name}>={minimum}"')
        found[name] = version
    return found


def gpu_advice() -> str:
    """One line on the accelerator, with advice when there is none."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        return f"GPU: {len(gpus)} found ({', '.join(g.name for g in gpus)}); full runs are practical."
    return ("No GPU: fine for reading and for quick mode (MNISTSUM_QUICK=1); for full training use "
            "Colab (Runtime > Change runtime type > GPU) or expect hours on a CPU.")


def setup() -> None:
    """Print versions, the accelerator, the data source and the mode.

    It also hides TensorFlow's "retracing" warnings: they are performance hints for library authors, appear
    at random points (when many ``predict`` calls see new batch shapes) and would break nbval's exact checks.
    """
    import tensorflow as tf

    from mnistsum import __version__
    from mnistsum.data import data_source
    from mnistsum.quick import is_quick

    tf.get_logger().setLevel("ERROR")
    versions = check_versions()
    print(f"Python {sys.version.split()[0]}, mnistsum {__version__}, "
          + ", ".join(f"{k} {v}" for k, v in versions.items()))
    print(gpu_advice())
    print(f"Data: {data_source()}")
    print("Mode:", "QUICK (CI smoke test: tiny budgets, numbers mean nothing)" if is_quick()
          else "full (the real recipes)")
