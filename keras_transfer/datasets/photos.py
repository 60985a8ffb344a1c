"""Colour photos for backgrounds: those that ship inside registry packages (no download), and BSDS500's.

- `sklearn_photos()`: scikit-learn's two colour photos (china, flower), 427x640 each: the quick targets' backgrounds.
- `matplotlib_photos()`: the colour photo matplotlib ships as sample data (grace_hopper, 600x512).
- `named_photos(names)`: any of these by name.
- `skimage_photos(names)`: photos that scikit-image ships under `skimage/data/` (colour: astronaut, chelsea, coffee,
  hubble_deep_field, immunohistochemistry, retina, rocket, the left image of stereo_motorcycle; gray textures made
  RGB: camera, brick, grass, gravel). The quick source network's backgrounds, a different set of photos from the
  targets', as ImageNet's photos are not Oxford-17's.
- `load_bsds500_photos(path)`: the 500 photos of the Berkeley Segmentation Dataset (downloaded, or read from a
  folder), by split: MNIST-M's photos in the paper.
"""

import pathlib

import numpy as np

from keras_transfer import paths

BSDS500_URL = "http://www.eecs.berkeley.edu/Research/Projects/CS/vision/grouping/BSR/BSR_bsds500.tgz"
BSDS500_IMAGES = pathlib.PurePosixPath("BSR/BSDS500/data/images")
BSDS500_SPLITS = {"train": ("train",), "test": ("val", "test")}

SKIMAGE_COLOUR_PHOTOS = (
    "astronaut", "chelsea", "coffee", "hubble_deep_field", "immunohistochemistry", "retina", "rocket",
    "stereo_motorcycle",
)
SKIMAGE_GRAY_PHOTOS = ("camera", "brick", "grass", "gravel")
SKIMAGE_PHOTOS = SKIMAGE_COLOUR_PHOTOS + SKIMAGE_GRAY_PHOTOS


def _as_rgb(image):
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    if image.dtype != np.uint8:
        image = np.clip(np.round(image * (255.0 if image.max() <= 1.0 else 1.0)), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(image[..., :3])


def sklearn_photos():
    """The two colour photos scikit-learn ships (china, flower): uint8 `(427, 640, 3)` each."""
    import sklearn.datasets

    return [np.asarray(image, dtype=np.uint8) for image in sklearn.datasets.load_sample_images().images]


def skimage_photos(names=SKIMAGE_PHOTOS):
    """Photos scikit-image ships, by name (see `SKIMAGE_PHOTOS`), as uint8 RGB arrays `(H, W, 3)`.

    Args:
        names: sequence of str. Names of `skimage.data` images; gray ones are repeated to three channels and
            `stereo_motorcycle` gives its left image.

    Returns:
        A list of uint8 arrays, in the order of `names`.
    """
    import skimage.data

    if isinstance(names, str) or not names:
        raise ValueError(f"`names` must be a non-empty sequence of names. Received: names={names!r}")
    unknown = [name for name in names if name not in SKIMAGE_PHOTOS]
    if unknown:
        raise ValueError(f"Unknown photos {unknown}: expected names among {SKIMAGE_PHOTOS}. Received: names={names!r}")
    photos = []
    for name in names:
        image = getattr(skimage.data, name)()
        if name == "stereo_motorcycle":
            image = image[0]
        photos.append(_as_rgb(image))
    return photos


MATPLOTLIB_PHOTOS = ("grace_hopper",)
SKLEARN_PHOTOS = ("china", "flower")


def matplotlib_photos(names=MATPLOTLIB_PHOTOS):
    """Colour photos matplotlib ships as sample data (`grace_hopper`), as uint8 RGB arrays."""
    import matplotlib.cbook
    from PIL import Image

    unknown = [name for name in names if name not in MATPLOTLIB_PHOTOS]
    if isinstance(names, str) or unknown:
        raise ValueError(f"`names` must be a sequence of names among {MATPLOTLIB_PHOTOS}. Received: names={names!r}")
    photos = []
    for name in names:
        with matplotlib.cbook.get_sample_data(f"{name}.jpg") as file:
            photos.append(_as_rgb(np.asarray(Image.open(file).convert("RGB"))))
    return photos


def named_photos(names):
    """Photos by name from whichever package ships them (`SKIMAGE_PHOTOS`, `SKLEARN_PHOTOS`, `MATPLOTLIB_PHOTOS`).

    Returns:
        A list of uint8 RGB arrays `(H, W, 3)`, in the order of `names`.
    """
    if isinstance(names, str) or not names:
        raise ValueError(f"`names` must be a non-empty sequence of names. Received: names={names!r}")
    known = SKIMAGE_PHOTOS + SKLEARN_PHOTOS + MATPLOTLIB_PHOTOS
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"Unknown photos {unknown}: expected names among {known}. Received: names={names!r}")
    sklearn = dict(zip(SKLEARN_PHOTOS, sklearn_photos())) if set(names) & set(SKLEARN_PHOTOS) else {}
    return [sklearn[name] if name in SKLEARN_PHOTOS else (matplotlib_photos((name,)) if name in MATPLOTLIB_PHOTOS
            else skimage_photos((name,)))[0] for name in names]


