"""Publishing: a `Shelf` of versioned components in a git repository, archives in git-lfs.

`catalog` describes what a shelf holds, `archive` packs and unpacks
component directories; `Shelf` publishes, lists and fetches; `StarterShelf`
serves the pretrained components that ship with cclm.
"""

from cclm.shelf.catalog import CatalogEntry
from cclm.shelf.shelf import Shelf
from cclm.shelf.starter import StarterShelf

__all__ = ["CatalogEntry", "Shelf", "StarterShelf"]
