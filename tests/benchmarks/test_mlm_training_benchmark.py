"""The training benchmark runs and prints its table (timings are never asserted)."""

import pathlib
import subprocess
import sys

import pytest

SCRIPT = pathlib.Path(__file__).parents[2] / "benchmarks" / "mlm_training.py"


@pytest.mark.slow  # a script run end to end: `python -m pytest -m slow` (docs/development.md)
def test_mlm_training_benchmark_prints_every_row():
    result = subprocess.run([sys.executable, str(SCRIPT), "--quick"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    for row in (
        "input pipeline alone", "default tower, length 64", "default tower, length 256", "plain transformer",
        "sampled softmax", "full softmax",
    ):
        assert row in result.stdout
