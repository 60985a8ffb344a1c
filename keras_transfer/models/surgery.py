"""Backbone surgery for transfer: a backbone rebuilt for another image size, frozen below a layer, cut at its frozen part.

- `resize_backbone(backbone, input_shape)`: the same fully convolutional backbone, weights and all, for another
  input size (the quick source network takes 32x32 images; a box regressor may want 64x64).
- `set_trainable_from(backbone, layer_name)`: freezes the layers below `layer_name` and trains it and those above
  (Model 2's "upper block fine-tuned").
- `split_frozen_prefix(model)`: cuts a model into its frozen lower layers and the layers that train, so the frozen
  part runs once per image instead of once per epoch.
- `trainable_layer_names(model)`: what training changes, nested backbone included.

They work on any model with the layout of `keras_transfer.models.backbones` (the backbone one nested layer, then
the head), such as the box regressors of `keras_transfer.models.localization`.
"""

import numbers

import keras

from keras_transfer.models import backbones


def resize_backbone(backbone, input_shape, *, name=None):
    """The same convolutional backbone, weights and all, rebuilt for another input size.

    A fully convolutional network (convolutions, pooling, rescaling) works at any image size, but a Keras
    functional model is built for one input shape: `source_backbone(pretrained_source_network("quick"))` takes
    32x32 images only. This clones every layer onto a new `keras.Input(input_shape)` and copies each layer's weights
    by name, so a 64x64 image gives an 8x8 feature map computed by the pretrained filters.

    Args:
        backbone: keras.Model. A functional model with one input whose layers all work at any spatial size.
        input_shape: tuple of int. The new `(height, width, channels)`.
        name: str or None. The new model's name; None keeps the backbone's.

    Returns:
        A new functional `keras.Model` (training it never changes `backbone`).

    Raises:
        ValueError: the backbone has a layer whose weights depend on the input size (e.g. a Dense layer after a
            Flatten), or the new shape is too small for its pooling layers.
    """
    if not isinstance(backbone, keras.Model) or not getattr(backbone, "inputs", None) or len(backbone.inputs) != 1:
        raise ValueError(f"`backbone` must be a functional keras.Model with one input. Received: backbone={backbone!r}")
    input_shape = tuple(input_shape)
    if len(input_shape) != len(backbone.input_shape) - 1 or any(
        isinstance(side, bool) or not isinstance(side, numbers.Integral) or side < 1 for side in input_shape
    ):
        raise ValueError(
            f"`input_shape` must be {len(backbone.input_shape) - 1} positive integers, e.g. (64, 64, 3). "
            f"Received: input_shape={input_shape!r}"
        )
    if input_shape[-1] != backbone.input_shape[-1]:
        raise ValueError(
            f"`input_shape` must keep the backbone's {backbone.input_shape[-1]} channels. "
            f"Received: input_shape={input_shape!r}"
        )
    inputs = keras.Input(shape=input_shape, name=backbone.inputs[0].name)
    try:
        structure = [inputs] if isinstance(backbone.input, (list, tuple)) else inputs
        rebuilt = keras.models.clone_model(backbone, input_tensors=structure)
    except ValueError as error:
        raise ValueError(
            f"Cannot rebuild backbone {backbone.name!r} for input_shape={input_shape!r}: {error}"
        ) from error
    for layer in backbone.layers:
        target = rebuilt.get_layer(layer.name)
        shapes = [tuple(weight.shape) for weight in layer.weights]
        if shapes != [tuple(weight.shape) for weight in target.weights]:
            raise ValueError(
                f"Layer {layer.name!r} of backbone {backbone.name!r} has weights that depend on the input size, so "
                f"the backbone is not fully convolutional. Received: input_shape={input_shape!r}"
            )
        target.set_weights(layer.get_weights())
    return keras.Model(rebuilt.inputs[0], rebuilt.outputs[0], name=name or backbone.name)


