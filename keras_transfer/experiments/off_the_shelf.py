"""Off-the-shelf features: a linear classifier on the features of each layer of a pretrained network, and retrieval.

Seeds 000, 001 and 004: "use outputs of one or more layers of a network trained on a different task as generic
feature detectors; train a new shallow model on these features". For every layer of the source network (every
convolutional layer, spatially average-pooled, and every hidden dense layer) this experiment trains

- a linear SVM (`sklearn.svm.LinearSVC` on standardised features), as in Zeiler & Fergus's "tapping off features
  at each layer" (seed 004: Caltech-101 with 30 images per class);
- a softmax classifier (multinomial `sklearn.linear_model.LogisticRegression` on the same features), the table's
  "Softmax" rows;

on a small labelled training set of the target task and measures their test accuracy, and it ranks a gallery of
images by cosine similarity to each test image in the same features (`sklearn.neighbors.NearestNeighbors`) to
measure retrieval: precision@k is the share of the k nearest gallery images that have the query's class.

Profiles:

- `quick`: the source network is the project's small VGG pretrained on half A of Fashion-MNIST
  (`keras_transfer.models.pretrained_source_network("quick")`: Pullover, Dress, Coat, Shirt, Sneaker); the target
  task is half B (T-shirt/top, Trouser, Sandal, Bag, Ankle boot) with Caltech-101's budget of 30 training images per
  class, drawn per seed (three seeds), tested on all 5,000 test images of half B; the retrieval gallery is 100
  other training images per class. A couple of minutes on a 2-core CPU once the source network is cached.
- `smoke`: the same code at a tiny size (the smoke source network, 10 images per class): seconds.
- `full`: Keras's ImageNet VGG19 on Oxford-17 flowers (split 1: 40 training and 20 test images per class at
  224x224, `keras.applications.vgg19.preprocess_input`); the gallery is the training split. Meant for a GPU.

Features are computed once per image set and, with `cache=True`, kept on disk (`extract_layer_features`).
"""

import os
import statistics
import time
import warnings

import keras
import numpy as np

from keras_transfer import paths
from keras_transfer import profiles
from keras_transfer.experiments.base import ExperimentResult

NAME = "off-the-shelf"

_COMMON = {
    "source_model": None,  # None: pretrained_source_network(source_profile); or a path to a .keras model file
    "source_seed": 0,
    "split_seed": 0,
    "layers": None,  # None: every convolutional layer and every hidden dense layer (default_layers)
    "svm_c": 1.0,
    "softmax_c": 1.0,
    "max_iter": 5000,
    "retrieval_layer": None,  # None: the last tapped layer (fc2)
    "batch_size": 64,
    "cache": True,
    "split_id": 1,  # full: the official Oxford-17 split
    "path": None,  # full: an extracted Oxford-17 folder (jpg/, datasplits.mat); None downloads
}

CONFIGS = {
    "smoke": {
        **_COMMON,
        "dataset": "fashion_mnist",
        "source_profile": "smoke",
        "preprocess": None,
        "seeds": (0,),
        "train_per_class": 10,
        "test_per_class": 20,
        "gallery_per_class": 20,
        "ks": (1, 5),
        "retrieval_queries": 5,
        "retrieval_hits": 5,
    },
    "quick": {
        **_COMMON,
        "dataset": "fashion_mnist",
        "source_profile": "quick",
        "preprocess": None,
        "seeds": (0, 1, 2),
        "train_per_class": 30,
        "test_per_class": None,
        "gallery_per_class": 100,
        "ks": (1, 5, 10),
        "retrieval_queries": 5,
        "retrieval_hits": 8,
    },
    "full": {
        **_COMMON,
        "dataset": "oxford17",
        "source_profile": "full",
        "preprocess": "vgg19",
        "seeds": (0,),
        "train_per_class": None,
        "test_per_class": None,
        "gallery_per_class": None,
        "ks": (1, 5, 10),
        "retrieval_queries": 6,
        "retrieval_hits": 8,
        "batch_size": 32,
    },
}

