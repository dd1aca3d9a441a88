import json

import keras
import numpy as np
import pytest

from cclm import Preprocessor, load_component
from cclm.classification.text_classifier import TextClassifier
from cclm.data.sample_text import language_sentences
from cclm.models.composed_model import ComposedModel
from cclm.models.embedder import Embedder
from cclm.models.tower import Tower
from cclm.pipelines.augmentation import Augmentor

TINY_TOWER = {"hidden_dim": 16, "num_layers": 1, "num_heads": 2, "intermediate_dim": 32, "max_length": 64}


def composition(texts, seed=0):
    # The tower's initial weights come from Keras' global generator: seeded here, so a test's result does
    # not depend on what the worker ran before it.
    keras.utils.set_random_seed(seed)
    prep = Preprocessor(sequence_length=64, downsample_factor=4).fit(texts, progress=False)
    embedder = Embedder(vocab_size=prep.vocab_size, hidden_dim=16, num_blocks=1, max_length=64, seed=seed)
    return ComposedModel(embedder, [Tower(input_dim=16, name="tower", **TINY_TOWER)], preprocessor=prep)


@pytest.fixture(scope="module")
def languages():
    texts, labels = language_sentences(("de_DE", "it_IT", "pl_PL"), per_language=60, words=5)
    return (texts[:150], labels[:150]), (texts[150:], labels[150:])


@pytest.fixture(scope="module")
def shared(languages):
    """A composition as a pretrainer leaves it (its towers read this embedder's vectors), and its weights."""
    composed = composition(languages[0][0])
    composed.adopt_towers()
    return composed, [part.get_weights() for part in (composed.embedder, *composed.towers)]


@pytest.fixture(scope="module")
def trained(languages, shared):
    train, _ = languages
    classifier = TextClassifier(shared[0], train_composition=True, seed=0, batch_size=16,
                                transforms=[Augmentor.typos(0.05, seed=1)])
    classifier.fit(train, epochs=8, verbose=0)
    return classifier


def test_it_learns_labels_and_predicts_them(trained, languages):
    _, test = languages
    assert trained.labels == ["de_DE", "it_IT", "pl_PL"]
    probabilities, labels = trained.predict(test[0]), trained.predict_labels(test[0])
    assert labels == [trained.labels[i] for i in probabilities.argmax(axis=1)]
    one = trained.predict(test[0][0])  # one string: one row, and its label
    assert one.shape == (3,) and trained.predict_labels(test[0][0]) == labels[0]
    np.testing.assert_allclose(one, probabilities[0], atol=1e-6)
    assert probabilities.shape == (len(test[0]), 3) and np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    accuracy = np.mean([p == t for p, t in zip(labels, test[1])])
    assert accuracy > 0.6  # three languages, chance is 0.33
    assert trained.evaluate(test)["accuracy"] == pytest.approx(accuracy, abs=1e-6)
    assert trained.predict([]).shape == (0, 3) and trained.predict_labels([]) == []


def test_save_and_load_predict_identically(trained, languages, tmp_path):
    path = trained.save(tmp_path / "classifier")
    again = load_component(path)
    assert isinstance(again, TextClassifier) and again.labels == trained.labels
    texts = languages[1][0][:20]
    np.testing.assert_allclose(again.predict(texts), trained.predict(texts), atol=1e-6)
    card = (path / "README.md").read_text()
    assert "Augmentor(substitution=0.0175" in card and "de_DE" in card
    assert again.train_composition and again.composed.embedder.fingerprint == trained.composed.embedder.fingerprint


def test_fine_tuning_changes_a_copy_never_the_composition_others_hold(trained, shared):
    composed, weights = shared
    for before, part in zip(weights, (composed.embedder, *composed.towers)):
        for old, new in zip(before, part.get_weights()):
            np.testing.assert_array_equal(old, new)
    ComposedModel(composed.embedder, composed.towers)  # its towers still read this embedder's vectors
    assert trained.composed is not composed and trained.composed.embedder.fingerprint != composed.embedder.fingerprint
    ComposedModel(trained.composed.embedder, trained.composed.towers)  # the copy's towers belong to its embedder


