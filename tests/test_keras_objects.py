"""cclm's Keras classes are registered once Keras is imported; `.keras` files load with Keras alone after `import cclm`."""

import ast
import json
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest

from cclm import Preprocessor
from cclm.classification.text_classifier import TextClassifier
from cclm.data.sample_text import language_sentences
from cclm.models.composed_model import ComposedModel
from cclm.models.embedder import Embedder
from cclm.models.tower import Tower

PACKAGE = pathlib.Path(__file__).parents[1] / "cclm"


def registered_in_source() -> set[str]:
    """Every class decorated with `register_keras_serializable(package="cclm")`, as Keras names it."""
    names = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any("register_keras_serializable" in ast.unparse(d) for d in node.decorator_list):
                names.add(f"cclm>{node.name}")
    return names


def run(code: str, *args: str) -> str:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.splitlines()[-1]


REGISTERED = "import json, keras; print(json.dumps(sorted(keras.saving.get_custom_objects())))"


def test_import_cclm_stays_light():
    assert run("import cclm, sys; print('tensorflow' in sys.modules or 'keras' in sys.modules)") == "False"


def test_registration_waits_for_a_cclm_module_that_imports_keras_part_way():
    # Keras is first imported by cclm.models part-way through its own import.
    assert registered_in_source() <= set(json.loads(run("import cclm.models.embedder\n" + REGISTERED)))


LOAD = """
import json, sys
import numpy as np
import cclm, keras
import tensorflow as tf
ids, texts = np.load(f"{sys.argv[1]}/ids.npy"), tf.constant(json.loads(sys.argv[2]))
out = {"registered": sorted(keras.saving.get_custom_objects())}
for name in ("embedder", "composed", "classifier"):
    model = keras.saving.load_model(f"{sys.argv[1]}/{name}.keras")
    out[name] = np.asarray(model(ids if name == "embedder" else texts)).tolist()
print(json.dumps(out))
"""


def test_keras_files_load_with_keras_after_import_cclm_which_registers_every_class(tmp_path):
    texts, labels = language_sentences(("de_DE", "it_IT"), per_language=20, words=4)
    keras.utils.set_random_seed(0)
    prep = Preprocessor(sequence_length=32, downsample_factor=4).fit(texts, progress=False)
    embedder = Embedder(prep.max_example_len, prep.n_chars, hidden_dim=16, num_blocks=1)
    tower = Tower(input_dim=16, hidden_dim=16, num_layers=1, num_heads=2, intermediate_dim=32, max_length=32)
    composed = ComposedModel(embedder, [tower], preprocessor=prep)
    classifier = TextClassifier(composed, seed=0)
    classifier.fit((texts, labels), verbose=0)
    probe = ["Guten Tag", "Buona sera a tutti"]
    ids = prep.encode(probe)
    expected = {"embedder": embedder(ids), "composed": composed.id_model(ids), "classifier": classifier.predict(probe)}
    for name, component in (("embedder", embedder), ("composed", composed), ("classifier", classifier)):
        assert component.save(tmp_path / f"{name}.keras") == tmp_path / f"{name}.keras"
    np.save(tmp_path / "ids.npy", ids)
    loaded = json.loads(run(LOAD, str(tmp_path), json.dumps(probe)))
    expected_names = registered_in_source()
    assert {"cclm>Embedder", "cclm>TrainingModel", "cclm>CharacterEncoder", "cclm>NgramLogits"} <= expected_names
    assert expected_names <= set(loaded.pop("registered"))
    for name, values in expected.items():
        np.testing.assert_allclose(loaded[name], values, atol=1e-5, err_msg=name)
    with pytest.raises(ValueError, match="names a Keras file, but a preprocessor has no Keras model"):
        prep.save(tmp_path / "prep.keras")
