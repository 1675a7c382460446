"""The command line: generate, bench, errors."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mnistsum.cli import main
from mnistsum.generator import CanvasConfig, generate

ROOT = Path(__file__).resolve().parents[1]


def test_generate_writes_the_documented_npz(tmp_path, capsys):
    out = tmp_path / "hand-out.npz"
    main(["generate", "--n", "12", "--seed", "4", "--split", "test", "--out", str(out)])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["n"] == 12
    with np.load(out) as f:
        assert f["images"].shape == (12, 128, 128, 1) and f["images"].dtype == np.float32
        assert f["sums"].shape == (12,) and f["digits"].shape == (12, 5) and f["boxes"].shape == (12, 5, 4)
        assert f["images"].min() >= 0 and f["images"].max() <= 1
        expected = generate(CanvasConfig(split="test"), 4, range(12))
        np.testing.assert_array_equal(f["images"], expected.images)
        np.testing.assert_array_equal(f["boxes"], expected.boxes)
        assert not f["muddled"].any() and float(f["muddled_share"]) == 0.0


def test_generate_hands_out_canvases_with_muddled_digits(tmp_path, capsys):
    out = tmp_path / "muddled.npz"
    main(["generate", "--n", "40", "--seed", "4", "--muddled-share", "0.5", "--muddled-per-digit", "3",
          "--out", str(out)])
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["muddled_share"] == 0.5
    plain = generate(CanvasConfig(split="test"), 4, range(40))
    with np.load(out) as f:
        assert 0.3 < f["muddled"].sum() / (f["digits"] >= 0).sum() < 0.7
        np.testing.assert_array_equal(f["boxes"], plain.boxes)  # same canvases, some digits swapped
        assert (f["sums"] == np.where(f["digits"] >= 0, f["digits"], 0).sum(1)).all()
        changed = (np.abs(f["images"] - plain.images) > 0).any(axis=(1, 2, 3))
        np.testing.assert_array_equal(changed, f["muddled"].any(axis=1))


@pytest.mark.parametrize("args, message", [
    (["generate", "--n", "0", "--seed", "1", "--out", "x.npz"], "at least one"),
    (["generate", "--n", "3", "--seed", "1", "--out", "x.txt"], "end in .npz"),
    (["generate", "--n", "3", "--seed", "-5", "--out", "x.npz"], "seed"),
    (["generate", "--n", "3", "--seed", "1", "--muddled-share", "1.5", "--out", "x.npz"], "muddled_share"),
    (["generate", "--n", "3", "--seed", "1", "--muddled-share", "0.5", "--muddled-per-digit", "0", "--out", "x.npz"],
     "at least one per class"),
    (["train", "--model", "best", "--precision", "mixed_bfloat16"], "applies to the baseline"),
])
def test_bad_arguments_say_what_to_change(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit, match=message):
        main(args)


def test_bench_prints_a_json_line_last():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-m", "mnistsum", "bench", "--rounds", "1", "--batch-size", "32",
                          "--loop-images", "10", "--profile"], capture_output=True, text=True, cwd=ROOT, env=env,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["generator_images_per_s"] > result["reference_loop_images_per_s"] > 0
    assert result["speedup"] == pytest.approx(result["generator_images_per_s"] / result["reference_loop_images_per_s"],
                                              rel=0.01)
    assert set(result["profile_us_per_canvas"]) == {"draw", "place", "paste", "render", "annotate", "other", "total",
                                                    "sfc64"}
    assert "render" in run.stdout and "per canvas" in run.stdout  # the table, before the JSON line


def test_train_in_quick_mode_never_writes_results(tmp_path, monkeypatch, capsys):
    from mnistsum import paths

    monkeypatch.setenv("MNISTSUM_QUICK", "1")
    monkeypatch.setenv(paths.MODELS_ENV, str(tmp_path))
    before = sorted(p.name for p in paths.results_dir().glob("*.json"))
    main(["train", "--model", "baseline", "--eval-images", "16", "--verbose", "0", "--precision", "mixed_bfloat16"])
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert record["quick"] is True and record["benchmark"]["n"] == 16 and record["budget"]["images_seen"] == 64
    assert record["budget"]["precision"] == "mixed_bfloat16"
    assert (tmp_path / "baseline-quick.keras").exists() and (tmp_path / "baseline-quick.json").exists()
    assert sorted(p.name for p in paths.results_dir().glob("*.json")) == before
