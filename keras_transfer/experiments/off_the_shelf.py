"""Off-the-shelf features: a linear classifier on the features of each layer of a pretrained network, and retrieval.

The lectures' off-the-shelf recipe: "use outputs of one or more layers of a network trained on a different task as
generic feature detectors; train a new shallow model on these features". For every tapped layer of the source
network (each convolutional layer, spatially average-pooled, and each hidden dense layer) this recipe trains a
linear SVM and a softmax (`embeddings.linear_svm`, `embeddings.softmax_classifier`) on a small labelled training set
of the target task, tests them, and ranks a gallery by cosine similarity to each test image (precision@k), as Zeiler
& Fergus (2014, Table 6) tapped every layer of an ImageNet network (Caltech-101 with 30 images per class).
Before any classifier is trained, it also scores each layer's training features with LogME and H-score
(`keras_transfer.selection`), and the source network's predictions with LEEP and NCE, and measures how well each
score ranked the layers (Kendall's tau with the SVM's accuracy, per seed).

Profiles (the data and the network are config keys; the machinery is `keras_transfer.embeddings.tasks`):

- `quick`: the project's small VGG pretrained on half A of Fashion-MNIST (`pretrained_source_network("quick")`);
  the target task is half B with Caltech-101's budget of 30 training images per class, drawn per seed (three
  seeds), tested on all 5,000 test images of half B; the gallery is 100 other training images per class.
- `smoke`: the same at a tiny size (the smoke source network, 10 images per class): seconds.
- `full`: Keras's ImageNet VGG19 on Oxford-17 flowers (split 1, 224x224, VGG19 preprocessing); a GPU.
"""

import math
import os

import keras
import numpy as np

from keras_transfer import embeddings
from keras_transfer import profiles
from keras_transfer import progress
from keras_transfer import selection
from keras_transfer.embeddings import tasks
from keras_transfer.experiments import base

NAME = "off-the-shelf"

_COMMON = {
    "source_model": None,  # None: pretrained_source_network(source_profile); or a path to a .keras model file
    "source_seed": 0,
    "split_seed": 0,
    "layers": None,  # None: every convolutional layer and every hidden dense layer (embeddings.default_layers)
    "svm_c": 1.0,
    "softmax_c": 1.0,
    "max_iter": 5000,
    "retrieval_layer": None,  # None: the last tapped layer (fc2)
    "batch_size": 64,
    "cache": True,
    "split_id": 1,  # oxford17: the official split
    "path": None,  # oxford17: an extracted Oxford-17 folder (jpg/, datasplits.mat); None downloads
}
# The target of notebook 04: half B's items pasted on crops of photos the source never saw, and the source network
# trained on half A's items pasted on photos (the matched source). `dataset="fashion_mnist_half_b"`,
# `preprocess="source_network"`, `source_domain="black"`: both on black instead.
_PASTED = {"dataset": "pasted_half_b", "preprocess": None, "source_domain": "photos", "scale_range": (0.5, 1.0),
           "crop_range": (1.0, 4.0)}  # pool_size: the pasted training items the seeds draw from and the gallery's

CONFIGS = {
    "smoke": {**_COMMON, **_PASTED, "source_profile": "smoke", "seeds": (0,), "train_per_class": 10,
              "test_per_class": 20, "gallery_per_class": 20, "pool_size": 300, "ks": (1, 5), "retrieval_queries": 5,
              "retrieval_hits": 5},
    "quick": {**_COMMON, **_PASTED, "source_profile": "quick", "seeds": (0, 1, 2), "train_per_class": 30,
              "test_per_class": None, "gallery_per_class": 100, "pool_size": 1300, "ks": (1, 5, 10),
              "retrieval_queries": 5, "retrieval_hits": 8},
    "full": {**_COMMON, "dataset": "oxford17", "preprocess": "vgg19", "source_profile": "full", "seeds": (0,),
             "train_per_class": None, "test_per_class": None, "gallery_per_class": None, "ks": (1, 5, 10),
             "retrieval_queries": 6, "retrieval_hits": 8, "batch_size": 32, "source_domain": None, "scale_range": None,
             "crop_range": None, "pool_size": None},
}

