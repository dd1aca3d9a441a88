"""`cclm demo --pretrain`: the whole workflow from scratch, offline, on real text that ships with Python and Faker.

1. Fit a preprocessor on all the demo's text.
2. Pretrain a masked-language tower on unlabelled text: Python's documentation and
   sentences in nine languages.
3. Pretrain a categorical tower on a related labelled task (the country of a
   name-and-address line), sharing the first tower's embedder.
4. Distil a small student from the masked-language tower.
5. Compose the three towers and fit a language-identification head.
6. Evaluate it on held-out sentences, clean and with typos.
7. Publish every component to the default local shelf, fetch them back into
   a fresh composition, and check that it predicts the same.

Every component is also saved under the output directory. Running the demo
again is safe: components are overwritten atomically, and the shelf gets new
versions (published versions never change).

Example:
>>> summary = run_pretraining_demo("/tmp/cclm-demo-doc", verbose=False)  # doctest: +SKIP
>>> summary["checks"]["fetched composition predicts the same"]  # doctest: +SKIP
True
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cclm.data.sample_text import LANGUAGES, language_sentences, names_and_places, python_docs_paragraphs


@dataclass(frozen=True)
class DemoSizes:
    """How much the demo trains; `quick` is a smoke run for tests."""

    length: int = 128
    unlabelled_per_language: int = 400
    labelled_per_language: int = 60
    test_per_language: int = 40
    related_per_language: int = 120
    width: int = 64
    layers: int = 2
    student_width: int = 32
    mlm_epochs: int = 6
    categorical_epochs: int = 4
    student_epochs: int = 3
    head_epochs: int = 30

    @classmethod
    def quick(cls) -> "DemoSizes":
        return cls(length=32, unlabelled_per_language=20, labelled_per_language=8, test_per_language=4,
                   related_per_language=8, width=16, layers=1, student_width=8, mlm_epochs=1,
                   categorical_epochs=1, student_epochs=1, head_epochs=2)


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


ROUND_TRIP_TOLERANCE = 1e-5
"""How far a fetched model's outputs may be from the original's: float32 rounding (CPUs' kernels may sum a
reloaded graph in another order), never a different weight."""


def same_outputs(original: Any, fetched: Any) -> bool:
    """Whether two models' outputs agree: the same shape, every value within `ROUND_TRIP_TOLERANCE`."""
    import numpy as np

    original, fetched = np.asarray(original), np.asarray(fetched)
    return bool(original.shape == fetched.shape
                and np.allclose(original, fetched, rtol=0.0, atol=ROUND_TRIP_TOLERANCE))


