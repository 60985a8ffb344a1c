"""Different task: a backbone pretrained for classification, transferred to object localization (box regression).

The "Transfer Learning" lecture's "Different Task" (slide "Object Localization"): Oxford-IIIT Pet head boxes
predicted by VGG19 whose softmax output is replaced by a 4-unit regression output, relative `[xmin, ymin, xmax,
ymax]`. Four networks (`keras_transfer.models.localization`): `frozen` (Model 1: the pretrained base frozen, a
4-unit output), `adapted` (Model 2 "with adaptation": two new dense layers, the upper block fine-tuned from
`adapted_trainable_from`), `all_layers` (Model 2's network, every layer trained from the start, from the pretrained
weights; not the head-first `fine_tuned` of `models_1_4`) and `scratch` (the same network from random weights).
`all_layers` and `scratch` differ only in their initial weights: the gap between them is what the pretrained weights
are worth.

Every network trains on the whole training split and on nested random subsets of it (`few_label_sizes`, the same
images for every network). Every run has the same budget: an epoch is `epoch_size` images (a small subset is
repeated, reshuffled and re-flipped), at most `max_epochs`, early stopping on the validation IoU with the best
weights restored; Adam with the learning rates in `learning_rates` (chosen on the validation split). Losses: `mse`,
`giou` (`keras_transfer.losses.GIoULoss`) and `ciou` (keras-cv's `CIoULoss`), on `"rel_xyxy"` boxes
(`models.box_evaluation.box_loss`); every run uses `main_loss`, and the
networks of `loss_comparison_models` also the other losses, on the whole training split. Test metrics: `mean_iou`
and `iou_at_0_5` (`keras_transfer.metrics.box_iou`: Keras's `keras.utils.bounding_boxes.compute_iou`). The frozen layers of the networks in
`cache_features` run once per image and per mirror image (`models.features.extract_mirrored_features`), and only
the layers above them train (`fit_on_features(..., mirror=...)`: the same random flip).

Profiles (per-profile behaviour is the config keys `data` and `backbone`):

- `full`: the lecture's setup: Oxford-IIIT Pet heads at 224x224, ImageNet VGG19, Model 2 fine-tunes block 5; 300
  training images as the few-label case; three seeds. Meant for a GPU.
- `quick`: `datasets.load_pasted_objects`: Fashion-MNIST items of half B pasted on crops of scikit-learn's two
  photos, 32x32, exact boxes. The base is `pretrained_source_network("quick", domain="photos")`, trained to classify
  half A's items pasted on scikit-image's photos (other classes, other photos): classification to localization is
  the transfer. 100, 250 and 2,000 training images, the loss comparison on Model 2; three seeds.
- `smoke`: the quick profile's code on a few dozen images (seconds).
"""

import keras
import numpy as np

from keras_transfer import metrics as kt_metrics
from keras_transfer import profiles
from keras_transfer import progress
from keras_transfer.datasets import boxes as box_data
from keras_transfer.experiments import base
from keras_transfer.experiments import pet_heads_analysis
from keras_transfer.models import backbones
from keras_transfer.models import box_evaluation
from keras_transfer.models import features as kt_features
from keras_transfer.models import localization
from keras_transfer.models import surgery

NAME = "pet-heads"

MODELS = ("frozen", "adapted", "all_layers", "scratch")
LOSSES = box_evaluation.BOX_LOSSES

