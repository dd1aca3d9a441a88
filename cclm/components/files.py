"""Every file name in a component directory, and the atomic writes that put files there.

A component directory holds `MANIFEST_NAME` (what it is), `CARD_NAME` (its
model card) and its payload: Keras weights under the `*_WEIGHTS` names,
and the directories of the components it is made of under the `*_DIR`
names. Writes go to a temporary name and are renamed into place, so a
failure never leaves a half-written file or directory.

Example:
>>> import pathlib, tempfile
>>> path = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
>>> with atomic_file(path) as stream:
...     _ = stream.write(b"hello")
>>> path.read_bytes(), len(file_sha256(path))
(b'hello', 64)
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from cclm.errors import ComponentError

FORMAT_VERSION = 1
"""The newest component format this library writes and reads."""
MANIFEST_NAME = "manifest.json"
CARD_NAME = "README.md"
WEIGHTS_NAME = "model.weights.h5"
TOWER_WEIGHTS = "tower.weights.h5"
HEAD_WEIGHTS = "head.weights.h5"
NGRAM_WEIGHTS = "ngram_head.weights.h5"
SUBWORD_FILE = "subword_tokenizer.json"
EMBEDDER_DIR = "embedder"
PREPROCESSOR_DIR = "preprocessor"
COMPOSED_DIR = "composed"
TOWERS_DIR = "towers"
LEGACY_CONFIG_NAME = "cclm_config.json"
"""What the original cclm called a component's config file; `load` accepts a path to it."""

_CHUNK = 1 << 20


def tower_weights_name(index: int) -> str:
    """The weights file of a composition's `index`-th tower, inside `TOWERS_DIR`."""
    return f"{index}.weights.h5"


def file_sha256(path: str | os.PathLike) -> str:
    """The sha256 (hex) of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def follow_umask(path: str | os.PathLike) -> None:
    """Gives `path` the mode a plain `open` or `mkdir` would have given it (`tempfile` makes 0600 / 0700)."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, (0o777 if os.path.isdir(path) else 0o666) & ~mask)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """A binary stream to a temporary file beside `path`, renamed onto `path` when the block succeeds.

    On any failure the temporary file is removed and `path` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        follow_umask(temporary)
        with os.fdopen(handle, "wb") as stream:
            yield stream
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def check_component_target(target: str | os.PathLike, overwrite: bool = True) -> None:
    """Raises FileExistsError where saving a component to `target` would be refused (what `save` checks).

    `target` may be new, an empty directory, or (with `overwrite`) a
    directory holding a component; a file or any other directory is refused.
    """
    target = Path(target)
    if not target.exists():
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


def check_writable(path: str | os.PathLike) -> None:
    """Raises PermissionError (or NotADirectoryError) where `path`'s nearest existing parent cannot take new entries."""
    parent = Path(path).absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise NotADirectoryError(f"{path}: {parent} is a file, so nothing can be written under it.")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PermissionError(f"{path}: {parent} is not writable.")


def _replace_directory(source: Path, target: Path, overwrite: bool) -> None:
    if not target.exists():
        os.rename(source, target)
        return
    check_component_target(target, overwrite)
    backup = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
    os.rename(target, backup)
    try:
        os.rename(source, target)
    except BaseException:
        os.rename(backup, target)
        raise
    shutil.rmtree(backup, ignore_errors=True)


def write_directory(
    directory: str | os.PathLike, write: Callable[[Path], None], overwrite: bool = True
) -> Path:
    """Runs `write(tmp)` on a temporary sibling of `directory`, then renames it into place.

    On any failure the temporary directory is removed and an existing
    component at `directory` is left as it was. Returns the absolute path.
    """
    target = Path(directory).expanduser().absolute()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    follow_umask(staging)
    try:
        write(staging)
        _replace_directory(staging, target, overwrite)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _weight_shapes(path: Path) -> dict[str, tuple]:
    """The shape of every variable in a Keras `.weights.h5` file, by its path (optimizer and metric state left out)."""
    import h5py

    shapes: dict[str, tuple] = {}

    def visit(name: str, item: Any) -> None:
        if isinstance(item, h5py.Dataset) and name.split("/", 1)[0] not in ("optimizer", "metrics"):
            shapes[name] = tuple(item.shape)

    with h5py.File(path, "r") as weights:
        weights.visititems(visit)
    return shapes


def load_weights_checked(model: Any, path: Path) -> None:
    """`model.load_weights(path)` (a Keras model), with a clear error for missing or damaged files.

    Keras loads a file holding more layers than the model (weights of a
    2-block embedder under a 1-block manifest) without a word, so the file's
    variables are compared with those the model built from the manifest saves.
    """
    if not path.is_file():
        raise ComponentError(f"{path} is missing; the component directory is incomplete.")
    try:
        model.load_weights(path)
        with tempfile.TemporaryDirectory(prefix="cclm-weights-") as scratch:
            model.save_weights(Path(scratch, path.name))
            expected, found = _weight_shapes(Path(scratch, path.name)), _weight_shapes(path)
    except (OSError, ValueError, KeyError) as error:
        raise ComponentError(
            f"{path} could not be read as Keras weights ({type(error).__name__}: {error}). "
            "The file is damaged or truncated; save or fetch the component again."
        ) from None
    if found != expected:
        differ = sorted(name for name in found.keys() | expected.keys() if found.get(name) != expected.get(name))
        raise ComponentError(
            f"{path} does not fit the model its manifest describes: {len(found)} variables, the model has "
            f"{len(expected)}; they differ at {', '.join(differ[:3])}{' and more' if len(differ) > 3 else ''}. "
            "The manifest and weights do not belong together; save or fetch the component again."
        )
