"""The prediction path: length-sorted batches give the full window's results, a head of composition weight 0
computes no composition, and repeated predictions never retrace."""

import logging

import keras
import numpy as np
import pytest
import tensorflow as tf

from cclm import Preprocessor, load_component
from cclm.classification.prediction import (
    READS_COMPOSITION,
    READS_NGRAMS,
    READS_TOWERS,
    reads_towers,
)
from cclm.classification.text_classifier import TextClassifier
from cclm.data.sample_text import language_sentences
from cclm.layers import LeadingIds, ShiftedViews
from cclm.layers.word_ngrams import word_codes
from cclm.models.composed_model import ComposedModel
from cclm.models.embedder import Embedder
from cclm.models.meaning_tower import MeaningTower
from cclm.models.tower import Tower

TINY_TOWER = {"hidden_dim": 16, "num_layers": 1, "num_heads": 2, "intermediate_dim": 32, "max_length": 64}


@pytest.fixture(scope="module")
def data():
    texts, labels = language_sentences(("de_DE", "it_IT", "pl_PL"), per_language=40, words=4)
    # every length from empty to past the 64-id window, so batches mix lengths and some texts fill the window
    lengths = [(7 * i) % 90 for i in range(len(texts))]
    texts = [(text * 20)[:length] for text, length in zip(texts, lengths)]
    return (texts[:90], labels[:90]), (texts[90:], labels[90:])


def fitted(train, views=1, seed=0):
    keras.utils.set_random_seed(seed)
    prep = Preprocessor(sequence_length=64, downsample_factor=4).fit(train[0], progress=False)
    embedder = Embedder(vocab_size=prep.vocab_size, hidden_dim=16, num_blocks=1, max_length=64, seed=seed)
    composed = ComposedModel(embedder, [Tower(input_dim=16, name="tower", **TINY_TOWER)], preprocessor=prep)
    rng = np.random.default_rng(seed)
    for weight in composed.id_model.weights:  # as trained weights are: e.g. no zero offset in a normalization
        weight.assign(weight + rng.normal(scale=0.2, size=weight.shape).astype(weight.dtype))
    classifier = TextClassifier(composed, views=views, seed=seed)
    classifier.fit(train, verbose=0)
    return classifier


def full_window_logits(classifier, texts):
    """What the classifier gave before prediction was bucketed: every composition window padded to its length."""
    ids = classifier._encode(texts)
    window = LeadingIds(classifier._window_length())(ids)
    if classifier.views > 1:
        window = ShiftedViews(classifier.views, classifier.preprocessor.character_id(" "))(window)
    logits = classifier.head(classifier.composed.id_model(window, training=False))
    return np.asarray(logits if classifier.ngram_logits is None else logits + classifier.ngram_logits(ids))


def full_window_probabilities(classifier, texts):
    return np.asarray(keras.ops.softmax(full_window_logits(classifier, texts), axis=-1))


def without_composition(classifier):
    """The classifier as a closed-form fit that gave its composition weight 0 leaves it: a zero kernel."""
    kernel = classifier.head.logits.kernel
    kernel.assign(np.zeros(kernel.shape, "float32"))
    return classifier


def with_composition(classifier):
    """The classifier with a head that reads its composition (the tiny fits here give it weight 0)."""
    kernel = classifier.head.logits.kernel
    kernel.assign(np.random.default_rng(0).normal(size=kernel.shape).astype("float32"))
    return classifier


def layer_types(model):
    """The class names of every layer in `model`, nested models included."""
    names = set()
    for layer in model.layers:
        names.add(type(layer).__name__)
        if isinstance(layer, keras.Model):
            names |= layer_types(layer)
    return names


@pytest.mark.parametrize("views", [1, 3])
def test_length_sorted_batches_predict_what_the_full_window_gives(data, views):
    train, test = data
    classifier = with_composition(fitted(train, views))
    assert classifier.head_reads == READS_COMPOSITION
    texts = test[0] + train[0][:10]
    logits = full_window_logits(classifier, texts)
    for batch_size in (1, 7, 256):  # alone, a text's window ends a few positions after it
        got = classifier._outputs(classifier._logits_model(), texts, batch_size)
        np.testing.assert_allclose(got, logits, atol=1e-4)
    expected = full_window_probabilities(classifier, texts)
    np.testing.assert_allclose(classifier.predict(texts, batch_size=1), expected, atol=1e-5)
    labels = [classifier.labels[i] for i in expected.argmax(axis=1)]
    assert classifier.evaluate((texts, labels))["accuracy"] == 1.0
    rows = np.arange(len(texts))
    loss = -np.mean(np.log(expected[rows, expected.argmax(axis=1)]))
    assert classifier.evaluate((texts, labels))["loss"] == pytest.approx(loss, rel=1e-4)


