"""The causal LM benchmark trains briefly on Python's docstrings and compares bits per character with xz and zstd
(timings and the model's figures are never asserted: a few seconds of training learn little)."""

import json
import shutil

import pytest


@pytest.mark.slow  # a script run end to end: `python -m pytest -m slow` (docs/development.md)
def test_causal_lm_benchmark_prints_the_compressors_beside_the_model(run_benchmark, tmp_path):
    if not (shutil.which("xz") and shutil.which("zstd")):
        pytest.skip("the peers are the xz and zstd command-line compressors")
    out = tmp_path / "causal.json"
    stdout = run_benchmark("causal_lm.py", "--minutes", "0.1", "--embedder-dim", "16", "--tower-dim", "16",
                           "--layers", "1", "--length", "64", "--batch-size", "8", "--json", str(out))
    table = [line for line in stdout.splitlines() if line.startswith("| ")]
    assert [row.split("|")[1].strip().split(",")[0] for row in table[1:]] == [
        "CausalLanguagePretrainer", "xz -9e (conditional)", "zstd --ultra -22 (conditional)"]
    bits = [float(row.split("|")[2]) for row in table[1:]]
    assert all(0 < value < 16 for value in bits)  # bits per character of held-out text
    assert json.loads(out.read_text())  # the results, also as JSON
