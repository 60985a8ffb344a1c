"""Different task: a backbone pretrained for classification, transferred to object localization (box regression).

Seed 002's "different task": Oxford-IIIT Pet head boxes predicted by VGG19 whose softmax output is replaced by a
4-unit regression output, relative `[xmin, ymin, xmax, ymax]`. Three models (`keras_transfer.models.localization`):

- `frozen`, Model 1: the pretrained backbone frozen, flattened, a 4-unit sigmoid output.
- `adapted`, Model 2 "with adaptation": two new dense layers on top and the upper backbone block fine-tuned
  (`adapted_trainable_from`), the lower blocks frozen.
- `scratch`: Model 2's network with random weights, every layer trained: what transfer is worth.

Each model is trained with two losses: `mse` (the mean squared error of the four coordinates, the plain
regression loss) and `giou` (`keras_transfer.losses.GIoULoss`, one minus the generalized IoU). Every run uses Adam,
random horizontal flips that move the box (`make_pipeline(..., boxes=True, augment="flip")`), and early stopping
on the validation IoU with the best epoch's weights restored, so both losses are stopped by the same criterion.
Metrics on the test split, per run: `mean_iou` and `iou_at_0_5` (the share of test boxes with IoU >= 0.5),
computed with Keras's `keras.utils.bounding_boxes.compute_iou`, and `test_loss` (the run's own loss, so MSE and
GIoU values are not comparable with each other).

Model 1 on cached features (`cache_features=True`, the default): its backbone never changes, so its outputs for
every training image and for the image's mirror are computed once, and each epoch draws one of the two per image
at random, which is exactly a random horizontal flip (the box is flipped with it). Only the output layer trains
on them.

Profiles:

- `full`: the seed's setup: Oxford-IIIT Pet heads (`load_oxford_pet_heads`, trainval images with a head box split
  70/15/15 per breed) resized to 224x224 with their boxes, ImageNet VGG19 (`preprocess="vgg19"`), Model 2
  fine-tunes block 5; three seeds. Meant for a GPU.
- `quick`: a real offline localization task with exact boxes, `keras_transfer.datasets.load_pasted_objects`:
  Fashion-MNIST items of half B of the classes (T-shirt/top, Trouser, Sandal, Bag, Ankle boot) pasted at random
  position and scale onto crops of scikit-learn's two colour photos, 64x64 (test backgrounds from a strip of the
  photos the training images never use). The backbone is the quick source network
  (`pretrained_source_network("quick")`, trained to classify half A) rebuilt for 64x64 inputs
  (`resize_backbone`): classification to localization is the transfer. Model 2 fine-tunes block 3. One seed.
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

MODELS = ("frozen", "adapted", "scratch")
LOSSES = ("mse", "giou")

TITLES = {
    "frozen": "Model 1: pretrained backbone, frozen, + a 4-unit box output",
    "adapted": "Model 2: with adaptation (two new dense layers, the upper block fine-tuned)",
    "scratch": "From scratch (Model 2's network, random weights, every layer trained)",
}
LOSS_TITLES = {"mse": "mean squared error", "giou": "GIoU loss"}

_COMMON = {
    "models": MODELS,
    "losses": LOSSES,
    "head_units": (256, 256),
    "dropout": 0.0,
    "output_activation": "sigmoid",
    "clipnorm": 1.0,
    "augment": "flip",
    "cache_features": True,
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
        "batch_size": 16,
        "max_epochs": 2,
        "patience": 1,
        "head_units": (32, 32),
        "adapted_trainable_from": "block3_conv1",
        "learning_rates": {"frozen": 1e-3, "adapted": 3e-4, "scratch": 1e-3},
        "preprocess": "grayscale",
    },
    "quick": {
        **_COMMON,
        "seeds": (0,),
        "source_seed": 0,
        "data_seed": 0,
        "image_size": (64, 64),
        "train_size": 2000,
        "validation_size": 400,
        "test_size": 1000,
        "batch_size": 32,
        "max_epochs": 15,
        "patience": 4,
        "adapted_trainable_from": "block3_conv1",
        "learning_rates": {"frozen": 1e-3, "adapted": 3e-4, "scratch": 1e-3},
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
        "batch_size": 32,
        "max_epochs": 30,
        "patience": 5,
        "adapted_trainable_from": "block5_conv1",
        "learning_rates": {"frozen": 1e-3, "adapted": 1e-4, "scratch": 1e-4},
        "preprocess": "vgg19",
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


def _check_config(config):
    for key, allowed in (("models", MODELS), ("losses", LOSSES)):
        chosen = tuple(config[key])
        if not chosen or any(name not in allowed for name in chosen):
            raise ValueError(f"`{key}` must name some of {allowed}. Received: {key}={chosen!r}")
    size = tuple(config["image_size"])
    if len(size) != 2 or any(isinstance(side, bool) or not isinstance(side, (int, np.integer)) for side in size):
        raise ValueError(f"`image_size` must be (height, width). Received: image_size={config['image_size']!r}")
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


def _pipelines(data, config, seed):
    from keras_transfer import datasets

    options = {
        "batch_size": config["batch_size"],
        "image_size": data.resize,
        "preprocess": _grayscale if config["preprocess"] == "grayscale" else config["preprocess"],
        "boxes": True,
        "seed": seed,
    }
    return {
        "train": datasets.make_pipeline(
            data.train, training=True, augment=config["augment"], shuffle_buffer=config["shuffle_buffer"], **options
        ),
        "validation": datasets.make_pipeline(data.validation, **options),
        "test": datasets.make_pipeline(data.test, **options),
        "train_in_order": datasets.make_pipeline(data.train, **options),
    }


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
    else:
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


def _features(backbone, pipeline, with_mirror, verbose):
    """The backbone's outputs for every image of `pipeline` (and for the mirrored images), with the boxes."""
    import tensorflow as tf

    predict_verbose = 1 if verbose >= 2 else 0
    cached = {
        "features": backbone.predict(pipeline.map(lambda images, boxes: images), verbose=predict_verbose),
        "boxes": np.concatenate([np.asarray(boxes, np.float32) for _, boxes in pipeline.as_numpy_iterator()]),
    }
    if with_mirror:
        mirrored = pipeline.map(lambda images, boxes: tf.reverse(images, axis=[2]))  # (batch, H, W, C): W is 2
        cached["mirror_features"] = backbone.predict(mirrored, verbose=predict_verbose)
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


