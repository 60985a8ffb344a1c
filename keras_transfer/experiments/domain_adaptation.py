"""Unsupervised domain adaptation by backpropagation: source only, DANN and train on target, as in the paper's Table 1.

Three models of the same architecture (the paper's MNIST network, `keras_transfer.models.dann.build_mnist_dann`),
trained with the same data, optimizer and number of steps, differ only in what drives the feature extractor:

- `source_only`: the labelled source domain only. The domain classifier still trains on top of the features, but
  the gradient reversal strength stays 0, so it is a mere observer: its accuracy says how separable the domains are
  in features that were not adapted.
- `dann`: the labelled source and the unlabelled target; `GradientReversalSchedule` raises the strength as
  `λ_p = 2 / (1 + exp(-10 p)) - 1`, so the feature extractor learns to fool the domain classifier.
- `train_on_target`: the labelled target domain (the upper bound; the domain classifier again only observes).

All three use SGD with momentum 0.9 and the learning rate `μ_p = 0.01 / (1 + 10 p) ** 0.75`
(`InverseProgressDecay`), batches half source and half target (`pair_domains`). Each row is one model and seed:
`target_accuracy` (the number of the paper's table: accuracy on the target test set), `source_accuracy`, and
`domain_accuracy`, the final domain classifier's accuracy on the held-out source and target test images (0.5 is
chance). "Gap closed" is `(DANN - source only) / (train on target - source only)` per seed, then mean ± std.

Histories (`"<model>/seed<seed>"`, per epoch): Keras's logs (`label_accuracy` on source training batches,
`domain_accuracy` on training batches; `val_label_accuracy` is the target test accuracy and `val_domain_accuracy`
the held-out domain accuracy, the validation batches carrying label weight on the target images only; target labels
never reach training except in `train_on_target`), `grl_strength` and `learning_rate` at the end of each epoch; the
DANN runs also keep `grl_strength_per_batch`. `metadata["projection"]` holds a 2-D projection (PCA or t-SNE) of
source and target test features of the first seed's source-only and DANN models, for the paper's figure.

Profiles:

- `smoke`: a few hundred Fashion-MNIST / Fashion-MNIST-M images, 2 epochs, 2 seeds: seconds.
- `quick`: Fashion-MNIST → Fashion-MNIST-M (Fashion-MNIST blended with scikit-learn's two colour photos, offline),
  15,000 training images of each domain, batches of 32 + 32, 5 epochs (2,340 steps), 3 seeds.
- `full`: MNIST → MNIST-M (MNIST blended with BSDS500 photos; both downloaded), all images, 3 seeds: for a GPU.

Reference:
    - [Ganin & Lempitsky, Unsupervised Domain Adaptation by Backpropagation, ICML 2015](
        https://arxiv.org/abs/1409.7495)
"""

import math
import statistics
import time

import keras
import numpy as np

from keras_transfer import callbacks as kt_callbacks
from keras_transfer import paths
from keras_transfer import profiles
from keras_transfer import schedules as kt_schedules
from keras_transfer.experiments.base import ExperimentResult
from keras_transfer.models import dann

NAME = "dann"

MODELS = ("source_only", "dann", "train_on_target")
MODEL_TITLES = {"source_only": "source only", "dann": "DANN", "train_on_target": "train on target"}

TASKS = {
    "fashion_mnist": "Fashion-MNIST → Fashion-MNIST-M",
    "mnist": "MNIST → MNIST-M",
}

# Ganin & Lempitsky (2015), Table 1: accuracy on the target test set (FACTS.md).
PAPER_TABLE_1 = (
    {"task": "MNIST → MNIST-M", "source_only": 0.5749, "sa": 0.6078, "dann": 0.8149, "train_on_target": 0.9891},
    {"task": "Syn Numbers → SVHN", "source_only": 0.8665, "sa": 0.8672, "dann": 0.9048, "train_on_target": 0.9244},
    {"task": "SVHN → MNIST", "source_only": 0.5919, "sa": 0.6157, "dann": 0.7107, "train_on_target": 0.9951},
    {"task": "Syn Signs → GTSRB", "source_only": 0.7400, "sa": 0.7635, "dann": 0.8866, "train_on_target": 0.9987},
)