# Live mode (`kt.experiments.run(..., live=True)`): the first seed only, nothing else smaller. The curve needs every
# layer and a test set large enough to rank them; quick live measured 7 CPU-s inside run() with a cold feature cache
# (13 CPU-s with the imports), once the source network is cached (its first training: about 90 CPU-s). Full keeps
# Oxford-17's official split (one seed already): its cost is one VGG19 pass over the split's images.
LIVE = {"smoke": {}, "quick": {}, "full": {}}

# Zeiler & Fergus (2014), Table 6: an 8-layer AlexNet-style network trained on ImageNet, features
# of layer n + a linear SVM or a softmax, accuracy in %: (Caltech-101 with 30 images per class, Caltech-256 with 60).
PAPER_CALTECH = {
    "source": "Zeiler & Fergus, 2014: AlexNet-style network pretrained on ImageNet",
    "datasets": ("Caltech-101 (30/class)", "Caltech-256 (60/class)"),
    "svm": {1: (44.8, 24.6), 2: (66.2, 39.6), 3: (72.3, 46.0), 4: (76.6, 51.3), 5: (86.2, 65.6), 7: (85.5, 71.7)},
    "softmax": {5: (82.9, 65.7), 7: (85.4, 72.6)},
    "num_layers": 7,
}
# Transferability scores of each layer's features on the target's training images (keras_transfer.selection).
LAYER_SCORES = {"logme": selection.logme, "hscore": selection.hscore}
# LEEP and NCE read the source classifier's predictions: they score the source network, one number per training set.
SOURCE_SCORES = {"leep": selection.leep, "nce": selection.nce}
# TLlib's published correlations between each score and the fine-tuned accuracy of 10 ImageNet models
# (thuml/Transfer-Learning-Library, examples/model_selection/README.md): (Pearson, weighted Kendall tau).
PAPER_TLLIB = {
    "source": "TLlib (examples/model_selection): 10 ImageNet models fine-tuned on each dataset",
    "measures": ("Pearson", "weighted Kendall tau"),
    "scores": {
        "Aircraft": {"hscore": (0.688, 0.664), "leep": (0.127, -0.264), "logme": (0.582, 0.595), "nce": (0.173, 0.002)},
        "Caltech-101": {"hscore": (0.748, 0.721), "leep": (0.324, 0.127), "logme": (0.794, 0.697),
                        "nce": (0.843, 0.810)},
        "CIFAR-10": {"hscore": (0.839, 0.800), "leep": (0.604, 0.638), "logme": (0.733, 0.785), "nce": (0.786, 0.714)},
        "CIFAR-100": {"hscore": (0.815, 0.775), "leep": (0.513, 0.659), "logme": (0.698, 0.790),
                      "nce": (0.705, 0.654)},
        "DTD": {"hscore": (0.532, 0.416), "leep": (0.217, -0.004), "logme": (0.617, 0.550), "nce": (0.471, 0.083)},
        "Oxford-IIIT Pets": {"hscore": (0.427, 0.425), "leep": (-0.127, -0.143), "logme": (0.589, 0.502),
                             "nce": (0.501, 0.119)},
        "Stanford Cars": {"hscore": (0.503, 0.638), "leep": (0.433, 0.703), "logme": (0.274, 0.654),
                          "nce": (0.695, 0.750)},
        "SUN397": {"hscore": (0.913, 0.918), "leep": (0.428, 0.581), "logme": (0.824, 0.748), "nce": (0.782, 0.873)},
    },
}
SHAPE_TOLERANCE = 0.02  # accuracy (a fraction) within which two points of a curve count as level
RETRIEVAL_FILE = "retrieval_examples.npz"


