import keras
import numpy as np
import pytest
import tensorflow as tf

from cclm import Preprocessor
from cclm.data.encoding import utf8_bytes
from cclm.layers import CharacterEncoder
from cclm.preprocessing.normalization import prefix_length


@pytest.fixture(scope="module")
def multilingual_prep(multilingual_texts, docs_texts):
    # Fit on part of the text so the rest also exercises unknown characters.
    return Preprocessor(sequence_length=96, downsample_factor=4).fit(
        multilingual_texts[::2] + docs_texts[:200], progress=False
    )


def graph_ids(layer, texts):
    return layer(tf.constant([utf8_bytes(t) for t in texts])).numpy()


@pytest.mark.parametrize(
    "options",
    [{}, {"lowercase": True}, {"add_cls": True}, {"normalization": None}, {"normalization": "NFKC"}],
)
def test_in_graph_ids_equal_encode_on_multilingual_text(multilingual_texts, docs_texts, options):
    prep = Preprocessor(sequence_length=96, downsample_factor=4, **options).fit(
        multilingual_texts[::2] + docs_texts[:200], progress=False
    )
    texts = multilingual_texts + docs_texts[200:300]
    assert (prep.encode(texts) == 1).any()  # unknown characters are part of the check
    np.testing.assert_array_equal(graph_ids(prep.as_layer(), texts), prep.encode(texts))


def test_in_graph_normalizes_decomposed_text_like_encode(multilingual_prep, multilingual_texts):
    import unicodedata

    decomposed = [unicodedata.normalize("NFD", t) for t in multilingual_texts]
    np.testing.assert_array_equal(
        graph_ids(multilingual_prep.as_layer(), decomposed), multilingual_prep.encode(decomposed)
    )


def test_surrogates_and_invalid_utf8_become_unknown_ids(multilingual_prep):
    layer = multilingual_prep.as_layer()
    texts = ["a\ud800b", "x\udc00\ud800y"]
    np.testing.assert_array_equal(graph_ids(layer, texts), multilingual_prep.encode(texts))
    invalid = layer(tf.constant([b"a\xffb"])).numpy()
    assert invalid[0, 1] == 1 and invalid[0, 3] == 0


def test_works_inside_tf_data(multilingual_prep, multilingual_texts):
    layer = multilingual_prep.as_layer()
    dataset = tf.data.Dataset.from_tensor_slices([utf8_bytes(t) for t in multilingual_texts])
    batches = dataset.batch(32).map(layer, num_parallel_calls=tf.data.AUTOTUNE)
    np.testing.assert_array_equal(
        np.concatenate([b.numpy() for b in batches]), multilingual_prep.encode(multilingual_texts)
    )


def test_first_layer_of_a_model_taking_raw_strings(tmp_path, multilingual_prep, multilingual_texts):
    texts = keras.Input(shape=(), dtype="string")
    ids = multilingual_prep.as_layer()(texts)
    model = keras.Model(texts, keras.layers.Embedding(multilingual_prep.vocab_size, 4)(ids))
    strings = tf.constant([utf8_bytes(t) for t in multilingual_texts[:8]])
    expected = model(strings).numpy()
    path = tmp_path / "raw-strings.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(reloaded(strings).numpy(), expected)


def test_config_round_trip_rebuilds_the_same_mapping(multilingual_prep, multilingual_texts):
    layer = multilingual_prep.as_layer()
    clone = CharacterEncoder.from_config(layer.get_config())
    np.testing.assert_array_equal(graph_ids(clone, multilingual_texts), graph_ids(layer, multilingual_texts))


def test_as_layer_needs_a_length():
    with pytest.raises(ValueError, match="sequence_length"):
        Preprocessor(sequence_length=None).fit(["abc"], progress=False).as_layer()


def test_only_what_the_window_keeps_is_normalized_in_both_paths():
    # A combining run longer than the normalized prefix: the final U+0301 would compose
    # with the "e" if the whole text were normalized (U+0316 does not block it), so the
    # first id shows how much was read. Both paths read the same prefix.
    prep = Preprocessor(sequence_length=64, downsample_factor=4).fit(["e\u0301\u0316 abc"], progress=False)
    hostile = "e" + "\u0316" * prefix_length(64) + "\u0301"
    ids = prep.encode([hostile, "e\u0316\u0301"])
    np.testing.assert_array_equal(graph_ids(prep.as_layer(), [hostile, "e\u0316\u0301"]), ids)
    assert ids[0, 0] == prep.character_id("e")
    assert ids[1, 0] == prep.character_id("\u00e9")  # a short run still composes, as before
    assert (ids[0, 1:] == prep.character_id("\u0316")).all()


def test_one_unbatched_string_is_refused_with_the_fix(multilingual_prep):
    layer = multilingual_prep.as_layer()
    with pytest.raises(ValueError, match=r"got one string: pass \[text\], or batch a tf.data.Dataset"):
        layer(tf.constant("hello"))
    with pytest.raises(ValueError, match="batch a tf.data.Dataset before mapping it"):
        tf.data.Dataset.from_tensor_slices(["a", "b"]).map(layer)
