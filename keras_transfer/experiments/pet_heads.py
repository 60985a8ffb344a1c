"""Different task: a backbone pretrained for classification, transferred to object localization (box regression).

Seed 002's "different task": Oxford-IIIT Pet head boxes predicted by VGG19 whose softmax output is replaced by a
4-unit regression output, relative `[xmin, ymin, xmax, ymax]`. Four networks (`keras_transfer.models.localization`):

- `frozen`, Model 1: the pretrained backbone frozen, flattened, a 4-unit sigmoid output.
- `adapted`, Model 2 "with adaptation": two new dense layers on top and the upper backbone block fine-tuned
  (`adapted_trainable_from`), the lower blocks frozen.
- `finetuned`: Model 2's network with every backbone layer fine-tuned from the pretrained weights.
- `scratch`: the same network with random weights, every layer trained. `finetuned` and `scratch` differ only in
  their initial weights, so the gap between them is what the pretrained weights are worth.

The value of transfer depends on how many labelled images the target task has, so every network is trained on
the whole training split (`train_size`) and on smaller random subsets of it (`few_label_sizes`, the same subset
for every network; the validation and test splits do not change). Every run has the same training budget,
whatever its training-set size: an epoch is `epoch_size` images (None: the whole training split; a subset is
repeated, reshuffled and re-flipped on every pass), at most `max_epochs` of them, and early stopping checks the
validation IoU after each. Counting epochs in passes instead would give a small subset few optimizer steps and,
with a patience counted in passes, stop a network that starts slowly (from random weights it can sit on a
plateau for its first epochs) before it gets going: that would credit transfer with what is only a faster start.

Losses: `mse` (the mean squared error of the four coordinates, the plain regression loss) and `giou`
(`keras_transfer.losses.GIoULoss`, one minus the generalized IoU). Every network trains with `main_loss` at every
training-set size; the networks in `loss_comparison_models` are also trained with the other losses on the whole
training split. Every run uses Adam (learning rates per network, chosen on the validation split), random
horizontal flips that move the box (`make_pipeline(..., boxes=True, augment="flip")`), and early stopping on the
validation IoU with the best epoch's weights restored, so every run is stopped by the same criterion. Metrics on
the test split, per run: `mean_iou` and `iou_at_0_5` (the share of test boxes with IoU >= 0.5), computed with
Keras's `keras.utils.bounding_boxes.compute_iou` on the predictions of the image-to-box model, and `test_loss`
(the run's own loss, so MSE and GIoU values are not comparable with each other).

Cached features (`cache_features`, the networks whose frozen layers run once): the frozen layers at the input of
Model 1 (the whole backbone) and of Model 2 (blocks below `adapted_trainable_from`) compute the same output in
every epoch. Their outputs for every training image and for its mirror image are computed once
(`localization.split_frozen_prefix`), and each epoch draws one of the two per image at random, which is exactly
a random horizontal flip (the box is flipped with it). Only the layers that train run in the epochs; they are
the model's own layers, so the trained model is then tested on the test images like the others. The features
live in memory for one `run` call, keyed by the frozen layers they come from; nothing is written to disk.

Profiles:

- `full`: the seed's setup: Oxford-IIIT Pet heads (`load_oxford_pet_heads`, trainval images with a head box split
  70/15/15 per breed) resized to 224x224 with their boxes, ImageNet VGG19 (`preprocess="vgg19"`), Model 2
  fine-tunes block 5; a subset of 300 training images as the few-label case; three seeds. Meant for a GPU.
- `quick`: a real offline localization task with exact boxes, `keras_transfer.datasets.load_pasted_objects`:
  Fashion-MNIST items of half B of the classes (T-shirt/top, Trouser, Sandal, Bag, Ankle boot) pasted at random
  position and scale onto crops of scikit-learn's two colour photos, 48x48 (test backgrounds from a strip of the
  photos the training images never use). The backbone is the quick source network
  (`pretrained_source_network("quick")`, trained to classify half A) rebuilt for 48x48 inputs
  (`resize_backbone`): classification to localization is the transfer. At 48x48 the items' longer side is 17 to
  41 pixels, the scale the source network learned its filters at (28-pixel items in 32x32 images). Model 2
  fine-tunes block 3. 2000 and 250 training images, MSE against GIoU on Models 1 and 2; three seeds. About 610
  CPU-seconds and 7.5 minutes on an idle 2-core machine, besides the source network's pretraining (cached, shared
  with the other experiments).
- `smoke`: the quick profile's code at 32x32 on a few dozen images (seconds).
"""