def set_trainable_from(backbone, trainable_from):
    """Freezes a backbone below the layer `trainable_from` and unfreezes that layer and the ones after it.

    Args:
        backbone: keras.Model. The backbone (its layers in input-to-output order).
        trainable_from: str or None. None freezes the whole backbone (`backbone.trainable = False`); a layer name
            makes that layer and every later one trainable and the earlier ones frozen.

    Returns:
        The names of the backbone's layers with weights that are now trainable.
    """
    if trainable_from is None:
        backbone.trainable = False
        return []
    names = [layer.name for layer in backbone.layers]
    if trainable_from not in names:
        raise ValueError(
            f"`trainable_from` must be None or a layer of backbone {backbone.name!r}: expected one of {names}. "
            f"Received: trainable_from={trainable_from!r}"
        )
    backbone.trainable = True
    cut = names.index(trainable_from)
    for index, layer in enumerate(backbone.layers):
        layer.trainable = index >= cut
    return [layer.name for layer in backbone.layers[cut:] if layer.weights]


def split_frozen_prefix(model):
    """Splits a model (a box regressor, a classifier) into its frozen lower part and the part that trains, sharing the model's layers.

    A frozen layer computes the same output for an image in every epoch, so the frozen layers at the input need to
    run only once per image (and once per mirrored image, for random flips): train the second part on their
    outputs. Training that part trains `model`'s own layers in place, so afterwards `model` predicts from images as
    if it had been fitted on them. This is exact for backbones whose frozen layers behave the same in training and
    inference (no Dropout or BatchNormalization in the frozen part, or a frozen backbone called with
    `training=False`, as `build_box_regressor` does).

    - Model 1 (backbone frozen): `(backbone, head)`, where `head` is `backbones.classifier_head(model)`.
    - A backbone trainable from layer L: `(backbone input -> output of the layer before L, rest)`; `rest` runs
      layers L, ... of the backbone, then the head. The backbone from L on must be a chain (VGG-style).
    - Every backbone layer with weights trains (from scratch): `(None, model)`.

    Args:
        model: keras.Model. A model built by `localization.build_box_regressor` (or `backbones.build_classifier`).

    Returns:
        `(prefix, trainable)`: `prefix` a `keras.Model` from images to features (or None), `trainable` a
        `keras.Model` from those features (or images) to boxes.

    Example:

    ```python
    model = localization.build_box_regressor(backbone, head_units=(256, 256), trainable_from="block3_conv1")
    prefix, trainable = split_frozen_prefix(model)
    features = prefix.predict(images)  # once
    trainable.compile(optimizer="adam", loss=GIoULoss())
    trainable.fit(features, boxes, epochs=10)  # trains block 3 and the head of `model`
    ```
    """
    base = backbones.base_layer(model)
    layers = base.layers
    trains = [base.trainable and layer.trainable and bool(layer.weights) for layer in layers]
    if not any(trains):
        return base, backbones.classifier_head(model)
    first = trains.index(True)
    if not any(layer.weights for layer in layers[:first]):
        return None, model
    for previous, layer in zip(layers[first - 1 :], layers[first:]):
        if layer.input is not previous.output:
            raise ValueError(
                f"`model`'s backbone {base.name!r} is not a chain from its first trainable layer "
                f"{layers[first].name!r} on: layer {layer.name!r} does not take the output of {previous.name!r}. "
                f"Received: model={model.name!r}"
            )
    cut = layers[first - 1]
    prefix = keras.Model(base.inputs[0] if len(base.inputs) == 1 else base.inputs, cut.output, name=f"{base.name}_to_{cut.name}")
    inputs = keras.Input(shape=tuple(cut.output.shape[1:]), name="features")
    x = inputs
    for layer in layers[first:]:
        x = layer(x)
    for layer in model.layers[model.layers.index(base) + 1 :]:
        x = layer(x)
    return prefix, keras.Model(inputs, x, name=f"{model.name}_from_{cut.name}")


def trainable_layer_names(model):
    """The names of the layers with weights that training changes, the backbone's layers included, in order."""
    names = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            if layer.trainable:
                names += [inner.name for inner in layer.layers if inner.trainable and inner.weights]
        elif layer.trainable and layer.weights:
            names.append(layer.name)
    return names


__all__ = ["resize_backbone", "set_trainable_from", "split_frozen_prefix", "trainable_layer_names"]
