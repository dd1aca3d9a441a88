import datasets
import numpy as np
import pytest
import tensorflow as tf

from cclm import Preprocessor, special_ids
from cclm.pipelines.augmentation import Augmentor
from cclm.errors import NoUsableTextError
from cclm.pipelines.documents import MAX_UNUSABLE_BEFORE_TEXT, DocumentSource, TextStats
from cclm.pipelines.windows import Sampling, character_windows, corrupt_windows, random_windows


@pytest.fixture(scope="module")
def prep(docs_texts):
    return Preprocessor(sequence_length=32, downsample_factor=4, add_cls=True).fit(docs_texts, progress=False)


def collect(dataset, key="ids"):
    return np.concatenate([batch[key].numpy() for batch in dataset])


def test_windows_are_real_stretches_of_the_documents(prep, docs_texts):
    texts = [t for t in docs_texts[:64] if len(t) > 100]
    windows = collect(character_windows(texts, prep, 16, sampling=Sampling(seed=0)))
    assert windows.shape == (len(texts), 32) and windows.dtype == np.int32
    assert (windows[:, 0] == special_ids.CLS_ID).all()
    assert (windows[:, 1:] != special_ids.PAD_ID).all()  # long documents fill the window
    decoded = prep.decode(windows)
    assert all(any(window in text for text in texts) for window in decoded)


def test_windows_start_at_random_places_across_passes(prep):
    text = "".join(chr(ord("a") + i % 26) for i in range(500))
    dataset = character_windows([text], prep, 1, sampling=Sampling(seed=3)).repeat(20)
    firsts = {tuple(batch["ids"].numpy()[0, 1:3]) for batch in dataset}
    assert len(firsts) > 5


def test_short_documents_are_padded_and_empty_ones_skipped_and_counted(prep):
    stats = TextStats()
    windows = collect(character_windows(["short", "", "   \n", "x"], prep, 8, sampling=Sampling(seed=0), stats=stats))
    assert windows.shape == (2, 32)
    assert sorted(prep.decode(windows)) == ["short", "x"]
    assert (stats.used, stats.empty, stats.filtered) == (2, 2, 0)


def test_same_seed_same_batches(prep, docs_texts):
    first = collect(character_windows(docs_texts[:100], prep, 16, sampling=Sampling(seed=5)))
    again = collect(character_windows(docs_texts[:100], prep, 16, sampling=Sampling(seed=5)))
    other = collect(character_windows(docs_texts[:100], prep, 16, sampling=Sampling(seed=6)))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_transforms_and_filters(prep):
    stats = TextStats()
    source = DocumentSource(
        ["Keep THIS", "drop this", "Keep that"], transforms=[str.lower], filters=[lambda t: t.startswith("keep")],
        stats=stats,
    )
    windows = character_windows(None, prep, 4, source=source, sampling=Sampling(shuffle_buffer=0))
    assert prep.decode(collect(windows)) == ["keep this", "keep that"]
    assert stats.filtered == 1


def test_reads_datasets_and_files_lazily(tmp_path, prep):
    path = tmp_path / "lines.txt"
    path.write_text("line one\nline two\n", encoding="utf-8")
    from_file = collect(character_windows(path, prep, 4, sampling=Sampling(shuffle_buffer=0)))
    dataset = datasets.Dataset.from_dict({"body": ["line one", "line two"]}).to_iterable_dataset()
    from_stream = collect(character_windows(
        None, prep, 4, source=DocumentSource(dataset, text_column="body"), sampling=Sampling(shuffle_buffer=0)
    ))
    np.testing.assert_array_equal(from_file, from_stream)

    def endless():
        while True:
            yield "again and again"

    batch = next(iter(character_windows(endless(), prep, 4, sampling=Sampling(shuffle_buffer=0))))
    assert batch["ids"].shape == (4, 32)


def test_shards_split_the_documents_between_workers(prep, docs_texts):
    texts = docs_texts[:50]
    fixed = Sampling(shuffle_buffer=0, random_crop=False)
    whole = collect(character_windows(texts, prep, 50, sampling=fixed))
    shards = [
        collect(character_windows(None, prep, 50, source=DocumentSource(texts, shard=(3, index)), sampling=fixed))
        for index in range(3)
    ]
    assert [len(shard) for shard in shards] == [17, 17, 16]
    for index, shard in enumerate(shards):
        np.testing.assert_array_equal(shard, whole[index::3])