# Seed 004 (Zeiler & Fergus 2014, Table 6; FACTS.md): an 8-layer AlexNet-style network trained on ImageNet, features
# of layer n + a linear SVM or a softmax, accuracy in %: (Caltech-101 with 30 images per class, Caltech-256 with 60).
PAPER_CALTECH = {
    "source": "Zeiler & Fergus 2014 via seed 004: AlexNet-style network pretrained on ImageNet",
    "datasets": ("Caltech-101 (30/class)", "Caltech-256 (60/class)"),
    "svm": {1: (44.8, 24.6), 2: (66.2, 39.6), 3: (72.3, 46.0), 4: (76.6, 51.3), 5: (86.2, 65.6), 7: (85.5, 71.7)},
    "softmax": {5: (82.9, 65.7), 7: (85.4, 72.6)},
    "num_layers": 7,
}

RETRIEVAL_FILE = "retrieval_examples.npz"


# --------------------------------------------------------------------------------------------------------------- data


def _check_config(config, seeds):
    seeds = tuple(config["seeds"] if seeds is None else seeds)
    if not seeds or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0 for s in seeds):
        raise ValueError(f"`seeds` must be a non-empty sequence of non-negative integers. Received: seeds={seeds!r}")
    for key in ("train_per_class", "test_per_class", "gallery_per_class"):
        value = config[key]
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1):
            raise ValueError(f"`{key}` must be None (all) or a positive integer. Received: {key}={value!r}")
    ks = tuple(config["ks"])
    if not ks or any(isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1 for k in ks):
        raise ValueError(f"`ks` must be a non-empty sequence of positive integers. Received: ks={config['ks']!r}")
    if config["preprocess"] not in (None, "vgg19"):
        raise ValueError(f"`preprocess` must be None or 'vgg19'. Received: preprocess={config['preprocess']!r}")
    if config["dataset"] not in ("fashion_mnist", "oxford17"):
        raise ValueError(
            f"`dataset` must be 'fashion_mnist' or 'oxford17'. Received: dataset={config['dataset']!r}"
        )
    return tuple(int(s) for s in seeds)


def load_source_model(config, verbose=0):
    """The pretrained network of `config`: a `.keras` file at `source_model`, else
    `pretrained_source_network(source_profile)` (the quick/smoke small VGG, or ImageNet VGG19 for full)."""
    from keras_transfer import models

    if config["source_model"] is not None:
        path = os.fspath(config["source_model"])
        if not os.path.isfile(path):
            raise ValueError(f"`source_model` must be the path of a saved .keras model. Received: source_model={path!r}")
        return keras.saving.load_model(path)
    return models.pretrained_source_network(config["source_profile"], seed=config["source_seed"], verbose=verbose)


def _model_inputs(images, config):
    from keras_transfer import models

    if config["dataset"] == "fashion_mnist":
        return models.to_source_input(images)
    inputs = images.astype("float32")
    if config["preprocess"] == "vgg19":
        inputs = keras.applications.vgg19.preprocess_input(inputs)
    return inputs


def _oxford17_arrays(dataset, batch_size=64):
    images, labels = [], []
    for image_batch, label_batch in dataset.batch(batch_size).as_numpy_iterator():
        images.append(np.clip(np.round(image_batch), 0, 255).astype("uint8"))
        labels.append(label_batch.astype("int32"))
    return np.concatenate(images), np.concatenate(labels)


