"""One task per file, on one `Pretrainer` base: each trains a tower on the shared embedder.

`pretrainer.model` is the composable tower; `pretrainer.training_model` is
the Keras model that trains it (embedder, tower and the task's head).
"""

from cclm.pretraining.categorical_pretrainer import CategoricalPretrainer
from cclm.pretraining.causal_language_pretrainer import CausalLanguagePretrainer
from cclm.pretraining.contrastive_pretrainer import ContrastivePretrainer
from cclm.pretraining.distillation_pretrainer import DistillationPretrainer
from cclm.pretraining.masked_language_pretrainer import MaskedLanguagePretrainer
from cclm.pretraining.meaning_pretrainer import MeaningPretrainer
from cclm.pretraining.pretrainer import Pretrainer
from cclm.pretraining.teacher import Teacher
import cclm.keras_objects as keras_objects

__all__ = [
    "CategoricalPretrainer", "CausalLanguagePretrainer", "ContrastivePretrainer", "DistillationPretrainer", "MaskedLanguagePretrainer",
    "MeaningPretrainer", "Pretrainer", "Teacher",
]


keras_objects.ready(__name__)  # last: registers cclm's Keras classes once this import is done
