"""A parameter-free layer that orders the corners of predicted boxes, so every prediction is a valid box."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_transfer")
class BoxCorners(keras.layers.Layer):
    """Orders the corners of boxes: `[min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)]`.

    Placed after the 4-unit output of a box regressor, it makes every prediction a valid corner box (`xmin <=
    xmax` and `ymin <= ymax`), so IoU, GIoU and drawing code never meet an inverted box. Where the corners are
    already ordered it returns its input unchanged; it has no weights. The gradient reaches the unit that ended up
    as the min (or max) corner.

    Args:
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: tensor `(..., 4)`. Boxes `[x1, y1, x2, y2]` with the corners in any order.

    Example:

    >>> import numpy as np
    >>> layer = BoxCorners()
    >>> keras.ops.convert_to_numpy(layer(np.array([[0.6, 0.1, 0.2, 0.5]]))).astype("float64").round(2).tolist()
    [[0.2, 0.1, 0.6, 0.5]]
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)

    def call(self, inputs):
        x1, y1, x2, y2 = ops.unstack(inputs, 4, axis=-1)
        return ops.stack(
            [ops.minimum(x1, x2), ops.minimum(y1, y2), ops.maximum(x1, x2), ops.maximum(y1, y2)], axis=-1
        )

    def compute_output_shape(self, input_shape):
        if input_shape[-1] is not None and input_shape[-1] != 4:
            raise ValueError(f"BoxCorners takes boxes with a last axis of 4. Received: input_shape={input_shape}")
        return input_shape

    def get_config(self):
        return super().get_config()


__all__ = ["BoxCorners"]
