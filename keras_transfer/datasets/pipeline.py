"""Input pipelines: resize, cache, shuffle, batch, augment, preprocess and prefetch a `tf.data.Dataset`.

The order follows the tf.data performance guide: the deterministic, per-image work (resizing) runs before the cache,
so it is done once; shuffling and random augmentation run after it, so they change every epoch; batching comes
before augmentation and preprocessing, which are vectorised; prefetching comes last.

Boxes are relative `[xmin, ymin, xmax, ymax]` (Keras's `"rel_xyxy"` format). Resizing and flipping use Keras's
bounding-box aware preprocessing layers (`keras.layers.Resizing` and `keras.layers.RandomFlip` with
`bounding_box_format="rel_xyxy"`), which run inside `tf.data` on every backend, so a box stays on the object.
"""

import keras
import numpy as np
import tensorflow as tf

BOX_FORMAT = "rel_xyxy"
PREPROCESS = ("vgg19",)
AUGMENT = ("flip",)


def _vgg19_preprocess(images):
    """`keras.applications.vgg19.preprocess_input` inside tf.data.

    On the TensorFlow backend it takes the tf tensors directly. On other backends its `keras.ops` would receive
    symbolic tf tensors, so it runs on NumPy through `tf.numpy_function` (the same function, the same numbers).
    """
    if images.shape[-1] == 1:
        images = tf.image.grayscale_to_rgb(images)
    if keras.backend.backend() == "tensorflow":
        return keras.applications.vgg19.preprocess_input(images)
    output = tf.numpy_function(
        lambda array: keras.applications.vgg19.preprocess_input(np.array(array, dtype=np.float32)),
        [images],
        tf.float32,
        stateful=False,
    )
    output.set_shape(images.shape)
    return output


def _box_parts(target):
    """Splits a target into the boxes (rank 2: `(num_boxes, 4)` per image) and a function that puts them back."""
    if isinstance(target, dict):
        if "boxes" not in target:
            raise ValueError(
                f"With `boxes=True` a dict target needs a 'boxes' entry. Received: target keys {sorted(target)}"
            )
        boxes = target["boxes"]
        rest = {key: value for key, value in target.items() if key != "boxes"}

        def rebuild(new_boxes, single):
            return {**rest, "boxes": new_boxes[..., 0, :] if single else new_boxes}

    else:
        boxes = target

        def rebuild(new_boxes, single):
            return new_boxes[..., 0, :] if single else new_boxes

    if boxes.shape[-1] != 4:
        raise ValueError(
            f"Boxes must be relative [xmin, ymin, xmax, ymax] with a last axis of 4. Received: boxes with shape "
            f"{boxes.shape}"
        )
    return boxes, rebuild


def _apply_boxes_layer(layer, image, target, batched, training=None):
    """Runs a bounding-box aware Keras layer on images and the boxes inside `target`."""
    boxes, rebuild = _box_parts(target)
    boxes = tf.cast(boxes, tf.float32)
    single = boxes.shape.rank == (2 if batched else 1)
    if single:
        boxes = tf.expand_dims(boxes, -2)
    labels = tf.zeros(tf.shape(boxes)[:-1], tf.float32)  # Keras's box layers carry a label per box
    data = {"images": image, "bounding_boxes": {"boxes": boxes, "labels": labels}}
    output = layer(data, training=training) if training is not None else layer(data)
    return output["images"], rebuild(output["bounding_boxes"]["boxes"], single)


def _augment_layers(augment, boxes, seed):
    if augment is None:
        return []
    if isinstance(augment, str):
        if augment not in AUGMENT:
            raise ValueError(f"`augment` must be None, one of {AUGMENT} or Keras layers. Received: augment={augment!r}")
        return [keras.layers.RandomFlip("horizontal", bounding_box_format=BOX_FORMAT if boxes else None, seed=seed)]
    layers = list(augment) if isinstance(augment, (list, tuple)) else [augment]
    for layer in layers:
        if not callable(layer):
            raise ValueError(f"`augment` must hold Keras layers or callables. Received: augment={augment!r}")
    return layers


