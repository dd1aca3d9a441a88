"""The Shelf over real git and git-lfs, on local repositories (no server, no mocks)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from cclm import Preprocessor
from cclm.shelf.cache import ShelfCache
from cclm.shelf.shelf import (
    ChecksumMismatchError,
    GitLfsMissingError,
    MissingContentError,
    PublishError,
    Shelf,
    ShelfLookupError,
    ShelfUnreachableError,
    VersionExistsError,
)

pytestmark = pytest.mark.skipif(shutil.which("git-lfs") is None, reason="needs git-lfs (scripts/setup.sh installs it)")


def _git(*args, cwd=None):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def _prep(text="hello shelf world"):
    return Preprocessor().fit([text])


@pytest.fixture
def shelf(tmp_path):
    return Shelf.init(tmp_path / "remote" / "shelf.git", cache_dir=tmp_path / "cache")


def _remote_state(shelf):
    remote = shelf.remote
    return _git("--git-dir", remote, "rev-parse", "main"), _git("--git-dir", remote, "tag", "--list")


def _lfs_object(shelf, sha256):
    return Path(shelf.remote, "lfs", "objects", sha256[:2], sha256[2:4], sha256)


def test_round_trip_gives_identical_model_outputs(shelf, tmp_path):
    from cclm.models.embedder import Embedder

    prep = Preprocessor(sequence_length=16).fit(["composable character level models"])
    embedder = Embedder(vocab_size=prep.vocab_size, hidden_dim=8, num_blocks=1, max_length=32)
    ids = prep.encode(["level models"])
    expected = np.asarray(embedder(ids))
    entry = shelf.publish(embedder, "tiny-embedder", description="a tiny test embedder")
    assert (entry.item_type, entry.version, entry.description) == ("embedder", "1.0.0", "a tiny test embedder")
    fetched = Shelf(shelf.remote, cache_dir=tmp_path / "other-cache").fetch("tiny-embedder", "embedder")
    np.testing.assert_array_equal(np.asarray(Embedder.load(fetched)(ids)), expected)
    assert Embedder.from_shelf("tiny-embedder", shelf=shelf).fingerprint == embedder.fingerprint
    # The shelf stores the archive in LFS; git holds only the pointer.
    pointer = _git("--git-dir", shelf.remote, "show", f"main:{entry.archive_path}")
    assert pointer.startswith("version https://git-lfs") and entry.sha256 in pointer
    assert _lfs_object(shelf, entry.sha256).stat().st_size == entry.size
    assert _git("--git-dir", shelf.remote, "tag", "--list").split() == [entry.tag]


def test_two_versions_fetch_the_older_and_the_original_signature(shelf, tmp_path):
    old = shelf.publish(_prep("first text"), "docs")
    new = shelf.publish(_prep("second, longer text"), "docs")
    assert (old.version, new.version) == ("1.0.0", "1.0.1")
    assert shelf.versions("docs") == ["1.0.0", "1.0.1"]
    assert shelf.info("docs").version == "1.0.1"
    older = Preprocessor.load(shelf.fetch("docs", "preprocessor", tag="1.0.0", cache_dir=tmp_path / "legacy"))
    assert older.characters == _prep("first text").characters
    newest = Preprocessor.from_shelf("docs", shelf=shelf)
    assert newest.characters == _prep("second, longer text").characters
    # Only the asked-for archive was downloaded into the clone's LFS storage, and it is not kept there.
    clone = next((shelf.cache_dir / "repos").iterdir())
    assert not list((clone / ".git" / "lfs").rglob("objects/*/*/*"))
    assert _git("rev-parse", "--is-shallow-repository", cwd=clone).strip() == "true"


def test_a_git_tag_fetches_its_version_and_one_naming_another_component_is_refused(shelf):
    old = shelf.publish(_prep("first text"), "docs")
    shelf.publish(_prep("second, longer text"), "docs")
    assert shelf.fetch("docs", tag=old.tag) == shelf.fetch("docs", "preprocessor", version="1.0.0")
    for tag, item_type in (("preprocessor/other/1.0.0", None), ("preprocessor/docs/1.0.0", "embedder"),
                           ("docs/1.0.0", None)):
        with pytest.raises(ShelfLookupError, match=f"tag={tag!r} names another component"):
            shelf.fetch("docs", item_type, tag=tag)
    with pytest.raises(ShelfLookupError, match=r"'docs' \(embedder\) is not on the shelf"):  # the tag's kind is read
        shelf.fetch("docs", tag="embedder/docs/1.0.0")


def test_unknown_identifiers_and_versions_list_what_exists(shelf):
    shelf.publish(_prep(), "docs")
    with pytest.raises(ShelfLookupError, match=r"'nothing' is not on the shelf.*preprocessor/docs"):
        shelf.fetch("nothing")
    with pytest.raises(ShelfLookupError, match=r"no version '9.9.9'.*\['1.0.0'\]"):
        shelf.fetch("docs", version="9.9.9")
    with pytest.raises(ValueError, match="not valid"):
        shelf.fetch("../etc")


def test_republishing_a_version_is_refused_by_the_library_and_by_the_hook(shelf, tmp_path):
    entry = shelf.publish(_prep(), "docs", version="2.0.0")
    with pytest.raises(VersionExistsError, match=r"already published.*version='2.0.1'"):
        shelf.publish(_prep("other"), "docs", version="2.0.0")
    # Around the library: change the published entry with plain git and push.
    work = tmp_path / "work"
    _git("clone", "-q", shelf.remote, str(work), cwd=tmp_path)
    path = work / entry.entry_path
    path.write_text(path.read_text() + " ")
    _git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "rewrite", cwd=work)
    before = _remote_state(shelf)
    push = subprocess.run(["git", "push", "origin", "main"], cwd=work, capture_output=True, text=True, check=False)
    assert push.returncode != 0 and "immutable" in push.stderr and entry.entry_path in push.stderr
    moved = subprocess.run(["git", "push", "--force", "origin", f"HEAD:refs/tags/{entry.tag}"], cwd=work,
                           capture_output=True, text=True, check=False)
    assert moved.returncode != 0 and "cannot be moved" in moved.stderr
    assert _remote_state(shelf) == before


def test_a_tampered_lfs_object_is_detected_and_never_used(shelf, tmp_path):
    entry = shelf.publish(_prep(), "docs")
    stored = _lfs_object(shelf, entry.sha256)
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0xFF
    stored.chmod(0o644)
    stored.write_bytes(bytes(data))
    cache = tmp_path / "fresh-cache"
    with pytest.raises(ChecksumMismatchError, match="bad copy was deleted"):
        shelf.fetch("docs", cache_dir=cache)
    assert not (cache / "objects").exists() or not any((cache / "objects").iterdir())
    clone = next((shelf.cache_dir / "repos").iterdir())
    assert not list((clone / ".git" / "lfs").rglob("objects/*/*/*"))


def test_a_missing_lfs_object_is_reported_not_read_as_a_pointer(shelf, tmp_path):
    entry = shelf.publish(_prep(), "docs")
    _lfs_object(shelf, entry.sha256).unlink()
    with pytest.raises(MissingContentError, match="docs"):
        shelf.fetch("docs", cache_dir=tmp_path / "fresh-cache")
    assert not (tmp_path / "fresh-cache" / "objects").exists()


def test_an_unsafe_archive_on_the_shelf_is_refused(shelf, tmp_path):
    """Someone commits an archive with a symlink by hand, with a consistent catalog entry."""
    import tarfile

    entry = shelf.publish(_prep(), "docs")
    work = tmp_path / "work"
    _git("clone", "-q", shelf.remote, str(work), cwd=tmp_path)
    archive = work / entry.archive_path.replace("1.0.0", "1.0.1")
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("manifest.json")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        tar.addfile(info)
    from cclm.shelf.archive import file_sha256

    fields = json.loads((work / entry.entry_path).read_text())
    fields.update(version="1.0.1", sha256=file_sha256(archive), size=archive.stat().st_size)
    (work / entry.entry_path.replace("1.0.0", "1.0.1")).write_text(json.dumps(fields))
    _git("add", "-A", cwd=work)
    _git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "add", cwd=work)
    _git("tag", "preprocessor/docs/1.0.1", cwd=work)  # as a publish would, so only the archive is wrong
    _git("push", "-q", "--atomic", "origin", "main", "refs/tags/preprocessor/docs/1.0.1", cwd=work)
    with pytest.raises(ChecksumMismatchError, match="symbolic link"):
        shelf.fetch("docs", version="1.0.1")
    assert not (shelf.cache_dir / "objects" / fields["sha256"]).exists()


def test_a_damaged_cache_entry_is_detected_and_fetched_again(shelf):
    shelf.publish(_prep(), "docs")
    path = shelf.fetch("docs", version="1.0.0")
    vocabulary = next(p for p in path.rglob("*") if p.is_file() and p.name != "README.md")
    vocabulary.write_text(vocabulary.read_text() + "damage")
    with pytest.warns(UserWarning, match="damaged"):
        again = shelf.fetch("docs", version="1.0.0")
    assert again == path
    assert Preprocessor.load(again).characters == _prep().characters


def test_cached_versions_load_without_git_or_remote(shelf, tmp_path):
    shelf.publish(_prep(), "docs")
    path = shelf.fetch("docs", version="1.0.0")
    # No git on PATH (GitPython would fail to import) and the remote gone: the cache still answers.
    # The interpreter is called by its own path: a link to it would lose a virtual environment's packages.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    moved = tmp_path / "moved.git"
    os.rename(shelf.remote, moved)
    code = textwrap.dedent(f"""
        import sys
        from cclm.shelf.shelf import Shelf
        shelf = Shelf({shelf.remote!r}, cache_dir={str(shelf.cache_dir)!r})
        print(shelf.fetch("docs", "preprocessor", version="1.0.0"))
        assert "git" not in sys.modules, "GitPython was imported"
        try:
            shelf.fetch("docs", "preprocessor", version="1.0.1")
        except Exception as error:
            print(type(error).__name__, error)
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False,
                            env={**os.environ, "PATH": str(bin_dir)})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == str(path)
    assert lines[1].startswith("ShelfError") and "needs git" in lines[1]
    # With git but no remote: uncached versions fail saying so; the newest cached one is used with a warning.
    with pytest.raises(ShelfUnreachableError, match="cannot be reached"):
        shelf.fetch("docs", version="1.0.1")
    with pytest.warns(UserWarning, match="newest cached version"):
        assert shelf.fetch("docs") == path


