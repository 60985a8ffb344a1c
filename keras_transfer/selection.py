"""Transferability scores: rank candidate layers or source networks from one forward pass over the target data.

Each score is a function of NumPy arrays (or backend tensors) and integer target labels; a higher score predicts a
better transfer:

- `logme(features, labels)`: LogME (You et al., 2021), the log marginal likelihood per sample of a Bayesian linear
  model from the features to each one-hot label column, maximised over the prior's and the noise's precisions by
  MacKay's fixed-point iteration on the singular values of the features, averaged over the classes.
- `leep(source_predictions, labels)`: LEEP (Nguyen et al., 2020), the mean log-likelihood of the "expected
  empirical predictor" built from the source classifier's predicted distribution over its own labels.
- `nce(source_labels, labels)`: NCE (Tran et al., 2019), the negative conditional entropy of the target labels
  given the source classifier's (hard) labels.
- `hscore(features, labels)`: H-score (Bao et al., 2019), `tr(cov(f)^-1 cov(E[f | y]))`.
- `rank_correlation(scores, accuracies)`: Kendall's tau-b between the scores of several candidates and the
  accuracies measured after training them: how well a score ranked them.
- `recommend(labels_per_class, similar)`: the lectures' fine-tuning strategy table (similar or different source
  data x small or large target set) as a function: which way to transfer, and why.

The scores are computed in float64 NumPy after `keras.ops.convert_to_numpy`: they are statistics of a cached
array, not part of a model, and float64 gives the same value on every backend (JAX computes in float32 unless x64
is enabled, and LogME's log-determinants lose digits there).

This file imports only keras, numpy and the standard library: it can be copied alone into a project.

Example:

```python
import numpy as np

rng = np.random.default_rng(0)
labels = np.repeat(np.arange(3), 20)
informative = np.eye(3)[labels] + 0.3 * rng.normal(size=(60, 3))
noise = rng.normal(size=(60, 3))
print(logme(informative, labels) > logme(noise, labels), hscore(informative, labels) > hscore(noise, labels))
# True True
```

References:
    - [You et al., 2021](https://arxiv.org/abs/2102.11005) (LogME)
    - [Nguyen et al., 2020](https://arxiv.org/abs/2002.12462) (LEEP)
    - [Tran et al., 2019](https://arxiv.org/abs/1908.08142) (NCE)
    - [Bao et al., 2019](https://ieeexplore.ieee.org/document/8803726) (H-score)
"""

import math
import numbers
import warnings

import keras
import numpy as np

__all__ = ["STRATEGY", "hscore", "leep", "logme", "logme_evidence", "nce", "rank_correlation", "recommend"]

# The lectures' fine-tuning strategy table: (source data, target set) -> the ways to transfer it recommends, first the
# one to try first ("frozen": the pretrained base as a feature extractor, a new head trained; "fine_tuned" and
# "chain_thaw": the pretrained layers trained too, all at once or one at a time; "scratch": no transfer).
STRATEGY = {
    ("similar", "small"): {"models": ("frozen",), "rule": "keep the pretrained features, train a new head"},
    ("similar", "large"): {"models": ("fine_tuned", "chain_thaw"), "rule": "fine-tune the pretrained layers"},
    ("different", "small"): {"models": ("frozen",), "rule": "the hard case: a new head on (earlier) frozen features"},
    ("different", "large"): {"models": ("fine_tuned", "chain_thaw", "scratch"),
                             "rule": "fine-tune everything, or train from scratch"},
}


def recommend(labels_per_class, similar, *, large_from=20):
    """The lectures' strategy table as a function: how to transfer a source network to a target set.

    The table has two inputs. Whether the source data is similar to the target's is a judgement the scores of this
    module can make: of several candidate sources, the one a score ranks first is the most similar to the target
    as far as its features can tell (pass `similar=score_of_this_source >= best_score_of_the_others`). Whether the
    target set is small or large, the lectures leave as "small" and "large": `large_from` labels per class is the
    line drawn here, an assumption to check on your own data (notebook 04 checks it on its strategy table).

    Args:
        labels_per_class: int. Labelled target images per class.
        similar: bool. Whether the source data is similar to the target's.
        large_from: int. The labels per class from which a target set counts as large.

    Returns:
        A dict: `data` ("similar" or "different"), `target` ("small" or "large"), `models` (the ways to transfer
        the table recommends, the first to try first) and `rule` (the table's words).

    Example:

    ```python
    print(recommend(5, similar=True)["models"], recommend(40, similar=False)["models"])
    # ('frozen',) ('fine_tuned', 'chain_thaw', 'scratch')
    ```
    """
    _check_integer(labels_per_class, "labels_per_class", 1)
    _check_integer(large_from, "large_from", 1)
    if not isinstance(similar, (bool, np.bool_)):
        raise ValueError(f"`similar` must be True or False. Received: similar={similar!r}")
    key = ("similar" if similar else "different", "large" if labels_per_class >= large_from else "small")
    return {"data": key[0], "target": key[1], **STRATEGY[key]}


