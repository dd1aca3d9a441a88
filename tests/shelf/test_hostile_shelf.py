"""A shelf under hostile pushes and odd inputs: real git, git-lfs and files, no mocks."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cclm import Preprocessor
from cclm.shelf.catalog import CatalogError
from cclm.shelf.shelf import ChecksumMismatchError, Shelf, ShelfUnreachableError, VersionExistsError

pytestmark = pytest.mark.skipif(shutil.which("git-lfs") is None, reason="needs git-lfs (scripts/setup.sh installs it)")


def _git(*args, cwd=None):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def _prep(text="hello shelf world"):
    return Preprocessor().fit([text], progress=False)


@pytest.fixture
def shelf(tmp_path):
    return Shelf.init(tmp_path / "remote" / "shelf.git", cache_dir=tmp_path / "cache")


def _push_around_the_hook(shelf, work, change):
    """Clones the shelf, applies `change(work)`, commits and pushes as a host without the hook would take it."""
    _git("clone", "-q", shelf.remote, str(work))
    change(work)
    _git("add", "-A", cwd=work)
    _git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "change", cwd=work)
    hook = Path(shelf.remote, "hooks", "pre-receive")
    hook.rename(hook.with_name("pre-receive.off"))  # GitHub, GitLab and the HF Hub run no custom hooks
    try:
        _git("push", "-q", "origin", "main", cwd=work)
    finally:
        hook.with_name("pre-receive.off").rename(hook)


def test_invalid_catalog_files_are_skipped_not_fatal(shelf, tmp_path):
    entry = shelf.publish(_prep(), "docs")
    folder = Path(entry.entry_path).parent

    def poison(work):
        (work / folder / "2.0.0.json").write_text("not json")
        (work / folder / "3.0.0.json").write_text((work / entry.entry_path).read_text().replace(
            '"format_version": 1', '"format_version": 7'))
        (work / folder / "4.0.0.json").write_text((work / entry.entry_path).read_text())  # the wrong path
        os.symlink("/dev/zero", work / folder / "5.0.0.json")

    _push_around_the_hook(shelf, tmp_path / "work", poison)
    with pytest.warns(UserWarning, match="Skipping an invalid catalog entry"):
        assert [e.version for e in shelf.list()] == ["1.0.0"]
    with pytest.warns(UserWarning, match="Skipping"):
        assert Preprocessor.load(shelf.fetch("docs", version="1.0.0")).characters == _prep().characters
    with pytest.warns(UserWarning, match="Skipping"):
        assert shelf.publish(_prep("next"), "docs").version == "1.0.1"


def test_one_version_cannot_be_published_under_two_spellings(shelf):
    shelf.publish(_prep(), "docs", version="1.0.0")
    with pytest.raises(CatalogError, match=r"version='01\.0\.0' is not a shelf version.*e\.g\. '1\.0\.0'"):
        shelf.publish(_prep("other"), "docs", version="01.0.0")
    with pytest.raises(VersionExistsError, match=r"1\.0\.0 is already published"):
        shelf.publish(_prep("other"), "docs", version="1.0.0")


def test_published_and_fetched_files_follow_the_umask(shelf, tmp_path):
    previous = os.umask(0o022)
    try:
        shelf.publish(_prep(), "docs")
        directory = Shelf(shelf.remote, cache_dir=tmp_path / "fresh").fetch("docs")
    finally:
        os.umask(previous)
    files = [p for p in directory.rglob("*") if p.is_file()]
    assert files and {stat.S_IMODE(p.stat().st_mode) for p in files} == {0o644}
    assert stat.S_IMODE(directory.stat().st_mode) == 0o755
    record = directory.with_name(directory.name + ".files")
    assert stat.S_IMODE(record.stat().st_mode) == 0o644


def test_a_publish_killed_inside_git_leaves_no_lock_that_blocks_the_next(shelf, tmp_path):
    """kill -9 of `cclm shelf publish` while git holds the clone's index.lock (inside `git commit`)."""
    shelf.publish(_prep(), "docs")
    clone = next((shelf.cache_dir / "repos").iterdir())
    started = tmp_path / "commit-started"
    hook = clone / ".git" / "hooks" / "pre-commit"  # runs while `git commit` holds .git/index.lock
    hook.write_text(f"#!/bin/sh\necho $$ > {started}\nsleep 60\n")
    hook.chmod(0o755)
    saved = tmp_path / "next"
    _prep("next").save(saved)
    process = subprocess.Popen(
        [sys.executable, "-m", "cclm.cli", "shelf", "publish", str(saved), "docs", "--remote", shelf.remote,
         "--cache-dir", str(shelf.cache_dir)],
        start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (started.is_file() and started.read_text().strip()):
        time.sleep(0.1)
    assert started.is_file(), "git commit never started"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    hook.unlink()
    assert (clone / ".git" / "index.lock").exists()  # what the kill left
    (clone / ".git" / "shallow.lock").touch()  # and what a killed fetch leaves
    assert shelf.versions("docs") == ["1.0.0"]
    assert shelf.publish(_prep("next"), "docs").version == "1.0.1"
    assert Preprocessor.load(Shelf(shelf.remote, cache_dir=shelf.cache_dir).fetch("docs")).characters == _prep("next").characters


def test_scp_style_remotes_go_to_ssh_not_to_a_local_path(tmp_path, monkeypatch):
    # git reads "host:team/shelf.git" (an ssh alias, no user@) as ssh; so must the shelf.
    calls = tmp_path / "ssh-calls"
    fake_ssh = tmp_path / "fake-ssh"
    fake_ssh.write_text(f'#!/bin/sh\necho "$@" >> {calls}\necho "ssh: no route to host" >&2\nexit 255\n')
    fake_ssh.chmod(0o755)
    monkeypatch.setenv("GIT_SSH_COMMAND", str(fake_ssh))
    monkeypatch.chdir(tmp_path)
    shelf = Shelf("host:team/shelf.git", cache_dir=tmp_path / "cache")
    with pytest.raises(ShelfUnreachableError, match="host:team/shelf.git cannot be reached"):
        shelf.list()
    assert "host" in calls.read_text() and "team/shelf.git" in calls.read_text()
    assert not (tmp_path / "host:team").exists()


def _push(work, *refs):
    return subprocess.run(["git", "push", "origin", *refs], cwd=work, capture_output=True, text=True)


def _commit(work, message="change"):
    _git("add", "-A", cwd=work)
    _git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", message, cwd=work)


@pytest.mark.parametrize("poison, reason", [
    (lambda work, folder, entry: (work / folder / "2.0.0.json").write_text("not json"), "is not JSON"),
    (lambda work, folder, entry: (work / folder / "2.0.0.json").write_text(
        (work / entry.entry_path).read_text()), "describes preprocessor/docs/1.0.0"),
    (lambda work, folder, entry: os.symlink("/dev/zero", work / folder / "2.0.0.json"), "is not a regular file"),
    (lambda work, folder, entry: (work / folder / "x.json").mkdir() or (work / folder / "x.json" / "y").write_text("{}"),
     "is not at catalog/<type>/<name>/<version>.json"),
    (lambda work, folder, entry: (work / ".gitattributes").write_text("*.tar.gz -filter\n"), ".gitattributes"),
], ids=["not-json", "wrong-path", "symlink", "directory", "gitattributes"])
def test_the_hook_refuses_catalog_poison_and_gitattributes_edits(shelf, tmp_path, poison, reason):
    entry = shelf.publish(_prep(), "docs")
    work = tmp_path / "work"
    _git("clone", "-q", shelf.remote, str(work))
    poison(work, Path(entry.entry_path).parent, entry)
    _commit(work)
    before = _git("--git-dir", shelf.remote, "rev-parse", "main")
    refused = _push(work, "main")
    assert refused.returncode != 0 and reason in refused.stderr, refused.stderr
    assert _git("--git-dir", shelf.remote, "rev-parse", "main") == before


def test_a_squatted_version_tag_is_refused_and_skipped(shelf, tmp_path):
    shelf.publish(_prep(), "docs")
    work = tmp_path / "work"
    _git("clone", "-q", shelf.remote, str(work))
    # Through the hook: a tag for a version nobody published is refused.
    refused = _push(work, "HEAD:refs/tags/preprocessor/docs/1.0.1")
    assert refused.returncode != 0 and "must mark the commit on main that publishes" in refused.stderr
    # A host without the hook takes it; the next publish then skips that version instead of failing forever.
    hook = Path(shelf.remote, "hooks", "pre-receive")
    hook.rename(hook.with_name("pre-receive.off"))
    try:
        assert _push(work, "HEAD:refs/tags/preprocessor/docs/1.0.1").returncode == 0
    finally:
        hook.with_name("pre-receive.off").rename(hook)
    assert shelf.publish(_prep("next"), "docs").version == "1.0.2"
    with pytest.raises(VersionExistsError, match="1.0.1 is already published \\(or tagged\\)"):
        shelf.publish(_prep("other"), "docs", version="1.0.1")


def _swap(shelf, tmp_path, victim, other):
    """On a host without the hook: re-point `victim`'s archive and entry at `other`'s, a plain fast-forward push."""
    def change(work):
        shutil.copyfile(work / other.archive_path, work / victim.archive_path)
        fields = json.loads((work / victim.entry_path).read_text())
        fields.update(sha256=other.sha256, size=other.size)
        (work / victim.entry_path).write_text(json.dumps(fields))

    _push_around_the_hook(shelf, tmp_path / "swap-work", change)


def test_a_swapped_version_is_refused_by_the_tag_and_by_the_cache(shelf, tmp_path):
    victim = shelf.publish(_prep(), "docs")
    other = shelf.publish(_prep("something else entirely"), "other")
    original = shelf.fetch("docs")  # this cache records the published sha256
    _swap(shelf, tmp_path, victim, other)

    fresh = Shelf(shelf.remote, cache_dir=tmp_path / "fresh")
    with pytest.raises(ChecksumMismatchError, match=f"{other.sha256}.*its tag recorded sha256 {victim.sha256}"):
        fresh.fetch("docs", version="1.0.0")
    # With its type and version named, the tag comes in the branch's own fetch: refused the same way.
    with pytest.raises(ChecksumMismatchError, match=f"{other.sha256}.*its tag recorded sha256 {victim.sha256}"):
        fresh.fetch("docs", "preprocessor", version="1.0.0")
    assert not (tmp_path / "fresh" / "objects").exists() or not any((tmp_path / "fresh" / "objects").iterdir())
    assert fresh.fetch("other", "preprocessor", version="1.0.0").name == other.sha256  # a good version still fetches
    checked = next((tmp_path / "fresh" / "repos").iterdir()) / ".git" / "refs" / "cclm" / "tags"
    assert not checked.exists() or not [p for p in checked.rglob("*") if p.is_file()]  # no tag ref left behind

    # The cache that fetched it first: its copy is damaged, so it asks the shelf again.
    (original / "README.md").write_text("damaged")
    with pytest.warns(UserWarning, match="damaged"), pytest.raises(
            ChecksumMismatchError, match=f"{other.sha256}.*this cache recorded sha256 {victim.sha256}"):
        shelf.fetch("docs", version="1.0.0")

    result = subprocess.run([sys.executable, "-m", "cclm.cli", "shelf", "verify", "--remote", shelf.remote,
                             "--cache-dir", str(tmp_path / "verify")], capture_output=True, text=True)
    assert result.returncode == 1, result.stderr[-2000:]
    assert f"preprocessor/docs/1.0.0: main gives sha256 {other.sha256}, its tag recorded {victim.sha256}" in result.stdout
    assert "1 problem(s)" in result.stdout



def test_a_truncated_stored_archive_is_reported_as_damaged(shelf, tmp_path):
    entry = shelf.publish(_prep(), "docs")
    stored = Path(shelf.remote, "lfs", "objects", entry.sha256[:2], entry.sha256[2:4], entry.sha256)
    stored.chmod(0o644)
    stored.write_bytes(stored.read_bytes()[: entry.size // 2])
    with pytest.raises(ChecksumMismatchError, match=f"is {entry.size // 2:,} bytes; it was published as {entry.size:,}"):
        Shelf(shelf.remote, cache_dir=tmp_path / "fresh").fetch("docs")