def prepare(profile="quick", *, seeds=None, verbose=1, **overrides):
    """The config, seeds, source network, tapped layers, target images and network inputs of `profile`, as `run`
    starts (see `embeddings.tasks.prepare_task`): for looking at the data and the network in a notebook."""
    config = profiles.select(CONFIGS, profile, overrides)
    seeds = base.check_seeds(config["seeds"] if seeds is None else seeds)
    return {"config": config, "seeds": seeds, **tasks.prepare_task(config, seeds, verbose=verbose)}


@base.recipe(NAME)
def run(profile="quick", *, seeds=None, output_dir=None, verbose=1, **overrides):
    """Linear SVM, softmax and nearest-neighbour retrieval on the features of each layer of the source network.

    Args:
        profile: str. `"smoke"`, `"quick"` or `"full"` (see the module docstring).
        seeds: sequence of int or None. Each seed draws another training set and seeds the SVM; None: the profile's.
        output_dir: path or None. Where `result.json` and `retrieval_examples.npz` go (default
            `paths.results_dir("off-the-shelf", profile)`).
        verbose: int. 0 silent; 1 one progress bar over the layers; 2 also a line per layer.
        **overrides: settings of `CONFIGS[profile]`, e.g. `train_per_class=10`, `layers=["block1_conv1", "fc2"]`,
            `source_model="vgg19.keras"`, `path="/data/oxford17"`, `cache=False`.

    Returns:
        An `ExperimentResult`, one row per layer and seed (`model` = `layer`, `depth`, `seed`, `features`,
        `svm_accuracy`, `softmax_accuracy`, their train accuracies and `*_converged`, and the transferability
        scores `logme` and `hscore` of the layer's training features). `metadata` holds `by_layer` (mean ± std per
        layer), `retrieval` (precision@k per layer), `paper` (the paper's Caltech table), `shape_comparison` (the
        paper's shape checked on both), `findings` (best, first and top layer, chance) and `transferability` (each
        score's Kendall tau with the SVM accuracy per seed and its pick, `score_correlations`; the source network's
        LEEP and NCE; TLlib's published correlations; the seconds the scores took).
        `reports.off_the_shelf` turns it into the notebook's tables and sentences.

    Reference:
        - [Zeiler & Fergus, 2014](https://arxiv.org/abs/1311.2901): Visualizing and understanding convolutional
          networks.
        - [Razavian et al., 2014](https://arxiv.org/abs/1403.6382): CNN features off-the-shelf: an astounding
          baseline for recognition.
    """
    config = profiles.select(CONFIGS, profile, overrides)
    seeds = base.check_seeds(config["seeds"] if seeds is None else seeds)
    ks = tuple(config["ks"])
    if not ks or any(isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1 for k in ks):
        raise ValueError(f"`ks` must be a non-empty sequence of positive integers. Received: ks={config['ks']!r}")
    prepared = tasks.prepare_task(config, seeds, verbose=verbose)  # checks the task's settings first
    model, layers, data, inputs = (prepared[key] for key in ("model", "layers", "data", "inputs"))
    retrieval_layer = config["retrieval_layer"] or layers[-1]
    if retrieval_layer not in layers:
        raise ValueError(f"`retrieval_layer` must be one of the tapped layers {layers}. "
                         f"Received: retrieval_layer={retrieval_layer!r}")

    # 1. One forward pass per image set gives the pooled features of every tapped layer (cached on disk).
    clock = base.Stopwatch()

    def features_of(x):
        return embeddings.extract_layer_features(model, x, layers, batch_size=config["batch_size"],
                                                 cache=config["cache"], verbose=0)  # seconds: no Keras bars

    train_features = {seed: features_of(inputs["train"][seed]) for seed in seeds}
    test_features, gallery_features = features_of(inputs["test"]), features_of(inputs["gallery"])
    extraction = clock.times()

    # 2. Per layer: an SVM and a softmax per seed, and retrieval from the gallery.
    (y_test, y_gallery), rows, retrieval = (data["test"][1], data["gallery"][1]), [], []
    clock = base.Stopwatch()
    with progress.bar(len(layers), NAME, verbose=verbose, unit="layer") as bar:
        for depth, layer in enumerate(layers, start=1):
            for seed in seeds:
                rows.append(_classify(config, layer, depth, seed, train_features[seed][layer], data["train"][seed][1],
                                      test_features[layer], y_test))
            neighbors = embeddings.nearest_neighbors(gallery_features[layer], test_features[layer], max(ks))
            precision = embeddings.precision_at_k(y_gallery[neighbors], y_test,
                                                  [k for k in ks if k <= neighbors.shape[1]])
            retrieval.append({"layer": layer, "depth": depth, **{f"precision@{k}": v for k, v in precision.items()}})
            svm = base.mean_std(row["svm_accuracy"] for row in rows if row["layer"] == layer)[0]
            summary = f"{layer}: SVM {svm:.1%}, precision@{ks[0]} {precision.get(ks[0], float('nan')):.1%}"
            bar.set_postfix_str(summary, refresh=False)  # drawn by update, at most every mininterval
            bar.update(1)
            if verbose >= 2:
                bar.write(f"{summary} ({rows[-1]['features']} features)")
    classification = clock.times()

    # 3. Could a score have chosen the layer before any classifier was trained? LogME and H-score of each layer's
    #    training features, LEEP and NCE of the source network's own predictions, from the cached features.
    clock = base.Stopwatch()
    for row in rows:
        features, labels = train_features[row["seed"]][row["layer"]], data["train"][row["seed"]][1]
        row.update({name: score(features, labels) for name, score in LAYER_SCORES.items()})
    source_scores = _source_scores(model, inputs, data, seeds, config)
    scoring = clock.times()

    # 4. A grid of retrieval examples for the notebook (images on disk, indices in the result).
    queries = embeddings.retrieval_queries(y_test, config["retrieval_queries"])
    hits = embeddings.nearest_neighbors(gallery_features[retrieval_layer], test_features[retrieval_layer][queries],
                                        config["retrieval_hits"])
    examples_file = _save_examples(output_dir, queries, hits, data, retrieval_layer)

    # 5. Our curve's summary, the paper's table and the shape checks on both; how well each score ranked the layers.
    result = base.ExperimentResult(NAME, profile, rows, {}, {})
    by_layer = result.summary(by="layer", metrics=["depth", "features", "svm_accuracy", "softmax_accuracy",
                                                    *LAYER_SCORES])
    result.metadata = {
        "config": base.jsonable(config),
        "seeds": list(seeds),
        "task": tasks.describe_task(config),
        "layers": layers,
        "source_model": model.name,
        "source_parameters": int(model.count_params()),
        "class_names": list(data["class_names"]),
        "sizes": {"train_per_seed": int(len(data["train"][seeds[0]][1])), "test": int(len(y_test)),
                  "gallery": int(len(y_gallery))},
        "image_shape": list(inputs["test"].shape[1:]),
        "by_layer": by_layer,
        "retrieval": retrieval,
        "retrieval_examples": {"layer": retrieval_layer, "queries": queries, "neighbors": hits.tolist(),
                               "file": os.path.basename(examples_file)},  # beside result.json
        "paper": base.jsonable(PAPER_CALTECH),
        "shape_comparison": shape_comparison(by_layer),
        "shape_tolerance": SHAPE_TOLERANCE,
        "findings": findings(by_layer, len(data["class_names"])),
        "source_seconds": round(prepared["source_seconds"], 2),
        "feature_seconds": extraction["wall_time_s"],
        "classifier_seconds": classification["wall_time_s"],
        "transferability": {"scores": list(LAYER_SCORES), "ranking": score_correlations(rows, list(LAYER_SCORES)),
                            "source_scores": source_scores, "paper": base.jsonable(PAPER_TLLIB),
                            "seconds": scoring["wall_time_s"]},
        "output_dir": str(output_dir),
    }
    return result


