"""keras_transfer.callbacks: each public class lives in its own file that imports only keras, numpy and the standard library."""
from keras_transfer.callbacks.gradient_reversal_schedule import GradientReversalSchedule  # noqa: F401
from keras_transfer.callbacks.slanted_triangular import SlantedTriangular  # noqa: F401
from keras_transfer.callbacks.chain_thaw import ChainThaw, GradualUnfreezing  # noqa: F401
