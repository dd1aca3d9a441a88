"""Masked-language training throughput, side by side in one run.

1. Input pipeline alone vs training: characters per second the `tf.data`
   pipeline delivers (windows + masks, no model) against the characters per
   second a training step consumes, for the default configuration.
2. Length scaling: per-character training cost of the default tower at
   length 2048 against length 256 (same characters per step), and the same
   against a plain transformer (no downsampling, attention over every
   character) at 2048.
3. Token-level targets (`target="subwords"`, an 8,000-subword BPE vocabulary):
   the sampled softmax against a full softmax over every subword.

Real text: Python's documentation (`pydoc_data`), joined and cut into windows.
Run: python benchmarks/mlm_training.py
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from cclm import Preprocessor  # noqa: E402
from cclm.pretraining.masked_language_pretrainer import MaskedLanguagePretrainer  # noqa: E402
from cclm.data.sample_text import python_docs_paragraphs  # noqa: E402

CHARACTERS_PER_STEP = 8192


def documents(length: int) -> list[str]:
    text = " ".join(python_docs_paragraphs())
    return [text[i : i + length] for i in range(0, len(text) - length, length)]


class FullSoftmaxSubwords(MaskedLanguagePretrainer):
    """For comparison only: subword targets scored by a full softmax over the vocabulary."""

    def _build_head(self) -> keras.Model:
        features = keras.Input(shape=(None, self.tower.output_dim))
        hidden = keras.layers.Dense(self.tower.output_dim, activation="gelu")(features)
        hidden = keras.layers.LayerNormalization(epsilon=1e-6)(hidden)
        logits = keras.layers.Dense(self.preprocessor.subword_tokenizer.vocab_size)(hidden)
        return keras.Model(features, logits)

    def _loss_and_metrics(self) -> tuple:
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="mean_with_sample_weight")
        return loss, [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]


def pretrainer_for(
    length: int, downsample_factor: int, tower_options: dict | None = None, kind=MaskedLanguagePretrainer,
    subword_vocab_size: int = 8000, **task
) -> MaskedLanguagePretrainer:
    keras.utils.set_random_seed(0)
    subwords = {"subword_model": "bpe", "subword_vocab_size": subword_vocab_size} if task.get("target") == "subwords" else {}
    prep = Preprocessor(sequence_length=length, downsample_factor=downsample_factor, **subwords)
    prep.fit(documents(length), progress=False)
    options = {"max_length": max(2048, length), "downsample_factor": downsample_factor, **(tower_options or {})}
    return kind(preprocessor=prep, tower_options=options, seed=0, **task)


def characters_per_second_training(
    pretrainer: MaskedLanguagePretrainer, length: int, steps: int, warmup: int = 5
) -> float:
    batch_size = CHARACTERS_PER_STEP // length
    data = documents(length)
    pretrainer.fit(data, steps_per_epoch=warmup, batch_size=batch_size, verbose=0)  # trace and warm up
    started = time.perf_counter()
    pretrainer.fit(data, steps_per_epoch=steps, batch_size=batch_size, verbose=0)
    return steps * batch_size * length / (time.perf_counter() - started)


def characters_per_second_pipeline(pretrainer: MaskedLanguagePretrainer, length: int, batches: int) -> float:
    batch_size = CHARACTERS_PER_STEP // length
    dataset = pretrainer._dataset(documents(length), batch_size, training=True).repeat()
    iterator = iter(dataset)
    next(iterator)
    started = time.perf_counter()
    for _ in range(batches):
        inputs, _, _ = next(iterator)
        np.asarray(inputs)
    return batches * batch_size * length / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="timed training steps per setting")
    parser.add_argument("--quick", action="store_true", help="tiny towers, to check the script runs")
    args = parser.parse_args()
    tiny = {"hidden_dim": 16, "num_layers": 1, "num_heads": 2} if args.quick else {}
    steps = 2 if args.quick else args.steps
    warmup = 1 if args.quick else 5
    # --quick checks the script: tiny towers, short windows, a small subword vocabulary; its figures mean nothing.
    short, long = (64, 256) if args.quick else (256, 2048)
    vocabulary = 500 if args.quick else 8000

    default_short = pretrainer_for(short, 4, tiny)
    training = characters_per_second_training(default_short, short, steps, warmup)
    pipeline = characters_per_second_pipeline(default_short, short, 5 if args.quick else 50)
    default_long = characters_per_second_training(pretrainer_for(long, 4, tiny), long, steps, warmup)
    plain_long = characters_per_second_training(pretrainer_for(long, 1, tiny), long, steps, warmup)
    sampled = pretrainer_for(short, 4, tiny, subword_vocab_size=vocabulary, target="subwords")
    subword_vocabulary = sampled.preprocessor.subword_tokenizer.vocab_size
    sampled_short = characters_per_second_training(sampled, short, steps, warmup)
    full_short = characters_per_second_training(
        pretrainer_for(short, 4, tiny, kind=FullSoftmaxSubwords, subword_vocab_size=vocabulary, target="subwords"),
        short, steps, warmup,
    )
    print(f"\n{CHARACTERS_PER_STEP} characters per step; best effort on {os.cpu_count()} CPUs.\n")
    header = f"{'measurement':<46}{'chars/s':>12}{'ratio':>26}"
    print(header)
    print("-" * len(header))
    rows = [
        (f"input pipeline alone (length {short})", pipeline, f"{pipeline / training:.1f}x training"),
        (f"training, default tower, length {short}", training, "-"),
        (f"training, default tower, length {long}", default_long, f"cost {training / default_long:.2f}x of {short}"),
        (f"training, plain transformer, length {long}", plain_long, f"default {default_long / plain_long:.1f}x faster"),
        (f"subwords ({subword_vocabulary:,}), sampled softmax, {short}", sampled_short,
         f"{sampled_short / full_short:.1f}x full softmax"),
        (f"subwords ({subword_vocabulary:,}), full softmax, {short}", full_short, f"{full_short / training:.2f}x characters"),
    ]
    for name, value, ratio in rows:
        print(f"{name:<46}{value:>12,.0f}{ratio:>26}")


if __name__ == "__main__":
    main()
