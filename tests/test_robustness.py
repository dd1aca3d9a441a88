"""Bad input and faults: generated inputs, empty documents, NaN losses, damaged components."""

import hashlib
import json
import re
from collections import Counter
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cclm import Preprocessor, load_component
from cclm.training.callbacks import NonFiniteLossError
from cclm.components import ComponentError
from cclm.pretraining.masked_language_pretrainer import MaskedLanguagePretrainer
from cclm.classification.text_classifier import TextClassifier
from tests.classification.test_text_classifier import composition

SURROGATE = re.compile("[\ud800-\udfff]")
TINY = {"hidden_dim": 8, "num_layers": 1, "num_heads": 2, "intermediate_dim": 16}

# Any code point, lone surrogates included; and cheap huge strings (a short piece repeated).
any_text = st.text(st.characters(exclude_categories=()), max_size=80)
huge_text = st.builds(lambda piece, times: piece * times, st.text(min_size=1, max_size=4), st.integers(500, 5_000))
batches = st.lists(st.one_of(*[any_text] * 9, huge_text), min_size=20, max_size=32)


@pytest.fixture(scope="module")
def classifier(multilingual_texts):
    texts = multilingual_texts
    model = TextClassifier(composition(texts), labels=["even", "odd"], seed=0, batch_size=16)
    model.fit((texts, ["even", "odd"] * (len(texts) // 2) + ["even"] * (len(texts) % 2)), epochs=1, verbose=0)
    return model


def test_ten_thousand_generated_inputs_through_encode_and_predict(classifier):
    prep = classifier.preprocessor
    # The whole classifier (composition, head and n-gram features) behind the in-graph preprocessor.
    strings = keras.Input(shape=(), dtype="string")
    string_model = tf.function(keras.Model(strings, classifier.model(prep.as_layer()(strings))), reduce_retracing=True)
    id_model = tf.function(classifier.model, reduce_retracing=True)
    seen = Counter()

    @settings(max_examples=450, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(batches)
    def check(texts):
        ids = prep.encode(texts)
        assert ids.shape == (len(texts), prep.sequence_length) and ids.dtype == np.int32
        assert ids.min() >= 0 and ids.max() < prep.vocab_size
        # Every text that has a character gives at least one non-padding id.
        assert all((row != 0).any() == (len(text) > 0) for row, text in zip(ids, texts))
        from_ids = np.asarray(id_model(ids))
        # A str with lone surrogates is not UTF-8; as bytes for the graph, each becomes U+FFFD as encode reads it.
        utf8 = [SURROGATE.sub("\ufffd", t).encode("utf-8") for t in texts]
        from_strings = np.asarray(string_model(tf.constant(utf8)))
        assert np.isfinite(from_ids).all()
        np.testing.assert_allclose(from_strings, from_ids, atol=1e-4)
        seen["texts"] += len(texts)
        seen["huge"] += sum(len(t) >= 1000 for t in texts)

    check()
    print(f"{seen['texts']:,} generated texts ({seen['huge']:,} of 1,000+ characters) through encode and predict")
    assert seen["texts"] >= 10_000 and seen["huge"] >= 300


def test_wrong_types_and_empty_batches_get_clear_answers(classifier):
    prep = classifier.preprocessor
    for bad, message in [("one text", "single str"), ([b"bytes"], r"texts\[0\] is bytes"), ([None], "texts\\[0\\] is NoneType"),
                         (["ok", 3], r"texts\[1\] is int"), (42, "expected a list of str"), ([["nested"]], "flat list")]:
        with pytest.raises(TypeError, match=message):
            prep.encode(bad)
        if isinstance(bad, str):  # one string is one text to a classifier
            assert classifier.predict(bad).shape == (2,)
            continue
        with pytest.raises(TypeError, match=message):
            classifier.predict(bad)
    assert prep.encode([]).shape == (0, prep.sequence_length)
    assert classifier.predict_labels([]) == [] and classifier.predict([]).shape == (0, 2)
    with pytest.raises(TypeError, match="labels"):
        classifier.fit([1, 2, 3], verbose=0)
    with pytest.raises(TypeError, match="expected str"):
        Preprocessor().fit([b"bytes"], progress=False)


def test_empty_documents_are_skipped_and_counted(tmp_path):
    texts = ["a real text about cats", "", "   ", "\n\t", "another real text"] * 4
    pretrainer = MaskedLanguagePretrainer(tower_options=TINY, seed=0, batch_size=4,
                                          preprocessor=Preprocessor(sequence_length=32, downsample_factor=4))
    pretrainer.fit(texts, epochs=2, verbose=0)
    assert (pretrainer.stats.used, pretrainer.stats.empty) == (16, 24)
    card = (pretrainer.save(tmp_path / "mlm") / "README.md").read_text()
    assert "documents per pass: 8" in card and "empty documents skipped per pass: 12" in card
    with pytest.raises(ValueError, match="no usable text: 3 empty"):
        pretrainer.fit(["", " ", "\n"], verbose=0)


class Diverge(keras.callbacks.Callback):
    """Makes training diverge at the start of epoch 2, as an exploding learning rate would."""

    def __init__(self, checkpoint: Path):
        super().__init__()
        self.checkpoint = checkpoint
        self.digest = None

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 1:
            self.digest = hashlib.sha256(self.checkpoint.read_bytes()).hexdigest()
            weight = self.model.trainable_weights[0]
            weight.assign(tf.fill(weight.shape, float("nan")))


def test_a_nan_loss_stops_training_and_the_last_good_checkpoint_survives(docs_texts, tmp_path):
    checkpoint = tmp_path / "last.weights.h5"
    pretrainer = MaskedLanguagePretrainer(tower_options=TINY, seed=0, batch_size=8,
                                          preprocessor=Preprocessor(sequence_length=32, downsample_factor=4))
    diverge = Diverge(checkpoint)
    saver = keras.callbacks.ModelCheckpoint(str(checkpoint), save_weights_only=True)
    with pytest.raises(NonFiniteLossError, match=r"became nan at epoch 2, batch 1 .*checkpoints written earlier are intact"):
        pretrainer.fit(docs_texts[:64], epochs=3, callbacks=[diverge, saver], verbose=0)
    assert hashlib.sha256(checkpoint.read_bytes()).hexdigest() == diverge.digest
    pretrainer.training_model.load_weights(checkpoint)
    assert all(np.isfinite(w).all() for w in pretrainer.training_model.get_weights())
    assert np.isfinite(pretrainer.fit(docs_texts[:64], epochs=1, verbose=0).history["loss"]).all()


@pytest.fixture()
def saved_classifier(classifier, tmp_path):
    return classifier.save(tmp_path / "classifier")


@pytest.mark.parametrize("part", ["head.weights.h5", "composed/towers/0.weights.h5", "composed/embedder/model.weights.h5",
                                  "preprocessor/manifest.json", "composed/manifest.json"])
def test_truncated_files_fail_clearly(saved_classifier, part):
    path = saved_classifier / part
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ComponentError, match="damaged or truncated"):
        load_component(saved_classifier)


def test_a_manifest_naming_foreign_code_executes_nothing(saved_classifier, tmp_path):
    marker = tmp_path / "executed"
    manifest_path = saved_classifier / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    for kind in ("keras.layers.Lambda", "builtins.exec", "os.system"):
        manifest["kind"] = kind
        manifest_path.write_text(json.dumps(manifest))
        with pytest.raises(ComponentError, match="does not know"):
            load_component(saved_classifier)
    # Config values are data: a constructor argument that is not ours is refused, never evaluated.
    manifest["kind"] = "text_classifier"
    manifest["config"]["pooling"] = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(ComponentError, match="pooling="):
        load_component(saved_classifier)
    manifest["config"]["class_name"] = "builtins.eval"
    manifest["config"]["pooling"] = "mean"
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(ComponentError, match="class_name"):
        load_component(saved_classifier)
    assert not marker.exists()
