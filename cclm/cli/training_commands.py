"""`cclm preprocessor fit`, `cclm pretrain mlm|categorical|distill|causal` and `cclm compose`: building components from a shell.

Each command reads data through `cclm.data.files.open_data` (text files,
JSONL, CSV/TSV, Parquet or a saved `datasets` directory), trains with a
progress bar, and saves one component directory. Towers trained after the
first share its embedder and preprocessor (`--base`), so they compose.
Errors print one line to stderr and exit with 2.

    cclm preprocessor fit corpus.txt --output prep
    cclm pretrain mlm corpus.txt --preprocessor prep --output mlm --epochs 3
    cclm pretrain categorical labelled.jsonl --base mlm --output topic --label-column topic
    cclm pretrain distill corpus.txt --teacher mlm --output student --width 32
    cclm pretrain causal corpus.txt --output lm --epochs 3      # then: cclm generate lm "The "
    cclm compose mlm topic --output composed
    cclm compose mlm topic --train labelled.jsonl --output classifier   # with a label head
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cclm.cli.arguments import (
    component_source,
    existing_path,
    needs_tensorflow,
    output_component,
    positive_float,
    positive_int,
)
from cclm.cli.errors import reporting_errors

_WRITES = "where to save the component directory"


def _name(args: argparse.Namespace) -> str:
    """The component's name: `--name`, else the last part of `--output` (`--output models/topic`: "topic")."""
    from cclm.keras_objects import keras_name

    return args.name or keras_name(Path(args.output).resolve().name)


def _data(args: argparse.Namespace, label_column: str | None = None) -> Any:
    from cclm.data.files import open_data

    return open_data(args.data, args.text_column, label_column, streaming=args.streaming)


def _verbose(args: argparse.Namespace) -> int:
    return 0 if args.quiet else 1


def _say(args: argparse.Namespace, message: str) -> None:
    if not args.quiet:
        print(message)


def _preprocessor_fit(args: argparse.Namespace) -> None:
    from cclm.preprocessing.preprocessor import Preprocessor

    data = _data(args)
    preprocessor = Preprocessor(
        sequence_length=args.sequence_length, downsample_factor=args.downsample_factor,
        subword_model=None if args.subwords == "none" else args.subwords, subword_vocab_size=args.subword_vocab_size,
        lowercase=args.lowercase, name=_name(args),
    ).fit(data, text_column=args.text_column, progress=not args.quiet)
    path = preprocessor.save(args.output)
    print(f"Saved a preprocessor of {preprocessor.vocab_size:,} ids ({preprocessor.card['trained_on']}) to {path}")


def _shared_parts(args: argparse.Namespace) -> dict[str, Any]:
    """The embedder and preprocessor a new tower trains on: a base pretrainer's, or a saved preprocessor."""
    from cclm.components import component_path, read_manifest
    from cclm.models.embedder import Embedder
    from cclm.preprocessing.preprocessor import Preprocessor

    if args.base:
        base = component_path(args.base)
        kind = read_manifest(base)["kind"]
        if not (base / "embedder").is_dir():
            raise ValueError(f"--base {args.base} is a {kind!r} component with no embedder; give a saved pretrainer.")
        # The base's embedder stays as its towers know it, so they compose.
        return {
            "embedder": Embedder.load(base / "embedder"),
            "preprocessor": Preprocessor.load(base / "preprocessor"),
            "train_embedder": False,
        }
    if args.preprocessor:
        return {"preprocessor": Preprocessor.load(component_path(args.preprocessor))}
    return {}


def _tower_options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if args.width is not None:
        options.update(hidden_dim=args.width, intermediate_dim=2 * args.width)
    if args.layers is not None:
        options["num_layers"] = args.layers
    return options


def _training_typos(args: argparse.Namespace) -> list[Any]:
    """`--augment RATE` as the transforms list: `Augmentor.typos(RATE)`, or nothing."""
    from cclm.pipelines.augmentation import Augmentor

    return [Augmentor.typos(args.augment, seed=args.seed)] if args.augment else []