def test_the_features_of_the_closed_form_fit_are_the_full_windows(data):
    train, _ = data
    classifier = fitted(train)
    ids = classifier._encode(train[0])
    window = LeadingIds(classifier._window_length())(ids)
    features = classifier.composed.id_model(window, training=False)
    mask = np.asarray(window) != 0
    expected = (np.asarray(features) * mask[..., None]).sum(axis=1) / np.maximum(mask.sum(axis=1), 1)[:, None]
    np.testing.assert_allclose(classifier._pooled(ids, 0), expected, atol=2e-5)


def test_a_head_of_composition_weight_0_runs_no_embedder_and_no_tower(data, tmp_path):
    train, test = data
    classifier = without_composition(fitted(train))
    assert classifier.head_reads == READS_NGRAMS
    expected = full_window_probabilities(classifier, test[0])
    model = classifier._logits_model()
    assert {"Embedder", "Tower", "LabelHead"}.isdisjoint(layer_types(model))
    assert {"NgramLogits", "LogitBias"} <= layer_types(model)
    np.testing.assert_allclose(classifier.predict(test[0]), expected, atol=1e-6)

    classifier.save(tmp_path / "classifier.keras")  # the .keras file: strings -> n-gram logits -> probabilities
    loaded = keras.saving.load_model(tmp_path / "classifier.keras")
    assert {"Embedder", "Tower"}.isdisjoint(layer_types(loaded)) and "NgramLogits" in layer_types(loaded)
    np.testing.assert_allclose(np.asarray(loaded(tf.constant(test[0]))), expected, atol=1e-6)

    served = tf.saved_model.load(str(classifier.export(tmp_path / "exported", tensorflow_text=True)))
    variables = {variable.name for variable in served.variables}
    assert not any("tower" in name or "embedding" in name for name in variables), variables
    np.testing.assert_allclose(served.serve(tf.constant(test[0]))["probabilities"].numpy(), expected, atol=1e-6)

    path = classifier.save(tmp_path / "component")  # the component keeps its composition, and says what reads
    again = load_component(path)
    assert again.head_reads == READS_NGRAMS and (path / "composed").is_dir()
    assert {"Embedder", "Tower"}.isdisjoint(layer_types(again._logits_model()))
    assert "Tower" in layer_types(again.model)
    np.testing.assert_allclose(again.predict(test[0]), expected, atol=1e-6)
    assert json_manifest(path)["head_reads"] == READS_NGRAMS


def json_manifest(path):
    from cclm.components import read_manifest

    return read_manifest(path, kind="text_classifier")


def test_repeated_predictions_on_new_shapes_never_retrace(data):
    train, test = data
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    tf.get_logger().addHandler(handler)
    try:
        for classifier in (with_composition(fitted(train)), without_composition(fitted(train, seed=1))):
            for count in range(1, 13):  # new batch sizes and lengths on every call
                classifier.predict(test[0][:count])
                classifier.predict(test[0][count])
            classifier.evaluate(test)
    finally:
        tf.get_logger().removeHandler(handler)
    assert not [record for record in records if "retracing" in record.getMessage()]


def meaning_classifier(train, output_dim, table_dtype="float16", transformer=True, normalize=False, **options):
    """A classifier fitted on a composition with a random meaning tower (after a tiny transformer tower, if asked),
    its head then reading the meaning tower alone: the transformer tower's rows of its kernel zero."""
    keras.utils.set_random_seed(0)
    prep = Preprocessor(sequence_length=64, downsample_factor=4).fit(train[0], progress=False)
    embedder = Embedder(vocab_size=prep.vocab_size, hidden_dim=16, num_blocks=1, max_length=64, seed=0)
    meaning = MeaningTower(word_codes(prep), buckets=256, output_dim=output_dim, table_dtype=table_dtype,
                           normalize=normalize, name="meaning")
    meaning.set_table(np.random.default_rng(0).normal(size=(256, output_dim)).astype("float32"))
    towers = [Tower(input_dim=16, name="tower", **TINY_TOWER)] * transformer + [meaning]
    classifier = TextClassifier(ComposedModel(embedder, towers, preprocessor=prep), seed=0, **options)
    classifier.fit(train, verbose=0)
    rows = [np.zeros((16, 3))] * transformer + [np.random.default_rng(1).normal(size=(output_dim, 3))]
    classifier.head.logits.kernel.assign(np.concatenate(rows).astype("float32"))
    return classifier


