"""Labels on a composition: `TextClassifier`, its accuracy under typos (`noise_report`), and plots."""

from cclm.classification.noise_report import NoiseReport, noise_report
from cclm.classification.text_classifier import TextClassifier

__all__ = ["NoiseReport", "TextClassifier", "noise_report"]
