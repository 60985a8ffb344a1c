"""Multitask learning: does a box task with many labels help a class task with few, when both share one base?

Three networks of the same architecture (`keras_transfer.models.multitask`: a small convolutional base, a class
head and a box head), trained from scratch on the same images for the same number of steps:

- `class_only`: the class head on the images whose class is labelled (the label budget: `budget` per class);
- `box_only`: the box head on every training image's box (the boxes are plentiful; independent of the budget);
- `multitask`: both heads on one base, the box loss on every image, the class loss on the labelled images only
  (sample weight 0 on the others), the total loss `class loss + box_weight · box loss`; a share
  `labelled_share` of every epoch is drawn from the labelled images (`epoch_order`), so that the few labels reach
  the class head in every batch.

Each row is one network, budget and seed: `test_accuracy` (class head) and `test_mean_iou` (box head), where the
network has the head. `metadata["sharing"]` holds, per budget, the multitask network's gain in test accuracy over
`class_only` per seed, its mean and spread (std over seeds), and the verdict: "helped" when the mean gain is above
the spread, "hurt" when below minus the spread, else "no clear difference" ("one seed" without a spread;
`reports.multitask.sharing`).

The class head reads the base's last feature map through a global max-pooling (`class_pooling`), the box head
flattened (it needs to know where the item is); see `build_multitask_network`.

Profiles:

- `smoke`: a few hundred images, 2 epochs, 2 seeds: seconds.
- `quick`: pasted objects (`load_pasted_objects`: Fashion-MNIST items of half B pasted on photo crops, 32x32,
  exact boxes), small items (30-60% of the image's side) on busy backgrounds (crops of 2-5 times the image size,
  shrunk), 1,200 training images with a box each, class budgets 20, 60 and 180 per class, 3 seeds.
- `full`: Oxford-IIIT Pet, breed and head box (`load_oxford_pet_heads`, downloads), at 128x128, class budgets 20,
  40 and 60 per breed. Not run here.

How the `quick` settings were chosen: on the validation images (never the test images), seed 0, one budget,
validation accuracy of class only against multitask (box loss weight 100, 12 epochs unless said):

- The data and the class head. Items of 35-85% of the side on crops of 1-3 times the image, class head on the
  flattened map, 10 labels per class: 0.330 against 0.430 (seed 1: 0.330 against 0.488), class only 13 points above
  chance (0.20). The same with a global max-pooling class head: 0.476 against 0.522; global average: 0.456 against
  0.440. Small items (30-60%) on busy crops (2-5 times), flattened: 10 per class 0.228 against 0.312, 20 per class
  0.320 against 0.460; with the max-pooling class head: 10 per class 0.336 against 0.390, 20 per class 0.470
  against 0.640. Hence small items on busy backgrounds, where finding the item is part of naming it, a max-pooling
  class head (class only is well above chance without help), and 20 labels per class as the smallest budget
  (at 10, class only is 14 points from chance).
- The box loss weight (multitask network, 20 per class): validation accuracy 0.574 / 0.722 / 0.640 / 0.706 and
  box IoU 0.483 / 0.505 / 0.526 / 0.637 for weights 10 / 30 / 100 / 300. Hence 30. The Huber loss of relative
  coordinates is small (about 0.08 at the start, 0.001 late), so the box task needs a large weight to shape the
  base.
- The epochs (20 per class): class only 0.480 / 0.470 / 0.430 after 8 / 12 / 16 epochs (8 and 12 within the
  validation set's standard error of about 2 points), multitask (weight 30) 0.564 after 8 and 0.722 after 12.
  Hence 12, the same for every network (a class-only network repeats its labelled images to a full epoch).
- How often the multitask network sees its labelled images (`labelled_share`, `epoch_order`). Trained on the
  1,200 images in plain epochs, its class head saw each of the 100 labelled images once an epoch (the class-only
  network: 12 times), weighted up 12-fold to make the class loss their mean; on seeds 0, 1, 2 (3, 4, 5) it beat
  class only at 20 per class by +19.0, +20.9 and -13.1 (+17.3, +14.7, +15.3) points on the test images: seed 2's
  class head collapsed, on its validation images too (43.0% against class only's 55.8%). Drawing a share of every
  epoch from the labelled images, validation accuracy at 20 per class, seeds 0 and 2: 0.722 and 0.430 in plain
  epochs, 0.738 and 0.764 with a quarter, 0.664 and 0.746 with a half. Hence 0.25: each epoch is still 1,200
  images (the same steps as the other networks), a quarter of them labelled, the rest drawn from all images.

Each row keeps its validation scores.

Reference:
    R. Caruana, Multitask Learning, Machine Learning 28, 1997.
"""

