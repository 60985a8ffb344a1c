"""Pasted objects: Fashion-MNIST items pasted onto crops of colour photos, a localization task with exact boxes.

The `quick` profile's stand-in for Oxford-IIIT Pet heads: real images that no one labelled by hand, because the
box is known by construction. Each image is made in four steps:

1. A background: a random crop of a random colour photo (scikit-learn's two sample photos, china and flower),
   `crop_range` times the image size, resized to the image size (bilinear).
2. An item: one Fashion-MNIST image cut to the tight box of its non-zero pixels, scaled (bilinear, aspect kept)
   so its longer side is `scale_range` times the image's shorter side.
3. The scaled item's non-zero pixels are pasted, opaque and gray, at a uniformly random position where the whole
   item fits; the other pixels keep the photo.
4. The box is the tight box of exactly those pasted pixels: relative `[xmin, ymin, xmax, ymax]` (Keras's
   `"rel_xyxy"`) with pixel edges, i.e. pixel columns `xmin * W ... xmax * W - 1` (the convention of
   `keras_transfer.datasets.oxford_pet`).

Every random number is drawn from `numpy.random.default_rng(seed)` in a fixed order that does not depend on the
pixels, so a seed always gives the same images. `load_pasted_objects` builds the train, validation and test
splits of the quick profile: items of one half of the Fashion-MNIST classes (half B of `split_classes(10,
seed=0)` by default: T-shirt/top, Trouser, Sandal, Bag, Ankle boot, the classes the quick source network never
saw), train and validation items from Fashion-MNIST's training images and test items from its test images, test
backgrounds from a strip of each photo that the training backgrounds never touch. Building a few thousand images
takes about a second, so nothing is cached.
"""

import numbers
import typing

import numpy as np
from PIL import Image


class PastedObjects(typing.NamedTuple):
    """Images with one pasted item each.

    Attributes:
        images: uint8 array `(N, H, W, 3)`.
        boxes: float32 array `(N, 4)`. Relative `[xmin, ymin, xmax, ymax]` of the pasted pixels (`"rel_xyxy"`).
        labels: int array `(N,)`. The item's class (or -1 when no labels were given).
        masks: bool array `(N, H, W)` of the pasted pixels, or None (see `return_masks`).
    """

    images: np.ndarray
    boxes: np.ndarray
    labels: np.ndarray
    masks: typing.Optional[np.ndarray] = None


class PastedData(typing.NamedTuple):
    """The train, validation and test splits (`PastedObjects` each) and the names of the items' classes."""

    train: PastedObjects
    validation: PastedObjects
    test: PastedObjects
    class_names: tuple


def _check_range(name, value, low, high):
    try:
        first, second = (float(v) for v in value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"`{name}` must be a pair of numbers (low, high). Received: {name}={value!r}") from error
    if not low <= first <= second <= high:
        raise ValueError(f"`{name}` must satisfy {low} <= low <= high <= {high}. Received: {name}={value!r}")
    return first, second


def _check_image_size(image_size):
    if isinstance(image_size, numbers.Integral) and not isinstance(image_size, bool):
        image_size = (image_size, image_size)
    try:
        height, width = (int(side) for side in image_size)
        valid = all(side == original for side, original in zip((height, width), image_size)) and min(height, width) >= 8
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise ValueError(f"`image_size` must be (height, width), integers >= 8. Received: image_size={image_size!r}")
    return height, width


def _check_photos(photos):
    if isinstance(photos, np.ndarray) and photos.ndim == 3:
        photos = [photos]
    photos = [np.asarray(photo) for photo in photos]
    if not photos:
        raise ValueError("`photos` must hold at least one colour photo. Received: photos=[]")
    for index, photo in enumerate(photos):
        if photo.ndim != 3 or photo.shape[-1] != 3 or photo.dtype != np.uint8 or min(photo.shape[:2]) < 2:
            raise ValueError(
                f"Every photo must be a uint8 RGB array of shape (H, W, 3). Received: photos[{index}] with shape "
                f"{photo.shape} and dtype {photo.dtype}"
            )
    return photos


def _check_items(items):
    items = np.asarray(items)
    if items.ndim == 4 and items.shape[-1] == 1:
        items = items[..., 0]
    if items.ndim != 3 or items.dtype != np.uint8:
        raise ValueError(
            f"`items` must be uint8 grayscale images of shape (N, h, w) on a black (0) background. Received: items "
            f"with shape {items.shape} and dtype {items.dtype}"
        )
    empty = np.flatnonzero(items.reshape(len(items), -1).max(axis=1) == 0)
    if len(empty):
        raise ValueError(f"`items` must each have a non-zero pixel; items {empty[:10].tolist()} are all black.")
    return items


