"""The few-shot benchmark runs on this machine's real text and prints its table (figures are never asserted)."""

import pathlib
import shutil
import subprocess
import sys
import sysconfig

import numpy as np
import pytest

SCRIPT = pathlib.Path(__file__).parents[2] / "benchmarks" / "fewshot.py"
CATALOGS = pathlib.Path("/usr/share/locale")


@pytest.mark.skipif(not list(CATALOGS.glob("sv/LC_MESSAGES/*.mo")), reason="no Debian message catalogs here")
@pytest.mark.slow  # a script run end to end: `python -m pytest -m slow` (docs/development.md)
def test_fewshot_benchmark_prints_the_table_and_checks_the_corpus():
    # One task end to end (the other task's pipeline is the same code); the code task's data below.
    result = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--tasks", "language"],
                            check=False, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert out.count("dev or test texts in it: 0") == 1  # the pretraining corpus holds no held-out text
    assert "language: 12 classes (ca, cs, da, es, gl, hr, it, nb, pt, sk, sr, sv)" in out
    assert "of MLM window positions are real characters" in out
    header = next(line for line in out.splitlines() if line.startswith("accuracy % on test (dev)"))
    assert all(column in header for column in ("language few", "language all"))
    for row in ("TF-IDF char 1-4 + LR (C on dev)", "cclm random init, trained end to end", "cclm random init, frozen",
                "cclm contrastive composition, frozen", "cclm contrastive + MLM composition, frozen"):
        line = next(line for line in out.splitlines() if line.startswith(row))
        assert line.count("/") == 1 and line.rstrip().endswith("-"), line  # --quick: clean / typos, few-shot only
    assert out.count("fit seconds (few)") == 1
    assert "random trained end to end: " in out and "epochs, the best on dev" in out  # --quick: at most 2 epochs


def test_the_code_task_splits_installed_source_files_by_file():
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import fewshot
    finally:
        sys.path.remove(str(SCRIPT.parent))
    task = fewshot.code_task("/usr", {"train": 40, "dev": 10, "test": 10}, seed=0)
    assert len(task.classes) == 8 and task.length == 400
    assert not set(task.texts["test"]) & (set(task.texts["train"]) | set(task.texts["dev"]))
    assert all(len(text) == 400 for text in task.texts["test"])
    assert all(task.labels["train"].count(label) <= 40 for label in task.classes)


def test_the_topic_task_labels_docstring_paragraphs_with_their_package():
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import fewshot
    finally:
        sys.path.remove(str(SCRIPT.parent))
    args = fewshot.parser().parse_args(["--tasks", "topic", "--pool", "40", "--dev", "10", "--test", "10"])
    task = fewshot.load_task("topic", args)
    assert len(task.classes) == 8 and task.length == 256
    assert not set(task.texts["test"]) & (set(task.texts["train"]) | set(task.texts["dev"]))
    stdlib = pathlib.Path(sysconfig.get_paths()["stdlib"])
    for text, package in list(zip(task.texts["test"], task.labels["test"]))[::10]:
        assert (stdlib / package).is_dir() and len(text.split()) >= 12
        paragraphs = (fewshot.docstring_paragraphs(str(path)) for path in (stdlib / package).rglob("*.py"))
        assert any(text in (found for found, _ in rows) for rows in paragraphs), (package, text)


@pytest.mark.skipif(not list(CATALOGS.glob("fr/LC_MESSAGES/*.mo")), reason="no Debian message catalogs here")
def test_languages_chooses_the_locales_of_the_language_task():
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import fewshot
    finally:
        sys.path.remove(str(SCRIPT.parent))
    args = fewshot.parser().parse_args(["--languages", "de", "fr", "--pool", "20", "--dev", "5", "--test", "5"])
    task = fewshot.load_task("language", args)
    assert task.classes == ["de", "fr"] and fewshot.parser().parse_args([]).languages == list(fewshot.LANGUAGES)
    assert not set(task.texts["test"]) & (set(task.texts["train"]) | set(task.texts["dev"]))


@pytest.mark.skipif(shutil.which("apt-cache") is None, reason="no Debian package lists here")
def test_the_package_task_labels_descriptions_with_their_section_by_source_package():
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        from real_text_tasks import SECTIONS, package_task

        task = package_task({"train": 40, "dev": 10, "test": 20}, 0)
    except RuntimeError as error:  # no package lists yet (apt-get update never ran)
        pytest.skip(str(error))
    finally:
        sys.path.remove(str(SCRIPT.parent))
    assert set(task.labels["test"]) <= set(SECTIONS) and len(set(task.labels["test"])) >= 8
    assert not set(task.texts["test"]) & (set(task.texts["train"]) | set(task.texts["dev"]))
    assert all(len(text.split()) >= 3 for split in task.texts.values() for text in split)


def test_starter_measures_starter_meaning_alone_and_in_the_readme_composition():
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import fewshot
    finally:
        sys.path.remove(str(SCRIPT.parent))
    models = fewshot.starter_models(fewshot.parser().parse_args(["--starter"]))
    composed, options = models["cclm meaning tower's features alone"]
    assert options == {"ngrams": 0} and [type(t).__name__ for t in composed.towers] == ["MeaningTower"]
    readme = models["cclm starter composition with meaning (README)"]
    assert len(readme.towers) == 3
    assert models["cclm README composition's features alone"] == (readme, {"ngrams": 0})


def test_the_teacher_and_tfidf_ceiling_reads_both_the_teachers_vectors_and_the_ngrams():
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import peers
    finally:
        sys.path.remove(str(SCRIPT.parent))
    rng = np.random.default_rng(0)
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
    texts = [" ".join(rng.choice(words, 6)) + f" {i}" for i in range(240)]
    hidden = {text: "even" if i % 2 == 0 else "odd" for i, text in enumerate(texts)}  # not in the characters' statistics

    def knowing(batch):  # a teacher that knows the hidden label
        return np.array([[1.0, 0.0] if hidden[t] == "even" else [0.0, 1.0] for t in batch]) + rng.normal(0, 0.1, (len(batch), 2))

    def sets(labels):
        return (texts[:120], labels[:120]), [(texts[120:200], labels[120:200])], (texts[200:], labels[200:])

    train, evaluations, dev = sets([hidden[t] for t in texts])
    (ceiling,), _ = peers.teacher_tfidf_lr(knowing, train, evaluations, dev)
    (ngrams,), _ = peers.tfidf(train, evaluations, dev)
    assert ceiling >= 0.95 and ngrams <= 0.75  # the teacher's vectors carry the label

    def noise(batch):  # a teacher that knows nothing
        return rng.normal(size=(len(batch), 8))

    train, evaluations, dev = sets(["golf" if "golf" in t.split() else "none" for t in texts])
    (ceiling,), _ = peers.teacher_tfidf_lr(noise, train, evaluations, dev)
    assert ceiling >= 0.9  # the n-grams carry the label
