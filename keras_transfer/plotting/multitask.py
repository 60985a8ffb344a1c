"""Figures of multitask learning: each task's test score against the label budget, alone and shared."""

import matplotlib.pyplot as plt
import numpy as np

_PANELS = (("test_accuracy", "class head: test accuracy"), ("test_mean_iou", "box head: test mean IoU"))
_STYLES = {"class_only": ("class only", "tab:blue", "o"), "box_only": ("box only", "tab:orange", "s"),
           "multitask": ("multitask (shared base)", "tab:green", "D")}


def plot_multitask_curves(result, *, figsize=None):
    """Two panels against the class labels per class: class accuracy and box IoU, mean ± std over seeds.

    The box-only network does not depend on the class budget; it is drawn as a horizontal band.

    Args:
        result: `ExperimentResult` of the `multitask` experiment.
        figsize: tuple or None.

    Returns:
        A `matplotlib.figure.Figure`.
    """
    rows = result.rows
    if not rows:
        raise ValueError("The result has no rows to plot.")
    budgets = sorted({row["budget"] for row in rows if row["budget"] is not None})
    figure, axes = plt.subplots(1, 2, figsize=figsize or (11, 4))
    for axis, (metric, title) in zip(axes, _PANELS):
        for network, (label, color, marker) in _STYLES.items():
            values = [row for row in rows if row["network"] == network and row.get(metric) is not None]
            if not values:
                continue
            if network == "box_only":
                scores = [row[metric] for row in values]
                mean, std = float(np.mean(scores)), float(np.std(scores))
                axis.axhline(mean, color=color, label=f"{label} (all boxes)")
                axis.axhspan(mean - std, mean + std, color=color, alpha=0.15)
                continue
            means = [np.mean([row[metric] for row in values if row["budget"] == budget]) for budget in budgets]
            stds = [np.std([row[metric] for row in values if row["budget"] == budget]) for budget in budgets]
            axis.errorbar(budgets, means, yerr=stds, color=color, marker=marker, capsize=3, label=label)
        axis.set_xscale("log")
        axis.set_xticks(budgets, [str(budget) for budget in budgets])
        axis.set_xlabel("class labels per class")
        axis.set_title(title)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    figure.suptitle("One base, two heads: does the box task help the class task with few labels?")
    figure.tight_layout()
    return figure


def plot_examples(images, labels, boxes, class_names, *, count=8, figsize=None):
    """The first `count` images with their class as the title and their box drawn in green.

    Args:
        images: array `(N, height, width, 3)` of pixels in [0, 255].
        labels: int array `(N,)`, indices into `class_names`.
        boxes: float array `(N, 4)`, `[xmin, ymin, xmax, ymax]` relative to the image.
        class_names: sequence of str.
        count: int. How many images to show.
        figsize: tuple or None.

    Returns:
        A `matplotlib.figure.Figure`.
    """
    count = min(int(count), len(images))
    if count < 1:
        raise ValueError(f"`count` must be at least 1 and `images` non-empty. Received: count={count}")
    figure, axes = plt.subplots(1, count, figsize=figsize or (1.5 * count, 2), squeeze=False)
    height, width = images.shape[1:3]
    for index, axis in enumerate(axes[0]):
        xmin, ymin, xmax, ymax = np.asarray(boxes[index]) * [width, height, width, height]
        axis.imshow(np.clip(images[index], 0, 255).astype("uint8"))
        axis.add_patch(plt.Rectangle((xmin - 0.5, ymin - 0.5), xmax - xmin, ymax - ymin, fill=False, color="lime"))
        axis.set_title(class_names[int(labels[index])], fontsize=8)
        axis.axis("off")
    return figure
