"""The few-shot benchmark runs on this machine's real text and prints its table (figures are never asserted)."""

import pathlib
import subprocess
import sys

import pytest

SCRIPT = pathlib.Path(__file__).parents[2] / "benchmarks" / "fewshot.py"
CATALOGS = pathlib.Path("/usr/share/locale")


@pytest.mark.skipif(not list(CATALOGS.glob("sv/LC_MESSAGES/*.mo")), reason="no Debian message catalogs here")
def test_fewshot_benchmark_prints_both_tasks_and_checks_the_corpus():
    result = subprocess.run([sys.executable, str(SCRIPT), "--quick"], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert out.count("dev or test texts in it: 0") == 2  # the pretraining corpus holds no held-out text
    assert "language: 12 classes (ca, cs, da, es, gl, hr, it, nb, pt, sk, sr, sv)" in out
    assert "code: 8 classes" in out and "of MLM window positions are real characters" in out
    header = next(line for line in out.splitlines() if line.startswith("accuracy % on test (dev)"))
    assert all(column in header for column in ("language few", "language all", "code few", "code all"))
    for row in ("TF-IDF char 1-4 + LR (C on dev)", "cclm random init, frozen", "cclm MLM composition, frozen",
                "cclm contrastive composition, frozen", "cclm contrastive + MLM composition, frozen"):
        line = next(line for line in out.splitlines() if line.startswith(row))
        assert line.count("/") == 4, line  # clean / typos in each of the four columns
    assert out.count("fit seconds (few)") == 2
