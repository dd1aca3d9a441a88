"""Catalog entries: validation, versions, and reading a catalog tree."""

import pytest

from cclm.shelf.catalog import CatalogEntry, CatalogError, check_name, next_version, read_catalog, version_key


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


def test_read_catalog_sorts_and_checks_locations(tmp_path):
    for version in ("1.0.10", "1.0.2"):
        entry = _entry(version=version)
        path = tmp_path / entry.entry_path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(entry.to_json())
    assert [e.version for e in read_catalog(tmp_path)] == ["1.0.2", "1.0.10"]
    misplaced = tmp_path / "catalog" / "embedder" / "docs-en" / "3.0.json"
    misplaced.write_text(_entry(version="1.0.2").to_json())
    with pytest.raises(CatalogError, match="belongs at"):
        read_catalog(tmp_path)
