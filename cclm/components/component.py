"""`Component`: the one base of everything that saves to a directory and loads back from it alone.

A component supplies only what is its own (keras-hub's Backbone / Task
bases are the model): `get_config` (plain constructor arguments),
`_interface` (the shapes it takes and gives), `_save_payload` (its files)
and, when plain `from_config` is not enough, `_from_saved`. `save`, `load`,
`from_shelf`, the manifest and the model card are written once, here.

Example:
>>> import tempfile
>>> from cclm.preprocessing import Preprocessor
>>> prep = Preprocessor().fit(["hello"])
>>> isinstance(prep, Component)
True
>>> path = prep.save(tempfile.mkdtemp() + "/prep")
>>> Preprocessor.load(path).characters == prep.characters
True
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, ClassVar

from cclm.components.card import render_card
from cclm.components.compressed_weights import (
    check_weights_compression,
    compress_weight_files,
)
from cclm.components.files import CARD_NAME, MANIFEST_NAME, write_directory
from cclm.components.hub import push_to_hub
from cclm.components.loading import SHELF_REFERENCE_PREFIX, component_path
from cclm.components.manifest import build_manifest, built_from, read_manifest


class Component:
    """Save / load / `from_shelf` for every cclm component; subclasses supply the hooks below."""

    component_kind: ClassVar[str]
    weights_compression: str | None = None
    """"gzip": `save` writes every weights file compressed (`cclm.components.compressed_weights`), as a
    pruned component does; the manifest records it, so `load` gives a component that saves so again."""

    # ----------------------------------------------------------- the hooks
    def _interface(self) -> tuple[dict, dict]:
        """(inputs, outputs): name -> {"dtype", "shape"}, for the manifest and the card."""
        raise NotImplementedError

    def _manifest_fields(self) -> dict[str, Any]:
        """Kind-specific manifest fields (fingerprints, parameter counts)."""
        return {}

    def _save_payload(self, directory: Path) -> None:
        """Writes the component's own files (weights, nested components) into `directory`."""

    def _writes_files(self) -> bool:
        """False where another process writes the files (a non-chief worker of a cluster)."""
        return True

    def _keras_file_model(self) -> Any:
        """The Keras model a `.keras` path saves, or None (the default: no such model)."""
        return None

    @classmethod
    def _from_saved(cls, directory: Path, manifest: dict) -> "Component":
        """Builds the component from its saved config and payload; the default is `from_config`."""
        with built_from(directory):
            return cls.from_config(manifest["config"])  # type: ignore[attr-defined]

    # ------------------------------------------------------ saving & loading
    def manifest(self) -> dict:
        """The manifest `save` writes: kind, name, versions, config, interface, card."""
        inputs, outputs = self._interface()
        return build_manifest(
            kind=self.component_kind,
            name=self.name,  # type: ignore[attr-defined]
            config=self.get_config(),  # type: ignore[attr-defined]
            inputs=inputs,
            outputs=outputs,
            card=getattr(self, "card", None),
            **self._manifest_fields(),
            **({"weights_compression": check_weights_compression(self.weights_compression)}
               if self.weights_compression else {}),
        )

    def save(self, directory: str | os.PathLike, overwrite: bool = True) -> Path:
        """Saves to a component directory, atomically; returns its absolute path.

        On any failure nothing is left half-written and an existing component
        at `directory` stays as it was. Under a multi-worker strategy every
        worker calls `save`: the chief writes `directory`, the others a
        temporary directory they delete.

        A path ending in `.keras` (or `.h5`) writes Keras' own file of the
        component's Keras model instead, where it has one (`_keras_file_model`),
        for `keras.saving.load_model` after `import cclm`.

        Raises:
            ValueError: a `.keras` / `.h5` path for a component without a Keras model.
        """
        if Path(directory).suffix in {".keras", ".h5"}:
            model = self._keras_file_model()
            if model is None:
                raise ValueError(
                    f"{os.fspath(directory)!r} names a Keras file, but a {self.component_kind} has no Keras model "
                    "to write there; give a directory name: save writes a component directory that load() reads."
                )
            model.save(directory, overwrite=overwrite)
            return Path(directory).expanduser().absolute()
        manifest = self.manifest()

        def write(path: Path) -> None:
            self._save_payload(path)
            if manifest.get("weights_compression"):
                compress_weight_files(path)
            text = json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=True)
            (path / MANIFEST_NAME).write_text(text + "\n", encoding="utf-8")
            (path / CARD_NAME).write_text(render_card(manifest), encoding="utf-8")

        if self._writes_files():
            return write_directory(directory, write, overwrite)
        scratch = Path(tempfile.mkdtemp(prefix="cclm-worker-save-"))
        try:
            write_directory(scratch / "component", write, overwrite)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return Path(directory).expanduser().absolute()

    @classmethod
    def load(cls, directory: str | os.PathLike) -> Any:
        """Loads a component saved by `save` from its directory, a file in it, or a shelf reference."""
        path = component_path(directory)
        manifest = read_manifest(path, kind=cls.component_kind)
        component = cls._from_saved(path, manifest)
        component.card = manifest.get("card", {})
        if manifest.get("weights_compression"):
            component.weights_compression = check_weights_compression(manifest["weights_compression"])
        return component

    def push_to_hub(self, repo_id: str, folder: str | None = None, tag: str | None = None, **options: Any) -> str:
        """Saves the component and uploads it to a Hugging Face Hub model repository; returns its `hf://` reference.

        `cclm.components.hub.push_to_hub` does the upload (`options`: `private`,
        `token`, `endpoint`, `commit_message`); `load("hf://repo_id[/folder]@tag")`
        reads it back.
        """
        with tempfile.TemporaryDirectory(prefix="cclm-push-") as scratch:
            return push_to_hub(self.save(Path(scratch) / "component"), repo_id, folder, tag, **options)

    @classmethod
    def from_shelf(cls, identifier: str, version: str | None = None, shelf: Any = None) -> Any:
        """`load` on a version fetched from `shelf` (default: `cclm.shelf.Shelf()`); newest when `version` is None."""
        if shelf is not None:
            return cls.load(shelf.fetch(identifier, cls.component_kind, version=version))
        reference = f"{cls.component_kind}/{identifier}" + (f"@{version}" if version else "")
        return cls.load(SHELF_REFERENCE_PREFIX + reference)
