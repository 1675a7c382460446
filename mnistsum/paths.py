"""Where the course keeps trained models and recorded results."""

from __future__ import annotations

import os
from pathlib import Path

from mnistsum.quick import is_quick

MODELS_ENV = "MNISTSUM_MODELS_DIR"


def repo_root() -> Path | None:
    """The repository checkout the package runs from, or None when installed elsewhere."""
    root = Path(__file__).resolve().parents[1]
    return root if (root / "pyproject.toml").exists() and (root / "notebooks").is_dir() else None


def results_dir() -> Path:
    """``results/`` of the repository (else of the working directory)."""
    return (repo_root() or Path.cwd()) / "results"


def models_dir() -> Path:
    """``$MNISTSUM_MODELS_DIR``, else ``models/`` of the repository, else ``~/.cache/mnistsum/models``."""
    if os.environ.get(MODELS_ENV):
        return Path(os.environ[MODELS_ENV]).expanduser()
    root = repo_root()
    return root / "models" if root else Path.home() / ".cache" / "mnistsum" / "models"


def model_path(name: str, suffix: str = ".keras") -> Path:
    """Path of a trained model; quick-mode models get their own ``-quick`` name.

    That way a model trained in seconds by CI can never be mistaken for a real one.
    """
    return models_dir() / f"{name}{'-quick' if is_quick() else ''}{suffix}"
