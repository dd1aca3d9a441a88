"""Every example runs end to end on small data (timings and accuracy are not asserted)."""

import contextlib
import importlib.util
import io
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


def load_example(name):
    """An example script imported as a module (its main() does not run)."""
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_noise_robustness_example_writes_both_reports(tmp_path):
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "noise_robustness.py"), "--quick", "--output", str(tmp_path)],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "trained on clean text" in result.stdout and "trained with typos" in result.stdout
    import json

    augmented = json.loads((tmp_path / "noise-augmented.json").read_text())
    assert augmented["rates"] == [0.0, 0.05, 0.1, 0.2] and augmented["extra"]["augmentation"].startswith("Augmentor(")
    assert (tmp_path / "noise-clean.json").is_file()


def run_example(name, *args):
    """Runs an example's main() in this process (no second TensorFlow start-up); returns what it printed."""
    module = load_example(name)
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        result = module.main([str(arg) for arg in args])
    return result, output.getvalue()


def test_use_case_examples_compose_add_a_keras_head_and_fetch_from_a_shelf(tmp_path):
    path, printed = run_example("compose_two_towers", "--output", tmp_path / "composed", "--width", "16",
                                "--texts", "90")
    assert (path / "manifest.json").is_file()
    assert "vectors (2, 64, 32)" in printed and "string input == id input: True" in printed

    accuracy, printed = run_example("keras_head", "--composed", path, "--per-language", "12", "--epochs", "2")
    assert 0.0 <= accuracy <= 1.0 and "held-out accuracy" in printed

    same, printed = run_example("fetch_from_shelf", "--composed", path)
    assert same and "composed_model/example-composition 1.0.0" in printed
    assert "identical outputs: True" in printed
