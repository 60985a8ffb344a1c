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
- All layers: Model 2's layout on the pretrained backbone with every layer trained from the start (`trainable_from`
  = its first convolution).
- From scratch: the same on a randomly initialised backbone.

`keras_transfer.models.surgery` holds what is done to the backbone (`resize_backbone`, `set_trainable_from`,
`split_frozen_prefix`: the frozen part run once per image instead of once per epoch); `keras_transfer.models.
box_evaluation` the losses by name and the test scores; `keras_transfer.datasets.boxes` the flips that move a box
with its image.

The output: a sigmoid, with its bias set so an untrained model predicts `initial_box`. The targets are relative
coordinates in `[0, 1]`, and a sigmoid keeps every prediction inside the image; the lecture's linear output
could predict boxes outside the image and a ReLU has no upper bound and can die at 0. (`output_activation="linear"`
is there to compare.) A parameter-free `keras_transfer.layers.BoxCorners` layer then orders each pair of corners,
so every prediction is a valid box (`xmin <= xmax`, `ymin <= ymax`) whatever the loss (the `"box"` output layer).
It is a core layer, registered by `import keras_transfer`, so a saved box regressor loads after that import.

The head flattens the feature map rather than pooling it globally: global pooling throws away where in the image a
feature fired, which is exactly what a box needs.
"""

import math
import numbers

import keras

from keras_transfer.layers.box_corners import BoxCorners
from keras_transfer.models import backbones
from keras_transfer.models.surgery import set_trainable_from

OUTPUT_ACTIVATIONS = ("sigmoid", "linear")


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
            `surgery.resize_backbone(source_backbone(pretrained_source_network("quick")), (64, 64, 3))`); it becomes the
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


__all__ = ["OUTPUT_ACTIVATIONS", "build_box_regressor", "build_vgg19_box_regressor"]
