"""Zero-shot learning by attributes: recognise classes no training image showed, from their attribute signatures.

Each class is described by attributes (`keras_transfer.datasets.attributes`). A split of the classes into *seen*
and *unseen* ones decides what training may use: images of the seen classes only, and the attribute table of all
classes. Two methods learn from that (`keras_transfer.embeddings.zero_shot`):

- `dap`, direct attribute prediction (Lampert et al.): a classifier per attribute; an image goes to the class whose
  signature its predicted attributes make most probable;
- `eszsl` (Romera-Paredes & Torr): a bilinear compatibility `f(x)^T V g(class)` between image features and class
  attributes, trained so an image's own class scores high, solved in closed form.

Each is measured in two settings (Xian et al.'s protocol, mean per-class top-1 accuracy):

- zero-shot: test images of the unseen classes, the answer restricted to the unseen classes
  (`unseen_accuracy`, with `chance` = 1 / number of unseen classes beside it);
- generalized: test images of seen and unseen classes, any class may be answered (`gzsl_seen_accuracy`,
  `gzsl_unseen_accuracy`, their `harmonic_mean`, and `unseen_called_seen`, the share of unseen-class images given a
  seen class: the bias toward seen classes this setting exposes).

Settings (the regularisation of each method) are chosen per split on *validation classes*: a few seen classes are
held out as pretend-unseen, each candidate is fitted on the other seen classes and scored on them, and the best one
is refitted on all seen classes. Test images never take part in a choice.

Profiles:

- `smoke`: Fashion-MNIST, 2 splits, a few images per class, one epoch: seconds.
- `quick`: Fashion-MNIST with the hand-written table (`fashion_mnist_attributes`), 5 random splits of 3 unseen
  classes (2 of the 7 seen ones for validation). The image features come from a small VGG trained, for each split,
  on the seen classes only: the project's pretrained quick source network was trained on half A of Fashion-MNIST,
  so for most splits it has seen some unseen classes, which zero-shot learning forbids. Only splits whose unseen
  classes the seen classes' attributes tell apart are drawn (`zero_shot_splits`). About 290 CPU-seconds (3.5 minutes on an
  idle 2-core machine).
- `full`: AwA2 with Xian et al.'s proposed split and their ResNet-101 features (`load_awa2`, downloads
  `xlsa17.zip`); settings chosen on the split's 13 validation classes. Not run here; the paper's numbers for the same
  methods are kept in `metadata["paper"]`.

Reference:
    - Lampert, Nickisch & Harmeling, Attribute-Based Classification for Zero-Shot Visual Object Categorization,
      TPAMI 2014.
    - Romera-Paredes & Torr, An Embarrassingly Simple Approach to Zero-Shot Learning, ICML 2015.
    - Xian, Lampert, Schiele & Akata, Zero-Shot Learning — A Comprehensive Evaluation of the Good, the Bad and the
      Ugly, TPAMI 2018.
"""

import itertools

import keras
import numpy as np

from keras_transfer import models as kt_models
from keras_transfer import profiles
from keras_transfer import progress
from keras_transfer.datasets import attributes
from keras_transfer.embeddings import zero_shot
from keras_transfer.experiments import base

NAME = "zero-shot"

# method name -> estimator class; its settings come from the config's grid of that name
METHODS = {"dap": zero_shot.DirectAttributePrediction, "eszsl": zero_shot.ESZSL}

# Xian et al. (TPAMI 2018), proposed split, ResNet-101 features: mean per-class top-1 (%), Tables 3 and 4.
# ESZSL's four figures were checked on 2026-12-01 against a public reimplementation's README that quotes the paper's
# tables (mvp18/Popular-ZSL-Algorithms, ESZSL/README.md); DAP's were not found in a source reachable here.
PAPER = {
    "AwA2": {
        "dap": {"unseen_accuracy": 46.1, "gzsl_unseen_accuracy": 0.0, "gzsl_seen_accuracy": 84.7, "harmonic_mean": 0.0},
        "eszsl": {"unseen_accuracy": 58.6, "gzsl_unseen_accuracy": 5.9, "gzsl_seen_accuracy": 77.8,
                  "harmonic_mean": 11.0},
    },
}

