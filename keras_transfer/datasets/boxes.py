"""Box-regression data for the localization experiment: one object per image and its box, in splits.

`load_localization_data(config)` gives the three splits of either data source as unbatched `tf.data.Dataset`s of
`(image, box)`; `subset_indices` and `take_indices` draw the nested training subsets of the few-label runs;
`box_images` turns a split into numpy arrays as the models see them (for galleries and best/worst plots);
`flip_horizontally` and `flip_boxes_horizontally` mirror images and move their boxes with them.
"""

import collections

import numpy as np

# train, validation, test: unbatched `tf.data.Dataset`s of `(image, box)`: uint8 images (pasted objects: at
# `image_size` already; Oxford-IIIT Pet: each photo's own size, resized by the pipeline) and float32 `"rel_xyxy"`
# boxes; class_names: the objects' classes; sizes: examples per split; resize: None or what the pipeline resizes to.
LocalizationData = collections.namedtuple(
    "LocalizationData", ["train", "validation", "test", "class_names", "sizes", "resize"]
)

SOURCES = ("pasted_objects", "oxford_pet")


def load_localization_data(config, *, verbose=0):
    """The splits that `config` names (see `LocalizationData`).

    Args:
        config: dict. `data`: `"pasted_objects"` (`load_pasted_objects(train_size, validation_size, test_size,
            image_size, seed=data_seed)`) or `"oxford_pet"` (`load_oxford_pet_heads(image_size=None, path=path,
            validation_fraction=..., test_fraction=..., seed=split_seed)` via `to_box_regression`, resized to
            `image_size` by the pipeline).
        verbose: int. Passed to the Oxford-IIIT Pet loader (download and extraction progress).
    """
    import tensorflow as tf  # noqa: PLC0415

    from keras_transfer import datasets  # noqa: PLC0415

    if config.get("data") not in SOURCES:
        raise ValueError(f"`data` must be one of {SOURCES}. Received: data={config.get('data')!r}")
    if config["data"] == "oxford_pet":
        pets = datasets.load_oxford_pet_heads(
            image_size=None,
            path=config["path"],
            validation_fraction=config["validation_fraction"],
            test_fraction=config["test_fraction"],
            seed=config["split_seed"],
            verbose=verbose,
        )
        splits = [datasets.to_box_regression(split) for split in (pets.train, pets.validation, pets.test)]
        sizes = {name: int(split.cardinality()) for name, split in zip(("train", "validation", "test"), splits)}
        return LocalizationData(*splits, tuple(pets.breed_names), sizes, tuple(config["image_size"]))
    pasted = datasets.load_pasted_objects(
        config["train_size"],
        config["validation_size"],
        config["test_size"],
        image_size=tuple(config["image_size"]),
        seed=config["data_seed"],
    )
    parts = (pasted.train, pasted.validation, pasted.test)
    splits = [tf.data.Dataset.from_tensor_slices((part.images, part.boxes)) for part in parts]
    sizes = {name: int(len(part.boxes)) for name, part in zip(("train", "validation", "test"), parts)}
    return LocalizationData(*splits, tuple(pasted.class_names), sizes, None)


def subset_indices(total, size, seed=0):
    """The training images of a subset of `size` out of `total`: a seeded random choice, in the split's order.

    Subsets of one seed are nested (the 250 images are among the 1,000), and the same for every network and model
    seed. `size == total` gives every index. Returns a sorted int64 array.
    """
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 1 <= size <= total:
        raise ValueError(
            f"A training subset must hold between 1 and the {total} training images. Received: size={size!r}"
        )
    if size == total:
        return np.arange(total, dtype=np.int64)
    return np.sort(np.random.default_rng(int(seed)).permutation(total)[:size]).astype(np.int64)


def take_indices(dataset, indices, total):
    """The examples of `dataset` (of `total` examples) at `indices`, in order, with their cardinality known."""
    import tensorflow as tf  # noqa: PLC0415

    if len(indices) == total:
        return dataset
    keep = np.zeros(total, bool)
    keep[indices] = True
    keep = tf.constant(keep)

    @tf.autograph.experimental.do_not_convert
    def kept(index, example):
        return tf.gather(keep, index)

    @tf.autograph.experimental.do_not_convert
    def drop_index(index, example):
        return example

    subset = dataset.enumerate().filter(kept).map(drop_index)
    return subset.apply(tf.data.experimental.assert_cardinality(len(indices)))


def box_images(dataset, resize=None, count=None):
    """The images of a split as the models see them, before preprocessing, and their true boxes.

    Args:
        dataset: an unbatched `tf.data.Dataset` of `(image, box)` (a split of `LocalizationData`).
        resize: None or `(height, width)`: `LocalizationData.resize`.
        count: int or None. The first `count` examples; None: all.

    Returns:
        `(images, boxes)`: uint8 `(N, H, W, 3)` and float32 `(N, 4)` `"rel_xyxy"` boxes, in the split's order.
    """
    from keras_transfer.datasets.pipeline import make_pipeline  # noqa: PLC0415

    if count is not None:
        dataset = dataset.take(int(count))
    pipeline = make_pipeline(dataset, batch_size=64, image_size=resize, boxes=True, cache=False)
    images, boxes = [], []
    for batch_images, batch_boxes in pipeline.as_numpy_iterator():
        images.append(np.clip(np.round(batch_images), 0, 255).astype(np.uint8))
        boxes.append(np.asarray(batch_boxes, np.float32))
    return np.concatenate(images), np.concatenate(boxes)


def flip_boxes_horizontally(boxes):
    """Relative boxes of left-right mirrored images: `[1 - xmax, ymin, 1 - xmin, ymax]` (a NumPy array)."""
    boxes = np.asarray(boxes)
    if boxes.ndim < 1 or boxes.shape[-1] != 4:
        raise ValueError(f"`boxes` must have a last axis of 4. Received: boxes with shape {boxes.shape}")
    flipped = boxes.copy()
    flipped[..., 0], flipped[..., 2] = 1.0 - boxes[..., 2], 1.0 - boxes[..., 0]
    return flipped


def flip_horizontally(images, boxes):
    """Mirror images left to right and move their relative boxes with them: `[1 - xmax, ymin, 1 - xmin, ymax]`.

    The deterministic twin of `keras.layers.RandomFlip("horizontal", bounding_box_format="rel_xyxy")` for the
    images it flips (the tests check the two agree).

    Args:
        images: array `(N, H, W, C)`.
        boxes: array `(N, 4)`. `"rel_xyxy"` boxes.

    Returns:
        `(flipped_images, flipped_boxes)` as NumPy arrays.
    """
    images, boxes = np.asarray(images), np.asarray(boxes)
    if images.ndim != 4 or boxes.ndim != 2 or boxes.shape[-1] != 4 or len(images) != len(boxes):
        raise ValueError(
            "`images` must be (N, H, W, C) and `boxes` (N, 4). Received: shapes "
            f"{images.shape} and {boxes.shape}"
        )
    return images[:, :, ::-1], flip_boxes_horizontally(boxes)
