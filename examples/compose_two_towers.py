"""Compose two towers pretrained on different tasks over one shared embedder.

1. A masked-language tower learns from unlabelled text (Python's documentation).
2. A categorical tower learns a labelled task (the country of a name-and-address
   line, from Faker's providers), on the same embedder, which it leaves as the
   first tower knows it (`train_embedder=False`).
3. `ComposedModel` runs the embedder once and both towers on its output, and
   concatenates them: one vector per character, as wide as both towers.
   With a preprocessor, the composed model takes raw strings.

Run: python examples/compose_two_towers.py --output composed [--width 64 --epochs 3]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=Path("composed"), help="where to save the composition")
    parser.add_argument("--width", type=int, default=32, help="each tower's width")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--texts", type=int, default=400, help="unlabelled paragraphs and labelled lines")
    args = parser.parse_args(argv)

    import keras
    import tensorflow as tf

    from cclm import ComposedModel, Preprocessor
    from cclm.pretraining import CategoricalPretrainer
    from cclm.pretraining import MaskedLanguagePretrainer
    from cclm.data.sample_text import names_and_places, python_docs_paragraphs

    keras.utils.set_random_seed(0)
    unlabelled = python_docs_paragraphs()[: args.texts]
    lines, countries = names_and_places(per_language=max(args.texts // 9, 4))
    preprocessor = Preprocessor(sequence_length=64, downsample_factor=4).fit(unlabelled + lines, progress=False)
    tower = {"hidden_dim": args.width, "num_layers": 1, "num_heads": 2, "max_length": 64}

    mlm = MaskedLanguagePretrainer(preprocessor=preprocessor, tower_options=tower, seed=0, name="docs")
    mlm.fit(unlabelled, epochs=args.epochs, verbose=0)
    countries_tower = CategoricalPretrainer(
        embedder=mlm.embedder, preprocessor=preprocessor, train_embedder=False, tower_options=tower, seed=0,
        name="countries",
    )
    countries_tower.fit((lines, countries), epochs=args.epochs, verbose=0)
    print(f"Pretrained: {mlm.name!r} (masked accuracy {mlm.card['metrics']['accuracy']:.3f}), "
          f"{countries_tower.name!r} (accuracy {countries_tower.card['metrics']['accuracy']:.3f})")

    composed = ComposedModel(mlm.embedder, [mlm, countries_tower], preprocessor=preprocessor)
    texts = ["Renata Beranová, Na Viničních Horách", "The assert statement"]
    vectors = composed.model(tf.constant(texts))  # raw strings in
    same = np.array_equal(np.asarray(vectors), np.asarray(composed.id_model(preprocessor.encode(texts))))
    print(f"Composed: {len(composed.towers)} towers, vectors {tuple(vectors.shape)} "
          f"(widths {' + '.join(str(t.output_dim) for t in composed.towers)}); string input == id input: {same}")
    path = composed.save(args.output)
    print(f"Saved the composition to {path}")
    return path


if __name__ == "__main__":
    main()
