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

Where the gap lies: each row also splits the target test accuracy by contrast polarity (`contrast_groups`):
MNIST-M's blend `|patch - image|` keeps the object brighter than the photo around it where the patch is dark, but
makes a photographic negative of it (a dark object on a bright background) where the patch is brighter than about
half the object's grey level, and leaves the object barely visible in grey levels in between. Keys
`target_accuracy_{brighter,similar,darker}` and `recognised_as_target_{brighter,similar,darker}` (the share of the
group's target images the domain classifier calls target; `metadata["contrast_groups"]` has the group sizes).

Profiles:

- `smoke`: a few hundred Fashion-MNIST / Fashion-MNIST-M images, 2 epochs, 2 seeds: seconds.
- `quick`: Fashion-MNIST → Fashion-MNIST-M (Fashion-MNIST blended with scikit-learn's two colour photos, offline),
  12,000 training images of each domain, batches of 32 + 32, 12 epochs (4,500 steps per network), 3 seeds, the
  paper's optimizer and schedules unchanged. About 8 minutes and 650 CPU-seconds on an idle 2-core machine.
- `full`: MNIST → MNIST-M (MNIST blended with BSDS500 photos; both downloaded), all images, 3 seeds: for a GPU.

How the `quick` settings were chosen. The budget (about 800 CPU-seconds for the 9 networks on 2 cores) fixes the
number of steps. One step of 64 images costs about 16 ms of CPU on an idle 2-core machine, hence about 4,500 steps
per network. (A first measurement on a machine shared with other jobs, 45 ms per step, had set 1,500; with it
DANN closed no gap at all: -6% ± 2% over 3 seeds, source only 0.39, DANN 0.37, train on target 0.75.) The other
settings were compared on a labelled target *validation* split, never on the test set: Fashion-MNIST-M images
blended from Fashion-MNIST *training* images outside both training subsets (2,000 per domain). At 1,400 to 1,900
steps, the paper's `μ0 = 0.01` against `0.03` (seeds 0 and 1), and, on seed 0, `max_strength=2`, Adam instead of
SGD, and a 10× learning rate for the domain classifier all left DANN's target validation accuracy within a few
points of source only's, the size of the seed-to-seed spread; so the paper's values stay. Two probes did move it:
three times as many steps (one seed: DANN after 4,680 steps about 5 points above source only after 2,340), and, as
a diagnostic only (not a method of this experiment), training the source-only network on the source images plus
their photographic negatives `255 - x`, which lifted the target validation accuracy from below 0.4 to above 0.6,
nearly all of it on the "object darker" group (from below 0.1 to about 0.65). The domain shift of Fashion-MNIST-M
is, for the most part, a contrast inversion: source only already classifies the normal-polarity target images
about as well as train on target does, and DANN, which only lines up the two domains' feature distributions, gains
slowly on the negatives, which stay easy to recognise as target. See notebook 06 for a run's numbers.

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

# Target test images by contrast polarity (see `contrast_groups`), in this order.
CONTRAST_GROUPS = ("object brighter", "similar", "object darker")
CONTRAST_MARGIN = 40.0  # grey levels between the object and the background that make a group
OBJECT_THRESHOLD = 30  # source pixels above this grey level make the object's mask

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
        "train_size": 12000,
        "test_size": 4000,
        "epochs": 12,
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
        "domain_accuracy", "target_accuracy_<group>", "recognised_as_target_<group>", "final_strength", "epochs",
        "steps", "wall_time_s", "cpu_time_s"}` (`<group>` in brighter, similar, darker: see `contrast_groups`),
        the histories, and in `metadata` the config, the data sizes, the contrast groups' sizes, `gap_closed` (per
        seed, mean, std), the projection and the paper's table.
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

    test_groups = contrast_groups(data["source_test"][0], data["target_test"][0])
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
        "contrast_groups": {
            "counts": {group: int(np.sum(test_groups == group)) for group in CONTRAST_GROUPS},
            "margin": CONTRAST_MARGIN,
            "object_threshold": OBJECT_THRESHOLD,
        },
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
    groups = contrast_groups(data["source_test"][0], data["target_test"][0])
    scores = dann.evaluate_domains(model, data["source_test"], data["target_test"], batch_size=256,
                                   target_groups=groups)
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
        # by contrast polarity: label accuracy, and the share the domain classifier calls target
        **{f"{key}_{_key(group)}": _group_score(scores, group, key)
           for key in ("target_accuracy", "recognised_as_target") for group in CONTRAST_GROUPS},
        "final_strength": dann.gradient_reversal_strength(model),
        "epochs": epochs_run,
        "steps": int(steps_per_epoch * epochs_run),
        "wall_time_s": float(wall),
        "cpu_time_s": float(cpu),
    }
    return model, row, history


def contrast_groups(source_images, target_images, *, margin=CONTRAST_MARGIN, object_threshold=OBJECT_THRESHOLD):
    """Sorts blended target images by contrast polarity: is the object brighter or darker than the photo around it?

    MNIST-M's blend `|patch - image|` keeps the object's polarity where the photo patch is dark, but turns it into a
    photographic negative (a dark object on a bright background) where the patch is brighter than about half the
    object's grey level. For each target image, the object's mask is where its grayscale twin (the source image it
    was blended from) is brighter than `object_threshold`; the contrast is the target's mean grey level (mean over
    the channels) inside the mask minus outside it. `load_task`'s test sets are such twins: target test image `i`
    is source test image `i` blended with a photo patch.

    Args:
        source_images: uint8 array `(N, 28, 28)` or `(N, 28, 28, C)`. The grayscale images the targets were made
            from (channels are averaged).
        target_images: uint8 array `(N, 28, 28, C)`. The blended images, in the same order.
        margin: float. Contrasts above `margin` are "object brighter", below `-margin` "object darker", the rest
            "similar" (the object barely shows in grey levels).
        object_threshold: int. The grey level above which a source pixel belongs to the object.

    Returns:
        A NumPy array of `N` strings out of `CONTRAST_GROUPS`.
    """
    source = np.asarray(source_images, dtype="float32")
    target = np.asarray(target_images, dtype="float32")
    if source.ndim == 4:
        source = source.mean(axis=-1)
    if target.ndim == 4:
        target = target.mean(axis=-1)
    if source.ndim != 3 or source.shape != target.shape:
        raise ValueError(
            "`source_images` and `target_images` must be the same images, grayscale and blended, with the same "
            f"height, width and count. Received: shapes {np.shape(source_images)} and {np.shape(target_images)}"
        )
    if not margin >= 0:
        raise ValueError(f"`margin` must be a number >= 0. Received: margin={margin!r}")
    mask = source > object_threshold
    inside = mask.sum(axis=(1, 2))
    outside = (~mask).sum(axis=(1, 2))
    mean_inside = (target * mask).sum(axis=(1, 2)) / np.maximum(inside, 1)
    mean_outside = (target * ~mask).sum(axis=(1, 2)) / np.maximum(outside, 1)
    contrast = np.where((inside > 0) & (outside > 0), mean_inside - mean_outside, 0.0)
    groups = np.full(len(contrast), CONTRAST_GROUPS[1], dtype=object)
    groups[contrast > margin] = CONTRAST_GROUPS[0]
    groups[contrast < -margin] = CONTRAST_GROUPS[2]
    return groups.astype(str)


def _key(group):
    return group.replace("object ", "").replace(" ", "_")


def _group_score(scores, group, key):
    entry = scores.get("target_groups", {}).get(group)
    return None if entry is None else entry[key]


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


def contrast_markdown(result):
    """Target test accuracy by contrast polarity, per model (mean ± std over seeds), as Markdown.

    Two rows per model: the label accuracy on each group of target test images (`contrast_groups`), and the share
    of the group the final domain classifier calls target.
    """
    counts = result.metadata.get("contrast_groups", {}).get("counts", {})
    summary = {entry["model"]: entry for entry in result.summary(by="model")}
    header = ["model", "measure", *(f"{group} ({counts[group]} images)" if group in counts else group
                                    for group in CONTRAST_GROUPS)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for model in MODELS:
        if model not in summary:
            continue
        for key, title in (("target_accuracy", "label accuracy"), ("recognised_as_target", "called target")):
            cells = [MODEL_TITLES[model], title]
            for group in CONTRAST_GROUPS:
                mean = summary[model].get(f"{key}_{_key(group)}")
                std = summary[model].get(f"{key}_{_key(group)}_std")
                cells.append("–" if mean is None else f"{mean:.3f} ± {std:.3f}")
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
