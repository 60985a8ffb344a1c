"""keras_transfer.embeddings."""
