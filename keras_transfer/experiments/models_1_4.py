"""Same task, different domain: the lecture's Models 1-4 (and ULMFiT's recipe) at several label budgets.

The lecture "Transfer Learning" (Peerapon Vateekul, NVIDIA IVA workshop; slides "Model 1" to "Model 4") trains one
network, a pretrained convolutional base with two new dense layers and an output layer, four ways on a small
labelled set (Oxford-17 flowers, 40 training images per class):

- Model 1, `scratch`: random weights, everything trained.
- Model 2, `frozen`: pretrained base frozen (a feature extractor); only the new head trains.
- Model 3, `fine_tuned`: the new head first on the frozen base (Model 2's training), then every layer at a small
  learning rate chosen on the validation data (keras-io's recipe: a random head's large gradients would otherwise
  wreck the pretrained base).
- Model 4, `chain_thaw`: chain-thaw (Felbo et al., 2017; `callbacks.ChainThaw`): the new layers (first to convergence on
  cached features, as Model 2), each base layer alone from the first to the last, then everything.
- Beyond the lecture, `ulmfit` (Howard & Ruder, 2018): slanted triangular rate, discriminative rates (/2.6 per
  group) and gradual unfreezing.

Each model is trained at every label budget of `labels_per_class`, for every seed; every model of a seed and budget
sees the same images and starts from the same head initialisation, so models are compared in pairs. Every model
stops early on the validation accuracy and keeps its best epoch (`validation_accuracy` in its row); Model 3's
learning rate is chosen on it too. Rows carry the budget (`labels_per_class`), the model (`network`) and the source
network's domain (`source`); `model` is `"<network>/n<budget>"` (with the domain for the comparison source). `metadata["checks"]` holds the lecture's claims measured on this run, and
`metadata["strategy"]` the fine-tuning strategy table (similar vs different source data x small vs large target).

Profiles (the differences are config keys: data, backbone, source, budgets):

- `full`: Keras's VGG19 with ImageNet weights at 224x224 on Oxford-17 split 1 (40 per class), meant for a GPU.
- `quick`: the "ImageNet" is `models.pretrained_source_network("quick", domain="photos")`, a small VGG trained on
  half A of Fashion-MNIST pasted on scikit-image's photos; the target is half B's items pasted on crops of other
  photos (scikit-learn's, `datasets.load_pasted_objects`): same task (classify the object of a photo), new classes
  and new photos. 5, 10 and 40 labels per class (40 is Oxford-17's), 20 validation images per class, 1,000 test
  images on photo strips no training image touches, three seeds. With `compare_domain="black"` (the default; live
  mode drops it) Models 2 and 3 also train from the same network trained on the items on black, the "different
  data" of the strategy table. Scratch waits `scratch_patience` epochs (its validation accuracy can sit at chance
  for longer than `patience` before it climbs) and 40 per class trains in batches of `large_batch_size`.
- `smoke`: the quick profile's code at a tiny size (seconds).

How Model 3's second stage was chosen for `quick`, on the validation images only (three seeds, frozen and
fine-tuned arms alone): one rate for every layer, the better of 1e-4 and 3e-4 per run, gave a mean validation
accuracy of 88.3% at 40 labels per class; ULMFiT's discriminative rates (the head at the better of 3e-4 and 1e-3,
each block below /2.6) gave 90.0% there, and the same mean over the three budgets (76.6% against 76.3%). The
discriminative rates are the profile's. `full` keeps one rate (never validated on Oxford-17 here).
"""

import typing

import keras
import numpy as np

from keras_transfer import callbacks as kt_callbacks
from keras_transfer import datasets
from keras_transfer import distribute
from keras_transfer import models as kt_models
from keras_transfer import optimizers as kt_optimizers
from keras_transfer import parallel
from keras_transfer import profiles
from keras_transfer import progress
from keras_transfer import schedules as kt_schedules
from keras_transfer import selection
from keras_transfer.experiments import base
from keras_transfer.experiments import comparisons

