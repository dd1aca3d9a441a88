import matplotlib
import pytest

from cclm.classification.noise_report import NoiseReport
from cclm.classification.plots import (
    noise_figure,
    plot_noise,
    plot_training,
    training_figure,
)

CARD = {"history": {"loss": [1.0, 0.6, 0.5], "accuracy": [0.5, 0.7, 0.8],
                    "val_loss": [1.1, 0.8, 0.9], "val_accuracy": [0.4, 0.6, 0.55]}}


def test_training_curves_show_validation_whole_epochs_and_accuracy_from_zero(tmp_path):
    figure = training_figure(CARD, title="run")
    loss, accuracy = figure.axes
    assert [line.get_label() for line in accuracy.get_lines()] == ["training", "validation"]
    assert accuracy.get_ylim() == pytest.approx((0, 1.02))
    figure.canvas.draw()  # ticks are placed when drawn
    assert all(float(tick).is_integer() for tick in loss.get_xticks())
    # A closed-form head records leave-one-out accuracy with a validation accuracy of another name.
    closed = training_figure({"history": {"loo_accuracy": [0.9], "val_accuracy": [0.8], "val_loss": [0.4]}})
    assert [axis.get_title() for axis in closed.axes] == ["loo_accuracy", "val_accuracy", "val_loss"]
    # Solved once: bars of the fit's values, not points over epochs.
    assert all(not axis.get_lines() and len(axis.patches) == 1 for axis in closed.axes)
    assert {axis.get_xlabel() for axis in closed.axes} == {"one fit (no epochs)"}
    assert plot_training(CARD, tmp_path / "t.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="no training history"):
        training_figure({})


def test_the_noise_curve_runs_from_zero_with_a_chance_line_and_leaves_the_backend_alone(tmp_path):
    backend = matplotlib.get_backend()
    report = NoiseReport(model="m", texts=40, rates=[0.0, 0.1, 0.2], accuracy=[0.95, 0.9, 0.7], chance=0.25)
    axis = noise_figure(report).axes[0]
    assert axis.get_ylim()[0] == 0
    chance = [line for line in axis.get_lines() if line.get_label().startswith("chance")]
    assert len(chance) == 1 and list(chance[0].get_ydata()) == [0.25, 0.25]
    assert plot_noise(report, tmp_path / "n.png").read_bytes()[:4] == b"\x89PNG"
    assert matplotlib.get_backend() == backend  # nothing global was switched