def load_target_data(config, seeds, image_size=None, verbose=0):
    """The target task's images as `{"train": {seed: (images, labels)}, "test": ..., "gallery": ..., "class_names"}`.

    Images are kept for display (uint8: `(N, 28, 28)` Fashion-MNIST, `(N, H, W, 3)` Oxford-17); `model_inputs`
    turns them into what the source network takes.

    - fashion_mnist: half B of `split_classes(10, split_seed)`; per seed, `train_per_class` images per class drawn
      from its training images; the gallery, `gallery_per_class` other training images per class (fixed); the test
      set, its test images (`test_per_class` per class, or all).
    - oxford17: split `split_id` at `image_size`; train is the official training split (or `train_per_class` of it
      per seed), test the official test split, the gallery the official training split.
    """
    from keras_transfer import datasets

    if config["dataset"] == "fashion_mnist":
        (x_train, y_train), (x_test, y_test) = datasets.load_fashion_mnist()
        split = datasets.split_classes(10, seed=config["split_seed"])
        x_train, y_train = split.select(x_train, y_train, "b")
        x_test, y_test = split.select(x_test, y_test, "b")
        if config["test_per_class"] is not None:
            x_test, y_test = datasets.take_per_class(x_test, y_test, config["test_per_class"], seed=0)
        # the gallery: images that no seed's training set draws from (the last `gallery_per_class` per class)
        gallery_mask = np.zeros(len(y_train), bool)
        for label in np.unique(y_train):
            gallery_mask[np.flatnonzero(y_train == label)[-config["gallery_per_class"]:]] = True
        gallery = (x_train[gallery_mask], y_train[gallery_mask].astype("int32"))
        pool_x, pool_y = x_train[~gallery_mask], y_train[~gallery_mask]
        train = {}
        for seed in seeds:
            images, labels = datasets.take_per_class(pool_x, pool_y, config["train_per_class"], seed=seed)
            train[seed] = (images, labels.astype("int32"))
        names = split.names(datasets.FASHION_MNIST_CLASSES, "b")
        return {"train": train, "test": (x_test, y_test.astype("int32")), "gallery": gallery, "class_names": names}

    flowers = datasets.load_oxford_flowers17(
        config["split_id"], image_size=tuple(image_size), path=config["path"], verbose=verbose
    )
    official_train = _oxford17_arrays(flowers.train)
    test = _oxford17_arrays(flowers.test)
    if config["test_per_class"] is not None:
        test = datasets.take_per_class(*test, config["test_per_class"], seed=0)
    train = {}
    for seed in seeds:
        if config["train_per_class"] is None:
            train[seed] = official_train
        else:
            train[seed] = datasets.take_per_class(*official_train, config["train_per_class"], seed=seed)
    gallery = official_train
    if config["gallery_per_class"] is not None:
        gallery = datasets.take_per_class(*official_train, config["gallery_per_class"], seed=0)
    return {"train": train, "test": test, "gallery": gallery, "class_names": tuple(flowers.class_names)}


def model_inputs(images, config):
    """Display images as the source network takes them (`to_source_input`, or VGG19's `preprocess_input`)."""
    return _model_inputs(np.asarray(images), config)


def _input_image_size(model):
    shape = tuple(model.inputs[0].shape[1:3])
    if any(side is None for side in shape):
        return (224, 224)
    return tuple(int(side) for side in shape)


def prepare(profile="quick", *, seeds=None, verbose=1, **overrides):
    """The source network, its tapped layers, the target data and the features of every image set.

    Shared by this experiment and the Full-Network Embedding's (`keras_transfer.experiments.full_network_embedding`).

    Returns:
        A dict with `config`, `seeds`, `model`, `layers`, `data` (see `load_target_data`), `inputs`
        (`{"train": {seed: array}, "test": array, "gallery": array}`) and `source_seconds`.
    """
    from keras_transfer import embeddings

    config = profiles.select(CONFIGS, profile, overrides)
    seeds = _check_config(config, seeds)
    start = time.perf_counter()
    model = load_source_model(config, verbose=verbose)
    source_seconds = time.perf_counter() - start
    layers = list(config["layers"]) if config["layers"] is not None else embeddings.default_layers(model)
    data = load_target_data(config, seeds, image_size=_input_image_size(model), verbose=verbose)
    inputs = {
        "train": {seed: model_inputs(data["train"][seed][0], config) for seed in seeds},
        "test": model_inputs(data["test"][0], config),
        "gallery": model_inputs(data["gallery"][0], config),
    }
    return {
        "config": config,
        "seeds": seeds,
        "model": model,
        "layers": layers,
        "data": data,
        "inputs": inputs,
        "source_seconds": source_seconds,
    }