import time

import keras
import numpy as np

from keras_transfer import losses as kt_losses
from keras_transfer import paths
from keras_transfer import profiles
from keras_transfer.experiments.base import ExperimentResult
from keras_transfer.models import backbones
from keras_transfer.models import localization

NAME = "pet-heads"

MODELS = ("frozen", "adapted", "finetuned", "scratch")
LOSSES = ("mse", "giou")

TITLES = {
    "frozen": "Model 1: pretrained backbone, frozen, + a 4-unit box output",
    "adapted": "Model 2: with adaptation (two new dense layers, the upper block fine-tuned)",
    "finetuned": "Model 2's network, every layer fine-tuned from the pretrained weights",
    "scratch": "From scratch (Model 2's network, random weights, every layer trained)",
}
LABELS = {
    "frozen": "Model 1 (frozen)",
    "adapted": "Model 2 (adapted)",
    "finetuned": "fine-tuned (every layer)",
    "scratch": "from scratch",
}
LOSS_TITLES = {"mse": "mean squared error", "giou": "GIoU loss"}

_COMMON = {
    "models": MODELS,
    "losses": LOSSES,
    "main_loss": "giou",
    "loss_comparison_models": ("frozen", "adapted"),
    "few_label_models": MODELS,
    "subset_seed": 0,
    "head_units": (256, 256),
    "dropout": 0.0,
    "output_activation": "sigmoid",
    "clipnorm": 1.0,
    "augment": "flip",
    "cache_features": ("frozen", "adapted"),
    "iou_threshold": 0.5,
    "shuffle_buffer": 2048,
}

CONFIGS = {
    "smoke": {
        **_COMMON,
        "seeds": (0,),
        "source_seed": 0,
        "data_seed": 0,
        "image_size": (32, 32),
        "train_size": 48,
        "validation_size": 16,
        "test_size": 24,
        "few_label_sizes": (16,),
        # one run of each path: cached features (frozen, adapted), images (finetuned, scratch), both losses
        "loss_comparison_models": ("frozen",),
        "few_label_models": ("adapted", "scratch"),
        "batch_size": 16,
        "epoch_size": None,
        "max_epochs": 2,
        "patience": 1,
        "head_units": (32, 32),
        "adapted_trainable_from": "block3_conv1",
        "learning_rates": {"frozen": 1e-3, "adapted": 1e-3, "finetuned": 1e-3, "scratch": 1e-3},
        "preprocess": "grayscale",
    },
    "quick": {
        **_COMMON,
        "seeds": (0, 1, 2),
        "source_seed": 0,
        "data_seed": 0,
        "image_size": (48, 48),
        "train_size": 2000,
        "validation_size": 300,
        "test_size": 1000,
        "few_label_sizes": (250,),
        "batch_size": 32,
        "epoch_size": None,
        "max_epochs": 15,
        "patience": 4,
        "adapted_trainable_from": "block3_conv1",
        # Chosen on the validation split (best validation IoU) among 3e-4, 1e-3, 3e-3 (and 1e-2 for frozen)
        "learning_rates": {"frozen": 3e-3, "adapted": 1e-3, "finetuned": 1e-3, "scratch": 1e-3},
        "preprocess": "grayscale",
    },
    "full": {
        **_COMMON,
        "seeds": (0, 1, 2),
        "weights": "imagenet",
        "path": None,
        "split_seed": 0,
        "validation_fraction": 0.15,
        "test_fraction": 0.15,
        "image_size": (224, 224),
        "few_label_sizes": (300,),
        "batch_size": 32,
        "epoch_size": None,
        "max_epochs": 30,
        "patience": 5,
        "adapted_trainable_from": "block5_conv1",
        "learning_rates": {"frozen": 1e-3, "adapted": 1e-4, "finetuned": 1e-5, "scratch": 1e-4},
        "preprocess": "vgg19",
        # VGG19's block 4 output at 224x224 is 400 kB per image: cache only Model 1's (block 5) features
        "cache_features": ("frozen",),
    },
}

PREPROCESS = ("grayscale", "vgg19", None)