NAME = "models-1-4"
MODELS = ("scratch", "frozen", "fine_tuned", "chain_thaw", "ulmfit")
TITLES = {
    "scratch": "Model 1: from scratch",
    "frozen": "Model 2: frozen base, new head",
    "fine_tuned": "Model 3: fine-tuned (head first, then all layers)",
    "chain_thaw": "Model 4: chain-thaw",
    "ulmfit": "ULMFiT's recipe (beyond the lecture)",
}
DESCRIPTIONS = {
    "smoke": "a test run at a tiny size: its numbers mean nothing",
    "quick": "a small VGG pretrained on Fashion-MNIST half A pasted on photos, transferred to half B pasted on "
    "other photos at 5, 10 and 40 labels per class, 3 seeds, on a CPU",
    "full": "ImageNet VGG19 at 224x224 on Oxford-17 split 1, 40 labels per class, as in the lecture (meant for a GPU)",
}

# Live mode (`kt.experiments.run(..., live=True)`, the first seed only): the two budgets that carry the lesson
# (frozen far above scratch at 5 per class, the gap closing at 40) and no "different data" source.
LIVE = {
    "smoke": {},
    "quick": {"labels_per_class": (5, 40), "compare_domain": None},
    "full": {},
}
LIVE_DESCRIPTIONS = {
    "smoke": "",
    "quick": "; live: the first seed, 5 and 40 labels per class, no 'different data' source",
    "full": "; live: the first seed",
}

_COMMON = {
    "models": ("scratch", "frozen", "fine_tuned", "chain_thaw"),
    "head_units": (256, 256),
    "dropout": 0.5,
    "clipnorm": 1.0,
    "monitor": "val_accuracy",  # early stopping and every choice (val_loss rises early and stops scratch at chance)
    "learning_rate": 1e-3,  # scratch and the new head
    "fine_tune_learning_rates": (1e-4, 3e-4),  # Model 3's second stage: candidates, chosen on `monitor`
    "fine_tune_decay": None,  # Model 3's second stage: None one rate for all layers; d: rate / d per block below
    "scratch_patience": None,  # None: `patience`; scratch's plateau at chance can be longer than the others'
    "large_batch_size": None,  # None: `batch_size` at every budget; else the batch from `large_batch_from`/class on
    "large_batch_from": 40,
    "chain_thaw_learning_rates": (1e-3, 1e-4),
    "ulmfit_max_learning_rate": 1e-3,
    "ulmfit_decay": 2.6,
    # ULMFiT starts from a learning-rate range test: run on Model 3 where its fine-tuning starts, its suggestions
    # are recorded beside the rate Model 3 chose on validation (it does not change that choice).
    "find_learning_rate": True,
    "finder_range": (1e-6, 1.0),
    "finder_steps": 100,
    "sample_predictions": 16,
    "min_frozen_gain": 0.10,  # the lecture's claim at the smallest budget: frozen beats scratch by 10 points
}
_PASTED = {  # the CPU stand-in: items pasted on photos, a source network trained here
    "data": "pasted_objects",
    "backbone": "source",
    "source_domain": "photos",
    "compare_domain": "black",  # the strategy table's "different data" source; None: no comparison
    "compare_models": ("frozen", "fine_tuned"),  # trained from it too (scratch uses no source)
    "scale_range": (0.5, 1.0),  # the photo source's own settings (models.PHOTO_SETTINGS)
    "crop_range": (1.0, 4.0),
}
CONFIGS = {
    "smoke": {
        **_COMMON, **_PASTED, "source_profile": "smoke", "seeds": (0,), "head_units": (16,),
        "labels_per_class": (2, 4), "reference_labels_per_class": 4, "compare_labels_per_class": (2, 4),
        "validation_per_class": 4, "train_pool": 60, "test_size": 40, "batch_size": 4, "max_epochs": 2,
        "patience": 1, "fine_tune_max_epochs": 2, "fine_tune_patience": 1, "chain_thaw_epochs_per_step": 1,
        "chain_thaw_patience": 1, "ulmfit_epochs": 4, "finder_steps": 20,
    },
    "quick": {  # with the "different data" source (compare_domain="black") for notebook 04's strategy table
        **_COMMON, **_PASTED, "source_profile": "quick", "seeds": (0, 1, 2),
        "labels_per_class": (5, 10, 40), "reference_labels_per_class": 40, "compare_labels_per_class": (5, 40),
        "validation_per_class": 20, "train_pool": 400, "test_size": 1000, "batch_size": 16, "max_epochs": 60,
        "patience": 10, "scratch_patience": 20, "large_batch_size": 32, "fine_tune_max_epochs": 30,
        "fine_tune_patience": 5, "chain_thaw_epochs_per_step": 3, "chain_thaw_patience": 2, "ulmfit_epochs": 15,
        "fine_tune_decay": 2.6, "fine_tune_learning_rates": (3e-4, 1e-3),  # chosen on validation: see the docstring
    },
    "full": {
        **_COMMON, "data": "oxford17", "backbone": "vgg19", "weights": "imagenet", "source_domain": "imagenet",
        "compare_domain": None, "compare_models": (), "split_id": 1, "path": None, "image_size": (224, 224),
        "seeds": (0, 1, 2), "labels_per_class": (40,), "reference_labels_per_class": 40,
        "compare_labels_per_class": (), "batch_size": 32, "max_epochs": 50, "patience": 5,
        "fine_tune_max_epochs": 30, "fine_tune_patience": 5, "chain_thaw_epochs_per_step": 10,
        "chain_thaw_patience": 3, "ulmfit_epochs": 15,
    },
}


