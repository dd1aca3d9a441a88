import numpy as np
import pytest
import tensorflow as tf

from cclm import Preprocessor
from cclm.pipelines.augmentation import Augmentor, _keyboard_neighbours
from cclm.pretraining.categorical_pretrainer import CategoricalPretrainer
from cclm.pipelines.documents import DocumentSource
from cclm.pipelines.windows import Sampling, character_windows

LETTERS = "the quick brown fox jumps over the lazy dog " * 40


def test_each_operation_does_what_it_says():
    assert Augmentor(deletion=1.0)(["abc", "d"]) == ["", ""]
    assert Augmentor(repetition=1.0)("ab c") == "aabb  cc"
    assert Augmentor(transposition=1.0)(["abcd", "abcde"]) == ["badc", "badce"]  # the last has no partner
    assert Augmentor(case_change=1.0)("aB Σσ ǅ") == "Ab σΣ ǆ"
    assert Augmentor(lookalike=1.0)("aOb") == "аОb"  # Cyrillic а and О; b has no look-alike
    assert Augmentor(lowercase=1.0)("ÀB Ω") == "àb ω"
    assert Augmentor(uppercase=1.0)("àb ω") == "ÀB Ω"
    assert Augmentor(title_first=1.0)(["émile", ""]) == ["Émile", ""]

    neighbours = _keyboard_neighbours()
    substituted = Augmentor(substitution=1.0, seed=0)(LETTERS)
    assert len(substituted) == len(LETTERS)
    assert all(new in neighbours[old] for old, new in zip(LETTERS, substituted))
    inserted = Augmentor(insertion=1.0, seed=0)(LETTERS)
    assert inserted[1::2] == LETTERS
    assert all(extra in neighbours[old] for old, extra in zip(LETTERS, inserted[0::2]))


def test_accented_and_unkeyed_characters_get_plausible_substitutes():
    accented = Augmentor(substitution=1.0, seed=1)("é" * 200)
    assert set(accented) <= set("e" + _keyboard_neighbours()["e"]) and "e" in accented
    # Characters on no keyboard become other characters of the same text; beyond the BMP too.
    cyrillic = Augmentor(substitution=1.0, seed=1)("мир 😀")
    assert len(cyrillic) == 5 and set(cyrillic) <= set("мир 😀" + "cvbnm")


def test_rates_are_per_character_and_typos_share_them_out(docs_texts):
    text = " ".join(docs_texts[:20])
    for rate in (0.05, 0.2):
        noisy = Augmentor(substitution=rate, seed=3)(text)
        changed = np.mean([a != b for a, b in zip(text, noisy)])
        assert abs(changed - rate) < 0.25 * rate
    lengths = [len(t) for t in Augmentor(deletion=0.1, seed=4)([text, text])]
    assert all(abs(1 - n / len(text) - 0.1) < 0.02 for n in lengths)
    typos = Augmentor.typos(0.1)
    assert typos.substitution == pytest.approx(0.035) and typos.lookalike == 0
    assert sum(typos.get_config()[k] for k in ("substitution", "insertion", "deletion", "transposition",
                                             "repetition", "case_change")) == pytest.approx(0.1)


def test_length_keeping_typos_share_the_whole_rate_and_keep_every_length(docs_texts):
    typos = Augmentor.typos(0.2, keep_length=True, seed=5)
    rates = typos.get_config()
    assert typos.preserves_length and not Augmentor.typos(0.2).preserves_length
    assert rates["insertion"] == rates["deletion"] == rates["repetition"] == 0
    assert sum(v for k, v in rates.items() if k != "seed") == pytest.approx(0.2)
    # Substitutions, transpositions and case flips keep their proportions (35 : 15 : 5).
    assert rates["substitution"] / rates["transposition"] == pytest.approx(35 / 15)
    noisy = typos(docs_texts[:50])
    assert [len(t) for t in noisy] == [len(t) for t in docs_texts[:50]] and noisy != docs_texts[:50]
    changed = np.mean([a != b for t, n in zip(docs_texts[:50], noisy) for a, b in zip(t, n)])
    assert 0.1 < changed < 0.3  # a swap changes two characters; a swap of equal ones, none