_GRIDS = {
    "dap": [{"C": value} for value in (0.01, 0.1, 1.0)],
    "eszsl": [{"gamma": gamma, "lam": lam} for gamma, lam in itertools.product((0.1, 10.0, 1000.0), (0.01, 1.0, 100.0))],
}

CONFIGS = {
    "smoke": {
        "data": "fashion_mnist", "splits": 2, "num_unseen": 3, "num_validation": 2, "split_seed": 0,
        "train_per_class": 40, "validation_per_class": 20, "test_per_class": 20,
        "epochs": 1, "batch_size": 64, "learning_rate": 2e-3, "filters": (8, 16, 32), "fc_units": 64,
        "feature_layer": "fc1", "grids": _GRIDS, "seeds": (0,),
    },
    "quick": {
        "data": "fashion_mnist", "splits": 5, "num_unseen": 3, "num_validation": 2, "split_seed": 0,
        "train_per_class": 1000, "validation_per_class": 200, "test_per_class": 500,
        "epochs": 4, "batch_size": 128, "learning_rate": 2e-3, "filters": (16, 32, 64), "fc_units": 128,
        "feature_layer": "fc1", "grids": _GRIDS, "seeds": (0,),
    },
    "full": {
        "data": "awa2", "splits": 1, "path": None, "grids": _GRIDS, "seeds": (0,),
    },
}

# The smallest run that still shows the lesson (for a live demo; `kt.experiments.run(..., live=True)` also keeps only
# the first seed): two splits instead of five, each still above chance zero-shot and biased in the generalized setting.
LIVE = {"smoke": {}, "quick": {"splits": 2}, "full": {}}


@base.recipe(NAME)
def run(profile="quick", *, seeds=None, output_dir=None, verbose=1, **overrides):
    """Fits DAP and ESZSL on the seen classes of every split and seed; one row per method, split and seed.

    Args:
        profile: str. `"smoke"`, `"quick"` or `"full"`.
        seeds: sequence of int or None. Seeds of the feature network (quick, smoke). Default: the profile's.
        output_dir: path or None. Where `result.json` goes (default `paths.results_dir("zero-shot", profile)`).
        verbose: int. 0 silent, 1 a progress bar over the splits and seeds, 2 also a line per split and method.
        **overrides: settings of the profile to change, e.g. `splits=3`.

    Returns:
        An `ExperimentResult`: rows `{"model", "split", "seed", "unseen_classes", "unseen_accuracy", "chance",
        "gzsl_seen_accuracy", "gzsl_unseen_accuracy", "harmonic_mean", "unseen_called_seen", "settings"}`;
        `metadata` holds the table, the splits, each split's unseen-class confusion matrices, the feature
        network's accuracy on the seen classes and the paper's numbers.
    """
    config = profiles.select(CONFIGS, profile, overrides)
    seeds = base.check_seeds(config["seeds"] if seeds is None else seeds)
    config["seeds"] = seeds
    table, tasks = PREPARE[config["data"]](config)

    rows, confusions, feature_accuracy = [], [], []
    bar = progress.bar(len(tasks) * len(seeds), "zero-shot splits", verbose=verbose, unit="split")
    for index, task in enumerate(tasks):
        for seed in seeds:
            with kt_models.quiet_retracing():  # every split's feature network traces its own functions
                features = task["features"](seed)
            feature_accuracy.append(features.get("seen_accuracy"))
            split = task["split"]
            confusions.append({"split": index, "seed": seed, "classes": list(split.unseen), "methods": {}})
            for method in METHODS:
                settings, validation_accuracy = choose_settings(method, table, features, config["grids"][method])
                model = METHODS[method](table.signatures, **settings).fit(*features["train"])
                row, confusion = evaluate(model, features, split)
                rows.append({"model": method, "split": str(index), "seed": seed,
                             "unseen_classes": ", ".join(table.class_names[c] for c in split.unseen), **row,
                             "validation_accuracy": validation_accuracy, "settings": settings})
                confusions[-1]["methods"][method] = confusion
                if verbose >= 2:
                    bar.write(f"[zero-shot] split {index} (unseen: {rows[-1]['unseen_classes']}), seed {seed}, "
                              f"{method}: unseen {row['unseen_accuracy']:.3f} (chance {row['chance']:.3f}); "
                              f"generalized seen {row['gzsl_seen_accuracy']:.3f}, unseen "
                              f"{row['gzsl_unseen_accuracy']:.3f}, H {row['harmonic_mean']:.3f} (settings {settings})")
            last = rows[-len(METHODS):]
            bar.set_postfix_str(", ".join(f"{row['model']} {row['unseen_accuracy']:.0%}" for row in last), refresh=False)
            bar.update(1)
    bar.close()

    metadata = {
        "config": base.jsonable(config),
        "table": {"class_names": list(table.class_names), "attribute_names": list(table.attribute_names),
                  "signatures": np.round(table.signatures, 4).tolist()},
        "splits": [base.jsonable(task["split"]._asdict()) for task in tasks],
        "confusions": confusions,
        "feature_network_seen_accuracy": feature_accuracy,
        "paper": PAPER,
    }
    return base.ExperimentResult(NAME, profile, rows, metadata=metadata)


