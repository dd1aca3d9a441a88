"""Every example runs end to end on small data (timings and accuracy are not asserted)."""

import contextlib
import importlib.util
import io
import os
import pathlib
import subprocess
import sys

import numpy as np

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


def test_evaluate_premise_example_prints_the_table(tmp_path):
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "evaluate_premise.py"), "--quick", "--views", "2",
         "--student-denoise", "0.2"],
        capture_output=True, text=True, timeout=600, env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert not list(tmp_path.glob("cclm-premise-*"))  # its scratch copy of the composition is gone
    for row in ("TF-IDF char 1-4-grams + LR", "random init, same architecture",
                "pretrained composition (frozen)", "pretrained composition, fine-tuned",
                "distilled student (frozen)", "random init, student's architecture",
                "pretrained composition (frozen), 2 views"):
        assert result.stdout.count(row) >= 1, row
    assert "10% typos" in result.stdout and "over 5 typo draws" in result.stdout
    # --quick trains two classifiers per neural model; each one's typo loss is listed.
    assert "means over 2 classifiers per neural model" in result.stdout
    frozen = next(line for line in result.stdout.splitlines() if line.startswith("pretrained composition (frozen)"))
    lost, per_seed = float(frozen.split(" pt")[0].split()[-1]), [float(v) for v in frozen.split(" pt")[1].split()]
    assert len(per_seed) == 2 and abs(lost - sum(per_seed) / 2) <= 0.051  # the mean of the classifiers' losses
    # The typo comparison with TF-IDF: the paired difference and its standard errors, over the head seeds
    # and the 5 draws, and over the draws alone.
    summary = next(line for line in result.stdout.splitlines() if line.startswith("4 per class, pretrained composition (frozen):"))
    difference, error = summary.split("difference ")[1].split(" (standard error over ")[0].split(" ± ")
    assert "over 2 head seeds and 5 typo draws; draws alone ± " in summary
    draws_error = float(summary.split("draws alone ± ")[1].rstrip(")"))
    words = summary.split("; ")[1].split()  # "loses 0.4 points at 10% typos, TF-IDF 7.8"
    lost, tfidf_lost = float(words[1]), float(words[-1])
    assert abs(float(difference) - (lost - tfidf_lost)) <= 0.11 and float(error) >= 0 and draws_error >= 0
    # The student is compared with a random composition of its own architecture.
    assert any(line.startswith("4 per class, distilled student (frozen): ")
               and "points vs random init, student's architecture (clean)" in line for line in result.stdout.splitlines())
    assert "student / teacher:" in result.stdout
    assert "distilled student (reading 20% length-keeping typos, the teacher the clean text): " in result.stdout
    assert "TF-IDF with fewer labels" in result.stdout and "1 per class: clean" in result.stdout
    # Points lost to each kind of typo alone: TF-IDF, the frozen composition, it with 2 views, the student.
    lines = result.stdout.splitlines()
    start = lines.index(next(line for line in lines if line.startswith("Points lost at 10% typos of one kind")))
    kinds = {line.split()[0]: [float(v) for v in line.split()[1:]] for line in lines[start + 2:start + 8]}
    assert set(kinds) == {"substitution", "insertion", "deletion", "transposition", "repetition", "case_change"}
    assert all(len(values) == 4 for values in kinds.values())
    assert kinds["case_change"][0] == 0.0  # TF-IDF lowercases: case flips cannot move it
    assert max(values[0] for values in kinds.values()) > 0  # scored on the typo copies, not the clean split


def load_example(name):
    """An example script imported as a module (its main() does not run)."""
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_evaluate_premise_standard_error_counts_head_seeds_and_draws():
    premise = load_example("evaluate_premise")
    draws = np.array([0.5, -1.0, 2.0, 0.0, 1.5])
    # Every seed's classifier losing the same per draw: the error over the draws alone.
    same_seeds = np.tile(draws, (3, 1))
    assert np.isclose(premise.crossed_standard_error(same_seeds), draws.std(ddof=1) / np.sqrt(5))
    assert np.isclose(premise.crossed_standard_error(draws[None, :]), draws.std(ddof=1) / np.sqrt(5))
    # Seeds that differ by a constant: their spread adds var(seed means) / 3 to the mean's variance.
    offsets = np.array([-1.0, 0.0, 1.0])
    shifted = same_seeds + offsets[:, None]
    expected = np.sqrt(draws.var(ddof=1) / 5 + offsets.var(ddof=1) / 3)
    assert np.isclose(premise.crossed_standard_error(shifted), expected)
    # Two seeds, three draws, worked by hand: (MS_seeds 1.5 + MS_draws 2.0 - MS_residual 0) / 6.
    assert np.isclose(premise.crossed_standard_error(np.array([[1.0, 2.0, 3.0], [2.0, 3.0, 4.0]])), np.sqrt(3.5 / 6))


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