def tight_box(mask):
    """The tight pixel box of the True pixels of a 2-D mask: `(row_min, col_min, row_max, col_max)`, inclusive."""
    rows = np.flatnonzero(mask.any(axis=1))
    columns = np.flatnonzero(mask.any(axis=0))
    if not len(rows):
        raise ValueError("The mask has no True pixel, so it has no box.")
    return int(rows[0]), int(columns[0]), int(rows[-1]), int(columns[-1])


def paste_objects(
    items,
    photos,
    *,
    image_size=(64, 64),
    scale_range=(0.35, 0.85),
    crop_range=(1.0, 3.0),
    labels=None,
    seed=0,
    return_masks=False,
):
    """Pastes each item onto its own random crop of a photo; returns the images and the items' exact boxes.

    See the module docstring for the four steps. Per image the random numbers are drawn in this order: the photo,
    the crop's size and its position, the item's scale and its position.

    Args:
        items: uint8 array `(N, h, w)`. Grayscale objects on a black background (Fashion-MNIST images); every item
            needs a non-zero pixel.
        photos: sequence of uint8 arrays `(H, W, 3)`. The colour photos the backgrounds are cropped from.
        image_size: int or `(height, width)`. The size of the images.
        scale_range: `(low, high)` in `(0, 1]`. The item's longer side, as a fraction of the image's shorter side,
            is drawn uniformly from this range.
        crop_range: `(low, high)`, `low >= 0.1`. The crop's size, as a multiple of the image size, drawn uniformly
            (and at most the photo's size): 1 keeps the photo's own scale, 3 shrinks a three times larger crop.
        labels: array `(N,)` or None. Class of each item, passed through to the result.
        seed: int. Seeds every random draw.
        return_masks: bool. Also return the mask of the pasted pixels of each image.

    Returns:
        A `PastedObjects(images, boxes, labels, masks)`.

    Example:

    ```python
    (x_train, y_train), _ = load_fashion_mnist()
    data = paste_objects(x_train[:100], sklearn_photos(), image_size=64, labels=y_train[:100], seed=0)
    data.images.shape, data.boxes[0]  # (100, 64, 64, 3), e.g. [0.31, 0.12, 0.78, 0.67]
    ```
    """
    items = _check_items(items)
    photos = _check_photos(photos)
    height, width = _check_image_size(image_size)
    scale_low, scale_high = _check_range("scale_range", scale_range, 1e-6, 1.0)
    if scale_low <= 0:
        raise ValueError(f"`scale_range` must be above 0. Received: scale_range={scale_range!r}")
    crop_low, crop_high = _check_range("crop_range", crop_range, 0.1, float("inf"))
    if labels is None:
        labels = np.full(len(items), -1, np.int64)
    labels = np.asarray(labels)
    if labels.shape != (len(items),):
        raise ValueError(f"`labels` must have shape ({len(items)},). Received: labels with shape {labels.shape}")
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"`seed` must be a non-negative integer. Received: seed={seed!r}")

    rng = np.random.default_rng(int(seed))
    pil_photos = [Image.fromarray(photo) for photo in photos]
    count = len(items)
    images = np.empty((count, height, width, 3), np.uint8)
    boxes = np.empty((count, 4), np.float32)
    masks = np.zeros((count, height, width), bool) if return_masks else None
    shorter = min(height, width)
    for index in range(count):
        # 1. background: a crop of a photo, resized to the image size
        photo = pil_photos[int(rng.integers(len(photos)))]
        factor = rng.uniform(crop_low, crop_high)
        crop_width = max(1, min(photo.width, int(round(factor * width))))
        crop_height = max(1, min(photo.height, int(round(factor * height))))
        left = int(rng.integers(0, photo.width - crop_width + 1))
        top = int(rng.integers(0, photo.height - crop_height + 1))
        background = photo.resize(
            (width, height), Image.Resampling.BILINEAR, box=(left, top, left + crop_width, top + crop_height)
        )
        image = np.array(background, np.uint8)
        # 2. the item, cut to its non-zero pixels and scaled
        item = items[index]
        row_min, col_min, row_max, col_max = tight_box(item > 0)
        cut = item[row_min:row_max + 1, col_min:col_max + 1]
        longer = max(2, int(round(rng.uniform(scale_low, scale_high) * shorter)))
        scale = longer / max(cut.shape)
        item_height = min(height, max(1, int(round(cut.shape[0] * scale))))
        item_width = min(width, max(1, int(round(cut.shape[1] * scale))))
        scaled = np.array(Image.fromarray(cut).resize((item_width, item_height), Image.Resampling.BILINEAR))
        # 3. pasted where it fits
        item_top = int(rng.integers(0, height - item_height + 1))
        item_left = int(rng.integers(0, width - item_width + 1))
        pasted = scaled > 0
        if not pasted.any():  # a one-pixel item so faint that resizing rounded it away: keep its brightest pixel
            pasted[np.unravel_index(np.argmax(scaled), scaled.shape)] = True
            scaled = np.maximum(scaled, 1).astype(np.uint8)
        window = image[item_top:item_top + item_height, item_left:item_left + item_width]
        window[pasted] = scaled[pasted][:, None]
        images[index] = image
        # 4. the tight box of the pasted pixels
        box_rows_min, box_cols_min, box_rows_max, box_cols_max = tight_box(pasted)
        boxes[index] = (
            (item_left + box_cols_min) / width,
            (item_top + box_rows_min) / height,
            (item_left + box_cols_max + 1) / width,
            (item_top + box_rows_max + 1) / height,
        )
        if return_masks:
            masks[index, item_top:item_top + item_height, item_left:item_left + item_width] = pasted
    return PastedObjects(images, boxes, labels, masks)


