import numpy as np
import pytest
import tensorflow as tf

from cclm import Preprocessor
from cclm.models.composed_model import ComposedModel
from cclm.models.embedder import Embedder
from cclm.pretraining.meaning_pretrainer import MeaningPretrainer
from cclm.pretraining.static_distillation import one_edit_typos, words_of
from cclm.pretraining.teacher import Teacher


class BagOfWordsTeacher:
    """A stand-in sentence encoder: the mean of a fixed random vector per word (what a static student can learn)."""

    def __init__(self, dimensions=16):
        self.dimensions, self.vectors, self.calls = dimensions, {}, 0

    def vector(self, word):
        if word not in self.vectors:
            seed = int.from_bytes(word.encode(), "little") % 2**32
            self.vectors[word] = np.random.default_rng(seed).normal(size=self.dimensions)
        return self.vectors[word]

    def __call__(self, texts):
        self.calls += len(texts)
        return np.stack([np.mean([self.vector(w) for w in words_of(t)] or [np.zeros(self.dimensions)], axis=0)
                         for t in texts]).astype("float32")


@pytest.fixture(scope="module")
def texts(docs_texts):
    return [t for t in docs_texts if len(t) < 400][:400]


@pytest.fixture(scope="module")
def prep(texts):
    return Preprocessor(sequence_length=256).fit(texts, progress=False)


@pytest.fixture(scope="module")
def fitted(prep, texts, tmp_path_factory):
    encoder = BagOfWordsTeacher()
    teacher = Teacher(encoder, "bag-of-words", cache_dir=tmp_path_factory.mktemp("teacher"), progress=False)
    meaning = MeaningPretrainer(prep, teacher, tower_options={"buckets": 2**14, "output_dim": 16}, sentences=300)
    history = meaning.fit(texts, verbose=0)
    return meaning, history, encoder, teacher


def test_the_student_reproduces_the_teacher_on_held_out_sentences(fitted):
    meaning, history, *_ = fitted
    assert history.history["cosine"][0] > 0.8
    assert history.history["cosine"][0] >= history.history["cosine_words_only"][0] - 0.02
    assert "bag-of-words" in meaning.card["training"]["teacher"]


def test_a_misspelt_word_lands_nearest_its_right_spelling(fitted, prep, texts):
    meaning = fitted[0]
    words = [w for w, _ in __import__("collections").Counter(w for t in texts for w in words_of(t)).most_common(300)
             if len(w) >= 6][:60]
    right = meaning.tower.text_vectors(prep.encode(words, 32)).numpy()
    wrong = meaning.tower.text_vectors(prep.encode(one_edit_typos(words, seed=5), 32)).numpy()
    right /= np.linalg.norm(right, axis=1, keepdims=True)
    wrong /= np.linalg.norm(wrong, axis=1, keepdims=True) + 1e-9
    nearest = (wrong @ right.T).argmax(axis=1)
    assert np.mean(nearest == np.arange(len(words))) > 0.4  # chance: 1 in 60


def test_a_second_fit_reads_the_teachers_vectors_from_the_disk_cache(fitted, prep, texts):
    _, _, encoder, teacher = fitted
    calls = encoder.calls
    again = Teacher(encoder, "bag-of-words", cache_dir=teacher.directory.parent, progress=False)
    MeaningPretrainer(prep, again, tower_options={"buckets": 2**14, "output_dim": 16}, sentences=300).fit(texts, verbose=0)
    assert encoder.calls == calls


def test_it_saves_loads_and_composes_with_any_embedder_of_its_preprocessor(fitted, prep, tmp_path):
    meaning = fitted[0]
    loaded = MeaningPretrainer.load(meaning.save(tmp_path / "meaning"))
    ids = prep.encode(["A text about functions and classes."])
    assert np.allclose(loaded.model(ids), meaning.model(ids))
    embedder = Embedder(vocab_size=prep.vocab_size, hidden_dim=8, num_blocks=1, max_length=256)
    composed = ComposedModel(embedder, [loaded], preprocessor=prep)
    assert not any(isinstance(layer, Embedder) for layer in composed.id_model.layers)  # no tower reads it
    vectors = composed.model(tf.constant(["A text about functions and classes."])).numpy()
    assert np.allclose(vectors[0, 0], meaning.tower.text_vectors(ids).numpy()[0], atol=1e-5)
    again = ComposedModel.load(composed.save(tmp_path / "composed"))
    assert np.allclose(again.model(tf.constant(["A text about functions and classes."])), vectors, atol=1e-6)
    from_directory = ComposedModel(embedder, [tmp_path / "meaning"], preprocessor=prep)
    assert np.allclose(from_directory.id_model(ids), composed.id_model(ids))


