"""The model card (`README.md`) written beside every component's manifest.

It opens with the Hugging Face Hub's YAML metadata (`huggingface_hub.ModelCardData`:
`library_name: cclm`, tags with the component's kind, the names of its metrics,
`datasets`, `language` and `license` where the card dict has them, and a `model-index`
of measured results: the last fit's validation metrics and every `evaluations` entry,
`{dataset name: {metric: value}}`), so a component uploaded to the Hub is indexed
there; Markdown for people follows.

Example:
>>> card = render_card({"name": "docs-en", "kind": "embedder", "library_version": "0.1.0",
...     "keras_version": "3", "tensorflow_version": "2", "created": "today",
...     "inputs": {}, "outputs": {}, "card": {"metrics": {"accuracy": 0.9}}})
>>> from huggingface_hub import ModelCard
>>> ModelCard(card).data.library_name, "# docs-en" in card, "- accuracy: 0.9" in card
('cclm', True, True)
>>> card = render_card({"name": "langs", "kind": "text_classifier", "library_version": "0.1.0",
...     "keras_version": "3", "tensorflow_version": "2", "created": "today", "inputs": {}, "outputs": {},
...     "card": {"metrics": {"loo_accuracy": 0.9, "val_accuracy": 0.8}, "evaluations": {"test": {"accuracy": 0.7}}}})
>>> [(r.dataset_name, r.metric_type, r.metric_value) for r in ModelCard(card).data.eval_results]
[('validation data', 'accuracy', 0.8), ('test', 'accuracy', 0.7)]
"""

from __future__ import annotations

import json
from typing import Any

TASKS = {"text_classifier": "text-classification", "categorical_pretrainer": "text-classification",
         "masked_language_pretrainer": "fill-mask", "causal_language_pretrainer": "text-generation"}
VALIDATION = "validation data"  # the dataset name of a fit's validation metrics in `model-index`


def measured_results(card: dict) -> dict[str, dict[str, float]]:
    """`{dataset name: {metric: value}}`: the last fit's validation metrics, then the card's `evaluations`."""
    validation = {key[4:]: value for key, value in (card.get("metrics") or {}).items() if key.startswith("val_")}
    return {**({VALIDATION: validation} if validation else {}), **(card.get("evaluations") or {})}


def _eval_results(manifest: dict) -> list[Any] | None:
    from huggingface_hub import EvalResult

    task = TASKS.get(manifest["kind"], manifest["kind"])
    results = [
        EvalResult(task_type=task, dataset_type=dataset, dataset_name=dataset, metric_type=metric,
                   metric_value=float(value), dataset_split="validation" if dataset == VALIDATION else None)
        for dataset, metrics in measured_results(manifest.get("card", {})).items() for metric, value in metrics.items()
        if metric != "texts"  # how many texts were measured: said in the Markdown, not a metric
    ]
    return results or None


def card_metadata(manifest: dict) -> str:
    """The card's YAML metadata for the Hugging Face Hub (without the `---` lines)."""
    from huggingface_hub import ModelCardData

    card = manifest.get("card", {})
    data = ModelCardData(
        library_name="cclm", tags=["cclm", "character-level", manifest["kind"]],
        metrics=sorted(card.get("metrics") or {}) or None, datasets=card.get("datasets") or None,
        language=card.get("language") or None, license=card.get("license") or None,
        model_name=manifest["name"], eval_results=_eval_results(manifest),
    )
    return data.to_yaml()


def render_card(manifest: dict) -> str:
    """The model card (`README.md`) for a manifest: the Hub's YAML metadata, then Markdown."""
    card = manifest.get("card", {})
    lines = [
        "---",
        card_metadata(manifest),
        "---",
        "",
        f"# {manifest['name']}",
        "",
        f"A cclm **{manifest['kind']}** component, written by cclm "
        f"{manifest['library_version']} (Keras {manifest['keras_version']}, "
        f"TensorFlow {manifest['tensorflow_version']}) on {manifest['created']}.",
        "",
    ]
    if card.get("description"):
        lines += [card["description"], ""]
    lines += ["## Trained on", "", card.get("trained_on") or "Not trained.", ""]
    if card.get("training"):
        lines += ["## Training", ""]
        lines += [f"- {key}: {value}" for key, value in card["training"].items()]
        lines.append("")
    for key, title in (("intended_uses", "Intended uses"), ("limitations", "Limitations")):
        if card.get(key):
            lines += [f"## {title}", "", str(card[key]), ""]
    lines += ["## Metrics", ""]
    if card.get("metrics"):
        lines += [f"- {key}: {value}" for key, value in card["metrics"].items()]
    else:
        lines.append("None measured.")
    for dataset, metrics in (card.get("evaluations") or {}).items():
        lines += ["", f"Evaluated on {dataset}:", *(f"- {key}: {value}" for key, value in metrics.items())]
    lines += [
        "",
        "## Interface",
        "",
        f"- inputs: `{json.dumps(manifest['inputs'], ensure_ascii=False)}`",
        f"- outputs: `{json.dumps(manifest['outputs'], ensure_ascii=False)}`",
    ]
    if manifest.get("fingerprint"):
        lines.append(f"- fingerprint: `{manifest['fingerprint']}`")
    lines += ["", "Load it with `cclm.load_component(path)`.", ""]
    return "\n".join(lines)
