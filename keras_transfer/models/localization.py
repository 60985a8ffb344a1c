"""Box regressors: a classification backbone transferred to object localization (the lecture's "Different Task").

A localization model is a classification model whose output layer is replaced: instead of a softmax over classes
it predicts one box, four numbers `[xmin, ymin, xmax, ymax]` relative to the image size (Keras's `"rel_xyxy"`).
`build_box_regressor` puts such an output on any backbone, with the layout of `keras_transfer.models.backbones`
(the backbone is one nested layer, so `base_layer`, `head_layers`, `classifier_head` and `parameter_counts` work on
these models too):

- Model 1 (`trainable_from=None`, `head_units=()`): the pretrained backbone frozen, called with `training=False`,
  flattened, and a 4-unit output layer.
- Model 2, "with adaptation" (`trainable_from="block5_conv1"` for VGG19, `"block3_conv1"` for the quick source
  network, `head_units=(256, 256)`): new dense layers on top and the upper backbone block fine-tuned; the blocks
  below stay frozen.
- Fine-tuned: Model 2's layout on the pretrained backbone with every layer trained (`trainable_from` = its first
  convolution).
- From scratch: the same on a randomly initialised backbone.

`split_frozen_prefix` cuts such a model into its frozen lower layers and the layers that train, so the frozen part
can run once per image instead of once per epoch.

The output: a sigmoid, with its bias set so an untrained model predicts `initial_box`. The targets are relative
coordinates in `[0, 1]`, and a sigmoid keeps every prediction inside the image; the lecture's linear output
could predict boxes outside the image and a ReLU has no upper bound and can die at 0. (`output_activation="linear"`
is there to compare.) A parameter-free `keras_transfer.layers.BoxCorners` layer then orders each pair of corners,
so every prediction is a valid box (`xmin <= xmax`, `ymin <= ymax`) whatever the loss (the `"box"` output layer).
It is a core layer, registered by `import keras_transfer`, so a saved box regressor loads after that import.

The head flattens the feature map rather than pooling it globally: global pooling throws away where in the image a
feature fired, which is exactly what a box needs.

`box_ious` and `localization_scores` compute the test metrics with Keras's own `keras.utils.bounding_boxes.
compute_iou`; the `keras_transfer.metrics.BoxIoU` metric tracks the same IoU during training.
"""

import math
import numbers

import keras
import numpy as np
from keras import ops

from keras_transfer.layers.box_corners import BoxCorners
from keras_transfer.models import backbones

OUTPUT_ACTIVATIONS = ("sigmoid", "linear")
BOX_FORMAT = "rel_xyxy"
BOX_LOSSES = ("mse", "giou", "ciou")


def box_loss(name):
    """A box-regression loss by name: `"mse"` (Keras's), `"giou"` or `"ciou"` (keras-cv's `GIoULoss` and
    `CIoULoss` on `"rel_xyxy"` boxes; they run on TensorFlow and JAX with Keras 3. `keras_transfer.losses.GIoULoss`
    is the dependency-free copy, tested equal to keras-cv's)."""
    if name == "mse":
        return keras.losses.MeanSquaredError(name="mse")
    if name not in BOX_LOSSES:
        raise ValueError(f"Unknown loss: expected one of {BOX_LOSSES}. Received: {name!r}")
    import keras_cv  # noqa: PLC0415 - slow to import, only the box losses need it

    losses = {"giou": keras_cv.losses.GIoULoss, "ciou": keras_cv.losses.CIoULoss}
    return losses[name](bounding_box_format=BOX_FORMAT)


def test_box_regressor(model, test, loss, threshold=0.5):
    """Tests an image-to-box model on batches of `(images, boxes)`.

    Returns:
        `(scores, test_loss, predictions)`: `localization_scores` of the predictions, the mean of `loss` (a name of
        `BOX_LOSSES`) over the test batches, and the predicted boxes, float32 `(N, 4)` in the order of `test`.
    """
    model.compile(loss=box_loss(loss))
    test_loss = model.evaluate(test, verbose=0)
    test_loss = float(test_loss[0] if isinstance(test_loss, list) else test_loss)
    predictions = np.asarray(model.predict(test, verbose=0), np.float32)
    true_boxes = np.concatenate([np.asarray(batch_boxes) for _, batch_boxes in test.as_numpy_iterator()])
    return localization_scores(true_boxes, predictions, threshold=threshold), test_loss, predictions


