"""Domain-adversarial neural networks (DANN): unsupervised domain adaptation by backpropagation.

A feature extractor is shared by two heads: a label classifier, trained on the labelled source domain only, and a
domain classifier that tells source from target features. The domain classifier sits behind a `GradientReversal`
layer, so while it learns to separate the domains, the feature extractor receives the *reversed* domain gradient
and learns features the domain classifier cannot separate, yet good enough for the labels. In the end the domain
classifier fails (its accuracy falls toward chance) and the label classifier works on the target domain too.

The training is an ordinary `compile()` / `fit()` of a two-output functional model, so it runs unchanged on every
Keras backend:

- every batch is half source, half target (`pair_domains`), the input is the concatenated batch;
- the `"domain"` output is trained on every sample (0 = source, 1 = target);
- the `"label"` output has a sample weight of 0 on target samples and the loss is averaged over the weighted
  samples only (`reduction="mean_with_sample_weight"`), so target labels, if any, never reach the training;
- `keras_transfer.callbacks.GradientReversalSchedule` sets the reversal strength to `λ_p` per batch and
  `keras_transfer.schedules.InverseProgressDecay` gives the learning rate `μ_p`.

Example:

```python
import keras
import keras_transfer as kt
from keras_transfer.models import dann

model = dann.build_mnist_dann(input_shape=(28, 28, 3), num_classes=10)
train = dann.pair_domains((x_source, y_source), x_target, batch_size=128, seed=0)
steps = int(train.cardinality()) * epochs
dann.compile_dann(
    model,
    keras.optimizers.SGD(kt.schedules.InverseProgressDecay(0.01, total_steps=steps), momentum=0.9),
)
model.fit(train, epochs=epochs, callbacks=[kt.callbacks.GradientReversalSchedule()])
model.get_layer("feature_extractor")  # the adapted features
```

Reference:
    - [Ganin & Lempitsky, Unsupervised Domain Adaptation by Backpropagation, ICML 2015](
        https://arxiv.org/abs/1409.7495)
    - [Ganin et al., Domain-Adversarial Training of Neural Networks, JMLR 2016](https://arxiv.org/abs/1505.07818)
"""

import math

import keras
import numpy as np

from keras_transfer import layers as kt_layers

LABEL_OUTPUT = "label"
DOMAIN_OUTPUT = "domain"
SOURCE_DOMAIN = 0
TARGET_DOMAIN = 1

FEATURE_EXTRACTOR = "feature_extractor"
LABEL_CLASSIFIER = "label_classifier"
DOMAIN_CLASSIFIER = "domain_classifier"
GRADIENT_REVERSAL = "gradient_reversal"


