"""Different task: a backbone pretrained for classification, transferred to object localization (box regression).

Seed 002's "different task": Oxford-IIIT Pet head boxes predicted by VGG19 whose softmax output is replaced by a
4-unit regression output, relative `[xmin, ymin, xmax, ymax]`. Four networks (`keras_transfer.models.localization`):
`frozen` (Model 1: the pretrained base frozen, a 4-unit output), `adapted` (Model 2 "with adaptation": two new dense
layers, the upper block fine-tuned from `adapted_trainable_from`), `fine_tuned` (Model 2's network, every layer
fine-tuned from the pretrained weights) and `scratch` (the same network from random weights). `fine_tuned` and
`scratch` differ only in their initial weights: the gap between them is what the pretrained weights are worth.

Every network trains on the whole training split and on nested random subsets of it (`few_label_sizes`, the same
images for every network). Every run has the same budget: an epoch is `epoch_size` images (a small subset is
repeated, reshuffled and re-flipped), at most `max_epochs`, early stopping on the validation IoU with the best
weights restored; Adam with the learning rates in `learning_rates` (chosen on the validation split). Losses: `mse`,
`giou` and `ciou` (keras-cv's `GIoULoss` and `CIoULoss`, `"rel_xyxy"`); every run uses `main_loss`, and the
networks of `loss_comparison_models` also the other losses, on the whole training split. Test metrics: `mean_iou`
and `iou_at_0_5` (Keras's `keras.utils.bounding_boxes.compute_iou`). The frozen layers of the networks in
`cache_features` run once per image and per mirror image (`models.features.extract_mirrored_features`), and only
the layers above them train (`fit_on_features(..., mirror=...)`: the same random flip).

Profiles (per-profile behaviour is the config keys `data` and `backbone`):

- `full`: the seed's setup: Oxford-IIIT Pet heads at 224x224, ImageNet VGG19, Model 2 fine-tunes block 5; 300
  training images as the few-label case; three seeds. Meant for a GPU.
- `quick`: `datasets.load_pasted_objects`: Fashion-MNIST items of half B pasted on crops of scikit-learn's two
  photos, 32x32, exact boxes. The base is `pretrained_source_network("quick", domain="photos")`, trained to classify
  half A's items pasted on scikit-image's photos (other classes, other photos): classification to localization is
  the transfer. 100, 250, 1,000 and 2,000 training images, the loss comparison on Model 2; three seeds.
- `smoke`: the quick profile's code on a few dozen images (seconds).
"""

import collections
import time

import keras
import numpy as np

from keras_transfer import metrics as kt_metrics
from keras_transfer import paths
from keras_transfer import profiles
from keras_transfer.experiments.base import ExperimentResult
from keras_transfer.experiments.base import check_seeds
from keras_transfer.experiments.base import mean_std
from keras_transfer.models import backbones
from keras_transfer.models import features as kt_features
from keras_transfer.models import localization

NAME = "pet-heads"

MODELS = ("frozen", "adapted", "fine_tuned", "scratch")
LOSSES = ("mse", "giou", "ciou")

TITLES = {
    "frozen": "Model 1: pretrained base, frozen, + a 4-unit box output",
    "adapted": "Model 2: with adaptation (two new dense layers, the upper block fine-tuned)",
    "fine_tuned": "Model 2's network, every layer fine-tuned from the pretrained weights",
    "scratch": "From scratch (Model 2's network, random weights, every layer trained)",
}
LABELS = {
    "frozen": "Model 1 (frozen)",
    "adapted": "Model 2 (adapted)",
    "fine_tuned": "fine-tuned (every layer)",
    "scratch": "from scratch",
}
LOSS_TITLES = {"mse": "mean squared error", "giou": "GIoU loss (keras-cv)", "ciou": "CIoU loss (keras-cv)"}

_COMMON = {
    "models": MODELS,
    "losses": LOSSES,
    "main_loss": "giou",
    "loss_comparison_models": ("adapted",),
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
    "data": "pasted_objects",
    "backbone": "source",
    "source_seed": 0,
    "source_domain": "photos",
    "data_seed": 0,
    "preprocess": None,
}