def _load_data(config, seed):
    """The target data of `seed`: `{"pool", "train", "validation", "test", "class_names"}`.

    `pasted_objects`: half B pasted on photos (`datasets.load_pasted_objects`, 32x32); `pool` holds the images the
    budgets are drawn from (`budget_split`), `validation_per_class` validation images per class, `test_size` test
    images. `oxford17`: the split's batched pipelines (its 40 training images per class are the one budget).
    """
    if config["data"] == "oxford17":
        flowers = datasets.load_oxford_flowers17(
            config["split_id"], image_size=tuple(config["image_size"]), path=config["path"], verbose=0
        )
        pipe = lambda split, training=False: datasets.make_pipeline(  # noqa: E731
            split, batch_size=config["batch_size"], training=training, preprocess="vgg19", seed=seed
        )
        return {"pool": None, "train": pipe(flowers.train, True), "validation": pipe(flowers.validation),
                "test": pipe(flowers.test), "class_names": tuple(flowers.class_names)}
    pasted = datasets.load_pasted_objects(
        config["train_pool"], 20 * config["validation_per_class"], config["test_size"], image_size=32, half="b",
        seed=seed, scale_range=tuple(config["scale_range"]), crop_range=tuple(config["crop_range"]),
    )
    as_pair = lambda part: (part.images.astype("float32"), part.labels.astype("int32"))  # noqa: E731
    validation = datasets.take_per_class(*as_pair(pasted.validation), config["validation_per_class"], seed=seed)
    return {"pool": as_pair(pasted.train), "validation": validation, "test": as_pair(pasted.test),
            "class_names": tuple(pasted.class_names)}


class TargetData(typing.NamedTuple):
    """One seed's target task at one budget: `(x, y)` arrays (quick, smoke) or batched pipelines (full)."""

    train: object
    validation: object
    test: object
    class_names: tuple


def load_target_data(profile="quick", seed=0, labels_per_class=None, **overrides):
    """The target data `run` trains on for `seed` at `labels_per_class` (None: `reference_labels_per_class`).

    quick and smoke: `(N, 32, 32, 3)` float32 pixels in [0, 255] and int labels; full: Oxford-17's pipelines.
    """
    config = profiles.select(CONFIGS, profile, overrides)
    data = _load_data(config, seed)
    per_class = config["reference_labels_per_class"] if labels_per_class is None else labels_per_class
    return TargetData(budget_split(data, per_class, seed), data["validation"], data["test"], data["class_names"])


def budget_split(data, per_class, seed):
    """The training set of one budget: `per_class` images of each class from the pool (nested across budgets)."""
    if data["pool"] is None:
        if per_class != 40:
            raise ValueError(f"Oxford-17's split has 40 training images per class. Received: per_class={per_class}")
        return data["train"]
    return datasets.take_per_class(*data["pool"], per_class, seed=seed)


def build_model(name, config, source, num_classes, seed):
    """Model `name` as `run` builds it (uncompiled): the source's base (random for `scratch`) and a new head."""
    keras.utils.set_random_seed(seed)
    backbone = kt_models.backbone_from_config(config, pretrained=name != "scratch", source=source)
    keras.utils.set_random_seed(seed)  # the same head initialisation for every model of a seed
    return kt_models.build_classifier(
        backbone, num_classes, head_units=tuple(config["head_units"]), dropout=config["dropout"],
        base_trainable=name != "frozen", name=name,
    )


# --- one small train function per model: each trains `model` in place and returns what to test and record ---


