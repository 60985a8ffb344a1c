"""Frozen-base features computed once: train a head on cached backbone outputs instead of running the base every epoch.

When a backbone is frozen and called with `training=False`, and no random augmentation runs through it, its output
for an image never changes during training. Computing it once and training only the head on those outputs gives
the same training as the keras-io guide's "base inside the model" way, at the cost of one forward pass instead of
one per epoch. What it costs: no random augmentation can run through the base (a horizontal flip can:
`extract_mirrored_features` computes the mirror images' features too, and `fit_on_features(..., mirror=...)` draws
one of the two per example and epoch), and the features of the whole set are held in memory (and, with
`cache=True`, on disk).
"""

import contextlib
import hashlib
import json
import logging
import math
import os
import time

import keras
import numpy as np

from keras_transfer import paths
from keras_transfer import progress


def _weights_digest(model):
    digest = hashlib.sha256()
    digest.update(json.dumps(model.get_config(), sort_keys=True, default=str).encode())
    for weight in model.weights:
        # A copy, then NumPy: NumPy 2 warns (DeprecationWarning) on converting a Keras variable directly.
        value = keras.ops.convert_to_numpy(keras.ops.copy(weight))
        digest.update(str(value.shape).encode())
        digest.update(np.ascontiguousarray(value).tobytes())
    return digest.hexdigest()


def _array_digest(array):
    array = np.ascontiguousarray(array)
    digest = hashlib.sha256()
    digest.update(f"{array.dtype}{array.shape}".encode())
    digest.update(array.tobytes())
    return digest.hexdigest()


def _is_dataset(data):
    return hasattr(data, "element_spec") and hasattr(data, "as_numpy_iterator")


def extract_features(base, data, *, batch_size=64, cache=False, verbose=0):
    """The outputs of a frozen `base` for every example of `data`, computed once (in inference mode).

    Args:
        base: keras.Model. The (frozen) backbone, e.g. `base_layer(classifier)`.
        data: A NumPy array of inputs, or a `tf.data.Dataset` of batches `(inputs, labels)` (or of inputs alone),
            e.g. from `keras_transfer.datasets.make_pipeline`; it must not augment at random (each epoch would
            otherwise see other images than the features show).
        batch_size: int. The batch size of the forward pass for arrays (a dataset keeps its own batches).
        cache: bool. Arrays only: also keep the features on disk under `paths.cache_dir("features")`, keyed by a
            hash of the base's config and weights and of the inputs, so a later call with the same base and
            inputs reads them back instead of recomputing.
        verbose: int. 0 silent, 1 a progress bar (`keras_transfer.progress.bar`).

    Returns:
        For an array, a float32 array `(N, *base.output_shape[1:])`. For a dataset of `(inputs, labels)`, the
        tuple `(features, labels)` with the labels concatenated in the same order.

    Example:

    ```python
    model = build_classifier(backbone, num_classes=5, base_trainable=False)
    head = classifier_head(model)
    head.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    head.fit(extract_features(base_layer(model), x_train), y_train, epochs=20)  # trains model's head in place
    ```
    """
    if not isinstance(base, keras.Model):
        raise ValueError(f"`base` must be a keras.Model. Received: base={base!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive integer. Received: batch_size={batch_size!r}")
    if _is_dataset(data):
        if cache:
            raise ValueError(
                "`cache=True` needs an array: a tf.data pipeline cannot be hashed without running it. "
                f"Received: data={data!r}"
            )
        features, labels = [], []
        batches = int(data.cardinality())
        with progress.bar(batches if batches > 0 else None, "Features", verbose=verbose, unit="batch") as bar:
            for batch in data:
                inputs, targets = (batch[0], batch[1]) if isinstance(batch, tuple) else (batch, None)
                features.append(keras.ops.convert_to_numpy(base(inputs, training=False)))
                if targets is not None:
                    labels.append(np.asarray(targets))
                bar.update(1)
        features = np.concatenate(features).astype("float32")
        return (features, np.concatenate(labels)) if labels else features
    data = np.asarray(data)
    if data.ndim < 2:
        raise ValueError(f"`data` must be a batch of inputs (first axis the examples). Received: shape {data.shape}")
    path = None
    if cache:
        key = hashlib.sha256((_weights_digest(base) + _array_digest(data)).encode()).hexdigest()[:24]
        path = paths.cache_dir("features") / f"{base.name}-{key}.npy"
        if path.exists():
            return np.load(path)
    features = _forward(base, data, batch_size, verbose)
    if path is not None:
        partial = path.with_name(f".{path.stem}.{os.getpid()}.partial.npy")
        np.save(partial, features)
        os.replace(partial, path)
    return features


