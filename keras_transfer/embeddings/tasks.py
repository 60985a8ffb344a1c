"""The transfer task of the off-the-shelf experiments: a pretrained source network, its tapped layers, and a small
labelled target task (training sets per seed, a test set, a retrieval gallery) as the network takes it.

Shared by `experiments/off_the_shelf.py` and `experiments/full_network_embedding.py`, whose configs hold the keys in
`TASK_KEYS`. What differs between profiles is data, not code paths:

- `dataset`: `"pasted_half_b"` (the classes of half B of `split_classes(10, split_seed)`, the five the quick
  source network never saw, pasted on crops of scikit-learn's photos as notebook 04's target), `"fashion_mnist_half_b"`
  (the same classes centred on black) or `"oxford17"` (one official split of Oxford-17 flowers); see `TARGET_TASKS`.
- `preprocess`: how display images become network inputs: `"source_network"` (`models.to_source_input`, the
  project's small VGG), `"vgg19"` (`keras.applications.vgg19.preprocess_input`) or None (float32 pixels); see
  `PREPROCESSING`.
- `source_model` / `source_profile` / `source_seed` / `source_domain`: a saved `.keras` file, else
  `models.pretrained_source_network(source_profile, seed=source_seed, domain=source_domain)` (`source_domain`:
  the items the small VGG was trained on, `"photos"` or `"black"`; ignored by `full`).
"""

import os
import time

import numpy as np

TASK_KEYS = (
    "source_model", "source_profile", "source_seed", "layers", "dataset", "preprocess", "split_seed", "split_id",
    "path", "train_per_class", "test_per_class", "gallery_per_class", "source_domain", "scale_range", "crop_range",
    "pool_size",
)


def load_source_model(source_model=None, *, source_profile="quick", seed=0, domain="black", verbose=0):
    """The pretrained network: the `.keras` file at `source_model`, else `pretrained_source_network(source_profile,
    domain=domain)` (the quick/smoke small VGG trained on items on black or pasted on photos, or ImageNet VGG19 for
    full)."""
    import keras

    from keras_transfer import models

    if source_model is not None:
        path = os.fspath(source_model)
        if not os.path.isfile(path):
            raise ValueError(f"`source_model` must be the path of a saved .keras model. Received: source_model={path!r}")
        return keras.saving.load_model(path)
    return models.pretrained_source_network(source_profile, seed=seed, domain=domain, verbose=verbose)


def _fashion_mnist_half_b(config, seeds, image_size, verbose):
    """Half B of Fashion-MNIST: per seed `train_per_class` training images per class, a fixed gallery of the last
    `gallery_per_class` training images per class (never drawn for training), the test images (or
    `test_per_class` of them). Images `(N, 28, 28)` uint8."""
    from keras_transfer import datasets

    (x_train, y_train), (x_test, y_test) = datasets.load_fashion_mnist()
    split = datasets.split_classes(10, seed=config["split_seed"])
    x_train, y_train = split.select(x_train, y_train, "b")
    x_test, y_test = split.select(x_test, y_test, "b")
    if config["test_per_class"] is not None:
        x_test, y_test = datasets.take_per_class(x_test, y_test, config["test_per_class"], seed=0)
    if config["gallery_per_class"] is None:
        raise ValueError("`gallery_per_class` must be a positive integer for fashion_mnist_half_b (the gallery is kept "
                         "apart from the training images). Received: gallery_per_class=None")
    gallery_mask = np.zeros(len(y_train), bool)
    for label in np.unique(y_train):
        gallery_mask[np.flatnonzero(y_train == label)[-config["gallery_per_class"]:]] = True
    pool_x, pool_y = x_train[~gallery_mask], y_train[~gallery_mask]
    train = {seed: datasets.take_per_class(pool_x, pool_y, config["train_per_class"], seed=seed) for seed in seeds}
    return {
        "train": {seed: (images, labels.astype("int32")) for seed, (images, labels) in train.items()},
        "test": (x_test, y_test.astype("int32")),
        "gallery": (x_train[gallery_mask], y_train[gallery_mask].astype("int32")),
        "class_names": tuple(split.names(datasets.FASHION_MNIST_CLASSES, "b")),
    }


