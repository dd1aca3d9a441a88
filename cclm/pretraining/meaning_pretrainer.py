"""`MeaningPretrainer`: distils a sentence encoder into a `MeaningTower`, words first, then sentences."""

from __future__ import annotations

import time
from collections.abc import Sequence
from numbers import Integral, Real
from pathlib import Path
from typing import Any, ClassVar

import keras
import numpy as np

import cclm.pretraining.static_distillation as solver
from cclm.components import (
    Component,
    built_from,
    load_weights_checked,
    register_component,
)
from cclm.components.files import PREPROCESSOR_DIR, TOWER_WEIGHTS
from cclm.components.model_like import ModelLike
from cclm.data.texts import TextData, iter_texts
from cclm.keras_objects import keras_name, unique_name
from cclm.layers.word_ngrams import word_codes
from cclm.models.freezing import set_trainable
from cclm.models.meaning_tower import MeaningTower
from cclm.models.tower import tower_config, tower_from_config
from cclm.pipelines.augmentation import Augmentor
from cclm.preprocessing.preprocessor import Preprocessor
from cclm.pretraining.teacher import Teacher

DEFAULT_MEANING_OPTIONS = {"buckets": 2**17, "output_dim": 256, "min_n": 3, "max_n": 5, "table_dtype": "int8"}
_WORD_LENGTH = 64  # ids read of a single word
_HELD_OUT = 0.05  # the share of sentences kept out of the fit, to measure it


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return float(np.mean((a * b).sum(axis=1) / np.maximum(norms, 1e-12)))


