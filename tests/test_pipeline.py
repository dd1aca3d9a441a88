import datasets
import numpy as np
import pytest
import tensorflow as tf

from cclm import Preprocessor, special_ids
from cclm.pipeline import TextStats, character_windows, random_windows


@pytest.fixture(scope="module")
def prep(docs_texts):
    return Preprocessor(sequence_length=32, downsample_factor=4, add_cls=True).fit(docs_texts, progress=False)


def collect(dataset):
    return np.concatenate([batch.numpy() for batch in dataset])


def test_windows_are_real_stretches_of_the_documents(prep, docs_texts):
    texts = [t for t in docs_texts[:64] if len(t) > 100]
    windows = collect(character_windows(texts, prep, batch_size=16, seed=0))
    assert windows.shape == (len(texts), 32) and windows.dtype == np.int32
    assert (windows[:, 0] == special_ids.CLS_ID).all()
    assert (windows[:, 1:] != special_ids.PAD_ID).all()  # long documents fill the window
    decoded = prep.decode(windows)
    assert all(any(window in text for text in texts) for window in decoded)


def test_windows_start_at_random_places_across_passes(prep):
    text = "".join(chr(ord("a") + i % 26) for i in range(500))
    dataset = character_windows([text], prep, batch_size=1, seed=3).repeat(20)
    firsts = {tuple(batch.numpy()[0, 1:3]) for batch in dataset}
    assert len(firsts) > 5


def test_short_documents_are_padded_and_empty_ones_skipped_and_counted(prep):
    stats = TextStats()
    windows = collect(character_windows(["short", "", "   \n", "x"], prep, batch_size=8, seed=0, stats=stats))
    assert windows.shape == (2, 32)
    assert sorted(prep.decode(windows)) == ["short", "x"]
    assert (stats.used, stats.empty, stats.filtered) == (2, 2, 0)


def test_same_seed_same_batches(prep, docs_texts):
    first = collect(character_windows(docs_texts[:100], prep, batch_size=16, seed=5))
    again = collect(character_windows(docs_texts[:100], prep, batch_size=16, seed=5))
    other = collect(character_windows(docs_texts[:100], prep, batch_size=16, seed=6))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_transforms_and_filters(prep):
    stats = TextStats()
    windows = character_windows(
        ["Keep THIS", "drop this", "Keep that"], prep, batch_size=4, shuffle_buffer=0,
        transforms=[str.lower], filters=[lambda t: t.startswith("keep")], stats=stats,
    )
    assert prep.decode(collect(windows)) == ["keep this", "keep that"]
    assert stats.filtered == 1


def test_reads_datasets_and_files_lazily(tmp_path, prep):
    path = tmp_path / "lines.txt"
    path.write_text("line one\nline two\n", encoding="utf-8")
    from_file = collect(character_windows(path, prep, batch_size=4, shuffle_buffer=0))
    dataset = datasets.Dataset.from_dict({"body": ["line one", "line two"]}).to_iterable_dataset()
    from_stream = collect(character_windows(dataset, prep, batch_size=4, shuffle_buffer=0, text_column="body"))
    np.testing.assert_array_equal(from_file, from_stream)

    def endless():
        while True:
            yield "again and again"

    batch = next(iter(character_windows(endless(), prep, batch_size=4, shuffle_buffer=0)))
    assert batch.shape == (4, 32)


def test_random_windows_handles_empty_rows_and_exact_fits():
    rows = tf.ragged.constant([[], [1, 2, 3, 4], [7, 8]], dtype=tf.int32)
    values, valid = random_windows(rows, capacity=4, seed=tf.constant([0, 0]))
    assert values.numpy()[1].tolist() == [1, 2, 3, 4]
    assert valid.numpy().sum(axis=1).tolist() == [0, 4, 2]