def _forward(base, data, batch_size, verbose):
    """`base.predict(data)`, without tracing a predict function on TensorFlow.

    On TensorFlow a fresh model's `predict()` traces a predict function first, which for a small base costs more
    than the forward passes of a few hundred images: there the batches run eagerly through `base(...,
    training=False)` (the same kernels, no trace). On JAX an eager call compiles every operation on its first use,
    so `predict()` (one compiled function) is the faster way there.
    """
    outputs = []
    with progress.bar(len(data), "Features", verbose=verbose, unit="image") as bar:
        if keras.backend.backend() != "tensorflow":
            outputs = base.predict(data, batch_size=batch_size, verbose=0).astype("float32")
            bar.update(len(data))
            return outputs
        for start in range(0, len(data), batch_size):
            batch = data[start : start + batch_size]
            # A tensor, not the NumPy slice: a model whose input structure is a one-element list takes a bare
            # tensor as that list, but warns on an array ("The structure of `inputs` doesn't match the expected
            # structure").
            batch_outputs = base(keras.ops.convert_to_tensor(batch), training=False)
            outputs.append(keras.ops.convert_to_numpy(batch_outputs).astype("float32", copy=False))
            bar.update(len(batch))
    return np.concatenate(outputs)


@contextlib.contextmanager
def quiet_retracing():
    """Hides TensorFlow's "triggered tf.function retracing" warnings while several models train one after another.

    Every new model traces its own train, test and predict functions; TensorFlow counts those traces as if one
    function were traced again and again and logs a warning to stderr that has nothing to fix here. Other
    TensorFlow warnings and errors still show.
    """
    logger = logging.getLogger("tensorflow")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


# The most feature values in one validation batch (64 MB of float32): a validation pass over cached features is
# one batch for the sets of these experiments (each batch is a step with its own fixed cost).
_VALIDATION_BATCH_VALUES = 2**24


def _feature_pipeline(features, labels, batch_size, shuffle, seed, mirror=None, prefetch=True):
    """Repeating batches of cached features; with `mirror=(features, labels)` of the mirrored inputs, each example of
    each pass is drawn from the original or the mirror with probability 1/2 (a random flip on cached features).

    `prefetch=False` for a pipeline whose iterator `fit()` makes anew every epoch (validation): a prefetching
    iterator starts a background thread, and tearing it down again costs more than a pass over small features."""
    import tensorflow as tf

    if mirror is None:
        dataset = tf.data.Dataset.from_tensor_slices((features, labels)).cache()
    else:
        dataset = tf.data.Dataset.from_tensor_slices(((features, mirror[0]), (labels, mirror[1]))).cache()
    if shuffle:
        dataset = dataset.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True)
    if mirror is not None:
        coins = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)

        def pick(pair, coin):
            (original, mirrored), (label, mirrored_label) = pair
            flip = tf.equal(coin % 2, 1)
            return tf.where(flip, mirrored, original), tf.where(flip, mirrored_label, label)

        dataset = tf.data.Dataset.zip((dataset, coins)).map(pick)
    # Batch, then repeat: every pass over the data ends with its own (possibly short) last batch, so `steps`
    # batches are exactly one epoch, and fit() keeps one iterator for the whole training.
    dataset = dataset.batch(batch_size).repeat()
    return dataset.prefetch(tf.data.AUTOTUNE) if prefetch else dataset


