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
`quick` transfers the project's small VGG (half A of Fashion-MNIST pasted on photos) to half B pasted on other photos (a
matched source) with 30 training images per class and three seeds, `smoke` is the same at a tiny size, `full` is
ImageNet VGG19 on Oxford-17 flowers (a GPU).

The lecture's "most frequent real-world scenario" is a source far from the target. Where `mismatched_source_domain`
names one (quick and smoke: `"black"`, the same network trained on half A's items centred on black), the last
hidden layer and the full embedding are also fitted on that network's features, per seed, and the embedding's gain
over the last layer is compared between the two sources, paired by seed.
"""

import itertools
import time

import keras
import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC

from keras_transfer import embeddings
from keras_transfer import profiles
from keras_transfer import progress
from keras_transfer.embeddings import tasks
from keras_transfer.experiments import base
from keras_transfer.experiments import comparisons
from keras_transfer.experiments import off_the_shelf

NAME = "full-network-embedding"

# The off-the-shelf experiment's source network, data and SVM settings; plus the baselines, thresholds and methods.
CONFIGS = {
    profile: {
        **{key: config[key] for key in (*tasks.TASK_KEYS, "seeds", "svm_c", "max_iter", "batch_size", "cache")},
        "baseline_layers": None,  # None: the last two hidden dense layers (fc1, fc2: the paper's fc6, fc7)
        "thresholds": embeddings.DEFAULT_THRESHOLDS,
        "methods": ("baseline", "pooling", "standardisation", "discretisation"),
        # A second source network far from the target (`pretrained_source_network(..., domain=...)`), on which the
        # last hidden layer and the full embedding are fitted too; None: none (full: no second network exists).
        "mismatched_source_domain": {"smoke": "black", "quick": "black", "full": None}[profile],
    }
    for profile, config in off_the_shelf.CONFIGS.items()
}
SOURCES = ("matched", "mismatched")  # the `source` column of the rows

# Live mode: the first seed only. Every method is needed for the step-by-step comparison, and the features are the
# off-the-shelf experiment's (cached on disk after notebook 01); quick live measured 6 CPU-s inside run().
LIVE = {"smoke": {}, "quick": {}, "full": {}}

# Each step of the embedding: its title and the `FullNetworkEmbedding` options (every tapped layer).
STEPS = {
    "pooling": ("FNE: pooling", {"standardize": False, "discretize": False}),
    "standardisation": ("FNE: + standardisation", {"standardize": True, "discretize": False}),
    "discretisation": ("FNE: + discretisation", {"standardize": True, "discretize": True}),
}

# Seed 003 (the lecture's slides of Garcia-Gasulla et al.'s tables, all nine datasets):
# accuracy %, VGG16 features + a linear SVM. `fc6`: the layer before the last hidden one alone; `fc7_to_fne`: the last
# hidden layer alone -> the Full-Network Embedding. The network is pretrained on Places2 for mit67 (scenes) and on
# ImageNet for the rest: the source task resembles the target's. `mismatched_source` ("the most frequent real-world
# scenario" slide): the same with the sources swapped (ImageNet for mit67, Places2 for the rest), a source far from
# the target. `average_gain`: the averages the slides quote beside the fc6 and fc7 rows.
PAPER_FNE = {
    "source": "Garcia-Gasulla et al., 2017: VGG16 pretrained on ImageNet (Places2 for mit67)",
    "fc6": {"mit67": 80.0, "cub200": 65.8, "flowers102": 89.5, "cats-dogs": 89.3, "sdogs": 78.0, "caltech101": 91.4,
            "food101": 61.4, "textures": 69.6, "wood": 70.8},
    "fc7_to_fne": {"mit67": (81.7, 83.6), "cub200": (63.2, 65.5), "flowers102": (87.0, 93.3),
                   "cats-dogs": (89.6, 89.2), "sdogs": (79.3, 78.8), "caltech101": (89.7, 91.4),
                   "food101": (59.1, 67.0), "textures": (69.0, 73.0), "wood": (68.9, 74.1)},
    "average_gain": {"fc6": 2.9, "fc7": 4.2},
    "mismatched_source": {
        "source": "VGG16 pretrained on ImageNet for mit67 and on Places2 for the rest",
        "fc7_to_fne": {"mit67": (72.2, 75.5), "cub200": (23.6, 35.5), "flowers102": (73.3, 88.7),
                       "cats-dogs": (38.7, 56.2), "caltech101": (72.0, 80.0), "textures": (55.8, 65.1),
                       "wood": (65.3, 74.0)},
    },
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


def _mismatched_methods(methods):
    """The methods fitted on the mismatched source: the last hidden layer alone and the full embedding."""
    baselines = [method for method in methods if method[1] == "baseline"]
    return baselines[-1:] + [method for method in methods if method[1] == "discretisation"]


def _check_mismatched_source(config):
    domain = config["mismatched_source_domain"]
    if domain is None:
        return
    from keras_transfer import models

    if config["source_model"] is not None or config["source_profile"] == "full":
        raise ValueError("`mismatched_source_domain` needs the project's small source network (no `source_model`, "
                         "not the full profile): pass mismatched_source_domain=None. Received: "
                         f"mismatched_source_domain={domain!r}, source_model={config['source_model']!r}, "
                         f"source_profile={config['source_profile']!r}")
    if domain not in models.SOURCE_DOMAINS or domain == config["source_domain"]:
        raise ValueError(f"`mismatched_source_domain` must be None or one of {models.SOURCE_DOMAINS} other than the "
                         f"matched source's ({config['source_domain']!r}). Received: "
                         f"mismatched_source_domain={domain!r}")


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


@base.recipe(NAME)
def run(profile="quick", *, seeds=None, output_dir=None, verbose=1, **overrides):
    """One layer + SVM against the Full-Network Embedding + SVM, and the embedding's steps one by one.

    Args:
        profile: str. `"smoke"`, `"quick"` or `"full"`.
        seeds: sequence of int or None. Each seed draws another training set and seeds the SVM.
        output_dir: path or None. Where `result.json` goes (default
            `paths.results_dir("full-network-embedding", profile)`).
        verbose: int. 0 silent; 1 one progress bar over the methods and seeds; 2 also a line per method and seed.
        **overrides: settings of `CONFIGS[profile]`, e.g. `train_per_class=10`, `methods=("baseline",
            "discretisation")`, `thresholds=(-0.5, 0.5)`, `mismatched_source_domain=None`,
            `source_model="vgg19.keras"` (with `mismatched_source_domain=None`), `path=...` (full).

    Returns:
        An `ExperimentResult`, one row per source, method and seed (`source`: `"matched"` or `"mismatched"`,
        `model` = the method's title, `step`, `seed`, `layers`, `features`, `test_accuracy`, `train_accuracy`,
        `converged`, `fit_seconds`). `metadata` holds `by_method` (mean ± std, matched source), `gains` (points over
        each baseline), `paper` (seed 003's numbers), `verdicts` (the paper's claims checked on our run),
        `value_fractions` (the share of -1, 0, 1 in the embedding) and `source_comparison` (the embedding's gain
        over the last hidden layer on each source, paired by seed; None without a mismatched source).
        `reports.full_network_embedding` turns it into the notebook's tables and sentences.

    Reference:
        - [Garcia-Gasulla et al., 2017](https://arxiv.org/abs/1705.07706): An out-of-the-box full-network
          embedding for convolutional neural networks.
    """
    config = profiles.select(CONFIGS, profile, overrides)
    seeds = base.check_seeds(config["seeds"] if seeds is None else seeds)
    embeddings.discretize(np.zeros(1), config["thresholds"])  # a bad `thresholds` fails here, before any work
    if not config["methods"] or any(step not in ("baseline", *STEPS) for step in config["methods"]):
        raise ValueError(f"`methods` must name some of {('baseline', *STEPS)}. "
                         f"Received: methods={tuple(config['methods'])!r}")
    _check_mismatched_source(config)
    prepared = tasks.prepare_task(config, seeds, verbose=verbose)
    model, layers, data, inputs = (prepared[key] for key in ("model", "layers", "data", "inputs"))
    methods = _methods(model, config, layers)
    # Each source network and the methods fitted on its features: the same target images and network inputs.
    sources = [("matched", model, methods)]
    start = time.perf_counter()
    if config["mismatched_source_domain"] is not None:
        mismatched = tasks.load_source_model(source_profile=config["source_profile"], seed=config["source_seed"],
                                             domain=config["mismatched_source_domain"], verbose=verbose)
        sources.append(("mismatched", mismatched, _mismatched_methods(_methods(mismatched, config, layers))))
    source_seconds = prepared["source_seconds"] + time.perf_counter() - start

    rows, value_fractions = [], {}
    fits = len(seeds) * sum(len(source_methods) for _, _, source_methods in sources)
    with progress.bar(fits, NAME, verbose=verbose, unit="method") as bar:
        for (source, source_model, source_methods), seed in itertools.product(sources, seeds):
            y_train, y_test = data["train"][seed][1], data["test"][1]
            for title, step, method_layers, options in source_methods:
                embedding = embeddings.FullNetworkEmbedding(
                    source_model, layers=method_layers, thresholds=tuple(config["thresholds"]),
                    batch_size=config["batch_size"], cache=config["cache"], verbose=0, **options,
                )
                svm = LinearSVC(C=config["svm_c"], max_iter=config["max_iter"], random_state=seed)
                scores = embeddings.fit_and_score(Pipeline([("embedding", embedding), ("svm", svm)]),
                                                  inputs["train"][seed], y_train, inputs["test"], y_test)
                rows.append({"source": source, "model": title, "step": step, "seed": seed,
                             "layers": list(embedding.layers_), "features": int(embedding.n_features_out_), **scores, "train_images": int(len(y_train))})
                if step == "discretisation" and seed == seeds[0] and source == "matched":
                    values = embedding.transform(inputs["train"][seed])
                    value_fractions = {str(v): float(np.mean(values == v)) for v in (-1.0, 0.0, 1.0)}
                summary = (f"{source} source, seed {seed}, {title}: {scores['test_accuracy']:.1%}"
                           + ("" if scores["converged"] else " (SVM did not converge)"))
                bar.set_postfix_str(summary, refresh=False)  # drawn by update, at most every mininterval
                bar.update(1)
                if verbose >= 2:
                    bar.write(f"{summary}, {rows[-1]['features']} features")

    matched_rows = [row for row in rows if row["source"] == "matched"]
    by_method = base.ExperimentResult(NAME, profile, matched_rows, {}, {}).summary(
        by="model", metrics=["features", "test_accuracy"])
    for entry in by_method:
        entry["converged"] = all(row["converged"] for row in matched_rows if row["model"] == entry["model"])
    baseline_titles = [method[0] for method in methods if method[1] == "baseline"]
    result = base.ExperimentResult(NAME, profile, rows, {}, {})
    result.metadata = {
        "config": base.jsonable(config),
        "seeds": list(seeds),
        "task": tasks.describe_task(config),
        "layers": layers,
        "baseline_layers": [method[2][0] for method in methods if method[1] == "baseline"],
        "source_model": model.name,
        "sources": {"matched": tasks.describe_source(config),
                    **({"mismatched": tasks.describe_source(config, config["mismatched_source_domain"])}
                       if len(sources) > 1 else {})},
        "class_names": list(data["class_names"]),
        "sizes": {"train_per_seed": int(len(data["train"][seeds[0]][1])), "test": int(len(data["test"][1]))},
        "by_method": by_method,
        "value_fractions": value_fractions,
        "paper": base.jsonable(PAPER_FNE),
        **compare_with_paper(by_method),
        "source_comparison": (compare_sources(rows, baseline_titles[-1] if baseline_titles else None)
                              if len(sources) > 1 else None),
        "source_seconds": round(source_seconds, 2),
        # the printed table: one line per source and method (a mismatched source's rows are not the matched one's)
        "table_by": ["source", "model"] if len(sources) > 1 else "model",
    }
    return result


def compare_with_paper(by_method):
    """Our gains and the paper's claims checked on our run.

    Args:
        by_method: list of dict. `{"model", "test_accuracy", "test_accuracy_std"}` per method (mean over seeds).

    Returns:
        `{"gains": {baseline layer: points of the full embedding over it}, "verdicts": [{"claim", "paper",
        "paper_note", "ours", "points", "spread"}]}`: `paper` is whether seed 003's table shows it on most of its
        datasets (None where it reports no number; `paper_note` says on how many), `ours` whether our run shows
        it, `points` our difference and `spread` the larger of the two methods' standard deviations over seeds (in
        points).
    """
    means = {entry["model"]: entry for entry in by_method}
    full = means.get(STEPS["discretisation"][0])
    baselines = [name for name in means if name.endswith(" + SVM")]
    fc7_gains = [fne - fc7 for fc7, fne in PAPER_FNE["fc7_to_fne"].values()]
    fc6_gains = [PAPER_FNE["fc7_to_fne"][name][1] - fc6 for name, fc6 in PAPER_FNE["fc6"].items()]

    def on_datasets(gains):
        return f"on {sum(gain > 0 for gain in gains)} of {len(gains)} datasets"

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
                            _most(fc7_gains), on_datasets(fc7_gains), full["model"], baselines[-1])
    if full is not None and len(baselines) > 1:
        verdicts += verdict(f"the full embedding beats the layer before ({baselines[-2].split()[0]} as fc6)",
                            _most(fc6_gains), on_datasets(fc6_gains), full["model"], baselines[-2])
    titles = [title for title, _ in STEPS.values()]
    for before, after in zip(titles, titles[1:]):
        verdicts += verdict(f"'{after}' improves on '{before}'", None, "the paper gives no number", after, before)
    gains = {name.split()[0]: 100 * (full["test_accuracy"] - means[name]["test_accuracy"])
             for name in baselines if full is not None}
    return {"gains": gains, "verdicts": verdicts}


def compare_sources(rows, baseline, full=STEPS["discretisation"][0]):
    """The lecture's "most frequent real-world scenario" on our run: the full embedding's gain over the last hidden
    layer on the mismatched source against the matched one, paired by seed.

    Args:
        rows: list of dict. The run's rows (`source`, `model`, `seed`, `test_accuracy`).
        baseline: str or None. The last hidden layer's method title (e.g. `"fc2 + SVM"`); None: no baseline ran.
        full: str. The full embedding's method title.

    Returns:
        `{"baseline", "full", "by_source": {source: {"seeds", "baseline", "full", "gains"}}, "step", "paper",
        "paper_note"}`: `baseline` and `full` per source are test accuracies and `gains` points of the embedding
        over the last layer, each a list in seed order; `step` is `comparisons.step(matched gains, mismatched
        gains)` (paired by seed: `holds` when the mismatched gain is larger by more than the spread of the per-seed
        difference, None when a method did not run); `paper` whether the paper's slides show a larger gain with
        the mismatched source on most datasets they share, `paper_note` on how many.
    """
    by_source, gains = {}, {}
    for source in SOURCES:
        lower = comparisons.by_seed(rows, source=source, model=baseline) if baseline else {}
        higher = comparisons.by_seed(rows, source=source, model=full)
        seeds = [seed for seed in higher if seed in lower]
        gains[source] = {seed: 100 * (higher[seed] - lower[seed]) for seed in seeds}
        by_source[source] = {"seeds": seeds, "baseline": [lower[seed] for seed in seeds],
                             "full": [higher[seed] for seed in seeds], "gains": list(gains[source].values())}
    matched, mismatched = PAPER_FNE["fc7_to_fne"], PAPER_FNE["mismatched_source"]["fc7_to_fne"]
    shared = [name for name in mismatched if name in matched]
    larger = sum(mismatched[name][1] - mismatched[name][0] > matched[name][1] - matched[name][0] for name in shared)
    return {"baseline": baseline, "full": full, "by_source": by_source,
            "step": comparisons.step(gains["matched"], gains["mismatched"]),
            "paper": larger > len(shared) / 2, "paper_note": f"on {larger} of {len(shared)} datasets"}


def _most(gains):
    """Whether the paper's claim holds on most of its datasets (a gain above zero on more than half)."""
    return sum(gain > 0 for gain in gains) > len(gains) / 2
