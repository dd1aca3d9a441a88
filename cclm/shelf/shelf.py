"""A Shelf publishes and fetches versioned components in a git repository, archives in git-lfs.

The shelf repository is any git remote with LFS (a local path works with no
server). What it holds is described in `cclm.shelf.catalog` and `shelf/README.md`.
The library keeps, under its cache directory:

    repos/<shelf key>/         a shallow clone (no history, LFS content not checked out)
    objects/<sha256>/          unpacked components, keyed by the archive's sha256
    objects/<sha256>.files     the sha256 and size of every file, to detect damage
    refs/<shelf key>/...json   the catalog entries of fetched versions, for offline loads

Fetching a version that is in the cache runs no git process at all. Fetching
one that is not gets only that version's archive (`git lfs fetch --include`),
checks it against its LFS pointer, unpacks it safely into a temporary
directory and renames it into place. GitPython drives git and git-lfs; it is
imported only when git is needed.

Example:
>>> import tempfile
>>> from cclm import Preprocessor
>>> shelf = Shelf.init(tempfile.mkdtemp() + "/shelf.git", cache_dir=tempfile.mkdtemp())
>>> entry = shelf.publish(Preprocessor().fit(["hello world"]), "greetings")
>>> entry.version, [e.identifier for e in shelf.list()]
('1.0.0', ['greetings'])
>>> prep = Preprocessor.load(shelf.fetch("greetings", "preprocessor"))
>>> prep.decode(prep.encode(["hello"]))
['hello']
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import warnings
from pathlib import Path
from typing import Any

from cclm.components import read_manifest
from cclm.errors import (  # noqa: F401  (re-exported)
    ChecksumMismatchError,
    GitLfsMissingError,
    MissingContentError,
    PublishError,
    ShelfError,
    ShelfLookupError,
    ShelfUnreachableError,
    VersionExistsError,
)
from cclm.shelf.archive_limits import default_max_bytes
from cclm.shelf.cache import ShelfCache
from cclm.shelf.cache_check import verify_cache
from cclm.shelf.catalog import (
    CatalogEntry,
    asked_version,
    check_name,
    find_version,
    read_catalog,
    same_version,
    version_key,
)
from cclm.shelf.download import downloaded_archive
from cclm.shelf.git import (
    check_lfs,
    check_remote,
    commit_and_push,
    is_local,
    locked,
    remote_tag_versions,
    remote_url,
    updated_clone,
)
from cclm.shelf.locations import (  # noqa: F401
    SHELF_ENV,
    default_cache_dir,
    default_remote,
    shelf_template_dir,
)
from cclm.shelf.names import check_version
from cclm.shelf.provenance import check_against_cache, check_against_tag, verify_shelf
from cclm.shelf.repository import create_repository
from cclm.shelf.staging import (
    component_directory,
    space_errors_as_publish_errors,
    stage_version,
)
from cclm.shelf.starter import StarterShelf, is_starter_identifier


class Shelf:
    """Versioned components in a git repository whose archives go through git-lfs.

    Args:
        remote: a git URL or local path of a shelf repository. Default:
            `$CCLM_SHELF`, else a local repository in the user's data
            directory, created on first use (no server needed).
        cache_dir: where fetched components and the shelf's clone live.
            Default: `$CCLM_CACHE`, else the user's cache directory.
        max_unpacked_bytes: the most a version may unpack to; publish and
            fetch refuse more. Default: `$CCLM_MAX_UNPACKED_BYTES`, else 2 GiB.

    A shared shelf is any git service with LFS: create it once with
    `Shelf.init(path)` (or from `shelf/` in this repository), then use
    `Shelf("git@host:team/shelf.git")`. See `shelf/README.md`.

    The starter components that ship with cclm (identifiers "starter" and
    "starter-...", `self.starter`) are fetched, loaded and described
    through every shelf, with no git and no network; `list` gives the
    shelf's own versions and `starter.list()` the starter ones.
    """

    def __init__(
        self, remote: str | os.PathLike | None = None, cache_dir: str | os.PathLike | None = None,
        max_unpacked_bytes: int | None = None,
    ):
        self.max_unpacked_bytes = default_max_bytes() if max_unpacked_bytes is None else int(max_unpacked_bytes)
        self.remote = check_remote(str(remote) if remote is not None else default_remote())
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
        # The default shelf, and a local $CCLM_SHELF, are created on first use (no server needed).
        self._create_default = remote is None and is_local(self.remote)
        self.starter = StarterShelf(cache_dir=self.cache_dir)

    def __repr__(self) -> str:
        return f"Shelf(remote={self.remote!r}, cache_dir={str(self.cache_dir)!r})"

    # ------------------------------------------------------------ creating
    @classmethod
    def init(cls, path: str | os.PathLike, cache_dir: str | os.PathLike | None = None) -> Shelf:
        """Creates an empty shelf: a bare repository at `path` holding the template of `shelf/`.

        The repository gets `.gitattributes` (archives through LFS), the
        catalog format, a README, and the `pre-receive` hook that refuses any
        push changing or removing a published version.

        Raises:
            FileExistsError: `path` exists and is not empty.
        """
        create_repository(Path(path).expanduser().absolute(), shelf_template_dir())
        return cls(Path(path).expanduser().absolute(), cache_dir=cache_dir)

    # ------------------------------------------------------------- caching
    @property
    def _key(self) -> str:
        url = remote_url(self.remote)
        readable = re.sub(r"[^A-Za-z0-9]+", "-", url.rsplit("/", 1)[-1]).strip("-")[:40] or "shelf"
        return f"{readable}-{hashlib.sha256(url.encode()).hexdigest()[:12]}"

    def _clone_dir(self) -> Path:
        return self.cache_dir / "repos" / self._key

    def _cache(self, root: Path) -> ShelfCache:
        """This shelf's fetched versions under the cache directory `root`."""
        return ShelfCache(root, self._key)

    # ------------------------------------------------------------------ git
    def _repo(self, tag: str | None = None) -> Any:
        """The up-to-date shallow clone of the remote (created on first use), with `tag` fetched to check.

        Call under the lock.
        """
        check_lfs()
        if self._create_default and not Path(self.remote).exists():
            Shelf.init(self.remote)
        return updated_clone(remote_url(self.remote), self._clone_dir(), self.remote, tag)

    # ---------------------------------------------------------- discovery
    def list(self, item_type: str | None = None) -> list[CatalogEntry]:
        """Every published version (optionally of one item type), sorted by type, identifier and version."""
        with locked(self._lock_path()):
            repo = self._repo()
            entries = read_catalog(repo.working_tree_dir)
        return [entry for entry in entries if item_type is None or entry.item_type == item_type]

    def verify(self) -> list[str]:
        """Every problem on the shelf and in this cache's copies of it.

        Invalid catalog files, versions that differ from what their tags
        recorded, cache records that differ from the catalog, and cached files
        that differ from their archive (downloaded again to compare).
        """
        with locked(self._lock_path()):
            repo = self._repo()
            local = self.remote if is_local(self.remote) else None
            return verify_shelf(repo) + verify_cache(repo, self._cache(self.cache_dir), local)

    def versions(self, identifier: str, item_type: str | None = None) -> list[str]:
        """The published versions of `identifier`, oldest first."""
        if is_starter_identifier(identifier):
            return self.starter.versions(identifier, item_type)
        return [entry.version for entry in self._entries_of(identifier, item_type, self.list())]

    def info(self, identifier: str, item_type: str | None = None, version: str | None = None) -> CatalogEntry:
        """The catalog entry of one version (the newest when `version` is None)."""
        if is_starter_identifier(identifier):
            return self.starter.info(identifier, item_type, version)
        return self._resolve(self.list(), identifier, item_type, version)

    @staticmethod
    def _entries_of(identifier: str, item_type: str | None, entries: list[CatalogEntry]) -> list[CatalogEntry]:
        matching = [e for e in entries if e.identifier == identifier and item_type in (None, e.item_type)]
        types = sorted({e.item_type for e in matching})
        if len(types) > 1:
            raise ShelfLookupError(
                f"{identifier!r} exists as {types}; say which with item_type=..."
            )
        if not matching:
            known = sorted({f"{e.item_type}/{e.identifier}" for e in entries})
            raise ShelfLookupError(
                f"{identifier!r}{f' ({item_type})' if item_type else ''} is not on the shelf. "
                f"It holds: {', '.join(known) if known else 'nothing yet (publish with Shelf.publish)'}."
            )
        return sorted(matching, key=lambda e: version_key(e.version))

    def _resolve(
        self, entries: list[CatalogEntry], identifier: str, item_type: str | None, version: str | None
    ) -> CatalogEntry:
        matching = self._entries_of(identifier, item_type, entries)
        entry = find_version(matching, version)
        if entry is not None:
            return entry
        raise ShelfLookupError(
            f"{matching[0].item_type}/{identifier} has no version {version!r}; published versions: "
            f"{[e.version for e in matching]}."
        )

    def _lock_path(self) -> Path:
        return self.cache_dir / "locks" / f"{self._key}.lock"

    # ------------------------------------------------------------ publish
    def publish(
        self,
        component: Any,
        identifier: str,
        item_type: str | None = None,
        version: str | None = None,
        description: str | None = None,
    ) -> CatalogEntry:
        """Packs a component, adds it to the shelf, and commits, tags and pushes in one atomic push.

        Args:
            component: a component object (anything with `save(directory)`:
                Preprocessor, Embedder, pretrainers, ComposedModel) or a saved
                component directory.
            identifier: its name on the shelf, e.g. "docs-en".
            item_type: the component kind; found from its manifest when
                omitted, and checked against it when given.
            version: e.g. "1.0.0". Default: "1.0.0" for a new identifier,
                else the newest version with its last number raised by one.
            description: one line for the catalog; default from the model card.

        Returns:
            The new `CatalogEntry`.

        Raises:
            VersionExistsError: the version is already published (versions are immutable).
            PublishError: the push was refused or failed; the shelf is as it was.
        """
        check_name(identifier, "identifier")
        if version is not None:
            check_version(version)  # the canonical form only: no second spelling of a version
        if is_starter_identifier(identifier):
            raise PublishError(
                f"identifier={identifier!r} is reserved for the starter components that ship with cclm; "
                f"publish under another name, e.g. 'my-{identifier}'."
            )
        with (space_errors_as_publish_errors(identifier, self.cache_dir),
              tempfile.TemporaryDirectory(prefix="cclm-publish-") as scratch):
            directory = component_directory(component, Path(scratch))
            manifest = read_manifest(directory)
            kind = manifest["kind"]
            if item_type is not None and item_type != kind:
                raise ValueError(
                    f"item_type={item_type!r}, but the component is a {kind!r}; leave item_type out "
                    "or pass the component meant for it."
                )
            with locked(self._lock_path()):
                tagged: list[str] = []  # versions with a tag but no catalog entry: looked up only when a push fails
                for attempt in range(2):
                    repo = self._repo()
                    entry = stage_version(Path(repo.working_tree_dir), directory, manifest, identifier, version,
                                          description, tagged, self.max_unpacked_bytes)
                    try:
                        commit_and_push(repo, entry)
                        break
                    except PublishError:
                        # A tag pushed ahead of the publisher (squatted, or a concurrent publish) takes its
                        # version: ask the remote once, then retry with the versions it has taken.
                        taken = remote_tag_versions(repo, kind, identifier)
                        if attempt or not any(same_version(entry.version, v) for v in taken):
                            raise
                        tagged = taken
        return entry

    # -------------------------------------------------------------- fetch
    def fetch(
        self,
        identifier: str,
        item_type: str | None = None,
        tag: str | None = None,
        cache_dir: str | os.PathLike | None = None,
        version: str | None = None,
    ) -> Path:
        """The local directory of the unpacked component (fetched, checked and cached on first use).

        Args:
            identifier: the component's name on the shelf.
            item_type: its kind; may be omitted when the identifier is unique.
            tag: the version (the original cclm name for it); the original
                cclm's "v0.2.1" and a git tag "item_type/identifier/version"
                work too.
            cache_dir: overrides the shelf's cache directory for this call. The
                version is then also reachable as `cache_dir/identifier/item_type`
                (a link to it), where the original cclm put fetched components.
            version: same as `tag`. The newest version when both are None.

        A version already in the cache is checked (every file's sha256) and
        returned without any git process. Otherwise only that version's
        archive is downloaded and verified against its git-lfs pointer.
        Starter components come from the package (`StarterShelf`), checked
        against their catalog's sha256, with no git at all.

        Raises:
            ShelfLookupError: unknown identifier or version (the message lists what exists).
            ShelfUnreachableError: the remote cannot be reached and the version is not cached.
            ChecksumMismatchError: the downloaded archive is not what the pointer says (it is deleted).
            GitLfsMissingError: git-lfs is not installed.
        """
        item_type, version = asked_version(version or tag, identifier, item_type)
        check_name(identifier, "identifier")
        if item_type is not None:
            check_name(item_type, "item_type")
        if version is not None:
            check_version(version)
        cache = Path(cache_dir).expanduser() if cache_dir is not None else self.cache_dir
        if is_starter_identifier(identifier):
            directory = StarterShelf(self.starter.root, cache).fetch(identifier, item_type, version)
        else:
            directory = self._fetch(cache, identifier, item_type, version)
        if cache_dir is not None:
            kind = item_type or read_manifest(directory)["kind"]
            self._cache(cache).link(identifier, kind, directory)
        return directory

    def _fetch(self, cache: Path, identifier: str, item_type: str | None, version: str | None) -> Path:
        if version is not None:
            cached = self._cache(cache).lookup(identifier, item_type, version)
            if cached is not None:
                return cached
        try:
            return self._download(cache, identifier, item_type, version)
        except ShelfUnreachableError as error:
            if version is not None:
                raise
            newest = sorted(self._cache(cache).entries(identifier, item_type), key=lambda e: version_key(e.version))
            for entry in reversed(newest):
                cached = self._cache(cache).lookup(identifier, entry.item_type, entry.version)
                if cached is not None:
                    warnings.warn(
                        f"Using the newest cached version of {entry.item_type}/{identifier}, {entry.version}, "
                        f"because the shelf could not be asked for a newer one: {error}", stacklevel=3,
                    )
                    return cached
            raise

    def _download(self, cache: Path, identifier: str, item_type: str | None, version: str | None) -> Path:
        with locked(self._lock_path()):
            # The version's tag comes with the branch in one fetch when its name is known up front.
            repo = self._repo(f"{item_type}/{identifier}/{version}" if item_type and version else None)
            entry = self._resolve(read_catalog(repo.working_tree_dir), identifier, item_type, version)
            check_against_cache(entry, self._cache(cache).recorded(entry))
            check_against_tag(repo, entry)
            # Another process may have fetched it while this one waited for the lock.
            directory = self._cache(cache).object_dir(entry.sha256)
            if ShelfCache.verified(directory):
                self._cache(cache).remember(entry)
                return directory
            with downloaded_archive(repo, entry, self.remote if is_local(self.remote) else None) as stored:
                ShelfCache.install(stored, directory, self.max_unpacked_bytes)
            self._cache(cache).remember(entry)
        return directory

    # -------------------------------------------------------------- load
    def load(self, identifier: str, item_type: str | None = None, version: str | None = None) -> Any:
        """Fetches and loads a component (`cclm.load_component` on the fetched directory)."""
        from cclm.components import load_component

        return load_component(self.fetch(identifier, item_type, version=version))

