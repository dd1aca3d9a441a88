"""Where text comes from: `list[str]`, HF `datasets`, text files, and sample corpora.

`iter_texts` / `iter_labelled` read every kind of input the library takes;
`open_data` reads the files the CLI is given.
"""

from cclm.data.files import open_data
from cclm.data.texts import LabelledData, TextData, iter_labelled, iter_texts

__all__ = ["LabelledData", "TextData", "iter_labelled", "iter_texts", "open_data"]
