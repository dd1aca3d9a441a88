from cclm.data.encoding import utf8_bytes, without_surrogates


def test_utf8_bytes_keeps_one_position_per_surrogate():
    assert utf8_bytes("ok") == b"ok"
    # A high and a low surrogate stored as two code points stay two positions.
    assert utf8_bytes("a\ud800\udc00b").decode("utf-8") == "a\ufffd\ufffdb"


def test_without_surrogates_keeps_one_position_per_lone_surrogate():
    text = "a\ud83db\udc00"
    assert without_surrogates(text) == "a\ufffdb\ufffd" and len(without_surrogates(text)) == len(text)
    assert without_surrogates("plain é") == "plain é"