def _oxford17(config, seeds, image_size, verbose):
    """One official split of Oxford-17 at `image_size`: training set = the official training split (or
    `train_per_class` of it per seed), test = the official test split, gallery = the official training split (or
    `gallery_per_class` of it). Images `(N, H, W, 3)` uint8."""
    from keras_transfer import datasets

    flowers = datasets.load_oxford_flowers17_arrays(
        config["split_id"], image_size=tuple(image_size), path=config["path"], verbose=verbose
    )

    def subset(images_labels, per_class, seed):
        return images_labels if per_class is None else datasets.take_per_class(*images_labels, per_class, seed=seed)

    return {
        "train": {seed: subset(flowers.train, config["train_per_class"], seed) for seed in seeds},
        "test": subset(flowers.test, config["test_per_class"], 0),
        "gallery": subset(flowers.train, config["gallery_per_class"], 0),
        "class_names": tuple(flowers.class_names),
    }


def _pasted_half_b(config, seeds, image_size, verbose):
    """Half B's items pasted on crops of scikit-learn's photos (`datasets.load_pasted_objects`, the target of notebook
    04): a pool of `pool_size` pasted training items (the same whatever the training set's size), from which each
    seed draws `train_per_class` per class; a fixed gallery of the pool's last `gallery_per_class` per class (never
    drawn for training); `test_per_class` per class test items (None: 5,000) pasted on photo strips no training
    image touches. Images `(N, H, W, 3)` uint8."""
    from keras_transfer import datasets

    train_per_class, gallery_per_class = config["train_per_class"], config["gallery_per_class"]
    if train_per_class is None or gallery_per_class is None:
        raise ValueError("`train_per_class` and `gallery_per_class` must be positive integers for pasted_half_b (the "
                         f"images are pasted for the run). Received: train_per_class={train_per_class!r}, "
                         f"gallery_per_class={gallery_per_class!r}")
    classes, pool_size = 5, config["pool_size"]
    test_size = classes * config["test_per_class"] if config["test_per_class"] is not None else 5000
    pasted = datasets.load_pasted_objects(
        pool_size, 1, test_size, image_size=tuple(image_size), half="b", split_seed=config["split_seed"], seed=0,
        scale_range=tuple(config["scale_range"]), crop_range=tuple(config["crop_range"]))
    fewest = int(np.bincount(pasted.train.labels, minlength=classes).min())
    if fewest < train_per_class + gallery_per_class:
        raise ValueError(f"`pool_size={pool_size}` pastes {fewest} items of some class, fewer than train_per_class + "
                         f"gallery_per_class = {train_per_class + gallery_per_class}: pass a larger pool_size.")
    images, labels = pasted.train.images, pasted.train.labels.astype("int32")
    gallery_mask = np.zeros(len(labels), bool)
    for label in range(classes):
        gallery_mask[np.flatnonzero(labels == label)[-gallery_per_class:]] = True
    pool = images[~gallery_mask], labels[~gallery_mask]
    train = {seed: datasets.take_per_class(*pool, train_per_class, seed=seed) for seed in seeds}
    return {
        "train": {seed: (x, y.astype("int32")) for seed, (x, y) in train.items()},
        "test": (pasted.test.images, pasted.test.labels.astype("int32")),
        "gallery": (images[gallery_mask], labels[gallery_mask]),
        "class_names": tuple(pasted.class_names),
    }


TARGET_TASKS = {"pasted_half_b": _pasted_half_b, "fashion_mnist_half_b": _fashion_mnist_half_b, "oxford17": _oxford17}


def _source_network_inputs(images):
    from keras_transfer import models

    return models.to_source_input(images)


def _vgg19_inputs(images):
    import keras

    return keras.applications.vgg19.preprocess_input(np.asarray(images, "float32"))


PREPROCESSING = {
    "source_network": _source_network_inputs,
    "vgg19": _vgg19_inputs,
    None: lambda images: np.asarray(images, "float32"),
}


def check_task_config(config):
    """A `ValueError` naming the first bad task setting of `config` (see `TASK_KEYS`), before any work."""
    for key in ("train_per_class", "test_per_class", "gallery_per_class"):
        value = config[key]
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1):
            raise ValueError(f"`{key}` must be None (all) or a positive integer. Received: {key}={value!r}")
    if config["dataset"] not in TARGET_TASKS:
        raise ValueError(f"`dataset` must be one of {sorted(TARGET_TASKS)}. Received: dataset={config['dataset']!r}")
    if config["source_domain"] not in (None, "black", "photos"):
        raise ValueError("`source_domain` must be None, 'black' or 'photos' (the items the small VGG was trained on). "
                         f"Received: source_domain={config['source_domain']!r}")
    if config["preprocess"] not in PREPROCESSING:
        raise ValueError(
            f"`preprocess` must be one of {list(PREPROCESSING)}. Received: preprocess={config['preprocess']!r}"
        )
    if config["source_model"] is not None and not os.path.isfile(os.fspath(config["source_model"])):
        raise ValueError(
            f"`source_model` must be the path of a saved .keras model. Received: source_model={config['source_model']!r}"
        )


