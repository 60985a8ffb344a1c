"""keras_transfer.embeddings: a pretrained network's layers as features for a shallow classifier.

- `extract_layer_features(model, x, layers)`: the spatially average-pooled activations of any layers, computed in
  batches and optionally cached on disk (`tap_model`, `default_layers`, `feature_slices` take it apart).
- `FullNetworkEmbedding(model)`: Garcia-Gasulla et al.'s Full-Network Embedding as a scikit-learn transformer
  (pooling of every layer, standardisation with the training set's statistics, discretisation to {-1, 0, 1});
  `discretize` is its last step alone.
"""

from keras_transfer.embeddings.extractor import default_layers
from keras_transfer.embeddings.extractor import extract_layer_features
from keras_transfer.embeddings.extractor import feature_slices
from keras_transfer.embeddings.extractor import tap_model
from keras_transfer.embeddings.full_network import DEFAULT_THRESHOLDS
from keras_transfer.embeddings.full_network import FullNetworkEmbedding
from keras_transfer.embeddings.full_network import discretize

__all__ = [
    "DEFAULT_THRESHOLDS",
    "FullNetworkEmbedding",
    "default_layers",
    "discretize",
    "extract_layer_features",
    "feature_slices",
    "tap_model",
]
