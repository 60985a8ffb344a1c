"""Galleries of images with their true and predicted boxes, the IoU of each prediction, and how the IoU grows with
the number of training images (matplotlib).

Keras has `keras.visualization.plot_bounding_box_gallery`, but it draws with OpenCV (`cv2`), which this project
does not install; these functions draw the same kind of gallery with matplotlib. Boxes are relative
`[xmin, ymin, xmax, ymax]` (`"rel_xyxy"`) with pixel edges: a box `[0, 0, 1, 1]` covers the whole image.
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import lines as mlines
from matplotlib import patches

TRUE_COLOR = "#00e676"
PREDICTED_COLOR = "#ff1744"


def _as_display(images, value_range):
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(f"`images` must be (N, H, W), (N, H, W, 1) or (N, H, W, 3). Received: shape {images.shape}")
    low, high = value_range
    if not high > low:
        raise ValueError(f"`value_range` must be (low, high) with high > low. Received: value_range={value_range!r}")
    display = np.clip((images.astype(np.float32) - low) / (high - low), 0.0, 1.0)
    return display[..., 0] if display.shape[-1] == 1 else display


def _check_boxes(name, boxes, count):
    if boxes is None:
        return None
    boxes = np.asarray(boxes, np.float32)
    if boxes.shape != (count, 4):
        raise ValueError(f"`{name}` must have shape ({count}, 4), one box per image. Received: shape {boxes.shape}")
    return boxes


def _draw_box(ax, box, height, width, color, linestyle="-"):
    xmin, ymin, xmax, ymax = box
    ax.add_patch(
        patches.Rectangle(
            (xmin * width - 0.5, ymin * height - 0.5),
            (xmax - xmin) * width,
            (ymax - ymin) * height,
            fill=False,
            edgecolor=color,
            linewidth=1.8,
            linestyle=linestyle,
        )
    )


def plot_box_gallery(
    images,
    true_boxes=None,
    predicted_boxes=None,
    *,
    ious=None,
    titles=None,
    cols=8,
    value_range=(0, 255),
    suptitle=None,
    figsize=None,
):
    """A grid of images with their true boxes (green) and predicted boxes (red, dashed).

    Args:
        images: array `(N, H, W, 3)` (or grayscale `(N, H, W)`), values in `value_range`.
        true_boxes: array `(N, 4)` or None. Relative `[xmin, ymin, xmax, ymax]`.
        predicted_boxes: array `(N, 4)` or None. The predictions, same format.
        ious: array `(N,)` or None. Written above each image as "IoU 0.73".
        titles: sequence of str or None. Titles of the images (before the IoU, if any).
        cols: int. Images per row.
        value_range: `(low, high)`. The range of the pixel values.
        suptitle: str or None. The figure's title.
        figsize: tuple or None. None: 1.9 inches per image.

    Returns:
        A `matplotlib.figure.Figure`.

    Example:

    ```python
    images, boxes = pet_heads.sample_images("quick", "train", count=8)
    plot_box_gallery(images, boxes)
    ```
    """
    display = _as_display(images, value_range)
    count = len(display)
    if not count:
        raise ValueError("`images` is empty: expected at least one image.")
    true_boxes = _check_boxes("true_boxes", true_boxes, count)
    predicted_boxes = _check_boxes("predicted_boxes", predicted_boxes, count)
    if ious is not None:
        ious = np.asarray(ious, np.float32)
        if ious.shape != (count,):
            raise ValueError(f"`ious` must have shape ({count},). Received: shape {ious.shape}")
    if titles is not None and len(titles) != count:
        raise ValueError(f"`titles` must hold {count} strings. Received: {len(titles)} titles")
    if isinstance(cols, bool) or not isinstance(cols, (int, np.integer)) or cols < 1:
        raise ValueError(f"`cols` must be a positive integer. Received: cols={cols!r}")
    cols = min(int(cols), count)
    rows = -(-count // cols)
    title_lines = (titles is not None) + (ious is not None)
    default_size = (1.9 * cols, (1.9 + 0.2 * title_lines) * rows + 0.6 + 0.3 * bool(suptitle))
    figure, axes = plt.subplots(rows, cols, figsize=figsize or default_size, squeeze=False)
    height, width = display.shape[1:3]
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index >= count:
            continue
        ax.imshow(display[index], cmap="gray" if display.ndim == 3 else None, vmin=0, vmax=1)
        if true_boxes is not None:
            _draw_box(ax, true_boxes[index], height, width, TRUE_COLOR)
        if predicted_boxes is not None:
            _draw_box(ax, predicted_boxes[index], height, width, PREDICTED_COLOR, linestyle="--")
        parts = []
        if titles is not None:
            parts.append(str(titles[index]))
        if ious is not None:
            parts.append(f"IoU {ious[index]:.2f}")
        if parts:
            ax.set_title("\n".join(parts), fontsize=8)
    handles = []
    if true_boxes is not None:
        handles.append(mlines.Line2D([], [], color=TRUE_COLOR, linewidth=1.8, label="true box"))
    if predicted_boxes is not None:
        handles.append(mlines.Line2D([], [], color=PREDICTED_COLOR, linewidth=1.8, linestyle="--", label="predicted"))
    if handles:
        figure.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8, frameon=False)
    if suptitle:
        figure.suptitle(suptitle)
    figure.tight_layout(rect=(0, 0.05 if handles else 0, 1, 1))
    return figure


def plot_best_and_worst(images, true_boxes, predicted_boxes, ious, *, count=6, value_range=(0, 255), suptitle=None):
    """Two rows: the `count` test images with the lowest IoU, then the `count` with the highest.

    Args:
        images: array `(N, H, W, 3)`.
        true_boxes: array `(N, 4)`. Relative boxes.
        predicted_boxes: array `(N, 4)`. The predictions.
        ious: array `(N,)`. The IoU of each prediction (`keras_transfer.metrics.box_iou`, e.g. through
            `pet_heads_analysis.test_ious`).
        count: int. Images per row (at most `N`).
        value_range: `(low, high)` of the pixel values.
        suptitle: str or None.

    Returns:
        A `matplotlib.figure.Figure`; the titles say "worst k" / "best k" and each IoU.
    """
    ious = np.asarray(ious, np.float32)
    if ious.ndim != 1 or len(ious) != len(images):
        raise ValueError(f"`ious` must have shape ({len(images)},). Received: shape {ious.shape}")
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise ValueError(f"`count` must be a positive integer. Received: count={count!r}")
    count = min(int(count), len(ious))
    order = np.argsort(ious, kind="stable")
    chosen = np.concatenate([order[:count], order[::-1][:count]])
    titles = [f"worst {rank + 1}" for rank in range(count)] + [f"best {rank + 1}" for rank in range(count)]
    return plot_box_gallery(
        np.asarray(images)[chosen],
        np.asarray(true_boxes)[chosen],
        np.asarray(predicted_boxes)[chosen],
        ious=ious[chosen],
        titles=titles,
        cols=count,
        value_range=value_range,
        suptitle=suptitle,
    )


def plot_iou_distribution(ious_by_model, *, threshold=0.5, bins=20, ax=None, title=None):
    """The distribution of test IoUs, one step histogram per model, with the IoU threshold marked.

    Args:
        ious_by_model: dict. Model name -> array of test IoUs.
        threshold: float or None. Draws a vertical line (0.5: PASCAL VOC's "correct").
        bins: int. Histogram bins over `[0, 1]`.
        ax: matplotlib Axes or None.
        title: str or None.

    Returns:
        A `matplotlib.figure.Figure`.
    """
    if not ious_by_model:
        raise ValueError("`ious_by_model` is empty: expected {model name: IoUs}.")
    if ax is None:
        figure, ax = plt.subplots(figsize=(7, 4))
    else:
        figure = ax.figure
    edges = np.linspace(0.0, 1.0, int(bins) + 1)
    for name, values in ious_by_model.items():
        ax.hist(np.asarray(values, np.float32), bins=edges, histtype="step", linewidth=1.6, label=str(name))
    if threshold is not None:
        ax.axvline(threshold, color="gray", linestyle="--", linewidth=1)
    ax.set_xlabel("IoU with the true box (test split)")
    ax.set_ylabel("test images")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    figure.tight_layout()
    return figure


def plot_iou_by_train_size(curves, *, baseline=None, labels=None, ylabel="mean IoU on the test split", title=None):
    """A metric against the number of training images, one line per network; optionally each network minus a baseline.

    Args:
        curves: dict. Network name -> list of `(train_size, mean, std)`, e.g.
            `keras_transfer.experiments.pet_heads_analysis.learning_curves(result)`. A std above 0 (several seeds) is
            drawn as an error bar.
        baseline: str or None. A network of `curves` (e.g. `"scratch"`): a second panel draws every other network's
            mean minus the baseline's at the sizes both have, so a point above 0 is what transfer gained.
        labels: dict or None. Network name -> legend label; None uses the names.
        ylabel: str. The label of the metric's axis.
        title: str or None. The figure's title.

    Returns:
        A `matplotlib.figure.Figure` with one panel, or two with a `baseline`. The x axis is logarithmic, with a
        tick at every training-set size.

    Example:

    ```python
    plot_iou_by_train_size(pet_heads_analysis.learning_curves(result), baseline="scratch")
    ```
    """
    if not curves:
        raise ValueError("`curves` is empty: expected {network: [(train_size, mean, std), ...]}.")
    for name, points in curves.items():
        if not points or any(len(point) != 3 for point in points):
            raise ValueError(
                f"Each curve must be a list of (train_size, mean, std). Received: curves[{name!r}]={points!r}"
            )
    if baseline is not None and baseline not in curves:
        raise ValueError(f"`baseline` must be one of {list(curves)} or None. Received: baseline={baseline!r}")
    labels = labels or {}
    panels = 2 if baseline is not None else 1
    figure, axes = plt.subplots(1, panels, figsize=(6.2 * panels, 4.2), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    sizes = sorted({point[0] for points in curves.values() for point in points})
    reference = {size: mean for size, mean, _ in curves[baseline]} if baseline is not None else {}
    for index, (name, points) in enumerate(curves.items()):
        color = colors[index % len(colors)]
        size, mean, std = (np.array(column, np.float64) for column in zip(*sorted(points)))
        label = str(labels.get(name, name))
        axes[0, 0].plot(size, mean, marker="o", color=color, linewidth=1.6, label=label)
        if (std > 0).any():
            axes[0, 0].errorbar(size, mean, yerr=std, fmt="none", ecolor=color, capsize=3)
        if baseline is not None and name != baseline:
            shared = [(s, m) for s, m in zip(size, mean) if s in reference]
            if shared:
                axes[0, 1].plot([s for s, _ in shared], [m - reference[s] for s, m in shared], marker="o",
                                color=color, linewidth=1.6, label=label)
    for axis in axes[0]:
        axis.set_xscale("log")
        axis.set_xticks(sizes)
        axis.set_xticklabels([str(size) for size in sizes])
        axis.minorticks_off()
        axis.set_xlabel("training images (log scale)")
        axis.grid(alpha=0.3)
        if axis.get_legend_handles_labels()[0]:
            axis.legend(fontsize=8)
    axes[0, 0].set_ylabel(ylabel)
    if baseline is not None:
        axes[0, 1].axhline(0.0, color="gray", linestyle="--", linewidth=1)
        axes[0, 1].set_ylabel(f"difference from {labels.get(baseline, baseline)}")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


__all__ = ["plot_best_and_worst", "plot_box_gallery", "plot_iou_by_train_size", "plot_iou_distribution"]