_COMMON = {
    "learning_rate": 0.01,  # μ0
    "alpha": 10.0,
    "beta": 0.75,
    "momentum": 0.9,
    "gamma": 10.0,
    "max_strength": 1.0,
    "domain_loss_weight": 1.0,
    "data_seed": 0,  # which images form the subsets, and the MNIST-M patches
    "center_pixels": True,  # subtract the mean pixel of the source and target training images
    "models": MODELS,
}

CONFIGS = {
    "smoke": {
        **_COMMON,
        "task": "fashion_mnist",
        "train_size": 256,
        "test_size": 128,
        "epochs": 2,
        "batch_size": 64,
        "seeds": (0, 1),
        "projection": "pca",
        "projection_points": 64,
    },
    "quick": {
        **_COMMON,
        "task": "fashion_mnist",
        "train_size": 15000,
        "test_size": 4000,
        "epochs": 5,
        "batch_size": 64,
        "seeds": (0, 1, 2),
        "projection": "tsne",
        "projection_points": 500,
    },
    "full": {
        **_COMMON,
        "task": "mnist",
        "train_size": None,
        "test_size": None,
        "epochs": 20,
        "batch_size": 128,
        "seeds": (0, 1, 2),
        "projection": "tsne",
        "projection_points": 1000,
    },
}


def run(profile="quick", *, seeds=None, output_dir=None, verbose=1, **overrides):
    """Trains source only, DANN and train on target for every seed; returns one row per model and seed.

    Args:
        profile: str. `"smoke"`, `"quick"` or `"full"` (see the module docstring).
        seeds: sequence of int or None. The seeds (initialisation and batch order; the data subsets stay fixed by
            `data_seed`). Default: the profile's.
        output_dir: str, Path or None. Where `result.json` goes (default `paths.results_dir("dann", profile)`).
        verbose: int. 0 is silent; 1 prints a line per run and one per epoch; 2 shows Keras's progress bars.
        **overrides: settings of the profile to change, e.g. `epochs=1`, `train_size=2000`, `projection="pca"`.

    Returns:
        An `ExperimentResult` with rows `{"model", "seed", "target_accuracy", "source_accuracy",
        "domain_accuracy", "epochs", "steps", "wall_time_s", "cpu_time_s"}`, the histories, and in `metadata`
        the config, the data sizes, `gap_closed` (per seed, mean, std), the projection and the paper's table.
    """
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    config = profiles.select(CONFIGS, profile, overrides)
    _check_config(config)
    seeds = tuple(config["seeds"] if seeds is None else seeds)
    if not seeds or any(isinstance(seed, bool) or not isinstance(seed, int) or seed < 0 for seed in seeds):
        raise ValueError(f"`seeds` must be a non-empty sequence of ints >= 0. Received: seeds={seeds!r}")
    config["seeds"] = seeds

    data = load_task(config["task"], train_size=config["train_size"], test_size=config["test_size"],
                     data_seed=config["data_seed"], verbose=verbose)
    if verbose:
        sizes = {key: len(value[0]) for key, value in data.items()}
        print(f"[dann] profile={profile!r}: {TASKS[config['task']]}, {sizes}, seeds {list(seeds)}, "
              f"backend {keras.backend.backend()}")

    rows, histories, projection_models = [], {}, {}
    for seed in seeds:
        for model_name in config["models"]:
            model, row, history = train_one(model_name, seed, data, config, verbose=verbose)
            rows.append(row)
            histories[f"{model_name}/seed{seed}"] = history
            if verbose:
                print(f"[dann] {MODEL_TITLES[model_name]:>15}, seed {seed}: target accuracy "
                      f"{row['target_accuracy']:.4f}, source accuracy {row['source_accuracy']:.4f}, domain "
                      f"classifier accuracy {row['domain_accuracy']:.4f} ({row['wall_time_s']:.0f} s wall, "
                      f"{row['cpu_time_s']:.0f} s CPU)")
            if seed == seeds[0] and model_name in ("source_only", "dann"):
                projection_models[model_name] = model

    metadata = {
        "task": TASKS[config["task"]],
        "config": _jsonable(config),
        "backend": keras.backend.backend(),
        "sizes": {key: int(len(value[0])) for key, value in data.items()},
        "pixel_mean": pixel_mean_of(data) if config["center_pixels"] else None,
        "gap_closed": gap_closed(rows),
        "projection": feature_projection(projection_models, data, method=config["projection"],
                                         points=config["projection_points"], seed=seeds[0]),
        "paper_table_1": [dict(entry) for entry in PAPER_TABLE_1],
    }
    # the whole run: data, every training, the projection (CPU time counts every thread of this process)
    metadata["wall_time_s"] = time.perf_counter() - start_wall
    metadata["cpu_time_s"] = time.process_time() - start_cpu
    result = ExperimentResult(name=NAME, profile=profile, rows=rows, histories=histories, metadata=metadata)
    directory = output_dir if output_dir is not None else paths.results_dir(NAME, profile)
    result.save(directory)
    if verbose:
        print(comparison_markdown(result))
    return result


