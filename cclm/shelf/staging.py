"""What `Shelf.publish` puts into its clone: the component's directory, its version, archive and entry.

Nothing here runs git; `cclm.shelf.git.commit_and_push` commits what these
functions staged.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cclm.components import CARD_NAME
from cclm.errors import PublishError, VersionExistsError
from cclm.shelf.archive import pack
from cclm.shelf.cache import write_text_atomically
from cclm.shelf.catalog import CatalogEntry, next_version, read_catalog, same_version
from cclm.shelf.names import is_reserved, version_problem
from cclm.version import __version__


def component_directory(component: Any, scratch: Path) -> Path:
    """The saved directory of `component`: the path itself, or the object saved under `scratch`."""
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


def stage_version(
    root: Path, directory: Path, manifest: dict, identifier: str, version: str | None,
    description: str | None, tagged: list[str] = (), max_bytes: int | None = None,
) -> CatalogEntry:
    """Chooses the version, packs the archive into the clone at `root` and writes its entry and card.

    Args:
        root: the shelf clone's working tree.
        directory: the saved component; `manifest` is its manifest.
        identifier: its name on the shelf.
        version: the version asked for; default: the next one after every
            version in the catalog and in `tagged`.
        description: the catalog's line; default from the model card.
        tagged: versions that have a tag on the remote but no catalog entry.
        max_bytes: the shelf's unpacked-size limit (`pack` refuses what fetch would).

    Raises:
        VersionExistsError: `version` is published or tagged already.
    """
    kind = manifest["kind"]
    # The starter shelf's writer stages reserved names; a user's publish of one is refused before this.
    entries = read_catalog(root, starter=is_reserved(identifier))
    existing = [e.version for e in entries if e.identifier == identifier and e.item_type == kind]
    existing += [v for v in tagged if v not in existing and not version_problem(kind, identifier, v)]
    version = version or next_version(existing)
    clash = next((published for published in existing if same_version(version, published)), None)
    if clash is not None:
        raise VersionExistsError(
            f"{kind}/{identifier} version {version}"
            + (f" (the same version as {clash})" if clash != version else "")
            + " is already published (or tagged), and versions "
            f"are immutable. Publish it as a new version, e.g. version={next_version(existing)!r}."
        )
    info = pack(directory, root / "components" / kind / identifier / f"{version}.tar.gz", max_bytes=max_bytes)
    entry = CatalogEntry(
        identifier=identifier, item_type=kind, version=version, sha256=info.sha256, size=info.size,
        created=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        library_version=__version__,
        description=description or _describe(manifest),
        name=str(manifest.get("name", "")),
    )
    write_text_atomically(root / entry.entry_path, entry.to_json())
    card = Path(directory, CARD_NAME)
    write_text_atomically(root / entry.card_path, card.read_text(encoding="utf-8") if card.is_file() else "")
    return entry


def _describe(manifest: dict) -> str:
    card = manifest.get("card") or {}
    if card.get("description"):
        return str(card["description"]).splitlines()[0]
    trained = card.get("trained_on")
    return f"{manifest['kind']} {manifest.get('name', '')!r}" + (f", trained on {trained}" if trained else "")


_NO_SPACE = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS}


@contextlib.contextmanager
def space_errors_as_publish_errors(identifier: str, cache_dir: Path) -> Iterator[None]:
    """A full disk, a quota or a file-size limit while publishing: one line that says what to do, not `OSError`."""
    try:
        yield
    except OSError as error:
        if error.errno not in _NO_SPACE:
            raise
        raise PublishError(
            f"Publishing {identifier} failed, and nothing was published: a file could not be written under "
            f"{error.filename or cache_dir} ({error.strerror}). Free some space there, or publish with another "
            "cache_dir (--cache-dir, $CCLM_CACHE)."
        ) from None
