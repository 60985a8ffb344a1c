"""Layer transfer: copy the first n weighted layers of one network into another, frozen or fine-tuned.

Yosinski et al. (2014) measure how general the features of each layer are by copying the first n layers of a network
trained on task A into a fresh network of the same architecture, re-initialising and training the rest on task B.
`transfer_layers` does that copy for any Keras model; `small_alexnet` builds the 8-layer network (5 convolutional,
3 dense) whose layers `conv1..conv5, fc6, fc7, fc8` give "layer n" the paper's meaning.

This file imports only `keras` and the standard library, so it can be copied into another project on its own.
"""

import numbers

import keras

# The 8 weighted layers of `small_alexnet`, in order: "layer n" of Yosinski et al. is LAYER_NAMES[n - 1].
LAYER_NAMES = ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8")


def _check_model(model, name):
    if not isinstance(model, keras.Model):
        raise ValueError(f"`{name}` must be a keras.Model. Received: {name}={model!r}")
    if not model.built:
        raise ValueError(
            f"`{name}` must be built (created with an `Input`, or called once on data) so its weights exist. "
            f"Received: {name}={model.name!r}, which is not built"
        )


def weighted_layers(model):
    """The layers of `model` that hold weights, in the order of `model.layers`.

    This is what "layer n" means for `transfer_layers`: pooling, flattening, dropout and rescaling layers hold no
    weights and are not counted. A nested model (e.g. a `Sequential` used as one layer) counts as one layer.

    Args:
        model: keras.Model. A built model.

    Returns:
        A list of `keras.layers.Layer`.

    Example:

    ```python
    model = small_alexnet((28, 28, 1), num_classes=5)
    [layer.name for layer in weighted_layers(model)]
    # ['conv1', 'conv2', 'conv3', 'conv4', 'conv5', 'fc6', 'fc7', 'fc8']
    ```
    """
    _check_model(model, "model")
    return [layer for layer in model.layers if layer.weights]


def transfer_layers(source_model, target_model, n, *, trainable=False):
    """Copies the weights of the first `n` weighted layers of `source_model` into `target_model`.

    `target_model` is a freshly built network of the same architecture (at least in its first `n` weighted
    layers; the layers above may differ, e.g. a classifier with another number of classes). Its first `n` weighted
    layers receive bit-identical copies of the source's weights and are frozen (`trainable=False`) or left
    trainable for fine-tuning (`trainable=True`); every other layer keeps its own fresh initialisation. The source
    is not modified.

    With `source_model` trained on task A and `target_model` then trained on task B this builds Yosinski et al.'s
    transfer networks: AnB (`trainable=False`) and AnB+ (`trainable=True`); with the source trained on B itself, the
    "selffer" controls BnB and BnB+.

    Compile `target_model` after calling this function (Keras reads `trainable` when it builds the train step).

    Args:
        source_model: keras.Model. The built network to copy from.
        target_model: keras.Model. The built network to copy into (modified in place); not `source_model` itself.
        n: int. How many weighted layers to copy, counted from the input: `1 <= n <=` the number of weighted
            layers of `source_model` (see `weighted_layers`).
        trainable: bool. `False` freezes the copied layers; `True` lets training fine-tune them.

    Returns:
        `target_model`.

    Raises:
        ValueError: if a model is not a built `keras.Model`, if `n` is out of range, or if the first `n` weighted
            layers of the two models differ in type or weight shapes (the message names the layer).

    Example:

    ```python
    base_a = small_alexnet((28, 28, 1), num_classes=5, seed=0)
    base_a.compile("adam", "sparse_categorical_crossentropy")
    base_a.fit(x_a, y_a, epochs=5)
    a3b = transfer_layers(base_a, small_alexnet((28, 28, 1), num_classes=5, seed=1), n=3)  # conv1..conv3 frozen
    a3b.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    a3b.fit(x_b, y_b, epochs=5)
    ```

    Reference:
        - [Yosinski et al., 2014](https://arxiv.org/abs/1411.1792): How transferable are features in deep neural
          networks?
    """
    _check_model(source_model, "source_model")
    _check_model(target_model, "target_model")
    if target_model is source_model:
        raise ValueError(
            "`target_model` must be a different model from `source_model` (a fresh network of the same "
            f"architecture). Received: the same model {source_model.name!r} twice"
        )
    if not isinstance(trainable, bool):
        raise ValueError(f"`trainable` must be True or False. Received: trainable={trainable!r}")
    source_layers = weighted_layers(source_model)
    target_layers = weighted_layers(target_model)
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise ValueError(f"`n` must be an integer. Received: n={n!r}")
    n = int(n)
    if not 1 <= n <= len(source_layers):
        raise ValueError(
            f"`n` must be between 1 and {len(source_layers)}, the number of weighted layers of `source_model` "
            f"{source_model.name!r} ({', '.join(layer.name for layer in source_layers)}). Received: n={n}"
        )
    if n > len(target_layers):
        raise ValueError(
            f"`target_model` {target_model.name!r} has only {len(target_layers)} weighted layers, fewer than the "
            f"{n} to copy. Received: n={n}"
        )
    for index in range(n):
        source_layer, target_layer = source_layers[index], target_layers[index]
        source_shapes = [tuple(weight.shape) for weight in source_layer.weights]
        target_shapes = [tuple(weight.shape) for weight in target_layer.weights]
        if type(source_layer) is not type(target_layer) or source_shapes != target_shapes:
            raise ValueError(
                f"The architectures differ at weighted layer {index + 1}: `source_model` has "
                f"{source_layer.name!r} ({type(source_layer).__name__}, weights {source_shapes}), `target_model` "
                f"has {target_layer.name!r} ({type(target_layer).__name__}, weights {target_shapes}). "
                f"Received: n={n}"
            )
    for source_layer, target_layer in zip(source_layers[:n], target_layers[:n]):
        target_layer.set_weights(source_layer.get_weights())
        target_layer.trainable = trainable
    return target_model