import keras
import numpy as np

from keras_transfer import metrics
from keras_transfer import models as kt_models
from keras_transfer import profiles
from keras_transfer import progress
from keras_transfer.experiments import base
from keras_transfer.models import multitask
from keras_transfer.reports import multitask as report

NAME = "multitask"

# model -> the heads it has
MODELS = {"class_only": ("class",), "box_only": ("box",), "multitask": ("class", "box")}

# box_weight, epochs, the pasted items' size, the backgrounds' crops and the class head's pooling: chosen on the
# validation images (quick, seed 0; see the module docstring).
_COMMON = {"box_weight": 30.0, "learning_rate": 1e-3, "batch_size": 32, "head_units": 128, "dropout": 0.2,
           "class_pooling": "max", "labelled_share": 0.25}
# small items on busy backgrounds: the item covers 30-60% of the image's side, the photo crop is 2-5 times the image
_PASTED = {"data": "pasted_objects", "image_size": 32, "scale_range": (0.3, 0.6), "crop_range": (2.0, 5.0)}

CONFIGS = {
    "smoke": {**_COMMON, **_PASTED, "train_size": 200, "validation_size": 50, "test_size": 100, "budgets": (5,),
              "epochs": 2, "filters": (8, 16), "seeds": (0, 1)},
    "quick": {**_COMMON, **_PASTED, "train_size": 1200, "validation_size": 500, "test_size": 1000,
              "budgets": (20, 60, 180), "epochs": 12, "filters": (16, 32, 64), "seeds": (0, 1, 2)},
    "full": {**_COMMON, "data": "oxford_pet", "image_size": 128, "train_size": None, "validation_size": None,
             "test_size": None, "budgets": (20, 40, 60), "epochs": 30, "filters": (32, 64, 128, 256),
             "seeds": (0, 1, 2)},
}

# The smallest run that still shows the lesson (for a live demo; `kt.experiments.run(..., live=True)` also keeps only
# the first seed): the smallest and the largest class budget.
LIVE = {"smoke": {}, "quick": {"budgets": (20, 180)}, "full": {"budgets": (20, 60)}}


@base.recipe(NAME)
def run(profile="quick", *, seeds=None, output_dir=None, verbose=1, **overrides):
    """Trains the single-task and multitask networks at every class budget and seed; one row per network.

    Args:
        profile: str. `"smoke"`, `"quick"` or `"full"`.
        seeds: sequence of int or None. Seeds (initialisation, batch order, which images are labelled).
        output_dir: path or None. Where `result.json` goes (default `paths.results_dir("multitask", profile)`).
        verbose: int. 0 silent, 1 a progress bar over the networks, 2 also a line per network.
        **overrides: settings of the profile to change, e.g. `budgets=(10,)`, `box_weight=0.5`.

    Returns:
        An `ExperimentResult` with rows `{"model" (network and budget, e.g. `"multitask · 5/class"`), "network",
        "budget", "seed", "test_accuracy", "test_mean_iou",
        "validation_accuracy", "validation_mean_iou", "class_labels", "box_labels", "steps", "wall_time_s",
        "cpu_time_s"}`, the histories, and `metadata["sharing"]`.
    """
    config = profiles.select(CONFIGS, profile, overrides)
    seeds = base.check_seeds(config["seeds"] if seeds is None else seeds)
    config["seeds"] = seeds
    data, class_names = LOADERS[config["data"]](config)
    # per seed: class-only and multitask at every budget, the box-only network once (it has no class budget)
    grid = [(seed, budget, model_name) for seed in seeds for budget in config["budgets"] for model_name in MODELS
            if model_name != "box_only" or budget == config["budgets"][0]]

    rows, histories = [], {}
    bar = progress.bar(len(grid), "multitask networks", verbose=verbose)
    for seed, budget, model_name in grid:
        tasks = MODELS[model_name]
        labelled = labelled_mask(data["train"][1], budget, seed)
        with kt_models.quiet_retracing():  # every new network traces its own functions: not a retracing problem
            row, history = train_one(model_name, tasks, data, labelled, len(class_names), config, seed)
        budget_of_row = int(budget) if "class" in tasks else None
        label = model_name if budget_of_row is None else f"{model_name} · {budget_of_row}/class"
        rows.append({"model": label, "network": model_name, "budget": budget_of_row, "seed": seed, **row})
        histories[f"{model_name}/budget{budget}/seed{seed}"] = history
        bar.set_postfix_str(f"{model_name} n={budget_of_row or '–'} seed {seed}: {_text(row, short=True)}",
                            refresh=False)
        bar.update(1)
        if verbose >= 2:
            bar.write(f"[multitask] {label:>22}, seed {seed}: {_text(row)} ({row['cpu_time_s']:.0f} s CPU)")
    bar.close()

    metadata = {
        "config": base.jsonable(config),
        "class_names": list(class_names),
        "sizes": {split: int(len(values[0])) for split, values in data.items()},
        "sharing": sharing(rows),
    }
    return base.ExperimentResult(NAME, profile, rows, histories, metadata)


