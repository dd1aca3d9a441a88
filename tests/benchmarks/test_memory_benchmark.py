"""The memory benchmark runs and prints its table (memory figures are never asserted)."""

import pathlib
import subprocess
import sys

import pytest

SCRIPT = pathlib.Path(__file__).parents[2] / "benchmarks" / "memory.py"


@pytest.mark.slow  # a script run end to end: `python -m pytest -m slow` (docs/development.md)
def test_memory_benchmark_prints_both_corpus_sizes_and_their_ratio():
    result = subprocess.run([sys.executable, str(SCRIPT), "--quick"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line for line in result.stdout.splitlines() if line.startswith("text file, streamed")]
    assert [row.split()[3] for row in rows] == ["100", "1,000"]  # documents trained on: every line, once
    assert rows[1].endswith("x")
