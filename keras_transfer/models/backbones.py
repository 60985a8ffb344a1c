"""Classifiers built on a backbone: a (pretrained or random) convolutional base, two new dense layers, an output.

The lecture's Models 1-4 ("Transfer Learning", Peerapon Vateekul, NVIDIA IVA workshop) are all the same network,
VGG19's convolutional part with a new head, trained four ways. `build_classifier` builds that network around any
backbone; `build_vgg19_classifier` is the lecture's own, with Keras's VGG19 and ImageNet weights, a local weights
file, or random weights.

The backbone is a nested model (one layer of the classifier, `base_layer(model)`), the keras-io transfer-learning
guide's layout, and a frozen base is called with `training=False` as the guide does. A note on Keras 3 (checked
with Keras 3.15 on TensorFlow and JAX): a functional model replaces the `training` value recorded at construction
by the one it is called with, so `fit()` still runs such a base with `training=True`. What keeps a frozen base's
BatchNormalization layers in inference mode is that they are frozen (Keras 3 normalises with batch statistics only
when `training and layer.trainable`); a Dropout layer inside a base would still drop while the head trains, and an
unfrozen base's BatchNormalization updates its statistics whatever `training` it was built with. The head's
layers have fixed names
(`head_flatten`, `head_dense_1`, `head_dropout_1`, `head_dense_2`, `head_dropout_2`, `predictions`), so callbacks
such as `keras_transfer.callbacks.ChainThaw` can be told which layers are new (`head_layers(model)`).

The backbone can also come from keras-hub (`keras_hub_backbone`, or `backbone_from_config` with a preset name such
as `"resnet_50_imagenet"`): its layers keep keras-hub's names, which `block_groups` groups by block. keras-hub is
optional: it is imported only when such a backbone is asked for.
"""

import difflib
import os

import keras
import numpy as np

from keras_transfer.doctor import HUB_FIX

POOLINGS = ("flatten", "avg", "max")
VGG19_WEIGHTS = ("imagenet", None)



def _check_input_shape(input_shape):
    """`input_shape` as a tuple, checked: (height, width, 3) with height and width at least 32."""
    input_shape = tuple(input_shape)
    if len(input_shape) != 3 or input_shape[2] != 3 or min(input_shape[:2]) < 32:
        raise ValueError(
            f"`input_shape` must be (height, width, 3) with height and width at least 32. "
            f"Received: input_shape={input_shape!r}"
        )
    return input_shape

def _check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")
    return int(value)


