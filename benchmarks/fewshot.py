"""Few-shot classification of real text nobody on the team wrote: cclm against its peers, one table.

Two tasks, from text that ships with a Debian machine and Python:

- **language**: which of 12 languages a UI message is in, from Debian's
  `/usr/share/locale/*/LC_MESSAGES/*.mo` catalogs (read with the standard
  library's `gettext`), with the confusable groups es/pt/it/ca/gl,
  da/nb/sv, cs/sk and hr/sr. Splits are disjoint by source string (msgid):
  every translation of one English message lands in the same split.
- **code**: which programming language a 400-character chunk of an
  installed source file is in (the 8 languages with the most files under
  /usr, by extension). Splits are disjoint by file.

Each task gets train (the labelled pool), dev and test splits. The
unlabelled pretraining corpus is the train pool with its labels dropped;
the script checks that no dev or test text is in it and prints the count.

Peers, on the very same examples in the same run:
- TF-IDF over character 1-4-grams + logistic regression, C chosen on dev;
- the same cclm architecture from random initialization, frozen, with the
  same head as the pretrained composition;
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
is chosen on dev (TF-IDF's C) or by leave-one-out on the training labels
(the cclm heads, which never see dev); the table reports test accuracy.

Run: python benchmarks/fewshot.py [--tasks language code] [--pretrain-steps 1000] [--quick];
step counts take one value per task too: `--contrastive-steps 800 200` (language, code).
"""

from __future__ import annotations

import argparse
import gettext
import hashlib
import json
import os
import pathlib
import sys
import time
from collections import defaultdict
from dataclasses import dataclass

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from cclm import ComposedModel, Embedder, Preprocessor  # noqa: E402
from cclm.classification import TextClassifier  # noqa: E402
from cclm.pipelines import Augmentor  # noqa: E402
from cclm.preprocessing import special_ids  # noqa: E402
from cclm.pretraining import ContrastivePretrainer, MaskedLanguagePretrainer  # noqa: E402
from cclm.pretraining.pretrainer import DEFAULT_EMBEDDER_OPTIONS  # noqa: E402

LANGUAGES = ("es", "pt", "it", "ca", "gl", "da", "nb", "sv", "cs", "sk", "hr", "sr")
CODE_EXTENSIONS = {
    "python": (".py",), "c": (".c",), "c++": (".cc", ".cpp", ".hpp", ".hh", ".tcc"), "perl": (".pm", ".pl"),
    "javascript": (".js", ".mjs"), "shell": (".sh", ".bash"), "cmake": (".cmake",), "html": (".html", ".htm"),
    "css": (".css",), "sql": (".sql",), "php": (".php",), "tcl": (".tcl",), "ruby": (".rb",), "lua": (".lua",),
    "go": (".go",), "rust": (".rs",), "java": (".java",), "emacs lisp": (".el",), "m4": (".m4",),
}
SPLITS = ("train", "dev", "test")


@dataclass
class Task:
    name: str
    length: int
    texts: dict[str, list[str]]  # split -> texts
    labels: dict[str, list[str]]

    @property
    def classes(self) -> list[str]:
        return sorted(set(self.labels["test"]))


def split_of(group: str, seed: int = 0) -> str:
    """train / dev / test (60 / 20 / 20) by a hash of the group: stable across runs and machines."""
    bucket = int(hashlib.sha256(f"{seed}:{group}".encode()).hexdigest(), 16) % 10
    return "train" if bucket < 6 else "dev" if bucket < 8 else "test"


def capped(rows: list[tuple[str, str]], cap: int, rng: np.random.Generator) -> tuple[list[str], list[str]]:
    """At most `cap` texts per label, drawn at random; (texts, labels)."""
    by_label = defaultdict(list)
    for text, label in rows:
        by_label[label].append(text)
    texts, labels = [], []
    for label in sorted(by_label):
        chosen = rng.permutation(len(by_label[label]))[:cap]
        texts += [by_label[label][i] for i in sorted(chosen)]
        labels += [label] * len(chosen)
    return texts, labels


def disjoint(rows: dict[str, list[tuple[str, str]]], sizes: dict[str, int], seed: int):
    """Texts and labels per split, capped per class; a text in test is dropped from dev and train, one in dev from train.

    The same string can come from two groups (one translation of two
    messages, one license header in two files): without this, it could sit
    in train and in test.
    """
    rng = np.random.default_rng(seed)
    texts, labels, later = {}, {}, set()
    for split in reversed(SPLITS):
        unique = [(t, l) for t, l in dict.fromkeys(rows[split]) if t not in later]
        texts[split], labels[split] = capped(unique, sizes[split], rng)
        later |= {t for t, _ in unique}
    return texts, labels


