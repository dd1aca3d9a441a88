"""cclm: composable, character-level models.

The subpackages follow the data: `cclm.data` (where text comes from) ->
`cclm.preprocessing` (text -> ids) -> `cclm.pipelines` (ids -> tf.data
batches) -> `cclm.models` (Embedder, towers, ComposedModel, heads) ->
`cclm.pretraining` (a tower per task) -> `cclm.classification`
(TextClassifier) -> `cclm.shelf` (publish and fetch). `cclm.components` is
the on-disk format they all save in. The classes below `Preprocessor` are
imported on first use, so `import cclm` (and `cclm shelf list`) stays fast;
cclm's Keras classes are registered as soon as Keras is imported, so
`keras.saving.load_model` reads a cclm model's `.keras` file after
`import cclm` (`cclm.keras_objects`).

Example:
>>> import cclm
>>> cclm.ComposedModel.__module__
'cclm.models.composed_model'
"""

import importlib
from pathlib import Path
from typing import Any

import wrapt

import cclm.keras_objects as keras_objects
from cclm.components import load_component, read_manifest, register_reference_scheme
from cclm.components.loading import split_shelf_reference
from cclm.preprocessing import special_ids
from cclm.preprocessing.preprocessor import Preprocessor
from cclm.tensorflow_logs import hide_startup_logs
from cclm.version import __version__

hide_startup_logs()  # nothing above imports TensorFlow; its start-up lines are noise (cclm.tensorflow_logs)

_LAZY = {
    "Embedder": "cclm.models.embedder",
    "Tower": "cclm.models.tower",
    "ComposedModel": "cclm.models.composed_model",
    "MaskedLanguagePretrainer": "cclm.pretraining.masked_language_pretrainer",
    "CategoricalPretrainer": "cclm.pretraining.categorical_pretrainer",
    "CausalLanguagePretrainer": "cclm.pretraining.causal_language_pretrainer",
    "ContrastivePretrainer": "cclm.pretraining.contrastive_pretrainer",
    "DistillationPretrainer": "cclm.pretraining.distillation_pretrainer",
    "MeaningPretrainer": "cclm.pretraining.meaning_pretrainer",
    "MeaningTower": "cclm.models.meaning_tower",
    "Teacher": "cclm.pretraining.teacher",
    "TextClassifier": "cclm.classification.text_classifier",
    "Augmentor": "cclm.pipelines.augmentation",
    "Shelf": "cclm.shelf.shelf",
}

__all__ = ["Preprocessor", "load_component", "read_manifest", "special_ids", "__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'cclm' has no attribute {name!r}")


def _fetch_from_default_shelf(reference: str) -> Path:
    """Resolves "shelf:[item_type/]identifier[@version]" on the default shelf (`$CCLM_SHELF`)."""
    from cclm.shelf.shelf import Shelf

    item_type, identifier, version = split_shelf_reference(reference)
    return Shelf().fetch(identifier, item_type, version=version)


# Components never import the shelf; the package wires shelf references in.
register_reference_scheme("shelf:", _fetch_from_default_shelf)

# Every module that defines a Keras class, imported once Keras is (`cclm.keras_objects`).
_KERAS_MODULES = ("cclm.preprocessing.character_encoder", "cclm.pipelines", "cclm.layers", "cclm.models",
                  "cclm.training", "cclm.pretraining", "cclm.classification")


def _register_keras_classes() -> None:
    for name in _KERAS_MODULES:
        importlib.import_module(name)


keras_objects.set_registration(_register_keras_classes)
wrapt.register_post_import_hook(keras_objects.on_keras_import, "keras")
