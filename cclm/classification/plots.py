"""PNG figures: training curves from a model card, and accuracy against typo rate from a `NoiseReport`.

Needs matplotlib (`pip install 'cclm[plot]'`); it draws off-screen (the
"Agg" backend), so it works on servers with no display. Files are written
atomically. `cclm evaluate MODEL DATA --plot DIR` writes both figures.

Example:
>>> from cclm.classification.noise_report import NoiseReport
>>> report = NoiseReport(model="demo", texts=10, rates=[0.0, 0.1], accuracy=[0.9, 0.8])
>>> plot_noise(report, "/tmp/cclm-doc-noise.png").name
'cclm-doc-noise.png'
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cclm.components.files import atomic_file


def pyplot() -> Any:
    """matplotlib's `pyplot`, drawing off-screen; an `ImportError` naming the extra when matplotlib is missing."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError("Plots need matplotlib: pip install 'cclm[plot]' (or matplotlib).") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(figure: Any, path: str | os.PathLike) -> Path:
    path = Path(path).expanduser().absolute()
    try:
        with atomic_file(path) as stream:
            figure.savefig(stream, format="png", dpi=120, bbox_inches="tight")
    finally:
        pyplot().close(figure)
    return path


def plot_training(card: dict[str, Any], path: str | os.PathLike, title: str = "Training") -> Path:
    """Every metric of the card's per-epoch `history`, one panel per metric (with its `val_` twin).

    Raises:
        ValueError: when the card holds no history (the component was never trained).
    """
    history = card.get("history") or {}
    if not history:
        raise ValueError(f"{title}: the model card holds no training history; train the component with cclm first.")
    names = [key for key in history if not key.startswith("val_")]
    plt = pyplot()
    figure, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.4), squeeze=False)
    for axis, name in zip(axes[0], names):
        epochs = range(1, len(history[name]) + 1)
        axis.plot(epochs, history[name], marker="o", markersize=3, label="training")
        if f"val_{name}" in history:
            axis.plot(range(1, len(history[f"val_{name}"]) + 1), history[f"val_{name}"], marker="o",
                      markersize=3, label="validation")
            axis.legend()
        axis.set_xlabel("epoch")
        axis.set_title(name)
        axis.grid(alpha=0.3)
    figure.suptitle(title)
    return _save(figure, path)


def plot_noise(report: Any, path: str | os.PathLike) -> Path:
    """Accuracy against per-character typo rate, from a `cclm.classification.noise_report.NoiseReport`."""
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(5, 3.6))
    rates = [100 * rate for rate in report.rates]
    axis.plot(rates, report.accuracy, marker="o")
    for rate, accuracy in zip(rates, report.accuracy):
        axis.annotate(f"{accuracy:.3f}", (rate, accuracy), textcoords="offset points", xytext=(0, 6), ha="center")
    axis.set_xlabel("typos (% of characters)")
    axis.set_ylabel("accuracy")
    axis.set_title(f"{report.model}: accuracy under typos ({report.texts:,} texts)")
    axis.grid(alpha=0.3)
    return _save(figure, path)
