from collections import Counter

import keras
import numpy as np
import pytest

from cclm import Preprocessor
from cclm.classification.wide_ridge import tfidf_weights
from cclm.layers.hashed_ngram_embedding import HashedNgramEmbedding, hashed_ngrams
from cclm.layers.ngram_logits import NgramLogits, case_folding


def test_the_bag_counts_each_distinct_ngram_of_a_text_once_and_ignores_padding():
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 6, (5, 12)).astype("int32")  # few ids: n-grams repeat
    ids[1, 7:], ids[3, 2:], ids[4, :] = 0, 0, 0
    layer = NgramLogits(num_labels=2, max_n=3, buckets=1 << 20)
    rows, counts = (np.asarray(part) for part in layer.bag(ids))
    hashes = np.asarray(hashed_ngrams(ids, layer.buckets, 1, 3))
    for text in range(len(ids)):
        expected = Counter(int(h) for position in np.nonzero(ids[text])[0] for h in hashes[text, position])
        found = {int(r): float(c) for r, c in zip(rows[text], counts[text]) if c > 0}
        assert found == expected
        assert list(rows[text]) == sorted(rows[text])
    assert not counts[4].any()  # an empty text has no n-gram
    # n = 2..max_n are the rows HashedNgramEmbedding uses, so the two layers hash alike.
    table = HashedNgramEmbedding(buckets=layer.buckets, output_dim=2, max_n=3)
    np.testing.assert_array_equal(np.asarray(table.bucket_ids(ids)), hashes[:, :, 1:])


def test_the_logits_are_the_unit_tfidf_vector_times_the_kernel():
    rng = np.random.default_rng(1)
    ids = rng.integers(1, 30, (4, 16)).astype("int32")
    ids[2, 5:] = 0
    layer = NgramLogits(num_labels=3, max_n=4, buckets=97)
    layer(ids)
    idf, kernel = rng.uniform(1, 3, 97).astype("float32"), rng.normal(size=(97, 3)).astype("float32")
    layer.set_weights([idf, kernel])
    rows, counts = (np.asarray(part) for part in layer.bag(ids))
    weights = tfidf_weights(rows, counts, idf)
    np.testing.assert_allclose(np.sqrt((weights**2).sum(axis=1)), 1, rtol=1e-6)
    expected = np.einsum("ts,tsl->tl", weights, kernel[rows])
    np.testing.assert_allclose(np.asarray(layer(ids)), expected, rtol=1e-4, atol=1e-5)
    assert not layer.trainable_weights  # set from data, never by gradient


def test_case_folding_reads_upper_and_lower_case_alike(tmp_path):
    prep = Preprocessor(sequence_length=32).fit(["Hello World", "hello world", "ÉTÉ été"], progress=False)
    fold = case_folding(prep)
    assert fold[prep.character_id("H")] == prep.character_id("h") and fold[prep.character_id("É")] == prep.character_id("é")
    assert fold[prep.character_id(" ")] == prep.character_id(" ") and fold[0] == 0
    ids = prep.encode(["Hello ÉTÉ", "hello été"])
    folded, plain = NgramLogits(2, max_n=3, buckets=512, fold=fold), NgramLogits(2, max_n=3, buckets=512)
    for layer in (folded, plain):
        layer(ids)
        layer.set_weights([np.ones(512, "float32"), np.random.default_rng(0).normal(size=(512, 2)).astype("float32")])
    logits = np.asarray(folded(ids))
    np.testing.assert_allclose(logits[0], logits[1], rtol=1e-5)
    assert not np.allclose(np.asarray(plain(ids))[0], np.asarray(plain(ids))[1])
    # Keras serialization keeps the fold; the weights save and load.
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(folded))
    assert again.fold == fold and again.get_config() == folded.get_config()
    again(ids)
    folded.save_weights(tmp_path / "ngrams.weights.h5")
    again.load_weights(tmp_path / "ngrams.weights.h5")
    np.testing.assert_allclose(np.asarray(again(ids)), logits, rtol=1e-6)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="buckets=0"):
        NgramLogits(2, max_n=4, buckets=0)


def test_padding_past_the_longest_text_costs_nothing_and_changes_nothing():
    layer = NgramLogits(num_labels=3, max_n=3, buckets=64)
    layer.build((None, None))
    layer.idf.assign(np.linspace(1.0, 2.0, 64).astype("float32"))
    layer.kernel.assign(np.random.default_rng(0).normal(size=(64, 3)).astype("float32"))
    short = np.array([[5, 6, 7, 0], [8, 0, 0, 0]], "int32")
    long = np.pad(short, ((0, 0), (0, 60)))
    rows, counts = layer.bag(long)
    assert tuple(rows.shape) == tuple(counts.shape) == (2, 3 * 3)  # the longest text's 3 positions, 3 n-grams each
    np.testing.assert_allclose(np.asarray(layer(long)), np.asarray(layer(short)), atol=1e-6)
