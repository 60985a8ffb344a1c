"""How transferable are features? Yosinski et al.'s (2014) BnB, AnB, BnB+ and AnB+ for n = 1..7.

Base A and base B are the same 8-layer network (`models.yosinski.build_network`) trained on two disjoint halves of
the classes. For every n a fresh network copies the first n layers of base B (BnB, the "selffer" control) or of
base A (AnB, the transfer network), frozen, or fine-tuned (BnB+, AnB+); the layers above n are re-initialised and
trained on B. Every network's accuracy on B's test set is one row; each seed trains its own base A and base B.

Profiles:

- `smoke`: the quick profile's data and code at a tiny size: n in {1, 4, 7}, one seed, a few dozen images, a tiny
  network, B's networks stopped early on B's validation images (`patience_b=1` of at most 2 epochs): seconds.
- `quick`: the lecture's conditions for transfer on a CPU. Fashion-MNIST's classes split in two halves of 5
  (`split_seed=0`, the split notebooks 04 and 08 use: B is T-shirt/top, Trouser, Sandal, Bag, Ankle boot), every
  item pasted on a crop of a colour photo (`datasets.load_pasted_objects`, 32x32, both halves on the same photos,
  test images on strips of them no training image touches). A is plentiful (about 800 images per class), B is a
  small target set (20 per class): A's images can teach the lower layers to separate an item from clutter, B's
  hundred cannot. n = 1..7, the four families, three seeds; 40 validation images of B per class (drawn from B's
  training images) stop every network of B at its best epoch, 1,000 test images of B score it.
  Settings, chosen on B's validation accuracy (one seed, n in {1, 4, 7}, BnB+ and AnB+; never the test set):
  on the plain Fashion-MNIST halves (items on black, B 20 per class) AnB+ had beaten base B on the test set by only
  1 to 2.5 points, within the seed spread at 6 of 7 n (which is why the data changed). On the photo-pasted halves
  with the wider network (filters 32, 64, 96, 96, 64; dense 256, 256; patience 15, batch 32) base B reached 72.4%
  validation accuracy, AnB+ 79.6%, 86.0% and 80.4% at n = 1, 4, 7: transfer matters here. That network costs
  about 40 CPU-seconds per network on B (3,600 for the grid), so the profile's is narrower (filters 16, 32, 48,
  48, 32; dense 128, 128; batch 16): base B 60.0%, AnB+ 78.4%, 81.6%, 82.0%. In that probe base B's validation
  accuracy sat at chance (19-24%) for its first 12 epochs, and a patience of 10 stopped BnB+ at n = 1 on such a
  plateau (29.6%, at chance on its training images) and at n = 4 while still climbing (62.8%, 65% of its training
  images right). A network of B therefore trains at least `min_epochs_b=15` epochs before the stopping rule
  watches. With a patience of 8 after that, base B still stopped while climbing (58.0% validation accuracy at
  epoch 30, 68% of its training images right); with `patience_b=15` (at most 80 epochs) it reached 63.5% at epoch
  49 (93% of its training images right), and that is the profile's. AnB+ at n = 1 then reached 81.0%, and BnB+
  at n = 1 69.0%, at the 80-epoch cap: one training from scratch on a hundred images still ends below a second one
  that starts from its own first layer, so a base B "at its best" is only as good as one training of it. Every network of B trains at
  the same learning rate (1e-3, Adam), the copied layers included, as in the paper; base A trains a fixed 8 epochs.
  Cost, from those probes: 15-30 CPU-seconds per network of B and about 60 for base A on a 2-core machine, so
  roughly 1,500-2,000 CPU-seconds for the 90 networks (`result.metadata["cpu_time_s"]` has a run's own figure).
- `full`: CIFAR-100 halves of 50 classes (tensorflow-datasets, downloaded once), a wider network, every network on
  B trained to convergence (early stopping on B's validation accuracy, patience 10, at most 100 epochs): for a GPU.
  `dataset="fashion_mnist"` (items on black) remains available for comparison.

`LIVE` holds each profile's settings for a live demo (one seed, n = 1, 3, 5, 7, AnB and AnB+ only).

The grid resumes (`RunJournal`): each finished run, and each base network's weights, is saved in `output_dir` as
soon as it ends, keyed by a fingerprint of the settings that change a run's outcome. Rerunning trains only the runs
not yet there; changing `n_values`, `families` or `seeds` reuses the runs the old and new grids share.
"""

