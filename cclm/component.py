"""The component format: one directory per component, loadable from it alone.

A component directory holds:

- `manifest.json`: kind, name, library / Keras / TensorFlow versions, the
  constructor config, the shapes it takes and gives, its fingerprint, and for
  a tower the fingerprint of the embedder it was trained on;
- the payload: Keras weights (`model.weights.h5`) or other plain files
  (JSON vocabularies, a `tokenizers` JSON file), never pickles;
- `README.md`: a model card saying what it was trained on, for how long, and
  its measured metrics.

Writes go to a temporary sibling directory that is renamed into place, so a
failure never leaves a half-written component. Loading reads the manifest,
checks that its kind is one of this library's registered classes, and builds
that class from the plain-JSON config: nothing in the directory is executed.

Example:
>>> import tempfile
>>> from cclm import Preprocessor
>>> path = Preprocessor().fit(["hello"]).save(tempfile.mkdtemp() + "/prep")
>>> read_manifest(path)["kind"]
'preprocessor'
>>> type(load_component(path)).__name__
'Preprocessor'
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import importlib
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from cclm.version import __version__

FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
WEIGHTS_NAME = "model.weights.h5"
CARD_NAME = "README.md"

# The kinds this library can load, and the module defining each. A fixed
# allow-list: a manifest can only ever pick one of these, never name code.
COMPONENT_MODULES = {
    "preprocessor": "cclm.preprocessor",
    "embedder": "cclm.embedder",
    "masked_language_pretrainer": "cclm.masked_language_pretrainer",
    "categorical_pretrainer": "cclm.categorical_pretrainer",
    "distillation_pretrainer": "cclm.distillation_pretrainer",
    "composed_model": "cclm.composed_model",
    "text_classifier": "cclm.text_classifier",
}
_REGISTRY: dict[str, type] = {}


class ComponentError(ValueError):
    """A component directory is missing, damaged, or not what was asked for."""


def register_component(kind: str) -> Callable[[type], type]:
    """Class decorator: `kind` names the class in manifests; only registered
    classes can ever be loaded from a directory."""

    if kind not in COMPONENT_MODULES:
        raise ValueError(f"Component kind {kind!r} must be listed in COMPONENT_MODULES.")

    def decorate(cls: type) -> type:
        cls.component_kind = kind
        _REGISTRY[kind] = cls
        return cls

    return decorate


def registered_kinds() -> list[str]:
    """The component kinds this library can load."""
    return sorted(COMPONENT_MODULES)


def component_class(kind: str) -> type:
    """The class for a known `kind`, importing its module (ours) on first use."""
    importlib.import_module(COMPONENT_MODULES[kind])
    return _REGISTRY[kind]


def to_json_value(value: Any) -> Any:
    """Converts NumPy scalars/arrays and tuples to plain JSON values, recursively."""
    if isinstance(value, dict):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_value(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_json_value(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value


def fingerprint(config: dict, weights: Iterable[np.ndarray] = ()) -> str:
    """sha256 over a canonical JSON config and every weight's shape, dtype and bytes.

    Two components share a fingerprint only when they have the same config and
    bit-identical weights; one training step changes it.
    """
    digest = hashlib.sha256()
    digest.update(json.dumps(to_json_value(config), sort_keys=True).encode("utf-8"))
    for array in weights:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def build_manifest(
    kind: str,
    name: str,
    config: dict,
    inputs: dict,
    outputs: dict,
    card: dict | None = None,
    **extra: Any,
) -> dict:
    """The manifest dict for a component; `extra` holds kind-specific fields."""
    import keras
    import tensorflow as tf

    manifest = {
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "name": name,
        "library": "cclm",
        "library_version": __version__,
        "keras_version": keras.__version__,
        "tensorflow_version": tf.__version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "config": config,
        "inputs": inputs,
        "outputs": outputs,
        "card": card or {},
        **extra,
    }
    return to_json_value(manifest)


def _replace_directory(source: Path, target: Path, overwrite: bool) -> None:
    if not target.exists():
        os.rename(source, target)
        return
    if not target.is_dir():
        raise FileExistsError(f"{target} exists and is not a directory.")
    if any(target.iterdir()) and not (target / MANIFEST_NAME).is_file():
        raise FileExistsError(
            f"{target} is a non-empty directory that is not a cclm component; "
            "refusing to replace it. Choose a new or empty directory."
        )
    if not overwrite and (target / MANIFEST_NAME).is_file():
        raise FileExistsError(f"{target} already holds a component; pass overwrite=True.")
    backup = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
    os.rename(target, backup)
    try:
        os.rename(source, target)
    except BaseException:
        os.rename(backup, target)
        raise
    shutil.rmtree(backup, ignore_errors=True)


def write_component(
    directory: str | os.PathLike,
    manifest: dict,
    write_payload: Callable[[Path], None],
    overwrite: bool = True,
) -> Path:
    """Writes a component directory atomically and returns its path.

    `write_payload(tmp)` writes the payload files into a temporary directory;
    the manifest and model card are added, then the directory is renamed into
    place. On any failure the temporary directory is removed and an existing
    component at `directory` is left as it was.
    """
    target = Path(directory).expanduser().absolute()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        write_payload(staging)
        text = json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=True)
        (staging / MANIFEST_NAME).write_text(text + "\n", encoding="utf-8")
        (staging / CARD_NAME).write_text(render_card(manifest), encoding="utf-8")
        _replace_directory(staging, target, overwrite)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def read_manifest(directory: str | os.PathLike, kind: str | None = None) -> dict:
    """Reads and checks `manifest.json`.

    Raises:
        ComponentError: the directory or manifest is missing or damaged, the
            format is newer than this library, or the kind is not one of ours
            (or not `kind` when given).
    """
    path = Path(directory)
    manifest_path = path / MANIFEST_NAME
    if not path.is_dir():
        raise ComponentError(f"{path} is not a directory; expected a saved cclm component.")
    if not manifest_path.is_file():
        raise ComponentError(
            f"{path} is not a cclm component: it has no {MANIFEST_NAME}. "
            "Save components with .save(directory)."
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ComponentError(
            f"{manifest_path} is damaged or truncated ({error}); save the component again "
            "or fetch a fresh copy."
        ) from None
    if not isinstance(manifest, dict) or "kind" not in manifest:
        raise ComponentError(f"{manifest_path} is not a cclm manifest (no 'kind').")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ComponentError(
            f"{path} uses component format {version!r}; this cclm {__version__} reads "
            f"format {FORMAT_VERSION} and older. Upgrade cclm to load it."
        )
    found = manifest["kind"]
    if found not in COMPONENT_MODULES:
        raise ComponentError(
            f"{path} is a {found!r} component, which this library does not know; "
            f"known kinds: {registered_kinds()}. Nothing from it was loaded."
        )
    if kind is not None and found != kind:
        raise ComponentError(
            f"{path} holds a {found!r} component, not a {kind!r}; "
            f"load it with cclm.load_component(path) or the {found!r} class."
        )
    return manifest


@contextlib.contextmanager
def built_from(path: str | os.PathLike) -> Iterator[None]:
    """Turns a manifest config that does not fit its class into a `ComponentError` naming `path`.

    Configs are plain JSON passed as constructor arguments, so a key that is
    not an argument, or a value a constructor refuses, is all that can go wrong.
    """
    try:
        yield
    except ComponentError:
        raise
    except (TypeError, ValueError, KeyError) as error:
        raise ComponentError(
            f"{path}: its manifest's config does not fit this library's class ({type(error).__name__}: "
            f"{error}). The component is damaged or was not written by cclm; nothing in it was run."
        ) from None


SHELF_REFERENCE_PREFIX = "shelf:"


def component_path(source: str | os.PathLike) -> Path:
    """The directory of a component: `source` itself, or the fetched copy of a shelf reference.

    A shelf reference is a string `"shelf:[item_type/]identifier[@version]"`,
    e.g. `"shelf:embedder/docs-en@1.0.0"`; it is fetched from the default
    shelf (`cclm.shelf.Shelf()`, set by `$CCLM_SHELF`), newest version when
    none is given. Every `load` and `load_component` accept one.
    """
    if isinstance(source, str) and source.startswith(SHELF_REFERENCE_PREFIX):
        from cclm.shelf import Shelf

        reference = source[len(SHELF_REFERENCE_PREFIX):]
        name, _, version = reference.partition("@")
        item_type, _, identifier = name.rpartition("/")
        if not identifier:
            raise ValueError(f"{source!r} names no component; write e.g. 'shelf:embedder/docs-en@1.0.0'.")
        return Shelf().fetch(identifier, item_type or None, version=version or None)
    return Path(source)


def from_shelf(cls: type, identifier: str, version: str | None = None, shelf: Any = None) -> Any:
    """`cls.load` on a version fetched from `shelf` (default `Shelf()`); newest when `version` is None."""
    from cclm.shelf import Shelf

    return cls.load((shelf or Shelf()).fetch(identifier, cls.component_kind, version=version))


def load_component(directory: str | os.PathLike) -> Any:
    """Loads any registered component from its directory (or shelf reference), whatever its kind."""
    directory = component_path(directory)
    manifest = read_manifest(directory)
    return component_class(manifest["kind"]).load(directory)


def render_card(manifest: dict) -> str:
    """The model card (`README.md`) for a manifest: plain Markdown."""
    card = manifest.get("card", {})
    lines = [
        f"# {manifest['name']}",
        "",
        f"A cclm **{manifest['kind']}** component, written by cclm "
        f"{manifest['library_version']} (Keras {manifest['keras_version']}, "
        f"TensorFlow {manifest['tensorflow_version']}) on {manifest['created']}.",
        "",
    ]
    if card.get("description"):
        lines += [card["description"], ""]
    lines += ["## Trained on", "", card.get("trained_on") or "Not trained.", ""]
    if card.get("training"):
        lines += ["## Training", ""]
        lines += [f"- {key}: {value}" for key, value in card["training"].items()]
        lines.append("")
    lines += ["## Metrics", ""]
    if card.get("metrics"):
        lines += [f"- {key}: {value}" for key, value in card["metrics"].items()]
    else:
        lines.append("None measured.")
    lines += [
        "",
        "## Interface",
        "",
        f"- inputs: `{json.dumps(manifest['inputs'], ensure_ascii=False)}`",
        f"- outputs: `{json.dumps(manifest['outputs'], ensure_ascii=False)}`",
    ]
    if manifest.get("fingerprint"):
        lines.append(f"- fingerprint: `{manifest['fingerprint']}`")
    lines += ["", f"Load it with `cclm.load_component(path)`.", ""]
    return "\n".join(lines)
