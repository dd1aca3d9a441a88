import keras
import numpy as np
import pytest

from cclm import Preprocessor, special_ids
from cclm.components import ComponentError
from cclm.errors import NoUsableTextError
from cclm.models.embedder import Embedder
from cclm.pipelines.augmentation import Augmentor
from cclm.pretraining.masked_language_pretrainer import MaskedLanguagePretrainer

TINY_TOWER = {"hidden_dim": 16, "num_layers": 1, "num_heads": 2, "intermediate_dim": 32, "max_length": 64}


@pytest.fixture(scope="module")
def texts(docs_texts):
    return docs_texts[:96]


def tiny(texts, **kwargs):
    keras.utils.set_random_seed(0)
    prep = Preprocessor(sequence_length=32, downsample_factor=4).fit(texts, progress=False)
    embedder = Embedder(vocab_size=prep.vocab_size, hidden_dim=16, num_blocks=1, max_length=64)
    return MaskedLanguagePretrainer(
        embedder=embedder, preprocessor=prep, tower_options=TINY_TOWER, batch_size=16, seed=0, **kwargs
    )


def one_batch(pretrainer, texts):
    return next(iter(pretrainer._dataset(texts, 16, training=False)))


def weights_of(model):
    return [np.array(w) for w in model.get_weights()]


def changed(before, after):
    return any(not np.array_equal(b, a) for b, a in zip(before, after))


def test_fit_returns_a_keras_history(texts):
    history = tiny(texts).fit(texts, epochs=2, verbose=0)
    assert isinstance(history, keras.callbacks.History)
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"]).all()


def test_defaults_fit_the_preprocessor_and_build_the_embedder(texts):
    pretrainer = MaskedLanguagePretrainer(tower_options={**TINY_TOWER, "max_length": 256}, seed=0)
    assert pretrainer.training_model is None  # nothing to build before the vocabulary is known
    pretrainer.fit(texts[:32], steps_per_epoch=1, verbose=0)
    assert pretrainer.preprocessor.characters and pretrainer.embedder.vocab_size == pretrainer.preprocessor.vocab_size


def test_loss_counts_only_masked_positions(texts):
    pretrainer = tiny(texts)
    pretrainer._compile()
    inputs, targets, weights = (t.numpy() for t in one_batch(pretrainer, texts))
    assert 0 < weights.sum() < (inputs != 0).sum()
    loss = pretrainer.training_model.evaluate(inputs, targets, sample_weight=weights, verbose=0, return_dict=True)["loss"]
    scrambled = np.where(weights > 0, targets, (targets + 7) % pretrainer.preprocessor.vocab_size)
    same = pretrainer.training_model.evaluate(inputs, scrambled, sample_weight=weights, verbose=0, return_dict=True)["loss"]
    assert loss == pytest.approx(same, rel=1e-6)  # unmasked and padded targets never count
    wrong = np.where(weights > 0, (targets + 7) % pretrainer.preprocessor.vocab_size, targets)
    other = pretrainer.training_model.evaluate(inputs, wrong, sample_weight=weights, verbose=0, return_dict=True)["loss"]
    assert other != pytest.approx(loss, rel=1e-3)


def test_freeze_really_stops_weight_updates(texts):
    pretrainer = tiny(texts, train_embedder=False)
    pretrainer.freeze()
    tower, head, embedder = weights_of(pretrainer.tower), weights_of(pretrainer.head), weights_of(pretrainer.embedder)
    pretrainer.fit(texts, steps_per_epoch=2, verbose=0)
    assert not changed(tower, weights_of(pretrainer.tower))
    assert not changed(embedder, weights_of(pretrainer.embedder))
    assert changed(head, weights_of(pretrainer.head))
    pretrainer.unfreeze()
    pretrainer.fit(texts, steps_per_epoch=2, verbose=0)
    assert changed(tower, weights_of(pretrainer.tower))


def test_train_embedder_lets_the_embedder_learn(texts):
    pretrainer = tiny(texts, train_embedder=True)
    before = pretrainer.embedder.fingerprint
    pretrainer.fit(texts, steps_per_epoch=1, verbose=0)
    assert pretrainer.embedder.fingerprint != before