import pathlib

import numpy as np

from keras_transfer import datasets
from keras_transfer import parallel
from keras_transfer import profiles
from keras_transfer import progress
from keras_transfer import reports
from keras_transfer.datasets.cifar100 import load_cifar100
from keras_transfer.experiments import base
from keras_transfer.experiments import transferability_analysis as analysis
from keras_transfer.models.transfer import LAYER_NAMES
from keras_transfer.models.transfer import transfer_layers
from keras_transfer.models.yosinski import build_network
from keras_transfer.models.yosinski import init_seed
from keras_transfer.models.yosinski import train_network

NAME = "transferability"
RUNS_FILE = "runs.jsonl"
DATASETS = ("pasted_fashion_mnist", "fashion_mnist", "cifar100")

# The four kinds of network of the paper: (the half whose base is copied, fine-tuned?).
FAMILIES = {"BnB": ("b", False), "AnB": ("a", False), "BnB+": ("b", True), "AnB+": ("a", True)}
PAPER_PATTERN = analysis.PAPER_PATTERN

_GRID = {"n_values": (1, 2, 3, 4, 5, 6, 7), "families": tuple(FAMILIES), "kernel_sizes": (5, 3, 3, 3, 3),
         "image_size": 32, "scale_range": (0.5, 1.0), "crop_range": (1.0, 4.0)}
CONFIGS = {
    "smoke": {
        **_GRID, "dataset": "pasted_fashion_mnist", "split_seed": 0, "n_values": (1, 4, 7), "seeds": (0,),
        "train_per_class_a": 30, "train_per_class_b": 10, "validation_per_class": 10, "test_per_class": 20,
        "epochs_a": 1, "epochs_b": 2, "patience_b": 1, "min_epochs_b": 0, "batch_size": 32, "learning_rate": 1e-3,
        "filters": (4, 8, 8, 8, 8), "kernel_sizes": (3, 3, 3, 3, 3), "units": (16, 16), "dropout": 0.0,
        "tfds_data_dir": None, "run_eagerly": True, "resume": True,
    },
    "quick": {
        **_GRID, "dataset": "pasted_fashion_mnist", "split_seed": 0, "seeds": (0, 1, 2),
        "train_per_class_a": 800, "train_per_class_b": 20, "validation_per_class": 40, "test_per_class": 200,
        "epochs_a": 8, "epochs_b": 80, "patience_b": 15, "min_epochs_b": 15, "batch_size": 16, "learning_rate": 1e-3,
        "filters": (16, 32, 48, 48, 32), "units": (128, 128), "dropout": 0.5,
        "tfds_data_dir": None, "run_eagerly": False, "resume": True,
    },
    "full": {
        **_GRID, "dataset": "cifar100", "split_seed": 0, "seeds": (0, 1, 2),
        "train_per_class_a": None, "train_per_class_b": None, "validation_per_class": 50, "test_per_class": None,
        "epochs_a": 30, "epochs_b": 100, "patience_b": 10, "min_epochs_b": 0, "batch_size": 128, "learning_rate": 1e-3,
        "filters": (64, 128, 192, 192, 128), "units": (512, 512), "dropout": 0.5,
        "tfds_data_dir": None, "run_eagerly": False, "resume": True,
    },
}
# Live mode (a talk): one seed (`kt.experiments.run(..., live=True)`), n = 1, 3, 5, 7 and the two families that
# transfer from A: AnB falling with n and AnB+ against base B, the notebook's two lessons, in about a tenth of the grid.
LIVE = {
    "smoke": {},
    "quick": {"n_values": (1, 3, 5, 7), "families": ("AnB", "AnB+")},
    "full": {"n_values": (1, 3, 5, 7), "families": ("AnB", "AnB+")},
}

# The settings that change what one run computes (the others choose which runs, or how fast they run).
RUN_KEYS = (
    "dataset", "split_seed", "train_per_class_a", "train_per_class_b", "validation_per_class", "test_per_class",
    "epochs_a", "epochs_b", "patience_b", "batch_size", "learning_rate", "filters", "kernel_sizes", "units", "dropout",
)
PASTED_KEYS = ("image_size", "scale_range", "crop_range")  # only for dataset="pasted_fashion_mnist"


