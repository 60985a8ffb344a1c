"""Small synthetic copies of the Oxford-17 and Oxford-IIIT Pet files, laid out exactly like the real ones.

Tests, benchmarks and smoke runs use them to exercise the code that reads the real archives, offline and in
seconds. The images have simple content that can be checked after decoding and resizing:

- Oxford-17: each image is filled with its class's colour (`flowers17_class_color(label)`) plus mild noise, so
  the label of any image can be read back from its pixels.
- Oxford-IIIT Pet: a dark, noisy background with the head box painted white, so the box can be found in the
  pixels again after resizing or flipping.

Example:

```python
fixture = make_oxford17_fixture(tmp_path / "mirror", images_per_class=4)
os.environ["KT_MIRROR"] = str(fixture.directory)  # holds 17flowers.tgz and datasplits.mat
```
"""

import colorsys
import io
import pathlib
import tarfile
import time
import typing
import xml.etree.ElementTree as ElementTree

import numpy as np
from PIL import Image

# Facts of the real archives, written out here from the datasets' own pages and files, NOT imported from the
# loaders: a wrong constant in a loader must disagree with its fixture, not be copied into it.
# Oxford-17 (17flowers.tgz): `jpg/image_0001.jpg` ... `jpg/image_1360.jpg`, 80 consecutive images per class, in the
# class order of the dataset's page; `datasplits.mat` holds trn1 val1 tst1 ... trn3 val3 tst3.
FLOWERS17_CLASSES = (
    "Daffodil", "Snowdrop", "LilyValley", "Bluebell", "Crocus", "Iris", "Tigerlily", "Tulip", "Fritillary",
    "Sunflower", "Daisy", "ColtsFoot", "Dandelion", "Cowslip", "Buttercup", "Windflower", "Pansy",
)
FLOWERS17_PER_CLASS = 80
FLOWERS17_SPLITS = (1, 2, 3)


def _flowers17_filename(image_id):
    return f"image_{image_id:04d}.jpg"


# Oxford-IIIT Pet (annotations/list.txt): class ids 1..37 in this order (names sorted case-insensitively); a name
# starting with a capital letter is a cat (species 1), else a dog (species 2); the breed id counts within a species.
PET_BREEDS = (
    "Abyssinian", "american_bulldog", "american_pit_bull_terrier", "basset_hound", "beagle", "Bengal", "Birman",
    "Bombay", "boxer", "British_Shorthair", "chihuahua", "Egyptian_Mau", "english_cocker_spaniel", "english_setter",
    "german_shorthaired", "great_pyrenees", "havanese", "japanese_chin", "keeshond", "leonberger", "Maine_Coon",
    "miniature_pinscher", "newfoundland", "Persian", "pomeranian", "pug", "Ragdoll", "Russian_Blue",
    "saint_bernard", "samoyed", "scottish_terrier", "shiba_inu", "Siamese", "Sphynx", "staffordshire_bull_terrier",
    "wheaten_terrier", "yorkshire_terrier",
)
PET_SPECIES = ("cat", "dog")


def pet_species(breed):
    return 1 if breed[0].isupper() else 2


def _pet_breed_id(breed):
    same_species = [name for name in PET_BREEDS if pet_species(name) == pet_species(breed)]
    return same_species.index(breed) + 1

LIST_HEADER = (
    "#Image CLASS-ID SPECIES BREED ID\n"
    "#ID: 1:37 Class ids\n"
    "#SPECIES: 1:Cat 2:Dog\n"
    "#BREED ID: 1-25:Cat 1:12:Dog\n"
    "#All images with 1st letter as captial are cat images\n"
    "#images with small first letter are dog images\n"
)
"""The six header lines of the real `annotations/list.txt` (typos included)."""


class Fixture(typing.NamedTuple):
    """What a fixture wrote: its folder, `files` by original name, and `info` the tests can check against."""

    directory: pathlib.Path
    files: dict
    info: dict


def flowers17_class_color(label):
    """The RGB colour (three floats in [0, 255]) that fills the fixture images of class `label`."""
    red, green, blue = colorsys.hsv_to_rgb(label / len(FLOWERS17_CLASSES), 0.85, 0.9)
    return np.array([red, green, blue]) * 255.0


