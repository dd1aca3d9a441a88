import keras
import numpy as np
import pytest
import tensorflow as tf

from cclm.pretraining.subword_head import SampledSoftmaxLoss, SubwordAccuracy, SubwordHead

VOCAB = 300


@pytest.fixture()
def head():
    keras.utils.set_random_seed(0)
    head = SubwordHead(hidden_dim=16, vocab_size=VOCAB)
    head.build((None, None, 8))
    return head


def full_cross_entropy(head, features, labels, weights):
    logits = head.logits(head(features))
    losses = keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
    return float(tf.reduce_sum(losses * weights) / tf.reduce_sum(weights))


def test_sampled_softmax_training_lowers_the_full_cross_entropy(head):
    rng = np.random.default_rng(0)
    # Each label has its own feature direction: a learnable task over the whole vocabulary.
    labels = rng.integers(0, VOCAB, size=(32, 12))
    directions = rng.normal(size=(VOCAB, 8)).astype("float32")
    features = directions[labels] + 0.1 * rng.normal(size=(32, 12, 8)).astype("float32")
    weights = (rng.random((32, 12)) < 0.5).astype("float32")
    loss = SampledSoftmaxLoss(head, num_sampled=32)
    optimizer = keras.optimizers.Adam(1e-2)
    before = full_cross_entropy(head, features, labels, weights)
    embeddings_before = keras.ops.convert_to_numpy(head.output_embeddings)
    for _ in range(150):
        with tf.GradientTape() as tape:
            value = loss(labels, head(features), sample_weight=weights)
        variables = [v.value for v in head.trainable_variables]
        optimizer.apply_gradients(zip(tape.gradient(value, variables), head.trainable_variables))
    after = full_cross_entropy(head, features, labels, weights)
    assert after < 0.5 * before
    assert not np.allclose(keras.ops.convert_to_numpy(head.output_embeddings), embeddings_before)  # trained by the loss alone


def test_subword_accuracy_equals_accuracy_of_full_logits_at_weighted_positions(head):
    rng = np.random.default_rng(1)
    features = rng.normal(size=(4, 10, 8)).astype("float32")
    hidden = head(features)
    logits = np.array(head.logits(hidden))
    labels = np.where(rng.random((4, 10)) < 0.5, logits.argmax(-1), rng.integers(0, VOCAB, (4, 10)))
    weights = (rng.random((4, 10)) < 0.4) * rng.random((4, 10))
    metric = SubwordAccuracy(head)
    metric.update_state(labels, hidden, sample_weight=weights)
    correct = (logits.argmax(-1) == labels).astype(float)
    assert float(metric.result()) == pytest.approx((correct * weights).sum() / weights.sum(), rel=1e-5)
    assert not metric.variables or all("embeddings" not in v.path for v in metric.variables)


def test_sampled_softmax_checks_num_sampled(head):
    with pytest.raises(ValueError, match="num_sampled=300"):
        SampledSoftmaxLoss(head, num_sampled=VOCAB)