def run_pretraining_demo(
    output_dir: str | Path = "cclm-demo", verbose: bool = True, quick: bool = False, shelf: Any = None
) -> dict[str, Any]:
    """Runs the from-scratch demo, writing components under `output_dir` and publishing them to `shelf`.

    Args:
        output_dir: where every component is saved.
        verbose: print progress and the summary table.
        quick: tiny sizes, to check the workflow in seconds (tests).
        shelf: a `cclm.Shelf`; default: the default local shelf (`Shelf()`).

    Returns:
        The summary: `checks` (name -> bool), `accuracy` (per typo rate),
        `rows` of the table, `seconds`, `output` and the shelf `versions`.

    Raises:
        RuntimeError: if the fetched composition does not predict the same.
    """

    from cclm.pipelines.augmentation import Augmentor
    from cclm.pretraining.categorical_pretrainer import CategoricalPretrainer
    from cclm.models.composed_model import ComposedModel
    from cclm.pretraining.distillation_pretrainer import DistillationPretrainer
    from cclm.models.embedder import Embedder
    from cclm.pretraining.masked_language_pretrainer import MaskedLanguagePretrainer
    from cclm.classification.noise_report import noise_report
    from cclm.preprocessing.preprocessor import Preprocessor
    from cclm.shelf.shelf import Shelf
    from cclm.classification.text_classifier import TextClassifier

    say = print if verbose else (lambda *a, **k: None)
    keras_verbose = 2 if verbose else 0
    sizes = DemoSizes.quick() if quick else DemoSizes()
    output = Path(output_dir).expanduser().absolute()
    shelf = shelf if shelf is not None else Shelf()
    started = time.perf_counter()
    import keras

    keras.utils.set_random_seed(0)

    # ----------------------------------------------------------------- data
    per_language = sizes.labelled_per_language + sizes.test_per_language
    texts, labels = language_sentences(per_language=per_language, words=8, seed=1)
    test_texts, test_labels = texts[: len(LANGUAGES) * sizes.test_per_language], labels[: len(LANGUAGES) * sizes.test_per_language]
    train = (texts[len(test_texts):], labels[len(test_texts):])
    unlabelled, _ = language_sentences(per_language=sizes.unlabelled_per_language, words=8, seed=2)
    docs = python_docs_paragraphs()[: 10 * sizes.unlabelled_per_language]
    held_out = set(test_texts)
    unlabelled = [t for t in unlabelled if t not in held_out] + docs
    related = names_and_places(per_language=sizes.related_per_language, seed=3)
    say(f"Data: {len(unlabelled):,} unlabelled texts (Python's documentation, sentences in {len(LANGUAGES)} "
        f"languages);\n      {len(related[0]):,} name-and-address lines labelled by country (the related task);\n"
        f"      {len(train[0]):,} sentences labelled by language for the head, {len(test_texts):,} held out.\n")

    # ------------------------------------------------------------ components
    preprocessor = Preprocessor(sequence_length=sizes.length, downsample_factor=4, name="demo-preprocessor")
    preprocessor.fit(unlabelled + related[0] + train[0], progress=verbose)
    say(f"[1/7] Preprocessor: {len(preprocessor.characters)} characters.")
    embedder = Embedder(vocab_size=preprocessor.vocab_size, hidden_dim=sizes.width, num_blocks=2,
                        max_length=sizes.length, dropout=0.0, name="demo-embedder")
    tower = {"hidden_dim": sizes.width, "num_layers": sizes.layers, "num_heads": 4 if sizes.width >= 32 else 2,
             "intermediate_dim": 2 * sizes.width, "max_length": sizes.length, "dropout": 0.0}
    typos = [Augmentor.typos(0.05, seed=0)]

    say("[2/7] Masked-language tower on unlabelled text:")
    mlm = MaskedLanguagePretrainer(embedder=embedder, preprocessor=preprocessor, tower_options=tower,
                                   batch_size=32, seed=0, transforms=typos, name="mlm")
    mlm.fit(unlabelled, epochs=sizes.mlm_epochs, verbose=keras_verbose)

    say("[3/7] Categorical tower on the related task (the embedder stays as the first tower knows it):")
    categorical = CategoricalPretrainer(embedder=embedder, preprocessor=preprocessor, train_embedder=False,
                                        tower_options=tower, batch_size=32, seed=0, transforms=typos,
                                        name="country")
    categorical.fit(related, epochs=sizes.categorical_epochs, verbose=keras_verbose)

    say("[4/7] A student distilled from the masked-language tower:")
    student = DistillationPretrainer(mlm, tower_options={**tower, "hidden_dim": sizes.student_width,
                                                         "intermediate_dim": 2 * sizes.student_width},
                                     batch_size=32, seed=0, name="student")
    student.fit(unlabelled, epochs=sizes.student_epochs, verbose=keras_verbose)

    say("[5/7] Composed, with a language-identification head:")
    composed = ComposedModel(embedder, [mlm, categorical, student], preprocessor=preprocessor, name="demo-composed")
    classifier = TextClassifier(composed, preprocessor=preprocessor, batch_size=32, seed=0, transforms=typos,
                                name="demo-language-id")
    classifier.fit(train, epochs=sizes.head_epochs, verbose=0)

    report = noise_report(classifier, (test_texts, test_labels), rates=(0.0, 0.05, 0.1), seed=0, name="demo-language-id")
    say("[6/7] Held-out accuracy:\n" + report.table())

    # ------------------------------------------------------ save and publish
    saved = {
        "preprocessor": preprocessor.save(output / "preprocessor"),
        "embedder": embedder.save(output / "embedder"),
        "mlm": mlm.save(output / "mlm"),
        "country": categorical.save(output / "country"),
        "student": student.save(output / "student"),
        "composed": composed.save(output / "composed"),
        "classifier": classifier.save(output / "classifier"),
    }
    say(f"[7/7] Publishing to the shelf at {shelf.remote}:")
    entries = {}
    for key, path in saved.items():
        entries[key] = shelf.publish(path, f"demo-{key}")
        say(f"      {entries[key].item_type}/{entries[key].identifier} {entries[key].version}")

    # Fetch back: a fresh composition from the shelf alone.
    fetched = {key: shelf.fetch(f"demo-{key}", version=entry.version) for key, entry in entries.items()}
    fresh = ComposedModel(Embedder.load(fetched["embedder"]), [fetched["mlm"], fetched["country"], fetched["student"]],
                          preprocessor=Preprocessor.load(fetched["preprocessor"]))
    fresh_classifier = TextClassifier.load(fetched["classifier"])
    sample = test_texts[:64]
    ids = preprocessor.encode(sample)
    probabilities = classifier.predict(sample)
    fetched_probabilities = fresh_classifier.predict(sample)
    checks = {
        "fetched composition predicts the same": same_outputs(composed.id_model(ids), fresh.id_model(ids)),
        "fetched classifier predicts the same": same_outputs(probabilities, fetched_probabilities),
    }
    for check, passed in checks.items():
        say(f"      [{'ok' if passed else 'FAILED'}] {check}")
    failed = [check for check, passed in checks.items() if not passed]
    if failed:
        raise RuntimeError(f"Round trip through the shelf failed: {failed}")

    def metric(card: dict, key: str, label: str) -> str:
        value = card.get("metrics", {}).get(key)
        return f"{label} {value:.3f}" if value is not None else "-"

    rows = [
        ("component", "parameters", "metric", "shelf version"),
        ("preprocessor", f"{preprocessor.vocab_size} ids", "-", entries["preprocessor"].version),
        ("embedder", f"{embedder.count_params():,}", "-", entries["embedder"].version),
        ("mlm tower", f"{mlm.tower.count_params():,}", metric(mlm.card, "accuracy", "masked acc"), entries["mlm"].version),
        ("country tower", f"{categorical.tower.count_params():,}", metric(categorical.card, "accuracy", "train acc"),
         entries["country"].version),
        ("student tower", f"{student.tower.count_params():,}", metric(student.card, "loss", "distance"),
         entries["student"].version),
        ("composed model", f"{composed.id_model.count_params():,}", f"width {composed.id_model.output.shape[-1]}",
         entries["composed"].version),
        ("classifier", f"{classifier.model.count_params():,}", f"test acc {report.accuracy[0]:.3f}",
         entries["classifier"].version),
    ]
    seconds = time.perf_counter() - started
    say("\n" + _table(rows))
    say(f"\nDone in {seconds:.0f} s. Components: {output}\nShelf: {shelf.remote} (cache: {shelf.cache_dir})")
    return {
        "checks": checks, "accuracy": dict(zip(report.rates, report.accuracy)), "rows": rows, "seconds": seconds,
        "output": output, "versions": {key: entry.version for key, entry in entries.items()},
    }