def build_dann(feature_extractor, label_classifier, domain_classifier, *, strength=1.0, name="dann"):
    """Joins a feature extractor, a label classifier and a domain classifier into a domain-adversarial network.

    The returned functional model takes one batch of images and returns a dict with two outputs: `"label"` (the
    label classifier on the features) and `"domain"` (the domain classifier on the same features, seen through a
    `GradientReversal` layer named `"gradient_reversal"`). The three parts are renamed `"feature_extractor"`,
    `"label_classifier"` and `"domain_classifier"`, so `model.get_layer("feature_extractor")` gives the features.
    The model is built from registered layers only, so `keras.saving.load_model` reloads it with `safe_mode=True`
    and no `custom_objects`.

    Args:
        feature_extractor: keras.Model. Maps images to features; it must have a defined input shape. Renamed
            `"feature_extractor"`.
        label_classifier: keras.Model or keras.layers.Layer. Maps features to class probabilities (softmax).
            Renamed `"label_classifier"`.
        domain_classifier: keras.Model or keras.layers.Layer. Maps features to two domain probabilities
            (softmax; 0 = source, 1 = target). Renamed `"domain_classifier"`.
        strength: float. The initial strength of the gradient reversal; 0 makes the domain head a mere
            observer (no adaptation: the "source only" baseline). `GradientReversalSchedule` overwrites it during
            training.
        name: str. The model's name.

    Returns:
        A `keras.Model` with outputs `{"label": ..., "domain": ...}`.

    Example:

    ```python
    features = keras.Sequential([keras.Input((28, 28, 3)), keras.layers.Flatten()])
    model = build_dann(
        features,
        keras.Sequential([keras.layers.Dense(10, activation="softmax")]),
        keras.Sequential([keras.layers.Dense(2, activation="softmax")]),
    )
    ```

    Reference:
        - [Ganin & Lempitsky, 2015](https://arxiv.org/abs/1409.7495)
    """
    if not isinstance(feature_extractor, keras.Model):
        raise ValueError(
            "`feature_extractor` must be a keras.Model with a defined input shape. "
            f"Received: feature_extractor={feature_extractor!r}"
        )
    for argument, part in (("label_classifier", label_classifier), ("domain_classifier", domain_classifier)):
        if not isinstance(part, keras.layers.Layer):
            raise ValueError(f"`{argument}` must be a keras.Model or a keras Layer. Received: {argument}={part!r}")
    strength = _check_strength(strength)
    try:
        input_shape = feature_extractor.input_shape
    except (AttributeError, ValueError) as error:
        raise ValueError(
            "`feature_extractor` must have a defined input shape (start it with keras.Input). "
            f"Received: feature_extractor={feature_extractor!r}"
        ) from error
    feature_extractor.name = FEATURE_EXTRACTOR
    label_classifier.name = LABEL_CLASSIFIER
    domain_classifier.name = DOMAIN_CLASSIFIER

    inputs = keras.Input(shape=input_shape[1:], name="images")
    features = feature_extractor(inputs)
    labels = label_classifier(features)
    reversed_features = kt_layers.GradientReversal(strength=strength, name=GRADIENT_REVERSAL)(features)
    domains = domain_classifier(reversed_features)
    return keras.Model(inputs, {LABEL_OUTPUT: labels, DOMAIN_OUTPUT: domains}, name=name)


def build_mnist_dann(input_shape=(28, 28, 3), num_classes=10, *, pixel_mean=None, strength=1.0, name="dann"):
    """The paper's architecture for MNIST → MNIST-M.

    Feature extractor: (pixels - `pixel_mean`) / 255, conv 5×5 with 32 filters, ReLU, max-pool 2×2, conv 5×5
    with 48 filters, ReLU, max-pool 2×2, flatten. Label classifier: dense 100, ReLU, dense 100, ReLU, dense
    `num_classes`, softmax. Domain classifier (behind the gradient reversal): dense 100, ReLU, dense 2, softmax.

    Args:
        input_shape: tuple of int. The image shape, `(height, width, channels)`, pixel values in [0, 255].
        num_classes: int. The number of labels.
        pixel_mean: None, float or sequence of floats (one per channel). Subtracted from the pixels before they
            are divided by 255, e.g. the mean pixel of the source and target training images together (as in the
            usual MNIST → MNIST-M setup). None subtracts nothing.
        strength: float. The initial gradient reversal strength (see `build_dann`).
        name: str. The model's name.

    Returns:
        A `keras.Model` as `build_dann` returns it.

    Reference:
        - [Ganin & Lempitsky, ICML 2015, supplementary material](https://arxiv.org/abs/1409.7495)
    """
    input_shape = tuple(input_shape)
    if len(input_shape) != 3 or any(not isinstance(size, int) or size < 1 for size in input_shape):
        raise ValueError(
            f"`input_shape` must be (height, width, channels) of positive ints. Received: input_shape={input_shape!r}"
        )
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"`num_classes` must be an int of at least 2. Received: num_classes={num_classes!r}")
    if pixel_mean is None:
        scaling = keras.layers.Rescaling(1.0 / 255.0, name="rescaling")
    else:
        mean = np.broadcast_to(np.asarray(pixel_mean, dtype="float64"), (input_shape[-1],))
        if not np.all(np.isfinite(mean)):
            raise ValueError(f"`pixel_mean` must be finite numbers. Received: pixel_mean={pixel_mean!r}")
        scaling = keras.layers.Normalization(
            mean=[float(m) for m in mean], variance=[255.0**2] * input_shape[-1], name="rescaling"
        )
    feature_extractor = keras.Sequential(
        [
            keras.Input(shape=input_shape),
            scaling,
            keras.layers.Conv2D(32, 5, activation="relu", name="conv1"),
            keras.layers.MaxPooling2D(2, name="pool1"),
            keras.layers.Conv2D(48, 5, activation="relu", name="conv2"),
            keras.layers.MaxPooling2D(2, name="pool2"),
            keras.layers.Flatten(name="flatten"),
        ]
    )
    label_classifier = keras.Sequential(
        [
            keras.layers.Dense(100, activation="relu", name="label_fc1"),
            keras.layers.Dense(100, activation="relu", name="label_fc2"),
            keras.layers.Dense(num_classes, activation="softmax", name="label_predictions"),
        ]
    )
    domain_classifier = keras.Sequential(
        [
            keras.layers.Dense(100, activation="relu", name="domain_fc1"),
            keras.layers.Dense(2, activation="softmax", name="domain_predictions"),
        ]
    )
    return build_dann(feature_extractor, label_classifier, domain_classifier, strength=strength, name=name)


