"""`ComposedModel`: one shared embedder, several pretrained towers, outputs side by side."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Union

import keras

from cclm.components import (
    Component,
    ComponentError,
    built_from,
    component_class,
    component_path,
    load_weights_checked,
    read_manifest,
    register_component,
    registered_kinds,
)
from cclm.components.files import (
    EMBEDDER_DIR,
    PREPROCESSOR_DIR,
    TOWER_WEIGHTS,
    TOWERS_DIR,
    tower_weights_name,
)
from cclm.components.model_like import ModelLike
from cclm.components.serving import Exportable
from cclm.keras_objects import keras_name
from cclm.layers.word_ngrams import word_codes
from cclm.models.embedder import Embedder
from cclm.models.freezing import set_trainable
from cclm.models.tower import Tower, tower_config, tower_from_config
from cclm.preprocessing import special_ids
from cclm.preprocessing.preprocessor import Preprocessor

TowerSource = Union[Tower, str, "os.PathLike[str]", Any]
"""A `Tower` (e.g. `pretrainer.model`), a pretrainer, or the directory of a saved pretrainer."""


def _reads_ids(tower: Any) -> bool:
    """Whether a tower reads the ids (`MeaningTower`) rather than the embedder's vectors."""
    return bool(getattr(tower, "reads_ids", False))


def _is_pretrainer(source: Any) -> bool:
    """A `cclm.pretraining` pretrainer (models never import pretraining: it is the layer above)."""
    return getattr(type(source), "provides_tower", False) and hasattr(source, "is_built")


def _tower_kinds() -> list[str]:
    """The component kinds whose saved directories hold a composable tower (from the registry)."""
    return [kind for kind in registered_kinds() if getattr(component_class(kind), "provides_tower", False)]


def _tower_from_directory(path: Path) -> keras.Model:
    """Only the tower of a saved pretrainer (its embedder and head are not needed)."""
    manifest = read_manifest(path)
    if manifest["kind"] not in _tower_kinds():
        raise ComponentError(
            f"{path} holds a {manifest['kind']!r} component, not a pretrainer; a tower comes from a "
            f"saved pretrainer ({', '.join(_tower_kinds())})."
        )
    with built_from(path):
        tower = tower_from_config(manifest["config"]["tower_options"])
    load_weights_checked(tower, path / TOWER_WEIGHTS)
    tower.embedder_fingerprint = manifest.get("embedder_fingerprint")
    return tower


