"""cclm: composable, character-level models.

A `Preprocessor` turns text into character ids; an `Embedder` turns ids into a
sequence of vectors that task towers share. Pretrainers (`MaskedLanguagePretrainer`,
`CategoricalPretrainer`, `DistillationPretrainer`) each train a tower on one task;
`ComposedModel` runs the embedder once and every tower on it; `TextClassifier`
puts a label head on a composition; a `Shelf` publishes and fetches versioned
components. Every component saves to its own directory and loads back from it alone.

The classes below `Preprocessor` are imported on first use, so `import cclm`
(and `cclm shelf list`) stays fast.

Example:
>>> import cclm
>>> cclm.ComposedModel.__module__
'cclm.composed_model'
"""

import importlib
from typing import Any

from cclm import special_ids
from cclm.component import load_component, read_manifest
from cclm.preprocessor import Preprocessor
from cclm.version import __version__

_LAZY = {
    "Embedder": "cclm.embedder",
    "MaskedLanguagePretrainer": "cclm.masked_language_pretrainer",
    "CategoricalPretrainer": "cclm.categorical_pretrainer",
    "DistillationPretrainer": "cclm.distillation_pretrainer",
    "ComposedModel": "cclm.composed_model",
    "TextClassifier": "cclm.text_classifier",
    "Augmentor": "cclm.augmentation",
    "Shelf": "cclm.shelf",
}

__all__ = ["Preprocessor", "load_component", "read_manifest", "special_ids", "__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'cclm' has no attribute {name!r}")
