import keras
import numpy as np
import pytest

from cclm import Preprocessor, load_component
from cclm.components import ComponentError
from cclm.models.embedder import Embedder
from cclm.models.freezing import set_trainable
from cclm.models.tower import Tower


@pytest.fixture(scope="module")
def prep(docs_texts):
    return Preprocessor(sequence_length=64, downsample_factor=4).fit(docs_texts[:300], progress=False)


@pytest.fixture()
def embedder(prep):
    keras.utils.set_random_seed(0)
    return Embedder(vocab_size=prep.vocab_size, hidden_dim=16, num_blocks=2, kernel_size=3, max_length=64)


def test_output_shape_mask_and_zero_padding(prep, embedder):
    ids = prep.encode(["short", "a somewhat longer text", ""])
    vectors = embedder(ids)
    assert tuple(vectors.shape) == (3, 64, 16)
    np.testing.assert_array_equal(np.asarray(vectors._keras_mask), ids != 0)
    vectors = np.asarray(vectors)
    assert np.abs(vectors[ids == 0]).max() == 0.0
    assert (np.abs(vectors[ids != 0]).sum(axis=-1) > 0).all() and np.isfinite(vectors).all()


def test_vectors_do_not_depend_on_how_much_padding_follows(prep, embedder):
    short = np.asarray(embedder(prep.encode(["padding must not matter"], length=32)))
    long = np.asarray(embedder(prep.encode(["padding must not matter"], length=64)))
    np.testing.assert_allclose(short[0, :23], long[0, :23], rtol=1e-5, atol=1e-6)


def test_get_config_round_trip(embedder):
    clone = Embedder.from_config(embedder.get_config())
    assert clone.get_config() == embedder.get_config()
    assert clone.count_params() == embedder.count_params()


def test_save_load_identical_outputs_and_fingerprint(tmp_path, prep, embedder, docs_texts):
    ids = prep.encode(docs_texts[:16])
    expected = np.asarray(embedder(ids))
    path = embedder.save(tmp_path / "embedder")
    assert sorted(p.name for p in path.iterdir()) == ["README.md", "manifest.json", "model.weights.h5"]
    loaded = Embedder.load(path)
    assert type(load_component(path)) is Embedder
    np.testing.assert_array_equal(np.asarray(loaded(ids)), expected)
    assert loaded.fingerprint == embedder.fingerprint


def test_fingerprint_changes_after_one_training_step(prep, embedder, docs_texts):
    before = embedder.fingerprint
    assert before == embedder.fingerprint  # stable while nothing changes
    ids = prep.encode(docs_texts[:8])
    model = keras.Sequential([embedder, keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.train_on_batch(ids, np.array([0, 1] * 4))
    assert embedder.fingerprint != before


def test_keras_native_file_still_works_with_safe_mode(tmp_path, prep, embedder):
    ids = prep.encode(["keras format"])
    path = tmp_path / "embedder.keras"
    embedder.save(path)
    reloaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(reloaded, Embedder)
    np.testing.assert_array_equal(np.asarray(reloaded(ids)), np.asarray(embedder(ids)))


def test_damaged_weights_fail_clearly(tmp_path, embedder):
    path = embedder.save(tmp_path / "embedder")
    weights = path / "model.weights.h5"
    weights.write_bytes(weights.read_bytes()[:200])
    with pytest.raises(ComponentError, match="damaged or truncated"):
        Embedder.load(path)


def test_loading_the_wrong_kind_names_both(tmp_path, prep):
    path = prep.save(tmp_path / "prep")
    with pytest.raises(ComponentError, match="holds a 'preprocessor' component, not a 'embedder'"):
        Embedder.load(path)


@pytest.mark.parametrize("kind", ["embedder", "tower"])
def test_trainable_false_reaches_every_layer_when_built_and_when_loaded(tmp_path, kind):
    # Keras alone builds a functional model with trainable=False whose layers still train.
    make = {"embedder": lambda **kw: Embedder(vocab_size=20, hidden_dim=8, num_blocks=1, max_length=16, **kw),
            "tower": lambda **kw: Tower(input_dim=8, hidden_dim=8, num_layers=1, num_heads=2, max_length=16, **kw)}[kind]
    frozen = make(trainable=False)
    assert not frozen.trainable and frozen.layers and not any(layer.trainable for layer in frozen.layers)
    rebuilt = type(frozen).from_config(frozen.get_config())
    assert not any(layer.trainable for layer in rebuilt.layers)
    # Freezing again reaches a layer unfrozen by hand, although the model already reads
    # trainable=False (Keras skips assigning a value the flag already has); unfreezing reaches all.
    rebuilt.layers[-1].trainable = True
    set_trainable(rebuilt, False)
    assert not any(layer.trainable for layer in rebuilt.layers)
    set_trainable(rebuilt, True)
    assert all(layer.trainable for layer in rebuilt.layers) and rebuilt.trainable_weights


@pytest.mark.parametrize("field", ["vocab_size", "ngram_buckets", "hidden_dim", "max_length"])
def test_a_manifest_asking_for_terabytes_is_a_component_error(tmp_path, embedder, field):
    import json

    directory = embedder.save(tmp_path / "embedder")
    manifest = json.loads((directory / "manifest.json").read_text())
    manifest["config"][field] = 10**12
    (directory / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ComponentError, match=f"{field}=1000000000000; use a positive int of at most"):
        load_component(directory)


def test_an_empty_batch_gives_empty_vectors_eagerly_and_in_a_graph():
    """tf.distribute gives a worker an empty batch when its shard runs out first (TF's convolutions mis-shape it)."""
    import tensorflow as tf

    embedder = Embedder(32, 50, hidden_dim=16, max_ngram=3, ngram_buckets=64)
    tower = Tower(input_dim=16, hidden_dim=24, num_layers=1, num_heads=2, max_length=32)
    both = tf.function(lambda ids: tower(embedder(ids)))
    for run in (lambda ids: tower(embedder(ids)), both):
        assert tuple(run(tf.zeros((0, 32), "int32")).shape) == (0, 32, tower.output_dim)
    ids = np.random.default_rng(0).integers(1, 50, (3, 32)).astype("int32")
    np.testing.assert_allclose(both(tf.constant(ids)).numpy(), tower(embedder(ids)).numpy(), atol=1e-5)
