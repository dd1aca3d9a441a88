"""`Exportable` and `export_for_serving`: a TensorFlow SavedModel that takes raw strings, for TF Serving or Python.

A component's Keras model reads ids; the exported model reads text. It
holds the preprocessor's in-graph `CharacterEncoder`, the model's weights
and an `outputs` function, traced once for a batch of strings: the
`serve` endpoint (also the `serving_default` signature) takes `texts`,
a (batch,) `tf.string` tensor, and returns a dict of tensors. Loading it
never needs cclm. Whether it needs more than TensorFlow is the exporter's
choice, made explicit (a preprocessor normalizing Unicode, as the default
NFC one does, has no core TensorFlow op for it), and written into the
export's `README.txt`:

- `tensorflow_text=True`: the export normalizes texts in its graph as the
  preprocessor does, with `tensorflow-text`'s `NormalizeUTF8` op, so the
  loader needs `import tensorflow_text` (and TF Serving a build with it):

      import tensorflow as tf
      import tensorflow_text  # noqa: F401  (registers NormalizeUTF8)
      served = tf.saved_model.load("exported")
      served.serve(tf.constant(["some text"]))

- `tensorflow_text=False`: TensorFlow alone serves it; texts are read as
  given, so give them in the preprocessor's normalization form (NFC text,
  as most text is, gives the same answers as `predict`).

An encoder that does not normalize needs neither.

Example:
>>> import keras, tempfile, tensorflow as tf
>>> from cclm.preprocessing.character_encoder import CharacterEncoder
>>> encoder = CharacterEncoder(characters=["a", "b"], sequence_length=4)
>>> model = keras.Sequential([keras.Input((4,), dtype="int32"), keras.layers.Embedding(7, 2)])
>>> path = export_for_serving(tempfile.mkdtemp() + "/exported", encoder, model,
...                           lambda ids, out: {"vectors": out}, tensorflow_text=False)
>>> served = tf.saved_model.load(str(path))  # keep it: its variables live as long as it does
>>> tuple(served.serve(tf.constant(["ab"]))["vectors"].shape)
(1, 4, 2)
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf

import cclm.keras_objects as keras_objects  # noqa: PLR0402  (`from cclm import` would load the package's facade)

BATCHES_AT_ONCE = 2  # batches `in_sorted_batches` runs side by side: both cores busy, memory for two batches only


def in_sorted_batches(model: keras.Model, ids: tf.Tensor, batch_size: int, trim_to: int | None = None) -> tf.Tensor:
    """`model(ids)` (one row per text) computed `batch_size` texts at a time, texts sorted by length, in their order.

    In graph, the batches in a loop that runs `BATCHES_AT_ONCE` of them
    side by side. With `trim_to`, each batch's ids end after its longest text,
    rounded up to a multiple of it (for a model whose outputs do not depend
    on the padding that follows a text, e.g. `TextClassifier`'s): a batch
    of short texts never pays for the longest of all.
    """
    count = tf.shape(ids)[0]
    lengths = tf.reduce_sum(tf.cast(tf.not_equal(ids, 0), tf.int32), axis=1)
    order = tf.argsort(lengths, stable=True)
    ordered, ordered_lengths = tf.gather(ids, order), tf.gather(lengths, order)
    batches = (count + batch_size - 1) // batch_size
    output = model.outputs[0]
    results = tf.TensorArray(output.dtype, size=batches, infer_shape=False, element_shape=[None, *output.shape[1:]])

    def step(index: tf.Tensor, results: tf.TensorArray) -> tuple[tf.Tensor, tf.TensorArray]:
        batch = ordered[index * batch_size:(index + 1) * batch_size]
        if trim_to is not None:
            longest = tf.reduce_max(ordered_lengths[index * batch_size:(index + 1) * batch_size])
            width = tf.maximum((longest + trim_to - 1) // trim_to * trim_to, trim_to)
            batch = batch[:, :tf.minimum(width, tf.shape(batch)[1])]
        return index + 1, results.write(index, model(batch, training=False))

    _, results = tf.while_loop(lambda index, _: index < batches, step, (tf.constant(0), results),
                               parallel_iterations=BATCHES_AT_ONCE)
    return tf.gather(results.concat(), tf.argsort(order))


def encode_to_longest(encoder: keras.layers.Layer, texts: tf.Tensor, multiple: int) -> tf.Tensor:
    """`encoder(texts)` (a `CharacterEncoder`) cut after the batch's longest text, rounded up to `multiple`.

    The same ids as the encoder's, without the padding no text of the batch
    reaches: a batch of short texts never holds the encoder's whole length.
    """
    capacity = encoder.sequence_length - int(encoder.add_cls)
    ids = tf.ragged.map_flat_values(encoder.lookup, encoder.code_points(texts, capacity)).to_tensor(default_value=0)
    ids = encoder.with_cls(ids)  # 0 above: the padding id
    width = tf.shape(ids)[1]
    return tf.pad(ids, [[0, 0], [0, tf.maximum((width + multiple - 1) // multiple * multiple, multiple) - width]])


EXPORT_README = "README.txt"  # beside saved_model.pb: what loading the export needs


def _encoder_for(encoder: keras.layers.Layer, tensorflow_text: bool | None) -> tuple[keras.layers.Layer, str]:
    """The encoder the export holds, and its `README.txt`: how to load it, and what that needs."""
    form = getattr(encoder, "normalization", None)
    if form is not None and tensorflow_text is None:
        raise ValueError(
            f"The preprocessor normalizes Unicode ({form}), which core TensorFlow cannot do in a graph. Pass "
            "tensorflow_text=True to normalize in the export with tensorflow-text (whoever loads it then needs "
            "`import tensorflow_text`; TF Serving, a build with it), or tensorflow_text=False to serve with "
            f"TensorFlow alone, texts read as given (give them in {form}, as most text already is)."
        )
    imports, needs, note = "import tensorflow as tf\n", "TensorFlow alone", ""
    if form is not None and tensorflow_text:
        imports += "import tensorflow_text  # registers NormalizeUTF8: loading fails without it\n"
        needs = f"TensorFlow and tensorflow-text (it normalizes texts to {form} with tensorflow-text's NormalizeUTF8 op)"
    elif form is not None:
        encoder = type(encoder).from_config({**encoder.get_config(), "normalization": None})
        note = f"Texts are read as given, not normalized: give them in {form}, as the model was trained on.\n"
    readme = (f"A TensorFlow SavedModel written by cclm. Loading it needs {needs}; not cclm.\n{note}\n{imports}"
              'served = tf.saved_model.load("<this directory>")\nserved.serve(tf.constant(["some text"]))\n')
    return encoder, readme


def export_for_serving(
    path: str | os.PathLike,
    encoder: keras.layers.Layer,
    model: keras.Model,
    outputs: Callable[[tf.Tensor, tf.Tensor], dict[str, tf.Tensor]],
    overwrite: bool = True,
    batch_size: int | None = None,
    trim_to: int | None = None,
    tensorflow_text: bool | None = None,
) -> Path:
    """Writes a SavedModel at `path` serving `outputs(ids, model(ids))` with `ids = encoder(texts)`; returns its path.

    Written to a temporary directory beside `path` and renamed into place,
    so a failure leaves no half-written export and an existing one as it was.
    With `batch_size`, the model runs on length-sorted batches of that many
    texts (`in_sorted_batches`; a model with one output row per text). With
    `trim_to`, the ids end after the call's longest text, rounded up to a
    multiple of it (`encode_to_longest`; a model whose outputs do not
    depend on the padding that follows a text). `tensorflow_text`: for an
    encoder that normalizes Unicode, True to do so in the graph (loading
    needs `import tensorflow_text`) or False to serve with TensorFlow alone,
    reading texts as given (see the module docstring).

    Raises:
        ValueError: the encoder normalizes Unicode and `tensorflow_text` is
            None; or `path` names a `.keras` / `.h5` file.
        FileExistsError: `path` exists and `overwrite` is False, or it is not
            an earlier export (a file, or a directory without `saved_model.pb`).
    """
    path = Path(path).expanduser().absolute()
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it, or choose another path.")
    # overwrite replaces an earlier export only (as `save` replaces only a component): never a user's folder.
    if path.exists() and (not path.is_dir() or (any(path.iterdir()) and not (path / "saved_model.pb").is_file())):
        raise FileExistsError(f"{path} exists and is not an earlier export (it has no saved_model.pb); refusing to "
                              "replace it. Choose a new or empty directory.")
    if path.suffix in {".keras", ".h5"}:
        raise ValueError(f"{path.name!r} names a Keras file, but an export is a SavedModel directory; "
                         "give a directory name such as 'exported'.")
    encoder, readme = _encoder_for(encoder, tensorflow_text)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="texts")])
    def serve(texts: tf.Tensor) -> dict[str, tf.Tensor]:
        ids = encoder(texts) if trim_to is None else encode_to_longest(encoder, texts, trim_to)
        if batch_size is None:
            return outputs(ids, model(ids, training=False))
        return outputs(ids, in_sorted_batches(model, ids, batch_size, trim_to))

    encoder(tf.constant([""]))  # builds it: Keras exports built layers only
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.track(encoder)
    archive.add_endpoint("serve", serve)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        archive.write_out(str(staging / "model"), verbose=False)
        (staging / "model" / EXPORT_README).write_text(readme, encoding="utf-8")
        if path.exists():
            os.rename(path, staging / "old")  # kept until the new export is in place
        try:
            os.rename(staging / "model", path)
        except BaseException:
            if (staging / "old").exists():
                os.rename(staging / "old", path)
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return path


class Exportable:
    """Gives a component `export(path)`; the component says what it serves in `_serving()`."""

    def export(self, path: str | os.PathLike, overwrite: bool = True, tensorflow_text: bool | None = None) -> Path:
        """Writes a TensorFlow SavedModel that serves raw strings; returns its path.

        Its `serve` endpoint (and `serving_default` signature) takes `texts`,
        a (batch,) `tf.string` tensor; what it returns depends on the
        component (`ComposedModel`: `vectors` and `mask`; `TextClassifier` and
        `CategoricalPretrainer`: `labels`, as strings, and `probabilities`).
        Loading never needs cclm; `tensorflow_text` (required where the
        preprocessor normalizes Unicode, as by default) chooses between
        normalizing in the graph, which needs `import tensorflow_text` to
        load, and TensorFlow alone, reading texts as given
        (`cclm.components.serving`; the export's `README.txt` says which).

        Example:
        >>> served = tf.saved_model.load(str(classifier.export("exported", tensorflow_text=False)))  # doctest: +SKIP
        >>> served.serve(tf.constant(["some text"]))["labels"]  # doctest: +SKIP
        """
        return export_for_serving(path, *self._serving(), overwrite=overwrite, tensorflow_text=tensorflow_text,
                                  **self._serving_options())

    def _serving_options(self) -> dict[str, Any]:
        """`export_for_serving`'s `batch_size` and `trim_to` for this component (none by default)."""
        return {}

    def _serving(self) -> tuple[keras.layers.Layer, keras.Model, Callable[[Any, Any], dict[str, Any]]]:
        """(text encoder, model on its ids, outputs(ids, model output) -> dict of tensors)."""
        raise NotImplementedError


keras_objects.ready(__name__)  # last: registers cclm's Keras classes once this import is done
