import json

import numpy as np
import pytest

from cclm.pipelines.augmentation import Augmentor
from cclm.classification.noise_report import NoiseReport, noise_report, parse_rates


class ExactMatch:
    """Knows the clean texts by heart: any typo in a text makes it wrong."""

    name = "exact-match"

    def __init__(self, texts, labels):
        self.known = dict(zip(texts, labels))

    def predict_labels(self, texts):
        return [self.known.get(t, "?") for t in texts]


def test_accuracy_falls_with_the_rate_and_matches_the_noise_it_saw(docs_texts, tmp_path):
    texts = docs_texts[:100]
    labels = [str(len(t) % 3) for t in texts]
    report = noise_report(ExactMatch(texts, labels), (texts, labels), rates=(0.0, 0.001, 0.05), seed=3)
    assert report.accuracy[0] == 1.0 and report.accuracy[0] > report.accuracy[1] > report.accuracy[2]
    # The texts left intact by the seeded noise are exactly the ones still right.
    intact = np.mean([a == b for a, b in zip(Augmentor.typos(0.001, seed=3)(texts), texts)])
    assert report.accuracy[1] == pytest.approx(intact)
    assert "exact-match: 100 texts" in report.table() and "5%" in report.table()
    report.save(tmp_path / "report.json")
    assert NoiseReport(**json.loads((tmp_path / "report.json").read_text())) == report


def test_bad_rates_and_empty_data_are_explained():
    assert parse_rates("0, 0.05,0.1") == [0.0, 0.05, 0.1]
    with pytest.raises(ValueError, match="not numbers"):
        parse_rates("0,five")
    with pytest.raises(ValueError, match="between 0 and 1"):
        parse_rates("0,5")
    with pytest.raises(ValueError, match="test data is empty"):
        noise_report(ExactMatch([], []), ([], []))
