"""Off-the-shelf features: the activations of any layers of a trained network, spatially average-pooled.

A convolutional layer's output `(N, H, W, C)` becomes `C` features, the mean of each channel over the image
(a dense layer's `(N, units)` stays as it is), so every layer gives one fixed-length vector per image whatever the
image size. `tap_model(model, layers)` builds the model that computes all of them in one forward pass, the pooling
inside it, so only the pooled features of a batch ever leave it; `extract_layer_features` runs it over a dataset
through `keras_transfer.models.extract_features` (batched forward passes, a progress bar, and with `cache=True` a
copy on disk keyed by a hash of the tapping model, i.e. the layers and the weights, and of the inputs, written to a
temporary file then renamed).

Example:

```python
source = keras_transfer.models.pretrained_source_network("quick")
features = extract_layer_features(source, to_source_input(x), layers=["block1_conv1", "fc2"], cache=True)
features["block1_conv1"].shape  # (N, 16): the mean of each of the 16 channels over the image
```

Reference:
    - [Razavian et al., 2014](https://arxiv.org/abs/1403.6382): CNN features off-the-shelf: an astounding baseline
      for recognition.
    - [Zeiler & Fergus, 2014](https://arxiv.org/abs/1311.2901): Visualizing and understanding convolutional
      networks (a linear SVM on the features of each layer, section 5.2).
"""

import weakref

import keras
import numpy as np

from keras_transfer.models.features import extract_features

_CONV_TYPES = tuple(
    getattr(keras.layers, name)
    for name in (
        "Conv1D",
        "Conv2D",
        "Conv3D",
        "SeparableConv1D",
        "SeparableConv2D",
        "DepthwiseConv1D",
        "DepthwiseConv2D",
        "Conv1DTranspose",
        "Conv2DTranspose",
        "Conv3DTranspose",
    )
    if hasattr(keras.layers, name)
)
# The tapping models already built, per source model and list of layers: reusing one keeps its compiled predict
# function, so extracting the features of several image sets does not trace the forward pass again each time.
_TAP_MODELS = weakref.WeakKeyDictionary()

_POOLING = {
    3: keras.layers.GlobalAveragePooling1D,
    4: keras.layers.GlobalAveragePooling2D,
    5: keras.layers.GlobalAveragePooling3D,
}


def _check_model(model):
    if not isinstance(model, keras.Model):
        raise ValueError(f"`model` must be a keras.Model. Received: model={model!r}")
    try:
        model.inputs
    except (AttributeError, ValueError) as error:
        raise ValueError(
            f"`model` must be built (a functional or Sequential model that has been called). Received: model={model!r}"
        ) from error
    if not model.inputs:
        raise ValueError(f"`model` must be built (a functional or built Sequential model). Received: model={model!r}")


def default_layers(model):
    """The layers the Full-Network Embedding taps: every convolutional layer, and every dense layer but the output.

    The output layer is left out only when it is a `Dense` layer (the classifier of the source task); a model cut
    after a convolution keeps its last convolution.

    Args:
        model: keras.Model. A built functional or Sequential model.

    Returns:
        A list of layer names, in the model's order.
    """
    _check_model(model)
    outputs = {id(tensor) for tensor in model.outputs}
    names = []
    for layer in model.layers:
        if isinstance(layer, _CONV_TYPES):
            names.append(layer.name)
        elif isinstance(layer, keras.layers.Dense):
            if _output_of(layer) in outputs or (not outputs and layer is model.layers[-1]):
                continue
            names.append(layer.name)
    if not names:
        raise ValueError(
            f"`model` has no convolutional or hidden dense layer to tap. Received: model={model.name!r} with layers "
            f"{[layer.name for layer in model.layers]}"
        )
    return names


def _output_of(layer):
    try:
        return id(layer.output)
    except (AttributeError, ValueError):  # a layer called several times has no single output
        return None


def check_layers(model, layers):
    """The layers to tap: `layers` checked against `model`, or `default_layers(model)` when it is None.

    Args:
        model: keras.Model. A built functional or Sequential model.
        layers: list of str or None. Names of top-level layers of `model`, each at most once.

    Returns:
        A new list of layer names, in the order given.

    Raises:
        ValueError: `model` is not a built model, or `layers` is not a non-empty list of distinct names of its
            layers.
    """
    _check_model(model)
    if layers is None:
        return default_layers(model)
    if isinstance(layers, str) or not isinstance(layers, (list, tuple)) or not layers:
        raise ValueError(f"`layers` must be None or a non-empty list of layer names. Received: layers={layers!r}")
    available = [layer.name for layer in model.layers]
    unknown = [name for name in layers if name not in available]
    if unknown:
        raise ValueError(
            f"`layers` names layers that `model` does not have: {unknown}. Expected names among {available}. "
            f"Received: layers={layers!r}"
        )
    if len(set(layers)) != len(layers):
        raise ValueError(f"`layers` must not repeat a name. Received: layers={layers!r}")
    return list(layers)


