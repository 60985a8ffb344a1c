"""Box-regression metrics: the IoU of each predicted box with its true box, and its mean over a training run.

`box_iou` is the package's one box IoU: the test scores, the plots and the `BoxIoU` metric all use it. It is Keras's
own `keras.utils.bounding_boxes.compute_iou`, taken one box against its own box rather than every pair. This file
imports only Keras and the standard library, so it can be copied into another project on its own.
"""

import numbers

import keras
from keras import ops


def box_iou(boxes1, boxes2):
    """Intersection over union of matching boxes: `boxes1[..., i, :]` with `boxes2[..., i, :]`, not every pair.

    Args:
        boxes1: tensor or array `(..., 4)`. Corner boxes `[xmin, ymin, xmax, ymax]` (`"xyxy"` or `"rel_xyxy"`;
            IoU is a ratio of areas, so relative and pixel coordinates give the same value).
        boxes2: tensor or array of the same shape. The boxes to compare with, in the same order.

    Returns:
        A tensor `(...)` of IoUs in `[0, 1]` (`keras.ops.convert_to_numpy` gives an array): the diagonal of
        `compute_iou`'s pairwise table, computed one box at a time.

    Example:

    >>> round(float(box_iou([[0.0, 0.0, 0.5, 0.5]], [[0.0, 0.0, 0.5, 0.25]])[0]), 4)
    0.5
    """
    boxes2 = ops.convert_to_tensor(boxes2)
    boxes1 = ops.cast(ops.convert_to_tensor(boxes1), boxes2.dtype)
    shape1, shape2 = tuple(boxes1.shape), tuple(boxes2.shape)
    known = None not in shape1 and None not in shape2
    if not shape1 or shape1[-1] != 4 or (known and shape1 != shape2):
        raise ValueError(
            f"`boxes1` and `boxes2` must have the same shape (..., 4). Received: shapes {shape1} and {shape2}"
        )
    # compute_iou of (N, 1, 4) against (N, 1, 4): one box against its own box. "xyxy" needs no image shape.
    table = keras.utils.bounding_boxes.compute_iou(
        ops.reshape(boxes1, (-1, 1, 4)), ops.reshape(boxes2, (-1, 1, 4)), "xyxy"
    )
    return ops.reshape(table, ops.shape(boxes2)[:-1])


def _box_iou_metric(y_true, y_pred, threshold=None):
    """`box_iou` per box, flattened, or `IoU >= threshold` as 0/1: what `BoxIoU` averages."""
    iou = ops.reshape(box_iou(y_true, y_pred), (-1,))
    if threshold is None:
        return iou
    return ops.cast(iou >= threshold, iou.dtype)


@keras.saving.register_keras_serializable(package="keras_transfer")
class BoxIoU(keras.metrics.MeanMetricWrapper):
    """The mean IoU of predicted and true boxes, or, with a `threshold`, the share of boxes with IoU >= threshold.

    One box per example: `y_true` and `y_pred` are `(batch, 4)` corner boxes (`"rel_xyxy"` or any corner format).
    The IoU of each pair is `box_iou` (Keras's `compute_iou`).

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
        super().__init__(fn=_box_iou_metric, name=name, dtype=dtype, threshold=self.threshold)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "threshold": self.threshold}


__all__ = ["BoxIoU", "box_iou"]
