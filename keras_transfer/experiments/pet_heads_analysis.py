"""What a pet-heads run shows: learning curves (test IoU against training images), the runs of one training-set
size, the predicted test boxes of a run and their IoUs, and the lecture's expectations checked on the run
(`outcomes`, stored in `result.metadata["outcomes"]`).

Every function reads only what `pet_heads.run` stores in its `ExperimentResult`, so it works on a loaded result.
The sentences and tables made from them are in `keras_transfer.reports.pet_heads`.
"""

import numpy as np

from keras_transfer.experiments.base import ExperimentResult
from keras_transfer.experiments.base import mean_std


def learning_curves(result, loss=None, metric="mean_iou"):
    """`{network: [(train_size, mean, std), ...]}`: a metric against the number of training images, per network.

    Args:
        result: ExperimentResult. What `pet_heads.run` returned (or a loaded one).
        loss: str or None. The loss of the runs to use; None: the run's `main_loss`.
        metric: str. A numeric column of the rows, e.g. `"mean_iou"` or `"iou_at_0_5"`.

    Returns:
        A dict in the order of the networks, each a list sorted by training-set size, with the mean and the
        standard deviation over seeds (0 for one seed).
    """
    loss = result.metadata["config"]["main_loss"] if loss is None else loss
    curves = {}
    for row in result.rows:
        if row["loss"] == loss:
            curves.setdefault(row["network"], {}).setdefault(row["train_size"], []).append(float(row[metric]))
    if not curves:
        raise ValueError(f"No runs with loss {loss!r} in the result. Received: loss={loss!r}")
    return {name: [(size, *mean_std(values)) for size, values in sorted(by_size.items())]
            for name, by_size in curves.items()}


def at_train_size(result, train_size=None):
    """The runs of `result` on one training-set size, as an `ExperimentResult` (for its tables and plots).

    Args:
        result: ExperimentResult. What `pet_heads.run` returned.
        train_size: int or None. None: the whole training split (the largest size).
    """
    sizes = sorted({row["train_size"] for row in result.rows})
    chosen = sizes[-1] if train_size is None else train_size
    if chosen not in sizes:
        raise ValueError(
            f"`train_size` must be one of the sizes that ran, {sizes}. Received: train_size={train_size!r}"
        )
    rows = [row for row in result.rows if row["train_size"] == chosen]
    models = {row["model"] for row in rows}
    histories = {key: value for key, value in result.histories.items() if key.split("/seed")[0] in models}
    return ExperimentResult(result.name, result.profile, rows, histories, result.metadata)


def outcomes(result, few_labels=250):
    """The lecture's expectations, checked on the main loss's runs (mean ± std over seeds per training-set size).

    Returns a dict with `by_size` (`{size: {network: [mean, std]}}` of the test mean IoU); `transfer_beats_scratch`
    (`{size: bool}` for every size `<= few_labels`: all_layers's mean minus scratch's is larger than the larger of
    their two standard deviations); `ordered` (`{size: bool}`: frozen < adapted < all_layers); and `first_epoch`
    (`{size: {network: [mean, std]}}` of the validation IoU after one epoch, the "higher start").
    """
    summary, first = (_by_size(learning_curves(result, metric=metric)) for metric in ("mean_iou", "first_val_iou"))
    beats, ordered = {}, {}
    for size, networks in summary.items():
        if {"all_layers", "scratch"} <= set(networks) and size <= few_labels:
            gap = networks["all_layers"][0] - networks["scratch"][0]
            beats[size] = bool(gap > max(networks["all_layers"][1], networks["scratch"][1]))
        if {"frozen", "adapted", "all_layers"} <= set(networks):
            means = [networks[name][0] for name in ("frozen", "adapted", "all_layers")]
            ordered[size] = bool(means[0] < means[1] < means[2])
    return {
        "by_size": summary,
        "few_labels": few_labels,
        "transfer_beats_scratch": beats,
        "ordered": ordered,
        "first_epoch": first,
    }


def _by_size(curves):
    """`learning_curves`' `{network: [(size, mean, std), ...]}` as `{size: {network: [mean, std]}}`, sizes ascending."""
    table = {}
    for name, points in curves.items():
        for size, mean, std in points:
            table.setdefault(size, {})[name] = [mean, std]
    return dict(sorted(table.items()))


def main_runs(result, train_size):
    """The `(network, loss, train_size)` runs of `result` with the main loss on `train_size` images, in run order."""
    main_loss = result.metadata["config"]["main_loss"]
    return [tuple(entry) for entry in result.metadata["runs"] if entry[1] == main_loss and entry[2] == train_size]


def predictions(result, model, seed=None):
    """The predicted test boxes of the run `model` (`"<network>/<loss>/n<size>"`) and `seed` (None: the first), as a
    float32 array `(N, 4)` in the order of `pet_heads.sample_images(profile, "test")`."""
    seed = result.metadata["seeds"][0] if seed is None else seed
    key = f"{model}/seed{seed}"
    if key not in result.metadata["test_predictions"]:
        raise ValueError(f"No test predictions of run {key!r} in the result. Received: model={model!r}, seed={seed!r}")
    return np.array(result.metadata["test_predictions"][key], np.float32)


def test_ious(result, test_boxes, model, seed=None):
    """The IoU of each predicted test box of `model` (see `predictions`) with its true box in `test_boxes`."""
    import keras  # noqa: PLC0415 - the rest of this module needs no backend

    from keras_transfer import metrics  # noqa: PLC0415

    predicted = predictions(result, model, seed)
    return np.asarray(keras.ops.convert_to_numpy(metrics.box_iou(np.asarray(test_boxes, np.float32), predicted)))


def best_model(result, train_size=None):
    """The run (`"<network>/<loss>/n<size>"`) with the highest test mean IoU on `train_size` images (None: the whole
    training split), averaged over seeds."""
    means = {entry["model"]: entry["mean_iou"] for entry in at_train_size(result, train_size).summary(
        metrics=["mean_iou"])}
    return max(means, key=means.get)


def run_name(network, loss, train_size):
    """The name of a run in the rows, histories and predictions: `"<network>/<loss>/n<train_size>"`."""
    return f"{network}/{loss}/n{train_size}"