def build_classifier(
    backbone,
    num_classes,
    *,
    head_units=(256, 256),
    dropout=0.5,
    base_trainable=True,
    pooling="flatten",
    name="classifier",
):
    """Puts a new classification head on `backbone`: pooling, dense layers with dropout, a softmax output.

    Args:
        backbone: keras.Model. The convolutional base, e.g. `keras.applications.VGG19(include_top=False)` or
            `source_backbone(pretrained_source_network())`; it becomes one nested layer of the classifier and is
            modified in place (its `trainable` flag).
        num_classes: int. The number of classes of the output layer `predictions` (at least 2).
        head_units: tuple of int. The units of the new dense layers `head_dense_1, head_dense_2, ...` (ReLU);
            the lecture's "2 dense layers" is the default `(256, 256)`. May be empty.
        dropout: float. Dropout rate after each new dense layer, in `[0, 1)`; 0 leaves the dropout layers out.
        base_trainable: bool. `False` freezes the backbone (a feature extractor, Model 2) and calls it with
            `training=False` (see the module's note on what that does in Keras 3); `True` trains it with the head
            (Models 1 and 3).
        pooling: str. How the backbone's feature map becomes a vector: `"flatten"` (VGG's own way),
            `"avg"` or `"max"` (global pooling).
        name: str. The classifier's name.

    Returns:
        An uncompiled functional `keras.Model` taking the backbone's input.

    Example:

    ```python
    backbone = keras.applications.VGG19(include_top=False, weights=None, input_shape=(64, 64, 3))
    model = build_classifier(backbone, num_classes=17, base_trainable=False)
    [layer.name for layer in head_layers(model)]  # ['head_dense_1', 'head_dense_2', 'predictions']
    ```

    Reference:
        - [keras-io: Transfer learning & fine-tuning](https://keras.io/guides/transfer_learning/)
    """
    if not isinstance(backbone, keras.Model):
        raise ValueError(f"`backbone` must be a keras.Model. Received: backbone={backbone!r}")
    if not backbone.built or not backbone.inputs:
        raise ValueError(
            "`backbone` must be a built functional model with a known input shape. "
            f"Received: backbone={backbone.name!r}"
        )
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 2:
        raise ValueError(f"`num_classes` must be an integer >= 2. Received: num_classes={num_classes!r}")
    head_units = tuple(head_units)
    for units in head_units:
        _check_positive_int("head_units", units)
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise ValueError(f"`dropout` must be a number in [0, 1). Received: dropout={dropout!r}")
    if not isinstance(base_trainable, bool):
        raise ValueError(f"`base_trainable` must be True or False. Received: base_trainable={base_trainable!r}")
    if pooling not in POOLINGS:
        raise ValueError(f"`pooling` must be one of {POOLINGS}. Received: pooling={pooling!r}")
    backbone.trainable = base_trainable
    inputs = keras.Input(shape=backbone.input_shape[1:], name="image")
    x = backbone(inputs) if base_trainable else backbone(inputs, training=False)
    if pooling == "flatten":
        x = keras.layers.Flatten(name="head_flatten")(x)
    elif pooling == "avg":
        x = keras.layers.GlobalAveragePooling2D(name="head_pooling")(x)
    else:
        x = keras.layers.GlobalMaxPooling2D(name="head_pooling")(x)
    for index, units in enumerate(head_units, start=1):
        x = keras.layers.Dense(units, activation="relu", name=f"head_dense_{index}")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"head_dropout_{index}")(x)
    outputs = keras.layers.Dense(int(num_classes), activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)


def vgg19_backbone(weights=None, input_shape=(224, 224, 3)):
    """Keras's VGG19 without its top (`include_top=False`): the lecture's backbone.

    Args:
        weights: `"imagenet"` (downloads Keras's ImageNet weights once), a path to a local weights file of a
            VGG19 without top (`*.weights.h5` or `*.h5`, e.g. written by `save_weights`), or None (random).
        input_shape: tuple of int. `(height, width, 3)`, height and width at least 32.

    Returns:
        The `keras.Model` called `"vgg19"`; it expects `keras.applications.vgg19.preprocess_input`-ed images.
    """
    if not (weights in VGG19_WEIGHTS or isinstance(weights, (str, os.PathLike))):
        raise ValueError(
            f"`weights` must be 'imagenet', None or the path of a weights file. Received: weights={weights!r}"
        )
    if weights not in VGG19_WEIGHTS:
        weights = os.fspath(weights)
        if not os.path.isfile(weights):
            raise ValueError(
                f"`weights` names no file: expected 'imagenet', None or the path of a VGG19 (include_top=False) "
                f"weights file. Received: weights={weights!r}"
            )
    input_shape = _check_input_shape(input_shape)
    return keras.applications.VGG19(include_top=False, weights=weights, input_shape=input_shape)