TITLES = {
    "frozen": "Model 1: pretrained base, frozen, + a 4-unit box output",
    "adapted": "Model 2: with adaptation (two new dense layers, the upper block fine-tuned)",
    "all_layers": "Model 2's network, every layer trained from the start, from the pretrained weights",
    "scratch": "From scratch (Model 2's network, random weights, every layer trained)",
}
LABELS = {
    "frozen": "Model 1 (frozen)",
    "adapted": "Model 2 (adapted)",
    "all_layers": "all layers (pretrained)",
    "scratch": "from scratch",
}
LOSS_TITLES = {"mse": "mean squared error", "giou": "GIoU loss", "ciou": "CIoU loss (keras-cv)"}

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
        # one run of each path: cached features (frozen, adapted), images (all_layers, scratch), every loss
        "loss_comparison_models": ("frozen",),
        "few_label_models": ("adapted", "scratch"),
        "batch_size": 16,
        "epoch_size": None,
        "max_epochs": 2,
        "patience": 1,
        "head_units": (32, 32),
        "adapted_trainable_from": "block3_conv1",
        "learning_rates": {"frozen": 1e-3, "adapted": 1e-3, "all_layers": 1e-3, "scratch": 1e-3},
    },
    "quick": {
        **_COMMON,
        "seeds": (0, 1, 2),
        "image_size": (32, 32),  # the source network's own input size
        "train_size": 2000,
        "validation_size": 300,
        "test_size": 1000,
        # 1,000 images dropped: it changed no conclusion, and three seeds now take ~575 CPU-s (was ~726)
        "few_label_sizes": (100, 250),
        "batch_size": 32,
        "epoch_size": 1024,  # 32 steps per epoch at every training-set size
        "max_epochs": 15,
        "patience": 4,
        "adapted_trainable_from": "block3_conv1",
        # Chosen on the validation split (best validation IoU, 100 and 250 images, seed 0): all_layers 1e-3 over
        # head-first training (the head alone, then every layer at 3e-4); scratch 1e-3; frozen and adapted among
        # 3e-4, 1e-3, 3e-3.
        "learning_rates": {"frozen": 3e-3, "adapted": 1e-3, "all_layers": 1e-3, "scratch": 1e-3},
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
        "learning_rates": {"frozen": 1e-3, "adapted": 1e-4, "all_layers": 1e-5, "scratch": 1e-4},
        "preprocess": "vgg19",
        # VGG19's block 4 output at 224x224 is 400 kB per image: cache only Model 1's (block 5) features
        "cache_features": ("frozen",),
    },
}

# Live mode (one seed): Model 1, all layers and scratch on 100 and all 2,000 images, the main loss only; still shows
# the lesson (pretrained over random weights, most with few labels; frozen far below).
LIVE = {
    "smoke": {},
    "quick": {"models": ("frozen", "all_layers", "scratch"), "losses": ("giou",), "loss_comparison_models": (),
              "few_label_sizes": (100,)},
    "full": {"models": ("frozen", "all_layers", "scratch"), "losses": ("giou",), "loss_comparison_models": (),
             "max_epochs": 10},
}


def _is_count(value):
    return not isinstance(value, bool) and isinstance(value, (int, np.integer)) and value >= 1


NAME_LISTS = {"models": MODELS, "losses": LOSSES, "loss_comparison_models": MODELS, "few_label_models": MODELS,
              "cache_features": MODELS}
CHOICES = {"preprocess": ("vgg19", None), "augment": ("flip", None), "data": ("pasted_objects", "oxford_pet"),
           "backbone": ("source", "vgg19")}


def _check_config(config):
    for key, allowed in NAME_LISTS.items():
        chosen = config[key]
        if isinstance(chosen, str) or not isinstance(chosen, (tuple, list)) or any(n not in allowed for n in chosen) \
                or (key in ("models", "losses") and not chosen):
            raise ValueError(f"`{key}` must be a tuple of names from {allowed}. Received: {key}={chosen!r}")
    for key, allowed in CHOICES.items():
        if config[key] not in allowed:
            raise ValueError(f"`{key}` must be one of {allowed}. Received: {key}={config[key]!r}")
    if config["main_loss"] not in config["losses"]:
        raise ValueError(f"`main_loss` must be one of `losses` {tuple(config['losses'])}. "
                         f"Received: main_loss={config['main_loss']!r}")
    missing = [name for name in config["models"] if name not in config["learning_rates"]]
    if missing:
        raise ValueError(f"`learning_rates` must give a learning rate for every model; {missing} have none. "
                         f"Received: learning_rates={config['learning_rates']!r}")
    counts = {"image_size": tuple(config["image_size"]), "few_label_sizes": config["few_label_sizes"],
              **{key: (config[key],) for key in ("max_epochs", "patience", "batch_size")},
              "epoch_size": () if config["epoch_size"] is None else (config["epoch_size"],)}
    for key, values in counts.items():
        if not isinstance(values, (tuple, list)) or not all(_is_count(value) for value in values) \
                or (key == "image_size" and len(values) != 2):
            raise ValueError(f"`{key}` must be positive integers (image_size: (height, width); epoch_size: or None). "
                             f"Received: {key}={config[key]!r}")


def load_data(profile="quick", *, verbose=0, **overrides):
    """The data of `profile`, exactly as `run` uses it: `datasets.boxes.load_localization_data` of its config."""
    config = profiles.select(CONFIGS, profile, overrides)
    _check_config(config)
    return box_data.load_localization_data(config, verbose=verbose)


