"""Few-shot classification of real text nobody on the team wrote: cclm against its peers, one table.

Three tasks, from text that ships with a Debian machine and Python:

- **language**: which of 12 languages a UI message is in, from Debian's
  `/usr/share/locale/*/LC_MESSAGES/*.mo` catalogs (read with the standard
  library's `gettext`), with the confusable groups es/pt/it/ca/gl,
  da/nb/sv, cs/sk and hr/sr. Splits are disjoint by source string (msgid):
  every translation of one English message lands in the same split.
- **code**: which programming language a 400-character chunk of an
  installed source file is in (the 8 languages with the most files under
  /usr, by extension). Splits are disjoint by file.
- **topic**: which package of Python's standard library (`email`,
  `asyncio`, `tkinter`, `idlelib`, ...: the 8 with the most) an English
  paragraph of a docstring documents. Splits are disjoint by docstring.
- **package**: which of 12 Debian archive sections (games, science, sound,
  mail, ...) a package's one-line English description belongs to, from the
  package lists `apt-get update` keeps. Splits are disjoint by source package.

Each task gets train (the labelled pool), dev and test splits. The
unlabelled pretraining corpus is the train pool with its labels dropped;
the script checks that no dev or test text is in it and prints the count.

Peers, on the very same examples in the same run (`peers.py` says what
each one measures):
- TF-IDF over character 1-4-grams + logistic regression, C chosen on dev;
- a sentence encoder (all-MiniLM-L6-v2, `teachers.py`) + logistic
  regression, and its vectors beside the TF-IDF features in one logistic
  regression (the ceiling of a meaning tower composed with n-grams), C and
  the weight chosen on dev, where `bash scripts/setup.sh teacher`
  installed it (`--teacher none` leaves them out);
- the same cclm architecture from random initialization trained end to
  end with its head (`TextClassifier(train_composition=True)`, epochs
  chosen on dev by early stopping; few-shot only): training from scratch;
- the same cclm architecture from random initialization, frozen, with the
  same head as the pretrained composition: what the head makes of towers
  that learnt nothing, so the difference to it is what pretraining adds;
- pretrained compositions: `Preprocessor` fitted on the unlabelled
  corpus, the default embedder with hashed n-grams (`--embedder-options`),
  a `ContrastivePretrainer` tower, and a `MaskedLanguagePretrainer` tower
  trained on the same (then frozen) embedder, with their defaults, frozen
  under a default `TextClassifier` (a closed-form ridge head over the
  composition's pooled features and the text's TF-IDF character
  1-4-grams, the two weighed by leave-one-out on the training labels; the
  random-init composition gets the same head). `--ablations` adds an MLM
  tower pretrained on its own embedder.

Settings: 32 labels per class (3 draws) and all labels (the pool, capped);
clean test and test with 10% typos (`Augmentor.typos(0.1)`). Everything
is chosen on dev (TF-IDF's C, the end-to-end epochs) or by leave-one-out
on the training labels (the frozen compositions' heads, which never see
dev); the table reports test accuracy.

`--starter` measures the starter shelf's compositions instead (no
pretraining; scripts/train_starter.py kept every dev and test text out of
their corpora), beside random initialization of their architecture; the
meaning tower's features alone (`ngrams=0`) and the README's composition,
with the default head and with its features alone (`ngrams=0`).
`--languages` sets the language task's locales: a held-out check on
languages the tables were not made on (e.g. `--languages de nl af fr oc
ro ru uk be bg pl sl`).

Run: python benchmarks/fewshot.py [--tasks language code topic package] [--pretrain-steps 1000] [--starter] [--quick];
step counts take one value per task too: `--contrastive-steps 800 200` (language, code).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import time
from collections import defaultdict

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import teachers
from compositions import (  # noqa: F401
    architecture,
    meaning_models,
    random_composition,
    starter_models,
)
from peers import accuracies, end_to_end, teacher_lr, teacher_tfidf_lr, tfidf
from real_text_tasks import (  # noqa: F401
    LANGUAGES,
    SPLITS,
    Task,
    capped,
    code_task,
    docstring_paragraphs,
    language_task,
    package_task,
    topic_task,
)

from cclm import ComposedModel, Embedder, Preprocessor
from cclm.classification import TextClassifier
from cclm.pipelines import Augmentor
from cclm.preprocessing import special_ids
from cclm.pretraining import ContrastivePretrainer, MaskedLanguagePretrainer
from cclm.pretraining.pretrainer import DEFAULT_EMBEDDER_OPTIONS

TFIDF = "TF-IDF char 1-4 + LR (C on dev)"
TEACHER = "MiniLM-L6 sentence encoder + LR (C on dev)"
TEACHER_TFIDF = "MiniLM-L6 + TF-IDF + LR (ceiling, on dev)"
SCRATCH = "cclm random init, trained end to end"


def few(texts: list[str], labels: list[str], count: int, draw: int) -> tuple[list[str], list[str]]:
    """`count` labelled texts per class, drawn with seed `draw`."""
    return capped(list(zip(texts, labels)), count, np.random.default_rng(1000 + draw))


def fit_steps(pretrainer, corpus: list[str], steps: int) -> float:
    """`steps` training steps in one `fit` (one optimizer, one schedule); returns the seconds."""
    started = time.perf_counter()
    pretrainer.fit(corpus, epochs=max(steps // 100, 1), steps_per_epoch=min(steps, 100), verbose=0)
    return time.perf_counter() - started


def steps_for(task: Task, args: argparse.Namespace, kind: str) -> int:
    """The pretraining steps of `kind` ("mlm" or "contrastive") on `task`: one value for every task, or one per task."""
    chosen = (args.mlm_steps if kind == "mlm" else args.contrastive_steps) or args.pretrain_steps
    if len(chosen) not in (1, len(args.tasks)):
        sys.exit(f"{len(chosen)} step counts for {len(args.tasks)} tasks; give one, or one per task in --tasks order.")
    return chosen[args.tasks.index(task.name)] if len(chosen) > 1 else chosen[0]


def pretrain(task: Task, args: argparse.Namespace, seed: int, kind: str, preprocessor: Preprocessor):
    """An embedder and a tower pretrained on the unlabelled corpus (`kind`: "mlm" or "contrastive"), defaults kept."""
    corpus = task.texts["train"]
    keras.utils.set_random_seed(seed)
    embedder = Embedder(preprocessor.max_example_len, preprocessor.n_chars,
                        **{**DEFAULT_EMBEDDER_OPTIONS, **args.embedder_options})
    if kind == "mlm":
        pretrainer = MaskedLanguagePretrainer(embedder=embedder, preprocessor=preprocessor, seed=seed, **args.mlm_options)
    else:
        pretrainer = ContrastivePretrainer(embedder=embedder, preprocessor=preprocessor, seed=seed)
    steps = steps_for(task, args, kind)
    seconds = fit_steps(pretrainer, corpus, steps)
    metric = "accuracy" if kind == "mlm" else "pair_accuracy"
    print(f"  {task.name}: {kind} pretraining {steps:,} steps in {seconds / 60:.1f} min; training {metric} "
          f"{pretrainer.card['metrics'][metric]:.3f}", flush=True)
    return ComposedModel(embedder, [pretrainer], preprocessor=preprocessor, name=kind), seconds


def compose_with_mlm(task: Task, args: argparse.Namespace, seed: int, base: ComposedModel):
    """`base`'s towers and an MLM tower trained on its embedder, left as it is: one composition."""
    preprocessor = base.preprocessor
    mlm = MaskedLanguagePretrainer(embedder=base.embedder, preprocessor=preprocessor, train_embedder=False,
                                   seed=seed, name="mlm_on_shared", **args.mlm_options)
    steps = steps_for(task, args, "mlm")
    seconds = fit_steps(mlm, task.texts["train"], steps)
    print(f"  {task.name}: mlm on the contrastive embedder (frozen) {steps:,} steps in {seconds / 60:.1f} min; "
          f"training accuracy {mlm.card['metrics']['accuracy']:.3f}", flush=True)
    return ComposedModel(base.embedder, [*base.towers, mlm], preprocessor=preprocessor, name="both"), seconds