@base.recipe(NAME)
def run(profile="quick", *, seeds=None, output_dir=None, verbose=1, workers=1, **overrides):
    """Trains base A and base B, then BnB, AnB, BnB+ and AnB+ for every n, per seed; returns one row per network.

    Args:
        profile: str. `"smoke"`, `"quick"` or `"full"` (see the module docstring).
        seeds: sequence of int or None. The seeds (default: the profile's). Each seed trains its own base A and
            base B; at one seed and n the four families share the fresh layers' initialisation and batch order.
        output_dir: str, Path or None. Where `runs.jsonl`, the base networks' weights and `result.json` go
            (default `paths.results_dir("transferability", profile)`). Finished runs found there are not retrained.
        verbose: int. 0 is silent; 1 shows a progress bar over the networks to train; 2 also a line per network.
        workers: int. How many networks train at once (`parallel.Workers`: Ray tasks, the base networks first,
            then one task per run of the grid); 1 trains them here one after another. The rows are the same either
            way, and each finished network is in the journal as soon as it returns.
        **overrides: settings of the profile to change, e.g. `epochs_b=20`, `n_values=(1, 7)`, `resume=False`.

    Returns:
        An `ExperimentResult` with rows `{"run_id", "model", "family", "n", "seed", "source", "fine_tuned",
        "test_accuracy", "test_loss", "validation_accuracy", "validation_loss", "train_accuracy", "epochs",
        "wall_time_s", "cpu_time_s", "resumed"}`: base B first (`family="baseB"`, `n=0`, one per seed), then the
        grid. `metadata["comparison"]` holds the paper's pattern beside ours, with verdicts (`compare_with_paper`);
        `keras_transfer.reports.transferability` turns the result into the notebook's tables and sentences.

    Example:

    ```python
    from keras_transfer.reports import transferability as report

    result = run("smoke", verbose=0)
    print(report.accuracy_table(result))
    ```

    Reference:
        - [Yosinski et al., 2014](https://arxiv.org/abs/1411.1792): How transferable are features in deep neural
          networks?
    """
    config = _check_config(profiles.select(CONFIGS, profile, overrides), seeds)
    output_dir = pathlib.Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    fingerprint = run_fingerprint(config)
    journal = base.RunJournal(output_dir / RUNS_FILE, fingerprint)
    finished = journal.finished() if config["resume"] else {}

    data = load_halves(config)
    cells = [(family, n) for n in config["n_values"] for family in config["families"]]
    identifiers = [f"base{half}-seed{seed}" for seed in config["seeds"] for half in "AB"]
    identifiers += [run_id(family, n, seed) for seed in config["seeds"] for family, n in cells]
    pending = {seed: [cell for cell in cells if run_id(*cell, seed) not in finished] for seed in config["seeds"]}
    weights = {(half, seed): output_dir / f"base{half.upper()}-seed{seed}-{fingerprint}.weights.h5"
               for seed in config["seeds"] for half in "ab"}
    # a base network is kept when its run is recorded and its weights are there (or no run of its seed needs them)
    kept = {(half, seed) for half, seed in weights
            if f"base{half.upper()}-seed{seed}" in finished and (weights[half, seed].exists() or not pending[seed])}
    total = len(weights) - len(kept) + sum(len(runs) for runs in pending.values())

    base_weights = {}  # (half, seed) -> the base network's weights, for the runs of its seed
    for (half, seed) in sorted(kept):
        if pending[seed]:
            network = _network(config, data, f"base{half}", seed)
            network.load_weights(weights[half, seed])
            base_weights[half, seed] = network.get_weights()
    with progress.bar(total, NAME, verbose=verbose if total else 0) as bar, \
            parallel.Workers(workers, verbose=verbose if total else 0) as pool:
        def record(entry):
            journal.append(entry)
            finished[entry["run_id"]] = {**entry, "resumed": False}
            bar.set_postfix_str(f"{entry['run_id']}: {reports.percent(entry['test_accuracy'])}", refresh=False)
            bar.update(1)
            if verbose >= 2:
                bar.write(f"{entry['run_id']}: test accuracy {entry['test_accuracy']:.4f}, {entry['epochs']} epochs")

        # the base networks first (each seed's two), then the grid's runs, each as soon as the base it copies is
        tasks = [("base", half, seed) for seed in config["seeds"] for half in "ab" if (half, seed) not in kept]
        position = {(half, seed): index for index, (_, half, seed) in enumerate(tasks)}
        tasks += [("run", family, n, seed) for seed in config["seeds"] for family, n in pending[seed]]

        def needs(task):  # a run needs its source base's task, unless that base was resumed from disk
            base_key = (FAMILIES[task[1]][0], task[3]) if task[0] == "run" else None
            return [position[base_key]] if base_key in position else []

        shared = {"config": config, "data": data, "bases": base_weights}
        for index, outcome in pool.map(grid_task, tasks, shared, needs=needs):
            if tasks[index][0] == "run":
                record(outcome)
                continue
            (_, half, seed), (entry, trained) = tasks[index], outcome
            network = _network(config, data, f"base{half}", seed)
            network.set_weights(trained)
            path = weights[half, seed]
            network.save_weights(path.with_name(f"partial-{path.name}"))  # whole, or not there at all
            path.with_name(f"partial-{path.name}").replace(path)
            record(entry)

    rows, histories = [], {}
    for identifier in identifiers:
        entry = dict(finished[identifier])
        histories[identifier] = entry.pop("history")
        entry.pop("config_fingerprint", None)
        if not identifier.startswith("baseA"):
            rows.append(entry)
    used = [finished[identifier] for identifier in identifiers]
    metadata = {
        "config": base.jsonable(config),
        "config_fingerprint": fingerprint,
        "classes": {half: list(data["split"].classes(half)) for half in "ab"},
        "class_names": {half: list(data["names"][half]) for half in "ab"},
        "train_size": {half: len(data[half]["train"][1]) for half in "ab"},
        "validation_size": {"b": len(data["b"]["validation"][1]) if "validation" in data["b"] else 0},
        "test_size": {half: len(data[half]["test"][1]) for half in "ab"},
        "input_shape": list(data["input_shape"]),
        "base_accuracy": {
            half.upper(): [finished[f"base{half.upper()}-seed{seed}"]["test_accuracy"] for seed in config["seeds"]]
            for half in "ab"
        },
        "runs_trained": sum(1 for entry in used if not entry["resumed"]),
        "runs_resumed": sum(1 for entry in used if entry["resumed"]),
        "training_time_s": sum(entry["wall_time_s"] for entry in used),
        "training_cpu_time_s": sum(entry["cpu_time_s"] for entry in used),
        "paper_pattern": dict(PAPER_PATTERN),
        "comparison": analysis.compare_with_paper(rows),
        "output_dir": str(output_dir),
    }
    return base.ExperimentResult(NAME, profile, rows, histories, metadata)


