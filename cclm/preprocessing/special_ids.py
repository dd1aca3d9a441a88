"""Reserved ids shared by every cclm component.

Id 0 is padding; the next few ids have fixed meanings; characters start at
`FIRST_CHARACTER_ID`. Padding is masked out of every loss and every pooling;
unknown characters get `UNKNOWN_ID`, never padding.

Example:
>>> from cclm.preprocessing import special_ids
>>> special_ids.PAD_ID, special_ids.UNKNOWN_ID, special_ids.FIRST_CHARACTER_ID
(0, 1, 5)
"""

PAD_ID = 0
"""Padding: positions past the end of a text."""
UNKNOWN_ID = 1
"""A character outside the vocabulary, a lone surrogate or an unassigned code point."""
MASK_ID = 2
"""A position hidden from the model during masked-language pretraining."""
CLS_ID = 3
"""An optional first position whose vector summarizes the text."""
SEP_ID = 4
"""A separator between two texts in one sequence."""

SPECIAL_ID_NAMES = {
    PAD_ID: "[PAD]",
    UNKNOWN_ID: "[UNK]",
    MASK_ID: "[MASK]",
    CLS_ID: "[CLS]",
    SEP_ID: "[SEP]",
}
FIRST_CHARACTER_ID = len(SPECIAL_ID_NAMES)
