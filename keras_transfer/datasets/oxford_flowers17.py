"""Oxford 17 Category Flower Dataset (Nilsback & Zisserman, 2006): loader and tensorflow-datasets builder.

1360 photographs of 17 flower species common in the UK, 80 per class. The archive `17flowers.tgz` holds
`jpg/image_0001.jpg` ... `jpg/image_1360.jpg`, 80 consecutive images per class in the order of `CLASS_NAMES`; the
separate `datasplits.mat` holds three official splits (`trn1 val1 tst1`, `trn2 ...`, `trn3 ...`; 1-based image
ids; 40 train, 20 validation and 20 test images per class).

Two ways in:

- `load_oxford_flowers17(split_id, image_size, path)` returns unbatched `tf.data.Dataset`s of `(image, label)`
  straight from the image files (nothing is converted or copied).
- Importing `keras_transfer.datasets` registers the tensorflow-datasets builder `oxford_flowers17` (configs
  `split_1`, `split_2`, `split_3`), so `tfds.load("oxford_flowers17/split_2", split="train")` works too; its
  `manual_dir` may hold the extracted layout or the two original files.

Files come from, in this order: `path=` (an extracted copy; nothing is downloaded), `$KT_MIRROR`, the official
address; see `keras_transfer.datasets.download`.

Reference:
    M.-E. Nilsback and A. Zisserman. A Visual Vocabulary for Flower Classification. CVPR 2006.
    https://www.robots.ox.ac.uk/~vgg/data/flowers/17/
"""

import pathlib
import typing
import warnings

import numpy as np
import tensorflow_datasets as tfds
from etils import epath

from keras_transfer import paths
from keras_transfer.datasets import archives
from keras_transfer.datasets import download
from keras_transfer.datasets import image_files

IMAGES_URL = "https://www.robots.ox.ac.uk/~vgg/data/flowers/17/17flowers.tgz"
IMAGES_SHA256 = "fe38a60f8b4a95e657551247d3e7d799a3fafcdbc595be504b12839967823d70"
IMAGES_MD5 = "b59a65d8d1a99cd66944d474e1289eab"
SPLITS_URL = "https://www.robots.ox.ac.uk/~vgg/data/flowers/17/datasplits.mat"
SPLITS_MD5 = "4828cddfd0d803c5abbdebcb1e148a1e"  # the publisher gives only MD5 for this file

CLASS_NAMES = (
    "Daffodil",
    "Snowdrop",
    "LilyValley",
    "Bluebell",
    "Crocus",
    "Iris",
    "Tigerlily",
    "Tulip",
    "Fritillary",
    "Sunflower",
    "Daisy",
    "ColtsFoot",
    "Dandelion",
    "Cowslip",
    "Buttercup",
    "Windflower",
    "Pansy",
)
IMAGES_PER_CLASS = 80
NUM_IMAGES = IMAGES_PER_CLASS * len(CLASS_NAMES)
SPLIT_IDS = (1, 2, 3)
_SPLIT_KEYS = {"train": "trn", "validation": "val", "test": "tst"}

HOMEPAGE = "https://www.robots.ox.ac.uk/~vgg/data/flowers/17/"
CITATION = """@InProceedings{Nilsback06,
  author = "Nilsback, M-E. and Zisserman, A.",
  title = "A Visual Vocabulary for Flower Classification",
  booktitle = "IEEE Conference on Computer Vision and Pattern Recognition",
  volume = "2",
  pages = "1447--1454",
  year = "2006",
}"""


class Flowers17(typing.NamedTuple):
    """The three datasets of one official split of Oxford-17, and the class names.

    `train`, `validation` and `test` are unbatched `tf.data.Dataset`s of `(image, label)`: `image` is a
    `(height, width, 3)` float32 tensor of pixel values in [0, 255] (uint8 at the original size when
    `image_size=None`), `label` an int32 class index into `class_names`.
    """

    train: typing.Any
    validation: typing.Any
    test: typing.Any
    class_names: tuple


def image_filename(image_id):
    """`image_0001.jpg` for image id 1 (ids are 1-based, as in `datasplits.mat`)."""
    return f"image_{int(image_id):04d}.jpg"


