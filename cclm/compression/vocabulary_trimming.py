"""`trim_vocabulary`: a component that knows only the characters of some texts, smaller and predicting the same.

A preprocessor fitted on many scripts gives ids to thousands of characters
that one task never sees; their rows of the character embedding are dead
weight. Trimming keeps the characters that occur in `texts` (after the
preprocessor's normalization and lowercasing), in their order, and the
special ids; renumbers them; and rebuilds every part that reads ids:

- the preprocessor gets the kept characters (anything else maps to the
  unknown id, as any character outside a vocabulary does);
- the embedder keeps only the kept rows of its character embedding; where
  it embeds hashed n-grams, each new id is hashed as its old id
  (`Embedder(ngram_hash_ids=...)`), so every n-gram keeps its row;
- a tower that reads ids (`MeaningTower`) gets the kept ids' codes; towers
  that read the embedder's vectors are copied as they are;
- a `TextClassifier` keeps its head, and its n-gram features hash each new
  id as the old one was (`TextClassifier(ngram_hash_ids=...)`).

On any text made of kept characters the trimmed component computes what
the original does (to float rounding); the original is left untouched.

Example:
>>> from cclm import ComposedModel, Embedder, Preprocessor
>>> from cclm.models.tower import Tower
>>> prep = Preprocessor(sequence_length=16).fit(["hello world", "¿Qué tal? Привет"], progress=False)
>>> embedder = Embedder(16, prep.vocab_size, hidden_dim=8, num_blocks=1, max_ngram=3, ngram_buckets=64)
>>> tower = Tower(input_dim=8, hidden_dim=8, num_layers=1, num_heads=2, max_length=16)
>>> composed = ComposedModel(embedder, [tower], preprocessor=prep)
>>> small = trim_vocabulary(composed, ["hello world"])
>>> prep.vocab_size, small.preprocessor.vocab_size
(26, 13)
>>> import numpy as np
>>> bool(np.abs(composed(["low hell"]).numpy() - small(["low hell"]).numpy()).max() <= 1e-5)
True
"""

from __future__ import annotations

from typing import Any

import keras

from cclm.data.texts import TextData, iter_texts
from cclm.models.composed_model import ComposedModel
from cclm.models.embedder import Embedder
from cclm.models.tower import tower_config, tower_from_config
from cclm.preprocessing.preprocessor import Preprocessor
from cclm.preprocessing.special_ids import FIRST_CHARACTER_ID

TRIMMABLE = "a Preprocessor, a ComposedModel with a preprocessor, or a TextClassifier"


def kept_ids(preprocessor: Preprocessor, texts: TextData, text_column: str = "text") -> list[int]:
    """The ids (of `preprocessor`) that trimming to `texts` keeps: the special ids, then the characters seen, in id order."""
    seen: set[str] = set()
    for text in iter_texts(texts, text_column):
        seen.update(preprocessor.normalize(text))
    first = FIRST_CHARACTER_ID
    return [*range(first), *(first + i for i, character in enumerate(preprocessor.characters) if character in seen)]


def _trim_preprocessor(preprocessor: Preprocessor, ids: list[int]) -> Preprocessor:
    characters = [preprocessor.characters[i - FIRST_CHARACTER_ID] for i in ids[FIRST_CHARACTER_ID:]]
    trimmed = Preprocessor.from_config({**preprocessor.get_config(), "characters": characters})
    trimmed.subword_tokenizer = preprocessor.subword_tokenizer
    trimmed.card = {**preprocessor.card, "trimmed": f"{len(characters):,} of {len(preprocessor.characters):,} characters kept"}
    return trimmed


def _copy_weights(source: keras.Model, target: keras.Model, rows: dict[str, list[int]]) -> None:
    """`source`'s weights into `target` (same architecture), keeping only `rows` of the variables named by path."""
    weights = []
    for variable, value in zip(source.weights, source.get_weights()):
        weights.append(value[rows[variable.path]] if variable.path in rows else value)
    target.set_weights(weights)


def _trim_embedder(embedder: Embedder, ids: list[int]) -> Embedder:
    config = {**embedder.get_config(), "vocab_size": len(ids)}
    if embedder.max_ngram > 1:
        hashed = embedder.ngram_hash_ids or list(range(embedder.vocab_size))
        config["ngram_hash_ids"] = [hashed[i] for i in ids]
    trimmed = Embedder.from_config(config)
    _copy_weights(embedder, trimmed, {"character_embedding/embeddings": ids})
    trimmed.card = dict(embedder.card)
    return trimmed