# -------------------------------------------------------------------------------------------------------- classifiers


def _fit_scored(classifier, x_train, y_train, x_test, y_test):
    from sklearn.exceptions import ConvergenceWarning

    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        classifier.fit(x_train, y_train)
    seconds = time.perf_counter() - start
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return float(classifier.score(x_test, y_test)), float(classifier.score(x_train, y_train)), converged, seconds


def linear_svm(c=1.0, seed=0, max_iter=5000):
    """The SVM of every off-the-shelf row: standardised features (training statistics), then `LinearSVC(C=c)`."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    return make_pipeline(StandardScaler(), LinearSVC(C=c, max_iter=max_iter, random_state=seed))


def softmax_classifier(c=1.0, max_iter=5000):
    """The softmax head: standardised features, then multinomial logistic regression (`LogisticRegression(C=c)`)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=max_iter))


def nearest_neighbors(gallery_features, query_features, k):
    """Indices `(num_queries, k)` of each query's `k` nearest gallery items by cosine distance, nearest first."""
    from sklearn.neighbors import NearestNeighbors

    k = min(int(k), len(gallery_features))
    index = NearestNeighbors(n_neighbors=k, metric="cosine", algorithm="brute").fit(gallery_features)
    return index.kneighbors(query_features, return_distance=False)


def precision_at_k(neighbor_labels, query_labels, ks):
    """Mean over queries of the share of the first k neighbours that have the query's label, for each k.

    Args:
        neighbor_labels: array `(num_queries, K)`. Labels of each query's neighbours, nearest first.
        query_labels: array `(num_queries,)`.
        ks: sequence of int. Each at most K.

    Returns:
        `{k: precision}`.
    """
    neighbor_labels = np.asarray(neighbor_labels)
    hits = neighbor_labels == np.asarray(query_labels)[:, None]
    too_big = [k for k in ks if k > hits.shape[1]]
    if too_big:
        raise ValueError(f"`ks` must not exceed the {hits.shape[1]} neighbours given. Received: ks={tuple(ks)!r}")
    return {int(k): float(hits[:, :k].mean()) for k in ks}


def _retrieval_queries(labels, count):
    """`count` test indices, cycling through the classes (the first test image of class 0, of class 1, ...)."""
    classes = np.unique(labels)
    chosen, round_ = [], 0
    while len(chosen) < min(count, len(labels)):
        for label in classes:
            members = np.flatnonzero(labels == label)
            if round_ < len(members) and len(chosen) < count:
                chosen.append(int(members[round_]))
        round_ += 1
    return chosen


# ---------------------------------------------------------------------------------------------------------------- run


