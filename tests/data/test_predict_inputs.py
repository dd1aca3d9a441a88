import numpy as np

from cclm.data.predict_inputs import texts_to_predict


def test_a_numpy_object_array_of_bytes_is_read_as_utf8_texts():
    assert texts_to_predict(np.array([b"caf\xc3\xa9", b"x"], dtype=object)) == (["café", "x"], False)
