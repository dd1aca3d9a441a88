"""Where a component is: a directory, a file inside one, or a reference such as `"shelf:embedder/docs@1.0.0"`.

References are resolved by schemes: `"hf://owner/repo[/folder][@revision]"`
fetches from the Hugging Face Hub (`cclm.components.hub`), and `cclm`
registers `"shelf:"` (the default shelf, `$CCLM_SHELF`) at import time, so
this layer never imports the shelf. `load_component` loads whatever kind a directory
holds, through the class registered for it.

Example:
>>> import tempfile
>>> from cclm.preprocessing import Preprocessor
>>> path = Preprocessor().fit(["hello"]).save(tempfile.mkdtemp() + "/prep")
>>> type(load_component(path)).__name__
'Preprocessor'
>>> component_path(path / "cclm_config.json") == path
True
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cclm.components.files import MANIFEST_NAME
from cclm.components.hub import HUB_PREFIX, hub_path
from cclm.components.manifest import component_class, read_manifest

SHELF_REFERENCE_PREFIX = "shelf:"
_SCHEMES: dict[str, Callable[[str], Path]] = {HUB_PREFIX: hub_path}  # "hf://owner/repo[/folder][@revision]"


def register_reference_scheme(prefix: str, resolve: Callable[[str], Path]) -> None:
    """Makes strings starting with `prefix` resolve to a directory with `resolve(rest_of_string)`."""
    _SCHEMES[prefix] = resolve


def component_path(source: str | os.PathLike) -> Path:
    """The directory of a component: `source` itself, its parent when `source` names a file in
    a component directory (the original cclm's `.../cclm_config.json`), or the fetched copy of a
    reference such as `"shelf:[item_type/]identifier[@version]"` (newest version when none is given)
    or `"hf://owner/repo[/folder][@revision]"` (`cclm.components.hub`).
    Every `load` and `load_component` accept all three.
    """
    if isinstance(source, str):
        for prefix, resolve in _SCHEMES.items():
            if source.startswith(prefix):
                return resolve(source[len(prefix):])
        if source.startswith(SHELF_REFERENCE_PREFIX):
            raise ValueError(f"{source!r} is a shelf reference, but no shelf is registered; import cclm first.")
    path = Path(source)
    if not path.is_dir() and (path.parent / MANIFEST_NAME).is_file():
        return path.parent
    return path


def split_shelf_reference(reference: str) -> tuple[str | None, str, str | None]:
    """`"[item_type/]identifier[@version]"` -> (item_type or None, identifier, version or None)."""
    name, _, version = reference.partition("@")
    item_type, _, identifier = name.rpartition("/")
    if not identifier:
        raise ValueError(
            f"{SHELF_REFERENCE_PREFIX}{reference!r} names no component; write e.g. 'shelf:embedder/docs-en@1.0.0'."
        )
    return item_type or None, identifier, version or None


def load_component(directory: str | os.PathLike) -> Any:
    """Loads any registered component from its directory (or shelf reference), whatever its kind."""
    directory = component_path(directory)
    manifest = read_manifest(directory)
    return component_class(manifest["kind"]).load(directory)
