"""The Full-Network Embedding against one layer's features, and what each of its three steps adds.

Seed 003 (Garcia-Gasulla et al., 2017): instead of one layer's features (`fc7`, the last hidden layer), use every
layer: 1) spatial average pooling of every convolutional layer and the fully connected layers, 2) standardisation
with the training set's statistics, 3) discretisation to {-1, 0, 1}; then a linear SVM. Every method here is one
scikit-learn `Pipeline(FullNetworkEmbedding(...), LinearSVC())` trained on the same small training set:

- `fc1 + SVM` and `fc2 + SVM`: one layer (the paper's fc6 and fc7 baselines), standardised;
- `FNE: pooling`: every layer, pooled and concatenated, nothing else;
- `FNE: + standardisation`: the same, standardised with the training statistics;
- `FNE: + discretisation`: the full embedding (the paper's method).

The source network, target task and profiles are the off-the-shelf experiment's (`experiments/off_the_shelf.py`):
`quick` transfers the project's small VGG (half A of Fashion-MNIST) to half B with 30 training images per class and
three seeds, `smoke` is the same at a tiny size, `full` is ImageNet VGG19 on Oxford-17 flowers (a GPU).
"""

import os
import time

import keras
import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC

from keras_transfer import embeddings
from keras_transfer import paths
from keras_transfer import profiles
from keras_transfer.embeddings import tasks
from keras_transfer.experiments import off_the_shelf
from keras_transfer.experiments.base import ExperimentResult
from keras_transfer.experiments.base import check_seeds
from keras_transfer.experiments.base import jsonable

NAME = "full-network-embedding"

# The off-the-shelf experiment's source network, data and SVM settings; plus the baselines, thresholds and methods.
CONFIGS = {
    profile: {
        **{key: config[key] for key in (*tasks.TASK_KEYS, "seeds", "svm_c", "max_iter", "batch_size", "cache")},
        "baseline_layers": None,  # None: the last two hidden dense layers (fc1, fc2: the paper's fc6, fc7)
        "thresholds": embeddings.DEFAULT_THRESHOLDS,
        "methods": ("baseline", "pooling", "standardisation", "discretisation"),
    }
    for profile, config in off_the_shelf.CONFIGS.items()
}

# Live mode: the first seed only. Every method is needed for the step-by-step comparison, and the features are the
# off-the-shelf experiment's (cached on disk after notebook 01); quick live measured 6 CPU-s inside run().
LIVE = {"smoke": {}, "quick": {}, "full": {}}

# Each step of the embedding: its title and the `FullNetworkEmbedding` options (every tapped layer).
STEPS = {
    "pooling": ("FNE: pooling", {"standardize": False, "discretize": False}),
    "standardisation": ("FNE: + standardisation", {"standardize": True, "discretize": False}),
    "discretisation": ("FNE: + discretisation", {"standardize": True, "discretize": True}),
}

# Seed 003 (FACTS.md): accuracy %, one layer (fc7) + SVM -> Full-Network Embedding + SVM.
PAPER_FNE = {
    "source": "Garcia-Gasulla et al., 2017: VGG16 pretrained on ImageNet (Places2 for mit67)",
    "fc7_to_fne": {"mit67": (81.7, 83.6), "flowers102": (87.0, 93.3), "caltech101": (89.7, 91.4),
                   "food101": (59.1, 67.0), "textures": (69.0, 73.0), "wood": (68.9, 74.1)},
    "average_gain": {"fc6": 2.9, "fc7": 4.2},
}


def baseline_layers(model, config):
    """`config["baseline_layers"]`, or the model's last two hidden dense layers (VGG's fc6 and fc7)."""
    if config["baseline_layers"] is not None:
        return list(config["baseline_layers"])
    dense = [name for name in embeddings.default_layers(model) if isinstance(model.get_layer(name), keras.layers.Dense)]
    if not dense:
        raise ValueError("The source network has no hidden dense layer to use as the one-layer baseline: pass "
                         f"baseline_layers=[...]. Received: layers {[layer.name for layer in model.layers]}")
    return dense[-2:]


