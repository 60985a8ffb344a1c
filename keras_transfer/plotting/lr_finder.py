"""The learning-rate finder's figure: the loss against the rate on a log axis, the suggested rates marked."""

import matplotlib.pyplot as plt
import numpy as np

_MARKERS = {"valley": ("tab:red", "o"), "steepest": ("tab:purple", "v")}


def plot_learning_rate_finder(finder, *, rules=("valley", "steepest"), axis=None, figsize=None):
    """The raw and smoothed loss of a `LearningRateFinder` run against the learning rate, with its suggestions.

    The rate axis is logarithmic; the part of the curve the rules read (without `skip_start` and `skip_end`) is
    drawn solid, the rest dotted. Each rule's suggested rate is a marked point on the smoothed curve and a vertical
    line, its value in the legend; the rule the finder was built with comes first.

    Args:
        finder: `keras_transfer.callbacks.LearningRateFinder` after `fit()` or `find()`.
        rules: Sequence of `"valley"` and/or `"steepest"`. The suggestions to mark.
        axis: A matplotlib `Axes` to draw on, or `None` for a new figure.
        figsize: Tuple or `None`. The size of a new figure.

    Returns:
        A `matplotlib.figure.Figure`.
    """
    if not finder.learning_rates:
        raise ValueError("Invalid value for argument `finder`: it has no recorded batches. Run fit() or find() first.")
    unknown = [rule for rule in rules if rule not in _MARKERS]
    if unknown:
        raise ValueError(
            f"Invalid value for argument `rules`: expected names from {tuple(_MARKERS)}. Received: {unknown}")
    if axis is None:
        figure, axis = plt.subplots(figsize=figsize or (6.5, 4))
    else:
        figure = axis.figure
    rates = np.asarray(finder.learning_rates)
    losses = np.asarray(finder.losses, dtype=float)
    smoothed = np.asarray(finder.smoothed_losses, dtype=float)
    axis.plot(rates, losses, color="0.7", linewidth=0.8, label="loss of each batch")
    axis.plot(rates, smoothed, color="tab:blue", linestyle=":", linewidth=1.2)
    read_rates, read_losses = finder.curve()
    axis.plot(read_rates, read_losses, color="tab:blue", linewidth=1.8, label="smoothed loss (read by the rules)")
    ordered = sorted(rules, key=lambda rule: rule != finder.rule)
    for rule in ordered:
        rate = finder.suggest(rule)
        color, marker = _MARKERS[rule]
        loss = read_losses[int(np.argmin(np.abs(read_rates - rate)))]
        axis.axvline(rate, color=color, linewidth=0.8, alpha=0.6)
        axis.plot([rate], [loss], marker=marker, color=color, markersize=8, linestyle="none",
                  label=f"{rule}: {rate:.2g}" + (" (suggestion)" if rule == finder.rule else ""))
    finite = smoothed[np.isfinite(smoothed)]
    if finite.size:
        low, high = float(finite.min()), float(np.percentile(finite, 95))
        axis.set_ylim(low - 0.05 * (high - low + 1e-12), high + 0.1 * (high - low + 1e-12))
    axis.set_xscale("log")
    axis.set_xlabel("learning rate (log scale)")
    axis.set_ylabel("training loss")
    stop = "stopped when the loss diverged" if finder.stopped_early else f"{len(rates)} batches"
    axis.set_title(f"Learning-rate range test ({stop})")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    return figure
