"""Every example runs end to end on small data (timings and accuracy are not asserted)."""

import pathlib
import subprocess
import sys

EXAMPLES = pathlib.Path(__file__).parents[1] / "examples"


def test_pretrain_mlm_example_prints_the_comparison():
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "pretrain_mlm.py"), "--tiny", "--minutes", "0.1"],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for row in ("model", "most frequent character", "character n-gram"):
        assert row in result.stdout
    assert "evaluated on" in result.stdout


def test_evaluate_premise_example_prints_the_table():
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "evaluate_premise.py"), "--quick"],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for row in ("TF-IDF char 1-4-grams + LR", "random init, same architecture",
                "pretrained composition (frozen)", "pretrained composition, fine-tuned",
                "distilled student (frozen)"):
        assert result.stdout.count(row) >= 1, row
    assert "10% typos" in result.stdout
    assert "student / teacher:" in result.stdout


def test_noise_robustness_example_writes_both_reports(tmp_path):
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "noise_robustness.py"), "--quick", "--output", str(tmp_path)],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "trained on clean text" in result.stdout and "trained with typos" in result.stdout
    import json

    augmented = json.loads((tmp_path / "noise-augmented.json").read_text())
    assert augmented["rates"] == [0.0, 0.05, 0.1, 0.2] and augmented["extra"]["augmentation"].startswith("Augmentor(")
    assert (tmp_path / "noise-clean.json").is_file()
