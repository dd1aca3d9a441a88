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
        assert result.stdout.count(row) >= 2, row  # few-shot and all labels
    assert "10% typos" in result.stdout
    assert "student / teacher:" in result.stdout
