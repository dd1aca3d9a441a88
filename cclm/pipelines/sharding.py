"""Which documents a worker reads: a `Shard`, and a seed of its own for it.

Under a multi-worker `tf.distribute` strategy each worker reads every
`count`-th document, starting at its `index`, so no document is read twice.

Example:
>>> shard_seed(0, None), shard_seed(None, (2, 1))
(0, None)
>>> shard_seed(0, (2, 0)) != shard_seed(0, (2, 1))
True
"""

from __future__ import annotations

import numpy as np

Shard = tuple[int, int]
"""`(count, index)`: a worker reads documents `index, index + count, ...`."""


def shard_seed(seed: int | None, shard: Shard | None) -> int | None:
    """A seed of its own for each worker's shard (the same `seed` alone on one worker)."""
    if seed is None or shard is None:
        return seed
    return int(np.random.SeedSequence([seed, shard[1]]).generate_state(1)[0] >> 1)
