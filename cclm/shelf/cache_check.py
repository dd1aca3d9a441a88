"""`cclm shelf verify` for the cache: every fetched version against the shelf's catalog and its own archive.

A cached copy is checked on every load against the `.files` record written
when it was unpacked; someone who edits a file and rewrites that record too
gets past that check, as with any local cache. Verifying compares what
cannot be rewritten locally: each record against the shelf's catalog entry
for its version, and each cached file against the archive the catalog's
sha256 names (downloaded again for a shelf version, read from the package
for a starter one), as `hf cache verify` does for the Hugging Face cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import posixpath
import warnings
from pathlib import Path
from typing import Any

from cclm.errors import CatalogError, ShelfError
from cclm.shelf.archive_limits import listed
from cclm.shelf.cache import ShelfCache, file_record
from cclm.shelf.catalog import CatalogEntry, read_catalog
from cclm.shelf.download import downloaded_archive

_CHUNK = 1 << 20


def member_record(archive: str | Path, max_bytes: int | None = None) -> dict[str, list]:
    """[sha256, size] of every file in `archive`, by normalized path: what `file_record` gives once it is unpacked."""
    record = {}
    with listed(archive, max_bytes) as (tar, members):
        for member in members:
            if not member.isfile():
                continue
            digest = hashlib.sha256()
            with tar.extractfile(member) as stream:
                for chunk in iter(lambda: stream.read(_CHUNK), b""):
                    digest.update(chunk)
            record[posixpath.normpath(member.name)] = [digest.hexdigest(), member.size]
    return dict(sorted(record.items()))


def cached_copy_problems(directory: Path, archive: str | Path, label: str) -> list[str]:
    """A problem when the cached copy at `directory` is not exactly the files of `archive` (none when it is absent)."""
    if not directory.exists():
        return []
    expected, actual = member_record(archive), file_record(directory)
    changed = sorted(name for name in expected.keys() | actual.keys() if expected.get(name) != actual.get(name))
    if not changed:
        return []
    return [f"{label}: the cached copy at {directory} differs from its archive in {', '.join(changed[:5])}"
            f"{' and more' if len(changed) > 5 else ''}; delete {directory} and fetch it again."]


def verify_cache(repo: Any, cache: ShelfCache, local_remote: str | None) -> list[str]:
    """Every problem with the versions `cache` fetched from the shelf cloned at `repo` (downloads their archives)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # invalid catalog files are reported by verify_shelf
        catalog = {entry.tag: entry for entry in read_catalog(repo.working_tree_dir)}
    problems = []
    for path in sorted((cache.root / "refs" / cache.key).glob("*/*/*.json")):
        try:
            record = CatalogEntry.from_json(path.read_text(encoding="utf-8"), str(path))
        except (OSError, UnicodeDecodeError, CatalogError) as error:
            problems.append(f"{path}: not a record this cache wrote ({error}); delete it.")
            continue
        if path != cache.ref_path(record.item_type, record.identifier, record.version):
            problems.append(f"{path} holds the record of {record.tag}: it was moved; delete it.")
            continue
        listed_entry = catalog.get(record.tag)
        if listed_entry is None:
            continue  # no longer on main (verify_shelf says why, if it matters)
        if (listed_entry.sha256, listed_entry.size) != (record.sha256, record.size):
            problems.append(f"{record.tag}: this cache's record ({path}) gives sha256 {record.sha256}, the "
                            f"shelf's catalog {listed_entry.sha256}; delete the record and fetch it again.")
            continue
        if cache.object_dir(record.sha256).exists():
            try:
                with downloaded_archive(repo, listed_entry, local_remote) as archive:
                    problems += cached_copy_problems(cache.object_dir(record.sha256), archive, record.tag)
            except ShelfError as error:
                problems.append(f"{record.tag}: its archive could not be fetched to check the cached copy ({error}).")
    return problems


def verify_starter_cache(entries: list[CatalogEntry], root: Path, cache_dir: Path) -> list[str]:
    """Every cached starter version that is not exactly its archive in the package at `root`."""
    problems = []
    for entry in entries:
        with contextlib.suppress(FileNotFoundError):
            problems += cached_copy_problems(ShelfCache(cache_dir, "starter").object_dir(entry.sha256),
                                             root / entry.archive_path, f"starter {entry.tag}")
    return problems
