"""Mixed precision: the same model, its arithmetic in 16-bit floats, its weights still in 32.

On a CPU with Intel AMX (Xeon "Sapphire Rapids" and later) or a GPU with bfloat16 units (A100, H100), the
convolutions run several times faster in ``mixed_bfloat16``: the course's machine, an Intel Xeon with 2
cores, trained the baseline at about 148 images a second instead of 37. Without such units expect no gain:
a Colab T4 has none for bfloat16 (``mixed_float16`` is its fast mode). The output that is scored stays in
float32 (the baseline's builder asks for it), since above 32 a bfloat16 number moves in steps of a quarter.

>>> import keras
>>> with precision("mixed_bfloat16"):
...     keras.mixed_precision.global_policy().name
'mixed_bfloat16'
>>> keras.mixed_precision.global_policy().name
'float32'
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

#: The policies a model can train under: ``float32`` (Keras's default) and the two mixed ones.
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


@contextmanager
def precision(policy: str) -> Iterator[None]:
    """Build (and train) models under ``policy``, one of :data:`PRECISIONS`; restore the previous one after."""
    if policy not in PRECISIONS:
        raise ValueError(f"precision={policy!r} is invalid: it must be one of {PRECISIONS}.")
    import keras  # here, so that the command line can list PRECISIONS without loading Keras
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)