CONFIGS = {
    "smoke": {
        **_COMMON,
        "seeds": (0,),
        "image_size": (32, 32),
        "train_size": 48,
        "validation_size": 16,
        "test_size": 24,
        "few_label_sizes": (16,),
        # one run of each path: cached features (frozen, adapted), images (fine_tuned, scratch), every loss
        "loss_comparison_models": ("frozen",),
        "few_label_models": ("adapted", "scratch"),
        "batch_size": 16,
        "epoch_size": None,
        "max_epochs": 2,
        "patience": 1,
        "head_units": (32, 32),
        "adapted_trainable_from": "block3_conv1",
        "learning_rates": {"frozen": 1e-3, "adapted": 1e-3, "fine_tuned": 1e-3, "scratch": 1e-3},
    },
    "quick": {
        **_COMMON,
        "seeds": (0, 1, 2),
        "image_size": (32, 32),  # the source network's own input size
        "train_size": 2000,
        "validation_size": 300,
        "test_size": 1000,
        "few_label_sizes": (100, 250, 1000),
        "batch_size": 32,
        "epoch_size": 1024,  # 32 steps per epoch at every training-set size
        "max_epochs": 15,
        "patience": 4,
        "adapted_trainable_from": "block3_conv1",
        # Chosen on the validation split (best validation IoU, 100 and 250 images, seed 0): fine_tuned 1e-3 over
        # head-first training (the head alone, then every layer at 3e-4); scratch 1e-3; frozen and adapted among
        # 3e-4, 1e-3, 3e-3.
        "learning_rates": {"frozen": 3e-3, "adapted": 1e-3, "fine_tuned": 1e-3, "scratch": 1e-3},
    },
    "full": {
        **_COMMON,
        "seeds": (0, 1, 2),
        "data": "oxford_pet",
        "backbone": "vgg19",
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
        "learning_rates": {"frozen": 1e-3, "adapted": 1e-4, "fine_tuned": 1e-5, "scratch": 1e-4},
        "preprocess": "vgg19",
        # VGG19's block 4 output at 224x224 is 400 kB per image: cache only Model 1's (block 5) features
        "cache_features": ("frozen",),
    },
}

# Live mode (one seed): Model 1, fine-tuned and scratch on 100 and all 2,000 images, the main loss only; still shows
# the lesson (pretrained over random weights, most with few labels; frozen far below).
LIVE = {
    "smoke": {},
    "quick": {"models": ("frozen", "fine_tuned", "scratch"), "losses": ("giou",), "loss_comparison_models": (),
              "few_label_sizes": (100,)},
    "full": {"models": ("frozen", "fine_tuned", "scratch"), "losses": ("giou",), "loss_comparison_models": (),
             "max_epochs": 10},
}


def _loss(name):
    """keras-cv's IoU-family losses (they run on TensorFlow and JAX with Keras 3; `keras_transfer.losses.GIoULoss`
    is the dependency-free copy, tested equal to keras-cv's)."""
    if name == "mse":
        return keras.losses.MeanSquaredError(name="mse")
    import keras_cv  # noqa: PLC0415 - slow to import, only the box losses need it

    if name == "giou":
        return keras_cv.losses.GIoULoss(bounding_box_format=localization.BOX_FORMAT)
    if name == "ciou":
        return keras_cv.losses.CIoULoss(bounding_box_format=localization.BOX_FORMAT)
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
    for key, allowed in (("preprocess", ("vgg19", None)), ("augment", ("flip", None)),
                         ("data", ("pasted_objects", "oxford_pet")), ("backbone", ("source", "vgg19"))):
        if config[key] not in allowed:
            raise ValueError(f"`{key}` must be one of {allowed}. Received: {key}={config[key]!r}")


