"""The cclm compositions benchmarks/fewshot.py measures: random initialization and the starter shelf's.

`starter_models` composes the starter shelf's components as the README
does (and with `starter-meaning`, where the shelf holds it); the random
initialization of their architecture is what the head makes of towers
that learnt nothing.
"""

from __future__ import annotations

import argparse

import keras

from cclm import ComposedModel, Embedder, Preprocessor
from cclm.pretraining import ContrastivePretrainer


def architecture(embedder: Embedder) -> dict:
    """The `Embedder` keywords that make another embedder of `embedder`'s architecture."""
    return {k: embedder.get_config()[k] for k in ("hidden_dim", "num_blocks", "kernel_size", "dropout", "max_ngram",
                                                  "ngram_buckets")}


def random_composition(preprocessor: Preprocessor, args: argparse.Namespace, embedder_options: dict) -> ComposedModel:
    """The architecture of the pretrained compositions (embedder and contrastive tower), random weights."""
    keras.utils.set_random_seed(args.seed + 1)
    embedder = Embedder(preprocessor.max_example_len, preprocessor.n_chars, **embedder_options)
    tower = ContrastivePretrainer(embedder=embedder, preprocessor=preprocessor, seed=args.seed)
    return ComposedModel(embedder, [tower], preprocessor=preprocessor, name="random")


def meaning_models(preprocessor: Preprocessor, embedder: Embedder, meaning, towers: list) -> dict:
    """The meaning tower's features alone (`ngrams=0`), and the README's composition with it, default head."""
    alone = ComposedModel(embedder, [meaning], preprocessor=preprocessor, name="meaning")
    return {"cclm meaning tower's features alone": (alone, {"ngrams": 0}),
            "cclm starter composition with meaning (README)": ComposedModel(
                embedder, [*towers, meaning], preprocessor=preprocessor, name="starter-meaning")}


def starter_models(args: argparse.Namespace) -> dict[str, ComposedModel]:
    """Compositions of the starter shelf's components (`--starter`), and random init of their architecture."""
    from cclm.pretraining import MeaningPretrainer
    from cclm.shelf.starter import StarterShelf

    shelf = StarterShelf(args.starter) if args.starter != "package" else StarterShelf()
    preprocessor = shelf.load("starter", "preprocessor")
    embedder = shelf.load("starter-embedder", "embedder")
    towers = {name: shelf.load(name) for name in ("starter-contrastive", "starter-multilingual")}
    extra = {}
    if args.meaning or shelf.holds("starter-meaning"):
        meaning = MeaningPretrainer.load(args.meaning) if args.meaning else shelf.load("starter-meaning")
        extra = meaning_models(preprocessor, embedder, meaning, list(towers.values()))
        readme = extra["cclm starter composition with meaning (README)"]
        extra["cclm README composition's features alone"] = (readme, {"ngrams": 0})  # FINDINGS' "towers"
    return {
        "cclm random init (starter architecture), frozen": random_composition(preprocessor, args, architecture(embedder)),
        "cclm starter: contrastive, frozen": ComposedModel(embedder, [towers["starter-contrastive"]],
                                                           preprocessor=preprocessor, name="contrastive"),
        "cclm starter: contrastive + multilingual, frozen": ComposedModel(
            embedder, list(towers.values()), preprocessor=preprocessor, name="contrastive-multilingual"),
        **extra,
    }