def _adam(learning_rate, config):
    return keras.optimizers.Adam(learning_rate=learning_rate, clipnorm=config["clipnorm"])


def _fine_tune_optimizer(model, learning_rate, config):
    """Adam at `learning_rate`; with `fine_tune_decay` d, ULMFiT's discriminative rates: the top block group (the
    head) at the rate, each block below at the rate of the one above / d."""
    adam = _adam(learning_rate, config)
    if not config["fine_tune_decay"]:
        return adam
    groups = kt_models.block_groups(model)
    return kt_optimizers.Discriminative(
        adam, multipliers=kt_optimizers.geometric_multipliers(groups, decay=config["fine_tune_decay"]))


def _train_whole(model, train, validation, config, optimizer, verbose, epochs=None, patience=None):
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    stopper = kt_models.early_stopping(patience or config["patience"], config["monitor"])
    history = kt_models.fit_classifier(model, train, validation, config["batch_size"], epochs or config["max_epochs"],
                                       [stopper], verbose)
    return history, stopper.best_epoch + 1


def train_scratch(model, train, validation, config, verbose):
    history, best = _train_whole(model, train, validation, config, _adam(config["learning_rate"], config), verbose,
                                 patience=config["scratch_patience"])
    return {"history": history, "best_epoch": best}


def train_frozen(model, train, validation, config, verbose):
    history, best = kt_models.fit_head_on_frozen_base(
        model, train, validation, optimizer=_adam(config["learning_rate"], config),
        batch_size=config["batch_size"], epochs=config["max_epochs"], patience=config["patience"],
        monitor=config["monitor"], verbose=verbose,
    )
    return {"history": history, "best_epoch": best, "frozen_features": True}


def train_fine_tuned(model, train, validation, config, verbose):
    head = train_frozen(model, train, validation, config, verbose)
    kt_models.base_layer(model).trainable = True
    start = model.get_weights()  # where fine-tuning starts: the range test starts there too, after the trials
    trials = kt_models.choose_on_validation(
        model, config["fine_tune_learning_rates"],
        lambda rate: _train_whole(model, train, validation, config, _fine_tune_optimizer(model, rate, config), verbose,
                                  config["fine_tune_max_epochs"], config["fine_tune_patience"]),
        monitor=config["monitor"],
    )
    history, best = trials["chosen_result"]
    merged = {key: head["history"].get(key, []) + values for key, values in history.items()}
    steps = [{"epoch": 0, "step": "new layers"}, {"epoch": len(head["history"]["loss"]), "step": "all layers"}]
    # after the trials, so the random draws of Model 3's own training are those of a run without it
    finder = find_learning_rate(model, start, train, config) if config["find_learning_rate"] else None
    return {"history": {**merged, "head_first_steps": steps}, "best_epoch": len(head["history"]["loss"]) + best,
            "learning_rate": trials["chosen"], "validation_scores": trials["scores"],
            **({"finder": finder} if finder else {})}