def neural(composed: ComposedModel, train, evaluations, seed: int, **options) -> tuple[list[float], float]:
    """A `TextClassifier` (default, or with `options`) on the frozen composition; accuracies and fit seconds."""
    keras.utils.set_random_seed(seed)
    classifier = TextClassifier(composed, seed=seed, **options)
    started = time.perf_counter()
    classifier.fit(train, verbose=0)
    seconds = time.perf_counter() - started
    if classifier.ngrams:
        weight = classifier.card["training"]["head"].split("composition weight ")[1].split(")")[0]
        print(f"    {composed.name}: the head weighs the composition {weight} against the n-grams", flush=True)
    return accuracies(classifier, evaluations), seconds


def evaluation_sets(task: Task, args: argparse.Namespace) -> tuple[list, tuple]:
    """([clean test, test with 10% typos], dev): every model is measured on these same texts."""
    test = (task.texts["test"], task.labels["test"])
    noisy = (Augmentor.typos(0.1, seed=args.seed)(test[0]), test[1])
    return [test, noisy], (task.texts["dev"], task.labels["dev"])


def compare(task: Task, models: dict[str, ComposedModel], args: argparse.Namespace, scratch=None) -> dict:
    """TF-IDF and a default `TextClassifier` on each of `models`, on the same draws; results and fit seconds.

    `scratch`, a function returning a freshly initialized composition: that composition trained end to end
    with its head on each few-shot draw, too (`peers.end_to_end`).
    """
    evaluations, dev = evaluation_sets(task, args)  # dev chooses TF-IDF's C and `scratch`'s epochs; not the heads
    settings = [(f"{args.few} per class, draw {d}", few(task.texts["train"], task.labels["train"], args.few, d))
                for d in range(args.draws)]
    if not args.few_only:
        settings.append(("all labels", (task.texts["train"], task.labels["train"])))
    results = defaultdict(lambda: defaultdict(list))  # model -> setting kind -> [[clean, noisy, dev], ...]
    seconds = defaultdict(list)
    teacher = teacher_for(args)
    for setting, train in settings:
        kind = "all" if setting == "all labels" else "few"
        scores, spent = tfidf(train, [*evaluations, dev], dev)
        results[TFIDF][kind].append(scores)
        seconds["tfidf", kind].append(spent)
        if teacher is not None:
            scores, spent = teacher_lr(teacher, train, [*evaluations, dev], dev)
            results[TEACHER][kind].append(scores)
            seconds[TEACHER, kind].append(spent)
            scores, spent = teacher_tfidf_lr(teacher, train, [*evaluations, dev], dev)
            results[TEACHER_TFIDF][kind].append(scores)
            seconds[TEACHER_TFIDF, kind].append(spent)
        if scratch is not None and kind == "few":
            scores, spent = end_to_end(scratch(), train, evaluations, dev, args.seed, epochs=args.scratch_epochs)
            results[SCRATCH][kind].append(scores)
            seconds[SCRATCH, kind].append(spent)
        for name, model in models.items():
            composed, options = model if isinstance(model, tuple) else (model, {})
            scores, spent = neural(composed, train, evaluations, args.seed, **options)
            results[name][kind].append(scores)
            seconds[name, kind].append(spent)
        latest = {name: values[kind][-1][0] for name, values in results.items() if values[kind]}
        print(f"  {setting}: " + "; ".join(f"{name} {value:.3f}" for name, value in latest.items()), flush=True)
    for kind in ("few", "all"):
        if seconds["tfidf", kind]:
            spent = {name: np.mean(seconds[name, kind]) for name in [TEACHER, TEACHER_TFIDF, *models, SCRATCH] if seconds[name, kind]}
            tfidf_seconds = np.mean(seconds["tfidf", kind])
            print(f"  fit seconds ({kind}): TF-IDF (C tuned) {tfidf_seconds:.1f}; " + "; ".join(
                f"{name} {value:.1f} ({value / tfidf_seconds:.1f}x)" for name, value in spent.items()))
    return {"results": results, "seconds": seconds}


