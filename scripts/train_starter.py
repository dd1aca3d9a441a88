"""Trains the starter shelf that ships with cclm, from text on any Debian machine with Python.

Components, all on one shared embedder so that they compose with each other
and with towers users train on it later:

- `preprocessor/starter`: every character seen `--min-char-count` times in
  Debian's message catalogs (every locale under /usr/share/locale), Python's
  documentation and installed source files, except CJK ideographs and Hangul;
- `embedder/starter`: the library's default embedder, trained by the
  contrastive tower;
- `contrastive_pretrainer/starter-contrastive`: what two halves of one window
  of 128 characters of the catalogs and Python's documentation share (a
  language, a subject): the tower that paid most in benchmarks/fewshot.py.
  Source code is left to starter-code: in a corpus where it held most of
  the characters, the tower learnt less about natural languages;
- `masked_language_pretrainer/starter-multilingual`: masked characters of the
  catalogs and Python's documentation (embedder frozen);
- `masked_language_pretrainer/starter-code`: masked characters of installed
  source files (embedder frozen);
- `distillation_pretrainer/starter-student`: a smaller tower distilled from
  the two masked-language towers;
- `meaning_pretrainer/starter-meaning`: all-MiniLM-L6-v2 distilled into
  hashed character n-grams of words (scripts/starter_meaning.py; needs
  `bash scripts/setup.sh teacher`). `--only meaning` trains it alone on the
  shipped preprocessor and keeps the other shipped components as they are.

Everything uses the library's defaults except the step counts. No text that
benchmarks/fewshot.py holds out (its dev and test splits, seed 0) is in any
corpus: catalog messages and source files are taken only from the
benchmark's train groups, and every dev or test text is then dropped; the
script counts what is left of them (it must be 0) and prints it.

The components are written as a read-only shelf (catalog, archives, cards)
to `--output` (default: the package's `cclm/starter_shelf`), then measured
on benchmarks/fewshot.py (32 labels per class) beside its peers, TF-IDF and
the same architecture from random initialization; the figures go into the cards.

Run: python scripts/train_starter.py [--seed 0] [--quick] [--output DIR] [--only meaning]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import fewshot  # measures the components
import starter_meaning  # starter-meaning, distilled from a sentence encoder
from starter_corpora import corpora, scripts_of, vocabulary  # held-out text kept out

# the CLI's plain-text tables
from cclm.cli.pretraining_demo import _table as plain_table

VERSION = "1.1.0"
STEPS = {"contrastive": 6000, "multilingual": 300, "code": 300, "student": 300}
# Contrastive views the size of a UI message (halves of 128 characters), though the models read 512.
CONTRASTIVE_WINDOW = 128
CENTER = False  # 1.1.0's uncentered head: a centered rerun scored lower on dev (docs/results.md)
# The contrastive tower keeps the library's default size; the others are smaller, so the shelf stays under 10 MB.
MLM_TOWER = {"hidden_dim": 64, "num_layers": 2, "num_heads": 4, "intermediate_dim": 128, "dropout": 0.0}
STUDENT_TOWER = {"hidden_dim": 32, "num_layers": 2, "num_heads": 2, "intermediate_dim": 64, "dropout": 0.0}


# ---------------------------------------------------------------- training
def train(data: dict, args: argparse.Namespace) -> tuple[dict, list[tuple]]:
    """The starter components, trained in order on one embedder; (components by identifier, table rows)."""
    import keras
    import tensorflow as tf

    from cclm import ComposedModel, Embedder, Preprocessor
    from cclm.pretraining import (
        ContrastivePretrainer,
        DistillationPretrainer,
        MaskedLanguagePretrainer,
    )
    from cclm.pretraining.pretrainer import DEFAULT_EMBEDDER_OPTIONS

    keras.utils.set_random_seed(args.seed)
    tf.config.experimental.enable_op_determinism()
    started = time.perf_counter()
    preprocessor = Preprocessor(vocabulary(data["everything"], args.min_char_count), sequence_length=args.sequence_length,
                                name="starter")
    scripts = scripts_of(preprocessor.characters)
    print(f"Preprocessor: {preprocessor.vocab_size:,} ids ({time.perf_counter() - started:.0f} s); letters by script: "
          + ", ".join(f"{name.lower()} {count}" for name, count in scripts.most_common()))
    embedder = Embedder(preprocessor.max_example_len, preprocessor.vocab_size, **DEFAULT_EMBEDDER_OPTIONS, name="starter")
    steps = args.steps
    rows = []

    def step(pretrainer, corpus, count, metric, label):
        seconds = fewshot.fit_steps(pretrainer, corpus, count)
        value = pretrainer.card["metrics"][metric]
        rows.append((pretrainer.name, f"{pretrainer.tower.count_params():,}", f"{count:,}", f"{seconds / 60:.1f}",
                     f"{label} {value:.3f}"))
        print(f"  {pretrainer.name}: {count:,} steps in {seconds / 60:.1f} min; training {label} {value:.3f}", flush=True)
        pretrainer.card["training"]["recipe"] = f"scripts/train_starter.py --seed {args.seed}"
        return pretrainer

    window = min(CONTRASTIVE_WINDOW, args.sequence_length)
    contrastive = step(ContrastivePretrainer(embedder=embedder, preprocessor=preprocessor, window_length=window,
                                             center=CENTER, seed=args.seed, name="starter-contrastive"),
                       data["multilingual"], steps["contrastive"], "pair_accuracy", "pair accuracy")
    multilingual = step(MaskedLanguagePretrainer(embedder=embedder, preprocessor=preprocessor, train_embedder=False,
                                                 tower_options=MLM_TOWER, seed=args.seed, name="starter-multilingual"),
                        data["multilingual"], steps["multilingual"], "accuracy", "masked accuracy")
    code = step(MaskedLanguagePretrainer(embedder=embedder, preprocessor=preprocessor, train_embedder=False,
                                         tower_options=MLM_TOWER, seed=args.seed, name="starter-code"),
                data["code"], steps["code"], "accuracy", "masked accuracy")
    teacher = ComposedModel(embedder, [multilingual, code], preprocessor=preprocessor, name="starter-teacher")
    student = step(DistillationPretrainer(teacher, tower_options=STUDENT_TOWER, seed=args.seed, name="starter-student"),
                   data["everything"], steps["student"], "loss", "distance")
    components = {"starter": preprocessor, "starter-embedder": embedder, "starter-contrastive": contrastive,
                  "starter-multilingual": multilingual, "starter-code": code, "starter-student": student}
    return components, rows


# ---------------------------------------------------------------- measuring
RANDOM = "random init (starter architecture)"
COMPOSITIONS = {
    "starter: contrastive": ("starter-contrastive",),
    "starter: contrastive + multilingual": ("starter-contrastive", "starter-multilingual"),
}


def evaluate(components: dict, args: argparse.Namespace, meaning: bool = False) -> tuple[dict, str]:
    """Few-shot accuracy of starter compositions, TF-IDF and random init on benchmarks/fewshot.py; (outcomes, table).

    `meaning`: starter-meaning alone and in the README's composition, on the English tasks, beside the teacher.
    """
    from cclm import ComposedModel

    chosen = ["--tasks", "topic", "package"] if meaning else []
    bench = fewshot.parser().parse_args(["--few-only", "--draws", str(args.draws), *chosen,
                                         "--teacher-cache", str(args.teacher_cache)] + (["--quick"] if args.quick else []))
    bench = fewshot.settle(bench)
    embedder = components["starter-embedder"]
    models = {RANDOM: fewshot.random_composition(components["starter"], bench, fewshot.architecture(embedder))}
    models.update({name: ComposedModel(embedder, [components[t] for t in towers], preprocessor=components["starter"],
                                       name=name.split(": ")[1].replace(" ", "-"))
                   for name, towers in COMPOSITIONS.items()})
    if meaning:
        towers = [components[t] for t in COMPOSITIONS["starter: contrastive + multilingual"]]
        models = fewshot.meaning_models(components["starter"], embedder, components["starter-meaning"], towers)
    outcomes = {}
    for name in bench.tasks:
        task = fewshot.load_task(name, bench)
        outcomes[name] = fewshot.compare(task, models, bench)
    return outcomes, fewshot.table(outcomes, bench)


def benchmark_metrics(outcomes: dict, model: str) -> dict[str, float]:
    """`model`'s mean few-shot accuracies (and its peers': TF-IDF, the teacher, with TF-IDF, random init) as card metrics."""
    metrics = {}
    for task, outcome in outcomes.items():
        for name, key in ((model, "cclm"), (fewshot.TFIDF, "tfidf"), (fewshot.TEACHER, "teacher"),
                          (fewshot.TEACHER_TFIDF, "teacher + tfidf"), (RANDOM, "random init")):
            scores = outcome["results"].get(name, {}).get("few")
            if scores:
                clean, noisy = (float(v) for v in fewshot.np.mean(scores, axis=0)[:2])
                metrics[f"fewshot {task} {key} clean"] = round(100 * clean, 1)
                metrics[f"fewshot {task} {key} 10% typos"] = round(100 * noisy, 1)
    return metrics


# ---------------------------------------------------------------- cards and the shelf
LIMITS = (
    "Trained on short UI messages, Python's documentation and source code: expect less on long prose, speech "
    "transcripts or social-media text. The vocabulary holds the {chars:,} characters seen at least 20 times in the "
    "corpora, every script whole except Chinese, Japanese kanji and Korean Hangul syllables, which read as the "
    "unknown id (kana are covered). Small models (a few hundred thousand parameters per tower), trained for minutes "
    "on CPUs: a starting point for few-shot heads and for further pretraining, not a general-purpose encoder. The "
    "pooled vectors carry a text's language and kind far more than its subject: to sort English texts by topic, a "
    "few-shot head leans on character n-grams alone (benchmarks/fewshot.py --tasks topic)."
)
INTENDED = (
    "Compose with `ComposedModel(embedder, [towers])` (or fetch with `Shelf().fetch`) and put a few-shot "
    "`TextClassifier` on it: language or script identification, programming-language identification, routing "
    "short technical texts; train your own towers on the same embedder (`train_embedder=False`) and compose them."
)


def describe(components: dict, data: dict, args: argparse.Namespace, metrics: dict, seconds: dict) -> None:
    """Fills each component's card: what it was trained on and how it was cleaned, limits, uses, metrics."""
    messages = ("catalog messages of 10-1,000 characters, whitespace collapsed, only from msgids in the train "
                "groups of benchmarks/fewshot.py (seed 0); documentation in paragraphs of 20 characters or more")
    chunks = ("source files cut into 400-character chunks (at most 8 per file, at least 10 words each), only files "
              "in the train groups of benchmarks/fewshot.py (seed 0)")
    dropped = "every dev or test text of the benchmark dropped (held-out texts left in the corpora: 0)"
    text = (f"Debian's message catalogs ({len(data['locales'])} locales) and Python's documentation",
            f"{messages}; {dropped}")
    corpora = {
        "starter-embedder": text, "starter-contrastive": text, "starter-multilingual": text,
        "starter-code": (f"installed source files ({', '.join(data['code languages'])})", f"{chunks}; {dropped}"),
    }
    everything = ("Debian's message catalogs, Python's documentation and installed source files",
                  f"{messages}; {chunks}; {dropped}")
    for identifier, component in components.items():
        if identifier == "starter-meaning":
            continue  # scripts/starter_meaning.py describes it
        card = component.card
        card["description"] = {
            "starter": "The starter character vocabulary: every script of Debian's message catalogs.",
            "starter-embedder": "The starter embedder, shared by every starter tower (trained by starter-contrastive).",
            "starter-contrastive": "Pooled vectors that say what a text is like (its language, script and subject).",
            "starter-multilingual": "A masked-character tower for UI text in many languages and technical English.",
            "starter-code": "A masked-character tower for source code.",
            "starter-student": "A smaller tower distilled from starter-multilingual and starter-code.",
        }[identifier]
        corpus, cleaning = corpora.get(identifier, everything)
        card["trained_on"] = f"{corpus}; cleaning: {cleaning}."
        card.setdefault("training", {})["recipe"] = f"scripts/train_starter.py --seed {args.seed}"
        if identifier in seconds:
            card["training"]["minutes"] = round(seconds[identifier] / 60, 1)
        card["intended_uses"] = INTENDED
        scripts = scripts_of(components["starter"].characters)
        card["limitations"] = LIMITS.format(chars=len(components["starter"].characters)) + (
            " Letters in the vocabulary, by script: "
            + ", ".join(f"{name.lower()} {count}" for name, count in scripts.most_common()) + ".")
        card["language"] = sorted({locale.split("_")[0].split("@")[0] for locale in data["locales"]})[:200]
        card["license"] = "mit"
        card.setdefault("metrics", {}).update(metrics)