@pytest.mark.parametrize("source", ["in memory", "frozen, saved and loaded"])
def test_a_frozen_composition_keeps_its_weights(round_trip, languages, source, tmp_path):
    train, _ = languages
    composed = composition(train[0])
    if source != "in memory":
        # Saved frozen (trainable=False in its config): loading must not leave its layers trainable.
        composed.freeze()
        composed = round_trip(composed, "composed")
    classifier = TextClassifier(composed, seed=0, batch_size=16, ngrams=0)  # the composition's features alone
    assert classifier.model is None  # no labels yet: built by the first fit
    composed_before = [w.numpy().copy() for w in classifier.composed.id_model.weights]
    flags = [part.trainable for part in (composed.embedder, *composed.towers)]
    classifier.fit(train, verbose=0)
    assert [part.trainable for part in (composed.embedder, *composed.towers)] == flags  # others' parts as they were
    if source != "in memory":
        assert len(classifier.model.trainable_weights) == len(classifier.head.trainable_weights) == 2
    after = [w.numpy() for w in classifier.composed.id_model.weights]
    assert all(np.array_equal(a, b) for a, b in zip(composed_before, after))
    assert classifier.head.norm is None and np.abs(classifier.head.logits.kernel.numpy()).sum() > 0
    # The same composition fine-tuned: every weight of the tuned classifier's copy changes, none of its own.
    tuned = TextClassifier(composed, seed=0, batch_size=16, train_composition=True)
    tuned.fit(train, epochs=1, steps_per_epoch=3, verbose=0)
    changed = [not np.array_equal(a, b.numpy()) for a, b in zip(after, tuned.composed.id_model.weights)]
    assert all(changed)
    assert all(np.array_equal(a, b.numpy()) for a, b in zip(after, classifier.composed.id_model.weights))


def test_a_frozen_head_is_solved_once_and_predicts_as_it_was_fitted(round_trip, languages):
    train, test = languages
    classifier = TextClassifier(composition(train[0]), seed=0)
    assert classifier.closed_form and not classifier.normalize
    history = classifier.fit(train, validation_data=test, verbose=0)
    # The head's figures are held out: leave-one-out on the training labels, and the validation data.
    assert set(history.history) == {"loo_accuracy", "val_loss", "val_accuracy"}
    assert set(classifier.card["metrics"]) == {"loo_accuracy", "val_loss", "val_accuracy"}
    assert "leave-one-out" in classifier.card["training"]["head"]
    # What it predicts is what it evaluates: no batch statistic differs between the two.
    labels = classifier.predict_labels(test[0])
    accuracy = np.mean([p == t for p, t in zip(labels, test[1])])
    assert accuracy == pytest.approx(classifier.evaluate(test)["accuracy"], abs=1e-6)
    assert accuracy == pytest.approx(history.history["val_accuracy"][0], abs=1e-6)
    assert accuracy > 1 / 3  # a random tiny tower's features, better than chance (three languages)
    again = round_trip(classifier, "closed form")
    np.testing.assert_allclose(again.predict(test[0][:10]), classifier.predict(test[0][:10]), atol=1e-6)
    # Noisy readings (transforms) join the fit; the same seed gives the same head.
    noisy = [TextClassifier(classifier.composed, seed=3, transforms=[Augmentor.typos(0.1)]) for _ in range(2)]
    for each in noisy:
        each.fit(train, epochs=2, verbose=0)
    kernels = [each.ngram_logits.kernel.numpy() for each in (*noisy, classifier)]
    np.testing.assert_allclose(kernels[0], kernels[1], atol=1e-5)
    assert not np.allclose(kernels[0], kernels[2])
    with pytest.raises(ValueError, match=r"labels \['xx_XX'\] are not among the model's labels"):
        classifier.fit((train[0][:2], ["de_DE", "xx_XX"]), verbose=0)
    with pytest.raises(ValueError, match=r"labels \['xx_XX'\] are not among.*labelled as the model was trained"):
        classifier.evaluate((train[0][:2], ["de_DE", "xx_XX"]))  # before any graph runs


