"""Components answer `summary`, `count_params` and calls on texts as their Keras model does."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from cclm import Preprocessor
from cclm.classification.prediction import READS_NGRAMS
from cclm.classification.text_classifier import TextClassifier
from cclm.data.sample_text import language_sentences
from cclm.models.composed_model import ComposedModel
from cclm.models.embedder import Embedder
from cclm.pretraining.masked_language_pretrainer import MaskedLanguagePretrainer

SMALL = {"hidden_dim": 8, "num_layers": 1, "num_heads": 2, "intermediate_dim": 16}


@pytest.fixture(scope="module")
def parts():
    texts, labels = language_sentences(("de_DE", "pl_PL"), per_language=20, words=4)
    keras.utils.set_random_seed(0)
    prep = Preprocessor(sequence_length=32, downsample_factor=4).fit(texts, progress=False)
    embedder = Embedder(vocab_size=prep.vocab_size, hidden_dim=8, num_blocks=1, max_length=32, seed=0)
    mlm = MaskedLanguagePretrainer(embedder=embedder, preprocessor=prep, tower_options=SMALL, name="mlm", seed=0)
    mlm.fit(texts, steps_per_epoch=1, verbose=0)
    classifier = TextClassifier(ComposedModel(embedder, [mlm], preprocessor=prep), seed=0)
    classifier.fit(texts, labels, verbose=0)
    return texts, mlm, classifier


def test_a_classifier_is_called_summarized_and_counted_like_its_keras_model(parts, capsys):
    texts, _, classifier = parts
    probabilities = classifier(texts[:3])
    np.testing.assert_allclose(np.asarray(probabilities), classifier.predict(texts[:3]), atol=1e-5)
    assert tuple(classifier("one text").shape) == (1, 2)
    assert tuple(classifier(tf.constant(texts[:2])).shape) == (2, 2)
    composed, ngrams = classifier.composed, classifier.ngram_logits.count_params()
    if classifier.head_reads == READS_NGRAMS:  # a head of composition weight 0: its model holds no composition
        expected = ngrams + len(classifier.labels)
    else:
        expected = composed.id_model.count_params() + classifier.head.count_params() + ngrams
    assert classifier.count_params() == expected
    classifier.summary()
    printed = capsys.readouterr().out
    assert "Total params" in printed and f"{expected:,}" in printed
    with pytest.raises(TypeError, match="call the model on str texts"):
        classifier([1, 2])


def test_a_composition_and_a_pretrainer_give_their_vectors(parts):
    texts, mlm, classifier = parts
    composed = classifier.composed
    vectors = np.asarray(composed(texts[:2]))
    np.testing.assert_allclose(vectors, composed.id_model.predict(composed.preprocessor.encode(texts[:2]), verbose=0),
                               atol=1e-5)
    assert composed.count_params() == composed.model.count_params()
    tower_vectors = np.asarray(mlm(texts[:2]))
    np.testing.assert_allclose(tower_vectors, vectors, atol=1e-5)  # the composition holds this one tower
    assert mlm.count_params() == mlm.embedder.count_params() + mlm.tower.count_params()
    # Symbolic: a component is a layer of a bigger functional model.
    inputs = keras.Input(shape=(), dtype="string")
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling1D()(composed(inputs)))
    assert tuple(model(tf.constant(texts[:2])).shape) == (2, composed.output_dim)


def test_an_unbuilt_pretrainer_says_to_fit_it_first():
    with pytest.raises(ValueError, match="fit it"):
        MaskedLanguagePretrainer(tower_options=SMALL).count_params()
