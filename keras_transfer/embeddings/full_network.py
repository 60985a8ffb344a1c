"""The Full-Network Embedding (Garcia-Gasulla et al., 2017): every layer of a pretrained CNN as one feature vector.

One layer's features (say `fc7`, the last hidden layer) are the usual off-the-shelf representation. The
Full-Network Embedding uses them all, in three steps:

1. Spatial average pooling of every convolutional layer's output (one value per channel), plus the fully connected
   layers except the output layer, concatenated.
2. Standardisation of each feature with the mean and standard deviation of the *training set*, which puts features
   of layers with very different ranges on one scale and says whether a feature is unusually high or low for an
   image in the context of the dataset.
3. Discretisation to {-1, 0, 1}: `> 0.15 -> 1`, `< -0.25 -> -1`, else 0 (the paper's thresholds, found to separate
   the values of features that characterise a class from those that behave at random). It removes noise and
   makes the embedding sparse.

A linear SVM on top then does the classification.
"""

import numbers

import keras
import numpy as np
from sklearn.base import BaseEstimator
from sklearn.base import TransformerMixin
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from keras_transfer.embeddings.extractor import check_layers
from keras_transfer.embeddings.extractor import extract_layer_features

DEFAULT_THRESHOLDS = (-0.25, 0.15)


def _check_thresholds(thresholds):
    if (
        not isinstance(thresholds, (tuple, list))
        or len(thresholds) != 2
        or not all(isinstance(t, numbers.Real) and not isinstance(t, bool) and np.isfinite(t) for t in thresholds)
        or not thresholds[0] < thresholds[1]
    ):
        raise ValueError(
            "`thresholds` must be a pair (low, high) of finite numbers with low < high, e.g. (-0.25, 0.15). "
            f"Received: thresholds={thresholds!r}"
        )
    return float(thresholds[0]), float(thresholds[1])


def discretize(values, thresholds=DEFAULT_THRESHOLDS):
    """Maps values to {-1, 0, 1}: `> high -> 1`, `< low -> -1`, anything in `[low, high]` -> 0.

    Args:
        values: array. Standardised features.
        thresholds: tuple of two floats. `(low, high)`, `low < high`; the Full-Network Embedding uses
            `(-0.25, 0.15)`.

    Returns:
        A float32 array of the shape of `values` holding only -1, 0 and 1.

    Example:

    ```python
    discretize(np.array([-0.3, -0.25, 0.0, 0.15, 0.2]))  # [-1, 0, 0, 0, 1]
    ```
    """
    low, high = _check_thresholds(thresholds)
    values = np.asarray(values)
    return np.where(values > high, 1.0, np.where(values < low, -1.0, 0.0)).astype("float32")


