import numpy as np
import pytest

from cclm.preprocessing.subword import SubwordTokenizer


@pytest.fixture(scope="module", params=["bpe", "wordpiece"])
def tokenizer(request, docs_texts):
    return SubwordTokenizer.train(docs_texts, model=request.param, vocab_size=500)


def test_character_tokens_follow_the_tokenizer_offsets(tokenizer, docs_texts):
    texts = docs_texts[:50] + ["", "   ", "naïve café — 東京"]
    lengths, token_ids, token_index = tokenizer.character_tokens(texts)
    assert lengths.tolist() == [len(t) for t in texts] and len(token_ids) == lengths.sum()
    starts = np.cumsum(lengths) - lengths
    for text, start, length in zip(texts, starts, lengths):
        encoding = tokenizer.tokenizer.encode(text, add_special_tokens=False)
        expected_ids = np.full(length, -1)
        expected_index = np.full(length, -1)
        for index, (token, (begin, end)) in enumerate(zip(encoding.ids, encoding.offsets)):
            expected_ids[begin:end] = token
            expected_index[begin:end] = index
        np.testing.assert_array_equal(token_ids[start:start + length], expected_ids)
        np.testing.assert_array_equal(token_index[start:start + length], expected_index)
        assert all(text[i].isspace() for i in np.flatnonzero(expected_ids < 0))


def test_align_is_character_tokens_cut_to_the_capacity(tokenizer, docs_texts):
    texts = docs_texts[:20]
    token_ids, token_index = tokenizer.align(texts, capacity=40, offset=1)
    lengths, flat_ids, flat_index = tokenizer.character_tokens(texts)
    starts = np.cumsum(lengths) - lengths
    for row, (start, length) in enumerate(zip(starts, lengths)):
        kept = min(length, 40)
        np.testing.assert_array_equal(token_ids[row, 1:1 + kept], flat_ids[start:start + kept])
        np.testing.assert_array_equal(token_index[row, 1:1 + kept], flat_index[start:start + kept])
        assert (token_ids[row, 1 + kept:] == -1).all() and token_ids[row, 0] == -1


def test_save_and_load_keep_the_vocabulary(tokenizer, tmp_path):
    tokenizer.save(tmp_path / "tokenizer.json")
    loaded = SubwordTokenizer.load(tmp_path / "tokenizer.json")
    assert loaded.vocab_size == tokenizer.vocab_size and loaded.model == tokenizer.model
    text = ["the lambda expression"]
    assert [a.tolist() for a in loaded.character_tokens(text)] == [a.tolist() for a in tokenizer.character_tokens(text)]


def test_a_lone_surrogate_is_one_unknown_character_in_training_and_alignment():
    texts = ["plain text", "json.loads gave a lone \ud83d surrogate"]
    tokenizer = SubwordTokenizer.train(texts * 5, model="bpe", vocab_size=60)
    lengths, token_ids, _ = tokenizer.character_tokens(texts)
    assert lengths.tolist() == [len(t) for t in texts] and len(token_ids) == sum(map(len, texts))
    clean = tokenizer.character_tokens(["json.loads gave a lone \ufffd surrogate"])[1]
    assert np.array_equal(token_ids[len(texts[0]):], clean)
