"""One tiny classifier for the compression tests: an n-gram embedder, a tower, a meaning tower, a fitted head."""

from __future__ import annotations

import pytest

TRAIN = ["the cat sat on the mat", "Der Hund läuft schnell", "a dog ran far away", "Die Katze schläft heute",
         "THE BIRD SANG", "Ein Vogel singt"] * 2
LABELS = ["en", "de", "en", "de", "en", "de"] * 2


@pytest.fixture(scope="session")
def tiny_classifier():
    """A fitted `TextClassifier` on a composition with every kind of part that reads ids; small enough to build in seconds."""
    import keras

    from cclm import ComposedModel, Embedder, Preprocessor
    from cclm.classification import TextClassifier
    from cclm.layers.word_ngrams import word_codes
    from cclm.models import MeaningTower, Tower

    keras.utils.set_random_seed(0)
    # Characters the training texts lack, so that trimming to them removes rows.
    prep = Preprocessor(sequence_length=32).fit(TRAIN + ["Привет, мир! ¿Qué tal? 123 ÄÖÜ"], progress=False)
    embedder = Embedder(32, prep.vocab_size, hidden_dim=8, num_blocks=1, max_ngram=3, ngram_buckets=64)
    tower = Tower(input_dim=8, hidden_dim=8, num_layers=1, num_heads=2, intermediate_dim=16, max_length=32,
                  name="tower")
    meaning = MeaningTower(word_codes(prep), buckets=256, output_dim=4, table_dtype="float32", name="meaning")
    meaning.set_table(keras.random.normal((256, 4), seed=1))
    composed = ComposedModel(embedder, [tower, meaning], preprocessor=prep, name="tiny")
    classifier = TextClassifier(composed, ngram_buckets=1024, seed=0)
    classifier.fit((TRAIN, LABELS), verbose=0)
    return classifier
