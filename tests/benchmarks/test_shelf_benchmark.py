"""The shelf benchmark runs and prints its table (timings are never asserted)."""

import pathlib
import shutil
import subprocess
import sys

import pytest

SCRIPT = pathlib.Path(__file__).parents[2] / "benchmarks" / "shelf.py"


@pytest.mark.skipif(shutil.which("git-lfs") is None, reason="needs git-lfs (scripts/setup.sh installs it)")
@pytest.mark.slow  # a script run end to end: `python -m pytest -m slow` (docs/development.md)
def test_shelf_benchmark_prints_every_row():
    result = subprocess.run([sys.executable, str(SCRIPT), "--quick"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Shelf of 9 versions" in result.stdout and "publish, median of 8" in result.stdout
    for row in ("preprocessor", "embedder (100k parameters)"):
        assert row in result.stdout
