"""keras_transfer.datasets."""