# train, validation, test: unbatched `tf.data.Dataset`s of `(image, box)`: uint8 images (pasted objects: at
# `image_size` already; Oxford-IIIT Pet: each photo's own size, resized by the pipeline) and float32 `"rel_xyxy"`
# boxes; class_names: the objects' classes; sizes: examples per split; resize: None or what the pipeline resizes to.
LocalizationData = collections.namedtuple(
    "LocalizationData", ["train", "validation", "test", "class_names", "sizes", "resize"]
)


def load_data(profile="quick", *, verbose=0, **overrides):
    """The data of `profile`, exactly as `run` uses it (see `LocalizationData`).

    `data="pasted_objects"`: `load_pasted_objects(train_size, validation_size, test_size, image_size,
    seed=data_seed)`. `data="oxford_pet"`: `load_oxford_pet_heads(image_size=None, path=path, seed=split_seed, ...)`
    via `to_box_regression`.
    """
    import tensorflow as tf

    from keras_transfer import datasets

    config = profiles.select(CONFIGS, profile, overrides)
    _check_config(config)
    if config["data"] == "oxford_pet":
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
        return LocalizationData(*splits, tuple(pets.breed_names), sizes, tuple(config["image_size"]))
    pasted = datasets.load_pasted_objects(
        config["train_size"],
        config["validation_size"],
        config["test_size"],
        image_size=tuple(config["image_size"]),
        seed=config["data_seed"],
    )
    parts = (pasted.train, pasted.validation, pasted.test)
    splits = [tf.data.Dataset.from_tensor_slices((part.images, part.boxes)) for part in parts]
    sizes = {name: int(len(part.boxes)) for name, part in zip(("train", "validation", "test"), parts)}
    return LocalizationData(*splits, tuple(pasted.class_names), sizes, None)


def subset_indices(total, size, seed=0):
    """The training images of a subset of `size` out of `total`: a seeded random choice, in the split's order.

    Subsets of one seed are nested (the 250 images are among the 1,000), and the same for every network and model
    seed. `size == total` gives every index. Returns a sorted int64 array.
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

    The test images come in the order of `result.metadata["test_predictions"]`. Returns `(images, boxes)`: uint8
    `(N, H, W, 3)` at the models' input size and float32 `(N, 4)` `"rel_xyxy"` boxes.
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


def _pipeline(data, config, seed, split, indices=None):
    """Batches of one split (in order), or, with `indices`, the training pipeline of that subset (shuffled, flipped)."""
    from keras_transfer import datasets

    options = {"batch_size": config["batch_size"], "image_size": data.resize, "preprocess": config["preprocess"],
               "boxes": True, "seed": seed}
    if indices is None:
        return datasets.make_pipeline(getattr(data, split), **options)
    subset = _take_indices(data.train, indices, data.sizes["train"])
    return datasets.make_pipeline(subset, training=True, augment=config["augment"],
                                  shuffle_buffer=config["shuffle_buffer"], **options)


def _backbone(config, pretrained, source):
    image_size = tuple(config["image_size"])
    if config["backbone"] == "vgg19":
        return backbones.vgg19_backbone(weights=config["weights"] if pretrained else None, input_shape=(*image_size, 3))
    from keras_transfer import models as kt_models

    backbone = kt_models.source_backbone(source, pretrained=pretrained)
    return localization.resize_backbone(backbone, (*image_size, 3))


def _build(name, config, seed, source):
    keras.utils.set_random_seed(seed)
    backbone = _backbone(config, name != "scratch", source)
    # what trains, per network: Model 1 the output alone, Model 2 the upper block and the head, the others all
    trainable_from = {"frozen": None, "adapted": config["adapted_trainable_from"]}.get(
        name, next(layer.name for layer in backbone.layers if layer.weights)
    )
    head_units = () if name == "frozen" else tuple(config["head_units"])
    keras.utils.set_random_seed(seed)  # the same head initialisation for every model of a seed
    return localization.build_box_regressor(
        backbone,
        head_units=head_units,
        dropout=config["dropout"],
        trainable_from=trainable_from,
        output_activation=config["output_activation"],
        name=name,
    )


def _frozen_features(prefix, data, config, seed, memo, verbose):
    """The frozen layers' outputs for the training split (and its mirror images) and the validation split,
    computed once per `run` and kept in `memo` under the name of the frozen layers' output."""
    if prefix.name not in memo:
        start, cpu_start = time.perf_counter(), time.process_time()
        train = _pipeline(data, config, seed, "train")
        if config["augment"]:
            cached = kt_features.extract_mirrored_features(prefix, train, localization.flip_boxes_horizontally)
        else:
            features, labels = kt_features.extract_features(prefix, train)
            cached = {"features": features, "labels": labels}
        memo[prefix.name] = {
            "train": cached,
            "validation": kt_features.extract_features(prefix, _pipeline(data, config, seed, "validation")),
            "shape": list(cached["features"].shape[1:]),
            "wall_time_s": round(time.perf_counter() - start, 2),
            "cpu_time_s": round(time.process_time() - cpu_start, 2),
        }
    return memo[prefix.name]