def choose_settings(method, table, features, grid):
    """The grid entry with the best accuracy on the validation classes (fitted on the other seen classes)."""
    x_fit, y_fit = features["select_fit"]
    x_eval, y_eval = features["select_eval"]
    scores = [METHODS[method](table.signatures, **settings).fit(x_fit, y_fit)
              .score(x_eval, y_eval, classes=features["select_classes"]) for settings in grid]
    best = int(np.argmax(scores))
    return dict(grid[best]), float(scores[best])


def evaluate(model, features, split):
    """Zero-shot and generalized scores of a fitted model, and the unseen classes' confusion matrix."""
    x_unseen, y_unseen = features["test_unseen"]
    x_seen, y_seen = features["test_seen"]
    zsl = model.predict(x_unseen, classes=split.unseen)
    gzsl_unseen = model.predict(x_unseen)
    seen_accuracy = zero_shot.mean_class_accuracy(y_seen, model.predict(x_seen))
    unseen_accuracy = zero_shot.mean_class_accuracy(y_unseen, gzsl_unseen)
    confusion = [[int(np.sum((y_unseen == true) & (zsl == predicted))) for predicted in split.unseen]
                 for true in split.unseen]
    return {
        "unseen_accuracy": zero_shot.mean_class_accuracy(y_unseen, zsl),
        "chance": 1.0 / len(split.unseen),
        "gzsl_seen_accuracy": seen_accuracy,
        "gzsl_unseen_accuracy": unseen_accuracy,
        "harmonic_mean": zero_shot.harmonic_mean(seen_accuracy, unseen_accuracy),
        "unseen_called_seen": float(np.mean(np.isin(gzsl_unseen, split.seen))),
    }, confusion


# ---------------------------------------------------------------------------------------------------------------
# Data: per profile, the attribute table and one task per split; a task's `features(seed)` returns the feature
# sets `train`, `select_fit`, `select_eval`, `test_seen`, `test_unseen` as `(x, y)` with y rows of the table.


