"""The domain-adversarial network: a feature extractor, a label classifier and a domain classifier behind a
`GradientReversal` layer, as one two-output functional model, and its losses (see the package docstring)."""

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


def gradient_reversal_strength(model):
    """The current strength of the model's `GradientReversal` layer, as a float."""
    return float(keras.ops.convert_to_numpy(model.get_layer(GRADIENT_REVERSAL).strength))


def _check_strength(strength):
    if not isinstance(strength, (int, float)) or isinstance(strength, bool) or not math.isfinite(strength):
        raise ValueError(f"`strength` must be a finite number. Received: strength={strength!r}")
    if strength < 0:
        raise ValueError(f"`strength` must be >= 0. Received: strength={strength!r}")
    return float(strength)