def test_without_a_teacher_it_says_how_to_give_one(prep):
    with pytest.raises(ValueError, match="Teacher"):
        MeaningPretrainer(prep).fit(["a text"])
    with pytest.raises(TypeError, match="Teacher\\(model.encode"):
        MeaningPretrainer(prep, teacher=lambda texts: texts)


def test_precomputed_vectors_in_a_datasets_column_train_it_without_a_teacher(prep, texts):
    import datasets

    encoder = BagOfWordsTeacher()
    rows = datasets.Dataset.from_dict({"text": texts[:200], "embedding": encoder(texts[:200]).tolist()})
    meaning = MeaningPretrainer(prep, tower_options={"buckets": 2**14, "output_dim": 16}, vectors_column="embedding",
                                sentences=200)
    history = meaning.fit(rows, verbose=0)
    assert history.history["cosine"][0] > 0.5


def test_a_vectors_column_that_cannot_train_it_is_refused_by_name(prep, texts):
    import datasets

    meaning = MeaningPretrainer(prep, tower_options={"buckets": 2**10, "output_dim": 4}, vectors_column="embedding")
    ragged = datasets.Dataset.from_dict({"text": texts[:3], "embedding": [[0.0, 1.0], [1.0], [2.0, 0.0]]})
    with pytest.raises(ValueError, match="'embedding' holds vectors of different lengths"):
        meaning.fit(ragged)
    nan = datasets.Dataset.from_dict({"text": texts[:3], "embedding": [[0.0, 1.0], [float("nan"), 1.0], [2.0, 0.0]]})
    with pytest.raises(ValueError, match="1 vector\\(s\\) that are not finite .*row 1"):
        meaning.fit(nan)
    with pytest.raises(TypeError, match="reads a `datasets.Dataset`; got a list"):
        meaning.fit(texts[:3])


def test_nothing_to_fit_and_bad_sentence_counts_are_refused_by_name(prep, texts):
    teacher = Teacher(BagOfWordsTeacher(), "bag-of-words", cache_dir=None, progress=False)
    with pytest.raises(ValueError, match="sentences=-1; give the texts fitted in stage two"):
        MeaningPretrainer(prep, teacher, sentences=-1)
    meaning = MeaningPretrainer(prep, teacher, tower_options={"buckets": 2**10, "output_dim": 4}, min_count=10**6,
                                sentences=0)
    table = meaning.tower.dense_table()
    with pytest.raises(ValueError, match="Nothing to fit: no word is found 1000000 times .* Lower min_count"):
        meaning.fit(texts[:20])
    assert np.array_equal(meaning.tower.dense_table(), table)


def test_copies_with_typos_bring_misspelt_sentences_nearer_the_teacher(prep, texts):
    from cclm.pipelines import Augmentor

    encoder = BagOfWordsTeacher()
    teacher = Teacher(encoder, "bag-of-words", cache_dir=None, progress=False)
    held, fitted = texts[:60], texts[60:]
    misspelt = Augmentor.typos(0.1, seed=5)(held)
    targets = encoder(held)
    closeness = {}
    for typos in (0.0, 0.1, (0.05, 0.15)):
        meaning = MeaningPretrainer(prep, teacher, tower_options={"buckets": 2**14, "output_dim": 16}, typo_rate=0.0,
                                    sentences=len(fitted), sentence_typos=typos, min_count=1)
        meaning.fit(fitted, verbose=0)
        rates = 0 if typos == 0.0 else 1 if typos == 0.1 else 2
        assert meaning.card["training"]["sentence_rows"] == meaning.card["training"]["sentences"] * (1 + rates)
        vectors = meaning.model.text_vectors(prep.encode(misspelt)).numpy()
        # the student's vectors live on the teacher's principal axes: compare them by a least-squares map
        mapped = vectors @ np.linalg.lstsq(vectors, targets, rcond=None)[0]
        closeness[typos] = float(np.mean(np.sum(mapped * targets, 1) / (np.linalg.norm(mapped, axis=1)
                                                                        * np.linalg.norm(targets, axis=1))))
    assert closeness[0.1] > closeness[0.0] and closeness[(0.05, 0.15)] > closeness[0.0]  # one copy per rate
    assert meaning.get_config()["sentence_typos"] == [0.05, 0.15]
    for bad in (1.5, (0.1, 1.5), ("0.1",)):
        with pytest.raises(ValueError, match="sentence_typos="):
            MeaningPretrainer(prep, teacher, sentence_typos=bad)