def sample_images(profile="quick", split="test", count=None, **overrides):
    """`(images, boxes)` of one split as the models see them (`datasets.boxes.box_images`): uint8 `(N, H, W, 3)`
    and float32 `"rel_xyxy"` boxes; the test images in the order of `result.metadata["test_predictions"]`."""
    if split not in ("train", "validation", "test"):
        raise ValueError(f"`split` must be 'train', 'validation' or 'test'. Received: split={split!r}")
    data = load_data(profile, **overrides)
    return box_data.box_images(getattr(data, split), data.resize, count)


def _pipeline(data, config, seed, split, indices=None):
    """Batches of one split (in order), or, with `indices`, the training pipeline of that subset (shuffled, flipped)."""
    from keras_transfer import datasets

    options = {"batch_size": config["batch_size"], "image_size": data.resize, "preprocess": config["preprocess"],
               "boxes": True, "seed": seed}
    if indices is None:
        return datasets.make_pipeline(getattr(data, split), **options)
    subset = box_data.take_indices(data.train, indices, data.sizes["train"])
    return datasets.make_pipeline(subset, training=True, augment=config["augment"],
                                  shuffle_buffer=config["shuffle_buffer"], **options)


def _backbone(config, pretrained, source):
    """`models.backbone_from_config`; the source network's backbone rebuilt for the profile's image size."""
    backbone = backbones.backbone_from_config(config, pretrained=pretrained, source=source)
    if config["backbone"] == "source":
        backbone = surgery.resize_backbone(backbone, (*config["image_size"], 3))
    return backbone


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