def run_fingerprint(config):
    """The hash of the settings in `RUN_KEYS`: runs saved under another fingerprint are not reused.

    Without early stopping (`patience_b=None`) a run is what it was before `patience_b` existed, so the key is left
    out and the saved runs of that time are reused.
    """
    keys = [key for key in RUN_KEYS if key != "patience_b" or config[key] is not None]
    keys += ["min_epochs_b"] if config["min_epochs_b"] else []  # 0: the runs saved before it existed
    keys += list(PASTED_KEYS) if config["dataset"] == "pasted_fashion_mnist" else []
    return base.config_fingerprint(config, keys)


def run_id(family, n, seed):
    """The key of one transfer run in `runs.jsonl`, e.g. `"AnB+-n3-seed0"`."""
    return f"{family}-n{n}-seed{seed}"


def _pasted_halves(config):
    """Halves A and B of Fashion-MNIST's classes, each item pasted on a crop of a colour photo (`load_pasted_objects`).

    Both halves paste on the same photos (scikit-learn's two); test images on strips of them no training image
    touches. A's images are `train_per_class_a` per class on average (drawn at random, as `load_pasted_objects` does);
    B's training and validation images exactly `train_per_class_b` and `validation_per_class` per class.
    """
    split = datasets.split_classes(10, seed=config["split_seed"])
    classes = len(split.classes_b)
    seed, options = config["split_seed"], {"image_size": config["image_size"], "half": None,
                                           "split_seed": config["split_seed"], "seed": config["split_seed"],
                                           "scale_range": tuple(config["scale_range"]),
                                           "crop_range": tuple(config["crop_range"])}
    test_per_class = config["test_per_class"]
    test_size = 2 * classes * test_per_class if test_per_class else 5000
    data = {"split": split, "names": {half: split.names(datasets.FASHION_MNIST_CLASSES, half) for half in "ab"}}
    as_pair = lambda part: (part.images, part.labels.astype("int32"))  # noqa: E731
    pasted_a = datasets.load_pasted_objects(classes * config["train_per_class_a"], 1, min(test_size, 1000),
                                            **{**options, "half": "a"})
    per_class_b, validation = config["train_per_class_b"], config["validation_per_class"]
    pasted_b = datasets.load_pasted_objects(3 * classes * per_class_b, 3 * classes * validation, test_size,
                                            **{**options, "half": "b"})
    test_b = as_pair(pasted_b.test)
    if test_per_class:
        test_b = datasets.take_per_class(*test_b, test_per_class, seed=seed)
    data["a"] = {"train": as_pair(pasted_a.train), "test": as_pair(pasted_a.test)}
    data["b"] = {"train": _labels(datasets.take_per_class(*as_pair(pasted_b.train), per_class_b, seed=seed)),
                 "validation": _labels(datasets.take_per_class(*as_pair(pasted_b.validation), validation, seed=seed)),
                 "test": _labels(test_b)}
    data["num_classes"] = classes
    data["input_shape"] = tuple(int(size) for size in pasted_b.test.images.shape[1:])
    return data


