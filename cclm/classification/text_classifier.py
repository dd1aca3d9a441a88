"""`TextClassifier`: a label head on a `ComposedModel`, trained, evaluated and saved as one component."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf

from cclm.classification.closed_form import fit_closed_form
from cclm.classification.prediction import ClassifierPrediction
from cclm.components import (
    Component,
    ComponentError,
    built_from,
    fingerprint,
    load_weights_checked,
    register_component,
)
from cclm.components.files import (
    COMPOSED_DIR,
    HEAD_WEIGHTS,
    NGRAM_WEIGHTS,
    PREPROCESSOR_DIR,
)
from cclm.data.fit_inputs import fit_data
from cclm.data.texts import LabelledData, iter_labelled, labels_of
from cclm.keras_objects import keras_name
from cclm.layers.leading_ids import LeadingIds
from cclm.layers.ngram_logits import NgramLogits, case_folding
from cclm.layers.sequence_pooling import POOLINGS, SequencePooling
from cclm.layers.shifted_views import ShiftedViews, ViewAverage, check_views
from cclm.models.composed_model import ComposedModel
from cclm.models.freezing import frozen_while, set_trainable
from cclm.models.label_head import Label, LabelHead, check_labels
from cclm.models.label_predictor import LabelPredictor
from cclm.pipelines.documents import TextStats
from cclm.pipelines.sharding import Shard
from cclm.preprocessing import special_ids
from cclm.preprocessing.preprocessor import Preprocessor
from cclm.training.distribution import TrainingModel
from cclm.training.fit import check_fit_options, check_training_options, make_optimizer
from cclm.training.trainer import Trainer


@register_component("text_classifier")
class TextClassifier(ClassifierPrediction, LabelPredictor, Component, Trainer):
    """One label per text from a composition: pooled composed vectors -> Dense -> softmax.

    On a frozen composition (the default), `fit` computes each training
    text's pooled features once and solves the head in closed form: ridge
    regression over standardized features and, by default, the text's TF-IDF
    character n-grams (`ngrams`), their relative weight and the strength
    chosen by exact leave-one-out cross-validation on the training labels
    (`cclm.classification.wide_ridge`): a few dozen labels per class are
    enough, and the head predicts exactly as it was fitted. With
    `train_composition=True` the embedder and towers fine-tune with the head
    by gradient: copies of them (`classifier.composed`), so the pretrainers
    and classifiers holding the originals keep them. Data: `(texts, labels)`
    or a `datasets.Dataset` / `IterableDataset` (`text_column`,
    `label_column`). Long texts give a
    random window per pass while fine-tuning and their start otherwise.
    `export` writes a SavedModel serving raw strings. Prediction costs what
    each text's length does, and skips the composition where the head gave
    it weight 0 (`cclm.classification.prediction`).

    Args:
        composed: the `ComposedModel`.
        labels: every label (ints or strings), in output order; found in the
            first training data when omitted (a `datasets.ClassLabel`
            column's names in its order, else sorted).
        preprocessor: turns text into ids; default: the composition's.
        pooling: `"mean"`, `"max"` or `"cls"`.
        normalize: standardize the pooled features with `BatchNormalization`
            in a head trained by gradient (default: no; the closed-form head
            standardizes them itself). On a frozen composition
            `normalize=True` trains the head by gradient, as cclm 0.1 did.
        train_composition: whether the embedder and towers train with the head
            (a copy of them). Without it the classifier reads the parts you
            hold and leaves their `trainable` flags as they were: a
            pretrainer of one of its towers still trains it.
        ngrams: the closed-form head also reads the text's TF-IDF vector of
            hashed character n-grams, n = 1 to `ngrams`, case folded
            (`cclm.layers.NgramLogits`), weighed against the composition's
            features by leave-one-out (`cclm.classification.wide_ridge`);
            0: the composition's features alone, each tower still weighed
            apart (`cclm.classification.ridge`). Default (`None`): 4 for
            the closed-form head, 0 when training by gradient.
        ngram_buckets: rows of the hashed n-gram space.
        ngram_length: the n-gram features read each text up to this many
            characters, as a TF-IDF vectorizer reads a whole text, while
            the composition reads the preprocessor's `sequence_length`
            (`cclm.layers.LeadingIds` cuts its window from the same ids).
            `None`: the composition's window, as classifiers saved before
            this option read them.
        ngram_hash_ids: the id each id's n-grams are hashed as (default: the
            id of its character's lowercase, `cclm.layers.ngram_logits.case_folding`);
            `cclm.compression.trim_vocabulary` sets it, so a renumbered
            vocabulary keeps every n-gram's row.
        views: read each text this many times, shifted right by 0, 1, ...
            leading spaces, and average the pooled features (in training
            and prediction alike; `cclm.layers.ShiftedViews`). Towers
            downsample, so each shift is a different reading of the text,
            and the average is an ensemble of them, at `views` times the
            compute (`docs/results.md` has its measured effect).
        optimizer: a Keras optimizer name or object.
        learning_rate: used when `optimizer` is a name.
        batch_size: texts per batch.
        transforms: `str -> str` functions and `Augmentor`s for training texts.
        text_column: the text column of `datasets` data.
        label_column: the label column of `datasets` data.
        seed: makes shuffling, windows and noise reproducible.
        name: a name for the saved component (any text; Keras gets it with spaces as "_").

    Example:
    >>> from cclm.models.embedder import Embedder
    >>> from cclm.models.tower import Tower
    >>> prep = Preprocessor(sequence_length=32, downsample_factor=4).fit(["yes", "no"], progress=False)
    >>> embedder = Embedder(vocab_size=prep.vocab_size, hidden_dim=8, num_blocks=1, max_length=32)
    >>> tower = Tower(input_dim=8, hidden_dim=8, num_layers=1, num_heads=2, max_length=32)
    >>> classifier = TextClassifier(ComposedModel(embedder, [tower], preprocessor=prep), seed=0)
    >>> history = classifier.fit((["yes", "no"] * 8, ["y", "n"] * 8), epochs=2, verbose=0)
    >>> classifier.labels, classifier.predict(["yes", "no"]).shape  # probabilities
    (['n', 'y'], (2, 2))
    >>> classifier.predict_labels("yes") in classifier.labels
    True
    """

    component_kind = "text_classifier"
    labelled = True
    card_intended_uses = ("Giving texts like those it was trained on (see Trained on) one of its labels, where a "
                          "wrong label now and then is acceptable; written by the person who trained it, who should "
                          "say more here.")
    card_limitations = ("Trained by a cclm user on their own labelled texts, not reviewed. Its accuracy is known only "
                        "where Metrics says (leave-one-out, validation data, named evaluations); expect less on texts "
                        "unlike the training texts (other languages, topics, lengths or spelling). It always answers "
                        "one of its labels, even for a text that fits none, and reads only the start of long texts. "
                        "Check it on your own data before relying on it, and do not use it for decisions about people.")

    def __init__(
        self,
        composed: ComposedModel,
        labels: Sequence[Label] | None = None,
        preprocessor: Preprocessor | None = None,
        pooling: str = "mean",
        normalize: bool | None = None,
        train_composition: bool = False,
        ngrams: int | None = None,
        ngram_buckets: int = 2**17,
        ngram_length: int | None = 4096,
        ngram_hash_ids: Sequence[int] | None = None,
        views: int = 1,
        optimizer: str | keras.optimizers.Optimizer = "adamw",
        learning_rate: float = 3e-3,
        batch_size: int = 32,
        transforms: Sequence[Any] = (),
        text_column: str = "text",
        label_column: str = "label",
        seed: int | None = None,
        name: str = "text_classifier",
    ):
        if pooling not in POOLINGS:
            raise ValueError(f"pooling={pooling!r}; use one of {POOLINGS}.")
        check_views(views)
        check_training_options(batch_size, learning_rate)
        # Fine-tuning changes the weights: of a copy, never of what a pretrainer or another classifier holds.
        self.composed = composed.copy() if train_composition else composed
        self.preprocessor = preprocessor or composed.preprocessor
        if self.preprocessor is None:
            raise ValueError("The composition has no preprocessor; pass preprocessor=... (the one its embedder was "
                             "trained with), or compose with ComposedModel(..., preprocessor=prep).")
        if views > 1 and self.preprocessor.character_id(" ") == special_ids.UNKNOWN_ID:
            raise ValueError(f"views={views} shifts texts with leading spaces, but the preprocessor's vocabulary "
                             "has no space. Use views=1, or a preprocessor fitted on text with spaces.")
        self.labels = list(labels) if labels is not None else None
        if self.labels is not None:
            check_labels(self.labels)
        self.pooling = pooling
        self.normalize = bool(normalize)
        self.train_composition = train_composition
        self.ngrams = (0 if train_composition or normalize else 4) if ngrams is None else int(ngrams)
        if self.ngrams < 0 or (self.ngrams and not self.closed_form):
            raise ValueError(f"ngrams={ngrams!r}; n-gram features are fitted in closed form: use ngrams=0 with "
                             "train_composition=True or normalize=True, else a positive int (e.g. 4) or None.")
        self.ngram_buckets = int(ngram_buckets)
        if ngram_length is not None and (type(ngram_length) is not int or ngram_length < 1):
            raise ValueError(f"ngram_length={ngram_length!r}; use an int >= 1 (characters of each text the "
                             "n-gram features read), or None for the composition's window.")
        self.ngram_length = ngram_length
        self.ngram_hash_ids = None if ngram_hash_ids is None else [int(i) for i in ngram_hash_ids]
        self.views = views
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.transforms = tuple(transforms)
        self.text_column = text_column
        self.label_column = label_column
        self.seed = seed
        self.name = name
        self.head: LabelHead | None = None
        self.model: keras.Model | None = None
        self.card: dict[str, Any] = {}
        self.stats = TextStats()
        if self.labels is not None:
            self._build()

    def _build(self) -> None:
        scope = keras_name(self.name)
        self.head = LabelHead(len(self.labels), self.pooling, self.normalize, views=self.views, name=f"{scope}_head")
        ids = keras.Input(shape=(None,), dtype="int32", name="ids")
        window_ids = LeadingIds(self._window_length(), multiple=self.preprocessor.downsample_factor,
                                margin=self._window_margin(), name=f"{scope}_window")(ids)
        if self.views == 1:
            features = self.composed.id_model(window_ids)
        else:
            shifted = ShiftedViews(
                self.views, self.preprocessor.character_id(" "), keep_first=int(self.preprocessor.add_cls),
                name=f"{scope}_views",
            )(window_ids)
            features = self.composed.id_model(shifted)
        logits = self.head(features)
        self.ngram_logits = None
        if self.ngrams:
            self.ngram_logits = NgramLogits(len(self.labels), self.ngrams, self.ngram_buckets,
                                            fold=self.ngram_hash_ids or case_folding(self.preprocessor),
                                            name=f"{scope}_ngrams")
            logits = keras.layers.Add(name=f"{scope}_logits")([logits, self.ngram_logits(ids)])
        self.model = TrainingModel(ids, logits, name=scope)
        pooled = SequencePooling(self.pooling, name=f"{scope}_pool")(features)
        if self.views > 1:
            pooled = ViewAverage(self.views, name=f"{scope}_view_average")(pooled)
        self._features = keras.Model(ids, pooled, name=f"{scope}_features")
        self._ngram_model = None  # built when the head first predicts from its n-grams alone

    @property
    def closed_form(self) -> bool:
        """Whether `fit` solves the head in closed form (a frozen composition without `normalize`)."""
        return not (self.train_composition or self.normalize)

    @property
    def label_index(self) -> dict[Label, int]:
        """Each label's output index."""
        return {label: index for index, label in enumerate(self.labels)}

    def _dataset(self, data: LabelledData, batch_size: int, training: bool, shard: Shard | None = None) -> tf.data.Dataset:
        next(iter_labelled(data, self.text_column, self.label_column), None)  # bad data fails here, plainly
        windows = self._windows(data, batch_size, training, shard, labels=self.label_index, random_crop=training,
                                sequence_length=self._text_length())
        batches = windows.map(lambda batch: (batch["ids"], batch["labels"]))
        return self._weigh_labels(batches, self._fit_class_weights if training else None).prefetch(tf.data.AUTOTUNE)

    def _compile(self) -> None:
        if self.train_composition:  # trained: its own copy (see `__init__`); frozen, the parts others hold are
            for part in (self.composed.embedder, *self.composed.towers):  # frozen only while the head trains (`fit`)
                set_trainable(part, True)
        self.model.compile(
            optimizer=make_optimizer(self.optimizer, self.learning_rate),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        )

    @property
    def _fit_model(self) -> keras.Model:
        return self.model

    def _prepare(self, data: LabelledData) -> None:
        if self.labels is None:
            self.labels = labels_of(data, self.text_column, self.label_column)
            check_labels(self.labels)
            self._build()

    def _record_training(self, history: keras.callbacks.History, seconds: float, restored: int | None = None) -> dict[str, Any]:
        training = super()._record_training(history, seconds, restored)
        training["composition trained"] = self.train_composition
        if self.train_composition:
            self.composed.adopt_towers()  # trained together: the towers now read this embedder's vectors
        # The parts of a frozen classifier are others' too (a pretrainer may train them on): `manifest` checks them.
        self._fitted_on = None if self.train_composition else self._composition_fingerprint()
        if self.transforms:
            training["transforms"] = [repr(t) for t in self.transforms]
        passes = max(self.stats.passes, 1)
        self.card["trained_on"] = f"{self.stats.used // passes:,} labelled texts; labels: {', '.join(map(str, self.labels))}"
        return training

    def _require_built(self) -> None:
        if self.model is None:
            raise ValueError("The classifier has no labels yet; fit it (or give labels=[...]) first.")

    def fit(
        self,
        x: Any = None,
        y: Any = None,
        epochs: int = 1,
        steps_per_epoch: int | None = None,
        batch_size: int | None = None,
        validation_data: LabelledData | None = None,
        validation_split: float = 0.0,
        class_weight: dict[Label, float] | None = None,
        callbacks: list[keras.callbacks.Callback] | None = None,
        verbose: str | int = 0,
    ) -> keras.callbacks.History:
        """Fits the head (and, with `train_composition`, the composition); returns a Keras `History`.

        Takes what `Trainer.fit` takes: `x` labelled data, or texts with
        their labels `y`. On a frozen composition the head is solved in
        closed form from each text's features, computed once
        (`cclm.classification.closed_form`): `epochs` is then the number of
        extra readings of every text through `transforms` (none without
        transforms), `steps_per_epoch * batch_size` caps the texts read,
        `class_weight` weighs each text's squared error, and `callbacks` see
        one epoch whose logs are the history's. The history and the model
        card hold the leave-one-out accuracy (`loo_accuracy`), and with
        validation data its accuracy and loss, never an accuracy on the
        texts the head was fitted to.
        Otherwise, `Trainer.fit`.
        """
        if not self.closed_form:
            shared = () if self.train_composition else (self.composed.embedder, *self.composed.towers)
            with frozen_while(shared):  # the composition's own flags come back: its pretrainers still train it
                return Trainer.fit(self, x, y, epochs, steps_per_epoch, batch_size, validation_data,
                                   validation_split, class_weight, callbacks, verbose)
        check_fit_options(epochs, batch_size, steps_per_epoch)
        data, validation_data = fit_data(x, y, True, validation_data, validation_split, type(self).__name__)
        limit = steps_per_epoch * (batch_size or self.batch_size) if steps_per_epoch else None
        return fit_closed_form(self, data, validation_data, epochs, limit, class_weight, verbose, callbacks)

    # ------------------------------------------------------- saving & loading
    def get_config(self) -> dict[str, Any]:
        return {
            "labels": self.labels,
            "pooling": self.pooling,
            "normalize": self.normalize,
            "train_composition": self.train_composition,
            "ngrams": self.ngrams,
            "ngram_buckets": self.ngram_buckets,
            "ngram_length": self.ngram_length,
            **({"ngram_hash_ids": self.ngram_hash_ids} if self.ngram_hash_ids is not None else {}),
            "views": self.views,
            "optimizer": self.optimizer if isinstance(self.optimizer, str) else keras.optimizers.serialize(self.optimizer)["class_name"],
            "learning_rate": self.learning_rate,
            "batch_size": self.batch_size,
            "text_column": self.text_column,
            "label_column": self.label_column,
            "seed": self.seed,
            "name": self.name,
        }

    def _composition_fingerprint(self) -> str:
        return fingerprint({}, self.composed.id_model.get_weights())

    def manifest(self) -> dict:
        self._require_built()
        if getattr(self, "_fitted_on", None) not in (None, self._composition_fingerprint()):
            raise ValueError(f"The composition's weights changed after {self.name!r} was fitted on them (a "
                             "pretrainer trained one of its parts?), so its head no longer matches what it reads. "
                             "Fit it again before saving, or fine-tune it with train_composition=True.")
        self.card["labels"] = self.labels
        return super().manifest()

    def _interface(self) -> tuple[dict, dict]:
        return (
            {"texts": {"dtype": "string", "shape": [None]}},
            {"logits": {"dtype": "float32", "shape": [None, len(self.labels)]}},
        )

    def _manifest_fields(self) -> dict[str, Any]:
        return {
            "embedder_fingerprint": self.composed.embedder.fingerprint,
            "parameters": {"composition": self.composed.id_model.count_params(), "head": self.head.count_params() + (
                self.ngram_logits.count_params() if self.ngram_logits is not None else 0)},
            "head_reads": self.head_reads,  # what prediction, the .keras file and export compute
        }

    def _save_payload(self, directory: Path) -> None:
        self.composed.save(directory / COMPOSED_DIR)
        self.preprocessor.save(directory / PREPROCESSOR_DIR)
        self.head.save_weights(directory / HEAD_WEIGHTS)
        if self.ngram_logits is not None:
            self.ngram_logits.save_weights(directory / NGRAM_WEIGHTS)

    @classmethod
    def _from_saved(cls, directory: Path, manifest: dict) -> TextClassifier:
        composed = ComposedModel.load(directory / COMPOSED_DIR)
        if composed.embedder.fingerprint != manifest.get("embedder_fingerprint"):
            raise ComponentError(f"{directory}: the composition is not the one the head was trained on; save it again.")
        preprocessor = Preprocessor.load(directory / PREPROCESSOR_DIR)
        # Classifiers saved before `normalize`, `ngrams` and `ngram_length` existed have heads without them.
        config = {"normalize": False, "ngrams": 0, "ngram_length": None, **manifest["config"]}
        with built_from(directory):  # the loaded composition is its own: built frozen, so not copied
            classifier = cls(composed, preprocessor=preprocessor, **{**config, "train_composition": False})
        classifier.train_composition = bool(config.get("train_composition", False))
        load_weights_checked(classifier.head, directory / HEAD_WEIGHTS)
        if classifier.ngram_logits is not None:
            load_weights_checked(classifier.ngram_logits, directory / NGRAM_WEIGHTS)
        return classifier

    def __repr__(self) -> str:
        return f"TextClassifier({self.name!r}, labels={self.labels}, on {self.composed!r})"