def _grayscale(images):
    """RGB to gray, repeated over three channels: the input the quick source network was trained on."""
    import tensorflow as tf

    return tf.image.grayscale_to_rgb(tf.image.rgb_to_grayscale(images))


def _loss(name):
    if name == "mse":
        return keras.losses.MeanSquaredError(name="mse")
    if name == "giou":
        return kt_losses.GIoULoss(bounding_box_format=localization.BOX_FORMAT)
    raise ValueError(f"Unknown loss: expected one of {LOSSES}. Received: {name!r}")


def _is_count(value, minimum=1):
    return not isinstance(value, bool) and isinstance(value, (int, np.integer)) and value >= minimum


def _check_config(config):
    for key, allowed in (
        ("models", MODELS),
        ("losses", LOSSES),
        ("loss_comparison_models", MODELS),
        ("few_label_models", MODELS),
        ("cache_features", MODELS),
    ):
        chosen = config[key]
        if isinstance(chosen, str) or not isinstance(chosen, (tuple, list)):
            raise ValueError(f"`{key}` must be a tuple of names from {allowed}. Received: {key}={chosen!r}")
        if any(name not in allowed for name in chosen) or (key in ("models", "losses") and not chosen):
            raise ValueError(f"`{key}` must name some of {allowed}. Received: {key}={tuple(chosen)!r}")
    if config["main_loss"] not in config["losses"]:
        raise ValueError(
            f"`main_loss` must be one of `losses` {tuple(config['losses'])}. "
            f"Received: main_loss={config['main_loss']!r}"
        )
    missing = [name for name in config["models"] if name not in config["learning_rates"]]
    if missing:
        raise ValueError(
            f"`learning_rates` must give a learning rate for every model; {missing} have none. "
            f"Received: learning_rates={config['learning_rates']!r}"
        )
    size = tuple(config["image_size"])
    if len(size) != 2 or not all(_is_count(side) for side in size):
        raise ValueError(f"`image_size` must be (height, width). Received: image_size={config['image_size']!r}")
    sizes = config["few_label_sizes"]
    if not isinstance(sizes, (tuple, list)) or not all(_is_count(value) for value in sizes):
        raise ValueError(
            f"`few_label_sizes` must be a tuple of positive integers. Received: few_label_sizes={sizes!r}"
        )
    for key in ("max_epochs", "patience", "batch_size"):
        if not _is_count(config[key]):
            raise ValueError(f"`{key}` must be a positive integer. Received: {key}={config[key]!r}")
    if config["epoch_size"] is not None and not _is_count(config["epoch_size"]):
        raise ValueError(
            f"`epoch_size` must be None or a positive integer. Received: epoch_size={config['epoch_size']!r}"
        )
    if config["preprocess"] not in PREPROCESS:
        raise ValueError(f"`preprocess` must be one of {PREPROCESS}. Received: preprocess={config['preprocess']!r}")
    if config["augment"] not in (None, "flip"):
        raise ValueError(f"`augment` must be None or 'flip'. Received: augment={config['augment']!r}")


class LocalizationData:
    """The unbatched `(image, box)` datasets of a profile, with what the plots and tables need.

    Attributes:
        train, validation, test: unbatched `tf.data.Dataset`s of `(image, box)`: uint8 images (quick and smoke: at
            `image_size` already; full: each photo's own size, resized by the pipeline) and float32 `"rel_xyxy"`
            boxes.
        class_names: tuple of str. The classes of the objects (pasted items, or the 37 pet breeds).
        sizes: dict. Examples per split.
        resize: None or `(height, width)`. What the pipeline resizes the images to.
    """

    def __init__(self, train, validation, test, class_names, sizes, resize):
        self.train = train
        self.validation = validation
        self.test = test
        self.class_names = tuple(class_names)
        self.sizes = sizes
        self.resize = resize


