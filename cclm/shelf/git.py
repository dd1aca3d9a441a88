"""Git plumbing for the shelf: GitPython and git-lfs checks, environment, locks, LFS pointers.

GitPython is imported only when git is needed (`git_module`), so listing a
cache or loading a cached version runs no git at all.

Example:
>>> parse_lfs_pointer("not a pointer") is None
True
>>> is_local("/srv/shelf.git"), is_local("git@host:team/shelf.git")
(True, False)
>>> lfs_endpoint("https://host/team/shelf"), lfs_endpoint("file:///srv/shelf.git")
('https://host/team/shelf.git/info/lfs', 'file:///srv/shelf.git')
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import filelock

from cclm.components.files import follow_umask
from cclm.errors import GitLfsMissingError, PublishError, ShelfError, ShelfUnreachableError

BRANCH = "main"

LFS_INSTALL_HELP = (
    "git-lfs is not installed. Install it (Debian/Ubuntu: `sudo apt-get install git-lfs`; macOS: "
    "`brew install git-lfs`; or https://git-lfs.com), then run `git lfs install` once."
)


def is_local(remote: str) -> bool:
    """Whether git reads `remote` as a local path, by git's own rule.

    A URL with "://" is not; neither is scp syntax, `[user@]host:path`,
    which is any text with a colon before its first slash (`./a:b` is a
    path, and so is a Windows drive, `C:\\shelf`).
    """
    if "://" in remote:
        return False
    head, colon, _ = remote.partition(":")
    if not colon or "/" in head:
        return True
    return sys.platform == "win32" and len(head) == 1 and head.isalpha()


def check_remote(remote: str) -> str:
    """`remote`, unless git would run a command for it: the `ext::` and `fd::` remote helpers, or an option.

    Raises:
        ShelfError: naming the remote and the kinds of remote that work.
    """
    if remote.startswith("-") or re.match(r"^(ext|fd)::", remote, re.IGNORECASE):
        raise ShelfError(
            f"The shelf remote {remote!r} would make git run a command or take an option; use a local path "
            "or an ssh or https URL (check --remote and $CCLM_SHELF)."
        )
    return remote


def remote_url(remote: str) -> str:
    # file:// so that shallow clones of local repositories stay shallow.
    return Path(remote).expanduser().absolute().as_uri() if is_local(remote) else remote


def git_env() -> dict[str, str]:
    # Never prompt for credentials; never check LFS content out (only fetch what is asked for).
    return {"GIT_TERMINAL_PROMPT": "0", "GIT_LFS_SKIP_SMUDGE": "1"}


def git_error(error: Exception) -> str:
    text = (getattr(error, "stderr", "") or str(error)).strip()
    text = re.sub(r"^\s*stderr:\s*'?", "", text)
    return text.strip("' \n")[-800:]


def lfs_endpoint(url: str) -> str:
    """The git-lfs endpoint of the shelf at `url`, derived as git-lfs derives it from a clone URL.

    Local (file://) and SSH remotes are their own endpoint (git-lfs reads the
    SSH host and path from it); an HTTP remote serves LFS at `<repo>.git/info/lfs`.
    """
    if not url.startswith(("http://", "https://")):
        return url
    url = url.rstrip("/")
    return f"{url}/info/lfs" if url.endswith(".git") else f"{url}.git/info/lfs"


# git-lfs reads these from a repository's own .lfsconfig unless git's config sets them: a pusher
# could send archives to their own store, or let a push succeed without uploading. Local config wins.
_LFS_PINNED = {"allowincompletepush": "false", "skipdownloaderrors": "false", "locksverify": "false",
               "fetchinclude": "", "fetchexclude": ""}


def pin_lfs_endpoint(repo: Any, url: str) -> None:
    """Fixes the clone's LFS endpoint to `url`'s, so no file on the shelf (`.lfsconfig`) can move it."""
    wanted = {"url": lfs_endpoint(url), "pushurl": lfs_endpoint(url), **_LFS_PINNED}
    reader = repo.config_reader("repository")
    if all(reader.get("lfs", key, fallback=None) == value for key, value in wanted.items()):
        return  # pure Python: no git process on the common path
    with repo.config_writer("repository") as writer:
        for key, value in wanted.items():
            writer.set_value("lfs", key, value)


TAG_CHECK_PREFIX = "refs/cclm/tags/"  # where a version's tag is fetched to be checked (never a local tag)


def fetch_branch(repo: Any, tag: str | None = None) -> None:
    """Updates origin/main in the shallow clone: one commit, no tags.

    With `tag`, the same fetch also brings that tag's commit to
    `TAG_CHECK_PREFIX + tag` (for `cclm.shelf.provenance`), when the remote has it.
    """
    branch = f"+refs/heads/{BRANCH}:refs/remotes/origin/{BRANCH}"
    if tag is not None:
        with contextlib.suppress(git_module().GitCommandError):  # no such tag: fetched (and refused) later
            repo.git.fetch("--depth", "1", "--no-tags", "origin", branch, f"+refs/tags/{tag}:{TAG_CHECK_PREFIX}{tag}")
            return
    repo.git.fetch("--depth", "1", "--no-tags", "origin", branch)


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock between processes (`filelock`: `flock` on POSIX), released however the block ends.

    The operating system drops the lock with its process, so a killed
    holder never leaves it stuck.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise ShelfError(
            f"The cache cannot hold its locks at {path.parent}: a file is in the way. "
            "Use a directory for cache_dir (--cache-dir, $CCLM_CACHE)."
        ) from None
    with filelock.FileLock(path):
        yield


def parse_lfs_pointer(text: str) -> tuple[str, int] | None:
    """(sha256, size) from a git-lfs pointer file's text, or None when it is not one."""
    if not text.startswith("version https://git-lfs.github.com/spec/"):
        return None
    oid = re.search(r"^oid sha256:([0-9a-f]{64})$", text, re.MULTILINE)
    size = re.search(r"^size (\d+)$", text, re.MULTILINE)
    if not (oid and size):
        return None
    return oid.group(1), int(size.group(1))


