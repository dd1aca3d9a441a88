"""Compressed weight files: Keras `.weights.h5` files rewritten with HDF5's gzip filter, read back by Keras as they are.

A pruned component (`cclm.compression.prune`) is mostly zeros; HDF5 stores
them as they are unless a dataset is compressed. `compress_weight_files`
rewrites every weights file under a component directory in HDF5's newest
format (smaller indexes) with the shuffle and gzip filters on every dataset
of a kilobyte or more, groups and attributes kept, so the
directory (and any archive of it) shrinks while `load_weights` reads the
very same values: h5py undoes the filters transparently. A component whose
`weights_compression` is `WEIGHTS_COMPRESSION` writes its weights so
(`Component.save`), and its manifest says so, so a loaded copy saves
compressed again.

Example:
>>> import pathlib, tempfile, numpy as np, keras
>>> model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(64)])
>>> model.set_weights([np.zeros((64, 64), "float32"), np.ones(64, "float32")])
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> model.save_weights(folder / "model.weights.h5")
>>> before = (folder / "model.weights.h5").stat().st_size
>>> compress_weight_files(folder)
1
>>> (folder / "model.weights.h5").stat().st_size < before / 2
True
>>> model.load_weights(folder / "model.weights.h5")
>>> float(model.get_weights()[1].sum())
64.0
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from cclm.components.files import follow_umask

WEIGHTS_COMPRESSION = "gzip"
"""The one compression `Component.weights_compression` may name: HDF5's gzip filter, after its shuffle filter."""
_LEVEL = 6  # beyond 6 gzip barely shrinks float weights further, and takes several times longer
_SMALLEST = 1024  # bytes: datasets smaller than this stay as they are
_WEIGHT_SUFFIX = ".weights.h5"


def check_weights_compression(value: Any) -> str | None:
    """`value` if it is None or `WEIGHTS_COMPRESSION`; else a ValueError naming the choices."""
    if value not in (None, WEIGHTS_COMPRESSION):
        raise ValueError(f"weights_compression={value!r}; use {WEIGHTS_COMPRESSION!r} or None.")
    return value


def _copy_group(source: Any, target: Any) -> None:
    import h5py

    target.attrs.update(source.attrs)
    for name, item in source.items():
        if isinstance(item, h5py.Group):
            _copy_group(item, target.create_group(name))
            continue
        data = item[()]
        small = item.size * item.dtype.itemsize < _SMALLEST  # a chunk index costs more than it would save
        filters = {} if small else {"compression": WEIGHTS_COMPRESSION, "compression_opts": _LEVEL, "shuffle": True}
        copied = target.create_dataset(name, data=data, **filters)
        copied.attrs.update(item.attrs)


def compress_weight_file(path: str | os.PathLike) -> None:
    """Rewrites one Keras weights file with every non-scalar dataset compressed, atomically."""
    import h5py

    path = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        with h5py.File(path, "r") as source, h5py.File(temporary, "w", libver="latest") as target:
            _copy_group(source, target)
        follow_umask(temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def compress_weight_files(directory: str | os.PathLike) -> int:
    """Compresses every `*.weights.h5` under `directory` (nested components too); returns how many."""
    paths = sorted(Path(directory).rglob(f"*{_WEIGHT_SUFFIX}"))
    for path in paths:
        compress_weight_file(path)
    return len(paths)
