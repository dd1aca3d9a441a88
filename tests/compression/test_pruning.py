"""`prune`: exact fractions per chosen weight, the rest untouched, a smaller saved directory that loads back exactly."""

from __future__ import annotations

import numpy as np
import pytest

from cclm.compression import prunable_weights, prune, sparsity


def directory_bytes(path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


@pytest.fixture(scope="module")
def pruned(tiny_classifier):
    return prune(tiny_classifier, 0.7, layers=["tower"])


def test_every_chosen_weight_loses_exactly_its_fraction_and_nothing_else_changes(tiny_classifier, pruned):
    before = {name: np.asarray(v.value) for name, v in prunable_weights(tiny_classifier).items()}
    after = {name: np.asarray(v.value) for name, v in prunable_weights(pruned).items()}
    chosen = [name for name in after if name.startswith("tower/")]
    assert len(chosen) >= 5
    for name in chosen:
        zeroed = after[name] == 0
        assert (before[name] != 0).all() and zeroed.sum() == round(0.7 * before[name].size), name
        # l1: every weight zeroed was no larger than every weight kept
        assert np.abs(before[name][zeroed]).max() <= np.abs(before[name][~zeroed]).min()
    for name in after.keys() - set(chosen):
        np.testing.assert_array_equal(after[name], before[name])
    assert all(share == 0 for name, share in sparsity(tiny_classifier, ["tower"]).items())  # the original is intact


def test_random_pruning_is_exact_and_seeded(tiny_classifier):
    embedder = tiny_classifier.composed.embedder
    first, second, other = (prune(embedder, 0.3, "random", ["embedder"], seed=s) for s in (1, 1, 2))
    masks = [{n: np.asarray(v.value) == 0 for n, v in prunable_weights(p, ["embedder"]).items()} for p in (first, second, other)]
    for name, mask in masks[0].items():
        assert mask.sum() == round(0.3 * mask.size)
        np.testing.assert_array_equal(mask, masks[1][name])
    assert any((masks[0][n] != masks[2][n]).any() for n in masks[0])


def test_pruned_classifier_saves_smaller_and_loads_back_exactly(tiny_classifier, pruned, tmp_path):
    original = directory_bytes(tiny_classifier.save(tmp_path / "original"))
    path = pruned.save(tmp_path / "pruned")
    assert directory_bytes(path) < original
    loaded = type(pruned).load(path)
    for name, variable in prunable_weights(pruned).items():
        np.testing.assert_array_equal(np.asarray(prunable_weights(loaded)[name].value), np.asarray(variable.value))
    assert loaded.weights_compression == "gzip" and loaded.card["pruned"]["fraction"] == 0.7


def test_wrong_arguments_name_the_fix(tiny_classifier):
    with pytest.raises(ValueError, match="name a part"):
        prune(tiny_classifier, 0.5, layers=["no_such_layer"])
    with pytest.raises(ValueError, match="from 0 to 1"):
        prune(tiny_classifier, 1.5)
    with pytest.raises(ValueError, match="method="):
        prune(tiny_classifier, 0.5, method="l2")


def test_a_meaning_pretrainer_prunes_its_table_and_the_card_names_the_parts(tiny_classifier, tmp_path):
    from cclm.pretraining import MeaningPretrainer, Teacher

    meaning = tiny_classifier.composed.towers[1]
    teacher = Teacher(lambda texts: np.ones((len(texts), 4), "float32"), "ones", cache_dir=None, progress=False)
    pretrainer = MeaningPretrainer(tiny_classifier.preprocessor, teacher, tower=meaning, name="meaning")
    smaller = prune(pretrainer, 0.5)  # no embedder and no head: the table alone
    assert list(sparsity(smaller)) == ["meaning/meaning/table"] and sparsity(smaller)["meaning/meaning/table"] == 0.5
    assert smaller.card["pruned"]["layers"] == "all"
    assert prune(tiny_classifier, 0.2, layers="head").card["pruned"]["layers"] == ["head"]  # one name, not its letters
    assert prune(tiny_classifier, 0.2, layers=[]).card["pruned"]["layers"] == []  # nothing chosen, nothing pruned