# -- LogME -----------------------------------------------------------------------------------------------------------


def logme(features, labels, *, tolerance=1e-7, max_iterations=1000):
    """LogME: the maximised log evidence per sample of a linear model from `features` to the one-hot labels.

    For each class `k` present in `labels`, `logme_evidence(features, labels == k)` maximises over `alpha` (the
    precision of the weights' Gaussian prior) and `beta` (the precision of the noise) the log marginal likelihood
    of the 0/1 column, divided by the number of samples; LogME is the mean over the classes. It is invariant to
    multiplying all features by one positive number (the maximising `alpha` scales with it), not to scaling one
    feature alone (the prior is the same for every weight) nor to shifting the features (the model has no bias).

    Args:
        features: Array of shape `(samples, dimensions)`. One feature vector per target sample.
        labels: Array of shape `(samples,)`. Integer target labels; at least two classes.
        tolerance: Float > 0. The iteration stops when `alpha` and `beta` change by less than this fraction (or
            the evidence by less than `tolerance / 1000`; see `logme_evidence`).
        max_iterations: Int >= 1. At most this many fixed-point steps per class (a warning says if one class did
            not converge).

    Returns:
        Float: the mean over classes of the maximised log evidence per sample (higher is better).

    Example:

    ```python
    import numpy as np

    labels = np.array([0, 0, 0, 1, 1, 1])
    features = np.array([[1.0, 0.1], [0.9, -0.1], [1.1, 0.0], [0.0, 1.0], [0.1, 0.9], [-0.1, 1.1]])
    print(round(logme(features, labels), 4) == round(logme(100 * features, labels), 4))  # True
    ```

    Reference:
        - [You et al., 2021](https://arxiv.org/abs/2102.11005)
    """
    features = _features(features, "features")
    labels = _labels(labels, "labels", len(features))
    _check_real(tolerance, "tolerance", positive=True)
    _check_integer(max_iterations, "max_iterations", minimum=1)
    decomposition = _svd(features)
    values = []
    for label in np.unique(labels):
        evidence, _, _, _ = _logme_fixed_point(decomposition, (labels == label).astype(np.float64), tolerance,
                                               max_iterations, f"class {label}")
        values.append(evidence)
    return float(np.mean(values))


def logme_evidence(features, targets, *, tolerance=1e-7, max_iterations=1000):
    """The maximised log evidence per sample of a Bayesian linear regression from `features` to `targets`.

    The model is `targets = features @ w + noise` with `w ~ N(0, I / alpha)` and `noise ~ N(0, I / beta)`. Its log
    evidence is `log N(targets; 0, I / beta + features @ features.T / alpha)`. Starting from `alpha = beta = 1`,
    MacKay's fixed-point steps, on the singular values `s` of the features (`sigma = s**2`, `z = U.T @ targets`),

    ```
    gamma = sum(beta * sigma / (alpha + beta * sigma))
    m = beta * (alpha I + beta F.T F)^-1 F.T targets        # the posterior mean of w
    alpha = gamma / (m.T m)
    beta = (samples - gamma) / |F m - targets|^2
    ```

    repeat until both change by less than `tolerance` (relative); at that point the gradient of the evidence with
    respect to `alpha` and `beta` is zero. When the features explain nothing of the targets the evidence rises
    towards `alpha = infinity` (the weights pinned at 0): `alpha` then stops at `beta * max(sigma) / tolerance`,
    where the evidence is within about `dimensions * tolerance / samples` of its limit, and `beta` converges. A
    maximum at such a boundary (`alpha` or, for targets the features fit exactly, `beta` growing without end) is
    approached ever more slowly: the iteration also stops when a step changes the evidence per sample by less than
    `tolerance / 1000` (relative to it, when it exceeds 1).

    Args:
        features: Array of shape `(samples, dimensions)`.
        targets: Array of shape `(samples,)`. Real-valued targets (LogME uses one class's 0/1 column).
        tolerance: Float > 0. The relative change of `alpha` and `beta` below which the iteration stops.
        max_iterations: Int >= 1. The most fixed-point steps.

    Returns:
        A dict: `evidence` (the log evidence divided by the number of samples), `alpha`, `beta`, `iterations` and
        `converged` (bool).
    """
    features = _features(features, "features")
    targets = _finite(targets, "targets")
    if targets.shape != (len(features),):
        raise ValueError(
            f"Invalid value for argument `targets`: expected a 1-D array with one value per row of `features` "
            f"({len(features)}). Received: targets with shape {targets.shape}"
        )
    _check_real(tolerance, "tolerance", positive=True)
    _check_integer(max_iterations, "max_iterations", minimum=1)
    evidence, alpha, beta, iterations = _logme_fixed_point(_svd(features), targets, tolerance, max_iterations, None)
    return {"evidence": evidence, "alpha": alpha, "beta": beta, "iterations": iterations,
            "converged": iterations < max_iterations}


