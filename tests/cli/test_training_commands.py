"""`cclm preprocessor fit`, `cclm pretrain ...` and `cclm compose`, run as a user would.

The workflow's first commands run as subprocesses, as from a shell; the
later ones call the same entry point in this process, which spares each a
TensorFlow start-up.
"""

import json
import subprocess
import sys

import numpy as np
import pytest

from cclm import MaskedLanguagePretrainer, Preprocessor
from cclm.classification.text_classifier import TextClassifier
from cclm.data.sample_text import language_sentences, python_docs_paragraphs
from cclm.models.composed_model import ComposedModel
from cclm.pipelines.augmentation import Augmentor
from cclm.pretraining.distillation_pretrainer import DistillationPretrainer

TINY = ("--width", "16", "--layers", "1", "--quiet")


def cclm(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "cclm.cli", *map(str, args)], capture_output=True, text=True, timeout=600, cwd=cwd,
        check=False,
    )


def ok(*args, cwd=None):
    result = cclm(*args, cwd=cwd)
    assert result.returncode == 0, (args, result.stderr[-3000:])
    return result.stdout


@pytest.fixture(scope="module")
def workflow(tmp_path_factory, run_cli):
    """The README's command-line workflow, end to end, on small real data."""
    folder = tmp_path_factory.mktemp("workflow")

    def ok_here(*args, cwd):  # `ok`, in this process
        code, stdout, stderr = run_cli(*args, cwd=cwd)
        assert code == 0, (args, stderr[-3000:])
        return stdout

    (folder / "corpus.txt").write_text("\n".join(" ".join(p.split()) for p in python_docs_paragraphs()[:200]))
    texts, labels = language_sentences(("de_DE", "it_IT"), per_language=40, words=5)
    (folder / "labelled.jsonl").write_text(
        "".join(json.dumps({"text": t, "label": l}) + "\n" for t, l in zip(texts, labels))
    )
    outputs = {
        "prep": ok("preprocessor", "fit", "corpus.txt", "--output", "prep", "--sequence-length", "64", "--quiet", cwd=folder),
        "mlm": ok("pretrain", "mlm", "corpus.txt", "--preprocessor", "prep", "--output", "mlm",
                  "--steps-per-epoch", "3", "--denoise", "0.1", *TINY, cwd=folder),
        "cat": ok_here("pretrain", "categorical", "labelled.jsonl", "--base", "mlm", "--output", "cat", "--epochs", "2",
                       *TINY, cwd=folder),
        "student": ok_here("pretrain", "distill", "corpus.txt", "--teacher", "mlm", "--output", "student",
                      "--steps-per-epoch", "2", "--width", "8", "--layers", "1", "--denoise", "0.2", "--quiet",
                      cwd=folder),
        "composed": ok_here("compose", "mlm", "cat", "student", "--output", "composed", "--quiet", cwd=folder),
        # The categorical tower first: its embedder was saved frozen (`--base`), which is what gets loaded.
        "classifier": ok_here("compose", "cat", "mlm", "--train", "labelled.jsonl", "--output", "classifier",
                         "--epochs", "2", "--pooling", "max", "--views", "2", "--augment", "0.1",
                         "--learning-rate", "0.001", "--validation-split", "0.25", "--quiet", cwd=folder),
        # A short fit, as in the report where a lagging BatchNormalization made evaluation 0.40.
        "short": ok_here("compose", "mlm", "--train", "labelled.jsonl", "--output", "short", "--epochs", "5",
                    "--steps-per-epoch", "10", "--batch-size", "16", "--quiet", cwd=folder),
    }
    return folder, outputs, texts


def test_a_short_fit_evaluates_as_it_was_fitted(workflow):
    folder, outputs, _texts = workflow
    assert "leave-one-out accuracy" in outputs["short"] and "training accuracy" not in outputs["short"]
    ok("evaluate", folder / "short", folder / "labelled.jsonl", "--json", folder / "short.json")
    accuracy = json.loads((folder / "short.json").read_text())["accuracy"][0]
    rows = [json.loads(line) for line in (folder / "labelled.jsonl").read_text().splitlines()]
    predicted = TextClassifier.load(folder / "short").predict_labels([row["text"] for row in rows])
    assert accuracy == pytest.approx(np.mean([p == row["label"] for p, row in zip(predicted, rows)]), abs=1e-6)
    assert len(set(predicted)) == 2 and accuracy > 0.6  # not every text one label