@register_component("composed_model")
class ComposedModel(ModelLike, Component, Exportable):
    """The shared embedder runs once; every tower runs on its output; outputs are concatenated.

    `model` is one Keras functional model: ids (batch, length) -> vectors
    (batch, length, sum of the towers' widths), with the padding mask kept.
    Put any Keras head on it:
    `keras.Model(composed.model.input, head(composed.model.output))`, or use
    `cclm.models.heads.sequence_classifier` / `character_tagger`. As for a
    Keras model, `summary()`, `count_params()` and `composed(texts)` go to
    `model`.

    Each tower must have been trained on this very embedder: its recorded
    embedder fingerprint must match the embedder's, else the tower would read
    vectors it never learned from. A tower never trained (no fingerprint) is
    accepted, as a random initialization. Lengths must be multiples of every
    tower's downsampling factor (`downsample_factor` here is their least
    common multiple).

    Args:
        embedder: the shared `Embedder`.
        towers: `Tower` models (`pretrainer.model`), pretrainers, or directories
            of saved pretrainers.
        preprocessor: when given, `model` takes raw strings (`tf.string`,
            shape (batch,)) and `id_model` takes ids; both give the same
            outputs; `export(path)` writes a TensorFlow SavedModel serving
            raw strings -> `vectors` and `mask` (`cclm.components.serving`).
        name: the model's name.

    Example:
    >>> from cclm.pretraining.masked_language_pretrainer import MaskedLanguagePretrainer
    >>> from cclm.data.sample_text import python_docs_paragraphs
    >>> texts = python_docs_paragraphs()[:32]
    >>> small = {"hidden_dim": 16, "num_layers": 1, "num_heads": 2}
    >>> first = MaskedLanguagePretrainer(tower_options=small, name="first", seed=0)
    >>> _ = first.fit(texts, verbose=0)
    >>> second = MaskedLanguagePretrainer(
    ...     embedder=first.embedder, preprocessor=first.preprocessor, train_embedder=False,
    ...     tower_options={**small, "hidden_dim": 8}, name="second", seed=0)
    >>> _ = second.fit(texts, verbose=0)
    >>> composed = ComposedModel(first.embedder, [first, second], preprocessor=first.preprocessor)
    >>> import tensorflow as tf
    >>> tuple(composed.model(tf.constant(["An example"])).shape)
    (1, 256, 24)
    >>> twin = composed.copy()  # the same weights, none of them shared
    >>> twin.embedder is first.embedder, twin.embedder.fingerprint == first.embedder.fingerprint
    (False, True)
    """

    component_kind = "composed_model"

    def __init__(
        self,
        embedder: Embedder,
        towers: Sequence[TowerSource],
        preprocessor: Preprocessor | None = None,
        name: str = "composed_model",
    ):
        if isinstance(towers, (Tower, str, os.PathLike)) or _is_pretrainer(towers):
            towers = [towers]
        if not towers:
            raise ValueError("towers is empty; compose at least one tower.")
        self.embedder = embedder
        self.preprocessor = preprocessor
        self.name = name
        self.card: dict[str, Any] = {}
        self.towers: list[Tower] = [self._resolve(source) for source in towers]
        self._check()
        ids = keras.Input(shape=(None,), dtype="int32", name="ids")
        self.id_model = keras.Model(ids, self._compose(ids), name=f"{keras_name(name)}_ids")
        if preprocessor is None:
            self.model = self.id_model
        else:
            texts = keras.Input(shape=(), dtype="string", name="texts")
            self.model = keras.Model(texts, self._compose(preprocessor.as_layer()(texts)), name=keras_name(name))

    # ------------------------------------------------------------ building
    @staticmethod
    def _resolve(source: TowerSource) -> Tower:
        if _is_pretrainer(source):
            if not source.is_built:
                raise ValueError(f"The pretrainer {source.name!r} is not built yet; fit it (or load it) first.")
            return source.tower
        if isinstance(source, Tower) or _reads_ids(source):
            return source
        if isinstance(source, (str, os.PathLike)):
            return _tower_from_directory(component_path(source))
        raise TypeError(
            f"A tower is given as {type(source).__name__}; pass a Pretrainer, a cclm Tower, or the "
            "directory of a saved pretrainer."
        )

    def _check(self) -> None:
        names = [tower.name for tower in self.towers]
        for index, tower in enumerate(self.towers):
            label = f"Tower {tower.name!r} (towers[{index}])"
            if names.count(tower.name) > 1:
                raise ValueError(
                    f"{label}: {names.count(tower.name)} towers are named {tower.name!r}; Keras needs "
                    "distinct names. Create the pretrainers with distinct name=... values."
                )
            if _reads_ids(tower):
                if tower.vocab_size != self.embedder.vocab_size:
                    raise ValueError(
                        f"{label} reads ids of a preprocessor with {tower.vocab_size} ids, but the embedder takes "
                        f"{self.embedder.vocab_size}. Compose it with the preprocessor it was made for."
                    )
                codes = getattr(tower, "codes", None)
                if self.preprocessor is not None and codes is not None:
                    differ = sum(a != b for a, b in zip(codes, word_codes(self.preprocessor)))
                    if differ:
                        raise ValueError(
                            f"{label} reads {differ} of its {len(codes)} ids as other characters than this "
                            "preprocessor gives them (a preprocessor of the same size fitted on other text?). "
                            "Compose it with the preprocessor it was made for."
                        )
                continue
            if tower.input_dim != self.embedder.hidden_dim:
                raise ValueError(
                    f"{label} takes vectors of width {tower.input_dim}, but the embedder gives "
                    f"{self.embedder.hidden_dim}. Compose it with the embedder it was trained on."
                )
            trained_on = getattr(tower, "embedder_fingerprint", None)
            if trained_on is not None and trained_on != self.embedder.fingerprint:
                raise ValueError(
                    f"{label} was trained on a different embedder (fingerprint {trained_on[:12]}, this "
                    f"one is {self.embedder.fingerprint[:12]}), so it would read vectors it never "
                    "learned from. Compose it with the embedder saved beside it, or train it again on "
                    "this embedder (with train_embedder=False, so the other towers stay valid)."
                )
            prep = self.preprocessor
            if prep is not None and prep.downsample_factor % tower.downsample_factor:
                raise ValueError(
                    f"{label} downsamples by {tower.downsample_factor}, but the preprocessor pads to "
                    f"multiples of {prep.downsample_factor}, so lengths would not line up. Create the "
                    f"preprocessor with downsample_factor={self.downsample_factor}."
                )
            if prep is not None and prep.sequence_length and prep.sequence_length > tower.max_length:
                raise ValueError(
                    f"{label} reads at most {tower.max_length} positions, but the preprocessor makes "
                    f"{prep.sequence_length}. Use a preprocessor with sequence_length <= {tower.max_length}."
                )

    def _compose(self, ids: Any) -> Any:
        vectors = None if all(map(_reads_ids, self.towers)) else self.embedder(ids)  # no tower reads it: not run
        outputs = [tower(ids if _reads_ids(tower) else vectors) for tower in self.towers]
        if len(outputs) == 1:
            return outputs[0]
        return keras.layers.Concatenate(axis=-1, name="concatenate_towers")(outputs)

    @property
    def output_dim(self) -> int:
        """The width of the composed vectors: the sum of the towers' widths."""
        return sum(tower.output_dim for tower in self.towers)

    @property
    def downsample_factor(self) -> int:
        """Id sequences must have lengths that are multiples of this."""
        return math.lcm(*(tower.downsample_factor for tower in self.towers))

    # ------------------------------------------------------ freezing parts
    def _parts(self, parts: tuple[str | int, ...]) -> list[keras.Model]:
        if not parts:
            return [self.embedder, *self.towers]
        chosen = []
        names = {tower.name: tower for tower in self.towers}
        for part in parts:
            if part == "embedder":
                chosen.append(self.embedder)
            elif isinstance(part, int) and -len(self.towers) <= part < len(self.towers):
                chosen.append(self.towers[part])
            elif part in names:
                chosen.append(names[part])
            else:
                raise ValueError(f"{part!r} is not a part of this composition; use 'embedder', {sorted(names)} or a tower index.")
        return chosen

    def freeze(self, *parts: str | int) -> None:
        """Stops weights from changing: of `parts` ("embedder", tower names or indices), or of all.

        As always in Keras, compile a model again after changing what is trainable.
        """
        for part in self._parts(parts):
            set_trainable(part, False)

    def unfreeze(self, *parts: str | int) -> None:
        """Lets weights change again: of `parts` ("embedder", tower names or indices), or of all."""
        for part in self._parts(parts):
            set_trainable(part, True)

    # ---------------------------------------------------- saving & loading
    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "towers": [tower_config(tower) for tower in self.towers],
            "preprocessor": self.preprocessor is not None,
        }

    def adopt_towers(self) -> None:
        """Records that the towers now belong to this embedder: call it after training them together.

        `TextClassifier(train_composition=True)` does; so should a Keras fit of
        `composed.model` that trains the embedder with the towers, before the
        same towers are composed again with it.
        """
        for tower in self.towers:
            if not _reads_ids(tower):
                tower.embedder_fingerprint = self.embedder.fingerprint

    def copy(self) -> ComposedModel:
        """A composition of copies of the embedder and towers: the same weights, nothing shared that trains.

        What `TextClassifier(..., train_composition=True)` fine-tunes, so the
        pretrainers, compositions and classifiers holding the originals keep them
        (the class docstring has an example).
        """
        embedder = Embedder.from_config(self.embedder.get_config())
        embedder.set_weights(self.embedder.get_weights())
        embedder.card = dict(self.embedder.card)
        towers = []
        for tower in self.towers:
            twin = tower_from_config(tower_config(tower))
            twin.set_weights(tower.get_weights())
            if getattr(tower, "embedder_fingerprint", None) is not None:
                twin.embedder_fingerprint = tower.embedder_fingerprint
            towers.append(twin)
        composed = type(self)(embedder, towers, preprocessor=self.preprocessor, name=self.name)
        composed.card = dict(self.card)
        return composed

    def manifest(self) -> dict:
        """The manifest `save` writes; refuses a tower whose embedder changed after it was trained.

        The towers in memory keep their record (`adopt_towers` changes it):
        saving never lets a tower compose with an embedder it did not learn from.
        """
        for tower in self.towers:
            trained_on = getattr(tower, "embedder_fingerprint", None)
            if trained_on is not None and trained_on != self.embedder.fingerprint:
                raise ValueError(f"Tower {tower.name!r}: the embedder changed after this tower was trained (another "
                                 "pretrainer trained it), so they no longer belong together. Compose the embedder "
                                 "saved beside it; or, if you trained them together (a Keras fit of "
                                 "composed.model), call composed.adopt_towers() first.")
        self.card = {**self.card, "towers": [f"{t.name}: width {t.output_dim}" for t in self.towers]}
        return super().manifest()

    def _interface(self) -> tuple[dict, dict]:
        return (
            {"ids": {"dtype": "int32", "shape": [None, None]}},
            {"vectors": {"dtype": "float32", "shape": [None, None, self.output_dim]}},
        )

    def _manifest_fields(self) -> dict[str, Any]:
        parameters = {t.name: t.count_params() for t in self.towers}
        return {
            "embedder_fingerprint": self.embedder.fingerprint,
            "parameters": {"embedder": self.embedder.count_params(), **parameters},
        }

    def _save_payload(self, directory: Path) -> None:
        self.embedder.save(directory / EMBEDDER_DIR)
        (directory / TOWERS_DIR).mkdir()
        for index, tower in enumerate(self.towers):
            tower.save_weights(directory / TOWERS_DIR / tower_weights_name(index))
        if self.preprocessor is not None:
            self.preprocessor.save(directory / PREPROCESSOR_DIR)

    @classmethod
    def _from_saved(cls, directory: Path, manifest: dict) -> ComposedModel:
        config = manifest["config"]
        embedder = Embedder.load(directory / EMBEDDER_DIR)
        if embedder.fingerprint != manifest.get("embedder_fingerprint"):
            raise ComponentError(f"{directory}: the embedder's weights are not the ones saved with the towers; save it again.")
        towers = []
        for index, saved in enumerate(config["towers"]):
            with built_from(directory):
                tower = tower_from_config(saved)
            load_weights_checked(tower, directory / TOWERS_DIR / tower_weights_name(index))
            if not _reads_ids(tower):
                tower.embedder_fingerprint = embedder.fingerprint
            towers.append(tower)
        preprocessor = Preprocessor.load(directory / PREPROCESSOR_DIR) if config["preprocessor"] else None
        with built_from(directory):
            return cls(embedder, towers, preprocessor=preprocessor, name=config["name"])

    def _keras_file_model(self) -> keras.Model:
        return self.model  # strings -> vectors with a preprocessor, else ids -> vectors

    def _keras_model(self) -> keras.Model:
        return self.model

    def _serving(self) -> tuple[Any, keras.Model, Any]:
        if self.preprocessor is None:
            raise ValueError("The composition has no preprocessor, so it cannot read text; compose it with "
                             "ComposedModel(..., preprocessor=prep) to export it.")
        length = self.preprocessor.sequence_length or self.embedder.max_length

        def outputs(ids: Any, vectors: Any) -> dict[str, Any]:
            return {"vectors": vectors, "mask": keras.ops.not_equal(ids, special_ids.PAD_ID)}

        return self.preprocessor.as_layer(length), self.id_model, outputs

    def __repr__(self) -> str:
        towers = ", ".join(f"{t.name} ({t.output_dim})" for t in self.towers)
        return f"ComposedModel(embedder={self.embedder.hidden_dim}, towers=[{towers}], output_dim={self.output_dim})"