def _svd(features):
    samples, dimensions = features.shape
    left, singular, _ = np.linalg.svd(features, full_matrices=False)
    return left, singular**2, samples, dimensions


def _logme_fixed_point(decomposition, targets, tolerance, max_iterations, what):
    left, sigma, samples, dimensions = decomposition
    projected = left.T @ targets  # z: the targets in the basis of the features' left singular vectors
    projected_squared = projected**2
    outside = max(float(targets @ targets - projected_squared.sum()), 0.0)  # |targets|^2 outside span(features)
    tiny = np.finfo(np.float64).tiny

    def evidence_of(alpha, beta, mean_squared, residual):
        log_determinant = np.log(alpha + beta * sigma).sum() + (dimensions - len(sigma)) * math.log(alpha)
        return float(samples * math.log(beta) + dimensions * math.log(alpha) - samples * math.log(2 * math.pi)
                     - beta * residual - alpha * mean_squared - log_determinant) / (2 * samples)

    alpha, beta, evidence = 1.0, 1.0, -math.inf
    for iteration in range(1, max_iterations + 1):
        gamma, mean_squared, residual = _logme_terms(alpha, beta, sigma, projected_squared, outside)
        previous, evidence = evidence, evidence_of(alpha, beta, mean_squared, residual)
        new_beta = (samples - gamma) / max(residual, tiny)
        # When the features explain nothing of the targets the evidence rises towards alpha = infinity (every weight
        # pinned at 0): alpha stops where the prior outweighs the data in every direction by 1 / tolerance.
        ceiling = new_beta * max(float(sigma.max()), tiny) / tolerance
        new_alpha = min(gamma / max(mean_squared, tiny), ceiling)
        converged = abs(new_beta - beta) <= tolerance * new_beta and (
            abs(new_alpha - alpha) <= tolerance * new_alpha or new_alpha == ceiling)
        # A maximum at the boundary (alpha or beta -> infinity) is approached ever more slowly: stop when the
        # evidence no longer moves.
        converged = converged or abs(evidence - previous) <= tolerance * 1e-3 * max(1.0, abs(evidence))
        alpha, beta = new_alpha, new_beta
        if converged:
            break
    else:
        iteration = max_iterations
        if what is not None:
            warnings.warn(
                f"LogME's fixed-point iteration did not converge for {what} in max_iterations={max_iterations} "
                f"steps (alpha={alpha:.3g}, beta={beta:.3g}); the score uses these precisions. Pass a larger "
                "max_iterations or tolerance.",
                RuntimeWarning,
                stacklevel=3,
            )
    _, mean_squared, residual = _logme_terms(alpha, beta, sigma, projected_squared, outside)
    return evidence_of(alpha, beta, mean_squared, residual), float(alpha), float(beta), iteration


def _logme_terms(alpha, beta, sigma, projected_squared, outside):
    """gamma, m.T m and |F m - targets|^2 for the current precisions, in the singular basis."""
    denominator = alpha + beta * sigma
    gamma = float((beta * sigma / denominator).sum())
    mean_squared = float((beta**2 * sigma * projected_squared / denominator**2).sum())
    residual = float(((alpha / denominator) ** 2 * projected_squared).sum()) + outside
    return gamma, mean_squared, residual


# -- LEEP and NCE: from the source classifier's outputs ---------------------------------------------------------------


