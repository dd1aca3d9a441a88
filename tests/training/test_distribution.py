"""Training under tf.distribute and surviving a killed process, each in its own process."""

import json
import os
import pathlib
import signal
import socket
import subprocess
import sys

import pytest

SCRIPTS = pathlib.Path(__file__).parents[1] / "scripts"
CLUSTER_EXAMPLE = pathlib.Path(__file__).parents[2] / "examples" / "train_on_a_cluster.py"


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


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_two_workers_on_loopback_train_in_step_and_only_the_chief_saves(tmp_path):
    ports = [free_port(), free_port()]
    saved = tmp_path / "shared" / "mlm"  # one path for both, as on a shared file system
    workers = []
    for index in range(2):
        scratch = tmp_path / f"tmp{index}"
        scratch.mkdir()
        # The README's cluster example, run exactly as on two machines: each with its own TF_CONFIG.
        config = {"cluster": {"worker": [f"127.0.0.1:{port}" for port in ports]}, "task": {"type": "worker", "index": index}}
        workers.append(subprocess.Popen(
            [sys.executable, str(CLUSTER_EXAMPLE), "--tiny", "--batch-size", "16", "--output", str(saved),
             "--report", str(tmp_path / f"worker{index}.json")],
            env={**os.environ, "TMPDIR": str(scratch), "TF_CONFIG": json.dumps(config)},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        ))
    try:
        outputs = [worker.communicate(timeout=300)[0] for worker in workers]
    finally:
        for worker in workers:
            worker.kill()
    for worker, output in zip(workers, outputs):
        assert worker.returncode == 0, output[-3000:]
    chief, other = (json.loads((tmp_path / f"worker{index}.json").read_text()) for index in range(2))
    assert (chief["chief"], other["chief"]) == (True, False)
    assert chief["strategy"] == "CollectiveAllReduceStrategy" and chief["replicas"] == other["replicas"] == 2
    # Each worker read its own half of the 96 texts.
    assert chief["documents per pass"] == other["documents per pass"] == 48
    # Gradients were all-reduced: every weight trained, and identically on both workers.
    assert chief["weights changed"] == chief["weights"] and chief["weights sha256"] == other["weights sha256"]
    assert chief["loss"] == other["loss"]
    # The chief wrote the component, which loads; the other worker wrote to a temporary path and removed it.
    assert chief["saved"] == other["saved"] == str(saved)
    assert chief["reloaded predicts the same"]
    assert sorted(p.name for p in (tmp_path / "shared").iterdir()) == ["mlm"]
    # (TMPDIR also holds AutoGraph's generated modules, and their bytecode where Python writes it.)
    assert not list((tmp_path / "tmp1").glob("cclm-*"))
