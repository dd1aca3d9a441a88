"""The prediction-speed benchmark runs on this machine's real text and prints its table (timings are never asserted)."""

import pathlib
import subprocess
import sys

import pytest

SCRIPT = pathlib.Path(__file__).parents[2] / "benchmarks" / "predict_speed.py"


@pytest.mark.slow  # a script run end to end: `python -m pytest -m slow` (docs/development.md)
def test_predict_speed_benchmark_prints_a_row_per_batch_and_the_ratios():
    # The topic task reads Python's own standard library, so it runs on any machine.
    result = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--tasks", "topic"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "default TextClassifier on the starter composition" in out
    header = next(line for line in out.splitlines() if line.startswith("texts per call"))
    assert all(column in header for column in ("predict", "SavedModel", "TF-IDF + LR", "predict / TF-IDF"))
    rows = [line.split() for line in out.splitlines() if line.split()[:1] in (["1"], ["32"], ["all"])]
    assert [row[0] for row in rows] == ["1", "32", "all"] and all(row[-1].endswith("x") for row in rows)
    assert "the head reads" in out and "one text, median ms: predict" in out
    assert "retracing" not in result.stderr
