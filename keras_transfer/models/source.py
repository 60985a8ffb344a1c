"""The source network: what ImageNet VGG19 is to the `full` profile, a small VGG trained here is to `quick`.

The lecture transfers VGG19, trained on ImageNet, to Oxford-17 flowers. Offline on a 2-core CPU the `quick` profile
plays the same game at a smaller scale: `pretrained_source_network("quick")` is a small VGG-style network trained on
one half of the Fashion-MNIST classes (half A of `split_classes(10, seed=0)`: Pullover, Dress, Coat, Shirt,
Sneaker), and the experiments transfer it to the other half. It comes in two domains:

- `domain="black"`: the items as Fashion-MNIST has them, centred on black.
- `domain="photos"`: the items pasted at random places and sizes on crops of the photos scikit-image ships
  (`datasets.skimage_photos`). ImageNet's images are objects on photos, not objects on black, and a network that
  never saw a photo knows nothing useful about "objects on photos" (measured: the strategy table of notebook 04,
  and notebook 05). The targets of notebooks 04 and 05 paste the *other* half's items on *other* photos
  (scikit-learn's), so source and target differ in classes and in photos, as ImageNet and Oxford-17 do.

Each is trained once and cached on disk (`paths.cache_dir("models")`), keyed by a hash of its settings and the
Keras version.

Its layers are named like Keras's VGG19 (`block1_conv1` ... `block3_pool`, `flatten`, `fc1`, `fc2`,
`predictions`), it takes `(32, 32, 3)` RGB pixel values in `[0, 255]` (`to_source_input` makes them from
Fashion-MNIST images; the rescaling to `[0, 1]` is the model's first layer), and `source_backbone(model)` cuts it
at the last pooling layer, like `include_top=False`.
"""

import hashlib
import json
import os
import time

import keras
import numpy as np

from keras_transfer import paths
from keras_transfer import profiles
from keras_transfer import progress
from keras_transfer.models import training

SOURCE_INPUT_SHAPE = (32, 32, 3)

# The settings of each profile's source network; the cache key is a hash of these, the seed and the Keras version.
SOURCE_CONFIGS = {
    "smoke": {
        "split_seed": 0,
        "half": "a",
        "train_per_class": 60,
        "test_per_class": 20,
        "filters": (16, 32, 64),
        "fc_units": 256,
        "dropout": 0.3,
        "epochs": 1,
        "batch_size": 64,
        "learning_rate": 2e-3,
    },
    "quick": {
        "split_seed": 0,
        "half": "a",
        "train_per_class": None,
        "test_per_class": None,
        "filters": (16, 32, 64),
        "fc_units": 256,
        "dropout": 0.3,
        "epochs": 5,
        "batch_size": 128,
        "learning_rate": 2e-3,
    },
}

SOURCE_DOMAINS = ("black", "photos")

# What the `photos` domain changes in each profile's settings: the backgrounds, the items' sizes, and (quick) half
# of the training items for one more epoch, which trains in about a minute on a 2-core CPU.
PHOTO_SETTINGS = {
    "smoke": {"scale_range": (0.5, 1.0), "crop_range": (1.0, 4.0)},
    "quick": {"scale_range": (0.5, 1.0), "crop_range": (1.0, 4.0), "train_per_class": 3000, "epochs": 6},
}