def _feature_batches(features, labels, batch_size, seed, mirror=None):
    """`_feature_pipeline`'s training batches as NumPy arrays from a Python generator (for JAX and PyTorch).

    The same batches as the tf.data pipeline: every pass reshuffled (with `mirror`, each example drawn from the
    original or the mirror with probability 1/2), cut into batches of `batch_size` with a short last one, passes
    repeating forever. Outside TensorFlow, `fit()` turns every element of a tf.data pipeline into NumPy through a
    TensorFlow iterator, which made `fit_on_features` slower than a plain `fit()` on the arrays on JAX; here the
    batches are slices of NumPy arrays. `seed=None` draws the seed from NumPy's global generator, which
    `keras.utils.set_random_seed` seeds.
    """
    rng = np.random.default_rng(np.random.randint(2**31) if seed is None else seed)
    while True:
        order = rng.permutation(len(labels))
        inputs, targets = features[order], labels[order]
        if mirror is not None:
            flip = rng.random(len(labels)) < 0.5
            inputs[flip], targets[flip] = mirror[0][order][flip], mirror[1][order][flip]
        for start in range(0, len(labels), batch_size):
            yield inputs[start : start + batch_size], targets[start : start + batch_size]


def _full_batches(batches, batch_size):
    """`batches` of `(inputs, labels)` as `(inputs, labels, sample_weight)` batches that all hold `batch_size` rows.

    JAX compiles the train step for every batch shape it sees, so an epoch whose last batch is short compiles the
    step twice (at the quick profile's sizes the second compilation took as long as the other 19 epochs of a
    head's training). Here a short batch is padded to full size with copies of its rows at weight 0 (copies, not
    zeros: a loss such as GIoU on an all-zero box could be NaN, and NaN times 0 is NaN), and its real rows are
    weighted `batch_size / rows`: with Keras's default loss reduction (the weighted sum over `batch_size` rows) the
    loss and its gradients are exactly those of the short batch, with `"mean_with_sample_weight"` too. The weighted
    training metrics of that epoch count the short batch as a full one; validation is not affected. Full batches carry
    weights of 1 (every batch has the same structure).
    """
    ones = np.ones(batch_size, np.float32)
    for inputs, labels in batches:
        rows = len(labels)
        if rows == batch_size:
            yield inputs, labels, ones
            continue
        rows_again = np.arange(batch_size) % rows  # the padding repeats real rows: any loss is finite on them
        weights = np.where(np.arange(batch_size) < rows, batch_size / rows, 0.0).astype(np.float32)
        yield inputs[rows_again], labels[rows_again], weights


