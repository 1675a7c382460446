"""Where the generator's time goes: the stage profile behind `python -m mnistsum bench --profile`."""

import pytest

from mnistsum.generator import CanvasConfig
from mnistsum.speed import GENERATOR_STAGES, profile_generator


def test_profile_accounts_for_every_stage_of_generate():
    profile = profile_generator(batches=3, batch_size=16, config=CanvasConfig(split="test"))
    assert all(profile[name] > 0 for name in (*GENERATOR_STAGES, "total", "sfc64"))
    assert 0 <= profile["other"] < profile["total"]  # the stages run inside generate, and take time


def test_profile_refuses_an_empty_run():
    with pytest.raises(ValueError, match="at least 1"):
        profile_generator(batches=0)