def _classify(config, layer, depth, seed, x_train, y_train, x_test, y_test):
    """One row: a linear SVM and a softmax trained on one layer's features of one seed's training set."""
    classifiers = {"svm": embeddings.linear_svm(config["svm_c"], seed, config["max_iter"]),
                   "softmax": embeddings.softmax_classifier(config["softmax_c"], config["max_iter"])}
    row = {"model": layer, "layer": layer, "depth": depth, "seed": seed, "features": int(x_train.shape[1]),
           "train_images": int(len(y_train))}
    for kind, classifier in classifiers.items():
        scores = embeddings.fit_and_score(classifier, x_train, y_train, x_test, y_test)
        row.update({f"{kind}_accuracy": scores["test_accuracy"], f"{kind}_train_accuracy": scores["train_accuracy"],
                    f"{kind}_converged": scores["converged"]})
    return row


def _source_scores(model, inputs, data, seeds, config):
    """LEEP and NCE of the source network's softmax output on each seed's training images, or why there are none."""
    output = model.layers[-1]
    if not (isinstance(output, keras.layers.Dense) and output.activation is keras.activations.softmax):
        return {"available": False, "reason": f"the source network's output layer `{output.name}` is not a softmax "
                                              "classifier, so it has no predicted distribution over source labels"}
    per_seed = []
    for seed in seeds:
        predictions = embeddings.extract_layer_features(model, inputs["train"][seed], [output.name],
                                                        batch_size=config["batch_size"], cache=config["cache"])
        predictions = predictions[output.name].astype(np.float64)
        predictions /= predictions.sum(axis=1, keepdims=True)  # float32 rows: sum to 1 again in float64
        labels = data["train"][seed][1]
        per_seed.append({"seed": seed, **{name: score(predictions, labels) for name, score in SOURCE_SCORES.items()}})
    return {"available": True, "layer": output.name, "source_classes": int(output.units), "per_seed": per_seed,
            **{name: list(base.mean_std(entry[name] for entry in per_seed)) for name in SOURCE_SCORES}}