def _mixes_examples(model):
    """Whether a layer of `model` computes across the examples of a batch (BatchNormalization in training), which
    rows of padding would change."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization) and layer.trainable:
            return True
        if isinstance(layer, keras.Model) and _mixes_examples(layer):
            return True
    return False


def extract_mirrored_features(base, data, flip_labels, *, verbose=0):
    """`extract_features` of a dataset of `(images, labels)` batches, and of the same images mirrored left to right.

    A random horizontal flip cannot run through a frozen base whose outputs are computed once; computing the
    outputs of each image and of its mirror image, and drawing one of the two per example and epoch
    (`fit_on_features(..., mirror=...)`), is exactly that flip.

    Args:
        base: keras.Model. The frozen layers, from `(batch, H, W, C)` images to features.
        data: `tf.data.Dataset` of `(images, labels)` batches, in a fixed order (no random augmentation).
        flip_labels: callable. The labels of the mirrored images from the labels (e.g. boxes moved with the image:
            `datasets.boxes.flip_boxes_horizontally`; for class labels, `lambda labels: labels`).
        verbose: int. 0 silent, 1 a progress bar.

    Returns:
        A dict of float32 arrays: `features`, `labels`, `mirror_features`, `mirror_labels`.
    """
    features, labels = extract_features(base, data, verbose=verbose)
    mirrored = data.map(lambda images, targets: (images[:, :, ::-1], targets))  # (batch, H, W, C): W is axis 2
    mirror_features, _ = extract_features(base, mirrored, verbose=verbose)
    labels = np.asarray(labels, np.float32)
    return {
        "features": features,
        "labels": labels,
        "mirror_features": mirror_features,
        "mirror_labels": np.asarray(flip_labels(labels), np.float32),
    }


def frozen_features(base, train, validation, *, flip_labels=None, memo=None):
    """The outputs of frozen layers `base` for a training and a validation dataset of `(images, labels)` batches.

    With `flip_labels`, also those of the mirrored training images (`extract_mirrored_features`). With `memo` (a
    dict), they are computed once and kept under `base.name`, so every model that shares these frozen layers
    reuses them.

    Returns:
        `{"train": dict of arrays (`features`, `labels`, and with `flip_labels` the `mirror_` pair),
        "validation": (features, labels), "shape": list, "wall_time_s": float, "cpu_time_s": float}`.
    """
    memo = {} if memo is None else memo
    if base.name not in memo:
        start, cpu_start = time.perf_counter(), time.process_time()
        if flip_labels is not None:
            cached = extract_mirrored_features(base, train, flip_labels)
        else:
            features, labels = extract_features(base, train)
            cached = {"features": features, "labels": labels}
        memo[base.name] = {
            "train": cached,
            "validation": extract_features(base, validation),
            "shape": list(cached["features"].shape[1:]),
            "wall_time_s": round(time.perf_counter() - start, 2),
            "cpu_time_s": round(time.process_time() - cpu_start, 2),
        }
    return memo[base.name]


def _check_pair(name, pair):
    if not isinstance(pair, (tuple, list)) or len(pair) != 2:
        raise ValueError(f"`{name}` must be a pair `(features, labels)`. Received: {name}={type(pair).__name__}")
    features, labels = np.asarray(pair[0]), np.asarray(pair[1])
    if features.ndim < 2 or len(features) != len(labels) or not len(labels):
        raise ValueError(
            f"`{name}` must hold as many labels as feature rows (at least one). Received: features of shape "
            f"{features.shape}, labels of shape {labels.shape}"
        )
    return features, labels


def fit_on_features(
    head,
    train,
    validation=None,
    *,
    batch_size=32,
    epochs=1,
    callbacks=None,
    seed=None,
    mirror=None,
    steps_per_epoch=None,
    verbose=0,
):
    """Trains `head` on cached features: `fit()` on repeating tf.data pipelines that are built once.

    With a head this small, most of the time of `head.fit(features, labels, validation_data=...)` on arrays goes
    into making two tf.data iterators every epoch (one for training, one for validation), not into the training
    steps. Here the features go into tf.data pipelines that are cached in memory and repeat, and `fit()` is told
    how many batches an epoch and a validation pass have (`steps_per_epoch`, `validation_steps`), so it keeps one
    training iterator for the whole training. The training batches are the same as `fit()` on the arrays would
    make: the examples reshuffled every epoch, then cut into batches of `batch_size` (the last one shorter). The
    validation examples go in order, in as few batches as 64 MB of features allow (one for the sets of these
    experiments): `fit()` makes the validation iterator anew every epoch and each step has a fixed cost, and the
    validation loss and metrics, means over the examples, do not depend on the batching. On JAX and PyTorch, where
    `fit()` would turn every tf.data element into NumPy through a TensorFlow iterator (on JAX slower than `fit()` on
    the arrays), the same training batches come from a NumPy generator and the validation set is passed as arrays.
    On JAX a short last batch is padded to full size with zero-weight copies of its rows (the same loss and
    gradients, see `_full_batches`; not with a trainable BatchNormalization layer in `head`), so the train step is
    compiled once, not twice.

    Args:
        head: keras.Model. A compiled model whose inputs are the features, e.g. `classifier_head(model)`.
        train: tuple `(features, labels)` of arrays with the same first dimension.
        validation: tuple `(features, labels)` or None. Evaluated after every epoch, e.g. for `EarlyStopping`.
        batch_size: int. Examples per training batch (validation batches are larger, see above).
        epochs: int. Passes over the training features.
        callbacks: list of keras.callbacks.Callback or None.
        seed: int or None. The shuffling seed (None: from TensorFlow's global seed, which
            `keras.utils.set_random_seed` sets).
        mirror: tuple `(features, labels)` or None. The features and labels of the mirrored training inputs, in
            the order of `train` (`extract_mirrored_features`): each example of each epoch is drawn from `train`
            or from `mirror` with probability 1/2, a random horizontal flip on cached features.
        steps_per_epoch: int or None. Batches per epoch; None: one pass over the training features. A fixed number
            gives every training-set size the same optimizer steps per epoch (a small set is repeated).
        verbose: int. Keras's `fit()` verbosity.

    Returns:
        The `keras.callbacks.History` of `head.fit()`.

    Example:

    ```python
    base = base_layer(model)
    head = classifier_head(model)
    head.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    fit_on_features(head, (extract_features(base, x_train), y_train),
                    (extract_features(base, x_val), y_val), epochs=20)
    ```
    """
    if not isinstance(head, keras.Model):
        raise ValueError(f"`head` must be a keras.Model. Received: head={head!r}")
    for name, value in (("batch_size", batch_size), ("epochs", epochs)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")
    features, labels = _check_pair("train", train)
    if mirror is not None:
        mirror = _check_pair("mirror", mirror)
        if mirror[0].shape != features.shape:
            raise ValueError(
                f"`mirror` must match `train` example for example. Received: features of shape {features.shape} "
                f"and mirror features of shape {mirror[0].shape}"
            )
    if steps_per_epoch is None:
        steps_per_epoch = math.ceil(len(labels) / batch_size)
    elif isinstance(steps_per_epoch, bool) or not isinstance(steps_per_epoch, int) or steps_per_epoch < 1:
        raise ValueError(f"`steps_per_epoch` must be None or a positive integer. Received: {steps_per_epoch=}")
    tensorflow = keras.backend.backend() == "tensorflow"
    if tensorflow:
        batches = _feature_pipeline(features, labels, batch_size, True, seed, mirror)
    else:
        batches = _feature_batches(features, labels, batch_size, seed, mirror)
        if keras.backend.backend() == "jax" and len(labels) % batch_size and not _mixes_examples(head):
            batches = _full_batches(batches, batch_size)  # one compiled train step, not two (see _full_batches)
    arguments = {"x": batches, "steps_per_epoch": steps_per_epoch}
    if validation is not None:
        features, labels = _check_pair("validation", validation)
        # Validation batches as large as memory allows: the loss and metrics are means over the examples, the same
        # for any batching, and fewer steps cost less. No prefetch: fit() makes this iterator anew every epoch.
        values = max(1, math.prod(features.shape[1:]))
        validation_batch = min(len(labels), max(batch_size, _VALIDATION_BATCH_VALUES // values))
        if tensorflow:
            arguments["validation_data"] = _feature_pipeline(
                features, labels, validation_batch, False, None, prefetch=False
            )
            arguments["validation_steps"] = math.ceil(len(labels) / validation_batch)
        else:  # NumPy slices, in order (fit() does not shuffle validation arrays)
            arguments["validation_data"] = (features, labels)
            arguments["validation_batch_size"] = validation_batch
    optimizer = getattr(head, "optimizer", None)
    if isinstance(optimizer, keras.optimizers.Optimizer) and not optimizer.built:
        # Built now, eagerly, over the variables the train step will update (what its first apply would build):
        # on TensorFlow, fit() otherwise creates the optimizer's variables inside the trace of the train function,
        # where each variable costs milliseconds more to lift out of the graph.
        strategy = getattr(head, "distribute_strategy", None)  # TensorFlow only
        with strategy.scope() if strategy is not None else contextlib.nullcontext():
            optimizer.build(head.trainable_variables)
    # shuffle=False: the training pipeline shuffles itself (fit() would only warn that it cannot).
    with quiet_retracing():  # each head traces its own functions (see quiet_retracing)
        return head.fit(**arguments, epochs=epochs, callbacks=callbacks, shuffle=False, verbose=verbose)
