"""CIFAR-100 through tensorflow-datasets, its archive fetched like every other file: 60,000 colour 32x32 images of
100 classes (Krizhevsky, 2009).

tensorflow-datasets' own `cifar100` builder reads the official binary archive, `cifar-100-binary.tar.gz`
(168,513,733 bytes), and prepares it once into `$KT_DATA_DIR/tensorflow_datasets`; later calls read the prepared
files offline. Its own downloader ignores `KT_MIRROR`, does not resume, and offline it retries for minutes before
failing with a message that names neither the mirror nor `path=`. So the archive is fetched here instead, with
`keras_transfer.datasets.download.fetch` (cache, `KT_MIRROR`, then `URL`; resumed when cut off; verified against
both pinned hashes below), extracted safely, and handed to tensorflow-datasets' builder, which then prepares it
exactly as it would have (same name, version, features and folder, so a copy it prepared earlier is reused).

Where the files come from, in order: the prepared dataset under `data_dir`; `path=` (a folder where the archive is
already extracted: `path/cifar-100-binary/train.bin`, ...); the cache; `KT_MIRROR` (a folder or URL holding
`cifar-100-binary.tar.gz`); `URL`.
"""

import pathlib

import numpy as np

from keras_transfer import paths
from keras_transfer.datasets import archives
from keras_transfer.datasets import download

URL = "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz"
SHA256 = "58a81ae192c23a4be8b1804d68e518ed807d710a4eb253b1f2a199162a40d8ec"  # tensorflow-datasets' url_checksums
MD5 = "03b5dce01913d631647c71ecec9e9cb8"  # the md5sum published beside the archive on the CIFAR page
FOLDER = "cifar-100-binary"
"""The folder the archive unpacks into; tensorflow-datasets' builder reads the files below from it."""
FILES = ("train.bin", "test.bin", "fine_label_names.txt", "coarse_label_names.txt")


def check_folder(path):
    """`path` as a `pathlib.Path` if it holds the extracted archive (`path/cifar-100-binary/train.bin`, ...).

    Raises:
        FileNotFoundError: listing the files that are missing.
    """
    path = pathlib.Path(path).expanduser()
    missing = [f"{FOLDER}/{name}" for name in FILES if not (path / FOLDER / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"path={str(path)!r} should hold the extracted {URL.rsplit('/', 1)[-1]} "
            f"({FOLDER}/{', '.join(FILES)}); missing: {', '.join(missing)}."
        )
    return path


def locate(*, mirror=None, progress=True):
    """Fetch (cache, mirror, `URL`), verify and extract the archive; returns the folder that holds `FOLDER`.

    Raises:
        DownloadError: no source could provide the archive; the message names the file, `URL`, `KT_MIRROR` and
            `path=`.
    """
    archive = download.fetch(URL, sha256=SHA256, md5=MD5, subdir="cifar100", mirror=mirror, progress=progress)
    destination = paths.cache_dir("cifar100", create=False) / "binary"
    return archives.extract(archive, destination, progress=progress)


class _Extracted:
    """Stands in for the builder's download manager: its one download is already fetched and extracted."""

    def __init__(self, folder):
        self._folder = folder

    def download_and_extract(self, url):
        del url  # the builder asks for its binary archive, which `locate` / `path=` provides
        return str(self._folder)


def _builder(data_dir, path, mirror, progress):
    import tensorflow_datasets as tfds

    class Cifar100(tfds.image_classification.Cifar100, skip_registration=True):
        """tensorflow-datasets' `cifar100` builder, reading the archive that `locate` fetched (or `path=`)."""

        name = "cifar100"

        def _split_generators(self, dl_manager):
            del dl_manager  # its downloader knows neither KT_MIRROR nor path=
            folder = check_folder(path) if path is not None else locate(mirror=mirror, progress=progress)
            return super()._split_generators(_Extracted(folder))

    return Cifar100(data_dir=data_dir)


def load_cifar100(data_dir=None, *, path=None, mirror=None, progress=True):
    """CIFAR-100's train and test images with their 100 fine labels, as NumPy arrays.

    Args:
        data_dir: str, Path or None. The tensorflow-datasets folder (default `paths.cache_dir("tensorflow_datasets")`
            under `$KT_DATA_DIR`).
        path: str, Path or None. A folder where `cifar-100-binary.tar.gz` is already extracted
            (`path/cifar-100-binary/train.bin`, `test.bin`, `fine_label_names.txt`, `coarse_label_names.txt`);
            nothing is downloaded. Read only when the dataset is not prepared yet.
        mirror: str or None. Overrides `$KT_MIRROR` (a folder or URL holding `cifar-100-binary.tar.gz`).
        progress: bool. Show progress bars while fetching and extracting.

    Returns:
        `((x_train, y_train), (x_test, y_test), class_names)`: `uint8` `(50000, 32, 32, 3)` and `(10000, 32, 32, 3)`
        images, the 100 fine labels as `int64`, and the 100 fine label names.

    Raises:
        DownloadError: the dataset is not prepared and no source could provide the archive (offline without a
            mirror); the message names the file, `URL`, `KT_MIRROR` and `path=`.
        FileNotFoundError: `path` lacks files of the extracted archive.

    Example:

    ```python
    (x_train, y_train), (x_test, y_test), names = load_cifar100()
    ```
    """
    import tensorflow_datasets as tfds

    data_dir = str(data_dir) if data_dir is not None else str(paths.cache_dir("tensorflow_datasets"))
    if path is not None:
        check_folder(path)
    builder = _builder(data_dir, path, mirror, progress)
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(try_download_gcs=False))
    arrays = []
    for split in ("train", "test"):
        dataset = builder.as_dataset(split=split, as_supervised=True)
        images, labels = [], []
        for image_batch, label_batch in tfds.as_numpy(dataset.batch(4096)):
            images.append(image_batch)
            labels.append(label_batch)
        arrays.append((np.concatenate(images).astype("uint8"), np.concatenate(labels).astype("int64")))
    return arrays[0], arrays[1], tuple(builder.info.features["label"].names)
