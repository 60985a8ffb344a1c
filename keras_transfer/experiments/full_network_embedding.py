"""The Full-Network Embedding against the last layer's features, and what each of its three steps adds.

Seed 003 (Garcia-Gasulla et al., 2017): instead of one layer's features (`fc7`, the last hidden layer), use every
layer: 1) spatial average pooling of every convolutional layer and the fully connected layers, 2) standardisation
with the training set's statistics, 3) discretisation to {-1, 0, 1}; then a linear SVM. Every method here is one
scikit-learn `Pipeline(FullNetworkEmbedding(...), LinearSVC())`, trained on the same small training set:

- `fc1 + SVM` and `fc2 + SVM`: one layer (the paper's fc6 and fc7 baselines), standardised;
- `FNE: pooling`: every layer, pooled and concatenated, nothing else;
- `FNE: + standardisation`: the same, standardised with the training statistics;
- `FNE: + discretisation`: the full embedding (the paper's method).

Profiles and data are those of the off-the-shelf experiment (`keras_transfer.experiments.off_the_shelf`): `quick`
transfers the project's source network (half A of Fashion-MNIST) to half B with 30 training images per class and
three seeds, `smoke` is the same code at a tiny size, `full` is ImageNet VGG19 on Oxford-17 flowers (a GPU).
The paper's numbers (FACTS.md) are in `PAPER_FNE` and `metadata["paper"]`.
"""

import os
import statistics
import time
import warnings

import keras
import numpy as np

from keras_transfer import paths
from keras_transfer import profiles
from keras_transfer.experiments import off_the_shelf
from keras_transfer.experiments.base import ExperimentResult

NAME = "fne"

# Same data settings as the off-the-shelf experiment; plus the SVM and which single layers are the baselines.
CONFIGS = {
    profile: {
        **{key: value for key, value in config.items() if key not in ("ks", "retrieval_queries", "retrieval_hits",
                                                                       "retrieval_layer", "softmax_c",
                                                                       "gallery_per_class")},
        "baseline_layers": None,  # None: the last two hidden dense layers (fc1, fc2: the paper's fc6, fc7)
        "thresholds": (-0.25, 0.15),
        "methods": ("baseline", "pooling", "standardisation", "discretisation"),
    }
    for profile, config in off_the_shelf.CONFIGS.items()
}

STEPS = {
    "pooling": {"standardize": False, "discretize": False},
    "standardisation": {"standardize": True, "discretize": False},
    "discretisation": {"standardize": True, "discretize": True},
}
STEP_TITLES = {
    "pooling": "FNE: pooling",
    "standardisation": "FNE: + standardisation",
    "discretisation": "FNE: + discretisation",
}

# Seed 003 (FACTS.md): accuracy %, one layer (fc7) + SVM -> Full-Network Embedding + SVM.
PAPER_FNE = {
    "source": "Garcia-Gasulla et al. 2017 via seed 003: VGG16 pretrained on ImageNet (Places2 for mit67)",
    "fc7_to_fne": {
        "mit67": (81.7, 83.6),
        "flowers102": (87.0, 93.3),
        "caltech101": (89.7, 91.4),
        "food101": (59.1, 67.0),
        "textures": (69.0, 73.0),
        "wood": (68.9, 74.1),
    },
    "average_gain": {"fc6": 2.9, "fc7": 4.2},
}


def _baseline_layers(model, config):
    from keras_transfer import embeddings

    if config["baseline_layers"] is not None:
        return list(config["baseline_layers"])
    dense = [name for name in embeddings.default_layers(model) if isinstance(model.get_layer(name), keras.layers.Dense)]
    if not dense:
        raise ValueError(
            "The source network has no hidden dense layer to use as the one-layer baseline: pass "
            f"baseline_layers=[...]. Received: layers {[layer.name for layer in model.layers]}"
        )
    return dense[-2:]


def _check_methods(config):
    unknown = [name for name in config["methods"] if name not in ("baseline", *STEPS)]
    if unknown or not config["methods"]:
        raise ValueError(
            f"`methods` must name some of {('baseline', *STEPS)}. Received: methods={tuple(config['methods'])!r}"
        )


