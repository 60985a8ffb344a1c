"""Real photos that ship inside registry packages, for backgrounds: no download, no internet.

- `sklearn_photos()`: scikit-learn's two colour photos (china, flower), 427x640 each: the quick targets' backgrounds.
- `skimage_photos(names)`: photos that scikit-image ships under `skimage/data/` (colour: astronaut, chelsea, coffee,
  hubble_deep_field, immunohistochemistry, retina, rocket, the left image of stereo_motorcycle; gray textures made
  RGB: camera, brick, grass, gravel). The quick source network's backgrounds, a different set of photos from the
  targets', as ImageNet's photos are not Oxford-17's.
"""

import numpy as np

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
