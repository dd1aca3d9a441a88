"""The catalog of a shelf: one small JSON file per published component version.

A shelf repository holds, for each version, an archive (tracked by git-lfs)
and a catalog entry (plain git):

    components/<item_type>/<identifier>/<version>.tar.gz   the packed component
    catalog/<item_type>/<identifier>/<version>.json        its CatalogEntry
    catalog/<item_type>/<identifier>/<version>.md          its model card

One file per version means two people publishing different versions never
conflict, and immutability is simple to enforce: a push may only add files
under `components/` and `catalog/` (see `shelf/hooks/pre-receive`). The
format is documented for people in `shelf/CATALOG.md`.

Example:
>>> entry = CatalogEntry(identifier="docs-en", item_type="preprocessor", version="1.0.0",
...     sha256="0" * 64, size=10, created="2026-01-01T00:00:00+00:00", library_version="0.1.0")
>>> entry.archive_path, entry.tag
('components/preprocessor/docs-en/1.0.0.tar.gz', 'preprocessor/docs-en/1.0.0')
>>> CatalogEntry.from_json(entry.to_json()) == entry
True
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import stat
import warnings
from pathlib import Path

from packaging.version import InvalidVersion, Version

from cclm.errors import CatalogError, ShelfLookupError
from cclm.shelf.names import check_name, check_version, version_problem

CATALOG_FORMAT_VERSION = 1
CATALOG_DIR = "catalog"
COMPONENTS_DIR = "components"
ARCHIVE_SUFFIX = ".tar.gz"
MAX_ENTRY_BYTES = 64 * 1024
"""A catalog entry file larger than this is not read (entries are a few hundred bytes)."""

def version_key(version: str) -> tuple:
    """Sorts versions as PEP 440 does (`packaging.version`): "1.2.10" after "1.2.9", "1.0.0rc1" before "1.0.0".

    A version PEP 440 cannot read sorts before every one it can, among
    themselves by their text.
    """
    try:
        return (1, Version(version), "")
    except InvalidVersion:
        return (0, Version("0"), version)


def same_version(first: str, second: str) -> bool:
    """Whether two version strings name one version ("01.0.0" and "1.0.0" do)."""
    key = version_key(first)
    return key == version_key(second) if key[0] else first == second


def next_version(versions: list[str]) -> str:
    """"1.0.0" for a new identifier, else the newest version with its last number raised by one."""
    if not versions:
        return "1.0.0"
    newest = max(versions, key=version_key)
    numbers = list(re.finditer(r"\d+", newest))
    if not numbers:
        return f"{newest}.1"
    last = numbers[-1]
    return f"{newest[: last.start()]}{int(last.group()) + 1}{newest[last.end():]}"


@dataclasses.dataclass(frozen=True)
class CatalogEntry:
    """What the catalog records about one published version.

    Attributes:
        identifier: the component's name on the shelf (e.g. "docs-en").
        item_type: its kind ("preprocessor", "embedder", "masked_language_pretrainer", ...).
        version: immutable once published (e.g. "1.0.0").
        sha256: of the archive, as in its git-lfs pointer.
        size: of the archive in bytes.
        created: when it was published (ISO 8601, UTC).
        library_version: the cclm version that published it.
        description: the first line of its model card.
        name: the component's own name (from its manifest).
    """

    identifier: str
    item_type: str
    version: str
    sha256: str
    size: int
    created: str
    library_version: str
    description: str = ""
    name: str = ""

    def __post_init__(self) -> None:
        check_name(self.identifier, "identifier")
        check_name(self.item_type, "item_type")
        check_version(self.version)
        if not re.fullmatch(r"[0-9a-f]{64}", str(self.sha256)):
            raise CatalogError(f"sha256={self.sha256!r} is not a sha256 hex digest.")
        if not isinstance(self.size, int) or self.size < 0:
            raise CatalogError(f"size={self.size!r} is not a byte count.")

    @property
    def directory(self) -> str:
        return f"{self.item_type}/{self.identifier}"

    @property
    def archive_path(self) -> str:
        """The archive's path in the shelf repository (git-lfs)."""
        return f"{COMPONENTS_DIR}/{self.directory}/{self.version}{ARCHIVE_SUFFIX}"

    @property
    def entry_path(self) -> str:
        """This entry's path in the shelf repository."""
        return f"{CATALOG_DIR}/{self.directory}/{self.version}.json"

    @property
    def card_path(self) -> str:
        return f"{CATALOG_DIR}/{self.directory}/{self.version}.md"

    @property
    def tag(self) -> str:
        """The git tag marking the commit that published it."""
        return f"{self.item_type}/{self.identifier}/{self.version}"

    def to_json(self) -> str:
        fields = {"format_version": CATALOG_FORMAT_VERSION, **dataclasses.asdict(self)}
        return json.dumps(fields, indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str = "catalog entry") -> CatalogEntry:
        try:
            fields = json.loads(text)
        except json.JSONDecodeError as error:
            raise CatalogError(f"{source} is not valid JSON ({error}).") from None
        except RecursionError:
            raise CatalogError(f"{source} nests its JSON too deeply to be a catalog entry.") from None
        if not isinstance(fields, dict):
            raise CatalogError(f"{source} is not a JSON object.")
        version = fields.pop("format_version", None)
        if not isinstance(version, int) or version > CATALOG_FORMAT_VERSION:
            raise CatalogError(
                f"{source} uses catalog format {version!r}; this library reads format "
                f"{CATALOG_FORMAT_VERSION} and older. Upgrade cclm."
            )
        known = {field.name for field in dataclasses.fields(cls)}
        missing = {field.name for field in dataclasses.fields(cls) if field.default is dataclasses.MISSING} - set(fields)
        if missing:
            raise CatalogError(f"{source} lacks {sorted(missing)}.")
        return cls(**{key: value for key, value in fields.items() if key in known})


