"""Training speed with and without mixed precision and XLA, side by side in one run.

The default masked-language pretrainer (windows of 256 characters, the
default embedder and tower) trains under each setting of `mixed_precision`
and `jit_compile`; every setting gets a warm-up epoch (tracing, XLA
compilation), then timed epochs, interleaved across settings over several
rounds so that noise on a shared machine hits them alike. The best epoch of
each setting counts. On a GPU the mixed policy is `mixed_float16`; elsewhere
`mixed_bfloat16`.

Real text: Python's documentation (`pydoc_data`).
Run: python benchmarks/train.py [--steps 30] [--rounds 3] [--quick]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from cclm import Preprocessor  # noqa: E402
from cclm.pretraining.masked_language_pretrainer import MaskedLanguagePretrainer  # noqa: E402
from cclm.data.sample_text import python_docs_paragraphs  # noqa: E402
from cclm.training.fit import resolve_mixed_precision  # noqa: E402


class EpochTimer(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=30, help="training steps per timed epoch")
    parser.add_argument("--rounds", type=int, default=3, help="timed epochs per setting, interleaved")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--quick", action="store_true", help="a short run that checks the script works")
    args = parser.parse_args()
    steps, rounds = (1, 1) if args.quick else (args.steps, args.rounds)
    length = 32 if args.quick else 256
    # --quick checks the script on a tiny model and short windows; its figures mean nothing.
    size = {"tower_options": {"hidden_dim": 16, "num_layers": 1, "num_heads": 2, "intermediate_dim": 32,
                              "max_length": length}} if args.quick else {}

    texts = [text for text in python_docs_paragraphs() if len(text) > 40][: 64 if args.quick else None]
    prep = Preprocessor(sequence_length=length, downsample_factor=4).fit(texts, progress=False)
    if args.quick:
        from cclm.models.embedder import Embedder

        size["embedder"] = Embedder(vocab_size=prep.vocab_size, hidden_dim=16, num_blocks=1, max_length=length)
    mixed = resolve_mixed_precision("auto")
    settings = [("float32", None, False), (mixed, mixed, False), ("float32 + XLA", None, True), (f"{mixed} + XLA", mixed, True)]
    if args.quick:  # the two extremes exercise every code path
        settings = [settings[0], settings[-1]]
    runs = {}
    for label, policy, xla in settings:
        keras.utils.set_random_seed(0)
        pretrainer = MaskedLanguagePretrainer(
            preprocessor=prep, batch_size=args.batch_size, seed=0, mixed_precision=policy, jit_compile=xla, **size
        )
        timer = EpochTimer()
        pretrainer.fit(texts, steps_per_epoch=steps, epochs=1, verbose=0, callbacks=[timer])  # warm-up: tracing, XLA
        runs[label] = (pretrainer, timer)
    for _ in range(rounds):
        for label, (pretrainer, timer) in runs.items():
            history = pretrainer.fit(texts, steps_per_epoch=steps, epochs=1, verbose=0, callbacks=[timer])
            assert np.isfinite(history.history["loss"]).all(), f"{label}: the loss is not finite"

    device = "GPU" if tf.config.list_physical_devices("GPU") else f"CPU ({os.cpu_count()} cores)"
    print(f"Masked-language training on {device}: default embedder and tower, {args.batch_size} windows "
          f"of 256 characters per step; best of {rounds} timed epochs of {steps} steps each\n")
    header = f"{'setting':28s}{'ms/step':>10s}{'texts/s':>10s}{'speed vs float32':>18s}{'loss':>8s}"
    print(header)
    print("-" * len(header))
    baseline = None
    for label, (pretrainer, timer) in runs.items():
        step = min(timer.seconds[1:]) / steps
        baseline = baseline or step
        loss = pretrainer.card["metrics"]["loss"]
        print(f"{label:28s}{1000 * step:>10.1f}{args.batch_size / step:>10.0f}{baseline / step:>17.2f}x{loss:>8.3f}")


if __name__ == "__main__":
    main()