def teacher_for(args: argparse.Namespace):
    """The sentence-encoder peer (`teachers.minilm`), or None with `--teacher none` or where it is not installed."""
    if args.teacher == "none" or args.quick:
        return None
    if not teachers.available():
        if args.teacher == "minilm":
            sys.exit(f"--teacher minilm: not installed; run `{teachers.INSTALL}`.")
        print(f"  (the sentence-encoder peer is left out: `{teachers.INSTALL}` installs it)")
        return None
    return teachers.minilm(args.teacher_cache, progress=False)


def run_task(task: Task, args: argparse.Namespace) -> dict:
    classes = task.classes
    print(f"\n{task.name}: {len(classes)} classes ({', '.join(classes)}); " + ", ".join(
        f"{split} {len(task.texts[split]):,}" for split in SPLITS), flush=True)
    if args.starter:
        if task.name == "language" and tuple(args.languages) != LANGUAGES:
            print("  starter components: their corpora hold catalog messages of the train groups only (by msgid, "
                  "every locale); a dev or test text equal to a train message's text is not counted here")
        elif task.name == "topic":
            from cclm.data.sample_text import python_docs_paragraphs

            documentation = " ".join(" ".join(paragraph.split()) for paragraph in python_docs_paragraphs())
            found = sum(text in documentation for text in task.texts["dev"] + task.texts["test"])
            print(f"  starter components: dev or test texts inside Python's documentation topics (their English "
                  f"corpus): {found}; the code tower's source chunks may hold docstrings, it is not measured here")
        else:
            print("  starter components: their corpora were checked by scripts/train_starter.py (held-out texts in "
                  "them: 0, in each card)")
        outcome = compare(task, starter_models(args), args)
        return {**outcome, "pretraining": 0.0}
    held_out = set(task.texts["dev"]) | set(task.texts["test"])
    leaked = sum(text in held_out for text in task.texts["train"])
    print(f"  unlabelled pretraining corpus: {len(task.texts['train']):,} texts; dev or test texts in it: {leaked}")
    if leaked:
        sys.exit(f"{task.name}: {leaked} held-out texts are in the pretraining corpus; the splits are broken.")
    preprocessor = Preprocessor(sequence_length=task.length).fit(task.texts["train"], progress=False)
    probe = MaskedLanguagePretrainer(preprocessor=preprocessor, seed=args.seed, **args.mlm_options)
    real = float(np.mean(next(iter(probe._dataset(task.texts["train"], 32, training=True)))[1].numpy() != special_ids.PAD_ID))
    print(f"  vocabulary {preprocessor.n_chars:,} ids; {real:.0%} of MLM window positions are real characters "
          f"(packed; windows of {task.length})")
    mlm, mlm_seconds = pretrain(task, args, args.seed, "mlm", preprocessor) if args.ablations else (None, 0.0)
    contrastive, contrastive_seconds = pretrain(task, args, args.seed, "contrastive", preprocessor)
    both, both_seconds = compose_with_mlm(task, args, args.seed, contrastive)
    options = {**DEFAULT_EMBEDDER_OPTIONS, **args.embedder_options}
    random = random_composition(preprocessor, args, options)
    models = {"cclm random init, frozen": random, "cclm MLM composition, frozen": mlm,
              "cclm contrastive composition, frozen": contrastive,
              "cclm contrastive + MLM composition, frozen": both}
    scratch = (lambda: random_composition(preprocessor, args, options)) if args.scratch_epochs else None
    outcome = compare(task, {name: model for name, model in models.items() if model is not None}, args, scratch)
    pretraining = mlm_seconds + contrastive_seconds + both_seconds
    print(f"  pretraining: {pretraining / 60:.1f} min for the towers")
    return {**outcome, "pretraining": pretraining}


