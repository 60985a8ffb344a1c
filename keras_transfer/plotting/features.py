"""Off-the-shelf features and the Full-Network Embedding: accuracy against depth, retrieval grids, the FNE ablation.

Everything here reads what the experiments stored in `result.metadata` (`by_layer`, `retrieval`, `paper`;
`by_method`) and computes nothing new. The same results as tables and sentences: `reports.off_the_shelf` and
`reports.full_network_embedding`."""

import matplotlib.pyplot as plt
import numpy as np


def plot_accuracy_by_depth(result, *, paper=True, retrieval=True, title=None):
    """Test accuracy of a linear SVM and a softmax on each layer's features, against the layer's depth.

    Args:
        result: ExperimentResult. What `keras_transfer.experiments.off_the_shelf.run` returned.
        paper: bool. Draw Zeiler & Fergus's (2014) Caltech-101/256 table in a second panel beside ours.
        retrieval: bool. Also draw retrieval precision@1 per layer (dotted).
        title: str or None. The title of our panel (default names the profile).

    Returns:
        The matplotlib `Figure`.

    Example:

    ```python
    from keras_transfer.experiments import off_the_shelf
    figure = plot_accuracy_by_depth(off_the_shelf.run("smoke", verbose=0))
    ```
    """
    if paper:
        figure, (ax, paper_ax) = plt.subplots(1, 2, figsize=(13, 4.8), layout="constrained",
                                              gridspec_kw={"width_ratios": [3, 2]})
    else:
        figure, ax = plt.subplots(figsize=(8, 4.8), layout="constrained")
    seeds = len(result.metadata["seeds"])
    by_layer = sorted(result.metadata["by_layer"], key=lambda entry: entry["depth"])
    depths = [round(entry["depth"]) for entry in by_layer]
    for metric, label, color, marker in (
        ("svm_accuracy", "linear SVM", "#b2182b", "o"),
        ("softmax_accuracy", "softmax (logistic regression)", "#2166ac", "s"),
    ):
        means = np.array([100 * entry[metric] for entry in by_layer])
        stds = np.array([100 * entry[metric + "_std"] for entry in by_layer])
        ax.errorbar(depths, means, yerr=stds if seeds > 1 else None, color=color, marker=marker,
                    capsize=3, linewidth=2, label=label + (f" (mean ± std, {seeds} seeds)" if seeds > 1 else ""))
    if retrieval and result.metadata.get("retrieval"):
        entries = sorted(result.metadata["retrieval"], key=lambda entry: entry["depth"])
        key = next(k for k in entries[0] if k.startswith("precision@"))
        ax.plot([e["depth"] for e in entries], [100 * e[key] for e in entries], color="0.35", linestyle=":",
                marker=".", label=f"retrieval {key} (cosine)")
    ax.set_xticks(depths)
    ax.set_xticklabels([f"{d}\n{entry['layer']}" for d, entry in zip(depths, by_layer)], fontsize="small")
    ax.set_xlabel("layer whose features are used (depth)")
    ax.set_ylabel("test accuracy %")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    ax.set_title(title or f"Off-the-shelf features per layer ({result.profile} profile)")
    if paper:
        _draw_caltech(paper_ax, result.metadata["paper"])
    return figure


def _draw_caltech(ax, table):
    colors = ("#b2182b", "#762a83")
    for column, (dataset, color) in enumerate(zip(table["datasets"], colors)):
        svm = {int(layer): values[column] for layer, values in table["svm"].items()}
        softmax = {int(layer): values[column] for layer, values in table["softmax"].items()}
        ax.plot(sorted(svm), [svm[k] for k in sorted(svm)], color=color, marker="o", linewidth=2,
                label=f"SVM, {dataset}")
        ax.scatter(sorted(softmax), [softmax[k] for k in sorted(softmax)], color=color, marker="s",
                   facecolor="white", s=50, zorder=3, label=f"softmax, {dataset}")
    ax.set_xticks(range(1, int(table["num_layers"]) + 1))
    ax.set_xlabel("layer n")
    ax.set_ylabel("test accuracy %")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize="x-small")
    ax.set_title("Zeiler & Fergus, 2014: ImageNet network", fontsize="medium")