def _common(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "tower_options": _tower_options(args), "batch_size": args.batch_size, "learning_rate": args.learning_rate,
        "seed": args.seed, "text_column": args.text_column,
        "transforms": _training_typos(args),
        "mixed_precision": args.mixed_precision,
    }


def _fit_and_save(args: argparse.Namespace, pretrainer: Any, data: Any, **fit_options: Any) -> None:
    pretrainer.fit(data, epochs=args.epochs, steps_per_epoch=args.steps_per_epoch, verbose=_verbose(args),
                   **fit_options)
    path = pretrainer.save(args.output)
    metrics = ", ".join(f"{key} {value:.4g}" for key, value in pretrainer.card.get("metrics", {}).items())
    print(f"Saved {pretrainer.component_kind} {pretrainer.name!r} ({pretrainer.tower.count_params():,} tower "
          f"parameters; {pretrainer.card.get('trained_on')}; {metrics}) to {path}")


def _denoising(args: argparse.Namespace) -> Any:
    """`--denoise RATE` as length-keeping typos (None for 0)."""
    from cclm.pipelines.augmentation import Augmentor

    return Augmentor.typos(args.denoise, keep_length=True, seed=args.seed) if args.denoise else None


def _pretrain_mlm(args: argparse.Namespace) -> None:
    from cclm.pretraining.masked_language_pretrainer import MaskedLanguagePretrainer

    data = _data(args)
    pretrainer = MaskedLanguagePretrainer(
        target=args.target, mask_rate=args.mask_rate, denoising=_denoising(args), name=_name(args),
        **_shared_parts(args), **_common(args),
    )
    _fit_and_save(args, pretrainer, data)


def _pretrain_causal(args: argparse.Namespace) -> None:
    from cclm.pretraining.causal_language_pretrainer import CausalLanguagePretrainer

    pretrainer = CausalLanguagePretrainer(name=_name(args), **_shared_parts(args), **_common(args))
    _fit_and_save(args, pretrainer, _data(args))


def _pretrain_categorical(args: argparse.Namespace) -> None:
    from cclm.pretraining.categorical_pretrainer import CategoricalPretrainer

    data = _data(args, args.label_column)
    pretrainer = CategoricalPretrainer(
        label_column=args.label_column, pooling=args.pooling, name=_name(args),
        **_shared_parts(args), **_common(args),
    )
    callbacks = []
    if args.validation_split:  # the epoch with the best held-out accuracy is the one kept
        import keras

        callbacks.append(keras.callbacks.EarlyStopping("val_accuracy", patience=args.patience, mode="max",
                                                       restore_best_weights=True))
    _fit_and_save(args, pretrainer, data, validation_split=args.validation_split, callbacks=callbacks)
    _report_held_out(pretrainer)


def _report_held_out(pretrainer: Any) -> None:
    """The held-out accuracy beside chance (1 / labels), with a warning when it is no better."""
    metrics, chance = pretrainer.card.get("metrics", {}), 1 / len(pretrainer.labels)
    if "val_accuracy" not in metrics:
        print(f"No held-out accuracy (--validation-split 0): accuracy on the training batches, "
              f"{metrics.get('accuracy', float('nan')):.3f}, says little; chance is {chance:.3f}.")
        return
    accuracy = metrics["val_accuracy"]
    print(f"Held-out accuracy {accuracy:.3f} (chance {chance:.3f} for {len(pretrainer.labels)} labels).")
    if accuracy <= chance:
        print(f"WARNING: held-out accuracy {accuracy:.3f} is no better than chance ({chance:.3f}); the tower has not "
              "learnt the labels yet: give more labelled texts or --epochs.", file=sys.stderr)


