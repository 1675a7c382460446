"""Recorded results and the README table generated from them."""

from pathlib import Path

import pytest

from mnistsum.results import (TABLE_END, TABLE_START, describe, load_results, results_table, stress_table,
                              update_readme)
from mnistsum.stress import load_result as load_stress_result

ROOT = Path(__file__).resolve().parents[1]
RECORD = {"model": "m", "sum_accuracy": 0.3012, "mae": 1.234, "params": 1234,
          "benchmark": {"split": "test", "seed": 1, "n": 10_000},
          "budget": {"epochs": 3, "images_per_epoch": 10, "batch_size": 2, "val_images": 2, "images_seen": 30},
          "wall_time_s": 7200.0, "hardware": "CPU", "date": "2026-11-24", "command": "x", "quick": False}


def test_table_and_description():
    table = results_table([RECORD])
    assert "| m | 30.12% | 1.23 | 1,234 | 30 | 2.0 h | CPU |" in table
    assert describe(RECORD).startswith("m: sum accuracy 30.12%, MAE 1.23 on 10,000 benchmark images, after 30")
    mixed = {**RECORD, "budget": {**RECORD["budget"], "precision": "mixed_bfloat16"}}
    assert "| 2.0 h | CPU, mixed_bfloat16 |" in results_table([mixed])
    assert describe(mixed).endswith("in 2.0 h on CPU, mixed_bfloat16 (2026-11-24).")


def test_update_readme_replaces_only_the_table(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{TABLE_START}\nold\n{TABLE_END}\noutro\n")
    assert update_readme(readme, [RECORD])
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("outro\n") and "old" not in text
    assert not update_readme(readme, [RECORD])
    readme.write_text("no markers")
    with pytest.raises(ValueError, match="no markers for this table"):
        update_readme(readme, [RECORD])


def test_committed_results_are_real_runs_and_the_readme_is_up_to_date():
    records = load_results(ROOT / "results")
    assert all(not r["quick"] for r in records), "quick-mode results must never be recorded"
    text = (ROOT / "README.md").read_text()
    assert results_table(records) in text, "run `python -m mnistsum results-table`"
    stress = load_stress_result()
    assert stress is not None, "results/stress_test.json: run notebook 10 in full (MNISTSUM_QUICK=0)"
    assert stress_table(stress) in text, "run `python -m mnistsum results-table`"


def test_gpus_are_named_by_the_driver_when_tensorflow_cannot(tmp_path, monkeypatch):
    from mnistsum.results import _nvidia_gpus

    monkeypatch.setenv("PATH", str(tmp_path))
    assert _nvidia_gpus() == [], "no nvidia-smi: no GPU"
    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\necho 'NVIDIA H200'\n")
    fake.chmod(0o755)
    assert _nvidia_gpus() == ["NVIDIA H200"]


def _headline(record: dict) -> str:
    """How MODELS.md quotes a record's main score."""
    if "test_mse" in record:
        return f"reconstruction MSE {record['test_mse']:.4f}"
    return f"{record.get('sum_accuracy') or record['test_accuracy']:.2%}"


def test_models_md_has_a_section_for_every_model_that_quotes_its_recorded_score():
    from mnistsum.zoo import OTHER_SHIPPED, ZOO, shipped_record

    sections = {part.split(":")[0].split(" (")[0].strip(): part
                for part in (ROOT / "MODELS.md").read_text().split("\n## ")[1:]}
    records = {name: shipped_record(name) for name in [*ZOO, *OTHER_SHIPPED] if name != "reader"}
    records["baseline"] = next(r for r in load_results(ROOT / "results") if r["model"] == "baseline")
    assert set(sections) == set(records), "one MODELS.md section (## name: ...) per model"
    for name, record in records.items():
        assert _headline(record) in sections[name], f"MODELS.md's {name} section must quote {_headline(record)}"
