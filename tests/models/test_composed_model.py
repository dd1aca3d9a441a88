import keras
import numpy as np
import pytest
import tensorflow as tf

from cclm import Preprocessor
from cclm.models.composed_model import ComposedModel
from cclm.models.embedder import Embedder
from cclm.models.heads import character_tagger, sequence_classifier
from cclm.models.tower import Tower
from cclm.pretraining.categorical_pretrainer import CategoricalPretrainer
from cclm.pretraining.masked_language_pretrainer import MaskedLanguagePretrainer


def tower_options(width):
    return {"hidden_dim": width, "num_layers": 1, "num_heads": 2, "intermediate_dim": 2 * width, "max_length": 64}


@pytest.fixture(scope="module")
def texts(docs_texts):
    return docs_texts[:96]


@pytest.fixture(scope="module")
def trained(texts):
    """An MLM tower that trained the embedder, and a categorical tower trained on it, frozen."""
    keras.utils.set_random_seed(0)
    prep = Preprocessor(sequence_length=32, downsample_factor=4).fit(texts, progress=False)
    embedder = Embedder(vocab_size=prep.vocab_size, hidden_dim=16, num_blocks=1, max_length=64)
    common = {"preprocessor": prep, "batch_size": 16, "seed": 0}
    mlm = MaskedLanguagePretrainer(embedder=embedder, tower_options=tower_options(16), name="mlm", **common)
    mlm.fit(texts, verbose=0)
    labels = ["code" if "(" in text else "prose" for text in texts]
    categorical = CategoricalPretrainer(
        embedder=embedder, train_embedder=False, tower_options=tower_options(8), name="kind", **common
    )
    categorical.fit((texts, labels), verbose=0)
    return prep, embedder, mlm, categorical