def load_target_task(config, seeds, *, image_size=(224, 224), verbose=0):
    """The target task's images: `{"train": {seed: (images, labels)}, "test": (images, labels), "gallery":
    (images, labels), "class_names"}`; images are uint8 for display (`model_inputs` makes network inputs)."""
    return TARGET_TASKS[config["dataset"]](config, tuple(seeds), image_size, verbose)


def model_inputs(images, config):
    """Display images as the source network takes them (`PREPROCESSING[config["preprocess"]]`)."""
    return PREPROCESSING[config["preprocess"]](np.asarray(images))


def input_image_size(model):
    """`(height, width)` of the model's input, or `(224, 224)` when it takes any size."""
    shape = tuple(model.inputs[0].shape[1:3])
    return (224, 224) if any(side is None for side in shape) else tuple(int(side) for side in shape)


def prepare_task(config, seeds, *, verbose=1):
    """The source network, its tapped layers, the target images and their network inputs.

    Args:
        config: dict. Holds the keys of `TASK_KEYS`.
        seeds: sequence of int. One training set per seed.
        verbose: int. Passed to the source network's training and the data loaders.

    Returns:
        A dict with `model`, `layers` (`config["layers"]`, or `default_layers(model)`), `data` (see
        `load_target_task`), `inputs` (`{"train": {seed: array}, "test": array, "gallery": array}`) and
        `source_seconds` (the time to load, or first train, the source network).
    """
    from keras_transfer.embeddings.extractor import default_layers

    check_task_config(config)
    start = time.perf_counter()
    model = load_source_model(config["source_model"], source_profile=config["source_profile"],
                              seed=config["source_seed"], domain=config["source_domain"] or "black", verbose=verbose)
    source_seconds = time.perf_counter() - start
    layers = list(config["layers"]) if config["layers"] is not None else default_layers(model)
    data = load_target_task(config, seeds, image_size=input_image_size(model), verbose=verbose)
    inputs = {
        "train": {seed: model_inputs(images, config) for seed, (images, _) in data["train"].items()},
        "test": model_inputs(data["test"][0], config),
        "gallery": model_inputs(data["gallery"][0], config),
    }
    return {"model": model, "layers": layers, "data": data, "inputs": inputs, "source_seconds": source_seconds}


def describe_source(config, domain=None):
    """The source network `config` names (trained on items of `domain`, default `config["source_domain"]`, quick and
    smoke), as a phrase."""
    from keras_transfer import datasets
    from keras_transfer import models

    if config["source_model"] is not None:
        return f"the network saved at {os.fspath(config['source_model'])}"
    if config["source_profile"] == "full":
        return "Keras's VGG19 pretrained on ImageNet"
    settings = models.source_config(config["source_profile"], domain or config["source_domain"] or "black")
    split = datasets.split_classes(10, seed=settings["split_seed"])
    names = split.names(datasets.FASHION_MNIST_CLASSES, settings["half"])
    where = "centred on black" if settings["domain"] == "black" else "pasted on photos"
    return (f"the project's small VGG trained on half {settings['half'].upper()} of Fashion-MNIST "
            f"({', '.join(names)}; items {where})")


def describe_task(config):
    """One sentence on the source network and the target task `config` names, for a notebook to print."""
    from keras_transfer import datasets

    source = describe_source(config)
    per_class = config["train_per_class"]
    if config["dataset"] == "fashion_mnist_half_b":
        names = datasets.split_classes(10, seed=config["split_seed"]).names(datasets.FASHION_MNIST_CLASSES, "b")
        target = (f"half B of Fashion-MNIST ({', '.join(names)}: classes the source never saw), {per_class} training "
                  f"images per class drawn per seed, items centred on black")
    elif config["dataset"] == "pasted_half_b":
        names = datasets.split_classes(10, seed=config["split_seed"]).names(datasets.FASHION_MNIST_CLASSES, "b")
        target = (f"half B of Fashion-MNIST ({', '.join(names)}: classes the source never saw) pasted on crops of "
                  f"other photos, {per_class} training images per class drawn per seed")
    else:
        drawn = "the official training split" if per_class is None else f"{per_class} training images per class"
        target = f"Oxford-17 flowers (17 classes, official split {config['split_id']}), {drawn}"
    return f"Source network: {source}. Target task: {target}."