def run(profile="quick", *, seeds=None, output_dir=None, verbose=1, **overrides):
    """Linear SVM, softmax and nearest-neighbour retrieval on the features of each layer of the source network.

    Args:
        profile: str. `"smoke"`, `"quick"` or `"full"` (see the module docstring).
        seeds: sequence of int or None. Each seed draws another training set (quick, smoke) and seeds the SVM;
            None uses the profile's.
        output_dir: path or None. Where `result.json` and `retrieval_examples.npz` go (default
            `paths.results_dir("off-the-shelf", profile)`).
        verbose: int. 0 silent; 1 progress bars and a line per layer.
        **overrides: settings of `CONFIGS[profile]`, e.g. `train_per_class=10`, `layers=["block1_conv1", "fc2"]`,
            `source_model="vgg19.keras"`, `path="/data/oxford17"` (full), `cache=False`.

    Returns:
        An `ExperimentResult` with one row per layer and seed: `{"model": layer, "layer", "depth", "seed",
        "features", "svm_accuracy", "softmax_accuracy", "svm_train_accuracy", "softmax_train_accuracy",
        "svm_converged", "softmax_converged"}`; `metadata["retrieval"]` holds precision@k per layer and
        `metadata["paper"]` seed 004's Caltech table.

    Example:

    ```python
    result = run("quick")
    print(accuracy_table(result))
    ```

    Reference:
        - [Zeiler & Fergus, 2014](https://arxiv.org/abs/1311.2901): Visualizing and understanding convolutional
          networks.
        - [Razavian et al., 2014](https://arxiv.org/abs/1403.6382): CNN features off-the-shelf: an astounding
          baseline for recognition.
    """
    from tqdm import tqdm

    from keras_transfer import embeddings

    start, cpu_start = time.perf_counter(), time.process_time()
    prepared = prepare(profile, seeds=seeds, verbose=verbose, **overrides)
    config, seeds, model, layers = prepared["config"], prepared["seeds"], prepared["model"], prepared["layers"]
    data, inputs = prepared["data"], prepared["inputs"]
    extract_start = time.perf_counter()

    def features_of(x):
        return embeddings.extract_layer_features(
            model, x, layers, batch_size=config["batch_size"], cache=config["cache"], verbose=verbose
        )

    train_features = {seed: features_of(inputs["train"][seed]) for seed in seeds}
    test_features = features_of(inputs["test"])
    gallery_features = features_of(inputs["gallery"])
    extract_seconds = time.perf_counter() - extract_start

    y_test, y_gallery = data["test"][1], data["gallery"][1]
    ks = tuple(int(k) for k in config["ks"])
    rows, retrieval = [], []
    retrieval_layer = config["retrieval_layer"] or layers[-1]
    if retrieval_layer not in layers:
        raise ValueError(f"`retrieval_layer` must be one of the tapped layers {layers}. "
                         f"Received: retrieval_layer={retrieval_layer!r}")
    examples = None
    classify_start = time.perf_counter()
    progress = tqdm(total=len(layers), desc=NAME, unit="layer", disable=not verbose)
    for depth, layer in enumerate(layers, start=1):
        for seed in seeds:
            x_train, y_train = train_features[seed][layer], data["train"][seed][1]
            svm = _fit_scored(
                linear_svm(config["svm_c"], seed, config["max_iter"]), x_train, y_train, test_features[layer], y_test
            )
            softmax = _fit_scored(
                softmax_classifier(config["softmax_c"], config["max_iter"]),
                x_train, y_train, test_features[layer], y_test,
            )
            rows.append(
                {
                    "model": layer,
                    "layer": layer,
                    "depth": depth,
                    "seed": seed,
                    "features": int(x_train.shape[1]),
                    "svm_accuracy": svm[0],
                    "softmax_accuracy": softmax[0],
                    "svm_train_accuracy": svm[1],
                    "softmax_train_accuracy": softmax[1],
                    "svm_converged": svm[2],
                    "softmax_converged": softmax[2],
                    "train_images": int(len(y_train)),
                }
            )
        neighbors = nearest_neighbors(gallery_features[layer], test_features[layer], max(ks))
        precision = precision_at_k(y_gallery[neighbors], y_test, [k for k in ks if k <= neighbors.shape[1]])
        retrieval.append({"layer": layer, "depth": depth, **{f"precision@{k}": v for k, v in precision.items()}})
        if layer == retrieval_layer:
            queries = _retrieval_queries(y_test, config["retrieval_queries"])
            hits = nearest_neighbors(gallery_features[layer], test_features[layer][queries], config["retrieval_hits"])
            examples = {"layer": layer, "queries": queries, "neighbors": hits.tolist()}
        mean_svm = statistics.fmean(row["svm_accuracy"] for row in rows if row["layer"] == layer)
        progress.update(1)
        if verbose:
            progress.write(
                f"{layer:>14} ({rows[-1]['features']:>5} features): SVM {mean_svm:.4f}, "
                f"retrieval precision@{ks[0]} {precision.get(ks[0], float('nan')):.4f}"
            )
    progress.close()
    classify_seconds = time.perf_counter() - classify_start

    output_dir = paths.results_dir(NAME, profile) if output_dir is None else os.fspath(output_dir)
    os.makedirs(output_dir, exist_ok=True)
    examples_path = _save_examples(output_dir, examples, data, layer=retrieval_layer)
    metadata = {
        "config": _jsonable(config),
        "seeds": list(seeds),
        "layers": layers,
        "source_model": model.name,
        "class_names": list(data["class_names"]),
        "sizes": {
            "train_per_seed": int(len(data["train"][seeds[0]][1])),
            "test": int(len(y_test)),
            "gallery": int(len(y_gallery)),
        },
        "image_shape": list(prepared["inputs"]["test"].shape[1:]),
        "retrieval": retrieval,
        "retrieval_examples": {**examples, "file": str(examples_path)},
        "paper": _jsonable(PAPER_CALTECH),
        "shape_comparison": shape_comparison(rows),
        "source_seconds": round(prepared["source_seconds"], 2),
        "feature_seconds": round(extract_seconds, 2),
        "classifier_seconds": round(classify_seconds, 2),
        "wall_time_s": round(time.perf_counter() - start, 2),
        "cpu_time_s": round(time.process_time() - cpu_start, 2),
        "backend": keras.backend.backend(),
        "output_dir": str(output_dir),
    }
    result = ExperimentResult(NAME, profile, rows, {}, metadata)
    result.save(output_dir)
    return result


