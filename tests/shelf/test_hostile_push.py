"""What someone with push rights to a shelf must not be able to change for everyone else.

Real git, git-lfs and bare repositories; the host "without the hook" is the same
bare repository with its pre-receive hook moved aside, as GitHub or GitLab would take a push.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
import warnings
from pathlib import Path

import pytest

from cclm import Preprocessor
from cclm.shelf.archive import UnsafeArchiveError, file_sha256, pack
from cclm.shelf.catalog import CatalogEntry, CatalogError
from cclm.shelf.shelf import ChecksumMismatchError, PublishError, Shelf

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


def _zero_bomb(path, size=96 * 1024**2):
    """A real tar.gz of `size` zero bytes: about a thousandth of that on disk."""
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        for name, data in (("manifest.json", b'{"kind": "preprocessor"}'),):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        info = tarfile.TarInfo("zeros.bin")
        info.size = size
        with open("/dev/zero", "rb") as zeros:
            tar.addfile(info, zeros)
    return path


def _add_version(shelf, work, archive, name="bomb", version="1.0.0"):
    """Commits `archive` as a version in a clone of the shelf, laid out as publish would (through git-lfs)."""
    if not work.exists():
        _git("clone", "-q", shelf.remote, str(work))
        _git("lfs", "install", "--local", cwd=work)
    target = work / "components" / "preprocessor" / name / f"{version}.tar.gz"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(archive, target)
    entry = dict(format_version=1, identifier=name, item_type="preprocessor", version=version,
                 sha256=file_sha256(target), size=target.stat().st_size, created="2026-01-01T00:00:00+00:00",
                 library_version="0", description=f"pushed as {version}", name="")
    path = work / "catalog" / "preprocessor" / name / f"{version}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(entry))
    _git("add", "-A", cwd=work)
    _git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", f"add {name} {version}", cwd=work)
    return CatalogEntry(**{k: v for k, v in entry.items() if k != "format_version"}) if version == "1.0.0" else None


def test_a_zero_bomb_is_refused_at_publish_in_the_hook_and_at_fetch(shelf, tmp_path):
    bomb = _zero_bomb(tmp_path / "bomb.tar.gz")
    assert bomb.stat().st_size < 1_000_000
    source = _prep().save(tmp_path / "source")  # and a zero file beside it, as a publisher might have
    with open(source / "zeros.bin", "wb") as stream:
        stream.truncate(96 * 1024**2)
    with pytest.raises(UnsafeArchiveError, match="decompression bomb"):
        shelf.publish(source, "bomb")
    assert _git("--git-dir", shelf.remote, "tag", "--list") == ""

    entry = _add_version(shelf, tmp_path / "work", bomb)
    refused = _push(tmp_path / "work", "main", f"HEAD:refs/tags/{entry.tag}")
    assert refused.returncode != 0 and "decompression bomb" in refused.stderr, refused.stderr

    hook = Path(shelf.remote, "hooks", "pre-receive")
    hook.rename(hook.with_name("pre-receive.off"))
    try:
        assert _push(tmp_path / "work", "main", f"HEAD:refs/tags/{entry.tag}").returncode == 0
    finally:
        hook.with_name("pre-receive.off").rename(hook)
    reader = Shelf(shelf.remote, cache_dir=tmp_path / "reader")
    with pytest.raises(ChecksumMismatchError, match="decompression bomb"):
        reader.fetch("bomb", version="1.0.0")
    assert not [p for p in (tmp_path / "reader" / "objects").iterdir() if p.is_dir()]


def test_the_unpacked_size_limit_is_the_shelf_s_to_set(shelf, tmp_path, monkeypatch):
    small = Shelf(shelf.remote, cache_dir=tmp_path / "small", max_unpacked_bytes=1000)
    with pytest.raises(UnsafeArchiveError, match="more than the cap of 1,000"):
        small.publish(_prep("a text with enough characters to pass a kilobyte once saved"), "docs")
    entry = shelf.publish(_prep(), "docs")
    with pytest.raises(ChecksumMismatchError, match="more than the cap of 1,000"):
        small.fetch("docs", version=entry.version)
    monkeypatch.setenv("CCLM_MAX_UNPACKED_BYTES", "1000")
    with pytest.raises(ChecksumMismatchError, match="more than the cap of 1,000"):
        Shelf(shelf.remote, cache_dir=tmp_path / "env").fetch("docs", version=entry.version)
    monkeypatch.delenv("CCLM_MAX_UNPACKED_BYTES")
    _git("--git-dir", shelf.remote, "config", "cclm.maxUnpackedBytes", "1000")  # the hook's limit
    with pytest.raises(PublishError, match="more than the cap of 1,000"):
        shelf.publish(_prep("next"), "docs")


ALIASES = ["1.0", "01.0.0", "v1.0.0", "1.0.0.0", "1.0.00"]
RESERVED = ["starter", "starter-embedder"]


def test_the_hook_refuses_version_aliases_and_reserved_names_publish_never_writes(shelf, tmp_path):
    shelf.publish(_prep(), "docs")
    archive = pack(_prep("pushed").save(tmp_path / "pushed"), tmp_path / "pushed.tar.gz").path
    for index, (name, version) in enumerate([("docs", v) for v in ALIASES] + [(n, "1.0.0") for n in RESERVED]):
        work = tmp_path / f"work-{index}"
        _add_version(shelf, work, archive, name, version)
        refused = _push(work, "main")
        assert refused.returncode != 0 and (f"version={version!r} is not a shelf version" in refused.stderr
                                            or "is reserved for the starter components" in refused.stderr), refused.stderr
    tag = _push(tmp_path / "work-0", "HEAD~1:refs/tags/preprocessor/docs/v1.0.0")
    assert tag.returncode != 0 and "not a shelf version" in tag.stderr


def test_readers_skip_aliases_and_reserved_names_pushed_around_the_hook(shelf, tmp_path):
    own = shelf.publish(_prep(), "docs")
    archive = pack(_prep("pushed").save(tmp_path / "pushed"), tmp_path / "pushed.tar.gz").path
    work = tmp_path / "work"
    for version in ALIASES:
        _add_version(shelf, work, archive, "docs", version)
    for name in RESERVED:
        _add_version(shelf, work, archive, name, "1.0.0")
    _without_hook(shelf, work)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert [(e.identifier, e.version) for e in shelf.list()] == [("docs", "1.0.0")]  # no row that cannot be fetched
        assert shelf.fetch("docs").name == own.sha256  # not the pusher's v1.0.0
        assert shelf.publish(_prep("next"), "docs").version == "1.0.1"  # not 01.0.1
    skipped = "\n".join(str(w.message) for w in caught)
    assert "'v1.0.0' is not a shelf version" in skipped and "is reserved for the starter components" in skipped
    assert shelf.starter.list()[0].identifier.startswith("starter")  # the real starter shelf still reads
    for version in ALIASES:
        with pytest.raises(CatalogError, match="is not a shelf version"):
            shelf.publish(_prep("alias"), "docs", version=version)
