"""Domain adaptation figures: the paper's feature projection, and the curves of adversarial training."""

import numpy as np

SOURCE_COLOR = "#1f4e9c"  # the paper's figure: source blue, target red
TARGET_COLOR = "#d6272b"
MODEL_COLORS = {"source_only": "#7f7f7f", "dann": "#d6272b", "train_on_target": "#2ca02c"}


def plot_feature_projection(panels, *, source_name="source", target_name="target", suptitle=None, panel_size=4.0):
    """The paper's figure: source (blue) and target (red) features in 2-D, one panel per model.

    Without adaptation the two domains form separate clouds; with DANN they overlap.

    Args:
        panels: dict. Panel title -> `{"source": points, "target": points}` (or a `(source, target)` tuple) of 2-D
            points, e.g. `result.metadata["projection"]["panels"]` of `keras_transfer.experiments.dann` (computed
            by `keras_transfer.embeddings.project_features`).
        source_name: str. The legend label of source points.
        target_name: str. The legend label of target points.
        suptitle: str or None. The figure's title.
        panel_size: float. Width and height of each panel in inches.

    Returns:
        The matplotlib `Figure`.

    Example:

    >>> rng = np.random.default_rng(0)
    >>> figure = plot_feature_projection({"source only": (rng.normal(size=(9, 2)), rng.normal(size=(9, 2)) + 3)})
    >>> [axis.get_title() for axis in figure.get_axes()]
    ['source only']

    Reference:
        - [Ganin & Lempitsky, ICML 2015, Figure 3](https://arxiv.org/abs/1409.7495)
    """
    import matplotlib.pyplot as plt

    if not isinstance(panels, dict) or not panels:
        raise ValueError(f"`panels` must be a non-empty dict of title -> (source, target). Received: {panels!r}")
    figure, axes = plt.subplots(1, len(panels), figsize=(panel_size * len(panels), panel_size), squeeze=False)
    for ax, (title, panel) in zip(axes[0], panels.items()):
        if isinstance(panel, dict):
            source, target = panel.get("source"), panel.get("target")
        else:
            source, target = panel
        if source is None or target is None:
            raise ValueError(f"Panel {title!r} must give 'source' and 'target' features.")
        source, target = np.asarray(source, dtype="float64"), np.asarray(target, dtype="float64")
        if source.ndim != 2 or source.shape[1] != 2 or target.ndim != 2 or target.shape[1] != 2:
            raise ValueError(
                f"Panel {title!r} must hold 2-D points (project features first, e.g. with "
                f"keras_transfer.embeddings.project_features). Received: shapes {source.shape} and {target.shape}"
            )
        ax.scatter(source[:, 0], source[:, 1], s=6, alpha=0.6, color=SOURCE_COLOR, label=source_name)
        ax.scatter(target[:, 0], target[:, 1], s=6, alpha=0.6, color=TARGET_COLOR, label=target_name)
        ax.set_title(str(title))
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0][0].legend(loc="best", markerscale=3)
    if suptitle:
        figure.suptitle(suptitle)
    figure.tight_layout()
    return figure


def plot_domain_history(histories, *, models=("source_only", "dann", "train_on_target"), suptitle=None):
    """The curves of adversarial training, one line per run (`<model>/seed<seed>`), against the training step.

    Four panels: the target validation accuracy (`val_label_accuracy`), the held-out domain classifier accuracy
    (`val_domain_accuracy`, chance dashed at 0.5), the gradient reversal strength λ_p (per batch where
    `grl_strength_per_batch` is recorded) and the learning rate μ_p.

    Args:
        histories: dict. `"<model>/seed<seed>"` -> lists per evaluation and `"step"` (the training step of each),
            as `keras_transfer.models.dann.train_dann` returns them and `keras_transfer.experiments.dann` keeps them.
        models: sequence of str. Which models to draw, in this order.
        suptitle: str or None. The figure's title.

    Returns:
        The matplotlib `Figure`.
    """
    import matplotlib.pyplot as plt

    panels = (
        ("val_label_accuracy", "target validation accuracy"),
        ("val_domain_accuracy", "domain classifier accuracy (held out)"),
        ("grl_strength", "gradient reversal strength λ_p"),
        ("learning_rate", "learning rate μ_p"),
    )
    figure, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4))
    drawn = set()
    for key, history in histories.items():
        model = key.split("/")[0]
        if model not in models:
            continue
        color = MODEL_COLORS.get(model)
        label = model if model not in drawn else None
        drawn.add(model)
        steps = np.asarray(history.get("step", np.arange(1, len(history.get("loss", [])) + 1)))
        for ax, (metric, _) in zip(axes, panels):
            if metric == "grl_strength" and history.get("grl_strength_per_batch"):
                values = np.asarray(history["grl_strength_per_batch"])
                ax.plot(np.arange(1, len(values) + 1), values, color=color, alpha=0.8, label=label)
            elif metric in history and len(history[metric]) == len(steps):
                ax.plot(steps, history[metric], marker="o", color=color, alpha=0.8, label=label)
    for ax, (metric, title) in zip(axes, panels):
        ax.set_title(title)
        ax.set_xlabel("training step")
        if metric == "val_domain_accuracy":
            ax.axhline(0.5, color="black", linestyle="--", linewidth=1, label="chance")
    handles, labels = axes[1].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False)
    if suptitle:
        figure.suptitle(suptitle)
    figure.tight_layout(rect=(0, 0.08, 1, 1))
    return figure


def plot_domain_samples(data, *, keys=("source_train", "target_train", "target_validation", "target_test"), count=10):
    """The first `count` images of each of `keys` in a row, each titled with its split and label.

    Args:
        data: dict. `"<domain>_<split>"` -> `(images, labels)`, as `keras_transfer.datasets.mnist_m.load_domains`
            returns it.
        keys: sequence of str. The rows, top to bottom.
        count: int. Images per row.

    Returns:
        The matplotlib `Figure`.
    """
    import matplotlib.pyplot as plt

    missing = [key for key in keys if key not in data]
    if missing:
        raise ValueError(f"`keys` must name sets of `data` ({sorted(data)}). Received: keys={tuple(keys)!r}")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"`count` must be a positive int. Received: count={count!r}")
    figure, axes = plt.subplots(len(keys), count, figsize=(1.2 * count, 1.33 * len(keys)), squeeze=False)
    for row, key in enumerate(keys):
        images, labels = data[key]
        for column, ax in enumerate(axes[row]):
            ax.axis("off")
            if column < len(images):
                ax.imshow(images[column])
                ax.set_title(f"{key.replace('_', ' ')} · {labels[column]}", fontsize=7)
    figure.tight_layout()
    return figure
