"""A causal character LM against general-purpose compressors, in bits per character of held-out real text.

Real text of this machine: the English prose paragraphs of the docstrings of
Python's standard library (`real_text_tasks.docstring_paragraphs`), split by
source file (9 tenths train, 1 tenth held out; a paragraph found in both is
dropped from the held-out side, and the script checks the two are disjoint).

- Model: `CausalLanguagePretrainer` trained for `--minutes` of wall clock on
  the train corpus; bits per character on the held-out paragraphs (each
  paragraph's characters and its end; an unknown character is charged
  `UNKNOWN_BITS` on top of the model's probability of the unknown id).
- Peers: `xz -9e` and `zstd --ultra -22` (when installed), conditional
  bits per character: (size(corpus + held-out) - size(corpus)) x 8 / chars(held-out).
- Beam search (4 beams) against greedy: the log-likelihood of 64 new
  characters after held-out prompts; generation characters/s, after a short
  and after a long prompt.

Run: python benchmarks/causal_lm.py --minutes 25
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import keras  # noqa: E402
import numpy as np  # noqa: E402
from real_text_tasks import docstring_paragraphs, split_of  # noqa: E402

from cclm import Preprocessor  # noqa: E402
from cclm.models.embedder import Embedder  # noqa: E402
from cclm.pretraining.causal_language_pretrainer import CausalLanguagePretrainer  # noqa: E402
from cclm.pretraining.generation import generate_ids  # noqa: E402

UNKNOWN_BITS = math.log2(0x110000)  # a character outside the vocabulary, spelled out as any code point
COMPRESSORS = {"xz -9e": ["xz", "-9e", "-c"], "zstd --ultra -22": ["zstd", "--ultra", "-22", "-c", "-q"]}


def corpus(root: str | None = None) -> tuple[list[str], list[str]]:
    """(train, held-out) docstring paragraphs of the standard library, split by source file."""
    root = root or sysconfig.get_paths()["stdlib"]
    train, held_out = [], []
    for directory, folders, names in os.walk(root):
        folders[:] = sorted(f for f in folders if f not in ("test", "tests", "site-packages", "__pycache__", "idlelib"))
        for name in sorted(names):
            if name.endswith(".py"):
                path = os.path.join(directory, name)
                rows = [text for text, _ in docstring_paragraphs(path)]
                (train if split_of(os.path.relpath(path, root), 0, train_tenths=9) == "train" else held_out).extend(rows)
    seen = set(train)
    return train, [text for text in held_out if text not in seen]


def conditional_bpc(command: list[str], train_text: bytes, held_text: bytes, characters: int) -> float:
    def size(data: bytes) -> int:
        return len(subprocess.run(command, input=data, capture_output=True, check=True).stdout)

    return (size(train_text + held_text) - size(train_text)) * 8 / characters


class TimeLimit(keras.callbacks.Callback):
    """Stops training once `seconds` of wall clock have passed since training began."""

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = seconds
        self.start = time.perf_counter()

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if time.perf_counter() - self.start > self.seconds:
            self.model.stop_training = True


def train(texts: list[str], minutes: float, args: argparse.Namespace) -> tuple[CausalLanguagePretrainer, dict]:
    keras.utils.set_random_seed(0)
    prep = Preprocessor(sequence_length=args.length, downsample_factor=4).fit(texts)
    embedder = Embedder(vocab_size=prep.vocab_size, max_length=args.length, hidden_dim=args.embedder_dim,
                        num_blocks=2, max_ngram=args.max_ngram, ngram_buckets=16384, dropout=0.0, causal=True)
    pretrainer = CausalLanguagePretrainer(
        embedder=embedder, preprocessor=prep, seed=0, batch_size=args.batch_size, learning_rate=args.learning_rate,
        warmup_steps=100, tower_options={"hidden_dim": args.tower_dim, "num_layers": args.layers, "num_heads": 4,
                                         "intermediate_dim": 2 * args.tower_dim, "max_length": args.length},
    )
    start = time.perf_counter()
    history = pretrainer.fit(texts, epochs=10_000, steps_per_epoch=100, callbacks=[TimeLimit(minutes * 60)], verbose=2)
    seconds = time.perf_counter() - start
    steps = 100 * len(history.history["loss"])
    return pretrainer, {"seconds": seconds, "steps": steps, "final loss (nats)": history.history["loss"][-1],
                        "parameters": pretrainer.training_model.count_params()}


def beam_against_greedy(pretrainer: CausalLanguagePretrainer, prompts: list[str], new: int) -> dict:
    streams = [pretrainer.prompt_ids(p) for p in prompts]
    # One prompt at a time, as beam search runs them: a batch's other rows change the float rounding.
    greedy = [generate_ids(pretrainer.next_log_probs, [stream], new)[0] for stream in streams]
    start = time.perf_counter()
    beams = generate_ids(pretrainer.next_log_probs, streams, new, num_beams=4)
    beam_seconds = time.perf_counter() - start
    pairs = [(g.log_likelihood, b.log_likelihood) for g, b in zip(greedy, beams)]
    return {"prompts": len(prompts), "greedy mean log-likelihood (nats)": float(np.mean([g for g, _ in pairs])),
            "beam-4 mean log-likelihood (nats)": float(np.mean([b for _, b in pairs])),
            "prompts where beam < greedy": sum(b < g - 1e-9 for g, b in pairs),
            "beam-4 characters/s": len(prompts) * new / beam_seconds}


def speed(pretrainer: CausalLanguagePretrainer, prompt: str, new: int) -> float:
    pretrainer.generate(prompt, max_new_chars=4, stop_at_end=False)  # traced once
    start = time.perf_counter()
    pretrainer.generate(prompt, max_new_chars=new, stop_at_end=False)
    return new / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=25.0, help="training wall clock")
    parser.add_argument("--length", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--embedder-dim", type=int, default=128)
    parser.add_argument("--tower-dim", type=int, default=192)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--max-ngram", type=int, default=4)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()

    train_texts, held_out = corpus()
    assert not set(train_texts) & set(held_out)
    train_blob = "".join(t + "\n" for t in train_texts)
    held_blob = "".join(t + "\n" for t in held_out)
    print(f"corpus: {len(train_texts):,} paragraphs, {len(train_blob):,} characters; held out: {len(held_out):,} "
          f"paragraphs, {len(held_blob):,} characters (from other files; shared paragraphs: "
          f"{len(set(train_texts) & set(held_out))})", flush=True)
    results: dict = {"corpus characters": len(train_blob), "held-out characters": len(held_blob), "peers": {}}
    for name, command in COMPRESSORS.items():
        if shutil.which(command[0]):
            results["peers"][name] = conditional_bpc(command, train_blob.encode(), held_blob.encode(), len(held_blob))
            print(f"{name}: {results['peers'][name]:.3f} bits/char (conditional on the corpus)", flush=True)

    pretrainer, results["training"] = train(train_texts, args.minutes, args)
    print(json.dumps(results["training"]), flush=True)
    characters = set(pretrainer.preprocessor.characters)
    unknown = sum(c not in characters for c in pretrainer.preprocessor.normalize(held_blob) if c != "\n")
    model_bits = pretrainer.bits_per_character(held_out)
    results["model bits/char"] = model_bits + unknown * UNKNOWN_BITS / len(held_blob)
    results["unknown held-out characters"] = unknown
    with tempfile.TemporaryDirectory() as directory:
        pretrainer.save(os.path.join(directory, "lm"))
        results["model size on disk (bytes)"] = sum(
            os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(directory) for f in fs)
    print(f"model: {results['model bits/char']:.3f} bits/char ({unknown} unknown characters)", flush=True)

    prompts = [text[:48] for text in held_out[:: max(len(held_out) // 16, 1)][:16]]
    results["beam vs greedy"] = beam_against_greedy(pretrainer, prompts, 64)
    results["greedy characters/s, 48-character prompt"] = speed(pretrainer, prompts[0], 128)
    results["greedy characters/s, 4,000-character prompt"] = speed(pretrainer, " ".join(held_out)[:4000], 128)
    results["sample"] = pretrainer.generate(prompts[1], max_new_chars=120, do_sample=True, top_p=0.9, seed=0)
    print(json.dumps(results, indent=1), flush=True)
    best = min(results["peers"].items(), key=lambda item: item[1]) if results["peers"] else ("none", float("nan"))
    verdict = "below" if results["model bits/char"] < best[1] else "NOT below"
    print(f"\n| model | bits/char on held-out |\n|---|---|\n| CausalLanguagePretrainer, {args.minutes:g} min "
          f"| {results['model bits/char']:.3f} |")
    for name, value in results["peers"].items():
        print(f"| {name} (conditional) | {value:.3f} |")
    print(f"\nThe model is {verdict} the best compressor ({best[0]}: {best[1]:.3f}).")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=1)


if __name__ == "__main__":
    main()