def build_vgg19_classifier(
    num_classes,
    weights=None,
    input_shape=(224, 224, 3),
    head_units=(256, 256),
    dropout=0.5,
    base_trainable=True,
    pooling="flatten",
    name="vgg19_classifier",
):
    """The lecture's Models 1-4: VGG19 (random, ImageNet or local weights) + 2 dense layers + output.

    - Model 1, from scratch: `weights=None, base_trainable=True`.
    - Model 2, feature extractor: `weights="imagenet", base_trainable=False` (the base runs with
      `training=False`).
    - Model 3, fine-tuned: `weights="imagenet", base_trainable=True`.
    - Model 4, chain-thaw: Model 3 trained with `keras_transfer.callbacks.ChainThaw(new_layers=head_layers(model))`.

    Inputs are images preprocessed with `keras.applications.vgg19.preprocess_input` (as
    `keras_transfer.datasets.make_pipeline(..., preprocess="vgg19")` does).

    Args:
        num_classes: int. The number of classes (17 for Oxford-17).
        weights: `"imagenet"`, the path of a local VGG19 (include_top=False) weights file, or None.
        input_shape: tuple of int. `(height, width, 3)`, at least 32x32; the lecture uses 224x224.
        head_units: tuple of int. Units of the new dense layers.
        dropout: float. Dropout after each new dense layer.
        base_trainable: bool. `False` freezes VGG19 (called with `training=False`).
        pooling: str. `"flatten"`, `"avg"` or `"max"`.
        name: str. The classifier's name.

    Returns:
        An uncompiled `keras.Model` whose layer `"vgg19"` is the nested base.

    Example:

    ```python
    model = build_vgg19_classifier(17, weights="imagenet", base_trainable=False)  # Model 2
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    ```

    Reference:
        - [Simonyan & Zisserman, 2014](https://arxiv.org/abs/1409.1556): Very deep convolutional networks for
          large-scale image recognition.
    """
    backbone = vgg19_backbone(weights=weights, input_shape=input_shape)
    return build_classifier(
        backbone,
        num_classes,
        head_units=head_units,
        dropout=dropout,
        base_trainable=base_trainable,
        pooling=pooling,
        name=name,
    )


def base_layer(model):
    """The nested backbone of a classifier built by `build_classifier`: its one layer that is a `keras.Model`."""
    if not isinstance(model, keras.Model):
        raise ValueError(f"`model` must be a keras.Model. Received: model={model!r}")
    nested = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    if len(nested) != 1:
        raise ValueError(
            f"`model` must hold exactly one nested model (its backbone), as `build_classifier` builds it. "
            f"Received: model={model.name!r} with nested models {[layer.name for layer in nested]}"
        )
    return nested[0]


def _layers_after_base(model):
    base = base_layer(model)
    return model.layers[model.layers.index(base) + 1 :]


def head_layers(model):
    """The new layers of a classifier built by `build_classifier` that hold weights, input to output.

    These are the layers DeepMoji's chain-thaw trains first (`ChainThaw(new_layers=head_layers(model))`).
    """
    return [layer for layer in _layers_after_base(model) if layer.weights]


def backbone_layers(model):
    """The layers of the classifier's backbone that hold weights, input to output (chain-thaw's step 2 order)."""
    return [layer for layer in base_layer(model).layers if layer.weights]


def classifier_head(model):
    """A model from the backbone's output to the predictions that shares the classifier's head layers.

    Training it trains `model`'s head in place; with the backbone frozen and its outputs computed once
    (`extract_features`), that is the same training as fitting `model`, without running the backbone every epoch.

    Args:
        model: keras.Model. A classifier built by `build_classifier`.

    Returns:
        An uncompiled `keras.Model` taking the backbone's output (e.g. `(4, 4, 128)` feature maps).
    """
    base = base_layer(model)
    inputs = keras.Input(shape=base.output_shape[1:], name="features")
    x = inputs
    for layer in _layers_after_base(model):
        x = layer(x)
    return keras.Model(inputs, x, name=f"{model.name}_head")


def parameter_counts(model):
    """`{"trainable": int, "frozen": int}`: how many parameters training would change and how many it would not.

    Counts `model.trainable_weights` and `model.non_trainable_weights`, so a frozen nested backbone counts as
    frozen (the numbers `model.summary()` prints as trainable / non-trainable).
    """
    if not isinstance(model, keras.Model):
        raise ValueError(f"`model` must be a keras.Model. Received: model={model!r}")
    trainable = sum(int(np.prod(weight.shape)) for weight in model.trainable_weights)
    frozen = sum(int(np.prod(weight.shape)) for weight in model.non_trainable_weights)
    return {"trainable": trainable, "frozen": frozen}


def block_groups(model):
    """ULMFiT's layer groups of a classifier, bottom to top: the backbone's layers by block, then the new layers.

    Backbone layers are grouped by the prefix of their name before the first `_` (`block1_conv1` and
    `block1_conv2` form `block1`), as Keras's VGG19 and the source network name them. Each group is a list of
    layer names, e.g. for `keras_transfer.callbacks.GradualUnfreezing` or `optimizers.geometric_multipliers`.
    """
    groups = {}
    for layer in backbone_layers(model):
        groups.setdefault(layer.name.split("_")[0], []).append(layer.name)
    return [*groups.values(), [layer.name for layer in head_layers(model)]]