def _fit(name, model, loss_name, indices, seed, data, config, memo, verbose):
    """Trains `model` on the training images `indices`; returns `(history, stopper, cached_features)`."""
    epoch_size = data.sizes["train"] if config["epoch_size"] is None else config["epoch_size"]
    steps = -(-epoch_size // config["batch_size"])
    prefix, trainable = localization.split_frozen_prefix(model) if name in config["cache_features"] else (None, model)
    stopper = keras.callbacks.EarlyStopping(monitor="val_iou", mode="max", patience=config["patience"],
                                            restore_best_weights=True)
    trainable.compile(
        optimizer=keras.optimizers.Adam(learning_rate=config["learning_rates"][name], clipnorm=config["clipnorm"]),
        loss=_loss(loss_name),
        metrics=[kt_metrics.BoxIoU(name="iou")],
    )
    options = {"epochs": config["max_epochs"], "callbacks": [stopper], "verbose": 2 if verbose >= 2 else 0}
    if prefix is None:
        history = trainable.fit(_pipeline(data, config, seed, "train", indices).repeat(), steps_per_epoch=steps,
                                validation_data=_pipeline(data, config, seed, "validation"), shuffle=False, **options)
        return history, stopper, None
    cached = _frozen_features(prefix, data, config, seed, memo, verbose)
    train = cached["train"]
    mirror = (train["mirror_features"][indices], train["mirror_labels"][indices]) if "mirror_labels" in train else None
    history = kt_features.fit_on_features(
        trainable, (train["features"][indices], train["labels"][indices]), cached["validation"],
        batch_size=config["batch_size"], seed=seed, mirror=mirror, steps_per_epoch=steps, **options,
    )
    return history, stopper, prefix.name


def _train_one(name, loss_name, size, indices, seed, data, config, source, memo, verbose):
    """Builds, trains and tests one network with one loss on `size` training images; returns `(row, history,
    test_predictions)`."""
    model = _build(name, config, seed, source)
    start, cpu_start = time.perf_counter(), time.process_time()
    history, stopper, cached_features = _fit(name, model, loss_name, indices, seed, data, config, memo, verbose)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    # Tested like every other model: the image-to-box model on the test images.
    model.compile(loss=_loss(loss_name))
    test = _pipeline(data, config, seed, "test")
    test_loss = model.evaluate(test, verbose=0)
    test_loss = float(test_loss[0] if isinstance(test_loss, list) else test_loss)
    predictions = np.asarray(model.predict(test, verbose=0), np.float32)
    true_boxes = np.concatenate([np.asarray(boxes) for _, boxes in test.as_numpy_iterator()])
    threshold = config["iou_threshold"]
    scores = localization.localization_scores(true_boxes, predictions, threshold=threshold)
    counts = backbones.parameter_counts(model)
    per_epoch = {key: [float(value) for value in values] for key, values in history.history.items()}
    row = {
        "model": f"{name}/{loss_name}/n{size}",
        "network": name,
        "loss": loss_name,
        "variant": f"{name}/{loss_name}",
        "train_size": int(size),
        "seed": int(seed),
        **scores,
        "test_loss": test_loss,
        "epochs": len(per_epoch["loss"]),
        "best_epoch": int(stopper.best_epoch) + 1,
        "first_val_iou": per_epoch["val_iou"][0],
        "best_val_iou": max(per_epoch["val_iou"]),
        "wall_time_s": round(wall, 2),
        "cpu_time_s": round(cpu, 2),
        "trainable_params": counts["trainable"],
        "frozen_params": counts["frozen"],
        "cached_features": cached_features,
    }
    return row, per_epoch, predictions


def plan(profile="quick", **overrides):
    """The runs of `profile`, in the order `run` trains them: `(network, loss, train_size)` per model seed.

    On the whole training split every network trains with `main_loss`, and the networks of
    `loss_comparison_models` also with the other `losses`; on each of `few_label_sizes` (largest first) the
    networks of `few_label_models` train with `main_loss`.
    """
    config = profiles.select(CONFIGS, profile, overrides)
    _check_config(config)
    total = config["train_size"] if "train_size" in config else load_data(profile, **overrides).sizes["train"]
    return _plan(config, total)


def _plan(config, total):
    runs = []
    for name in config["models"]:
        losses = config["losses"] if name in config["loss_comparison_models"] else (config["main_loss"],)
        runs += [(name, loss_name, int(total)) for loss_name in config["losses"] if loss_name in losses]
    for size in sorted(set(config["few_label_sizes"]), reverse=True):
        if size >= total:
            raise ValueError(
                f"`few_label_sizes` must be smaller than the {total} training images. "
                f"Received: few_label_sizes={tuple(config['few_label_sizes'])!r}"
            )
        runs += [(name, config["main_loss"], int(size)) for name in config["models"]
                 if name in config["few_label_models"]]
    return runs


def run(profile="quick", *, seeds=None, output_dir=None, verbose=1, **overrides):
    """Trains the box regressors of `profile` (see `plan`); returns the table, the histories and the predictions.

    Args:
        profile: str. `"smoke"`, `"quick"` or `"full"` (see the module docstring).
        seeds: sequence of int or None. Seeds of the initialisation, the batch order and the flips; None uses the
            profile's. The data and the training subsets are the same for every seed.
        output_dir: path or None. Where `result.json` goes; None: `paths.results_dir("pet-heads", profile)`.
        verbose: int. 0 silent; 1 a line per run; 2 also Keras's epoch lines.
        **overrides: settings of `CONFIGS[profile]` to change, e.g. `models=("frozen", "scratch")`,
            `few_label_sizes=(100, 500)`, `max_epochs=5`, `path="/data/oxford-iiit-pet"` (full, an extracted
            copy), `weights="vgg19_notop.weights.h5"` (full, a local file).

    Returns:
        An `ExperimentResult` with one row per run and seed: `model` (`"<network>/<loss>/n<train_size>"`),
        `network`, `loss`, `variant`, `train_size`, `seed`, `mean_iou`, `iou_at_0_5`, `test_loss` (the run's own
        loss), `epochs`, `best_epoch`, `first_val_iou` (after one epoch: the "higher start" of transfer),
        `best_val_iou`, `wall_time_s`, `cpu_time_s`, `trainable_params`, `frozen_params`, `cached_features`;
        `histories["<model>/seed<seed>"]`; in `metadata` the `outcomes` (the lecture's expectations checked on the
        run, see `outcomes`), `test_predictions` (in the order of `sample_images(profile, "test")`),
        `feature_extraction`, `source_network` and the run's `wall_time_s` and `cpu_time_s`.
    """
    config = profiles.select(CONFIGS, profile, overrides)
    _check_config(config)
    seeds = check_seeds(config["seeds"] if seeds is None else seeds)
    start, cpu_start = time.perf_counter(), time.process_time()
    source, source_info = None, None
    if config["backbone"] == "source":
        from keras_transfer import models as kt_models

        settings = {"seed": config["source_seed"], "domain": config["source_domain"]}
        source = kt_models.pretrained_source_network(profile, verbose=verbose, **settings)
        source_info = {**(kt_models.source_network_info(profile, **settings) or {}),
                       "seconds_in_this_run": round(time.perf_counter() - start, 2)}
    data = load_data(profile, verbose=verbose, **overrides)
    total = data.sizes["train"]
    runs = _plan(config, total)
    indices = {size: subset_indices(total, size, config["subset_seed"]) for _, _, size in runs}
    rows, histories, predictions, memo = [], {}, {}, {}
    for seed in seeds:
        keras.utils.set_random_seed(seed)  # tf.data's seeded ops also depend on the global seed
        for name, loss_name, size in runs:
            row, history, predicted = _train_one(
                name, loss_name, size, indices[size], seed, data, config, source, memo, verbose
            )
            rows.append(row)
            histories[f"{row['model']}/seed{seed}"] = history
            predictions[f"{row['model']}/seed{seed}"] = np.round(predicted, 5).tolist()
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
        "seeds": list(seeds),
        "runs": [list(entry) for entry in runs],
        "train_sizes": sorted({size for _, _, size in runs}, reverse=True),
        "titles": {name: TITLES[name] for name in config["models"]},
        "labels": {name: LABELS[name] for name in config["models"]},
        "loss_titles": {name: LOSS_TITLES[name] for name in config["losses"]},
        "class_names": list(data.class_names),
        "sizes": data.sizes,
        "box_format": localization.BOX_FORMAT,
        "source_network": source_info,
        "feature_extraction": {key: {name: value for name, value in entry.items()
                                     if name not in ("train", "validation")} for key, entry in memo.items()},
        "test_predictions": predictions,
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "lecture_expects": "transferred models above scratch; adaptation helps a task far from the source task; "
        "transfer is worth most when the target task has few labels",
    }
    result = ExperimentResult(NAME, profile, rows, histories, metadata)
    result.metadata["outcomes"] = outcomes(result)
    result.metadata["wall_time_s"] = round(time.perf_counter() - start, 2)
    result.metadata["cpu_time_s"] = round(time.process_time() - cpu_start, 2)
    result.save(output_dir if output_dir is not None else paths.results_dir(NAME, profile))
    return result