def _methods(model, config, layers):
    """`[(title, step, layers, options)]`: each baseline layer alone, then the embedding's steps on every layer."""
    methods = []
    for step in config["methods"]:
        if step == "baseline":
            methods += [(f"{layer} + SVM", "baseline", [layer], {"standardize": True, "discretize": False})
                        for layer in baseline_layers(model, config)]
        else:
            methods.append((STEPS[step][0], step, layers, STEPS[step][1]))
    return methods


def run(profile="quick", *, seeds=None, output_dir=None, verbose=1, **overrides):
    """One layer + SVM against the Full-Network Embedding + SVM, and the embedding's steps one by one.

    Args:
        profile: str. `"smoke"`, `"quick"` or `"full"`.
        seeds: sequence of int or None. Each seed draws another training set and seeds the SVM.
        output_dir: path or None. Where `result.json` goes (default
            `paths.results_dir("full-network-embedding", profile)`).
        verbose: int. 0 silent; 1 a line per method and seed.
        **overrides: settings of `CONFIGS[profile]`, e.g. `train_per_class=10`, `methods=("baseline",
            "discretisation")`, `thresholds=(-0.5, 0.5)`, `source_model="vgg19.keras"`, `path=...` (full).

    Returns:
        An `ExperimentResult`, one row per method and seed (`model` = the method's title, `step`, `seed`,
        `layers`, `features`, `test_accuracy`, `train_accuracy`, `converged`, `fit_seconds`). `metadata` holds
        `by_method` (mean ± std), `gains` (points over each baseline), `paper` (seed 003's numbers), `verdicts`
        (the paper's claims checked on our run) and `value_fractions` (the share of -1, 0, 1 in the embedding).

    Reference:
        - [Garcia-Gasulla et al., 2017](https://arxiv.org/abs/1705.07706): An out-of-the-box full-network
          embedding for convolutional neural networks.
    """
    start, cpu_start = time.perf_counter(), time.process_time()
    config = profiles.select(CONFIGS, profile, overrides)
    seeds = check_seeds(config["seeds"] if seeds is None else seeds)
    embeddings.discretize(np.zeros(1), config["thresholds"])  # a bad `thresholds` fails here, before any work
    if not config["methods"] or any(step not in ("baseline", *STEPS) for step in config["methods"]):
        raise ValueError(f"`methods` must name some of {('baseline', *STEPS)}. "
                         f"Received: methods={tuple(config['methods'])!r}")
    prepared = tasks.prepare_task(config, seeds, verbose=verbose)
    model, layers, data, inputs = (prepared[key] for key in ("model", "layers", "data", "inputs"))
    methods = _methods(model, config, layers)

    rows, value_fractions = [], {}
    for seed in seeds:
        y_train, y_test = data["train"][seed][1], data["test"][1]
        for title, step, method_layers, options in methods:
            embedding = embeddings.FullNetworkEmbedding(
                model, layers=method_layers, thresholds=tuple(config["thresholds"]), batch_size=config["batch_size"],
                cache=config["cache"], verbose=0, **options,
            )
            svm = LinearSVC(C=config["svm_c"], max_iter=config["max_iter"], random_state=seed)
            scores = embeddings.fit_and_score(Pipeline([("embedding", embedding), ("svm", svm)]),
                                              inputs["train"][seed], y_train, inputs["test"], y_test)
            rows.append({"model": title, "step": step, "seed": seed, "layers": list(embedding.layers_),
                         "features": int(embedding.n_features_out_), **scores, "train_images": int(len(y_train))})
            if step == "discretisation" and seed == seeds[0]:
                values = embedding.transform(inputs["train"][seed])
                value_fractions = {str(v): float(np.mean(values == v)) for v in (-1.0, 0.0, 1.0)}
            if verbose:
                print(f"[{profile} seed {seed}] {title:<24} {rows[-1]['features']:>6} features: test accuracy "
                      f"{scores['test_accuracy']:.4f}" + ("" if scores["converged"] else " (SVM did not converge)"),
                      flush=True)

    result = ExperimentResult(NAME, profile, rows, {}, {})
    by_method = result.summary(by="model", metrics=["features", "test_accuracy"])
    for entry in by_method:
        entry["converged"] = all(row["converged"] for row in rows if row["model"] == entry["model"])
    result.metadata = {
        "config": jsonable(config),
        "seeds": list(seeds),
        "layers": layers,
        "baseline_layers": [method[2][0] for method in methods if method[1] == "baseline"],
        "source_model": model.name,
        "class_names": list(data["class_names"]),
        "sizes": {"train_per_seed": int(len(data["train"][seeds[0]][1])), "test": int(len(data["test"][1]))},
        "by_method": by_method,
        "value_fractions": value_fractions,
        "paper": jsonable(PAPER_FNE),
        **compare_with_paper(by_method),
        "source_seconds": round(prepared["source_seconds"], 2),
        "wall_time_s": round(time.perf_counter() - start, 2),
        "cpu_time_s": round(time.process_time() - cpu_start, 2),
        "backend": keras.backend.backend(),
    }
    result.save(paths.results_dir(NAME, profile) if output_dir is None else os.fspath(output_dir))
    return result