def label_of(image_id):
    """Class index of a 1-based image id: images come in blocks of 80 per class."""
    return (int(image_id) - 1) // IMAGES_PER_CLASS


def _check_split_id(split_id):
    if isinstance(split_id, bool) or split_id not in SPLIT_IDS:
        raise ValueError(f"split_id must be one of {SPLIT_IDS} (the official splits). Received: split_id={split_id!r}")
    return int(split_id)


def read_splits(splits_file):
    """Read `datasplits.mat`: `{split_id: {"train": ids, "validation": ids, "test": ids}}` (1-based int arrays)."""
    import scipy.io

    splits_file = pathlib.Path(splits_file)
    try:
        content = scipy.io.loadmat(splits_file)
    except (OSError, ValueError, TypeError, NotImplementedError) as error:
        raise ValueError(f"{splits_file} is not a readable MATLAB file ({error}).") from error
    splits = {}
    for split_id in SPLIT_IDS:
        splits[split_id] = {}
        for split, key in _SPLIT_KEYS.items():
            name = f"{key}{split_id}"
            if name not in content:
                raise ValueError(f"{splits_file} has no array {name!r}; expected trn1 val1 tst1 ... trn3 val3 tst3.")
            values = np.asarray(content[name], dtype=np.float64).ravel()
            ids = values.astype(np.int64)
            if values.size == 0 or not np.all(ids == values) or ids.min() < 1 or ids.max() > NUM_IMAGES:
                raise ValueError(f"{splits_file}: {name} must hold integer image ids in 1..{NUM_IMAGES}.")
            splits[split_id][split] = ids
        together = np.concatenate(list(splits[split_id].values()))
        if np.unique(together).size != together.size:
            raise ValueError(f"{splits_file}: the train, validation and test ids of split {split_id} overlap.")
    return splits


def _missing_error(path, missing, hint=""):
    shown = ", ".join(missing[:10])
    more = f" (and {len(missing) - 10} more)" if len(missing) > 10 else ""
    return FileNotFoundError(
        f"path={str(path)!r} is not a complete Oxford-17 folder; missing: {shown}{more}. Expected the official "
        f"layout: jpg/image_0001.jpg ... jpg/image_{NUM_IMAGES:04d}.jpg and datasplits.mat.{hint}"
    )


def check_folder(path, split_id=None):
    """Check an extracted Oxford-17 folder; return `(jpg_dir, splits_file)` or raise listing what is missing.

    Every image the chosen split (or, with `split_id=None`, any split) refers to must exist.
    """
    path = pathlib.Path(path).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(f"path={str(path)!r} is not a folder.")
    jpg_dir, splits_file = path / "jpg", path / "datasplits.mat"
    missing = [name for name, item in (("datasplits.mat", splits_file), ("jpg/", jpg_dir)) if not item.exists()]
    if missing:
        hint = ""
        if (path / "17flowers.tgz").exists():
            hint = f" This folder holds the original archive: set {paths.MIRROR_VARIABLE}={path} instead of path=."
        if not jpg_dir.exists():
            missing[-1] = "jpg/ (the whole image folder)"
        raise _missing_error(path, missing, hint)
    splits = read_splits(splits_file)
    wanted = SPLIT_IDS if split_id is None else (split_id,)
    ids = np.unique(np.concatenate([np.concatenate(list(splits[i].values())) for i in wanted]))
    missing = [f"jpg/{image_filename(i)}" for i in ids if not (jpg_dir / image_filename(i)).is_file()]
    if missing:
        raise _missing_error(path, missing)
    return jpg_dir, splits_file


def locate(path=None, *, mirror=None, verbose=1):
    """Where the data is: `(jpg_dir, splits_file)` from `path=`, else fetched (mirror, official) and extracted."""
    if path is not None:
        return check_folder(path)
    progress = bool(verbose)
    archive = download.fetch(IMAGES_URL, sha256=IMAGES_SHA256, subdir="oxford_flowers17", mirror=mirror,
                             progress=progress)
    splits_file = download.fetch(SPLITS_URL, md5=SPLITS_MD5, subdir="oxford_flowers17", mirror=mirror,
                                 progress=progress)
    root = archives.extract(archive, paths.cache_dir("oxford_flowers17") / "17flowers", fingerprint=IMAGES_SHA256,
                            progress=progress)
    return root / "jpg", splits_file