def plot_retrieval(examples, *, class_names=None, title=None):
    """An image grid: each row a query, then its nearest gallery images (green frame: same class, red: not).

    Args:
        examples: dict. `query_images (Q, H, W[, 3])`, `query_labels (Q,)`, `neighbor_images (Q, K, H, W[, 3])`,
            `neighbor_labels (Q, K)`, and optionally `class_names` and `layer`, e.g.
            `keras_transfer.experiments.off_the_shelf.retrieval_examples(result)`.
        class_names: sequence of str or None. Overrides `examples["class_names"]`.
        title: str or None. The figure's title.

    Returns:
        The matplotlib `Figure`.
    """
    queries, query_labels = np.asarray(examples["query_images"]), np.asarray(examples["query_labels"])
    hits, hit_labels = np.asarray(examples["neighbor_images"]), np.asarray(examples["neighbor_labels"])
    if hits.ndim < 4 or len(hits) != len(queries) or hit_labels.shape != hits.shape[:2]:
        raise ValueError(
            "`examples` must hold neighbor_images (queries, hits, H, W[, C]) and neighbor_labels (queries, hits) for "
            f"its {len(queries)} queries. Received: neighbor_images with shape {hits.shape}, neighbor_labels with "
            f"shape {hit_labels.shape}"
        )
    names = class_names if class_names is not None else examples.get("class_names")
    rows, columns = hits.shape[0], hits.shape[1] + 1
    figure, axes = plt.subplots(rows, columns, figsize=(1.35 * columns, 1.5 * rows), layout="constrained",
                                squeeze=False)

    def show(ax, image, frame, label):
        image = np.asarray(image)
        ax.imshow(image.astype("uint8") if image.dtype != np.uint8 else image,
                  cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=255)
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_edgecolor(frame)
            spine.set_linewidth(3)
        ax.set_title(label, fontsize="x-small")

    def name(label):
        return str(names[int(label)]) if names is not None else str(int(label))

    for row in range(rows):
        show(axes[row, 0], queries[row], "black", f"query: {name(query_labels[row])}")
        for column in range(hits.shape[1]):
            same = hit_labels[row, column] == query_labels[row]
            show(axes[row, column + 1], hits[row, column], "#1a9641" if same else "#d7191c",
                 f"{column + 1}: {name(hit_labels[row, column])}")
    layer = examples.get("layer")
    figure.suptitle(title or f"Nearest gallery images by cosine similarity of {layer or 'the'} features")
    return figure


def plot_fne_comparison(result, *, paper=True, title=None):
    """Our one-layer baselines and the embedding's steps (bars), beside the paper's fc7 against FNE per dataset.

    Args:
        result: ExperimentResult. What `keras_transfer.experiments.full_network_embedding.run` returned.
        paper: bool. Draw the paper's numbers (Garcia-Gasulla et al., 2017) in a second panel.
        title: str or None. The title of our panel.

    Returns:
        The matplotlib `Figure`.
    """
    if paper:
        figure, (ax, paper_ax) = plt.subplots(1, 2, figsize=(13, 4.8), layout="constrained")
    else:
        figure, ax = plt.subplots(figsize=(7, 4.8), layout="constrained")
    by_method = result.metadata["by_method"]
    names = [entry["model"] for entry in by_method]
    means = [100 * entry["test_accuracy"] for entry in by_method]
    stds = [100 * entry["test_accuracy_std"] for entry in by_method]
    colors = ["#999999" if name.endswith("+ SVM") else "#2166ac" for name in names]
    bars = ax.bar(range(len(names)), means, yerr=stds, capsize=4, color=colors)
    for bar, mean in zip(bars, means):
        ax.annotate(f"{mean:.1f}", (bar.get_x() + bar.get_width() / 2, mean), ha="center", va="bottom",
                    fontsize="small", xytext=(0, 3), textcoords="offset points")
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels([name.replace(": ", ":\n") for name in names], fontsize="small")
    low = min(means) - max(stds or [0]) - 5
    ax.set_ylim(max(0, low), min(100, max(means) + max(stds or [0]) + 4))
    ax.set_ylabel("test accuracy % (linear SVM)")
    ax.grid(axis="y", alpha=0.3)
    seeds = len(result.metadata["seeds"])
    ax.set_title(title or f"One layer vs Full-Network Embedding ({result.profile} profile, {seeds} seed(s))")
    if paper:
        table = result.metadata["paper"]
        datasets = list(table["fc7_to_fne"])
        positions = np.arange(len(datasets))
        fc7 = [table["fc7_to_fne"][name][0] for name in datasets]
        fne = [table["fc7_to_fne"][name][1] for name in datasets]
        paper_ax.bar(positions - 0.2, fc7, width=0.4, color="#999999", label="fc7 + SVM")
        paper_ax.bar(positions + 0.2, fne, width=0.4, color="#2166ac", label="FNE + SVM")
        paper_ax.set_xticks(positions)
        paper_ax.set_xticklabels(datasets, fontsize="small", rotation=30)
        paper_ax.set_ylim(50, 100)
        paper_ax.set_ylabel("accuracy %")
        paper_ax.grid(axis="y", alpha=0.3)
        paper_ax.legend(loc="upper right", fontsize="small")
        paper_ax.set_title("Garcia-Gasulla et al., 2017: VGG16", fontsize="medium")
    return figure
