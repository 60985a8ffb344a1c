"""keras_transfer.embeddings: a pretrained network's layers as features for a shallow classifier.

- `extract_layer_features(model, x, layers)`: the spatially average-pooled activations of any layers, computed in
  batches and optionally cached on disk (`tap_model`, `default_layers`, `feature_slices` take it apart).
- `FullNetworkEmbedding(model)`: Garcia-Gasulla et al.'s Full-Network Embedding as a scikit-learn transformer
  (pooling of every layer, standardisation with the training set's statistics, discretisation to {-1, 0, 1});
  `discretize` is its last step alone.
- `linear_svm()`, `softmax_classifier()` and `fit_and_score`: the shallow models on top; `nearest_neighbors`,
  `precision_at_k` and `retrieval_queries`: retrieval in feature space.
- `DirectAttributePrediction`, `ESZSL` (zero-shot learning by attributes, scikit-learn estimators),
  `mean_class_accuracy`, `harmonic_mean`.
- `project_features(source, target, method=...)`: PCA or t-SNE of two domains' features together, to 2-D.
- `tasks`: the off-the-shelf experiments' source network and target task (data source and preprocessing by name).
"""

from keras_transfer.embeddings.classifiers import fit_and_score
from keras_transfer.embeddings.classifiers import linear_svm
from keras_transfer.embeddings.classifiers import nearest_neighbors
from keras_transfer.embeddings.classifiers import precision_at_k
from keras_transfer.embeddings.classifiers import retrieval_queries
from keras_transfer.embeddings.classifiers import softmax_classifier
from keras_transfer.embeddings.extractor import default_layers
from keras_transfer.embeddings.extractor import extract_layer_features
from keras_transfer.embeddings.extractor import feature_slices
from keras_transfer.embeddings.extractor import tap_model
from keras_transfer.embeddings.full_network import DEFAULT_THRESHOLDS
from keras_transfer.embeddings.full_network import FullNetworkEmbedding
from keras_transfer.embeddings.full_network import discretize
from keras_transfer.embeddings.projection import project_features
from keras_transfer.embeddings.zero_shot import ESZSL
from keras_transfer.embeddings.zero_shot import DirectAttributePrediction
from keras_transfer.embeddings.zero_shot import harmonic_mean
from keras_transfer.embeddings.zero_shot import mean_class_accuracy

__all__ = [
    "DEFAULT_THRESHOLDS",
    "DirectAttributePrediction",
    "ESZSL",
    "FullNetworkEmbedding",
    "default_layers",
    "discretize",
    "extract_layer_features",
    "feature_slices",
    "fit_and_score",
    "harmonic_mean",
    "linear_svm",
    "mean_class_accuracy",
    "nearest_neighbors",
    "precision_at_k",
    "project_features",
    "retrieval_queries",
    "softmax_classifier",
    "tap_model",
]
