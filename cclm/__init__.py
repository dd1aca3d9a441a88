"""cclm: composable, character-level models.

A `Preprocessor` turns text into character ids; an `Embedder` turns ids into a
sequence of vectors that task towers share. Every component saves to its own
directory and loads back from it alone.
"""

from cclm import special_ids
from cclm.component import load_component, read_manifest
from cclm.preprocessor import Preprocessor
from cclm.version import __version__

__all__ = ["Preprocessor", "load_component", "read_manifest", "special_ids", "__version__"]