def test_a_tower_of_weight_0_is_not_computed_nor_the_embedder_when_no_tower_read_reads_it(data, tmp_path):
    train, test = data
    classifier = meaning_classifier(train, output_dim=8)  # 3 labels > 8 / 4: the tower's own vectors, not folded
    assert classifier.head_reads == reads_towers(["meaning"])
    expected = full_window_probabilities(classifier, test[0])
    model = classifier._logits_model()
    assert {"Embedder", "Tower"}.isdisjoint(layer_types(model)) and "MeaningTower" in layer_types(model)
    np.testing.assert_allclose(classifier.predict(test[0]), expected, atol=1e-5)
    served = tf.saved_model.load(str(classifier.export(tmp_path / "exported", tensorflow_text=True)))
    np.testing.assert_allclose(served.serve(tf.constant(test[0]))["probabilities"].numpy(), expected, atol=1e-5)
    classifier.head.logits.kernel.assign(classifier.head.logits.kernel * 2.0)  # a changed head: the part follows
    np.testing.assert_allclose(classifier.predict(test[0]), full_window_probabilities(classifier, test[0]), atol=1e-5)
    again = load_component(classifier.save(tmp_path / "component"))
    assert again.head_reads == reads_towers(["meaning"])
    np.testing.assert_allclose(again.predict(test[0]), classifier.predict(test[0]), atol=1e-6)


@pytest.mark.parametrize("output_dim, computed", [(8, "MeaningTower"), (16, "FoldedMeaning")])
def test_without_ngrams_a_tower_of_weight_0_is_not_computed_nor_the_embedder(data, tmp_path, output_dim, computed):
    train, test = data
    classifier = meaning_classifier(train, output_dim=output_dim, ngrams=0)
    assert classifier.ngram_logits is None and classifier.head_reads == reads_towers(["meaning"], ngrams=False)
    expected = full_window_probabilities(classifier, test[0])
    types = layer_types(classifier._logits_model())
    assert computed in types and {"Embedder", "Tower", "NgramLogits"}.isdisjoint(types)
    predicts_alike_served_and_reloaded(classifier, test[0], expected, tmp_path)
    again = load_component(classifier.save(tmp_path / "component"))
    assert again.head_reads == reads_towers(["meaning"], ngrams=False)
    np.testing.assert_allclose(again.predict(test[0]), expected, atol=1e-5)
    with_composition(classifier)  # a head that reads every tower again: the whole model
    assert classifier.head_reads == READS_TOWERS and classifier._logits_model() is classifier.model


def test_without_ngrams_a_head_reading_the_transformer_tower_alone_leaves_the_meaning_tower_out(data, tmp_path):
    train, test = data
    classifier = meaning_classifier(train, output_dim=8, ngrams=0)
    rows = [np.random.default_rng(2).normal(size=(16, 3)), np.zeros((8, 3))]  # the transformer tower's rows alone
    classifier.head.logits.kernel.assign(np.concatenate(rows).astype("float32"))
    assert classifier.head_reads == reads_towers(["tower"], ngrams=False)
    types = layer_types(classifier._logits_model())
    assert {"Embedder", "Tower"} <= types and {"MeaningTower", "FoldedMeaning", "NgramLogits"}.isdisjoint(types)
    predicts_alike_served_and_reloaded(classifier, test[0], full_window_probabilities(classifier, test[0]), tmp_path)


def predicts_alike_served_and_reloaded(classifier, texts, expected, folder):
    """`classifier.predict`, its export and its `.keras` file all give the `expected` probabilities of `texts`."""
    np.testing.assert_allclose(classifier.predict(texts), expected, atol=1e-5)
    served = tf.saved_model.load(str(classifier.export(folder / "exported", tensorflow_text=True)))
    np.testing.assert_allclose(served.serve(tf.constant(texts))["probabilities"].numpy(), expected, atol=1e-5)
    classifier.save(folder / "model.keras")
    reloaded = keras.saving.load_model(folder / "model.keras")
    np.testing.assert_allclose(reloaded.predict(tf.constant(texts), verbose=0), expected, atol=1e-5)


