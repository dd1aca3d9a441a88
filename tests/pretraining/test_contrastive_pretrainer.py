import keras
import numpy as np
import pytest

from cclm import ComposedModel, Preprocessor
from cclm.models.embedder import Embedder
from cclm.pretraining.contrastive_pretrainer import (
    ContrastiveHead,
    ContrastivePretrainer,
    PairContrastiveLoss,
    pair_accuracy,
)

TINY_TOWER = {"hidden_dim": 16, "num_layers": 1, "num_heads": 2, "intermediate_dim": 32, "max_length": 64}


def test_the_loss_and_accuracy_reward_finding_the_partner_half():
    partners = np.eye(4, dtype="float32")
    aligned = np.concatenate([partners, partners])  # row i and row 4 + i are the same vector
    shuffled = np.concatenate([partners, partners[[1, 0, 3, 2]]])
    loss = PairContrastiveLoss(temperature=0.1)
    assert float(loss(np.zeros(8), aligned)) < float(loss(np.zeros(8), shuffled))
    assert float(np.mean(pair_accuracy(None, aligned))) == 1.0
    assert float(np.mean(pair_accuracy(None, shuffled))) == 0.0


def test_the_head_compares_texts_by_how_they_differ_from_the_batch():
    # Pooled vectors that share a large common part (one language, one register): uncentered, every
    # projection points the same way and the loss sits at chance; centered, the texts' differences remain.
    rng = np.random.default_rng(0)
    features = (10.0 + 0.1 * rng.normal(size=(8, 4, 16))).astype("float32")
    similarities = {}
    for center in (True, False):
        keras.utils.set_random_seed(0)
        head = ContrastiveHead(projection_dim=8, center=center)
        projected = keras.ops.convert_to_numpy(head(features))
        assert np.allclose(np.linalg.norm(projected, axis=-1), 1.0, atol=1e-5)
        similarities[center] = (projected @ projected.T)[~np.eye(8, dtype=bool)].mean()
    assert similarities[False] > 0.99 and similarities[True] < 0.5
    assert ContrastiveHead.from_config(ContrastiveHead(center=False).get_config()).center is False
    assert ContrastiveHead().center is True


def test_it_learns_from_halves_of_packed_windows_saves_and_composes(round_trip, docs_texts):
    keras.utils.set_random_seed(0)
    texts = docs_texts[:200]
    prep = Preprocessor(sequence_length=64, downsample_factor=4).fit(texts, progress=False)
    embedder = Embedder(vocab_size=prep.vocab_size, hidden_dim=16, num_blocks=1, max_length=64,
                        max_ngram=4, ngram_buckets=256)
    pretrainer = ContrastivePretrainer(embedder=embedder, preprocessor=prep, tower_options=TINY_TOWER,
                                       batch_size=16, seed=0, warmup_steps=5)
    views, dummy = next(iter(pretrainer._dataset(texts, 16, training=True)))
    assert views.shape[0] == dummy.shape[0] and views.shape[0] % 2 == 0 and views.shape[1] == 32  # halves of 64
    history = pretrainer.fit(texts, epochs=3, steps_per_epoch=15, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < losses[0]
    assert all(0.0 <= value <= 1.0 for value in history.history["pair_accuracy"])  # its values: the test above
    again = round_trip(pretrainer, "contrastive")
    assert isinstance(again, ContrastivePretrainer) and again.warmup_steps == 5
    composed = ComposedModel(embedder, [pretrainer.model], preprocessor=prep)
    assert composed.model(np.array(["a text"])).shape == (1, 64, 16)
    with pytest.raises(ValueError, match="multiple of 8"):
        ContrastivePretrainer(preprocessor=Preprocessor(sequence_length=36, downsample_factor=4).fit(texts, progress=False))


def test_window_length_makes_shorter_views_than_the_preprocessor_reads(round_trip, docs_texts):
    keras.utils.set_random_seed(0)
    texts = docs_texts[:100]
    prep = Preprocessor(sequence_length=64, downsample_factor=4).fit(texts, progress=False)
    pretrainer = ContrastivePretrainer(preprocessor=prep, tower_options=TINY_TOWER, window_length=32, batch_size=8,
                                       seed=0)
    views, _ = next(iter(pretrainer._dataset(texts, 8, training=True)))
    assert views.shape[1] == 16  # halves of 32, though the preprocessor reads 64
    pretrainer.fit(texts, epochs=1, steps_per_epoch=2, verbose=0)
    again = round_trip(pretrainer, "short-windows")
    assert again.window_length == 32
    composed = ComposedModel(pretrainer.embedder, [again], preprocessor=prep)
    assert composed.model(np.array(["a longer text than one window"])).shape == (1, 64, 16)
    with pytest.raises(ValueError, match="longer than the preprocessor's sequence_length"):
        ContrastivePretrainer(preprocessor=prep, tower_options=TINY_TOWER, window_length=128).fit(texts, epochs=1,
                                                                                                 steps_per_epoch=1)


def test_center_is_saved_and_towers_saved_before_it_load_uncentered(tmp_path, docs_texts):
    import json

    from cclm.components.files import MANIFEST_NAME

    texts = docs_texts[:60]
    prep = Preprocessor(sequence_length=32, downsample_factor=4).fit(texts, progress=False)
    pretrainer = ContrastivePretrainer(preprocessor=prep, tower_options=TINY_TOWER, center=False, batch_size=8, seed=0)
    pretrainer.fit(texts, epochs=1, steps_per_epoch=1, verbose=0)
    assert pretrainer.head.center is False
    path = pretrainer.save(tmp_path / "uncentered")
    assert ContrastivePretrainer.load(path).head.center is False
    manifest = json.loads((path / MANIFEST_NAME).read_text())
    manifest["config"]["center"] = True
    (path / MANIFEST_NAME).write_text(json.dumps(manifest))
    assert ContrastivePretrainer.load(path).center is True
    del manifest["config"]["center"]  # as written by cclm before the option
    (path / MANIFEST_NAME).write_text(json.dumps(manifest))
    old = ContrastivePretrainer.load(path)
    assert old.center is False and old.head.center is False


@pytest.mark.parametrize("option, value", [("temperature", 0), ("temperature", float("inf")),
                                           ("temperature", -0.1), ("window_length", 0), ("window_length", 1.5)])
def test_options_out_of_range_are_refused_when_made(option, value):
    with pytest.raises(ValueError, match=f"{option}={value!r}; use"):
        ContrastivePretrainer(**{option: value})
