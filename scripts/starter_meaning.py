"""`starter-meaning`: all-MiniLM-L6-v2 distilled into a `MeaningTower` on the starter preprocessor's ids.

scripts/train_starter.py calls `train_meaning` (`--only meaning` trains it
alone and keeps the other shipped components as they are). The corpus is
English text that ships with a Debian machine and Python: Python's
documentation topics, the docstrings of the standard library and of the
installed packages, and Debian's one-line package descriptions. Every dev
and test text of benchmarks/fewshot.py's tasks (seed 0, default sizes) is
dropped; the script counts what is left (it must be 0) and prints it.
The teacher (`bash scripts/setup.sh teacher`) caches its vectors on disk,
so a rerun encodes nothing twice.
"""

from __future__ import annotations

import os
import site
import sys
import sysconfig
import time
from pathlib import Path

import real_text_tasks as tasks
import teachers

VERSION = "1.4.0"
TOWER = {"buckets": 2**17, "output_dim": 256, "min_n": 3, "max_n": 5, "table_dtype": "int8"}
PACKAGES = ("numpy", "keras", "datasets", "huggingface_hub", "tokenizers", "git", "tqdm", "sklearn", "scipy",
            "matplotlib", "faker", "hypothesis", "transformers", "sentence_transformers", "torch")
FILES_PER_PACKAGE = 1500
SENTENCE_TYPOS = (0.1,)  # stage two: one copy of each text with 10% typos per character
SENTENCE_STRENGTH = 0.5  # how strongly stage two keeps to stage one's table (chosen on dev: docs/results.md)


def held_out(args) -> set[str]:
    """Every dev and test text of the benchmark's four tasks (default sizes, seed 0)."""
    sizes = {"train": 1500, "dev": 100, "test": 200}
    readers = (lambda: tasks.language_task(args.locale_root, sizes, 0), lambda: tasks.code_task(args.source_root, sizes, 0),
               lambda: tasks.topic_task(None, sizes, 0), lambda: tasks.package_task(sizes, 0))
    held = set()
    for read in readers:
        task = read()
        held |= set(task.texts["dev"]) | set(task.texts["test"])
    return held


def english_corpus(held: set[str], files_per_package: int = FILES_PER_PACKAGE) -> tuple[list[str], dict[str, int]]:
    """English paragraphs from Python, its packages and Debian's package lists, held-out texts dropped; (texts, counts).

    `files_per_package` 0 leaves the docstrings of the standard library and the packages out (`--quick`).
    """
    from cclm.data.sample_text import python_docs_paragraphs

    sources: dict[str, list[str]] = {"Python's documentation topics": [" ".join(p.split()) for p in python_docs_paragraphs()]}
    stdlib = sysconfig.get_paths()["stdlib"]
    docstrings = []
    for directory, folders, names in os.walk(stdlib) if files_per_package else ():
        folders[:] = sorted(f for f in folders if f not in ("test", "tests", "site-packages", "__pycache__"))
        docstrings += [text for name in sorted(names) if name.endswith(".py")
                       for text, _ in tasks.docstring_paragraphs(os.path.join(directory, name))]
    sources["docstrings of the standard library"] = docstrings
    installed = []
    for package in PACKAGES if files_per_package else ():
        for root in site.getsitepackages():
            paths = sorted(Path(root, package).rglob("*.py"))[:files_per_package] if Path(root, package).is_dir() else []
            installed += [text for path in paths for text, _ in tasks.docstring_paragraphs(str(path))]
    sources["docstrings of installed packages"] = installed
    sources["Debian package descriptions"] = sorted({tasks.package_description(r) for r in tasks.package_records()} - {""})
    texts, counts = [], {}
    for name, found in sources.items():
        kept = [text for text in dict.fromkeys(found) if text not in held]
        counts[name] = len(kept)
        texts += kept
    return list(dict.fromkeys(texts)), counts


def stage_two_texts(texts: list[str], count: int, seed: int) -> list[str]:
    """`count` of `texts` at random, then every other one-line Debian package description among them.

    The teacher encodes a one-line description (42 characters on average) several times faster than a
    docstring paragraph, so all of them fit in the recipe's time; chosen on the dev splits (docs/results.md).
    """
    import numpy as np

    first = np.random.default_rng(seed).permutation(len(texts))[:count]
    taken = set(first.tolist())
    descriptions = {tasks.package_description(record) for record in tasks.package_records()}
    return [texts[i] for i in first] + [text for i, text in enumerate(texts) if i not in taken and text in descriptions]


def train_meaning(preprocessor, args) -> tuple:
    """starter-meaning on `preprocessor`'s ids; (pretrainer, seconds, corpus counts)."""
    from cclm.pretraining import MeaningPretrainer

    started = time.perf_counter()
    held = held_out(args)
    texts, counts = english_corpus(held, 0 if args.quick else FILES_PER_PACKAGE)
    left = sum(text in held for text in texts)
    print(f"starter-meaning corpus ({time.perf_counter() - started:.0f} s): "
          + ", ".join(f"{name} {count:,}" for name, count in counts.items())
          + f"; benchmark dev/test texts ({len(held):,}) left in it: {left}")
    if left:
        sys.exit("A held-out text is in the meaning corpus; the corpus is broken.")
    if args.quick:
        texts = texts[:300]
    teacher = teachers.minilm(args.teacher_cache)
    sentences = stage_two_texts(texts, args.meaning_sentences, args.seed)
    meaning = MeaningPretrainer(preprocessor, teacher, tower_options=TOWER, sentences=len(sentences),
                                sentence_typos=SENTENCE_TYPOS, sentence_strength=SENTENCE_STRENGTH, seed=args.seed,
                                name="starter-meaning")
    meaning.fit(texts, sentence_texts=sentences)
    words = meaning.card["training"]["words"]
    meaning.card["description"] = "What an English text means: all-MiniLM-L6-v2 distilled into character n-grams."
    meaning.card["trained_on"] = (
        f"{len(texts):,} English texts: " + ", ".join(f"{name} ({count:,})" for name, count in counts.items())
        + f"; its {words:,} most frequent words (seen twice or more) through the teacher alone, each also misspelt "
        f"once (one random edit), then {meaning.card['training']['sentences']:,} of the texts ({args.meaning_sentences:,} "
        f"drawn at random, every other package description, 5% held out to measure the fit), each also with "
        + " and ".join(f"{rate:.0%}" for rate in SENTENCE_TYPOS) + " typos per character (one copy per rate); "
        "every dev or test text of benchmarks/fewshot.py dropped (held-out texts left in the corpus: 0).")
    meaning.card["training"]["teacher license"] = f"{teachers.MINILM}: {teachers.LICENSE}"
    meaning.card["limitations"] = (
        "English only (the teacher is an English sentence encoder and the vocabulary English technical text); a "
        "bag of words: word order and negation are lost; words far from the corpus's (technical documentation, "
        "package descriptions) get vectors from their n-grams alone.")
    meaning.card["intended_uses"] = (
        "Compose with the starter embedder's other towers and put a few-shot TextClassifier on it to sort English "
        "texts by topic, robust to typos; or read `meaning.model.text_vectors(ids)` as sentence vectors.")
    meaning.card["language"] = ["en"]
    meaning.card["license"] = "apache-2.0"
    return meaning, time.perf_counter() - started, counts
