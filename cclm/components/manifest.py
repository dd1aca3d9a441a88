"""The manifest of a component (`manifest.json`): what it is, made of what, and which classes may load it.

A manifest names its `kind`; only the kinds registered here can be loaded,
each by this library's own class, from plain-JSON config: nothing in a
component directory is ever executed. `fingerprint` hashes a config and
weights, so a tower can tell whether it meets the embedder it was trained on.

Example:
>>> fingerprint({"a": 1}) == fingerprint({"a": 1}) != fingerprint({"a": 2})
True
>>> "embedder" in registered_kinds()
True
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import importlib
import importlib.metadata
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cclm.components.config_limits import check_config_sizes, check_manifest_size
from cclm.components.files import FORMAT_VERSION, MANIFEST_NAME
from cclm.errors import ComponentError
from cclm.version import __version__

# The kinds this library can load, and the module defining each. A fixed
# allow-list: a manifest can only ever pick one of these, never name code.
COMPONENT_MODULES = {
    "preprocessor": "cclm.preprocessing.preprocessor",
    "embedder": "cclm.models.embedder",
    "masked_language_pretrainer": "cclm.pretraining.masked_language_pretrainer",
    "causal_language_pretrainer": "cclm.pretraining.causal_language_pretrainer",
    "categorical_pretrainer": "cclm.pretraining.categorical_pretrainer",
    "contrastive_pretrainer": "cclm.pretraining.contrastive_pretrainer",
    "distillation_pretrainer": "cclm.pretraining.distillation_pretrainer",
    "meaning_pretrainer": "cclm.pretraining.meaning_pretrainer",
    "composed_model": "cclm.models.composed_model",
    "text_classifier": "cclm.classification.text_classifier",
}
_REGISTRY: dict[str, type] = {}


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


TENSORFLOW_DISTRIBUTIONS = ("tensorflow", "tensorflow-cpu", "tensorflow-macos", "tensorflow-intel", "tf-nightly")


def installed_version(module: str, distributions: Sequence[str]) -> str | None:
    """`module.__version__` if it is imported, else its installed version read without importing it.

    A preprocessor's manifest records the TensorFlow version without paying
    for a TensorFlow import (tens of seconds on a busy machine).

    >>> installed_version("numpy", ("numpy",)) == np.__version__
    True
    """
    if module in sys.modules:
        return getattr(sys.modules[module], "__version__", None)
    for distribution in distributions:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            return importlib.metadata.version(distribution)
    return None


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
    manifest = {
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "name": name,
        "library": "cclm",
        "library_version": __version__,
        "keras_version": installed_version("keras", ("keras", "keras-nightly")),
        "tensorflow_version": installed_version("tensorflow", TENSORFLOW_DISTRIBUTIONS),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "config": config,
        "inputs": inputs,
        "outputs": outputs,
        "card": card or {},
        **extra,
    }
    return to_json_value(manifest)


def read_manifest(directory: str | os.PathLike, kind: str | None = None) -> dict:
    """Reads and checks `manifest.json`.

    Raises:
        ComponentError: the directory or manifest is missing or damaged, the
            format is newer than this library, or the kind is not one of ours
            (or not `kind` when given), or a size in its config is over
            `config_limits.SIZE_LIMITS`.
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
    check_manifest_size(manifest_path)  # before parsing: JSON takes many times its size in memory
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ComponentError(
            f"{manifest_path} is damaged or truncated ({error}); save the component again "
            "or fetch a fresh copy."
        ) from None
    except RecursionError:
        raise ComponentError(
            f"{manifest_path} nests its JSON too deeply to be a cclm manifest; save the component again "
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
    check_config_sizes(manifest.get("config"), path)  # before any class is imported or layer built
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