def outcomes(result, few_labels=250):
    """The lecture's expectations, checked on the main loss's runs (mean ± std over seeds per training-set size).

    Returns a dict with `by_size` (`{size: {network: [mean, std]}}` of the test mean IoU); `transfer_beats_scratch`
    (`{size: bool}` for every size `<= few_labels`: fine_tuned's mean minus scratch's is larger than the larger of
    their two standard deviations); `ordered` (`{size: bool}`: frozen < adapted < fine_tuned); and `first_epoch`
    (`{size: {network: [mean, std]}}` of the validation IoU after one epoch, the "higher start").
    """
    summary, first = (_by_size(learning_curves(result, metric=metric)) for metric in ("mean_iou", "first_val_iou"))
    beats, ordered = {}, {}
    for size, networks in summary.items():
        if {"fine_tuned", "scratch"} <= set(networks) and size <= few_labels:
            gap = networks["fine_tuned"][0] - networks["scratch"][0]
            beats[size] = bool(gap > max(networks["fine_tuned"][1], networks["scratch"][1]))
        if {"frozen", "adapted", "fine_tuned"} <= set(networks):
            means = [networks[name][0] for name in ("frozen", "adapted", "fine_tuned")]
            ordered[size] = bool(means[0] < means[1] < means[2])
    return {
        "by_size": summary,
        "few_labels": few_labels,
        "transfer_beats_scratch": beats,
        "ordered": ordered,
        "first_epoch": first,
    }


def _by_size(curves):
    """`learning_curves`' `{network: [(size, mean, std), ...]}` as `{size: {network: [mean, std]}}`, sizes ascending."""
    table = {}
    for name, points in curves.items():
        for size, mean, std in points:
            table.setdefault(size, {})[name] = [mean, std]
    return dict(sorted(table.items()))


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
    return {name: [(size, *mean_std(values)) for size, values in sorted(by_size.items())]
            for name, by_size in curves.items()}
