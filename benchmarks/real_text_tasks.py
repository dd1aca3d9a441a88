"""The real-text tasks of benchmarks/fewshot.py, read from a Debian machine and Python; splits stable by hash.

- `language_task`: which of 12 languages (or others) a UI message of `/usr/share/locale`
  is in; splits disjoint by msgid (`split_of`).
- `code_task`: which programming language a 400-character chunk of an
  installed source file is in; splits disjoint by file.
- `topic_task`: which package of Python's standard library an English
  paragraph of a docstring documents; splits disjoint by docstring.
- `package_task`: which Debian archive section (games, science, sound, ...)
  a package's one-line English description belongs to, from the package
  lists `apt-get update` keeps on the machine; splits disjoint by source package.

scripts/train_starter.py reads the same splits to keep every dev and test
text out of the starter shelf's corpora.
"""

from __future__ import annotations

import ast
import functools
import gettext
import hashlib
import os
import pathlib
import shutil
import subprocess
import sysconfig
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

LANGUAGES = ("es", "pt", "it", "ca", "gl", "da", "nb", "sv", "cs", "sk", "hr", "sr")
CODE_EXTENSIONS = {
    "python": (".py",), "c": (".c",), "c++": (".cc", ".cpp", ".hpp", ".hh", ".tcc"), "perl": (".pm", ".pl"),
    "javascript": (".js", ".mjs"), "shell": (".sh", ".bash"), "cmake": (".cmake",), "html": (".html", ".htm"),
    "css": (".css",), "sql": (".sql",), "php": (".php",), "tcl": (".tcl",), "ruby": (".rb",), "lua": (".lua",),
    "go": (".go",), "rust": (".rs",), "java": (".java",), "emacs lisp": (".el",), "m4": (".m4",),
}
SPLITS = ("train", "dev", "test")
SECTIONS = ("admin", "database", "editors", "games", "graphics", "mail", "math", "net", "science", "sound", "text", "web")


@dataclass
class Task:
    name: str
    length: int
    texts: dict[str, list[str]]  # split -> texts
    labels: dict[str, list[str]]

    @property
    def classes(self) -> list[str]:
        return sorted(set(self.labels["test"]))


def split_of(group: str, seed: int = 0, train_tenths: int = 6) -> str:
    """train / dev / test (60 / 20 / 20 by default) by a hash of the group: stable across runs and machines.

    `train_tenths` of the groups go to train, 2 tenths to dev, the rest to test.
    """
    bucket = int(hashlib.sha256(f"{seed}:{group}".encode()).hexdigest(), 16) % 10
    return "train" if bucket < train_tenths else "dev" if bucket < train_tenths + 2 else "test"


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


def language_task(root: str, sizes: dict[str, int], seed: int, languages: tuple[str, ...] = LANGUAGES) -> Task:
    """UI messages of `languages` (locale names); splits disjoint by msgid; texts found in two languages dropped."""
    rows = defaultdict(list)  # split -> (text, language)
    seen: dict[str, set[str]] = defaultdict(set)
    for language in languages:
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


def source_files(root: str) -> dict[str, list[str]]:
    """Every regular source file under `root`, by programming language (`CODE_EXTENSIONS`), paths sorted."""
    by_extension = {ext: language for language, exts in CODE_EXTENSIONS.items() for ext in exts}
    files = defaultdict(list)
    for directory, _, names in os.walk(root):
        for name in names:
            language = by_extension.get(os.path.splitext(name)[1])
            path = os.path.join(directory, name)
            if language and os.path.isfile(path) and not os.path.islink(path):
                files[language].append(path)
    return {language: sorted(paths) for language, paths in files.items()}


def source_chunks(path: str, chunk: int = 400, per_file: int = 8) -> list[str]:
    """The first `per_file` whole `chunk`-character pieces of a UTF-8 file, those of 10 words or more; [] if unreadable."""
    try:
        text = pathlib.Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    pieces = [text[i:i + chunk] for i in range(0, len(text) - chunk + 1, chunk)][:per_file]
    return [piece for piece in pieces if len(piece.split()) >= 10]


def code_task(root: str, sizes: dict[str, int], seed: int, chunk: int = 400, per_file: int = 8) -> Task:
    """400-character chunks of source files under `root`; the 8 languages with most files; splits by file."""
    files = source_files(root)
    chosen = sorted(sorted(files, key=lambda language: -len(files[language]))[:8])
    rows = defaultdict(list)
    for language in chosen:
        for path in files[language]:
            rows[split_of(path, seed)] += [(piece, language) for piece in source_chunks(path, chunk, per_file)]
    return Task("code", 400, *disjoint(rows, sizes, seed))


