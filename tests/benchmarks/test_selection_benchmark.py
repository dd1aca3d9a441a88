"""The selection benchmark runs on this machine's message catalogs and prints its table (timings never asserted)."""

import pytest


@pytest.mark.slow  # a script run end to end: `python -m pytest -m slow` (docs/development.md)
def test_selection_benchmark_prints_a_row_per_way_of_choosing(run_benchmark):
    lines = run_benchmark("selection.py", "--quick", needs_locales=True).splitlines()
    rows = {name: line for line in lines for name in ("random", "cclm select_diverse", "TF-IDF k-means")
            if line.startswith(name)}
    assert len(rows) == 3
    for line in rows.values():  # "cclm / TF-IDF+LR" accuracies in %
        cclm, peer = (float(cell) for cell in line.split()[-3::2])
        assert 0 <= cclm <= 100 and 0 <= peer <= 100