def leep(source_predictions, labels):
    """LEEP: the mean log-likelihood of the expected empirical predictor built from the source's predictions.

    With `theta[i]` the source classifier's predicted distribution over its `Z` labels for target sample `i`:

    ```
    P(y, z) = mean_i theta[i, z] * [labels[i] == y]       # the empirical joint
    P(y | z) = P(y, z) / sum_y P(y, z)
    LEEP = mean_i log(sum_z P(labels[i] | z) * theta[i, z])
    ```

    It is at most 0; closer to 0 predicts a better transfer.

    Args:
        source_predictions: Array of shape `(samples, source_classes)`. Each row a probability distribution (the
            source network's softmax output on the target sample).
        labels: Array of shape `(samples,)`. Integer target labels; at least two classes.

    Returns:
        Float: LEEP.

    Reference:
        - [Nguyen et al., 2020](https://arxiv.org/abs/2002.12462)
    """
    predictions = _probabilities(source_predictions, "source_predictions")
    labels = _labels(labels, "labels", len(predictions))
    classes, index = np.unique(labels, return_inverse=True)
    joint = np.zeros((len(classes), predictions.shape[1]))
    np.add.at(joint, index, predictions)
    joint /= len(labels)
    marginal = joint.sum(axis=0)
    conditional = np.divide(joint, marginal, out=np.zeros_like(joint), where=marginal > 0)
    likelihood = (predictions * conditional[index]).sum(axis=1)
    return float(np.mean(np.log(likelihood)))


def nce(source_labels, labels):
    """NCE: the negative conditional entropy `-H(Y | Z)` of the target labels given the source's labels.

    `Z` is the label the source classifier gives each target sample (the argmax of its predictions, when a 2-D
    array of predictions is given). With the empirical joint `P(y, z)`,
    `NCE = sum_{y, z} P(y, z) log P(y | z)`. It is at most 0 (0 when the source label determines the target label).

    Args:
        source_labels: Array of shape `(samples,)` of integer source labels, or `(samples, source_classes)` of the
            source's predictions (their argmax is taken).
        labels: Array of shape `(samples,)`. Integer target labels; at least two classes.

    Returns:
        Float: NCE.

    Reference:
        - [Tran et al., 2019](https://arxiv.org/abs/1908.08142)
    """
    source = _finite(source_labels, "source_labels")
    if source.ndim == 2:
        source = np.argmax(source, axis=1)
    source = _labels(source, "source_labels", None, minimum_classes=1)
    labels = _labels(labels, "labels", len(source))
    _, source_index = np.unique(source, return_inverse=True)
    _, target_index = np.unique(labels, return_inverse=True)
    joint = np.zeros((target_index.max() + 1, source_index.max() + 1))
    np.add.at(joint, (target_index, source_index), 1.0)
    joint /= len(labels)
    marginal = joint.sum(axis=0, keepdims=True)
    present = joint > 0
    return float((joint[present] * np.log(joint[present] / np.broadcast_to(marginal, joint.shape)[present])).sum())


# -- H-score ---------------------------------------------------------------------------------------------------------


def hscore(features, labels, *, rcond=1e-10):
    """H-score: `tr(cov(f)^-1 cov(E[f | y]))`, how much of the features' variance lies between the classes.

    `cov(f)` is the covariance of the features over all samples; `cov(E[f | y])` the covariance of each sample's
    class mean. The inverse is a pseudo-inverse (singular values below `rcond` times the largest are dropped), so
    constant or collinear features do not make it infinite. It lies between 0 and `min(dimensions, classes - 1)`.
    It is invariant to any invertible linear map of the features.

    Args:
        features: Array of shape `(samples, dimensions)`.
        labels: Array of shape `(samples,)`. Integer target labels; at least two classes.
        rcond: Float in [0, 1). The relative cut-off of the pseudo-inverse.

    Returns:
        Float: the H-score (higher is better).

    Reference:
        - [Bao et al., 2019](https://ieeexplore.ieee.org/document/8803726)
    """
    features = _features(features, "features")
    labels = _labels(labels, "labels", len(features))
    _check_real(rcond, "rcond", positive=False)
    if not rcond < 1:
        raise ValueError(f"Invalid value for argument `rcond`: expected a number in [0, 1). Received: rcond={rcond!r}")
    centered = features - features.mean(axis=0)
    _, index = np.unique(labels, return_inverse=True)
    class_sums = np.zeros((index.max() + 1, features.shape[1]))
    np.add.at(class_sums, index, centered)
    class_means = class_sums / np.bincount(index)[:, None]
    between = class_means[index]
    covariance = centered.T @ centered / len(features)
    between_covariance = between.T @ between / len(features)
    inverse = np.linalg.pinv(covariance, rcond=rcond, hermitian=True)
    return float(np.trace(inverse @ between_covariance))


# -- How well a score ranked the candidates --------------------------------------------------------------------------


