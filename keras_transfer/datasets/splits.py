"""Class splits and per-class budgets: Yosinski-style halves A and B, and N images per class."""

import numpy as np

HALVES = ("a", "b")


def _check_half(half):
    if half not in HALVES:
        raise ValueError(f"`half` must be 'a' or 'b'. Received: half={half!r}")
    return half


def _integer_labels(y, name="y"):
    y = np.asarray(y)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(
            f"`{name}` must be a 1-D array of integer class ids. Received: {name} with shape {y.shape} "
            f"and dtype {y.dtype}"
        )
    return y


class ClassSplit:
    """Two disjoint halves of a label set, A and B, as in Yosinski et al. (2014).

    Base network A is trained on the classes of half A, base network B on half B; transferring layers from A to a
    network trained on B measures how general the features of each layer are.

    Args:
        classes_a: sequence of int. The class ids of half A.
        classes_b: sequence of int. The class ids of half B (disjoint from `classes_a`).

    Example:

    ```python
    split = ClassSplit(classes_a=(2, 3, 4, 6, 7), classes_b=(0, 1, 5, 8, 9))
    x_b, y_b = split.select(x_train, y_train, "b")  # y_b in 0..4, 0 is class 0, 1 is class 1, 2 is class 5 ...
    split.names(FASHION_MNIST_CLASSES, "b")  # ('T-shirt/top', 'Trouser', 'Sandal', 'Bag', 'Ankle boot')
    ```

    Reference:
        - [Yosinski et al., 2014](https://arxiv.org/abs/1411.1792): How transferable are features in deep neural
          networks?
    """

    def __init__(self, classes_a, classes_b):
        classes_a = tuple(int(c) for c in classes_a)
        classes_b = tuple(int(c) for c in classes_b)
        for name, classes in (("classes_a", classes_a), ("classes_b", classes_b)):
            if not classes:
                raise ValueError(f"`{name}` must name at least one class. Received: {name}={classes!r}")
            if len(set(classes)) != len(classes) or min(classes) < 0:
                raise ValueError(f"`{name}` must hold distinct non-negative class ids. Received: {name}={classes!r}")
        common = sorted(set(classes_a) & set(classes_b))
        if common:
            raise ValueError(
                f"`classes_a` and `classes_b` must be disjoint; both hold {common}. "
                f"Received: classes_a={classes_a!r}, classes_b={classes_b!r}"
            )
        self.classes_a = classes_a
        self.classes_b = classes_b

    def classes(self, half):
        """The class ids of `half` ("a" or "b"), as a tuple."""
        return self.classes_a if _check_half(half) == "a" else self.classes_b

    def select(self, x, y, half):
        """The examples of one half, with labels remapped to `0..k-1` in the order of that half's tuple.

        Args:
            x: array. The inputs, first axis the examples.
            y: array of int, shape `(N,)`. The original class ids.
            half: str. "a" or "b".

        Returns:
            `(x_subset, y_remapped)`, in the original order of the examples; `y_remapped` keeps `y`'s dtype.
        """
        classes = self.classes(half)
        y = _integer_labels(y)
        x = np.asarray(x)
        if len(x) != len(y):
            raise ValueError(f"`x` and `y` must have the same length. Received: len(x)={len(x)}, len(y)={len(y)}")
        lookup = np.full(max(int(y.max(initial=0)), max(classes)) + 1, -1, dtype=np.int64)
        lookup[list(classes)] = np.arange(len(classes))
        mask = np.isin(y, classes)
        return x[mask], lookup[y[mask]].astype(y.dtype)

    def names(self, all_names, half):
        """The names of `half`'s classes, in the order of its remapped labels.

        Args:
            all_names: sequence of str. The names of every class, indexed by the original class id.
            half: str. "a" or "b".
        """
        classes = self.classes(half)
        if max(classes) >= len(all_names):
            raise ValueError(
                f"`all_names` has {len(all_names)} names but half {half!r} uses class {max(classes)}. "
                f"Received: all_names={tuple(all_names)!r}"
            )
        return tuple(all_names[c] for c in classes)

    def __repr__(self):
        return f"ClassSplit(classes_a={self.classes_a!r}, classes_b={self.classes_b!r})"

    def __eq__(self, other):
        return isinstance(other, ClassSplit) and (self.classes_a, self.classes_b) == (other.classes_a, other.classes_b)

    def __hash__(self):
        return hash((self.classes_a, self.classes_b))


