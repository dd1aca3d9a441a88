"""`cclm demo`: pretrained starter components to a published few-shot classifier, offline, in about a minute.

1. Fetch the starter components that ship with cclm (checked by sha256; no
   git, no network): the preprocessor, the embedder, the contrastive and the
   multilingual masked-language towers.
2. Compose them: `ComposedModel(embedder, [contrastive, multilingual])`.
3. Fit a few-shot language-identification head: 32 labelled sentences per
   language, nine languages (Faker's word lists: real words nobody on the
   team wrote, and text the starter components never saw).
4. Report held-out accuracy, clean and with typos.
5. Publish the classifier to the default local shelf, fetch it back and
   check that it predicts the same.

`cclm demo --pretrain` runs the from-scratch workflow instead
(`cclm.cli.pretraining_demo`): fit a preprocessor, pretrain three towers,
compose, publish every component.

Example:
>>> summary = run_demo("/tmp/cclm-demo-doc", verbose=False)  # doctest: +SKIP
>>> summary["checks"]["fetched classifier predicts the same"]  # doctest: +SKIP
True
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from cclm.cli.pretraining_demo import _table, run_pretraining_demo, same_outputs
from cclm.data.sample_text import LANGUAGES, language_sentences

STARTER_PARTS = ("starter", "starter-embedder", "starter-contrastive", "starter-multilingual", "starter-meaning")
"""The starter components the demo composes (identifiers on the starter shelf), those the shelf holds."""


def what_carried(classifier: Any) -> str:
    """In words, what a fitted closed-form `TextClassifier`'s predictions rest on: the towers, the n-grams, or both."""
    read = classifier._towers_read()
    if classifier.ngram_logits is None:
        if len(read) == len(classifier.composed.towers):
            return "the towers' features alone (no n-gram features)"
        names = ", ".join(classifier.composed.towers[i].name for i in read)
        return (f"the features of {names} alone (no n-gram features): leave-one-out gave the other towers weight 0, "
                "so they are not computed")
    if not read:
        return ("the character n-grams alone: leave-one-out found the towers' features no help here, so the head "
                "gave them weight 0")
    head = str(classifier.card.get("training", {}).get("head", ""))
    weights = head.split("(composition weight ")[1].split(")")[0] if "(composition weight " in head else ""
    weights = f" (composition weight {weights})" if weights else ""
    if len(read) == len(classifier.composed.towers):
        return f"the towers' features and the character n-grams together{weights}"
    names = ", ".join(classifier.composed.towers[i].name for i in read)
    return (f"the character n-grams and {names}{weights}: leave-one-out gave the other towers weight 0, so they "
            "are not computed")


def _carried_briefly(classifier: Any) -> str:
    """`what_carried` in a table cell: `n-grams alone`, `towers + n-grams` or `n-grams + <the towers read>`."""
    read = classifier._towers_read()
    if classifier.ngram_logits is None:
        return "towers alone" if len(read) == len(classifier.composed.towers) else ", ".join(
            classifier.composed.towers[i].name for i in read)
    if not read or len(read) == len(classifier.composed.towers):
        return "towers + n-grams" if read else "n-grams alone"
    return "n-grams + " + ", ".join(classifier.composed.towers[i].name for i in read)


