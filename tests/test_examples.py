"""Every example runs end to end on small data (timings and accuracy are not asserted)."""

import pathlib
import subprocess
import sys

EXAMPLES = pathlib.Path(__file__).parents[1] / "examples"


def test_pretrain_mlm_example_prints_the_comparison():
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "pretrain_mlm.py"), "--tiny", "--minutes", "0.1"],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for row in ("model", "most frequent character", "character n-gram"):
        assert row in result.stdout
    assert "evaluated on" in result.stdout