def split_records(jpg_dir, splits_file, split_id, *, verbose=1):
    """`{"train": (files, labels), "validation": ..., "test": ...}` for one split; corrupt images are skipped.

    Every referenced image is decoded once (cached by `image_files.verify_images`); a file that cannot be decoded is
    left out with a warning that names it.
    """
    split_id = _check_split_id(split_id)
    jpg_dir = pathlib.Path(jpg_dir)
    splits = read_splits(splits_file)[split_id]
    files = {split: [str((jpg_dir / image_filename(i)).absolute()) for i in ids] for split, ids in splits.items()}
    _, failures = image_files.verify_images([f for group in files.values() for f in group], verbose=verbose)
    for file, reason in sorted(failures.items()):
        warnings.warn(f"Oxford-17: skipping unreadable image {file} ({reason}).", stacklevel=3)
    records = {}
    for split, ids in splits.items():
        kept = [(file, label_of(i)) for file, i in zip(files[split], ids) if file not in failures]
        records[split] = ([file for file, _ in kept], [label for _, label in kept])
    return records


def _dataset(files, labels, image_size):
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices(
        (tf.constant(files, tf.string, shape=[len(files)]), tf.constant(labels, tf.int32, shape=[len(labels)]))
    )

    def load(file, label):
        return image_files.read_image(file, image_size), label

    return dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE)


def load_oxford_flowers17(split_id=1, image_size=(224, 224), path=None, *, verbose=1):
    """Load one of the three official Oxford-17 splits as unbatched `tf.data.Dataset`s.

    Labels follow the image order (images 1-80 are `CLASS_NAMES[0]`, 81-160 `CLASS_NAMES[1]`, ...); the splits are
    read from `datasplits.mat` (40 train, 20 validation, 20 test images per class). Images are decoded as RGB and
    resized (bilinear, antialiased) without keeping the aspect ratio. The datasets are neither shuffled nor
    batched: see the pipeline helper for batching, augmentation and caching.

    Args:
        split_id: int. 1, 2 or 3, the official split.
        image_size: `(height, width)` or None. Size of the returned float32 images (pixel values in [0, 255]);
            None keeps each image's own size as uint8.
        path: path-like or None. A folder with the data already extracted in the official layout
            (`jpg/image_0001.jpg` ... and `datasplits.mat`); nothing is downloaded. None: fetch `17flowers.tgz`
            and `datasplits.mat` from `$KT_MIRROR` or the official address into `$KT_DATA_DIR`, verify and
            extract them.
        verbose: int. 0 is silent; 1 shows progress bars for downloads, extraction and the one-time image check.

    Returns:
        `Flowers17(train, validation, test, class_names)`.

    Raises:
        ValueError: `split_id` or `image_size` is invalid.
        FileNotFoundError: `path=` lacks files (the message lists them).

    Example:

    ```python
    flowers = load_oxford_flowers17(split_id=1, image_size=(224, 224))
    train = flowers.train.shuffle(1000).batch(32)
    print(flowers.class_names[0])  # Daffodil
    ```

    Reference:
        Nilsback and Zisserman, A Visual Vocabulary for Flower Classification, CVPR 2006.
    """
    split_id = _check_split_id(split_id)
    image_size = image_files.check_image_size(image_size)
    if path is not None:
        jpg_dir, splits_file = check_folder(path, split_id)
    else:
        jpg_dir, splits_file = locate(verbose=verbose)
    records = split_records(jpg_dir, splits_file, split_id, verbose=verbose)
    datasets = {split: _dataset(files, labels, image_size) for split, (files, labels) in records.items()}
    return Flowers17(datasets["train"], datasets["validation"], datasets["test"], CLASS_NAMES)