def load_task(task, *, train_size=None, test_size=None, data_seed=0, verbose=1):
    """The four sets of a task: `{"source_train", "target_train", "source_test", "target_test"}` of `(x, y)`.

    Images are uint8 `(N, 28, 28, 3)` (the grayscale source repeated over three channels), labels int32. The
    source and target training subsets are drawn independently (`data_seed`), so a target image is in general not
    the blended twin of a source image; the test subsets are the first `test_size` images of each test split.

    Args:
        task: str. `"fashion_mnist"` (offline: Fashion-MNIST → Fashion-MNIST-M) or `"mnist"` (MNIST → MNIST-M).
        train_size: int or None. Training images per domain (None: all).
        test_size: int or None. Test images per domain (None: all).
        data_seed: int. The seed of the subsets and of the MNIST-M patches.
        verbose: int. 1 shows progress while MNIST-M is built the first time.
    """
    from keras_transfer import datasets

    if task not in TASKS:
        raise ValueError(f"`task` must be one of {sorted(TASKS)}. Received: task={task!r}")
    limit = None
    if train_size is not None and test_size is not None and task == "fashion_mnist" and train_size <= 2000:
        limit = max(train_size, test_size) * 4  # small runs build only part of Fashion-MNIST-M
    if task == "fashion_mnist":
        source_splits = datasets.load_fashion_mnist()
    else:
        source_splits = keras.datasets.mnist.load_data()
    target_splits = datasets.load_mnist_m(task, seed=data_seed, limit=limit, verbose=verbose)
    rng = np.random.default_rng(data_seed)
    data = {}
    for split, size, index in (("train", train_size, 0), ("test", test_size, 1)):
        for domain, splits in (("source", source_splits), ("target", target_splits)):
            x, y = splits[index]
            if limit is not None:
                x, y = x[:limit], y[:limit]
            if size is not None and size > len(x):
                raise ValueError(
                    f"`{split}_size` is larger than the {domain} {split} split of {task!r} ({len(x)} images). "
                    f"Received: {split}_size={size}"
                )
            if split == "train":
                chosen = rng.permutation(len(x))[: size if size is not None else len(x)]
            else:
                chosen = np.arange(size if size is not None else len(x))
            x = np.asarray(x)[chosen]
            if x.ndim == 3:
                x = np.repeat(x[..., None], 3, axis=-1)
            data[f"{domain}_{split}"] = (x, np.asarray(y)[chosen].astype("int32"))
    return data