def write_shelf(components: dict, output: pathlib.Path, versions: dict[str, str]) -> list:
    """Saves every component and writes the read-only starter shelf at `output` (replaced atomically)."""
    from cclm.components import read_manifest
    from cclm.shelf.starter import write_starter_shelf

    with tempfile.TemporaryDirectory(prefix="cclm-starter-") as scratch:
        saved = {identifier: component.save(pathlib.Path(scratch) / identifier)
                 for identifier, component in components.items()}
        return write_starter_shelf(output, [(identifier, path, read_manifest(path), versions.get(identifier, VERSION))
                                            for identifier, path in saved.items()], VERSION)


def add_to_shipped_shelf(components: dict, output: pathlib.Path, versions: dict[str, str]) -> list:
    """The package's starter shelf, its versions byte for byte (published versions never change), plus `components`."""
    import shutil

    from cclm.shelf.catalog import read_catalog
    from cclm.shelf.starter import StarterShelf

    output = output.absolute()
    staging = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        shutil.copytree(StarterShelf().root, staging)
        with tempfile.TemporaryDirectory(prefix="cclm-starter-new-") as scratch:
            write_shelf(components, pathlib.Path(scratch) / "shelf", versions)
            shutil.copytree(pathlib.Path(scratch) / "shelf", staging, dirs_exist_ok=True)
        if output.exists():
            shutil.rmtree(output)
        os.rename(staging, output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return read_catalog(output, starter=True)


def refuse_published(version: str, output: pathlib.Path) -> None:
    """Exits, before any training, where `output` is the package's starter shelf and it ships starter-meaning
    `version` already: a published version never changes. Another `output` (a reproduction) goes on."""
    from cclm.shelf.starter import StarterShelf

    shelf = StarterShelf()
    if pathlib.Path(output).resolve() != shelf.root.resolve():
        return
    published = shelf.versions("starter-meaning") if shelf.holds("starter-meaning") else []
    if version in published:
        sys.exit(f"starter-meaning {version} is already published in the package's starter shelf "
                 f"(versions there: {', '.join(published)}), and a published version never changes. "
                 "Raise VERSION in scripts/starter_meaning.py, or write the shelf elsewhere with "
                 "--output DIR to reproduce it, then run the recipe again.")


def shipped_components() -> tuple[dict, dict[str, str]]:
    """The starter components that ship with the package now (starter-meaning aside), and their versions."""
    from cclm.shelf.starter import StarterShelf

    shelf = StarterShelf()
    entries = [entry for entry in shelf.list() if entry.identifier != "starter-meaning"]
    return ({e.identifier: shelf.load(e.identifier, e.item_type, e.version) for e in entries},
            {e.identifier: e.version for e in entries})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=pathlib.Path, default=ROOT / "cclm" / "starter_shelf",
                        help="the starter shelf directory to write (replaced)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--locale-root", default="/usr/share/locale")
    parser.add_argument("--source-root", default="/usr")
    parser.add_argument("--per-locale", type=int, default=1200, help="catalog messages per locale, at most")
    parser.add_argument("--per-language", type=int, default=6000, help="source chunks per programming language, at most")
    parser.add_argument("--sequence-length", type=int, default=512,
                        help="characters a model reads (the benchmark's code chunks are 400)")
    parser.add_argument("--min-char-count", type=int, default=20,
                        help="characters seen this often join the vocabulary (CJK ideographs and Hangul never)")
    parser.add_argument("--steps", type=json.loads, default=STEPS, help=f"JSON: training steps (default {STEPS})")
    parser.add_argument("--draws", type=int, default=3, help="few-shot draws in the measurement")
    parser.add_argument("--no-measure", action="store_true", help="skip the benchmark (the cards get no accuracy)")
    parser.add_argument("--only", choices=["all", "meaning"], default="all",
                        help="meaning: train starter-meaning alone, keeping the other shipped components")
    parser.add_argument("--meaning-sentences", type=int, default=48000,
                        help="texts drawn at random for starter-meaning's second stage (every other package "
                             "description joins them)")
    parser.add_argument("--teacher-cache", type=pathlib.Path, default=fewshot.teachers.DEFAULT_CACHE,
                        help="where the teacher's vectors are cached (a rerun encodes nothing twice)")
    parser.add_argument("--quick", action="store_true", help="tiny corpora and steps: checks the recipe")
    args = parser.parse_args(argv)
    args.steps = {**STEPS, **args.steps}
    if args.quick:
        args.per_locale, args.per_language, args.min_char_count, args.draws, args.sequence_length = 20, 40, 2, 1, 64
        args.steps = {name: 2 for name in STEPS}
    started = time.perf_counter()
    versions = {"starter-meaning": starter_meaning.VERSION}
    if args.only == "meaning":
        refuse_published(starter_meaning.VERSION, args.output)
        components, kept = shipped_components()
        versions.update(kept)
        rows = []
    else:
        data = corpora(args)
        components, rows = train(data, args)
    meaning = None
    if fewshot.teachers.available():
        meaning, meaning_seconds, _ = starter_meaning.train_meaning(components["starter"], args)
        components["starter-meaning"] = meaning
        rows.append(("starter-meaning", f"{meaning.tower.count_params():,}", "closed form", f"{meaning_seconds / 60:.1f}",
                     f"held-out cosine {meaning.card['training'].get('cosine', float('nan')):.3f}"))
    elif args.only == "meaning":
        sys.exit(f"--only meaning: the teacher is not installed; run `{fewshot.teachers.INSTALL}`.")
    else:
        print(f"starter-meaning skipped: its teacher is not installed (`{fewshot.teachers.INSTALL}`).")
    trained = time.perf_counter() - started
    table = ""
    if not args.no_measure and meaning is None:
        outcomes, table = evaluate(components, args)
        describe(components, data, args, benchmark_metrics(outcomes, "starter: contrastive + multilingual"),
                 {row[0]: float(row[3]) * 60 for row in rows})
    elif not args.no_measure:
        outcomes, meaning_table = evaluate(components, args, meaning=True)
        meaning.card.setdefault("metrics", {}).update(benchmark_metrics(outcomes, "cclm meaning tower's features alone"))
        meaning.card["metrics"].update({key.replace(" cclm ", " cclm composition "): value for key, value in
                                        benchmark_metrics(outcomes, "cclm starter composition with meaning (README)")
                                        .items() if " cclm " in key})
        table = meaning_table
        if args.only == "all":
            outcomes, table = evaluate(components, args)
            describe(components, data, args, benchmark_metrics(outcomes, "starter: contrastive + multilingual"),
                     {row[0]: float(row[3]) * 60 for row in rows})
            table += "\n" + meaning_table
    elif args.only == "all":
        describe(components, data, args, {}, {row[0]: float(row[3]) * 60 for row in rows})
    if args.only == "meaning":
        entries = add_to_shipped_shelf({"starter-meaning": meaning}, args.output, versions)
    else:
        entries = write_shelf(components, args.output, versions)
    size = sum(entry.size for entry in entries)
    print()
    print(plain_table([("component", "tower parameters", "steps", "minutes", "training metric"), *rows]))
    print()
    print(f"vocabulary: {components['starter'].vocab_size:,} ids, sha256 of its characters "
          f"{__import__('hashlib').sha256(''.join(components['starter'].characters).encode()).hexdigest()[:16]}")
    if table:
        print(table)
    print(f"\nStarter shelf at {args.output}: {len(entries)} versions, {size / 1e6:.2f} MB of archives.")
    print(f"Training {trained / 60:.1f} min; whole recipe {(time.perf_counter() - started) / 60:.1f} min.")


if __name__ == "__main__":
    main()
