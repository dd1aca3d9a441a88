"""One worker of a two-worker MultiWorkerMirroredStrategy cluster on loopback.

Run twice at once by tests/test_distribution.py, exactly as on a real cluster:
the same script on every machine, each with its own `TF_CONFIG`. Arguments:
this worker's index, the two workers' ports, the shared save directory and a
JSON file for what this worker saw.
"""

import hashlib
import json
import os
import sys

index, ports, save_dir, report_path = int(sys.argv[1]), sys.argv[2:4], sys.argv[4], sys.argv[5]
os.environ["TF_CONFIG"] = json.dumps({
    "cluster": {"worker": [f"127.0.0.1:{port}" for port in ports]},
    "task": {"type": "worker", "index": index},
})

import tensorflow as tf  # noqa: E402

# The strategy must exist before any other TensorFlow work in the process.
strategy = tf.distribute.MultiWorkerMirroredStrategy()

import keras  # noqa: E402

from cclm import Preprocessor  # noqa: E402
from cclm.embedder import Embedder  # noqa: E402
from cclm.masked_language_pretrainer import MaskedLanguagePretrainer  # noqa: E402
from cclm.sample_text import python_docs_paragraphs  # noqa: E402

texts = [text for text in python_docs_paragraphs() if text.strip()][:96]
keras.utils.set_random_seed(0)
with strategy.scope():
    prep = Preprocessor(sequence_length=32, downsample_factor=4).fit(texts, progress=False)
    embedder = Embedder(vocab_size=prep.vocab_size, hidden_dim=16, num_blocks=1, max_length=64)
    pretrainer = MaskedLanguagePretrainer(
        embedder=embedder, preprocessor=prep, batch_size=16, seed=0,
        tower_options={"hidden_dim": 16, "num_layers": 1, "num_heads": 2, "max_length": 64},
    )
    before = [w.numpy().copy() for w in pretrainer.model.weights]
    history = pretrainer.fit(texts, epochs=1, verbose=0)  # one pass: each worker reads half the texts

weights = [w.numpy() for w in pretrainer.model.weights]
path = pretrainer.save(save_dir)
report = {
    "replicas": strategy.num_replicas_in_sync,
    "chief": pretrainer.model.distribute_strategy.cluster_resolver.task_id == 0,
    # Keras reads a first batch before training under a strategy: a pass of its own.
    "documents per pass": pretrainer.stats.used // pretrainer.stats.passes,
    "loss": history.history["loss"],
    "changed": sum(not (b == a).all() for b, a in zip(before, weights)),
    "weights": len(weights),
    "digest": hashlib.sha256(b"".join(w.tobytes() for w in weights)).hexdigest(),
    "saved": str(path),
}
if report["chief"]:
    loaded = MaskedLanguagePretrainer.load(path)
    ids = prep.encode(texts[:4])
    report["reloaded_equal"] = bool((loaded.model(ids).numpy() == pretrainer.model(ids).numpy()).all())
with open(report_path, "w") as handle:
    json.dump(report, handle)