def train_one(model_name, seed, data, config, *, verbose=1):
    """Trains one model (`"source_only"`, `"dann"` or `"train_on_target"`) for one seed.

    Returns:
        `(model, row, history)`: the trained model, its row for the results table, its per-epoch history.
    """
    if model_name not in MODELS:
        raise ValueError(f"`model_name` must be one of {MODELS}. Received: model_name={model_name!r}")
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    keras.utils.set_random_seed(seed)
    x_source, y_source = data["source_train"]
    x_target, y_target = data["target_train"]
    num_classes = int(max(y_source.max(), y_target.max())) + 1
    pixel_mean = pixel_mean_of(data) if config["center_pixels"] else None
    model = dann.build_mnist_dann(input_shape=x_source.shape[1:], num_classes=num_classes, pixel_mean=pixel_mean,
                                  strength=0.0, name=f"{model_name}_seed{seed}")
    label_weights = (0.0, 1.0) if model_name == "train_on_target" else (1.0, 0.0)
    target = (x_target, y_target) if model_name == "train_on_target" else x_target  # DANN never sees them
    train = dann.pair_domains((x_source, y_source), target, config["batch_size"], label_weights=label_weights,
                              seed=seed)
    validation = dann.pair_domains(data["source_test"], data["target_test"], config["batch_size"],
                                   label_weights=(0.0, 1.0), training=False)
    steps_per_epoch = int(train.cardinality())
    total_steps = steps_per_epoch * config["epochs"]
    learning_rate = kt_schedules.InverseProgressDecay(config["learning_rate"], total_steps=total_steps,
                                                      alpha=config["alpha"], beta=config["beta"])
    dann.compile_dann(model, keras.optimizers.SGD(learning_rate, momentum=config["momentum"]),
                      domain_loss_weight=config["domain_loss_weight"])
    callbacks = []
    schedule = None
    if model_name == "dann":
        schedule = kt_callbacks.GradientReversalSchedule(gamma=config["gamma"], max_strength=config["max_strength"])
        callbacks.append(schedule)
    fit = model.fit(train, epochs=config["epochs"], validation_data=validation, callbacks=callbacks,
                    verbose={0: 0, 1: 2}.get(verbose, 1), shuffle=False)
    scores = dann.evaluate_domains(model, data["source_test"], data["target_test"], batch_size=256)
    wall, cpu = time.perf_counter() - start_wall, time.process_time() - start_cpu

    history = {key: [float(value) for value in values] for key, values in fit.history.items()}
    epochs_run = len(history.get("loss", []))
    if "grl_strength" not in history:
        history["grl_strength"] = [0.0] * epochs_run
    history["learning_rate"] = [float(learning_rate((epoch + 1) * steps_per_epoch)) for epoch in range(epochs_run)]
    if schedule is not None:
        history["grl_strength_per_batch"] = [float(value) for value in schedule.history]
    row = {
        "model": model_name,
        "seed": int(seed),
        "target_accuracy": scores["target_accuracy"],
        "source_accuracy": scores["source_accuracy"],
        "domain_accuracy": scores["domain_accuracy"],
        "final_strength": dann.gradient_reversal_strength(model),
        "epochs": epochs_run,
        "steps": int(steps_per_epoch * epochs_run),
        "wall_time_s": float(wall),
        "cpu_time_s": float(cpu),
    }
    return model, row, history


def pixel_mean_of(data):
    """The mean pixel (one value per channel) of the source and target training images together."""
    images = (data["source_train"][0], data["target_train"][0])
    total = sum(x.sum(axis=(0, 1, 2), dtype="float64") for x in images)
    count = sum(x.shape[0] * x.shape[1] * x.shape[2] for x in images)
    return [float(value) for value in total / count]


def gap_closed(rows):
    """The share of the domain gap DANN closes: `(DANN - source only) / (train on target - source only)`.

    Computed per seed from the rows' `target_accuracy` (seeds that lack one of the three models are left out),
    then summarised.

    Returns:
        A dict: `per_seed` (`{seed: value}`, seeds as strings for JSON), `mean`, `std` (0 for one seed; None
        without seeds), and `of_means` (the formula applied to the mean accuracies).
    """
    by_seed = {}
    for row in rows:
        by_seed.setdefault(row["seed"], {})[row["model"]] = row["target_accuracy"]
    per_seed = {}
    for seed, accuracies in by_seed.items():
        if all(model in accuracies for model in MODELS):
            per_seed[str(seed)] = _gap(accuracies["source_only"], accuracies["dann"], accuracies["train_on_target"])
    values = [value for value in per_seed.values() if value is not None]
    means = {
        model: statistics.fmean([row["target_accuracy"] for row in rows if row["model"] == model])
        for model in MODELS
        if any(row["model"] == model for row in rows)
    }
    of_means = _gap(means["source_only"], means["dann"], means["train_on_target"]) if len(means) == 3 else None
    return {
        "per_seed": per_seed,
        "mean": statistics.fmean(values) if values else None,
        "std": (statistics.stdev(values) if len(values) > 1 else 0.0) if values else None,
        "of_means": of_means,
    }


def _gap(source_only, adapted, on_target):
    span = on_target - source_only
    if abs(span) < 1e-12:
        return None
    return (adapted - source_only) / span


