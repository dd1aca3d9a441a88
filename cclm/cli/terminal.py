"""Text from a shelf, a manifest or a card made safe for a terminal: no control or bidi-override characters.

Anyone who can push to a shared shelf writes descriptions, cards and names
that other people's `cclm` prints. C0 and C1 control characters (ESC, CSI
U+009B, NEL U+0085, DCS U+0090, ...) can drive a terminal, and bidi
overrides (U+202E, ...) make text read other than it is. Text mode shows
each as "?"; JSON escapes each as `\\uXXXX`, which parses back to the same
string.

Example:
>>> printable("nice \\x1b[2J\\u202eeulav model")
'nice ?[2J?eulav model'
>>> json_text({"name": "a\\u202eb\\x9b"})
'{"name": "a\\\\u202eb\\\\u009b"}'
"""

from __future__ import annotations

import json
import re
from typing import Any

# C1 controls, DEL, the bidi embeddings, overrides and isolates, and line/paragraph separators.
_INVISIBLE = "\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile(f"[\x00-\x1f{_INVISIBLE}]")
_UNSAFE_IN_LINES = re.compile(f"[\x00-\x08\x0b-\x1f{_INVISIBLE}]")  # keeps tab and newline
_UNSAFE_IN_JSON = re.compile(f"[{_INVISIBLE}]")  # json.dumps escapes C0 itself


def printable(value: object, lines: bool = False) -> str:
    """`value` as text with every control and bidi-override character shown as "?" (tabs and newlines kept with `lines`)."""
    return (_UNSAFE_IN_LINES if lines else _UNSAFE).sub("?", str(value))


def json_text(value: Any, indent: int | None = None) -> str:
    """`value` as JSON (non-ASCII text kept readable) with control and bidi characters escaped as `\\uXXXX`."""
    text = json.dumps(value, indent=indent, ensure_ascii=False)
    return _UNSAFE_IN_JSON.sub(lambda found: f"\\u{ord(found.group()):04x}", text)