def build_source_network(
    num_classes=5,
    *,
    input_shape=SOURCE_INPUT_SHAPE,
    filters=(16, 32, 64),
    fc_units=256,
    dropout=0.0,
    name="source_network",
):
    """A small VGG: three blocks of two 3x3 convolutions and a max-pooling, then `fc1`, `fc2` and `predictions`.

    The layout and layer names of Keras's VGG19 at a scale a CPU trains in minutes: `rescaling` (pixels in
    `[0, 255]` to `[0, 1]`), `blockB_conv1`, `blockB_conv2`, `blockB_pool` for B = 1..len(filters), `flatten`,
    `fc1`, `fc2` (ReLU, optional dropout after each), `predictions` (softmax). Untrained: see
    `pretrained_source_network` for the trained one.

    Args:
        num_classes: int. Classes of `predictions`.
        input_shape: tuple of int. `(height, width, channels)`; each side divisible by `2 ** len(filters)`.
        filters: tuple of int. The filters of each block's two convolutions.
        fc_units: int. Units of `fc1` and `fc2`.
        dropout: float. Dropout after `fc1` and `fc2`, in `[0, 1)`.
        name: str. The model's name.

    Returns:
        An uncompiled functional `keras.Model`.

    Example:

    ```python
    model = build_source_network(num_classes=5)
    backbone = source_backbone(model)  # random weights: the quick profile's Model 1 base
    ```

    Reference:
        - [Simonyan & Zisserman, 2014](https://arxiv.org/abs/1409.1556): Very deep convolutional networks for
          large-scale image recognition.
    """
    input_shape = tuple(input_shape)
    filters = tuple(filters)
    if not filters or any(isinstance(f, bool) or not isinstance(f, (int, np.integer)) or f < 1 for f in filters):
        raise ValueError(f"`filters` must be a non-empty tuple of positive integers. Received: filters={filters!r}")
    if len(input_shape) != 3 or any(side % (2 ** len(filters)) for side in input_shape[:2]):
        raise ValueError(
            f"`input_shape` must be (height, width, channels) with sides divisible by {2 ** len(filters)}. "
            f"Received: input_shape={input_shape!r}"
        )
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 2:
        raise ValueError(f"`num_classes` must be an integer >= 2. Received: num_classes={num_classes!r}")
    if isinstance(fc_units, bool) or not isinstance(fc_units, (int, np.integer)) or fc_units < 1:
        raise ValueError(f"`fc_units` must be a positive integer. Received: fc_units={fc_units!r}")
    if not 0 <= dropout < 1:
        raise ValueError(f"`dropout` must be in [0, 1). Received: dropout={dropout!r}")
    inputs = keras.Input(shape=input_shape, name="image")
    x = keras.layers.Rescaling(1.0 / 255.0, name="rescaling")(inputs)
    for block, width in enumerate(filters, start=1):
        for conv in (1, 2):
            x = keras.layers.Conv2D(
                int(width), 3, padding="same", activation="relu", name=f"block{block}_conv{conv}"
            )(x)
        x = keras.layers.MaxPooling2D(2, name=f"block{block}_pool")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    for index in (1, 2):
        x = keras.layers.Dense(int(fc_units), activation="relu", name=f"fc{index}")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"fc{index}_dropout")(x)
    outputs = keras.layers.Dense(int(num_classes), activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)


def to_source_input(x):
    """Fashion-MNIST images as the source network takes them: `(N, 32, 32, 3)` float32 pixels in `[0, 255]`.

    Each 28x28 image is padded with 2 black pixels on every side (Fashion-MNIST's background is black) and its
    gray channel repeated three times.

    Args:
        x: array. `(N, 28, 28)`, `(N, 28, 28, 1)` or `(N, 28, 28, 3)` images, pixel values in `[0, 255]`.

    Returns:
        A float32 array `(N, 32, 32, 3)`.
    """
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[1:3] != (28, 28) or x.shape[3] not in (1, 3):
        raise ValueError(
            "`x` must be a batch of 28x28 images, shape (N, 28, 28), (N, 28, 28, 1) or (N, 28, 28, 3). "
            f"Received: x with shape {x.shape}"
        )
    x = np.pad(x.astype("float32"), ((0, 0), (2, 2), (2, 2), (0, 0)))
    if x.shape[3] == 1:
        x = np.repeat(x, 3, axis=3)
    return x


def source_backbone(model, *, pretrained=True, name="backbone"):
    """The convolutional part of a VGG-style classifier, up to its last pooling layer, as a new model.

    `include_top=False` for a network already built: for `pretrained_source_network()` the layers `image` to
    `block3_pool`, for `keras.applications.VGG19()` the layers up to `block5_pool`. The result has its own layers,
    so training it never changes `model` (each experiment run starts from the same pretrained weights).

    Args:
        model: keras.Model. A functional VGG-style network with a `flatten` layer, or whose pooling layers are
            named `blockB_pool`.
        pretrained: bool. `True` copies `model`'s weights; `False` gives the same architecture freshly
            initialised (like `VGG19(weights=None)`: the backbone of a network trained from scratch).
        name: str. The backbone's name.

    Returns:
        A functional `keras.Model`.
    """
    if not isinstance(pretrained, bool):
        raise ValueError(f"`pretrained` must be True or False. Received: pretrained={pretrained!r}")
    if not isinstance(model, keras.Model):
        raise ValueError(f"`model` must be a keras.Model. Received: model={model!r}")
    names = [layer.name for layer in model.layers]
    if "flatten" in names:
        cut = model.layers[names.index("flatten") - 1]
    else:
        pools = [layer for layer in model.layers if layer.name.startswith("block") and layer.name.endswith("_pool")]
        if not pools:
            raise ValueError(
                f"`model` must have a `flatten` layer or pooling layers named `blockB_pool`. "
                f"Received: model={model.name!r} with layers {names}"
            )
        cut = pools[-1]
    # One input tensor, not the list `model.inputs`: a model built on a one-element list expects a list, and
    # Keras warns ("The structure of `inputs` doesn't match") whenever it is called with a bare array.
    if len(model.inputs) != 1:
        raise ValueError(f"`model` must have one input (images). Received: model={model.name!r} with "
                         f"{len(model.inputs)} inputs")
    (image,) = model.inputs
    truncated = keras.Model(image, cut.output)
    backbone = keras.models.clone_model(truncated)
    if pretrained:
        backbone.set_weights(truncated.get_weights())
    return keras.Model(backbone.inputs[0], backbone.output, name=name)


