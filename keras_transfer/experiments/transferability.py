"""How transferable are features? Yosinski et al.'s (2014) BnB, AnB, BnB+ and AnB+ for n = 1..7.

Base A and base B are the same 8-layer network (`small_alexnet`) trained on two disjoint halves of the classes. For
every n a fresh network copies the first n layers of base B (BnB, the "selffer" control) or of base A (AnB, the
transfer network), frozen, or fine-tuned (BnB+, AnB+); the layers above n are re-initialised and trained on B.
Every run's test accuracy on B is one row.

Profiles:

- `smoke`: n in {1, 4, 7}, one seed, a few hundred Fashion-MNIST images, a tiny network: seconds.
- `quick`: Fashion-MNIST halves of 5 classes (`split_classes(10, seed=0)`), n = 1..7, the four families, one seed:
  28 transfer runs and 2 base networks, 600 training images per class, 6 epochs each: about 850 CPU-seconds,
  i.e. 10-15 minutes on an idle 2-core CPU.
- `full`: CIFAR-100 halves of 50 classes (tensorflow-datasets `cifar100`, downloaded on first use), a wider
  network, three seeds: meant for a GPU.

The grid resumes: every finished run (and each base network's weights) is saved in `output_dir` as soon as it
ends, in `runs.jsonl` keyed by run id and by a fingerprint of the settings that change a run's outcome. Rerunning
the same experiment trains only the runs not yet there; changing `n_values`, `families` or `seeds` reuses the runs
that the old and new grids share. (A base network whose weights file has been deleted is trained again; the runs
already recorded keep the numbers they got from the old one.)
"""

import hashlib
import json
import os
import pathlib
import statistics
import time
import zlib

import keras
import numpy as np
from tqdm import tqdm

from keras_transfer import paths
from keras_transfer import profiles
from keras_transfer.experiments.base import ExperimentResult
from keras_transfer.models.transfer import LAYER_NAMES
from keras_transfer.models.transfer import small_alexnet
from keras_transfer.models.transfer import transfer_layers

NAME = "transferability"

# The four kinds of network of the paper: (source half, fine-tuned?).
FAMILIES = {"BnB": ("b", False), "AnB": ("a", False), "BnB+": ("b", True), "AnB+": ("a", True)}

DATASETS = ("fashion_mnist", "cifar100")

# Each dataset's image shape and number of classes per half.
INPUT_SHAPES = {"fashion_mnist": (28, 28, 1), "cifar100": (32, 32, 3)}
HALF_CLASSES = {"fashion_mnist": 5, "cifar100": 50}

CONFIGS = {
    "smoke": {
        "dataset": "fashion_mnist",
        "split_seed": 0,
        "n_values": (1, 4, 7),
        "families": ("BnB", "AnB", "BnB+", "AnB+"),
        "seeds": (0,),
        "base_seed": 0,
        "train_per_class": 30,
        "test_per_class": 20,
        "epochs": 1,
        "batch_size": 32,
        "learning_rate": 1e-3,
        "filters": (4, 8, 8, 8, 8),
        "kernel_sizes": (3, 3, 3, 3, 3),
        "units": (16, 16),
        "dropout": 0.0,
        "tfds_data_dir": None,
        "run_eagerly": True,
        "resume": True,
    },
    "quick": {
        "dataset": "fashion_mnist",
        "split_seed": 0,
        "n_values": (1, 2, 3, 4, 5, 6, 7),
        "families": ("BnB", "AnB", "BnB+", "AnB+"),
        "seeds": (0,),
        "base_seed": 0,
        "train_per_class": 600,
        "test_per_class": None,
        "epochs": 6,
        "batch_size": 64,
        "learning_rate": 1e-3,
        "filters": (32, 64, 96, 96, 64),
        "kernel_sizes": (5, 3, 3, 3, 3),
        "units": (256, 256),
        "dropout": 0.5,
        "tfds_data_dir": None,
        "run_eagerly": False,
        "resume": True,
    },
    "full": {
        "dataset": "cifar100",
        "split_seed": 0,
        "n_values": (1, 2, 3, 4, 5, 6, 7),
        "families": ("BnB", "AnB", "BnB+", "AnB+"),
        "seeds": (0, 1, 2),
        "base_seed": 0,
        "train_per_class": None,
        "test_per_class": None,
        "epochs": 30,
        "batch_size": 128,
        "learning_rate": 1e-3,
        "filters": (64, 128, 192, 192, 128),
        "kernel_sizes": (5, 3, 3, 3, 3),
        "units": (512, 512),
        "dropout": 0.5,
        "tfds_data_dir": None,
        "run_eagerly": False,
        "resume": True,
    },
}