def _pretrain_distill(args: argparse.Namespace) -> None:
    from cclm.components import load_component
    from cclm.pretraining.distillation_pretrainer import DistillationPretrainer

    data = _data(args)
    teacher = load_component(args.teacher)
    if not hasattr(teacher, "embedder"):
        raise ValueError(f"--teacher {args.teacher} is a {type(teacher).__name__}; give a saved pretrainer or composed model.")
    student = DistillationPretrainer(
        teacher, objective=args.objective, denoising=_denoising(args), name=_name(args), **_common(args)
    )
    _fit_and_save(args, student, data)
    print(f"Teacher tower parameters: {sum(t.count_params() for t in _towers_of(teacher)):,}")


def _towers_of(component: Any) -> list:
    return list(getattr(component, "towers", None) or [component.tower])


def _compose(args: argparse.Namespace) -> None:
    from cclm.classification.text_classifier import TextClassifier
    from cclm.components import component_path
    from cclm.models.composed_model import ComposedModel
    from cclm.models.embedder import Embedder
    from cclm.preprocessing.preprocessor import Preprocessor

    first = component_path(args.towers[0])
    if not (first / "embedder").is_dir():
        raise ValueError(f"{args.towers[0]} holds no embedder; give saved pretrainers (cclm pretrain ...) as towers.")
    embedder, preprocessor = Embedder.load(first / "embedder"), Preprocessor.load(first / "preprocessor")
    composed = ComposedModel(embedder, [component_path(t) for t in args.towers], preprocessor=preprocessor,
                             name=_name(args))
    widths = " + ".join(str(t.output_dim) for t in composed.towers)
    if not args.data:
        path = composed.save(args.output)
        print(f"Saved a composition of {len(composed.towers)} towers (widths {widths}) to {path}")
        return
    data = _data(args, args.label_column)
    classifier = TextClassifier(
        composed, preprocessor=preprocessor, pooling=args.pooling, train_composition=args.fine_tune,
        views=args.views, learning_rate=args.learning_rate, batch_size=args.batch_size,
        transforms=_training_typos(args), seed=args.seed,
        text_column=args.text_column, label_column=args.label_column, name=_name(args),
    )
    validation = None
    if args.validation:
        from cclm.data.files import open_data

        validation = open_data(args.validation, args.text_column, args.label_column, streaming=args.streaming)
    classifier.fit(data, epochs=args.epochs, steps_per_epoch=args.steps_per_epoch, validation_data=validation,
                   validation_split=args.validation_split, verbose=_verbose(args))
    metrics = classifier.card.get("metrics", {})
    if "val_accuracy" in metrics:
        figure = f"validation accuracy {metrics['val_accuracy']:.3f}"
    elif "loo_accuracy" in metrics:
        figure = f"leave-one-out accuracy {metrics['loo_accuracy']:.3f}"
    else:  # fine-tuned: the training data read again in evaluation mode, not the training batches' figure
        figure = f"accuracy on the training data, evaluation mode {classifier.evaluate(data)['accuracy']:.3f}"
    path = classifier.save(args.output)
    print(f"Saved a text classifier over {len(composed.towers)} towers (widths {widths}; labels "
          f"{', '.join(map(str, classifier.labels))}; {figure}) to {path}")


def _data_arguments(parser: argparse.ArgumentParser, labels: bool = False, option: str | None = None) -> None:
    """The data argument (positional, or the optional `option`) and the options for reading it."""
    kind = "labelled data: .jsonl, .csv, .tsv, .parquet or a saved dataset" if labels else (
        "text: .txt (one text per line), .jsonl, .csv, .tsv, .parquet or a saved dataset")
    if option is None:
        parser.add_argument("data", type=existing_path, help=kind)
    else:
        parser.add_argument(option, metavar="DATA", dest="data", type=existing_path, help=kind)
    parser.add_argument("--text-column", default="text", help="the column holding the text")
    if labels:
        parser.add_argument("--label-column", default="label", help="the column holding labels")
    parser.add_argument("--streaming", action="store_true", help="stream tables instead of loading them")


def _pooling_argument(parser: argparse.ArgumentParser) -> None:
    # `cclm.layers.sequence_pooling.POOLINGS`, written out so that `--help` does not import Keras.
    parser.add_argument("--pooling", choices=["mean", "max", "cls"], default="mean",
                        help="how the head pools the towers' vectors over characters")


