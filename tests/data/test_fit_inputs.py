import datasets
import pandas as pd
import pytest

from cclm.data.fit_inputs import fit_data


def test_y_joins_the_texts_and_validation_split_holds_out_the_last_examples():
    texts, labels = [f"text {i}" for i in range(10)], [i % 2 for i in range(10)]
    assert fit_data(texts, labels, labelled=True) == ((texts, labels), None)
    train, held = fit_data(texts, labels, labelled=True, validation_split=0.2)
    assert train == (texts[:8], labels[:8]) and held == (texts[8:], labels[8:])
    train, held = fit_data((texts, labels), None, labelled=True, validation_split=0.25)  # ceil: 3 held out
    assert len(train[0]) == 7 and held == (texts[7:], labels[7:])
    assert fit_data(texts, None, labelled=False, validation_split=0.1) == (texts[:9], texts[9:])


def test_validation_split_of_a_dataframe_and_a_dataset_keeps_their_kind():
    frame = pd.DataFrame({"text": list("abcde"), "label": [0, 1, 0, 1, 0]})
    train, held = fit_data(frame, None, labelled=True, validation_split=0.4)
    assert list(train["text"]) == ["a", "b", "c"] and list(held["text"]) == ["d", "e"]
    dataset = datasets.Dataset.from_pandas(frame)
    train, held = fit_data(dataset, None, labelled=True, validation_split=0.2)
    assert isinstance(held, datasets.Dataset) and held["text"] == ["e"] and train.num_rows == 4


@pytest.mark.parametrize("call, message", [
    (lambda: fit_data(["a"], ["x"], labelled=False, task="MaskedLanguagePretrainer"),
     "MaskedLanguagePretrainer learns from unlabelled text: call fit\\(texts\\) without y"),
    (lambda: fit_data(datasets.Dataset.from_dict({"text": ["a"], "label": [0]}), [0], labelled=True),
     "y is given, but x is .*Dataset"),
    (lambda: fit_data(["a", "b"], ["x", "y"], labelled=True, validation_split=1.0), "validation_split=1.0"),
    (lambda: fit_data(["a", "b"], ["x", "y"], labelled=True, validation_data=(["c"], ["x"]), validation_split=0.5),
     "not both"),
    (lambda: fit_data(datasets.Dataset.from_dict({"text": ["a", "b"]}).to_iterable_dataset(), None, labelled=False,
                      validation_split=0.5), "give validation_data"),
    (lambda: fit_data(["a"], ["x"], labelled=True, validation_split=0.5), "nothing to train on"),
])
def test_bad_combinations_are_refused_with_the_fix(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("where", ["x", "y", "validation_data"])
def test_an_iterator_is_refused_since_a_fit_reads_its_data_more_than_once(where):
    given = {"x": ["a", "b"], "y": ["x", "y"], "validation_data": None}
    given[where] = (item for item in (["c"] if where != "validation_data" else [(["c"], ["x"])]))
    with pytest.raises(TypeError, match=f"{where} is generator .* read only once.*list\\(\\.\\.\\.\\)"):
        fit_data(given["x"], given["y"], labelled=True, validation_data=given["validation_data"])