def box_ious(true_boxes, predicted_boxes):
    """The IoU of each predicted box with its true box, computed by Keras's `compute_iou`.

    Args:
        true_boxes: array `(N, 4)`. Corner boxes, `"rel_xyxy"`.
        predicted_boxes: array `(N, 4)`. The predictions, in the same order.

    Returns:
        A float array `(N,)`: the diagonal of `keras.utils.bounding_boxes.compute_iou`'s pairwise table, computed
        one box at a time (`(N, 1, 4)` against `(N, 1, 4)`). IoU is a ratio of areas, so relative and pixel
        coordinates give the same value; `"xyxy"` is passed to spare the image shape.
    """
    true_boxes = np.asarray(true_boxes, np.float32)
    predicted_boxes = np.asarray(predicted_boxes, np.float32)
    if true_boxes.ndim != 2 or true_boxes.shape[-1] != 4 or true_boxes.shape != predicted_boxes.shape:
        raise ValueError(
            "`true_boxes` and `predicted_boxes` must both have shape (N, 4). Received: shapes "
            f"{true_boxes.shape} and {predicted_boxes.shape}"
        )
    if not len(true_boxes):
        return np.zeros((0,), np.float32)
    table = keras.utils.bounding_boxes.compute_iou(true_boxes[:, None, :], predicted_boxes[:, None, :], "xyxy")
    return np.asarray(ops.convert_to_numpy(table), np.float32)[:, 0, 0]


def localization_scores(true_boxes, predicted_boxes, threshold=0.5):
    """`{"mean_iou": float, "iou_at_0_5": float}`: the mean IoU and the share of boxes with IoU >= `threshold`.

    The key of the second entry follows the threshold (`"iou_at_0_75"` for 0.75).
    """
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) or not 0 < threshold <= 1:
        raise ValueError(f"`threshold` must be a number in (0, 1]. Received: threshold={threshold!r}")
    ious = box_ious(true_boxes, predicted_boxes)
    key = "iou_at_" + f"{threshold:g}".replace(".", "_")
    return {"mean_iou": float(np.mean(ious)), key: float(np.mean(ious >= threshold))}


def flip_boxes_horizontally(boxes):
    """Relative boxes of left-right mirrored images: `[1 - xmax, ymin, 1 - xmin, ymax]` (a NumPy array)."""
    boxes = np.asarray(boxes)
    if boxes.ndim < 1 or boxes.shape[-1] != 4:
        raise ValueError(f"`boxes` must have a last axis of 4. Received: boxes with shape {boxes.shape}")
    flipped = boxes.copy()
    flipped[..., 0], flipped[..., 2] = 1.0 - boxes[..., 2], 1.0 - boxes[..., 0]
    return flipped


def flip_horizontally(images, boxes):
    """Mirror images left to right and move their relative boxes with them: `[1 - xmax, ymin, 1 - xmin, ymax]`.

    The deterministic twin of `keras.layers.RandomFlip("horizontal", bounding_box_format="rel_xyxy")` for the
    images it flips (the tests check the two agree).

    Args:
        images: array `(N, H, W, C)`.
        boxes: array `(N, 4)`. `"rel_xyxy"` boxes.

    Returns:
        `(flipped_images, flipped_boxes)` as NumPy arrays.
    """
    images, boxes = np.asarray(images), np.asarray(boxes)
    if images.ndim != 4 or boxes.ndim != 2 or boxes.shape[-1] != 4 or len(images) != len(boxes):
        raise ValueError(
            "`images` must be (N, H, W, C) and `boxes` (N, 4). Received: shapes "
            f"{images.shape} and {boxes.shape}"
        )
    return images[:, :, ::-1], flip_boxes_horizontally(boxes)


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


def _logit(value):
    value = min(max(float(value), 1e-4), 1 - 1e-4)
    return math.log(value / (1 - value))


def _check_box(name, box):
    try:
        box = tuple(float(value) for value in box)
    except (TypeError, ValueError) as error:
        raise ValueError(f"`{name}` must be four numbers [xmin, ymin, xmax, ymax]. Received: {name}={box!r}") from error
    if len(box) != 4 or not (0 <= box[0] < box[2] <= 1 and 0 <= box[1] < box[3] <= 1):
        raise ValueError(
            f"`{name}` must be a relative box [xmin, ymin, xmax, ymax] with 0 <= xmin < xmax <= 1 and "
            f"0 <= ymin < ymax <= 1. Received: {name}={box!r}"
        )
    return box


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