def language_task(root: str, sizes: dict[str, int], seed: int) -> Task:
    """UI messages of the 12 languages; splits disjoint by msgid; texts found in two languages dropped."""
    rows = defaultdict(list)  # split -> (text, language)
    seen: dict[str, set[str]] = defaultdict(set)
    for language in LANGUAGES:
        for path in sorted(pathlib.Path(root, language, "LC_MESSAGES").glob("*.mo")):
            try:
                with open(path, "rb") as file:
                    catalog = gettext.GNUTranslations(file)._catalog
            except (OSError, UnicodeDecodeError):
                continue  # a catalog in a legacy encoding: skipped
            for msgid, text in catalog.items():
                source = msgid[0] if isinstance(msgid, tuple) else msgid
                text = " ".join(str(text).split())
                if not source or not 20 <= len(text) <= 300 or sum(c.isalpha() for c in text) < 10:
                    continue
                seen[text].add(language)
                rows[split_of(source, seed)].append((text, language))
    rows = {split: [(t, l) for t, l in rows[split] if len(seen[t]) == 1] for split in SPLITS}
    return Task("language", 128, *disjoint(rows, sizes, seed))


def code_task(root: str, sizes: dict[str, int], seed: int, chunk: int = 400, per_file: int = 8) -> Task:
    """400-character chunks of source files under `root`; the 8 languages with most files; splits by file."""
    files = defaultdict(list)
    by_extension = {ext: language for language, exts in CODE_EXTENSIONS.items() for ext in exts}
    for directory, _, names in os.walk(root):
        for name in names:
            language = by_extension.get(os.path.splitext(name)[1])
            path = os.path.join(directory, name)
            if language and os.path.isfile(path) and not os.path.islink(path):
                files[language].append(path)
    chosen = sorted(sorted(files, key=lambda language: -len(files[language]))[:8])
    rows = defaultdict(list)
    for language in chosen:
        for path in sorted(files[language]):
            try:
                text = pathlib.Path(path).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            pieces = [text[i:i + chunk] for i in range(0, len(text) - chunk + 1, chunk)][:per_file]
            for piece in pieces:
                if len(piece.split()) >= 10:
                    rows[split_of(path, seed)].append((piece, language))
    return Task("code", 400, *disjoint(rows, sizes, seed))


def few(texts: list[str], labels: list[str], count: int, draw: int) -> tuple[list[str], list[str]]:
    """`count` labelled texts per class, drawn with seed `draw`."""
    return capped(list(zip(texts, labels)), count, np.random.default_rng(1000 + draw))


def accuracy(predicted: list[str], labels: list[str]) -> float:
    return float(np.mean([p == t for p, t in zip(predicted, labels)]))


