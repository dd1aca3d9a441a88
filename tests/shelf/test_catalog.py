"""Catalog entries: validation, versions, and reading a catalog tree."""

import os

import pytest

from cclm.shelf.catalog import (
    CatalogEntry, CatalogError, check_name, next_version, read_catalog, same_version, version_key,
)


def _entry(**overrides):
    fields = dict(identifier="docs-en", item_type="embedder", version="1.0.0", sha256="a" * 64, size=3,
                  created="2026-11-22T00:00:00+00:00", library_version="0.1.0")
    return CatalogEntry(**{**fields, **overrides})


@pytest.mark.parametrize("bad", ["", "../x", "a/b", "-x", "a..b", "x.lock", "é", "a b", "x" * 101, None, 3])
def test_names_that_could_escape_or_break_tags_are_refused(bad):
    with pytest.raises(CatalogError, match="not valid"):
        check_name(bad, "identifier")


def test_versions_sort_naturally_and_the_next_one_bumps_the_last_number():
    assert sorted(["1.0.10", "1.0.9", "2.0", "1.0.0"], key=version_key) == ["1.0.0", "1.0.9", "1.0.10", "2.0"]
    # PEP 440 (packaging.version): a release candidate comes before its release.
    assert sorted(["1.0.0", "1.0.0-rc1", "0.9"], key=version_key) == ["0.9", "1.0.0-rc1", "1.0.0"]
    assert sorted(["2.0", "stable"], key=version_key) == ["stable", "2.0"]
    assert same_version("01.0.0", "1.0.0") and same_version("1.0", "1.0.0") and not same_version("1.0.1", "1.0.0")
    assert next_version([]) == "1.0.0"
    assert next_version(["1.0.9", "1.0.10"]) == "1.0.11"
    assert next_version(["v3-beta"]) == "v4-beta"
    assert next_version(["stable"]) == "stable.1"


def test_entries_round_trip_and_reject_bad_fields():
    entry = _entry()
    assert CatalogEntry.from_json(entry.to_json()) == entry
    with pytest.raises(CatalogError, match="sha256"):
        _entry(sha256="xyz")
    with pytest.raises(CatalogError, match="catalog format 99"):
        CatalogEntry.from_json(entry.to_json().replace('"format_version": 1', '"format_version": 99'))
    with pytest.raises(CatalogError, match="lacks"):
        CatalogEntry.from_json('{"format_version": 1, "identifier": "x"}')


def _write(root, entry, path=None, text=None):
    path = root / (path or entry.entry_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(entry.to_json() if text is None else text)
    return path


def test_read_catalog_sorts_and_skips_what_is_not_a_valid_entry(tmp_path):
    for version in ("1.0.10", "1.0.2"):
        _write(tmp_path, _entry(version=version))
    folder = tmp_path / "catalog" / "embedder" / "docs-en"
    # What one push could add (a host without the hook): each would once have failed every read.
    _write(tmp_path, _entry(version="1.0.2"), path="catalog/embedder/docs-en/3.0.0.json")  # the wrong path
    _write(tmp_path, _entry(version="4.0.0"), text="not json")
    _write(tmp_path, _entry(version="5.0.0"), text=_entry(version="5.0.0").to_json().replace('"format_version": 1', '"format_version": 9'))
    (folder / "6.0.0.json").mkdir()
    os.symlink("/dev/zero", folder / "7.0.0.json")
    _write(tmp_path, _entry(version="8.0.0"), text=" " * 100_000)
    # A second spelling of a version, and a reserved starter name: publish never writes them.
    _write(tmp_path, _entry(version="1.0.10"), path="catalog/embedder/docs-en/v1.0.10.json",
           text=_entry(version="1.0.10").to_json().replace('"1.0.10"', '"v1.0.10"'))
    _write(tmp_path, _entry(identifier="starter-embedder"))
    with pytest.warns(UserWarning) as caught:
        entries = read_catalog(tmp_path)
    assert [e.version for e in entries] == ["1.0.2", "1.0.10"]
    messages = "\n".join(str(w.message) for w in caught)
    for reason in ("belongs at", "not valid JSON", "catalog format 9", "6.0.0.json is not a regular file",
                   "7.0.0.json is not a regular file", "more than an entry may be", "'v1.0.10' is not a shelf version",
                   "'starter-embedder' is reserved"):
        assert reason in messages
