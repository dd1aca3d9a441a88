"""Labels on a composition: `TextClassifier`, its accuracy under typos (`noise_report`), and plots."""

from cclm.classification.noise_report import NoiseReport, noise_report
from cclm.classification.text_classifier import TextClassifier
import cclm.keras_objects as keras_objects

__all__ = ["NoiseReport", "TextClassifier", "noise_report"]


keras_objects.ready(__name__)  # last: registers cclm's Keras classes once this import is done
