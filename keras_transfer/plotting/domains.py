"""Domain adaptation figures: the paper's feature projection, and the curves of adversarial training."""

import numpy as np

SOURCE_COLOR = "#1f4e9c"  # the paper's figure: source blue, target red
TARGET_COLOR = "#d6272b"
MODEL_COLORS = {"source_only": "#7f7f7f", "dann": "#d6272b", "train_on_target": "#2ca02c"}
METHOD_NAMES = {"pca": "PCA", "tsne": "t-SNE"}  # project_features's methods, as a title names them


def project_features(source_features, target_features, *, method="tsne", seed=0):
    """Projects source and target features together to 2-D with scikit-learn.

    Both domains are projected jointly (one PCA fit, or one t-SNE embedding), so their positions can be compared.
    t-SNE runs on the first 50 principal components (fewer if there are fewer features), as usual.

    Args:
        source_features: array `(N, ...)`. Features of source images (flattened to `(N, D)`).
        target_features: array `(M, ...)`. Features of target images, the same `D`.
        method: str. `"pca"` (fast, linear) or `"tsne"` (the paper's figure).
        seed: int. The random state of the projection.

    Returns:
        `(source_2d, target_2d)`: float arrays `(N, 2)` and `(M, 2)`.
    """
    import threadpoolctl
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    source = np.reshape(np.asarray(source_features, dtype="float64"), (len(source_features), -1))
    target = np.reshape(np.asarray(target_features, dtype="float64"), (len(target_features), -1))
    if source.shape[1] != target.shape[1] or len(source) == 0 or len(target) == 0:
        raise ValueError(
            "`source_features` and `target_features` must be non-empty with the same number of features. "
            f"Received: shapes {source.shape} and {target.shape}"
        )
    both = np.concatenate([source, target])
    if len(both) < 3:
        raise ValueError(f"Need at least 3 points to project. Received: {len(both)} points")
    if method not in METHOD_NAMES:
        raise ValueError(f"`method` must be 'pca' or 'tsne'. Received: method={method!r}")
    # One thread: OpenMP sizes its pool from the host's CPU count, and on a small or shared machine its spinning
    # threads cost several times the work (measured: 7x the CPU time for t-SNE of 1,000 points on 2 busy cores).
    with threadpoolctl.threadpool_limits(limits=1):
        if method == "pca":
            projected = PCA(n_components=2, random_state=seed).fit_transform(both)
        else:
            components = min(50, both.shape[1], len(both))
            reduced = PCA(n_components=components, random_state=seed).fit_transform(both)
            perplexity = min(30.0, (len(both) - 1) / 3.0)
            tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed)
            projected = tsne.fit_transform(reduced)
    return projected[: len(source)], projected[len(source):]


def plot_feature_projection(panels, *, method=None, seed=0, source_name="source", target_name="target",
                            suptitle=None, panel_size=4.0):
    """The paper's figure: source (blue) and target (red) features in 2-D, one panel per model.

    Without adaptation the two domains form separate clouds; with DANN they overlap.

    Args:
        panels: dict. Panel title -> `{"source": features, "target": features}` (or a `(source, target)` tuple),
            e.g. `result.metadata["projection"]["panels"]` from `keras_transfer.experiments.domain_adaptation`
            (already 2-D), or raw features from `keras_transfer.models.dann.extract_features`.
        method: str or None. `None` plots the points as given (they must be 2-D); `"pca"` or `"tsne"` projects
            each panel first with `project_features`.
        seed: int. The projection's random state.
        source_name: str. The legend label of source points.
        target_name: str. The legend label of target points.
        suptitle: str or None. The figure's title.
        panel_size: float. Width and height of each panel in inches.

    Returns:
        The matplotlib `Figure`.

    Example:

    ```python
    result = keras_transfer.experiments.domain_adaptation.run("smoke")
    figure = plot_feature_projection(result.metadata["projection"]["panels"])
    ```

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
        if method is not None:
            source, target = project_features(source, target, method=method, seed=seed)
        elif source.ndim != 2 or source.shape[1] != 2 or target.ndim != 2 or target.shape[1] != 2:
            raise ValueError(
                f"Panel {title!r} holds points of shapes {source.shape} and {target.shape}: pass 2-D points or "
                "method='pca' / 'tsne' to project them."
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
    """The curves of adversarial training, per epoch, one line per run (`<model>/seed<seed>`).

    Four panels: target test accuracy (`val_label_accuracy`), the held-out domain classifier accuracy
    (`val_domain_accuracy`, chance dashed at 0.5), the gradient reversal strength λ_p (per batch where
    `grl_strength_per_batch` is recorded) and the learning rate μ_p.

    Args:
        histories: dict. `"<model>/seed<seed>"` -> per-epoch lists, as in `ExperimentResult.histories` of
            `keras_transfer.experiments.domain_adaptation`.
        models: sequence of str. Which models to draw, in this order.
        suptitle: str or None. The figure's title.

    Returns:
        The matplotlib `Figure`.
    """
    import matplotlib.pyplot as plt

    panels = (
        ("val_label_accuracy", "target test accuracy"),
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
        epochs = np.arange(1, len(history.get("loss", [])) + 1)
        for ax, (metric, _) in zip(axes, panels):
            if metric == "grl_strength" and history.get("grl_strength_per_batch"):
                values = np.asarray(history["grl_strength_per_batch"])
                x = np.arange(1, len(values) + 1) / len(values) * len(epochs)
                ax.plot(x, values, color=color, alpha=0.8, label=label)
            elif metric in history and len(history[metric]) == len(epochs):
                ax.plot(epochs, history[metric], marker="o", color=color, alpha=0.8, label=label)
    for ax, (metric, title) in zip(axes, panels):
        ax.set_title(title)
        ax.set_xlabel("epoch")
        if metric == "val_domain_accuracy":
            ax.axhline(0.5, color="black", linestyle="--", linewidth=1, label="chance")
    handles, labels = axes[1].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False)
    if suptitle:
        figure.suptitle(suptitle)
    figure.tight_layout(rect=(0, 0.08, 1, 1))
    return figure
