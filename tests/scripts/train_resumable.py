"""Trains a tiny MaskedLanguagePretrainer with BackupAndRestore; can SIGKILL itself.

Usage: train_resumable.py BACKUP_DIR RESULT_JSON [KILL_AT_BATCH]
Run twice by tests/test_distribution.py: killed mid-epoch, then resumed.
"""

import json
import os
import signal
import sys

import keras

from cclm import Preprocessor
from cclm.components import fingerprint
from cclm.models.embedder import Embedder
from cclm.pretraining.masked_language_pretrainer import MaskedLanguagePretrainer
from cclm.data.sample_text import python_docs_paragraphs

backup_dir, result_path = sys.argv[1], sys.argv[2]
kill_at = int(sys.argv[3]) if len(sys.argv) > 3 else None

keras.utils.set_random_seed(0)
texts = python_docs_paragraphs()[:64]
prep = Preprocessor(sequence_length=32, downsample_factor=4).fit(texts, progress=False)
embedder = Embedder(vocab_size=prep.vocab_size, hidden_dim=16, num_blocks=1, max_length=64)
pretrainer = MaskedLanguagePretrainer(
    embedder=embedder, preprocessor=prep, batch_size=16, seed=0,
    tower_options={"hidden_dim": 16, "num_layers": 1, "num_heads": 2, "max_length": 64},
)
initial = fingerprint({}, pretrainer.tower.get_weights())


class Recorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs, self.batches, self.start = [], 0, None

    def on_train_begin(self, logs=None):  # runs after BackupAndRestore restored
        self.start = fingerprint({}, pretrainer.tower.get_weights())

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1
        if kill_at is not None and self.batches == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)  # no cleanup, like a lost machine


recorder = Recorder()
backup = keras.callbacks.BackupAndRestore(backup_dir, save_freq=2)
pretrainer.fit(texts, epochs=3, steps_per_epoch=4, callbacks=[backup, recorder], verbose=0)
with open(result_path, "w") as handle:
    json.dump({"epochs": recorder.epochs, "batches": recorder.batches,
               "resumed_from_trained_weights": recorder.start != initial}, handle)
