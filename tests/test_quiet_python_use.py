"""`import cclm` and normal use print nothing unless asked: no TensorFlow start-up lines, no
progress bars (issue 47, item 18); `verbose=1` still shows Keras' progress bar."""

import os
import subprocess
import sys

USE = """
import cclm
from cclm.models import ComposedModel, Embedder
from cclm.preprocessing import Preprocessor
from cclm.pretraining import MaskedLanguagePretrainer

texts = ["cclm is neat", "towers share an embedder"] * 8
prep = Preprocessor(sequence_length=16)
prep.fit(texts)
embedder = Embedder(prep.max_example_len, prep.n_chars, hidden_dim=8, num_blocks=1)
small = {"hidden_dim": 8, "num_layers": 1, "num_heads": 2, "intermediate_dim": 8}
tower = MaskedLanguagePretrainer(embedder=embedder, preprocessor=prep, tower_options=small)
tower.fit(texts, steps_per_epoch=1)
composed = ComposedModel(embedder, [tower.model], preprocessor=prep)
composed(["cclm is neat"])
print("---asked---", flush=True)
tower.fit(texts, steps_per_epoch=1, verbose=1)
"""


def test_normal_use_is_quiet_unless_verbose_asks(tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run([sys.executable, "-c", USE], capture_output=True, text=True, cwd=tmp_path, env=env,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    quiet, asked = result.stdout.split("---asked---\n")
    assert quiet == "" and result.stderr == "", (quiet, result.stderr)
    assert "1/1" in asked  # Keras' progress bar, when asked for
