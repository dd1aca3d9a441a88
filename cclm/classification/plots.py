"""PNG figures: training curves from a model card, and accuracy against typo rate from a `NoiseReport`.

Needs matplotlib (`bash scripts/setup.sh plot` in a clone). Figures are drawn with
matplotlib's object-oriented API (`matplotlib.figure.Figure`), never through
`pyplot`: nothing global changes, so a notebook's backend and open figures
stay as they were, and it works on servers with no display. Accuracy axes
start at 0 and end at 1; epochs are whole numbers. Files are written
atomically. `training_figure` and `noise_figure` return the `Figure` itself
(a notebook shows it); `plot_training` and `plot_noise` write it as a PNG.
`cclm evaluate MODEL DATA --plot DIR` writes both figures.

Example:
>>> from cclm.classification.noise_report import NoiseReport
>>> report = NoiseReport(model="demo", texts=10, rates=[0.0, 0.1], accuracy=[0.9, 0.8], chance=0.5)
>>> plot_noise(report, "/tmp/cclm-doc-noise.png").name
'cclm-doc-noise.png'
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cclm.components.files import atomic_file
from cclm.errors import install_hint


def figure_class() -> Any:
    """matplotlib's `Figure`; an `ImportError` naming the extra when matplotlib is missing."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(f"Plots need matplotlib: {install_hint('plot', 'matplotlib')}.") from None
    return Figure


def _save(figure: Any, path: str | os.PathLike) -> Path:
    path = Path(path).expanduser().absolute()
    with atomic_file(path) as stream:
        figure.savefig(stream, format="png", dpi=120, bbox_inches="tight")
    return path


def _is_accuracy(name: str) -> bool:
    return "accuracy" in name


def plot_training(card: dict[str, Any], path: str | os.PathLike, title: str = "Training") -> Path:
    """Writes `training_figure(card, title)` as a PNG at `path`; returns the path."""
    return _save(training_figure(card, title), path)


def plot_noise(report: Any, path: str | os.PathLike) -> Path:
    """Writes `noise_figure(report)` as a PNG at `path`; returns the path."""
    return _save(noise_figure(report), path)


def training_figure(card: dict[str, Any], title: str = "Training") -> Any:
    """Every metric of the card's per-epoch `history`, one panel per metric, with its `val_` twin where recorded.

    A metric recorded only for validation (e.g. `val_accuracy` beside a
    closed-form head's `loo_accuracy`) gets its own panel. A history of one
    value per metric (a closed-form fit, solved once: no epochs) is drawn as
    bars, never as a curve over epochs.

    Raises:
        ValueError: when the card holds no history (the component was never trained).
    """
    from matplotlib.ticker import MaxNLocator

    history = card.get("history") or {}
    if not history:
        raise ValueError(f"{title}: the model card holds no training history; train the component with cclm first.")
    names = [key for key in history if not (key.startswith("val_") and key[4:] in history)]
    single = all(len(values) == 1 for values in history.values())
    figure = figure_class()(figsize=(4.5 * len(names), 3.4))
    for axis, name in zip(figure.subplots(1, len(names), squeeze=False)[0], names):
        curves = [(name, "validation" if name.startswith("val_") else "training")]
        if f"val_{name}" in history:
            curves.append((f"val_{name}", "validation"))
        for key, label in curves:
            if single:
                axis.bar([label], history[key], width=0.5)
                axis.annotate(f"{history[key][0]:.3f}", (label, history[key][0]), textcoords="offset points",
                              xytext=(0, 4), ha="center")
            else:
                axis.plot(range(1, len(history[key]) + 1), history[key], marker="o", markersize=3, label=label)
        if len(curves) > 1 and not single:
            axis.legend()
        if _is_accuracy(name):
            axis.set_ylim(0, 1.02)
        if not single:
            axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_xlabel("one fit (no epochs)" if single else "epoch")
        axis.set_title(name)
        axis.grid(alpha=0.3)
    figure.suptitle(title)
    return figure


def noise_figure(report: Any) -> Any:
    """Accuracy against per-character typo rate, from a `cclm.classification.noise_report.NoiseReport`.

    The y-axis runs from 0 to 1, with the report's chance level (always
    answering the most frequent label) as a dashed line where it has one.
    """
    figure = figure_class()(figsize=(5, 3.6))
    axis = figure.subplots()
    rates = [100 * rate for rate in report.rates]
    axis.plot(rates, report.accuracy, marker="o", label="accuracy")
    for rate, accuracy in zip(rates, report.accuracy):
        axis.annotate(f"{accuracy:.3f}", (rate, accuracy), textcoords="offset points", xytext=(0, 6), ha="center")
    if getattr(report, "chance", None) is not None:
        axis.axhline(report.chance, linestyle="--", color="grey", label=f"chance ({report.chance:.3f})")
        axis.legend(loc="lower left")
    axis.set_ylim(0, 1.05)
    axis.set_xlabel("typos (% of characters)")
    axis.set_ylabel("accuracy")
    axis.set_title(f"{report.model}: accuracy under typos ({report.texts:,} texts)")
    axis.grid(alpha=0.3)
    return figure
