import json

import datasets
import pytest

from cclm.data.files import DataFileError, open_data
from cclm.data.texts import iter_labelled, iter_texts


@pytest.fixture()
def rows():
    return [{"text": f"text number {i}", "label": "even" if i % 2 == 0 else "odd"} for i in range(10)]


def test_every_format_reads_the_same_rows(rows, tmp_path):
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "d.csv").write_text("text,label\n" + "".join(f"{r['text']},{r['label']}\n" for r in rows))
    (tmp_path / "d.tsv").write_text("text\tlabel\n" + "".join(f"{r['text']}\t{r['label']}\n" for r in rows))
    datasets.Dataset.from_list(rows).save_to_disk(str(tmp_path / "saved"))
    expected = [(r["text"], r["label"]) for r in rows]
    for name in ("d.jsonl", "d.csv", "d.tsv", "saved"):
        assert list(iter_labelled(open_data(tmp_path / name, label_column="label"))) == expected, name
        streamed = open_data(tmp_path / name, label_column="label", streaming=True)
        assert isinstance(streamed, datasets.IterableDataset) and list(iter_labelled(streamed)) == expected
    (tmp_path / "d.txt").write_text("".join(r["text"] + "\n" for r in rows))
    assert list(iter_texts(open_data(tmp_path / "d.txt"))) == [r["text"] for r in rows]


def test_bad_paths_formats_and_columns_are_explained(rows, tmp_path):
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "d.txt").write_text("a\n")
    (tmp_path / "d.xlsx").write_text("a\n")
    (tmp_path / "broken.jsonl").write_text('{"text": "a"\n')
    (tmp_path / "folder").mkdir()
    cases = [
        (tmp_path / "none.csv", {}, "does not exist"),
        (tmp_path / "d.jsonl", {"text_column": "body"}, "no column 'body'; its columns are ['text', 'label']"),
        (tmp_path / "d.txt", {"label_column": "label"}, "plain text, which has no labels"),
        (tmp_path / "d.xlsx", {}, "unknown format '.xlsx'"),
        (tmp_path / "broken.jsonl", {}, "broken.jsonl, line 1: not JSON"),  # the file and the line, as a reader fixes it
        (tmp_path / "folder", {}, "not a saved `datasets` dataset"),
    ]
    for path, options, message in cases:
        with pytest.raises(DataFileError, match=message.replace("(", r"\(").replace("[", r"\[")):
            open_data(path, **options)


@pytest.mark.parametrize("suffix, separator", [(".csv", ","), (".tsv", "\t")])
def test_text_cells_like_na_null_or_empty_stay_text_and_an_empty_label_is_missing(tmp_path, suffix, separator):
    path = tmp_path / f"words{suffix}"
    rows = [("NA", "abbreviation"), ("null", "word"), ("None", "word"), ("", "empty"), ("hello", "word")]
    path.write_text(f"text{separator}label\n" + "".join(f"{t}{separator}{label}\n" for t, label in rows))
    assert list(iter_labelled(open_data(path, label_column="label"))) == rows
    assert list(iter_texts(open_data(path))) == [t for t, _ in rows]
    (tmp_path / f"gap{suffix}").write_text(f"text{separator}label\nfine{separator}good\nunlabelled{separator}\n")
    with pytest.raises(TypeError, match="row 1 of column 'label' is NoneType None, a missing label: drop that row"):
        list(iter_labelled(open_data(tmp_path / f"gap{suffix}", label_column="label")))
    (tmp_path / f"ints{suffix}").write_text(f"text{separator}label\nfine{separator}1\nunlabelled{separator}\n")
    with pytest.raises(TypeError, match="row 0 of column 'label' is float 1.0, drop the rows without a label"):
        list(iter_labelled(open_data(tmp_path / f"ints{suffix}", label_column="label")))  # ints with a gap: floats
