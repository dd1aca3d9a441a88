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

import contextlib
import datetime
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cclm.shelf.archive import UnsafeArchiveError, atomic_file, file_sha256, pack, unpack
from cclm.shelf.catalog import (
    CatalogEntry,
    check_name,
    next_version,
    read_catalog,
    version_key,
)
from cclm.components import CARD_NAME, ComponentError, read_manifest
from cclm.version import __version__
from cclm.errors import ChecksumMismatchError, GitLfsMissingError, MissingContentError, PublishError, ShelfError, ShelfLookupError, ShelfUnreachableError, VersionExistsError  # noqa: F401  (re-exported)

SHELF_ENV = "CCLM_SHELF"
CACHE_ENV = "CCLM_CACHE"
BRANCH = "main"

_LFS_INSTALL_HELP = (
    "git-lfs is not installed. Install it (Debian/Ubuntu: `sudo apt-get install git-lfs`; macOS: "
    "`brew install git-lfs`; or https://git-lfs.com), then run `git lfs install` once."
)


def default_data_dir() -> Path:
    """The user's data directory for cclm (XDG_DATA_HOME on Linux)."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "cclm"


def default_cache_dir() -> Path:
    """`$CCLM_CACHE`, else the user's cache directory for cclm (XDG_CACHE_HOME on Linux)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / "cclm" / "cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "cclm"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cclm"


def default_remote() -> str:
    """`$CCLM_SHELF`, else a local shelf repository in the user's data directory."""
    return os.environ.get(SHELF_ENV) or str(default_data_dir() / "shelf.git")


def shelf_template_dir() -> Path:
    """The shelf template (`shelf/` of the source tree; `cclm/shelf_template` when installed from a wheel)."""
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "shelf_template", package.parent / "shelf"):
        if (candidate / "hooks" / "pre-receive").is_file():
            return candidate
    raise ShelfError(f"The shelf template is missing next to {package}; reinstall cclm.")


def _is_local(remote: str) -> bool:
    return "://" not in remote and not re.match(r"^[\w.-]+@[\w.-]+:", remote)


def _remote_url(remote: str) -> str:
    # file:// so that shallow clones of local repositories stay shallow.
    return Path(remote).expanduser().absolute().as_uri() if _is_local(remote) else remote


def _git_env() -> dict[str, str]:
    # Never prompt for credentials; never check LFS content out (only fetch what is asked for).
    return {"GIT_TERMINAL_PROMPT": "0", "GIT_LFS_SKIP_SMUDGE": "1"}


def _git_error(error: Exception) -> str:
    text = (getattr(error, "stderr", "") or str(error)).strip()
    text = re.sub(r"^\s*stderr:\s*'?", "", text)
    return text.strip("' \n")[-800:]


def _write_atomically(path: Path, text: str) -> None:
    with atomic_file(path) as stream:
        stream.write(text.encode("utf-8"))


def _file_record(directory: Path) -> dict[str, list]:
    """[sha256, size] of every file below `directory`, by relative path."""
    return {
        p.relative_to(directory).as_posix(): [file_sha256(p), p.stat().st_size]
        for p in sorted(directory.rglob("*")) if p.is_file()
    }


