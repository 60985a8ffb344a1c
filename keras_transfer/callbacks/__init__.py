"""keras_transfer.callbacks: each file imports only keras, numpy and the standard library (ChainThaw and GradualUnfreezing share unfreezing.py)."""
from keras_transfer.callbacks.gradient_reversal_schedule import GradientReversalSchedule  # noqa: F401
from keras_transfer.callbacks.slanted_triangular import SlantedTriangular  # noqa: F401
from keras_transfer.callbacks.unfreezing import ChainThaw, GradualUnfreezing  # noqa: F401
from keras_transfer.callbacks.lr_finder import LearningRateFinder  # noqa: F401
