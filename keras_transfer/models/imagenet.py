"""ImageNet weights for `keras.applications`, fetched like every other file: cache, `KT_MIRROR`, then the web.

`keras.applications.VGG19(weights="imagenet")` downloads its weight file from Keras's own address and ignores
`KT_MIRROR`; offline, its error names neither the mirror nor `weights=`. `imagenet_weights("vgg19")` fetches the
same file (same name, same pinned MD5 as Keras's) through `keras_transfer.datasets.download.fetch`, so a
workshop's mirror or USB stick serves it, and returns its path for `weights=`:

```python
base = keras.applications.VGG19(include_top=False, weights=imagenet_weights("vgg19", include_top=False))
```
"""

from keras_transfer.datasets import download

_BASE_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"

# file name and MD5 as `keras.applications` pins them (keras/src/applications/<model>.py)
WEIGHT_FILES = {
    ("vgg19", True): ("vgg19/vgg19_weights_tf_dim_ordering_tf_kernels.h5", "cbe5617147190e668d6c5d5026f83318"),
    ("vgg19", False): (
        "vgg19/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5", "253f8cb515780f3b799900260a226db6"
    ),
}


def imagenet_weights(model="vgg19", include_top=True, *, mirror=None, progress=True):
    """The local path of `model`'s ImageNet weight file, fetched (and verified) when needed.

    Args:
        model: str. A model of `WEIGHT_FILES` (`"vgg19"`).
        include_top: bool. The file with the classifier layers (549 MB for VGG19) or without (80 MB).
        mirror: str or None. Overrides `$KT_MIRROR` (a folder or URL holding the file under its Keras name).
        progress: bool. Show a progress bar while downloading.

    Returns:
        `pathlib.Path` of the `.h5` file, for `keras.applications.<Model>(weights=path)`.

    Raises:
        DownloadError: offline with no mirror holding the file; the message names the file, `KT_MIRROR` and
            `weights=`.
    """
    key = (model, bool(include_top))
    if key not in WEIGHT_FILES:
        raise ValueError(
            f"No ImageNet weight file known for model={model!r}, include_top={include_top!r}: expected one of "
            f"{sorted(WEIGHT_FILES)}."
        )
    relative, md5 = WEIGHT_FILES[key]
    filename = relative.rsplit("/", 1)[-1]
    try:
        return download.fetch(_BASE_URL + relative, md5=md5, subdir="keras-applications", mirror=mirror,
                              progress=progress)
    except download.DownloadError as error:
        raise download.DownloadError(
            f"{error}\nOr pass weights=/path/to/{filename} (Keras's own file) to the model, or weights=None to "
            "start from random weights."
        ) from error
