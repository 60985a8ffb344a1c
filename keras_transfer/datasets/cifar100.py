"""CIFAR-100 through tensorflow-datasets: 60,000 colour 32x32 images of 100 classes (Krizhevsky, 2009).

Downloaded and prepared on first use (about 160 MB) into `$KT_DATA_DIR/tensorflow_datasets`; later calls read the
prepared files offline.
"""

import numpy as np

from keras_transfer import paths


def load_cifar100(data_dir=None):
    """CIFAR-100's train and test images with their 100 fine labels, as NumPy arrays.

    Args:
        data_dir: str, Path or None. The tensorflow-datasets folder (default `paths.cache_dir("tensorflow_datasets")`
            under `$KT_DATA_DIR`).

    Returns:
        `((x_train, y_train), (x_test, y_test), class_names)`: `uint8` `(50000, 32, 32, 3)` and `(10000, 32, 32, 3)`
        images, the 100 fine labels as `int64`, and the 100 fine label names.

    Example:

    ```python
    (x_train, y_train), (x_test, y_test), names = load_cifar100()
    ```
    """
    import tensorflow_datasets as tfds

    data_dir = str(data_dir) if data_dir is not None else str(paths.cache_dir("tensorflow_datasets"))
    arrays = []
    for split in ("train", "test"):
        dataset, info = tfds.load("cifar100", split=split, as_supervised=True, data_dir=data_dir, with_info=True)
        images, labels = [], []
        for image_batch, label_batch in tfds.as_numpy(dataset.batch(4096)):
            images.append(image_batch)
            labels.append(label_batch)
        arrays.append((np.concatenate(images).astype("uint8"), np.concatenate(labels).astype("int64")))
    return arrays[0], arrays[1], tuple(info.features["label"].names)
