import json
import subprocess
import sys
import unicodedata

import keras
import numpy as np
import pytest

from cclm import Preprocessor
from cclm.classification.text_classifier import TextClassifier
from cclm.data.sample_text import language_sentences
from cclm.models.composed_model import ComposedModel
from cclm.models.embedder import Embedder
from cclm.models.tower import Tower

# A fresh interpreter with TensorFlow and tensorflow-text only: it must serve without cclm. Paths marked
# "plain:" come first and load before tensorflow-text is imported: TensorFlow alone must serve them.
SERVE = """
import json, sys
import tensorflow as tf
texts = json.loads(sys.argv[1])
answers = []
for path in sys.argv[2:]:
    if path.startswith("plain:"):
        assert "tensorflow_text" not in sys.modules
        path = path[len("plain:"):]
    else:
        import tensorflow_text  # noqa: F401  (registers NormalizeUTF8)
    served = tf.saved_model.load(path)
    outputs = served.signatures["serving_default"](texts=tf.constant(texts))
    answers.append({key: value.numpy().tolist() for key, value in outputs.items()})
assert not [name for name in sys.modules if name.split(".")[0] == "cclm"], "cclm was imported"
print(json.dumps(answers, default=bytes.decode))
"""


def serve_in_fresh_process(texts, *paths):
    done = subprocess.run([sys.executable, "-c", SERVE, json.dumps(texts), *map(str, paths)],
                          check=False, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def classifier():
    texts, labels = language_sentences(("de_DE", "it_IT", "pl_PL"), per_language=30, words=5)
    keras.utils.set_random_seed(0)
    prep = Preprocessor(sequence_length=64, downsample_factor=4).fit(texts, progress=False)
    embedder = Embedder(vocab_size=prep.vocab_size, hidden_dim=16, num_blocks=1, max_length=64, seed=0)
    tower = Tower(input_dim=16, hidden_dim=16, num_layers=1, num_heads=2, intermediate_dim=32, max_length=64)
    classifier = TextClassifier(ComposedModel(embedder, [tower], preprocessor=prep), seed=0)
    classifier.fit((texts, labels), verbose=0)
    return classifier


def test_an_exported_classifier_and_composition_serve_raw_strings_without_cclm(classifier, tmp_path):
    texts = ["Guten Morgen, wie geht es dir heute?", "Buongiorno a tutti", "Dzień dobry, café\u0301 ✓",
             "Cafe\u0301 in A\u030angstro\u0308m"]  # the last decomposed: NFC changes it
    composed = classifier.composed
    with pytest.raises(ValueError, match="tensorflow_text=True to normalize in the export"):
        classifier.export(tmp_path / "undecided")  # the preprocessor normalizes (NFC): the exporter must choose
    assert not (tmp_path / "undecided").exists()
    exported = classifier.export(tmp_path / "exported", tensorflow_text=True)
    assert "import tensorflow_text" in (exported / "README.txt").read_text()
    plain = composed.export(tmp_path / "composition", tensorflow_text=False)
    assert "needs TensorFlow alone" in (plain / "README.txt").read_text()
    vectors, served = serve_in_fresh_process(texts, f"plain:{plain}", exported)
    assert served["labels"] == classifier.predict_labels(texts)
    np.testing.assert_allclose(served["probabilities"], classifier.predict(texts), atol=1e-5)
    # TensorFlow alone reads texts as given: a text in NFC gets the composition's vectors, the other does not.
    ids = composed.preprocessor.encode(texts)
    nfc = [text == unicodedata.normalize("NFC", text) for text in texts]
    assert nfc == [True, True, True, False]
    expected = composed.id_model.predict(ids, verbose=0)
    np.testing.assert_allclose(np.array(vectors["vectors"])[nfc], expected[nfc], atol=1e-5)
    assert not np.array_equal(np.array(vectors["mask"])[3], ids[3] != 0)
    assert np.array_equal(np.array(vectors["mask"])[nfc], (ids != 0)[nfc])


def test_export_refuses_a_keras_file_name_and_keeps_what_exists(classifier, tmp_path):
    with pytest.raises(ValueError, match="SavedModel directory"):
        classifier.export(tmp_path / "model.keras", tensorflow_text=True)
    path = classifier.export(tmp_path / "exported", tensorflow_text=True)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        classifier.export(path, overwrite=False, tensorflow_text=True)
    assert (path / "saved_model.pb").is_file() and not list(tmp_path.glob(".exported.*"))


def test_in_sorted_batches_gives_every_text_its_own_row_in_order():
    import tensorflow as tf

    from cclm.components.serving import in_sorted_batches

    ids = keras.Input(shape=(None,), dtype="int32")
    lengths = keras.ops.sum(keras.ops.cast(ids != 0, "int32"), axis=1, keepdims=True)
    model = keras.Model(ids, keras.ops.concatenate([lengths, keras.ops.sum(ids, axis=1, keepdims=True)], axis=1))
    batch = np.array([[3, 4, 5, 0], [1, 0, 0, 0], [2, 2, 0, 0], [0, 0, 0, 0], [9, 9, 9, 9]], "int32")
    batched = tf.function(lambda ids: in_sorted_batches(model, ids, batch_size=2))
    np.testing.assert_array_equal(batched(tf.constant(batch)), np.asarray(model(batch)))
    assert tuple(batched(tf.zeros((0, 4), tf.int32)).shape) == (0, 2)


def test_in_sorted_batches_with_trim_to_gives_each_batch_ids_up_to_its_own_longest_text():
    import tensorflow as tf

    from cclm.components.serving import in_sorted_batches
    from cclm.models.bucketed_prediction import CompiledBatches

    ids = keras.Input(shape=(None,), dtype="int32")
    width = keras.layers.Lambda(lambda x: tf.fill([tf.shape(x)[0], 1], tf.cast(tf.shape(x)[1], "float32")),
                                output_shape=(1,))(ids)  # the width each batch got
    total = keras.ops.cast(keras.ops.sum(ids, axis=1, keepdims=True), "float32")
    model = keras.Model(ids, keras.ops.concatenate([width, total], axis=1))
    batch = np.zeros((5, 12), "int32")
    for row, length in enumerate([9, 1, 2, 0, 5]):
        batch[row, :length] = row + 1
    batched = tf.function(lambda ids: in_sorted_batches(model, ids, batch_size=2, trim_to=4))
    out = np.asarray(batched(tf.constant(batch)))
    # batches by length: rows 3 and 1 (0 and 1 ids) -> width 4, rows 2 and 4 (2, 5) -> 8, row 0 (9) -> 12
    np.testing.assert_array_equal(out[:, 0], [12, 4, 8, 4, 8])
    np.testing.assert_array_equal(out[:, 1], batch.sum(axis=1))
    np.testing.assert_array_equal(CompiledBatches(model, batch_size=2, trim_to=4)(batch), out)


def test_encode_to_longest_gives_the_encoders_ids_up_to_the_batchs_longest_text():
    import tensorflow as tf

    from cclm.components.serving import encode_to_longest

    prep = Preprocessor(sequence_length=64, downsample_factor=4, add_cls=True).fit(["hello world"], progress=False)
    encoder = prep.as_layer()
    texts = tf.constant(["hello", "hello world, again", ""])
    ids = np.asarray(encode_to_longest(encoder, texts, 4))
    assert ids.shape == (3, 20)  # cls + 18 characters, rounded up to 4
    np.testing.assert_array_equal(ids, np.asarray(encoder(texts))[:, :20])
    assert np.asarray(encode_to_longest(encoder, tf.constant(["", ""]), 4)).shape == (2, 4)


def test_export_overwrites_only_an_earlier_export(tmp_path):
    from cclm.components.serving import export_for_serving
    from cclm.preprocessing.character_encoder import CharacterEncoder

    encoder = CharacterEncoder(characters=["a", "b"], sequence_length=4)
    model = keras.Sequential([keras.Input((4,), dtype="int32"), keras.layers.Embedding(7, 2)])

    def export(path):
        return export_for_serving(path, encoder, model, lambda ids, out: {"vectors": out}, tensorflow_text=False)

    notes = tmp_path / "mine" / "notes.txt"
    notes.parent.mkdir()
    notes.write_text("keep me")
    with pytest.raises(FileExistsError, match="is not an earlier export"):
        export(notes.parent)
    assert notes.read_text() == "keep me"
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError, match="is not an earlier export"):
        export(tmp_path / "file")
    first = export(tmp_path / "exported")
    assert export(first) == first and (first / "saved_model.pb").is_file()  # an earlier export is replaced
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exported", "file", "mine"]  # nothing left beside it