def test_normalize_trains_a_batch_normalized_head_by_gradient_and_saves_that_choice(round_trip, languages, tmp_path):
    train, test = languages
    composed = composition(train[0])
    classifier = TextClassifier(composed, labels=["de_DE", "it_IT", "pl_PL"], normalize=True, seed=0, batch_size=16)
    norm = classifier.head.norm
    assert classifier.normalize and norm is not None and not classifier.closed_form
    assert not TextClassifier(composed, labels=["a", "b"]).normalize  # off by default
    classifier.fit(train, epochs=1, steps_per_epoch=20, verbose=0)
    # The moving statistics moved from (0, 1) towards the pooled features' own.
    pooled = classifier.head.pool(composed.id_model(composed.preprocessor.encode(train[0])))
    mean = np.mean(pooled, axis=0)
    moved = 1 - 0.99 ** 20  # Keras' default momentum, 20 steps
    moving_mean = norm.moving_mean.numpy()
    assert np.corrcoef(moving_mean, mean)[0, 1] > 0.9
    assert 0.5 * moved < np.linalg.norm(moving_mean) / np.linalg.norm(mean) < 1.5 * moved
    assert not np.allclose(norm.moving_variance.numpy(), 1.0)
    again = round_trip(classifier, "normalized")
    assert again.normalize and again.head.norm is not None
    np.testing.assert_allclose(again.predict(test[0][:10]), classifier.predict(test[0][:10]), atol=1e-6)

    plain = TextClassifier(composed, labels=["de_DE", "it_IT", "pl_PL"], seed=0, batch_size=16, ngrams=0)
    assert plain.head.norm is None and len(plain.head.weights) == 2
    plain.fit(train, verbose=0)
    path = plain.save(tmp_path / "plain")
    # A classifier saved before `normalize` and `ngrams` existed has no such keys: its head had neither.
    manifest = json.loads((path / "manifest.json").read_text())
    for key in ("normalize", "ngrams", "ngram_buckets", "ngram_length"):
        del manifest["config"][key]
    (path / "manifest.json").write_text(json.dumps(manifest))
    older = TextClassifier.load(path)
    assert not older.normalize and older.head.norm is None and older.ngrams == 0 and older.ngram_logits is None
    assert older.ngram_length is None
    np.testing.assert_allclose(older.predict(test[0][:10]), plain.predict(test[0][:10]), atol=1e-6)


def test_views_average_the_pooled_features_of_texts_shifted_by_leading_spaces(round_trip, languages, tmp_path):
    train, test = languages
    composed = composition(train[0])
    classifier = TextClassifier(composed, views=3, seed=0, batch_size=16, ngrams=0)  # the composition alone
    classifier.fit(train, verbose=0)
    texts = test[0][:6] + [""]
    prep = composed.preprocessor
    # By hand: each text read with 0, 1 and 2 leading spaces, mean-pooled over its characters, averaged.
    pooled = []
    for shift in range(3):
        ids = prep.encode([" " * shift + text for text in texts])
        vectors = composed.id_model.predict(ids, verbose=0)
        mask = (ids != 0)[:, :, None]
        pooled.append((vectors * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1))
    expected = keras.ops.softmax(classifier.head.logits(np.mean(pooled, axis=0)))
    np.testing.assert_allclose(classifier.predict(texts), expected, atol=1e-5)
    one_view = TextClassifier(composed, labels=classifier.labels, seed=0, ngrams=0)
    one_view.head.set_weights(classifier.head.get_weights())
    assert not np.allclose(one_view.predict(texts), expected, atol=1e-3)  # the views matter
    again = round_trip(classifier, "views")
    assert again.views == 3
    np.testing.assert_allclose(again.predict(texts), classifier.predict(texts), atol=1e-6)


