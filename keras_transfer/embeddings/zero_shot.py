"""Zero-shot classifiers on image features: direct attribute prediction and ESZSL, as scikit-learn estimators.

Both learn from images of the *seen* classes only and can then score any class of the attribute table, seen or not:

- `DirectAttributePrediction` (Lampert et al.): one probabilistic classifier per attribute, trained on the seen
  classes' images labelled with their class's attributes. An image's score for class `c` is
  `sum_m log p(a_m = s_cm | x) - log p(a_m = s_cm)`: how probable the class's signature is given the image, over
  how probable it is a priori (the prior is the attribute's frequency among the seen classes).
- `ESZSL` (Romera-Paredes & Torr): a bilinear compatibility `score(x, c) = x^T V s_c` between image features and
  class attributes, trained to score each image's own class high and the others low with a squared loss and
  Frobenius penalties; the minimiser has a closed form, `V = (X^T X + γI)^-1 X^T Y S (S^T S + λI)^-1` with
  `Y` the images' one-vs-rest labels in {-1, 1} and `S` the seen classes' signatures.

`predict(x, classes=...)` restricts the answer to some classes: the unseen ones for zero-shot learning, all of them
for the generalized setting. `mean_class_accuracy` and `harmonic_mean` are the benchmark's measures (Xian et al.).

Example:

```python
table = fashion_mnist_attributes()
model = ESZSL(table.signatures, gamma=1.0, lam=1.0).fit(train_features, train_labels)  # seen classes only
predicted = model.predict(test_features, classes=unseen)  # one of the unseen classes per image
```

Reference:
    - Lampert, Nickisch & Harmeling, Attribute-Based Classification for Zero-Shot Visual Object Categorization,
      TPAMI 2014.
    - Romera-Paredes & Torr, An Embarrassingly Simple Approach to Zero-Shot Learning, ICML 2015.
    - Xian, Lampert, Schiele & Akata, Zero-Shot Learning — A Comprehensive Evaluation of the Good, the Bad and the
      Ugly, TPAMI 2018.
"""

import numpy as np
from sklearn import base
from sklearn import linear_model
from sklearn import preprocessing


def _check_signatures(signatures):
    signatures = np.asarray(signatures, np.float64)
    if signatures.ndim != 2 or min(signatures.shape) < 1 or not np.all(np.isfinite(signatures)):
        raise ValueError(
            "`signatures` must be a finite 2-D array (classes, attributes). "
            f"Received: signatures with shape {signatures.shape}"
        )
    return signatures


def _check_fit_data(x, y, classes):
    x = np.asarray(x, np.float64)
    y = np.asarray(y)
    if x.ndim != 2 or len(x) != len(y) or len(x) == 0:
        raise ValueError(
            f"`x` must be (images, features) with one label in `y` per image. Received: x with shape {x.shape}, "
            f"y with shape {y.shape}"
        )
    if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= classes:
        raise ValueError(f"`y` must hold class indices in [0, {classes}). Received: y with values {np.unique(y)[:10]}")
    if len(np.unique(y)) < 2:
        raise ValueError(f"`y` must hold at least two seen classes. Received: classes {np.unique(y).tolist()}")
    return x, y.astype(np.int64)


class _ZeroShotClassifier(base.ClassifierMixin, base.BaseEstimator):
    """What both estimators share: `predict` and `score` over a chosen set of classes of the table."""

    def _candidates(self, classes):
        total = len(self.signatures_)
        if classes is None:
            return np.arange(total)
        classes = np.asarray(classes, np.int64).ravel()
        if classes.size == 0 or classes.min() < 0 or classes.max() >= total or len(set(classes.tolist())) != classes.size:
            raise ValueError(f"`classes` must be distinct rows of `signatures` in [0, {total}). Received: classes={classes}")
        return classes

    def predict(self, x, classes=None):
        """The best-scoring class of `classes` (None: every class of the table) for each image."""
        candidates = self._candidates(classes)
        return candidates[np.argmax(self.decision_function(x, classes=candidates), axis=1)]

    def score(self, x, y, classes=None, sample_weight=None):
        """Mean per-class top-1 accuracy among `classes` (the benchmark's measure)."""
        return mean_class_accuracy(y, self.predict(x, classes=classes))


