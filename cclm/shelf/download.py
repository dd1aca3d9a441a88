"""Getting one version's archive from a shelf's git-lfs storage, checked against its pointer.

Only that archive is fetched (`git lfs fetch --include`), into the clone's
LFS storage, and deleted again when the caller is done with it: the clone
keeps pointers only.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cclm.components.files import file_sha256
from cclm.errors import ChecksumMismatchError, MissingContentError
from cclm.shelf.catalog import CatalogEntry
from cclm.shelf.git import git_env, git_error, git_module, parse_lfs_pointer
from cclm.shelf.provenance import lfs_failure


@contextlib.contextmanager
def downloaded_archive(repo: Any, entry: CatalogEntry, local_remote: str | None) -> Iterator[Path]:
    """The archive of `entry`, fetched into the clone `repo` and checked against its LFS pointer; deleted after.

    `local_remote` is the shelf's path when it is local (for the error that says how to repair it).

    Raises:
        ChecksumMismatchError: the pointer or the bytes are not what the catalog says (nothing is kept).
        MissingContentError: git-lfs gave no content.
        ShelfError: git-lfs failed (`lfs_failure`).
    """
    git = git_module()
    pointer = parse_lfs_pointer(repo.git.show(f"HEAD:{entry.archive_path}") + "\n")
    if pointer is None:
        raise ChecksumMismatchError(
            f"{entry.archive_path} on the shelf is not a git-lfs pointer; the archive was committed "
            "without git-lfs. Publish it again with Shelf.publish."
        )
    if pointer != (entry.sha256, entry.size):
        raise ChecksumMismatchError(
            f"The catalog says {entry.tag} is sha256 {entry.sha256[:12]} ({entry.size:,} bytes), but its "
            f"LFS pointer says {pointer[0][:12]} ({pointer[1]:,} bytes). The shelf is inconsistent."
        )
    stored = Path(repo.git_dir, "lfs", "objects", entry.sha256[:2], entry.sha256[2:4], entry.sha256)
    try:
        with repo.git.custom_environment(**git_env()):
            repo.git.lfs("fetch", "origin", "HEAD", f"--include={entry.archive_path}", "--exclude=")
    except git.GitCommandError as error:
        stored.unlink(missing_ok=True)
        shutil.rmtree(Path(repo.git_dir, "lfs", "tmp"), ignore_errors=True)
        raise lfs_failure(entry, git_error(error), local_remote) from None
    try:
        if not stored.is_file():
            raise MissingContentError(
                f"git-lfs reported success but gave no content for {entry.tag} (only its pointer). "
                "Check that the shelf remote has LFS enabled and holds the object."
            )
        actual = (file_sha256(stored), stored.stat().st_size)
        if actual != pointer:
            raise ChecksumMismatchError(
                f"The archive of {entry.tag} has sha256 {actual[0][:12]} ({actual[1]:,} bytes); its "
                f"LFS pointer says {pointer[0][:12]} ({pointer[1]:,} bytes). The bad copy was deleted; "
                "the shelf's LFS storage may be damaged."
            )
        yield stored
    finally:
        stored.unlink(missing_ok=True)
