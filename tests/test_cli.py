"""The `cclm` console script, run as a user would: a subprocess."""

import json
import subprocess
import sys

import pytest


def cclm(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "cclm.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=600
    )


def test_help_and_version():
    result = cclm("--help")
    assert result.returncode == 0 and "demo" in result.stdout and "info" in result.stdout
    from cclm import __version__

    assert cclm("version").stdout.strip() == f"cclm {__version__}"
    assert cclm().returncode == 2  # no command: help, and a non-zero exit


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    output = tmp_path_factory.mktemp("demo") / "out"
    return output, cclm("demo", "--output", str(output))


def test_demo_runs_offline_and_round_trips(demo_run):
    output, result = demo_run
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count("[ok]") == 4 and "FAILED" not in result.stdout
    assert (output / "preprocessor" / "manifest.json").is_file()
    assert (output / "embedder" / "model.weights.h5").is_file()


def test_demo_twice_is_safe(demo_run):
    output, _ = demo_run
    again = cclm("demo", "--output", str(output))
    assert again.returncode == 0, again.stderr[-2000:]
    assert sorted(p.name for p in output.iterdir()) == ["embedder", "preprocessor"]


def test_info_prints_the_card_and_the_manifest(demo_run):
    output, _ = demo_run
    card = cclm("info", str(output / "embedder"))
    assert card.returncode == 0 and "A cclm **embedder** component" in card.stdout
    manifest = json.loads(cclm("info", "--json", str(output / "preprocessor")).stdout)
    assert manifest["kind"] == "preprocessor"


def test_info_on_a_bad_path_fails_with_a_message(tmp_path):
    result = cclm("info", str(tmp_path / "nowhere"))
    assert result.returncode == 2 and "is not a directory" in result.stderr
