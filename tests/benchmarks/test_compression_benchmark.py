"""The trimming and pruning benchmark runs on this machine's message catalogs and prints its tables (timings are
never asserted)."""

import pytest


@pytest.mark.slow  # a script run end to end: `python -m pytest -m slow` (docs/development.md)
def test_compression_benchmark_prints_both_tables_and_what_each_head_reads(run_benchmark):
    out = run_benchmark("compression.py", "--quick", needs_locales=True)
    trimming = next(line for line in out.splitlines() if line.startswith("trimming: language"))
    assert "the default head reads" in trimming and "the features alone head reads" in trimming
    difference = next(line for line in out.splitlines() if line.startswith("largest probability difference"))
    values = [float(cell.split("(")[0]) for cell in difference.split("- /")[1:]]
    assert len(values) == 2 and max(values) <= 1e-5  # the trimmed classifiers predict as the starter's, both heads
    pruned = [line.split() for line in out.splitlines() if line.split()[:2] in (["0.3", "l1"], ["0.9", "l1"])]
    assert [float(row[2]) for row in pruned] == [0.3, 0.9]  # exactly the asked share of zeros
