"""Publish components to a shelf, fetch them elsewhere, and compose them again.

A shelf is a git repository whose component archives go through git-lfs.
`Shelf.init(path)` makes a local one (any git remote with LFS works the same
way: `Shelf("git@host:team/shelf.git")`). Publishing gives each component an
immutable version; fetching downloads only that version's archive, checks its
sha256, and caches it, so the next load runs no git at all.

Run: python examples/fetch_from_shelf.py --composed composed   (from examples/compose_two_towers.py)
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path


def main(argv: list[str] | None = None) -> bool:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--composed", type=Path, required=True, help="a saved composition to publish")
    parser.add_argument("--shelf", help="a shelf's git URL or path (default: a new local shelf in a temporary directory)")
    args = parser.parse_args(argv)

    import numpy as np

    from cclm import ComposedModel, Shelf

    with tempfile.TemporaryDirectory() as scratch:
        shelf = Shelf(args.shelf, cache_dir=Path(scratch) / "cache") if args.shelf else Shelf.init(
            Path(scratch) / "shelf.git", cache_dir=Path(scratch) / "cache")
        composed = ComposedModel.load(args.composed)
        published = shelf.publish(args.composed, "example-composition")
        print(f"Published {published.item_type}/{published.identifier} {published.version} "
              f"({published.size:,} bytes, sha256 {published.sha256[:12]}...)")
        for entry in shelf.list():
            print(f"  on the shelf: {entry.item_type}/{entry.identifier} {entry.version}: {entry.description}")

        # Anywhere else: fetch by name (the newest version, or version="1.0.0"), then load.
        fetched = ComposedModel.load(shelf.fetch("example-composition", version=published.version))
        again = ComposedModel.from_shelf("example-composition", shelf=shelf)  # cached: no git process
        texts = ["Fetched from the shelf.", "Ein Satz auf Deutsch."]
        ids = composed.preprocessor.encode(texts)
        same = all(
            np.array_equal(np.asarray(composed.id_model(ids)), np.asarray(model.id_model(ids))) for model in (fetched, again)
        )
        print(f"Fetched and loaded twice (the second time from the cache); identical outputs: {same}")
        return same


if __name__ == "__main__":
    main()
