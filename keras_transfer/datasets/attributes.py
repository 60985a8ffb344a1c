"""Classes described by attributes: the tables zero-shot learning reads, and splits into seen and unseen classes.

Zero-shot learning recognises classes no training image showed, through a description every class has: a vector of
attributes ("furry", "4 legs", "tail" in the lecture). Two tables live here:

- `fashion_mnist_attributes()`: the `quick` profile's table, written by hand for the ten Fashion-MNIST classes
  (`FASHION_MNIST_ATTRIBUTES` below says what each attribute means and why each class has it). Every class has a
  signature of its own (`check_separates`), and every attribute but `is_carried` is shared by at least two
  classes, so most attributes can still be learned when one of their classes is unseen.
- `load_awa2(path=None)`: the `full` profile's benchmark, Animals with Attributes 2 as released by Xian, Lampert,
  Schiele & Akata (TPAMI 2018) in `xlsa17.zip`: ResNet-101 features of the 37,322 images, the 85 attributes of the
  50 classes and the paper's **proposed split** (40 seen classes, 27 of them for training and 13 for validation
  while choosing settings; 10 unseen classes none of which is among ImageNet-1k's classes).

`zero_shot_splits` draws seen/unseen splits of a table at random, keeping only splits in which the unseen classes
can be told apart by the attributes the seen classes teach.

Reference:
    - Lampert, Nickisch & Harmeling, Attribute-Based Classification for Zero-Shot Visual Object Categorization,
      TPAMI 2014 (CVPR 2009).
    - Xian, Lampert, Schiele & Akata, Zero-Shot Learning — A Comprehensive Evaluation of the Good, the Bad and the
      Ugly, TPAMI 2018. https://www.mpi-inf.mpg.de/departments/computer-vision-and-machine-learning/research/
      zero-shot-learning/zero-shot-learning-the-good-the-bad-and-the-ugly
"""

import itertools
import pathlib
import typing

import numpy as np

from keras_transfer.datasets import download
from keras_transfer.datasets.fashion_mnist import FASHION_MNIST_CLASSES

# attribute -> (what it means, the classes that have it). Judged from what the 28x28 images show.
FASHION_MNIST_ATTRIBUTES = {
    "upper_body": ("worn on the upper body", ("T-shirt/top", "Pullover", "Dress", "Coat", "Shirt")),
    "covers_legs": ("covers the legs (trouser legs or a skirt)", ("Trouser", "Dress")),
    "worn_on_feet": ("worn on the feet", ("Sandal", "Sneaker", "Ankle boot")),
    "has_sleeves": ("has sleeves that show in the image", ("T-shirt/top", "Pullover", "Coat", "Shirt")),
    "long_sleeves": ("sleeves reach the wrist", ("Pullover", "Coat", "Shirt")),
    "opens_at_front": ("buttons or a zip down the front", ("Coat", "Shirt")),
    "long": ("reaches below the hips", ("Trouser", "Dress", "Coat")),
    "has_heel": ("a raised heel", ("Sandal", "Ankle boot")),
    "closed_shoe": ("a shoe that covers the whole foot", ("Sneaker", "Ankle boot")),
    "has_straps": ("straps or a handle with gaps between them", ("Sandal", "Bag")),
    "is_carried": ("carried in the hand or on the shoulder, not worn", ("Bag",)),
}


class AttributeTable(typing.NamedTuple):
    """Classes described by attributes.

    Attributes:
        class_names: tuple of str. One per row.
        attribute_names: tuple of str. One per column.
        signatures: float array `(classes, attributes)`. Row `c` is class `c`'s attribute signature (0/1 for a
            binary table, real values for a continuous one).
    """

    class_names: tuple
    attribute_names: tuple
    signatures: np.ndarray


def fashion_mnist_attributes():
    """The hand-written class × attribute table of Fashion-MNIST (rows in `FASHION_MNIST_CLASSES` order).

    Returns:
        An `AttributeTable` with a 0/1 float32 matrix of shape `(10, len(FASHION_MNIST_ATTRIBUTES))`, checked by
        `check_separates`.
    """
    names = tuple(FASHION_MNIST_ATTRIBUTES)
    signatures = np.zeros((len(FASHION_MNIST_CLASSES), len(names)), np.float32)
    for column, (_, classes) in enumerate(FASHION_MNIST_ATTRIBUTES.values()):
        for class_name in classes:
            signatures[FASHION_MNIST_CLASSES.index(class_name), column] = 1.0
    table = AttributeTable(FASHION_MNIST_CLASSES, names, signatures)
    check_separates(table)
    return table