def rank_correlation(scores, accuracies):
    """Kendall's tau-b between candidates' scores and their measured accuracies (1: the same order).

    tau-b counts concordant minus discordant pairs, corrected for ties:
    `(concordant - discordant) / sqrt((pairs - ties_in_scores) * (pairs - ties_in_accuracies))`.
    It is NaN when either list is constant (no order to compare).

    Args:
        scores: Sequence of floats. One score per candidate (a layer, a source network).
        accuracies: Sequence of floats. The measured accuracy of each candidate, in the same order.

    Returns:
        Float in [-1, 1], or NaN.
    """
    scores = _finite(scores, "scores")
    accuracies = _finite(accuracies, "accuracies")
    if scores.ndim != 1 or accuracies.shape != scores.shape or len(scores) < 2:
        raise ValueError(
            "Invalid value for arguments `scores` and `accuracies`: expected two 1-D sequences of the same length, "
            f"at least 2. Received: scores with shape {scores.shape}, accuracies with shape {accuracies.shape}"
        )
    upper = np.triu_indices(len(scores), k=1)
    score_signs = np.sign(scores[:, None] - scores[None, :])[upper]
    accuracy_signs = np.sign(accuracies[:, None] - accuracies[None, :])[upper]
    untied_scores = np.count_nonzero(score_signs)
    untied_accuracies = np.count_nonzero(accuracy_signs)
    if untied_scores == 0 or untied_accuracies == 0:
        return float("nan")
    return float((score_signs * accuracy_signs).sum() / math.sqrt(untied_scores * untied_accuracies))


# -- Validation ------------------------------------------------------------------------------------------------------


def _finite(values, name):
    try:
        array = np.asarray(keras.ops.convert_to_numpy(values) if keras.ops.is_tensor(values) else values)
        array = array.astype(np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"Invalid value for argument `{name}`: expected an array of numbers. Received: {error}") from None
    if not np.all(np.isfinite(array)):
        raise ValueError(
            f"Invalid value for argument `{name}`: expected finite numbers. Received: "
            f"{int(np.count_nonzero(~np.isfinite(array)))} NaN or infinite values"
        )
    return array


def _features(values, name):
    array = _finite(values, name)
    if array.ndim != 2 or array.shape[0] < 2 or array.shape[1] < 1:
        raise ValueError(
            f"Invalid value for argument `{name}`: expected a 2-D array (samples, dimensions) with at least 2 samples "
            f"(flatten or pool a feature map first). Received: {name} with shape {array.shape}"
        )
    return array


def _probabilities(values, name):
    array = _features(values, name)
    if array.min() < 0 or not np.allclose(array.sum(axis=1), 1.0, atol=1e-3):
        raise ValueError(
            f"Invalid value for argument `{name}`: expected one probability distribution per row (non-negative, "
            f"summing to 1; apply a softmax to logits). Received: rows summing to {array.sum(axis=1).min():.4g} to "
            f"{array.sum(axis=1).max():.4g}, minimum {array.min():.4g}"
        )
    return array


def _labels(values, name, samples, minimum_classes=2):
    array = _finite(values, name)
    if array.ndim != 1:
        raise ValueError(
            f"Invalid value for argument `{name}`: expected a 1-D array of integer class indices (take the argmax "
            f"of one-hot labels). Received: {name} with shape {array.shape}"
        )
    if samples is not None and len(array) != samples:
        raise ValueError(
            f"Invalid value for argument `{name}`: expected one label per sample ({samples}). "
            f"Received: {len(array)} labels"
        )
    if np.any(array < 0) or np.any(array != np.round(array)):
        raise ValueError(
            f"Invalid value for argument `{name}`: expected non-negative integer class indices. "
            f"Received: values from {array.min():g} to {array.max():g}"
            + (", not all integers" if np.any(array != np.round(array)) else "")
        )
    classes = len(np.unique(array))
    if classes < minimum_classes:
        raise ValueError(
            f"Invalid value for argument `{name}`: expected at least {minimum_classes} distinct classes. "
            f"Received: {classes}"
        )
    return array.astype(np.int64)


def _check_real(value, name, positive):
    if not (isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
            and (value > 0 if positive else value >= 0)):
        expected = "a positive number" if positive else "a number >= 0"
        raise ValueError(f"Invalid value for argument `{name}`: expected {expected}. Received: {name}={value!r}")


def _check_integer(value, name, minimum):
    if not (isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= minimum):
        raise ValueError(
            f"Invalid value for argument `{name}`: expected an integer >= {minimum}. Received: {name}={value!r}"
        )
