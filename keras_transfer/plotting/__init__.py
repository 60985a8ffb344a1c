"""keras_transfer.plotting: the figures the notebooks show (matplotlib)."""
