"""Pretrain a masked-language tower on one machine, several GPUs, a TPU, or a cluster: the same script.

The strategy is TensorFlow's own (`tf.distribute`); cclm adds no layer of
its own. With `TF_CONFIG` set (every machine runs this script with its own
`task.index`), `--strategy auto` picks `MultiWorkerMirroredStrategy`; with
several GPUs, `MirroredStrategy`; otherwise the default strategy.

    # one machine
    python examples/train_on_a_cluster.py --data corpus.txt --output mlm-tower
    # two machines: run on each, with its own index (0 is the chief, which saves)
    TF_CONFIG='{"cluster": {"worker": ["host-a:12345", "host-b:12345"]},
                "task": {"type": "worker", "index": 0}}' \\
        python examples/train_on_a_cluster.py --data corpus.txt --output /shared/mlm-tower
    # a Cloud TPU VM
    python examples/train_on_a_cluster.py --strategy tpu --mixed-precision auto --data corpus.txt --output mlm-tower

`--data` is a text file (one document per line), streamed: each worker
reads its own share of the lines. Without it, Python's documentation is used.
The chief loads the saved component back and checks it predicts the same.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path


def make_strategy(name: str):
    import tensorflow as tf

    if name == "auto":
        if "TF_CONFIG" in os.environ:
            name = "multi-worker"
        elif len(tf.config.list_physical_devices("GPU")) > 1:
            name = "mirrored"
        else:
            name = "default"
    if name == "multi-worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    return tf.distribute.get_strategy()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, help="a text file, one document per line (default: Python's docs)")
    parser.add_argument("--output", type=Path, required=True, help="where the chief saves the pretrainer")
    parser.add_argument("--strategy", choices=["auto", "default", "mirrored", "multi-worker", "tpu"], default="auto")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--steps-per-epoch", type=int, help="batches per epoch (default: one pass over the data)")
    parser.add_argument("--batch-size", type=int, default=32, help="the global batch, over all replicas")
    parser.add_argument("--mixed-precision", default=None, help="auto, mixed_float16 or mixed_bfloat16")
    parser.add_argument("--tiny", action="store_true", help="a tiny model and 96 texts, to try the set-up")
    parser.add_argument("--report", type=Path, help="also write what this worker saw as JSON")
    args = parser.parse_args(argv)

    # The strategy must exist before any other TensorFlow work in the process.
    # (MultiWorkerMirroredStrategy reports its class as CollectiveAllReduceStrategy.)
    strategy = make_strategy(args.strategy)
    import keras

    from cclm import Preprocessor
    from cclm.training.distribution import is_chief
    from cclm.models import Embedder
    from cclm.pretraining import MaskedLanguagePretrainer
    from cclm.data.sample_text import python_docs_paragraphs

    if args.data is not None:
        data = args.data
    else:
        data = [text for text in python_docs_paragraphs() if text.strip()][: 96 if args.tiny else None]
    keras.utils.set_random_seed(0)  # every worker starts from the same weights
    with strategy.scope():
        options = {}
        if args.tiny:
            prep = Preprocessor(sequence_length=32, downsample_factor=4).fit(data, progress=False)
            options = {
                "preprocessor": prep,
                "embedder": Embedder(vocab_size=prep.vocab_size, hidden_dim=16, num_blocks=1, max_length=64),
                "tower_options": {"hidden_dim": 16, "num_layers": 1, "num_heads": 2, "max_length": 64},
            }
        pretrainer = MaskedLanguagePretrainer(
            batch_size=args.batch_size, seed=0, mixed_precision=args.mixed_precision, **options
        )
        before = None
        if pretrainer.is_built:
            before = [w.numpy().copy() for w in pretrainer.training_model.weights]
        history = pretrainer.fit(
            data, epochs=args.epochs, steps_per_epoch=args.steps_per_epoch, verbose=2 if is_chief(strategy) else 0
        )
    weights = [w.numpy() for w in pretrainer.training_model.weights]
    path = pretrainer.save(args.output)  # every worker calls save; only the chief's copy stays
    report = {
        "strategy": type(strategy).__name__,
        "replicas": strategy.num_replicas_in_sync,
        "chief": is_chief(strategy),
        # Under a strategy, Keras reads a first batch before training: a pass of its own.
        "documents per pass": pretrainer.stats.used // max(pretrainer.stats.passes, 1),
        "loss": history.history["loss"],
        "weights changed": None if before is None else sum(not (b == a).all() for b, a in zip(before, weights)),
        "weights": len(weights),
        "weights sha256": hashlib.sha256(b"".join(w.tobytes() for w in weights)).hexdigest(),
        "saved": str(path),
    }
    if report["chief"]:
        loaded = MaskedLanguagePretrainer.load(path)
        ids = pretrainer.preprocessor.encode(["A check that the saved component predicts the same."])
        report["reloaded predicts the same"] = bool((loaded.training_model(ids).numpy() == pretrainer.training_model(ids).numpy()).all())
        print(f"{report['strategy']} over {report['replicas']} replicas; saved {path}; "
              f"reloaded predicts the same: {report['reloaded predicts the same']}")
    if args.report:
        args.report.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    sys.exit(main())
