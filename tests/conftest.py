"""Fixtures shared by the tests."""

import pytest


@pytest.fixture
def quick_runs(tmp_path, monkeypatch):
    """Quick mode, the trained models and their results written under ``tmp_path`` (returned)."""
    from mnistsum import paths

    monkeypatch.setenv("MNISTSUM_QUICK", "1")
    monkeypatch.setenv(paths.MODELS_ENV, str(tmp_path))
    return tmp_path
