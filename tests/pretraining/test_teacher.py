import numpy as np

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