class DirectAttributePrediction(_ZeroShotClassifier):
    """Direct attribute prediction: one logistic regression per attribute, classes scored by their signature.

    Args:
        signatures: array `(classes, attributes)`. Every class's attribute signature (seen and unseen); values
            above `threshold` count as "has the attribute".
        C: float. Inverse regularisation strength of each attribute's logistic regression.
        threshold: float. Binarises `signatures`.
        epsilon: float. Probabilities are clipped to `[epsilon, 1 - epsilon]` before the logarithm.
        max_iter: int. Iterations of each logistic regression.

    Attributes (after `fit`):
        seen_classes_: the classes of the training labels.
        attribute_models_: per attribute, a fitted `LogisticRegression`, or None where every seen class agrees
            on the attribute (it then carries no information: its probability is the prior and cancels out).
        prior_: the frequency of each attribute among the seen classes.
    """

    def __init__(self, signatures, *, C=1.0, threshold=0.5, epsilon=1e-3, max_iter=500):
        self.signatures = signatures
        self.C = C
        self.threshold = threshold
        self.epsilon = epsilon
        self.max_iter = max_iter

    def fit(self, x, y):
        """Trains the attribute classifiers on images `x` of seen classes `y` (rows of `signatures`)."""
        self.signatures_ = _check_signatures(self.signatures) > self.threshold
        if not self.C > 0 or not 0 < self.epsilon < 0.5:
            raise ValueError(f"`C` must be > 0 and `epsilon` in (0, 0.5). Received: C={self.C!r}, epsilon={self.epsilon!r}")
        x, y = _check_fit_data(x, y, len(self.signatures_))
        self.seen_classes_ = np.unique(y)
        self.classes_ = np.arange(len(self.signatures_))
        self.scaler_ = preprocessing.StandardScaler().fit(x)
        x = self.scaler_.transform(x)
        targets = self.signatures_[y]  # (images, attributes): each image inherits its class's attributes
        clip = (self.epsilon, 1 - self.epsilon)
        self.prior_ = np.clip(self.signatures_[self.seen_classes_].mean(axis=0), *clip)
        self.attribute_models_ = []
        for column in range(targets.shape[1]):
            if targets[:, column].all() or not targets[:, column].any():
                self.attribute_models_.append(None)
                continue
            model = linear_model.LogisticRegression(C=self.C, max_iter=self.max_iter)
            self.attribute_models_.append(model.fit(x, targets[:, column]))
        return self

    def predict_attributes(self, x):
        """The probability of each attribute for each image: `(images, attributes)`."""
        x = self.scaler_.transform(np.asarray(x, np.float64))
        columns = [
            np.full(len(x), self.prior_[index]) if model is None else model.predict_proba(x)[:, 1]
            for index, model in enumerate(self.attribute_models_)
        ]
        return np.clip(np.stack(columns, axis=1), self.epsilon, 1 - self.epsilon)

    def decision_function(self, x, classes=None):
        """Log posterior ratio of each class's signature, `(images, len(classes))`."""
        candidates = self._candidates(classes)
        probability = self.predict_attributes(x)
        signatures = self.signatures_[candidates].astype(np.float64)  # (candidates, attributes)
        log_yes = np.log(probability) - np.log(self.prior_)
        log_no = np.log1p(-probability) - np.log1p(-self.prior_)
        return log_yes @ signatures.T + log_no @ (1 - signatures).T


class ESZSL(_ZeroShotClassifier):
    """Embarrassingly simple zero-shot learning: a bilinear compatibility between features and attributes.

    Args:
        signatures: array `(classes, attributes)`. Every class's attribute signature (seen and unseen).
        gamma: float. Penalty on the image side (`γ` of the paper; multiplies `I` in `X^T X + γI`).
        lam: float. Penalty on the attribute side (`λ`; multiplies `I` in `S^T S + λI`).
        normalize: bool. Scale every class's signature to unit length first (as Xian et al.'s released
            attributes are).

    Attributes (after `fit`):
        weights_: array `(features, attributes)`. `V`.
        seen_classes_: the classes of the training labels.
    """

    def __init__(self, signatures, *, gamma=1.0, lam=1.0, normalize=True):
        self.signatures = signatures
        self.gamma = gamma
        self.lam = lam
        self.normalize = normalize

    def fit(self, x, y):
        """Solves for `V` on images `x` of seen classes `y` (rows of `signatures`)."""
        signatures = _check_signatures(self.signatures)
        if self.normalize:
            signatures = signatures / np.maximum(np.linalg.norm(signatures, axis=1, keepdims=True), 1e-12)
        self.signatures_ = signatures
        if not self.gamma > 0 or not self.lam > 0:
            raise ValueError(f"`gamma` and `lam` must be > 0. Received: gamma={self.gamma!r}, lam={self.lam!r}")
        x, y = _check_fit_data(x, y, len(signatures))
        self.seen_classes_ = np.unique(y)
        self.classes_ = np.arange(len(signatures))
        self.scaler_ = preprocessing.StandardScaler().fit(x)
        x = self.scaler_.transform(x)
        seen = signatures[self.seen_classes_]  # (seen, attributes)
        targets = -np.ones((len(x), len(self.seen_classes_)))
        targets[np.arange(len(x)), np.searchsorted(self.seen_classes_, y)] = 1.0
        left = np.linalg.solve(x.T @ x + self.gamma * np.eye(x.shape[1]), x.T @ targets @ seen)
        self.weights_ = np.linalg.solve(seen.T @ seen + self.lam * np.eye(seen.shape[1]), left.T).T
        return self

    def decision_function(self, x, classes=None):
        """Compatibility `x^T V s_c` of each image with each class, `(images, len(classes))`."""
        candidates = self._candidates(classes)
        x = self.scaler_.transform(np.asarray(x, np.float64))
        return x @ self.weights_ @ self.signatures_[candidates].T


def mean_class_accuracy(y_true, y_pred):
    """Top-1 accuracy averaged over the classes present in `y_true` (each class counts the same)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.size == 0:
        raise ValueError(f"`y_true` and `y_pred` must be non-empty and of one shape. Received: {y_true.shape}, {y_pred.shape}")
    return float(np.mean([np.mean(y_pred[y_true == label] == label) for label in np.unique(y_true)]))


def harmonic_mean(seen_accuracy, unseen_accuracy):
    """`2 s u / (s + u)` (0 when both are 0): high only when both the seen and the unseen classes are recognised."""
    total = seen_accuracy + unseen_accuracy
    return 0.0 if total == 0 else float(2 * seen_accuracy * unseen_accuracy / total)
