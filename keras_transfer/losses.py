"""The generalized IoU loss for box regression: the package's one GIoU.

Boxes are corners, `[xmin, ymin, xmax, ymax]`, in pixels (`"xyxy"`) or relative to the image size (`"rel_xyxy"`,
what `keras_transfer.datasets` and the box regressors of `keras_transfer.models.localization` use); `"yxyx"` and
`"rel_yxyx"` work too, as IoU does not change when x and y swap roles. IoU and GIoU are ratios of areas, so they
are the same whether a box is given in pixels or relative to the image.

This file imports only Keras, so it can be copied into another project on its own: the dependency-free copy of
keras-cv's `keras_cv.losses.GIoULoss`. The experiments train with it (and with keras-cv's `CIoULoss` for CIoU,
which has no copy here). The tests check that the two give
the same values and the same gradients on the same boxes, on TensorFlow and JAX. keras-cv pulls in the old
`keras-core` package; Keras itself (3.8 and later) has `keras.utils.bounding_boxes.compute_iou` (pairwise IoU) and
`compute_ciou`, but no IoU-family loss. keras-cv's GIoU compares every pair of boxes of a batch and keeps the
diagonal (batch² work); this one compares matching boxes only. The plain IoU (what a box is judged by) is
`keras_transfer.metrics.box_iou`; the tests check that GIoU equals it where the two boxes' enclosing box is their
union (one box inside the other).
"""

import numbers

import keras
from keras import ops

CORNER_FORMATS = ("xyxy", "rel_xyxy", "yxyx", "rel_yxyx")


def _overlap_terms(boxes1, boxes2, epsilon):
    """Intersection, union and enclosing-box area of matching boxes (last axis 4); empty boxes have area 0."""
    boxes1 = ops.convert_to_tensor(boxes1)
    boxes2 = ops.cast(ops.convert_to_tensor(boxes2), boxes1.dtype)
    x1_min, y1_min, x1_max, y1_max = ops.unstack(boxes1, 4, axis=-1)
    x2_min, y2_min, x2_max, y2_max = ops.unstack(boxes2, 4, axis=-1)
    area1 = ops.maximum(x1_max - x1_min, 0.0) * ops.maximum(y1_max - y1_min, 0.0)
    area2 = ops.maximum(x2_max - x2_min, 0.0) * ops.maximum(y2_max - y2_min, 0.0)
    intersection_width = ops.maximum(ops.minimum(x1_max, x2_max) - ops.maximum(x1_min, x2_min), 0.0)
    intersection_height = ops.maximum(ops.minimum(y1_max, y2_max) - ops.maximum(y1_min, y2_min), 0.0)
    intersection = intersection_width * intersection_height
    union = area1 + area2 - intersection
    enclosing_width = ops.maximum(ops.maximum(x1_max, x2_max) - ops.minimum(x1_min, x2_min), 0.0)
    enclosing_height = ops.maximum(ops.maximum(y1_max, y2_max) - ops.minimum(y1_min, y2_min), 0.0)
    enclosing = enclosing_width * enclosing_height
    return intersection, ops.maximum(union, epsilon), ops.maximum(enclosing, epsilon)


def generalized_box_iou(boxes1, boxes2, epsilon=1e-7):
    """Generalized IoU of matching boxes: `IoU - (C - U) / C`, C the smallest box enclosing both, U their union.

    GIoU equals IoU when one box holds the other's enclosing box, and falls towards -1 as disjoint boxes move
    apart, so it still has a gradient where IoU is 0.

    Args:
        boxes1: tensor `(..., 4)`. Corner boxes `[xmin, ymin, xmax, ymax]`; a box with `xmax < xmin` or
            `ymax < ymin` counts as empty.
        boxes2: tensor `(..., 4)`, the same shape.
        epsilon: float. Smallest union and enclosing area.

    Returns:
        A tensor `(...)` of values in `[-1, 1]`.

    Reference:
        - [Rezatofighi et al., 2019](https://arxiv.org/abs/1902.09630): Generalized intersection over union.
    """
    intersection, union, enclosing = _overlap_terms(boxes1, boxes2, epsilon)
    return intersection / union - (enclosing - union) / enclosing


@keras.saving.register_keras_serializable(package="keras_transfer")
class GIoULoss(keras.losses.Loss):
    """Generalized IoU loss, `1 - GIoU(y_true, y_pred)` per box: a box-regression loss that optimises the overlap.

    A regression loss such as the mean squared error treats the four coordinates as independent numbers: the same
    error costs the same whether the box is large or small, and a lower loss need not mean a higher IoU. The IoU
    itself is what localization is judged by, but it is flat (zero gradient) whenever the predicted box misses the
    true one. GIoU subtracts the share of the smallest enclosing box that the two boxes leave empty, which pulls a
    missing box towards the target. The loss lies in `[0, 2]`: 0 for a perfect box, 1 for touching or
    distant-but-near boxes with no overlap, towards 2 for tiny boxes far apart.

    Args:
        bounding_box_format: str. One of `"xyxy"`, `"rel_xyxy"` (the default), `"yxyx"`, `"rel_yxyx"`: corner
            boxes (convert others with `keras.utils.bounding_boxes.convert_format`). A predicted box whose max
            corner lies below its min corner counts as empty.
        epsilon: float. Smallest union and enclosing area, `> 0`.
        reduction: str. Keras's loss reduction, default `"sum_over_batch_size"` (the mean over boxes).
        name: str. The loss's name.
        dtype: The dtype of the loss's computations.

    Call arguments:
        y_true: tensor `(batch, 4)` or `(batch, num_boxes, 4)`. The true boxes.
        y_pred: tensor of the same shape. The predicted boxes.

    Example:

    >>> loss = GIoULoss()
    >>> y_true = [[0.1, 0.1, 0.5, 0.5]]
    >>> y_pred = [[0.3, 0.3, 0.7, 0.7]]
    >>> float(loss(y_true, y_pred))  # 1 - (0.04 / 0.28 - (0.36 - 0.28) / 0.36)
    1.0793650...

    Reference:
        - [Rezatofighi et al., 2019](https://arxiv.org/abs/1902.09630): Generalized intersection over union: a
          metric and a loss for bounding box regression.
    """

    def __init__(
        self,
        bounding_box_format="rel_xyxy",
        epsilon=1e-7,
        reduction="sum_over_batch_size",
        name="giou_loss",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if bounding_box_format not in CORNER_FORMATS:
            raise ValueError(
                f"`bounding_box_format` must be one of the corner formats {CORNER_FORMATS} (convert other boxes with "
                f"keras.utils.bounding_boxes.convert_format). Received: bounding_box_format={bounding_box_format!r}"
            )
        if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real) or not 0 < epsilon < 1:
            raise ValueError(f"`epsilon` must be a number in (0, 1). Received: epsilon={epsilon!r}")
        self.bounding_box_format = bounding_box_format
        self.epsilon = float(epsilon)

    def call(self, y_true, y_pred):
        y_pred = ops.convert_to_tensor(y_pred)
        y_true = ops.cast(y_true, y_pred.dtype)
        if y_pred.shape[-1] is not None and y_pred.shape[-1] != 4:
            raise ValueError(f"Boxes must have a last axis of 4 corners. Received: y_pred with shape {y_pred.shape}")
        return 1.0 - generalized_box_iou(y_true, y_pred, self.epsilon)

    def get_config(self):
        config = super().get_config()
        config.update({"bounding_box_format": self.bounding_box_format, "epsilon": self.epsilon})
        return config


__all__ = ["CORNER_FORMATS", "GIoULoss", "generalized_box_iou"]