def load_data(profile="quick", **overrides):
    """The images `run` trains and tests on: `({"train", "validation", "test"}, class_names)`, each split
    `(images, labels, boxes)`."""
    config = profiles.select(CONFIGS, profile, overrides)
    return LOADERS[config["data"]](config)


def labelled_mask(labels, budget, seed):
    """A bool mask with `budget` randomly chosen `True` entries per class (the class labels we may use)."""
    rng = np.random.default_rng(seed)
    mask = np.zeros(len(labels), bool)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        if budget > len(members):
            raise ValueError(f"`budgets` asks for {budget} labels of class {label}, which has {len(members)} images.")
        mask[rng.choice(members, budget, replace=False)] = True
    return mask


def epoch_order(labelled, epochs, epoch_size, labelled_share, seed):
    """The images a multitask network trains on, epoch after epoch: `epochs * epoch_size` indices.

    Each epoch holds `epoch_size` images: a share `labelled_share` of them the labelled images (each time in a new
    random order, cycled as often as the share asks), the rest drawn from all the training images (a new random
    draw each epoch, every image at most once), shuffled together. With few labels the class head then sees each
    labelled image about as often as the class-only network does, instead of once an epoch, and every batch holds
    some of them, so the class gradient is not carried by one or two images weighted up.
    """
    if not 0 < labelled_share < 1:
        raise ValueError(f"`labelled_share` must be between 0 and 1 (exclusive), or None. Received: {labelled_share}")
    rng = np.random.default_rng(seed)
    indices, everything = np.flatnonzero(labelled), np.arange(len(labelled))
    count = int(round(labelled_share * epoch_size))
    order = []
    for _ in range(epochs):
        chosen = np.concatenate([
            np.resize(rng.permutation(indices), count),
            rng.choice(everything, epoch_size - count, replace=epoch_size - count > len(everything)),
        ])
        order.append(rng.permutation(chosen))
    return np.concatenate(order)


