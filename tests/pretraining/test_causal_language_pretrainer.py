import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from cclm import Preprocessor, special_ids
from cclm.models.composed_model import ComposedModel
from cclm.models.embedder import Embedder
from cclm.pretraining.causal_language_pretrainer import CausalLanguagePretrainer
from cclm.pretraining.generation import generate_ids

TINY_TOWER = {"hidden_dim": 16, "num_layers": 1, "num_heads": 2, "intermediate_dim": 32, "max_length": 64}


@pytest.fixture(scope="module")
def pretrainer(docs_texts):
    """Untrained, to stay fast: the class's doctest trains one; these test what holds for any weights."""
    keras.utils.set_random_seed(0)
    prep = Preprocessor(sequence_length=32, downsample_factor=4).fit(docs_texts[:96], progress=False)
    embedder = Embedder(vocab_size=prep.vocab_size, hidden_dim=16, num_blocks=1, max_length=64, max_ngram=3,
                        causal=True)
    return CausalLanguagePretrainer(embedder=embedder, preprocessor=prep, tower_options=TINY_TOWER, batch_size=4, seed=0)


def test_training_pairs_predict_each_character_from_those_before(pretrainer, docs_texts):
    inputs, targets, weights = (np.array(x) for x in next(iter(pretrainer._dataset(docs_texts[:8], 4, training=False))))
    assert (inputs[:, 0] == special_ids.SEP_ID).all()
    real = targets[:, :-1] != special_ids.PAD_ID
    np.testing.assert_array_equal(inputs[:, 1:][real], targets[:, :-1][real])
    np.testing.assert_array_equal(weights, targets != special_ids.PAD_ID)
    assert (targets == special_ids.SEP_ID).any()  # texts end with the end-of-text id, which is learned


