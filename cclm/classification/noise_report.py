"""`noise_report`: a classifier's accuracy as typos are added to its test texts.

The same seeded `Augmentor` corrupts the test texts at each rate, so two
models measured with the same seed see the very same noisy texts.

Example:
>>> class FirstLetter:  # anything with predict_labels(texts) -> labels
...     def predict_labels(self, texts):
...         return [t[:1] or "?" for t in texts]
>>> report = noise_report(FirstLetter(), (["apple", "banana"], ["a", "b"]), rates=(0.0, 1.0))
>>> report.accuracy[0], report.accuracy[1] < 1.0
(1.0, True)
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from cclm.components.files import atomic_file
from cclm.data.texts import LabelledData, iter_labelled
from cclm.models.label_head import check_known_labels


_QUIET = 2000  # texts up to which no progress bar is shown
_CHUNK = 1024  # texts predicted at a time


@dataclass
class NoiseReport:
    """Accuracy at each noise rate (per-character typo rate) on the same test texts."""

    model: str
    texts: int
    rates: list[float]
    accuracy: list[float]
    noise: str = "Augmentor.typos"
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    chance: float | None = None  # the accuracy of always answering the most frequent test label

    def table(self) -> str:
        """A plain-text table: one row per rate."""
        lines = [f"{self.model}: {self.texts:,} texts, noise {self.noise} (seed {self.seed})",
                 f"{'noise rate':>10}  {'accuracy':>8}  {'lost':>8}"]
        for rate, accuracy in zip(self.rates, self.accuracy):
            lost = (self.accuracy[0] - accuracy) * 100
            lines.append(f"{rate:>10.0%}  {accuracy:>8.3f}  {lost:>6.1f}pt")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False)

    def save(self, path: str | os.PathLike) -> None:
        """Writes the report as JSON (atomically: a failure leaves no partial file)."""
        with atomic_file(path) as stream:
            stream.write(self.to_json().encode("utf-8") + b"\n")


def parse_rates(text: str) -> list[float]:
    """`"0,0.05,0.1"` -> `[0.0, 0.05, 0.1]`, with a clear error for anything else."""
    try:
        rates = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"noise rates {text!r} are not numbers; write e.g. 0,0.05,0.1") from None
    if not rates or any(not 0.0 <= rate <= 1.0 for rate in rates):
        raise ValueError(f"noise rates {text!r}: give one or more rates between 0 and 1, e.g. 0,0.05,0.1")
    return rates


def noise_report(
    classifier: Any,
    data: LabelledData,
    rates: Sequence[float] = (0.0, 0.05, 0.1),
    seed: int = 0,
    noise: Callable[..., Any] | None = None,
    text_column: str = "text",
    label_column: str = "label",
    name: str | None = None,
    progress: bool = True,
) -> NoiseReport:
    """Accuracy of `classifier` on `data` with typos at each rate.

    Args:
        classifier: anything with `predict_labels(texts) -> labels`:
            a `TextClassifier`, a `CategoricalPretrainer`, ...
        data: labelled test data: `(texts, labels)` or a `datasets` dataset.
        rates: per-character noise rates; 0 is the clean text.
        seed: the noise seed; the same seed gives the same noisy texts.
        noise: `rate, seed -> Augmentor`; default `Augmentor.typos`.
            (`cclm.pipelines.augmentation`, imported here: it brings TensorFlow.)
        text_column: the text column of `datasets` data.
        label_column: the label column of `datasets` data.
        name: the model's name in the report (default: its `name`).
        progress: show a progress bar (texts read, over every rate) for
            more than `_QUIET` texts.
    """
    if noise is None:
        from cclm.pipelines.augmentation import Augmentor

        noise = Augmentor.typos
    texts, labels = [], []
    for text, label in iter_labelled(data, text_column, label_column):
        texts.append(text)
        labels.append(label)
    if not texts:
        raise ValueError("The test data is empty; give labelled texts to measure accuracy on.")
    if getattr(classifier, "labels", None) is not None:
        check_known_labels(labels, classifier.labels, "measure on data labelled as the model was trained.")
    accuracy = []
    with tqdm(total=len(texts) * len(rates), unit="text", desc="noise report",
              disable=not progress or len(texts) <= _QUIET) as bar:
        for rate in rates:
            noisy = noise(rate, seed=seed)(texts) if rate else texts
            predicted = []
            for start in range(0, len(noisy), _CHUNK):
                chunk = noisy[start:start + _CHUNK]
                predicted += classifier.predict_labels(chunk)
                bar.update(len(chunk))
            accuracy.append(float(np.mean([p == t for p, t in zip(predicted, labels)])))
    return NoiseReport(
        model=name or getattr(classifier, "name", type(classifier).__name__),
        texts=len(texts), rates=[float(r) for r in rates], accuracy=accuracy,
        noise=getattr(noise, "__qualname__", repr(noise)), seed=seed,
        chance=max(Counter(labels).values()) / len(labels),
    )