# Settings that change what a single run computes; the others (which runs, whether to resume, eager execution, which
# is the same mathematics, faster for the smoke profile's tiny batches) do not.
_RUN_KEYS = (
    "dataset",
    "split_seed",
    "base_seed",
    "train_per_class",
    "test_per_class",
    "epochs",
    "batch_size",
    "learning_rate",
    "filters",
    "kernel_sizes",
    "units",
    "dropout",
)

# Yosinski et al. (2014), Figure 2, in words (FACTS.md): what each family does as n grows.
PAPER_PATTERN = {
    "BnB": "dips below base B at n = 4-5 (co-adapted layers split apart), recovers at n = 6-7",
    "AnB": "close to base B at n = 1-2, falls further and further from n = 3 to 7 (features grow specific)",
    "BnB+": "about base B at every n (fine-tuning repairs the co-adaptation)",
    "AnB+": "above base B at every n (transfer plus fine-tuning generalises better)",
}

RUNS_FILE = "runs.jsonl"


def run(profile="quick", *, seeds=None, output_dir=None, verbose=1, **overrides):
    """Trains base A and base B, then BnB, AnB, BnB+ and AnB+ for every n and seed; returns one row per run.

    Args:
        profile: str. `"smoke"`, `"quick"` or `"full"` (see the module docstring).
        seeds: sequence of int or None. The seeds of the transfer runs (default: the profile's). Runs with the same
            seed share the fresh initialisation of the re-initialised layers and the batch order, so at one n the
            four families differ only in what they copy and whether it is frozen.
        output_dir: str, Path or None. Where `runs.jsonl`, the base networks' weights and `result.json` go
            (default `paths.results_dir("transferability", profile)`). Finished runs found there are not retrained.
        verbose: int. 0 is silent; 1 shows one progress bar over the whole grid; 2 also prints a line per run.
        **overrides: settings of the profile to change, e.g. `epochs=2`, `n_values=(1, 7)`,
            `families=("AnB", "AnB+")`, `train_per_class=100`, `resume=False` (retrain everything).

    Returns:
        An `ExperimentResult` whose rows are `{"run_id", "model", "family", "n", "seed", "source", "fine_tuned",
        "test_accuracy", "test_loss", "train_accuracy", "epochs", "wall_time_s", "cpu_time_s", "resumed"}`, one per
        run, accuracies on B's test set, base B first (`family="baseB"`, `n=0`); `metadata["base_accuracy"]` holds
        base A's accuracy on A and base B's on B; `histories` the per-epoch loss and accuracy of every run.

    Example:

    ```python
    result = run("smoke", verbose=0)
    print(accuracy_table(result))
    ```

    Reference:
        - [Yosinski et al., 2014](https://arxiv.org/abs/1411.1792): How transferable are features in deep neural
          networks?
    """
    config = profiles.select(CONFIGS, profile, overrides)
    if seeds is not None:
        config["seeds"] = seeds
    config = _check_config(config)
    output_dir = pathlib.Path(output_dir) if output_dir is not None else paths.results_dir(NAME, profile)
    output_dir.mkdir(parents=True, exist_ok=True)
    fingerprint = config_fingerprint(config)
    runs_path = output_dir / RUNS_FILE
    finished = load_finished_runs(runs_path, fingerprint) if config["resume"] else {}

    started, cpu_started = time.perf_counter(), time.process_time()
    data = load_halves(config)
    grid = [
        (family, n, seed) for seed in config["seeds"] for n in config["n_values"] for family in config["families"]
    ]
    todo = [cell for cell in grid if run_id(*cell) not in finished]
    bases_todo = [half for half in ("a", "b") if not _base_is_saved(output_dir, fingerprint, half, finished)]
    progress = tqdm(
        total=2 + len(grid),
        initial=2 + len(grid) - len(todo) - len(bases_todo),
        desc=NAME,
        unit="run",
        disable=not verbose,
        dynamic_ncols=True,
    )
    try:
        bases = {}
        for half in ("a", "b"):
            if half in bases_todo:
                progress.set_postfix_str(f"base{half.upper()}")
                bases[half], record = _train_base(half, data, config)
                _save_base(bases[half], output_dir, fingerprint, half)
                append_run(runs_path, {**record, "config_fingerprint": fingerprint})
                finished[record["run_id"]] = {**record, "resumed": False}
                progress.update(1)
                _report(progress, verbose, record)
            elif todo:
                bases[half] = _load_base(half, data, config, output_dir, fingerprint)
        for family, n, seed in todo:
            progress.set_postfix_str(run_id(family, n, seed))
            record = train_transfer_run(family, n, seed, bases, data, config)
            append_run(runs_path, {**record, "config_fingerprint": fingerprint})
            finished[record["run_id"]] = {**record, "resumed": False}
            progress.update(1)
            _report(progress, verbose, record)
    finally:
        progress.close()

    rows, histories = [], {}
    for identifier in ["baseB"] + [run_id(*cell) for cell in grid]:
        record = dict(finished[identifier])
        histories[identifier] = record.pop("history")
        record.pop("config_fingerprint", None)
        rows.append(record)
    base_a = finished["baseA"]
    histories["baseA"] = base_a["history"]
    used = [base_a] + rows
    metadata = {
        "config": _jsonable(config),
        "config_fingerprint": fingerprint,
        "backend": keras.backend.backend(),
        "layers": list(LAYER_NAMES),
        "classes_a": list(data["split"].classes_a),
        "classes_b": list(data["split"].classes_b),
        "class_names_a": list(data["names_a"]),
        "class_names_b": list(data["names_b"]),
        "train_size": {"a": int(len(data["a"][1])), "b": int(len(data["b"][1]))},
        "test_size": {"a": int(len(data["a"][3])), "b": int(len(data["b"][3]))},
        "base_accuracy": {"A": base_a["test_accuracy"], "B": finished["baseB"]["test_accuracy"]},
        "base_accuracy_on": {"A": "test set of half A", "B": "test set of half B"},
        "runs_trained": sum(1 for record in used if not record["resumed"]),
        "runs_resumed": sum(1 for record in used if record["resumed"]),
        "training_time_s": sum(record["wall_time_s"] for record in used),
        "training_cpu_time_s": sum(record.get("cpu_time_s", 0.0) for record in used),
        "wall_time_s": time.perf_counter() - started,
        "cpu_time_s": time.process_time() - cpu_started,
        "paper_pattern": dict(PAPER_PATTERN),
        "output_dir": str(output_dir),
    }
    result = ExperimentResult(name=NAME, profile=profile, rows=rows, histories=histories, metadata=metadata)
    result.save(output_dir)
    return result