def _save_examples(output_dir, examples, data, layer):
    path = os.path.join(output_dir, RETRIEVAL_FILE)
    queries = np.asarray(examples["queries"])
    neighbors = np.asarray(examples["neighbors"])
    partial = path + f".{os.getpid()}.partial.npz"
    np.savez_compressed(
        partial,
        query_images=data["test"][0][queries],
        query_labels=data["test"][1][queries],
        neighbor_images=data["gallery"][0][neighbors],
        neighbor_labels=data["gallery"][1][neighbors],
        class_names=np.asarray(data["class_names"]),
        layer=np.asarray(layer),
    )
    os.replace(partial, path)
    return path


def _jsonable(value):
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


# ------------------------------------------------------------------------------------------------------ reading it


def retrieval_examples(result):
    """The retrieval grid's images saved by `run`: a dict with `query_images`, `query_labels`, `neighbor_images`
    `(queries, hits, ...)`, `neighbor_labels`, `class_names` and `layer`."""
    path = result.metadata["retrieval_examples"]["file"]
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No retrieval examples at {path}: run the experiment again to write them.")
    with np.load(path) as saved:
        examples = {key: saved[key] for key in saved.files}
    examples["class_names"] = tuple(str(name) for name in examples["class_names"])
    examples["layer"] = str(examples["layer"])
    return examples


def layer_means(result, metric="svm_accuracy"):
    """`{layer: (mean, std)}` of `metric` over seeds, layers in depth order."""
    groups = {}
    for row in sorted(result.rows, key=lambda row: row["depth"]):
        groups.setdefault(row["layer"], []).append(row[metric])
    return {
        layer: (statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0)
        for layer, values in groups.items()
    }


def _cell(mean_std, seeds, digits=1):
    mean, std = mean_std
    return f"{100 * mean:.{digits}f} ± {100 * std:.{digits}f}" if seeds > 1 else f"{100 * mean:.{digits}f}"


