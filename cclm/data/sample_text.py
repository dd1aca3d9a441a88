"""Real text that ships with Python and with Faker: nothing is downloaded.

`python_docs_paragraphs`: English prose and code from the `pydoc_data` topics,
which ship with every CPython. `language_sentences`: labelled sentences in
several languages, built from the real word lists of Faker's lorem providers
(the `test` extra), for language identification. `names_and_places`: real
person, street and city names from Faker's providers, labelled by country, a
task related to language identification.

Example:
>>> paragraphs = python_docs_paragraphs()
>>> len(paragraphs) > 1000, all(isinstance(p, str) and p for p in paragraphs)
(True, True)
"""

from __future__ import annotations

import random

from cclm.errors import install_hint

SOURCE = "Python's own documentation topics (pydoc_data.topics, shipped with CPython)"


def python_docs_paragraphs(min_chars: int = 20) -> list[str]:
    """Paragraphs (blank-line separated) of the topics, in a fixed order."""
    from pydoc_data.topics import topics

    paragraphs = []
    for name in sorted(topics):
        for block in topics[name].split("\n\n"):
            block = block.strip()
            if len(block) >= min_chars:
                paragraphs.append(block)
    return paragraphs


LANGUAGES = ("cs_CZ", "da_DK", "de_DE", "en_US", "es_ES", "fr_FR", "it_IT", "nl_NL", "pl_PL")
"""Faker locales written in the Latin script, with word lists of 500 words or more."""


def language_sentences(
    languages: tuple[str, ...] = LANGUAGES, per_language: int = 200, words: int = 8, seed: int = 0
) -> tuple[list[str], list[str]]:
    """Sentences of `words` random words from each language's word list, and their language.

    Returns:
        `(texts, labels)`: sentences in a shuffled, reproducible order, with
        the Faker locale of each (e.g. "de_DE") as its label.

    Raises:
        ImportError: when Faker is not installed (`bash scripts/setup.sh demo`).
    """
    import importlib

    try:
        import faker  # noqa: F401
    except ImportError:
        raise ImportError(f"language_sentences needs Faker's word lists: {install_hint('demo', 'faker')}.") from None
    rng = random.Random(seed)
    rows = []
    for language in languages:
        word_list = list(importlib.import_module(f"faker.providers.lorem.{language}").Provider.word_list)
        for _ in range(per_language):
            sentence = " ".join(rng.choice(word_list) for _ in range(words))
            rows.append((sentence[0].upper() + sentence[1:] + ".", language))
    rng.shuffle(rows)
    return [text for text, _ in rows], [label for _, label in rows]


def names_and_places(
    languages: tuple[str, ...] = LANGUAGES, per_language: int = 200, seed: int = 0
) -> tuple[list[str], list[str]]:
    """"Name, street, city" lines from Faker's providers of each locale, labelled by the locale.

    Returns:
        `(texts, labels)` in a shuffled order, the same for a seed in every
        process, e.g. ("Renata Beranová, Na Viničních Horách, Židlochovice", "cs_CZ").

    Raises:
        ImportError: when Faker is not installed (`bash scripts/setup.sh demo`).
    """
    try:
        import faker
    except ImportError:
        raise ImportError(f"names_and_places needs Faker's providers: {install_hint('demo', 'faker')}.") from None
    rows = []
    for offset, language in enumerate(languages):
        fake = faker.Faker(language)
        fake.seed_instance(seed * 1000 + offset)
        # Some locales (it_IT) build their city list from a set, whose order follows
        # Python's per-process hash seed: sorted, a seed gives the same cities in every run.
        for provider in fake.get_providers():
            if isinstance(getattr(provider, "cities", None), list):
                provider.cities = sorted(provider.cities)
        for _ in range(per_language):
            rows.append((f"{fake.name()}, {fake.street_name()}, {fake.city()}", language))
    random.Random(seed).shuffle(rows)
    return [text for text, _ in rows], [label for _, label in rows]


def split_texts(
    texts: list[str], test_fraction: float = 0.1, seed: int = 0
) -> tuple[list[str], list[str]]:
    """A reproducible (train, test) split of `texts`."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction={test_fraction!r}; use a number between 0 and 1.")
    order = list(range(len(texts)))
    random.Random(seed).shuffle(order)
    cut = int(round(len(texts) * (1 - test_fraction)))
    return [texts[i] for i in order[:cut]], [texts[i] for i in order[cut:]]