def _train_one(name, loss_name, seed, pipelines, config, profile, source, feature_memo, verbose):
    """Builds, trains and tests one model with one loss; returns `(row, history, test_predictions)`."""
    model = _build(name, profile, config, seed, source)
    metrics = [localization.BoxIoU(name="iou")]
    optimizer = keras.optimizers.Adam(learning_rate=config["learning_rates"][name], clipnorm=config["clipnorm"])
    stopper = keras.callbacks.EarlyStopping(
        monitor="val_iou", mode="max", patience=config["patience"], restore_best_weights=True
    )
    fit_verbose = 2 if verbose >= 2 else 0
    start, cpu_start = time.perf_counter(), time.process_time()
    feature_seconds = feature_cpu_seconds = 0.0
    if name == "frozen" and config["cache_features"]:
        if "train" not in feature_memo:  # the same frozen backbone for every loss and seed
            feature_start, feature_cpu = time.perf_counter(), time.process_time()
            base = backbones.base_layer(model)
            feature_memo["train"] = _features(base, pipelines["train_in_order"], bool(config["augment"]), verbose)
            feature_memo["validation"] = _features(base, pipelines["validation"], False, verbose)
            feature_memo["test"] = _features(base, pipelines["test"], False, verbose)
            feature_memo["seconds"] = time.perf_counter() - feature_start
            feature_memo["cpu_seconds"] = time.process_time() - feature_cpu
            start, cpu_start = time.perf_counter(), time.process_time()
        feature_seconds, feature_cpu_seconds = feature_memo["seconds"], feature_memo["cpu_seconds"]
        head = backbones.classifier_head(model)
        head.compile(optimizer=optimizer, loss=_loss(loss_name), metrics=metrics)
        batch_size = config["batch_size"]
        train = _feature_pipeline(feature_memo["train"], batch_size, seed, True, config["augment"])
        validation = _feature_pipeline(feature_memo["validation"], batch_size, seed, False, None)
        test = _feature_pipeline(feature_memo["test"], batch_size, seed, False, None)
        history = head.fit(
            train,
            validation_data=validation,
            epochs=config["max_epochs"],
            callbacks=[stopper],
            shuffle=False,  # the pipeline shuffles
            verbose=fit_verbose,
        )
        evaluated = head
    else:
        model.compile(optimizer=optimizer, loss=_loss(loss_name), metrics=metrics)
        history = model.fit(
            pipelines["train"],
            validation_data=pipelines["validation"],
            epochs=config["max_epochs"],
            callbacks=[stopper],
            shuffle=False,  # the pipeline shuffles
            verbose=fit_verbose,
        )
        evaluated, test = model, pipelines["test"]
    wall = time.perf_counter() - start + feature_seconds
    cpu = time.process_time() - cpu_start + feature_cpu_seconds
    test_loss = evaluated.evaluate(test, verbose=0)[0]
    predictions = np.asarray(evaluated.predict(test, verbose=0), np.float32)
    true_boxes = np.concatenate([np.asarray(boxes) for _, boxes in test.as_numpy_iterator()])
    scores = localization.localization_scores(true_boxes, predictions, threshold=config["iou_threshold"])
    counts = backbones.parameter_counts(model)
    per_epoch = {key: [float(value) for value in values] for key, values in history.history.items()}
    threshold_key = [key for key in scores if key != "mean_iou"][0]
    row = {
        "model": name,
        "loss": loss_name,
        "variant": f"{name}/{loss_name}",
        "seed": int(seed),
        "mean_iou": scores["mean_iou"],
        "iou_at_0_5": scores[threshold_key],
        "test_loss": float(test_loss),
        "epochs": len(per_epoch.get("loss", [])),
        "best_epoch": int(stopper.best_epoch) + 1,
        "best_val_iou": float(max(per_epoch.get("val_iou", [float("nan")]))),
        "wall_time_s": round(wall, 2),
        "cpu_time_s": round(cpu, 2),
        "trainable_params": counts["trainable"],
        "frozen_params": counts["frozen"],
    }
    if threshold_key != "iou_at_0_5":
        row[threshold_key] = row.pop("iou_at_0_5")
    return row, per_epoch, predictions


