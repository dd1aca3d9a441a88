"""Bounds on a manifest and every size-like number in its config, checked before any class or layer is built.

A component's config is plain JSON passed to a constructor, so a pushed or
damaged manifest could ask for a million residual blocks or a table of 2^40
rows: loading would stall or exhaust memory long before the constructor's
own checks (if any) ran. `check_config_sizes` walks the whole config, nested
tower options included, and refuses any number under a size-like key (by
the words in its name, so a field added later is covered by its name) that
is over that key's limit or not finite. The limits are far above any
real component (the starter embedder has 2 blocks, 64 wide, 1,576 ids).

Example:
>>> check_config_sizes({"hidden_dim": 64, "tower_options": {"num_layers": 2}}, "demo")
>>> check_config_sizes({"num_blocks": 1_000_000}, "demo")
Traceback (most recent call last):
...
cclm.errors.ComponentError: demo: its manifest's config sets num_blocks=1000000; use a positive int of at most 256. The manifest is damaged or hostile: fetch or save the component again.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from cclm.errors import ComponentError

SIZE_LIMITS = (
    # (words any of which in a key's name make it this kind of size, the limit): the first match wins.
    (("block", "layer", "head", "views", "depth"), 256),  # repeated layers: each costs build time
    (("kernel", "factor", "stride", "pool", "multiple"), 4096),  # window widths, downsampling, padding steps
    (("max_ngram", "ngrams", "max_n", "min_n"), 64),  # n-gram orders: each one is a pass over the text
    (("vocab",), 2**21),  # ids: Unicode has 1,114,112 code points
    (("length", "window", "margin"), 2**20),  # positions
    (("dim", "units", "filters", "width"), 2**16),  # vector widths
    (("bucket", "size", "sampled", "span", "labels", "classes"), 2**24),  # table rows and counts
)
"""How large a number under a size-like key may be; keys matching no words are not sizes (seed, rates)."""
MAX_MANIFEST_BYTES = 16 * 1024**2
"""A manifest is a few kilobytes (a classifier's labels and training history, tens): parsing is refused above this."""


def check_manifest_size(path: Path) -> None:
    """Refuses a `manifest.json` over `MAX_MANIFEST_BYTES` before it is parsed.

    Raises:
        ComponentError: naming the file, its size and the limit.
    """
    size = path.stat().st_size
    if size > MAX_MANIFEST_BYTES:
        raise ComponentError(f"{path} is {size:,} bytes, more than a manifest may be ({MAX_MANIFEST_BYTES:,}); "
                             "the component is damaged or hostile: fetch or save it again.")


def size_limit(key: str) -> int | None:
    """The limit on a config value under `key`, or None when the key is not size-like."""
    lowered = key.lower()
    return next((limit for words, limit in SIZE_LIMITS if any(word in lowered for word in words)), None)


def check_config_sizes(config: Any, where: object, key: str = "config") -> None:
    """Refuses a size-like number anywhere in `config` that is over its key's limit or not finite.

    Raises:
        ComponentError: naming the key, its value and the limit.
    """
    if isinstance(config, dict):
        for name, value in config.items():
            check_config_sizes(value, where, str(name))
    elif isinstance(config, list):
        for value in config:
            check_config_sizes(value, where, key)
    elif isinstance(config, (int, float)) and not isinstance(config, bool):
        limit = size_limit(key)
        if limit is None:
            return
        # A float is a rate or an epsilon (layer_norm_epsilon) unless it is past the limit or not finite.
        if not math.isfinite(config) or config > limit:
            raise ComponentError(
                f"{where}: its manifest's config sets {key}={config!r}; use a positive int of at most {limit:,}. "
                "The manifest is damaged or hostile: fetch or save the component again."
            )
