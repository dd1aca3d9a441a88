"""`ShelfCache`: one shelf's fetched versions in the cache directory, checked file by file.

Under the cache directory, for a shelf whose key is `key`:

    objects/<sha256>/          unpacked components, keyed by the archive's sha256
    objects/<sha256>.files     the sha256 and size of every file, to detect damage
    <identifier>/<type>        a link to the version last fetched with `fetch(cache_dir=...)`
    refs/<key>/<type>/<identifier>/<version>.json
                               the catalog entries of fetched versions, for offline loads

Objects are shared by every shelf (same archive, same directory); refs are
per shelf. Nothing here runs git.

Example:
>>> import pathlib, tempfile
>>> cache = ShelfCache(pathlib.Path(tempfile.mkdtemp()), "team-shelf-0123456789ab")
>>> cache.lookup("docs-en", "embedder", "1.0.0") is None
True
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import warnings
from pathlib import Path

from cclm.components.files import atomic_file, file_sha256
from cclm.errors import ChecksumMismatchError, UnsafeArchiveError
from cclm.shelf.archive import unpack
from cclm.shelf.catalog import CatalogEntry
from cclm.shelf.git import locked


def write_text_atomically(path: Path, text: str) -> None:
    """Writes `text` (UTF-8) to a temporary file beside `path`, then renames it onto `path`."""
    with atomic_file(path) as stream:
        stream.write(text.encode("utf-8"))


def file_record(directory: Path) -> dict[str, list]:
    """[sha256, size] of every file below `directory`, by relative path."""
    return {
        p.relative_to(directory).as_posix(): [file_sha256(p), p.stat().st_size]
        for p in sorted(directory.rglob("*")) if p.is_file()
    }


class ShelfCache:
    """The versions of the shelf keyed `key` that were fetched into the cache directory `root`."""

    def __init__(self, root: Path, key: str):
        self.root = Path(root)
        self.key = key

    def ref_path(self, item_type: str, identifier: str, version: str) -> Path:
        """Where the catalog entry of a fetched version is remembered."""
        return self.root / "refs" / self.key / item_type / identifier / f"{version}.json"

    def entries(self, identifier: str, item_type: str | None) -> list[CatalogEntry]:
        """The remembered entries of `identifier` (of any type when `item_type` is None)."""
        entries = []
        for path in (self.root / "refs" / self.key).glob(f"{item_type or '*'}/{identifier}/*.json"):
            with contextlib.suppress(ValueError, OSError):
                entries.append(CatalogEntry.from_json(path.read_text(encoding="utf-8"), str(path)))
        return entries

    def recorded(self, entry: CatalogEntry) -> CatalogEntry | None:
        """The entry this cache remembered for `entry`'s version when it first fetched it, if any."""
        return self._remembered(entry.item_type, entry.identifier, entry.version)

    def _remembered(self, item_type: str, identifier: str, version: str) -> CatalogEntry | None:
        path = self.ref_path(item_type, identifier, version)
        try:
            return CatalogEntry.from_json(path.read_text(encoding="utf-8"), str(path))
        except (OSError, ValueError):
            return None

    def object_dir(self, sha256: str) -> Path:
        """Where the archive with this sha256 is unpacked."""
        return self.root / "objects" / sha256

    @staticmethod
    def verified(directory: Path) -> bool:
        """Whether an unpacked cache entry still has exactly the files it was unpacked with."""
        record = directory.with_name(directory.name + ".files")
        if not (directory.is_dir() and record.is_file()):
            return False
        try:
            return json.loads(record.read_text(encoding="utf-8")) == file_record(directory)
        except (ValueError, OSError):
            return False

    def lookup(self, identifier: str, item_type: str | None, version: str) -> Path | None:
        """The verified directory of a remembered version, or None (unknown, ambiguous or damaged)."""
        types = [item_type] if item_type else sorted(
            {p.parent.parent.name for p in (self.root / "refs" / self.key).glob(f"*/{identifier}/{version}.json")}
        )
        if len(types) != 1:
            return None
        entry = self._remembered(types[0], identifier, version)
        if entry is None:
            return None
        directory = self.object_dir(entry.sha256)
        if self.verified(directory):
            return directory
        if directory.exists():
            warnings.warn(f"The cached copy of {entry.tag} at {directory} is damaged; fetching it again.", stacklevel=4)
        return None

    def remember(self, entry: CatalogEntry) -> None:
        """Records a fetched version's entry, so it loads later with no git call."""
        write_text_atomically(self.ref_path(entry.item_type, entry.identifier, entry.version), entry.to_json())

    def link(self, identifier: str, item_type: str, directory: Path) -> Path:
        """Makes `root/identifier/item_type` point at a fetched `directory` (the original cclm's layout)."""
        link = self.root / identifier / item_type
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.exists() and not link.is_symlink():
            raise FileExistsError(f"{link} exists and is not a link cclm made; move it away to fetch here.")
        staging = link.with_name(f".{item_type}.{os.getpid()}.link")
        staging.unlink(missing_ok=True)
        os.symlink(os.path.relpath(directory, link.parent), staging, target_is_directory=True)
        os.replace(staging, link)
        return link

    @staticmethod
    def install(archive: Path, directory: Path, max_bytes: int | None = None) -> None:
        """Unpacks into a temporary directory, records every file's hash, renames into place.

        `max_bytes` caps the unpacked size (default `archive_limits.default_max_bytes()`).

        Objects are shared by every shelf and every process using the cache,
        so installing one holds that object's lock (`locks/objects-<sha256>.lock`);
        a process that waited for it finds the object installed and leaves it.
        """
        with locked(directory.parent.parent / "locks" / f"objects-{directory.name}.lock"):
            if not ShelfCache.verified(directory):
                ShelfCache._install(archive, directory, max_bytes)

    @staticmethod
    def _install(archive: Path, directory: Path, max_bytes: int | None) -> None:
        directory.parent.mkdir(parents=True, exist_ok=True)
        staging = directory.with_name(f".{directory.name}.{os.getpid()}.tmp")
        shutil.rmtree(staging, ignore_errors=True)
        try:
            unpack(archive, staging, max_bytes)
        except UnsafeArchiveError as error:
            raise ChecksumMismatchError(f"Refusing the archive: {error}") from None
        try:
            write_text_atomically(directory.with_name(directory.name + ".files"), json.dumps(file_record(staging), indent=1))
            if directory.exists():
                # A damaged earlier copy: move it aside, then replace it.
                old = directory.with_name(f".{directory.name}.{os.getpid()}.old")
                os.rename(directory, old)
                shutil.rmtree(old, ignore_errors=True)
            os.rename(staging, directory)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