def _report(progress, verbose, record):
    if verbose >= 2:
        progress.write(
            f"{record['run_id']}: test accuracy {record['test_accuracy']:.4f} ({record['wall_time_s']:.1f} s)"
        )


def run_id(family, n, seed):
    """The key of one transfer run in `runs.jsonl`, e.g. `"AnB+-n3-seed0"`."""
    return f"{family}-n{n}-seed{seed}"


def config_fingerprint(config):
    """A short hash of the settings that change a run's outcome (and the Keras backend)."""
    key = {name: _jsonable(config[name]) for name in _RUN_KEYS}
    key["backend"] = keras.backend.backend()
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]


def load_finished_runs(path, fingerprint):
    """The runs recorded in a `runs.jsonl` under `fingerprint`, by run id; `{}` if the file does not exist.

    A last line cut off by an interrupted write is ignored (that run is trained again).
    """
    path = pathlib.Path(path)
    finished = {}
    if not path.exists():
        return finished
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and record.get("config_fingerprint") == fingerprint and "run_id" in record:
            record["resumed"] = True
            finished[record["run_id"]] = record
    return finished


def append_run(path, record):
    """Appends one run as a JSON line and forces it to disk, so it survives an interruption right after."""
    path = pathlib.Path(path)
    line = json.dumps(_jsonable(record), sort_keys=True)
    with open(path, "a+b") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() > 0:
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) != b"\n":  # a line cut off by an earlier interruption: start a new one
                handle.write(b"\n")
        handle.write(line.encode() + b"\n")
        handle.flush()
        os.fsync(handle.fileno())