def _import_keras_hub(backbone):
    try:
        import keras_hub  # noqa: PLC0415 - optional: only keras-hub backbones need it
    except ImportError as error:
        raise ValueError(
            f"`backbone` names neither 'vgg19' nor 'source', so it is read as a keras-hub preset or backbone class, "
            f"but keras-hub is not installed ({error}); install it with `{HUB_FIX}`. "
            f"Received: backbone={backbone!r}"
        ) from error
    return keras_hub


def _keras_hub_class(keras_hub, name):
    cls = getattr(keras_hub.models, name, None)
    if isinstance(cls, type) and issubclass(cls, keras_hub.models.Backbone):
        return cls
    return None


def keras_hub_backbone(backbone, *, weights=None, input_shape=(224, 224, 3), backbone_config=None):
    """A keras-hub image backbone (ResNet, EfficientNet, ViT, ...), pretrained or with random weights.

    keras-hub builds a backbone from a preset: a built-in name such as `"resnet_50_imagenet"` or
    `"efficientnet_b0_ra_imagenet"`, a `kaggle://` or `hf://` handle, or a local preset directory (what
    `Backbone.save_to_preset` writes). A built-in name or a handle downloads the preset's `config.json` even for
    random weights (`load_weights=False`); keras-hub caches it, and offline a local preset directory works. A
    backbone class name (`"ResNetBackbone"`) builds the class from `backbone_config`, with random weights and no
    download. The backbone's layers keep keras-hub's names (`conv1_conv`, `stack0_block0_1_conv`, ...), which
    `block_groups` groups by their prefix (`conv1`, `stack0`, ...), so `ChainThaw`, `GradualUnfreezing` and
    `Discriminative` address them as they do VGG19's. The backbone expects the preset's own preprocessing
    (`keras_hub.layers.ImageConverter.from_preset(backbone)`: ResNet's scales to [0, 1] and normalises with the
    ImageNet mean and deviation), not VGG19's.

    Args:
        backbone: str. A keras-hub preset (built-in name, handle or directory) or a class of `keras_hub.models`
            that is a `Backbone` (e.g. `"ResNetBackbone"`).
        weights: `"imagenet"` (the preset's pretrained weights, whatever data they were trained on) or None
            (random weights: `load_weights=False`). A class name takes None only.
        input_shape: tuple of int. `(height, width, 3)`, given to keras-hub as `image_shape`.
        backbone_config: dict or None. The constructor arguments of a backbone class (its `get_config()`); only
            with a class name.

    Returns:
        The keras-hub `Backbone`, a functional `keras.Model` with one image input, for `build_classifier`.

    Example:

    ```python
    backbone = keras_hub_backbone("ResNetBackbone", input_shape=(32, 32, 3), backbone_config={
        "input_conv_filters": [64], "input_conv_kernel_sizes": [3], "stackwise_num_filters": [64, 16],
        "stackwise_num_blocks": [1, 1], "stackwise_num_strides": [1, 2], "block_type": "basic_block"})
    model = build_classifier(backbone, num_classes=3, pooling="avg")
    block_groups(model)[:2]  # [['conv1_conv', 'conv1_bn'], ['stack0_block0_1_conv', ...]]
    ```
    """
    if not isinstance(backbone, str) or not backbone:
        raise ValueError(
            f"`backbone` must be a keras-hub preset or backbone class name (a non-empty str). Received: "
            f"backbone={backbone!r}"
        )
    if weights not in VGG19_WEIGHTS:
        raise ValueError(
            f"`weights` of a keras-hub backbone must be 'imagenet' (the preset's pretrained weights) or None "
            f"(random). Received: weights={weights!r} for backbone={backbone!r}"
        )
    input_shape = _check_input_shape(input_shape)
    if backbone_config is not None and not isinstance(backbone_config, dict):
        raise ValueError(f"`backbone_config` must be a dict or None. Received: backbone_config={backbone_config!r}")
    keras_hub = _import_keras_hub(backbone)
    cls = _keras_hub_class(keras_hub, backbone)
    if cls is not None:
        if weights is not None:
            raise ValueError(
                f"`backbone={backbone!r}` is a keras-hub class, which has no pretrained weights: pass weights=None "
                f"for random weights, or a preset name for pretrained ones. Received: weights={weights!r}"
            )
        if backbone_config is None:
            raise ValueError(
                f"`backbone={backbone!r}` is a keras-hub class: pass its constructor arguments as `backbone_config` "
                f"(a dict, e.g. from a preset's config.json). Received: backbone_config=None"
            )
        model = cls.from_config({**backbone_config, "image_shape": input_shape})
    else:
        if backbone_config is not None:
            raise ValueError(
                f"`backbone_config` goes with a keras-hub backbone class name; a preset brings its own config. "
                f"Received: backbone={backbone!r}, backbone_config={backbone_config!r}"
            )
        local = os.path.isdir(backbone)
        if not (local or "://" in backbone or backbone in keras_hub.models.Backbone.presets):
            known = [name for name in dir(keras_hub.models) if _keras_hub_class(keras_hub, name)]
            close = difflib.get_close_matches(backbone, [*keras_hub.models.Backbone.presets, *known], n=3)
            raise ValueError(
                "`backbone` must be 'vgg19', 'source', a keras-hub preset (a built-in name such as "
                "'resnet_50_imagenet', a 'kaggle://' or 'hf://' handle, or a local preset directory) or a keras-hub "
                f"backbone class such as 'ResNetBackbone'{f' (close: {close})' if close else ''}. "
                f"Received: backbone={backbone!r}"
            )
        try:
            model = keras_hub.models.Backbone.from_preset(
                backbone, load_weights=weights is not None, image_shape=input_shape
            )
        except OSError as error:  # requests' ConnectionError and the like: the preset is fetched from the network
            if local:
                raise
            raise RuntimeError(
                f"keras-hub could not fetch the preset {backbone!r} ({type(error).__name__}); its config.json is "
                "downloaded even for random weights. Connect once (keras-hub caches it), or save the preset with "
                "`Backbone.save_to_preset(directory)` where there is a network and pass the directory."
            ) from error
    if len(model.inputs) != 1 or len(model.inputs[0].shape) != 4:
        raise ValueError(
            f"`backbone` must name a keras-hub image backbone (one image input); {backbone!r} builds a "
            f"{type(model).__name__} with inputs {[tuple(x.shape) for x in model.inputs]}."
        )
    return model


