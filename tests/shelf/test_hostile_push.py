"""What someone with push rights to a shelf must not be able to change for everyone else.

Real git, git-lfs and bare repositories; the host "without the hook" is the same
bare repository with its pre-receive hook moved aside, as GitHub or GitLab would take a push.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from cclm import Preprocessor
from cclm.shelf.shelf import Shelf

pytestmark = pytest.mark.skipif(shutil.which("git-lfs") is None, reason="needs git-lfs (scripts/setup.sh installs it)")


def _git(*args, cwd=None):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def _prep(text="hello shelf world"):
    return Preprocessor().fit([text], progress=False)


@pytest.fixture
def shelf(tmp_path):
    return Shelf.init(tmp_path / "remote" / "shelf.git", cache_dir=tmp_path / "cache")


def _clone_and_commit(shelf, work, change):
    _git("clone", "-q", shelf.remote, str(work))
    change(work)
    _git("add", "-A", cwd=work)
    _git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "change", cwd=work)


def _push(work, *refs):
    return subprocess.run(["git", "push", "origin", *refs], cwd=work, capture_output=True, text=True)


def _without_hook(shelf, work):
    hook = Path(shelf.remote, "hooks", "pre-receive")
    hook.rename(hook.with_name("pre-receive.off"))  # GitHub, GitLab and the HF Hub run no custom hooks
    try:
        assert _push(work, "main").returncode == 0
    finally:
        hook.with_name("pre-receive.off").rename(hook)


def _lfs_objects(repository):
    return sorted(p.name for p in Path(repository, "lfs", "objects").rglob("*") if p.is_file())


@pytest.mark.parametrize("path", [".lfsconfig", "README.md", "notes/todo.txt", "catalog/.gitkeep2"])
def test_the_hook_refuses_any_path_publish_does_not_write(shelf, tmp_path, path):
    shelf.publish(_prep(), "docs")

    def change(work):
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).write_text("[lfs]\n\turl = file:///elsewhere\n")

    _clone_and_commit(shelf, tmp_path / "work", change)
    before = _git("--git-dir", shelf.remote, "rev-parse", "main")
    refused = _push(tmp_path / "work", "main")
    assert refused.returncode != 0 and path in refused.stderr, refused.stderr
    assert _git("--git-dir", shelf.remote, "rev-parse", "main") == before


def test_an_lfsconfig_pushed_around_the_hook_never_redirects_archives(shelf, tmp_path):
    first = shelf.publish(_prep(), "docs")  # this cache's clone exists before the redirect
    evil = tmp_path / "evil.git"
    _git("init", "-q", "--bare", str(evil))

    def redirect(work):
        (work / ".lfsconfig").write_text(f"[lfs]\n\turl = {evil.as_uri()}\n\tpushurl = {evil.as_uri()}\n"
                                         f'[remote "origin"]\n\tlfsurl = {evil.as_uri()}\n')

    _clone_and_commit(shelf, tmp_path / "work", redirect)
    _without_hook(shelf, tmp_path / "work")
    second = shelf.publish(_prep("second"), "docs")  # an existing clone
    third = Shelf(shelf.remote, cache_dir=tmp_path / "fresh").publish(_prep("third"), "docs")  # a new clone
    assert _lfs_objects(evil) == []
    assert {first.sha256, second.sha256, third.sha256} <= set(_lfs_objects(shelf.remote))
    shutil.rmtree(evil)  # the pusher removes their store: everything still fetches
    for entry in (first, second, third):
        fetched = Shelf(shelf.remote, cache_dir=tmp_path / f"reader-{entry.version}").fetch("docs", version=entry.version)
        assert fetched.name == entry.sha256
