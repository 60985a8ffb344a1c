"""Batches for domain-adversarial training: half source, half target, in the structure `fit()` expects."""

import numpy as np

from keras_transfer.models.dann.model import DOMAIN_OUTPUT
from keras_transfer.models.dann.model import LABEL_OUTPUT
from keras_transfer.models.dann.model import SOURCE_DOMAIN
from keras_transfer.models.dann.model import TARGET_DOMAIN


def pair_domains(source, target, batch_size=128, *, label_weights=(1.0, 0.0), training=True, seed=None):
    """A `tf.data.Dataset` of batches half source, half target, in the form `fit` expects for a DANN.

    Each element is `(images, {"label": labels, "domain": domains}, {"label": label_weights, "domain": ones})`,
    where `domains` is 0 for source and 1 for target samples and `label_weights` is `label_weights[0]` on source
    and `label_weights[1]` on target samples. With the default `(1, 0)` the label loss sees the source labels
    only: this is unsupervised domain adaptation, and target labels (if given) cannot influence training.
    `(0, 1)` trains on labelled target data instead (the "train on target" bound) or, for validation, measures
    the target accuracy as `val_label_accuracy`.

    With `training=True`, both sets are shuffled and repeated independently and zipped, `batch_size // 2` from
    each per batch, interleaved (source, target, source, ...: on several devices each replica's slice is half
    source, so its label loss is a mean over as many samples as on one device); an epoch is one pass over the
    larger set (`max(n_source, n_target) // (batch_size // 2)`
    batches), the smaller set is recycled. With `training=False` (for `validation_data` and `evaluate`), every
    sample of both sets appears exactly once, the two sets interleaved evenly, batched by `batch_size`: the
    metrics are exact, and so is `val_label_loss` when both sets have the same size.

    Args:
        source: tuple `(images, labels)`. The labelled source domain, NumPy arrays.
        target: array or tuple `(images, labels)`. The target domain; labels are optional (filled with 0) and only
            used where `label_weights[1]` is not 0.
        batch_size: int. The number of samples per batch (even; half from each domain when training).
        label_weights: tuple of two floats. The label-loss weight of source and of target samples.
        training: bool. Shuffled, recycled, balanced batches (True) or each sample once, in order (False).
        seed: int or None. The shuffling seed. As for every TensorFlow op, the order also depends on the global
            seed: call `keras.utils.set_random_seed` first for a reproducible order.

    Returns:
        A `tf.data.Dataset` with a known number of batches (`dataset.cardinality()`).
    """
    import tensorflow as tf

    x_source, y_source = check_domain(source, "source", labels_required=True)
    x_target, y_target = check_domain(target, "target", labels_required=False)
    if x_source.shape[1:] != x_target.shape[1:]:
        raise ValueError(
            "Source and target images must have the same shape. "
            f"Received: source images {x_source.shape[1:]} and target images {x_target.shape[1:]}"
        )
    if not isinstance(batch_size, int) or batch_size < 2 or batch_size % 2:
        raise ValueError(f"`batch_size` must be an even int of at least 2. Received: batch_size={batch_size!r}")
    label_weights = tuple(label_weights)
    if len(label_weights) != 2 or any(not isinstance(w, (int, float)) or w < 0 for w in label_weights):
        raise ValueError(
            f"`label_weights` must be two numbers >= 0 (source, target). Received: label_weights={label_weights!r}"
        )
    if y_target is None:
        if label_weights[1] != 0:
            raise ValueError(
                "Target labels are needed when `label_weights[1]` is not 0: pass target=(images, labels). "
                f"Received: label_weights={label_weights!r} and target images without labels"
            )
        y_target = np.zeros(len(x_target), dtype="int32")

    def domain_part(x, y, domain, weight):
        count = len(x)
        return (
            x,
            y.astype("int32"),
            np.full(count, domain, dtype="int32"),
            np.full(count, weight, dtype="float32"),
        )

    parts = [
        domain_part(x_source, y_source, SOURCE_DOMAIN, label_weights[0]),
        domain_part(x_target, y_target, TARGET_DOMAIN, label_weights[1]),
    ]

    def to_fit_structure(x, y, d, w):
        return x, {LABEL_OUTPUT: y, DOMAIN_OUTPUT: d}, {LABEL_OUTPUT: w, DOMAIN_OUTPUT: tf.ones_like(w)}

    if not training:
        # Interleave the two sets evenly (s, t, s, t, ... when they have the same size), so every batch has the
        # same share of target samples and the per-batch label loss averages to the exact mean.
        positions = np.concatenate([(np.arange(len(part[0])) + 0.5) / len(part[0]) for part in parts])
        order = np.argsort(positions, kind="stable")
        merged = [np.concatenate([part[i] for part in parts])[order] for i in range(4)]
        dataset = tf.data.Dataset.from_tensor_slices(tuple(merged)).batch(batch_size)
        return dataset.map(to_fit_structure).prefetch(tf.data.AUTOTUNE)

    half = batch_size // 2
    steps = max(len(x_source), len(x_target)) // half
    if steps < 1:
        raise ValueError(
            f"`batch_size // 2` must not exceed the larger domain's size. Received: batch_size={batch_size} with "
            f"{len(x_source)} source and {len(x_target)} target samples"
        )
    streams = []
    for index, part in enumerate(parts):
        stream = tf.data.Dataset.from_tensor_slices(part)
        stream_seed = None if seed is None else seed * 2 + index
        stream = stream.shuffle(len(part[0]), seed=stream_seed, reshuffle_each_iteration=True).repeat()
        streams.append(stream.batch(half, drop_remainder=True))

    def interleave(source_batch, target_batch):
        # s, t, s, t, ...: every even slice of the batch is half source, so data-parallel replicas (each one slice,
        # `keras_transfer.distribute`) average the label loss over the same number of source samples
        return tuple(tf.reshape(tf.stack([s, t], axis=1), [-1, *s.shape[1:]])
                     for s, t in zip(source_batch, target_batch))

    dataset = tf.data.Dataset.zip(tuple(streams)).map(interleave).map(to_fit_structure).take(steps)
    return dataset.prefetch(tf.data.AUTOTUNE)


def check_domain(data, name, labels_required):
    """`(images, labels)` of one domain's data as NumPy arrays (labels None when not given and not required).

    Args:
        data: tuple `(images, labels)`, or an array of images when `labels_required` is False.
        name: str. The argument's name, for the error message.
        labels_required: bool. Whether `data` must carry labels.
    """
    if isinstance(data, (tuple, list)):
        if len(data) != 2:
            raise ValueError(f"`{name}` must be (images, labels). Received: a sequence of length {len(data)}")
        images, labels = np.asarray(data[0]), np.asarray(data[1])
    else:
        if labels_required:
            raise ValueError(f"`{name}` must be a tuple (images, labels). Received: {type(data).__name__}")
        images, labels = np.asarray(data), None
    if images.ndim < 2 or len(images) == 0:
        raise ValueError(f"`{name}` images must be a non-empty batch of arrays. Received: shape {images.shape}")
    if labels is not None:
        if labels.ndim != 1 or len(labels) != len(images) or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(
                f"`{name}` labels must be a 1-D integer array with one label per image. Received: labels with "
                f"shape {labels.shape} and dtype {labels.dtype} for {len(images)} images"
            )
    return images, labels
