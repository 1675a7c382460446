"""The one smoke-test switch, MNISTSUM_QUICK."""

import pytest

from mnistsum.quick import ENV_VAR, is_quick, pick


@pytest.mark.parametrize("value, quick", [("1", True), ("true", True), ("YES", True), ("0", False), ("", False),
                                          ("off", False)])
def test_values(monkeypatch, value, quick):
    monkeypatch.setenv(ENV_VAR, value)
    assert is_quick() is quick
    assert pick(full="full", quick="quick") == ("quick" if quick else "full")


def test_unset_means_full(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert is_quick() is False


def test_nonsense_is_an_error_that_says_what_to_use(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "maybe")
    with pytest.raises(ValueError, match="use 1 .* or 0"):
        is_quick()


def test_only_quick_py_reads_the_variable():
    from pathlib import Path

    package = Path(__file__).resolve().parents[1] / "mnistsum"
    readers = [p.name for p in package.rglob("*.py")
               if "MNISTSUM_QUICK" in p.read_text() and ("environ" in p.read_text() or "getenv" in p.read_text())]
    assert readers == ["quick.py"], readers
