from pathlib import Path

import datasets
import pandas
import pytest

from cclm.data.texts import (
    check_batch,
    iter_labelled,
    iter_texts,
    labels_of,
)


def test_lists_datasets_and_files_give_the_same_texts(tmp_path):
    texts = ["first text", "", "третий текст"]
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(texts) + "\n", encoding="utf-8")
    dataset = datasets.Dataset.from_dict({"body": texts, "label": [0, 1, 2]})
    assert list(iter_texts(texts)) == texts
    assert list(iter_texts(path)) == texts
    assert list(iter_texts([path, path])) == texts + texts
    assert list(iter_texts(dataset, text_column="body")) == texts
    assert list(iter_texts(dataset.to_iterable_dataset(), text_column="body")) == texts


def test_iter_texts_is_lazy():
    def endless():
        while True:
            yield "again"

    stream = iter_texts(endless())
    assert [next(stream) for _ in range(3)] == ["again"] * 3


@pytest.mark.parametrize(
    "bad, fragment",
    [
        (None, "NoneType None"),
        (b"bytes", "bytes b'bytes'"),
        (3.5, "float 3.5"),
        (["nested"], "list ['nested']"),
    ],
)
def test_bad_items_are_named_with_their_index(bad, fragment):
    with pytest.raises(TypeError, match=r"data\[1\] is " + fragment.replace("[", r"\[").replace("]", r"\]")):
        list(iter_texts(["fine", bad]))
    with pytest.raises(TypeError, match=r"texts\[2\] is"):
        check_batch(["a", "b", bad])


def test_a_bare_string_is_refused_with_the_fix():
    with pytest.raises(TypeError, match=r"Pass \[text\]"):
        list(iter_texts("just one text"))
    with pytest.raises(TypeError, match=r"encode\(\[text\]\)"):
        check_batch("just one text")


def test_mixing_texts_and_paths_is_refused(tmp_path):
    with pytest.raises(TypeError, match=r"data\[1\].*not both"):
        list(iter_texts(["text", tmp_path / "f.txt"]))


def test_dataset_without_the_column_lists_its_columns():
    dataset = datasets.Dataset.from_dict({"body": ["a"]})
    with pytest.raises(ValueError, match=r"no column 'text'.*\['body'\]"):
        list(iter_texts(dataset))


def test_none_inside_a_dataset_column_is_named_by_row():
    dataset = datasets.Dataset.from_dict({"text": ["a", None]})
    with pytest.raises(TypeError, match=r"row 1 of column 'text'"):
        list(iter_texts(dataset))


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        list(iter_texts(Path(tmp_path / "nope.txt")))


def test_undecodable_bytes_in_files_become_replacement_characters(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"caf\xe9\n")
    assert list(iter_texts(path)) == ["caf\ufffd"]



def test_a_class_label_column_gives_its_names():
    features = datasets.Features({"text": datasets.Value("string"),
                                  "label": datasets.ClassLabel(names=["negative", "positive"])})
    data = datasets.Dataset.from_dict({"text": ["bad", "good"], "label": [0, 1]}, features=features)
    assert list(iter_labelled(data)) == [("bad", "negative"), ("good", "positive")]
    streamed = data.to_iterable_dataset()
    assert list(iter_labelled(streamed)) == [("bad", "negative"), ("good", "positive")]
    missing = datasets.Dataset.from_dict({"text": ["?"], "label": [-1]}, features=features)
    with pytest.raises(ValueError, match="row 0 of column 'label' is -1.*missing label"):
        list(iter_labelled(missing))


def test_a_dataset_dict_asks_for_a_split():
    splits = datasets.DatasetDict({"train": datasets.Dataset.from_dict({"text": ["a"], "label": [0]}),
                                   "test": datasets.Dataset.from_dict({"text": ["b"], "label": [1]})})
    for read in (iter_texts, iter_labelled):
        with pytest.raises(TypeError, match=r"DatasetDict with the splits \['train', 'test'\]; choose a split, "
                                            r"e.g. data\['train'\]"):
            list(read(splits))