def test_views_need_a_space_in_the_vocabulary():
    prep = Preprocessor(sequence_length=64, downsample_factor=4).fit(["abc"], progress=False)
    embedder = Embedder(vocab_size=prep.vocab_size, hidden_dim=16, num_blocks=1, max_length=64)
    composed = ComposedModel(embedder, [Tower(input_dim=16, **TINY_TOWER)], preprocessor=prep)
    with pytest.raises(ValueError, match="views=4 shifts texts with leading spaces, but .* has no space"):
        TextClassifier(composed, views=4)
    for bad in (0, 2.0, True):
        with pytest.raises(ValueError, match=f"views={bad!r}; use an int >= 1"):
            TextClassifier(composed, views=bad)


def test_clear_errors(languages):
    train, _ = languages
    embedder = Embedder(vocab_size=40, hidden_dim=16, num_blocks=1, max_length=64)
    with pytest.raises(ValueError, match="has no preprocessor; pass preprocessor="):
        TextClassifier(ComposedModel(embedder, [Tower(input_dim=16, **TINY_TOWER)]))
    classifier = TextClassifier(composition(train[0]))
    with pytest.raises(ValueError, match="fit it"):
        classifier.predict(["text"])
    with pytest.raises(ValueError, match="at least two labels"):
        classifier.fit((["a", "b"], ["x", "x"]), verbose=0)
    with pytest.raises(ValueError, match="pooling='median'"):
        TextClassifier(classifier.composed, pooling="median")
    named = TextClassifier(classifier.composed, labels=["a", "b"], name="trained on clean text")
    assert named.name == "trained on clean text" and named.model.name == "trained_on_clean_text"


def test_the_closed_form_head_reads_tfidf_ngrams_beside_the_composition(round_trip, languages):
    train, test = languages
    composed = composition(train[0])
    assert TextClassifier(composed).ngrams == 4  # the closed-form head's default
    assert TextClassifier(composed, train_composition=True).ngrams == 0
    assert TextClassifier(composed, normalize=True).ngrams == 0
    for bad in ({"ngrams": 4, "train_composition": True}, {"ngrams": 3, "normalize": True}, {"ngrams": -1}):
        with pytest.raises(ValueError, match="n-gram features are fitted in closed form"):
            TextClassifier(composed, **bad)
    classifier = TextClassifier(composed, seed=0, ngram_buckets=4096)
    classifier.fit(train, verbose=0)
    assert "TF-IDF character 1-4-grams of up to 4,096 characters (composition weight" in classifier.card["training"]["head"]
    # Three languages told apart by their letters: the n-grams are what a tiny random tower lacks.
    assert classifier.evaluate(test)["accuracy"] > 0.9
    alone = TextClassifier(composed, seed=0, ngrams=0)
    alone.fit(train, verbose=0)
    assert classifier.evaluate(test)["accuracy"] > alone.evaluate(test)["accuracy"]
    again = round_trip(classifier, "with n-grams")
    assert again.ngrams == 4 and again.ngram_buckets == 4096
    np.testing.assert_allclose(again.predict(test[0][:10]), classifier.predict(test[0][:10]), atol=1e-6)


def test_without_ngrams_the_head_weighs_each_tower_and_leaves_out_one_that_adds_nothing(languages):
    from cclm.classification.prediction import reads_towers
    from cclm.layers.word_ngrams import word_codes
    from cclm.models.meaning_tower import MeaningTower

    train, test = languages
    composed = composition(train[0])
    tower = composed.towers[0]
    tower.set_weights([np.zeros_like(w) for w in tower.get_weights()])  # the same features for every text
    meaning = MeaningTower(word_codes(composed.preprocessor), buckets=512, output_dim=32, name="meaning")
    meaning.set_table(np.random.default_rng(0).normal(size=(512, 32)).astype("float32"))  # random n-gram vectors
    classifier = TextClassifier(ComposedModel(composed.embedder, [tower, meaning], preprocessor=composed.preprocessor),
                                seed=0, ngrams=0)
    classifier.fit(train, verbose=0)
    assert "(each tower's weight: tower 0, meaning 1)" in classifier.card["training"]["head"]
    assert classifier.head_reads == reads_towers(["meaning"], ngrams=False)
    assert not classifier.head.logits.kernel.numpy()[:tower.output_dim].any()
    alone = TextClassifier(ComposedModel(composed.embedder, [meaning], preprocessor=composed.preprocessor),
                           seed=0, ngrams=0)
    alone.fit(train, verbose=0)  # the same head as on the meaning tower alone
    np.testing.assert_allclose(classifier.predict(test[0]), alone.predict(test[0]), atol=1e-5)


