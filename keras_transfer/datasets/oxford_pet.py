"""Oxford-IIIT Pet (Parkhi et al., 2012) head boxes: images with their head box, breed and species.

The dataset has 7,349 photos of 37 cat and dog breeds. `annotations.tar.gz` holds `annotations/list.txt`,
`trainval.txt` and `test.txt` (lines `Abyssinian_100 1 1 1`: image name, class id 1..37, species 1 = cat, 2 = dog,
breed id within the species) and `annotations/xmls/<name>.xml`, one PASCAL-VOC file with the head box per image.
Only trainval images have head boxes, and not all of them.

What `load_oxford_pet_heads` returns, and why:

- Images: the official **trainval** images that have an XML with a box (3,6xx of the real 3,680). The official
  test images have no head box, so they cannot be used for box regression and are left out.
- Splits: those images are split per breed (stratified), with a seeded shuffle, into `test` (`test_fraction`),
  `validation` (`validation_fraction`) and `train` (the rest). The same seed always gives the same split.
- Elements: `(image, {"boxes": box, "breed": breed, "species": species})` where `box` is one float32 box
  `[xmin, ymin, xmax, ymax]` relative to the image size (Keras's `"rel_xyxy"`), `breed` is 0..36 into
  `BREED_NAMES` and `species` 0 (cat) or 1 (dog). `to_box_regression()` maps this to `(image, box)`;
  `to_keras_detection()` to the dict Keras's bounding-box aware preprocessing layers take.
- Boxes: the XML's 1-based inclusive pixel box `xmin..xmax` becomes `[(xmin - 1) / width, ..., xmax / width]`
  with the image's decoded size; a plain resize keeps relative boxes valid, so resizing moves the box with the
  image.
- Quirky files: a few `.jpg` files hold PNG, CMYK JPEG or grayscale data; `tf.io.decode_image(channels=3)` reads
  them all as RGB. An image that cannot be decoded is **skipped with a warning naming it**; so is an XML
  without a box, with a box outside the image, or with a size that disagrees with the image.

Reference:
    O. M. Parkhi, A. Vedaldi, A. Zisserman and C. V. Jawahar. Cats and Dogs. CVPR 2012.
    https://www.robots.ox.ac.uk/~vgg/data/pets/
"""

import pathlib
import typing
import warnings
import xml.etree.ElementTree as ElementTree

import numpy as np

from keras_transfer import paths
from keras_transfer.datasets import archives
from keras_transfer.datasets import download
from keras_transfer.datasets import image_files

IMAGES_URL = "https://thor.robots.ox.ac.uk/~vgg/data/pets/images.tar.gz"
IMAGES_SHA256 = "67195c5e1c01f1ab5f9b6a5d22b8c27a580d896ece458917e61d459337fa318d"
ANNOTATIONS_URL = "https://thor.robots.ox.ac.uk/~vgg/data/pets/annotations.tar.gz"
ANNOTATIONS_SHA256 = "52425fb6de5c424942b7626b428656fcbd798db970a937df61750c0f1d358e91"

# Class ids 1..37 of list.txt, in order; capitalised names are cats.
BREED_NAMES = (
    "Abyssinian",
    "american_bulldog",
    "american_pit_bull_terrier",
    "basset_hound",
    "beagle",
    "Bengal",
    "Birman",
    "Bombay",
    "boxer",
    "British_Shorthair",
    "chihuahua",
    "Egyptian_Mau",
    "english_cocker_spaniel",
    "english_setter",
    "german_shorthaired",
    "great_pyrenees",
    "havanese",
    "japanese_chin",
    "keeshond",
    "leonberger",
    "Maine_Coon",
    "miniature_pinscher",
    "newfoundland",
    "Persian",
    "pomeranian",
    "pug",
    "Ragdoll",
    "Russian_Blue",
    "saint_bernard",
    "samoyed",
    "scottish_terrier",
    "shiba_inu",
    "Siamese",
    "Sphynx",
    "staffordshire_bull_terrier",
    "wheaten_terrier",
    "yorkshire_terrier",
)
SPECIES_NAMES = ("cat", "dog")

HOMEPAGE = "https://www.robots.ox.ac.uk/~vgg/data/pets/"


class PetHeads(typing.NamedTuple):
    """Train, validation and test datasets of Oxford-IIIT Pet head boxes, with the label names.

    Each dataset is an unbatched `tf.data.Dataset` of `(image, {"boxes", "breed", "species"})`; see the module
    docstring of `keras_transfer.datasets.oxford_pet`.
    """

    train: typing.Any
    validation: typing.Any
    test: typing.Any
    breed_names: tuple
    species_names: tuple


