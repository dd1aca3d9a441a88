"""`prune`: a copy of a component with a fraction of its chosen weights set to zero, saved compressed.

As PyTorch's `torch.nn.utils.prune.l1_unstructured` / `random_unstructured`,
per weight tensor: in every chosen kernel or embedding table (a variable of
two or more dimensions; biases and normalization scales are left alone)
exactly `round(fraction * size)` entries become 0, those of least magnitude
(`method="l1"`, ties broken by position) or drawn at random (`"random"`,
seeded). The pruned component saves its weights gzip-compressed
(`Component.weights_compression`), so its directory and archive shrink with
the zeros, and it loads back with the very same values.

Parts are named as a composition names them: `"embedder"`, each tower by
its name, and for a `TextClassifier` also `"head"` and `"ngrams"` (its
n-gram logits); `"part/path"` narrows to the variables of a part whose Keras
path starts with `path` (e.g. `"embedder/character_embedding"`).

Example:
>>> import numpy as np
>>> from cclm import Embedder
>>> embedder = Embedder(16, 20, hidden_dim=8, num_blocks=1)
>>> pruned = prune(embedder, 0.5, layers=["embedder/conv_block_0"])
>>> [(path, round(share, 3)) for path, share in sparsity(pruned).items() if share]
[('embedder/conv_block_0/conv_in/kernel', 0.5), ('embedder/conv_block_0/conv_out/kernel', 0.5)]
>>> float(np.mean(embedder.get_weights()[0] == 0))  # the original keeps its weights
0.0
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np

from cclm.components import Component
from cclm.components.compressed_weights import WEIGHTS_COMPRESSION

METHODS = ("l1", "random")


def model_parts(component: Any) -> dict[str, keras.Model]:
    """The Keras models a component is made of, by the names `prune(layers=...)` takes."""
    from cclm.models.composed_model import ComposedModel

    if isinstance(component, ComposedModel):
        return {"embedder": component.embedder, **{tower.name: tower for tower in component.towers}}
    if hasattr(component, "composed") and hasattr(component, "head"):  # a TextClassifier
        parts = {**model_parts(component.composed), "head": component.head}
        if getattr(component, "ngram_logits", None) is not None:
            parts["ngrams"] = component.ngram_logits
        return parts
    if hasattr(component, "tower") and hasattr(component, "embedder"):  # a pretrainer
        if component.tower is None:
            raise ValueError(f"The pretrainer {component.name!r} is not built yet; fit it (or load it) first.")
        parts = {"embedder": component.embedder, component.tower.name: component.tower,
                 "head": getattr(component, "head", None)}  # a MeaningPretrainer: no embedder, no head
        return {name: part for name, part in parts.items() if part is not None}
    if isinstance(component, keras.Model):
        return {"embedder" if getattr(component, "component_kind", None) == "embedder" else component.name: component}
    raise TypeError(f"A {type(component).__name__} has no weights to prune; give an Embedder, a ComposedModel, "
                    "a TextClassifier or a pretrainer.")


def prunable_weights(component: Any, layers: Sequence[str] | None = None) -> dict[str, keras.Variable]:
    """The variables `prune` changes, by "part/path": every kernel and table of the chosen parts (all, by default).

    Raises:
        ValueError: a name in `layers` that picks no prunable variable (the message lists the parts).
    """
    chosen: dict[str, keras.Variable] = {}
    for part, model in model_parts(component).items():
        for variable in model.weights:
            if len(variable.shape) >= 2 and variable.name != "bias":  # attention biases are 2-D
                chosen.setdefault(f"{part}/{variable.path}", variable)  # a layer shared by two parts counts once
    if layers is None:
        return chosen
    if isinstance(layers, str):
        layers = [layers]
    picked: dict[str, keras.Variable] = {}
    for name in layers:
        found = {key: v for key, v in chosen.items() if key == name or key.startswith(name.rstrip("/") + "/")}
        if not found:
            parts = sorted({key.split("/", 1)[0] for key in chosen})
            raise ValueError(f"layers names {name!r}, which holds no kernel or table of this {type(component).__name__};"
                             f" name a part ({', '.join(map(repr, parts))}) or 'part/path', e.g. "
                             f"{next(iter(chosen), 'embedder/character_embedding')!r}.")
        picked.update(found)
    return picked


def pruning_mask(values: np.ndarray, fraction: float, method: str, rng: np.random.Generator) -> np.ndarray:
    """A boolean mask, True where `values` become 0: exactly `round(fraction * values.size)` entries."""
    count = round(fraction * values.size)
    flat = np.zeros(values.size, bool)
    if method == "l1":
        order = np.argsort(np.abs(values.astype("float32")).ravel(), kind="stable")
    else:
        order = rng.permutation(values.size)
    flat[order[:count]] = True
    return flat.reshape(values.shape)


def _copy(component: Any) -> Any:
    """An independent copy of `component`: saved and loaded back (the one path every kind supports exactly)."""
    with tempfile.TemporaryDirectory(prefix="cclm-prune-") as scratch:
        return type(component).load(component.save(Path(scratch) / "component"))


def prune(
    component: Any, fraction: float, method: str = "l1", layers: Sequence[str] | None = None, seed: int = 0,
) -> Any:
    """A copy of `component` with `fraction` of each chosen weight tensor set to 0 (see the module docstring).

    Args:
        component: an `Embedder`, a `ComposedModel`, a `TextClassifier` or a pretrainer.
        fraction: the share of every chosen tensor's entries to zero, in [0, 1].
        method: `"l1"` (smallest magnitude first) or `"random"`.
        layers: parts or "part/path" prefixes to prune (`prunable_weights`);
            None: every kernel and table of the component.
        seed: the draw of `method="random"`.

    Returns:
        A component of the same kind, saving its weights compressed; `component` is not changed.
    """
    if not isinstance(fraction, (int, float)) or isinstance(fraction, bool) or not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction={fraction!r}; use a number from 0 to 1 (the share of weights set to zero).")
    if method not in METHODS:
        raise ValueError(f"method={method!r}; use one of {METHODS}.")
    if not isinstance(component, Component):
        raise TypeError(f"prune takes a cclm component; got a {type(component).__name__}.")
    prunable_weights(component, layers)  # bad names fail before the copy
    pruned = _copy(component)
    rng = np.random.default_rng(seed)
    chosen = prunable_weights(pruned, layers)
    for variable in chosen.values():
        values = keras.ops.convert_to_numpy(variable.value)
        values = np.where(pruning_mask(values, fraction, method, rng), np.zeros((), values.dtype), values)
        variable.assign(values)
    parts = model_parts(pruned)
    for part in parts.values():  # towers composed with a pruned embedder go on reading it: it is theirs now
        if getattr(part, "embedder_fingerprint", None) is not None and "embedder" in parts:
            part.embedder_fingerprint = parts["embedder"].fingerprint
    pruned.weights_compression = WEIGHTS_COMPRESSION
    named = [layers] if isinstance(layers, str) else layers
    record = {"fraction": fraction, "method": method, "layers": "all" if named is None else list(named),
              "weights zeroed": int(sum(round(fraction * int(np.prod(v.shape))) for v in chosen.values()))}
    pruned.card = {**(getattr(pruned, "card", None) or {}), "pruned": record}
    return pruned


def sparsity(component: Any, layers: Sequence[str] | None = None) -> dict[str, float]:
    """The share of zeros in each prunable weight tensor ("part/path" -> share), e.g. to check a pruned component."""
    return {name: float(np.mean(keras.ops.convert_to_numpy(variable.value) == 0))
            for name, variable in prunable_weights(component, layers).items()}
