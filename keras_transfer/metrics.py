"""Box-regression metrics: the IoU of each predicted box with its true box, averaged over a training run.

This file imports only Keras and the standard library, so it can be copied into another project on its own; the
IoU is Keras's own `keras.utils.bounding_boxes.compute_iou`.
"""

import numbers

import keras
from keras import ops


def _matching_iou(y_true, y_pred, threshold=None):
    """IoU of `y_pred[i]` with `y_true[i]` (not every pair), or `IoU >= threshold` as 0/1, shape `(batch,)`."""
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.cast(ops.convert_to_tensor(y_true), y_pred.dtype)
    # compute_iou's pairwise table of one box against one box; IoU is a ratio of areas, so "xyxy" serves
    # relative boxes too (and needs no image shape)
    table = keras.utils.bounding_boxes.compute_iou(
        ops.reshape(y_true, (-1, 1, 4)), ops.reshape(y_pred, (-1, 1, 4)), "xyxy"
    )
    iou = ops.reshape(table, (-1,))
    if threshold is None:
        return iou
    return ops.cast(iou >= threshold, iou.dtype)


@keras.saving.register_keras_serializable(package="keras_transfer")
class BoxIoU(keras.metrics.MeanMetricWrapper):
    """The mean IoU of predicted and true boxes, or, with a `threshold`, the share of boxes with IoU >= threshold.

    One box per example: `y_true` and `y_pred` are `(batch, 4)` corner boxes (`"rel_xyxy"` or any corner format).
    The IoU of each pair is Keras's `keras.utils.bounding_boxes.compute_iou`.

    Args:
        threshold: float or None. None averages the IoU; a number in `(0, 1]` averages `IoU >= threshold`
            (0.5 is PASCAL VOC's "correct localization").
        name: str. The metric's name (`"iou"` gives the history keys `iou` and `val_iou`).
        dtype: The metric's dtype.

    Example:

    >>> metric = BoxIoU()
    >>> metric.update_state([[0.0, 0.0, 0.5, 0.5]], [[0.0, 0.0, 0.5, 0.25]])
    >>> round(float(metric.result()), 4)
    0.5
    """

    def __init__(self, threshold=None, name="iou", dtype=None):
        if threshold is not None and (
            isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) or not 0 < threshold <= 1
        ):
            raise ValueError(f"`threshold` must be None or a number in (0, 1]. Received: threshold={threshold!r}")
        self.threshold = None if threshold is None else float(threshold)
        super().__init__(fn=_matching_iou, name=name, dtype=dtype, threshold=self.threshold)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "threshold": self.threshold}


__all__ = ["BoxIoU"]