def check_separates(table, classes=None):
    """Checks that no two classes share a signature, i.e. attributes alone tell every class apart.

    Args:
        table: `AttributeTable`.
        classes: sequence of int or None. The rows to compare (None: all).

    Returns:
        The smallest number of attributes in which two of the classes differ (the Hamming distance for a binary
        table).

    Raises:
        ValueError: naming the classes whose signatures are the same.
    """
    signatures = np.asarray(table.signatures)
    classes = range(len(signatures)) if classes is None else list(classes)
    smallest = signatures.shape[1]
    for first, second in itertools.combinations(classes, 2):
        differ = int(np.sum(~np.isclose(signatures[first], signatures[second])))
        if differ == 0:
            raise ValueError(
                f"The attributes do not separate {table.class_names[first]!r} from {table.class_names[second]!r}: "
                f"both have the signature {signatures[first].tolist()}."
            )
        smallest = min(smallest, differ)
    return smallest


def learnable_attributes(signatures, seen_classes):
    """The attributes the seen classes teach: some seen class has it and some seen class lacks it (bool mask)."""
    seen = np.asarray(signatures)[list(seen_classes)] > 0.5
    return seen.any(axis=0) & ~seen.all(axis=0)


class ZeroShotSplit(typing.NamedTuple):
    """One split of the classes: `seen` (training), `unseen` (test only) and `validation` (a part of `seen` held
    out as pretend-unseen classes while settings are chosen). Class indices, sorted."""

    seen: tuple
    unseen: tuple
    validation: tuple


def _tells_apart(signatures, seen, candidates):
    mask = learnable_attributes(signatures, seen)
    rows = np.asarray(signatures)[list(candidates)][:, mask] > 0.5
    return len({row.tobytes() for row in rows}) == len(rows)


def zero_shot_splits(table, *, num_unseen, num_validation, count, seed=0, max_tries=1000):
    """Draws `count` different seen/unseen splits in which the seen classes' attributes tell the unseen apart.

    A split is kept only when the unseen classes' signatures differ on the attributes the seen classes teach
    (`learnable_attributes`); likewise the validation classes on what the remaining seen classes teach. An
    attribute no seen class has cannot be learned, so without this rule a split could ask for the impossible.

    Args:
        table: `AttributeTable`.
        num_unseen: int. Unseen classes per split (at least 2).
        num_validation: int. Seen classes held out for validation (at least 2, or 0 for none).
        count: int. Splits to draw.
        seed: int. Seed of the draw.
        max_tries: int. Give up after this many draws.

    Returns:
        A list of `ZeroShotSplit`.
    """
    classes = len(table.class_names)
    if not isinstance(num_unseen, int) or not 2 <= num_unseen <= classes - 2:
        raise ValueError(f"`num_unseen` must be an int in [2, {classes - 2}]. Received: num_unseen={num_unseen!r}")
    if not isinstance(num_validation, int) or num_validation == 1 or not 0 <= num_validation <= classes - num_unseen - 2:
        raise ValueError(
            f"`num_validation` must be 0 or an int in [2, {classes - num_unseen - 2}]. "
            f"Received: num_validation={num_validation!r}"
        )
    if not isinstance(count, int) or count < 1:
        raise ValueError(f"`count` must be a positive int. Received: count={count!r}")
    rng = np.random.default_rng(seed)
    splits, drawn = [], set()
    for _ in range(max_tries):
        order = rng.permutation(classes)
        unseen = tuple(sorted(int(c) for c in order[:num_unseen]))
        validation = tuple(sorted(int(c) for c in order[num_unseen:num_unseen + num_validation]))
        seen = tuple(sorted(int(c) for c in order[num_unseen:]))
        train_only = [c for c in seen if c not in validation]
        if unseen in drawn or not _tells_apart(table.signatures, seen, unseen):
            continue
        if validation and not _tells_apart(table.signatures, train_only, validation):
            continue
        drawn.add(unseen)
        splits.append(ZeroShotSplit(seen, unseen, validation))
        if len(splits) == count:
            return splits
    raise ValueError(
        f"Found only {len(splits)} of count={count} splits with num_unseen={num_unseen} whose unseen classes the "
        "seen classes' attributes tell apart; ask for fewer."
    )


# ---------------------------------------------------------------------------------------------------------------
# The full profile: AwA2 features and the proposed split of Xian et al.

XLSA17_URL = "http://datasets.d2.mpi-inf.mpg.de/xian/xlsa17.zip"
# No checksum of xlsa17.zip is published: `fetch(record=True)` records the SHA-256 of the first copy and checks every
# later one against it.
XLSA17_SHA256 = None

