"""The tf.data pipeline helper: shapes, box-aware resize and flip, VGG19 preprocessing, determinism."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_transfer.datasets import make_pipeline, numpy_pipeline

# tf.data runs the input pipeline whatever the Keras backend; the same tests run under JAX.
pytestmark = pytest.mark.multibackend


def _images_with_rectangles(count, height, width, seed=0):
    """White rectangles on black, one per image, on pixel boundaries; their relative rel_xyxy boxes."""
    rng = np.random.default_rng(seed)
    images = np.zeros((count, height, width, 3), np.uint8)
    boxes = np.zeros((count, 4), np.float32)
    for index in range(count):
        x0 = rng.integers(0, width // 2)
        x1 = rng.integers(x0 + 3, width)
        y0 = rng.integers(0, height // 2)
        y1 = rng.integers(y0 + 3, height)
        images[index, y0:y1, x0:x1] = 255
        boxes[index] = [x0 / width, y0 / height, x1 / width, y1 / height]
    return images, boxes


def _rendered_box(image):
    """The rel_xyxy box of the bright pixels of one image."""
    mask = image.max(axis=-1) > 127
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    height, width = mask.shape
    return np.array([cols[0] / width, rows[0] / height, (cols[-1] + 1) / width, (rows[-1] + 1) / height])


def _collect(dataset):
    images, targets = [], []
    for batch_images, batch_targets in dataset.as_numpy_iterator():
        images.append(batch_images)
        targets.append(batch_targets)
    return images, targets


def test_shapes_dtypes_and_batches():
    x = np.random.default_rng(0).integers(0, 256, size=(10, 28, 28), dtype=np.uint8)
    y = np.arange(10)
    images, targets = _collect(numpy_pipeline(x, y, batch_size=4, image_size=(32, 32)))
    assert [batch.shape for batch in images] == [(4, 32, 32, 1), (4, 32, 32, 1), (2, 32, 32, 1)]
    assert all(batch.dtype == np.float32 for batch in images)
    np.testing.assert_array_equal(np.concatenate(targets), y)  # not training: order kept
    # no resize: pixels unchanged, only cast
    images, _ = _collect(numpy_pipeline(x, y, batch_size=10))
    np.testing.assert_array_equal(images[0][..., 0], x.astype(np.float32))
    # the resize matches Keras's own Resizing
    images, _ = _collect(numpy_pipeline(x, y, batch_size=10, image_size=(32, 32), cache=False))
    expected = keras.ops.convert_to_numpy(keras.layers.Resizing(32, 32)(x[..., None]))
    np.testing.assert_allclose(images[0], expected.astype(np.float32))


def test_vgg19_preprocessing_matches_keras():
    x = np.random.default_rng(1).integers(0, 256, size=(6, 20, 24, 3), dtype=np.uint8)
    images, _ = _collect(numpy_pipeline(x, np.zeros(6), batch_size=6, preprocess="vgg19"))
    expected = keras.applications.vgg19.preprocess_input(x.astype(np.float32))
    np.testing.assert_allclose(images[0], expected, rtol=1e-6, atol=1e-4)
    # BGR with the ImageNet means subtracted
    np.testing.assert_allclose(images[0][..., 0], x[..., 2] - 103.939, atol=1e-4)
    # grayscale is repeated to three channels first
    gray = x[..., 0]
    images, _ = _collect(numpy_pipeline(gray, np.zeros(6), batch_size=6, preprocess="vgg19"))
    expected = keras.applications.vgg19.preprocess_input(np.repeat(gray[..., None], 3, -1).astype(np.float32))
    np.testing.assert_allclose(images[0], expected, rtol=1e-6, atol=1e-4)


def test_resize_keeps_relative_boxes():
    x, boxes = _images_with_rectangles(8, 40, 60)
    for size in [(20, 30), (64, 48)]:
        images, targets = _collect(numpy_pipeline(x, boxes, batch_size=8, image_size=size, boxes=True))
        assert images[0].shape == (8, *size, 3)
        np.testing.assert_allclose(targets[0], boxes, atol=1e-6)
        for image, box in zip(images[0], targets[0]):
            np.testing.assert_allclose(_rendered_box(image), box, atol=1.01 / min(size))


def test_flip_moves_the_box_with_the_pixels():
    x, boxes = _images_with_rectangles(16, 30, 40, seed=2)
    target = {"boxes": boxes, "breed": np.arange(16, dtype=np.int32)}  # the Oxford-IIIT Pet layout
    dataset = numpy_pipeline(
        x, target, batch_size=5, image_size=(30, 40), training=True, augment="flip", boxes=True, seed=7
    )
    flipped = kept = 0
    for batch_images, batch_targets in dataset.as_numpy_iterator():
        for image, box, breed in zip(batch_images, batch_targets["boxes"], batch_targets["breed"]):
            np.testing.assert_allclose(_rendered_box(image), box, atol=1e-5)  # the box sits on the rectangle
            original = boxes[breed]
            if np.allclose(box, original, atol=1e-6):
                kept += 1
            else:  # xmin, xmax -> 1 - xmax, 1 - xmin; y untouched
                np.testing.assert_allclose(box, [1 - original[2], original[1], 1 - original[0], original[3]], atol=1e-6)
                flipped += 1
    assert flipped > 0 and kept > 0 and flipped + kept == 16
    # a plain (4,) box target works the same way
    dataset = numpy_pipeline(x, boxes, batch_size=16, training=True, augment="flip", boxes=True, seed=7)
    images, targets = _collect(dataset)
    for image, box in zip(images[0], targets[0]):
        np.testing.assert_allclose(_rendered_box(image), box, atol=1e-5)


def test_determinism_with_a_seed():
    x, boxes = _images_with_rectangles(24, 16, 16, seed=3)

    def run(seed):
        dataset = numpy_pipeline(x, boxes, batch_size=8, training=True, augment="flip", boxes=True, seed=seed)
        first_epoch = _collect(dataset)
        second_epoch = _collect(dataset)
        return [np.concatenate(part) for part in (*first_epoch, *second_epoch)]

    first = run(11)
    for expected, actual in zip(first, run(11)):
        np.testing.assert_array_equal(expected, actual)
    assert not np.array_equal(first[1], first[3])  # each epoch reshuffles (and re-flips)
    assert not np.array_equal(first[1], run(12)[1])


def test_eval_pipeline_does_not_augment_and_accepts_callables(tmp_path):
    x, boxes = _images_with_rectangles(6, 16, 16)
    _, targets = _collect(numpy_pipeline(x, boxes, batch_size=6, augment="flip", boxes=True, training=False))
    np.testing.assert_array_equal(targets[0], boxes)
    images, _ = _collect(
        numpy_pipeline(x, boxes, batch_size=6, preprocess=lambda batch: batch / 255.0, cache=str(tmp_path / "c"))
    )
    np.testing.assert_allclose(images[0], x / 255.0, atol=1e-6)
    # a layer list for augmentation, without boxes
    layer = keras.layers.RandomFlip("vertical", seed=0)
    images, _ = _collect(numpy_pipeline(x, np.zeros(6), batch_size=6, training=True, augment=[layer], seed=1))
    for image in images[0]:
        assert any(np.array_equal(image, candidate) or np.array_equal(image, candidate[::-1]) for candidate in x)


def test_validation_errors():
    x = np.zeros((4, 8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match="batch_size=0"):
        numpy_pipeline(x, np.zeros(4), batch_size=0)
    with pytest.raises(ValueError, match="image_size=\\(32,\\)"):
        numpy_pipeline(x, np.zeros(4), image_size=(32,))
    with pytest.raises(ValueError, match="preprocess='resnet'"):
        numpy_pipeline(x, np.zeros(4), preprocess="resnet")
    with pytest.raises(ValueError, match="augment='rotate'"):
        numpy_pipeline(x, np.zeros(4), augment="rotate")
    with pytest.raises(ValueError, match="same length"):
        numpy_pipeline(x, np.zeros(3))
    with pytest.raises(ValueError, match="did you batch"):
        make_pipeline(tf.data.Dataset.from_tensor_slices((x, np.zeros(4))).batch(2))
    with pytest.raises(ValueError, match="last axis of 4"):
        numpy_pipeline(x, np.zeros((4, 3)), boxes=True, image_size=(4, 4))
    with pytest.raises(ValueError, match="'boxes' entry"):
        numpy_pipeline(x, {"box": np.zeros((4, 4))}, boxes=True, image_size=(4, 4))
