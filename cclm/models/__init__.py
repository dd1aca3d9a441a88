"""What composes: the shared `Embedder`, `Tower`s, `ComposedModel`, and heads.

A tower maps the embedder's vectors to vectors of the same length (a
`MeaningTower` reads the ids instead); a `ComposedModel` runs the embedder
once and every tower on it. Heads
(`LabelHead`, `sequence_classifier`, `character_tagger`) sit on top.
"""

from cclm.models.composed_model import ComposedModel
from cclm.models.embedder import Embedder
from cclm.models.heads import character_tagger, sequence_classifier
from cclm.models.label_head import LabelHead
from cclm.models.meaning_tower import MeaningTower
from cclm.models.tower import Tower
import cclm.keras_objects as keras_objects

__all__ = [
    "ComposedModel", "Embedder", "LabelHead", "MeaningTower", "Tower", "character_tagger", "sequence_classifier",
]


keras_objects.ready(__name__)  # last: registers cclm's Keras classes once this import is done
