"""Training and judging a box regressor: its loss by name, and its test scores.

- `box_loss(name)`: `"mse"` (Keras's), `"giou"` (`keras_transfer.losses.GIoULoss`, the package's own) or `"ciou"`
  (keras-cv's `CIoULoss`: Keras has no CIoU loss and the package no copy of it), on `"rel_xyxy"` boxes.
- `localization_scores(true_boxes, predicted_boxes)`: the mean IoU and the share of boxes with IoU >= 0.5 (PASCAL
  VOC's "correct localization"), from `keras_transfer.metrics.box_iou` (Keras's `compute_iou`), the same IoU the
  `metrics.BoxIoU` metric tracks during training.
- `test_box_regressor(model, test, loss)`: the scores, the test loss and the predicted boxes of one model.
"""

import numbers

import keras
import numpy as np

from keras_transfer import losses
from keras_transfer import metrics

BOX_FORMAT = "rel_xyxy"
BOX_LOSSES = ("mse", "giou", "ciou")


def box_loss(name):
    """A box-regression loss by name: `"mse"`, `"giou"` or `"ciou"` (see the module docstring), on `BOX_FORMAT`.

    keras-cv's `CIoULoss` runs on TensorFlow and JAX with Keras 3; it is imported only when asked for (slow).
    """
    if name not in BOX_LOSSES:
        raise ValueError(f"Unknown loss: expected one of {BOX_LOSSES}. Received: {name!r}")
    if name == "mse":
        return keras.losses.MeanSquaredError(name="mse")
    if name == "giou":
        return losses.GIoULoss(bounding_box_format=BOX_FORMAT)
    import keras_cv  # noqa: PLC0415 - slow to import, only the CIoU loss needs it

    return keras_cv.losses.CIoULoss(bounding_box_format=BOX_FORMAT)


def localization_scores(true_boxes, predicted_boxes, threshold=0.5):
    """`{"mean_iou": float, "iou_at_0_5": float}`: the mean IoU and the share of boxes with IoU >= `threshold`.

    The key of the second entry follows the threshold (`"iou_at_0_75"` for 0.75).
    """
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) or not 0 < threshold <= 1:
        raise ValueError(f"`threshold` must be a number in (0, 1]. Received: threshold={threshold!r}")
    ious = keras.ops.convert_to_numpy(metrics.box_iou(np.asarray(true_boxes, np.float32),
                                                      np.asarray(predicted_boxes, np.float32)))
    key = "iou_at_" + f"{threshold:g}".replace(".", "_")
    return {"mean_iou": float(np.mean(ious)), key: float(np.mean(ious >= threshold))}


def test_box_regressor(model, test, loss, threshold=0.5):
    """Tests an image-to-box model on batches of `(images, boxes)`.

    Returns:
        `(scores, test_loss, predictions)`: `localization_scores` of the predictions, the mean of `loss` (a name of
        `BOX_LOSSES`) over the test batches, and the predicted boxes, float32 `(N, 4)` in the order of `test`.
    """
    model.compile(loss=box_loss(loss))
    test_loss = model.evaluate(test, verbose=0)
    test_loss = float(test_loss[0] if isinstance(test_loss, list) else test_loss)
    predictions = np.asarray(model.predict(test, verbose=0), np.float32)
    true_boxes = np.concatenate([np.asarray(batch_boxes) for _, batch_boxes in test.as_numpy_iterator()])
    return localization_scores(true_boxes, predictions, threshold=threshold), test_loss, predictions


test_box_regressor.__test__ = False  # a function of the package, not a pytest test

__all__ = ["BOX_FORMAT", "BOX_LOSSES", "box_loss", "localization_scores", "test_box_regressor"]