def load_halves(config):
    """The train and test images of halves A and B: `{"a": (x_train, y_train, x_test, y_test), "b": ..., ...}`.

    Images are `uint8` `(N, H, W, C)`; labels are remapped to `0..k-1` within each half (`ClassSplit.select`).
    """
    from keras_transfer import datasets

    if config["dataset"] == "fashion_mnist":
        (x_train, y_train), (x_test, y_test) = datasets.load_fashion_mnist()
        x_train, x_test = x_train[..., None], x_test[..., None]
        all_names = datasets.FASHION_MNIST_CLASSES
        num_classes = 10
    else:
        (x_train, y_train), (x_test, y_test), all_names = load_cifar100(config["tfds_data_dir"])
        num_classes = 100
    split = datasets.split_classes(num_classes, seed=config["split_seed"])
    data = {"split": split, "names_a": split.names(all_names, "a"), "names_b": split.names(all_names, "b")}
    for half in ("a", "b"):
        x_half, y_half = split.select(x_train, y_train, half)
        x_half_test, y_half_test = split.select(x_test, y_test, half)
        if config["train_per_class"] is not None:
            x_half, y_half = datasets.take_per_class(
                x_half, y_half, config["train_per_class"], seed=config["split_seed"]
            )
        if config["test_per_class"] is not None:
            x_half_test, y_half_test = datasets.take_per_class(
                x_half_test, y_half_test, config["test_per_class"], seed=config["split_seed"]
            )
        data[half] = (x_half, y_half.astype("int32"), x_half_test, y_half_test.astype("int32"))
    data["num_classes"] = {"a": len(split.classes_a), "b": len(split.classes_b)}
    data["input_shape"] = tuple(int(size) for size in x_train.shape[1:])
    return data


def load_cifar100(data_dir=None):
    """CIFAR-100 through tensorflow-datasets (downloaded and prepared on first use, about 160 MB).

    Args:
        data_dir: str, Path or None. The tensorflow-datasets folder (default `paths.cache_dir("tensorflow_datasets")`
            under `$KT_DATA_DIR`).

    Returns:
        `((x_train, y_train), (x_test, y_test), class_names)`: `uint8` `(50000, 32, 32, 3)` and `(10000, 32, 32, 3)`
        images, the 100 fine labels as `int64`, and the 100 fine label names.
    """
    import tensorflow_datasets as tfds

    data_dir = str(data_dir) if data_dir is not None else str(paths.cache_dir("tensorflow_datasets"))
    arrays = []
    for split in ("train", "test"):
        dataset, info = tfds.load("cifar100", split=split, as_supervised=True, data_dir=data_dir, with_info=True)
        images, labels = [], []
        for image_batch, label_batch in tfds.as_numpy(dataset.batch(4096)):
            images.append(image_batch)
            labels.append(label_batch)
        arrays.append((np.concatenate(images).astype("uint8"), np.concatenate(labels).astype("int64")))
    return arrays[0], arrays[1], tuple(info.features["label"].names)