def test_two_processes_fetching_at_once_both_succeed(shelf):
    shelf.publish(_prep(), "docs")
    code = (f"from cclm.shelf.shelf import Shelf; "
            f"print(Shelf({shelf.remote!r}, cache_dir={str(shelf.cache_dir)!r}).fetch('docs', 'preprocessor'))")
    processes = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for _ in range(2)]
    outputs = [process.communicate(timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], [err for _, err in outputs]
    paths = {out.strip() for out, _ in outputs}
    assert len(paths) == 1
    objects = [p for p in (shelf.cache_dir / "objects").iterdir() if not p.name.endswith(".files")]
    assert [p.name for p in objects] == [Path(paths.pop()).name]
    assert ShelfCache.verified(objects[0])


def test_a_refused_push_publishes_nothing(shelf):
    shelf.publish(_prep(), "docs")
    before = _remote_state(shelf)
    hook = Path(shelf.remote, "hooks", "pre-receive")
    original = hook.read_text()
    hook.write_text("#!/bin/sh\necho 'remote: disk quota exceeded' >&2\nexit 1\n")
    with pytest.raises(PublishError, match="nothing was published.*quota"):
        shelf.publish(_prep("new"), "docs")
    assert _remote_state(shelf) == before
    hook.write_text(original)
    assert shelf.versions("docs") == ["1.0.0"]
    clone = next((shelf.cache_dir / "repos").iterdir())
    assert _git("status", "--porcelain", cwd=clone) == "" and _git("tag", cwd=clone) == ""
    assert shelf.publish(_prep("new"), "docs").version == "1.0.1"


def test_a_killed_publish_leaves_the_shelf_as_it_was(shelf, tmp_path):
    shelf.publish(_prep(), "docs")
    before = _remote_state(shelf)
    hook = Path(shelf.remote, "hooks", "pre-receive")
    original = hook.read_text()
    started = tmp_path / "push-started"
    # The server takes its time: the publishing process is killed while the push is under way.
    hook.write_text(f"#!/bin/sh\necho $$ > {started}\nsleep 60\n")
    code = f"""
from cclm import Preprocessor
from cclm.shelf.shelf import Shelf
Shelf({shelf.remote!r}, cache_dir={str(shelf.cache_dir)!r}).publish(Preprocessor().fit(['new']), 'docs')
"""
    process = subprocess.Popen([sys.executable, "-c", code], start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (started.is_file() and started.read_text().strip()):
        time.sleep(0.1)
    assert started.is_file(), "the push never reached the server"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    with contextlib.suppress(ProcessLookupError):
        os.kill(int(started.read_text()), signal.SIGKILL)
    hook.write_text(original)
    assert _remote_state(shelf) == before
    assert shelf.versions("docs") == ["1.0.0"]
    assert shelf.publish(_prep("new"), "docs").version == "1.0.1"


def test_the_default_shelf_is_created_on_first_use(tmp_path, monkeypatch):
    monkeypatch.delenv("CCLM_SHELF", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("CCLM_CACHE", str(tmp_path / "cache"))
    shelf = Shelf()
    assert shelf.remote == str(tmp_path / "data" / "cclm" / "shelf.git")
    assert shelf.cache_dir == tmp_path / "cache"
    assert shelf.list() == []
    assert Path(shelf.remote, "hooks", "pre-receive").is_file()
    monkeypatch.setenv("CCLM_SHELF", str(tmp_path / "elsewhere.git"))
    assert Shelf().remote == str(tmp_path / "elsewhere.git")
    assert Shelf().list() == []  # a local $CCLM_SHELF is created on first use too
    assert Path(tmp_path / "elsewhere.git", "hooks", "pre-receive").is_file()


def test_missing_git_lfs_says_how_to_install_it(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    os.symlink(shutil.which("git"), bin_dir / "git")
    code = f"""
from cclm.shelf.shelf import Shelf
try:
    Shelf.init({str(tmp_path / 'shelf.git')!r})
except Exception as error:
    print(type(error).__name__, error)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False,
                            env={**os.environ, "PATH": str(bin_dir)})
    assert result.stdout.startswith("GitLfsMissingError") and "apt-get install git-lfs" in result.stdout
    assert GitLfsMissingError.__mro__[1].__name__ == "ShelfError"


def test_shelf_references_work_wherever_a_component_directory_does(shelf, monkeypatch):
    from cclm.components import load_component

    shelf.publish(_prep("first text"), "docs")
    shelf.publish(_prep("second text"), "docs")
    monkeypatch.setenv("CCLM_SHELF", shelf.remote)
    monkeypatch.setenv("CCLM_CACHE", str(shelf.cache_dir))
    assert load_component("shelf:preprocessor/docs@1.0.0").characters == _prep("first text").characters
    assert Preprocessor.load("shelf:docs").characters == _prep("second text").characters
    with pytest.raises(ValueError, match="names no component"):
        load_component("shelf:")