def git_module() -> Any:
    try:
        import git
    except ImportError as error:  # GitPython refuses to import when no git executable is found
        raise ShelfError(
            f"The shelf needs git: {error}. Install git (e.g. `sudo apt-get install git`) and git-lfs."
        ) from None
    return git


_LFS_CHECKED = False


def check_lfs() -> None:
    global _LFS_CHECKED
    if _LFS_CHECKED:
        return
    git = git_module()
    try:
        git.Git().lfs("version")
    except git.GitCommandError:
        raise GitLfsMissingError(LFS_INSTALL_HELP) from None
    _LFS_CHECKED = True


def ensure_identity(repo: Any) -> None:
    """A committer identity for the shelf's commits where git has none configured."""
    reader = repo.config_reader()
    if not reader.has_option("user", "name") or not reader.has_option("user", "email"):
        with repo.config_writer() as writer:
            writer.set_value("user", "name", "cclm shelf")
            writer.set_value("user", "email", "cclm-shelf@localhost")


def remove_stale_locks(git_dir: Path) -> list[Path]:
    """Deletes the `*.lock` files a killed git left in `git_dir`; returns them.

    Call only under the shelf's lock: every git process that works in a
    cache's clone runs under it, so a lock file there cannot belong to a
    live process.
    """
    git_dir = Path(git_dir)
    stale = [path for path in [*git_dir.glob("*.lock"), *git_dir.glob("refs/**/*.lock")] if path.is_file()]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def updated_clone(url: str, clone: Path, label: str, tag: str | None = None) -> Any:
    """The shallow clone of `url` at `clone` (made on first use), reset to the remote's main branch.

    LFS content is never checked out: only the archives asked for are
    fetched; `tag` is fetched with the branch (`fetch_branch`). Call under
    the shelf's lock: lock files a killed git left in the clone are removed
    first, and a clone damaged beyond that is made again.

    Raises:
        ShelfUnreachableError: git could not reach `url` (`label` names it in the message).
        ShelfError: the clone could not be repaired (the message names it and git's error).
    """
    git = git_module()
    if (clone / ".git").is_dir():
        remove_stale_locks(clone / ".git")
        shutil.rmtree(clone / ".git" / TAG_CHECK_PREFIX, ignore_errors=True)  # left by an interrupted check
    else:
        _clone(git, url, clone, label)
    repo = git.Repo(clone)
    pin_lfs_endpoint(repo, url)  # clones made before endpoints were pinned, too
    with repo.git.custom_environment(**git_env()):
        try:
            fetch_branch(repo, tag)
        except git.GitCommandError as error:
            raise _unreachable(label, error) from None
        try:
            repo.git.reset("--hard", f"origin/{BRANCH}")
            repo.git.clean("-fdq")
            return repo
        except git.GitCommandError as error:
            local_error = git_error(error)
    # The remote answered but the local clone is broken: a cache, so it is made again.
    repo.close()
    shutil.rmtree(clone, ignore_errors=True)
    try:
        _clone(git, url, clone, label)
        return git.Repo(clone)
    except ShelfUnreachableError:
        raise
    except Exception as error:  # noqa: BLE001  (reported with the first failure)
        raise ShelfError(
            f"The shelf cache's clone at {clone} is damaged ({local_error}) and could not be made "
            f"again ({error}). Delete {clone} and retry."
        ) from None


