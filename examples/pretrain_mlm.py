"""Pretrain a masked-language tower on Python's documentation and check it learned.

Trains `MaskedLanguagePretrainer` (default configuration unless told
otherwise) on 90% of the paragraphs of `pydoc_data.topics`, which ships with
Python, for a time budget. It then measures held-out masked-character accuracy
on the other 10%, next to two baselines scored on exactly the same masks:

- most frequent character: always guess the character seen most often in
  the training text;
- character n-gram: counts of (left context, right context) -> middle
  character in the training text, using up to `--context` visible characters
  on each side. Masked neighbours are not visible, so it backs off to shorter
  contexts, down to the character frequencies.

Every hidden position shows the mask id at evaluation (no 10% keep / random),
so neither the model nor the n-gram model sees the answer.

Run: python examples/pretrain_mlm.py --minutes 10
"""

from __future__ import annotations

import argparse
import collections
import time

import keras
import numpy as np
import tensorflow as tf

from cclm.preprocessing import special_ids
from cclm.pretraining import MaskedLanguagePretrainer
from cclm.pipelines.masking import SpanMasking
from cclm.data.sample_text import python_docs_paragraphs, split_texts


class TimeBudget(keras.callbacks.Callback):
    """Stops training once `seconds` have passed (checked after every batch)."""

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = seconds
        self.started = time.perf_counter()
        self.batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1
        if time.perf_counter() - self.started > self.seconds:
            self.model.stop_training = True


class NgramModel:
    """Predicts a hidden character from the visible characters around it."""

    def __init__(self, texts: list[str], context: int):
        self.context = context
        self.counts: dict[tuple[str, str], collections.Counter] = collections.defaultdict(collections.Counter)
        for text in texts:
            for i, character in enumerate(text):
                for left in range(context + 1):
                    for right in range(context + 1):
                        if i - left >= 0 and i + right < len(text):
                            self.counts[text[i - left : i], text[i + 1 : i + 1 + right]][character] += 1

    def predict(self, text: list[str | None], position: int) -> str:
        """`text` holds None where characters are hidden."""
        left = 0
        while left < self.context and position - left - 1 >= 0 and text[position - left - 1] is not None:
            left += 1
        right = 0
        while right < self.context and position + right + 1 < len(text) and text[position + right + 1] is not None:
            right += 1
        options = sorted(((l, r) for l in range(left + 1) for r in range(right + 1)), key=lambda lr: -(lr[0] + lr[1]))
        for l, r in options:
            key = ("".join(text[position - l : position]), "".join(text[position + 1 : position + 1 + r]))
            if key in self.counts:
                return self.counts[key].most_common(1)[0][0]
        return self.counts["", ""].most_common(1)[0][0]


def evaluation_batches(pretrainer, texts: list[str], batch_size: int = 64):
    """Fixed windows and fixed masks, all shown as the mask id."""
    masking = SpanMasking(
        pretrainer.preprocessor.vocab_size, pretrainer.mask_rate, pretrainer.min_span,
        pretrainer.max_span, mask_fraction=1.0, random_fraction=0.0,
    )
    prep = pretrainer.preprocessor
    ids = prep.encode(texts, length=prep.sequence_length)  # the start of each held-out paragraph
    for start in range(0, len(ids), batch_size):
        batch = ids[start : start + batch_size]
        inputs, targets, weights = masking(tf.constant(batch), tf.constant([start, 7]))
        yield inputs.numpy(), targets.numpy(), weights.numpy() > 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="training time budget")
    parser.add_argument("--context", type=int, default=3, help="n-gram context on each side")
    parser.add_argument("--tiny", action="store_true", help="a tiny model and data, to check the script runs")
    args = parser.parse_args()

    train, test = split_texts(python_docs_paragraphs(), test_fraction=0.1, seed=0)
    options = {}
    if args.tiny:
        train, test = train[:200], test[:40]
        options = {"tower_options": {"hidden_dim": 16, "num_layers": 1, "num_heads": 2}}
    keras.utils.set_random_seed(0)
    pretrainer = MaskedLanguagePretrainer(seed=0, **options)
    budget = TimeBudget(args.minutes * 60)
    pretrainer.fit(train, epochs=1000, callbacks=[budget], verbose=2)
    trained_for = time.perf_counter() - budget.started

    prep = pretrainer.preprocessor
    counts = collections.Counter("".join(prep.normalize(t) for t in train))
    most_frequent = counts.most_common(1)[0][0]
    ngram = NgramModel([prep.normalize(t) for t in train], args.context)

    hits = collections.Counter()
    total = 0
    for inputs, targets, hidden in evaluation_batches(pretrainer, test):
        logits = np.array(pretrainer.training_model(inputs, training=False))
        logits[..., : special_ids.FIRST_CHARACTER_ID] = -np.inf
        predicted = logits.argmax(-1)
        hits["model"] += int((predicted[hidden] == targets[hidden]).sum())
        total += int(hidden.sum())
        for row in range(len(inputs)):
            visible = [
                None if hidden[row, i] or targets[row, i] < special_ids.FIRST_CHARACTER_ID
                else prep.characters[targets[row, i] - special_ids.FIRST_CHARACTER_ID]
                for i in range(targets.shape[1])
            ]
            for position in np.flatnonzero(hidden[row]):
                truth = prep.characters[targets[row, position] - special_ids.FIRST_CHARACTER_ID]
                hits["most frequent character"] += truth == most_frequent
                hits[f"character n-gram (±{args.context})"] += ngram.predict(visible, position) == truth

    print(
        f"\nTrained {budget.batches} batches in {trained_for / 60:.1f} min on {len(train):,} paragraphs; "
        f"evaluated on {total:,} hidden characters of {len(test):,} held-out paragraphs.\n"
    )
    model_accuracy = hits["model"] / total
    print(f"{'predictor':<28}{'accuracy':>10}{'model / it':>12}")
    print("-" * 50)
    for name in ("model", "most frequent character", f"character n-gram (±{args.context})"):
        accuracy = hits[name] / total
        ratio = "-" if name == "model" else f"{model_accuracy / accuracy:.2f}x"
        print(f"{name:<28}{accuracy:>10.3f}{ratio:>12}")


if __name__ == "__main__":
    main()