def test_datasets_and_files_give_the_same_pairs_as_lists(pretrainer, docs_texts, tmp_path):
    datasets = pytest.importorskip("datasets")
    texts = [" ".join(t.split()) for t in docs_texts[:8]]  # one line each, as a file holds them
    (tmp_path / "corpus.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    sources = [texts, datasets.Dataset.from_dict({"text": texts}), tmp_path / "corpus.txt"]
    batches = [[np.array(x) for x in next(iter(pretrainer._dataset(data, 4, training=False)))] for data in sources]
    for batch in batches[1:]:
        for got, expected in zip(batch, batches[0]):
            np.testing.assert_array_equal(got, expected)


def test_no_output_sees_a_later_character(pretrainer):
    rng = np.random.default_rng(0)
    vocab = pretrainer.preprocessor.vocab_size
    ids = rng.integers(special_ids.FIRST_CHARACTER_ID, vocab, (1, 32)).astype("int32")
    logits = np.array(pretrainer.training_model(ids))
    features = np.array(pretrainer.model(pretrainer.embedder(ids)))
    for t in (0, 5, 14, 27, 30):
        changed = ids.copy()
        changed[0, t + 1:] = rng.integers(special_ids.FIRST_CHARACTER_ID, vocab, 31 - t)
        assert (changed != ids).any()
        np.testing.assert_allclose(np.array(pretrainer.training_model(changed))[0, : t + 1], logits[0, : t + 1], atol=1e-5)
        later = np.array(pretrainer.model(pretrainer.embedder(changed)))
        np.testing.assert_allclose(later[0, : t + 1], features[0, : t + 1], atol=1e-5)
        assert not np.allclose(later[0, t + 1:], features[0, t + 1:])  # the later outputs do change


def test_str_gives_str_list_gives_list_and_greedy_repeats(pretrainer):
    text = pretrainer.generate("The ", max_new_chars=6)
    assert isinstance(text, str) and text.startswith("The ") and len(text) <= 10
    assert pretrainer.generate("The ", max_new_chars=6) == text
    both = pretrainer.generate(["The ", "import "], max_new_chars=6)
    assert isinstance(both, list) and len(both) == 2 and both[0] == text
    assert pretrainer.generate("The ", max_new_chars=6, return_full_text=False) == text[len("The "):]
    with pytest.raises(TypeError, match=r"prompts\[1\]"):
        pretrainer.generate(["a", 3])


def test_seed_top_k_and_beams(pretrainer):
    prompts = ["A list ", "def "]
    sampled = pretrainer.generate(prompts, max_new_chars=8, do_sample=True, temperature=1.5, seed=3)
    assert pretrainer.generate(prompts, max_new_chars=8, do_sample=True, temperature=1.5, seed=3) == sampled
    greedy = pretrainer.generate(prompts, max_new_chars=8)
    assert pretrainer.generate(prompts, max_new_chars=8, do_sample=True, top_k=1, seed=9) == greedy
    for prompt in prompts:
        stream = [pretrainer.prompt_ids(prompt)]
        one = generate_ids(pretrainer.next_log_probs, stream, 8)[0]
        beam = generate_ids(pretrainer.next_log_probs, stream, 8, num_beams=3)[0]
        assert beam.log_likelihood >= one.log_likelihood - 1e-9


def test_each_character_reads_a_fixed_window(pretrainer):
    long = pretrainer.prompt_ids("A long prompt, longer than the window of thirty-two characters. " * 3)
    window = pretrainer.context_length
    assert len(long) > window
    np.testing.assert_allclose(pretrainer.next_log_probs([long]), pretrainer.next_log_probs([long[-window:]]))
    assert pretrainer.next_log_probs([long])[0, special_ids.UNKNOWN_ID] == -np.inf


def test_bits_per_character_is_the_mean_next_id_cross_entropy(pretrainer):
    text = "Return the value."
    stream = pretrainer.prompt_ids(text) + [special_ids.SEP_ID]
    ids = np.zeros((1, 20), "int32")
    ids[0, : len(stream) - 1] = stream[:-1]
    logits = np.array(pretrainer.training_model(ids), np.float64)[0, : len(stream) - 1]
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expected = -log_probs[np.arange(len(stream) - 1), stream[1:]].mean() / math.log(2)
    assert pretrainer.bits_per_character([text]) == pytest.approx(expected, rel=1e-5)


def test_an_empty_continuation_is_the_prompt_alone(pretrainer, monkeypatch):
    assert pretrainer.generate("The ", max_new_chars=0) == "The "
    assert pretrainer.generate(["The ", "x"], max_new_chars=0, return_full_text=False) == ["", ""]
    real = pretrainer.next_log_probs

    def ends_at_once(contexts):  # a model sure the text is complete: end-of-text first
        log_probs = np.array(real(contexts))
        log_probs[:, special_ids.SEP_ID] = 0.0
        return log_probs

    monkeypatch.setattr(pretrainer, "next_log_probs", ends_at_once)
    assert pretrainer.generate("The cat sat.") == "The cat sat."
    assert pretrainer.generate("The cat sat.", num_beams=2, return_full_text=False) == ""


def test_bits_per_character_refuses_a_bare_string_no_texts_and_a_bad_batch_size(pretrainer):
    with pytest.raises(TypeError, match="texts is a single str"):
        pretrainer.bits_per_character("Return the value.")
    with pytest.raises(ValueError, match="texts is empty"):
        pretrainer.bits_per_character([])
    with pytest.raises(ValueError, match="batch_size=0; give the windows run at once"):
        pretrainer.bits_per_character(["x"], batch_size=0)


def test_save_load_generates_the_same_and_composes(pretrainer, round_trip, tmp_path):
    loaded = round_trip(pretrainer, "causal_lm")
    assert loaded.embedder.causal and loaded.tower.causal
    prompts = ["The ", "x = "]
    assert loaded.generate(prompts, max_new_chars=8) == pretrainer.generate(prompts, max_new_chars=8)
    options = {"max_new_chars": 8, "do_sample": True, "top_p": 0.9, "seed": 4}
    assert loaded.generate(prompts, **options) == pretrainer.generate(prompts, **options)
    composed = ComposedModel(loaded.embedder, [tmp_path / "causal_lm"], preprocessor=loaded.preprocessor)
    features = np.array(composed(tf.constant(["some text"])))
    expected = np.array(loaded.tower(loaded.embedder(loaded.preprocessor.encode(["some text"]))))
    np.testing.assert_allclose(features, expected, atol=1e-5)


def test_a_non_causal_embedder_or_tower_is_refused(docs_texts):
    prep = Preprocessor(sequence_length=32, downsample_factor=4).fit(docs_texts[:8], progress=False)
    embedder = Embedder(vocab_size=prep.vocab_size, hidden_dim=16, num_blocks=1, max_length=64)
    with pytest.raises(ValueError, match="causal=True"):
        CausalLanguagePretrainer(embedder=embedder, preprocessor=prep)
    with pytest.raises(ValueError, match="causal"):
        CausalLanguagePretrainer(preprocessor=prep, tower_options={"causal": False})