def no_usable_text(match):
    # Raised inside tf.data, the error reaches a direct iteration wrapped; `fit` re-raises it as itself.
    return pytest.raises(tf.errors.InvalidArgumentError, match=f"{NoUsableTextError.__name__}: {match}")


def test_a_stream_with_no_usable_text_is_a_clear_error(prep):
    with no_usable_text("The data gave no usable text: 2 empty or whitespace-only and 0 filtered"):
        collect(character_windows(["", "  "], prep, 4))
    with no_usable_text("The data is empty"):
        collect(character_windows([], prep, 4))
    with no_usable_text("Worker 1 of 2 .* is empty.*every worker at least one document"):
        collect(character_windows(None, prep, 4, source=DocumentSource(["only one text"], shard=(2, 1))))

    def endless_blanks():
        while True:
            yield " "

    # An endless stream of unusable text stops after a bounded number of documents, not never.
    stats = TextStats()
    with no_usable_text(f"The data gave {MAX_UNUSABLE_BEFORE_TEXT:,} empty .* in a row"):
        next(iter(character_windows(endless_blanks(), prep, 4, sampling=Sampling(shuffle_buffer=0), stats=stats)))
    assert stats.empty == MAX_UNUSABLE_BEFORE_TEXT


def test_random_windows_handles_empty_rows_and_exact_fits():
    rows = tf.ragged.constant([[], [1, 2, 3, 4], [7, 8]], dtype=tf.int32)
    values, valid = random_windows(rows, capacity=4, seed=tf.constant([0, 0]))
    assert values.numpy()[1].tolist() == [1, 2, 3, 4]
    assert valid.numpy().sum(axis=1).tolist() == [0, 4, 2]


@pytest.fixture(scope="module")
def subword_prep(docs_texts):
    return Preprocessor(
        sequence_length=48, downsample_factor=4, add_cls=True, lowercase=True,
        subword_model="bpe", subword_vocab_size=400,
    ).fit(docs_texts, progress=False)


def test_subword_windows_match_the_character_windows_and_the_tokenizer(subword_prep, docs_texts):
    texts = [t for t in docs_texts[:200] if len(t) > 60]
    plain = collect(character_windows(texts, subword_prep, 16, sampling=Sampling(seed=3)))
    batches = list(character_windows(texts, subword_prep, 16, sampling=Sampling(seed=3), subwords=True))
    ids, token_ids, token_index = (
        np.concatenate([b[key].numpy() for b in batches]) for key in ("ids", "token_ids", "token_index")
    )
    np.testing.assert_array_equal(ids, plain)  # the same windows, whatever else comes along
    assert (token_ids[:, 0] == -1).all() and (token_index[:, 0] == -1).all()  # the cls position
    vocabulary = subword_prep.subword_tokenizer.tokenizer
    checked = 0
    for row_ids, row_tokens, row_index in zip(ids, token_ids, token_index):
        characters = subword_prep.decode(row_ids[None, :])[0]
        # Whole tokens inside the window spell their subword; tokens cut at the edges are skipped.
        for index in np.unique(row_index[row_index >= 0])[1:-1]:
            where = np.flatnonzero(row_index == index)
            assert (row_tokens[where] == row_tokens[where[0]]).all()
            assert "".join(characters[i - 1] for i in where) == vocabulary.id_to_token(int(row_tokens[where[0]]))
            checked += 1
        assert all(characters[i - 1].isspace() for i in np.flatnonzero(row_index[1:] < 0) + 1 if row_ids[i])
    assert checked > 500


def test_short_subword_windows_equal_encode_subwords(subword_prep):
    texts = ["The lambda expression", "An ÉCOLE of fish", "x = y + 1"]
    batch = next(iter(character_windows(texts, subword_prep, 3, sampling=Sampling(shuffle_buffer=0), subwords=True)))
    arrays = [batch[key] for key in ("ids", "token_ids", "token_index")]
    for mine, expected in zip(arrays, subword_prep.encode_subwords(texts)):
        np.testing.assert_array_equal(mine.numpy(), expected)


