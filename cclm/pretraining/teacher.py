"""`Teacher`: a sentence encoder's vectors for texts, cached on disk so a rerun never encodes a text twice.

The teacher is any callable `list[str] -> array (n, d)`, e.g. a
sentence-transformers model's `encode`; cclm never imports it. Vectors are
cached under `cache_dir/<name>/` in files of `.npz` chunks (the sha256 of
each text and its vector), written atomically, so an interrupted run keeps
what it encoded and a second run reads instead of encoding.

Example:
>>> import numpy as np, tempfile
>>> calls = []
>>> def encode(texts):
...     calls.append(len(texts))
...     return np.array([[len(t), t.count("a")] for t in texts], "float32")
>>> teacher = Teacher(encode, name="counts", cache_dir=tempfile.mkdtemp(), progress=False)
>>> teacher(["a cat", "a dog"]).tolist(), teacher(["a dog", "a bat"]).tolist(), calls
([[5.0, 2.0], [5.0, 1.0]], [[5.0, 1.0], [5.0, 2.0]], [2, 1])
"""

from __future__ import annotations

import hashlib
import os
import re
import warnings
import zipfile
from collections import Counter
from collections.abc import Callable, Sequence
from numbers import Integral
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from cclm.components.files import atomic_file

DEFAULT_CACHE = Path(os.environ.get("CCLM_TEACHER_CACHE", Path.home() / ".cache" / "cclm" / "teacher"))


def _key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


class Teacher:
    """Vectors of texts from `encode`, read from the disk cache where a text was encoded before.

    Args:
        encode: `list[str] -> array (n, d)`, the teacher itself.
        name: names the teacher in the cache and in model cards (e.g.
            "sentence-transformers/all-MiniLM-L6-v2"); one name, one teacher.
        cache_dir: where vectors are kept; None keeps them in memory only.
        batch_size: texts given to `encode` at once, the texts not cached
            going shortest first, so that each call pads them to similar lengths.
        progress: show a progress bar while encoding.

    Calling it with texts raises `TypeError` for a text that is not a
    string, and `ValueError`, caching nothing of that batch, where `encode`
    gives the wrong shape, another width than the vectors cached under the
    same name, or a vector that is not finite. An unreadable cache file is
    skipped with a warning and its texts are encoded again.
    """

    def __init__(
        self, encode: Callable[[list[str]], Any], name: str, cache_dir: str | os.PathLike | None = DEFAULT_CACHE,
        batch_size: int = 1024, progress: bool = True,
    ):
        if not callable(encode):
            raise TypeError(f"encode is a {type(encode).__name__}; pass a callable list[str] -> array (n, d), "
                            "e.g. SentenceTransformer(...).encode.")
        if not name or not isinstance(name, str):
            raise ValueError(f"name={name!r}; name the teacher, e.g. 'sentence-transformers/all-MiniLM-L6-v2'.")
        if not isinstance(batch_size, Integral) or batch_size < 1:
            raise ValueError(f"batch_size={batch_size!r}; give the texts per call to encode, an int >= 1.")
        self.encode = encode
        self.name = name
        self.batch_size = int(batch_size)
        self.progress = progress
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "teacher"
        self.directory = None if cache_dir is None else Path(cache_dir) / f"{safe}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"
        self._vectors: dict[bytes, np.ndarray] = {}
        self._width: int | None = None  # the vectors' dimensions, once any is cached or encoded
        self._read_cache()

    def _read_cache(self) -> None:
        if self.directory is None or not self.directory.is_dir():
            return
        chunks = []
        for path in sorted(self.directory.glob("chunk-*.npz")):
            try:
                with np.load(path, allow_pickle=False) as chunk:
                    keys, vectors = chunk["keys"], chunk["vectors"]
                if keys.ndim != 2 or keys.shape[1] != 32 or vectors.ndim != 2 or len(keys) != len(vectors):
                    raise ValueError(f"{len(keys)} keys of shape {keys.shape[1:]} for vectors of shape {vectors.shape}")
            except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:  # EOFError: an empty file
                _skip(path, error)
                continue
            chunks.append((path, keys, vectors))
        widths = Counter()
        for _, _, vectors in chunks:
            widths[vectors.shape[1]] += len(vectors)
        for path, keys, vectors in chunks:
            if vectors.shape[1] != widths.most_common(1)[0][0]:  # the width most cached vectors have
                _skip(path, f"vectors of {vectors.shape[1]} dimensions where most have {widths.most_common(1)[0][0]}")
                continue
            self._vectors.update(zip((row.tobytes() for row in keys), vectors))
            self._width = vectors.shape[1]

    def _check(self, vectors: np.ndarray, batch: list[str]) -> None:
        """Refuses vectors of the wrong shape, of another width than those cached, or not finite."""
        if vectors.ndim != 2 or len(vectors) != len(batch):
            raise ValueError(f"The teacher {self.name!r} gave an array of shape {vectors.shape} for "
                             f"{len(batch)} texts; it must give (texts, dimensions).")
        if self._width is not None and vectors.shape[1] != self._width:
            where = f" (cached in {self.directory})" if self.directory is not None else ""
            raise ValueError(f"The teacher {self.name!r} gave vectors of {vectors.shape[1]} dimensions where it gave "
                             f"{self._width} before{where}: one name, one teacher. Give this encoder another name, or "
                             "delete that cache.")
        bad = np.flatnonzero(~np.isfinite(vectors).all(axis=1))
        if len(bad):
            raise ValueError(f"The teacher {self.name!r} gave a vector that is not finite (NaN or inf) for "
                             f"{len(bad)} text(s), e.g. {batch[bad[0]][:80]!r}; nothing of this batch was cached.")

    def _write_chunk(self, keys: list[bytes], vectors: np.ndarray) -> None:
        if self.directory is None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha256(b"".join(keys)).hexdigest()[:16]
        with atomic_file(self.directory / f"chunk-{name}.npz") as stream:
            # Digests as rows of bytes: a fixed-width bytes array would drop their trailing zero bytes.
            np.savez(stream, keys=np.frombuffer(b"".join(keys), "uint8").reshape(-1, 32), vectors=vectors)

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), d) float32 vectors, in the order of `texts`."""
        texts = list(texts)
        for index, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"texts[{index}] is a {type(text).__name__} ({text!r:.80}); the teacher takes strings.")
        keys = [_key(text) for text in texts]
        missing = list(dict.fromkeys(k for k in keys if k not in self._vectors))
        if missing:
            by_key = dict(zip(keys, texts))
            missing.sort(key=lambda k: len(by_key[k]))  # shortest first: each call's texts pad to similar lengths
            todo = [by_key[k] for k in missing]
            bar = tqdm(total=len(todo), desc=f"teacher {self.name}", unit="text", disable=not self.progress)
            for start in range(0, len(todo), self.batch_size):
                batch = todo[start:start + self.batch_size]
                vectors = np.asarray(self.encode(batch), "float32")
                self._check(vectors, batch)
                self._width = vectors.shape[1]
                batch_keys = missing[start:start + self.batch_size]
                self._write_chunk(batch_keys, vectors)
                self._vectors.update(zip(batch_keys, vectors))
                bar.update(len(batch))
            bar.close()
        if not texts:
            return np.zeros((0, 0), "float32")
        return np.stack([self._vectors[k] for k in keys]).astype("float32")


def _skip(path: Path, error: Any) -> None:
    warnings.warn(f"Skipping the unreadable teacher cache file {path} ({error}); its texts are encoded again. "
                  "Delete the file to silence this.", stacklevel=4)
