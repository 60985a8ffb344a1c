"""keras_transfer.optimizers: each public class lives in its own file that imports only keras, numpy and the standard library."""