def _trim_tower(tower: keras.Model, ids: list[int], old_embedder: Embedder, new_embedder: Embedder) -> keras.Model:
    config = tower_config(tower)
    if getattr(tower, "reads_ids", False):
        if "codes" not in config:
            raise TypeError(f"Tower {tower.name!r} reads ids, but not through per-id codes; trimming does not know "
                            "how to renumber it. Trim a composition without it.")
        config["codes"] = [config["codes"][i] for i in ids]
    trimmed = tower_from_config(config)
    trimmed.set_weights(tower.get_weights())
    trained_on = getattr(tower, "embedder_fingerprint", None)
    if trained_on is not None and not getattr(tower, "reads_ids", False):
        # It read the old embedder's vectors; the trimmed embedder gives the same ones for every kept id.
        trimmed.embedder_fingerprint = new_embedder.fingerprint if trained_on == old_embedder.fingerprint else trained_on
    return trimmed


def _trim_composition(composed: ComposedModel, ids: list[int], preprocessor: Preprocessor) -> ComposedModel:
    embedder = _trim_embedder(composed.embedder, ids)
    towers = [_trim_tower(tower, ids, composed.embedder, embedder) for tower in composed.towers]
    trimmed = ComposedModel(embedder, towers, preprocessor=preprocessor, name=composed.name)
    trimmed.card = dict(composed.card)
    return trimmed


def _trim_classifier(classifier: Any, ids: list[int], preprocessor: Preprocessor) -> Any:
    from cclm.layers.ngram_logits import case_folding

    composed = _trim_composition(classifier.composed, ids, preprocessor if classifier.composed.preprocessor else None)
    config = classifier.get_config()
    hashed = config.get("ngram_hash_ids") or case_folding(classifier.preprocessor)
    config.update(ngram_hash_ids=[hashed[i] for i in ids], train_composition=False)
    trimmed = type(classifier)(composed, preprocessor=preprocessor, **config)
    trimmed.train_composition = classifier.train_composition
    trimmed.head.set_weights(classifier.head.get_weights())
    if classifier.ngram_logits is not None:
        trimmed.ngram_logits.set_weights(classifier.ngram_logits.get_weights())
    trimmed.card = dict(classifier.card)
    return trimmed


def trim_vocabulary(component: Any, texts: TextData, text_column: str = "text") -> Any:
    """A new component like `component` that gives ids only to the characters in `texts` (see the module docstring).

    Args:
        component: a `Preprocessor`, a `ComposedModel` with a preprocessor, or a `TextClassifier`.
        texts: the texts whose characters to keep: a `list[str]`, a `datasets`
            dataset (`text_column`) or text file paths, as `fit` takes.
        text_column: the text column of `datasets` data.

    Returns:
        A component of the same kind; `component` is not changed. Characters
        not kept map to the unknown id.

    Raises:
        TypeError: `component` is of another kind (a pretrainer: trim a
            `ComposedModel` of it), or has a tower trimming cannot renumber.
        ValueError: a composition without a preprocessor.
    """
    from cclm.classification.text_classifier import TextClassifier

    if isinstance(component, Preprocessor):
        return _trim_preprocessor(component, kept_ids(component, texts, text_column))
    if isinstance(component, ComposedModel):
        if component.preprocessor is None:
            raise ValueError("The composition has no preprocessor, so there is no vocabulary to trim; compose it with "
                             "ComposedModel(..., preprocessor=prep).")
        ids = kept_ids(component.preprocessor, texts, text_column)
        return _trim_composition(component, ids, _trim_preprocessor(component.preprocessor, ids))
    if isinstance(component, TextClassifier):
        component._require_built()
        if component.composed.preprocessor not in (None, component.preprocessor) and \
                component.composed.preprocessor.characters != component.preprocessor.characters:
            raise ValueError("The classifier's preprocessor is not its composition's; trimming needs one vocabulary.")
        ids = kept_ids(component.preprocessor, texts, text_column)
        return _trim_classifier(component, ids, _trim_preprocessor(component.preprocessor, ids))
    raise TypeError(f"trim_vocabulary takes {TRIMMABLE}; got a {type(component).__name__}. For a pretrainer, trim "
                    "ComposedModel(pretrainer.embedder, [pretrainer], preprocessor=pretrainer.preprocessor).")
