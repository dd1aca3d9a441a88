"""Whether a version on the shelf is still the one that was published.

Publishing tags every version (`<type>/<name>/<version>`) in the same atomic
push that adds it, and tags cannot be moved (the hook refuses it; hosted
services protect tags by rule). A push that re-points a version's archive
and catalog entry on `main` (possible on a host without the hook) therefore
disagrees with the tag, and with the sha256 a cache recorded when it first
fetched that version. `check_against_tag` and `check_against_cache` turn
either disagreement into a `ChecksumMismatchError` naming both hashes;
`verify_shelf` checks every version at once (`cclm shelf verify`).

Example:
>>> from cclm.shelf.catalog import CatalogEntry
>>> entry = CatalogEntry(identifier="docs", item_type="preprocessor", version="1.0.0",
...     sha256="a" * 64, size=1, created="2026-01-01T00:00:00+00:00", library_version="0.1.0")
>>> check_against_cache(entry, None)  # never fetched here: nothing to compare with
"""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path
from typing import Any

from cclm.errors import CatalogError, ChecksumMismatchError, MissingContentError, ShelfError
from cclm.shelf.catalog import CatalogEntry, read_catalog
from cclm.shelf.git import TAG_CHECK_PREFIX, git_env, git_error, git_module, parse_lfs_pointer


def check_against_cache(entry: CatalogEntry, recorded: CatalogEntry | None) -> None:
    """Refuses `entry` when this cache first fetched the same version with another sha256."""
    if recorded is not None and (recorded.sha256, recorded.size) != (entry.sha256, entry.size):
        raise ChecksumMismatchError(
            f"The shelf now gives {entry.tag} as sha256 {entry.sha256} ({entry.size:,} bytes), but this cache "
            f"recorded sha256 {recorded.sha256} ({recorded.size:,} bytes) when it first fetched it. Published "
            "versions never change: someone re-pointed it on the shelf. Nothing was installed; tell the shelf's "
            "owners, and run `cclm shelf verify`."
        )


def published_state(repo: Any, entry: CatalogEntry) -> tuple[str, int] | str:
    """(sha256, size) that the version's tag recorded, or a message saying why there is none.

    The tag's commit is read from `TAG_CHECK_PREFIX + tag` when the clone's
    last fetch brought it (`updated_clone(tag=...)`), else fetched now; the
    ref is removed afterwards.
    """
    git = git_module()
    ref = f"{TAG_CHECK_PREFIX}{entry.tag}"
    stored = Path(repo.git_dir, ref)
    try:
        if not stored.is_file():
            with repo.git.custom_environment(**git_env()):
                repo.git.fetch("--depth", "1", "--no-tags", "origin", f"+refs/tags/{entry.tag}:{ref}")
    except git.GitCommandError as error:
        if "couldn't find remote ref" in git_error(error):
            return f"no tag {entry.tag} marks it (every `publish` tags its version)"
        raise
    try:
        text = repo.git.show(f"{ref}:{entry.entry_path}")
        published = CatalogEntry.from_json(text, source=f"{entry.entry_path} at the tag {entry.tag}")
        pointer = parse_lfs_pointer(repo.git.show(f"{ref}:{entry.archive_path}") + "\n")
    except (git.GitCommandError, CatalogError) as error:
        return f"the tag {entry.tag} does not mark its publication ({git_error(error)})"
    finally:
        if stored.is_file():
            stored.unlink()  # a loose ref, as fetch wrote it: no git process needed
        else:
            with contextlib.suppress(git.GitCommandError):
                repo.git.update_ref("-d", ref)
    if pointer != (published.sha256, published.size):
        return f"the tag {entry.tag} marks a commit whose archive and entry disagree"
    return published.sha256, published.size


def check_against_tag(repo: Any, entry: CatalogEntry) -> None:
    """Refuses `entry` unless the version's tag recorded the same sha256 and size."""
    state = published_state(repo, entry)
    if isinstance(state, str):
        raise ChecksumMismatchError(f"{entry.tag} cannot be verified: {state}. Nothing was installed.")
    if state != (entry.sha256, entry.size):
        raise ChecksumMismatchError(
            f"The shelf's main branch gives {entry.tag} as sha256 {entry.sha256} ({entry.size:,} bytes), but "
            f"its tag recorded sha256 {state[0]} ({state[1]:,} bytes) when it was published. Published versions "
            "never change: someone re-pointed it. Nothing was installed; tell the shelf's owners."
        )


def verify_shelf(repo: Any) -> list[str]:
    """Every problem with the shelf at `repo`'s checkout: invalid catalog files, and versions their tags disagree with."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        entries = read_catalog(repo.working_tree_dir)
    problems = [str(warning.message) for warning in caught]
    for entry in entries:
        state = published_state(repo, entry)
        if isinstance(state, str):
            problems.append(f"{entry.tag}: {state}.")
        elif state != (entry.sha256, entry.size):
            problems.append(f"{entry.tag}: main gives sha256 {entry.sha256}, its tag recorded {state[0]}.")
    return problems


def lfs_failure(entry: CatalogEntry, message: str, local_remote: str | None) -> ShelfError:
    """The error for git-lfs failing to fetch `entry`'s archive (`message`: git-lfs's), saying what is wrong.

    git-lfs reports a stored copy of the wrong size as missing; on a local
    shelf (`local_remote`) the stored copy is looked at to tell the two apart.
    """
    if "invalid hash" in message or "failed checks" in message:
        return ChecksumMismatchError(
            f"The archive of {entry.tag} on the shelf does not match its LFS pointer (sha256 {entry.sha256[:12]}): "
            f"{message}. The bad copy was deleted; the shelf's LFS storage may be damaged."
        )
    if local_remote is not None:
        stored = Path(local_remote, "lfs", "objects", entry.sha256[:2], entry.sha256[2:4], entry.sha256)
        if stored.is_file() and stored.stat().st_size != entry.size:
            return ChecksumMismatchError(
                f"The shelf's stored archive of {entry.tag} ({stored}) is {stored.stat().st_size:,} bytes; it was "
                f"published as {entry.size:,}. The copy is damaged (truncated?); publish the version's "
                "component again under a new version, or restore the file from a backup."
            )
    return MissingContentError(
        f"git-lfs could not get the archive of {entry.tag}: {message}. The shelf's LFS storage does not hold a "
        "complete copy: it is unreachable, the version was pushed without git-lfs, or the stored copy is damaged."
    )