def asked_version(asked: str | None, identifier: str, item_type: str | None) -> tuple[str | None, str | None]:
    """The item type and version that `Shelf.fetch(version=...)` asks for: a version, the original cclm's
    "v0.2.1", or this component's git tag "item_type/identifier/version" (whose kind is then used).

    >>> asked_version("v0.2.1", "docs", None), asked_version("preprocessor/docs/1.0.0", "docs", None)
    ((None, '0.2.1'), ('preprocessor', '1.0.0'))

    Raises:
        ShelfLookupError: a tag that names another component.
    """
    if asked is not None and "/" in asked:
        parts = asked.split("/")
        named = dict(zip(("item_type", "identifier"), parts[:-1])) if len(parts) == 3 else None
        if named is None or named["identifier"] != identifier or named["item_type"] != (item_type or named["item_type"]):
            raise ShelfLookupError(f"tag={asked!r} names another component than identifier={identifier!r}"
                                   f"{f', item_type={item_type!r}' if item_type else ''}; give the version "
                                   "alone (e.g. '1.0.0') or the tag 'item_type/identifier/version' of this one.")
        item_type, asked = named["item_type"], parts[-1]
    if asked is not None and re.match(r"v\d", asked):
        asked = asked[1:]  # the original cclm's tags: "v0.2.1"
    return item_type, asked


def find_version(matching: list[CatalogEntry], version: str | None) -> CatalogEntry | None:
    """Of one identifier's entries, oldest first: the newest when `version` is None, else that version's, else None."""
    if version is None:
        return matching[-1]
    return next((entry for entry in matching if entry.version == version), None)


def read_entry(root: str | Path, path: Path) -> CatalogEntry:
    """The entry in the catalog file `path` of the shelf at `root`, checked: CatalogError when it is not a valid one."""
    try:
        info = os.lstat(path)
    except OSError as error:
        raise CatalogError(f"{path} cannot be read ({error.strerror}).") from None
    if not stat.S_ISREG(info.st_mode):
        raise CatalogError(f"{path} is not a regular file; catalog entries are small JSON files.")
    if info.st_size > MAX_ENTRY_BYTES:
        raise CatalogError(f"{path} is {info.st_size:,} bytes, more than an entry may be ({MAX_ENTRY_BYTES:,}).")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CatalogError(f"{path} cannot be read as UTF-8 text ({error}).") from None
    entry = CatalogEntry.from_json(text, source=str(path))
    if Path(root, entry.entry_path) != path:
        raise CatalogError(f"{path} describes {entry.tag}; it belongs at {entry.entry_path}.")
    return entry


def read_catalog(root: str | Path, starter: bool = False) -> list[CatalogEntry]:
    """Every valid entry under `root/catalog`, sorted by item type, identifier and version.

    An invalid entry (not JSON, an unknown format, the wrong path, not a
    regular file, too large, a version not in its canonical form, a
    reserved `starter` identifier unless `starter` is true) is skipped with
    a warning that names it, so one bad file cannot take the shelf down for
    everyone, nor shadow a version publish wrote (`cclm.shelf.names`).
    """
    entries = []
    for path in sorted(Path(root, CATALOG_DIR).glob("*/*/*.json")):
        try:
            entry = read_entry(root, path)
            problem = version_problem(entry.item_type, entry.identifier, entry.version, starter)
            if problem:
                raise CatalogError(f"{path}: {problem}")
            entries.append(entry)
        except CatalogError as error:
            warnings.warn(f"Skipping an invalid catalog entry: {error}", stacklevel=2)
    return sorted(entries, key=lambda e: (e.item_type, e.identifier, version_key(e.version)))
