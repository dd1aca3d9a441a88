"""The selection benchmark runs on this machine's message catalogs and prints its table (timings never asserted)."""

import pathlib
import subprocess
import sys

import pytest

SCRIPT = pathlib.Path(__file__).parents[2] / "benchmarks" / "selection.py"


@pytest.mark.slow  # a script run end to end: `python -m pytest -m slow` (docs/development.md)
def test_selection_benchmark_prints_a_row_per_way_of_choosing():
    if not pathlib.Path("/usr/share/locale").is_dir():
        pytest.skip("the language task reads Debian's message catalogs under /usr/share/locale")
    result = subprocess.run([sys.executable, str(SCRIPT), "--quick"], capture_output=True, text=True, timeout=600,
                            check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    rows = {name: line for line in lines for name in ("random", "cclm select_diverse", "TF-IDF k-means")
            if line.startswith(name)}
    assert len(rows) == 3
    for line in rows.values():  # "cclm / TF-IDF+LR" accuracies in %
        cclm, peer = (float(cell) for cell in line.split()[-3::2])
        assert 0 <= cclm <= 100 and 0 <= peer <= 100
