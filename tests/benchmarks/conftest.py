"""Shared by the benchmark scripts' end-to-end tests."""

import pathlib
import subprocess
import sys

import pytest

BENCHMARKS = pathlib.Path(__file__).parents[2] / "benchmarks"


@pytest.fixture
def run_benchmark():
    """Runs `benchmarks/<name>` with `args` in a fresh interpreter; returns its stdout, failing on a non-zero exit."""

    def run(name: str, *args: str, needs_locales: bool = False, timeout: int = 600) -> str:
        if needs_locales and not pathlib.Path("/usr/share/locale").is_dir():
            pytest.skip("the language task reads Debian's message catalogs under /usr/share/locale")
        result = subprocess.run([sys.executable, str(BENCHMARKS / name), *args], capture_output=True, text=True,
                                timeout=timeout, check=False)
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    return run
