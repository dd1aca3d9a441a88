"""The model card (`README.md`) written beside every component's manifest.

Example:
>>> card = render_card({"name": "docs-en", "kind": "embedder", "library_version": "0.1.0",
...     "keras_version": "3", "tensorflow_version": "2", "created": "today",
...     "inputs": {}, "outputs": {}, "card": {"metrics": {"accuracy": 0.9}}})
>>> card.splitlines()[0], "- accuracy: 0.9" in card
('# docs-en', True)
"""

from __future__ import annotations

import json


def render_card(manifest: dict) -> str:
    """The model card (`README.md`) for a manifest: plain Markdown."""
    card = manifest.get("card", {})
    lines = [
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
    lines += ["## Metrics", ""]
    if card.get("metrics"):
        lines += [f"- {key}: {value}" for key, value in card["metrics"].items()]
    else:
        lines.append("None measured.")
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