def source_config(profile="quick", domain="black"):
    """The settings the source network of `profile` and `domain` is trained with (a new dict)."""
    _check_domain(domain)
    config = {**SOURCE_CONFIGS[profile], "domain": domain}
    if domain == "photos":
        config.update(PHOTO_SETTINGS[profile])
    return config


def _config_key(profile, seed, domain):
    config = {
        "profile": profile,
        "seed": seed,
        "keras": keras.__version__,
        "input_shape": SOURCE_INPUT_SHAPE,
        **source_config(profile, domain),
    }
    if domain == "black":  # the key the black-background network had before domains existed: caches stay valid
        del config["domain"]
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=list).encode()).hexdigest()[:16]


def source_network_path(profile="quick", *, seed=0, domain="black"):
    """Where the cached source network of `profile`, `seed` and `domain` lives (it may not exist yet)."""
    _check_source_profile(profile, seed)
    _check_domain(domain)
    suffix = "" if domain == "black" else f"-{domain}"
    key = _config_key(profile, seed, domain)
    return paths.cache_dir("models") / f"source_network-{profile}{suffix}-seed{seed}-{key}.keras"


def source_network_info(profile="quick", *, seed=0, domain="black"):
    """What the cached source network's training measured (test accuracy on half A, time, sizes), or None."""
    path = source_network_path(profile, seed=seed, domain=domain).with_suffix(".json")
    return json.loads(path.read_text()) if path.exists() else None


def _check_domain(domain):
    if domain not in SOURCE_DOMAINS:
        raise ValueError(f"`domain` must be one of {SOURCE_DOMAINS}. Received: domain={domain!r}")


def _check_source_profile(profile, seed):
    profiles.check_profile(profile)
    if profile not in SOURCE_CONFIGS:
        raise ValueError(
            f"The source network of profile {profile!r} is Keras's ImageNet VGG19 and is not cached here: "
            f"expected one of {sorted(SOURCE_CONFIGS)}. Received: profile={profile!r}"
        )
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"`seed` must be a non-negative integer. Received: seed={seed!r}")


def _on_photos(x, y, config, photos, seed):
    """Items `x` (N, 28, 28) pasted on crops of `photos`, as `(N, 32, 32, 3)` float32 source inputs."""
    from keras_transfer import datasets

    pasted = datasets.paste_objects(
        x, photos, image_size=SOURCE_INPUT_SHAPE[:2], scale_range=config["scale_range"],
        crop_range=config["crop_range"], labels=y, seed=seed,
    )
    return pasted.images.astype("float32")


def _source_data(config, seed):
    from keras_transfer import datasets

    (x_train, y_train), (x_test, y_test) = datasets.load_fashion_mnist()
    split = datasets.split_classes(10, seed=config["split_seed"])
    x_train, y_train = split.select(x_train, y_train, config["half"])
    x_test, y_test = split.select(x_test, y_test, config["half"])
    if config["train_per_class"]:
        x_train, y_train = datasets.take_per_class(x_train, y_train, config["train_per_class"], seed=seed)
    if config["test_per_class"]:
        x_test, y_test = datasets.take_per_class(x_test, y_test, config["test_per_class"], seed=seed)
    names = split.names(datasets.FASHION_MNIST_CLASSES, config["half"])
    if config["domain"] == "photos":
        # train and test items on disjoint strips of each photo (the left 70% and the right 30% of its width)
        photos = datasets.skimage_photos()
        cuts = [int(round(photo.shape[1] * 0.7)) for photo in photos]
        train_photos = [photo[:, :cut] for photo, cut in zip(photos, cuts)]
        test_photos = [photo[:, cut:] for photo, cut in zip(photos, cuts)]
        x_train = _on_photos(x_train, y_train, config, train_photos, seed=2 * seed)
        x_test = _on_photos(x_test, y_test, config, test_photos, seed=2 * seed + 1)
    else:
        x_train, x_test = to_source_input(x_train), to_source_input(x_test)
    return (x_train, y_train.astype("int32")), (x_test, y_test.astype("int32")), names


