"""Unicode normalization of only the part of a text that a window keeps.

Normalizing a run of n combining marks costs O(n²) (canonical reordering
sorts them), in Python's `unicodedata` and in ICU alike, so a hostile text
of 80,000 marks would take seconds to encode into a 64-character window.
Both the NumPy path (`Preprocessor.encode`) and the graph path
(`CharacterEncoder`) therefore normalize only a text's first
`prefix_length(capacity)` characters. Composition shrinks text by at most
4 characters to 1 (e.g. Greek alpha with three marks), so the prefix still
fills the window; for any text whose combining sequences are shorter than
the margin, the kept ids are exactly those of normalizing the whole text.

Example:
>>> normalize_prefix("e\\u0301" * 3, "NFC", capacity=2)
'éé'
>>> prefix_length(64)
288
"""

from __future__ import annotations

import unicodedata

NORMALIZATION_FORMS = ("NFC", "NFKC", "NFD", "NFKD")
_MARGIN = 32  # combining sequences up to this long never straddle the cut (Unicode's stream-safe limit is 30)


def prefix_length(capacity: int) -> int:
    """How many characters of a text are normalized to fill `capacity` positions."""
    return 4 * capacity + _MARGIN


def normalize_prefix(text: str, form: str | None, capacity: int | None = None) -> str:
    """`text` in normalization `form` (None: unchanged), cut to its first `capacity` characters when given."""
    if capacity is not None:
        text = text[:prefix_length(capacity)]
    if form is not None and not text.isascii():  # ASCII is normalized in every form; isascii() is O(1)
        text = unicodedata.normalize(form, text)
    return text if capacity is None else text[:capacity]
