"""The `cclm` console script, run as a user would: a subprocess."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest


def cclm(*args, cwd=None, env=None):
    return subprocess.run(
        [sys.executable, "-m", "cclm.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=600,
        env={**os.environ, **(env or {})},
    )


def test_help_and_version():
    result = cclm("--help")
    assert result.returncode == 0 and "demo" in result.stdout and "info" in result.stdout
    from cclm import __version__

    assert cclm("version").stdout.strip() == f"cclm {__version__}"
    assert cclm().returncode == 2  # no command: help, and a non-zero exit
    # A command's help answers before TensorFlow is imported: nothing on stderr, whatever the log level.
    quiet = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    help_text = subprocess.run([sys.executable, "-m", "cclm.cli", "predict", "--help"], capture_output=True,
                               text=True, timeout=600, env=quiet)
    assert help_text.returncode == 0 and "--json" in help_text.stdout and help_text.stderr == ""


def _demo_env(home):
    # The default shelf and cache live in the user's data and cache directories: here, temporary ones.
    env = {"XDG_DATA_HOME": str(home / "data"), "XDG_CACHE_HOME": str(home / "cache")}
    return {**env, "CCLM_SHELF": "", "CCLM_CACHE": ""}


def test_demo_starts_from_the_starter_shelf_and_publishes_a_few_shot_classifier(tmp_path):
    env, output = _demo_env(tmp_path), tmp_path / "out"
    result = cclm("demo", "--quick", "--output", str(output), env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    for step in range(1, 6):
        assert f"[{step}/5]" in result.stdout
    for part in ("preprocessor/starter 1.1.0", "embedder/starter-embedder 1.1.0",
                 "contrastive_pretrainer/starter-contrastive 1.1.0", "masked_language_pretrainer/starter-multilingual"):
        assert part in result.stdout
    assert result.stdout.count("[ok]") == 1 and "FAILED" not in result.stdout and "test acc" in result.stdout
    # It says in words what its accuracy rests on, and the table names it beside the accuracy.
    assert "what its predictions rest on: the " in result.stdout
    assert ", from n-grams alone)" in result.stdout or ", from towers + n-grams)" in result.stdout or ", from n-grams + " in result.stdout
    assert (output / "classifier" / "manifest.json").is_file()
    entries = json.loads(cclm("shelf", "list", "--json", env=env).stdout)
    assert [(e["identifier"], e["version"]) for e in entries if e["shelf"] != "starter"] == [("demo-language-id", "1.0.0")]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    home = tmp_path_factory.mktemp("demo")
    output = home / "out"
    env = _demo_env(home)
    return output, env, cclm("demo", "--pretrain", "--quick", "--output", str(output), env=env)


def test_demo_pretrain_runs_the_workflow_from_scratch_and_round_trips_through_the_shelf(demo_run):
    output, env, result = demo_run
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count("[ok]") == 2 and "FAILED" not in result.stdout
    for step in range(1, 8):
        assert f"[{step}/7]" in result.stdout
    for component in ("preprocessor", "embedder", "mlm", "country", "student", "composed", "classifier"):
        assert (output / component / "manifest.json").is_file()
    shelf = cclm("shelf", "list", "--json", env=env)
    entries = [e for e in json.loads(shelf.stdout) if e["shelf"] != "starter"]
    assert sorted(e["identifier"] for e in entries) == sorted(
        f"demo-{c}" for c in ("preprocessor", "embedder", "mlm", "country", "student", "composed", "classifier")
    )
    assert "shelf version" in result.stdout and "test acc" in result.stdout


def test_info_prints_the_card_and_the_manifest(demo_run):
    output, _, _ = demo_run
    card = cclm("info", str(output / "embedder"))
    assert card.returncode == 0 and "A cclm **embedder** component" in card.stdout
    manifest = json.loads(cclm("info", "--json", str(output / "preprocessor")).stdout)
    assert manifest["kind"] == "preprocessor"


def test_info_on_a_bad_path_fails_with_a_message(tmp_path):
    result = cclm("info", str(tmp_path / "nowhere"))
    assert result.returncode == 2 and "nowhere does not exist; give a saved component directory" in result.stderr
    assert "Traceback" not in result.stderr


def test_round_trip_check_allows_float32_rounding_but_not_another_answer():
    from cclm.cli.pretraining_demo import ROUND_TRIP_TOLERANCE, same_outputs

    probabilities = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]], "float32")
    assert same_outputs(probabilities, probabilities.copy())
    assert same_outputs(probabilities, np.nextafter(probabilities, np.float32(1)))  # one ulp, as CPUs' kernels differ
    assert not same_outputs(probabilities, probabilities + 10 * ROUND_TRIP_TOLERANCE)
    assert not same_outputs(probabilities, probabilities[:, ::-1])  # another answer
    assert not same_outputs(probabilities, probabilities[:1])
