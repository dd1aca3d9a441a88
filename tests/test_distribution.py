"""Training under tf.distribute and surviving a killed process, each in its own process."""

import json
import pathlib
import signal
import subprocess
import sys

import pytest

SCRIPTS = pathlib.Path(__file__).parent / "scripts"


def run_script(name, *args):
    return subprocess.run(
        [sys.executable, str(SCRIPTS / name), *map(str, args)], capture_output=True, text=True, timeout=600
    )


@pytest.mark.parametrize("target", ["characters", "subwords"])
def test_mirrored_strategy_over_two_logical_cpus(tmp_path, target):
    result = run_script("train_mirrored.py", tmp_path / "mirrored", target)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["replicas"] == 2
    assert report["variable"] == "MirroredVariable"
    assert report["changed"] and all(loss == loss for loss in report["loss"])  # every weight trained, no NaN
    assert report["reloaded_equal"]


def test_killed_training_resumes_with_backup_and_restore(tmp_path):
    backup, result = tmp_path / "backup", tmp_path / "result.json"
    killed = run_script("train_resumable.py", backup, result, 6)  # epoch 1, batch 2
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert not result.exists() and backup.is_dir()
    resumed = run_script("train_resumable.py", backup, result)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    report = json.loads(result.read_text())
    assert report["epochs"] == [1, 2]  # epoch 0 is not trained again
    assert report["batches"] == 8
    assert report["resumed_from_trained_weights"]