def backbone_from_config(config, *, pretrained=True, source=None):
    """The convolutional base an experiment's `config` names, pretrained or with random weights.

    Args:
        config: dict. `config["backbone"]` is `"vgg19"` (Keras's VGG19 with `config["weights"]`, at
            `config["image_size"]`), `"source"` (the project's own source network `source`, cut below its head), or
            a keras-hub preset or backbone class (`keras_hub_backbone`: e.g. `"resnet_50_imagenet"` with
            `config["weights"]` `"imagenet"` or None, at `config["image_size"]`; a class such as
            `"ResNetBackbone"` with its arguments in `config["backbone_config"]`).
        pretrained: bool. False gives the same architecture with random weights (Model 1's base).
        source: keras.Model or None. The pretrained source network, for `"source"`.

    Returns:
        A `keras.Model`, the base of `build_classifier` or of a box regressor.
    """
    name = config["backbone"]
    if name == "vgg19":
        return vgg19_backbone(config["weights"] if pretrained else None, (*config["image_size"], 3))
    if name == "source":
        if source is None:
            raise ValueError("`backbone='source'` needs the pretrained source network: pass `source=`.")
        from keras_transfer.models.source import source_backbone  # noqa: PLC0415

        return source_backbone(source, pretrained=pretrained)
    if not isinstance(name, str) or not name:
        raise ValueError(
            f"`backbone` must be 'vgg19', 'source', or a keras-hub preset or backbone class name. "
            f"Received: backbone={name!r}"
        )
    return keras_hub_backbone(
        name, weights=config.get("weights") if pretrained else None, input_shape=(*config["image_size"], 3),
        backbone_config=config.get("backbone_config"),
    )
