"""Two-dimensional projections of features, to see whether two domains' features overlap (DANN's figure)."""

import numpy as np

METHODS = {"pca": "PCA", "tsne": "t-SNE"}  # method -> the name a figure's title gives it


def project_features(source_features, target_features, *, method="tsne", seed=0):
    """Projects source and target features together to 2-D with scikit-learn.

    Both domains are projected jointly (one PCA fit, or one t-SNE embedding), so their positions can be compared.
    t-SNE runs on the first 50 principal components (fewer if there are fewer features), as usual.

    Args:
        source_features: array `(N, ...)`. Features of source images (flattened to `(N, D)`).
        target_features: array `(M, ...)`. Features of target images, the same `D`.
        method: str. `"pca"` (fast, linear) or `"tsne"` (the paper's figure).
        seed: int. The random state of the projection.

    Returns:
        `(source_2d, target_2d)`: float arrays `(N, 2)` and `(M, 2)`.

    Example:

    >>> rng = np.random.default_rng(0)
    >>> source_2d, target_2d = project_features(rng.normal(size=(30, 8)), rng.normal(size=(20, 8)), method="pca")
    >>> source_2d.shape, target_2d.shape
    ((30, 2), (20, 2))
    """
    import threadpoolctl
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    source = np.reshape(np.asarray(source_features, dtype="float64"), (len(source_features), -1))
    target = np.reshape(np.asarray(target_features, dtype="float64"), (len(target_features), -1))
    if source.shape[1] != target.shape[1] or len(source) == 0 or len(target) == 0:
        raise ValueError(
            "`source_features` and `target_features` must be non-empty with the same number of features. "
            f"Received: shapes {source.shape} and {target.shape}"
        )
    both = np.concatenate([source, target])
    if len(both) < 3:
        raise ValueError(f"Need at least 3 points to project. Received: {len(both)} points")
    if method not in METHODS:
        raise ValueError(f"`method` must be one of {sorted(METHODS)}. Received: method={method!r}")
    # One thread: OpenMP sizes its pool from the host's CPU count, and on a small or shared machine its spinning
    # threads cost several times the work (measured: 7x the CPU time for t-SNE of 1,000 points on 2 busy cores).
    with threadpoolctl.threadpool_limits(limits=1):
        if method == "pca":
            projected = PCA(n_components=2, random_state=seed).fit_transform(both)
        else:
            components = min(50, both.shape[1], len(both))
            reduced = PCA(n_components=components, random_state=seed).fit_transform(both)
            perplexity = min(30.0, (len(both) - 1) / 3.0)
            tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed)
            projected = tsne.fit_transform(reduced)
    return projected[: len(source)], projected[len(source):]