def split_classes(num_classes=10, seed=0):
    """Splits the class ids `0..num_classes-1` at random into two disjoint halves, A and B.

    The algorithm, fixed so the split never changes for a seed:
    `order = numpy.random.default_rng(seed).permutation(num_classes)`; half A is `sorted(order[:num_classes // 2])`,
    half B is `sorted(order[num_classes // 2:])` (B gets the extra class when `num_classes` is odd).

    For Fashion-MNIST with `seed=0`:
    A = (2, 3, 4, 6, 7): Pullover, Dress, Coat, Shirt, Sneaker;
    B = (0, 1, 5, 8, 9): T-shirt/top, Trouser, Sandal, Bag, Ankle boot.

    Args:
        num_classes: int. How many classes there are (at least 2).
        seed: int. The seed of the permutation.

    Returns:
        A `ClassSplit`.

    Example:

    ```python
    split = split_classes(10, seed=0)
    (x_a, y_a) = split.select(x_train, y_train, "a")
    ```

    Reference:
        - [Yosinski et al., 2014](https://arxiv.org/abs/1411.1792): How transferable are features in deep neural
          networks?
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 2:
        raise ValueError(f"`num_classes` must be an integer >= 2. Received: num_classes={num_classes!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"`seed` must be a non-negative integer. Received: seed={seed!r}")
    order = np.random.default_rng(int(seed)).permutation(int(num_classes))
    half = int(num_classes) // 2
    return ClassSplit(sorted(order[:half].tolist()), sorted(order[half:].tolist()))


def _per_class_indices(y, counts, seed):
    """For each class present in `y`, picks `sum(counts)` distinct random indices and deals them into len(counts)
    groups; returns one sorted index array per group."""
    y = _integer_labels(y)
    for name, count in counts.items():
        if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 0:
            raise ValueError(f"`{name}` must be a non-negative integer. Received: {name}={count!r}")
    total = sum(counts.values())
    rng = np.random.default_rng(seed)
    groups = [[] for _ in counts]
    classes, sizes = np.unique(y, return_counts=True)
    short = {int(c): int(n) for c, n in zip(classes, sizes) if n < total}
    if short:
        raise ValueError(
            f"Every class needs {total} examples ({', '.join(f'{k}={v}' for k, v in counts.items())}) but some have "
            f"fewer: {short} (class: count)."
        )
    for cls in classes:
        chosen = rng.permutation(np.flatnonzero(y == cls))[:total]
        start = 0
        for group, count in zip(groups, counts.values()):
            group.append(chosen[start : start + count])
            start += count
    return [np.sort(np.concatenate(group)) if group else np.zeros(0, np.int64) for group in groups]


def take_per_class(x, y, per_class, seed=0):
    """Takes `per_class` random examples of every class (a labelled-data budget).

    Args:
        x: array. The inputs, first axis the examples.
        y: array of int, shape `(N,)`. The labels.
        per_class: int. How many examples of each class to keep.
        seed: int. The seed of the draw.

    Returns:
        `(x_subset, y_subset)`, in their original order.

    Raises:
        ValueError: if a class has fewer than `per_class` examples.

    Example:

    ```python
    x_small, y_small = take_per_class(x_train, y_train, per_class=100, seed=0)
    ```
    """
    x = np.asarray(x)
    y = _integer_labels(y)
    if len(x) != len(y):
        raise ValueError(f"`x` and `y` must have the same length. Received: len(x)={len(x)}, len(y)={len(y)}")
    (indices,) = _per_class_indices(y, {"per_class": per_class}, seed)
    return x[indices], y[indices]


def split_per_class(x, y, train_per_class, validation_per_class, seed=0):
    """Draws a disjoint train and validation set with a fixed number of examples of every class.

    Oxford-17's official splits hold 40 train and 20 validation images per class; this gives the same budget on any
    labelled set (e.g. `split_per_class(x, y, 40, 20)`).

    Args:
        x: array. The inputs, first axis the examples.
        y: array of int, shape `(N,)`. The labels.
        train_per_class: int. Training examples per class.
        validation_per_class: int. Validation examples per class.
        seed: int. The seed of the draw.

    Returns:
        `((x_train, y_train), (x_validation, y_validation))`, each in the original order of the examples.

    Raises:
        ValueError: if a class has fewer than `train_per_class + validation_per_class` examples.
    """
    x = np.asarray(x)
    y = _integer_labels(y)
    if len(x) != len(y):
        raise ValueError(f"`x` and `y` must have the same length. Received: len(x)={len(x)}, len(y)={len(y)}")
    train, validation = _per_class_indices(
        y, {"train_per_class": train_per_class, "validation_per_class": validation_per_class}, seed
    )
    return (x[train], y[train]), (x[validation], y[validation])