def load_halves(config):
    """Halves A and B of the config's dataset: `{"a": {"train", "test"}, "b": {"train", "validation", "test"}, ...}`.

    Each set is `(x, y)`: `uint8` `(N, H, W, C)` images and `int32` labels remapped to `0..k-1` within the half. B's
    validation images are drawn from its training images, disjoint from the ones B's networks train on.
    """
    if config["dataset"] == "pasted_fashion_mnist":
        return _pasted_halves(config)
    if config["dataset"] == "fashion_mnist":
        (x_train, y_train), (x_test, y_test) = datasets.load_fashion_mnist()
        x_train, x_test, names = x_train[..., None], x_test[..., None], datasets.FASHION_MNIST_CLASSES
    else:
        (x_train, y_train), (x_test, y_test), names = load_cifar100(config["tfds_data_dir"])
    split = datasets.split_classes(len(names), seed=config["split_seed"])
    data = {"split": split, "names": {half: split.names(names, half) for half in "ab"}}
    seed = config["split_seed"]
    for half in "ab":
        x, y = split.select(x_train, y_train, half)
        per_class = config[f"train_per_class_{half}"]
        validation = config["validation_per_class"] if half == "b" else None
        if validation:
            per_class = per_class or int(np.bincount(y).min()) - validation
            train, data_validation = datasets.split_per_class(x, y, per_class, validation, seed=seed)
            data[half] = {"validation": _labels(data_validation)}
        else:
            train = datasets.take_per_class(x, y, per_class, seed=seed) if per_class else (x, y)
            data[half] = {}
        test = split.select(x_test, y_test, half)
        if config["test_per_class"]:
            test = datasets.take_per_class(*test, config["test_per_class"], seed=seed)
        data[half].update(train=_labels(train), test=_labels(test))
    data["num_classes"] = len(split.classes_b)
    data["input_shape"] = tuple(int(size) for size in x_train.shape[1:])
    return data


def _labels(pair):
    return pair[0], np.asarray(pair[1]).astype("int32")


def _network(config, data, kind, seed):
    return build_network(config, data["num_classes"], data["input_shape"], init_seed(kind, seed))


def _train(model, half, data, config, seed):
    """Trains one network on `half`, evaluates it on the half's validation and test sets, and times both."""
    sets = data[half]
    clock = base.Stopwatch()
    record = train_network(
        model, sets["train"], {name: sets[name] for name in ("validation", "test") if name in sets},
        epochs=config[f"epochs_{half}"], batch_size=config["batch_size"], learning_rate=config["learning_rate"],
        seed=seed, run_eagerly=config["run_eagerly"], patience=config["patience_b"] if half == "b" else None,
        min_epochs=config["min_epochs_b"] if half == "b" and config["patience_b"] is not None else 0,
    )
    return {**record, **clock.times()}