def test_subword_windows_need_a_tokenizer(prep):
    with pytest.raises(ValueError, match="subword_model='bpe'"):
        character_windows(["text"], prep, 2, subwords=True)


def test_corruption_gives_each_window_with_and_without_its_noise(prep, docs_texts):
    texts = docs_texts[:64]
    corruption = Augmentor.typos(0.3, keep_length=True, seed=1)
    windows = character_windows(texts, prep, 16, sampling=Sampling(seed=0))
    batches = list(corrupt_windows(windows, prep.as_layer(), corruption))
    corrupted = np.concatenate([b["corrupted_ids"].numpy() for b in batches])
    clean = np.concatenate([b["ids"].numpy() for b in batches])
    # The clean windows are exactly what the pipeline gives without corruption: same windows.
    np.testing.assert_array_equal(clean, collect(character_windows(texts, prep, 16, sampling=Sampling(seed=0))))
    assert corrupted.shape == clean.shape
    np.testing.assert_array_equal(corrupted == special_ids.PAD_ID, clean == special_ids.PAD_ID)
    np.testing.assert_array_equal(corrupted[:, 0], clean[:, 0])  # cls stays
    real = clean[:, 1:] != special_ids.PAD_ID
    differ = (corrupted[:, 1:] != clean[:, 1:])[real].mean()
    assert 0.1 < differ < 0.4
    # Fixed windows and noise across passes without rerandomize (validation).
    sampling = Sampling(seed=0, rerandomize=False, shuffle_buffer=0)
    fixed = corrupt_windows(character_windows(texts, prep, 16, sampling=sampling), prep.as_layer(), corruption)
    first, again = (next(iter(fixed))["corrupted_ids"].numpy() for _ in range(2))
    np.testing.assert_array_equal(first, again)


def test_corruption_must_keep_lengths(prep, docs_texts):
    with pytest.raises(ValueError, match=r"keeps lengths.*keep_length=True"):
        corrupt_windows(character_windows(docs_texts[:4], prep, 2), prep.as_layer(), Augmentor.typos(0.1))


def test_packing_fills_windows_with_neighbouring_documents_and_separators():
    short = [f"line {i} of a catalog" for i in range(300)]
    prep = Preprocessor(sequence_length=96, downsample_factor=4, add_cls=True).fit(short, progress=False)
    unpacked = collect(character_windows(short, prep, 16, sampling=Sampling(seed=0)))
    packed_batches = list(character_windows(short, prep, 16, sampling=Sampling(seed=0), pack=True))
    packed = collect(packed_batches)
    real = lambda ids: np.mean(ids[:, 1:] != special_ids.PAD_ID)  # noqa: E731 (after the cls id)
    assert real(unpacked) < 0.7 and real(packed) >= 0.9
    assert all(len(batch["ids"]) <= 16 for batch in packed_batches) and len(packed) < len(unpacked)
    assert (packed[:, 0] == special_ids.CLS_ID).all()
    # Between separators: whole documents, in the order they came (neighbours share a window).
    separators = int((packed == special_ids.SEP_ID).sum())
    assert separators >= 0.9 * len(short)  # at most the end of each group of documents is cut off
    row = packed[len(packed) // 2, 1:]
    cuts = np.flatnonzero(row == special_ids.SEP_ID)
    inner = [prep.decode(row[None, a + 1:b])[0] for a, b in zip(cuts[:-1], cuts[1:])]
    assert inner and all(text in short for text in inner)
    numbers = [int(text.split()[1]) for text in inner]
    assert numbers == sorted(numbers) and numbers[-1] - numbers[0] == len(numbers) - 1


def test_packing_refuses_labels_and_subwords(prep, docs_texts):
    with pytest.raises(ValueError, match="pack=True .* unlabelled character targets only"):
        character_windows(docs_texts[:4], prep, 2, pack=True,
                          source=DocumentSource(docs_texts[:4], labels={"a": 0}))