def table(outcomes: dict[str, dict], args: argparse.Namespace) -> str:
    names = list(dict.fromkeys(name for outcome in outcomes.values() for name in outcome["results"]))
    header = f"{'accuracy % on test (dev)':<42}" + "".join(
        f"{f'{task} {kind}':>22}" for task in outcomes for kind in ("few", "all"))
    lines = [header, f"{'':<42}" + "".join(
        f"{'clean / 10% typos':>22}" for _ in outcomes for _ in ("few", "all")), "-" * len(header)]
    for name in names:
        cells = []
        for outcome in outcomes.values():
            for kind in ("few", "all"):
                if not outcome["results"][name][kind]:
                    cells.append("-")
                    continue
                mean = np.mean(outcome["results"][name][kind], axis=0) * 100
                cells.append(f"{mean[0]:5.1f} / {mean[1]:5.1f}" + (f" ({mean[2]:4.1f})" if len(mean) > 2 else " " * 7))
        lines.append(f"{name:<42}" + "".join(f"{cell:>22}" for cell in cells))
    lines.append(f"(few: {args.few} labels per class, mean of {args.draws} draws; all: the whole train pool; "
                 "dev only where it chose something: TF-IDF's C, the end-to-end epochs)")
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    """The benchmark's command line (scripts/train_starter.py measures the starter shelf with it)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=["language", "code"],
                        choices=["language", "code", "topic", "package"],
                        help="tasks to run (default: language and code; topic and package: English meaning)")
    parser.add_argument("--locale-root", default="/usr/share/locale")
    parser.add_argument("--languages", nargs="+", default=list(LANGUAGES),
                        help="the language task's locales (default: the 12 the published tables use)")
    parser.add_argument("--source-root", default="/usr")
    parser.add_argument("--stdlib-root", help="the topic task's standard library (default: this Python's)")
    parser.add_argument("--few", type=int, default=32, help="labels per class in the few-shot setting")
    parser.add_argument("--draws", type=int, default=3, help="few-shot draws of the labelled examples")
    parser.add_argument("--pool", type=int, default=1500, help="labelled texts per class in the train pool, at most")
    parser.add_argument("--dev", type=int, default=100, help="dev texts per class")
    parser.add_argument("--test", type=int, default=200, help="test texts per class")
    parser.add_argument("--pretrain-steps", type=int, nargs="+", default=[1000],
                        help="pretraining steps of each tower: one count, or one per task in --tasks order")
    parser.add_argument("--mlm-steps", type=int, nargs="+", help="MLM steps, as --pretrain-steps (default: it)")
    parser.add_argument("--contrastive-steps", type=int, nargs="+",
                        help="contrastive steps, as --pretrain-steps (default: it)")
    parser.add_argument("--scratch-epochs", type=int, default=100,
                        help="few-shot: at most this many epochs for the random-init composition trained end to end "
                             "(early stopping on dev); 0 leaves that peer out")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--few-only", action="store_true", help="leave out the all-labels setting")
    parser.add_argument("--ablations", action="store_true",
                        help="also pretrain and measure an MLM tower on its own embedder (about 10 more minutes)")
    parser.add_argument("--json", type=pathlib.Path, help="also write every mean accuracy, unrounded, to this file")
    parser.add_argument("--embedder-options", type=json.loads, default={"max_ngram": 4, "ngram_buckets": 16384},
                        help="JSON: Embedder keywords (default: the hashed n-grams the published tables used)")
    parser.add_argument("--mlm-options", type=json.loads, default={}, help="JSON: MaskedLanguagePretrainer keywords")
    parser.add_argument("--quick", action="store_true", help="tiny splits and pretraining: checks the script")
    parser.add_argument("--teacher", choices=["auto", "minilm", "none"], default="auto",
                        help="the sentence-encoder peer: auto (where installed), minilm (required) or none")
    parser.add_argument("--teacher-cache", default=str(teachers.DEFAULT_CACHE),
                        help="where the teacher's vectors are cached")
    parser.add_argument("--meaning", help="with --starter: a saved MeaningPretrainer to measure as starter-meaning")
    parser.add_argument("--starter", nargs="?", const="package",
                        help="measure the starter shelf's components (no pretraining): the package's, or the "
                             "starter shelf directory given")
    return parser


def settle(args: argparse.Namespace) -> argparse.Namespace:
    """`args` with `--quick`'s tiny sizes applied."""
    if args.quick:
        args.few, args.draws, args.pool, args.dev, args.test = 4, 1, 12, 4, 6
        args.pretrain_steps, args.mlm_steps, args.contrastive_steps, args.few_only = [2], None, None, True
        args.scratch_epochs = min(args.scratch_epochs, 2)
    return args