def test_dataframes_are_read_by_column():
    frame = pandas.DataFrame({"body": ["first", "second"], "tag": ["x", "y"]})
    assert list(iter_texts(frame, "body")) == ["first", "second"]
    assert list(iter_labelled(frame, "body", "tag")) == [("first", "x"), ("second", "y")]
    with pytest.raises(ValueError, match=r"The DataFrame has no column 'text'; its columns are \['body', 'tag'\]"):
        list(iter_labelled(frame))
    with pytest.raises(TypeError, match=r"row 1 of column 'body'"):
        list(iter_texts(pandas.DataFrame({"body": ["ok", None]}), "body"))


def test_tf_data_datasets_of_strings_pairs_and_dicts_are_read_batched_or_not():
    import tensorflow as tf

    texts, labels = ["héllo", "wörld", "three"], ["a", "b", "a"]
    strings = tf.data.Dataset.from_tensor_slices(texts)
    assert list(iter_texts(strings)) == texts
    assert list(iter_texts(strings.batch(2))) == texts
    pairs = tf.data.Dataset.from_tensor_slices((texts, labels))
    assert list(iter_labelled(pairs.batch(2))) == list(zip(texts, labels))
    assert list(iter_texts(pairs)) == texts  # the texts of labelled data
    numbered = tf.data.Dataset.from_tensor_slices({"body": texts, "kind": [0, 1, 0]})
    assert list(iter_labelled(numbered, text_column="body", label_column="kind")) == list(zip(texts, [0, 1, 0]))
    with pytest.raises(ValueError, match="no column 'text'.*Pass text_column"):
        list(iter_texts(numbered))
    with pytest.raises(TypeError, match="texts but no labels"):
        list(iter_labelled(strings))
    with pytest.raises(TypeError, match="cclm reads tf.string texts"):
        list(iter_texts(tf.data.Dataset.range(3)))


def test_a_byte_order_mark_starting_a_text_file_is_not_read_as_text(tmp_path):
    path = tmp_path / "notepad.txt"
    path.write_text("hello\nworld\n", encoding="utf-8-sig")  # as Notepad and Excel save
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert list(iter_texts(path)) == ["hello", "world"]



def test_mixed_int_and_str_labels_are_refused_by_name():
    with pytest.raises(ValueError, match=r"mix ints and strings \(\[0, 'bye'\]\); use one kind"):
        labels_of((["a", "b", "c"], [0, "bye", 0]))


def test_a_float_label_says_why_it_is_one():
    with pytest.raises(TypeError, match="labels\\[1\\] is float nan, a missing label: drop that row"):
        list(iter_labelled((["a", "b"], ["x", float("nan")])))
    with pytest.raises(TypeError, match="float 1.0, drop the rows without a label, or int"):
        list(iter_labelled((["a"], [1.0])))


@pytest.mark.parametrize("kind", ["numpy", "pandas", "arrow", "tf"])
def test_a_dataset_is_read_as_plain_values_whatever_its_format(kind):
    texts, labels = ["a b", "c d"], [0, 1]
    data = datasets.Dataset.from_dict({"text": texts, "label": labels}).with_format(kind)
    assert list(iter_texts(data)) == texts
    assert list(iter_labelled(data)) == list(zip(texts, labels))
    assert list(iter_texts(data.to_iterable_dataset().with_format(kind))) == texts


def test_tf_data_with_sample_weights_or_of_unknown_rank_is_refused_with_the_fix():
    import tensorflow as tf

    weighted = tf.data.Dataset.from_tensor_slices((["a", "b"], [0, 1], [1.0, 2.0]))
    with pytest.raises(TypeError, match="does not read sample weights.*class_weight="):
        list(iter_labelled(weighted))
    unknown = tf.data.Dataset.from_generator(lambda: iter([b"a"]), output_signature=tf.TensorSpec(None, tf.string))
    with pytest.raises(TypeError, match=r"unknown rank.*tf.TensorSpec\(\(\), tf.string\)"):
        list(iter_texts(unknown))
