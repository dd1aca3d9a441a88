"""An ordinary Keras head on a composed model: language identification in a few lines.

`composed.model` is a Keras functional model from raw strings to one vector
per character. Pool it, add a `Dense` layer, and it is a classifier you
compile and fit like any Keras model. The towers are frozen here, so only
the head learns; unfreeze them (`composed.unfreeze()`) to fine-tune.

Run: python examples/keras_head.py --composed composed   (from examples/compose_two_towers.py)
"""

from __future__ import annotations

import argparse
from pathlib import Path


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--composed", type=Path, required=True, help="a saved composition")
    parser.add_argument("--per-language", type=int, default=80, help="labelled sentences per language")
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args(argv)

    import keras
    import numpy as np

    from cclm import ComposedModel
    from cclm.layers.sequence_pooling import SequencePooling
    from cclm.data.sample_text import LANGUAGES, language_sentences, split_texts

    keras.utils.set_random_seed(0)
    texts, labels = language_sentences(per_language=args.per_language, words=6)
    label_ids = np.array([LANGUAGES.index(label) for label in labels])
    train, test = split_texts(list(range(len(texts))), test_fraction=0.25)

    composed = ComposedModel.load(args.composed)
    composed.freeze()
    pooled = SequencePooling("mean")(composed.model.output)  # padding never enters the mean
    logits = keras.layers.Dense(len(LANGUAGES))(pooled)
    model = keras.Model(composed.model.input, logits)
    model.compile(optimizer=keras.optimizers.Adam(3e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    strings = np.array(texts, dtype=object)
    model.fit(strings[train], label_ids[train], epochs=args.epochs, batch_size=32, verbose=0)
    _, accuracy = model.evaluate(strings[test], label_ids[test], verbose=0)
    print(f"Head on {len(composed.towers)} frozen towers: {model.count_params() - composed.model.count_params():,} "
          f"trainable parameters; held-out accuracy {accuracy:.3f} over {len(LANGUAGES)} languages "
          f"(chance {1 / len(LANGUAGES):.3f})")
    return float(accuracy)


if __name__ == "__main__":
    main()