def _pooled(layer, tensor):
    rank = len(tensor.shape)
    if rank == 2:
        return tensor
    if rank not in _POOLING:
        raise ValueError(
            f"Layer {layer.name!r} outputs rank-{rank} tensors {tuple(tensor.shape)}: expected rank 2 (dense) or "
            "3-5 (convolutional, spatially average-pooled)."
        )
    data_format = getattr(layer, "data_format", None) or keras.config.image_data_format()
    return _POOLING[rank](data_format=data_format, name=f"{layer.name}_average_pool")(tensor)


def tap_model(model, layers=None):
    """The model that outputs the pooled features of `layers`, concatenated into one vector per example.

    Args:
        model: keras.Model. A built functional or Sequential model.
        layers: list of str or None. The layers to tap (top-level layers of `model`, by name); None picks
            `default_layers(model)`.

    Returns:
        A functional `keras.Model` named `"<model name>_features"` sharing `model`'s layers and weights; its output
        is `(N, sum of the layers' widths)`, the layers in the order given (see `feature_slices`).
    """
    layers = check_layers(model, layers)
    pooled = [_pooled(model.get_layer(name), model.get_layer(name).output) for name in layers]
    output = pooled[0] if len(pooled) == 1 else keras.layers.Concatenate(axis=-1, name="tapped_features")(pooled)
    return keras.Model(model.inputs[0] if len(model.inputs) == 1 else model.inputs, output, name=f"{model.name}_features")


def feature_slices(model, layers=None):
    """Where each tapped layer's features sit in `tap_model`'s output: `{name: slice(start, stop)}` in order."""
    layers = check_layers(model, layers)
    slices, start = {}, 0
    for name in layers:
        layer = model.get_layer(name)
        shape = layer.output.shape
        data_format = getattr(layer, "data_format", None) or keras.config.image_data_format()
        width = shape[1] if len(shape) > 2 and data_format == "channels_first" else shape[-1]
        slices[name] = slice(start, start + int(width))
        start += int(width)
    return slices


def extract_layer_features(model, x, layers=None, *, batch_size=64, cache=False, verbose=0):
    """The pooled features of `layers` for every example of `x`, one array per layer.

    The tapping model (`tap_model`) runs over `x` in batches of `batch_size` in inference mode; only the pooled
    features of each batch are kept, never the full activation maps of the whole dataset.

    Args:
        model: keras.Model. A built model, e.g. `pretrained_source_network("quick")` or
            `keras.applications.VGG19()`.
        x: array. Inputs exactly as `model` takes them (preprocessed), first axis the examples.
        layers: list of str or None. Layer names; None taps every convolutional layer and every dense layer but
            the output (`default_layers`).
        batch_size: int. Examples per forward pass (bounds the memory of the activation maps).
        cache: bool. Keep the features on disk under `paths.cache_dir("features")`, keyed by a hash of the tapping
            model (its layers, their configs and weights) and of `x`, and read them back on a later call
            (`keras_transfer.models.extract_features`).
        verbose: int. 0 silent, 1 a progress bar.

    Returns:
        A dict `{layer name: float32 array (N, width)}` in the order of `layers`.

    Example:

    ```python
    features = extract_layer_features(keras.applications.VGG19(), images, layers=["block3_conv4", "fc2"])
    ```
    """
    layers = check_layers(model, layers)
    x = np.asarray(x)
    expected = tuple(model.inputs[0].shape[1:])
    if x.ndim != len(expected) + 1 or any(e is not None and e != s for e, s in zip(expected, x.shape[1:])):
        raise ValueError(
            f"`x` must be a batch of inputs of shape (N, {', '.join(str(e) for e in expected)}) as `model` takes "
            f"them. Received: x with shape {x.shape}"
        )
    if len(x) == 0:
        raise ValueError("`x` must hold at least one example. Received: x with shape " f"{x.shape}")
    try:
        memo = _TAP_MODELS.setdefault(model, {})
    except TypeError:  # a model that cannot be weakly referenced
        memo = {}
    tapped = memo.get(tuple(layers))
    if tapped is None:
        tapped = memo[tuple(layers)] = tap_model(model, layers)
    features = extract_features(tapped, x, batch_size=batch_size, cache=bool(cache), verbose=verbose)
    features = features.reshape(len(x), -1)
    return {name: features[:, part] for name, part in feature_slices(model, layers).items()}
