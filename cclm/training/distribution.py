"""Training on several devices or machines with TensorFlow's own `tf.distribute` strategies.

cclm writes no distribution layer of its own. Build a pretrainer inside a
strategy's scope and call `fit` as usual; these helpers give each worker
its share of the data and make only the chief write where others would
collide:

- `input_pipeline` makes the training batches through the strategy's
  `distribute_datasets_from_function`: every worker reads every
  `num_workers`-th document (sharded before any text is transformed), in
  batches of `batch_size / num_replicas`, so `batch_size` stays the global
  batch, as in Keras.
- `TrainingModel` is the Keras functional model every cclm training model
  is made of; it fits under `MultiWorkerMirroredStrategy`, where Keras 3's
  own `Model.fit` fails before the first step (keras-team/keras#20585).
- `is_chief` and `worker_path` follow TensorFlow's rule for saving under
  `MultiWorkerMirroredStrategy`: the chief writes to the real path, every
  other worker to a temporary one (all workers must save, since saving can
  take part in collective ops). `Pretrainer.save` does this itself.

Example:
>>> import tensorflow as tf
>>> is_chief(tf.distribute.get_strategy())
True
>>> worker_path("/tmp/checkpoints/model.keras") == "/tmp/checkpoints/model.keras"
True
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import Any

import keras
import tensorflow as tf

from cclm.pipelines.sharding import Shard


@keras.saving.register_keras_serializable(package="cclm")
class TrainingModel(keras.Model):
    """A Keras functional model that also fits under `MultiWorkerMirroredStrategy`.

    Keras 3's `Model.fit` fails before the first step there
    (keras-team/keras#20585), at two places, both reductions across workers:
    it averages a first batch (a tuple of tensors) to learn its shapes, and
    it averages each step's scalar logs along an axis they do not have. Under
    that strategy only, this model takes the shapes from this worker's own
    first batch, and gives each step's logs a length-1 axis, so Keras' own
    reduction yields the same mean. Everything else is Keras' own `fit`.

    Example:
    >>> import keras
    >>> import numpy as np
    >>> ids = keras.Input(shape=(None,), dtype="int32")
    >>> model = TrainingModel(ids, keras.layers.Embedding(10, 4)(ids))
    >>> tuple(model(np.zeros((2, 3), "int32")).shape)
    (2, 3, 4)
    """

    def _multi_worker(self) -> tf.distribute.MultiWorkerMirroredStrategy | None:
        strategy = self._distribute_strategy
        if (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and strategy.cluster_resolver is not None
                and len(strategy.cluster_resolver.cluster_spec().as_dict().get("worker", ())) > 1):
            return strategy
        return None

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        strategy = self._multi_worker()
        if iterator is None or strategy is None:
            return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)
        for _, _, batches in iterator:
            data_batch = tf.nest.map_structure(lambda v: strategy.experimental_local_results(v)[0], next(batches))
            break
        with strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    def _make_function(self, step_function):
        if self._multi_worker() is None:
            return super()._make_function(step_function)

        def step_with_batch_axis(data):
            return tf.nest.map_structure(lambda value: value[None], step_function(data))

        return super()._make_function(step_with_batch_axis)


def is_distributed(strategy: tf.distribute.Strategy) -> bool:
    """Whether `strategy` spreads work over several replicas or workers."""
    return strategy.num_replicas_in_sync > 1 or strategy.cluster_resolver is not None


def is_chief(strategy: tf.distribute.Strategy | None = None) -> bool:
    """Whether this process writes shared files: always, unless it is a non-chief worker of a cluster."""
    strategy = strategy or tf.distribute.get_strategy()
    resolver = strategy.cluster_resolver
    if resolver is None or resolver.task_type is None:
        return True
    if resolver.task_type == "chief":
        return True
    cluster = resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and "chief" not in cluster


def worker_path(path: str | os.PathLike, strategy: tf.distribute.Strategy | None = None) -> str:
    """`path` on the chief; on other workers, the same file name in a temporary directory of their own.

    Use it for checkpoints under `MultiWorkerMirroredStrategy`, e.g.
    `keras.callbacks.ModelCheckpoint(worker_path("ckpt/model.keras"))`:
    every worker must save, and only the chief's copy is kept.
    """
    strategy = strategy or tf.distribute.get_strategy()
    if is_chief(strategy):
        return os.fspath(path)
    resolver = strategy.cluster_resolver
    directory = tempfile.mkdtemp(prefix=f"cclm-{resolver.task_type}-{resolver.task_id}-")
    return os.path.join(directory, os.path.basename(os.fspath(path)))


def input_pipeline(
    strategy: tf.distribute.Strategy,
    make_dataset: Callable[[int, Shard | None], tf.data.Dataset],
    batch_size: int,
    repeat: bool = False,
):
    """Training batches for `strategy`: a `tf.data.Dataset`, or a distributed dataset for Keras' `fit`.

    Args:
        strategy: the model's `distribute_strategy`.
        make_dataset: `(batch_size, shard) -> tf.data.Dataset`; given the
            per-replica batch size and this worker's `Shard` (None for one
            worker).
        batch_size: the global batch size.
        repeat: repeat the data without end (training by `steps_per_epoch`).

    Raises:
        ValueError: when `batch_size` cannot be split evenly over the replicas.
    """
    if not is_distributed(strategy):
        dataset = make_dataset(batch_size, None)
        return dataset.repeat() if repeat else dataset
    replicas = strategy.num_replicas_in_sync
    if batch_size % replicas:
        raise ValueError(
            f"batch_size={batch_size} is the global batch, split over {replicas} replicas in sync, "
            f"so it must be a multiple of {replicas}: use batch_size={max(replicas, batch_size // replicas * replicas)}."
        )

    def per_worker(context: tf.distribute.InputContext) -> tf.data.Dataset:
        shard = (context.num_input_pipelines, context.input_pipeline_id) if context.num_input_pipelines > 1 else None
        dataset = make_dataset(context.get_per_replica_batch_size(batch_size), shard)
        return dataset.repeat() if repeat else dataset

    return strategy.distribute_datasets_from_function(per_worker)


def fit_pipelines(
    strategy: tf.distribute.Strategy,
    make_dataset: Callable[[Any, int, bool, Shard | None], tf.data.Dataset],
    data: Any,
    validation_data: Any,
    batch_size: int,
    steps_per_epoch: int | None,
):
    """The training and validation inputs of a `fit`, through `input_pipeline`.

    `make_dataset(data, batch_size, training, shard)` builds one worker's
    batches; training data repeats when training by `steps_per_epoch`.
    Validation is None when `validation_data` is None.
    """
    train = input_pipeline(
        strategy, lambda size, shard: make_dataset(data, size, True, shard), batch_size,
        repeat=steps_per_epoch is not None,
    )
    if validation_data is None:
        return train, None
    return train, input_pipeline(strategy, lambda size, shard: make_dataset(validation_data, size, False, shard), batch_size)
