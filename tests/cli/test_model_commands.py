"""`cclm evaluate` and `cclm predict`, run as a user would: subprocesses."""

import json
import os
import re
import subprocess
import sys

import pytest

from cclm.data.sample_text import language_sentences
from cclm.classification.text_classifier import TextClassifier
from tests.classification.test_text_classifier import composition


def cclm(*args, input=None):
    # As a user runs it: without the test session's own TensorFlow log level.
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run([sys.executable, "-m", "cclm.cli", *args], capture_output=True, text=True, timeout=600,
                          input=input, env=env)


TENSORFLOW_LOG_LINE = re.compile(r"^(?:[IWE]\d{4} |WARNING: All log messages before absl)", re.M)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("commands")
    texts, labels = language_sentences(("de_DE", "it_IT"), per_language=60, words=5)
    classifier = TextClassifier(composition(texts), seed=0, batch_size=16, train_composition=True)
    classifier.fit((texts[:100], labels[:100]), epochs=3, verbose=0)
    path = classifier.save(folder / "classifier")
    test = folder / "test.jsonl"
    test.write_text("".join(json.dumps({"sentence": t, "language": l}) + "\n" for t, l in zip(texts[100:], labels[100:])))
    return path, test, classifier, texts[100:]


def test_evaluate_prints_and_writes_the_noise_report(saved, tmp_path):
    path, test, classifier, texts = saved
    result = cclm("evaluate", str(path), str(test), "--noise", "0,0.05,0.1", "--json", str(tmp_path / "r.json"),
                  "--text-column", "sentence", "--label-column", "language", "--plot", str(tmp_path / "figures"))
    assert result.returncode == 0, result.stderr[-2000:]
    for figure in ("accuracy_vs_typos.png", "training.png"):
        assert (tmp_path / "figures" / figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == ["accuracy_vs_typos.png", "training.png"]
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["rates"] == [0.0, 0.05, 0.1] and report["texts"] == 20
    predicted = classifier.predict_labels(texts)
    assert report["accuracy"][0] == pytest.approx(sum(p == l for p, l in zip(predicted, report_labels(test))) / 20)
    assert "noise rate" in result.stdout and "10%" in result.stdout


def report_labels(test):
    return [json.loads(line)["language"] for line in test.read_text().splitlines()]


def test_predict_prints_a_label_per_text(saved, tmp_path):
    path, _, classifier, texts = saved
    lines = tmp_path / "texts.txt"
    lines.write_text(texts[1] + "\n")
    # Options before texts, "-" for standard input, and a file: in that order of the texts.
    result = cclm("predict", str(path), "--json", texts[0], "-", "--input", str(lines), input=texts[2] + "\n")
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["text"] for row in rows] == [texts[0], texts[2], texts[1]]
    assert [row["label"] for row in rows] == classifier.predict_labels([texts[0], texts[2], texts[1]])
    assert set(rows[0]["probabilities"]) == {"de_DE", "it_IT"}
    assert not TENSORFLOW_LOG_LINE.search(result.stderr), result.stderr[-2000:]


def test_verbose_anywhere_on_the_line_lets_tensorflow_log(saved, run_cli, monkeypatch):
    path, _, _, texts = saved
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")  # restored after the test
    code, stdout, _ = run_cli("predict", str(path), texts[0], "--verbose")
    assert code == 0 and stdout.strip()
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"  # what TensorFlow reads: every line shown


def test_failures_say_what_is_wrong(saved, tmp_path, run_cli):
    path, test, _, _ = saved
    unknown = tmp_path / "unknown.jsonl"
    unknown.write_text(json.dumps({"text": "Hola a todos", "label": "es_ES"}) + "\n")
    cases = [
        (("evaluate", str(path), str(unknown)), "labels ['es_ES'] are not among the model's labels ['de_DE', 'it_IT']"),
        (("evaluate", str(path), str(tmp_path / "missing.jsonl")), "does not exist"),
        (("evaluate", str(path), str(test)), "has no column 'text'; its columns are ['sentence', 'language']"),
        (("evaluate", str(path / "composed"), str(test), "--text-column", "sentence", "--label-column", "language"),
         "'composed_model' component, which does not predict labels"),
        (("evaluate", str(path), str(test), "--noise", "0,lots"), "not numbers"),
        (("predict", str(path)), "no texts to predict"),
        (("evaluate", str(tmp_path), str(test), "--text-column", "sentence", "--label-column", "language"),
         "no manifest.json"),
    ]
    for args, message in cases:
        code, _, stderr = run_cli(*args)
        assert code == 2 and message in stderr, (args, stderr[-1000:])
    result = cclm(*cases[0][0])  # and from the console, as a user sees it
    assert result.returncode == 2 and cases[0][1] in result.stderr, result.stderr[-1000:]
