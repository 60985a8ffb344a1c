"""A metric against the label budget (labels per class), one line per model, the spread over seeds shaded."""

import matplotlib.pyplot as plt
import numpy as np


def plot_accuracy_by_budget(curves, *, labels=None, ylabel="test accuracy", title=None, ax=None):
    """Draws each model's mean over seeds against labels per class, with a band of one standard deviation.

    Args:
        curves: dict. Model name -> list of `(labels_per_class, mean, std)`, e.g.
            `keras_transfer.experiments.comparisons.curves(result.rows, "labels_per_class", "network")`.
        labels: dict or None. Model name -> legend label; None uses the names.
        ylabel: str. The label of the metric's axis.
        title: str or None. The axes' title.
        ax: matplotlib Axes or None. Where to draw; None makes a new figure.

    Returns:
        The `matplotlib.figure.Figure`. The x axis is logarithmic, with a tick at every budget.

    Example:

    ```python
    curves = {"scratch": [(5, 0.36, 0.02), (40, 0.63, 0.01)], "frozen": [(5, 0.64, 0.01), (40, 0.78, 0.01)]}
    figure = plot_accuracy_by_budget(curves)
    ```
    """
    if not curves:
        raise ValueError("`curves` is empty: expected {model: [(labels_per_class, mean, std), ...]}.")
    for name, points in curves.items():
        if not points or any(len(point) != 3 for point in points):
            raise ValueError(
                f"Each curve must be a list of (labels_per_class, mean, std). Received: curves[{name!r}]={points!r}"
            )
    labels = labels or {}
    figure = ax.figure if ax is not None else plt.subplots(figsize=(7.0, 4.4))[0]
    ax = ax if ax is not None else figure.axes[0]
    budgets = sorted({point[0] for points in curves.values() for point in points})
    for name, points in curves.items():
        budget, mean, std = (np.asarray(column, np.float64) for column in zip(*sorted(points)))
        (line,) = ax.plot(budget, mean, marker="o", linewidth=1.8, label=str(labels.get(name, name)))
        ax.fill_between(budget, mean - std, mean + std, color=line.get_color(), alpha=0.18, linewidth=0)
    ax.set_xscale("log")
    ax.set_xticks(budgets)
    ax.set_xticklabels([str(budget) for budget in budgets])
    ax.minorticks_off()
    ax.set_xlabel("labelled training images per class (log scale)")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    figure.tight_layout()
    return figure


__all__ = ["plot_accuracy_by_budget"]
