"""keras_transfer.schedules: each public class lives in its own file that imports only keras, numpy and the standard library."""

from keras_transfer.schedules.inverse_progress_decay import InverseProgressDecay
from keras_transfer.schedules.slanted_triangular import SlantedTriangular

__all__ = ["InverseProgressDecay", "SlantedTriangular"]
