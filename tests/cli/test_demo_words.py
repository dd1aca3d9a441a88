"""What the demo says its classifier's predictions rest on, for each kind of head."""

import keras
import numpy as np

from cclm import Preprocessor
from cclm.classification.text_classifier import TextClassifier
from cclm.cli.demo import _carried_briefly, what_carried
from cclm.data.sample_text import language_sentences
from cclm.layers.word_ngrams import word_codes
from cclm.models.composed_model import ComposedModel
from cclm.models.embedder import Embedder
from cclm.models.meaning_tower import MeaningTower
from cclm.models.tower import Tower


def test_a_head_without_ngrams_names_the_towers_it_reads():
    texts, labels = language_sentences(("de_DE", "it_IT"), per_language=20, words=4)
    keras.utils.set_random_seed(0)
    prep = Preprocessor(sequence_length=64, downsample_factor=4).fit(texts, progress=False)
    embedder = Embedder(vocab_size=prep.vocab_size, hidden_dim=16, num_blocks=1, max_length=64, seed=0)
    tower = Tower(input_dim=16, name="tower", hidden_dim=16, num_layers=1, num_heads=2, intermediate_dim=32,
                  max_length=64)
    meaning = MeaningTower(word_codes(prep), buckets=256, output_dim=8, name="meaning")
    classifier = TextClassifier(ComposedModel(embedder, [tower, meaning], preprocessor=prep), seed=0, ngrams=0)
    classifier.fit((texts, labels), verbose=0)
    kernel = np.zeros((16 + 8, 2), "float32")
    kernel[16:] = 1.0  # the meaning tower's rows alone
    classifier.head.logits.kernel.assign(kernel)
    assert what_carried(classifier).startswith("the features of meaning alone (no n-gram features)")
    assert _carried_briefly(classifier) == "meaning"
    kernel[:16] = 1.0
    classifier.head.logits.kernel.assign(kernel)
    assert what_carried(classifier) == "the towers' features alone (no n-gram features)"
    assert _carried_briefly(classifier) == "towers alone"