def make_pipeline(
    dataset,
    *,
    batch_size=32,
    image_size=None,
    training=False,
    augment=None,
    preprocess=None,
    boxes=False,
    shuffle_buffer=1000,
    cache=True,
    seed=None,
):
    """Turns a dataset of `(image, target)` pairs into batched, prefetched model input.

    Steps, in order: resize (box-aware) → cache → shuffle (training only) → batch → augment (training only) →
    cast to float32 → preprocess → prefetch with `tf.data.AUTOTUNE`. Images may be uint8 (resizing keeps the dtype,
    so the cache stays 4x smaller) and rank 2 (grayscale, a channel axis is added).

    Args:
        dataset: tf.data.Dataset. Unbatched `(image, target)` pairs; images `(H, W)` or `(H, W, C)`.
        batch_size: int. Examples per batch.
        image_size: tuple of two ints or None. `(height, width)` to resize every image to (bilinear, Keras's
            `Resizing`); None keeps the size (images must then share one size to be batched).
        training: bool. Shuffle and augment (a validation or test pipeline keeps the order and the pixels).
        augment: None, "flip", a Keras preprocessing layer or a list of them. Applied to batches when `training`.
            "flip" is `keras.layers.RandomFlip("horizontal")`, box-aware when `boxes`. With `boxes=True` your own
            layers must be built with `bounding_box_format="rel_xyxy"`.
        preprocess: None, "vgg19" or a callable on a float32 batch. "vgg19" applies
            `keras.applications.vgg19.preprocess_input` (RGB → BGR, ImageNet mean subtracted; grayscale images are
            repeated to three channels first).
        boxes: bool. The target is a box `[xmin, ymin, xmax, ymax]` (relative, shape `(4,)` or `(num_boxes, 4)`),
            or a dict with a "boxes" entry (other entries pass through); boxes follow resizing and flipping.
        shuffle_buffer: int. Size of the shuffle buffer (training only).
        cache: bool or str. Cache the resized examples in memory (True), in files with this prefix (str), or not
            (False).
        seed: int or None. Seeds the shuffle and the augmentation; with a seed the pipeline gives the same batches
            every time it is built (augmentation then runs sequentially, as parallel calls would draw their random
            numbers in any order).

    Returns:
        A batched, prefetched `tf.data.Dataset` of `(images, targets)`, images float32 `(B, H, W, C)`.

    Example:

    ```python
    (x_train, y_train), _ = load_mnist_m()
    train = numpy_pipeline(x_train, y_train, batch_size=64, image_size=(32, 32), training=True, augment="flip",
                           preprocess="vgg19", seed=0)
    model.fit(train, epochs=3)
    ```
    """
    if not isinstance(dataset, tf.data.Dataset):
        raise ValueError(f"`dataset` must be a tf.data.Dataset. Received: dataset={dataset!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive integer. Received: batch_size={batch_size!r}")
    if image_size is not None:
        if len(tuple(image_size)) != 2 or any(int(size) != size or size < 1 for size in image_size):
            raise ValueError(
                f"`image_size` must be None or (height, width) positive integers. Received: image_size={image_size!r}"
            )
        image_size = tuple(int(size) for size in image_size)
    if preprocess is not None and not callable(preprocess) and preprocess not in PREPROCESS:
        raise ValueError(
            f"`preprocess` must be None, one of {PREPROCESS} or a callable. Received: preprocess={preprocess!r}"
        )
    if isinstance(shuffle_buffer, bool) or not isinstance(shuffle_buffer, (int, np.integer)) or shuffle_buffer < 1:
        raise ValueError(f"`shuffle_buffer` must be a positive integer. Received: shuffle_buffer={shuffle_buffer!r}")
    spec = dataset.element_spec
    if not isinstance(spec, tuple) or len(spec) != 2:
        raise ValueError(f"`dataset` must yield (image, target) pairs. Received: element_spec={spec!r}")
    if spec[0].shape.rank not in (2, 3):
        raise ValueError(
            f"Images must be unbatched (H, W) or (H, W, C). Received: image spec {spec[0]!r}; did you batch already?"
        )
    augment_layers = _augment_layers(augment, boxes, seed)
    autotune = tf.data.AUTOTUNE

    if spec[0].shape.rank == 2:
        dataset = dataset.map(lambda image, target: (image[..., tf.newaxis], target), num_parallel_calls=autotune)
    if image_size is not None:
        resize = keras.layers.Resizing(*image_size, bounding_box_format=BOX_FORMAT if boxes else None)
        image_dtype = spec[0].dtype

        def resize_one(image, target):
            if boxes:
                resized, target = _apply_boxes_layer(resize, image, target, batched=False)
            else:
                resized = resize(image)
            if image_dtype.is_integer and resized.dtype != image_dtype:
                # Inside tf.data the layer returns floats; round back to the input's integer type, as Keras's
                # Resizing does eagerly, so a uint8 cache stays 4x smaller than a float32 one.
                resized = tf.saturate_cast(tf.round(resized), image_dtype)
            return resized, target

        dataset = dataset.map(resize_one, num_parallel_calls=autotune)
    if cache:
        dataset = dataset.cache(cache if isinstance(cache, str) else "")
    if training:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size)
    if training and augment_layers:

        def augment_batch(images, target):
            for layer in augment_layers:
                if boxes:
                    images, target = _apply_boxes_layer(layer, images, target, batched=True, training=True)
                else:
                    images = layer(images, training=True)
            return images, target

        dataset = dataset.map(augment_batch, num_parallel_calls=None if seed is not None else autotune)

    def finish(images, target):
        images = tf.cast(images, tf.float32)
        if preprocess == "vgg19":
            images = _vgg19_preprocess(images)
        elif preprocess is not None:
            images = preprocess(images)
        return images, target

    dataset = dataset.map(finish, num_parallel_calls=autotune)
    return dataset.prefetch(autotune)


def numpy_pipeline(x, y, **kwargs):
    """`make_pipeline` over in-memory arrays: `tf.data.Dataset.from_tensor_slices((x, y))`, then the same steps.

    Args:
        x: array. Images `(N, H, W)` or `(N, H, W, C)`.
        y: array or dict of arrays. Targets, first axis `N` (boxes with `boxes=True`).
        **kwargs: the keyword arguments of `make_pipeline`.

    Returns:
        A batched, prefetched `tf.data.Dataset`.
    """
    x = np.asarray(x)
    lengths = {len(value) for value in (y.values() if isinstance(y, dict) else [y])}
    if lengths != {len(x)}:
        raise ValueError(f"`x` and `y` must have the same length. Received: len(x)={len(x)}, len(y)={sorted(lengths)}")
    return make_pipeline(tf.data.Dataset.from_tensor_slices((x, y)), **kwargs)