def test_keras_style_fit_takes_x_and_y_validation_split_class_weight_and_tf_data(languages):
    import tensorflow as tf

    train, test = languages
    texts, labels = train
    classifier = TextClassifier(composition(texts), seed=0)
    history = classifier.fit(texts, labels, validation_split=0.2, verbose=0)
    assert set(history.history) == {"loo_accuracy", "val_loss", "val_accuracy"}
    assert classifier.stats.used == 120  # the last 30 of 150 texts were held out
    # A tf.data pipeline of (text, label) pairs, batched: the same texts, the same closed-form head.
    same = TextClassifier(classifier.composed, seed=0)
    same.fit(tf.data.Dataset.from_tensor_slices((texts[:120], labels[:120])).batch(16), verbose=0)
    np.testing.assert_allclose(same.ngram_logits.kernel.numpy(), classifier.ngram_logits.kernel.numpy(), atol=1e-6)
    # Weighing one label's texts up makes the head call it more often.
    weighted = TextClassifier(classifier.composed, seed=0, ngrams=0)
    plain = TextClassifier(classifier.composed, seed=0, ngrams=0)
    weighted.fit(texts, labels, class_weight={"pl_PL": 20.0}, verbose=0)
    plain.fit(texts, labels, verbose=0)
    assert "weighted by class_weight" in weighted.card["training"]["head"]
    count = [sum(p == "pl_PL" for p in model.predict_labels(test[0])) for model in (plain, weighted)]
    assert count[1] > count[0], count
    with pytest.raises(ValueError, match="class_weight has keys \\['xx'\\] that are not labels"):
        plain.fit(texts, labels, class_weight={"xx": 2.0}, verbose=0)


def test_early_stopping_puts_the_restored_epochs_metrics_in_the_card(languages):
    train, test = languages
    classifier = TextClassifier(composition(train[0]), train_composition=True, seed=0, batch_size=16)
    # Keras restores the best epoch's weights at the end of training, stopped early or not.
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=0, restore_best_weights=True)
    history = classifier.fit(train, epochs=4, steps_per_epoch=2, validation_data=test, callbacks=[stop],
                             class_weight={"de_DE": 2.0}, verbose=0)
    losses = history.history["val_loss"]
    best = int(np.argmin(losses))
    assert classifier.card["metrics"]["val_loss"] == pytest.approx(losses[best], abs=1e-5)
    assert classifier.card["training"]["restored epoch"] == best + 1
    assert classifier.evaluate(test)["loss"] == pytest.approx(losses[best], rel=1e-4)