def test_outputs_are_the_towers_side_by_side_at_every_character(trained, texts):
    prep, embedder, mlm, categorical = trained
    composed = ComposedModel(embedder, [mlm, categorical])
    ids = prep.encode(texts[:4])
    outputs = np.asarray(composed.model(ids))
    assert outputs.shape == (4, 32, 24) and composed.output_dim == 24
    vectors = embedder(ids)
    np.testing.assert_allclose(outputs[..., :16], mlm.tower(vectors), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(outputs[..., 16:], categorical.tower(vectors), rtol=1e-5, atol=1e-6)
    assert len([layer for layer in composed.model.layers if isinstance(layer, Embedder)]) == 1  # embedded once


def test_raw_string_input_gives_the_id_outputs(trained, texts):
    prep, embedder, mlm, categorical = trained
    composed = ComposedModel(embedder, [mlm, categorical], preprocessor=prep)
    from_strings = composed.model(tf.constant(texts[:6]))
    from_ids = composed.id_model(prep.encode(texts[:6]))
    np.testing.assert_allclose(from_strings, from_ids, rtol=1e-5, atol=1e-6)


def test_towers_from_tower_models_and_saved_directories(tmp_path, trained, texts):
    prep, embedder, mlm, categorical = trained
    path = categorical.save(tmp_path / "kind")
    composed = ComposedModel(embedder, [mlm.tower, path])
    ids = prep.encode(texts[:3])
    np.testing.assert_allclose(composed.model(ids), ComposedModel(embedder, [mlm, categorical]).model(ids), rtol=1e-6)
    untrained = Tower(input_dim=16, name="fresh", **tower_options(8))
    assert ComposedModel(embedder, [mlm, untrained]).output_dim == 24  # random initialization is allowed


def test_a_tower_trained_on_another_embedder_is_refused_with_the_reason_and_remedy(trained, texts):
    prep, embedder, mlm, _ = trained
    other = MaskedLanguagePretrainer(preprocessor=prep, tower_options=tower_options(8), name="other", seed=1,
                                     embedder=Embedder(vocab_size=prep.vocab_size, hidden_dim=16, num_blocks=1, max_length=64))
    other.fit(texts[:16], verbose=0)
    with pytest.raises(ValueError, match=r"Tower 'other_tower' \(towers\[1\]\) was trained on a different embedder.*train_embedder=False"):
        ComposedModel(embedder, [mlm, other])


def test_an_embedder_trained_further_invalidates_the_earlier_towers(tmp_path, texts):
    prep = Preprocessor(sequence_length=32, downsample_factor=4).fit(texts, progress=False)
    embedder = Embedder(vocab_size=prep.vocab_size, hidden_dim=16, num_blocks=1, max_length=64)
    first = MaskedLanguagePretrainer(embedder=embedder, preprocessor=prep, tower_options=tower_options(8), name="first")
    first.fit(texts[:16], verbose=0)
    early = ComposedModel(embedder, [first])
    second = MaskedLanguagePretrainer(embedder=embedder, preprocessor=prep, tower_options=tower_options(8), name="second")
    second.fit(texts[:16], verbose=0)  # trains the shared embedder too
    with pytest.raises(ValueError, match="'first_tower'.*different embedder"):
        ComposedModel(embedder, [first, second])
    with pytest.raises(ValueError, match="the embedder changed after this tower was trained"):
        first.save(tmp_path / "first")
    assert not (tmp_path / "first").exists()
    # The composition made before holds the stale tower: saving it is refused, and does not adopt the tower.
    with pytest.raises(ValueError, match="'first_tower': the embedder changed.*composed.adopt_towers\\(\\) first"):
        early.save(tmp_path / "early")
    assert not (tmp_path / "early").exists()
    with pytest.raises(ValueError, match="'first_tower'.*different embedder"):
        ComposedModel(embedder, [first])
    early.adopt_towers()  # trained together after all: the user says so
    early.save(tmp_path / "early")
    assert ComposedModel.load(tmp_path / "early").towers[0].embedder_fingerprint == embedder.fingerprint


def test_widths_lengths_and_names_that_do_not_line_up_are_explained(trained):
    prep, embedder, mlm, _ = trained
    with pytest.raises(ValueError, match="takes vectors of width 8, but the embedder gives 16"):
        ComposedModel(embedder, [Tower(input_dim=8, name="narrow", **tower_options(8))])
    coarse = Tower(input_dim=16, name="coarse", downsample_factor=8, **tower_options(8))
    with pytest.raises(ValueError, match="downsamples by 8.*downsample_factor=8"):
        ComposedModel(embedder, [mlm, coarse], preprocessor=prep)
    assert ComposedModel(embedder, [mlm, coarse]).downsample_factor == 8
    with pytest.raises(ValueError, match="2 towers are named 'mlm_tower'.*distinct name"):
        ComposedModel(embedder, [mlm, mlm])
    with pytest.raises(TypeError, match="pass a Pretrainer, a cclm Tower"):
        ComposedModel(embedder, [keras.layers.Dense(3)])


def test_freezing_parts_decides_which_weights_learn(trained, texts):
    prep, embedder, mlm, categorical = trained
    composed = ComposedModel(embedder, [mlm, categorical], preprocessor=prep)
    classifier = sequence_classifier(composed, num_classes=2)
    composed.freeze("embedder", "mlm_tower")
    classifier.compile(keras.optimizers.Adam(1e-2), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    parts = {"embedder": embedder, "mlm": mlm.tower, "kind": categorical.tower, "head": classifier.get_layer("class_logits")}
    before = {name: [keras.ops.convert_to_numpy(w) for w in part.weights] for name, part in parts.items()}
    classifier.fit(tf.constant(texts[:16]), np.arange(16) % 2, epochs=1, verbose=0)
    moved = {name: any(not np.array_equal(b, keras.ops.convert_to_numpy(a)) for b, a in zip(before[name], part.weights))
             for name, part in parts.items()}
    assert moved == {"embedder": False, "mlm": False, "kind": True, "head": True}
    composed.unfreeze()
    assert embedder.trainable and mlm.tower.trainable
    with pytest.raises(ValueError, match="'decoder' is not a part"):
        composed.freeze("decoder")


def test_save_load_identity_of_the_whole_composition(tmp_path, trained, texts):
    prep, embedder, mlm, categorical = trained
    composed = ComposedModel(embedder, [mlm, categorical], preprocessor=prep, name="both")
    path = composed.save(tmp_path / "composed")
    loaded = ComposedModel.load(path)
    strings = tf.constant(texts[:5])
    np.testing.assert_array_equal(loaded.model(strings), composed.model(strings))
    assert [t.name for t in loaded.towers] == ["mlm_tower", "kind_tower"] and loaded.name == "both"
    from cclm import load_component

    assert isinstance(load_component(path), ComposedModel)


def test_heads_are_ordinary_keras_models_that_skip_padding(trained, texts):
    prep, embedder, mlm, categorical = trained
    composed = ComposedModel(embedder, [mlm, categorical])
    tagger = character_tagger(composed, num_tags=3)
    tagger.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    ids = prep.encode(["short", "a longer text here"])
    tags = np.zeros(ids.shape, "int32")
    changed_at_padding = np.where(ids == 0, 2, tags)
    assert tagger.evaluate(ids, tags, verbose=0) == pytest.approx(tagger.evaluate(ids, changed_at_padding, verbose=0))
    classifier = sequence_classifier(composed, num_classes=4, hidden_dim=8, dropout=0.1)
    assert classifier.output.shape == (None, 4)
    np.testing.assert_allclose(classifier(ids[:1]), classifier(np.pad(ids[:1], ((0, 0), (0, 32)))), rtol=1e-5, atol=1e-6)