def accuracy_table(result):
    """Markdown: one line per layer (depth order) with its width, SVM and softmax test accuracy (%, mean ± std over
    seeds) and retrieval precision@k (%)."""
    seeds = len(result.metadata["seeds"])
    svm, softmax = layer_means(result, "svm_accuracy"), layer_means(result, "softmax_accuracy")
    widths = {row["layer"]: row["features"] for row in result.rows}
    retrieval = {entry["layer"]: entry for entry in result.metadata["retrieval"]}
    ks = [key for key in result.metadata["retrieval"][0] if key.startswith("precision@")]
    header = ["depth", "layer", "features", "SVM accuracy %", "softmax accuracy %", *(f"retrieval {k} %" for k in ks)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for depth, layer in enumerate(svm, start=1):
        cells = [str(depth), layer, str(widths[layer]), _cell(svm[layer], seeds), _cell(softmax[layer], seeds)]
        cells += [f"{100 * retrieval[layer][k]:.1f}" for k in ks]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def paper_table():
    """Markdown: seed 004's Caltech table (SVM and softmax on the features of layer n, accuracy %)."""
    first, second = PAPER_CALTECH["datasets"]
    lines = [f"| classifier (layer) | {first} | {second} |", "|---|---|---|"]
    for kind, title in (("svm", "SVM"), ("softmax", "Softmax")):
        for layer, (caltech101, caltech256) in PAPER_CALTECH[kind].items():
            lines.append(f"| {title} ({layer}) | {caltech101} | {caltech256} |")
    return "\n".join(lines)


SHAPE_TOLERANCE = 0.02  # accuracy (as a fraction) within which two points of a curve count as level


def _shape_checks(svm, softmax, depths, tolerance=SHAPE_TOLERANCE):
    """The seeds' pattern as checks on `{depth: accuracy}` curves (accuracies as fractions)."""
    best_depth = max(svm, key=svm.get)
    top, best = max(depths), max(svm.values())
    checks = {
        "layer 1 is the weakest": min(svm, key=svm.get) == min(depths),
        "the best layer is in the upper half": best_depth > top / 2,
        f"flat near the top: the top layer within {100 * tolerance:g} points of the best": (
            best - svm[top] <= tolerance
        ),
    }
    if top in softmax:
        checks[f"softmax within {100 * tolerance:g} points of the SVM at the top"] = (
            abs(softmax[top] - svm[top]) <= tolerance
        )
    return checks


def shape_comparison(rows):
    """The shape of seed 004's table (low at layer 1, rising, flat near the top) checked on ours and on the paper's.

    Args:
        rows: the rows of a result (or `ExperimentResult.rows`).

    Returns:
        A list of `{"property", "caltech101", "caltech256", "ours"}` booleans, computed from the numbers.
    """
    svm, softmax = {}, {}
    for row in rows:
        svm.setdefault(row["depth"], []).append(row["svm_accuracy"])
        softmax.setdefault(row["depth"], []).append(row["softmax_accuracy"])
    ours = _shape_checks(
        {d: statistics.fmean(v) for d, v in svm.items()},
        {d: statistics.fmean(v) for d, v in softmax.items()},
        sorted(svm),
    )
    paper = []
    for column in (0, 1):
        paper_svm = {layer: values[column] / 100 for layer, values in PAPER_CALTECH["svm"].items()}
        paper_softmax = {layer: values[column] / 100 for layer, values in PAPER_CALTECH["softmax"].items()}
        paper.append(_shape_checks(paper_svm, paper_softmax, sorted(paper_svm)))
    return [
        {"property": name, "caltech101": paper[0].get(name), "caltech256": paper[1].get(name), "ours": value}
        for name, value in ours.items()
    ]


def shape_table(result):
    """`metadata["shape_comparison"]` as Markdown (yes / no per column)."""
    words = {True: "yes", False: "no", None: "n/a"}
    lines = ["| property | Caltech-101 (seed 004) | Caltech-256 (seed 004) | ours |", "|---|---|---|---|"]
    for entry in result.metadata["shape_comparison"]:
        lines.append(
            f"| {entry['property']} | {words[entry['caltech101']]} | {words[entry['caltech256']]} | "
            f"{words[entry['ours']]} |"
        )
    return "\n".join(lines)