class PetRecord(typing.NamedTuple):
    """One image with its head box: relative `box` `(xmin, ymin, xmax, ymax)`, 0-based `breed` and `species`."""

    name: str
    file: str
    box: tuple
    breed: int
    species: int


def species_of(breed_name):
    """`1` (cat) or `2` (dog) as in `list.txt`: cat breeds are the capitalised names."""
    return 1 if breed_name[:1].isupper() else 2


def breed_id_of(breed_name):
    """The 1-based breed id within its species, the fourth column of `list.txt`."""
    species = species_of(breed_name)
    same = [name for name in BREED_NAMES if species_of(name) == species]
    return same.index(breed_name) + 1


def read_list(list_file):
    """Parse `list.txt`, `trainval.txt` or `test.txt`: `[(name, class_id, species, breed_id), ...]` (ids 1-based).

    Lines starting with `#` (the header of `list.txt`) and blank lines are skipped.
    """
    list_file = pathlib.Path(list_file)
    entries = []
    for number, line in enumerate(list_file.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        try:
            name, class_id, species, breed_id = fields[0], int(fields[1]), int(fields[2]), int(fields[3])
        except (IndexError, ValueError) as error:
            raise ValueError(
                f"{list_file}, line {number}: expected 'name class_id species breed_id'. Received: {line!r}"
            ) from error
        if not 1 <= class_id <= len(BREED_NAMES) or species not in (1, 2):
            raise ValueError(
                f"{list_file}, line {number}: class id must be 1..37 and species 1 or 2. Received: {line!r}"
            )
        entries.append((name, class_id, species, breed_id))
    return entries


def read_head_box(xml_file):
    """Read a PASCAL-VOC XML: `((xmin, ymin, xmax, ymax), (width, height))` in pixels, or `(None, size)` without box.

    Coordinates are as written (1-based, inclusive); `size` is `None` when the XML has no `<size>`.
    Raises `ValueError` naming the file when it is not valid XML or a coordinate is not a number.
    """
    xml_file = pathlib.Path(xml_file)
    try:
        root = ElementTree.parse(xml_file).getroot()
    except ElementTree.ParseError as error:
        raise ValueError(f"{xml_file} is not valid XML ({error}).") from error

    def number(element, tag):
        text = element.findtext(tag)
        try:
            return float(text)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{xml_file}: <{tag}> must be a number. Received: {text!r}") from error

    size = root.find("size")
    size = (number(size, "width"), number(size, "height")) if size is not None else None
    bndbox = root.find("object/bndbox")
    if bndbox is None:
        return None, size
    return tuple(number(bndbox, tag) for tag in ("xmin", "ymin", "xmax", "ymax")), size


def relative_box(box, width, height):
    """1-based inclusive pixel box -> relative `(xmin, ymin, xmax, ymax)` clipped to [0, 1]."""
    xmin, ymin, xmax, ymax = box
    relative = ((xmin - 1) / width, (ymin - 1) / height, xmax / width, ymax / height)
    return tuple(float(np.clip(value, 0.0, 1.0)) for value in relative)


def _missing_error(path, missing):
    shown = ", ".join(missing[:10])
    more = f" (and {len(missing) - 10} more)" if len(missing) > 10 else ""
    return FileNotFoundError(
        f"path={str(path)!r} is not a complete Oxford-IIIT Pet folder; missing: {shown}{more}. Expected both archives "
        "extracted into it: images/<name>.jpg and annotations/trainval.txt, annotations/xmls/<name>.xml."
    )


def check_folder(path):
    """Check an extracted Oxford-IIIT Pet folder; return `(images_dir, annotations_dir)` or list what is missing.

    Needed: `annotations/trainval.txt`, `annotations/xmls/` and `images/`, and the image of every trainval
    entry that has an XML.
    """
    path = pathlib.Path(path).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(f"path={str(path)!r} is not a folder.")
    images_dir, annotations_dir = path / "images", path / "annotations"
    needed = {
        "annotations/trainval.txt": annotations_dir / "trainval.txt",
        "annotations/xmls/": annotations_dir / "xmls",
        "images/": images_dir,
    }
    missing = [name for name, item in needed.items() if not item.exists()]
    if missing:
        raise _missing_error(path, missing)
    missing = [
        f"images/{name}.jpg"
        for name, *_ in read_list(annotations_dir / "trainval.txt")
        if (annotations_dir / "xmls" / f"{name}.xml").is_file() and not (images_dir / f"{name}.jpg").is_file()
    ]
    if missing:
        raise _missing_error(path, missing)
    return images_dir, annotations_dir


def locate(path=None, *, mirror=None, verbose=1):
    """Where the data is: `(images_dir, annotations_dir)` from `path=`, else fetched and extracted into the cache."""
    if path is not None:
        return check_folder(path)
    progress = bool(verbose)
    found = {}
    sources = {"images": (IMAGES_URL, IMAGES_SHA256), "annotations": (ANNOTATIONS_URL, ANNOTATIONS_SHA256)}
    for key, (url, sha256) in sources.items():
        archive = download.fetch(url, sha256=sha256, subdir="oxford_pet", mirror=mirror, progress=progress)
        root = archives.extract(archive, paths.cache_dir("oxford_pet") / key, fingerprint=sha256, progress=progress)
        found[key] = root / key
    return found["images"], found["annotations"]


def head_records(images_dir, annotations_dir, *, verbose=1):
    """Every trainval image with a usable head box, as `PetRecord`s in `trainval.txt` order.

    Images that cannot be decoded, XMLs without a box, unreadable XMLs and boxes that are empty inside the image
    are skipped, each with a warning naming the file.

    An XML whose `<size>` disagrees with the decoded image (a size of 0 counts as unknown) keeps its image: the
    box is taken relative to the XML's own size, the frame it was drawn in, as tensorflow-datasets' builder does
    (it never reads the decoded size). Relative coordinates then land on the same part of the picture whatever
    resolution the file was saved at. How many images this concerned is reported in one warning, with names.
    """
    images_dir, annotations_dir = pathlib.Path(images_dir), pathlib.Path(annotations_dir)
    problems = []
    candidates = []
    for name, class_id, species, _ in read_list(annotations_dir / "trainval.txt"):
        xml_file = annotations_dir / "xmls" / f"{name}.xml"
        if not xml_file.is_file():
            continue  # a trainval image without head annotation: not part of this task
        try:
            box, size = read_head_box(xml_file)
        except ValueError as error:
            problems.append(f"skipping {name}: {error}")
            continue
        if box is None:
            problems.append(f"skipping {name}: {xml_file} has no <object><bndbox> head box")
            continue
        file = str((images_dir / f"{name}.jpg").absolute())
        candidates.append((name, file, box, size, class_id - 1, species - 1))

    sizes, failures = image_files.verify_images([c[1] for c in candidates], verbose=verbose)
    records, mismatched = [], []
    for name, file, box, size, breed, species in candidates:
        if file in failures:
            problems.append(f"skipping {name}: image {file} cannot be decoded ({failures[file]})")
            continue
        height, width = sizes[file]
        if size is not None and min(size) > 0 and (int(size[0]), int(size[1])) != (width, height):
            mismatched.append(f"{name} (XML {int(size[0])}x{int(size[1])}, image {width}x{height})")
            width, height = int(size[0]), int(size[1])
        relative = relative_box(box, width, height)
        if relative[2] <= relative[0] or relative[3] <= relative[1]:
            problems.append(f"skipping {name}: head box {box} is empty inside the {width}x{height} image")
            continue
        records.append(PetRecord(name, file, relative, breed, species))
    for problem in problems:
        warnings.warn(f"Oxford-IIIT Pet: {problem}.", stacklevel=3)
    if mismatched:
        shown = ", ".join(mismatched[:5]) + (f" and {len(mismatched) - 5} more" if len(mismatched) > 5 else "")
        warnings.warn(
            f"Oxford-IIIT Pet: {len(mismatched)} of {len(candidates)} head boxes come with an XML <size> that "
            f"differs from the decoded image; their boxes are taken relative to the XML's size, as "
            f"tensorflow-datasets does: {shown}.",
            stacklevel=3,
        )
    return records


def split_records(records, *, validation_fraction, test_fraction, seed):
    """Stratified (per breed), seeded split of `records` into `{"train", "validation", "test"}` lists.

    Per breed with `n` images, `round(n * test_fraction)` go to test and `round(n * validation_fraction)` to
    validation; the rest to train. Each split is then shuffled with the same seed.
    """
    rng = np.random.default_rng(seed)
    by_breed = {}
    for record in records:
        by_breed.setdefault(record.breed, []).append(record)
    splits = {"train": [], "validation": [], "test": []}
    for breed in sorted(by_breed):
        group = sorted(by_breed[breed], key=lambda record: record.name)
        order = rng.permutation(len(group))
        n_test = int(round(len(group) * test_fraction))
        n_validation = int(round(len(group) * validation_fraction))
        splits["test"] += [group[i] for i in order[:n_test]]
        splits["validation"] += [group[i] for i in order[n_test:n_test + n_validation]]
        splits["train"] += [group[i] for i in order[n_test + n_validation:]]
    for split, items in splits.items():
        splits[split] = [items[i] for i in rng.permutation(len(items))]
    return splits


def _dataset(records, image_size):
    import tensorflow as tf

    count = len(records)
    files = tf.constant([record.file for record in records], tf.string, shape=[count])
    boxes = tf.constant(np.array([record.box for record in records], np.float32).reshape(count, 4))
    breeds = tf.constant([record.breed for record in records], tf.int32, shape=[count])
    species = tf.constant([record.species for record in records], tf.int32, shape=[count])
    dataset = tf.data.Dataset.from_tensor_slices((files, {"boxes": boxes, "breed": breeds, "species": species}))

    def load(file, target):
        return image_files.read_image(file, image_size), target

    return dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE)