def test_each_command_saves_a_component_that_loads(workflow):
    folder, outputs, _texts = workflow
    assert "Saved a preprocessor of" in outputs["prep"]
    assert "Saved masked_language_pretrainer 'mlm'" in outputs["mlm"]
    assert "Saved categorical_pretrainer 'cat'" in outputs["cat"]  # the name --output gave (issue 47, item 19)
    assert "Held-out accuracy " in outputs["cat"] and "(chance 0.500 for 2 labels)" in outputs["cat"]
    assert json.loads((folder / "cat" / "manifest.json").read_text())["name"] == "cat"
    assert "Teacher tower parameters: " in outputs["student"]
    composed = ComposedModel.load(folder / "composed")
    assert [t.output_dim for t in composed.towers] == [16, 16, 8]  # towers trained apart, composed on one embedder
    assert tuple(composed.model(np.array(["Ein Satz."])).shape) == (1, 64, 40)
    classifier = TextClassifier.load(folder / "classifier")
    assert classifier.labels == ["de_DE", "it_IT"]
    assert "labels de_DE, it_IT" in outputs["classifier"] and "validation accuracy" in outputs["classifier"]
    assert classifier.card["trained_on"].startswith("60 labelled texts")  # 80 texts, the last quarter held out
    assert {"val_accuracy", "val_loss"} <= set(classifier.card["metrics"]) <= set(classifier.card["history"])
    # The head's options reach the saved classifier.
    config = json.loads((folder / "classifier" / "manifest.json").read_text())["config"]
    assert (config["pooling"], config["views"], config["learning_rate"]) == ("max", 2, 0.001)
    assert (classifier.pooling, classifier.views) == ("max", 2)
    assert classifier.card["training"]["transforms"] == [repr(Augmentor.typos(0.1, seed=0))]
    # Without --fine-tune the loaded parts stay as they were: the embedder (kept fixed while
    # `pretrain categorical --base` trained, and saved with its own flag) and the towers come out unchanged.
    assert json.loads((folder / "cat" / "embedder" / "manifest.json").read_text())["config"]["trainable"] is True
    mlm = MaskedLanguagePretrainer.load(folder / "mlm")
    assert mlm.denoising.get_config() == Augmentor.typos(0.1, keep_length=True, seed=0).get_config()  # --denoise 0.1
    assert classifier.composed.embedder.fingerprint == mlm.embedder.fingerprint
    student = DistillationPretrainer.load(folder / "student")
    assert student.denoising.get_config() == Augmentor.typos(0.2, keep_length=True, seed=0).get_config()
    np.testing.assert_array_equal(classifier.composed.towers[1].get_weights()[0], mlm.tower.get_weights()[0])


def test_the_saved_classifier_serves_predict(workflow):
    folder, _, texts = workflow
    stdout = ok("predict", folder / "classifier", texts[0], "--json")
    row = json.loads(stdout)
    expected = TextClassifier.load(folder / "classifier").predict_labels([texts[0]])
    assert row["label"] == expected[0] and set(row["probabilities"]) == {"de_DE", "it_IT"}


def test_failures_say_what_is_wrong_and_exit_2(workflow, run_cli):
    folder, _, _ = workflow
    (folder / "empty.txt").write_text("\n \n")
    # A tower trained on an embedder of its own (in this process: only the failure is under test).
    other = MaskedLanguagePretrainer(preprocessor=Preprocessor.load(folder / "prep"), name="other", seed=1,
                                     tower_options={"hidden_dim": 16, "num_layers": 1, "num_heads": 2, "max_length": 64})
    other.fit(python_docs_paragraphs()[:16], verbose=0)
    other.save(folder / "other" / "mlm")
    cases = [
        (("pretrain", "mlm", "missing.txt", "--output", "x"), "missing.txt does not exist"),
        (("pretrain", "categorical", "corpus.txt", "--output", "x"), "plain text, which has no labels"),
        (("pretrain", "categorical", "labelled.jsonl", "--label-column", "topic", "--output", "x"),
         "has no column 'topic'; its columns are ['text', 'label']"),
        (("pretrain", "mlm", "empty.txt", "--preprocessor", "prep", "--output", "x", "--quiet"),
         "no usable text: 2 empty"),
        (("pretrain", "distill", "corpus.txt", "--teacher", "prep", "--output", "x"), "give a saved pretrainer"),
        (("compose", "prep", "--output", "x"), "holds no embedder"),
        # Two towers trained on different embedders: never composed silently.
        (("compose", "mlm", "other/mlm", "--output", "x"), "fingerprint"),
        (("compose", "mlm", "--train", "labelled.jsonl", "--validation", "labelled.jsonl", "--validation-split",
          "0.2", "--output", "x"), "Give validation_data or validation_split, not both"),
        (("preprocessor", "fit", "corpus.txt", "--output", "x", "--subwords", "sentencepiece"), "invalid choice"),
    ]
    for args, message in cases:
        code, _, stderr = run_cli(*args, cwd=folder)
        assert code == 2 and message in stderr, (args, stderr[-1500:])
    result = cclm(*cases[0][0], cwd=folder)  # and from the console, as a user sees it
    assert result.returncode == 2 and cases[0][1] in result.stderr, result.stderr[-1500:]
    assert not (folder / "x").exists()  # nothing half-written


def test_pretrain_categorical_defaults_train_several_epochs_and_hold_out_data(tmp_path):
    from cclm.cli.main import build_parser

    (tmp_path / "l.jsonl").write_text('{"text": "a", "label": "x"}\n')
    args = build_parser().parse_args(["pretrain", "categorical", str(tmp_path / "l.jsonl"), "--output", "t"])
    assert args.epochs >= 5 and 0 < args.validation_split < 0.5 and args.patience >= 1


@pytest.mark.parametrize("command", [("preprocessor", "fit"), ("pretrain", "mlm"), ("pretrain", "categorical"),
                                     ("pretrain", "distill"), ("compose",)])
def test_every_command_has_help(command):
    result = cclm(*command, "--help")
    assert result.returncode == 0 and "--output" in result.stdout
