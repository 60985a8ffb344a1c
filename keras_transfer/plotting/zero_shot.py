"""Figures of zero-shot learning: the attribute signatures, the unseen classes' confusion, the two settings' scores."""

import matplotlib.pyplot as plt
import numpy as np

_SETTINGS = (
    ("unseen_accuracy", "zero-shot:\nunseen classes"),
    ("gzsl_seen_accuracy", "generalized:\nseen classes"),
    ("gzsl_unseen_accuracy", "generalized:\nunseen classes"),
    ("harmonic_mean", "generalized:\nharmonic mean"),
)


def plot_attribute_signatures(class_names, attribute_names, signatures, *, highlight=None, figsize=None):
    """The class × attribute table as a heat map: each row is a class's signature.

    Args:
        class_names: sequence of str. One per row.
        attribute_names: sequence of str. One per column.
        signatures: array `(classes, attributes)`.
        highlight: sequence of int or None. Rows to mark (e.g. the unseen classes of a split); their names are
            drawn in bold with "(unseen)".
        figsize: tuple or None.

    Returns:
        A `matplotlib.figure.Figure`.
    """
    signatures = np.asarray(signatures, float)
    if signatures.shape != (len(class_names), len(attribute_names)):
        raise ValueError(
            f"`signatures` must be (classes, attributes) = ({len(class_names)}, {len(attribute_names)}). "
            f"Received: signatures with shape {signatures.shape}"
        )
    highlight = set(highlight or ())
    figure, axis = plt.subplots(figsize=figsize or (0.55 * len(attribute_names) + 3, 0.4 * len(class_names) + 2))
    axis.imshow(signatures, cmap="Blues", vmin=0, vmax=max(1.0, float(signatures.max())), aspect="auto")
    axis.set_xticks(range(len(attribute_names)), [name.replace("_", " ") for name in attribute_names],
                    rotation=50, ha="right")
    axis.set_yticks(range(len(class_names)),
                    [f"{name} (unseen)" if row in highlight else name for row, name in enumerate(class_names)])
    for row in highlight:
        axis.get_yticklabels()[row].set_fontweight("bold")
    axis.set_xticks(np.arange(-0.5, len(attribute_names)), minor=True)
    axis.set_yticks(np.arange(-0.5, len(class_names)), minor=True)
    axis.grid(which="minor", color="white", linewidth=1.5)
    axis.tick_params(which="minor", length=0)
    axis.set_title("Attribute signatures: each class is a row of attributes")
    figure.tight_layout()
    return figure


def plot_unseen_confusion(result, *, split=0, seed=None, figsize=None):
    """Where the unseen classes' test images go, per method (zero-shot setting, rows sum to 1).

    Args:
        result: `ExperimentResult` of the `zero-shot` experiment.
        split: int. Which split to draw.
        seed: int or None. Which seed (None: the first of that split).
        figsize: tuple or None.

    Returns:
        A `matplotlib.figure.Figure`.
    """
    entries = [entry for entry in result.metadata["confusions"] if entry["split"] == split
               and (seed is None or entry["seed"] == seed)]
    if not entries:
        raise ValueError(f"No confusion matrices of split {split} and seed {seed}. Received: split={split!r}, seed={seed!r}")
    entry = entries[0]
    names = [result.metadata["table"]["class_names"][c] for c in entry["classes"]]
    methods = list(entry["methods"])
    figure, axes = plt.subplots(1, len(methods), figsize=figsize or (4.2 * len(methods), 3.9), squeeze=False)
    for axis, method in zip(axes[0], methods):
        counts = np.asarray(entry["methods"][method], float)
        shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        axis.imshow(shares, cmap="Greens", vmin=0, vmax=1)
        for (row, column), value in np.ndenumerate(shares):
            axis.text(column, row, f"{value:.2f}", ha="center", va="center",
                      color="white" if value > 0.6 else "black")
        axis.set_xticks(range(len(names)), names, rotation=30, ha="right")
        axis.set_yticks(range(len(names)), names)
        axis.set_xlabel("predicted (unseen classes only)")
        axis.set_ylabel("true class")
        axis.set_title(method)
    figure.suptitle(f"Unseen classes of split {split}: confusion (share of each true class)")
    figure.tight_layout()
    return figure


def plot_zero_shot_scores(result, *, figsize=None):
    """Bars of the mean (± std over splits and seeds) of the zero-shot and generalized scores, chance drawn as a line.

    Args:
        result: `ExperimentResult` of the `zero-shot` experiment.
        figsize: tuple or None.

    Returns:
        A `matplotlib.figure.Figure`.
    """
    summary = {entry["model"]: entry for entry in result.summary(by="model")}
    if not summary:
        raise ValueError("The result has no rows to plot.")
    figure, axis = plt.subplots(figsize=figsize or (8.5, 4.2))
    width = 0.8 / len(summary)
    positions = np.arange(len(_SETTINGS))
    for index, (method, entry) in enumerate(summary.items()):
        means = [entry.get(key, np.nan) for key, _ in _SETTINGS]
        stds = [entry.get(f"{key}_std", 0.0) for key, _ in _SETTINGS]
        axis.bar(positions + (index - (len(summary) - 1) / 2) * width, means, width, yerr=stds, capsize=3,
                 label=method)
    chance = next(iter(summary.values())).get("chance")
    if chance is not None:
        axis.hlines(chance, -0.45, 0.45, colors="black", linestyles="--", label="chance (zero-shot)")
    axis.set_xticks(positions, [label for _, label in _SETTINGS])
    axis.set_ylabel("mean per-class accuracy")
    axis.set_ylim(0, 1)
    axis.legend(loc="upper right")
    axis.set_title("Zero-shot and generalized zero-shot accuracy")
    figure.tight_layout()
    return figure