def run(profile="quick", *, seeds=None, output_dir=None, verbose=1, **overrides):
    """Trains the three box regressors with both losses under `profile`; returns the table and the histories.

    Args:
        profile: str. `"smoke"`, `"quick"` or `"full"` (see the module docstring).
        seeds: sequence of int or None. Seeds of the initialisation, the batch order and the flips; None uses the
            profile's. The data is the same for every seed (`data_seed`, `split_seed`).
        output_dir: path or None. Where `result.json` goes; None: `paths.results_dir("pet-heads", profile)`.
        verbose: int. 0 silent; 1 a line per run and progress bars; 2 also Keras's epoch lines.
        **overrides: settings of `CONFIGS[profile]` to change, e.g. `models=("frozen",)`, `losses=("giou",)`,
            `max_epochs=5`, `train_size=500` (quick), `path="/data/oxford-iiit-pet"` (full, an extracted copy),
            `weights="vgg19_notop.weights.h5"` (full, a local file), `image_size=(64, 64)`.

    Returns:
        An `ExperimentResult` with one row per model, loss and seed (`model`, `loss`, `variant` = "model/loss",
        `seed`, `mean_iou`, `iou_at_0_5`, `test_loss`, `epochs`, `best_epoch`, `best_val_iou`, `wall_time_s`,
        `cpu_time_s`, `trainable_params`, `frozen_params`), `histories["<model>/<loss>/seed<seed>"]` (per epoch
        `loss`, `iou`, `val_loss`, `val_iou`), and in `metadata["test_predictions"]` every run's predicted test
        boxes, in the order of `sample_images(profile, "test")`.
    """
    config = profiles.select(CONFIGS, profile, overrides)
    _check_config(config)
    seeds = tuple(config["seeds"] if seeds is None else seeds)
    if not seeds or any(isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0 for seed in seeds):
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
    rows, histories, predictions = [], {}, {}
    feature_memo = {}
    for seed in seeds:
        keras.utils.set_random_seed(int(seed))  # tf.data's seeded ops also depend on the global seed
        pipelines = _pipelines(data, config, int(seed))
        for name in config["models"]:
            for loss_name in config["losses"]:
                row, history, predicted = _train_one(
                    name, loss_name, int(seed), pipelines, config, profile, source, feature_memo, verbose
                )
                rows.append(row)
                key = f"{name}/{loss_name}/seed{seed}"
                histories[key] = history
                predictions[key] = np.round(predicted, 5).tolist()
                if verbose:
                    print(
                        f"[{profile} seed {seed}] {TITLES[name]}, {LOSS_TITLES[loss_name]}: mean IoU "
                        f"{row['mean_iou']:.4f}, IoU >= {config['iou_threshold']} for {row['iou_at_0_5']:.1%} of the "
                        f"test boxes, {row['epochs']} epochs, {row['wall_time_s']:.1f} s",
                        flush=True,
                    )
                keras.backend.clear_session()
    metadata = {
        "config": {key: list(value) if isinstance(value, tuple) else value for key, value in config.items()},
        "seeds": [int(seed) for seed in seeds],
        "titles": {name: TITLES[name] for name in config["models"]},
        "loss_titles": {name: LOSS_TITLES[name] for name in config["losses"]},
        "class_names": list(data.class_names),
        "sizes": data.sizes,
        "box_format": localization.BOX_FORMAT,
        "source_network": source_info,
        "cached_features": bool(config["cache_features"]) and "frozen" in config["models"],
        "feature_extraction_s": round(feature_memo.get("seconds", 0.0), 2),
        "test_predictions": predictions,
        "wall_time_s": round(time.perf_counter() - start, 2),
        "cpu_time_s": round(time.process_time() - cpu_start, 2),
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "lecture_expects": "transferred models (frozen, adapted) above scratch; adaptation helps a task far from "
        "the source task",
    }
    result = ExperimentResult(NAME, profile, rows, histories, metadata)
    result.save(output_dir if output_dir is not None else paths.results_dir(NAME, profile))
    return result