def _fit(name, model, loss_name, indices, seed, data, config, memo, verbose):
    """Trains `model` on the training images `indices`; returns `(history, stopper, cached_features)`."""
    epoch_size = data.sizes["train"] if config["epoch_size"] is None else config["epoch_size"]
    steps = -(-epoch_size // config["batch_size"])
    prefix, trainable = surgery.split_frozen_prefix(model) if name in config["cache_features"] else (None, model)
    stopper = keras.callbacks.EarlyStopping(monitor="val_iou", mode="max", patience=config["patience"],
                                            restore_best_weights=True)
    trainable.compile(
        optimizer=keras.optimizers.Adam(learning_rate=config["learning_rates"][name], clipnorm=config["clipnorm"]),
        loss=box_evaluation.box_loss(loss_name),
        metrics=[kt_metrics.BoxIoU(name="iou")],
    )
    options = {"epochs": config["max_epochs"], "callbacks": [stopper], "verbose": 2 if verbose >= 2 else 0}
    if prefix is None:
        history = trainable.fit(_pipeline(data, config, seed, "train", indices).repeat(), steps_per_epoch=steps,
                                validation_data=_pipeline(data, config, seed, "validation"), shuffle=False, **options)
        return history, stopper, None
    cached = kt_features.frozen_features(
        prefix, _pipeline(data, config, seed, "train"), _pipeline(data, config, seed, "validation"),
        flip_labels=box_data.flip_boxes_horizontally if config["augment"] else None, memo=memo,
    )
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
    clock = base.Stopwatch()
    with kt_features.quiet_retracing():  # every run traces its own functions: no "retracing" warning to fix
        history, stopper, cached_features = _fit(name, model, loss_name, indices, seed, data, config, memo, verbose)
        times = clock.times()
        # Tested like every other model: the image-to-box model on the test images.
        scores, test_loss, predictions = box_evaluation.test_box_regressor(
            model, _pipeline(data, config, seed, "test"), loss_name, config["iou_threshold"]
        )
    counts = backbones.parameter_counts(model)
    per_epoch = {key: [float(value) for value in values] for key, values in history.history.items()}
    row = {
        "model": pet_heads_analysis.run_name(name, loss_name, size),
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
        **times,
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


@base.recipe(NAME)
def run(profile="quick", *, seeds=None, output_dir=None, verbose=1, **overrides):
    """Trains the box regressors of `profile` (see `plan`); returns the table, the histories and the predictions.

    Args:
        profile: str. `"smoke"`, `"quick"` or `"full"` (see the module docstring).
        seeds: sequence of int or None. Seeds of the initialisation, the batch order and the flips; None uses the
            profile's. The data and the training subsets are the same for every seed.
        output_dir: path or None. Where `result.json` goes; None: `paths.results_dir("pet-heads", profile)`.
        verbose: int. 0 silent; 1 a progress bar over the runs; 2 also a line per run and Keras's epoch lines.
        **overrides: settings of `CONFIGS[profile]` to change, e.g. `models=("frozen", "scratch")`,
            `few_label_sizes=(100, 500)`, `max_epochs=5`, `path="/data/oxford-iiit-pet"` (full, an extracted
            copy), `weights="vgg19_notop.weights.h5"` (full, a local file).

    Returns:
        An `ExperimentResult` with one row per run and seed: `model` (`"<network>/<loss>/n<train_size>"`),
        `network`, `loss`, `variant`, `train_size`, `seed`, `mean_iou`, `iou_at_0_5`, `test_loss` (the run's own
        loss), `epochs`, `best_epoch`, `first_val_iou` (after one epoch: the "higher start" of transfer),
        `best_val_iou`, `wall_time_s`, `cpu_time_s`, `trainable_params`, `frozen_params`, `cached_features`;
        `histories["<model>/seed<seed>"]`; in `metadata` the `outcomes` (the lecture's expectations checked on the
        run, see `pet_heads_analysis.outcomes`), `test_predictions` (in the order of `sample_images(profile,
        "test")`), `feature_extraction` and `source_network`.
    """
    config = profiles.select(CONFIGS, profile, overrides)
    _check_config(config)
    seeds = base.check_seeds(config["seeds"] if seeds is None else seeds)
    source, source_info = None, None
    if config["backbone"] == "source":
        from keras_transfer import models as kt_models

        settings = {"seed": config["source_seed"], "domain": config["source_domain"]}
        clock = base.Stopwatch()
        source = kt_models.pretrained_source_network(profile, verbose=verbose, **settings)
        source_info = {**(kt_models.source_network_info(profile, **settings) or {}),
                       "seconds_in_this_run": clock.times()["wall_time_s"]}
    data = load_data(profile, verbose=verbose, **overrides)
    total = data.sizes["train"]
    runs = _plan(config, total)
    indices = {size: box_data.subset_indices(total, size, config["subset_seed"]) for _, _, size in runs}
    rows, histories, predictions, memo = [], {}, {}, {}
    with progress.bar(len(seeds) * len(runs), f"pet-heads ({profile})", verbose=verbose) as bar:
        for seed in seeds:
            keras.utils.set_random_seed(seed)  # tf.data's seeded ops also depend on the global seed
            for name, loss_name, size in runs:
                row, history, predicted = _train_one(
                    name, loss_name, size, indices[size], seed, data, config, source, memo, verbose
                )
                rows.append(row)
                histories[f"{row['model']}/seed{seed}"] = history
                predictions[f"{row['model']}/seed{seed}"] = np.round(predicted, 5)
                bar.update(1)
                bar.set_postfix_str(f"{row['model']} seed {seed}: mean IoU {row['mean_iou']:.3f}")
                if verbose >= 2:
                    bar.write(
                        f"[{profile} seed {seed}] {TITLES[name]}, {LOSS_TITLES[loss_name]}, {size} training images: "
                        f"mean IoU {row['mean_iou']:.4f}, IoU >= {config['iou_threshold']} for "
                        f"{row['iou_at_0_5']:.1%} of the test boxes, {row['epochs']} epochs, "
                        f"{row['cpu_time_s']:.0f} CPU-s"
                    )
                keras.backend.clear_session(free_memory=False)  # no full gc.collect per model
    metadata = base.jsonable({
        "config": config,
        "seeds": seeds,
        "runs": runs,
        "train_sizes": sorted({size for _, _, size in runs}, reverse=True),
        "titles": {name: TITLES[name] for name in config["models"]},
        "labels": {name: LABELS[name] for name in config["models"]},
        "loss_titles": {name: LOSS_TITLES[name] for name in config["losses"]},
        "class_names": data.class_names,
        "sizes": data.sizes,
        "box_format": box_evaluation.BOX_FORMAT,
        "source_network": source_info,
        "feature_extraction": {key: {name: value for name, value in entry.items()
                                     if name not in ("train", "validation")} for key, entry in memo.items()},
        "test_predictions": predictions,
    })
    result = base.ExperimentResult(NAME, profile, rows, histories, metadata)
    result.metadata["outcomes"] = base.jsonable(pet_heads_analysis.outcomes(result))
    return result
