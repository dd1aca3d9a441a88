"""Does composing pretrained character towers pay? Measured on real labelled text.

The original cclm premise: towers pretrained once (on unlabelled text, and on
a related labelled task) and composed on a shared embedder make a better
start for a new task than training from scratch, especially with few labels
and noisy text. This script tests it and prints one table.

Data (all shipped with the Faker package, nothing downloaded; see `cclm.data.sample_text`):
- target task: the language of a short sentence (`--words` words drawn from
  the real word lists of Faker's lorem providers) among 9 languages written
  in the Latin script. A training pool of `--pool` sentences per language
  and a held-out test split of `--test` per language.
- unlabelled text: `--unlabelled` other sentences per language, labels
  dropped; the masked-language tower and the student learn from it.
- related labelled task: the country of a person's name, street and city
  (`names_and_places`, Faker's real name and place lists), `--related` per country.

Models, all with the same embedder and tower sizes:
- pretrained composition: embedder + MLM tower, then a categorical tower on
  the related task (embedder fixed), composed; the composition is frozen and
  a classification head (mean pooling + Dense) is trained on the target task.
- the same, fine-tuned: a fresh copy of the pretrained composition trained
  with its head, everything unfrozen.
- random initialization: the same architecture, untrained, then everything
  trained on the target task.
- distilled student: a smaller tower that learned to reproduce the
  pretrained composition's vectors on the unlabelled text, composed alone
  on the embedder, frozen, with the same head; and, as its own random
  baseline, an embedder and a tower of the student's sizes from random
  initialization, trained on the target task.
- TF-IDF character 1-4-grams + logistic regression (scikit-learn, the
  `evaluate` extra).

Each is trained with `--few` labelled sentences per language and with the
whole pool, and scored on the clean test split and on copies with 5% and 10%
of characters hit by realistic typos (`Augmentor.typos`: keyboard-neighbour
substitutions, deletions, insertions, adjacent transpositions, doubled
letters and case flips). Typo scores are means over `--typo-draws`
independent draws of the noisy copies: one draw moves a model's loss by
a point or more. In the few-shot setting, TF-IDF, the frozen composition and
the student are also scored on copies hit by one kind of typo at a time (10%
of characters), which shows where each loses. Each neural classifier is
trained `--head-seeds` times (seeds `--seed`, `--seed` + 1, ...; from random
initialization also a new random composition each time) and its scores are
averaged: on the same frozen features, two head seeds lost 2.9 and 5.0
points. After the table, each composition's typo loss is compared with
TF-IDF's draw by draw; the difference's standard error counts both the head
seeds and the typo draws (a two-way crossed design), and the draws alone
beside it. Every classifier, the categorical tower and the student train with
`--augment` typos in their batches (0 turns that off); the MLM tower is a
denoising one: it learns to restore the clean characters under `--denoise`
typos that keep lengths (`MaskedLanguagePretrainer(denoising=...)`). With
`--views N` the frozen composition gets one more classifier per setting that
reads each text N times, shifted by 0 to N-1 leading spaces, and averages
(`TextClassifier(views=N)`). With `--student-denoise RATE` the student reads
that rate of length-keeping typos where the teacher reads the clean text
(`DistillationPretrainer(denoising=...)`, in place of the training typos).
A `--seed` gives the same accuracies in every run (timings vary).

Run: python examples/evaluate_premise.py            (about 28 minutes on 2 CPU cores)
     python examples/evaluate_premise.py --head-seeds 1 (about a third less; noisier)
     python examples/evaluate_premise.py --views 4  (about 5 minutes more: one more row, 4x its compute)
     python examples/evaluate_premise.py --typo-draws 30 (about 42 minutes: resolves gaps of half a point)
     python examples/evaluate_premise.py --few-shot-only (the 32-per-class setting only: half the classifiers)
     python examples/evaluate_premise.py --quick    (under a minute: tiny models, few steps)
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from cclm.pipelines import Augmentor
from cclm.pretraining import CategoricalPretrainer
from cclm.models import ComposedModel
from cclm.pretraining import DistillationPretrainer
from cclm.models import Embedder
from cclm.pretraining import MaskedLanguagePretrainer
from cclm.preprocessing import Preprocessor
from cclm.data.sample_text import LANGUAGES, language_sentences, names_and_places
from cclm.classification import TextClassifier
from cclm.models import Tower

NOISE_RATES = (0.0, 0.05, 0.10)

def per_class(texts: list[str], labels: list[str], count: int) -> tuple[list[str], list[str]]:
    """The first `count` examples of each label (the data are already shuffled)."""
    taken: dict[str, int] = {}
    chosen_texts, chosen_labels = [], []
    for text, label in zip(texts, labels):
        if taken.get(label, 0) < count:
            taken[label] = taken.get(label, 0) + 1
            chosen_texts.append(text)
            chosen_labels.append(label)
    return chosen_texts, chosen_labels


class Sizes:
    def __init__(self, small: bool):
        self.embedder = {"hidden_dim": 32 if small else 64, "num_blocks": 1 if small else 2, "dropout": 0.0}
        self.mlm_tower = (
            {"hidden_dim": 32, "num_layers": 1, "num_heads": 2, "intermediate_dim": 64, "dropout": 0.0} if small
            else {"hidden_dim": 128, "num_layers": 2, "num_heads": 4, "intermediate_dim": 256, "dropout": 0.0}
        )
        self.categorical_tower = (
            {"hidden_dim": 16, "num_layers": 1, "num_heads": 2, "intermediate_dim": 32, "dropout": 0.0} if small
            else {"hidden_dim": 64, "num_layers": 1, "num_heads": 4, "intermediate_dim": 128, "dropout": 0.0}
        )
        self.student_tower = (
            {"hidden_dim": 16, "num_layers": 1, "num_heads": 2, "intermediate_dim": 32, "dropout": 0.0} if small
            else {"hidden_dim": 48, "num_layers": 1, "num_heads": 4, "intermediate_dim": 96, "dropout": 0.0}
        )


def pretrain(args: argparse.Namespace, sizes: Sizes, unlabelled: list[str], related: tuple[list[str], list[str]]):
    """The MLM tower (with the embedder), the categorical tower and the student; their preprocessor."""
    preprocessor = Preprocessor(sequence_length=args.length, downsample_factor=4).fit(unlabelled + related[0])
    common = {"preprocessor": preprocessor, "batch_size": 64, "seed": args.seed, "transforms": training_noise(args)}
    denoising = length_keeping_typos(args.denoise, args)
    mlm = MaskedLanguagePretrainer(
        embedder=Embedder(vocab_size=preprocessor.vocab_size, max_length=args.length, **sizes.embedder),
        tower_options={**sizes.mlm_tower, "max_length": args.length}, name="mlm", denoising=denoising,
        # Denoising is the MLM tower's noise; without it, the common training typos.
        **{**common, "transforms": [] if denoising else common["transforms"]},
    )
    started = time.perf_counter()
    mlm.fit(unlabelled, epochs=args.mlm_epochs, verbose=0)
    print(f"  MLM tower: {time.perf_counter() - started:.0f} s, masked-character accuracy "
          f"{mlm.card['metrics']['accuracy']:.3f}")

    categorical = CategoricalPretrainer(
        embedder=mlm.embedder, train_embedder=False,
        tower_options={**sizes.categorical_tower, "max_length": args.length}, name="name_origin", **common,
    )
    started = time.perf_counter()
    categorical.fit(related, epochs=args.related_epochs, verbose=0)
    print(f"  categorical tower (country of names and places): {time.perf_counter() - started:.0f} s, "
          f"training accuracy {categorical.card['metrics']['accuracy']:.3f}")

    teacher = ComposedModel(mlm.embedder, [mlm, categorical], preprocessor=preprocessor, name="pretrained")
    # With --student-denoise the student reads typos the teacher does not: they are its noise.
    noisy = length_keeping_typos(args.student_denoise, args)
    student = DistillationPretrainer(
        teacher, tower_options={**sizes.student_tower, "max_length": args.length}, name="student",
        denoising=noisy, **{**common, "transforms": [] if noisy else common["transforms"]},
    )
    started = time.perf_counter()
    student.fit(unlabelled, epochs=args.student_epochs, verbose=0)
    reads = f" (reading {args.student_denoise:.0%} length-keeping typos, the teacher the clean text)" if noisy else ""
    print(f"  distilled student{reads}: {time.perf_counter() - started:.0f} s, distance to the teacher "
          f"{student.distance(unlabelled[:512]):.4f}")
    return preprocessor, mlm, categorical, student


def length_keeping_typos(rate: float, args: argparse.Namespace) -> Augmentor | None:
    """Typos that keep lengths at `rate` (a denoising objective's noise), None for 0."""
    return Augmentor.typos(rate, keep_length=True, seed=args.seed) if rate else None


def training_noise(args: argparse.Namespace) -> list[Augmentor]:
    """Typos added to every training batch (pretraining and classifiers), none with --augment 0."""
    return [Augmentor.typos(args.augment, seed=args.seed)] if args.augment else []


Scores = dict[tuple[float, int], float]  # accuracy per (typo rate, typo draw); draw 0 is the clean text


def mean_scores(scores: Scores) -> dict[float, float]:
    """Accuracy per noise rate, averaged over the typo draws."""
    return {rate: float(np.mean([v for (r, _), v in scores.items() if r == rate])) for rate in NOISE_RATES}


def points(fraction: float) -> str:
    """An accuracy difference in points, one decimal, never "-0.0"."""
    return f"{round(fraction * 100, 1) + 0.0:.1f}"


def seed_average(per_seed: list[Scores]) -> Scores:
    """Each (rate, draw) accuracy averaged over the classifiers trained with different seeds."""
    return {key: float(np.mean([scores[key] for scores in per_seed])) for key in per_seed[0]}


def crossed_standard_error(values: np.ndarray) -> float:
    """The standard error of the mean of a (head seeds, typo draws) table, both taken as random.

    Seeds and draws are crossed (every classifier is scored on every draw), so the mean's variance is
    var_seed / S + var_draw / D + var_residual / (S * D), estimated from the two-way analysis of
    variance as (MS_seeds + MS_draws - MS_residual) / (S * D). A single seed or draw gives the one-way
    error over the other.

    >>> crossed_standard_error(np.array([[1.0, 2.0, 3.0], [2.0, 3.0, 4.0]]))  # doctest: +ELLIPSIS
    0.763...
    """
    seeds, draws = values.shape
    if seeds == 1 or draws == 1:
        flat = values.ravel()
        return float(flat.std(ddof=1) / np.sqrt(flat.size)) if flat.size > 1 else float("nan")
    grand = values.mean()
    seed_means, draw_means = values.mean(axis=1), values.mean(axis=0)
    ms_seeds = draws * np.sum((seed_means - grand) ** 2) / (seeds - 1)
    ms_draws = seeds * np.sum((draw_means - grand) ** 2) / (draws - 1)
    residual = values - seed_means[:, None] - draw_means[None, :] + grand
    ms_residual = np.sum(residual**2) / ((seeds - 1) * (draws - 1))
    return float(np.sqrt(max(ms_seeds + ms_draws - ms_residual, 0.0) / (seeds * draws)))


def train_and_score(
    composed: ComposedModel, train_composition: bool, train: tuple[list[str], list[str]],
    tests: dict[tuple[float, int], tuple[list[str], list[str]]], args: argparse.Namespace, seed: int,
    views: int = 1,
) -> Scores:
    """A `TextClassifier` (mean pooling + Dense) on `composed`, trained for `--head-steps` batches of 32."""
    keras.utils.set_random_seed(seed)
    classifier = TextClassifier(
        composed, labels=list(LANGUAGES), train_composition=train_composition, views=views, optimizer="adam",
        learning_rate=3e-3, batch_size=32, transforms=training_noise(args), seed=seed,
    )
    classifier.fit(train, epochs=1, steps_per_epoch=args.head_steps, verbose=0)
    # Every test set in one predict call (one pass through Keras' predict loop, not one per set).
    predicted, _ = classifier.predict([text for texts, _ in tests.values() for text in texts])
    scores, start = {}, 0
    for key, (texts, labels) in tests.items():
        chunk, start = predicted[start:start + len(texts)], start + len(texts)
        scores[key] = float(np.mean([p == t for p, t in zip(chunk, labels)]))
    return scores


def tfidf_scores(
    train: tuple[list[str], list[str]], tests: dict[tuple[float, int], tuple[list[str], list[str]]],
) -> Scores:
    try:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
    except ImportError:
        raise SystemExit("The TF-IDF baseline needs scikit-learn: pip install 'cclm[evaluate]'.") from None
    baseline = make_pipeline(
        TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True),
        LogisticRegression(max_iter=2000, C=10.0),
    )
    baseline.fit(*train)
    return {key: float(baseline.score(texts, labels)) for key, (texts, labels) in tests.items()}


