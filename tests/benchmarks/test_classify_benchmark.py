"""The prediction-speed benchmark runs and prints its table (timings are never asserted)."""

import pathlib
import subprocess
import sys

SCRIPT = pathlib.Path(__file__).parents[2] / "benchmarks" / "classify.py"


def test_classify_benchmark_prints_a_row_per_text_kind_path_and_reach():
    result = subprocess.run([sys.executable, str(SCRIPT), "--quick"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line.split() for line in result.stdout.splitlines() if line.endswith("x") and line[:5] in ("short", "long ")]
    assert [(row[0], row[1]) for row in rows] == [(kind, way) for kind in ("short", "long")
                                                  for way in ("predict", "strings") for _ in range(2)]
    assert all(row[-1] == "1.00x" for row in rows[::2])  # each window row is its own reference