def test_a_meaning_tower_that_normalizes_its_vectors_has_the_head_applied_to_each_texts_vector(data, tmp_path):
    train, test = data
    classifier = meaning_classifier(train, output_dim=16, normalize=True)  # not linear in the table: not folded
    expected = full_window_probabilities(classifier, test[0])
    types = layer_types(classifier._logits_model())
    assert "MappedMeaning" in types and {"Embedder", "Tower", "MeaningTower", "FoldedMeaning"}.isdisjoint(types)
    predicts_alike_served_and_reloaded(classifier, test[0], expected, tmp_path)
    tower = next(t for t in classifier.composed.towers if isinstance(t, MeaningTower))
    tower.set_table(np.roll(tower.dense_table(), 1, axis=0))  # the map reads the tower's own table: it follows
    np.testing.assert_allclose(classifier.predict(test[0]), full_window_probabilities(classifier, test[0]), atol=1e-5)
    classifier.fit(train, verbose=0)  # a head fitted on the table as it now is: saved as it predicts
    again = load_component(classifier.save(tmp_path / "component"))
    assert next(t for t in again.composed.towers if isinstance(t, MeaningTower)).normalize
    np.testing.assert_allclose(again.predict(test[0]), classifier.predict(test[0]), atol=1e-5)


def test_a_head_reading_meaning_towers_alone_predicts_through_their_folded_tables(data, tmp_path):
    train, test = data
    classifier = meaning_classifier(train, output_dim=16, table_dtype="int8")
    assert classifier.head_reads == reads_towers(["meaning"])
    expected = full_window_probabilities(classifier, test[0])  # through the tower's 16-wide vectors
    model = classifier._logits_model()
    # 3 labels <= 16 / 4: each text looks up rows of 3 logits, not the tower's 16 dimensions
    assert "FoldedMeaning" in layer_types(model) and {"Embedder", "Tower", "MeaningTower"}.isdisjoint(layer_types(model))
    predicts_alike_served_and_reloaded(classifier, test[0], expected, tmp_path)
    classifier.head.logits.kernel.assign(classifier.head.logits.kernel * 2.0)  # a changed head: the tables follow
    np.testing.assert_allclose(classifier.predict(test[0]), full_window_probabilities(classifier, test[0]), atol=1e-5)
    tower = next(t for t in classifier.composed.towers if isinstance(t, MeaningTower))
    tower.set_table(np.roll(tower.dense_table(), 1, axis=0))  # the tower's table set again: the folded tables follow
    np.testing.assert_allclose(classifier.predict(test[0]), full_window_probabilities(classifier, test[0]), atol=1e-5)
    tower.save_weights(tmp_path / "tower.weights.h5")
    tower.set_weights([np.roll(w, 1, axis=0) for w in tower.get_weights()])  # Keras' way: followed too
    np.testing.assert_allclose(classifier.predict(test[0]), full_window_probabilities(classifier, test[0]), atol=1e-5)
    tower.load_weights(tmp_path / "tower.weights.h5")  # and Keras' loading
    np.testing.assert_allclose(classifier.predict(test[0]), full_window_probabilities(classifier, test[0]), atol=1e-5)
    composed = classifier.composed.id_model  # a containing model's set_weights assigns the table itself: followed
    composed.set_weights([np.roll(w, 3, axis=0) if w.ndim == 2 and w.shape[0] == 256 else w
                          for w in composed.get_weights()])
    np.testing.assert_allclose(classifier.predict(test[0]), full_window_probabilities(classifier, test[0]), atol=1e-5)
    classifier.fit(train, verbose=0)  # fitted again on the composition as it now is: saved as it predicts
    again = load_component(classifier.save(tmp_path / "component"))
    np.testing.assert_allclose(again.predict(test[0]), classifier.predict(test[0]), atol=1e-6)


@pytest.mark.parametrize("pooling", ["max", "cls"])
def test_folded_meaning_tables_give_what_any_pooling_of_the_tower_gives(data, pooling):
    train, test = data
    classifier = meaning_classifier(train, output_dim=16, table_dtype="float32", transformer=False, pooling=pooling)
    assert "FoldedMeaning" in layer_types(classifier._logits_model())
    texts = ["", "!?", *test[0]]  # no words at all: the tower's vector and the folded logits are both 0
    np.testing.assert_allclose(classifier.predict(texts), full_window_probabilities(classifier, texts), atol=1e-5)
    # A head that standardizes its pooled features by gradient (normalize=True) is not linear in them: not folded.
    normalized = TextClassifier(classifier.composed, pooling=pooling, normalize=True, seed=0)
    normalized.fit(train, epochs=1, verbose=0)
    assert "FoldedMeaning" not in layer_types(normalized._logits_model())