def count_params(layer: keras.layers.Layer) -> int:
    return int(sum(np.prod(weight.shape) for weight in layer.weights))


def texts_per_second(model: keras.Model, texts: list[str], repeats: int = 3, count: int = 2048) -> float:
    batch = tf.constant((texts * (1 + count // len(texts)))[:count])
    model.predict(batch[:256], batch_size=256, verbose=0)  # warm-up (tracing)
    started = time.perf_counter()
    for _ in range(repeats):
        model.predict(batch, batch_size=256, verbose=0)
    return repeats * len(batch) / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny models and data: checks the script, not the premise")
    parser.add_argument("--words", type=int, default=4, help="words per sentence of the target task")
    parser.add_argument("--pool", type=int, default=200, help="labelled training sentences per language ('all')")
    parser.add_argument("--few", type=int, default=32, help="labelled sentences per language in the few-shot setting")
    parser.add_argument("--test", type=int, default=100, help="held-out test sentences per language")
    parser.add_argument("--unlabelled", type=int, default=1500, help="unlabelled sentences per language")
    parser.add_argument("--related", type=int, default=400, help="names and places per country")
    parser.add_argument("--length", type=int, default=64, help="characters per text (longer ones are cut)")
    parser.add_argument("--mlm-epochs", type=int, default=18,
                        help="passes of the MLM tower over the unlabelled text (6 left it undertrained: README)")
    parser.add_argument("--related-epochs", type=int, default=6)
    parser.add_argument("--student-epochs", type=int, default=4)
    parser.add_argument("--head-steps", type=int, default=300, help="training steps (batches of 32) for each classifier")
    parser.add_argument("--augment", type=float, default=0.1,
                        help="typo rate added to training batches (Augmentor.typos); 0 trains on clean text")
    parser.add_argument("--denoise", type=float, default=0.2,
                        help="rate of length-keeping typos the MLM tower learns to undo; 0: plain MLM")
    parser.add_argument("--student-denoise", type=float, default=0.0,
                        help="rate of length-keeping typos the student reads where its teacher reads the clean "
                             "text (DistillationPretrainer(denoising=...)); 0: both read the same text")
    parser.add_argument("--typo-draws", type=int, default=5, help="independent typo draws each noisy score averages")
    parser.add_argument("--head-seeds", type=int, default=3,
                        help="classifiers trained (with different seeds) per neural model and setting, scores averaged")
    parser.add_argument("--views", type=int, default=1,
                        help="with N > 1, one more row: the frozen composition reading each text N times, "
                             "shifted by 0..N-1 leading spaces (TextClassifier(views=N))")
    parser.add_argument("--few-shot-only", action="store_true",
                        help="leave out the setting with all labels (about half the classifier training)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.views < 1:
        parser.error(f"--views {args.views}: use 1 (no extra row) or more readings per text")
    if args.quick:
        args.pool, args.few, args.test, args.unlabelled, args.related = 12, 4, 6, 40, 30
        args.mlm_epochs = args.related_epochs = args.student_epochs = 1
        args.head_steps, args.head_seeds = 2, 2
    keras.utils.set_random_seed(args.seed)
    sizes = Sizes(args.quick)

    # Disjoint draws: a different seed for each split, sentences shared by two splits dropped.
    test_texts, test_labels = language_sentences(per_language=args.test, words=args.words, seed=args.seed + 1)
    pool_texts, pool_labels = language_sentences(per_language=args.pool, words=args.words, seed=args.seed + 2)
    unlabelled, _ = language_sentences(per_language=args.unlabelled, words=args.words, seed=args.seed + 3)
    held_out = set(test_texts)
    pool = [(t, l) for t, l in zip(pool_texts, pool_labels) if t not in held_out]
    pool_texts, pool_labels = [t for t, _ in pool], [l for _, l in pool]
    unlabelled = [t for t in unlabelled if t not in held_out]
    related = names_and_places(per_language=args.related, seed=args.seed)
    print(f"Target task: language of {args.words}-word sentences, {len(LANGUAGES)} languages; "
          f"{len(pool_texts)} labelled for training, {len(test_texts)} held out.")
    print(f"Unlabelled: {len(unlabelled)} sentences. Related task: {len(related[0])} names and places.")

    draws = range(args.seed + 10, args.seed + 10 + args.typo_draws)
    tests = {(0.0, 0): (test_texts, test_labels)} | {
        (rate, draw): (Augmentor.typos(rate, seed=draw)(test_texts), test_labels)
        for rate in NOISE_RATES if rate for draw in draws
    }
    print(f"Test typos: Augmentor.typos(rate, seed=s) for s in {list(draws)}, scores averaged. Training typos: "
          f"{training_noise(args)[0] if args.augment else 'none'}.")
    # The same test split hit by one kind of typo at a time (the top rate): where each model loses.
    top_rate = NOISE_RATES[-1]
    kinds = [kind for kind, rate in Augmentor.typos(1.0).get_config().items() if kind != "seed" and rate]
    kind_tests = {
        (kind, draw): (Augmentor(**{kind: top_rate}, seed=draw)(test_texts), test_labels)
        for kind in kinds for draw in draws
    }
    few_setting = f"{args.few} per class"
    settings = {few_setting: per_class(pool_texts, pool_labels, args.few)}
    if not (args.quick or args.few_shot_only):  # --quick checks the script; one setting runs every path
        settings["all"] = (pool_texts, pool_labels)

    print("Pretraining:")
    preprocessor, mlm, categorical, student = pretrain(args, sizes, unlabelled, related)
    pretrained = ComposedModel(mlm.embedder, [mlm, categorical], preprocessor=preprocessor, name="pretrained")
    distilled = ComposedModel(mlm.embedder, [student], preprocessor=preprocessor, name="distilled")
    # Fine-tuning changes weights: each fine-tuned classifier starts from a fresh copy.
    scratch = tempfile.TemporaryDirectory(prefix="cclm-premise-")  # removed on any exit too
    saved = pretrained.save(Path(scratch.name) / "pretrained")

    teacher_towers = {"mlm": sizes.mlm_tower, "name_origin": sizes.categorical_tower}

    def random_composition(seed: int, towers: dict[str, dict] = teacher_towers) -> ComposedModel:
        """A fresh embedder and towers (the teacher's, or those given) of the pretrained sizes."""
        keras.utils.set_random_seed(seed)
        embedder = Embedder(vocab_size=preprocessor.vocab_size, max_length=args.length, **sizes.embedder)
        return ComposedModel(embedder, [
            Tower(input_dim=embedder.hidden_dim, max_length=args.length, name=name, **options)
            for name, options in towers.items()
        ], preprocessor=preprocessor, name="random_init")

    # Per model and setting, the scores of each classifier (TF-IDF is deterministic: one).
    runs: list[tuple[str, str, list[Scores]]] = []
    views_row = f"pretrained composition (frozen), {args.views} views"
    head_seeds = range(args.seed, args.seed + args.head_seeds)
    print(f"Training classifiers ({args.head_seeds} per neural model and setting, seeds {list(head_seeds)}):")
    for setting, (texts, labels) in settings.items():
        train = (texts, labels)
        # The typo kinds are scored in the few-shot setting, for TF-IDF and the frozen composition.
        with_kinds = tests | kind_tests if setting == few_setting else tests
        started = time.perf_counter()
        runs.append(("TF-IDF char 1-4-grams + LR", setting, [tfidf_scores(train, with_kinds)]))
        # (row, the composition for a head seed, whether the head trains it, the test sets, views), in run order.
        neural: list[tuple[str, Callable[[int], ComposedModel], bool, dict, int]] = [
            ("random init, same architecture", random_composition, True, tests, 1),
            ("pretrained composition (frozen)", lambda seed: pretrained, False, with_kinds, 1),
        ]
        if args.views > 1:
            neural.append((views_row, lambda seed: pretrained, False, with_kinds, args.views))
        neural += [
            ("pretrained composition, fine-tuned", lambda seed: ComposedModel.load(saved), True, tests, 1),
            ("random init, student's architecture",
             lambda seed: random_composition(seed, {"student": sizes.student_tower}), True, tests, 1),
            ("distilled student (frozen)", lambda seed: distilled, False, with_kinds, 1),
        ]
        with tqdm(total=len(neural) * len(head_seeds), desc=f"  {setting}", unit="classifier", leave=False) as bar:
            for name, composition, train_composition, scored_on, views in neural:
                per_seed = []
                for seed in head_seeds:
                    bar.set_postfix_str(f"{name}, seed {seed}")
                    per_seed.append(train_and_score(
                        composition(seed), train_composition, train, scored_on, args, seed, views=views))
                    bar.update()
                runs.append((name, setting, per_seed))
        print(f"  {setting}: {time.perf_counter() - started:.0f} s")
    scratch.cleanup()
    rows = [(name, setting, mean_scores(seed_average(per_seed))) for name, setting, per_seed in runs]
    # Points lost at the highest rate by each seed's classifier (over the draws): the spread of the mean.
    lost_per_seed = {
        (name, setting): [m[0.0] - m[NOISE_RATES[-1]] for m in map(mean_scores, per_seed)]
        for name, setting, per_seed in runs
    }

    print()
    width = max(36, *(len(name) + 2 for name, _, _ in runs))
    header = f"{'model':<{width}}{'labels':<16}" + "".join(
        f"{'clean' if rate == 0 else f'{rate:.0%} typos':>11}" for rate in NOISE_RATES
    ) + f"{'lost at 10%':>13}{'per head seed':>20}"
    print(header)
    print("-" * len(header))
    for model_name, setting, scores in rows:
        lost = scores[0.0] - scores[NOISE_RATES[-1]]
        per_seed = " ".join(points(value) for value in lost_per_seed[(model_name, setting)])
        print(f"{model_name:<{width}}{setting:<16}" + "".join(f"{scores[rate]:>11.3f}" for rate in NOISE_RATES)
              + f"{points(lost):>10} pt{per_seed:>20}")
    print(f"(means over {args.head_seeds} classifiers per neural model (TF-IDF: one) and, with typos, over "
          f"{args.typo_draws} typo draws; 'per head seed': points lost at 10% by each classifier)")
    print()
    # Typo draws move both models' losses together and a lot, and head seeds move a classifier's loss:
    # the paired difference per draw, with its standard error over the seeds and draws, says whether
    # "loses fewer points" is more than luck.
    top_draws = [(NOISE_RATES[-1], draw) for draw in draws]
    for setting in settings:
        by_draw = {name: seed_average(per_seed) for name, s, per_seed in runs if s == setting}
        tfidf = by_draw["TF-IDF char 1-4-grams + LR"]
        # Each pretrained model against the same architecture from random initialization.
        for name, random_init in (
            ("pretrained composition (frozen)", "random init, same architecture"),
            ("pretrained composition, fine-tuned", "random init, same architecture"),
            (views_row, "random init, same architecture"),
            ("distilled student (frozen)", "random init, student's architecture"),
        ):
            if name not in by_draw:
                continue
            model = by_draw[name]
            gain = model[(0.0, 0)] - by_draw[random_init][(0.0, 0)]
            lost = [model[(0.0, 0)] - model[key] for key in top_draws]
            tfidf_lost = [tfidf[(0.0, 0)] - tfidf[key] for key in top_draws]
            difference = np.subtract(lost, tfidf_lost)
            draws_error = crossed_standard_error(difference[None, :])
            # Per classifier and draw: the head seeds' spread counts too (their losses differ by a point).
            per_classifier = np.array([
                [scores[(0.0, 0)] - scores[key] - tfidf_loss for key, tfidf_loss in zip(top_draws, tfidf_lost)]
                for scores in next(per_seed for n, s, per_seed in runs if n == name and s == setting)
            ])
            error = crossed_standard_error(per_classifier)
            print(f"{setting}, {name}: {gain * 100:+.1f} points vs {random_init} (clean); loses "
                  f"{points(np.mean(lost))} points at 10% typos, TF-IDF {points(np.mean(tfidf_lost))}; "
                  f"difference {float(np.mean(difference)) * 100:+.1f} ± {error * 100:.1f} (standard error over "
                  f"{len(per_classifier)} head seeds and {len(difference)} typo draws; draws alone ± "
                  f"{draws_error * 100:.1f})")

    compared = ("TF-IDF char 1-4-grams + LR", "pretrained composition (frozen)", views_row, "distilled student (frozen)")
    by_kind = {name: seed_average(per_seed) for name, s, per_seed in runs if s == few_setting and name in compared}
    column = max(34, *(len(name) + 2 for name in by_kind))
    print()
    print(f"Points lost at {top_rate:.0%} typos of one kind ({few_setting}; means over the same draws and classifiers):")
    print(f"  {'kind':<16}" + "".join(f"{name:>{column}}" for name in by_kind))
    for kind in kinds:
        lost = [scores[(0.0, 0)] - np.mean([scores[(kind, draw)] for draw in draws]) for scores in by_kind.values()]
        print(f"  {kind:<16}" + "".join(f"{points(value):>{column}}" for value in lost))

    # Points lost depend on how many test texts lie near a decision boundary, so on clean accuracy:
    # the baseline trained on fewer labels shows its loss at accuracies like the compositions'.
    few_texts, few_labels = settings[few_setting]
    print()
    print("TF-IDF with fewer labels (robustness at a clean accuracy like the compositions'):")
    for count in sorted({max(args.few // 8, 1), max(args.few // 4, 1), max(args.few // 2, 1)}):
        scores = mean_scores(tfidf_scores(per_class(few_texts, few_labels, count), tests))
        lost = scores[0.0] - scores[NOISE_RATES[-1]]
        print(f"  {count:>3} per class: clean {scores[0.0]:.3f}, loses {points(lost)} points at 10% typos")

    teacher_params = count_params(mlm.tower) + count_params(categorical.tower)
    student_params = count_params(student.tower)
    timing = {"repeats": 1, "count": 256} if args.quick else {}
    teacher_speed = texts_per_second(pretrained.model, test_texts, **timing)
    student_speed = texts_per_second(distilled.model, test_texts, **timing)
    print()
    print(f"{'composition':<34}{'tower params':>14}{'texts/s':>11}" + "".join(f"{f'acc {s}':>18}" for s in settings))
    for name, params, speed in (
        ("pretrained composition (teacher)", teacher_params, teacher_speed),
        ("distilled student", student_params, student_speed),
    ):
        label = "pretrained composition (frozen)" if "teacher" in name else "distilled student (frozen)"
        accuracies = {s: scores[0.0] for n, s, scores in rows if n == label}
        print(f"{name:<34}{params:>14,}{speed:>11,.0f}" + "".join(f"{accuracies[s]:>18.3f}" for s in settings))
    student_acc = {s: scores[0.0] for n, s, scores in rows if n == "distilled student (frozen)"}
    teacher_acc = {s: scores[0.0] for n, s, scores in rows if n == "pretrained composition (frozen)"}
    kept = ", ".join(f"{s}: {student_acc[s] / max(teacher_acc[s], 1e-9):.0%}" for s in settings)
    print(f"student / teacher: {student_params / teacher_params:.2f}x the tower parameters, "
          f"{student_speed / teacher_speed:.2f}x the speed; keeps {kept} of the teacher's accuracy "
          f"(embedder, {count_params(mlm.embedder):,} parameters, shared by both).")


if __name__ == "__main__":
    main()