def _unreachable(label: str, error: Any) -> ShelfUnreachableError:
    return ShelfUnreachableError(
        f"The shelf {label} cannot be reached: {git_error(error)}. Check the path or URL "
        "and your access (git credentials, network); versions already in the cache still load."
    )


def _clone(git: Any, url: str, clone: Path, label: str) -> None:
    shutil.rmtree(clone, ignore_errors=True)
    clone.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{clone.name}.", suffix=".tmp", dir=clone.parent))
    follow_umask(staging)
    try:
        try:
            repo = git.Repo.clone_from(url, staging, depth=1, branch=BRANCH, no_tags=True, env=git_env())
        except (git.GitCommandError, git.exc.UnsafeProtocolError, git.exc.UnsafeOptionError) as error:
            raise _unreachable(label, error) from None
        repo.git.lfs("install", "--local", "--skip-smudge")
        pin_lfs_endpoint(repo, url)
        ensure_identity(repo)
        repo.close()
        os.rename(staging, clone)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def remote_tag_versions(repo: Any, item_type: str, identifier: str) -> list[str]:
    """The versions of `item_type/identifier` that have a tag on the remote (published or squatted)."""
    git = git_module()
    prefix = f"refs/tags/{item_type}/{identifier}/"
    try:
        with repo.git.custom_environment(**git_env()):
            listing = repo.git.ls_remote("--tags", "origin", f"{prefix}*")
    except git.GitCommandError as error:
        raise _unreachable(repo.remotes.origin.url, error) from None
    names = (line.split("\t", 1)[-1] for line in listing.splitlines())
    return sorted({name[len(prefix):].removesuffix("^{}") for name in names if name.startswith(prefix)})


def commit_and_push(repo: Any, entry: Any) -> None:
    """Commits a version's archive (through git-lfs), catalog entry and card, tags it, pushes atomically.

    `entry` is the version's `CatalogEntry`. On any failure the clone is
    reset to the remote and nothing is published.

    Raises:
        PublishError: the push was refused or failed, or the archive was not staged through git-lfs.
    """
    git = git_module()
    paths = [entry.archive_path, entry.entry_path, entry.card_path]
    try:
        with repo.git.custom_environment(**git_env()):
            repo.git.add("--", *paths)
            staged = repo.git.show(f":{entry.archive_path}")
            if parse_lfs_pointer(staged + "\n") is None:
                raise PublishError(
                    f"{entry.archive_path} was staged as a plain file, not through git-lfs; the shelf's "
                    ".gitattributes must track components/**/*.tar.gz (see shelf/README.md)."
                )
            repo.git.commit("-m", f"Publish {entry.tag}", "--", *paths)
            # The tag is made on the remote only (tags live there; the clone is a cache).
            repo.git.push("--atomic", "--porcelain", "origin", f"HEAD:refs/heads/{BRANCH}", f"HEAD:refs/tags/{entry.tag}")
    except (git.GitCommandError, PublishError) as error:
        with contextlib.suppress(git.GitCommandError):
            repo.git.reset("--hard", f"origin/{BRANCH}")
            repo.git.clean("-fdq")
        if isinstance(error, PublishError):
            raise
        raise PublishError(
            f"Publishing {entry.tag} failed, and nothing was published: {git_error(error)}"
        ) from None
    finally:
        # The clone keeps pointers only: drop the archive and its LFS copy.
        lfs_copy = Path(repo.git_dir, "lfs", "objects", entry.sha256[:2], entry.sha256[2:4], entry.sha256)
        lfs_copy.unlink(missing_ok=True)
    with contextlib.suppress(git.GitCommandError):
        repo.git.update_ref(f"refs/remotes/origin/{BRANCH}", "HEAD")  # the atomic push made the remote's main this
    # The working tree keeps the archive's pointer, as a checkout with LFS skipped would write it
    # (written here: `git checkout` would start git-lfs twice, for its filter and its hook).
    Path(repo.working_tree_dir, entry.archive_path).write_text(staged + "\n", encoding="utf-8")