def test_save_load_identical_outputs_then_continue_training(tmp_path, texts):
    pretrainer = tiny(texts)
    pretrainer.fit(texts, epochs=1, verbose=0)
    path = pretrainer.save(tmp_path / "mlm")
    assert {"manifest.json", "README.md", "tower.weights.h5", "head.weights.h5", "embedder", "preprocessor"} <= {
        p.name for p in path.iterdir()
    }
    card = (path / "README.md").read_text()
    assert "## Intended uses" in card and "## Limitations" in card  # a user-trained component says what it is for
    loaded = MaskedLanguagePretrainer.load(path)
    ids = pretrainer.preprocessor.encode(texts[:8])
    np.testing.assert_array_equal(np.asarray(loaded.training_model(ids)), np.asarray(pretrainer.training_model(ids)))
    assert loaded.get_config() == pretrainer.get_config()
    before = weights_of(loaded.tower)
    history = loaded.fit(texts, steps_per_epoch=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all() and changed(before, weights_of(loaded.tower))
    assert loaded.card["training"]["epochs"] == 2


def test_load_refuses_an_embedder_the_tower_was_not_trained_on(tmp_path, texts):
    pretrainer = tiny(texts)
    path = pretrainer.save(tmp_path / "mlm")
    other = Embedder(vocab_size=pretrainer.preprocessor.vocab_size, hidden_dim=16, num_blocks=1, max_length=64)
    other.save(path / "embedder")
    with pytest.raises(ComponentError, match="not the one it was trained on"):
        MaskedLanguagePretrainer.load(path)


@pytest.mark.parametrize("optimizer", ["adafactor", "sgd", keras.optimizers.Adam(1e-3)], ids=["adafactor", "sgd", "object"])
def test_optimizer_by_name_or_object(texts, optimizer):
    pretrainer = tiny(texts, optimizer=optimizer)
    history = pretrainer.fit(texts, steps_per_epoch=1, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    if isinstance(optimizer, str):
        # Keras numbers repeated names ("sgd_1") when another test made one first.
        assert type(pretrainer.training_model.optimizer) is type(keras.optimizers.get(optimizer))


def test_unknown_optimizer_names_the_choices(texts):
    with pytest.raises(ValueError, match="'adafactor'"):
        tiny(texts, optimizer="adamm").fit(texts, steps_per_epoch=1, verbose=0)


def test_standard_callbacks_work(tmp_path, texts):
    pretrainer = tiny(texts)
    callbacks = [
        keras.callbacks.TensorBoard(log_dir=str(tmp_path / "logs")),
        keras.callbacks.ModelCheckpoint(str(tmp_path / "checkpoint.weights.h5"), save_weights_only=True),
    ]
    pretrainer.fit(texts, epochs=1, callbacks=callbacks, verbose=0)
    assert (tmp_path / "checkpoint.weights.h5").is_file() and any((tmp_path / "logs").iterdir())


def test_lengths_beyond_the_tower_fail_when_building(texts):
    prep = Preprocessor(sequence_length=128, downsample_factor=4).fit(texts, progress=False)
    with pytest.raises(ValueError, match="build it with max_length >= 128"):
        MaskedLanguagePretrainer(preprocessor=prep, tower_options=TINY_TOWER)


def test_no_usable_text_is_a_clear_error(texts):
    with pytest.raises(NoUsableTextError, match="The data gave no usable text: 2 empty"):
        tiny(texts).fit(["", "   "], verbose=0)
    with pytest.raises(NoUsableTextError, match="The validation data is empty"):
        tiny(texts).fit(texts, validation_data=[], verbose=0)  # validation data too, before any training


@pytest.mark.parametrize("option, value", [("epochs", -1), ("epochs", 1.5), ("batch_size", 0),
                                           ("steps_per_epoch", 0), ("steps_per_epoch", True)])
def test_fit_counts_out_of_range_are_refused_before_anything_runs(texts, option, value):
    with pytest.raises(ValueError, match=f"{option}={value!r}; give"):
        tiny(texts).fit(texts, **{option: value})


def test_a_tower_trained_on_a_kept_embedder_leaves_it_trainable_for_others(texts):
    first = tiny(texts)
    first.fit(texts[:16], verbose=0)
    second = MaskedLanguagePretrainer(embedder=first.embedder, preprocessor=first.preprocessor, train_embedder=False,
                                      tower_options=TINY_TOWER, batch_size=16, seed=0, name="second")
    embedder = [w.copy() for w in first.embedder.get_weights()]
    second.fit(texts[:16], verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(embedder, first.embedder.get_weights()))  # kept while it trained
    assert first.embedder.trainable and len(first.embedder.trainable_weights) > 0  # and trainable again after


def test_a_bad_text_found_while_training_is_raised_as_itself(texts):
    pretrainer = tiny(texts)
    with pytest.raises(TypeError, match=r"^data\[10\] is NoneType None, expected str"):
        pretrainer.fit([*texts[:10], None, *texts[10:]], verbose=0)  # not a tf.errors.InvalidArgumentError
    with pytest.raises(TypeError, match="x is generator .* read only once"):
        pretrainer.fit(text for text in texts)


def test_fill_mask_ranks_fillings_with_probabilities(texts):
    pretrainer = tiny(texts)
    pretrainer.fit(texts, epochs=1, verbose=0)
    candidates = pretrainer.fill_mask("The [MASK][MASK]sert statement", top_k=4)
    assert len(candidates) == 4
    probabilities = [p for _, p in candidates]
    assert probabilities == sorted(probabilities, reverse=True) and 0 < sum(probabilities) <= 1
    assert all(len(filling) == 2 and set(filling) <= set(pretrainer.preprocessor.characters) for filling, _ in candidates)
    assert len({filling for filling, _ in candidates}) == 4
    with pytest.raises(ValueError, match="has no '\\[MASK\\]'"):
        pretrainer.fill_mask("nothing hidden")
    with pytest.raises(ValueError, match="reads at most 32"):
        pretrainer.fill_mask("x" * 40 + "[MASK]")


def tiny_subwords(texts, width=16, **kwargs):
    keras.utils.set_random_seed(0)
    prep = Preprocessor(
        sequence_length=32, downsample_factor=4, subword_model="bpe", subword_vocab_size=300
    ).fit(texts, progress=False)
    embedder = Embedder(vocab_size=prep.vocab_size, hidden_dim=width, num_blocks=1, max_length=64)
    tower = {**TINY_TOWER, "hidden_dim": width, "intermediate_dim": 2 * width}
    return MaskedLanguagePretrainer(
        target="subwords", embedder=embedder, preprocessor=prep, tower_options=tower,
        batch_size=16, seed=0, num_sampled=64, **kwargs
    )


def test_subword_target_learns_which_subword_covers_each_character(docs_texts):
    # Hidden tokens left visible (no mask ids, no random characters): naming the
    # subword under each character is learnable in seconds, and only if the
    # windows, token alignment, sampled-softmax loss and accuracy all agree.
    train, held_out = docs_texts[:1500], docs_texts[-300:]
    pretrainer = tiny_subwords(train, width=32, mask_rate=0.3, mask_fraction=0.0, random_fraction=0.0)
    pretrainer._compile()
    validation = pretrainer._dataset(held_out, 16, training=False)
    history = pretrainer.fit(train, epochs=5, steps_per_epoch=100, verbose=0)
    accuracy = pretrainer.training_model.evaluate(validation, verbose=0, return_dict=True)["accuracy"]
    assert history.history["loss"][-1] < history.history["loss"][0]
    # Always naming the most frequent hidden subword, on the same masks:
    targets = np.concatenate([t.numpy()[w.numpy() > 0] for _, t, w in validation])
    most_frequent = np.bincount(targets).max() / len(targets)
    print(f"held-out subword accuracy: {most_frequent:.3f} most frequent, {accuracy:.3f} trained")
    assert accuracy > 2 * most_frequent


def test_subword_target_saves_loads_and_fills_masks_with_subwords(round_trip, tmp_path, texts):
    pretrainer = tiny_subwords(texts)
    pretrainer.fit(texts, epochs=1, verbose=0)
    loaded = round_trip(pretrainer, "mlm")
    assert loaded.target == "subwords" and loaded.get_config() == pretrainer.get_config()
    ids = pretrainer.preprocessor.encode(texts[:8])
    np.testing.assert_array_equal(np.asarray(loaded.training_model(ids)), np.asarray(pretrainer.training_model(ids)))
    candidates = loaded.fill_mask("for x [MASK][MASK] range(10):", top_k=5)
    assert candidates == pretrainer.fill_mask("for x [MASK][MASK] range(10):", top_k=5)
    vocabulary = loaded.preprocessor.subword_tokenizer.tokenizer.get_vocab()
    probabilities = [p for _, p in candidates]
    assert len(candidates) == 5 and all(token in vocabulary for token, _ in candidates)
    assert probabilities == sorted(probabilities, reverse=True) and 0 < sum(probabilities) <= 1 + 1e-9
    history = loaded.fit(texts, steps_per_epoch=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_subword_target_needs_a_subword_tokenizer(texts):
    prep = Preprocessor(sequence_length=32).fit(texts, progress=False)
    with pytest.raises(ValueError, match="subword_model='bpe'"):
        MaskedLanguagePretrainer(target="subwords", preprocessor=prep)
    with pytest.raises(ValueError, match="target='words'; use one of"):
        MaskedLanguagePretrainer(target="words")
    default = MaskedLanguagePretrainer(target="subwords")
    assert default.preprocessor.subword_model == "bpe"


def test_the_same_seed_trains_the_same_weights_and_another_seed_does_not(texts):
    def trained(seed):
        pretrainer = tiny(texts)  # same initial weights each time
        pretrainer.seed = seed
        history = pretrainer.fit(texts, epochs=2, verbose=0)
        return history.history["loss"], weights_of(pretrainer.training_model)

    loss, weights = trained(3)
    again_loss, again_weights = trained(3)
    other_loss, other_weights = trained(4)
    assert loss == again_loss and not changed(weights, again_weights)  # shuffling, windows, masks: all seeded
    assert loss != other_loss and changed(weights, other_weights)


def test_mixed_bfloat16_trains_in_16_bits_and_saves_float32_weights(round_trip, tmp_path, texts):
    pretrainer = tiny(texts, mixed_precision="mixed_bfloat16")
    seen = []

    class ComputeDtype(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(pretrainer.tower.layers[-1].compute_dtype)

    history = pretrainer.fit(texts, epochs=1, verbose=0, callbacks=[ComputeDtype()])
    assert set(seen) == {"bfloat16"} and np.isfinite(history.history["loss"]).all()
    # Afterwards the model computes in float32 again, and weights were float32 all along.
    assert pretrainer.tower.layers[-1].compute_dtype == "float32"
    assert {w.dtype for w in pretrainer.training_model.weights} == {"float32"}
    loaded = round_trip(pretrainer, "mlm")
    assert loaded.mixed_precision == "mixed_bfloat16"
    assert "mixed precision: mixed_bfloat16" in (tmp_path / "mlm" / "README.md").read_text()
    ids = pretrainer.preprocessor.encode(texts[:4])
    np.testing.assert_array_equal(np.asarray(loaded.training_model(ids)), np.asarray(pretrainer.training_model(ids)))


def test_mixed_float16_scales_the_loss_and_bad_speed_options_are_named(texts):
    pretrainer = tiny(texts, mixed_precision="mixed_float16")
    pretrainer._compile()
    assert isinstance(pretrainer.training_model.optimizer, keras.optimizers.LossScaleOptimizer)
    with pytest.raises(ValueError, match="mixed_precision='float8'.*'mixed_bfloat16'"):
        tiny(texts, mixed_precision="float8")
    with pytest.raises(ValueError, match="jit_compile='yes'"):
        tiny(texts, jit_compile="yes")
    with pytest.raises(ValueError, match="XLA has no kernel for the sampled softmax"):
        tiny_subwords(texts, jit_compile=True)._compile()


def test_denoising_targets_the_clean_characters_and_counts_the_corrupted_ones(texts):
    denoising = tiny(texts, denoising=Augmentor.typos(0.3, keep_length=True, seed=1))
    inputs, targets, weights = (t.numpy() for t in one_batch(denoising, texts))
    _plain_inputs, plain_targets, plain_weights = (t.numpy() for t in one_batch(tiny(texts), texts))
    np.testing.assert_array_equal(targets, plain_targets)  # the same clean windows
    np.testing.assert_array_equal(weights >= plain_weights, True)  # hidden ones still count ...
    corrupted = (weights > 0) & (plain_weights == 0)
    assert corrupted.sum() > 0.1 * (targets != 0).sum()  # ... and so do the corrupted ones,
    assert (inputs[corrupted] != targets[corrupted]).all()  # which show a typo, not the mask
    assert not (inputs[corrupted] == special_ids.MASK_ID).any()
    unweighted = weights == 0
    np.testing.assert_array_equal(inputs[unweighted], targets[unweighted])  # the rest is clean


def test_denoising_is_saved_and_loaded_and_trains_on(round_trip, tmp_path, texts):
    pretrainer = tiny(texts, denoising=Augmentor.typos(0.2, keep_length=True, seed=3))
    pretrainer.fit(texts, epochs=1, verbose=0)
    loaded = round_trip(pretrainer, "denoising")
    assert loaded.denoising.get_config() == pretrainer.denoising.get_config()
    ids = pretrainer.preprocessor.encode(texts[:8])
    np.testing.assert_array_equal(np.asarray(loaded.training_model(ids)), np.asarray(pretrainer.training_model(ids)))
    history = loaded.fit(texts, steps_per_epoch=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_denoising_needs_length_keeping_noise_and_character_targets(texts):
    with pytest.raises(ValueError, match=r"keep lengths; use e.g. Augmentor.typos\(0.1, keep_length=True\)"):
        tiny(texts, denoising=Augmentor.typos(0.1))
    with pytest.raises(ValueError, match="target='characters' only"):
        MaskedLanguagePretrainer(target="subwords", denoising=Augmentor.typos(0.1, keep_length=True))
