"""The benchmark script runs and prints its table (timings are never asserted)."""

import pathlib
import subprocess
import sys

SCRIPT = pathlib.Path(__file__).parents[2] / "benchmarks" / "preprocess.py"


def test_preprocess_benchmark_prints_every_method():
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-2000:]
    for method in ("cclm encode", "HF BPE encode_batch", "per-character loop", "in-graph layer"):
        assert method in result.stdout
    assert "encode is x faster" in result.stdout
    assert "NFC whole text s" in result.stdout and "20,000" in result.stdout