def grid_task(shared, task, *earlier):
    """One network of the grid as a task of `parallel.Workers`.

    `("base", half, seed)` trains base A or B and returns `(record, weights)`; `("run", family, n, seed)` trains one
    run on B, its source base rebuilt from the weights `earlier` holds (the base's task, trained in this run) or
    from `shared["bases"][half, seed]` (a base resumed from disk), and returns the run's record.
    """
    config, data = shared["config"], shared["data"]
    if task[0] == "base":
        model, entry = train_base(task[1], task[2], data, config)
        return entry, model.get_weights()
    _, family, n, seed = task
    source = FAMILIES[family][0]
    bases = {source: _network(config, data, f"base{source}", seed)}
    bases[source].set_weights(earlier[0][1] if earlier else shared["bases"][source, seed])
    return train_transfer_run(family, n, seed, bases, data, config)


def train_base(half, seed, data, config):
    """Trains base A (on A) or base B (on B) for `seed`; returns `(model, record)`."""
    model = _network(config, data, f"base{half}", seed)
    name = f"base{half.upper()}"
    entry = {"run_id": f"{name}-seed{seed}", "model": name, "family": name, "n": 0, "seed": int(seed),
             "source": None, "fine_tuned": None}
    return model, {**entry, **_train(model, half, data, config, init_seed(f"base{half}", seed))}


def train_transfer_run(family, n, seed, bases, data, config):
    """Trains one network of the grid on B: the first `n` layers copied from `bases[...]`, frozen or fine-tuned."""
    source, fine_tuned = FAMILIES[family]
    model = transfer_layers(bases[source], _network(config, data, "transfer", seed), n, trainable=fine_tuned)
    entry = {"run_id": run_id(family, n, seed), "model": f"{family}-n{n}", "family": family, "n": int(n),
             "seed": int(seed), "source": f"base{source.upper()}", "fine_tuned": fine_tuned}
    return {**entry, **_train(model, "b", data, config, init_seed("transfer", seed))}


def _check_config(config, seeds):
    config = dict(config, seeds=base.check_seeds(config["seeds"] if seeds is None else seeds))
    if config["dataset"] not in DATASETS:
        raise ValueError(f"`dataset` must be one of {DATASETS}. Received: dataset={config['dataset']!r}")
    for key, allowed in (("n_values", range(1, len(LAYER_NAMES))), ("families", FAMILIES)):
        value = config[key]
        if isinstance(value, (str, int)) or not hasattr(value, "__iter__") or not list(value):
            raise ValueError(f"`{key}` must be a non-empty sequence. Received: {key}={value!r}")
        if len(set(value)) != len(value) or any(isinstance(item, bool) or item not in allowed for item in value):
            raise ValueError(f"`{key}` must hold distinct values among {tuple(allowed)} (for n: layer n of "
                             f"{LAYER_NAMES}, 1..{len(LAYER_NAMES) - 1}). Received: {key}={value!r}")
        config[key] = tuple(value)
    for key in ("epochs_a", "epochs_b", "batch_size"):
        if isinstance(config[key], bool) or not isinstance(config[key], int) or config[key] < 1:
            raise ValueError(f"`{key}` must be a positive integer. Received: {key}={config[key]!r}")
    if config["patience_b"] is not None and not config["validation_per_class"]:
        raise ValueError("`patience_b` stops on B's validation set: set `validation_per_class` too, or "
                         f"patience_b=None. Received: validation_per_class={config['validation_per_class']!r}")
    if isinstance(config["min_epochs_b"], bool) or not isinstance(config["min_epochs_b"], int) or not (
            0 <= config["min_epochs_b"] < config["epochs_b"]):
        raise ValueError(f"`min_epochs_b` must be an integer in [0, epochs_b={config['epochs_b']}). "
                         f"Received: min_epochs_b={config['min_epochs_b']!r}")
    for key in ("patience_b", "train_per_class_a", "train_per_class_b", "validation_per_class", "test_per_class"):
        value = config[key]
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"`{key}` must be None (all) or a positive integer. Received: {key}={value!r}")
    config["n_values"] = tuple(int(n) for n in config["n_values"])
    return config

