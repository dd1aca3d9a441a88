"""benchmarks/meaning_speed.py runs and prints a row per English task (timings are never asserted)."""

import pathlib
import shutil
import subprocess
import sys

import pytest

SCRIPT = pathlib.Path(__file__).parents[2] / "benchmarks" / "meaning_speed.py"


@pytest.mark.skipif(shutil.which("apt-cache") is None, reason="the package task needs Debian's package lists")
@pytest.mark.slow  # a script run end to end: `python -m pytest -m slow` (docs/development.md)
def test_meaning_speed_benchmark_prints_a_row_per_task():
    result = subprocess.run([sys.executable, str(SCRIPT), "--quick"], check=False, capture_output=True, text=True, timeout=600)
    if "package lists are empty" in result.stderr:
        pytest.skip("no package lists (apt-get update never ran)")
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    assert lines[0].split()[:2] == ["task", "texts"]
    assert [line.split()[0] for line in lines[1:]] == ["topic", "package"]
    assert all(line.endswith("x") or "(not installed)" in line for line in lines[1:])