def _methods(model, config, layers):
    _check_methods(config)
    methods = []
    for name in config["methods"]:
        if name == "baseline":
            for layer in _baseline_layers(model, config):
                methods.append((f"{layer} + SVM", "baseline", [layer], {"standardize": True, "discretize": False}))
        else:
            methods.append((STEP_TITLES[name], name, layers, dict(STEPS[name])))
    return methods


def run(profile="quick", *, seeds=None, output_dir=None, verbose=1, **overrides):
    """Last-layer features + SVM against the Full-Network Embedding + SVM, and the embedding's steps one by one.

    Args:
        profile: str. `"smoke"`, `"quick"` or `"full"`.
        seeds: sequence of int or None. Each seed draws another training set (quick, smoke) and seeds the SVM.
        output_dir: path or None. Where `result.json` goes (default `paths.results_dir("fne", profile)`).
        verbose: int. 0 silent; 1 a line per method and seed.
        **overrides: settings of `CONFIGS[profile]`, e.g. `train_per_class=10`, `methods=("baseline",
            "discretisation")`, `thresholds=(-0.5, 0.5)`, `source_model="vgg19.keras"`, `path=...` (full).

    Returns:
        An `ExperimentResult` with one row per method and seed: `{"model", "step", "seed", "layers", "features",
        "test_accuracy", "train_accuracy", "converged", "fit_seconds"}`; `metadata["paper"]` holds the paper's
        numbers, `metadata["value_fractions"]` the share of -1, 0 and 1 in the embedding of the training images.

    Reference:
        - [Garcia-Gasulla et al., 2017](https://arxiv.org/abs/1705.07706): An out-of-the-box full-network
          embedding for convolutional neural networks.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.pipeline import Pipeline
    from sklearn.svm import LinearSVC

    from keras_transfer import embeddings

    start, cpu_start = time.perf_counter(), time.process_time()
    config = profiles.select(CONFIGS, profile, overrides)
    embeddings.discretize(np.zeros(1), config["thresholds"])  # a bad `thresholds` fails here, before any work
    _check_methods(config)
    shared = {key: value for key, value in overrides.items() if key in off_the_shelf.CONFIGS[profile]}
    prepared = off_the_shelf.prepare(profile, seeds=seeds, verbose=verbose, **shared)
    seeds, model, layers = prepared["seeds"], prepared["model"], prepared["layers"]
    data, inputs = prepared["data"], prepared["inputs"]
    y_test = data["test"][1]
    methods = _methods(model, config, layers)

    rows, value_fractions = [], {}
    for seed in seeds:
        y_train = data["train"][seed][1]
        for title, step, method_layers, options in methods:
            pipeline = Pipeline(
                [
                    (
                        "embedding",
                        embeddings.FullNetworkEmbedding(
                            model,
                            layers=method_layers,
                            thresholds=tuple(config["thresholds"]),
                            batch_size=config["batch_size"],
                            cache=config["cache"],
                            verbose=0,
                            **options,
                        ),
                    ),
                    ("svm", LinearSVC(C=config["svm_c"], max_iter=config["max_iter"], random_state=seed)),
                ]
            )
            fit_start = time.perf_counter()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                pipeline.fit(inputs["train"][seed], y_train)
            fit_seconds = time.perf_counter() - fit_start
            test_accuracy = float(pipeline.score(inputs["test"], y_test))
            train_accuracy = float(pipeline.score(inputs["train"][seed], y_train))
            embedding = pipeline.named_steps["embedding"]
            rows.append(
                {
                    "model": title,
                    "step": step,
                    "seed": seed,
                    "layers": list(embedding.layers_),
                    "features": int(embedding.n_features_out_),
                    "test_accuracy": test_accuracy,
                    "train_accuracy": train_accuracy,
                    "converged": not any(issubclass(w.category, ConvergenceWarning) for w in caught),
                    "fit_seconds": round(fit_seconds, 3),
                    "train_images": int(len(y_train)),
                }
            )
            if step == "discretisation" and seed == seeds[0]:
                values = embedding.transform(inputs["train"][seed])
                value_fractions = {str(v): float(np.mean(values == v)) for v in (-1.0, 0.0, 1.0)}
            if verbose:
                print(
                    f"[{profile} seed {seed}] {title:<24} {rows[-1]['features']:>6} features: "
                    f"test accuracy {test_accuracy:.4f}" + ("" if rows[-1]["converged"] else " (SVM did not converge)"),
                    flush=True,
                )

    metadata = {
        "config": off_the_shelf._jsonable(config),
        "seeds": list(seeds),
        "layers": layers,
        "baseline_layers": _baseline_layers(model, config) if "baseline" in config["methods"] else [],
        "source_model": model.name,
        "class_names": list(data["class_names"]),
        "sizes": {"train_per_seed": int(len(data["train"][seeds[0]][1])), "test": int(len(y_test))},
        "value_fractions": value_fractions,
        "paper": off_the_shelf._jsonable(PAPER_FNE),
        "source_seconds": round(prepared["source_seconds"], 2),
        "wall_time_s": round(time.perf_counter() - start, 2),
        "cpu_time_s": round(time.process_time() - cpu_start, 2),
        "backend": keras.backend.backend(),
    }
    result = ExperimentResult(NAME, profile, rows, {}, metadata)
    result.save(paths.results_dir(NAME, profile) if output_dir is None else os.fspath(output_dir))
    return result


def method_means(result):
    """`{method: (mean, std)}` of the test accuracy over seeds, in the order the methods ran."""
    groups = {}
    for row in result.rows:
        groups.setdefault(row["model"], []).append(row["test_accuracy"])
    return {
        name: (statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0)
        for name, values in groups.items()
    }


def gains(result):
    """Our gain of the full embedding over each one-layer baseline, in accuracy points (mean over seeds)."""
    means = method_means(result)
    full = means.get(STEP_TITLES["discretisation"])
    if full is None:
        return {}
    return {
        name.replace(" + SVM", ""): 100 * (full[0] - mean)
        for name, (mean, _) in means.items()
        if name.endswith(" + SVM")
    }


def results_table(result):
    """Markdown: one line per method: its features and test accuracy (%, mean ± std over seeds)."""
    seeds = len(result.metadata["seeds"])
    widths = {row["model"]: row["features"] for row in result.rows}
    converged = {}
    for row in result.rows:
        converged[row["model"]] = converged.get(row["model"], True) and row["converged"]
    lines = ["| method | features | test accuracy % | SVM converged |", "|---|---|---|---|"]
    for name, (mean, std) in method_means(result).items():
        cell = f"{100 * mean:.1f} ± {100 * std:.1f}" if seeds > 1 else f"{100 * mean:.1f}"
        lines.append(f"| {name} | {widths[name]} | {cell} | {'yes' if converged[name] else 'no'} |")
    return "\n".join(lines)


def paper_table(result=None):
    """Markdown: the paper's fc7 + SVM and FNE + SVM per dataset (accuracy %), with our last baseline layer and
    full embedding as the last line when `result` is given."""
    lines = ["| dataset | fc7 + SVM | FNE + SVM | gain (points) |", "|---|---|---|---|"]
    for dataset, (fc7, fne) in PAPER_FNE["fc7_to_fne"].items():
        lines.append(f"| {dataset} (paper) | {fc7} | {fne} | {fne - fc7:+.1f} |")
    if result is not None:
        means = method_means(result)
        baselines = [name for name in means if name.endswith(" + SVM")]
        full = means.get(STEP_TITLES["discretisation"])
        if baselines and full is not None:
            last = means[baselines[-1]][0]
            label = baselines[-1].replace(" + SVM", "")
            lines.append(
                f"| ours ({result.profile}; {label} as fc7) | {100 * last:.1f} | {100 * full[0]:.1f} | "
                f"{100 * (full[0] - last):+.1f} |"
            )
    return "\n".join(lines)
