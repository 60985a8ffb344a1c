"""keras_transfer.layers: each public class lives in its own file that imports only keras, numpy and the standard library."""

from keras_transfer.layers.box_corners import BoxCorners
from keras_transfer.layers.gradient_reversal import GradientReversal

__all__ = ["BoxCorners", "GradientReversal"]
