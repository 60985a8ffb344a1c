"""Frozen-base features computed once: train a head on cached backbone outputs instead of running the base every epoch.

When a backbone is frozen and called with `training=False`, and no random augmentation runs through it, its output
for an image never changes during training. Computing it once and training only the head on those outputs gives
the same training as the keras-io guide's "base inside the model" way, at the cost of one forward pass instead of
one per epoch. What it costs: no augmentation can run through the base (every epoch sees the same features), and
the features of the whole set are held in memory (and, with `cache=True`, on disk).
"""

import hashlib
import json
import os

import keras
import numpy as np

from keras_transfer import paths


def _weights_digest(model):
    digest = hashlib.sha256()
    digest.update(json.dumps(model.get_config(), sort_keys=True, default=str).encode())
    for weight in model.weights:
        value = keras.ops.convert_to_numpy(weight)
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
        verbose: int. 0 silent, 1 a progress bar.

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
        progress = keras.utils.Progbar(None) if verbose else None
        for batch in data:
            inputs, targets = (batch[0], batch[1]) if isinstance(batch, tuple) else (batch, None)
            features.append(keras.ops.convert_to_numpy(base(inputs, training=False)))
            if targets is not None:
                labels.append(np.asarray(targets))
            if progress is not None:
                progress.add(1)
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
    features = base.predict(data, batch_size=batch_size, verbose=verbose).astype("float32")
    if path is not None:
        partial = path.with_name(f".{path.stem}.{os.getpid()}.partial.npy")
        np.save(partial, features)
        os.replace(partial, path)
    return features
