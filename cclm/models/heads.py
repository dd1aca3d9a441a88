"""Common Keras heads on a `ComposedModel`: ordinary Keras models you compile and fit.

Both keep the composition's input (ids, or raw strings when it has a
preprocessor) and give logits, as keras-hub classifiers do: compile with a
`from_logits=True` loss.

Example:
>>> import keras
>>> from cclm.models.composed_model import ComposedModel
>>> from cclm.models.embedder import Embedder
>>> from cclm.models.tower import Tower
>>> embedder = Embedder(vocab_size=40, hidden_dim=8, num_blocks=1, max_length=64)
>>> tower = Tower(input_dim=8, hidden_dim=8, num_layers=1, num_heads=2, max_length=64)
>>> composed = ComposedModel(embedder, [tower])
>>> classifier = sequence_classifier(composed, num_classes=3)
>>> classifier.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
>>> tuple(classifier.output.shape), tuple(character_tagger(composed, num_tags=5).output.shape)
((None, 3), (None, None, 5))
"""

from __future__ import annotations

import keras

from cclm.models.composed_model import ComposedModel
from cclm.layers.sequence_pooling import SequencePooling


def sequence_classifier(
    composed: ComposedModel,
    num_classes: int,
    pooling: str = "mean",
    hidden_dim: int | None = None,
    dropout: float = 0.0,
    name: str = "sequence_classifier",
) -> keras.Model:
    """One label per text: pooled composed vectors (padding masked) -> Dense -> logits.

    Args:
        composed: the `ComposedModel` to put the head on.
        num_classes: the number of labels.
        pooling: `"mean"`, `"max"` or `"cls"` (see `cclm.layers.SequencePooling`).
        hidden_dim: an optional hidden Dense layer (GELU) before the logits.
        dropout: dropout rate before the logits.
        name: the model's name.
    """
    features = SequencePooling(pooling, name="pool")(composed.model.output)
    if hidden_dim:
        features = keras.layers.Dense(hidden_dim, activation="gelu", name="hidden")(features)
    if dropout:
        features = keras.layers.Dropout(dropout, name="dropout")(features)
    logits = keras.layers.Dense(num_classes, name="class_logits")(features)
    return keras.Model(composed.model.input, logits, name=name)


def character_tagger(
    composed: ComposedModel, num_tags: int, dropout: float = 0.0, name: str = "character_tagger"
) -> keras.Model:
    """One label per character: composed vectors -> Dense -> logits (batch, length, num_tags).

    The padding mask stays on the output, so Keras losses and metrics skip padding.

    Args:
        composed: the `ComposedModel` to put the head on.
        num_tags: the number of tags.
        dropout: dropout rate before the logits.
        name: the model's name.
    """
    features = composed.model.output
    if dropout:
        features = keras.layers.Dropout(dropout, name="dropout")(features)
    logits = keras.layers.Dense(num_tags, name="tag_logits")(features)
    return keras.Model(composed.model.input, logits, name=name)