def small_alexnet(
    input_shape=(28, 28, 1),
    num_classes=5,
    *,
    filters=(32, 64, 96, 96, 64),
    kernel_sizes=(5, 3, 3, 3, 3),
    units=(256, 256),
    dropout=0.5,
    seed=None,
    name="small_alexnet",
):
    """The 8-layer network of Yosinski et al. (2014), AlexNet's layout scaled down to 28x28 or 32x32 images.

    Five convolutional layers `conv1..conv5` (ReLU; max-pooling after conv1, conv2 and conv5, as in AlexNet) and
    three dense layers `fc6, fc7` (ReLU, dropout) and `fc8` (softmax), so weighted layer n is the paper's layer n.
    Inputs are pixel values in [0, 255]; the rescaling to [0, 1] is inside the model. AlexNet's local response
    normalisation and grouped convolutions are left out (Keras has neither; neither changes what "layer n" means).

    Args:
        input_shape: tuple of int. `(height, width, channels)`, e.g. `(28, 28, 1)` for Fashion-MNIST or
            `(32, 32, 3)` for CIFAR-100; height and width at least 8.
        num_classes: int. The number of classes of `fc8`.
        filters: tuple of 5 int. The filters of conv1..conv5 (AlexNet: 96, 256, 384, 384, 256).
        kernel_sizes: tuple of 5 int. The kernel sizes of conv1..conv5.
        units: tuple of 2 int. The units of fc6 and fc7 (AlexNet: 4096, 4096).
        dropout: float. The dropout rate after fc6 and fc7, in [0, 1).
        seed: int or None. Seeds every initializer and dropout layer, so the same seed builds the same network.
        name: str. The model's name.

    Returns:
        An uncompiled functional `keras.Model` mapping `input_shape` to class probabilities.

    Example:

    ```python
    model = small_alexnet((28, 28, 1), num_classes=5, seed=0)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    ```

    Reference:
        - [Yosinski et al., 2014](https://arxiv.org/abs/1411.1792): How transferable are features in deep neural
          networks?
        - [Krizhevsky et al., 2012](https://papers.nips.cc/paper/4824): ImageNet classification with deep
          convolutional neural networks.
    """
    input_shape = tuple(input_shape)
    if len(input_shape) != 3 or any(not isinstance(size, int) or size < 1 for size in input_shape):
        raise ValueError(f"`input_shape` must be (height, width, channels). Received: input_shape={input_shape!r}")
    if min(input_shape[:2]) < 8:
        raise ValueError(
            f"`input_shape` must be at least 8x8 (three 2x2 poolings). Received: input_shape={input_shape!r}"
        )
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"`num_classes` must be an integer >= 2. Received: num_classes={num_classes!r}")
    for argument, values, length in (("filters", filters, 5), ("kernel_sizes", kernel_sizes, 5), ("units", units, 2)):
        values = tuple(values)
        if len(values) != length or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in values):
            raise ValueError(f"`{argument}` must be {length} positive integers. Received: {argument}={values!r}")
    if not 0 <= dropout < 1:
        raise ValueError(f"`dropout` must be in [0, 1). Received: dropout={dropout!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ValueError(f"`seed` must be None or a non-negative integer. Received: seed={seed!r}")

    def _seed(offset):
        return None if seed is None else seed * 100 + offset

    def _kernel(offset):
        return keras.initializers.GlorotUniform(seed=_seed(offset))

    inputs = keras.Input(shape=input_shape, name="image")
    x = keras.layers.Rescaling(1.0 / 255.0, name="rescale")(inputs)
    for index, (width, size) in enumerate(zip(filters, kernel_sizes), start=1):
        x = keras.layers.Conv2D(
            width, size, padding="same", activation="relu", kernel_initializer=_kernel(index), name=f"conv{index}"
        )(x)
        if index in (1, 2, 5):
            x = keras.layers.MaxPooling2D(2, name=f"pool{index}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    for index, width in zip((6, 7), units):
        x = keras.layers.Dense(width, activation="relu", kernel_initializer=_kernel(index), name=f"fc{index}")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, seed=_seed(index + 10), name=f"drop{index}")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", kernel_initializer=_kernel(8), name="fc8")(x)
    return keras.Model(inputs, outputs, name=name)