def compile_dann(model, optimizer, *, domain_loss_weight=1.0, **kwargs):
    """Compiles a model from `build_dann` with the DANN losses and metrics.

    Losses: sparse categorical cross-entropy on `"label"`, averaged over the samples whose label weight is not
    zero (target samples carry weight 0, so they do not count, not even in the denominator), plus
    `domain_loss_weight` times sparse categorical cross-entropy on `"domain"` over every sample. Metrics:
    `label_accuracy` (weighted: source samples only) and `domain_accuracy` (every sample; 0.5 is chance on the
    balanced batches of `pair_domains`).

    Args:
        model: keras.Model. A model with the outputs `"label"` and `"domain"` (see `build_dann`).
        optimizer: keras.optimizers.Optimizer or str. The paper uses SGD with momentum 0.9 and
            `InverseProgressDecay`.
        domain_loss_weight: float. The weight of the domain loss (the paper's objective uses 1; the trade-off
            lives in the gradient reversal strength).
        **kwargs: passed on to `model.compile` (e.g. `jit_compile`).

    Returns:
        The model, compiled.
    """
    outputs = getattr(model, "output", None) if isinstance(model, keras.Model) else None
    if not isinstance(outputs, dict) or set(outputs) != {LABEL_OUTPUT, DOMAIN_OUTPUT}:
        raise ValueError(
            f"`model` must be a functional model with the dict outputs {LABEL_OUTPUT!r} and {DOMAIN_OUTPUT!r} "
            f"(see build_dann). Received: model={model!r}"
        )
    if not isinstance(domain_loss_weight, (int, float)) or not domain_loss_weight >= 0:
        raise ValueError(
            f"`domain_loss_weight` must be a number >= 0. Received: domain_loss_weight={domain_loss_weight!r}"
        )
    model.compile(
        optimizer=optimizer,
        loss={
            LABEL_OUTPUT: keras.losses.SparseCategoricalCrossentropy(reduction="mean_with_sample_weight"),
            DOMAIN_OUTPUT: keras.losses.SparseCategoricalCrossentropy(),
        },
        loss_weights={LABEL_OUTPUT: 1.0, DOMAIN_OUTPUT: float(domain_loss_weight)},
        weighted_metrics={LABEL_OUTPUT: ["accuracy"]},
        metrics={DOMAIN_OUTPUT: ["accuracy"]},
        **kwargs,
    )
    return model