def tfidf(train, evaluations, dev):
    """TF-IDF char 1-4-grams + LR with C chosen on dev; accuracies on `evaluations`, and fit seconds."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    started = time.perf_counter()
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 4), sublinear_tf=True, min_df=1)
    features = vectorizer.fit_transform(train[0])
    best = None
    for c in (1.0, 10.0, 100.0):
        model = LogisticRegression(C=c, max_iter=2000).fit(features, train[1])
        score = accuracy(model.predict(vectorizer.transform(dev[0])), dev[1])
        if best is None or score > best[0]:
            best = (score, model)
    seconds = time.perf_counter() - started
    model = best[1]
    return [accuracy(model.predict(vectorizer.transform(t)), l) for t, l in evaluations], seconds


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


def neural(composed: ComposedModel, train, evaluations, seed: int) -> tuple[list[float], float]:
    """A default `TextClassifier` on the frozen composition; accuracies on `evaluations` and fit seconds."""
    keras.utils.set_random_seed(seed)
    classifier = TextClassifier(composed, seed=seed)
    started = time.perf_counter()
    classifier.fit(train, verbose=0)
    seconds = time.perf_counter() - started
    if classifier.ngrams:
        weight = classifier.card["training"]["head"].split("composition weight ")[1].split(")")[0]
        print(f"    {composed.name}: the head weighs the composition {weight} against the n-grams", flush=True)
    predicted = classifier.predict_labels([text for texts, _ in evaluations for text in texts])
    scores, start = [], 0
    for texts, labels in evaluations:
        scores.append(accuracy(predicted[start:start + len(texts)], labels))
        start += len(texts)
    return scores, seconds


def run_task(task: Task, args: argparse.Namespace) -> dict:
    classes = task.classes
    print(f"\n{task.name}: {len(classes)} classes ({', '.join(classes)}); " + ", ".join(
        f"{split} {len(task.texts[split]):,}" for split in SPLITS), flush=True)
    held_out = set(task.texts["dev"]) | set(task.texts["test"])
    leaked = sum(text in held_out for text in task.texts["train"])
    print(f"  unlabelled pretraining corpus: {len(task.texts['train']):,} texts; dev or test texts in it: {leaked}")
    if leaked:
        sys.exit(f"{task.name}: {leaked} held-out texts are in the pretraining corpus; the splits are broken.")
    test = (task.texts["test"], task.labels["test"])
    noisy = (Augmentor.typos(0.1, seed=args.seed)(test[0]), test[1])
    dev = (task.texts["dev"], task.labels["dev"])
    evaluations = [test, noisy]  # dev chooses TF-IDF's C; the cclm heads choose by leave-one-out and never see it

    preprocessor = Preprocessor(sequence_length=task.length).fit(task.texts["train"], progress=False)
    probe = MaskedLanguagePretrainer(preprocessor=preprocessor, seed=args.seed, **args.mlm_options)
    real = float(np.mean(next(iter(probe._dataset(task.texts["train"], 32, training=True)))[1].numpy() != special_ids.PAD_ID))
    print(f"  vocabulary {preprocessor.n_chars:,} ids; {real:.0%} of MLM window positions are real characters "
          f"(packed; windows of {task.length})")
    mlm, mlm_seconds = pretrain(task, args, args.seed, "mlm", preprocessor) if args.ablations else (None, 0.0)
    contrastive, contrastive_seconds = pretrain(task, args, args.seed, "contrastive", preprocessor)
    both, both_seconds = compose_with_mlm(task, args, args.seed, contrastive)
    keras.utils.set_random_seed(args.seed + 1)
    random_embedder = Embedder(preprocessor.max_example_len, preprocessor.n_chars,
                               **{**DEFAULT_EMBEDDER_OPTIONS, **args.embedder_options})
    random_tower = ContrastivePretrainer(embedder=random_embedder, preprocessor=preprocessor, seed=args.seed)
    random = ComposedModel(random_embedder, [random_tower], preprocessor=preprocessor, name="random")
    models = {"cclm random init, frozen": random, "cclm MLM composition, frozen": mlm,
              "cclm contrastive composition, frozen": contrastive,
              "cclm contrastive + MLM composition, frozen": both}
    models = {name: model for name, model in models.items() if model is not None}

    settings = [(f"{args.few} per class, draw {d}", few(task.texts["train"], task.labels["train"], args.few, d)) for d in range(args.draws)]
    if not args.few_only:
        settings.append(("all labels", (task.texts["train"], task.labels["train"])))
    results = defaultdict(lambda: defaultdict(list))  # model -> setting kind -> [[clean, noisy, dev], ...]
    seconds = defaultdict(list)
    for setting, train in settings:
        kind = "all" if setting == "all labels" else "few"
        scores, spent = tfidf(train, [*evaluations, dev], dev)
        results["TF-IDF char 1-4 + LR (C on dev)"][kind].append(scores)
        seconds["tfidf", kind].append(spent)
        results["TF-IDF char 1-4 + LR (C on dev)"]  # first row of the table
        for name, composed in models.items():
            scores, spent = neural(composed, train, evaluations, args.seed)
            results[name][kind].append(scores)
            seconds[name, kind].append(spent)
        print(f"  {setting}: " + "; ".join(f"{name} {values[kind][-1][0]:.3f}" for name, values in results.items()),
              flush=True)
    for kind in ("few", "all"):
        if seconds["tfidf", kind]:
            spent = {name: np.mean(seconds[name, kind]) for name in models}
            tfidf_seconds = np.mean(seconds["tfidf", kind])
            print(f"  fit seconds ({kind}): TF-IDF (C tuned) {tfidf_seconds:.1f}; " + "; ".join(
                f"{name} {value:.1f} ({value / tfidf_seconds:.1f}x)" for name, value in spent.items()))
    pretraining = mlm_seconds + contrastive_seconds + both_seconds
    print(f"  pretraining: {pretraining / 60:.1f} min for the towers")
    return {"results": results, "seconds": seconds, "pretraining": pretraining}


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
                 "dev only where it chose something: TF-IDF's C)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=["language", "code"], choices=["language", "code"])
    parser.add_argument("--locale-root", default="/usr/share/locale")
    parser.add_argument("--source-root", default="/usr")
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
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--few-only", action="store_true", help="leave out the all-labels setting")
    parser.add_argument("--ablations", action="store_true",
                        help="also pretrain and measure an MLM tower on its own embedder (about 10 more minutes)")
    parser.add_argument("--embedder-options", type=json.loads, default={"max_ngram": 4, "ngram_buckets": 16384},
                        help="JSON: Embedder keywords (default: the hashed n-grams the published tables used)")
    parser.add_argument("--mlm-options", type=json.loads, default={}, help="JSON: MaskedLanguagePretrainer keywords")
    parser.add_argument("--quick", action="store_true", help="tiny splits and pretraining: checks the script")
    args = parser.parse_args(argv)
    if args.quick:
        args.few, args.draws, args.pool, args.dev, args.test = 4, 1, 12, 4, 6
        args.pretrain_steps, args.mlm_steps, args.contrastive_steps, args.few_only = [2], None, None, True
    sizes = {"train": args.pool, "dev": args.dev, "test": args.test}
    started = time.perf_counter()
    outcomes = {}
    for name in args.tasks:
        task = (language_task(args.locale_root, sizes, args.seed) if name == "language"
                else code_task(args.source_root, sizes, args.seed))
        if args.quick:
            task.length = 32  # --quick checks the script; its figures mean nothing
        outcomes[name] = run_task(task, args)
    print()
    print(table(outcomes, args))
    print(f"\nwhole run: {(time.perf_counter() - started) / 60:.1f} min")


if __name__ == "__main__":
    main()