def _augment_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--augment", type=float, default=0.0, metavar="RATE", help="train with this rate of typos")


def _training_arguments(parser: argparse.ArgumentParser, shares: bool = True, epochs: int = 1) -> None:
    parser.add_argument("--output", required=True, type=output_component, help=_WRITES)
    if shares:
        parser.add_argument("--base", metavar="PRETRAINER", type=component_source,
                            help="a saved pretrainer whose embedder and preprocessor this tower shares (kept fixed)")
        parser.add_argument("--preprocessor", metavar="DIR", type=component_source, help="a saved preprocessor (when there is no --base)")
    parser.add_argument("--epochs", type=positive_int, default=epochs, help="passes over the data")
    parser.add_argument("--steps-per-epoch", type=positive_int, help="batches per epoch (default: one pass over the data)")
    parser.add_argument("--batch-size", type=positive_int, default=32, help="texts per batch")
    parser.add_argument("--learning-rate", type=positive_float, default=2e-3, help="the optimizer's peak learning rate")
    parser.add_argument("--width", type=positive_int, help="the tower's hidden width (default 128)")
    parser.add_argument("--layers", type=positive_int, help="the tower's transformer layers (default 2)")
    _augment_argument(parser)
    parser.add_argument("--mixed-precision", help="auto, mixed_float16 or mixed_bfloat16 (default: float32)")
    parser.add_argument("--seed", type=int, default=0, help="seeds shuffling, masks and typos")
    parser.add_argument("--name", help="the component's name (default: the last part of --output)")


