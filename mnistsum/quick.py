"""The course's single smoke-test switch, ``MNISTSUM_QUICK``.

Every notebook and command asks :func:`is_quick` (and nothing else reads the
variable), so setting ``MNISTSUM_QUICK=1`` shrinks epochs, steps and sample
counts everywhere at once while every cell still runs. Unset or ``0`` means a
full run. Under ``pytest`` the repository's ``conftest.py`` defaults it to 1.
"""

from __future__ import annotations

import os

ENV_VAR = "MNISTSUM_QUICK"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def is_quick() -> bool:
    """Return True when ``MNISTSUM_QUICK`` asks for the quick (CI) mode."""
    value = os.environ.get(ENV_VAR, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(
        f"{ENV_VAR}={value!r} is not understood: use 1 (quick CI mode) or 0 (full run)."
    )


def pick(full, quick):
    """Return ``quick`` in quick mode and ``full`` otherwise.

    >>> pick(full=10_000, quick=64) == (64 if is_quick() else 10_000)
    True
    """
    return quick if is_quick() else full