def fashion_mnist_tasks(config):
    """The quick tasks: Fashion-MNIST images, features from a small VGG trained on each split's seen classes."""
    from keras_transfer import datasets

    table = attributes.fashion_mnist_attributes()
    (x_train, y_train), (x_test, y_test) = datasets.load_fashion_mnist()
    x_test, y_test = datasets.take_per_class(x_test, y_test, config["test_per_class"], seed=config["split_seed"])
    splits = attributes.zero_shot_splits(table, num_unseen=config["num_unseen"],
                                         num_validation=config["num_validation"], count=config["splits"],
                                         seed=config["split_seed"])

    def task(split):
        def features(seed):
            seen = np.isin(y_train, split.seen)
            (x_fit, y_fit), (x_val, y_val) = datasets.split_per_class(
                x_train[seen], y_train[seen], config["train_per_class"], config["validation_per_class"], seed=seed)
            extract, seen_accuracy = train_feature_network(x_fit, y_fit, x_test, y_test, split.seen, config, seed)
            f_fit, f_val, f_test = extract(x_fit), extract(x_val), extract(x_test)
            fit_only = ~np.isin(y_fit, split.validation)
            held_out = np.isin(y_val, split.validation)
            test_seen = np.isin(y_test, split.seen)
            return {
                "train": (f_fit, y_fit),
                "select_fit": (f_fit[fit_only], y_fit[fit_only]),
                "select_eval": (f_val[held_out], y_val[held_out]),
                "select_classes": split.validation,
                "test_seen": (f_test[test_seen], y_test[test_seen]),
                "test_unseen": (f_test[~test_seen], y_test[~test_seen]),
                "seen_accuracy": seen_accuracy,
            }
        return {"split": split, "features": features}

    return table, [task(split) for split in splits]


def train_feature_network(x, y, x_test, y_test, classes, config, seed):
    """A small VGG trained on images of `classes` only; returns `(extract, seen_test_accuracy)`.

    `extract(images)` gives the `config["feature_layer"]` activations.
    """
    from keras_transfer.models import source

    keras.utils.set_random_seed(seed)
    classes = np.asarray(classes)
    model = source.build_source_network(len(classes), filters=tuple(config["filters"]), fc_units=config["fc_units"],
                                        dropout=0.3, name="seen_class_network")
    steps = config["epochs"] * -(-len(x) // config["batch_size"])
    model.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(config["learning_rate"], steps)),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(source.to_source_input(x), np.searchsorted(classes, y), batch_size=config["batch_size"],
              epochs=config["epochs"], verbose=0)
    seen = np.isin(y_test, classes)
    _, accuracy = model.evaluate(source.to_source_input(x_test[seen]), np.searchsorted(classes, y_test[seen]),
                                 batch_size=256, verbose=0)
    tap = keras.Model(model.inputs[0] if len(model.inputs) == 1 else model.inputs, model.get_layer(config["feature_layer"]).output)

    def extract(images):
        return np.asarray(tap.predict(source.to_source_input(images), batch_size=256, verbose=0))

    return extract, float(accuracy)


def awa2_tasks(config):
    """The full task: AwA2's ResNet-101 features and Xian et al.'s proposed split (train/val classes to choose)."""
    benchmark = attributes.load_awa2(config["path"])
    labels, where = benchmark.labels, benchmark.locations

    def pick(key):
        return benchmark.features[where[key]], labels[where[key]]

    seen = tuple(sorted(set(labels[where["trainval"]].tolist())))
    unseen = tuple(sorted(set(labels[where["test_unseen"]].tolist())))
    validation = tuple(sorted(set(labels[where["val"]].tolist())))
    split = attributes.ZeroShotSplit(seen, unseen, validation)
    sets = {"train": pick("trainval"), "select_fit": pick("train"), "select_eval": pick("val"),
            "select_classes": validation, "test_seen": pick("test_seen"), "test_unseen": pick("test_unseen")}
    return benchmark.table, [{"split": split, "features": lambda seed: sets}]


PREPARE = {"fashion_mnist": fashion_mnist_tasks, "awa2": awa2_tasks}
TABLES = {"fashion_mnist": lambda config: attributes.fashion_mnist_attributes(),
          "awa2": lambda config: attributes.load_awa2(config["path"]).table}


def attribute_table(profile="quick"):
    """The class × attribute table the profile's experiment reads (`full` downloads AwA2 for it)."""
    config = profiles.select(CONFIGS, profile)
    return TABLES[config["data"]](config)