def build_network(config, num_classes=None, input_shape=None, seed=None):
    """The profile's `small_alexnet`, initialised from `seed`.

    Args:
        config: dict. A profile's settings, e.g. `CONFIGS["quick"]`.
        num_classes: int or None. Default: the classes of one half of the config's dataset.
        input_shape: tuple or None. Default: the config's dataset's image shape.
        seed: int or None. Seeds the initialisation.
    """
    return small_alexnet(
        input_shape or INPUT_SHAPES[config["dataset"]],
        num_classes or HALF_CLASSES[config["dataset"]],
        filters=tuple(config["filters"]),
        kernel_sizes=tuple(config["kernel_sizes"]),
        units=tuple(config["units"]),
        dropout=config["dropout"],
        seed=seed,
    )


def _init_seed(kind, seed):
    """Distinct, stable initialisation seeds for base A, base B and the transfer runs of each seed."""
    return zlib.crc32(f"{kind}/{seed}".encode()) % 1_000_000


def _fit_and_evaluate(model, x_train, y_train, x_test, y_test, config, seed):
    keras.utils.set_random_seed(seed)
    model.compile(
        optimizer=keras.optimizers.Adam(config["learning_rate"]),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        run_eagerly=config["run_eagerly"],
    )
    history = model.fit(x_train, y_train, epochs=config["epochs"], batch_size=config["batch_size"], verbose=0)
    loss, accuracy = model.evaluate(x_test, y_test, batch_size=max(config["batch_size"], 256), verbose=0)
    history = {key: [float(value) for value in values] for key, values in history.history.items()}
    return float(loss), float(accuracy), history


def _train_base(half, data, config):
    started, cpu_started = time.perf_counter(), time.process_time()
    seed = _init_seed(f"base{half}", config["base_seed"])
    model = build_network(config, data["num_classes"][half], data["input_shape"], seed)
    x_train, y_train, x_test, y_test = data[half]
    loss, accuracy, history = _fit_and_evaluate(model, x_train, y_train, x_test, y_test, config, seed)
    record = {
        "run_id": f"base{half.upper()}",
        "model": f"base{half.upper()}",
        "family": f"base{half.upper()}",
        "n": 0,
        "seed": config["base_seed"],
        "source": None,
        "fine_tuned": None,
        "test_accuracy": accuracy,
        "test_loss": loss,
        "train_accuracy": history["accuracy"][-1],
        "epochs": config["epochs"],
        "wall_time_s": time.perf_counter() - started,
        "cpu_time_s": time.process_time() - cpu_started,
        "history": history,
    }
    return model, record


def _base_path(output_dir, fingerprint, half):
    return pathlib.Path(output_dir) / f"base_{half}-{fingerprint}.weights.h5"


def _base_is_saved(output_dir, fingerprint, half, finished):
    return f"base{half.upper()}" in finished and _base_path(output_dir, fingerprint, half).exists()


def _save_base(model, output_dir, fingerprint, half):
    path = _base_path(output_dir, fingerprint, half)
    partial = path.with_name(f"partial-{path.name}")
    model.save_weights(partial)
    partial.replace(path)


def _load_base(half, data, config, output_dir, fingerprint):
    seed = _init_seed(f"base{half}", config["base_seed"])
    model = build_network(config, data["num_classes"][half], data["input_shape"], seed)
    model.load_weights(_base_path(output_dir, fingerprint, half))
    return model


