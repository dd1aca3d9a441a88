"""The starter recipe's corpora (scripts/train_starter.py), kept clear of every benchmark dev and test text.

Debian's message catalogs (every locale), Python's documentation and
installed source files, taken only from benchmarks/fewshot.py's train
groups; every dev or test text is then dropped, and what is left of them
is counted and printed (it must be 0). Also the vocabulary's characters.
"""

from __future__ import annotations

import argparse
import gettext
import os
import pathlib
import random
import sys
import time
import unicodedata
from collections import Counter

import real_text_tasks as tasks  # the benchmark's splits are what the corpora must avoid


def catalog_blocks(root: str, per_locale: int, block: int) -> tuple[list[list[str]], dict[str, int]]:
    """Runs of up to `block` consecutive messages of one catalog, from the benchmark's train groups only."""
    blocks, counts = [], {}
    for locale in sorted(os.listdir(root)):
        taken = 0
        for path in sorted(pathlib.Path(root, locale, "LC_MESSAGES").glob("*.mo")):
            if taken >= per_locale:
                break
            try:
                with open(path, "rb") as file:
                    catalog = gettext.GNUTranslations(file)._catalog
            except (OSError, UnicodeDecodeError, ValueError, LookupError, SyntaxError):
                continue  # a legacy encoding or a malformed header: skipped
            run = []
            for msgid, text in catalog.items():
                source = msgid[0] if isinstance(msgid, tuple) else msgid
                text = " ".join(str(text).split())
                if not source or not 10 <= len(text) <= 1000 or tasks.split_of(source) != "train":
                    continue
                run.append(text)
                if len(run) == block or taken + len(run) >= per_locale:
                    break
            if run:
                blocks.append(run)
                taken += len(run)
        if taken:
            counts[locale] = taken
    return blocks, counts


def code_blocks(root: str, per_language: int, chunk: int = 400, per_file: int = 8) -> tuple[list[list[str]], dict[str, int]]:
    """The 400-character chunks of source files (as the benchmark cuts them), from its train files only."""
    blocks, counts = [], {}
    for language, paths in sorted(tasks.source_files(root).items()):
        taken = 0
        for path in (path for path in paths if tasks.split_of(path) == "train"):
            if taken >= per_language:
                break
            pieces = tasks.source_chunks(path, chunk, per_file)
            if pieces:
                blocks.append(pieces)
                taken += len(pieces)
        counts[language] = taken
    return blocks, counts


def docs_blocks() -> list[list[str]]:
    """Python's documentation (`pydoc_data.topics`), one block per topic."""
    from pydoc_data.topics import topics

    blocks = []
    for name in sorted(topics):
        paragraphs = [" ".join(p.split()) for p in topics[name].split("\n\n")]
        paragraphs = [p for p in paragraphs if len(p) >= 20]
        if paragraphs:
            blocks.append(paragraphs)
    return blocks


def held_out_texts(args: argparse.Namespace) -> set[str]:
    """Every dev and test text of benchmarks/fewshot.py (its default sizes and seed), both tasks."""
    sizes = {"train": 1500, "dev": 100, "test": 200}
    held = set()
    for task in (tasks.language_task(args.locale_root, sizes, 0), tasks.code_task(args.source_root, sizes, 0)):
        held |= set(task.texts["dev"]) | set(task.texts["test"])
    return held


def flatten(blocks: list[list[str]], held: set[str], seed: int) -> tuple[list[str], int]:
    """The blocks in a seeded random order, each kept together (neighbours share a language); held-out texts dropped."""
    order = list(blocks)
    random.Random(seed).shuffle(order)
    texts = [text for block in order for text in block]
    kept = [text for text in texts if text not in held]
    return kept, len(texts) - len(kept)


def corpora(args: argparse.Namespace) -> dict[str, list[str]]:
    started = time.perf_counter()
    held = held_out_texts(args)
    catalogs, locales = catalog_blocks(args.locale_root, args.per_locale, block=150)
    code, languages = code_blocks(args.source_root, args.per_language)
    docs = docs_blocks()
    multilingual, dropped_text = flatten(catalogs + docs, held, args.seed)
    source, dropped_code = flatten(code, held, args.seed)
    everything, _ = flatten(catalogs + docs + code, held, args.seed)
    print(f"Corpora ({time.perf_counter() - started:.0f} s): {sum(locales.values()):,} catalog messages in "
          f"{len(locales)} locales, {sum(len(b) for b in docs):,} paragraphs of Python's documentation, "
          f"{sum(languages.values()):,} source chunks in {len(languages)} languages "
          f"({', '.join(f'{k} {v:,}' for k, v in sorted(languages.items()))}).")
    print(f"Benchmark dev/test texts ({len(held):,}) dropped from the corpora: {dropped_text + dropped_code}; "
          f"left in any corpus: {sum(text in held for text in everything)}")
    if any(text in held for text in everything):
        sys.exit("A held-out text is in a pretraining corpus; the corpora are broken.")
    return {"multilingual": multilingual, "code": source, "everything": everything,
            "locales": sorted(locales), "code languages": sorted(languages)}


SKIPPED_SCRIPTS = ("CJK", "HANGUL")
"""Scripts of thousands of characters: a vocabulary of a few hundred of them would read most of a text as unknown."""


def vocabulary(texts: list[str], min_count: int) -> list[str]:
    """Every character seen `min_count` times or more (NFC), commonest first, except the scripts in `SKIPPED_SCRIPTS`.

    Covers every alphabet and abugida of the catalogs whole (Greek, Armenian, Ethiopic, Indic scripts, kana, ...)
    where a cut by frequency alone would keep the commonest CJK ideographs and drop capital Greek letters.
    """
    from cclm.preprocessing.character_vocabulary import is_vocabulary_character

    counts = Counter()
    for text in texts:
        counts.update(unicodedata.normalize("NFC", text))
    return [c for c, n in counts.most_common() if n >= min_count and is_vocabulary_character(c)
            and unicodedata.name(c, "UNNAMED").split()[0] not in SKIPPED_SCRIPTS]


def scripts_of(characters: tuple[str, ...]) -> Counter:
    """How many vocabulary characters each script (the first word of the Unicode name) has."""
    return Counter(unicodedata.name(c, "UNNAMED").split()[0] for c in characters if c.isalpha())
