"""Training curves, comparison bars and prediction grids for experiments that train several models over seeds."""

import matplotlib.pyplot as plt
import numpy as np

_METRIC_LABELS = {
    "loss": "training loss",
    "val_loss": "validation loss",
    "accuracy": "training accuracy",
    "val_accuracy": "validation accuracy",
    "test_accuracy": "test accuracy",
    "test_loss": "test loss",
}


def _split_key(key):
    model, _, seed = key.rpartition("/seed")
    if not model:
        return key, None
    try:
        return model, int(seed)
    except ValueError:
        return key, None


def _step_markers(history):
    """The `(epoch, label)` markers of a history: every list under a key ending in `_steps`."""
    markers = []
    for key, value in history.items():
        if key.endswith("_steps") and isinstance(value, list):
            for marker in value:
                if isinstance(marker, dict) and "epoch" in marker:
                    markers.append((marker["epoch"], str(marker.get("step", ""))))
    return markers


def plot_training_curves(histories, *, metrics=("val_loss", "val_accuracy"), seed=None, models=None, figsize=None):
    """One panel per metric, one curve per model, with step markers (e.g. chain-thaw's) drawn on its curve.

    Args:
        histories: dict. `"<model>/seed<seed>"` -> `{"loss": [...], "val_loss": [...], ...}` per epoch, as in
            `ExperimentResult.histories`; a list under a key ending in `_steps` holds `{"epoch": e, "step": name}`
            markers (the epoch, counted from 0, at which a step starts).
        metrics: tuple of str. The per-epoch metrics to draw, one panel each.
        seed: int or None. Which seed's runs to draw; None draws the first seed found.
        models: sequence of str or None. The models to draw, in this order; None draws every model.
        figsize: tuple or None. The figure size; None picks one from the number of panels.

    Returns:
        A `matplotlib.figure.Figure`.
    """
    runs = {}
    for key, history in histories.items():
        model, run_seed = _split_key(key)
        runs.setdefault(run_seed, {})[model] = history
    if not runs:
        raise ValueError(f"`histories` is empty: expected '<model>/seed<seed>' keys. Received: {histories!r}")
    if seed is None:
        seed = next(iter(runs))
    if seed not in runs:
        raise ValueError(f"No runs of seed {seed!r}: expected one of {sorted(runs, key=str)}. Received: seed={seed!r}")
    chosen = runs[seed]
    names = list(models) if models is not None else list(chosen)
    missing = [name for name in names if name not in chosen]
    if missing:
        raise ValueError(f"No histories for models {missing} (seed {seed}): expected some of {list(chosen)}.")
    metrics = tuple(metrics)
    figure, axes = plt.subplots(1, len(metrics), figsize=figsize or (6.5 * len(metrics), 4.2), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for axis, metric in zip(axes[0], metrics):
        for index, name in enumerate(names):
            values = chosen[name].get(metric)
            if not values:
                continue
            color = colors[index % len(colors)]
            epochs = np.arange(1, len(values) + 1)
            axis.plot(epochs, values, label=name, color=color, linewidth=1.6)
            for epoch, label in _step_markers(chosen[name]):
                if 0 <= epoch < len(values):
                    axis.axvline(epoch + 0.5, color=color, linestyle=":", linewidth=0.8, alpha=0.7)
                    axis.annotate(
                        label,
                        (epoch + 1, values[epoch]),
                        fontsize=6,
                        rotation=90,
                        color=color,
                        xytext=(2, 4),
                        textcoords="offset points",
                    )
        axis.set_xlabel("epoch")
        axis.set_ylabel(_METRIC_LABELS.get(metric, metric))
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    figure.suptitle(f"Training curves (seed {seed}); dotted lines: steps of chain-thaw / gradual unfreezing")
    figure.tight_layout()
    return figure


def plot_metric_bars(summary, *, metric="test_accuracy", by="model", title=None, reference=None, ax=None):
    """A bar per model: the mean of `metric` over seeds, with the standard deviation as an error bar.

    Args:
        summary: list of dict, or an `ExperimentResult`. Rows as `ExperimentResult.summary()` returns them
            (`{by: name, metric: mean, metric + "_std": std}`); an `ExperimentResult` is summarised first.
        metric: str. The column to draw.
        by: str. The column that names the bars.
        title: str or None. The axes title.
        reference: dict or None. Optional `{label: value}` horizontal lines (e.g. a paper's number).
        ax: matplotlib Axes or None. Where to draw; None makes a new figure.

    Returns:
        A `matplotlib.figure.Figure`.
    """
    if hasattr(summary, "summary"):
        summary = summary.summary(by=by)
    rows = [row for row in summary if metric in row]
    if not rows:
        raise ValueError(f"No row has the metric {metric!r}. Received: metric={metric!r}")
    if ax is None:
        figure, ax = plt.subplots(figsize=(1.2 * len(rows) + 3, 4))
    else:
        figure = ax.figure
    names = [str(row[by]) for row in rows]
    means = np.array([row[metric] for row in rows], dtype=float)
    stds = np.array([row.get(f"{metric}_std", 0.0) for row in rows], dtype=float)
    positions = np.arange(len(rows))
    ax.bar(positions, means, yerr=stds, capsize=4, color=plt.rcParams["axes.prop_cycle"].by_key()["color"][: len(rows)])
    for position, mean, std in zip(positions, means, stds):
        ax.annotate(f"{mean:.3f}", (position, mean + std), ha="center", va="bottom", fontsize=8,
                    xytext=(0, 2), textcoords="offset points")
    for label, value in (reference or {}).items():
        ax.axhline(value, linestyle="--", color="gray", linewidth=1)
        ax.annotate(label, (positions[-1] + 0.4, value), fontsize=8, va="bottom", ha="right", color="gray")
    ax.set_xticks(positions, names, rotation=20)
    ax.set_ylabel(_METRIC_LABELS.get(metric, metric))
    low = float(np.min(means - stds))
    if metric.endswith("accuracy"):
        ax.set_ylim(max(0.0, low - 0.1 * (1 - low) - 0.02), min(1.0, float(np.max(means + stds)) + 0.05))
    ax.grid(axis="y", alpha=0.3)
    if title:
        ax.set_title(title)
    figure.tight_layout()
    return figure


def plot_predictions(images, labels, predictions, class_names, *, max_images=8, figsize=None):
    """A grid of test images, one row per model, each titled with the predicted class (green right, red wrong).

    Args:
        images: array. `(N, height, width)` or `(N, height, width, channels)` images; pixel values in `[0, 255]`
            or `[0, 1]`.
        labels: array of int. `(N,)` true classes.
        predictions: dict. Model name -> `(N,)` predicted classes.
        class_names: sequence of str. The name of each class id.
        max_images: int. How many images (columns) to show.
        figsize: tuple or None. The figure size.

    Returns:
        A `matplotlib.figure.Figure`.
    """
    images = np.asarray(images)
    labels = np.asarray(labels)
    count = min(int(max_images), len(images))
    if count < 1:
        raise ValueError(f"No image to show. Received: {len(images)} images, max_images={max_images!r}")
    if not predictions:
        raise ValueError("`predictions` must map at least one model name to its predicted classes. Received: {}")
    rows = len(predictions)
    figure, axes = plt.subplots(rows, count, figsize=figsize or (1.5 * count, 1.75 * rows + 0.4), squeeze=False)
    scale = 255.0 if images.max(initial=0) > 1.5 else 1.0
    for row, (name, predicted) in enumerate(predictions.items()):
        predicted = np.asarray(predicted)
        for column in range(count):
            axis = axes[row][column]
            image = images[column].astype("float32") / scale
            axis.imshow(np.clip(image, 0, 1), cmap="gray" if image.ndim == 2 or image.shape[-1] == 1 else None)
            axis.set_xticks([])
            axis.set_yticks([])
            correct = int(predicted[column]) == int(labels[column])
            axis.set_title(class_names[int(predicted[column])], fontsize=7, color="green" if correct else "red")
            if column == 0:
                axis.set_ylabel(name, fontsize=8)
            if row == rows - 1:
                axis.set_xlabel(f"true: {class_names[int(labels[column])]}", fontsize=6)
    figure.suptitle("Predictions on test images (green: right, red: wrong)", fontsize=9)
    figure.tight_layout()
    return figure