def train_transfer_run(family, n, seed, bases, data, config):
    """Trains one network of the grid on B and returns its record (with its per-epoch history).

    Args:
        family: str. `"BnB"`, `"AnB"`, `"BnB+"` or `"AnB+"`.
        n: int. How many layers to copy from the base network (1..7).
        seed: int. Seeds the fresh layers and the batch order.
        bases: dict. `{"a": base_a, "b": base_b}`, trained networks.
        data: dict. What `load_halves` returns.
        config: dict. The profile's settings.
    """
    started, cpu_started = time.perf_counter(), time.process_time()
    source_half, fine_tuned = FAMILIES[family]
    init_seed = _init_seed("transfer", seed)
    model = build_network(config, data["num_classes"]["b"], data["input_shape"], init_seed)
    transfer_layers(bases[source_half], model, n, trainable=fine_tuned)
    x_train, y_train, x_test, y_test = data["b"]
    loss, accuracy, history = _fit_and_evaluate(model, x_train, y_train, x_test, y_test, config, init_seed)
    return {
        "run_id": run_id(family, n, seed),
        "model": f"{family}-n{n}",
        "family": family,
        "n": int(n),
        "seed": int(seed),
        "source": f"base{source_half.upper()}",
        "fine_tuned": fine_tuned,
        "test_accuracy": accuracy,
        "test_loss": loss,
        "train_accuracy": history["accuracy"][-1],
        "epochs": config["epochs"],
        "wall_time_s": time.perf_counter() - started,
        "cpu_time_s": time.process_time() - cpu_started,
        "history": history,
    }


def _check_config(config):
    config = dict(config)
    if config["dataset"] not in DATASETS:
        raise ValueError(f"`dataset` must be one of {DATASETS}. Received: dataset={config['dataset']!r}")
    for key in ("n_values", "seeds", "families"):
        value = config[key]
        if isinstance(value, (str, int)) or not hasattr(value, "__iter__") or not list(value):
            raise ValueError(f"`{key}` must be a non-empty sequence. Received: {key}={value!r}")
        config[key] = tuple(value)
        if len(set(config[key])) != len(config[key]):
            raise ValueError(f"`{key}` must not repeat a value. Received: {key}={value!r}")
    for n in config["n_values"]:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= len(LAYER_NAMES) - 1:
            raise ValueError(
                f"Every n must be an integer in 1..{len(LAYER_NAMES) - 1} (layer n of {LAYER_NAMES}). "
                f"Received: n_values={config['n_values']!r}"
            )
    for seed in config["seeds"]:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"Every seed must be a non-negative integer. Received: seeds={config['seeds']!r}")
    unknown = [family for family in config["families"] if family not in FAMILIES]
    if unknown:
        raise ValueError(f"`families` must be among {tuple(FAMILIES)}. Received: families={config['families']!r}")
    for key in ("epochs", "batch_size"):
        if isinstance(config[key], bool) or not isinstance(config[key], int) or config[key] < 1:
            raise ValueError(f"`{key}` must be a positive integer. Received: {key}={config[key]!r}")
    for key in ("train_per_class", "test_per_class"):
        value = config[key]
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"`{key}` must be None (all) or a positive integer. Received: {key}={value!r}")
    config["n_values"] = tuple(int(n) for n in config["n_values"])
    config["seeds"] = tuple(int(seed) for seed in config["seeds"])
    return config


def _jsonable(value):
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pathlib.Path):
        return str(value)
    return value


def family_means(result):
    """Mean test accuracy on B over seeds: `{family: {n: mean}}`, plus `"baseB"` as `{0: mean}`."""
    groups = {}
    for row in result.rows:
        groups.setdefault(row["family"], {}).setdefault(row["n"], []).append(row["test_accuracy"])
    return {
        family: {n: statistics.fmean(values) for n, values in sorted(by_n.items())} for family, by_n in groups.items()
    }