def build_box_regressor(
    backbone,
    *,
    head_units=(),
    dropout=0.0,
    trainable_from=None,
    output_activation="sigmoid",
    initial_box=(0.25, 0.25, 0.75, 0.75),
    name="box_regressor",
):
    """A backbone, a flatten, optional new dense layers and a 4-unit box output: one box per image.

    Args:
        backbone: keras.Model. A built convolutional base (e.g. `vgg19_backbone(...)`, or
            `resize_backbone(source_backbone(pretrained_source_network("quick")), (64, 64, 3))`); it becomes the
            model's one nested layer and its `trainable` flags are changed in place.
        head_units: tuple of int. Units of new ReLU dense layers `head_dense_1, ...` between the flattened features
            and the output. `()` is Model 1 (the output layer alone); `(256, 256)` is Model 2's "more layers".
        dropout: float in `[0, 1)`. Dropout after each new dense layer.
        trainable_from: str or None. None: the backbone is frozen and called with `training=False` (Model 1). A
            layer name: that backbone layer and every later one train, the earlier ones stay frozen (Model 2:
            `"block5_conv1"` for VGG19; the first convolution trains the whole backbone, as from scratch).
        output_activation: str. `"sigmoid"` (coordinates stay in `[0, 1]`) or `"linear"`.
        initial_box: 4 floats. The relative box an untrained model predicts (the output layer's bias; its
            kernel starts small).
        name: str. The model's name.

    Returns:
        An uncompiled functional `keras.Model` from images to `(batch, 4)` relative boxes; its layers after the
        backbone are `head_flatten`, `head_dense_*`/`head_dropout_*`, `box_dense` (4 units) and `box`
        (`BoxCorners`).

    Example:

    ```python
    backbone = vgg19_backbone(weights="imagenet", input_shape=(224, 224, 3))
    model_1 = build_box_regressor(backbone)  # frozen VGG19 + a 4-unit output
    model_1.compile(optimizer="adam", loss=keras_transfer.losses.GIoULoss(), metrics=[keras_transfer.metrics.BoxIoU()])
    ```

    Reference:
        - [Simonyan & Zisserman, 2014](https://arxiv.org/abs/1409.1556): VGG, with its localization networks
          (a 4-unit box regression layer in place of the classifier).
    """
    if not isinstance(backbone, keras.Model) or not backbone.built or not getattr(backbone, "inputs", None):
        raise ValueError(
            f"`backbone` must be a built functional keras.Model with a known input shape. Received: backbone={backbone!r}"
        )
    head_units = tuple(head_units)
    for units in head_units:
        if isinstance(units, bool) or not isinstance(units, numbers.Integral) or units < 1:
            raise ValueError(f"`head_units` must hold positive integers. Received: head_units={head_units!r}")
    if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not 0 <= dropout < 1:
        raise ValueError(f"`dropout` must be a number in [0, 1). Received: dropout={dropout!r}")
    if output_activation not in OUTPUT_ACTIVATIONS:
        raise ValueError(
            f"`output_activation` must be one of {OUTPUT_ACTIVATIONS}. Received: output_activation={output_activation!r}"
        )
    initial_box = _check_box("initial_box", initial_box)
    set_trainable_from(backbone, trainable_from)
    inputs = keras.Input(shape=backbone.input_shape[1:], name="image")
    x = backbone(inputs, training=False) if trainable_from is None else backbone(inputs)
    x = keras.layers.Flatten(name="head_flatten")(x)
    for index, units in enumerate(head_units, start=1):
        x = keras.layers.Dense(int(units), activation="relu", name=f"head_dense_{index}")(x)
        if dropout:
            x = keras.layers.Dropout(float(dropout), name=f"head_dropout_{index}")(x)
    bias = [_logit(value) for value in initial_box] if output_activation == "sigmoid" else list(initial_box)
    x = keras.layers.Dense(
        4,
        activation=output_activation,
        kernel_initializer=keras.initializers.RandomNormal(stddev=1e-3),
        bias_initializer=keras.initializers.Constant(bias),
        name="box_dense",
    )(x)
    outputs = BoxCorners(name="box")(x)
    return keras.Model(inputs, outputs, name=name)


def build_vgg19_box_regressor(weights="imagenet", input_shape=(224, 224, 3), *, trainable_from=None, **kwargs):
    """The lecture's localization models on Keras's VGG19 (inputs: `vgg19.preprocess_input`-ed images).

    - Model 1: `build_vgg19_box_regressor("imagenet")`: VGG19 frozen, a 4-unit output.
    - Model 2: `build_vgg19_box_regressor("imagenet", trainable_from="block5_conv1", head_units=(256, 256))`.
    - From scratch: `build_vgg19_box_regressor(None, trainable_from="block1_conv1", head_units=(256, 256))`.

    Args:
        weights: `"imagenet"`, the path of a local VGG19 (include_top=False) weights file, or None (random).
        input_shape: tuple of int. `(height, width, 3)`, at least 32x32.
        trainable_from: str or None. See `build_box_regressor`.
        **kwargs: the other arguments of `build_box_regressor`.

    Returns:
        An uncompiled `keras.Model` whose nested layer `"vgg19"` is the backbone.
    """
    backbone = backbones.vgg19_backbone(weights=weights, input_shape=input_shape)
    return build_box_regressor(backbone, trainable_from=trainable_from, **kwargs)


def split_frozen_prefix(model):
    """Splits a box regressor into its frozen lower part and the part that trains, sharing the model's layers.

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
        model: keras.Model. A model built by `build_box_regressor`.

    Returns:
        `(prefix, trainable)`: `prefix` a `keras.Model` from images to features (or None), `trainable` a
        `keras.Model` from those features (or images) to boxes.

    Example:

    ```python
    model = build_box_regressor(backbone, head_units=(256, 256), trainable_from="block3_conv1")
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
    prefix = keras.Model(base.inputs, cut.output, name=f"{base.name}_to_{cut.name}")
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


__all__ = [
    "BOX_FORMAT",
    "box_ious",
    "build_box_regressor",
    "build_vgg19_box_regressor",
    "flip_boxes_horizontally",
    "flip_horizontally",
    "localization_scores",
    "resize_backbone",
    "set_trainable_from",
    "split_frozen_prefix",
    "trainable_layer_names",
]
