"""Components saved by cclm 0.1.0 (the flat layout, tests/fixtures/make_components.py) still load, unchanged."""

import json
import pathlib

import numpy as np
import pytest

from cclm import load_component, read_manifest
from cclm.classification import TextClassifier
from cclm.models import ComposedModel, Embedder
from cclm.preprocessing import Preprocessor
from cclm.pretraining import CategoricalPretrainer, MaskedLanguagePretrainer

FIXTURE = pathlib.Path(__file__).parents[1] / "fixtures" / "components-0.1.0"
EXPECTED = json.loads((FIXTURE / "expected.json").read_text())


def test_the_preprocessor_encodes_as_before():
    prep = Preprocessor.load(FIXTURE / "preprocessor")
    np.testing.assert_array_equal(prep.encode(EXPECTED["probe"]), EXPECTED["ids"])


def test_the_embedder_and_towers_give_the_same_vectors():
    ids = np.array(EXPECTED["ids"], dtype="int32")
    embedder = Embedder.load(FIXTURE / "embedder")
    np.testing.assert_allclose(embedder(ids), EXPECTED["embedder"], rtol=1e-5, atol=1e-6)
    mlm = MaskedLanguagePretrainer.load(FIXTURE / "mlm")
    np.testing.assert_allclose(mlm.model(mlm.embedder(ids)), EXPECTED["mlm_tower"], rtol=1e-5, atol=1e-6)
    composed = ComposedModel.load(FIXTURE / "composed")
    np.testing.assert_allclose(composed.id_model(ids), EXPECTED["composed"], rtol=1e-5, atol=1e-6)


def test_the_old_towers_compose_with_the_old_embedder():
    embedder = Embedder.load(FIXTURE / "embedder")
    mlm = MaskedLanguagePretrainer.load(FIXTURE / "mlm")
    topic = CategoricalPretrainer.load(FIXTURE / "topic")
    composed = ComposedModel(embedder, [mlm.model, topic.model])
    ids = np.array(EXPECTED["ids"], dtype="int32")
    np.testing.assert_allclose(composed.model(ids), EXPECTED["composed"], rtol=1e-5, atol=1e-6)


def test_the_classifier_predicts_as_before():
    classifier = TextClassifier.load(FIXTURE / "classifier")
    probabilities = classifier.predict(EXPECTED["probe"])
    assert classifier.predict_labels(EXPECTED["probe"]) == EXPECTED["classifier_labels"]
    np.testing.assert_allclose(probabilities, EXPECTED["classifier_probabilities"], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["preprocessor", "embedder", "mlm", "topic", "composed", "classifier"])
def test_load_component_finds_every_old_kind(name):
    component = load_component(FIXTURE / name)
    assert component.component_kind == read_manifest(FIXTURE / name)["kind"]