def _fetch_branch(repo: Any) -> None:
    """Updates origin/main in the shallow clone: one commit, no tags."""
    repo.git.fetch("--depth", "1", "--no-tags", "origin", f"+refs/heads/{BRANCH}:refs/remotes/origin/{BRANCH}")


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock between processes (POSIX `flock`; on Windows, `msvcrt.locking`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as stream:
        if sys.platform == "win32":
            import msvcrt

            msvcrt.locking(stream.fileno(), msvcrt.LK_LOCK, 1)
        else:
            import fcntl

            fcntl.flock(stream.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            if sys.platform == "win32":
                msvcrt.locking(stream.fileno(), msvcrt.LK_UNLCK, 1)
            else:
                fcntl.flock(stream.fileno(), fcntl.LOCK_UN)


def parse_lfs_pointer(text: str) -> tuple[str, int] | None:
    """(sha256, size) from a git-lfs pointer file's text, or None when it is not one."""
    if not text.startswith("version https://git-lfs.github.com/spec/"):
        return None
    oid = re.search(r"^oid sha256:([0-9a-f]{64})$", text, re.MULTILINE)
    size = re.search(r"^size (\d+)$", text, re.MULTILINE)
    if not (oid and size):
        return None
    return oid.group(1), int(size.group(1))


class Shelf:
    """Versioned components in a git repository whose archives go through git-lfs.

    Args:
        remote: a git URL or local path of a shelf repository. Default:
            `$CCLM_SHELF`, else a local repository in the user's data
            directory, created on first use (no server needed).
        cache_dir: where fetched components and the shelf's clone live.
            Default: `$CCLM_CACHE`, else the user's cache directory.

    A shared shelf is any git service with LFS: create it once with
    `Shelf.init(path)` (or from `shelf/` in this repository), then use
    `Shelf("git@host:team/shelf.git")`. See `shelf/README.md`.
    """

    def __init__(self, remote: str | os.PathLike | None = None, cache_dir: str | os.PathLike | None = None):
        self.remote = str(remote) if remote is not None else default_remote()
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
        self._create_default = remote is None and not os.environ.get(SHELF_ENV)

    def __repr__(self) -> str:
        return f"Shelf(remote={self.remote!r}, cache_dir={str(self.cache_dir)!r})"

    # ------------------------------------------------------------ creating
    @classmethod
    def init(cls, path: str | os.PathLike, cache_dir: str | os.PathLike | None = None) -> "Shelf":
        """Creates an empty shelf: a bare repository at `path` holding the template of `shelf/`.

        The repository gets `.gitattributes` (archives through LFS), the
        catalog format, a README, and the `pre-receive` hook that refuses any
        push changing or removing a published version.

        Raises:
            FileExistsError: `path` exists and is not empty.
        """
        git = _git_module()
        path = Path(path).expanduser().absolute()
        if path.exists() and any(path.iterdir()):
            raise FileExistsError(f"{path} exists and is not empty; choose a new path for the shelf.")
        _check_lfs()
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
        seed = Path(tempfile.mkdtemp(prefix="cclm-shelf-seed-"))
        try:
            bare = git.Repo.init(staging, bare=True, initial_branch=BRANCH)
            hook = Path(bare.git_dir, "hooks", "pre-receive")
            template = shelf_template_dir()
            shutil.copyfile(template / "hooks" / "pre-receive", hook)
            hook.chmod(0o755)
            work = git.Repo.init(seed, initial_branch=BRANCH)
            for name in ("README.md", "CATALOG.md", ".gitattributes"):
                shutil.copyfile(template / name, seed / name)
            (seed / "catalog").mkdir()
            (seed / "catalog" / ".gitkeep").touch()
            (seed / "components").mkdir()
            (seed / "components" / ".gitkeep").touch()
            _ensure_identity(work)
            work.git.add(A=True)
            work.git.commit(m="Create the cclm shelf")
            work.git.push(staging.as_uri(), f"{BRANCH}:refs/heads/{BRANCH}", env=_git_env())
            if path.exists():
                path.rmdir()  # empty, checked above
            os.rename(staging, path)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        finally:
            shutil.rmtree(seed, ignore_errors=True)
        return cls(path, cache_dir=cache_dir)

    # ------------------------------------------------------------- caching
    @property
    def _key(self) -> str:
        url = _remote_url(self.remote)
        readable = re.sub(r"[^A-Za-z0-9]+", "-", url.rsplit("/", 1)[-1]).strip("-")[:40] or "shelf"
        return f"{readable}-{hashlib.sha256(url.encode()).hexdigest()[:12]}"

    def _clone_dir(self) -> Path:
        return self.cache_dir / "repos" / self._key

    def _ref_path(self, item_type: str, identifier: str, version: str, cache_dir: Path) -> Path:
        return cache_dir / "refs" / self._key / item_type / identifier / f"{version}.json"

    def _cached_entries(self, cache_dir: Path, identifier: str, item_type: str | None) -> list[CatalogEntry]:
        root = cache_dir / "refs" / self._key
        pattern = f"{item_type or '*'}/{identifier}/*.json"
        entries = []
        for path in root.glob(pattern):
            with contextlib.suppress(ValueError, OSError):
                entries.append(CatalogEntry.from_json(path.read_text(encoding="utf-8"), str(path)))
        return entries

    @staticmethod
    def _object_dir(cache_dir: Path, sha256: str) -> Path:
        return cache_dir / "objects" / sha256

    @staticmethod
    def _verified(directory: Path) -> bool:
        """Whether an unpacked cache entry still has exactly the files it was unpacked with."""
        record = directory.with_name(directory.name + ".files")
        if not (directory.is_dir() and record.is_file()):
            return False
        try:
            return json.loads(record.read_text(encoding="utf-8")) == _file_record(directory)
        except (ValueError, OSError):
            return False

    # ------------------------------------------------------------------ git
    def _repo(self) -> Any:
        """The up-to-date shallow clone of the remote (created on first use). Call under the lock."""
        git = _git_module()
        _check_lfs()
        if self._create_default and not Path(self.remote).exists():
            Shelf.init(self.remote)
        url = _remote_url(self.remote)
        clone = self._clone_dir()
        try:
            if not (clone / ".git").is_dir():
                shutil.rmtree(clone, ignore_errors=True)
                clone.parent.mkdir(parents=True, exist_ok=True)
                staging = Path(tempfile.mkdtemp(prefix=f".{clone.name}.", suffix=".tmp", dir=clone.parent))
                try:
                    repo = git.Repo.clone_from(
                        url, staging, depth=1, branch=BRANCH, no_tags=True, env=_git_env()
                    )
                    repo.git.lfs("install", "--local", "--skip-smudge")
                    _ensure_identity(repo)
                    repo.close()
                    os.rename(staging, clone)
                except BaseException:
                    shutil.rmtree(staging, ignore_errors=True)
                    raise
            repo = git.Repo(clone)
            with repo.git.custom_environment(**_git_env()):
                _fetch_branch(repo)
                repo.git.reset("--hard", f"origin/{BRANCH}")
                repo.git.clean("-fdq")
        except git.GitCommandError as error:
            raise ShelfUnreachableError(
                f"The shelf {self.remote} cannot be reached: {_git_error(error)}. Check the path or URL "
                "and your access (git credentials, network); versions already in the cache still load."
            ) from None
        return repo

    # ---------------------------------------------------------- discovery
    def list(self, item_type: str | None = None) -> list[CatalogEntry]:
        """Every published version (optionally of one item type), sorted by type, identifier and version."""
        with _locked(self._lock_path()):
            repo = self._repo()
            entries = read_catalog(repo.working_tree_dir)
        return [entry for entry in entries if item_type is None or entry.item_type == item_type]

    def versions(self, identifier: str, item_type: str | None = None) -> list[str]:
        """The published versions of `identifier`, oldest first."""
        return [entry.version for entry in self._entries_of(identifier, item_type, self.list())]

    def info(self, identifier: str, item_type: str | None = None, version: str | None = None) -> CatalogEntry:
        """The catalog entry of one version (the newest when `version` is None)."""
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
        if version is None:
            return matching[-1]
        for entry in matching:
            if entry.version == version:
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
            check_name(version, "version")
        with tempfile.TemporaryDirectory(prefix="cclm-publish-") as scratch:
            directory = self._component_directory(component, Path(scratch))
            manifest = read_manifest(directory)
            kind = manifest["kind"]
            if item_type is not None and item_type != kind:
                raise ValueError(
                    f"item_type={item_type!r}, but the component is a {kind!r}; leave item_type out "
                    "or pass the component meant for it."
                )
            with _locked(self._lock_path()):
                repo = self._repo()
                root = Path(repo.working_tree_dir)
                existing = [e.version for e in read_catalog(root) if e.identifier == identifier and e.item_type == kind]
                version = version or next_version(existing)
                if version in existing:
                    raise VersionExistsError(
                        f"{kind}/{identifier} version {version} is already published, and versions "
                        f"are immutable. Publish it as a new version, e.g. version={next_version(existing)!r}."
                    )
                archive_path = root / "components" / kind / identifier / f"{version}.tar.gz"
                info = pack(directory, archive_path)
                entry = CatalogEntry(
                    identifier=identifier, item_type=kind, version=version, sha256=info.sha256,
                    size=info.size,
                    created=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                    library_version=__version__,
                    description=description or _describe(manifest),
                    name=str(manifest.get("name", "")),
                )
                _write_atomically(root / entry.entry_path, entry.to_json())
                card = Path(directory, CARD_NAME)
                _write_atomically(root / entry.card_path, card.read_text(encoding="utf-8") if card.is_file() else "")
                self._commit_and_push(repo, entry)
        return entry

    @staticmethod
    def _component_directory(component: Any, scratch: Path) -> Path:
        if isinstance(component, (str, os.PathLike)):
            path = Path(component)
            if not path.is_dir():
                raise FileNotFoundError(f"{path} is not a directory; publish a saved component directory or object.")
            return path
        if not callable(getattr(component, "save", None)):
            raise TypeError(
                f"Cannot publish a {type(component).__name__}; publish a cclm component (Preprocessor, "
                "Embedder, a pretrainer, ComposedModel) or the directory of a saved one."
            )
        target = scratch / "component"
        component.save(target)
        return target

    @staticmethod
    def _commit_and_push(repo: Any, entry: CatalogEntry) -> None:
        git = _git_module()
        paths = [entry.archive_path, entry.entry_path, entry.card_path]
        try:
            with repo.git.custom_environment(**_git_env()):
                repo.git.add("--", *paths)
                staged = repo.git.show(f":{entry.archive_path}")
                if parse_lfs_pointer(staged + "\n") is None:
                    raise PublishError(
                        f"{entry.archive_path} was staged as a plain file, not through git-lfs; the shelf's "
                        ".gitattributes must track components/**/*.tar.gz (see shelf/README.md)."
                    )
                repo.git.commit("-m", f"Publish {entry.tag}", "--", *paths)
                repo.git.tag("-f", entry.tag)  # a local leftover of a killed publish may exist
                repo.git.push("--atomic", "--porcelain", "origin", f"HEAD:refs/heads/{BRANCH}", f"refs/tags/{entry.tag}")
        except (git.GitCommandError, PublishError) as error:
            with contextlib.suppress(git.GitCommandError):
                repo.git.tag("-d", entry.tag)
            with contextlib.suppress(git.GitCommandError):
                repo.git.reset("--hard", f"origin/{BRANCH}")
                repo.git.clean("-fdq")
            if isinstance(error, PublishError):
                raise
            raise PublishError(
                f"Publishing {entry.tag} failed, and nothing was published: {_git_error(error)}"
            ) from None
        finally:
            # The clone keeps pointers only: drop the archive and its LFS copy.
            lfs_copy = Path(repo.git_dir, "lfs", "objects", entry.sha256[:2], entry.sha256[2:4], entry.sha256)
            lfs_copy.unlink(missing_ok=True)
        with contextlib.suppress(git.GitCommandError):
            repo.git.tag("-d", entry.tag)  # tags live on the remote; the clone is only a cache
            _fetch_branch(repo)
            Path(repo.working_tree_dir, entry.archive_path).unlink(missing_ok=True)
            repo.git.checkout("--", entry.archive_path)

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
            tag: the version (the original cclm name for it); a git tag
                "item_type/identifier/version" works too.
            cache_dir: overrides the shelf's cache directory for this call.
            version: same as `tag`. The newest version when both are None.

        A version already in the cache is checked (every file's sha256) and
        returned without any git process. Otherwise only that version's
        archive is downloaded and verified against its git-lfs pointer.

        Raises:
            ShelfLookupError: unknown identifier or version (the message lists what exists).
            ShelfUnreachableError: the remote cannot be reached and the version is not cached.
            ChecksumMismatchError: the downloaded archive is not what the pointer says (it is deleted).
            GitLfsMissingError: git-lfs is not installed.
        """
        version = version or tag
        if version is not None and "/" in version:
            version = version.rsplit("/", 1)[-1]
        check_name(identifier, "identifier")
        if item_type is not None:
            check_name(item_type, "item_type")
        if version is not None:
            check_name(version, "version")
        cache = Path(cache_dir).expanduser() if cache_dir is not None else self.cache_dir
        if version is not None:
            cached = self._from_cache(cache, identifier, item_type, version)
            if cached is not None:
                return cached
        try:
            return self._download(cache, identifier, item_type, version)
        except ShelfUnreachableError:
            if version is not None:
                raise
            newest = sorted(self._cached_entries(cache, identifier, item_type), key=lambda e: version_key(e.version))
            for entry in reversed(newest):
                cached = self._from_cache(cache, identifier, entry.item_type, entry.version)
                if cached is not None:
                    warnings.warn(
                        f"The shelf {self.remote} cannot be reached; using the newest cached version of "
                        f"{entry.item_type}/{identifier}, {entry.version}.", stacklevel=2,
                    )
                    return cached
            raise

    def _from_cache(self, cache: Path, identifier: str, item_type: str | None, version: str) -> Path | None:
        types = [item_type] if item_type else sorted(
            {p.parent.parent.name for p in (cache / "refs" / self._key).glob(f"*/{identifier}/{version}.json")}
        )
        if len(types) != 1:
            return None
        ref = self._ref_path(types[0], identifier, version, cache)
        try:
            entry = CatalogEntry.from_json(ref.read_text(encoding="utf-8"), str(ref))
        except (OSError, ValueError):
            return None
        directory = self._object_dir(cache, entry.sha256)
        if self._verified(directory):
            return directory
        if directory.exists():
            warnings.warn(f"The cached copy of {entry.tag} at {directory} is damaged; fetching it again.", stacklevel=3)
        return None

    def _download(self, cache: Path, identifier: str, item_type: str | None, version: str | None) -> Path:
        git = _git_module()
        with _locked(self._lock_path()):
            repo = self._repo()
            entry = self._resolve(read_catalog(repo.working_tree_dir), identifier, item_type, version)
            # Another process may have fetched it while this one waited for the lock.
            directory = self._object_dir(cache, entry.sha256)
            if self._verified(directory):
                self._remember(cache, entry)
                return directory
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
                with repo.git.custom_environment(**_git_env()):
                    repo.git.lfs("fetch", "origin", "HEAD", f"--include={entry.archive_path}", "--exclude=")
            except git.GitCommandError as error:
                stored.unlink(missing_ok=True)
                shutil.rmtree(Path(repo.git_dir, "lfs", "tmp"), ignore_errors=True)
                if "invalid hash" in _git_error(error) or "failed checks" in _git_error(error):
                    raise ChecksumMismatchError(
                        f"The archive of {entry.tag} on the shelf does not match its LFS pointer (sha256 "
                        f"{entry.sha256[:12]}): {_git_error(error)}. The bad copy was deleted; the shelf's "
                        "LFS storage may be damaged."
                    ) from None
                raise MissingContentError(
                    f"git-lfs could not get the archive of {entry.tag}: {_git_error(error)}. The shelf's LFS "
                    "storage must be reachable and hold it (was it pushed without git-lfs?)."
                ) from None
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
                self._install(stored, directory)
            finally:
                stored.unlink(missing_ok=True)
            self._remember(cache, entry)
        return directory

    @staticmethod
    def _install(archive: Path, directory: Path) -> None:
        """Unpacks into a temporary directory, records every file's hash, renames into place."""
        directory.parent.mkdir(parents=True, exist_ok=True)
        staging = directory.with_name(f".{directory.name}.{os.getpid()}.tmp")
        shutil.rmtree(staging, ignore_errors=True)
        try:
            unpack(archive, staging)
        except UnsafeArchiveError as error:
            raise ChecksumMismatchError(f"Refusing the archive: {error}") from None
        try:
            _write_atomically(directory.with_name(directory.name + ".files"), json.dumps(_file_record(staging), indent=1))
            if directory.exists():
                # A damaged earlier copy: move it aside, then replace it.
                old = directory.with_name(f".{directory.name}.{os.getpid()}.old")
                os.rename(directory, old)
                shutil.rmtree(old, ignore_errors=True)
            os.rename(staging, directory)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _remember(self, cache: Path, entry: CatalogEntry) -> None:
        _write_atomically(self._ref_path(entry.item_type, entry.identifier, entry.version, cache), entry.to_json())

    # -------------------------------------------------------------- load
    def load(self, identifier: str, item_type: str | None = None, version: str | None = None) -> Any:
        """Fetches and loads a component (`cclm.load_component` on the fetched directory)."""
        from cclm.components import load_component

        return load_component(self.fetch(identifier, item_type, version=version))


def _describe(manifest: dict) -> str:
    card = manifest.get("card") or {}
    if card.get("description"):
        return str(card["description"]).splitlines()[0]
    trained = card.get("trained_on")
    return f"{manifest['kind']} {manifest.get('name', '')!r}" + (f", trained on {trained}" if trained else "")


def _git_module() -> Any:
    try:
        import git
    except ImportError as error:  # GitPython refuses to import when no git executable is found
        raise ShelfError(
            f"The shelf needs git: {error}. Install git (e.g. `sudo apt-get install git`) and git-lfs."
        ) from None
    return git


_LFS_CHECKED = False


def _check_lfs() -> None:
    global _LFS_CHECKED
    if _LFS_CHECKED:
        return
    git = _git_module()
    try:
        git.Git().lfs("version")
    except git.GitCommandError:
        raise GitLfsMissingError(_LFS_INSTALL_HELP) from None
    _LFS_CHECKED = True


def _ensure_identity(repo: Any) -> None:
    """A committer identity for the shelf's commits where git has none configured."""
    reader = repo.config_reader()
    if not reader.has_option("user", "name") or not reader.has_option("user", "email"):
        with repo.config_writer() as writer:
            writer.set_value("user", "name", "cclm shelf")
            writer.set_value("user", "email", "cclm-shelf@localhost")