class FullNetworkEmbedding(TransformerMixin, BaseEstimator):
    """The Full-Network Embedding of images by a pretrained CNN, as a scikit-learn transformer.

    `fit` computes the spatially average-pooled features of `layers` for the training images and keeps their mean
    and standard deviation; `transform` computes the same features for any images, standardises them with the
    training statistics (never those of the data being transformed) and discretises them to {-1, 0, 1}. Put it in
    front of a `LinearSVC` in a `Pipeline`. Turning `standardize` or `discretize` off gives the ablations of the
    paper's steps (pooling only; pooling and standardisation).

    Args:
        model: keras.Model. The pretrained network, taking the images exactly as they are passed to `fit` and
            `transform` (preprocessed), e.g. `keras.applications.VGG19()` or
            `keras_transfer.models.pretrained_source_network("quick")`.
        layers: list of str or None. The layers to embed; None (the paper's choice) takes every convolutional layer
            and every dense layer except the output layer (`keras_transfer.embeddings.default_layers`).
        thresholds: tuple of two floats. `(low, high)` of the discretisation: features `< low` become -1,
            features `> high` become 1, the rest 0. Default `(-0.25, 0.15)`, the paper's.
        standardize: bool. Step 2, standardisation with the training set's mean and standard deviation (a feature
            that is constant on the training set is only centred).
        discretize: bool. Step 3, the discretisation.
        batch_size: int. Images per forward pass of `model`.
        cache: bool. Keep the pooled features on disk, keyed by the model's weights, the layers and the images
            (`keras_transfer.embeddings.extract_layer_features`), so refitting on the same images skips the CNN.
        verbose: int. 0 silent, 1 a progress bar per feature extraction.

    Attributes (after `fit`):
        layers_: list of str. The layers embedded.
        feature_slices_: dict. `{layer: slice}`, where each layer's features sit in the embedding.
        n_features_out_: int. The embedding's width.
        scaler_: `sklearn.preprocessing.StandardScaler` or None. The training set's mean (`mean_`) and standard
            deviation (`scale_`).

    Example:

    ```python
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    model = keras.applications.VGG19(weights="imagenet")
    classifier = make_pipeline(FullNetworkEmbedding(model), LinearSVC())
    classifier.fit(vgg19.preprocess_input(x_train), y_train)
    classifier.score(vgg19.preprocess_input(x_test), y_test)
    ```

    Reference:
        - [Garcia-Gasulla et al., 2017](https://arxiv.org/abs/1705.07706): An out-of-the-box full-network
          embedding for convolutional neural networks.
    """

    def __init__(
        self,
        model,
        layers=None,
        thresholds=DEFAULT_THRESHOLDS,
        standardize=True,
        discretize=True,
        batch_size=64,
        cache=False,
        verbose=0,
    ):
        # scikit-learn's `clone` and `get_params` need every argument stored as given; `_validate` checks them here
        # and again in `fit` (after a `set_params`).
        self.model = model
        self.layers = layers
        self.thresholds = thresholds
        self.standardize = standardize
        self.discretize = discretize
        self.batch_size = batch_size
        self.cache = cache
        self.verbose = verbose
        self._validate()

    def _validate(self):
        check_layers(self.model, self.layers)
        _check_thresholds(self.thresholds)
        for name in ("standardize", "discretize", "cache"):
            value = getattr(self, name)
            if not isinstance(value, (bool, np.bool_)):
                raise ValueError(f"`{name}` must be True or False. Received: {name}={value!r}")
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, numbers.Integral) or self.batch_size < 1:
            raise ValueError(f"`batch_size` must be a positive integer. Received: batch_size={self.batch_size!r}")

    def pooled_features(self, X):
        """Step 1 alone: the concatenated, spatially average-pooled features of `X`, a float32 `(N, width)` array."""
        return self._pooled(X)[0]

    def _pooled(self, X):
        features = extract_layer_features(
            self.model,
            X,
            self.layers,
            batch_size=int(self.batch_size),
            cache=bool(self.cache),
            verbose=self.verbose,
        )
        return np.concatenate(list(features.values()), axis=1), {
            name: value.shape[1] for name, value in features.items()
        }

    def _fit_features(self, features, widths):
        self.layers_ = list(widths)
        self.feature_slices_, start = {}, 0
        for name, width in widths.items():
            self.feature_slices_[name] = slice(start, start + width)
            start += width
        self.n_features_out_ = start
        self.scaler_ = StandardScaler().fit(features) if self.standardize else None
        return self

    def _embed(self, features):
        if self.scaler_ is not None:
            features = self.scaler_.transform(features)
        if self.discretize:
            return discretize(features, self.thresholds)
        return np.asarray(features, dtype="float32")

    def fit(self, X, y=None):
        """Computes the training images' pooled features and their mean and standard deviation.

        Args:
            X: array. Training images as `model` takes them, `(N, height, width, channels)`.
            y: ignored (the embedding is unsupervised).

        Returns:
            self.
        """
        self._validate()
        return self._fit_features(*self._pooled(X))

    def transform(self, X):
        """The embedding of `X`: pooled features, standardised with the *training* statistics, discretised.

        Args:
            X: array. Images as `model` takes them.

        Returns:
            A float32 array `(N, n_features_out_)` (values in {-1, 0, 1} when `discretize`).
        """
        check_is_fitted(self, "n_features_out_")
        features, widths = self._pooled(X)
        if list(widths) != self.layers_ or features.shape[1] != self.n_features_out_:
            raise ValueError(
                f"The embedding was fitted on layers {self.layers_} ({self.n_features_out_} features) but `model` "
                f"and `layers` now give {list(widths)} ({features.shape[1]} features); call fit again."
            )
        return self._embed(features)

    def fit_transform(self, X, y=None, **fit_params):
        """`fit(X).transform(X)` with a single pass of the CNN over `X`."""
        self._validate()
        features, widths = self._pooled(X)
        return self._fit_features(features, widths)._embed(features)

    def get_feature_names_out(self, input_features=None):
        """Names of the embedding's features: `"<layer>_<channel>"`, e.g. `"block1_conv1_0"`."""
        check_is_fitted(self, "n_features_out_")
        return np.asarray(
            [f"{name}_{index}" for name, part in self.feature_slices_.items() for index in range(part.stop - part.start)],
            dtype=object,
        )

    def __sklearn_is_fitted__(self):
        return hasattr(self, "n_features_out_")

    def __repr__(self, N_CHAR_MAX=700):
        model = self.model.name if isinstance(self.model, keras.Model) else repr(self.model)
        options = ", ".join(
            f"{name}={getattr(self, name)!r}"
            for name in ("layers", "thresholds", "standardize", "discretize")
        )
        return f"FullNetworkEmbedding(model=<{model}>, {options})"