def test_sentence_texts_choose_stage_twos_texts_and_words_still_come_from_the_texts(prep, texts):
    class Recording(BagOfWordsTeacher):
        def __call__(self, batch):
            self.seen = getattr(self, "seen", set()) | set(batch)
            return super().__call__(batch)

    encoder = Recording()
    teacher = Teacher(encoder, "bag-of-words", cache_dir=None, progress=False)
    words_from, sentences_from = texts[:200], texts[200:300]
    meaning = MeaningPretrainer(prep, teacher, tower_options={"buckets": 2**14, "output_dim": 16}, sentences=1000)
    history = meaning.fit(words_from, sentence_texts=sentences_from, verbose=0)
    assert set(sentences_from) <= encoder.seen and not (set(words_from) - set(sentences_from)) & encoder.seen
    assert meaning.card["training"]["sentences"] == 95  # 100 texts, 5% held out to measure the fit
    assert history.history["cosine"][0] > history.history["cosine_words_only"][0]
    unread = MeaningPretrainer(prep, teacher, tower_options={"buckets": 2**14, "output_dim": 16}, sentences=1000)
    unread.fit(words_from, verbose=0)
    assert meaning.card["training"]["words"] == unread.card["training"]["words"]  # the words come from x
    import datasets

    rows = datasets.Dataset.from_dict({"text": texts[:50], "embedding": encoder(texts[:50]).tolist()})
    with pytest.raises(ValueError, match="sentence_texts need a teacher"):
        MeaningPretrainer(prep, vectors_column="embedding").fit(rows, sentence_texts=texts[50:60])


def test_a_classifier_on_the_meaning_tower_saves_loads_and_exports(fitted, prep, texts, tmp_path):
    import keras

    from cclm.classification import TextClassifier

    meaning = fitted[0]
    embedder = Embedder(vocab_size=prep.vocab_size, hidden_dim=8, num_blocks=1, max_length=256)
    labels = ["code" if ">>>" in t or "(" in t else "prose" for t in texts]
    classifier = TextClassifier(ComposedModel(embedder, [meaning], preprocessor=prep), seed=0)
    classifier.fit((texts[:200], labels[:200]), verbose=0)
    sample = texts[200:216]
    expected = classifier.predict(sample)
    again = TextClassifier.load(classifier.save(tmp_path / "classifier"))
    assert np.allclose(again.predict(sample), expected, atol=1e-5)
    classifier.save(tmp_path / "classifier.keras")
    from_file = keras.saving.load_model(tmp_path / "classifier.keras")
    assert np.allclose(np.asarray(from_file(tf.constant(sample))), expected, atol=1e-5)
    served = tf.saved_model.load(str(classifier.export(tmp_path / "served", tensorflow_text=True)))
    probabilities = served.signatures["serving_default"](texts=tf.constant(sample))["probabilities"].numpy()
    assert np.allclose(probabilities, expected, atol=1e-5)


def test_a_normalizing_tower_is_fitted_saved_and_loaded_with_unit_sentence_vectors(prep, texts, tmp_path):
    teacher = Teacher(BagOfWordsTeacher(), "bag-of-words", cache_dir=None, progress=False)
    meaning = MeaningPretrainer(prep, teacher, tower_options={"buckets": 2**12, "output_dim": 8, "normalize": True},
                                sentences=100)
    meaning.fit(texts[:150], verbose=0)
    loaded = MeaningPretrainer.load(meaning.save(tmp_path / "meaning"))
    assert loaded.tower.normalize and loaded.get_config()["tower_options"]["normalize"] is True
    vectors = loaded.tower.text_vectors(prep.encode(texts[:5])).numpy()
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_too_little_text_for_the_width_says_how_many_vectors_there_are_and_what_to_do(prep):
    teacher = Teacher(BagOfWordsTeacher(), "bag-of-words", cache_dir=None, progress=False)
    meaning = MeaningPretrainer(prep, teacher, tower_options={"buckets": 2**10, "output_dim": 4}, sentences=10)
    with pytest.raises(ValueError, match=r"output_dim=4 needs at least 4 teacher vectors .* there are 2 of \d+\. "
                                         r"Fit on more text .* output_dim <= 2"):
        meaning.fit(["!!! ???", "... ,,,"])