def _jpeg_bytes(array, mode="RGB", quality=92):
    buffer = io.BytesIO()
    image = Image.fromarray(array)
    if mode != "RGB":
        image = image.convert(mode)
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def _png_bytes(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def _add(tar, name, data):
    member = tarfile.TarInfo(name)
    member.size = len(data)
    member.mtime = int(time.time())
    member.mode = 0o644
    tar.addfile(member, io.BytesIO(data))


def _add_folder(tar, name):
    member = tarfile.TarInfo(name)
    member.type = tarfile.DIRTYPE
    member.mode = 0o755
    member.mtime = int(time.time())
    tar.addfile(member)


def _check_size(image_size):
    if (
        not isinstance(image_size, (tuple, list))
        or len(image_size) != 2
        or not all(isinstance(side, int) and side >= 8 for side in image_size)
    ):
        raise ValueError(f"image_size must be (height, width), each an int >= 8. Received: image_size={image_size!r}")
    return tuple(image_size)


def make_oxford17_fixture(directory, images_per_class=4, image_size=(500, 375), seed=0):
    """Write `17flowers.tgz` and `datasplits.mat` like the real ones, with `images_per_class` images per class.

    Image ids keep their real meaning: class `c` (0-based) owns ids `80*c + 1 ... 80*c + 80`, and the fixture
    writes the first `images_per_class` of them (`jpg/image_0001.jpg`, ...). `datasplits.mat` holds `trn1 val1
    tst1 ... trn3 val3 tst3` as 1 x N double arrays of those ids, per class half for train and a quarter each for
    validation and test (40/20/20 with `images_per_class=80`), each split a different seeded permutation.

    Args:
        directory: path-like. Created if needed.
        images_per_class: int. 4 to 80, a multiple of 4.
        image_size: `(height, width)` of the images.
        seed: int. Seed of the noise and of the splits.

    Returns:
        `Fixture(directory, files={"17flowers.tgz": ..., "datasplits.mat": ...}, info)` where `info["splits"]`
        is `{split_id: {"train": ids, "validation": ids, "test": ids}}` and `info["image_ids"]` lists every id.
    """
    import scipy.io

    if not isinstance(images_per_class, int) or not 4 <= images_per_class <= 80 or images_per_class % 4:
        raise ValueError(
            "images_per_class must be a multiple of 4 between 4 and 80. "
            f"Received: images_per_class={images_per_class!r}"
        )
    height, width = _check_size(image_size)
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    per_class = FLOWERS17_PER_CLASS
    ids_by_class = [
        np.arange(label * per_class + 1, label * per_class + images_per_class + 1)
        for label in range(len(FLOWERS17_CLASSES))
    ]
    archive = directory / "17flowers.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        _add_folder(tar, "jpg")
        for label, ids in enumerate(ids_by_class):
            color = flowers17_class_color(label)
            for image_id in ids:
                pixels = color + rng.normal(0.0, 6.0, size=(height, width, 3))
                pixels = np.clip(pixels, 0, 255).astype(np.uint8)
                _add(tar, f"jpg/{_flowers17_filename(image_id)}", _jpeg_bytes(pixels))

    n_train, n_validation = images_per_class // 2, images_per_class // 4
    splits = {}
    content = {}
    for split_id in FLOWERS17_SPLITS:
        parts = {"train": [], "validation": [], "test": []}
        for ids in ids_by_class:
            order = rng.permutation(ids)
            parts["train"] += list(order[:n_train])
            parts["validation"] += list(order[n_train:n_train + n_validation])
            parts["test"] += list(order[n_train + n_validation:])
        splits[split_id] = {split: np.array(ids, np.int64) for split, ids in parts.items()}
        for split, key in (("train", "trn"), ("validation", "val"), ("test", "tst")):
            content[f"{key}{split_id}"] = np.array(parts[split], np.float64).reshape(1, -1)
    splits_file = directory / "datasplits.mat"
    scipy.io.savemat(splits_file, content)
    return Fixture(
        directory,
        {"17flowers.tgz": archive, "datasplits.mat": splits_file},
        {"splits": splits, "image_ids": [int(i) for ids in ids_by_class for i in ids]},
    )


def _pet_xml(name, width, height, box, species):
    annotation = ElementTree.Element("annotation")
    ElementTree.SubElement(annotation, "folder").text = "OXIIIT"
    ElementTree.SubElement(annotation, "filename").text = f"{name}.jpg"
    source = ElementTree.SubElement(annotation, "source")
    ElementTree.SubElement(source, "database").text = "OXFORD-IIIT Pet Dataset"
    ElementTree.SubElement(source, "annotation").text = "OXIIIT"
    ElementTree.SubElement(source, "image").text = "flickr"
    size = ElementTree.SubElement(annotation, "size")
    ElementTree.SubElement(size, "width").text = str(width)
    ElementTree.SubElement(size, "height").text = str(height)
    ElementTree.SubElement(size, "depth").text = "3"
    ElementTree.SubElement(annotation, "segmented").text = "0"
    if box is not None:
        obj = ElementTree.SubElement(annotation, "object")
        ElementTree.SubElement(obj, "name").text = PET_SPECIES[species - 1]
        ElementTree.SubElement(obj, "pose").text = "Frontal"
        ElementTree.SubElement(obj, "truncated").text = "0"
        ElementTree.SubElement(obj, "occluded").text = "0"
        bndbox = ElementTree.SubElement(obj, "bndbox")
        for tag, value in zip(("xmin", "ymin", "xmax", "ymax"), box):
            ElementTree.SubElement(bndbox, tag).text = str(value)
        ElementTree.SubElement(obj, "difficult").text = "0"
    return ElementTree.tostring(annotation)


def make_pet_fixture(
    directory,
    *,
    breeds=("Abyssinian", "Bengal", "american_bulldog", "beagle"),
    images_per_breed=5,
    image_size=(120, 160),
    seed=0,
    quirks=True,
    corrupt=(),
    without_box=(),
    xml_scaled=(),
    images_compression="gz",
):
    """Write `images.tar.gz` and `annotations.tar.gz` like the real Oxford-IIIT Pet archives.

    Per breed, images `<breed>_1 ... <breed>_<images_per_breed>` are written (`images/<name>.jpg`); the last one
    of each breed is a test image (listed in `test.txt`, no XML), the others are trainval images with a head
    box (`annotations/xmls/<name>.xml`, PASCAL-VOC, 1-based inclusive pixel coordinates). `list.txt` (with the
    real header), `trainval.txt` and `test.txt` use the official line format `Abyssinian_100 1 1 1` (name, class
    id 1..37, species 1 = cat 2 = dog, breed id within the species), and `annotations/trimaps/<name>.png` are
    written too. The head box is painted white on a dark noisy background.

    With `quirks=True`, like the real archive, the first trainval images are special: a PNG stored as `.jpg`, a
    CMYK JPEG, a grayscale JPEG, an RGBA PNG stored as `.jpg`, and one trainval image without any XML; and
    `images/` also holds `Abyssinian_100.mat` ... `Abyssinian_102.mat`, which are not images.

    Args:
        directory: path-like. Created if needed.
        breeds: sequence of str. Names from `PET_BREEDS`.
        images_per_breed: int >= 2.
        image_size: `(height, width)` of every image.
        seed: int. Seed of the boxes and the noise.
        quirks: bool. Add the PNG / CMYK / grayscale files and the trainval image without XML.
        corrupt: names of trainval images to write truncated (undecodable).
        without_box: names of trainval images whose XML has no `<object>` box.
        xml_scaled: names of trainval images whose XML was drawn on a copy twice as large: `<size>` and box are
            both doubled, so they disagree with the image file but agree with each other.
        images_compression: `"gz"` or `""`: the real `images.tar.gz` may be a plain tar despite its name;
            `""` writes it that way.

    Returns:
        `Fixture(directory, files={"images.tar.gz": ..., "annotations.tar.gz": ...}, info)` with `info["boxes"]`
        (name -> relative `(xmin, ymin, xmax, ymax)` of the painted box), `info["labels"]` (name -> `(breed
        index, species index)`), `info["quirks"]` (name -> kind), `info["trainval"]`, `info["test"]`.
    """
    unknown = [breed for breed in breeds if breed not in PET_BREEDS]
    if unknown or not breeds:
        raise ValueError(f"breeds must be names from PET_BREEDS. Received: breeds={breeds!r}")
    if not isinstance(images_per_breed, int) or images_per_breed < 2:
        raise ValueError(f"images_per_breed must be an int >= 2. Received: images_per_breed={images_per_breed!r}")
    if images_compression not in ("gz", ""):
        raise ValueError(f"images_compression must be 'gz' or ''. Received: images_compression={images_compression!r}")
    height, width = _check_size(image_size)
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)

    entries = []  # (name, class_id, species, breed_id, split)
    for breed in sorted(breeds, key=PET_BREEDS.index):
        class_id = PET_BREEDS.index(breed) + 1
        for number in range(1, images_per_breed + 1):
            split = "test" if number == images_per_breed else "trainval"
            entries.append((f"{breed}_{number}", class_id, pet_species(breed), _pet_breed_id(breed), split))
    trainval = [entry[0] for entry in entries if entry[4] == "trainval"]
    test = [entry[0] for entry in entries if entry[4] == "test"]
    for label, names in (("corrupt", corrupt), ("without_box", without_box), ("xml_scaled", xml_scaled)):
        if set(names) - set(trainval):
            raise ValueError(
                f"{label} must name trainval images of this fixture {trainval}. Received: {label}={names!r}"
            )
    quirk_kinds = ("png", "cmyk", "grayscale", "rgba", "no_xml")
    quirk_names = {}
    if quirks:
        ordinary = [name for name in trainval if name not in corrupt and name not in without_box]
        if len(ordinary) < len(quirk_kinds) + 1:
            raise ValueError("quirks=True needs at least 6 ordinary trainval images; add breeds or images_per_breed.")
        quirk_names = dict(zip(ordinary, quirk_kinds))

    boxes, labels, image_files, xml_files, trimaps = {}, {}, {}, {}, {}
    for name, class_id, species, _, split in entries:
        box_width = int(rng.integers(width // 4, width // 2))
        box_height = int(rng.integers(height // 4, height // 2))
        x0 = int(rng.integers(0, width - box_width))
        y0 = int(rng.integers(0, height - box_height))
        x1, y1 = x0 + box_width, y0 + box_height
        base = rng.integers(10, 70, size=3)
        pixels = np.clip(base + rng.normal(0.0, 10.0, size=(height, width, 3)), 0, 110).astype(np.uint8)
        pixels[y0:y1, x0:x1] = 255
        kind = quirk_names.get(name, "jpeg")
        if kind == "png":
            data = _png_bytes(pixels)
        elif kind == "cmyk":
            data = _jpeg_bytes(pixels, mode="CMYK")
        elif kind == "grayscale":
            data = _jpeg_bytes(pixels, mode="L")
        elif kind == "rgba":  # a PNG with an alpha channel under a .jpg name
            data = _png_bytes(np.dstack([pixels, np.full((height, width), 255, np.uint8)]))
        else:
            data = _jpeg_bytes(pixels)
        if name in corrupt:
            data = data[: len(data) // 3]
        image_files[f"images/{name}.jpg"] = data
        labels[name] = (class_id - 1, species - 1)
        trimap = np.full((height, width), 2, np.uint8)
        trimap[y0:y1, x0:x1] = 1
        trimaps[f"annotations/trimaps/{name}.png"] = _png_bytes(trimap)
        if split == "trainval" and kind != "no_xml":
            voc_box = None if name in without_box else (x0 + 1, y0 + 1, x1, y1)
            factor = 2 if name in xml_scaled else 1
            if voc_box is not None and factor != 1:  # 1-based inclusive pixels of the twice-as-large copy
                voc_box = (2 * x0 + 1, 2 * y0 + 1, 2 * x1, 2 * y1)
            xml_files[f"annotations/xmls/{name}.xml"] = _pet_xml(name, factor * width, factor * height, voc_box,
                                                                 species)
            if voc_box is not None and name not in corrupt:
                boxes[name] = (x0 / width, y0 / height, x1 / width, y1 / height)

    def lines(names):
        return "".join(f"{e[0]} {e[1]} {e[2]} {e[3]}\n" for e in entries if e[0] in names)

    images_archive = directory / "images.tar.gz"
    with tarfile.open(images_archive, f"w:{images_compression}") as tar:
        _add_folder(tar, "images")
        for member, data in image_files.items():
            _add(tar, member, data)
        if quirks:  # the real images/ also holds three MATLAB files that are no images
            for number in (100, 101, 102):
                _add(tar, f"images/Abyssinian_{number}.mat", b"MATLAB 5.0 MAT-file, not an image")
    annotations_archive = directory / "annotations.tar.gz"
    with tarfile.open(annotations_archive, "w:gz") as tar:
        for folder in ("annotations", "annotations/xmls", "annotations/trimaps"):
            _add_folder(tar, folder)
        _add(tar, "annotations/list.txt", (LIST_HEADER + lines(set(trainval) | set(test))).encode())
        _add(tar, "annotations/trainval.txt", lines(set(trainval)).encode())
        _add(tar, "annotations/test.txt", lines(set(test)).encode())
        for member, data in {**xml_files, **trimaps}.items():
            _add(tar, member, data)
    return Fixture(
        directory,
        {"images.tar.gz": images_archive, "annotations.tar.gz": annotations_archive},
        {
            "boxes": boxes,
            "labels": labels,
            "quirks": {name: kind for name, kind in quirk_names.items()},
            "trainval": trainval,
            "test": test,
            "image_size": (height, width),
        },
    )


# Yosinski et al. (2014), Figure 2, read off by eye (top-1 accuracy by the number n of transferred layers, 1 to 7):
# the pattern, not the values, is what the transferability tests check.
YOSINSKI_FIGURE_2 = {
    "baseB": 0.625,
    "BnB": [0.625, 0.624, 0.615, 0.595, 0.59, 0.605, 0.622],
    "AnB": [0.623, 0.62, 0.605, 0.585, 0.57, 0.545, 0.52],
    "BnB+": [0.626, 0.625, 0.624, 0.626, 0.624, 0.625, 0.626],
    "AnB+": [0.64, 0.641, 0.642, 0.64, 0.641, 0.64, 0.639],
}
