"""`keras_transfer.losses.GIoULoss`, the dependency-free copy, against keras-cv's `GIoULoss` (the well-kept library
it copies): the same values and the same gradients on the same boxes, on every backend keras-cv runs on; and the
package's one IoU (`metrics.box_iou`) and GIoU against keras-cv's CIoU (which the experiment uses for CIoU) where
they coincide."""

import keras
import keras_cv
import numpy as np
import pytest

from keras_transfer import losses
from keras_transfer import metrics


def _boxes(count, seed):
    """`count` valid relative `[xmin, ymin, xmax, ymax]` boxes: overlapping, nested and disjoint pairs alike."""
    rng = np.random.default_rng(seed)
    corner = rng.uniform(0.0, 0.6, size=(count, 2))
    size = rng.uniform(0.05, 0.4, size=(count, 2))
    return np.concatenate([corner, corner + size], axis=1).astype("float32")


def _value_and_gradient(loss, y_true, y_pred):
    """The loss and its gradient with respect to `y_pred`, with the backend's own autodiff."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        y_pred = tf.Variable(y_pred)
        with tf.GradientTape() as tape:
            value = loss(y_true, y_pred)
        return float(value), tape.gradient(value, y_pred).numpy()
    if backend == "jax":
        import jax

        value, gradient = jax.value_and_grad(lambda boxes: loss(y_true, boxes))(y_pred)
        return float(value), np.asarray(gradient)
    raise NotImplementedError(f"no gradient helper for the {backend} backend")


@pytest.mark.multibackend
def test_giou_loss_equals_keras_cv_values_and_gradients():
    y_true, y_pred = _boxes(32, seed=0), _boxes(32, seed=1)
    ours = losses.GIoULoss(bounding_box_format="rel_xyxy")
    theirs = keras_cv.losses.GIoULoss(bounding_box_format="rel_xyxy")
    value, gradient = _value_and_gradient(ours, y_true, y_pred)
    reference_value, reference_gradient = _value_and_gradient(theirs, y_true, y_pred)
    assert value == pytest.approx(reference_value, abs=1e-5)
    assert np.abs(gradient).max() > 1e-3  # a real gradient, not zeros on both sides
    np.testing.assert_allclose(gradient, reference_gradient, atol=1e-5)
    # disjoint boxes: IoU is 0 for every pair, GIoU still differs and still has a gradient
    far = y_true + np.float32(2.0)
    assert _value_and_gradient(ours, y_true, far)[0] == pytest.approx(
        _value_and_gradient(theirs, y_true, far)[0], abs=1e-5
    )


@pytest.mark.multibackend
def test_iou_giou_and_keras_cv_ciou_agree_where_they_overlap():
    # Concentric boxes of the same aspect ratio: CIoU's centre-distance and aspect terms are 0, so CIoU = IoU; one
    # box inside the other: the enclosing box is the union, so GIoU = IoU too.
    rng = np.random.default_rng(2)
    centre = rng.uniform(0.3, 0.7, size=(16, 2))
    half = rng.uniform(0.05, 0.25, size=(16, 2))
    scale = rng.uniform(0.3, 1.0, size=(16, 1))
    outer = np.concatenate([centre - half, centre + half], axis=1).astype("float32")
    inner = np.concatenate([centre - half * scale, centre + half * scale], axis=1).astype("float32")
    iou = keras.ops.convert_to_numpy(metrics.box_iou(outer, inner))
    np.testing.assert_allclose(iou, scale[:, 0] ** 2, atol=1e-5)  # the inner box's share of the outer one
    giou = keras.ops.convert_to_numpy(losses.generalized_box_iou(outer, inner))
    np.testing.assert_allclose(giou, iou, atol=1e-5)
    ciou_loss = keras_cv.losses.CIoULoss(bounding_box_format="rel_xyxy", reduction="none")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(ciou_loss(outer, inner)), 1.0 - iou, atol=1e-4)
    # elsewhere the three differ: disjoint boxes have IoU 0, GIoU and CIoU below it
    far = outer + np.float32(2.0)
    assert float(keras.ops.convert_to_numpy(metrics.box_iou(outer, far)).max()) == 0.0
    assert (keras.ops.convert_to_numpy(losses.generalized_box_iou(outer, far)) < 0).all()
    assert (keras.ops.convert_to_numpy(ciou_loss(outer, far)) > 1).all()