def test_the_ngrams_read_past_the_window_of_the_composition(round_trip):
    # Every text opens with the same 70 characters; the words telling its label come after the
    # composition's window of 64. TF-IDF reads whole texts; so do the n-gram features by default.
    opening = "The same opening words come first in every one of these texts, then: "
    rng = np.random.default_rng(0)
    words = {"cat": ["cat", "kitten", "meow", "purr"], "dog": ["dog", "puppy", "woof", "bark"]}
    labels = ["cat", "dog"] * 30
    texts = [opening + " ".join(rng.choice(words[label], 4)) for label in labels]
    train, test = (texts[:32], labels[:32]), (texts[32:], labels[32:])
    plain = composition(texts)
    # Any name: Keras is given one it accepts when the classifier calls the composition on its window.
    composed = ComposedModel(plain.embedder, plain.towers, preprocessor=plain.preprocessor, name="words + more")
    far, near = TextClassifier(composed, seed=0), TextClassifier(composed, seed=0, ngram_length=None)
    assert far._text_length() == 4096 and near._text_length() == 64
    for classifier in (far, near):
        classifier.fit(train, verbose=0)
    accuracy = {c: np.mean([p == t for p, t in zip(c.predict_labels(test[0]), test[1])]) for c in (far, near)}
    assert accuracy[far] == 1.0 and accuracy[near] == 0.5  # the window alone: every text looks the same
    assert far.evaluate(test)["accuracy"] == pytest.approx(1.0)
    np.testing.assert_allclose(np.asarray(far(test[0][:4])), far.predict(test[0][:4]), atol=1e-5)  # strings in
    again = round_trip(far, "far")
    assert again.ngram_length == 4096
    np.testing.assert_allclose(again.predict(test[0]), far.predict(test[0]), atol=1e-6)
    with pytest.raises(ValueError, match="ngram_length=0"):
        TextClassifier(composed, ngram_length=0)



def test_evaluate_and_predict_take_what_keras_and_datasets_users_give(trained, languages):
    import datasets
    import tensorflow as tf

    texts, labels = languages[1][0][:12], languages[1][1][:12]
    measured = trained.evaluate((texts, labels))
    assert trained.evaluate(texts, labels, verbose=0) == measured == trained.evaluate(x=texts, y=labels, return_dict=True)
    assert trained.evaluate(texts, labels, return_dict=False) == [measured["loss"], measured["accuracy"]]
    expected = trained.predict(texts)
    np.testing.assert_allclose(trained.predict(tf.constant(texts)), expected, atol=1e-6)
    np.testing.assert_allclose(trained.predict(tf.constant(texts[0])), expected[0], atol=1e-6)
    np.testing.assert_allclose(trained.predict(tf.constant(texts)[:, None], verbose=0), expected, atol=1e-6)
    np.testing.assert_allclose(trained.predict(np.array([t.encode() for t in texts])), expected, atol=1e-6)
    column = datasets.Dataset.from_dict({"text": texts, "label": labels})
    np.testing.assert_allclose(trained.predict(column), expected, atol=1e-6)
    assert trained.predict_labels(column) == trained.predict_labels(texts)
    assert trained.predict_labels(tf.constant(texts[0])) == trained.predict_labels(texts[0])
    with pytest.raises(TypeError, match="int32 tensor"):
        trained.predict(tf.constant([1, 2]))