def comparison_table(result):
    """The paper's Table 1 with our task beside it: a list of dicts, one per task.

    Our entry has mean and std over seeds of the target test accuracy for each model, the gap closed (mean and
    std over seeds) and the final domain classifier accuracy of source only and DANN.
    """
    table = []
    for entry in PAPER_TABLE_1:
        table.append({
            "task": entry["task"],
            "from": "paper",
            **{model: entry[model] for model in MODELS},
            "gap_closed": _gap(entry["source_only"], entry["dann"], entry["train_on_target"]),
        })
    summary = {entry["model"]: entry for entry in result.summary(by="model")}
    seeds = sorted({row["seed"] for row in result.rows})
    ours = {"task": result.metadata.get("task", "ours"), "from": f"ours ({result.profile}, {len(seeds)} seeds)"}
    for model in MODELS:
        if model in summary:
            ours[model] = summary[model]["target_accuracy"]
            ours[f"{model}_std"] = summary[model]["target_accuracy_std"]
            ours[f"{model}_domain_accuracy"] = summary[model]["domain_accuracy"]
    gap = result.metadata.get("gap_closed") or gap_closed(result.rows)
    ours["gap_closed"] = gap["mean"]
    ours["gap_closed_std"] = gap["std"]
    table.append(ours)
    return table


def comparison_markdown(result):
    """`comparison_table` as Markdown: accuracies on the target test set, ours as mean ± std over seeds."""

    def cell(entry, key, percent=False):
        value = entry.get(key)
        if value is None:
            return "–"
        std = entry.get(f"{key}_std")
        text = f"{100 * value:.1f}%" if percent else f"{value:.4f}"
        if std is not None:
            text += f" ± {100 * std:.1f}%" if percent else f" ± {std:.4f}"
        return text

    header = ["source → target", "from", "source only", "DANN", "train on target", "gap closed",
              "domain acc. (source only → DANN)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for entry in comparison_table(result):
        domain = "–"
        if "dann_domain_accuracy" in entry and "source_only_domain_accuracy" in entry:
            domain = f"{entry['source_only_domain_accuracy']:.3f} → {entry['dann_domain_accuracy']:.3f}"
        cells = [entry["task"], entry["from"], *(cell(entry, model) for model in MODELS),
                 cell(entry, "gap_closed", percent=True), domain]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def feature_projection(models, data, *, method="tsne", points=500, seed=0):
    """2-D projections of held-out source and target features, one panel per model, for the paper's figure.

    Args:
        models: dict. Title key (`"source_only"`, `"dann"`) -> trained DANN-style model.
        data: dict. As `load_task` returns it; the first `points` test images of each domain are used.
        method: str. `"pca"` or `"tsne"` (see `keras_transfer.plotting.domains.project_features`).
        points: int. Images per domain.
        seed: int. The seed of t-SNE.

    Returns:
        A JSON-ready dict: `{"method", "panels": {title: {"source": [[x, y], ...], "target": [...],
        "source_labels": [...], "target_labels": [...]}}}`.
    """
    from keras_transfer.plotting.domains import project_features

    x_source, y_source = data["source_test"]
    x_target, y_target = data["target_test"]
    count = min(points, len(x_source), len(x_target))
    panels = {}
    for name, model in models.items():
        source_features = dann.extract_features(model, x_source[:count])
        target_features = dann.extract_features(model, x_target[:count])
        source_2d, target_2d = project_features(source_features, target_features, method=method, seed=seed)
        panels[MODEL_TITLES.get(name, name)] = {
            "source": np.round(source_2d, 4).tolist(),
            "target": np.round(target_2d, 4).tolist(),
            "source_labels": y_source[:count].tolist(),
            "target_labels": y_target[:count].tolist(),
        }
    return {"method": method, "points": int(count), "panels": panels}


def _check_config(config):
    if config["task"] not in TASKS:
        raise ValueError(f"`task` must be one of {sorted(TASKS)}. Received: task={config['task']!r}")
    for key in ("epochs", "batch_size", "projection_points"):
        value = config[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"`{key}` must be a positive int. Received: {key}={value!r}")
    for key in ("train_size", "test_size"):
        value = config[key]
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"`{key}` must be a positive int or None. Received: {key}={value!r}")
    models = tuple(config["models"])
    if not models or any(model not in MODELS for model in models) or len(set(models)) != len(models):
        raise ValueError(f"`models` must be distinct names out of {MODELS}. Received: models={config['models']!r}")
    config["models"] = models
    if config["projection"] not in ("pca", "tsne"):
        raise ValueError(f"`projection` must be 'pca' or 'tsne'. Received: projection={config['projection']!r}")
    for key in ("learning_rate", "gamma"):
        if not isinstance(config[key], (int, float)) or not 0 < config[key] < math.inf:
            raise ValueError(f"`{key}` must be a positive number. Received: {key}={config[key]!r}")


def _jsonable(config):
    return {key: list(value) if isinstance(value, tuple) else value for key, value in config.items()}