XLSA17_DATASETS = ("AWA2", "AWA1", "CUB", "SUN", "APY")


class FeatureBenchmark(typing.NamedTuple):
    """A zero-shot benchmark given as image features, with its proposed split.

    Attributes:
        table: `AttributeTable` (the class signatures `att` of `att_splits.mat`, one row per class).
        features: float32 array `(images, dims)`.
        labels: int array `(images,)`. 0-based rows of `table`.
        locations: dict. `"trainval"`, `"test_seen"`, `"test_unseen"`, `"train"`, `"val"` -> 0-based image indices.
    """

    table: AttributeTable
    features: np.ndarray
    labels: np.ndarray
    locations: dict


def _names(cells):
    return tuple(str(np.asarray(cell).ravel()[0]) for cell in np.asarray(cells).ravel())


def read_xlsa17(folder):
    """Reads `res101.mat` and `att_splits.mat` of one xlsa17 dataset folder (e.g. `xlsa17/data/AWA2`).

    Returns:
        A `FeatureBenchmark`; the `.mat` files' 1-based labels and locations become 0-based.
    """
    import scipy.io

    folder = pathlib.Path(folder)
    missing = [name for name in ("res101.mat", "att_splits.mat") if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{folder} is not an xlsa17 dataset folder: missing {', '.join(missing)}.")
    images = scipy.io.loadmat(folder / "res101.mat")
    splits = scipy.io.loadmat(folder / "att_splits.mat")
    features = np.asarray(images["features"], np.float32).T
    labels = np.asarray(images["labels"]).ravel().astype(np.int64) - 1
    signatures = np.asarray(splits["att"], np.float32).T
    class_names = _names(splits["allclasses_names"]) if "allclasses_names" in splits else tuple(
        f"class_{index}" for index in range(len(signatures)))
    attribute_names = tuple(f"attribute_{index}" for index in range(signatures.shape[1]))
    locations = {}
    for key in ("trainval", "test_seen", "test_unseen", "train", "val"):
        locations[key] = np.asarray(splits[f"{key}_loc"]).ravel().astype(np.int64) - 1
        if locations[key].size and (locations[key].min() < 0 or locations[key].max() >= len(labels)):
            raise ValueError(f"{folder / 'att_splits.mat'}: {key}_loc points outside the {len(labels)} images.")
    if len(features) != len(labels) or labels.min() < 0 or labels.max() >= len(signatures):
        raise ValueError(f"{folder}: features, labels and attributes do not agree in size.")
    return FeatureBenchmark(AttributeTable(class_names, attribute_names, signatures), features, labels, locations)


def load_xlsa17(dataset="AWA2", path=None, *, mirror=None, verbose=1):
    """A benchmark of Xian et al.: ResNet-101 features, class attributes and the proposed split.

    Args:
        dataset: str. One of `XLSA17_DATASETS`.
        path: path-like or None. A folder where `xlsa17.zip` was extracted (holding `xlsa17/data/<dataset>/` or
            `data/<dataset>/`); nothing is downloaded. None: fetch `xlsa17.zip` from `$KT_MIRROR` (or `mirror=`) or
            the official address into `$KT_DATA_DIR`, check it and extract it.
        mirror: str or None. Overrides `$KT_MIRROR`.
        verbose: int. 1 shows progress bars.

    Returns:
        A `FeatureBenchmark`.
    """
    from keras_transfer import paths

    if dataset not in XLSA17_DATASETS:
        raise ValueError(f"`dataset` must be one of {XLSA17_DATASETS}. Received: dataset={dataset!r}")
    if path is None:
        archive = download.fetch(XLSA17_URL, sha256=XLSA17_SHA256, record=XLSA17_SHA256 is None, subdir="xlsa17",
                                 mirror=mirror, progress=bool(verbose))
        path = download.extract(archive, paths.cache_dir("xlsa17") / "extracted", progress=bool(verbose))
    root = pathlib.Path(path).expanduser()
    for candidate in (root / "xlsa17" / "data" / dataset, root / "data" / dataset, root / dataset, root):
        if (candidate / "att_splits.mat").is_file():
            return read_xlsa17(candidate)
    raise FileNotFoundError(
        f"path={str(root)!r} holds no xlsa17 folder of {dataset}: expected xlsa17/data/{dataset}/res101.mat and "
        "att_splits.mat (the layout of xlsa17.zip)."
    )


def load_awa2(path=None, *, mirror=None, verbose=1):
    """AwA2 of `load_xlsa17`: 50 animal classes, 85 attributes, 40 seen / 10 unseen classes in the proposed split."""
    return load_xlsa17("AWA2", path, mirror=mirror, verbose=verbose)
