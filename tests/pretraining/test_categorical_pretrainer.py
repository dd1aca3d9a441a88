import datasets
import keras
import numpy as np
import pytest

from cclm import Preprocessor
from cclm.data.sample_text import language_sentences
from cclm.models.embedder import Embedder
from cclm.pretraining.categorical_pretrainer import CategoricalPretrainer

TINY_TOWER = {"hidden_dim": 32, "num_layers": 1, "num_heads": 2, "intermediate_dim": 64, "max_length": 64}
LANGUAGES = ("de_DE", "fr_FR", "pl_PL", "nl_NL")


@pytest.fixture(scope="module")
def sentences():
    texts, labels = language_sentences(LANGUAGES, per_language=150, words=6, seed=0)
    return (texts[:400], labels[:400]), (texts[400:], labels[400:])


def tiny(texts, **kwargs):
    keras.utils.set_random_seed(0)
    prep = Preprocessor(sequence_length=64, downsample_factor=4).fit(texts, progress=False)
    embedder = Embedder(vocab_size=prep.vocab_size, hidden_dim=32, num_blocks=1, max_length=64)
    options = {"embedder": embedder, "preprocessor": prep, "tower_options": TINY_TOWER, "batch_size": 16, "seed": 0}
    return CategoricalPretrainer(**{**options, **kwargs})


def test_learns_to_identify_languages_from_characters(sentences):
    (texts, labels), (test_texts, test_labels) = sentences
    pretrainer = tiny(texts, learning_rate=3e-3)
    assert pretrainer.pooling == "mean"
    history = pretrainer.fit((texts, labels), epochs=10, validation_data=(test_texts, test_labels), verbose=0)
    assert pretrainer.labels == sorted(LANGUAGES)  # found in the data, sorted
    predicted, probabilities = pretrainer.predict_labels(test_texts), pretrainer.predict(test_texts)
    accuracy = np.mean([p == t for p, t in zip(predicted, test_labels)])
    assert accuracy > 0.8  # chance is 0.25
    assert history.history["val_accuracy"][-1] == pytest.approx(accuracy, abs=1e-6)
    assert pretrainer.evaluate(test_texts, test_labels, return_dict=False)[1] == pytest.approx(accuracy, abs=1e-6)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert probabilities.shape == (len(test_texts), 4)


def test_datasets_with_int_labels_and_named_columns(sentences):
    (texts, labels), _ = sentences
    index = {language: i for i, language in enumerate(sorted(LANGUAGES))}
    data = datasets.Dataset.from_dict({"sentence": texts, "language": [index[label] for label in labels]})
    pretrainer = tiny(texts, text_column="sentence", label_column="language")
    history = pretrainer.fit(data, epochs=1, verbose=0)
    assert pretrainer.labels == [0, 1, 2, 3] and np.isfinite(history.history["loss"]).all()
    streamed = tiny(texts, text_column="sentence", label_column="language", labels=[0, 1, 2, 3])
    streamed.fit(data.to_iterable_dataset(), epochs=1, verbose=0)
    assert streamed.stats.used == len(texts)


def test_predictions_are_independent_of_padding(sentences):
    (texts, labels), _ = sentences
    for pooling in ("max", "mean", "cls"):
        pretrainer = tiny(texts, pooling=pooling)
        pretrainer._prepare((texts[:64], labels[:64]))  # built with its labels; any weights must ignore padding
        ids = pretrainer.preprocessor.encode(["Kalt Geschenk"], length=16)
        padded = np.pad(ids, ((0, 0), (0, 48)))
        np.testing.assert_allclose(pretrainer.training_model(ids), pretrainer.training_model(padded), rtol=1e-5, atol=1e-6)