def pair_domains(source, target, batch_size=128, *, label_weights=(1.0, 0.0), training=True, seed=None):
    """A `tf.data.Dataset` of batches half source, half target, in the form `fit` expects for a DANN.

    Each element is `(images, {"label": labels, "domain": domains}, {"label": label_weights, "domain": ones})`,
    where `domains` is 0 for source and 1 for target samples and `label_weights` is `label_weights[0]` on source
    and `label_weights[1]` on target samples. With the default `(1, 0)` the label loss sees the source labels
    only: this is unsupervised domain adaptation, and target labels (if given) cannot influence training.
    `(0, 1)` trains on labelled target data instead (the "train on target" bound) or, for validation, measures
    the target accuracy as `val_label_accuracy`.

    With `training=True`, both sets are shuffled and repeated independently and zipped, `batch_size // 2` from
    each per batch; an epoch is one pass over the larger set (`max(n_source, n_target) // (batch_size // 2)`
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

    x_source, y_source = _split_domain(source, "source", labels_required=True)
    x_target, y_target = _split_domain(target, "target", labels_required=False)
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

    def concatenate(source_batch, target_batch):
        return tuple(tf.concat([s, t], axis=0) for s, t in zip(source_batch, target_batch))

    dataset = tf.data.Dataset.zip(tuple(streams)).map(concatenate).map(to_fit_structure).take(steps)
    return dataset.prefetch(tf.data.AUTOTUNE)


def train_dann(model, source, target, *, steps, evaluations=1, batch_size=128, adapt=True, label_weights=(1.0, 0.0),
               learning_rate=0.01, alpha=10.0, beta=0.75, momentum=0.9, gamma=10.0, max_strength=1.0,
               domain_loss_weight=1.0, validation=None, seed=None, verbose=0):
    """Trains a model from `build_dann` by the paper's recipe; returns the history as a dict of lists.

    SGD with momentum and the learning rate `μ_p = learning_rate / (1 + alpha p) ** beta` (`InverseProgressDecay`),
    batches half source, half target (`pair_domains`), and with `adapt=True` the gradient reversal strength
    `λ_p = max_strength (2 / (1 + exp(-gamma p)) - 1)` set before every batch (`GradientReversalSchedule`); with
    `adapt=False` the strength stays at the model's (0 for a domain classifier that only observes). The same call
    with `label_weights=(0, 1)` and labelled `target` trains on the target domain.

    Args:
        model: keras.Model. From `build_dann`; compiled here (`compile_dann`).
        source: tuple `(images, labels)`. The labelled source training set.
        target: array or tuple `(images, labels)`. The target training set (labels used only where
            `label_weights[1]` is not 0).
        steps: int. Training steps (batches) in all; `p` goes from 0 to 1 over them.
        evaluations: int. How many times, evenly spread, the history records the metrics (and `validation`'s).
        batch_size: int. Images per batch, half of each domain.
        adapt: bool. Follow `λ_p` (DANN) or keep the strength fixed.
        label_weights: tuple. The label-loss weight of source and of target images (see `pair_domains`).
        learning_rate, alpha, beta, momentum: float. `μ0`, `α`, `β` of the learning rate and SGD's momentum.
        gamma, max_strength: float. `γ` and the final strength of `λ_p`.
        domain_loss_weight: float. See `compile_dann`.
        validation: None or tuple `(source, target)` of `(images, labels)`. Measured at each evaluation with the
            label weight on the target images only: `val_label_accuracy` is the target accuracy.
        seed: int or None. The batch order's seed.
        verbose: int. Keras's `verbose` for `fit`.

    Returns:
        A dict of per-evaluation lists: Keras's logs, `step` (the training step of each evaluation), `grl_strength`
        and `learning_rate`; with `adapt=True` also `grl_strength_per_batch`.

    Example:

    >>> rng = np.random.default_rng(0)
    >>> images, labels = rng.integers(0, 256, (64, 28, 28, 3)), rng.integers(0, 10, 64)
    >>> model = build_mnist_dann(strength=0.0)
    >>> history = train_dann(model, (images, labels), images[::-1], steps=4, batch_size=32)
    >>> round(history["grl_strength"][-1], 3)
    0.999
    """
    from keras_transfer import callbacks as kt_callbacks
    from keras_transfer import schedules as kt_schedules

    for name, value in (("steps", steps), ("evaluations", evaluations)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"`{name}` must be a positive int. Received: {name}={value!r}")
    if steps % evaluations:
        raise ValueError(
            f"`steps` must be a multiple of `evaluations`. Received: steps={steps}, evaluations={evaluations}"
        )
    train = pair_domains(source, target, batch_size, label_weights=label_weights, seed=seed).repeat()
    validation_data = None
    if validation is not None:
        validation_data = pair_domains(*validation, batch_size, label_weights=(0.0, 1.0), training=False)
    schedule = kt_schedules.InverseProgressDecay(learning_rate, total_steps=steps, alpha=alpha, beta=beta)
    compile_dann(model, keras.optimizers.SGD(schedule, momentum=momentum), domain_loss_weight=domain_loss_weight)
    callbacks = [kt_callbacks.GradientReversalSchedule(gamma=gamma, max_strength=max_strength)] if adapt else []
    per_evaluation = steps // evaluations
    fit = model.fit(train, epochs=evaluations, steps_per_epoch=per_evaluation, validation_data=validation_data,
                    callbacks=callbacks, verbose=verbose, shuffle=False)
    history = {key: [float(value) for value in values] for key, values in fit.history.items()}
    strength = gradient_reversal_strength(model)
    history.setdefault("grl_strength", [strength] * evaluations)
    history["step"] = [(index + 1) * per_evaluation for index in range(evaluations)]
    history["learning_rate"] = [float(schedule(step)) for step in history["step"]]
    if adapt:
        history["grl_strength_per_batch"] = [float(value) for value in callbacks[0].history]
    return history


def evaluate_domains(model, source, target, batch_size=256, *, target_groups=None):
    """Accuracies of a trained DANN on held-out data, computed exactly with `predict`.

    Args:
        model: keras.Model. A model from `build_dann`.
        source: tuple `(images, labels)`. Held-out source data.
        target: tuple `(images, labels)`. Held-out target data (labels used for measuring only).
        batch_size: int. The prediction batch size.
        target_groups: None or a 1-D array with one group name per target image. When given, the result also
            holds `target_groups`: `{group: {"count", "target_accuracy", "recognised_as_target"}}`, the label
            accuracy on the group's images and the share of them the domain classifier calls target.

    Returns:
        A dict: floats `source_accuracy`, `target_accuracy` (label classifier), `domain_accuracy` (domain
        classifier on both sets together; 0.5 is chance when they have the same size), and `target_groups` when
        `target_groups` is given.
    """
    x_source, y_source = _split_domain(source, "source", labels_required=True)
    x_target, y_target = _split_domain(target, "target", labels_required=True)
    if target_groups is not None:
        target_groups = np.asarray(target_groups)
        if target_groups.shape != (len(x_target),):
            raise ValueError(
                f"`target_groups` must hold one group per target image ({len(x_target)}). Received: "
                f"target_groups with shape {target_groups.shape}"
            )
    outputs = {}
    for key, x in (("source", x_source), ("target", x_target)):
        prediction = _predict(model, x, batch_size)
        outputs[key] = (np.argmax(prediction[LABEL_OUTPUT], axis=-1), np.argmax(prediction[DOMAIN_OUTPUT], axis=-1))
    domain_hits = np.concatenate(
        [outputs["source"][1] == SOURCE_DOMAIN, outputs["target"][1] == TARGET_DOMAIN]
    )
    scores = {
        "source_accuracy": float(np.mean(outputs["source"][0] == y_source)),
        "target_accuracy": float(np.mean(outputs["target"][0] == y_target)),
        "domain_accuracy": float(np.mean(domain_hits)),
    }
    if target_groups is not None:
        label_hits = outputs["target"][0] == y_target
        said_target = outputs["target"][1] == TARGET_DOMAIN
        scores["target_groups"] = {
            group: {
                "count": int(np.sum(target_groups == group)),
                "target_accuracy": float(np.mean(label_hits[target_groups == group])),
                "recognised_as_target": float(np.mean(said_target[target_groups == group])),
            }
            for group in dict.fromkeys(target_groups.tolist())
        }
    return scores


def dann_features(model, images, batch_size=256):
    """The feature extractor's output of a model from `build_dann` for `images`, as a 2-D NumPy array `(N, D)`."""
    features = _predict(model.get_layer(FEATURE_EXTRACTOR), np.asarray(images), batch_size)
    return np.reshape(features, (len(features), -1))


def gradient_reversal_strength(model):
    """The current strength of the model's `GradientReversal` layer, as a float."""
    return float(keras.ops.convert_to_numpy(model.get_layer(GRADIENT_REVERSAL).strength))


def _predict(model, x, batch_size):
    """`model(x)` in batches, outside `predict()`: no train/predict function is traced for a one-off pass."""
    batches = [
        keras.tree.map_structure(keras.ops.convert_to_numpy, model(x[start : start + batch_size], training=False))
        for start in range(0, len(x), batch_size)
    ]
    return keras.tree.map_structure(lambda *parts: np.concatenate(parts), *batches)


def _split_domain(data, name, labels_required):
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


def _check_strength(strength):
    if not isinstance(strength, (int, float)) or isinstance(strength, bool) or not math.isfinite(strength):
        raise ValueError(f"`strength` must be a finite number. Received: strength={strength!r}")
    if strength < 0:
        raise ValueError(f"`strength` must be >= 0. Received: strength={strength!r}")
    return float(strength)