def load_pasted_objects(
    train_size=2000,
    validation_size=500,
    test_size=1000,
    *,
    image_size=(64, 64),
    half="b",
    split_seed=0,
    seed=0,
    scale_range=(0.35, 0.85),
    crop_range=(1.0, 3.0),
    test_photo_fraction=0.3,
):
    """The quick profile's localization data: Fashion-MNIST items of one half of the classes pasted on photos.

    - Items: `train_size + validation_size` different images of half `half` of `split_classes(10, split_seed)`
      drawn from Fashion-MNIST's training images, and `test_size` drawn from its test images.
    - Backgrounds: scikit-learn's two photos; the train and validation images crop the left
      `1 - test_photo_fraction` of each photo's width, the test images the right `test_photo_fraction`, so no
      test background was seen in training.

    Args:
        train_size: int. Training images.
        validation_size: int. Validation images.
        test_size: int. Test images.
        image_size: int or `(height, width)`.
        half: str. `"a"` or `"b"`: which half of the classes the items come from.
        split_seed: int. Seed of `split_classes` (0 is the split the quick source network was trained on).
        seed: int. Seeds the items drawn and every image.
        scale_range: `(low, high)`. See `paste_objects`.
        crop_range: `(low, high)`. See `paste_objects`.
        test_photo_fraction: float in `(0, 1)`. The share of each photo's width kept for test backgrounds.

    Returns:
        `PastedData(train, validation, test, class_names)`; labels are remapped to `0..k-1` in the order of
        `class_names`.

    Example:

    ```python
    data = load_pasted_objects(2000, 500, 1000, image_size=64)
    train = numpy_pipeline(data.train.images, data.train.boxes, boxes=True, training=True, augment="flip", seed=0)
    ```
    """
    from keras_transfer.datasets import fashion_mnist
    from keras_transfer.datasets.photos import sklearn_photos
    from keras_transfer.datasets import splits

    sizes = {"train_size": train_size, "validation_size": validation_size, "test_size": test_size}
    for name, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")
    if isinstance(test_photo_fraction, bool) or not isinstance(test_photo_fraction, numbers.Real) or not (
        0 < test_photo_fraction < 1
    ):
        raise ValueError(
            f"`test_photo_fraction` must be a number in (0, 1). Received: test_photo_fraction={test_photo_fraction!r}"
        )
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"`seed` must be a non-negative integer. Received: seed={seed!r}")
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_fashion_mnist()
    split = splits.split_classes(10, seed=split_seed)
    x_train, y_train = split.select(x_train, y_train, half)
    x_test, y_test = split.select(x_test, y_test, half)
    if train_size + validation_size > len(x_train) or test_size > len(x_test):
        raise ValueError(
            f"Half {half!r} has {len(x_train)} training and {len(x_test)} test items. Received: "
            f"train_size={train_size}, validation_size={validation_size}, test_size={test_size}"
        )
    draw_train, draw_test, paste_train, paste_validation, paste_test = (
        int(child.generate_state(1)[0]) for child in np.random.SeedSequence(int(seed)).spawn(5)
    )
    chosen = np.random.default_rng(draw_train).permutation(len(x_train))[: train_size + validation_size]
    chosen_test = np.random.default_rng(draw_test).permutation(len(x_test))[:test_size]
    photos = sklearn_photos()
    cut = [int(round(photo.shape[1] * (1 - test_photo_fraction))) for photo in photos]
    train_photos = [photo[:, :column] for photo, column in zip(photos, cut)]
    test_photos = [photo[:, column:] for photo, column in zip(photos, cut)]
    options = {"image_size": image_size, "scale_range": scale_range, "crop_range": crop_range}
    train_items, validation_items = chosen[:train_size], chosen[train_size:]
    train = paste_objects(
        x_train[train_items], train_photos, labels=y_train[train_items], seed=paste_train, **options
    )
    validation = paste_objects(
        x_train[validation_items], train_photos, labels=y_train[validation_items], seed=paste_validation, **options
    )
    test = paste_objects(x_test[chosen_test], test_photos, labels=y_test[chosen_test], seed=paste_test, **options)
    return PastedData(train, validation, test, split.names(fashion_mnist.FASHION_MNIST_CLASSES, half))