def score_correlations(rows, scores, accuracy="svm_accuracy", candidate="layer"):
    """How well each score ranked the candidates: Kendall's tau with the measured accuracy per seed, and its pick.

    Args:
        rows: list of dict. One row per candidate and seed, holding `seed`, `candidate`, `accuracy` and each score.
        scores: list of str. The score columns.
        accuracy: str. The measured accuracy the scores should have predicted.
        candidate: str. The column naming the candidate (a layer, a source network).

    Returns:
        A dict: `per_seed` (per seed: the best candidate and its accuracy; per score its `tau`, the candidate it
        ranks first `picked`, that candidate's accuracy and `regret`, the accuracy lost by taking it), and
        `summary` per score: `tau` `[mean, std]` over seeds (NaN seeds, where a score is constant, left out),
        `picked_best` (the number of seeds where its pick was as accurate as the best candidate; ties count),
        `regret` (mean) and `seeds`.
    """
    per_seed = []
    for seed in sorted({row["seed"] for row in rows}):
        group = [row for row in rows if row["seed"] == seed]
        best = max(group, key=lambda row: row[accuracy])
        entry = {"seed": seed, "best": best[candidate], "best_accuracy": best[accuracy]}
        for score in scores:
            tau = selection.rank_correlation([row[score] for row in group], [row[accuracy] for row in group])
            picked = max(group, key=lambda row: row[score])
            entry[score] = {"tau": None if math.isnan(tau) else tau, "picked": picked[candidate],
                            "picked_accuracy": picked[accuracy], "regret": best[accuracy] - picked[accuracy]}
        per_seed.append(entry)
    summary = {}
    for score in scores:
        taus = [entry[score]["tau"] for entry in per_seed]
        mean, std = base.mean_std(tau for tau in taus if tau is not None)
        summary[score] = {"tau": [None if math.isnan(mean) else mean, None if math.isnan(std) else std],
                          "picked_best": sum(entry[score]["regret"] <= 0 for entry in per_seed),
                          "regret": base.mean_std(entry[score]["regret"] for entry in per_seed)[0],
                          "seeds": len(per_seed)}
    return {"accuracy": accuracy, "per_seed": per_seed, "summary": summary}


