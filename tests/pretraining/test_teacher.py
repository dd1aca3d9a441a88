import numpy as np
import pytest

from cclm.pretraining.teacher import Teacher


def test_texts_not_cached_go_to_the_encoder_shortest_first_and_come_back_in_their_order(tmp_path):
    calls = []

    def encode(texts):
        calls.append(list(texts))
        return np.array([[len(t), t.count("a")] for t in texts], "float32")

    texts = ["a" * n + " b" for n in (9, 1, 7, 3, 8, 2, 6, 4, 5)]
    teacher = Teacher(encode, "lengths", cache_dir=tmp_path, batch_size=4, progress=False)
    vectors = teacher(texts)
    assert vectors[:, 0].tolist() == [len(t) for t in texts]  # in the order asked for
    lengths = [[len(t) for t in call] for call in calls]
    assert [n for call in lengths for n in call] == sorted(len(t) for t in texts)  # shortest first, across calls
    assert [len(call) for call in calls] == [4, 4, 1]
    again = Teacher(encode, "lengths", cache_dir=tmp_path, batch_size=4, progress=False)
    assert np.array_equal(again(texts[::-1]), vectors[::-1]) and len(calls) == 3  # read from the cache


def lengths(texts):
    return np.array([[len(t), t.count("a")] for t in texts], "float32")


def test_bad_texts_and_bad_vectors_are_refused_by_name_and_nothing_of_them_is_cached(tmp_path):
    teacher = Teacher(lengths, "lengths", cache_dir=tmp_path, progress=False)
    with pytest.raises(TypeError, match=r"texts\[1\] is a NoneType .*takes strings"):
        teacher(["a cat", None])
    with pytest.raises(ValueError, match="batch_size=0; .* int >= 1"):
        Teacher(lengths, "lengths", batch_size=0)

    def some_nan(texts):
        vectors = lengths(texts)
        vectors[-1, 0] = np.nan
        return vectors

    nan_teacher = Teacher(some_nan, "nan", cache_dir=tmp_path, progress=False)
    with pytest.raises(ValueError, match="not finite .* 1 text\\(s\\), e.g. 'a longer text'"):
        nan_teacher(["a cat", "a longer text"])
    assert not list((tmp_path).glob("nan-*/chunk-*.npz"))  # nothing of the batch was cached

    teacher(["a cat", "a dog"])
    wider = Teacher(lambda texts: np.ones((len(texts), 3), "float32"), "lengths", cache_dir=tmp_path, progress=False)
    with pytest.raises(ValueError, match="3 dimensions where it gave 2 before .*one name, one teacher"):
        wider(["a bird"])
    assert np.array_equal(wider(["a cat"]), [[5.0, 2.0]])  # the cached vectors are still served


def test_an_unreadable_cache_file_is_skipped_with_a_warning_and_encoded_again(tmp_path):
    calls = []

    def encode(texts):
        calls.append(len(texts))
        return lengths(texts)

    Teacher(encode, "lengths", cache_dir=tmp_path, progress=False)(["a cat", "a dog"])
    (chunk,) = tmp_path.glob("lengths-*/chunk-*.npz")
    chunk.write_bytes(chunk.read_bytes()[:40])  # cut short, as a full disk might leave it
    with pytest.warns(UserWarning, match="unreadable teacher cache file .* encoded again"):
        again = Teacher(encode, "lengths", cache_dir=tmp_path, progress=False)
    assert again(["a dog"]).tolist() == [[5.0, 1.0]] and calls == [2, 1]


@pytest.mark.parametrize("damage", ["empty", "other width", "fewer vectors than keys"])
def test_an_empty_or_inconsistent_cache_file_is_skipped_too(tmp_path, damage):
    teacher = Teacher(lengths, "lengths", cache_dir=tmp_path, progress=False)
    teacher(["a cat", "a dog"])
    (chunk,) = tmp_path.glob("lengths-*/chunk-*.npz")
    bad = chunk.with_name("chunk-bad.npz")
    if damage == "empty":
        bad.write_bytes(b"")  # a crash or a full disk before anything was written
    else:
        with np.load(chunk) as saved:
            keys, vectors = saved["keys"], saved["vectors"]
        if damage == "other width":  # fewer than the others: the width most cached vectors have wins
            keys, vectors = keys[:1], np.ones((1, 3), "float32")
        else:
            vectors = vectors[:1]
        np.savez(bad, keys=keys, vectors=vectors)
    with pytest.warns(UserWarning, match="chunk-bad.npz .* encoded again"):
        again = Teacher(lengths, "lengths", cache_dir=tmp_path, progress=False)
    assert again(["a cat", "a dog"]).tolist() == [[5.0, 2.0], [5.0, 1.0]]
