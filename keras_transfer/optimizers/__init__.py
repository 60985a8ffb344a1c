"""keras_transfer.optimizers: each public class lives in its own file that imports only keras, numpy and the standard library."""

from keras_transfer.optimizers.discriminative import Discriminative
from keras_transfer.optimizers.discriminative import geometric_multipliers

__all__ = ["Discriminative", "geometric_multipliers"]
