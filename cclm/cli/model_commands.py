"""`cclm evaluate` and `cclm predict`: a saved classifier from a shell.

A classifier is a saved `TextClassifier` or `CategoricalPretrainer`
directory (or a shelf reference, `shelf:identifier[@version]`). Errors print
one line to stderr and exit with 2.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cclm.cli.arguments import (
    component_source,
    existing_path,
    needs_tensorflow,
    output_directory,
    output_file,
    stdin_lines,
)
from cclm.cli.errors import reporting_errors
from cclm.cli.terminal import json_text, printable

_CLASSIFIER_KINDS = ("text_classifier", "categorical_pretrainer")


def _classifier_path(source: str) -> Path:
    """The classifier's directory, checked from its manifest alone (no TensorFlow yet)."""
    from cclm.components import ComponentError, component_path, read_manifest

    path = component_path(source)
    kind = read_manifest(path)["kind"]
    if kind not in _CLASSIFIER_KINDS:
        raise ComponentError(
            f"{source} is a {kind!r} component, which does not predict labels; give a saved "
            "text_classifier or categorical_pretrainer."
        )
    return path


def _load_classifier(path: Path) -> Any:
    from cclm.components import load_component

    return load_component(path)


def _evaluate(args: argparse.Namespace) -> None:
    from cclm.classification.noise_report import noise_report, parse_rates
    from cclm.data.files import open_data

    default = [0.0, 0.05, 0.1, 0.2] if args.plot else [0.0]  # a curve needs points
    rates = parse_rates(args.noise) if args.noise is not None else default
    if args.plot:
        from cclm.classification.plots import figure_class

        figure_class()  # no matplotlib: say so before any work
    path = _classifier_path(args.model)
    data = open_data(args.data, args.text_column, args.label_column)
    classifier = _load_classifier(path)
    report = noise_report(
        classifier, data, rates=rates, seed=args.seed, text_column=args.text_column,
        label_column=args.label_column, name=Path(args.model).name,
    )
    print(printable(report.table(), lines=True))  # its labels come from a manifest someone pushed
    if args.json:
        report.save(args.json)
        print(f"Wrote {args.json}")
    if args.plot:
        from cclm.classification.plots import plot_noise, plot_training

        figures = [plot_noise(report, Path(args.plot) / "accuracy_vs_typos.png")]
        if classifier.card.get("history"):
            figures.append(plot_training(classifier.card, Path(args.plot) / "training.png", title=Path(args.model).name))
        print("Wrote " + ", ".join(map(str, figures)))


def _predict(args: argparse.Namespace) -> None:
    from cclm.data.files import open_data
    from cclm.data.texts import iter_texts

    path = _classifier_path(args.model)
    texts = []
    for text in args.texts:  # "-": one text per line of standard input
        texts += stdin_lines() if text == "-" else [text]
    if args.input:
        texts += list(iter_texts(open_data(args.input, args.text_column), args.text_column))
    if not texts:
        raise ValueError("no texts to predict; give them as arguments or with --input FILE.")
    classifier = _load_classifier(path)
    from tqdm.auto import tqdm

    chunk = 1024  # texts per step: answers come out as they are ready, with progress on stderr for many texts
    with tqdm(total=len(texts), unit="text", desc="predict", disable=args.quiet or len(texts) <= 2 * chunk) as progress:
        for start in range(0, len(texts), chunk):
            part = texts[start:start + chunk]
            probabilities = classifier.predict(part)
            for text, row in zip(part, probabilities):
                label = classifier.labels[int(row.argmax())]
                if args.json:
                    scores = {str(name): round(float(p), 5) for name, p in zip(classifier.labels, row)}
                    print(json_text({"text": text, "label": label, "probabilities": scores}))
                else:
                    print(f"{printable(label)}\t{row.max():.3f}\t{printable(text)}")
            progress.update(len(part))


def add_model_commands(commands: argparse._SubParsersAction) -> None:
    """Adds `evaluate` and `predict` to the `cclm` command line."""
    evaluate = commands.add_parser(
        "evaluate",
        help="accuracy of a saved classifier on labelled data, optionally under typos",
        description="Prints a classifier's accuracy on labelled data (JSONL, CSV, Parquet or a saved "
        "dataset). With --noise, also at each typo rate (cclm.pipelines.augmentation.Augmentor.typos, seeded).",
    )
    evaluate.add_argument("model", type=component_source, help="a saved text_classifier / categorical_pretrainer, or shelf:ID[@VERSION]")
    evaluate.add_argument("data", type=existing_path, help="labelled test data: .jsonl, .csv, .tsv, .parquet or a saved dataset directory")
    evaluate.add_argument("--noise", metavar="RATES", help="per-character typo rates, e.g. 0,0.05,0.1")
    evaluate.add_argument("--seed", type=int, default=0, help="noise seed")
    evaluate.add_argument("--json", metavar="PATH", type=output_file, help="also write the report as JSON")
    evaluate.add_argument("--plot", metavar="DIR", type=output_directory, help="also write PNG figures: accuracy against typo rate "
                          "(rates 0,0.05,0.1,0.2 unless --noise) and training curves (needs matplotlib: bash scripts/setup.sh plot)")
    evaluate.add_argument("--text-column", default="text", help="the column holding the text")
    evaluate.add_argument("--label-column", default="label", help="the column holding labels")
    needs_tensorflow(evaluate).set_defaults(run=reporting_errors(_evaluate))

    predict = commands.add_parser(
        "predict", help="labels for texts from a saved classifier",
        description="Prints label, probability and text, one line per text (or JSON Lines with --json).",
    )
    predict.add_argument("model", type=component_source, help="a saved text_classifier / categorical_pretrainer, or shelf:ID[@VERSION]")
    predict.add_argument("texts", nargs="*", help='texts to label; "-" reads one text per line from standard input')
    predict.add_argument("--input", metavar="FILE", type=existing_path, help="texts from a file (.txt lines, .jsonl, .csv, ...)")
    predict.add_argument("--text-column", default="text", help="the column holding the text (--input tables)")
    predict.add_argument("--json", action="store_true", help="JSON Lines with every label's probability")
    needs_tensorflow(predict).set_defaults(run=reporting_errors(_predict))