def compare_with_paper(by_method):
    """Our gains and the paper's claims checked on our run.

    Args:
        by_method: list of dict. `{"model", "test_accuracy", "test_accuracy_std"}` per method (mean over seeds).

    Returns:
        `{"gains": {baseline layer: points of the full embedding over it}, "verdicts": [{"claim", "paper",
        "paper_note", "ours", "points", "spread"}]}`: `paper` is what seed 003 reports (None where it reports no
        number; `paper_note` says on what),
        `ours` whether our run shows it, `points` our difference and `spread` the larger of the two methods'
        standard deviations over seeds (in points).
    """
    means = {entry["model"]: entry for entry in by_method}
    full = means.get(STEPS["discretisation"][0])
    baselines = [name for name in means if name.endswith(" + SVM")]
    paper_gains = [fne - fc7 for fc7, fne in PAPER_FNE["fc7_to_fne"].values()]

    def verdict(claim, paper, paper_note, better, worse):
        if better not in means or worse not in means:
            return []
        points = 100 * (means[better]["test_accuracy"] - means[worse]["test_accuracy"])
        spread = 100 * max(means[better]["test_accuracy_std"], means[worse]["test_accuracy_std"])
        return [{"claim": claim, "paper": paper, "paper_note": paper_note, "ours": points > 0, "points": points,
                 "spread": spread}]

    verdicts = []
    if full is not None and baselines:
        verdicts += verdict(f"the full embedding beats the last hidden layer ({baselines[-1].split()[0]} as fc7)",
                            all(gain > 0 for gain in paper_gains),
                            f"on {sum(gain > 0 for gain in paper_gains)} of {len(paper_gains)} datasets",
                            full["model"], baselines[-1])
    if full is not None and len(baselines) > 1:
        verdicts += verdict(f"the full embedding beats the layer before ({baselines[-2].split()[0]} as fc6)",
                            PAPER_FNE["average_gain"]["fc6"] > 0,
                            f"{PAPER_FNE['average_gain']['fc6']:+.1f} points on average", full["model"], baselines[-2])
    titles = [title for title, _ in STEPS.values()]
    for before, after in zip(titles, titles[1:]):
        verdicts += verdict(f"'{after}' improves on '{before}'", None, "the paper gives no number", after, before)
    gains = {name.split()[0]: 100 * (full["test_accuracy"] - means[name]["test_accuracy"])
             for name in baselines if full is not None}
    return {"gains": gains, "verdicts": verdicts}
