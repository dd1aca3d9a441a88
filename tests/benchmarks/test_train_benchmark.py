"""The training-speed benchmark runs and prints its table (timings are never asserted)."""

import pathlib
import subprocess
import sys

import pytest

SCRIPT = pathlib.Path(__file__).parents[2] / "benchmarks" / "train.py"


@pytest.mark.slow  # a script run end to end: `python -m pytest -m slow` (docs/development.md)
def test_train_benchmark_prints_a_row_per_setting():
    result = subprocess.run([sys.executable, str(SCRIPT), "--quick"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line for line in result.stdout.splitlines() if line.endswith(tuple("0123456789")) and "x " in line]
    assert [row.split()[0] for row in rows] == ["float32", "mixed_bfloat16"]  # --quick: the two extremes
    assert "XLA" not in rows[0] and "XLA" in rows[1]