def load_task(name: str, args: argparse.Namespace) -> Task:
    """The task `name` ("language", "code" or "topic") with the sizes and seed of `args`."""
    sizes = {"train": args.pool, "dev": args.dev, "test": args.test}
    readers = {"language": lambda: language_task(args.locale_root, sizes, args.seed, tuple(args.languages)),
               "code": lambda: code_task(args.source_root, sizes, args.seed),
               "topic": lambda: topic_task(args.stdlib_root, sizes, args.seed),
               "package": lambda: package_task(sizes, args.seed)}
    task = readers[name]()
    if args.quick:
        task.length = 32  # --quick checks the script; its figures mean nothing
    return task


def main(argv: list[str] | None = None) -> None:
    args = settle(parser().parse_args(argv))
    started = time.perf_counter()
    outcomes = {}
    for name in args.tasks:
        outcomes[name] = run_task(load_task(name, args), args)
    print()
    print(table(outcomes, args))
    print(f"\nwhole run: {(time.perf_counter() - started) / 60:.1f} min")
    if args.json:  # every mean unrounded: task -> model -> setting -> [clean, typos(, dev)]
        means = {task: {name: {kind: np.mean(scores, axis=0).tolist() for kind, scores in kinds.items() if scores}
                        for name, kinds in outcome["results"].items()} for task, outcome in outcomes.items()}
        args.json.write_text(json.dumps(means, indent=1))


if __name__ == "__main__":
    main()