def add_training_commands(commands: argparse._SubParsersAction) -> None:
    """Adds `preprocessor fit`, `pretrain mlm|categorical|distill` and `compose` to the `cclm` command line."""
    preprocessor = commands.add_parser("preprocessor", help="fit a preprocessor (character vocabulary, subwords)")
    preprocessor_commands = preprocessor.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", required=True)
    fit = preprocessor_commands.add_parser(
        "fit", help="fit a preprocessor on text and save it",
        description="Builds the character vocabulary (and a subword tokenizer) from text, streaming, and saves it.",
    )
    _data_arguments(fit)
    fit.add_argument("--output", required=True, type=output_component, help=_WRITES)
    fit.add_argument("--sequence-length", type=int, default=256, help="characters per window")
    fit.add_argument("--downsample-factor", type=int, default=4, help="the towers' downsampling factor")
    fit.add_argument("--subwords", choices=["bpe", "wordpiece", "none"], default="none",
                     help="also train a subword tokenizer, for subword MLM targets")
    fit.add_argument("--subword-vocab-size", type=int, default=8000, help="the subword tokenizer's vocabulary")
    fit.add_argument("--lowercase", action="store_true", help="lowercase every text first")
    fit.add_argument("--name", help="the component's name (default: the last part of --output)")
    fit.set_defaults(run=reporting_errors(_preprocessor_fit))

    pretrain = commands.add_parser("pretrain", help="train a tower: mlm, categorical, distill or causal")
    tasks = pretrain.add_subparsers(dest="subcommand", metavar="TASK", required=True)
    mlm = tasks.add_parser(
        "mlm", help="masked-language modelling on unlabelled text",
        description="Trains a tower to restore hidden characters (or subwords) and saves the pretrainer.",
    )
    _data_arguments(mlm)
    _training_arguments(mlm)
    mlm.add_argument("--target", choices=["characters", "subwords"], default="characters",
                     help="what the tower restores")
    mlm.add_argument("--mask-rate", type=float, default=0.15, help="the share of characters hidden")
    mlm.add_argument("--denoise", type=float, default=0.0, metavar="RATE",
                     help="also learn to undo this rate of length-keeping typos (a denoising MLM; characters only)")
    needs_tensorflow(mlm).set_defaults(run=reporting_errors(_pretrain_mlm))

    categorical = tasks.add_parser(
        "categorical", help="classification on labelled text",
        description="Trains a tower on labelled text (labels are read from the data) and saves the pretrainer.",
    )
    _data_arguments(categorical, labels=True)
    _training_arguments(categorical, epochs=10)  # a tower learning labels from scratch needs several passes
    categorical.add_argument("--validation-split", type=float, default=0.1, metavar="FRACTION",
                             help="hold out this fraction of the data, its last examples, for the accuracy reported "
                             "(0: none)")
    categorical.add_argument("--patience", type=int, default=3,
                             help="stop after this many epochs without a better held-out accuracy, and keep the best")
    _pooling_argument(categorical)
    needs_tensorflow(categorical).set_defaults(run=reporting_errors(_pretrain_categorical))

    distill = tasks.add_parser(
        "distill", help="a small student tower that learns from a teacher",
        description="Trains a student tower to match a saved teacher (pretrainer or composed model) on "
        "unlabelled text; it shares the teacher's embedder, so it composes with the teacher's towers.",
    )
    _data_arguments(distill)
    _training_arguments(distill, shares=False)
    distill.add_argument("--teacher", required=True, type=component_source, help="a saved pretrainer or composed model")
    distill.add_argument("--objective", choices=["representations", "soft_targets", "both"], default="representations",
                         help="match the teacher's vectors, its soft predictions, or both")
    distill.add_argument("--denoise", type=float, default=0.0, metavar="RATE",
                         help="the student reads this rate of length-keeping typos, the teacher the clean text")
    needs_tensorflow(distill).set_defaults(run=reporting_errors(_pretrain_distill))

    causal = tasks.add_parser(
        "causal", help="next-character prediction on unlabelled text: a model that writes",
        description="Trains a causal embedder and tower to predict each next character and saves the "
        "pretrainer, ready for `cclm generate`; a --base must be causal itself.",
    )
    _data_arguments(causal)
    _training_arguments(causal)
    needs_tensorflow(causal).set_defaults(run=reporting_errors(_pretrain_causal))

    compose = commands.add_parser(
        "compose", help="compose saved towers; with --train, also fit a label head",
        description="Composes saved pretrainers that share an embedder into one model (the embedder runs once, "
        "tower outputs are concatenated). With --train DATA it also fits a classification head and saves a "
        "text classifier, ready for `cclm predict` and `cclm evaluate`.",
    )
    compose.add_argument("towers", nargs="+", type=component_source, help="saved pretrainers (or shelf:ID[@VERSION]), sharing one embedder")
    compose.add_argument("--output", required=True, type=output_component, help=_WRITES)
    _data_arguments(compose, labels=True, option="--train")  # labelled data for a classification head
    compose.add_argument("--validation", metavar="DATA", type=existing_path, help="held-out labelled data, evaluated after each epoch "
                         "(its curve goes into the model card and `cclm evaluate --plot`)")
    compose.add_argument("--validation-split", type=float, default=0.0, metavar="FRACTION",
                         help="instead, hold out this fraction of --train, its last examples")
    compose.add_argument("--fine-tune", action="store_true", help="also train the towers and embedder")
    compose.add_argument("--epochs", type=positive_int, default=3, help="passes over the data (with --fine-tune)")
    compose.add_argument("--steps-per-epoch", type=int, help="batches per epoch (default: one pass over the data)")
    compose.add_argument("--batch-size", type=positive_int, default=32, help="texts per batch")
    compose.add_argument("--learning-rate", type=positive_float, default=3e-3, help="the optimizer's learning rate")
    _pooling_argument(compose)
    compose.add_argument("--views", type=int, default=1,
                         help="read each text this many times, shifted by 0..N-1 leading spaces, and average")
    _augment_argument(compose)
    compose.add_argument("--seed", type=int, default=0, help="seeds shuffling and typos")
    compose.add_argument("--name", help="the component's name (default: the last part of --output)")
    needs_tensorflow(compose).set_defaults(run=reporting_errors(_compose))