def accuracy_table(result, digits=4):
    """A Markdown table: one line per family, one column per n, `mean ± std` over seeds (`mean` with one seed)."""
    groups = {}
    for row in result.rows:
        groups.setdefault(row["family"], {}).setdefault(row["n"], []).append(row["test_accuracy"])
    n_values = sorted({row["n"] for row in result.rows if row["family"] != "baseB"})
    header = ["family", *(f"n={n}" for n in n_values)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    base = groups.get("baseB", {}).get(0, [])
    if base:
        lines.append("| baseB (n=0) | " + " | ".join([_cell(base, digits)] * len(n_values)) + " |")
    for family in FAMILIES:
        if family in groups:
            cells = [_cell(groups[family].get(n, []), digits) for n in n_values]
            lines.append(f"| {family} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(values, digits):
    if not values:
        return ""
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.fmean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def compare_with_paper(result, tolerance=0.005):
    """Checks the paper's qualitative pattern (Figure 2, `PAPER_PATTERN`) against our measured means.

    Accuracy differences smaller than `tolerance` count as "the same" (with one seed per point the run-to-run spread
    is not measured, so read a verdict near the tolerance as undecided). A family agrees with the paper when:

    - BnB: its lowest mean at n = 3..6 is more than `tolerance` below base B and below every mean at n <= 2 and
      n >= 7 (a dip in the middle);
    - AnB: its mean over n <= 2 is no more than `tolerance` below base B, and its mean at the largest n (6 or 7) is
      more than `tolerance` below that (a fall as n grows);
    - BnB+: every mean is within `tolerance` of base B;
    - AnB+: every mean is above base B.

    Args:
        result: ExperimentResult. What `run` returned.
        tolerance: float. The accuracy difference below which two means count as equal.

    Returns:
        A list of dicts `{"family", "paper", "ours", "agrees"}`, one per family the result holds; `agrees` is a bool,
        or None where the grid lacks the n values the claim needs.
    """
    means = family_means(result)
    base = means["baseB"][0]
    comparisons = []

    def _points(values):
        return ", ".join(f"n={n}: {100 * (value - base):+.2f}" for n, value in values.items())

    if "BnB" in means:
        bnb = means["BnB"]
        worst_n = min(bnb, key=bnb.get)
        middle = {n: value for n, value in bnb.items() if 3 <= n <= 6}
        ends = {n: value for n, value in bnb.items() if n <= 2 or n >= 7}
        agrees = None
        if middle and ends:
            lowest = min(middle.values())
            agrees = bool(lowest < base - tolerance and lowest < min(ends.values()) - tolerance)
        comparisons.append(
            {
                "family": "BnB",
                "paper": PAPER_PATTERN["BnB"],
                "ours": f"lowest at n={worst_n}; points vs base B: {_points(bnb)}",
                "agrees": agrees,
            }
        )
    if "AnB" in means:
        anb = means["AnB"]
        low = [n for n in anb if n <= 2]
        agrees = None
        if low and max(anb) >= 6:
            early, late = statistics.fmean(anb[n] for n in low), anb[max(anb)]
            agrees = bool(early >= base - tolerance and late < early - tolerance)
        comparisons.append(
            {
                "family": "AnB",
                "paper": PAPER_PATTERN["AnB"],
                "ours": f"points vs base B: {_points(anb)}",
                "agrees": agrees,
            }
        )
    if "BnB+" in means:
        bnb_plus = means["BnB+"]
        agrees = bool(all(abs(value - base) <= tolerance for value in bnb_plus.values()))
        comparisons.append(
            {
                "family": "BnB+",
                "paper": PAPER_PATTERN["BnB+"],
                "ours": f"points vs base B: {_points(bnb_plus)}",
                "agrees": agrees,
            }
        )
    if "AnB+" in means:
        anb_plus = means["AnB+"]
        above = [n for n, value in anb_plus.items() if value > base]
        comparisons.append(
            {
                "family": "AnB+",
                "paper": PAPER_PATTERN["AnB+"],
                "ours": f"above base B at {len(above)} of {len(anb_plus)} n; points vs base B: {_points(anb_plus)}",
                "agrees": bool(len(above) == len(anb_plus)),
            }
        )
    return comparisons


def comparison_table(result, tolerance=0.005):
    """`compare_with_paper` as a Markdown table (accuracy differences in percentage points)."""
    lines = ["| family | Yosinski et al. 2014 (Fig. 2) | ours (points vs base B) | agrees |", "|---|---|---|---|"]
    for entry in compare_with_paper(result, tolerance=tolerance):
        verdict = {True: "yes", False: "no", None: "n/a (grid too small)"}[entry["agrees"]]
        lines.append(f"| {entry['family']} | {entry['paper']} | {entry['ours']} | {verdict} |")
    return "\n".join(lines)