def test_a_seed_makes_noise_reproducible(multilingual_texts):
    augmentor = Augmentor.typos(0.2, lookalike=0.05, seed=7)
    first, again = augmentor(multilingual_texts), augmentor(multilingual_texts)
    assert first == again and first != multilingual_texts
    assert augmentor(multilingual_texts, seed=8) != first
    unseeded = Augmentor.typos(0.2)
    assert unseeded(multilingual_texts) != unseeded(multilingual_texts)
    # Text it touches stays valid text: no broken surrogates, every string decodes.
    assert all(isinstance(t, str) and t.encode("utf-8") for t in first)


def test_bad_rates_and_inputs_are_refused():
    with pytest.raises(ValueError, match="deletion=1.5 is not a rate"):
        Augmentor(deletion=1.5)
    with pytest.raises(ValueError, match="add up to 1.2"):
        Augmentor(substitution=0.6, deletion=0.6)
    with pytest.raises(TypeError, match="a list of strings"):
        Augmentor()([b"bytes"])
    assert Augmentor.from_config(Augmentor.typos(0.1, seed=2).get_config()).get_config() == Augmentor.typos(0.1, seed=2).get_config()


def test_it_runs_in_graph_ops_only():
    augmentor = Augmentor.typos(0.3, lookalike=0.1, lowercase=0.5)
    spec = tf.RaggedTensorSpec([None, None], tf.int32)
    graph = tf.function(augmentor.augment_code_points).get_concrete_function(spec, tf.TensorSpec([2], tf.int64)).graph
    kinds = {op.type for op in graph.get_operations()}
    assert "StatelessRandomUniformV2" in kinds and not kinds & {"PyFunc", "EagerPyFunc", "PyFuncStateless"}


def test_in_the_pipeline_it_noises_training_batches_only(docs_texts):
    texts = [t for t in docs_texts[:64] if len(t) > 40]
    prep = Preprocessor(sequence_length=64).fit(texts, progress=False)
    def make(transforms=(), augmentors=(), augment=True):
        sampling = Sampling(seed=0, random_crop=False, shuffle_buffer=0, augment=augment)
        source = DocumentSource(texts, transforms=transforms)
        windows = character_windows(None, prep, 16, source=source, sampling=sampling, augmentors=augmentors)
        return np.concatenate([b["ids"].numpy() for b in windows])

    clean = make()
    noisy = make(augmentors=[Augmentor.typos(0.2, seed=1)])
    assert (noisy != clean).mean() > 0.1
    np.testing.assert_array_equal(noisy, make(augmentors=[Augmentor.typos(0.2, seed=1)]))
    np.testing.assert_array_equal(clean, make(augmentors=[Augmentor.typos(0.2, seed=1)], augment=False))
    # Python transforms still run beside it.
    upper_then_lower = make(transforms=[str.upper], augmentors=[Augmentor(lowercase=1.0)])
    np.testing.assert_array_equal(upper_then_lower, make(transforms=[str.lower]))
    assert (upper_then_lower != clean).any()


def test_subword_targets_need_a_length_preserving_augmentor(docs_texts):
    prep = Preprocessor(sequence_length=32, subword_model="bpe", subword_vocab_size=300).fit(docs_texts[:200], progress=False)
    with pytest.raises(ValueError, match="must keep lengths"):
        character_windows(docs_texts[:8], prep, 4, subwords=True, augmentors=[Augmentor(deletion=0.1)])
    batch = next(iter(character_windows(docs_texts[:8], prep, 4, subwords=True,
                                        augmentors=[Augmentor(substitution=0.1, case_change=0.1)])))
    assert batch["ids"].shape == batch["token_ids"].shape == batch["token_index"].shape


def test_a_pretrainer_trains_with_it_and_its_card_says_so(tmp_path):
    texts = ["a cat sat", "dogs bark loudly", "the cat naps", "a dog runs"] * 8
    labels = ["cat", "dog", "cat", "dog"] * 8
    pretrainer = CategoricalPretrainer(
        labels=["cat", "dog"], preprocessor=Preprocessor(sequence_length=16).fit(texts, progress=False),
        tower_options={"hidden_dim": 8, "num_layers": 1, "num_heads": 2, "intermediate_dim": 16},
        transforms=[Augmentor.typos(0.1, seed=0)], seed=0, batch_size=8,
    )
    history = pretrainer.fit((texts, labels), epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all() and pretrainer.stats.used == 2 * len(texts)
    saved = pretrainer.save(tmp_path / "cats")
    assert "Augmentor(substitution=0.035" in (saved / "README.md").read_text()
