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
from cclm.errors import CatalogError, ChecksumMismatchError, UnsafeArchiveError
from cclm.shelf.archive import unpack
from cclm.shelf.catalog import CatalogEntry, read_entry
from cclm.shelf.git import locked


def write_text_atomically(path: Path, text: str) -> None:
    """Writes `text` (UTF-8) to a temporary file beside `path`, then renames it onto `path`."""
    with atomic_file(path) as stream:
        stream.write(text.encode("utf-8"))


def file_record(directory: Path) -> dict[str, list]:
    """[sha256, size] of every file below `directory`, by relative path; ["link", target] for a link.

    Links are recorded, never followed: unpacking writes none, so a cached
    file swapped for a link (to a copy, or to anything) never matches a record.
    """
    record: dict[str, list] = {}
    for root, directories, files in os.walk(directory):
        for name in sorted(directories + files):
            path = Path(root, name)
            relative = path.relative_to(directory).as_posix()
            if path.is_symlink() or not (path.is_dir() or path.is_file()):
                record[relative] = ["link", os.readlink(path) if path.is_symlink() else "special"]
            elif path.is_file():
                record[relative] = [file_sha256(path), path.stat().st_size]
    return dict(sorted(record.items()))


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
            entry = CatalogEntry.from_json(path.read_text(encoding="utf-8"), str(path))
        except (OSError, ValueError):
            return None
        # A record moved to another version's path must not stand in for that version.
        return entry if (entry.item_type, entry.identifier, entry.version) == (item_type, identifier, version) else None

    def object_dir(self, sha256: str) -> Path:
        """Where the archive with this sha256 is unpacked."""
        return self.root / "objects" / sha256

    @staticmethod
    def verified(directory: Path) -> bool:
        """Whether an unpacked cache entry still has exactly the files it was unpacked with."""
        record = directory.with_name(directory.name + ".files")
        if directory.is_symlink() or not (directory.is_dir() and record.is_file()):  # a linked copy is not ours
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
        problem = self.record_problem(entry)
        if problem:
            warnings.warn(f"{problem}; asking the shelf.", stacklevel=4)
            return None
        directory = self.object_dir(entry.sha256)
        if self.verified(directory):
            return directory
        if directory.exists() or directory.is_symlink():
            warnings.warn(f"The cached copy of {entry.tag} at {directory} is damaged; fetching it again.", stacklevel=4)
        return None

    def record_problem(self, entry: CatalogEntry) -> str | None:
        """Why the remembered `entry` cannot be trusted, or None.

        It must sit at its own version's path, and agree with the catalog entry
        of that version in this shelf's clone (when the clone has one: read as
        a file, no git), so a record re-pointed at another version's object is
        never served.
        """
        path = self.ref_path(entry.item_type, entry.identifier, entry.version)
        if not path.is_file():
            return f"This cache has no record of {entry.tag} at {path}"
        clone = self.root / "repos" / self.key
        try:
            listed = read_entry(clone, clone / entry.entry_path) if (clone / entry.entry_path).is_file() else None
        except CatalogError:
            listed = None
        if listed is not None and (listed.sha256, listed.size) != (entry.sha256, entry.size):
            return (f"This cache's record of {entry.tag} ({path}) gives sha256 {entry.sha256}, but the shelf's "
                    f"catalog gives {listed.sha256}: the record was changed")
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
            if directory.is_symlink():
                directory.unlink()  # a link put in the cache's place: removed, never followed
            elif directory.exists():
                # A damaged earlier copy: move it aside, then replace it.
                old = directory.with_name(f".{directory.name}.{os.getpid()}.old")
                os.rename(directory, old)
                shutil.rmtree(old, ignore_errors=True)
            os.rename(staging, directory)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