def load_data(profile="quick", *, verbose=0, **overrides):
    """The data of `profile`, exactly as `run` uses it (see `LocalizationData`).

    quick and smoke: `load_pasted_objects(train_size, validation_size, test_size, image_size, seed=data_seed)`.
    full: `load_oxford_pet_heads(image_size=None, path=path, seed=split_seed, ...)` via `to_box_regression`.
    """
    import tensorflow as tf

    from keras_transfer import datasets
    from keras_transfer.datasets import pasted_objects

    config = profiles.select(CONFIGS, profile, overrides)
    _check_config(config)
    if profile == "full":
        pets = datasets.load_oxford_pet_heads(
            image_size=None,
            path=config["path"],
            validation_fraction=config["validation_fraction"],
            test_fraction=config["test_fraction"],
            seed=config["split_seed"],
            verbose=verbose,
        )
        splits = [datasets.to_box_regression(split) for split in (pets.train, pets.validation, pets.test)]
        sizes = {name: int(split.cardinality()) for name, split in zip(("train", "validation", "test"), splits)}
        return LocalizationData(*splits, pets.breed_names, sizes, tuple(config["image_size"]))
    pasted = pasted_objects.load_pasted_objects(
        config["train_size"],
        config["validation_size"],
        config["test_size"],
        image_size=tuple(config["image_size"]),
        seed=config["data_seed"],
    )
    splits = [
        tf.data.Dataset.from_tensor_slices((part.images, part.boxes))
        for part in (pasted.train, pasted.validation, pasted.test)
    ]
    sizes = {name: int(len(part.boxes)) for name, part in zip(("train", "validation", "test"), pasted[:3])}
    return LocalizationData(*splits, pasted.class_names, sizes, None)


def subset_indices(total, size, seed=0):
    """The training images of a subset of `size` out of `total`: a seeded random choice, in the split's order.

    Subsets of one seed are nested (the 250 images are among the 500), and the same for every network and every
    model seed, so the networks of a size see exactly the same images.

    Args:
        total: int. Images in the training split.
        size: int. Images in the subset, `<= total`; `size == total` gives every index.
        seed: int. Seed of the choice.

    Returns:
        A sorted int64 array of `size` indices into the training split.
    """
    if not _is_count(size) or size > total:
        raise ValueError(
            f"A training subset must hold between 1 and the {total} training images. Received: size={size!r}"
        )
    if size == total:
        return np.arange(total, dtype=np.int64)
    return np.sort(np.random.default_rng(int(seed)).permutation(total)[:size]).astype(np.int64)


def _take_indices(dataset, indices, total):
    import tensorflow as tf

    if len(indices) == total:
        return dataset
    keep = np.zeros(total, bool)
    keep[indices] = True
    keep = tf.constant(keep)

    @tf.autograph.experimental.do_not_convert
    def kept(index, example):
        return tf.gather(keep, index)

    @tf.autograph.experimental.do_not_convert
    def drop_index(index, example):
        return example

    subset = dataset.enumerate().filter(kept).map(drop_index)
    return subset.apply(tf.data.experimental.assert_cardinality(len(indices)))


def sample_images(profile="quick", split="test", count=None, **overrides):
    """Images of one split as the models see them, before preprocessing, and their true boxes.

    Args:
        profile: str.
        split: str. `"train"`, `"validation"` or `"test"`. The test images come in the order of
            `result.metadata["test_predictions"]`.
        count: int or None. The first `count` images; None: all of them.
        **overrides: the same settings as given to `run`.

    Returns:
        `(images, boxes)`: uint8 `(N, H, W, 3)` at the models' input size and float32 `(N, 4)` `"rel_xyxy"` boxes.
    """
    from keras_transfer import datasets

    if split not in ("train", "validation", "test"):
        raise ValueError(f"`split` must be 'train', 'validation' or 'test'. Received: split={split!r}")
    data = load_data(profile, **overrides)
    dataset = getattr(data, split)
    if count is not None:
        dataset = dataset.take(int(count))
    pipeline = datasets.make_pipeline(dataset, batch_size=64, image_size=data.resize, boxes=True, cache=False)
    images, boxes = [], []
    for batch_images, batch_boxes in pipeline.as_numpy_iterator():
        images.append(np.clip(np.round(batch_images), 0, 255).astype(np.uint8))
        boxes.append(np.asarray(batch_boxes, np.float32))
    return np.concatenate(images), np.concatenate(boxes)


def _pipeline_options(data, config, seed):
    return {
        "batch_size": config["batch_size"],
        "image_size": data.resize,
        "preprocess": _grayscale if config["preprocess"] == "grayscale" else config["preprocess"],
        "boxes": True,
        "seed": seed,
    }