def train_one(model_name, tasks, data, labelled, num_classes, config, seed):
    """Trains one network for `config["epochs"]` epochs of `len(train)` images; returns its row and history."""
    clock = base.Stopwatch()
    keras.utils.set_random_seed(seed)
    x, y, boxes = data["train"]
    labels_used = int(labelled.sum())
    steps_per_epoch = -(-len(x) // config["batch_size"])
    fit_options = {"epochs": config["epochs"]}
    if tasks == ("class",):  # a class-only network sees only the labelled images, repeated to a full epoch
        chosen = np.resize(np.flatnonzero(labelled), len(x))
        x, y, boxes, labelled = x[chosen], y[chosen], boxes[chosen], labelled[chosen]
    elif "class" in tasks and config.get("labelled_share"):
        chosen = epoch_order(labelled, config["epochs"], steps_per_epoch * config["batch_size"],
                             config["labelled_share"], seed)
        x, y, boxes, labelled = x[chosen], y[chosen], boxes[chosen], labelled[chosen]
        # the order is the batches' order, epoch after epoch: Keras keeps its iterator across epochs
        fit_options.update(steps_per_epoch=steps_per_epoch, shuffle=False)
    targets = {"class": y, "box": boxes}
    # Keras averages a weighted loss over the batch, not over the weights: scaling the labelled images' weights by
    # (images / labelled images) makes the class loss the mean over labelled images, as for the class-only network.
    weights = {"class": labelled.astype("float32") * len(x) / labelled.sum(), "box": np.ones(len(x), "float32")}
    model = multitask.build_multitask_network(x.shape[1:], num_classes, tasks=tasks, filters=tuple(config["filters"]),
                                              head_units=config["head_units"], dropout=config["dropout"],
                                              class_pooling=config["class_pooling"])
    multitask.compile_multitask(model, box_weight=config["box_weight"], learning_rate=config["learning_rate"])
    epochs = config["epochs"]
    fit = model.fit(x, {task: targets[task] for task in tasks}, sample_weight={task: weights[task] for task in tasks},
                    batch_size=config["batch_size"], verbose=0, **fit_options)
    scores = {}
    for split in ("validation", "test"):
        scores.update({f"{split}_{key}": value for key, value in evaluate(model, tasks, data[split]).items()})
    row = {**scores, "class_labels": labels_used if "class" in tasks else 0,
           "box_labels": int(len(data["train"][0])) if "box" in tasks else 0, "steps": int(epochs * steps_per_epoch),
           **clock.times()}
    return row, {key: [float(value) for value in values] for key, values in fit.history.items()}


def evaluate(model, tasks, split):
    """`{"accuracy", "mean_iou"}` of a network on `(images, labels, boxes)`; None for a head it lacks."""
    x, y, boxes = split
    predicted = model.predict(x, batch_size=256, verbose=0)
    accuracy = float(np.mean(np.argmax(predicted["class"], axis=1) == y)) if "class" in tasks else None
    mean_iou = None
    if "box" in tasks:
        corners = np.asarray(predicted["box"])
        ordered = np.concatenate([np.minimum(corners[:, :2], corners[:, 2:]), np.maximum(corners[:, :2], corners[:, 2:])],
                                 axis=1)
        ious = metrics.box_iou(np.asarray(boxes, np.float32), ordered.astype(np.float32))
        mean_iou = float(np.mean(keras.ops.convert_to_numpy(ious)))
    return {"accuracy": accuracy, "mean_iou": mean_iou}


def sharing(rows):
    """Per budget: the multitask network's test accuracy minus `class_only`'s, paired by seed, and the verdict.

    `{budget: {"per_seed", "mean", "std", "seeds", "verdict"}}`; the verdict is "helped" when the mean gain is
    above its spread over seeds (the std of the per-seed gains), "hurt" when below minus the spread, else "no clear
    difference"; with one seed there is no spread, and the verdict is None (see `reports.multitask.sharing`).
    """
    return report.sharing(rows)


def _text(row, short=False):
    """A network's test scores in words (`short`: the class accuracy alone where the network has a class head)."""
    scores = [f"accuracy {row['test_accuracy']:.1%}" if row["test_accuracy"] is not None else "",
              f"IoU {row['test_mean_iou']:.3f}" if row["test_mean_iou"] is not None else ""]
    scores = [score for score in scores if score]
    return scores[0] if short else ", ".join(scores)


# ---------------------------------------------------------------------------------------------------------------
# Data per profile: `{"train", "validation", "test"}` of `(images float32, class labels 0..K-1, boxes rel_xyxy)`.


def pasted_objects(config):
    """The quick data: Fashion-MNIST items of half B pasted on photo crops (exact boxes)."""
    from keras_transfer import datasets

    data = datasets.load_pasted_objects(config["train_size"], config["validation_size"], config["test_size"],
                                        image_size=(config["image_size"],) * 2, scale_range=config["scale_range"],
                                        crop_range=config["crop_range"])
    classes = np.unique(data.train.labels)
    splits = {}
    for split in ("train", "validation", "test"):
        part = getattr(data, split)
        splits[split] = (part.images.astype("float32"), np.searchsorted(classes, part.labels).astype("int32"),
                         part.boxes.astype("float32"))
    return splits, tuple(data.class_names)


def oxford_pet(config):
    """The full data: Oxford-IIIT Pet images with breed and head box (downloads)."""
    from keras_transfer import datasets

    pets = datasets.load_oxford_pet_heads(image_size=(config["image_size"],) * 2)
    splits = {}
    for split in ("train", "validation", "test"):
        images, labels, boxes = [], [], []
        for image, target in getattr(pets, split).as_numpy_iterator():
            images.append(image)
            labels.append(target["breed"])
            boxes.append(target["boxes"])
        splits[split] = (np.stack(images), np.asarray(labels, "int32"), np.stack(boxes).astype("float32"))
    return splits, tuple(pets.breed_names)


LOADERS = {"pasted_objects": pasted_objects, "oxford_pet": oxford_pet}