def pretrained_source_network(profile="quick", *, seed=0, domain="black", verbose=1):
    """The pretrained network every transfer starts from: the "ImageNet VGG19" of `profile`.

    - `full`: Keras's ImageNet VGG19, its weight file fetched through `KT_MIRROR` or downloaded once
      (`models.imagenet.imagenet_weights`; `domain` is ignored).
    - `quick`, `domain="black"`: a small VGG (`build_source_network`: 2x16, 2x32, 2x64 filters, fc 256, dropout
      0.3) trained on all 30,000 training images of half A of Fashion-MNIST (`split_classes(10, seed=0)`) for 5
      epochs (Adam, cosine decay from 2e-3); `source_network_info` tells its test accuracy and training time.
    - `quick`, `domain="photos"`: the same network trained on 15,000 items of half A pasted on crops of
      scikit-image's photos (`PHOTO_SETTINGS`), 6 epochs; tested on half A's test items pasted on a strip of each
      photo that training never cropped.
    - `smoke`: the same networks trained one epoch on 60 images per class: seconds, for tests.

    The quick and smoke networks are trained the first time they are asked for and cached under
    `paths.cache_dir("models")`, keyed by a hash of their settings, the seed and the Keras version (written to a
    temporary file, then renamed, so an interrupted run never leaves a cache a later run trusts). Each call
    returns a freshly loaded model.

    Args:
        profile: str. `"smoke"`, `"quick"` or `"full"`.
        seed: int. Seeds the weights' initialisation and the training (quick and smoke).
        domain: str. `"black"` or `"photos"` (see the module docstring).
        verbose: int. 0 silent; 1 a line saying what trains and one progress bar over the epochs (with an ETA);
            2 also Keras's epoch lines.

    Returns:
        A `keras.Model` taking `(32, 32, 3)` pixels in `[0, 255]` (quick, smoke) or `(224, 224, 3)`
        VGG19-preprocessed images (full).

    Example:

    ```python
    source = pretrained_source_network("smoke", domain="photos", verbose=0)
    base = source_backbone(source)  # block1_conv1 ... block3_pool, pretrained
    ```
    """
    profiles.check_profile(profile)
    _check_domain(domain)
    if profile == "full":
        from keras_transfer.models.imagenet import imagenet_weights

        return keras.applications.VGG19(weights=str(imagenet_weights("vgg19", include_top=True, progress=bool(verbose))))
    _check_source_profile(profile, seed)
    path = source_network_path(profile, seed=seed, domain=domain)
    if path.exists():
        return keras.saving.load_model(path)
    config = source_config(profile, domain)
    (x_train, y_train), (x_test, y_test), names = _source_data(config, seed)
    keras.utils.set_random_seed(seed)
    model = build_source_network(
        len(names), filters=config["filters"], fc_units=config["fc_units"], dropout=config["dropout"]
    )
    steps = config["epochs"] * -(-len(x_train) // config["batch_size"])
    model.compile(
        optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(config["learning_rate"], steps)),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    where = "pasted on photos" if domain == "photos" else "on black"
    if verbose:
        print(
            f"Training the {profile} source network on half A of Fashion-MNIST ({', '.join(names)}) {where}, "
            f"cached at {path}"
        )
    start, cpu_start = time.perf_counter(), time.process_time()
    with progress.bar(config["epochs"], f"Source network ({profile}, {domain})", verbose=verbose, unit="epoch") as bar:
        model.fit(x_train, y_train, batch_size=config["batch_size"], epochs=config["epochs"],
                  callbacks=[training.EpochProgress(bar)], verbose=2 if verbose >= 2 else 0)
        train_seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
        test_loss, test_accuracy = model.evaluate(x_test, y_test, batch_size=256, verbose=0)
        bar.set_postfix_str(f"test accuracy {test_accuracy:.1%}")
    info = {
        "profile": profile,
        "seed": seed,
        "domain": domain,
        "classes": list(names),
        "train_images": int(len(x_train)),
        "test_images": int(len(x_test)),
        "test_accuracy": float(test_accuracy),
        "test_loss": float(test_loss),
        "train_seconds": round(train_seconds, 2),
        "train_cpu_seconds": round(cpu_seconds, 2),
        "config": {key: list(value) if isinstance(value, tuple) else value for key, value in config.items()},
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
    }
    if verbose:
        print(f"Source network: test accuracy {test_accuracy:.1%} on half A {where}, trained in {train_seconds:.0f} s")
    partial_info = path.with_name(f".{path.stem}.{os.getpid()}.partial.json")
    partial_info.write_text(json.dumps(info, indent=1))
    os.replace(partial_info, path.with_suffix(".json"))
    partial = path.with_name(f".{path.stem}.{os.getpid()}.partial.keras")
    model.save(partial)
    os.replace(partial, path)
    return keras.saving.load_model(path)
