"""Fashion-MNIST, read offline from the files already on disk, downloaded only as a last resort.

Fashion-MNIST (Xiao, Rasul & Vollgraf, 2017) is 70,000 grayscale 28x28 images of clothes in 10 classes, published as
four gzip-compressed IDX files. `load_fashion_mnist` looks for them in this order:

1. `path=`: a folder holding the four official `.gz` files;
2. the Debian package `dataset-fashion-mnist` (`/usr/share/datasets/fashion-mnist/`);
3. the Keras cache (`$KERAS_HOME/datasets/fashion-mnist/`, default `~/.keras`), as
   `keras.datasets.fashion_mnist.load_data()` leaves it;
4. otherwise `keras.datasets.fashion_mnist.load_data()` downloads them.

The IDX files are parsed with NumPy; every header (magic number, dimensions) and length is checked, so a corrupt or
truncated file raises an error that names it.
"""

import gzip
import os
import pathlib
import zlib

import numpy as np

FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

DEBIAN_DIR = pathlib.Path("/usr/share/datasets/fashion-mnist")

FILES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}

_EXPECTED_SIZES = {"x_train": 60000, "y_train": 60000, "x_test": 10000, "y_test": 10000}

# IDX magic number: two zero bytes, the data type (0x08 = unsigned byte), the number of dimensions.
_UBYTE = 0x08


def keras_cache_dir():
    """Where `keras.datasets.fashion_mnist.load_data()` keeps the files: `$KERAS_HOME/datasets/fashion-mnist`."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return pathlib.Path(home) / "datasets" / "fashion-mnist"


def read_idx(path, *, ndim=None):
    """Reads one gzip-compressed (or plain) IDX file of unsigned bytes into a NumPy array.

    Args:
        path: str or Path. The `.gz` (or uncompressed) IDX file.
        ndim: int or None. The number of dimensions the file must have (1 for labels, 3 for images).

    Returns:
        A `uint8` array with the shape the IDX header gives.

    Raises:
        ValueError: if the file is not valid gzip, has a wrong magic number, dimension count or length.
    """
    path = pathlib.Path(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as handle:
                data = handle.read()
        else:
            data = path.read_bytes()
    except (EOFError, OSError, zlib.error) as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise ValueError(f"Cannot read the IDX file {str(path)!r}: it is corrupt or truncated ({error}).") from error
    if len(data) < 4:
        raise ValueError(f"The IDX file {str(path)!r} is truncated: only {len(data)} bytes.")
    zero, dtype_code, dims = int.from_bytes(data[0:2], "big"), data[2], data[3]
    if zero != 0 or dtype_code != _UBYTE or dims == 0:
        raise ValueError(
            f"{str(path)!r} is not an IDX file of unsigned bytes: magic number 0x{data[:4].hex()} "
            f"(expected 0x000008NN, NN = number of dimensions)."
        )
    if ndim is not None and dims != ndim:
        raise ValueError(f"{str(path)!r} has {dims} dimensions; expected {ndim}.")
    header = 4 + 4 * dims
    if len(data) < header:
        raise ValueError(f"The IDX file {str(path)!r} is truncated inside its header.")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    expected = int(np.prod(shape, dtype=np.int64))
    actual = len(data) - header
    if actual != expected:
        raise ValueError(
            f"The IDX file {str(path)!r} holds {actual} data bytes but its header announces shape {shape} "
            f"({expected} bytes): the file is truncated or corrupt."
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape).copy()


def _read_folder(folder):
    folder = pathlib.Path(folder)
    arrays = {}
    for key, name in FILES.items():
        array = read_idx(folder / name, ndim=3 if key.startswith("x") else 1)
        if array.shape[0] != _EXPECTED_SIZES[key] or (array.ndim == 3 and array.shape[1:] != (28, 28)):
            raise ValueError(
                f"{str(folder / name)!r} has shape {array.shape}; Fashion-MNIST's {key} has "
                f"{_EXPECTED_SIZES[key]} items{' of 28x28' if array.ndim == 3 else ''}."
            )
        if key.startswith("y") and array.max() > 9:
            raise ValueError(f"{str(folder / name)!r} holds label {int(array.max())}; expected labels 0..9.")
        arrays[key] = array
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def _missing(folder):
    return [name for name in FILES.values() if not (pathlib.Path(folder) / name).is_file()]


def find_fashion_mnist(path=None):
    """The folder `load_fashion_mnist` reads from, or None when it would have to download.

    Args:
        path: str, Path or None. A folder with the four official `.gz` files; when given it must hold all four.

    Raises:
        FileNotFoundError: if `path` is given and misses files (the message lists them).
    """
    if path is not None:
        missing = _missing(path)
        if missing:
            raise FileNotFoundError(
                f"The folder path={str(path)!r} lacks Fashion-MNIST files: {', '.join(missing)}. Expected the four "
                f"official files {', '.join(FILES.values())}."
            )
        return pathlib.Path(path)
    for folder in (DEBIAN_DIR, keras_cache_dir()):
        if not _missing(folder):
            return folder
    return None


def load_fashion_mnist(path=None):
    """Loads the real Fashion-MNIST, offline when the files are on disk.

    The same arrays as `keras.datasets.fashion_mnist.load_data()`, found first in `path`, then in the Debian
    package's folder `/usr/share/datasets/fashion-mnist/`, then in the Keras cache; only when none holds them does
    Keras download them.

    Args:
        path: str, Path or None. A folder holding `train-images-idx3-ubyte.gz`, `train-labels-idx1-ubyte.gz`,
            `t10k-images-idx3-ubyte.gz` and `t10k-labels-idx1-ubyte.gz`. When given, nothing else is tried.

    Returns:
        `((x_train, y_train), (x_test, y_test))`: `uint8` images of shape `(60000, 28, 28)` and `(10000, 28, 28)`,
        `uint8` labels 0..9 (names in `FASHION_MNIST_CLASSES`).

    Raises:
        FileNotFoundError: if `path` misses files.
        ValueError: if a file is corrupt or truncated (the message names it).

    Example:

    ```python
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist()
    print(FASHION_MNIST_CLASSES[y_train[0]])  # "Ankle boot"
    ```

    Reference:
        - [Xiao et al., 2017](https://arxiv.org/abs/1708.07747): Fashion-MNIST, a novel image dataset for
          benchmarking machine learning algorithms.
    """
    folder = find_fashion_mnist(path)
    if folder is not None:
        return _read_folder(folder)
    import keras

    (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()  # downloads, then caches
    return (np.array(x_train), np.array(y_train)), (np.array(x_test), np.array(y_test))