def run_demo(
    output_dir: str | Path = "cclm-demo", verbose: bool = True, quick: bool = False, shelf: Any = None,
    pretrain: bool = False,
) -> dict[str, Any]:
    """Runs the demo from the starter shelf (or, with `pretrain`, from scratch); returns its summary.

    Args:
        output_dir: where the classifier (or, with `pretrain`, every component) is saved.
        verbose: print progress and the summary table.
        quick: fewer labelled and held-out sentences (tests).
        shelf: a `cclm.Shelf` to publish to; default: the default local shelf.
        pretrain: pretrain every component from scratch instead (`run_pretraining_demo`).

    Returns:
        `checks` (name -> bool), `accuracy` (per typo rate), `rows` of the
        table, `seconds`, `output` and the shelf `versions`.

    Raises:
        RuntimeError: if the fetched classifier does not predict the same.
    """
    if pretrain:
        return run_pretraining_demo(output_dir, verbose=verbose, quick=quick, shelf=shelf)
    import keras

    from cclm.classification.noise_report import noise_report
    from cclm.classification.text_classifier import TextClassifier
    from cclm.components import load_component
    from cclm.models.composed_model import ComposedModel
    from cclm.shelf.shelf import Shelf

    say = print if verbose else (lambda *a, **k: None)
    shelf = shelf if shelf is not None else Shelf()
    output = Path(output_dir).expanduser().absolute()
    started = time.perf_counter()
    keras.utils.set_random_seed(0)

    labelled, held_out = (8, 8) if quick else (32, 40)
    texts, labels = language_sentences(per_language=labelled + held_out, words=8, seed=1)
    cut = len(LANGUAGES) * held_out
    test, train = (texts[:cut], labels[:cut]), (texts[cut:], labels[cut:])

    say("[1/5] Starter components (ship with cclm; checked by sha256, no git, no network):")
    entries = {identifier: shelf.starter.info(identifier) for identifier in STARTER_PARTS
               if shelf.starter.holds(identifier)}
    parts = {identifier: load_component(shelf.fetch(identifier, version=entry.version))
             for identifier, entry in entries.items()}
    for identifier, entry in entries.items():
        say(f"      {entry.item_type}/{identifier} {entry.version}  sha256 {entry.sha256[:12]}")
    preprocessor, embedder = parts["starter"], parts["starter-embedder"]
    towers = [parts[i] for i in ("starter-contrastive", "starter-multilingual", "starter-meaning") if i in parts]

    composed = ComposedModel(embedder, towers, preprocessor=preprocessor, name="demo-composed")
    say(f"[2/5] Composed: {len(towers)} towers on one embedder, {composed.id_model.output.shape[-1]} features "
        "per character.")

    say(f"[3/5] A few-shot head: {labelled} labelled sentences in each of {len(LANGUAGES)} languages "
        f"({len(train[0])} in all):")
    classifier = TextClassifier(composed, seed=0, name="demo-language-id")
    fit_started = time.perf_counter()
    classifier.fit(train, verbose=0)
    say(f"      fitted in {time.perf_counter() - fit_started:.1f} s ({classifier.card['training'].get('head', '')})")
    carried = what_carried(classifier)
    say(f"      what its predictions rest on: {carried}")

    report = noise_report(classifier, test, rates=(0.0, 0.05, 0.1), seed=0, name="demo-language-id")
    say(f"[4/5] Accuracy on {len(test[0])} held-out sentences:\n" + report.table())

    say(f"[5/5] Publishing the classifier to your shelf at {shelf.remote}:")
    saved = classifier.save(output / "classifier")
    entry = shelf.publish(saved, "demo-language-id")
    say(f"      {entry.item_type}/{entry.identifier} {entry.version}")
    fetched = TextClassifier.load(shelf.fetch("demo-language-id", entry.item_type, version=entry.version))
    sample = test[0][:64]
    checks = {"fetched classifier predicts the same": same_outputs(classifier.predict(sample), fetched.predict(sample))}
    for check, passed in checks.items():
        say(f"      [{'ok' if passed else 'FAILED'}] {check}")
    if not all(checks.values()):
        raise RuntimeError(f"Round trip through the shelf failed: {[c for c, ok in checks.items() if not ok]}")

    rows = [("component", "parameters", "version", "source")]
    rows += [(f"{entries[i].item_type}/{i}", _parameters(parts[i]), entries[i].version, "starter shelf")
             for i in entries]
    rows.append((f"{entry.item_type}/demo-language-id", f"{classifier.model.count_params():,}", entry.version,
                 f"your shelf (test acc {report.accuracy[0]:.3f}, from {_carried_briefly(classifier)})"))
    seconds = time.perf_counter() - started
    say("\n" + _table(rows))
    say(f"\nDone in {seconds:.0f} s. Classifier: {saved}\nShelf: {shelf.remote} (cache: {shelf.cache_dir})\n"
        "Next: train your own tower on the starter embedder and compose it (docs/guide.md), or run "
        "'cclm demo --pretrain' to pretrain every component from scratch.")
    return {
        "checks": checks, "accuracy": dict(zip(report.rates, report.accuracy)), "rows": rows, "seconds": seconds,
        "output": output, "versions": {"demo-language-id": entry.version,
                                       **{i: entries[i].version for i in entries}},
        "carried": carried,
    }


def _parameters(component: Any) -> str:
    """A component's parameter count for the table (a preprocessor: its ids)."""
    if hasattr(component, "vocab_size") and not hasattr(component, "count_params"):
        return f"{component.vocab_size:,} ids"
    model = getattr(component, "tower", component)
    return f"{model.count_params():,}"