def test_save_load_keeps_labels_and_predictions(round_trip, tmp_path, sentences):
    (texts, labels), (test_texts, _) = sentences
    pretrainer = tiny(texts, class_weight="balanced")
    pretrainer.fit((texts, labels), epochs=1, verbose=0)
    loaded = round_trip(pretrainer, "languages")
    assert loaded.labels == pretrainer.labels and loaded.get_config() == pretrainer.get_config()
    assert loaded.predict_labels(test_texts[:20]) == pretrainer.predict_labels(test_texts[:20])
    np.testing.assert_array_equal(loaded.predict(test_texts[:20]), pretrainer.predict(test_texts[:20]))
    assert loaded.card["labels"] == pretrainer.labels


def test_class_weights_weight_the_loss_per_label(sentences):
    (texts, labels), _ = sentences
    german = [t for t, l in zip(texts, labels) if l == "de_DE"]
    skewed_texts, skewed_labels = texts[:100] + german, labels[:100] + ["de_DE"] * len(german)
    pretrainer = tiny(skewed_texts, class_weight="balanced")
    pretrainer._prepare((skewed_texts, skewed_labels))
    counts = {label: skewed_labels.count(label) for label in pretrainer.labels}
    expected = [len(skewed_labels) / (4 * counts[label]) for label in pretrainer.labels]
    assert pretrainer.class_weights == pytest.approx(expected)
    _ids, label_ids, weights = next(iter(pretrainer._dataset((skewed_texts, skewed_labels), 32, training=True)))
    np.testing.assert_allclose(weights.numpy(), np.array(expected)[label_ids.numpy()], rtol=1e-6)
    chosen = tiny(texts, labels=sorted(LANGUAGES), class_weight={"pl_PL": 3.0})
    assert chosen.class_weights == [1.0, 1.0, 1.0, 3.0]


def test_long_texts_are_cut_at_random_while_training_and_at_their_start_otherwise(sentences):
    (texts, _labels), _ = sentences
    pretrainer = tiny(texts, labels=sorted(LANGUAGES))
    long_text = " ".join(texts[:20])
    training = [next(iter(pretrainer._dataset(([long_text] * 8, ["de_DE"] * 8), 8, training=True)))[0].numpy()]
    evaluation = next(iter(pretrainer._dataset(([long_text], ["de_DE"]), 8, training=False)))[0].numpy()
    np.testing.assert_array_equal(evaluation, pretrainer.preprocessor.encode([long_text]))
    assert len({row.tobytes() for row in training[0]}) > 1


def test_errors_name_the_bad_value_and_the_fix(sentences):
    (texts, labels), _ = sentences
    with pytest.raises(ValueError, match="'sum'"):
        CategoricalPretrainer(pooling="sum")
    with pytest.raises(ValueError, match="at least two labels"):
        tiny(texts).fit((texts[:5], ["de_DE"] * 5), verbose=0)
    with pytest.raises(ValueError, match="3 texts but 2 labels"):
        tiny(texts).fit((texts[:3], labels[:2]), verbose=0)
    with pytest.raises(TypeError, match=r"labels\[1\] is NoneType"):
        tiny(texts).fit((texts[:2], ["de_DE", None]), verbose=0)
    with pytest.raises(ValueError, match="label 'en_US' is not one of the 4 labels"):
        tiny(texts, labels=sorted(LANGUAGES)).fit((["Some words here."], ["en_US"]), verbose=0)
    late = (texts[:20] + ["Some words here."], labels[:20] + ["en_US"])  # found while training: raised as itself
    with pytest.raises(ValueError, match="label 'en_US' is not one of the 4 labels"):
        tiny(texts, labels=sorted(LANGUAGES)).fit(late, verbose=0)
    for weights in ({"de_DE": -1.0}, [1.0, 1.0, float("nan"), 1.0]):  # a negative or NaN weight: a loss to maximize
        with pytest.raises(ValueError, match="every weight must be a positive number"):
            tiny(texts, labels=sorted(LANGUAGES), class_weight=weights).fit((texts[:8], labels[:8]), verbose=0)
    with pytest.raises(TypeError, match="pass \\(texts, labels\\)"):
        tiny(texts, labels=sorted(LANGUAGES)).fit(texts, verbose=0)