def _pipelines(data, config, seed):
    """The evaluation pipelines (in order, no augmentation), shared by every run of a seed."""
    from keras_transfer import datasets

    options = _pipeline_options(data, config, seed)
    return {
        "validation": datasets.make_pipeline(data.validation, **options),
        "test": datasets.make_pipeline(data.test, **options),
        "train_in_order": datasets.make_pipeline(data.train, **options),
    }


def _train_pipeline(data, config, seed, indices):
    from keras_transfer import datasets

    subset = _take_indices(data.train, indices, data.sizes["train"])
    return datasets.make_pipeline(
        subset,
        training=True,
        augment=config["augment"],
        shuffle_buffer=config["shuffle_buffer"],
        **_pipeline_options(data, config, seed),
    )


def _backbone(profile, config, pretrained, source):
    image_size = tuple(config["image_size"])
    if profile == "full":
        weights = config["weights"] if pretrained else None
        return backbones.vgg19_backbone(weights=weights, input_shape=(*image_size, 3))
    from keras_transfer import models as kt_models

    backbone = kt_models.source_backbone(source, pretrained=pretrained)
    return localization.resize_backbone(backbone, (*image_size, 3))


def _build(name, profile, config, seed, source):
    keras.utils.set_random_seed(seed)
    backbone = _backbone(profile, config, name != "scratch", source)
    if name == "frozen":
        trainable_from, head_units = None, ()
    elif name == "adapted":
        trainable_from, head_units = config["adapted_trainable_from"], tuple(config["head_units"])
    else:  # finetuned and scratch: every backbone layer trains
        trainable_from = next(layer.name for layer in backbone.layers if layer.weights)
        head_units = tuple(config["head_units"])
    keras.utils.set_random_seed(seed)  # the same head initialisation for every model of a seed
    return localization.build_box_regressor(
        backbone,
        head_units=head_units,
        dropout=config["dropout"],
        trainable_from=trainable_from,
        output_activation=config["output_activation"],
        name=name,
    )


def _features(prefix, pipeline, with_mirror, verbose):
    """The frozen layers' outputs for every image of `pipeline` (and for the mirrored images), with the boxes."""
    import tensorflow as tf

    predict_verbose = 1 if verbose >= 2 else 0
    cached = {
        "features": prefix.predict(pipeline.map(lambda images, boxes: images), verbose=predict_verbose),
        "boxes": np.concatenate([np.asarray(boxes, np.float32) for _, boxes in pipeline.as_numpy_iterator()]),
    }
    if with_mirror:
        mirrored = pipeline.map(lambda images, boxes: tf.reverse(images, axis=[2]))  # (batch, H, W, C): W is 2
        cached["mirror_features"] = prefix.predict(mirrored, verbose=predict_verbose)
        cached["mirror_boxes"] = localization.flip_boxes_horizontally(cached["boxes"]).astype(np.float32)
    return cached


def _feature_pipeline(cached, batch_size, seed, training, augment):
    """Batches of cached features; in training, shuffled, each example or its mirror drawn with probability 1/2."""
    import tensorflow as tf

    if not training:
        return tf.data.Dataset.from_tensor_slices((cached["features"], cached["boxes"])).batch(batch_size)
    if augment:
        pairs = tf.data.Dataset.from_tensor_slices(
            ((cached["features"], cached["mirror_features"]), (cached["boxes"], cached["mirror_boxes"]))
        )
    else:
        pairs = tf.data.Dataset.from_tensor_slices(
            ((cached["features"], cached["features"]), (cached["boxes"], cached["boxes"]))
        )
    pairs = pairs.shuffle(len(cached["boxes"]), seed=seed, reshuffle_each_iteration=True)
    coins = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)

    def pick(pair, coin):
        (features, mirror_features), (boxes, mirror_boxes) = pair
        mirror = tf.equal(coin % 2, 1)
        return tf.where(mirror, mirror_features, features), tf.where(mirror, mirror_boxes, boxes)

    return tf.data.Dataset.zip((pairs, coins)).map(pick).batch(batch_size).prefetch(tf.data.AUTOTUNE)


def _cached_features(prefix, pipelines, config, feature_memo, verbose):
    """The frozen layers' outputs for the whole training split (with mirrors) and the validation split, computed
    once per `run` and kept in `feature_memo` under the name of the frozen layers' output."""
    key = prefix.name
    if key not in feature_memo:
        start, cpu_start = time.perf_counter(), time.process_time()
        train = _features(prefix, pipelines["train_in_order"], bool(config["augment"]), verbose)
        validation = _features(prefix, pipelines["validation"], False, verbose)
        feature_memo[key] = {
            "train": train,
            "validation": validation,
            "shape": list(train["features"].shape[1:]),
            "wall_time_s": round(time.perf_counter() - start, 2),
            "cpu_time_s": round(time.process_time() - cpu_start, 2),
        }
    return feature_memo[key]