@register_component("meaning_pretrainer")
class MeaningPretrainer(ModelLike, Component):
    """A `MeaningTower` learns what a sentence encoder (the teacher) gives, from unlabelled text.

    `fit(texts)` runs in two stages, each solved in closed form
    (`cclm.pretraining.static_distillation`), as Model2Vec distils a
    sentence encoder and then fits it to sentences ("tokenlearn"):

    1. **Words.** The `vocabulary_size` most frequent words of the texts
       (seen `min_count` times or more) go through the teacher alone; their
       vectors are reduced to `output_dim` principal axes and weighed by
       rarity (`sif_coefficient`); the table is fitted so that each word's
       n-gram rows average to its vector, and a one-edit misspelling of a
       `typo_rate` share of the words to the same vector.
    2. **Sentences.** Up to `sentences` of the texts (or of
       `fit(sentence_texts=)`) go through the teacher; the table is fitted
       to their vectors, staying near the stage-one table
       (`sentence_strength`), each text also fitted once with typos at each
       rate of `sentence_typos` per character (`Augmentor.typos`:
       substitutions, deletions, insertions, swaps, as people make them).
       `_HELD_OUT` of them measure the fit: the history's `cosine` (student
       against teacher, before and after).

    The teacher is any callable `list[str] -> array (n, d)` (e.g.
    `SentenceTransformer(...).encode`) wrapped in a `Teacher`, which caches
    its vectors on disk; or, for `datasets` data, a column of precomputed
    sentence vectors (`vectors_column`; stage one is then skipped unless a
    teacher is given too). The tower reads the preprocessor's ids and
    composes with any embedder of that preprocessor; using it needs neither
    the teacher nor its libraries.

    Args:
        preprocessor: the fitted `Preprocessor` whose ids the tower reads.
        teacher: a `Teacher`, or None with `vectors_column`.
        tower_options: `MeaningTower` keywords over `DEFAULT_MEANING_OPTIONS`.
        vocabulary_size, min_count: the words of stage one.
        sif_coefficient: a word of probability p weighs `a / (a + p)`.
        typo_rate: the share of words also fitted misspelt (stage one).
        sentence_typos: typos per character (stage two): a rate, or a
            sequence of rates, one misspelt copy of each text per rate; 0 or
            () fits no copy.
        sentences: the most texts of stage two, drawn at random (0 skips it).
        strength: stage one's ridge strength, relative to the data.
        sentence_strength: how strongly stage two keeps to stage one's table.
        text_column, vectors_column: columns of `datasets` data.
        seed: the typos and the held-out draw.
        name: a name for saved components and model cards; by default "meaning",
            made unique as Keras names layers ("meaning_1", ...).

    Example:
    >>> import numpy as np
    >>> prep = Preprocessor().fit(["a cat sat", "a dog ran"], progress=False)
    >>> def encode(texts):  # a stand-in teacher: two made-up dimensions
    ...     return np.array([[t.count("a"), len(t)] for t in texts], "float32")
    >>> teacher = Teacher(encode, "counts", cache_dir=None, progress=False)
    >>> meaning = MeaningPretrainer(prep, teacher, tower_options={"buckets": 256, "output_dim": 2},
    ...                             min_count=1, sentences=0)
    >>> history = meaning.fit(["a cat sat", "a dog ran"] * 4, verbose=0)
    >>> tuple(meaning.model(prep.encode(["a cat"])).shape)  # composes: a vector per position
    (1, 256, 2)
    """

    component_kind: ClassVar[str] = "meaning_pretrainer"
    provides_tower: ClassVar[bool] = True

    def __init__(
        self, preprocessor: Preprocessor, teacher: Teacher | None = None, tower: MeaningTower | None = None,
        tower_options: dict[str, Any] | None = None, vocabulary_size: int = 40_000, min_count: int = 2,
        sif_coefficient: float = 1e-3, typo_rate: float = 1.0, sentences: int = 20_000, strength: float = 0.3,
        sentence_strength: float = 1.0, sentence_typos: float | Sequence[float] = 0.1, text_column: str = "text",
        vectors_column: str | None = None, seed: int = 0, name: str | None = None,
    ):
        if not preprocessor.characters:
            raise ValueError("The preprocessor is not fitted; fit it first (the tower reads its ids).")
        if teacher is not None and not isinstance(teacher, Teacher):
            raise TypeError(f"teacher is a {type(teacher).__name__}; wrap the encoder: Teacher(model.encode, "
                            "name='its name').")
        if not 0 <= typo_rate <= 1:
            raise ValueError(f"typo_rate={typo_rate!r}; use a share between 0 and 1.")
        if isinstance(sentences, bool) or not isinstance(sentences, Integral) or sentences < 0:
            raise ValueError(f"sentences={sentences!r}; give the texts fitted in stage two, an int >= 0 (0: words only).")
        rates = (sentence_typos,) if isinstance(sentence_typos, Real) else tuple(sentence_typos)
        if not all(isinstance(rate, Real) and 0 <= rate <= 1 for rate in rates):
            raise ValueError(f"sentence_typos={sentence_typos!r}; use typos per character between 0 and 1 (e.g. 0.1), "
                             "or a sequence of them (one copy of each text per rate).")
        self.preprocessor = preprocessor
        self.teacher = teacher
        self.tower_options = {**DEFAULT_MEANING_OPTIONS, **(tower_options or {})}
        self.vocabulary_size = int(vocabulary_size)
        self.min_count = int(min_count)
        self.sif_coefficient = float(sif_coefficient)
        self.typo_rate = float(typo_rate)
        self.sentences = int(sentences)
        self.strength = float(strength)
        self.sentence_strength = float(sentence_strength)
        self.sentence_typos = tuple(float(rate) for rate in rates if rate)
        self.text_column = text_column
        self.vectors_column = vectors_column
        self.seed = seed
        self.name = name = name or unique_name("meaning")  # Keras-style: two unnamed ones compose
        self.embedder = None  # reads ids: no embedder of its own
        self.tower = tower or MeaningTower(word_codes(preprocessor), name=f"{keras_name(name)}_tower",
                                           **self.tower_options)
        if self.tower.vocab_size != preprocessor.vocab_size:
            raise ValueError(f"The tower reads {self.tower.vocab_size} ids, the preprocessor makes "
                             f"{preprocessor.vocab_size}; build it with word_codes(preprocessor).")
        self.card: dict[str, Any] = {}

    @property
    def is_built(self) -> bool:
        return True

    @property
    def model(self) -> MeaningTower:
        """The composable tower: `ComposedModel(embedder, [meaning.model, ...])`."""
        return self.tower

    def _keras_model(self) -> keras.Model:
        texts = keras.Input(shape=(), dtype="string", name="texts")
        length = self.preprocessor.sequence_length or 512
        return keras.Model(texts, self.tower(self.preprocessor.as_layer(length)(texts)), name=f"{self.name}_vectors")

    def freeze(self) -> None:
        """Marks the tower's table not trainable (in compositions fine-tuned by gradient)."""
        set_trainable(self.tower, False)

    def unfreeze(self) -> None:
        """Marks the tower's table trainable again."""
        set_trainable(self.tower, True)

    # ------------------------------------------------------------- fitting
    def _encode(self, texts: list[str], length: int) -> np.ndarray:
        return self.preprocessor.encode(texts, length)

    def _sentence_data(self, data: TextData) -> tuple[list[str], np.ndarray | None]:
        if self.vectors_column is None:
            texts = list(dict.fromkeys(iter_texts(data, self.text_column)))
            return texts, None
        if not hasattr(data, "select_columns"):
            raise TypeError(f"vectors_column={self.vectors_column!r} reads a `datasets.Dataset`; got a "
                            f"{type(data).__name__}. Pass a Dataset with that column, or a teacher.")
        rows = data.select_columns([self.text_column, self.vectors_column])
        texts = list(rows[self.text_column])
        try:
            vectors = np.asarray(rows[self.vectors_column], "float32")
        except ValueError as error:  # rows of different lengths
            raise ValueError(f"The column {self.vectors_column!r} holds vectors of different lengths ({error}); "
                             "give every text a vector of the same width.") from None
        if vectors.ndim != 2 or len(vectors) != len(texts):
            raise ValueError(f"The column {self.vectors_column!r} gives an array of shape {vectors.shape} for "
                             f"{len(texts)} texts; give one vector (a list of floats) per text.")
        bad = np.flatnonzero(~np.isfinite(vectors).all(axis=1))
        if len(bad):
            raise ValueError(f"The column {self.vectors_column!r} holds {len(bad)} vector(s) that are not finite "
                             f"(NaN or inf), e.g. row {bad[0]}; drop or fix those rows.")
        return texts, vectors

    def fit(
        self, x: TextData = None, epochs: int = 1, verbose: str | int = 0, sentence_texts: TextData = None,
        **ignored: Any,
    ) -> keras.callbacks.History:
        """Fits the tower's table to the teacher on the texts of `x`; returns a one-epoch Keras `History`.

        `x`: a `list[str]`, `datasets` data (`text_column`, and
        `vectors_column` if set) or text files. `sentence_texts`, the same
        kinds: stage two's texts instead of `x`'s (e.g. texts of the domain
        the tower is for, or short ones, which the teacher encodes fast);
        stage one's words still come from `x`. `epochs` is accepted for the
        shared API; the fit is closed form and reads the data once.
        """
        if self.teacher is None and self.vectors_column is None:
            raise ValueError("No teacher: pass teacher=Teacher(model.encode, name=...), or vectors_column= for "
                             "datasets data holding the teacher's vectors.")
        started = time.perf_counter()
        texts, given = self._sentence_data(x)
        if not texts:
            raise ValueError("No text to fit on; give a non-empty list of texts, a dataset or text files.")
        counts = solver.count_words(texts)
        total = sum(counts.values())
        words = [word for word, count in counts.most_common(self.vocabulary_size) if count >= self.min_count]
        rng = np.random.default_rng(self.seed)
        pool, pool_vectors = texts, given  # stage two's texts
        if sentence_texts is not None:
            if self.teacher is None:
                raise ValueError("sentence_texts need a teacher to encode them: pass teacher=Teacher(...).")
            pool, pool_vectors = list(dict.fromkeys(iter_texts(sentence_texts, self.text_column))), None
        order = rng.permutation(len(pool))[: self.sentences] if self.sentences else np.zeros(0, "int64")
        held = order[: round(len(order) * _HELD_OUT)]
        fitted = order[len(held):]
        logs: dict[str, float] = {}
        table, axes, fit_rows = None, None, ()
        if self.teacher is not None and words:
            word_vectors = self.teacher(words)
            mean, axes = solver.principal_axes(word_vectors, self.tower.output_dim)
            targets = ((word_vectors - mean) @ axes) * solver.sif_weights(
                [counts[w] for w in words], total, self.sif_coefficient)[:, None].astype("float32")
            chosen = np.nonzero(rng.random(len(words)) < self.typo_rate)[0]
            spelled = words + solver.one_edit_typos([words[i] for i in chosen], self.seed)
            matrix = solver.bag_matrix(self.tower, self._encode(spelled, _WORD_LENGTH))
            table = solver.solve_table(matrix, np.concatenate([targets, targets[chosen]]), self.strength)
        if len(order):
            vectors = pool_vectors[order] if pool_vectors is not None else self.teacher([pool[i] for i in order])
            if axes is None:
                mean, axes = solver.principal_axes(vectors, self.tower.output_dim)
            goals = (vectors - mean) @ axes
            length = self.preprocessor.sequence_length or 512
            chosen_texts = [pool[i] for i in order]
            for copy, rate in enumerate(self.sentence_typos):  # the same vectors for copies with typos
                chosen_texts += Augmentor.typos(rate, seed=self.seed + copy)([pool[i] for i in fitted])
            goals = np.concatenate([goals, *[goals[len(held):]] * len(self.sentence_typos)])
            matrix = solver.bag_matrix(self.tower, self._encode(chosen_texts, length))
            held_rows = np.arange(len(held))
            if table is not None and len(held):
                logs["cosine_words_only"] = _cosine(solver.matrix_product(_rows(matrix, held_rows), table), goals[held_rows])
            fit_rows = np.arange(len(held), len(chosen_texts))
            fit_matrix = _rows(matrix, fit_rows)
            if table is not None:  # the sentences' scale, as the words' weighted mean gives it
                predicted = solver.matrix_product(fit_matrix, table)
                goals = goals * float((predicted * goals[fit_rows]).sum() / max((goals[fit_rows] ** 2).sum(), 1e-12))
            table = solver.solve_table(fit_matrix, goals[fit_rows], self.sentence_strength if table is not None
                                       else self.strength, start=table)
            if len(held):
                logs["cosine"] = _cosine(solver.matrix_product(_rows(matrix, held_rows), table), goals[held_rows])
        if table is None:
            raise ValueError(f"Nothing to fit: no word is found {self.min_count} times or more in these "
                             f"{len(texts):,} texts, and sentences={self.sentences}. Lower min_count, give more "
                             "text, or fit sentences (sentences > 0). The table is unchanged.")
        self.tower.set_table(table)
        seconds = time.perf_counter() - started
        self.card["trained_on"] = f"{len(words):,} words and {len(fitted):,} sentences of {len(texts):,} texts"
        self.card["training"] = {
            "teacher": self.teacher.name if self.teacher is not None else f"the column {self.vectors_column!r}",
            "words": len(words), "sentences": len(fitted),
            "sentence_rows": len(fit_rows),  # each fitted text, then its copies with typos
            "seconds": round(seconds, 1),
            **{key: round(value, 4) for key, value in logs.items()},
        }
        history = keras.callbacks.History()
        history.history = {key: [value] for key, value in logs.items()}
        history.epoch = [0]
        if verbose:
            print(f"{self.name}: {self.card['trained_on']} in {seconds:.0f} s"
                  + "".join(f", {key} {value:.3f}" for key, value in logs.items()))
        return history

    # ------------------------------------------------------ saving & loading
    def get_config(self) -> dict[str, Any]:
        return {
            "tower_options": tower_config(self.tower), "vocabulary_size": self.vocabulary_size,
            "min_count": self.min_count, "sif_coefficient": self.sif_coefficient, "typo_rate": self.typo_rate,
            "sentences": self.sentences, "strength": self.strength, "sentence_strength": self.sentence_strength,
            "sentence_typos": list(self.sentence_typos),
            "text_column": self.text_column, "vectors_column": self.vectors_column, "seed": self.seed,
            "name": self.name,
        }

    def _interface(self) -> tuple[dict, dict]:
        return (
            {"ids": {"dtype": "int32", "shape": [None, None]}},
            {"vectors": {"dtype": "float32", "shape": [None, None, self.tower.output_dim]}},
        )

    def _manifest_fields(self) -> dict[str, Any]:
        return {"parameters": {"tower": self.tower.count_params()}}

    def _save_payload(self, directory: Path) -> None:
        self.tower.save_weights(directory / TOWER_WEIGHTS)
        self.preprocessor.save(directory / PREPROCESSOR_DIR)

    @classmethod
    def _from_saved(cls, directory: Path, manifest: dict) -> MeaningPretrainer:
        preprocessor = Preprocessor.load(directory / PREPROCESSOR_DIR)
        config = dict(manifest["config"])
        with built_from(directory):
            tower = tower_from_config(config.pop("tower_options"))
            pretrainer = cls(preprocessor, tower=tower, **config)
        load_weights_checked(tower, directory / TOWER_WEIGHTS)
        return pretrainer

    def __repr__(self) -> str:
        return f"MeaningPretrainer({self.name!r}, {self.tower.bag.buckets} buckets x {self.tower.output_dim})"


def _rows(matrix: Any, rows: np.ndarray) -> Any:
    """The sparse matrix's `rows` (consecutive, from the first chosen), as a sparse matrix."""
    import tensorflow as tf

    if not len(rows):
        return tf.sparse.slice(matrix, [0, 0], [0, matrix.shape[1]])
    return tf.sparse.slice(matrix, [int(rows[0]), 0], [len(rows), matrix.shape[1]])
