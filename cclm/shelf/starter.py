"""The starter shelf: pretrained components that ship inside cclm, read-only, fetched with no git and no network.

It is laid out like a shelf repository (`catalog/<type>/<identifier>/<version>.json`
and `.md`, `components/<type>/<identifier>/<version>.tar.gz`), but the archives are
plain files in the package instead of git-lfs objects. Fetching one checks its
sha256 and size against its catalog entry, unpacks it safely into the cache
(`objects/<sha256>/`, shared with every shelf) and checks every unpacked file
on later fetches, exactly as a version fetched from a git shelf. `Shelf.fetch`
serves the starter identifiers from here, so `Shelf().fetch("starter-contrastive")`,
`"shelf:starter-contrastive"` and `cclm shelf fetch` work on a fresh install.

`scripts/train_starter.py` writes it with `write_starter_shelf`.

Example:
>>> shelf = StarterShelf()
>>> [entry.identifier for entry in shelf.list("preprocessor")]
['starter']
>>> from cclm import Preprocessor
>>> prep = Preprocessor.load(shelf.fetch("starter", "preprocessor"))
>>> prep.decode(prep.encode(["Grüße, привет"]))
['Grüße, привет']
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from cclm.components import file_sha256
from cclm.errors import ChecksumMismatchError, ShelfLookupError
from cclm.shelf.cache import ShelfCache
from cclm.shelf.catalog import CatalogEntry, check_name, find_version, read_catalog, version_key
from cclm.shelf.locations import default_cache_dir
from cclm.shelf.names import RESERVED_PREFIX, is_reserved
from cclm.shelf.staging import stage_version

STARTER_DIR = Path(__file__).resolve().parents[1] / "starter_shelf"
"""Where the package keeps its starter shelf."""

STARTER_PREFIX = RESERVED_PREFIX
"""Identifiers of starter components are "starter" or begin with "starter-"; user shelves cannot publish them."""
is_starter_identifier = is_reserved  # the one rule (`cclm.shelf.names`), under the name callers know


class StarterShelf:
    """The pretrained components that ship with cclm: list, inspect, fetch and load them offline.

    Args:
        root: the starter shelf directory (default: the package's).
        cache_dir: where fetched components are unpacked (default: the
            shelf cache, `$CCLM_CACHE` or the user's cache directory).

    Example:
    >>> from cclm import ComposedModel
    >>> shelf = StarterShelf()
    >>> embedder = shelf.load("starter-embedder")
    >>> composed = ComposedModel(embedder, [shelf.load("starter-contrastive")],
    ...                          preprocessor=shelf.load("starter"))
    >>> composed(["Bonjour le monde", "def f(x): return x"]).shape[0]
    2
    """

    def __init__(self, root: str | os.PathLike | None = None, cache_dir: str | os.PathLike | None = None):
        self.root = Path(root).expanduser().absolute() if root is not None else STARTER_DIR
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()

    def __repr__(self) -> str:
        return f"StarterShelf(root={str(self.root)!r}, cache_dir={str(self.cache_dir)!r})"

    def list(self, item_type: str | None = None) -> list[CatalogEntry]:
        """Every starter version (optionally of one item type), sorted by type, identifier and version."""
        return [e for e in read_catalog(self.root, starter=True) if item_type is None or e.item_type == item_type]

    def holds(self, identifier: str, item_type: str | None = None) -> bool:
        """Whether a starter version of `identifier` (of `item_type`, when given) ships here."""
        return any(e.identifier == identifier and item_type in (None, e.item_type) for e in self.list())

    def versions(self, identifier: str, item_type: str | None = None) -> list[str]:
        """The starter versions of `identifier`, oldest first."""
        return [entry.version for entry in self._matching(identifier, item_type)]

    def info(self, identifier: str, item_type: str | None = None, version: str | None = None) -> CatalogEntry:
        """The catalog entry of one starter version (the newest when `version` is None)."""
        matching = self._matching(identifier, item_type)
        entry = find_version(matching, version)
        if entry is not None:
            return entry
        raise ShelfLookupError(
            f"{matching[0].item_type}/{identifier} has no starter version {version!r}; "
            f"this cclm ships {[e.version for e in matching]}."
        )

    def card(self, identifier: str, item_type: str | None = None, version: str | None = None) -> str:
        """The model card (Markdown with YAML metadata) of one starter version."""
        return (self.root / self.info(identifier, item_type, version).card_path).read_text(encoding="utf-8")

    def verify(self) -> list[str]:
        """Every problem with the starter shelf.

        An archive missing or not the bytes its catalog entry records, or a
        cached copy that is not exactly its archive's files.
        """
        from cclm.shelf.cache_check import verify_starter_cache  # it needs git plumbing; listing does not

        problems = []
        for entry in self.list():
            archive = self.root / entry.archive_path
            if not archive.is_file():
                problems.append(f"starter {entry.tag}: its archive is missing ({archive}).")
            elif (file_sha256(archive), archive.stat().st_size) != (entry.sha256, entry.size):
                problems.append(f"starter {entry.tag}: {archive} is not the archive its catalog entry records "
                                f"(sha256 {entry.sha256[:12]}, {entry.size:,} bytes).")
        return problems or verify_starter_cache(self.list(), self.root, self.cache_dir)

    def _matching(self, identifier: str, item_type: str | None) -> list[CatalogEntry]:
        check_name(identifier, "identifier")
        entries = self.list()
        matching = [e for e in entries if e.identifier == identifier and item_type in (None, e.item_type)]
        if not matching:
            known = sorted(f"{e.item_type}/{e.identifier}" for e in entries)
            raise ShelfLookupError(
                f"{identifier!r}{f' ({item_type})' if item_type else ''} is not a starter component. "
                f"The starter shelf holds: {', '.join(known) if known else 'nothing (reinstall cclm)'}."
            )
        return sorted(matching, key=lambda e: version_key(e.version))

    def fetch(self, identifier: str, item_type: str | None = None, version: str | None = None) -> Path:
        """The cache directory of the unpacked starter component, its archive checked by sha256 first.

        Raises:
            ShelfLookupError: not a starter identifier or version (the message lists what ships).
            ChecksumMismatchError: the packaged archive is not what its catalog entry says
                (the package was changed after it was built: reinstall cclm).
        """
        entry = self.info(identifier, item_type, version)
        directory = ShelfCache(self.cache_dir, "starter").object_dir(entry.sha256)
        if ShelfCache.verified(directory):
            return directory
        archive = self.root / entry.archive_path
        if not archive.is_file():
            raise ChecksumMismatchError(f"The archive of starter {entry.tag} is missing at {archive}; reinstall cclm.")
        actual = (file_sha256(archive), archive.stat().st_size)
        if actual != (entry.sha256, entry.size):
            raise ChecksumMismatchError(
                f"The starter archive {archive} has sha256 {actual[0][:12]} ({actual[1]:,} bytes); its catalog "
                f"entry says {entry.sha256[:12]} ({entry.size:,} bytes). It was changed after cclm was built: "
                "reinstall cclm."
            )
        ShelfCache.install(archive, directory)
        return directory

    def load(self, identifier: str, item_type: str | None = None, version: str | None = None) -> Any:
        """Fetches and loads a starter component (`cclm.load_component` on the fetched directory)."""
        from cclm.components import load_component

        return load_component(self.fetch(identifier, item_type, version))


STARTER_TOWERS = ("starter-contrastive", "starter-multilingual", "starter-meaning")
"""The towers of the README's starter composition, in its order."""


def starter_composition(shelf: StarterShelf | None = None, towers: tuple[str, ...] = STARTER_TOWERS) -> Any:
    """The README's composition of starter components: the starter preprocessor and embedder with `towers`.

    `cclm select` reads texts with it by default; benchmarks measure it.
    """
    from cclm.models.composed_model import ComposedModel

    shelf = shelf or StarterShelf()
    return ComposedModel(shelf.load("starter-embedder", "embedder"), [shelf.load(name) for name in towers],
                         preprocessor=shelf.load("starter", "preprocessor"), name="starter")


def write_starter_shelf(root: str | os.PathLike, components: list[tuple], version: str) -> list[CatalogEntry]:
    """Writes a starter shelf at `root` from saved components: `(identifier, directory, manifest)` each, at
    `version`, or `(identifier, directory, manifest, its own version)`.

    The shelf is built beside `root` and renamed into place, so a failure
    leaves the previous one as it was.
    """
    root = Path(root).absolute()
    staging = root.with_name(f".{root.name}.{os.getpid()}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        entries = []
        for identifier, directory, manifest, *own in components:
            if not is_starter_identifier(identifier):
                raise ValueError(f"identifier={identifier!r}; starter identifiers are 'starter' or begin with 'starter-'.")
            entries.append(stage_version(staging, Path(directory), manifest, identifier, own[0] if own else version,
                                         None))
        old = root.with_name(f".{root.name}.{os.getpid()}.old")
        if root.exists():
            os.rename(root, old)
        os.rename(staging, root)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return entries