class Calls(keras.callbacks.Callback):
    """Records which hooks a fit calls, and with which logs."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def on_train_begin(self, logs=None):
        self.calls.append(("train_begin", self.model is not None))

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(("epoch_end", epoch, sorted(logs)))

    def on_train_end(self, logs=None):
        self.calls.append(("train_end", sorted(logs)))


@pytest.fixture(scope="module")
def class_label_fit(shared, languages, tmp_path_factory):
    """A closed-form fit on a `datasets.Dataset` whose `ClassLabel` names are not sorted, with Keras callbacks."""
    import datasets

    (texts, labels), test = (languages[0][0][:60], languages[0][1][:60]), languages[1]
    names = ["pl_PL", "de_DE", "it_IT"]  # not sorted: output i is the dataset's label i
    features = datasets.Features({"text": datasets.Value("string"), "label": datasets.ClassLabel(names=names)})
    data = datasets.Dataset.from_dict({"text": texts, "label": [names.index(label) for label in labels]}, features)
    folder = tmp_path_factory.mktemp("callbacks")
    callbacks = {"calls": Calls(), "csv": keras.callbacks.CSVLogger(str(folder / "log.csv")),
                 # As in Keras' fit, whether "val_accuracy" should rise is found among the model's metrics.
                 "stop": keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=0, restore_best_weights=True),
                 "board": keras.callbacks.TensorBoard(str(folder / "board"))}
    classifier = TextClassifier(shared[0], seed=0, ngrams=2, ngram_buckets=1024)
    classifier.fit(data, validation_data=(test[0][:12], test[1][:12]), callbacks=list(callbacks.values()))
    return classifier, data, callbacks, folder


def test_a_class_label_column_keeps_its_order(class_label_fit):
    classifier, data, _, _ = class_label_fit
    assert classifier.labels == data.features["label"].names
    predicted = data.features["label"].int2str(classifier.predict(data).argmax(axis=1).tolist())
    assert predicted == classifier.predict_labels(data["text"])
    assert np.mean(np.equal(predicted, data.features["label"].int2str(data["label"]))) > 0.8


def test_the_closed_form_fit_calls_keras_callbacks_for_its_one_epoch(class_label_fit):
    classifier, _, callbacks, folder = class_label_fit
    keys = ["loo_accuracy", "val_accuracy", "val_loss"]
    assert callbacks["calls"].calls == [("train_begin", True), ("epoch_end", 0, keys), ("train_end", keys)]
    assert (folder / "log.csv").read_text().splitlines()[0] == "epoch,loo_accuracy,val_accuracy,val_loss"
    assert callbacks["stop"].best == classifier.card["metrics"]["val_accuracy"]
    assert list((folder / "board").rglob("events.out.tfevents.*"))


def test_a_keras_file_loads_without_optimizer_warnings_and_names_its_labels(trained, languages, tmp_path):
    import warnings
    import zipfile

    import h5py
    import tensorflow as tf

    path = trained.save(tmp_path / "classifier.keras")  # fine-tuned by gradient: its optimizer has state
    with zipfile.ZipFile(path) as archive, h5py.File(archive.open("model.weights.h5")) as weights:
        names = []
        weights.visit(names.append)
    assert not [name for name in names if "optimizer" in name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Keras warns of skipped optimizer variables
        loaded = keras.saving.load_model(path)
    assert loaded.get_layer("probabilities").labels == trained.labels
    texts = languages[1][0][:4]
    np.testing.assert_allclose(np.asarray(loaded(tf.constant(texts))), trained.predict(texts), atol=1e-5)


def test_the_card_describes_the_current_fit_its_evaluations_and_limits(shared, languages):
    from huggingface_hub import ModelCard

    from cclm.components.card import render_card

    train, test = languages
    classifier = TextClassifier(shared[0], seed=0, ngrams=2, ngram_buckets=1024, name="langs")
    classifier.fit(train[0][:24], train[1][:24])
    classifier.evaluate(test[0][12:24], test[1][12:24], dataset_name="held-out sentences")
    classifier.fit(train[0][:24], train[1][:24], validation_data=(test[0][:12], test[1][:12]))
    assert "evaluations" not in classifier.card  # measured on the weights the refit replaced
    assert classifier.card["training"]["epochs"] == 1  # a refit solves anew: the card holds this fit alone
    assert {len(values) for values in classifier.card["history"].values()} == {1}
    classifier.evaluate(test[0][12:24], test[1][12:24], dataset_name="held-out sentences")
    card = render_card(classifier.manifest())
    results = {(r.dataset_name, r.metric_type) for r in ModelCard(card).data.eval_results}
    assert results == {(d, m) for d in ("validation data", "held-out sentences") for m in ("accuracy", "loss")}
    assert "## Intended uses" in card and "## Limitations" in card and "Evaluated on held-out sentences:" in card


@pytest.mark.parametrize("normalize", [False, True], ids=["closed form", "gradient head"])
def test_a_pretrainer_still_trains_its_tower_after_a_frozen_classifier_read_it(languages, normalize):
    from cclm.pretraining import MaskedLanguagePretrainer

    (texts, labels), _ = languages
    keras.utils.set_random_seed(0)
    mine = MaskedLanguagePretrainer(tower_options={"hidden_dim": 16, "num_layers": 1, "num_heads": 2}, seed=0)
    mine.fit(texts, steps_per_epoch=1, verbose=0)
    composed = ComposedModel(mine.embedder, [mine], preprocessor=mine.preprocessor)
    trainable, read = len(mine.tower.trainable_weights), [w.copy() for w in composed.id_model.get_weights()]
    classifier = TextClassifier(composed, normalize=normalize, seed=0, batch_size=16)
    classifier.fit(texts, labels, steps_per_epoch=2, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(read, composed.id_model.get_weights()))  # frozen while read
    assert mine.tower.trainable and len(mine.tower.trainable_weights) == trainable > 0
    before = [w.copy() for w in mine.tower.get_weights()]
    mine.fit(texts, steps_per_epoch=2, verbose=0)
    assert any(not np.array_equal(a, b) for a, b in zip(before, mine.tower.get_weights()))


def test_a_head_fitted_on_parts_a_pretrainer_then_trained_is_not_saved_until_fitted_again(languages, tmp_path):
    from cclm.pretraining import MaskedLanguagePretrainer

    (texts, labels), _ = languages
    mine = MaskedLanguagePretrainer(tower_options={"hidden_dim": 16, "num_layers": 1, "num_heads": 2}, seed=0,
                                    train_embedder=False)
    mine.fit(texts, steps_per_epoch=1, verbose=0)
    classifier = TextClassifier(ComposedModel(mine.embedder, [mine], preprocessor=mine.preprocessor), seed=0)
    classifier.fit(texts, labels)
    mine.fit(texts, steps_per_epoch=1, verbose=0)  # its tower moves on: the head no longer matches what it reads
    with pytest.raises(ValueError, match="weights changed after 'text_classifier' was fitted.*Fit it again"):
        classifier.save(tmp_path / "stale")
    assert not (tmp_path / "stale").exists()
    classifier.fit(texts, labels)
    classifier.save(tmp_path / "fresh")
    np.testing.assert_allclose(TextClassifier.load(tmp_path / "fresh").predict(texts[:5]), classifier.predict(texts[:5]),
                               atol=1e-5)


def test_unknown_validation_labels_are_refused_before_the_head_changes(languages):
    (texts, labels), (test_texts, test_labels) = languages
    classifier = TextClassifier(composition(texts), seed=0)
    classifier.fit(texts, labels)
    head, ngrams, card = classifier.head.get_weights(), classifier.ngram_logits.get_weights(), dict(classifier.card)
    with pytest.raises(ValueError, match=r"labels \['xx_XX'\] are not among.*drop the validation texts"):
        classifier.fit(texts[:60], labels[:60], validation_data=(test_texts[:2], ["xx_XX", test_labels[0]]))
    assert all(np.array_equal(a, b) for a, b in zip(head + ngrams, classifier.head.get_weights()
                                                     + classifier.ngram_logits.get_weights()))
    assert classifier.card == card


def test_with_noisy_readings_the_leave_one_out_accuracy_is_the_clean_fit_s(languages):
    (texts, labels), _ = languages
    rng = np.random.default_rng(0)
    shuffled = list(rng.permutation(labels))  # labels unrelated to the texts: chance, not 1.0
    composed = composition(texts)
    plain = TextClassifier(composed, seed=0).fit(texts, shuffled).history["loo_accuracy"][0]
    noisy = TextClassifier(composed, seed=0, transforms=[lambda text: text + " "])
    assert noisy.fit(texts, shuffled, epochs=2).history["loo_accuracy"][0] == plain < 0.6
    assert noisy.card["metrics"]["loo_accuracy"] == pytest.approx(plain, abs=1e-4)  # the card rounds


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True])
def test_a_bad_batch_size_is_refused_by_name(languages, batch_size):
    (texts, labels), _ = languages
    classifier = TextClassifier(composition(texts), seed=0)
    classifier.fit(texts[:30], labels[:30])
    with pytest.raises(ValueError, match=f"batch_size={batch_size!r}; give the texts run at once"):
        classifier.predict(texts[:3], batch_size=batch_size)
    with pytest.raises(ValueError, match=f"batch_size={batch_size!r}"):
        classifier.evaluate((texts[:3], labels[:3]), batch_size=batch_size)