def _bsds500_images_dir(root):
    root = pathlib.Path(root)
    for candidate in (root / BSDS500_IMAGES, root / "BSDS500/data/images", root / "data/images", root / "images", root):
        if all((candidate / folder).is_dir() for folder in ("train", "val", "test")):
            return candidate
    raise FileNotFoundError(
        f"No BSDS500 images under {str(root)!r}: expected the folders {BSDS500_IMAGES}/train, /val and /test "
        f"(the layout of BSR_bsds500.tgz)."
    )


def load_bsds500_photos(path=None, *, verbose=1):
    """The BSDS500 colour photos, by split: `{"train": [...200 photos], "test": [...300 val + test photos]}`.

    Args:
        path: str, Path or None. A folder where `BSR_bsds500.tgz` is already extracted (holding
            `BSR/BSDS500/data/images/{train,val,test}/*.jpg`); when None the archive is fetched (through
            `KT_MIRROR` when set) and extracted under `KT_DATA_DIR`. BSDS500 publishes no checksum, so the first
            download records its SHA-256 and later ones are verified against it.
        verbose: int. 1 shows download progress.

    Returns:
        A dict from "train" and "test" to lists of uint8 `(H, W, 3)` arrays, in file-name order.
    """
    from PIL import Image

    if path is None:
        from keras_transfer.datasets import archives
        from keras_transfer.datasets import download

        # No published checksum: a first copy is recorded only once it holds the images (not an error page)
        archive = download.fetch(BSDS500_URL, sha256=None, record=True, subdir="bsds500", progress=bool(verbose),
                                 validate=archives.archive_holds(*(f"{BSDS500_IMAGES}/{folder}"
                                                                   for folder in ("train", "val", "test"))))
        extracted = archives.extract(archive, paths.cache_dir("bsds500") / "extracted", progress=bool(verbose))
        images_dir = _bsds500_images_dir(extracted)
    else:
        images_dir = _bsds500_images_dir(path)
    photos = {}
    for split, folders in BSDS500_SPLITS.items():
        files = sorted(file for folder in folders for file in (images_dir / folder).glob("*.jpg"))
        if not files:
            raise FileNotFoundError(f"No .jpg photos in {[str(images_dir / f) for f in folders]}.")
        photos[split] = []
        for file in files:
            try:
                with Image.open(file) as image:
                    photos[split].append(np.asarray(image.convert("RGB"), dtype=np.uint8))
            except OSError as error:
                raise ValueError(f"Cannot decode the BSDS500 photo {str(file)!r}: {error}") from error
    return photos