def _train_one(name, loss_name, size, indices, seed, data, pipelines, config, profile, source, feature_memo, verbose):
    """Builds, trains and tests one network with one loss on `size` training images; returns `(row, history,
    test_predictions)`."""
    epoch_size = data.sizes["train"] if config["epoch_size"] is None else config["epoch_size"]
    steps_per_epoch = -(-epoch_size // config["batch_size"])
    model = _build(name, profile, config, seed, source)
    prefix, trainable = localization.split_frozen_prefix(model) if name in config["cache_features"] else (None, model)
    stopper = keras.callbacks.EarlyStopping(
        monitor="val_iou", mode="max", patience=config["patience"], restore_best_weights=True
    )
    fit_verbose = 2 if verbose >= 2 else 0
    if prefix is not None:
        cached = _cached_features(prefix, pipelines, config, feature_memo, verbose)
        whole = len(indices) == len(cached["train"]["boxes"])
        subset = cached["train"] if whole else {key: value[indices] for key, value in cached["train"].items()}
        train = _feature_pipeline(subset, config["batch_size"], seed, True, config["augment"])
        validation = _feature_pipeline(cached["validation"], config["batch_size"], seed, False, None)
    else:
        train = _train_pipeline(data, config, seed, indices)
        validation = pipelines["validation"]
    trainable.compile(
        optimizer=keras.optimizers.Adam(learning_rate=config["learning_rates"][name], clipnorm=config["clipnorm"]),
        loss=_loss(loss_name),
        metrics=[localization.BoxIoU(name="iou")],
    )
    start, cpu_start = time.perf_counter(), time.process_time()
    history = trainable.fit(
        train.repeat(),  # an epoch is `steps_per_epoch` batches, however many images the training set has
        steps_per_epoch=steps_per_epoch,
        validation_data=validation,
        epochs=config["max_epochs"],
        callbacks=[stopper],
        shuffle=False,  # the pipeline shuffles
        verbose=fit_verbose,
    )
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    # Tested like every other model: the image-to-box model on the test images.
    if trainable is not model:
        model.compile(loss=_loss(loss_name), metrics=[localization.BoxIoU(name="iou")])
    test = pipelines["test"]
    test_loss = model.evaluate(test, verbose=0)[0]
    predictions = np.asarray(model.predict(test, verbose=0), np.float32)
    true_boxes = np.concatenate([np.asarray(boxes) for _, boxes in test.as_numpy_iterator()])
    scores = localization.localization_scores(true_boxes, predictions, threshold=config["iou_threshold"])
    counts = backbones.parameter_counts(model)
    per_epoch = {key: [float(value) for value in values] for key, values in history.history.items()}
    threshold_key = [key for key in scores if key != "mean_iou"][0]
    row = {
        "model": f"{name}/{loss_name}/n{size}",
        "network": name,
        "loss": loss_name,
        "variant": f"{name}/{loss_name}",
        "train_size": int(size),
        "seed": int(seed),
        "mean_iou": scores["mean_iou"],
        "iou_at_0_5": scores[threshold_key],
        "test_loss": float(test_loss),
        "epochs": len(per_epoch.get("loss", [])),
        "best_epoch": int(stopper.best_epoch) + 1,
        "first_val_iou": float(per_epoch.get("val_iou", [float("nan")])[0]),
        "best_val_iou": float(max(per_epoch.get("val_iou", [float("nan")]))),
        "wall_time_s": round(wall, 2),
        "cpu_time_s": round(cpu, 2),
        "trainable_params": counts["trainable"],
        "frozen_params": counts["frozen"],
        "cached_features": prefix.name if prefix is not None else None,
    }
    if threshold_key != "iou_at_0_5":
        row[threshold_key] = row.pop("iou_at_0_5")
    return row, per_epoch, predictions


def plan(profile="quick", **overrides):
    """The runs of `profile`, in the order `run` trains them: `(network, loss, train_size)` per model seed.

    On the whole training split every network trains with `main_loss`, and the networks of
    `loss_comparison_models` also with the other `losses`; on each of `few_label_sizes` (largest first) the
    networks of `few_label_models` train with `main_loss`. quick and smoke know the training split's size from
    `train_size`; for full it is read from the data.
    """
    config = profiles.select(CONFIGS, profile, overrides)
    _check_config(config)
    total = config["train_size"] if "train_size" in config else load_data(profile, **overrides).sizes["train"]
    return _plan(config, total)


def _plan(config, total):
    runs = []
    for name in config["models"]:
        losses = config["losses"] if name in config["loss_comparison_models"] else (config["main_loss"],)
        for loss_name in config["losses"]:
            if loss_name in losses:
                runs.append((name, loss_name, int(total)))
    for size in sorted(set(config["few_label_sizes"]), reverse=True):
        if size >= total:
            raise ValueError(
                f"`few_label_sizes` must be smaller than the {total} training images. "
                f"Received: few_label_sizes={tuple(config['few_label_sizes'])!r}"
            )
        for name in config["models"]:
            if name in config["few_label_models"]:
                runs.append((name, config["main_loss"], int(size)))
    return runs


def run(profile="quick", *, seeds=None, output_dir=None, verbose=1, **overrides):
    """Trains the box regressors of `profile` (see `plan`); returns the table, the histories and the predictions.

    Args:
        profile: str. `"smoke"`, `"quick"` or `"full"` (see the module docstring).
        seeds: sequence of int or None. Seeds of the initialisation, the batch order and the flips; None uses the
            profile's. The data and the training subsets are the same for every seed (`data_seed`, `split_seed`,
            `subset_seed`).
        output_dir: path or None. Where `result.json` goes; None: `paths.results_dir("pet-heads", profile)`.
        verbose: int. 0 silent; 1 a line per run; 2 also Keras's epoch lines and progress bars.
        **overrides: settings of `CONFIGS[profile]` to change, e.g. `models=("frozen", "scratch")`,
            `losses=("giou",)`, `few_label_sizes=(100, 500)`, `max_epochs=5`, `train_size=500` (quick),
            `path="/data/oxford-iiit-pet"` (full, an extracted copy), `weights="vgg19_notop.weights.h5"` (full, a
            local file), `image_size=(64, 64)`.

    Returns:
        An `ExperimentResult` with one row per run and seed: `model` (`"<network>/<loss>/n<train_size>"`, the
        label of the run), `network`, `loss`, `variant` (`"<network>/<loss>"`), `train_size`, `seed`,
        `mean_iou`, `iou_at_0_5`, `test_loss`, `epochs`, `best_epoch`, `first_val_iou` (after one epoch: the
        "higher start" of transfer), `best_val_iou`, `wall_time_s` and
        `cpu_time_s` (of the training), `trainable_params`, `frozen_params`, `cached_features`;
        `histories["<model>/seed<seed>"]` (per epoch `loss`, `iou`, `val_loss`, `val_iou`); and in `metadata`
        `test_predictions` (every run's predicted test boxes, in the order of `sample_images(profile, "test")`,
        under the same keys as the histories), `feature_extraction` (what computing the cached features cost)
        and the run's total `wall_time_s` and `cpu_time_s`.
    """
    config = profiles.select(CONFIGS, profile, overrides)
    _check_config(config)
    seeds = tuple(config["seeds"] if seeds is None else seeds)
    if not seeds or not all(_is_count(seed, minimum=0) for seed in seeds):
        raise ValueError(f"`seeds` must be non-negative integers. Received: seeds={seeds!r}")
    start, cpu_start = time.perf_counter(), time.process_time()
    source, source_info = None, None
    if profile != "full":
        from keras_transfer import models as kt_models

        source_start, source_cpu = time.perf_counter(), time.process_time()
        source = kt_models.pretrained_source_network(profile, seed=config["source_seed"], verbose=verbose)
        source_info = {
            **(kt_models.source_network_info(profile, seed=config["source_seed"]) or {}),
            "seconds_in_this_run": round(time.perf_counter() - source_start, 2),
            "cpu_seconds_in_this_run": round(time.process_time() - source_cpu, 2),
        }
    data = load_data(profile, verbose=verbose, **overrides)
    total = data.sizes["train"]
    runs = _plan(config, total)
    indices = {size: subset_indices(total, size, config["subset_seed"]) for _, _, size in runs}
    rows, histories, predictions = [], {}, {}
    feature_memo = {}
    for seed in seeds:
        keras.utils.set_random_seed(int(seed))  # tf.data's seeded ops also depend on the global seed
        pipelines = _pipelines(data, config, int(seed))
        for name, loss_name, size in runs:
            row, history, predicted = _train_one(
                name, loss_name, size, indices[size], int(seed), data, pipelines, config, profile, source,
                feature_memo, verbose,
            )
            rows.append(row)
            key = f"{row['model']}/seed{seed}"
            histories[key] = history
            predictions[key] = np.round(predicted, 5).tolist()
            if verbose:
                print(
                    f"[{profile} seed {seed}] {TITLES[name]}, {LOSS_TITLES[loss_name]}, {size} training images: "
                    f"mean IoU {row['mean_iou']:.4f}, IoU >= {config['iou_threshold']} for {row['iou_at_0_5']:.1%} "
                    f"of the test boxes, {row['epochs']} epochs, {row['cpu_time_s']:.0f} CPU-s",
                    flush=True,
                )
            keras.backend.clear_session()
    metadata = {
        "config": {key: list(value) if isinstance(value, tuple) else value for key, value in config.items()},
        "seeds": [int(seed) for seed in seeds],
        "runs": [list(entry) for entry in runs],
        "train_sizes": sorted({size for _, _, size in runs}, reverse=True),
        "titles": {name: TITLES[name] for name in config["models"]},
        "labels": {name: LABELS[name] for name in config["models"]},
        "loss_titles": {name: LOSS_TITLES[name] for name in config["losses"]},
        "class_names": list(data.class_names),
        "sizes": data.sizes,
        "box_format": localization.BOX_FORMAT,
        "source_network": source_info,
        "feature_extraction": {
            key: {name: value for name, value in entry.items() if name not in ("train", "validation")}
            for key, entry in feature_memo.items()
        },
        "test_predictions": predictions,
        "wall_time_s": round(time.perf_counter() - start, 2),
        "cpu_time_s": round(time.process_time() - cpu_start, 2),
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "lecture_expects": "transferred models above scratch; adaptation helps a task far from the source task; "
        "transfer is worth most when the target task has few labels",
    }
    result = ExperimentResult(NAME, profile, rows, histories, metadata)
    result.save(output_dir if output_dir is not None else paths.results_dir(NAME, profile))
    return result


def at_train_size(result, train_size=None):
    """The runs of `result` on one training-set size, as an `ExperimentResult` (for its tables and plots).

    Args:
        result: ExperimentResult. What `run` returned.
        train_size: int or None. None: the whole training split (the largest size).
    """
    sizes = sorted({row["train_size"] for row in result.rows})
    chosen = sizes[-1] if train_size is None else train_size
    if chosen not in sizes:
        raise ValueError(
            f"`train_size` must be one of the sizes that ran, {sizes}. Received: train_size={train_size!r}"
        )
    rows = [row for row in result.rows if row["train_size"] == chosen]
    histories = {key: value for key, value in result.histories.items() if key.split("/seed")[0] in
                 {row["model"] for row in rows}}
    return ExperimentResult(result.name, result.profile, rows, histories, result.metadata)


def learning_curves(result, loss=None, metric="mean_iou"):
    """`{network: [(train_size, mean, std), ...]}`: a metric against the number of training images, per network.

    Args:
        result: ExperimentResult. What `run` returned.
        loss: str or None. The loss of the runs to use; None: the run's `main_loss`.
        metric: str. A numeric column of the rows, e.g. `"mean_iou"` or `"iou_at_0_5"`.

    Returns:
        A dict in the order of the networks, each a list sorted by training-set size, with the mean and the
        standard deviation over seeds (0 for one seed).
    """
    loss = result.metadata["config"]["main_loss"] if loss is None else loss
    curves = {}
    for row in result.rows:
        if row["loss"] == loss:
            curves.setdefault(row["network"], {}).setdefault(row["train_size"], []).append(float(row[metric]))
    if not curves:
        raise ValueError(f"No runs with loss {loss!r} in the result. Received: loss={loss!r}")
    return {
        name: [
            (size, float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0)
            for size, values in sorted(by_size.items())
        ]
        for name, by_size in curves.items()
    }