def _check_fraction(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be a number in [0, 1). Received: {name}={value!r}")
    return float(value)


def load_oxford_pet_heads(
    image_size=(224, 224),
    path=None,
    validation_fraction=0.15,
    test_fraction=0.15,
    seed=0,
    *,
    verbose=1,
):
    """Load Oxford-IIIT Pet images with their head box, breed and species, as unbatched `tf.data.Dataset`s.

    Only the official trainval images with a head box are used (the official test images have none); they are
    split per breed, with a seeded shuffle, into train, validation and test. Images are read as RGB whatever the
    file holds (PNG, CMYK or grayscale inside `.jpg`) and resized without keeping the aspect ratio; boxes are
    relative, so they stay on the head. Unreadable images and XMLs without a box are skipped with a warning
    naming them.

    Args:
        image_size: `(height, width)` or None. Size of the returned float32 images (pixel values in [0, 255]);
            None keeps each image's own size as uint8.
        path: path-like or None. A folder where both archives were extracted (`images/`, `annotations/`);
            nothing is downloaded. None: fetch `images.tar.gz` and `annotations.tar.gz` from `$KT_MIRROR` or the
            official address into `$KT_DATA_DIR`, verify and extract them.
        validation_fraction: float. Share of each breed's boxed images for validation.
        test_fraction: float. Share of each breed's boxed images for test.
        seed: int. Seed of the split.
        verbose: int. 0 is silent; 1 shows progress bars for downloads, extraction and the one-time image check.

    Returns:
        `PetHeads(train, validation, test, breed_names, species_names)`; elements are
        `(image, {"boxes": (4,) float32 rel_xyxy, "breed": int32, "species": int32})`.

    Raises:
        ValueError: an argument is invalid.
        FileNotFoundError: `path=` lacks files (the message lists them).

    Example:

    ```python
    pets = load_oxford_pet_heads(image_size=(224, 224))
    train = to_box_regression(pets.train).shuffle(1000).batch(32)  # (image, box) pairs
    ```

    Reference:
        Parkhi, Vedaldi, Zisserman and Jawahar, Cats and Dogs, CVPR 2012.
    """
    image_size = image_files.check_image_size(image_size)
    validation_fraction = _check_fraction("validation_fraction", validation_fraction)
    test_fraction = _check_fraction("test_fraction", test_fraction)
    if validation_fraction + test_fraction >= 1.0:
        raise ValueError(
            "validation_fraction + test_fraction must leave images for training. "
            f"Received: validation_fraction={validation_fraction}, test_fraction={test_fraction}"
        )
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an int. Received: seed={seed!r}")
    images_dir, annotations_dir = locate(path, verbose=verbose)
    records = head_records(images_dir, annotations_dir, verbose=verbose)
    if not records:
        raise ValueError(f"No trainval image with a usable head box in {annotations_dir}.")
    splits = split_records(records, validation_fraction=validation_fraction, test_fraction=test_fraction, seed=seed)
    datasets = {split: _dataset(items, image_size) for split, items in splits.items()}
    return PetHeads(datasets["train"], datasets["validation"], datasets["test"], BREED_NAMES, SPECIES_NAMES)


def to_box_regression(dataset):
    """Map `(image, {"boxes": ..., ...})` elements to `(image, box)` pairs for a box-regression model.

    Works on batched and unbatched datasets.
    """

    def image_and_box(image, target):
        return image, target["boxes"]

    return dataset.map(image_and_box)


def to_keras_detection(dataset):
    """Map unbatched elements to the dict Keras's bounding-box aware preprocessing layers take.

    `{"images": image, "bounding_boxes": {"boxes": (1, 4) rel_xyxy, "labels": (1,) breed}}`; pass
    `bounding_box_format="rel_xyxy"` to the layers (e.g. `keras.layers.RandomFlip`).
    """

    def detection_inputs(image, target):
        boxes = {"boxes": target["boxes"][None, :], "labels": target["breed"][None]}
        return {"images": image, "bounding_boxes": boxes}

    return dataset.map(detection_inputs)