def docstring_paragraphs(path: str) -> list[tuple[str, str]]:
    """(paragraph, docstring key) for the prose paragraphs of a Python file's docstrings; [] if it does not parse.

    A prose paragraph has 12 words or more, is at least 70% letters and holds
    no `>>>` prompt; its whitespace is collapsed to single spaces.
    """
    try:
        tree = ast.parse(pathlib.Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        return []
    rows = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            for paragraph in (ast.get_docstring(node) or "").split("\n\n"):
                text = " ".join(paragraph.split())
                if len(text.split()) >= 12 and sum(c.isalpha() for c in text) >= 0.7 * len(text) and ">>>" not in text:
                    rows.append((text, f"{path}:{getattr(node, 'lineno', 0)}"))
    return rows


def topic_task(root: str | None, sizes: dict[str, int], seed: int, classes: int = 8) -> Task:
    """English docstring paragraphs of the standard library's packages under `root` (default: this Python's).

    The label is the top-level package (`email`, `asyncio`, `tkinter`, ...);
    the `classes` packages with the most paragraphs are kept, test suites
    left out. Splits are disjoint by docstring, 40 / 20 / 40 (a few-shot
    pool needs few texts, a test set many); a paragraph found in two
    packages is dropped.
    """
    root = root or sysconfig.get_paths()["stdlib"]
    by_package = defaultdict(list)  # package -> (text, docstring key)
    for directory, folders, names in os.walk(root):
        parts = pathlib.Path(directory).relative_to(root).parts
        folders[:] = sorted(f for f in folders if f not in ("test", "tests", "site-packages", "__pycache__"))
        if not parts:
            continue  # single-module files have no package
        for name in sorted(names):
            if name.endswith(".py"):
                by_package[parts[0]] += docstring_paragraphs(os.path.join(directory, name))
    chosen = sorted(sorted(by_package, key=lambda package: (-len(by_package[package]), package))[:classes])
    owners = defaultdict(set)
    for package in chosen:
        for text, _ in by_package[package]:
            owners[text].add(package)
    rows = defaultdict(list)
    for package in chosen:
        for text, key in by_package[package]:
            if len(owners[text]) == 1:
                rows[split_of(key.removeprefix(root), seed, train_tenths=4)].append((text, package))
    return Task("topic", 256, *disjoint(rows, sizes, seed))


@functools.cache
def package_records() -> tuple[dict[str, str], ...]:
    """Every package record of the machine's package lists (`apt-cache dumpavail`): field -> first line.

    Read once per process (the recipe and the package task both ask); do not change the records.
    """
    if shutil.which("apt-cache") is None:
        raise RuntimeError("The package task reads Debian's package lists: apt-cache is missing (not Debian?).")
    dump = subprocess.run(["apt-cache", "dumpavail"], capture_output=True, text=True, check=False).stdout
    records = []
    for block in dump.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and line[:1] not in " \t")
        if "Package" in fields:
            records.append(fields)
    if not records:
        raise RuntimeError("The package lists are empty: run `apt-get update` (as root) once, then retry.")
    return tuple(records)


def package_description(record: dict[str, str]) -> str:
    """A package record's one-line description, its whitespace folded to single spaces ("" if it has none)."""
    return " ".join(record.get("Description", "").split())


def package_task(sizes: dict[str, int], seed: int, sections: tuple[str, ...] = SECTIONS) -> Task:
    """Debian packages' one-line descriptions, labelled by their archive section; splits disjoint by source package.

    "contrib/games" counts as "games". A description found in two sections is dropped.
    """
    owners = defaultdict(set)
    rows = []
    for record in package_records():
        section = record.get("Section", "").rsplit("/", 1)[-1]
        text = package_description(record)
        if section in sections and len(text.split()) >= 3:
            source = record.get("Source", record["Package"]).split(" ")[0]
            rows.append((text, section, source))
            owners[text].add(section)
    by_split = defaultdict(list)
    for text, section, source in rows:
        if len(owners[text]) == 1:
            by_split[split_of(source, seed, train_tenths=4)].append((text, section))
    return Task("package", 128, *disjoint(by_split, sizes, seed))