def load_oxford_flowers17_arrays(split_id=1, image_size=(224, 224), path=None, *, verbose=1):
    """One official Oxford-17 split as numpy arrays: `load_oxford_flowers17` read into memory.

    Args:
        split_id: int. 1, 2 or 3, the official split.
        image_size: `(height, width)`. Every image is resized to it (a size is needed to stack them).
        path: path-like or None. As in `load_oxford_flowers17`.
        verbose: int. As in `load_oxford_flowers17`.

    Returns:
        `Flowers17(train, validation, test, class_names)` whose splits are `(images, labels)`: uint8 images
        `(N, height, width, 3)` (pixel values rounded to [0, 255], ready to show) and int32 labels `(N,)`.
    """
    if image_size is None:
        raise ValueError("`image_size` must be (height, width) to stack the images into one array. Received: None")
    flowers = load_oxford_flowers17(split_id, image_size=image_size, path=path, verbose=verbose)
    splits = [_to_arrays(dataset) for dataset in (flowers.train, flowers.validation, flowers.test)]
    return Flowers17(*splits, flowers.class_names)


def _to_arrays(dataset, batch_size=64):
    images, labels = [], []
    for image_batch, label_batch in dataset.batch(batch_size).as_numpy_iterator():
        images.append(np.clip(np.round(image_batch), 0, 255).astype("uint8"))
        labels.append(label_batch.astype("int32"))
    return np.concatenate(images), np.concatenate(labels)


class OxfordFlowers17(tfds.core.GeneratorBasedBuilder):
    """tensorflow-datasets builder for Oxford-17 flowers: `tfds.load("oxford_flowers17/split_1")`.

    One config per official split (`split_1`, `split_2`, `split_3`), each with `train`, `validation` and `test`.
    Files are fetched with `keras_transfer.datasets.download.fetch` (pinned checksums, `$KT_MIRROR`), unless the
    `manual_dir` holds them. Features: `image` (the original JPEG), `label` (`ClassLabel` of `CLASS_NAMES`),
    `file_name`.
    """

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "The three official splits of datasplits.mat."}
    BUILDER_CONFIGS = [
        tfds.core.BuilderConfig(name=f"split_{i}", description=f"Official split {i} (trn{i}, val{i}, tst{i}).")
        for i in SPLIT_IDS
    ]
    MANUAL_DOWNLOAD_INSTRUCTIONS = (
        "Optional. Put either the extracted data (jpg/image_0001.jpg ... and datasplits.mat) or the two original "
        f"files (17flowers.tgz and datasplits.mat from {HOMEPAGE}) in the manual_dir."
    )

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            description=(
                "Oxford 17 Category Flower Dataset: 17 flower species, 80 images each, with three official "
                "train/validation/test splits of 40/20/20 images per class."
            ),
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(shape=(None, None, 3), encoding_format="jpeg"),
                    "label": tfds.features.ClassLabel(names=list(CLASS_NAMES)),
                    "file_name": tfds.features.Text(),
                }
            ),
            supervised_keys=("image", "label"),
            homepage=HOMEPAGE,
            citation=CITATION,
        )

    @tfds.core.utils.classproperty
    @classmethod
    def code_path(cls):
        # tensorflow-datasets 4.9.10 looks up `importlib_resources` here, which it does not install on Python >= 3.9
        # (tensorflow/datasets#11212); the class lives in this file, so say so directly.
        return epath.Path(__file__)

    @staticmethod
    def _manual_folder(dl_manager):
        try:
            return pathlib.Path(dl_manager.manual_dir)
        except (AssertionError, ValueError):  # no manual_dir given, or it is empty
            return None

    def _split_generators(self, dl_manager):
        manual = self._manual_folder(dl_manager)
        if manual is not None and (manual / "jpg").is_dir():
            jpg_dir, splits_file = check_folder(manual)
        else:
            jpg_dir, splits_file = locate(mirror=str(manual) if manual is not None else None)
        split_id = int(self.builder_config.name.rsplit("_", 1)[1])
        records = split_records(jpg_dir, splits_file, split_id)
        return {split: self._generate_examples(files, labels) for split, (files, labels) in records.items()}

    def _generate_examples(self, files, labels):
        for file, label in zip(files, labels):
            name = pathlib.Path(file).name
            yield name, {"image": file, "label": label, "file_name": name}
