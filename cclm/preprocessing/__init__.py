"""Text -> character ids: `Preprocessor`, its vocabulary, the special ids, subword tokenizers.

`Preprocessor.as_layer` gives the in-graph encoder (`CharacterEncoder`), for
`tf.data` pipelines and models that take raw strings.
"""

import cclm.preprocessing.special_ids as special_ids
from cclm.preprocessing.preprocessor import Preprocessor

__all__ = ["Preprocessor", "special_ids"]
