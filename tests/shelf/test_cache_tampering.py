"""A local cache changed behind the library's back: records, links, edited files. Real git, git-lfs and files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from cclm import Preprocessor
from cclm.shelf.cache import file_record
from cclm.shelf.shelf import ChecksumMismatchError, Shelf
from cclm.shelf.starter import StarterShelf

pytestmark = pytest.mark.skipif(shutil.which("git-lfs") is None, reason="needs git-lfs (scripts/setup.sh installs it)")


def _prep(text):
    return Preprocessor().fit([text], progress=False)


@pytest.fixture
def two_versions(tmp_path):
    shelf = Shelf.init(tmp_path / "remote" / "shelf.git", cache_dir=tmp_path / "cache")
    old, new = shelf.publish(_prep("the first text"), "docs"), shelf.publish(_prep("a second, other text"), "docs")
    shelf.fetch("docs", version=old.version), shelf.fetch("docs", version=new.version)
    return shelf, old, new


def _record(shelf, entry):
    return next((shelf.cache_dir / "refs").glob(f"*/{entry.item_type}/{entry.identifier}/{entry.version}.json"))


def test_a_record_repointed_at_another_version_is_never_served(two_versions):
    shelf, old, new = two_versions
    record = _record(shelf, old)
    fields = json.loads(record.read_text())
    record.write_text(json.dumps({**fields, "sha256": new.sha256, "size": new.size}))
    with pytest.warns(UserWarning, match="the record was changed"), pytest.raises(ChecksumMismatchError):
        shelf.fetch("docs", version=old.version)
    shutil.copyfile(_record(shelf, new), record)  # the whole record of 1.0.1, moved to 1.0.0's place
    assert shelf.fetch("docs", version=old.version).name == old.sha256  # ignored: the shelf is asked
    assert json.loads(record.read_text())["sha256"] == old.sha256  # and the record written again
    assert shelf.fetch("docs", version=new.version).name == new.sha256


def test_a_cached_file_swapped_for_a_link_is_refused_and_replaced(two_versions, tmp_path):
    shelf, old, _ = two_versions
    directory = shelf.cache_dir / "objects" / old.sha256
    victim = directory / "manifest.json"
    shutil.copyfile(victim, tmp_path / "copy.json")
    victim.unlink()
    os.symlink(tmp_path / "copy.json", victim)  # the same bytes, through a link
    with pytest.warns(UserWarning, match="damaged"):
        fetched = shelf.fetch("docs", version=old.version)
    assert not (fetched / "manifest.json").is_symlink()
    assert Preprocessor.load(fetched).characters == _prep("the first text").characters


def test_a_cached_directory_swapped_for_a_link_is_refused_and_replaced(two_versions, tmp_path):
    shelf, old, _ = two_versions
    directory = shelf.cache_dir / "objects" / old.sha256
    shutil.move(directory, tmp_path / "elsewhere")
    os.symlink(tmp_path / "elsewhere", directory)  # the same files, but not in the cache
    with pytest.warns(UserWarning, match="damaged"):
        fetched = shelf.fetch("docs", version=old.version)
    assert fetched == directory and not directory.is_symlink() and (directory / "manifest.json").is_file()


def test_verify_catches_edited_files_under_a_rewritten_record(two_versions, tmp_path):
    shelf, old, new = two_versions
    directory = shelf.cache_dir / "objects" / new.sha256
    (directory / "README.md").write_text("an edited card")
    directory.with_name(directory.name + ".files").write_text(json.dumps(file_record(directory)))  # covers its tracks
    assert shelf.fetch("docs", version=new.version) == directory  # every load's check is fooled...
    starter = StarterShelf(cache_dir=shelf.cache_dir)
    cached = starter.fetch("starter", "preprocessor")
    (cached / "README.md").write_text("edited")
    cached.with_name(cached.name + ".files").write_text(json.dumps(file_record(cached)))
    result = subprocess.run([sys.executable, "-m", "cclm.cli", "shelf", "verify", "--remote", shelf.remote,
                             "--cache-dir", str(shelf.cache_dir)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr[-2000:]  # ...verify is not
    assert f"preprocessor/docs/{new.version}: the cached copy at {directory} differs from its archive in README.md" \
        in result.stdout
    assert f"starter preprocessor/starter/{starter.list('preprocessor')[0].version}: the cached copy" in result.stdout
    assert f"preprocessor/docs/{old.version}" not in result.stdout  # the untouched version is fine
    assert "2 problem(s)" in result.stdout