def train_chain_thaw(model, train, validation, config, verbose):
    # Step 1 (the new layers) to convergence as Model 2 trains them, on cached features; ChainThaw then runs its
    # own steps: the new layers again (a few epochs at most), each base layer alone, then everything.
    head = train_frozen(model, train, validation, config, verbose)
    kt_models.base_layer(model).trainable = True
    rates = tuple(config["chain_thaw_learning_rates"])
    model.compile(optimizer=_adam(rates[0], config), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    chain_thaw = kt_callbacks.ChainThaw(
        new_layers=kt_models.head_layers(model), layers=kt_models.backbone_layers(model),
        epochs_per_step=config["chain_thaw_epochs_per_step"], patience=config["chain_thaw_patience"],
        monitor=config["monitor"], learning_rates=rates, verbose=int(verbose >= 2),
    )
    epochs = len(chain_thaw.plan(model)) * config["chain_thaw_epochs_per_step"]
    history = kt_models.fit_classifier(model, train, validation, config["batch_size"], epochs, [chain_thaw], verbose)
    offset = len(head["history"]["loss"])
    steps = [{"epoch": 0, "step": "new layers (cached features)", "learning_rate": rates[0]}] + [
        {"epoch": offset + int(step["first_epoch"]), "step": step["description"].split(":")[0].split(" (")[0],
         "learning_rate": step["learning_rate"]} for step in chain_thaw.steps_log
    ]
    last = chain_thaw.steps_log[-1]["best_epoch"] if chain_thaw.steps_log else None
    merged = {key: head["history"].get(key, []) + values for key, values in history.items()}
    return {"history": {**merged, "chain_thaw_steps": steps}, "best_epoch": None if last is None else offset + last + 1}


def train_ulmfit(model, train, validation, config, verbose):
    groups = kt_models.block_groups(model)
    epochs = config["ulmfit_epochs"]
    steps = epochs * kt_models.steps_per_epoch(train, config["batch_size"])
    optimizer = kt_optimizers.Discriminative(
        keras.optimizers.Adam(kt_schedules.SlantedTriangular(config["ulmfit_max_learning_rate"], steps),
                              clipnorm=config["clipnorm"]),
        multipliers=kt_optimizers.geometric_multipliers(groups, decay=config["ulmfit_decay"]),
        strict=False,  # GradualUnfreezing rebuilds it over the groups unfrozen so far
    )
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    unfreezing = kt_callbacks.GradualUnfreezing(groups, every=1, verbose=int(verbose >= 2))
    stopper = kt_models.early_stopping(epochs, config["monitor"])  # runs the whole schedule, keeps the best epoch
    history = kt_models.fit_classifier(model, train, validation, config["batch_size"], epochs, [unfreezing, stopper],
                                 verbose)
    log = [{"epoch": int(epoch), "step": f"top {count}/{len(groups)} groups"} for epoch, count in unfreezing.unfreeze_log]
    return {"history": {**history, "unfreezing_steps": log}, "best_epoch": stopper.best_epoch + 1}


def find_learning_rate(model, weights, train, config):
    """The learning-rate range test (`callbacks.LearningRateFinder`, ULMFiT's first step) on a copy of `model` with
    `weights`: Adam from `finder_range[0]` to `finder_range[1]` over `finder_steps` batches of `train` (`(images,
    labels)` or a batched dataset). `model` is left as it is. Returns `{"valley": rate, "steepest": rate}`."""
    copy = keras.models.clone_model(model)
    copy.set_weights(weights)
    low, high = config["finder_range"]
    copy.compile(optimizer=_adam(low, config), loss="sparse_categorical_crossentropy")
    finder = kt_callbacks.LearningRateFinder(start_learning_rate=low, end_learning_rate=high,
                                             steps=config["finder_steps"])
    if isinstance(train, tuple):  # (images, labels) of a budget
        finder.find(copy, *train, batch_size=config["batch_size"], shuffle=True)
    else:  # a batched tf.data pipeline (Oxford-17's split)
        finder.find(copy, train)
    return {rule: float(finder.suggest(rule)) for rule in ("valley", "steepest")}


def _best_validation(outcome, monitor):
    """`monitor` at the epoch whose weights were kept (what every choice of settings is made on), or None."""
    values, best = outcome["history"].get(monitor), outcome["best_epoch"]
    return float(values[best - 1]) if values and best else None


# The rule the lectures draw (CS231n's transfer-learning notes, the slides): the models it recommends per cell.
LECTURE_STRATEGY = selection.STRATEGY  # the lectures' table (selection.recommend reads it too)


def lecture_checks(rows, config):
    """The lecture's claims on this run: frozen beats scratch by 10 points at the smallest budget, and
    scratch < frozen < fine_tuned <= chain_thaw at `reference_labels_per_class`, each step beyond the seed spread.

    Paired by seed (`comparisons.step`): the models of a seed see the same images from the same head
    initialisation, so the spread is that of the per-seed difference."""
    domain, smallest = config["source_domain"], min(config["labels_per_class"])
    cell = lambda name, n: comparisons.by_seed(rows, network=name, labels_per_class=n,  # noqa: E731
                                               source=domain)
    gap = comparisons.step(cell("scratch", smallest), cell("frozen", smallest))
    if gap["holds"] is not None:
        gap["holds"] = gap["holds"] and gap["difference"] >= config["min_frozen_gain"]
    reference = config["reference_labels_per_class"]
    order = [
        {"pair": [low, high], **comparisons.step(cell(low, reference), cell(high, reference), strict=strict)}
        for low, high, strict in (("scratch", "frozen", True), ("frozen", "fine_tuned", True),
                                  ("fine_tuned", "chain_thaw", False))
    ]
    return {"frozen_gain": {"labels_per_class": smallest, "threshold": config["min_frozen_gain"], **gap},
            "order": {"labels_per_class": reference, "steps": order}}


def strategy_table(rows, config):
    """The winning model of each cell: similar (the main source) or different data (`compare_domain`) x the
    smallest or largest budget of `compare_labels_per_class`. None without a comparison source."""
    if not config["compare_domain"] or not config["compare_labels_per_class"]:
        return None
    budgets = {"small": min(config["compare_labels_per_class"]), "large": max(config["compare_labels_per_class"])}
    table = []
    for similarity, domain in (("similar", config["source_domain"]), ("different", config["compare_domain"])):
        for size, per_class in budgets.items():
            names = config["models"] if domain == config["source_domain"] else config["compare_models"]
            candidates = {name: comparisons.by_seed(rows, network=name, labels_per_class=per_class, source=domain)
                          for name in names if name != "scratch"}
            candidates["scratch"] = comparisons.by_seed(rows, network="scratch", labels_per_class=per_class)
            lecture = LECTURE_STRATEGY[similarity, size]
            best = comparisons.winner(candidates)
            table.append({"data": similarity, "source": domain, "target": size, "labels_per_class": per_class,
                          "lecture_models": list(lecture["models"]), "lecture_rule": lecture["rule"],
                          "agrees": best["winner"] in lecture["models"], **best})
    return table


TRAINERS = {
    "scratch": train_scratch,
    "frozen": train_frozen,
    "fine_tuned": train_fine_tuned,
    "chain_thaw": train_chain_thaw,
    "ulmfit": train_ulmfit,
}


# Transferability scores of each source network on a budget's training images, before any training
# (keras_transfer.selection): LogME of the backbone's features, LEEP and NCE of the source classifier's predictions.
# H-score is left out: the backbone has more features (1,024) than a budget has images, where it sits at its ceiling.
SOURCE_SCORES = ("logme", "leep", "nce")
SCORED_NETWORKS = ("frozen", "fine_tuned")  # the models trained from both sources, whose accuracy a score predicts


def _score_sources(sources, data, rows, config, seed):
    """One row per budget of `compare_labels_per_class` and source network: its scores on the budget's training
    images and the test accuracy each of `SCORED_NETWORKS` reached from it (seed `seed`)."""
    score_rows = []
    backbones = {domain: kt_models.source_backbone(network) for domain, network in sources.items()}  # once per call
    for per_class in config["compare_labels_per_class"]:
        x, y = budget_split(data, per_class, seed)
        for domain, network in sources.items():
            features = backbones[domain].predict(x, batch_size=256, verbose=0).reshape(len(x), -1)
            predictions = network.predict(x, batch_size=256, verbose=0).astype("float64")
            predictions /= predictions.sum(axis=1, keepdims=True)  # float32 rows: sum to 1 again in float64
            measured = {row["network"]: row["test_accuracy"] for row in rows
                        if row["seed"] == seed and row["source"] == domain and row["labels_per_class"] == per_class}
            score_rows.append({
                "seed": seed, "labels_per_class": int(per_class), "source": domain,
                "logme": selection.logme(features, y), "leep": selection.leep(predictions, y),
                "nce": selection.nce(predictions.argmax(axis=1), y),
                **{f"{name}_accuracy": measured[name] for name in SCORED_NETWORKS if name in measured},
            })
    return score_rows


def source_selection(score_rows):
    """How well each score chose the source network, per budget and scored model (`off_the_shelf.score_correlations`
    over the two sources: Kendall's tau is +1 or -1 per seed, and `picked_best` counts the seeds whose pick won).

    Returns:
        `{"scores", "networks", "rows", "by_budget": {budget: {network: correlations}}}`.
    """
    from keras_transfer.experiments import off_the_shelf  # noqa: PLC0415 - the shared ranking code

    by_budget = {}
    for per_class in sorted({row["labels_per_class"] for row in score_rows}):
        budget_rows = [row for row in score_rows if row["labels_per_class"] == per_class]
        by_budget[str(per_class)] = {
            name: off_the_shelf.score_correlations(budget_rows, list(SOURCE_SCORES), f"{name}_accuracy", "source")
            for name in SCORED_NETWORKS if all(f"{name}_accuracy" in row for row in budget_rows)}
    return {"scores": list(SOURCE_SCORES), "networks": list(SCORED_NETWORKS), "rows": score_rows,
            "by_budget": by_budget, "paper": base.jsonable(off_the_shelf.PAPER_TLLIB)}


def recommendations(strategy, score_rows, score="logme"):
    """`selection.recommend` on each cell of the measured strategy table, the source's similarity judged by `score`.

    A source counts as similar at a budget when its mean `score` over seeds is the highest of the sources there:
    what a user would decide before training. Each cell's recommendation is checked against its measured winner.

    Returns:
        A list of dicts, one per cell of `strategy`: `source`, `labels_per_class`, `score`, `scored_similar`, the
        table's `data` and `target` for that judgement, `models` it recommends, `winner` (measured) and `agrees`.
    """
    if not strategy:
        return []
    means = {}
    for row in score_rows:
        means.setdefault((row["labels_per_class"], row["source"]), []).append(row[score])
    cells = []
    for cell in strategy:
        per_class = cell["labels_per_class"]
        at_budget = {source: float(np.mean(values)) for (n, source), values in means.items() if n == per_class}
        if cell["source"] not in at_budget:
            continue
        similar = at_budget[cell["source"]] >= max(at_budget.values())
        advice = selection.recommend(per_class, similar, large_from=RECOMMEND_LARGE_FROM)
        cells.append({"source": cell["source"], "labels_per_class": per_class, "score": score,
                      "scored_similar": bool(similar), "data": advice["data"], "target": advice["target"],
                      "models": list(advice["models"]), "rule": advice["rule"], "winner": cell["winner"],
                      "agrees": cell["winner"] in advice["models"]})
    return cells


_DATA_CACHE = {}


def _seed_data(config, seed):
    """`_load_data(config, seed)`, kept for the last seed asked for, so the models of one seed load it once."""
    key = (base.config_fingerprint(config), seed)
    if key not in _DATA_CACHE:
        _DATA_CACHE.clear()
        _DATA_CACHE[key] = _load_data(config, seed)
    return _DATA_CACHE[key]


def train_cell(shared, cell):
    """Trains and tests one network of `run`'s grid: `cell = (seed, domain, labels_per_class, name)`.

    `shared` holds the run's `config`, its `sources` (domain -> source network) and `verbose`. Runs
    here or in a Ray worker (`parallel.Workers`); returns `{"row", "history", "predictions", "labels"}`.
    """
    config, sources, verbose = shared["config"], shared["sources"], shared["verbose"]
    seed, domain, per_class, name = cell
    data = _seed_data(config, seed)
    train = budget_split(data, per_class, seed)
    large = config["large_batch_size"] and per_class >= config["large_batch_from"]
    budget_config = {**config, "batch_size": config["large_batch_size"]} if large else config
    key = f"{name}/n{per_class}" if domain == config["source_domain"] else f"{name}/{domain}/n{per_class}"
    with distribute.data_parallel(), kt_models.quiet_retracing():  # KT_DEVICES devices (default 1: no change)
        model = build_model(name, config, sources.get(domain), len(data["class_names"]), seed)
        clock = base.Stopwatch()
        outcome = TRAINERS[name](model, train, data["validation"], budget_config, verbose)
        times = clock.times()
        test = kt_models.evaluate_classifier(model, data["test"], config["sample_predictions"])
    counts = kt_models.parameter_counts(model)
    row = {
        "model": key, "network": name, "source": domain, "labels_per_class": int(per_class),
        "seed": seed, "test_accuracy": test["accuracy"], "test_loss": test["loss"],
        "epochs": len(outcome["history"]["loss"]), "best_epoch": outcome["best_epoch"],
        **times,
        "trainable_params": counts["trainable"], "frozen_params": counts["frozen"],
        "validation_accuracy": _best_validation(outcome, config["monitor"]),
        **({"learning_rate": outcome["learning_rate"]} if "learning_rate" in outcome else {}),
        **({f"finder_{rule}": rate for rule, rate in outcome["finder"].items()} if "finder" in outcome else {}),
    }
    keras.backend.clear_session(free_memory=False)  # no full gc.collect per model
    return {"row": row, "history": outcome["history"], "predictions": test["predictions"], "labels": test["labels"]}


# the labels per class from which `selection.recommend` calls a target set large (04's budgets: 5 small, 40 large)
RECOMMEND_LARGE_FROM = 20


@base.recipe(NAME)
def run(profile="quick", *, seeds=None, output_dir=None, verbose=1, workers=1, **overrides):
    """Trains every model at every label budget and seed under `profile`; returns an `ExperimentResult`.

    Args:
        profile: str. `"smoke"`, `"quick"` or `"full"` (see the module docstring).
        seeds: sequence of int or None. The seeds (images drawn, initialisation, batch order); None: the profile's.
        output_dir: path or None. Where `result.json` goes; None: `paths.results_dir("models-1-4", profile)`.
        verbose: int. 0 silent; 1 a progress bar over the networks to train; 2 also a line per model, budget
            and seed, and Keras's epoch lines.
        workers: int. How many networks train at once (`parallel.Workers`: Ray tasks, one per model, budget and
            seed); 1 trains them here one after another. The rows are the same either way.
        **overrides: settings of `CONFIGS[profile]`, e.g. `models=("frozen", "chain_thaw")`,
            `labels_per_class=(5, 40)`, `compare_domain=None`, `weights="vgg19.weights.h5"` (full).
    """
    config = profiles.select(CONFIGS, profile, overrides)
    if not config["models"] or any(name not in TRAINERS for name in config["models"]):
        raise ValueError(f"`models` must name some of {MODELS}. Received: models={tuple(config['models'])!r}")
    if any(name not in TRAINERS for name in config["compare_models"]):
        raise ValueError(f"`compare_models` must name some of {MODELS}. Received: {tuple(config['compare_models'])!r}")
    seeds = base.check_seeds(config["seeds"] if seeds is None else seeds)
    arms = [(config["source_domain"], config["labels_per_class"], config["models"])]
    if config["compare_domain"]:  # the "different data" source: only the models that use a source
        arms.append((config["compare_domain"], config["compare_labels_per_class"], config["compare_models"]))
    sources = {domain: kt_models.pretrained_source_network(config["source_profile"], domain=domain, verbose=verbose)
               for domain, _, _ in arms if config["backbone"] == "source"}
    devices = distribute.announce(config["batch_size"], verbose)
    cells = [(seed, domain, int(per_class), name) for seed in seeds for domain, budgets, names in arms
             for per_class in budgets for name in names]
    shared = {"config": config, "sources": sources, "verbose": verbose}
    outcomes = [None] * len(cells)
    with progress.bar(len(cells), f"Models 1-4 ({profile})", verbose=verbose) as bar, \
            parallel.Workers(workers, verbose=verbose) as pool:
        for index, outcome in pool.map(train_cell, cells, shared):
            outcomes[index] = outcome
            row = outcome["row"]
            bar.set_postfix_str(f"{row['model']} seed {row['seed']}: {row['test_accuracy']:.1%}", refresh=False)
            bar.update(1)
            if verbose >= 2:
                bar.write(f"[{profile} seed {row['seed']}, {row['labels_per_class']}/class, {row['source']} source] "
                          f"{TITLES[row['network']]}: test accuracy {row['test_accuracy']:.4f}, {row['epochs']} "
                          f"epochs, {row['wall_time_s']:.1f} s ({row['cpu_time_s']:.1f} s CPU)")
    rows = [outcome["row"] for outcome in outcomes]
    keys = [f"{outcome['row']['model']}/seed{outcome['row']['seed']}" for outcome in outcomes]
    histories = {key: outcome["history"] for key, outcome in zip(keys, outcomes)}
    predictions = {key: outcome["predictions"] for key, outcome in zip(keys, outcomes)}
    score_rows = []
    if len(sources) > 1:  # after the networks: the scores are compared with what they reached
        with kt_models.quiet_retracing():
            for seed in seeds:
                score_rows += _score_sources(sources, _seed_data(config, seed), rows, config, seed)
    data = _seed_data(config, seeds[-1])
    metadata = {
        "config": base.jsonable(config), "seeds": list(seeds), "titles": {n: TITLES[n] for n in config["models"]},
        "devices": devices,
        "class_names": list(data["class_names"]), "sample_labels": outcomes[-1]["labels"],
        "sample_predictions": predictions,
        "source_networks": {domain: kt_models.source_network_info(config["source_profile"], domain=domain)
                            for domain in sources},
    }
    metadata["checks"] = lecture_checks(rows, config)
    metadata["strategy"] = strategy_table(rows, config)
    if score_rows:
        metadata["transferability"] = source_selection(score_rows)
        metadata["recommendations"] = recommendations(metadata["strategy"], score_rows)
    return base.ExperimentResult(NAME, profile, rows, histories, metadata)
