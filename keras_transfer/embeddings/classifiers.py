"""Shallow models on top of off-the-shelf features: a linear SVM, a softmax, and retrieval by nearest neighbours.

- `linear_svm()` and `softmax_classifier()`: scikit-learn pipelines that standardise the features with the training
  set's statistics, then fit `LinearSVC` or multinomial `LogisticRegression`.
- `fit_and_score(classifier, ...)`: fits one of them (or any estimator), scores it on the training and test sets
  and says whether it converged.
- `nearest_neighbors` (cosine), `precision_at_k` and `retrieval_queries`: image retrieval in feature space.
"""

import time
import warnings

import numpy as np


def linear_svm(c=1.0, seed=0, max_iter=5000):
    """Standardised features (training statistics), then a linear SVM (`LinearSVC(C=c)`).

    Args:
        c: float. The SVM's regularisation constant (larger: less regularised).
        seed: int. `random_state` of the solver.
        max_iter: int. The solver's iteration limit.

    Returns:
        An unfitted `sklearn.pipeline.Pipeline`.

    Example:

    ```python
    import numpy as np
    svm = linear_svm().fit(np.array([[0.0], [1.0], [2.0], [3.0]]), [0, 0, 1, 1])
    svm.predict([[2.5]])  # array([1])
    ```
    """
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    return make_pipeline(StandardScaler(), LinearSVC(C=c, max_iter=max_iter, random_state=seed))


def softmax_classifier(c=1.0, max_iter=5000):
    """Standardised features, then multinomial logistic regression (`LogisticRegression(C=c)`): the "softmax".

    Args:
        c: float. Inverse regularisation strength.
        max_iter: int. The solver's iteration limit.

    Returns:
        An unfitted `sklearn.pipeline.Pipeline`.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=max_iter))


def fit_and_score(classifier, x_train, y_train, x_test, y_test):
    """Fits `classifier` and scores it.

    Args:
        classifier: a scikit-learn estimator with `fit` and `score`.
        x_train, y_train: the training set.
        x_test, y_test: the test set.

    Returns:
        `{"test_accuracy", "train_accuracy", "converged", "fit_seconds"}`; `converged` is False when the solver
        stopped at its iteration limit (a `ConvergenceWarning`, recorded, not shown).
    """
    from sklearn.exceptions import ConvergenceWarning

    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        classifier.fit(x_train, y_train)
    seconds = time.perf_counter() - start
    return {
        "test_accuracy": float(classifier.score(x_test, y_test)),
        "train_accuracy": float(classifier.score(x_train, y_train)),
        "converged": not any(issubclass(warning.category, ConvergenceWarning) for warning in caught),
        "fit_seconds": round(seconds, 3),
    }


def nearest_neighbors(gallery_features, query_features, k):
    """Indices `(num_queries, k)` of each query's `k` nearest gallery items by cosine distance, nearest first.

    `k` larger than the gallery gives every gallery item.
    """
    from sklearn.neighbors import NearestNeighbors

    k = min(int(k), len(gallery_features))
    index = NearestNeighbors(n_neighbors=k, metric="cosine", algorithm="brute").fit(gallery_features)
    return index.kneighbors(query_features, return_distance=False)


def precision_at_k(neighbor_labels, query_labels, ks):
    """Mean over queries of the share of the first k neighbours that have the query's label, for each k.

    Args:
        neighbor_labels: array `(num_queries, K)`. Labels of each query's neighbours, nearest first.
        query_labels: array `(num_queries,)`.
        ks: sequence of int. Each at most K.

    Returns:
        `{k: precision}`.

    Example:

    ```python
    precision_at_k([[0, 1], [1, 1]], [0, 1], ks=(1, 2))  # {1: 1.0, 2: 0.75}
    ```
    """
    neighbor_labels = np.asarray(neighbor_labels)
    hits = neighbor_labels == np.asarray(query_labels)[:, None]
    too_big = [k for k in ks if k > hits.shape[1]]
    if too_big:
        raise ValueError(f"`ks` must not exceed the {hits.shape[1]} neighbours given. Received: ks={tuple(ks)!r}")
    return {int(k): float(hits[:, :k].mean()) for k in ks}


def retrieval_queries(labels, count):
    """`count` indices into `labels`, cycling through the classes: the first item of class 0, of class 1, ...,
    then the second of each, so a small grid of queries shows every class."""
    labels = np.asarray(labels)
    members = [np.flatnonzero(labels == label) for label in np.unique(labels)]
    chosen, round_ = [], 0
    while len(chosen) < min(count, len(labels)):
        chosen += [int(indices[round_]) for indices in members if round_ < len(indices)]
        round_ += 1
    return chosen[:count]
