"""Real English text that ships with every Python: the `pydoc_data` topics.

The demo, examples, tests and benchmarks use it, so nothing is downloaded.

Example:
>>> paragraphs = python_docs_paragraphs()
>>> len(paragraphs) > 1000, all(isinstance(p, str) and p for p in paragraphs)
(True, True)
"""

from __future__ import annotations

import random

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
