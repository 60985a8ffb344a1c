"""Decode image files: check once which ones are readable, and read one inside a `tf.data` pipeline.

`verify_images()` decodes a list of image files once with TensorFlow's decoder (the one the `tf.data` pipelines
use) and remembers which ones are readable, so loaders can skip corrupt files with a warning that names them.
TensorFlow is imported inside the functions only.
"""

import hashlib
import json
import numbers
import os
import pathlib

import tqdm.auto

from keras_transfer import paths
from keras_transfer.datasets.download import atomic_write_text


def verify_images(files, *, verbose=1):
    """Decode every image once with TensorFlow and report which ones cannot be read.

    The result is cached under `paths.cache_dir("verified-images")`, keyed by each file's path, size and
    modification time, so a second call on unchanged files costs only a `stat` per file.

    Args:
        files: sequence of path-like. The image files.
        verbose: int. 0 is silent; 1 shows a progress bar while decoding.

    Returns:
        `(sizes, failures)`: `sizes` maps each readable file (as `str`) to its `(height, width)`; `failures`
        maps each unreadable file to the decoder's error message.
    """
    names = [str(pathlib.Path(file).absolute()) for file in files]
    signature = hashlib.sha256()
    for name in names:
        try:
            info = os.stat(name)
            signature.update(f"{name}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
        except OSError:
            signature.update(f"{name}\0missing\n".encode())
    cache_file = paths.cache_dir("verified-images") / f"{signature.hexdigest()}.json"
    try:
        cached = json.loads(cache_file.read_text())
        return {k: tuple(v) for k, v in cached["sizes"].items()}, dict(cached["failures"])
    except (OSError, ValueError, KeyError):
        pass

    import tensorflow as tf

    def decode(path):
        image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
        return path, tf.shape(image)[:2]

    # Decoding in parallel; elements that fail are dropped and named by the set difference below.
    dataset = (
        tf.data.Dataset.from_tensor_slices(tf.constant(names, tf.string))
        .map(decode, num_parallel_calls=tf.data.AUTOTUNE)
        .ignore_errors()
    )
    sizes = {}
    with tqdm.auto.tqdm(total=len(names), desc="checking images", unit="img", disable=not verbose) as bar:
        for path, shape in dataset.as_numpy_iterator():
            sizes[path.decode()] = (int(shape[0]), int(shape[1]))
            bar.update(1)
    failures = {}
    for name in names:
        if name not in sizes:
            try:
                decode(tf.constant(name))
                failures[name] = "could not be decoded"
            except (tf.errors.OpError, ValueError) as error:
                failures[name] = str(getattr(error, "message", error)).strip().splitlines()[0][:300]
    atomic_write_text(cache_file, json.dumps({"sizes": sizes, "failures": failures}))
    return sizes, failures


def check_image_size(image_size):
    """Validate an `image_size` argument: None or `(height, width)` with two positive ints."""
    if image_size is None:
        return None
    if (
        not isinstance(image_size, (tuple, list))
        or len(image_size) != 2
        or not all(isinstance(side, numbers.Integral) and not isinstance(side, bool) and side > 0
                   for side in image_size)
    ):
        raise ValueError(
            f"image_size must be None or (height, width) with two positive ints. Received: image_size={image_size!r}"
        )
    return (int(image_size[0]), int(image_size[1]))


def read_image(path, image_size=None):
    """Read one image file as RGB inside a `tf.data` pipeline (TensorFlow ops only).

    `tf.io.decode_image(channels=3)` recognises the format from the bytes, so PNG data in a `.jpg` file, CMYK
    JPEGs and grayscale JPEGs all come out as 3-channel RGB.

    Args:
        path: string tensor. The file.
        image_size: `(height, width)` or None. With a size the image is resized (bilinear, antialiased) and
            returned as float32 pixel values in [0, 255]; without, the original uint8 image is returned.

    Returns:
        A `(height, width, 3)` tensor.
    """
    import tensorflow as tf

    image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    image.set_shape([None, None, 3])
    if image_size is None:
        return image
    image = tf.image.resize(image, image_size, method="bilinear", antialias=True)
    return tf.clip_by_value(image, 0.0, 255.0)