def _save_examples(output_dir, queries, neighbors, data, layer):
    os.makedirs(output_dir, exist_ok=True)
    path = os.path.join(output_dir, RETRIEVAL_FILE)
    partial = path + f".{os.getpid()}.partial.npz"
    np.savez_compressed(partial, query_images=data["test"][0][queries], query_labels=data["test"][1][queries],
                        neighbor_images=data["gallery"][0][neighbors], neighbor_labels=data["gallery"][1][neighbors],
                        class_names=np.asarray(data["class_names"]), layer=np.asarray(layer))
    os.replace(partial, path)
    return path


def retrieval_examples(result):
    """The retrieval grid saved by `run` beside `result.json`: `query_images`, `query_labels`, `neighbor_images`
    `(queries, hits, ...)`, `neighbor_labels`, `class_names` and `layer` (for `plotting.plot_retrieval`)."""
    loaded_from = result.metadata.get("loaded_from")  # a saved result copied from elsewhere: look beside it
    folder = os.path.dirname(loaded_from) if loaded_from else result.metadata["output_dir"]
    path = os.path.join(folder, result.metadata["retrieval_examples"]["file"])
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No retrieval examples at {path}: run the experiment again to write them.")
    with np.load(path) as saved:
        examples = {key: saved[key] for key in saved.files}
    return {**examples, "class_names": tuple(str(n) for n in examples["class_names"]), "layer": str(examples["layer"])}


def findings(by_layer, num_classes):
    """What the notebook says about the curve: the best, first and top layer's mean SVM accuracy, and chance."""
    best = max(by_layer, key=lambda entry: entry["svm_accuracy"])
    first, top = by_layer[0], by_layer[-1]
    return {
        "best_layer": best["layer"], "best_depth": round(best["depth"]), "best_svm_accuracy": best["svm_accuracy"],
        "first_layer": first["layer"], "first_svm_accuracy": first["svm_accuracy"],
        "top_layer": top["layer"], "top_svm_accuracy": top["svm_accuracy"],
        "top_softmax_minus_svm": top["softmax_accuracy"] - top["svm_accuracy"],
        "top_below_best": best["svm_accuracy"] - top["svm_accuracy"],
        "chance": 1.0 / num_classes,
    }


def _shape_checks(svm, softmax, tolerance=SHAPE_TOLERANCE):
    """The seeds' pattern as checks on `{depth: accuracy}` curves (accuracies as fractions)."""
    top, best = max(svm), max(svm.values())
    checks = {
        "layer 1 is the weakest": min(svm, key=svm.get) == min(svm),
        "the best layer is in the upper half": max(svm, key=svm.get) > top / 2,
        f"flat near the top: the top layer within {100 * tolerance:g} points of the best": best - svm[top] <= tolerance,
    }
    if top in softmax:
        checks[f"softmax within {100 * tolerance:g} points of the SVM at the top"] = (
            abs(softmax[top] - svm[top]) <= tolerance
        )
    return checks


def shape_comparison(by_layer):
    """The shape of the paper's table (low at layer 1, rising, flat near the top) checked on ours and on the paper's.

    Args:
        by_layer: list of dict. `{"depth", "svm_accuracy", "softmax_accuracy"}` per layer (mean over seeds).

    Returns:
        A list of `{"property", "caltech101", "caltech256", "ours"}` booleans, computed from the numbers.
    """
    ours = _shape_checks({round(e["depth"]): e["svm_accuracy"] for e in by_layer},
                         {round(e["depth"]): e["softmax_accuracy"] for e in by_layer})
    paper = [_shape_checks({layer: values[column] / 100 for layer, values in PAPER_CALTECH["svm"].items()},
                           {layer: values[column] / 100 for layer, values in PAPER_CALTECH["softmax"].items()})
             for column in (0, 1)]
    return [{"property": name, "caltech101": paper[0].get(name), "caltech256": paper[1].get(name), "ours": value}
            for name, value in ours.items()]
