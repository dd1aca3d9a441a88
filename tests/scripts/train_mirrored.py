"""Trains a tiny MaskedLanguagePretrainer under MirroredStrategy on two logical CPUs.

Run by tests/test_distribution.py in its own process: logical devices must be
set up before TensorFlow starts. Arguments: the save directory and the MLM
target ("characters" or "subwords"). Prints one JSON line with what it saw.
"""

import json
import sys

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402

from cclm import Preprocessor  # noqa: E402
from cclm.models.embedder import Embedder  # noqa: E402
from cclm.pretraining.masked_language_pretrainer import MaskedLanguagePretrainer  # noqa: E402
from cclm.data.sample_text import python_docs_paragraphs  # noqa: E402

texts = python_docs_paragraphs()[:64]
target = sys.argv[2] if len(sys.argv) > 2 else "characters"
subwords = {"subword_model": "bpe", "subword_vocab_size": 200} if target == "subwords" else {}
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
keras.utils.set_random_seed(0)
with strategy.scope():
    prep = Preprocessor(sequence_length=32, downsample_factor=4, **subwords).fit(texts, progress=False)
    embedder = Embedder(vocab_size=prep.vocab_size, hidden_dim=16, num_blocks=1, max_length=64)
    pretrainer = MaskedLanguagePretrainer(
        embedder=embedder, preprocessor=prep, batch_size=16, seed=0, target=target, num_sampled=32,
        tower_options={"hidden_dim": 16, "num_layers": 1, "num_heads": 2, "max_length": 64},
    )
    before = [w.numpy().copy() for w in pretrainer.tower.weights + pretrainer.head.weights]
    history = pretrainer.fit(texts, steps_per_epoch=3, epochs=1, verbose=0)
after = [w.numpy() for w in pretrainer.tower.weights + pretrainer.head.weights]
path = pretrainer.save(sys.argv[1])
loaded = MaskedLanguagePretrainer.load(path)
ids = prep.encode(texts[:4])
print(json.dumps({
    "replicas": strategy.num_replicas_in_sync,
    "variable": type(pretrainer.tower.weights[0].value).__name__,
    "loss": history.history["loss"],
    "changed": all(not (b == a).all() for b, a in zip(before, after)),
    "reloaded_equal": bool((loaded.training_model(ids).numpy() == pretrainer.training_model(ids).numpy()).all()),
}))
